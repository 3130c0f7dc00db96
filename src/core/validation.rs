//! Input rules declared with the `validator` crate (`#[derive(Validate)]`: lengths and ranges on
//! core's input structs), mapped to core's error here, once: a failed rule is
//! `Error::InvalidParameter` with the rule's `message`, which each dialect then words as it words
//! any invalid parameter. A message may name the rule's bounds and the refused value as `{min}`,
//! `{max}` and `{value}`, so the text never drifts from the bound it states.
//!
//! Rules validator has no shape for stay hand-written beside it: phone numbers (libphonenumber,
//! `phone.rs`), emails (`accounts::users::checked_email` accepts addresses validator's HTML5 rule
//! refuses, and exported users must keep importing), lengths in bytes rather than characters.

use validator::{Validate, ValidationError, ValidationErrors, ValidationErrorsKind};

use super::{Error, Result};

/// Checks `input` by its rules. When several fields fail, the first one in `order` is reported
/// (paths are dotted for nested structs: `limits.ip_per_day`), then the others by path: `order` is
/// the order in which the fields were checked before validator, so a caller sees the same error.
pub fn check<T: Validate>(input: &T, order: &[&str]) -> Result<()> {
    let Err(errors) = input.validate() else { return Ok(()) };
    let mut failed = Vec::new();
    flatten(String::new(), &errors, &mut failed);
    // Stable: the rules of one field keep their declared order.
    failed.sort_by_cached_key(|(path, _)| (order.iter().position(|o| o == path).unwrap_or(order.len()), path.clone()));
    match failed.first() {
        Some((path, error)) => Err(Error::InvalidParameter(message(path, error))),
        None => Err(Error::InvalidParameter(errors.to_string())),
    }
}

fn flatten<'a>(prefix: String, errors: &'a ValidationErrors, out: &mut Vec<(String, &'a ValidationError)>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") };
        match kind {
            ValidationErrorsKind::Field(list) => out.extend(list.iter().map(|e| (path.clone(), e))),
            ValidationErrorsKind::Struct(inner) => flatten(path, inner, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    flatten(format!("{path}[{i}]"), inner, out);
                }
            }
        }
    }
}

/// The rule's message with its parameters filled in (`{path}` is the field's dotted path); a rule
/// without a message says which field it refused.
fn message(path: &str, error: &ValidationError) -> String {
    let Some(template) = &error.message else { return format!("{path} is invalid") };
    let mut text = template.replace("{path}", path);
    for (name, value) in &error.params {
        let value = value.as_str().map_or_else(|| value.to_string(), str::to_string);
        text = text.replace(&format!("{{{name}}}"), &value);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Validate)]
    struct Input {
        #[validate(range(min = 1, max = 30, message = "ttl must be {min} to {max}, not {value}"))]
        ttl: Option<i64>,
        #[validate(length(max = 3, message = "name is at most {max} characters"))]
        name: String,
        #[validate(nested)]
        inner: Inner,
    }

    #[derive(Validate)]
    struct Inner {
        #[validate(range(max = 9, message = "{path} must be 0 to {max}"))]
        count: u32,
    }

    fn input(ttl: Option<i64>, name: &str, count: u32) -> Input {
        Input { ttl, name: name.into(), inner: Inner { count } }
    }

    fn error(input: &Input, order: &[&str]) -> Option<String> {
        match check(input, order) {
            Ok(()) => None,
            Err(Error::InvalidParameter(m)) => Some(m),
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn messages_name_the_bounds_and_the_value() {
        assert_eq!(error(&input(Some(30), "abc", 9), &[]), None);
        assert_eq!(error(&input(None, "", 0), &[]), None);
        assert_eq!(error(&input(Some(31), "abc", 0), &[]).as_deref(), Some("ttl must be 1 to 30, not 31"));
        assert_eq!(error(&input(Some(0), "abc", 0), &[]).as_deref(), Some("ttl must be 1 to 30, not 0"));
        assert_eq!(error(&input(None, "abcd", 0), &[]).as_deref(), Some("name is at most 3 characters"));
        // Characters, not bytes.
        assert_eq!(error(&input(None, "验证码", 0), &[]), None);
        assert_eq!(error(&input(None, "", 10), &[]).as_deref(), Some("inner.count must be 0 to 9"));
    }

    #[test]
    fn the_first_failure_in_the_given_order_wins() {
        let all = input(Some(31), "abcd", 10);
        assert_eq!(error(&all, &["inner.count", "name", "ttl"]).as_deref(), Some("inner.count must be 0 to 9"));
        assert_eq!(error(&all, &["name", "ttl"]).as_deref(), Some("name is at most 3 characters"));
        // Unordered fields come after the ordered ones, by path.
        assert_eq!(error(&all, &["ttl"]).as_deref(), Some("ttl must be 1 to 30, not 31"));
        assert_eq!(error(&all, &[]).as_deref(), Some("inner.count must be 0 to 9"));
    }
}
