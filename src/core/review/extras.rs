//! What an owner says of an item beside its reviewed content, and removing an item.
//!
//! Extras are not reviewed text: a code template's lifetime (JPush `ttl`, seconds), a remark for
//! the reviewer, a signature's kind (JPush `type` 1–7) and the image that proves the owner may
//! use it (shown to reviewers). They belong to the item, whichever revision serves.

use validator::Validate;

use super::{Content, Kind};
use crate::core::apps::App;
use crate::core::{Core, Error, Result, validation};
use crate::store::{self, item_extras::ExtrasRow};

/// Longest remark (JPush's limit for signatures, taken for templates too).
pub const MAX_REMARK_CHARS: usize = 100;
/// `MAX_REMARK_CHARS` as validator's length rules take it.
const REMARK_CHARS: u64 = MAX_REMARK_CHARS as u64;
/// Largest proof image.
pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;
/// Longest code lifetime a template may set (a day).
pub const MAX_TTL_SECS: i32 = 86_400;

#[derive(Debug, Clone, Default, PartialEq, Eq, Validate)]
pub struct Extras {
    #[validate(range(min = 1, max = MAX_TTL_SECS, message = "ttl must be {min} to {max} seconds"))]
    pub ttl_secs: Option<i32>,
    /// Kept trimmed; blank is none.
    #[validate(length(max = REMARK_CHARS, message = "a remark is at most {max} characters"))]
    pub remark: Option<String>,
    #[validate(range(min = 1, max = 7, message = "a signature's type is {min} to {max}"))]
    pub sign_type: Option<i32>,
    pub image: Option<Image>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Image {
    /// The image's type by its first bytes (PNG, JPEG, GIF, BMP), whatever the client claimed.
    pub fn sniffed(bytes: &[u8]) -> Option<&'static str> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some("image/png")
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            Some("image/jpeg")
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some("image/gif")
        } else if bytes.starts_with(b"BM") && bytes.len() > 26 {
            Some("image/bmp")
        } else {
            None
        }
    }
}

impl Extras {
    fn checked(self) -> Result<Self> {
        let remark = self.remark.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
        let extras = Self { remark, ..self };
        validation::check(&extras, &["ttl_secs", "remark", "sign_type"])?;
        let image = match extras.image {
            Some(image) => {
                let kind = Image::sniffed(&image.bytes)
                    .ok_or_else(|| Error::InvalidParameter("the image must be a PNG, JPEG, GIF or BMP".into()))?;
                if image.bytes.len() > MAX_IMAGE_BYTES {
                    return Err(Error::InvalidParameter(format!("the image is over {MAX_IMAGE_BYTES} bytes")));
                }
                Some(Image { content_type: kind.into(), bytes: image.bytes })
            }
            None => None,
        };
        Ok(Self { image, ..extras })
    }
}

impl Core {
    /// Sets an item's extras whole; an image is kept when the new extras bring none.
    pub fn set_item_extras(&self, app: &App, item_id: &str, extras: Extras) -> Result<Extras> {
        let extras = extras.checked()?;
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| -> Result<()> {
            store::lock_key(conn, &format!("sms-item:{item_id}"))?;
            store::templates::find_item(conn, item_id)?.filter(|i| i.app_id == app.id).ok_or(Error::ItemNotFound)?;
            let old = store::item_extras::find_extras(conn, item_id)?;
            let (image, image_type) = match (&extras.image, old) {
                (Some(i), _) => (Some(i.bytes.clone()), Some(i.content_type.clone())),
                (None, Some(old)) => (old.image, old.image_type),
                (None, None) => (None, None),
            };
            store::item_extras::put_extras(
                conn,
                &ExtrasRow {
                    item_id: item_id.into(),
                    ttl_secs: extras.ttl_secs,
                    remark: extras.remark.clone(),
                    sign_type: extras.sign_type,
                    image,
                    image_type,
                    updated_at: now,
                },
            )?;
            Ok(())
        })?;
        self.item_extras(app, item_id)
    }

    /// An item's extras (all empty when none were set).
    pub fn item_extras(&self, app: &App, item_id: &str) -> Result<Extras> {
        let mut conn = self.conn()?;
        store::templates::find_item(&mut conn, item_id)?.filter(|i| i.app_id == app.id).ok_or(Error::ItemNotFound)?;
        Ok(store::item_extras::find_extras(&mut conn, item_id)?
            .map(|row| Extras {
                ttl_secs: row.ttl_secs,
                remark: row.remark,
                sign_type: row.sign_type,
                image: match (row.image, row.image_type) {
                    (Some(bytes), Some(content_type)) => Some(Image { content_type, bytes }),
                    _ => None,
                },
            })
            .unwrap_or_default())
    }

    /// Removes an item for good: its revisions, its review record and its extras. A signature
    /// that one of the app's templates names cannot go (their sends would fail).
    pub fn delete_item(&self, app: &App, item_id: &str) -> Result<()> {
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| -> Result<()> {
            store::lock_key(conn, &format!("sms-items:{}", app.id))?;
            store::lock_key(conn, &format!("sms-item:{item_id}"))?;
            let item = store::templates::find_item(conn, item_id)?
                .filter(|i| i.app_id == app.id)
                .ok_or(Error::ItemNotFound)?;
            if item.kind == Kind::Signature.as_str() {
                for template in store::templates::list_items(conn, &app.id, Kind::Template.as_str())? {
                    let named = store::templates::revisions_of(conn, &template.id)?.into_iter().any(|r| {
                        super::Revision::try_from(r).is_ok_and(
                            |r| matches!(&r.content, Content::Template { signature: Some(s), .. } if *s == item.name),
                        )
                    });
                    if named {
                        return Err(Error::InvalidParameter(format!(
                            "the template {} uses this signature",
                            template.name
                        )));
                    }
                }
            }
            store::item_extras::delete_extras(conn, item_id)?;
            store::templates::delete_item(conn, item_id)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(extras: Extras) -> String {
        match extras.checked() {
            Err(Error::InvalidParameter(message)) => message,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bounds_and_their_messages() {
        let edge = Extras {
            ttl_secs: Some(MAX_TTL_SECS),
            remark: Some(format!(" {} ", "备".repeat(100))),
            sign_type: Some(7),
            image: None,
        };
        let checked = edge.checked().unwrap();
        assert_eq!(checked.remark.as_deref().map(|r| r.chars().count()), Some(100), "kept trimmed");
        assert_eq!(Extras { remark: Some("  ".into()), ..Extras::default() }.checked().unwrap().remark, None);
        for ttl in [0, -1, MAX_TTL_SECS + 1] {
            assert_eq!(refused(Extras { ttl_secs: Some(ttl), ..Extras::default() }), "ttl must be 1 to 86400 seconds");
        }
        assert_eq!(
            refused(Extras { remark: Some("r".repeat(101)), ..Extras::default() }),
            "a remark is at most 100 characters"
        );
        for t in [0, 8] {
            assert_eq!(refused(Extras { sign_type: Some(t), ..Extras::default() }), "a signature's type is 1 to 7");
        }
        // In the order they were checked by hand: ttl, remark, type, then the image.
        let all = Extras {
            ttl_secs: Some(0),
            remark: Some("r".repeat(101)),
            sign_type: Some(9),
            image: Some(Image { content_type: "image/png".into(), bytes: b"not an image".to_vec() }),
        };
        assert_eq!(refused(all.clone()), "ttl must be 1 to 86400 seconds");
        assert_eq!(refused(Extras { ttl_secs: None, ..all.clone() }), "a remark is at most 100 characters");
        assert_eq!(refused(Extras { ttl_secs: None, remark: None, ..all.clone() }), "a signature's type is 1 to 7");
        assert_eq!(
            refused(Extras { ttl_secs: None, remark: None, sign_type: None, ..all }),
            "the image must be a PNG, JPEG, GIF or BMP"
        );
    }
}
