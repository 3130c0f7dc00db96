//! App templates: the checks a body passes before a human reviews it, strict rendering (a missing
//! variable fails, nothing is HTML-escaped: SMS is plain text), signatures, and the count of
//! billable parts (GSM-7 160/153 or UCS-2 70/67 per part, the signature counted in).

use std::collections::{BTreeMap, BTreeSet};

use handlebars::template::{Parameter, TemplateElement};
use handlebars::{Handlebars, Path, PathSeg, Template};

use crate::core::texts::links::has_link;
use crate::core::{Error, Result};

/// Variables a request may not set: the server fills `code`, `ttl` and `name`, and `sign` and
/// `template` choose the text.
pub const RESERVED: [&str; 5] = ["code", "ttl", "name", "sign", "template"];
/// The reserved variables a template may use.
pub const BUILT_IN: [&str; 3] = ["code", "ttl", "name"];
pub const MAX_BODY_CHARS: usize = 500;
pub const MAX_SIGNATURE_CHARS: usize = 10;
/// Longest value a request variable may carry into a text.
pub const MAX_VALUE_CHARS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Verification,
    Notification,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Verification => "verification",
            Category::Notification => "notification",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "verification" => Ok(Category::Verification),
            "notification" => Ok(Category::Notification),
            "marketing" => Err(Error::InvalidParameter("marketing templates are not allowed".into())),
            other => {
                Err(Error::InvalidParameter(format!("category must be verification or notification, not {other:?}")))
            }
        }
    }
}

/// Where a signature goes: carriers require it at the start or the end of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Start,
    End,
}

impl Placement {
    pub fn as_str(self) -> &'static str {
        match self {
            Placement::Start => "start",
            Placement::End => "end",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "start" => Ok(Placement::Start),
            "end" => Ok(Placement::End),
            other => Err(Error::InvalidParameter(format!("placement must be start or end, not {other:?}"))),
        }
    }
}

fn simple_name(p: &Parameter) -> Option<&str> {
    match p {
        Parameter::Name(n) => Some(n),
        Parameter::Path(Path::Relative((segs, raw))) if segs.len() == 1 => match &segs[0] {
            PathSeg::Named(n) if n == raw => Some(n),
            _ => None,
        },
        _ => None,
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The variables a body uses. Only plain `{{var}}` / `{{{var}}}` and comments are allowed: an SMS
/// needs no helpers, blocks or partials, and refusing them keeps rendering predictable.
pub fn variables(body: &str) -> Result<BTreeSet<String>> {
    let template = Template::compile(body)
        .map_err(|e| Error::InvalidParameter(format!("the template does not compile: {}", e.reason())))?;
    let mut vars = BTreeSet::new();
    for element in &template.elements {
        match element {
            TemplateElement::RawString(_) | TemplateElement::Comment(_) => {}
            TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                match simple_name(&h.name).filter(|n| is_identifier(n)) {
                    Some(n) if h.params.is_empty() && h.hash.is_empty() => {
                        vars.insert(n.to_string());
                    }
                    _ => {
                        return Err(Error::InvalidParameter(
                            "only plain variables such as {{code}} are allowed in a template".into(),
                        ));
                    }
                }
            }
            _ => {
                return Err(Error::InvalidParameter(
                    "helpers, blocks and partials are not allowed in a template".into(),
                ));
            }
        }
    }
    Ok(vars)
}

/// The checks a template passes when it is submitted, before a human looks at it.
pub fn check_template(body: &str, category: Category) -> Result<BTreeSet<String>> {
    let chars = body.chars().count();
    if body.trim().is_empty() || chars > MAX_BODY_CHARS {
        return Err(Error::InvalidParameter(format!("the body must be 1 to {MAX_BODY_CHARS} characters")));
    }
    if body.contains(['【', '】']) {
        return Err(Error::InvalidParameter("the signature is not part of the body: use a signature".into()));
    }
    let vars = variables(body)?;
    if category == Category::Verification && !vars.contains("code") {
        return Err(Error::InvalidParameter("a verification template must use {{code}}".into()));
    }
    if has_link(body) {
        return Err(Error::InvalidParameter(
            "links, web or IP addresses and download addresses are not allowed".into(),
        ));
    }
    for var in &vars {
        let lookalike = RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&var.replace(['_', '-'], "")));
        if !BUILT_IN.contains(&var.as_str()) && lookalike {
            return Err(Error::InvalidParameter(format!("{{{{{var}}}}} is named like a reserved variable")));
        }
    }
    Ok(vars)
}

/// A signature's text (without 【】): 1 to 10 characters, no brackets, no control characters.
pub fn check_signature(text: &str) -> Result<String> {
    let text = text.trim();
    let text = text.strip_prefix('【').and_then(|t| t.strip_suffix('】')).unwrap_or(text);
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_SIGNATURE_CHARS {
        return Err(Error::InvalidParameter(format!("a signature is 1 to {MAX_SIGNATURE_CHARS} characters")));
    }
    if text.contains(['【', '】', '[', ']']) || text.chars().any(char::is_control) {
        return Err(Error::InvalidParameter("a signature may not contain brackets or control characters".into()));
    }
    if has_link(text) {
        return Err(Error::InvalidParameter("a signature may not carry a link or an address".into()));
    }
    Ok(text.to_string())
}

/// The server's own values for a render.
#[derive(Debug, Clone)]
pub struct BuiltIns<'a> {
    pub code: &'a str,
    pub ttl: i64,
    pub name: &'a str,
}

/// Checks request variables: reserved names are skipped (they cannot be overridden), values are
/// short, may not forge a signature with 【】 and carry no link.
pub fn request_vars(vars: BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
    let mut checked = BTreeMap::new();
    for (key, value) in vars {
        if RESERVED.contains(&key.as_str()) {
            continue;
        }
        if value.contains(['【', '】']) || value.chars().any(char::is_control) {
            return Err(Error::TemplateRender(format!("{key} may not contain 【】 or control characters")));
        }
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(Error::TemplateRender(format!("{key} is longer than {MAX_VALUE_CHARS} characters")));
        }
        if has_link(&value) {
            return Err(Error::TemplateRender(format!("{key} may not carry a link or an address")));
        }
        checked.insert(key, value);
    }
    Ok(checked)
}

/// Renders `body` strictly: a variable that neither the server nor the request supplies fails.
pub fn render(body: &str, built_ins: &BuiltIns<'_>, vars: &BTreeMap<String, String>) -> Result<String> {
    let mut data = serde_json::Map::new();
    for (k, v) in vars {
        data.insert(k.clone(), v.clone().into());
    }
    data.insert("code".into(), built_ins.code.into());
    data.insert("ttl".into(), built_ins.ttl.into());
    data.insert("name".into(), built_ins.name.into());
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(handlebars::no_escape);
    registry.render_template(body, &data).map_err(|e| Error::TemplateRender(render_error(&e)))
}

fn render_error(e: &handlebars::RenderError) -> String {
    match e.reason() {
        handlebars::RenderErrorReason::MissingVariable(Some(var)) => format!("variable {var} is missing"),
        other => other.to_string(),
    }
}

/// The text with its signature in place.
pub fn sign(text: &str, signature: Option<(&str, Placement)>) -> String {
    match signature {
        None => text.to_string(),
        Some((s, Placement::Start)) => format!("【{s}】{text}"),
        Some((s, Placement::End)) => format!("{text}【{s}】"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// What a text costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Characters (Unicode scalar values), as a person counts them.
    pub chars: u32,
    pub encoding: Encoding,
    /// Billable parts: one up to 160 septets (GSM-7) or 70 UTF-16 units (UCS-2), else 153 / 67
    /// per part of a concatenated message.
    pub parts: u32,
}

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡\
     ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// Characters that take an escape septet too.
const GSM7_EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// Septets a character takes in GSM-7, `None` if it is not in the alphabet.
fn gsm7_septets(c: char) -> Option<u32> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Parts needed for units that may not be split (an escape pair, a surrogate pair).
fn pack(units: &[u32], single: u32, per_part: u32) -> u32 {
    let total: u32 = units.iter().sum();
    if total <= single {
        return 1;
    }
    let (mut parts, mut used) = (1, 0);
    for &u in units {
        if used + u > per_part {
            parts += 1;
            used = 0;
        }
        used += u;
    }
    parts
}

pub fn size(text: &str) -> Size {
    let chars = text.chars().count() as u32;
    let septets: Option<Vec<u32>> = text.chars().map(gsm7_septets).collect();
    match septets {
        Some(units) => Size { chars, encoding: Encoding::Gsm7, parts: pack(&units, 160, 153) },
        None => {
            let units: Vec<u32> = text.chars().map(|c| c.len_utf16() as u32).collect();
            Size { chars, encoding: Encoding::Ucs2, parts: pack(&units, 70, 67) }
        }
    }
}

/// One run of a character diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Same(String),
    Removed(String),
    Added(String),
}

/// The changes from `old` to `new`, by characters (longest common subsequence; bodies are at
/// most 500 characters, so the table stays small).
pub fn diff(old: &str, new: &str) -> Vec<Change> {
    let (a, b): (Vec<char>, Vec<char>) = (old.chars().collect(), new.chars().collect());
    let mut lcs = vec![vec![0u16; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut changes: Vec<Change> = Vec::new();
    let mut push = |change: Change| match (changes.last_mut(), change) {
        (Some(Change::Same(s)), Change::Same(c)) | (Some(Change::Removed(s)), Change::Removed(c)) => s.push_str(&c),
        (Some(Change::Added(s)), Change::Added(c)) => s.push_str(&c),
        (_, change) => changes.push(change),
    };
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            push(Change::Same(a[i].to_string()));
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            push(Change::Removed(a[i].to_string()));
            i += 1;
        } else {
            push(Change::Added(b[j].to_string()));
            j += 1;
        }
    }
    changes
}

/// A body rendered with sample values, and what it would cost.
#[derive(Debug, Clone)]
pub struct Preview {
    pub text: String,
    pub size: Size,
}

/// The code shown in previews.
pub const SAMPLE_CODE: &str = "123456";

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const B: BuiltIns<'static> = BuiltIns { code: "123456", ttl: 5, name: "Shop" };

    #[test]
    fn renders_strictly_without_escaping() {
        let body = "Hi {{user}}, {{name}} code {{code}} ({{ttl}} min) <b>&'\"";
        let text = render(body, &B, &vars(&[("user", "A&B <x>")])).unwrap();
        assert_eq!(text, "Hi A&B <x>, Shop code 123456 (5 min) <b>&'\"");
        let triple = render("{{{user}}}", &B, &vars(&[("user", "<&>")])).unwrap();
        assert_eq!(triple, "<&>");
        let missing = render("Hi {{user}} {{code}}", &B, &BTreeMap::new()).unwrap_err();
        assert!(matches!(&missing, Error::TemplateRender(m) if m.contains("user")), "{missing:?}");
    }

    #[test]
    fn reserved_values_cannot_be_overridden_or_forged() {
        let checked = request_vars(vars(&[("code", "000000"), ("name", "Evil"), ("date", "10月31日")])).unwrap();
        assert_eq!(checked, vars(&[("date", "10月31日")]));
        let text = render("{{name}} {{code}} {{date}}", &B, &checked).unwrap();
        assert_eq!(text, "Shop 123456 10月31日");
        assert!(matches!(request_vars(vars(&[("x", "【假】")])), Err(Error::TemplateRender(_))));
        assert!(matches!(request_vars(vars(&[("x", &"a".repeat(65))])), Err(Error::TemplateRender(_))));
    }

    #[test]
    fn submission_checks() {
        let v = Category::Verification;
        assert!(check_template("Your code is {{code}}", v).is_ok());
        assert!(check_template("Your code is {{code}", v).is_err(), "does not compile");
        assert!(check_template("Hello {{user}}", v).is_err(), "verification without code");
        assert!(check_template("Hello {{user}}", Category::Notification).is_ok());
        for linked in [
            "{{code}} see https://x.y",
            "{{code}} www.example",
            "{{code}} 下载 example.com/app",
            "{{code}} t.cn/abc",
            "{{code}} get app.apk",
        ] {
            assert!(check_template(linked, v).is_err(), "{linked}");
        }
        assert!(check_template("{{code}} 有效期 10.5 分钟. Thanks.", v).is_ok());
        for reserved in ["{{code}} {{sign}}", "{{code}} {{template}}", "{{code}} {{Code}}", "{{code}} {{T_T_L}}"] {
            assert!(check_template(reserved, v).is_err(), "{reserved}");
        }
        for shape in ["{{#if code}}{{code}}{{/if}}", "{{> other}}{{code}}", "{{lookup code 1}}", "{{code.x}}"] {
            assert!(check_template(shape, v).is_err(), "{shape}");
        }
        assert!(check_template("【Shop】{{code}}", v).is_err());
        assert!(check_template(&"x".repeat(501), Category::Notification).is_err());
        assert!(Category::parse("marketing").is_err());
    }

    #[test]
    fn character_diff() {
        use Change::*;
        assert_eq!(
            diff("验证码 {{code}}", "新验证码：{{code}}"),
            vec![
                Added("新".into()),
                Same("验证码".into()),
                Removed(" ".into()),
                Added("：".into()),
                Same("{{code}}".into())
            ]
        );
        assert_eq!(diff("", "ab"), vec![Added("ab".into())]);
        assert_eq!(diff("ab", "ab"), vec![Same("ab".into())]);
    }

    #[test]
    fn signatures() {
        assert_eq!(check_signature("【小卖部】").unwrap(), "小卖部");
        assert_eq!(check_signature("MyShop").unwrap(), "MyShop");
        assert!(check_signature("").is_err());
        assert!(check_signature("一二三四五六七八九十十").is_err(), "11 characters");
        assert!(check_signature("一二三四五六七八九十").is_ok());
        assert!(check_signature("a】b").is_err());
        assert_eq!(sign("text", Some(("S", Placement::Start))), "【S】text");
        assert_eq!(sign("text", Some(("S", Placement::End))), "text【S】");
    }

    #[test]
    fn gsm7_segments() {
        let s = size(&"a".repeat(160));
        assert_eq!((s.encoding, s.chars, s.parts), (Encoding::Gsm7, 160, 1));
        assert_eq!(size(&"a".repeat(161)).parts, 2);
        assert_eq!(size(&"a".repeat(306)).parts, 2);
        assert_eq!(size(&"a".repeat(307)).parts, 3);
        assert_eq!(size("Ça coûte 5€? @home_£").encoding, Encoding::Ucs2, "û is not GSM-7");
        assert_eq!(size("Ça coute 5€? @home_£").encoding, Encoding::Gsm7);
    }

    #[test]
    fn gsm7_extension_characters_take_two_septets() {
        // 80 × '€' = 160 septets: one part; one more character makes two.
        let euros = "€".repeat(80);
        let s = size(&euros);
        assert_eq!((s.encoding, s.chars, s.parts), (Encoding::Gsm7, 80, 1));
        assert_eq!(size(&format!("{euros}a")).parts, 2);
        // An escape pair is never split: 152 'a' then '{' fills part one at 152 septets.
        assert_eq!(size(&format!("{}{{{}", "a".repeat(152), "a".repeat(152))).parts, 3);
        assert_eq!(size(&format!("{}{{{}", "a".repeat(151), "a".repeat(153))).parts, 2);
    }

    #[test]
    fn chinese_segments_with_signature() {
        // The Bmob rule: up to 70 characters one part, then 67 per part; 135 characters are 3.
        assert_eq!(size(&"短".repeat(70)).parts, 1);
        assert_eq!(size(&"短".repeat(71)).parts, 2);
        assert_eq!(size(&"短".repeat(134)).parts, 2);
        assert_eq!(size(&"短".repeat(135)).parts, 3);
        // The signature counts: 64 characters of body plus 【比目科技】 (6) is 70.
        let signed = sign(&"短".repeat(64), Some(("比目科技", Placement::Start)));
        assert_eq!((size(&signed).chars, size(&signed).parts), (70, 1));
        let signed = sign(&"短".repeat(65), Some(("比目科技", Placement::End)));
        assert_eq!((size(&signed).chars, size(&signed).parts), (71, 2));
    }

    #[test]
    fn emoji_take_two_units_and_are_not_split() {
        let s = size("😀");
        assert_eq!((s.encoding, s.chars, s.parts), (Encoding::Ucs2, 1, 1));
        assert_eq!(size(&"😀".repeat(35)).parts, 1, "70 units");
        assert_eq!(size(&"😀".repeat(36)).parts, 2);
        // 66 units of 'é'-free text plus an emoji would straddle 67: it moves to the next part.
        let text = format!("{}{}", "中".repeat(66), "😀".repeat(34));
        assert_eq!(size(&text).chars, 100);
        assert_eq!(size(&text).parts, 3, "66 + (33 emoji = 66) + (1 emoji)");
    }
}
