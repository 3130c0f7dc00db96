//! Image captchas before SMS sends (LeanCloud's requestCaptcha / verifyCaptcha, contract §5.4;
//! Bmob's are the same shape). The answer and both tokens are stored only as keyed hashes, so the
//! picture is drawn once, when the captcha is asked for, and kept until it is answered.
//!
//! A captcha answers once, right or wrong. A right answer earns a `validate_token` that pays for
//! one code send of the same app within `VALIDATE_TTL`.

use std::fmt::Debug;
use std::io::Cursor;
use std::ops::RangeInclusive;

use chrono::{NaiveDateTime, TimeDelta};
use rand::Rng;
use validator::Validate;

use crate::core::apps::App;
use crate::core::{Core, Error, Result, validation};
use crate::store::{self, DbConn};

pub const WIDTH: RangeInclusive<u32> = 60..=200;
pub const DEFAULT_WIDTH: u32 = 85;
pub const HEIGHT: RangeInclusive<u32> = 30..=100;
pub const DEFAULT_HEIGHT: u32 = 30;
pub const SIZE: RangeInclusive<usize> = 3..=6;
pub const DEFAULT_SIZE: usize = 4;
pub const TTL_SECS: RangeInclusive<i64> = 10..=180;
pub const DEFAULT_TTL_SECS: i64 = 60;
/// How long a validate token stays good: long enough to type a phone number, short enough that a
/// harvested token is worth little.
pub const VALIDATE_TTL: TimeDelta = TimeDelta::minutes(5);
const TOKEN_LEN: usize = 20;
const VALIDATE_TOKEN_LEN: usize = 32;
const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Letters and digits a reader cannot confuse (no 0/O, 1/I/L, 2/Z, 5/S, 8/B); answers compare
/// case-insensitively, so one case is enough.
const ANSWER_ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTUVWXY34679";

/// Where the answers come from. Production draws them from the CSPRNG; tests inject a source whose
/// answers they know (through `startup::Hooks`, never through configuration).
pub trait CaptchaText: Send + Sync + Debug {
    fn text(&self, len: usize) -> String;
}

#[derive(Debug, Default)]
pub struct RandomText;

impl CaptchaText for RandomText {
    fn text(&self, len: usize) -> String {
        random_string(ANSWER_ALPHABET, len)
    }
}

fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

/// What the client asked for; `None` takes the default. A value out of its range is refused
/// (`Error::InvalidParameter`), never clamped.
#[derive(Debug, Clone, Default, Validate)]
pub struct CaptchaSpec {
    #[validate(range(min = *WIDTH.start(), max = *WIDTH.end(), message = "width must be {min} to {max}, not {value}"))]
    pub width: Option<u32>,
    #[validate(range(min = *HEIGHT.start(), max = *HEIGHT.end(), message = "height must be {min} to {max}, not {value}"))]
    pub height: Option<u32>,
    #[validate(range(min = *SIZE.start(), max = *SIZE.end(), message = "size must be {min} to {max}, not {value}"))]
    pub size: Option<usize>,
    #[validate(range(min = *TTL_SECS.start(), max = *TTL_SECS.end(), message = "ttl must be {min} to {max}, not {value}"))]
    pub ttl_secs: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Checked {
    width: u32,
    height: u32,
    size: usize,
    ttl_secs: i64,
}

impl CaptchaSpec {
    fn checked(&self) -> Result<Checked> {
        validation::check(self, &["width", "height", "size", "ttl_secs"])?;
        Ok(Checked {
            width: self.width.unwrap_or(DEFAULT_WIDTH),
            height: self.height.unwrap_or(DEFAULT_HEIGHT),
            size: self.size.unwrap_or(DEFAULT_SIZE),
            ttl_secs: self.ttl_secs.unwrap_or(DEFAULT_TTL_SECS),
        })
    }
}

#[derive(Debug, Clone)]
pub struct IssuedCaptcha {
    /// Names the captcha in the image URL and in verifyCaptcha.
    pub token: String,
    pub expires_at: NaiveDateTime,
}

/// Draws the picture: distorted, with interference lines and noise, as a PNG of exactly the asked
/// size. captcha-rs writes glyphs of a fixed size (about 40 px), so small pictures are drawn on a
/// canvas big enough for the text and scaled down; otherwise LeanCloud's default 85×30 would cut
/// the glyphs off.
fn draw_png(text: &str, width: u32, height: u32) -> Result<Vec<u8>> {
    const CANVAS_HEIGHT: u32 = 60;
    const GLYPH_WIDTH: u32 = 30;
    let canvas_height = height.max(CANVAS_HEIGHT);
    let canvas_width = (width * canvas_height / height).max(GLYPH_WIDTH * text.chars().count() as u32 + 10);
    let captcha = captcha_rs::CaptchaBuilder::new()
        .text(text.to_string())
        .width(canvas_width)
        .height(canvas_height)
        .complexity(2)
        .distortion(4)
        .interference_lines(2)
        .interference_ellipses(1)
        .build();
    let mut picture = captcha.image;
    if (canvas_width, canvas_height) != (width, height) {
        picture = picture.resize_exact(width, height, image::imageops::FilterType::Triangle);
    }
    let mut png = Vec::new();
    picture
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| Error::Internal(anyhow::anyhow!("cannot encode the captcha image: {e}")))?;
    Ok(png)
}

impl Core {
    /// Issues a captcha: checks the size, the per-address limits, draws the picture and stores it
    /// with the answer's keyed hash. Blocking and CPU-bound: call it off the request threads.
    pub fn request_captcha(&self, app: &App, spec: &CaptchaSpec, client_ip: &str) -> Result<IssuedCaptcha> {
        let spec = spec.checked()?;
        let mut conn = self.conn()?;
        // A cheap look before drawing, so a client over its limit burns no CPU; the count that
        // decides is taken again under the lock below.
        if self.captcha_limit_reached(&mut conn, app, client_ip, self.clock.now_naive())? {
            return Err(Error::TooManyCaptchas);
        }
        let answer = self.options.captcha_text.text(spec.size);
        let png = draw_png(&answer, spec.width, spec.height)?;
        let token = random_string(TOKEN_ALPHABET, TOKEN_LEN);
        let now = self.clock.now_naive();
        let expires_at = now + TimeDelta::seconds(spec.ttl_secs);
        let limited = app.settings.limits.captcha_ip_per_hour > 0 || app.settings.limits.captcha_ip_per_day > 0;
        store::write_tx(&mut conn, |conn| -> Result<()> {
            // The per-address lock makes the count exact across instances. Without limits there
            // is nothing to count, and the lock would only queue every client behind one
            // address (a carrier NAT, or a benchmark: 330 captchas/s on PostgreSQL, all waiting
            // on it).
            if limited {
                store::lock_key(conn, &format!("captcha:ip:{}:{client_ip}", app.id))?;
                if self.captcha_limit_reached(conn, app, client_ip, now)? {
                    return Err(Error::TooManyCaptchas);
                }
            }
            store::captchas::insert(
                conn,
                &store::captchas::NewCaptcha {
                    id: &uuid::Uuid::now_v7().to_string(),
                    app_id: &app.id,
                    token_hash: &self.captcha_token_hash(&app.id, &token),
                    answer_hash: &self.captcha_answer_hash(&app.id, &token, &answer),
                    image: Some(&png),
                    ip: client_ip,
                    created_at: now,
                    expires_at,
                },
            )?;
            Ok(())
        })?;
        Ok(IssuedCaptcha { token, expires_at })
    }

    fn captcha_limit_reached(&self, conn: &mut DbConn, app: &App, ip: &str, now: NaiveDateTime) -> Result<bool> {
        let limits = &app.settings.limits;
        let windows =
            [(limits.captcha_ip_per_hour, TimeDelta::hours(1)), (limits.captcha_ip_per_day, TimeDelta::days(1))];
        let Some(largest) = windows.iter().map(|&(limit, _)| limit).max().filter(|&l| l > 0) else {
            return Ok(false);
        };
        let recent = store::captchas::recent_for_ip(conn, &app.id, ip, now - TimeDelta::days(1), largest)?;
        Ok(crate::core::codes::window_full(&recent, now, &windows))
    }

    /// The PNG of a live, unanswered captcha; `None` for an unknown, expired or answered one.
    pub fn captcha_image(&self, app_id: &str, token: &str) -> Result<Option<Vec<u8>>> {
        if token.is_empty() || token.len() > 64 {
            return Ok(None);
        }
        let mut conn = self.conn()?;
        for hash in self.keys.keyed_hashes(&["captcha-token", app_id, token]) {
            if let Some(image) = store::captchas::live_image(&mut conn, app_id, &hash, self.clock.now_naive())? {
                return Ok(Some(image));
            }
        }
        Ok(None)
    }

    /// Checks an answer. The captcha is spent whatever the answer, so each guess costs the guesser
    /// a new captcha (and the per-address limit counts those). Returns the validate token.
    pub fn verify_captcha(&self, app: &App, token: &str, answer: &str) -> Result<String> {
        let (token, answer) = (token.trim(), answer.trim());
        if token.is_empty() || answer.is_empty() || token.len() > 64 || answer.len() > 64 {
            return Err(Error::WrongCaptcha);
        }
        let token_hashes = self.keys.keyed_hashes(&["captcha-token", &app.id, token]);
        let validate_token = random_string(TOKEN_ALPHABET, VALIDATE_TOKEN_LEN);
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        // Ok(false) for a wrong answer: the spent captcha must still commit.
        let right = store::write_tx(&mut conn, |conn| -> Result<bool> {
            let mut taken = None;
            for hash in &token_hashes {
                taken = store::captchas::take_for_answer(conn, &app.id, hash, now)?;
                if taken.is_some() {
                    break;
                }
            }
            let Some((id, answer_hash)) = taken else {
                return Ok(false);
            };
            if !self.keys.matches(&answer_hash, &Self::answer_parts(&app.id, token, &answer.to_lowercase())) {
                return Ok(false);
            }
            let validate_hash = self.validate_token_hash(&app.id, &validate_token);
            store::captchas::set_validate(conn, &id, &validate_hash, now + VALIDATE_TTL)?;
            Ok(true)
        })?;
        if right { Ok(validate_token) } else { Err(Error::WrongCaptcha) }
    }

    /// Inside a send's transaction: spends `token` if one was given (a stale token is refused even
    /// where captchas are optional), and refuses a send without one where they are required.
    pub(crate) fn spend_validate_token(
        &self,
        conn: &mut DbConn,
        app: &App,
        token: Option<&str>,
        required: bool,
        now: NaiveDateTime,
    ) -> Result<()> {
        match token.map(str::trim).filter(|t| !t.is_empty()) {
            None if required => Err(Error::CaptchaRequired),
            None => Ok(()),
            Some(t) if t.len() <= 64 => {
                for hash in self.keys.keyed_hashes(&["captcha-validate", &app.id, t]) {
                    if store::captchas::spend_validate(conn, &app.id, &hash, now)? {
                        return Ok(());
                    }
                }
                Err(Error::InvalidValidateToken)
            }
            Some(_) => Err(Error::InvalidValidateToken),
        }
    }

    fn captcha_token_hash(&self, app_id: &str, token: &str) -> String {
        self.keys.keyed_hash(&["captcha-token", app_id, token])
    }

    /// Bound to the app and the token, so an answer hash is worth nothing for another captcha.
    fn captcha_answer_hash(&self, app_id: &str, token: &str, answer: &str) -> String {
        self.keys.keyed_hash(&Self::answer_parts(app_id, token, &answer.to_lowercase()))
    }

    fn answer_parts<'a>(app_id: &'a str, token: &'a str, lower_answer: &'a str) -> [&'a str; 4] {
        ["captcha-answer", app_id, token, lower_answer]
    }

    fn validate_token_hash(&self, app_id: &str, token: &str) -> String {
        self.keys.keyed_hash(&["captcha-validate", app_id, token])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_defaults() {
        let d = CaptchaSpec::default().checked().unwrap();
        assert_eq!(d, Checked { width: 85, height: 30, size: 4, ttl_secs: 60 });
        for bad in [
            CaptchaSpec { width: Some(59), ..Default::default() },
            CaptchaSpec { width: Some(201), ..Default::default() },
            CaptchaSpec { height: Some(29), ..Default::default() },
            CaptchaSpec { height: Some(101), ..Default::default() },
            CaptchaSpec { size: Some(2), ..Default::default() },
            CaptchaSpec { size: Some(7), ..Default::default() },
            CaptchaSpec { ttl_secs: Some(9), ..Default::default() },
            CaptchaSpec { ttl_secs: Some(181), ..Default::default() },
        ] {
            assert!(matches!(bad.checked(), Err(Error::InvalidParameter(_))), "{bad:?}");
        }
        // The exact texts, and the first bad value wins in the order width, height, size, ttl.
        let message = |spec: CaptchaSpec| match spec.checked() {
            Err(Error::InvalidParameter(m)) => m,
            other => panic!("{other:?}"),
        };
        let all = CaptchaSpec { width: Some(59), height: Some(101), size: Some(7), ttl_secs: Some(9) };
        assert_eq!(message(all.clone()), "width must be 60 to 200, not 59");
        assert_eq!(message(CaptchaSpec { width: None, ..all.clone() }), "height must be 30 to 100, not 101");
        assert_eq!(message(CaptchaSpec { width: None, height: None, ..all.clone() }), "size must be 3 to 6, not 7");
        assert_eq!(
            message(CaptchaSpec { ttl_secs: Some(-5), ..CaptchaSpec::default() }),
            "ttl must be 10 to 180, not -5"
        );
        let edge = CaptchaSpec { width: Some(200), height: Some(100), size: Some(6), ttl_secs: Some(180) };
        assert_eq!(edge.checked().unwrap(), Checked { width: 200, height: 100, size: 6, ttl_secs: 180 });
    }

    #[test]
    fn pictures_are_pngs_of_the_asked_size() {
        for (w, h, text) in [(60, 30, "ACD"), (85, 30, "XY34"), (200, 100, "KMNPQR")] {
            let png = draw_png(text, w, h).unwrap();
            let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png).unwrap();
            assert_eq!((img.width(), img.height()), (w, h));
        }
    }

    #[test]
    fn random_answers_use_the_unambiguous_alphabet() {
        let answers: std::collections::HashSet<String> = (0..100).map(|_| RandomText.text(6)).collect();
        assert!(answers.len() > 95);
        assert!(answers.iter().all(|a| a.len() == 6 && a.bytes().all(|b| ANSWER_ALPHABET.contains(&b))));
    }
}
