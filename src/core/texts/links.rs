//! The one link detector: every value that reaches a message text (template bodies, signatures,
//! request variables, `name`, `op`) passes it. Carriers refuse texts with links (Aliyun:
//! `isv.PARAM_NOT_SUPPORT_URL`), and a link in a code message is how phishing rides on a
//! trusted sender.
//!
//! A link is: anything with a scheme (`://`) or `www.`; a host name whose last label is a
//! top-level domain of the public suffix list (the `psl` crate ships it, and is updated with the
//! list), with or without a scheme, path or port (`t.cn/x`, `phish.example.com`, `例子.中国`); or a
//! bare IPv4 or IPv6 address (`45.77.10.2/app`, `[2001:db8::1]`). Numbers are not links: `1.2.3`,
//! `12.50` and times like `12:30` have no top-level domain and are no addresses.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Whether `text` carries a link.
pub fn has_link(text: &str) -> bool {
    let lower = text.to_lowercase();
    if lower.contains("://") || lower.contains("www.") {
        return true;
    }
    // ASCII runs: host names, IPv4 and IPv6 addresses, with ports and brackets.
    let ascii_runs = lower.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')));
    for run in ascii_runs.filter(|r| r.contains(['.', ':'])) {
        if is_ip(run) || run.split([':', '[', ']']).any(is_host) {
            return true;
        }
    }
    // Runs of any letters: internationalised names (`例子.中国`, `例子.com`). Only an ASCII dot
    // separates labels: the ideographic full stop ends Chinese sentences, and many Chinese
    // words (公司, 网络, 中国) are top-level domains.
    let runs = lower.split(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '-')));
    runs.filter(|r| r.contains('.') && !r.is_ascii()).any(is_host)
}

/// Ends of download addresses and pages that are no top-level domains (`app.apk`, `x.html`).
const DOWNLOAD_SUFFIXES: [&str; 8] = ["apk", "ipa", "html", "htm", "php", "asp", "aspx", "jsp"];

/// `a.b.tld`: two or more non-empty labels, the last a known top-level domain (not a number) or
/// the end of a download address.
fn is_host(candidate: &str) -> bool {
    let host = candidate.trim_matches(|c| c == '.' || c == '-');
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return false;
    }
    let tld = labels[labels.len() - 1];
    if tld.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    DOWNLOAD_SUFFIXES.contains(&tld) || is_top_level_domain(tld)
}

/// Whether `label` is a top-level domain of the public suffix list.
pub fn is_top_level_domain(label: &str) -> bool {
    let label = label.to_lowercase();
    psl::suffix(label.as_bytes()).is_some_and(|s| s.is_known() && s.as_bytes() == label.as_bytes())
}

fn is_ip(run: &str) -> bool {
    // IPv4, perhaps with a port: 45.77.10.2, 45.77.10.2:8080.
    let v4 = run.trim_matches(|c| matches!(c, '.' | '-' | ':')).split(':').next().unwrap_or_default();
    if v4.parse::<Ipv4Addr>().is_ok() {
        return true;
    }
    // IPv6, bare or in brackets (with a port after them).
    let run = run.trim_matches(|c| matches!(c, '.' | '-'));
    let v6 = match run.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => run,
    };
    v6.contains(':') && v6.parse::<Ipv6Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_with_and_without_scheme_on_any_tld() {
        for link in [
            "https://phish.example.com/pay",
            "HTTP://EXAMPLE.COM",
            "www.phish-pay.com",
            "phish-pay.com",
            "请访问phish.com领取奖励",
            "t.cn/A6x1",
            "bit.ly/abc",
            "pay.example.co.uk/login",
            "example.shop",
            "my-bank.online:8443/x",
            "login.apple.com.verify.xyz",
            "例子.中国",
            "例子.com",
            "点击 shop.公司 购买",
            "app.apk",
            "ftp://files",
            "mailto.example.de",
        ] {
            assert!(has_link(link), "{link:?} is a link");
        }
    }

    #[test]
    fn bare_addresses() {
        for link in ["45.77.10.2/app", "45.77.10.2", "访问45.77.10.2:8080", "[2001:db8::1]/x", "2001:db8::1", "::1"] {
            assert!(has_link(link), "{link:?} is a link");
        }
    }

    #[test]
    fn no_false_positives_on_ordinary_text() {
        for text in [
            "您的验证码是 123456，5 分钟内有效。请勿泄露给他人。",
            "您正在使用MyShop进行登录，验证码 123456，10 分钟内有效。",
            "欢迎加入本公司。公司地址见官网说明。网络不好请稍后重试。",
            "订单金额 12.50 元，余额 1,234.56 元",
            "Your code is 123456. It expires in 5 minutes.",
            "Amount: $12.50, balance 1,234.56. Thanks!",
            "Version 1.2.3 is out; see release 2.10.0 and v3.4.5.6",
            "Meet at 12:30, room 4.2",
            "e.g. this, i.e. that, etc. U.S. a.m. p.m.",
            "Ann",
            "登录",
            "第1.2节",
            "3.14159",
        ] {
            assert!(!has_link(text), "{text:?} is no link");
        }
    }

    #[test]
    fn the_list_is_the_public_one() {
        for tld in ["com", "cn", "xyz", "shop", "online", "apk", "zip", "中国", "公司", "uk"] {
            // `.apk` is no TLD; everything else is.
            assert_eq!(is_top_level_domain(tld), tld != "apk", "{tld}");
        }
        assert!(!is_top_level_domain("notatld"));
        assert!(!is_top_level_domain("50"));
    }
}
