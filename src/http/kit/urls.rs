//! Absolute URLs clients are given (`Location`, captcha image links, delivery-report callbacks)
//! and the console cookie's `Secure` flag, from one rule: `public_url` when it is configured,
//! else the request's own scheme and `Host`, with `X-Forwarded-Proto` / `X-Forwarded-Host`
//! believed only from a trusted proxy (like `X-Forwarded-For`). A client can neither point a
//! link elsewhere nor switch the cookie's `Secure` flag off with a forged header.

use actix_web::HttpRequest;

use crate::config::Config;

/// The base URL clients reach this server at, without a trailing slash, with the `base_path`.
pub fn public_base(req: &HttpRequest, config: &Config) -> String {
    if let Some(url) = config.public_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        return url.trim_end_matches('/').to_string();
    }
    let header = |name: &str| {
        req.headers().get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.split(',').next()).map(str::trim)
    };
    let trusted = req.peer_addr().is_some_and(|a| config.is_trusted_proxy(a.ip()));
    let forwarded = |name: &str| if trusted { header(name).filter(|v| !v.is_empty()) } else { None };
    let own_scheme = if req.app_config().secure() { "https" } else { "http" };
    let scheme = forwarded("x-forwarded-proto").unwrap_or(own_scheme);
    let host = forwarded("x-forwarded-host")
        .or_else(|| header("host"))
        .map(str::to_string)
        .unwrap_or_else(|| req.app_config().host().to_string());
    format!("{scheme}://{host}{}", config.route_prefix())
}

/// The absolute URL of `path` (which starts with `/`, after the base path: `/1.1/users/<id>`).
pub fn absolute(req: &HttpRequest, config: &Config, path: &str) -> String {
    format!("{}{path}", public_base(req, config))
}

/// Whether clients reach this server over HTTPS, by the same rule as [`public_base`]: the
/// console cookie's `Secure` flag follows it.
pub fn public_https(req: &HttpRequest, config: &Config) -> bool {
    public_base(req, config).starts_with("https://")
}

/// A query-string value, percent-encoded.
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn request(peer: &str) -> TestRequest {
        TestRequest::default()
            .peer_addr(format!("{peer}:40000").parse().unwrap())
            .insert_header(("host", "phonebase.internal:8080"))
            .insert_header(("x-forwarded-proto", "https"))
            .insert_header(("x-forwarded-host", "api.example.com"))
    }

    #[test]
    fn public_base_believes_forwarded_headers_only_from_trusted_proxies() {
        let config = Config {
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
            base_path: "/pb/".into(),
            ..Config::default()
        };
        let proxied = request("10.1.2.3").to_http_request();
        assert_eq!(public_base(&proxied, &config), "https://api.example.com/pb");
        assert!(public_https(&proxied, &config));
        assert_eq!(absolute(&proxied, &config, "/1.1/users/u1"), "https://api.example.com/pb/1.1/users/u1");
        let direct = request("203.0.113.9").to_http_request();
        assert_eq!(public_base(&direct, &config), "http://phonebase.internal:8080/pb");
        assert!(!public_https(&direct, &config));

        let configured = Config { public_url: Some("https://sms.example.com/base/".into()), ..config };
        assert_eq!(public_base(&direct, &configured), "https://sms.example.com/base");
        assert!(public_https(&direct, &configured));
    }

    #[test]
    fn encode_escapes_query_values() {
        assert_eq!(encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }
}
