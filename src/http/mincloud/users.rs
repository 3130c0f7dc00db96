//! Accounts on the client API (contract C.3, C.4): SMS login with `create_user`, phone
//! registration and password login, the user-info read the SDK makes after every login, account
//! changes, verifying the current user's phone, logout. MinCloud's user ids are integers: the
//! core's `User.seq`, the same person in every dialect.

use super::openapi as doc;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use super::auth::MinCloud;
use super::error::McError;
use crate::core::accounts::sessions::Session;
use crate::core::accounts::users::{Credential, LoginId, NewUser, PhoneInput, SignedIn, User, UserPatch};
use crate::core::apps::App;
use crate::http::kit::caller::Caller;
use crate::http::kit::fields::{self, Body};
use crate::http::{AppState, json_object_body};

/// The longest `expires_in` a login reports: MinCloud's sessions last at most 30 days, and the SDK
/// treats its session as over at `now + expires_in - 30` (the server's session may last longer:
/// the app's `session_ttl_days`, or until revoked).
pub const MAX_EXPIRES_IN: i64 = 30 * 24 * 3600;

/// Seconds since the epoch, MinCloud's form for `created_at` / `updated_at`.
fn unix(t: chrono::NaiveDateTime) -> i64 {
    t.and_utc().timestamp()
}

/// The built-in keys of a MinCloud user (`_userprofile`); custom fields may not shadow them.
const BUILT_IN: &[&str] = &["id", "user_id", "created_at", "updated_at", "created_by", "token", "expires_in"];

/// The user as MinCloud shows it. `own`: the caller is this user (or the app's server), who sees
/// the account's identifiers; anyone else sees the public part (id, times, custom fields).
pub fn user_json(user: &User, own: bool) -> Map<String, Value> {
    let mut out: Map<String, Value> = user
        .fields
        .iter()
        .filter(|(k, _)| !k.starts_with('_') && !BUILT_IN.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.insert("id".into(), user.seq.into());
    out.insert("created_at".into(), unix(user.created_at).into());
    out.insert("updated_at".into(), unix(user.updated_at).into());
    out.insert("created_by".into(), user.seq.into());
    if own {
        out.insert("_username".into(), user.username.clone().into());
        out.insert("_email".into(), user.email.clone().into());
        out.insert("_email_verified".into(), user.email_verified.into());
        out.insert("_phone".into(), user.mobile_phone.clone().into());
        out.insert("_phone_verified".into(), user.mobile_verified.into());
        out.insert("_provider".into(), json!({}));
    }
    out
}

/// A login's answer: 201 `{token, expires_in, user_id, ...the user}`.
fn logged_in(app: &App, signed_in: &SignedIn) -> HttpResponse {
    let mut out = user_json(&signed_in.user, true);
    let ttl = app.settings.session_ttl_days.map_or(MAX_EXPIRES_IN, |days| i64::from(days) * 24 * 3600);
    out.insert("token".into(), signed_in.token.clone().into());
    out.insert("expires_in".into(), ttl.min(MAX_EXPIRES_IN).into());
    out.insert("user_id".into(), signed_in.user.seq.into());
    HttpResponse::Created().json(Value::Object(out))
}

async fn body_of(payload: web::Payload, state: &AppState) -> Result<Body, McError> {
    Ok(json_object_body(payload, state.config.body_limit_bytes).await?)
}

fn required_code(body: &Body) -> Result<String, McError> {
    fields::code(body, "code")?.filter(|v| !v.is_empty()).ok_or_else(|| McError::missing("code"))
}

fn phone_input(body: &Body) -> Result<PhoneInput, McError> {
    let raw =
        fields::string(body, "phone")?.filter(|p| !p.trim().is_empty()).ok_or_else(|| McError::missing("phone"))?;
    Ok(PhoneInput::parse(&raw)?)
}

/// `create_user`: a boolean, or its text; true when absent (the SDK's default).
fn flag(body: &Body, key: &str, default: bool) -> Result<bool, McError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "1" => Ok(true),
        Some(Value::String(s)) if s == "false" || s == "0" => Ok(false),
        Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(true),
        Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(false),
        Some(_) => Err(McError::bad_request(format!("{key} must be a boolean."))),
    }
}

/// The caller's live session, or 401.
pub(super) async fn signed_in_session(caller: &Caller<MinCloud>) -> Result<Session, McError> {
    caller.session().await?.ok_or_else(McError::unauthorized)
}

/// `POST /hserve/v2.1/login/sms/` `{phone, code, create_user}`: the code proves the number; its
/// owner is logged in, or (with `create_user`, the default) a user is created with the number
/// verified. Without `create_user`, an unknown number is 404.
#[utoipa::path(post, path = "/hserve/{version}/login/sms", tag = "MinCloud", params(("version" = String, Path, pattern = r"^v[0-9.]+$", description = "the SDK's API version, e.g. v2.1")),
    request_body = doc::McLoginSms, responses((status = 201, body = doc::McLoggedIn), doc::Errors))]
pub async fn login_sms(
    caller: Caller<MinCloud>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, McError> {
    let body = body_of(payload, &state).await?;
    let phone = phone_input(&body)?;
    let code = required_code(&body)?;
    let signed_in = if flag(&body, "create_user", true)? {
        caller.run(move |core, app| core.sign_up_or_log_in_by_phone(app, phone, &code, NewUser::default())).await?
    } else {
        caller.run(move |core, app| core.log_in(app, LoginId::Phone(phone.phone), Credential::SmsCode(code))).await?
    };
    Ok(logged_in(&caller.app, &signed_in))
}

/// `POST /hserve/v2.1/register/phone/` `{phone, password}`: a user with this number (not yet
/// verified) and password. Its username is the number in E.164, as for SMS sign-up.
#[utoipa::path(post, path = "/hserve/{version}/register/phone", tag = "MinCloud", params(("version" = String, Path, pattern = r"^v[0-9.]+$", description = "the SDK's API version, e.g. v2.1")),
    request_body = doc::McPhonePassword, responses((status = 201, body = doc::McLoggedIn), doc::Errors))]
pub async fn register_phone(
    caller: Caller<MinCloud>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, McError> {
    let body = body_of(payload, &state).await?;
    let phone = phone_input(&body)?;
    let new = NewUser {
        username: Some(phone.phone.e164().to_string()),
        password: fields::string(&body, "password")?,
        phone: Some(phone),
        ..Default::default()
    };
    let signed_in = caller.run(move |core, app| core.sign_up(app, new)).await?;
    Ok(logged_in(&caller.app, &signed_in))
}

/// `POST /hserve/v2.1/login/phone/` `{phone, password}`.
#[utoipa::path(post, path = "/hserve/{version}/login/phone", tag = "MinCloud", params(("version" = String, Path, pattern = r"^v[0-9.]+$", description = "the SDK's API version, e.g. v2.1")),
    request_body = doc::McPhonePassword, responses((status = 201, body = doc::McLoggedIn), doc::Errors))]
pub async fn login_phone(
    caller: Caller<MinCloud>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, McError> {
    let body = body_of(payload, &state).await?;
    let phone = phone_input(&body)?;
    let password = fields::string(&body, "password")?.unwrap_or_default();
    let signed_in = caller
        .run(move |core, app| core.log_in(app, LoginId::Phone(phone.phone), Credential::Password(password)))
        .await?;
    Ok(logged_in(&caller.app, &signed_in))
}

/// A user id from the path: an integer, else 404 (no user has it).
fn user_seq(raw: &str) -> Result<i64, McError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| McError::new(StatusCode::NOT_FOUND, "User not found."))
}

/// `GET /hserve/v2.5/user/info/<id>/`: the SDK reads it after every login to build
/// `currentUser`. The caller's own user in full; another user's public part.
#[utoipa::path(get, path = "/hserve/{version}/user/info/{user}", tag = "MinCloud", security(("X-Hydrogen-Client-ID" = [], "HydrogenToken" = [])), params(("version" = String, Path, pattern = r"^v[0-9.]+$", description = "the SDK's API version, e.g. v2.1"), ("user" = String, Path)),
    responses((status = 200, body = doc::McUser), doc::Errors))]
pub async fn user_info(caller: Caller<MinCloud>, path: web::Path<(String, String)>) -> Result<HttpResponse, McError> {
    let session = signed_in_session(&caller).await?;
    let seq = user_seq(&path.into_inner().1)?;
    if seq == session.user.seq {
        return Ok(HttpResponse::Ok().json(Value::Object(user_json(&session.user, true))));
    }
    let user = caller.run(move |core, app| core.user_by_seq(app, seq)).await?;
    Ok(HttpResponse::Ok().json(Value::Object(user_json(&user, false))))
}

/// `PUT /hserve/v2.2/user/account/`: `{phone}` (setMobilePhone: the new number is unverified),
/// `{password, new_password}` (updatePassword: the old one is checked, other sessions end),
/// `{email}`, `{username}`; answers the updated user.
#[utoipa::path(put, path = "/hserve/{version}/user/account", tag = "MinCloud", security(("X-Hydrogen-Client-ID" = [], "HydrogenToken" = [])), params(("version" = String, Path, pattern = r"^v[0-9.]+$", description = "the SDK's API version, e.g. v2.1")),
    request_body = doc::McAccountPatch, responses((status = 200, body = doc::McUser), doc::Errors))]
pub async fn update_account(
    caller: Caller<MinCloud>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, McError> {
    let session = signed_in_session(&caller).await?;
    let body = body_of(payload, &state).await?;
    let mut patch = UserPatch::default();
    if let Some(raw) = fields::string(&body, "phone")? {
        patch.phone = Some(if raw.trim().is_empty() { None } else { Some(PhoneInput::parse(&raw)?) });
    }
    if let Some(email) = fields::string(&body, "email")? {
        patch.email = Some(Some(email).filter(|e| !e.trim().is_empty()));
    }
    patch.username = fields::string(&body, "username")?;
    let new_password = fields::string(&body, "new_password")?;
    let old_password = fields::string(&body, "password")?;
    if new_password.is_some() && old_password.is_none() {
        return Err(McError::missing("password"));
    }
    let changes_password = new_password.is_some();
    if !changes_password && patch.phone.is_none() && patch.email.is_none() && patch.username.is_none() {
        return Err(McError::bad_request(
            "Nothing to update: give phone, email, username or password and new_password.",
        ));
    }
    let (user_id, session_id) = (session.user.id.clone(), session.id.clone());
    let user = caller
        .run(move |core, app| {
            if let (Some(old), Some(new)) = (&old_password, &new_password) {
                core.update_password(app, &user_id, old, new, Some(&session_id))?;
            }
            let changes_other = patch.phone.is_some() || patch.email.is_some() || patch.username.is_some();
            if changes_other {
                core.update_user(app, &user_id, patch, false, Some(&session_id))
            } else {
                core.user(app, &user_id)
            }
        })
        .await?;
    Ok(HttpResponse::Ok().json(Value::Object(user_json(&user, true))))
}

/// `POST /hserve/v2.1/sms-phone-verification/` `{code}`: the code sent to the current user's
/// number (`sendSmsCode`) marks it verified.
#[utoipa::path(post, path = "/hserve/{version}/sms-phone-verification", tag = "MinCloud", security(("X-Hydrogen-Client-ID" = [], "HydrogenToken" = [])), params(("version" = String, Path, pattern = r"^v[0-9.]+$", description = "the SDK's API version, e.g. v2.1")),
    request_body = doc::McCode, responses((status = 200, body = doc::McOk), doc::Errors))]
pub async fn verify_own_phone(
    caller: Caller<MinCloud>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, McError> {
    let session = signed_in_session(&caller).await?;
    let body = body_of(payload, &state).await?;
    let code = required_code(&body)?;
    let Some(phone) = session.user.phone_e164.clone() else {
        return Err(McError::bad_request("The current user has no phone: set one first."));
    };
    let phone = crate::core::phone::Phone::parse(&phone)?;
    let (user_id, ip) = (session.user.id.clone(), caller.client_ip.clone());
    caller.run(move |core, app| core.verify_phone(app, &code, Some(&phone), Some(&user_id), &ip)).await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ok"})))
}

/// `POST /hserve/v2.0/session/destroy/`: logout, the token stops working.
#[utoipa::path(post, path = "/hserve/{version}/session/destroy", tag = "MinCloud", security(("X-Hydrogen-Client-ID" = [], "HydrogenToken" = [])), params(("version" = String, Path, pattern = r"^v[0-9.]+$", description = "the SDK's API version, e.g. v2.1")),
    responses((status = 201, body = doc::McOk), doc::Errors))]
pub async fn destroy_session(caller: Caller<MinCloud>) -> Result<HttpResponse, McError> {
    let session = signed_in_session(&caller).await?;
    caller.run(move |core, _| core.end_session(&session.id)).await?;
    Ok(HttpResponse::Created().json(json!({"status": "ok"})))
}
