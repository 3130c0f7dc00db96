//! Reading JPush requests: JSON whatever the `Content-Type` says or whether there is one (the
//! Python client sends none), multipart for signatures, and the fields in them.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;
use serde_json::Value;

use super::error::JpError;
use crate::core::phone::Phone;
use crate::http::{edge, read_body};

pub use crate::http::kit::fields::Body;
use crate::http::kit::fields::FieldError;

fn content_type(req: &HttpRequest) -> String {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// A JSON object body. No body at all is 50003; a form or multipart body 415 50017; anything
/// that is not a JSON object 50007. Every key and string passes the edge's text rule.
pub async fn json(req: &HttpRequest, payload: web::Payload, limit: usize) -> Result<Body, JpError> {
    let kind = content_type(req);
    if kind.starts_with("multipart/") || kind == "application/x-www-form-urlencoded" {
        return Err(JpError::media_not_supported());
    }
    let bytes = read_body(payload, limit).await?;
    let text = std::str::from_utf8(&bytes).map_err(|_| JpError::invalid_body())?.trim();
    if text.is_empty() {
        return Err(JpError::missing_body());
    }
    match serde_json::from_str(text).map_err(|_| JpError::invalid_body())? {
        Value::Object(map) => {
            edge::check_object(&map)?;
            Ok(map)
        }
        _ => Err(JpError::invalid_body()),
    }
}

pub use crate::http::kit::fields::{integer, string};

/// The number under `mobile`: 50004 when absent, 50006 when it is no mobile number.
pub fn mobile(body: &Body) -> Result<Phone, JpError> {
    match crate::http::kit::fields::phone(body, "mobile") {
        Ok(phone) => Ok(phone),
        Err(FieldError::Core(crate::core::Error::MissingPhone)) => Err(JpError::missing_mobile()),
        Err(_) => Err(JpError::invalid_mobile()),
    }
}

/// `temp_id`: 50005 when absent, 50013 when it is not a positive integer.
pub fn temp_id(body: &Body) -> Result<i64, JpError> {
    match integer(body, "temp_id") {
        Ok(Some(id)) if id > 0 => Ok(id),
        Ok(Some(_)) | Err(_) => Err(JpError::invalid_temp_id()),
        Ok(None) => Err(JpError::missing_temp_id()),
    }
}

/// `sign_id` when given (the Java client leaves it out unless set; 0 means none there too).
pub fn sign_id(body: &Body) -> Result<Option<i64>, JpError> {
    match integer(body, "sign_id") {
        Ok(None | Some(0)) => Ok(None),
        Ok(Some(id)) if id > 0 => Ok(Some(id)),
        _ => Err(JpError::invalid_sign_id()),
    }
}

/// `temp_para`: an object of strings or numbers (50044 otherwise); absent is empty.
pub fn temp_para(body: &Body) -> Result<std::collections::BTreeMap<String, String>, JpError> {
    let mut vars = std::collections::BTreeMap::new();
    match body.get("temp_para") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return Err(JpError::template_parameter_invalid().detail(format!("{k} must be a string"))),
                };
                vars.insert(k.clone(), text);
            }
        }
        Some(_) => return Err(JpError::template_parameter_invalid().detail("temp_para must be an object")),
    }
    Ok(vars)
}

/// A multipart form: its text fields and at most one file (`image0` from Python and PHP,
/// `images` from Java). Any other content type is 415 50017.
#[derive(Debug, Default)]
pub struct Form {
    pub fields: Vec<(String, String)>,
    pub image: Option<Image>,
}

#[derive(Debug)]
pub struct Image {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Form {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

pub async fn multipart(req: &HttpRequest, payload: web::Payload, limit: usize) -> Result<Form, JpError> {
    // Java sends `multipart/form-data ; boundary=...` (a space before the `;`).
    if !content_type(req).starts_with("multipart/form-data") {
        return Err(JpError::media_not_supported());
    }
    // ...which the multipart parser refuses: hand it the same type without the space.
    let mut headers = req.headers().clone();
    if let Some(tidy) = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').map(str::trim).collect::<Vec<_>>().join("; "))
        .and_then(|v| actix_web::http::header::HeaderValue::from_str(&v).ok())
    {
        headers.insert(CONTENT_TYPE, tidy);
    }
    let mut parts = actix_multipart::Multipart::new(&headers, payload.into_inner());
    let mut form = Form::default();
    let mut total = 0usize;
    while let Some(field) = parts.next().await {
        let mut field = field.map_err(|e| JpError::invalid_body().detail(e))?;
        let name = field.name().unwrap_or("").to_string();
        let file = field.content_disposition().and_then(|d| d.get_filename()).is_some();
        let content_type = field.content_type().map(|m| m.essence_str().to_string());
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| JpError::invalid_body().detail(e))?;
            total += chunk.len();
            if total > limit {
                return Err(JpError::invalid_body().detail(format!("request body is larger than {limit} bytes")));
            }
            bytes.extend_from_slice(&chunk);
        }
        if name == "image0" || name == "images" || (file && name.starts_with("image")) {
            if form.image.is_some() {
                return Err(JpError::invalid_image().detail("one image at most"));
            }
            form.image =
                Some(Image { content_type: content_type.unwrap_or_else(|| "application/octet-stream".into()), bytes });
        } else {
            let text =
                String::from_utf8(bytes).map_err(|_| JpError::invalid_body().detail(format!("{name} is not UTF-8")))?;
            edge::check_text(&name, &text)?;
            form.fields.push((name, text));
        }
    }
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Body {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn fields() {
        let b =
            body(serde_json::json!({"mobile": 13800138000u64, "temp_id": "7", "sign_id": 0, "temp_para": {"a": 1}}));
        assert_eq!(mobile(&b).unwrap().e164(), "+8613800138000");
        assert_eq!(temp_id(&b).unwrap(), 7);
        assert_eq!(sign_id(&b).unwrap(), None);
        assert_eq!(temp_para(&b).unwrap()["a"], "1");
        let empty = body(serde_json::json!({}));
        assert_eq!(mobile(&empty).unwrap_err().code, 50004);
        assert_eq!(temp_id(&empty).unwrap_err().code, 50005);
        let bad = body(serde_json::json!({"mobile": "12", "temp_id": -1, "sign_id": "x", "temp_para": [1]}));
        assert_eq!(mobile(&bad).unwrap_err().code, 50006);
        assert_eq!(temp_id(&bad).unwrap_err().code, 50013);
        assert_eq!(sign_id(&bad).unwrap_err().code, 50102);
        assert_eq!(temp_para(&bad).unwrap_err().code, 50044);
    }
}
