//! `_User` in Bmob's words (contract A.4, A.5): signup, phone signup-or-login, login (GET and
//! POST), checkSession, get / update / delete, reset by code, updateUserPassword. The same users,
//! passwords and sessions as every other dialect.

use super::openapi as doc;
use std::sync::LazyLock;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::auth::Bmob;
use super::datetime;
use super::error::BmobError;
use crate::core::Error;
use crate::core::accounts::sessions::Session;
use crate::core::accounts::users::{Credential, LoginId, NewUser, PhoneInput, SignedIn, User, UserPatch};
use crate::core::message::Purpose;
use crate::core::phone::Phone;
use crate::http::kit::caller::Caller;
use crate::http::kit::fields::{self, Body};
use crate::http::kit::objects::{self, USER_KEYS};
use crate::http::kit::urls::absolute;
use crate::http::{AppState, json_object_body};

/// Keys of a Bmob user body that are not custom fields: the Parse family's, Bmob's spelling of
/// the verified flag, and what the phone flows send along.
static RESERVED: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut keys = USER_KEYS.to_vec();
    keys.extend(["mobilePhoneNumberVerified", "smsCode", "validate_token", "ACL"]);
    keys
});

/// The `_User` JSON in Bmob's times, with both spellings of the phone's verified flag (Android's
/// `mobilePhoneNumberVerified`, the REST docs' `mobilePhoneVerified`).
fn user_json(user: &User, token: Option<&str>) -> Value {
    let mut out = objects::user_object(user, token, datetime);
    out.insert("mobilePhoneNumberVerified".into(), user.mobile_verified.into());
    Value::Object(out)
}

fn signed_in_json(s: &SignedIn) -> Value {
    user_json(&s.user, Some(&s.token))
}

fn phone_input(body: &Body) -> Result<Option<PhoneInput>, BmobError> {
    Ok(objects::phone_input(body)?)
}

fn new_user(body: &Body) -> Result<NewUser, BmobError> {
    Ok(objects::new_user(body, &RESERVED)?)
}

/// Phone and code prove the number: its owner is logged in, or a user is created with the number
/// verified and `username` = the number. 200 with the whole user and `sessionToken`.
async fn sign_up_or_log_in_by_phone(caller: &Caller<Bmob>, body: &Body) -> Result<HttpResponse, BmobError> {
    let phone = phone_input(body)?.ok_or_else(|| BmobError::param_needed("mobilePhoneNumber"))?;
    let code = fields::code(body, "smsCode")?.ok_or_else(|| BmobError::param_needed("smsCode"))?;
    let new = new_user(body)?;
    let signed_in = caller.run(move |core, app| core.sign_up_or_log_in_by_phone(app, phone, &code, new)).await?;
    Ok(HttpResponse::Ok().json(signed_in_json(&signed_in)))
}

/// `POST /1/users` (and hydrogen's `POST /1/classes/_User`): `{"mobilePhoneNumber","smsCode",...}`
/// is the one-step signup-or-login; otherwise a signup with username and password → 201
/// `{"createdAt","objectId","sessionToken"}` with `Location`.
#[utoipa::path(post, path = "/1/users", tag = "Bmob", request_body = doc::BmobSignUp,
    responses((status = 201, body = doc::BmobSignedUp), (status = 200, description = "signed up or in by phone", body = doc::ParseUser), doc::Errors))]
pub async fn sign_up(
    caller: Caller<Bmob>,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, BmobError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    if body.get("smsCode").is_some_and(|v| !v.is_null()) {
        return sign_up_or_log_in_by_phone(&caller, &body).await;
    }
    if body.contains_key("authData") {
        return Err(BmobError::invalid("signing up with authData is not supported by this server"));
    }
    let new = new_user(&body)?;
    let signed_in = caller.run(move |core, app| core.sign_up(app, new)).await?;
    let location = absolute(&req, &state.config, &format!("/1/users/{}", signed_in.user.id));
    Ok(HttpResponse::Created().insert_header(("Location", location)).json(json!({
        "createdAt": datetime(signed_in.user.created_at),
        "objectId": signed_in.user.id,
        "sessionToken": signed_in.token,
    })))
}

/// `POST /1/usersv1 {"mobilePhoneNumber","smsCode"}`: hydrogen 2.7's signOrLoginByMobilePhone.
#[utoipa::path(post, path = "/1/usersv1", tag = "Bmob", request_body = doc::BmobByPhone,
    responses((status = 200, body = doc::ParseUser), doc::Errors))]
pub async fn by_mobile_phone(
    caller: Caller<Bmob>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, BmobError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    if body.contains_key("authData") && !body.contains_key("smsCode") {
        return Err(BmobError::invalid("linking authData is not supported by this server"));
    }
    sign_up_or_log_in_by_phone(&caller, &body).await
}

/// The login errors that must not tell an unknown user from a wrong password.
fn login_error(e: Error) -> BmobError {
    match e {
        Error::UserNotFound | Error::EmailNotFound | Error::PhoneNotFound | Error::WrongPassword => {
            BmobError::login_failed()
        }
        e => e.into(),
    }
}

/// `GET /1/login?username=&password=` (both SDKs) and `POST /1/login` (the 2026 docs):
/// `username` may be the username, the email or the phone number; `mobilePhoneNumber` with
/// `password`; `mobilePhoneNumber` with `smsCode` signs up or logs in (hydrogen ≤ 2.6's
/// signOrLoginByMobilePhone). 200 with the user and `sessionToken`, 101 for a wrong pair.
#[utoipa::path(method(get, post), path = "/1/login", tag = "Bmob", request_body = doc::BmobLogIn,
    params(("username" = Option<String>, Query), ("mobilePhoneNumber" = Option<String>, Query), ("password" = Option<String>, Query), ("smsCode" = Option<String>, Query)),
    responses((status = 200, body = doc::ParseUser), doc::Errors))]
pub async fn log_in(
    caller: Caller<Bmob>,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, BmobError> {
    let body = if req.method() == actix_web::http::Method::GET {
        fields::query_body(&req)
    } else {
        json_object_body(payload, state.config.body_limit_bytes).await?
    };
    let non_blank = |key: &str| -> Result<Option<String>, BmobError> {
        Ok(fields::string(&body, key)?.filter(|v| !v.trim().is_empty()))
    };
    if non_blank("smsCode")?.is_some() {
        if non_blank("mobilePhoneNumber")?.is_none() {
            return Err(BmobError::invalid("an SMS code logs in with mobilePhoneNumber only"));
        }
        return sign_up_or_log_in_by_phone(&caller, &body).await;
    }
    let password = fields::string(&body, "password")?.filter(|p| !p.is_empty());
    let Some(password) = password else {
        return Err(BmobError::coded(108, "username and password required."));
    };
    let ids: Vec<LoginId> = if let Some(username) = non_blank("username")? {
        // The username, else the email or phone number it may be.
        let mut ids = vec![LoginId::Username(username.clone())];
        if username.contains('@') {
            ids.push(LoginId::Email(username));
        } else if let Ok(phone) = Phone::parse(&username) {
            ids.push(LoginId::Phone(phone));
        }
        ids
    } else if let Some(email) = non_blank("email")? {
        vec![LoginId::Email(email)]
    } else if non_blank("mobilePhoneNumber")?.is_some() {
        vec![LoginId::Phone(fields::phone(&body, "mobilePhoneNumber")?)]
    } else {
        return Err(BmobError::coded(108, "username and password required."));
    };
    let signed_in = caller
        .run(move |core, app| {
            let mut last = Error::UserNotFound;
            for id in ids {
                match core.log_in(app, id, Credential::Password(password.clone())) {
                    Err(e @ (Error::UserNotFound | Error::EmailNotFound | Error::PhoneNotFound)) => last = e,
                    other => return other,
                }
            }
            Err(last)
        })
        .await
        .map_err(login_error)?;
    Ok(HttpResponse::Ok().json(signed_in_json(&signed_in)))
}

/// The caller's live session of user `id`, if its token is one.
async fn own_session(caller: &Caller<Bmob>, id: &str) -> Result<Option<Session>, BmobError> {
    Ok(caller.session().await?.filter(|s| s.user.id == id))
}

/// `GET /1/checkSession/<objectId>`: `{"msg":"ok"}` when the request's session token is a live
/// session of that user, else `{"msg":"fail"}` (not an error).
#[utoipa::path(get, path = "/1/checkSession/{id}", tag = "Bmob", security(("X-Bmob-Application-Id" = [], "X-Bmob-REST-API-Key" = [], "X-Bmob-Session-Token" = []), ("X-Bmob-Application-Id" = [], "X-Bmob-Master-Key" = [])), params(("id" = String, Path)),
    responses((status = 200, body = doc::BmobMsg), doc::Errors))]
pub async fn check_session(caller: Caller<Bmob>, id: web::Path<String>) -> Result<HttpResponse, BmobError> {
    let live = own_session(&caller, &id).await?.is_some();
    Ok(HttpResponse::Ok().json(json!({"msg": if live { "ok" } else { "fail" }})))
}

/// `GET /1/users/<id>` and `GET /1/classes/_User/<id>`: the user, never a session token.
#[utoipa::path(get, path = "/1/users/{id}", tag = "Bmob", params(("id" = String, Path)),
    responses((status = 200, body = doc::ParseUser), doc::Errors))]
pub async fn get_user(caller: Caller<Bmob>, id: web::Path<String>) -> Result<HttpResponse, BmobError> {
    let id = id.into_inner();
    let user = caller.run(move |core, app| core.user(app, &id)).await?;
    Ok(HttpResponse::Ok().json(user_json(&user, None)))
}

/// Who may change or delete user `id`: that user's session (211 without a live one), or the
/// master key (206 for a session of someone else).
async fn self_or_master(caller: &Caller<Bmob>, id: &str) -> Result<Option<Session>, BmobError> {
    let session = own_session(caller, id).await?;
    if session.is_some() || caller.master {
        return Ok(session);
    }
    match caller.session().await? {
        Some(_) => Err(BmobError::no_permission()),
        None => Err(BmobError::not_logged_in()),
    }
}

fn boolean(body: &Body, key: &str) -> Result<Option<bool>, BmobError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(BmobError::invalid(format!("{key} must be a boolean"))),
    }
}

fn user_patch(body: &Body) -> Result<UserPatch, BmobError> {
    if body.contains_key("authData") {
        return Err(BmobError::invalid("authData cannot be changed by this server"));
    }
    let phone = match objects::optional_string(body, "mobilePhoneNumber")? {
        Some(Some(raw)) => Some(Some(PhoneInput::parse(&raw)?)),
        Some(None) => Some(None),
        None => None,
    };
    let username = match objects::optional_string(body, "username")? {
        Some(Some(u)) => Some(u),
        Some(None) => return Err(BmobError::invalid("username must be a non-blank string")),
        None => None,
    };
    Ok(UserPatch {
        username,
        password: match body.get("password") {
            None => None,
            Some(_) => Some(fields::string(body, "password")?.unwrap_or_default()),
        },
        email: objects::optional_string(body, "email")?,
        phone,
        email_verified: boolean(body, "emailVerified")?,
        // Android's spelling first, the REST docs' second.
        mobile_verified: boolean(body, "mobilePhoneNumberVerified")?.or(boolean(body, "mobilePhoneVerified")?),
        fields: objects::field_changes(body, &RESERVED)?,
    })
}

/// `PUT /1/users/<id>` and `PUT /1/classes/_User/<id>`: own session or master key →
/// `{"updatedAt"}`. Setting the verified flags takes the master key (206).
#[utoipa::path(put, path = "/1/users/{id}", tag = "Bmob", security(("X-Bmob-Application-Id" = [], "X-Bmob-REST-API-Key" = [], "X-Bmob-Session-Token" = []), ("X-Bmob-Application-Id" = [], "X-Bmob-Master-Key" = [])), params(("id" = String, Path)),
    request_body = doc::BmobUserPatch, responses((status = 200, body = doc::BmobUpdated), doc::Errors))]
pub async fn update_user(
    caller: Caller<Bmob>,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, BmobError> {
    let id = id.into_inner();
    let session = self_or_master(&caller, &id).await?;
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let patch = user_patch(&body)?;
    let (master, session_id) = (caller.master, session.map(|s| s.id));
    let user = caller.run(move |core, app| core.update_user(app, &id, patch, master, session_id.as_deref())).await?;
    Ok(HttpResponse::Ok().json(json!({"updatedAt": datetime(user.updated_at)})))
}

/// `DELETE /1/users/<id>` and `DELETE /1/classes/_User/<id>`: own session or master key.
#[utoipa::path(delete, path = "/1/users/{id}", tag = "Bmob", security(("X-Bmob-Application-Id" = [], "X-Bmob-REST-API-Key" = [], "X-Bmob-Session-Token" = []), ("X-Bmob-Application-Id" = [], "X-Bmob-Master-Key" = [])), params(("id" = String, Path)),
    responses((status = 200, body = doc::BmobMsg), doc::Errors))]
pub async fn delete_user(caller: Caller<Bmob>, id: web::Path<String>) -> Result<HttpResponse, BmobError> {
    let id = id.into_inner();
    self_or_master(&caller, &id).await?;
    caller.run(move |core, app| core.delete_user(app, &id)).await?;
    Ok(HttpResponse::Ok().json(json!({"msg": "ok"})))
}

/// The new password of a reset: 10050 when missing or empty, 10051 when not a string.
fn new_password(body: &Body, key: &str) -> Result<String, BmobError> {
    match body.get(key) {
        None | Some(Value::Null) => Err(BmobError::coded(10050, "new password is empty")),
        Some(Value::String(s)) if s.is_empty() => Err(BmobError::coded(10050, "new password is empty")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(BmobError::coded(10051, "new password must string")),
    }
}

/// `PUT /1/resetPasswordBySmsCode/<code> {"password"}`: no phone number; the code of a
/// `requestSmsCode` is looked up by value, within the bounds of every code-only endpoint (the
/// codes asked for from this address or for this session's user first, then an hourly budget
/// per app). Every session of the user ends.
#[utoipa::path(put, path = "/1/resetPasswordBySmsCode/{code}", tag = "Bmob", params(("code" = String, Path)),
    request_body = doc::BmobResetPassword, responses((status = 200, body = doc::BmobMsg), doc::Errors))]
pub async fn reset_password(
    caller: Caller<Bmob>,
    code: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, BmobError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let password = new_password(&body, "password")?;
    let session_user = caller.session().await?.map(|s| s.user.id);
    let (code, ip) = (code.into_inner(), caller.client_ip.clone());
    caller
        .run(move |core, app| {
            core.reset_password_by_value(app, Purpose::Generic, &code, &password, session_user.as_deref(), &ip)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"msg": "ok"})))
}

/// `PUT /1/updateUserPassword/<id> {"oldPassword","newPassword"}`: the user's session (or the
/// master key), and the old password (210 when wrong) → `{"msg":"ok"}`; the user's other
/// sessions end, the caller's stays.
#[utoipa::path(put, path = "/1/updateUserPassword/{id}", tag = "Bmob", security(("X-Bmob-Application-Id" = [], "X-Bmob-REST-API-Key" = [], "X-Bmob-Session-Token" = []), ("X-Bmob-Application-Id" = [], "X-Bmob-Master-Key" = [])), params(("id" = String, Path)),
    request_body = doc::BmobUpdatePassword, responses((status = 200, body = doc::BmobMsg), doc::Errors))]
pub async fn update_password(
    caller: Caller<Bmob>,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, BmobError> {
    let id = id.into_inner();
    let session = self_or_master(&caller, &id).await?;
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let old = fields::string(&body, "oldPassword")?.unwrap_or_default();
    let new = new_password(&body, "newPassword")?;
    let keep = session.map(|s| s.id);
    caller.run(move |core, app| core.update_password(app, &id, &old, &new, keep.as_deref())).await.map_err(
        |e| match e {
            Error::WrongPassword => BmobError::old_password_incorrect(),
            e => e.into(),
        },
    )?;
    Ok(HttpResponse::Ok().json(json!({"msg": "ok"})))
}
