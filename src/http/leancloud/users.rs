//! `_User` endpoints (contract §4, §5.5–5.10): signup, login, phone flows, sessions.

use super::openapi as doc;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::auth::LcAuth;
use super::error::LcError;
use super::sms;
use crate::core::Error;
use crate::core::accounts::sessions::Session;
use crate::core::accounts::users::{Credential, LoginId, NewUser, PhoneInput, SignedIn, User, UserCodeFlow, UserPatch};
use crate::core::phone::Phone;
use crate::http::kit::fields::{self, Body};
use crate::http::kit::objects::{self, USER_KEYS};
use crate::http::kit::urls;
use crate::http::{AppState, json_object_body, query_params};

/// Keys of a user body that are not custom fields: the `_User` keys every Parse-family dialect
/// reserves, and `smsCode`, which the SDKs send along and must never be stored.
const NOT_FIELDS: &[&str] = &[
    "objectId",
    "createdAt",
    "updatedAt",
    "username",
    "password",
    "salt",
    "bcryptPassword",
    "email",
    "emailVerified",
    "mobilePhoneNumber",
    "mobilePhoneVerified",
    "authData",
    "sessionToken",
    "smsCode",
];

/// [`NOT_FIELDS`] is [`USER_KEYS`] and `smsCode` (checked at compile time).
const _: () = {
    assert!(NOT_FIELDS.len() == USER_KEYS.len() + 1);
    let mut i = 0;
    while i < USER_KEYS.len() {
        assert!(const_str_eq(NOT_FIELDS[i], USER_KEYS[i]));
        i += 1;
    }
    assert!(const_str_eq(NOT_FIELDS[USER_KEYS.len()], "smsCode"));
};

const fn const_str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// LeanCloud's date form for createdAt / updatedAt: ISO with milliseconds and Z, a plain string.
pub fn iso(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The `_User` JSON. `token` only where the contract returns it (signup, login, me, refresh...).
pub fn user_json(user: &User, token: Option<&str>) -> Value {
    Value::Object(objects::user_object(user, token, iso))
}

fn signed_in_json(s: &SignedIn) -> Value {
    user_json(&s.user, Some(&s.token))
}

fn phone_input(body: &Body) -> Result<Option<PhoneInput>, LcError> {
    Ok(objects::phone_input(body)?)
}

fn new_user(body: &Body) -> Result<NewUser, LcError> {
    Ok(objects::new_user(body, NOT_FIELDS)?)
}

/// Who may act on user `id`: the master key, or that user's own session (206 otherwise).
async fn require_self_or_master(auth: &LcAuth, id: &str) -> Result<Option<Session>, LcError> {
    let session = auth.session_or_upstream().await?;
    match &session {
        Some(s) if s.user.id == id => Ok(session),
        _ if auth.master => Ok(session.filter(|s| s.user.id == id)),
        _ => Err(LcError::cannot_alter()),
    }
}

/// 201 with `Location: <base>/1.1/users/<id>`, absolute, on the public base URL (`public_url`,
/// else the Host header or a trusted proxy's forwarded headers: never a client's).
fn created(req: &HttpRequest, state: &AppState, s: &SignedIn) -> HttpResponse {
    let location = urls::absolute(req, &state.config, &format!("/1.1/users/{}", s.user.id));
    HttpResponse::Created().insert_header(("Location", location)).json(signed_in_json(s))
}

/// `POST /users` and `POST /classes/_User`: signup with username and password.
#[utoipa::path(post, path = "/1.1/users", tag = "LeanCloud", request_body = doc::LcSignUp,
    responses((status = 201, body = doc::ParseUser), doc::Errors))]
pub async fn sign_up(
    auth: LcAuth,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    if body.contains_key("authData") {
        return Err(LcError::invalid_parameter("Signing up with authData is not supported by this server."));
    }
    let new = new_user(&body)?;
    let signed_in = auth.run(move |core, app| core.sign_up(app, new)).await?;
    Ok(created(&req, &state, &signed_in))
}

/// `POST /login` (body) and `GET /login` (query): username, then email, then mobilePhoneNumber,
/// with password or (phone only) smsCode. Every other key is ignored.
#[utoipa::path(method(post, get), path = "/1.1/login", tag = "LeanCloud", request_body = doc::LcLogIn,
    params(("username" = Option<String>, Query), ("email" = Option<String>, Query), ("mobilePhoneNumber" = Option<String>, Query),
        ("password" = Option<String>, Query), ("smsCode" = Option<String>, Query)),
    responses((status = 200, body = doc::ParseUser), doc::Errors))]
pub async fn log_in(
    auth: LcAuth,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let mut body = json_object_body(payload, state.config.body_limit_bytes).await?;
    if req.method() == actix_web::http::Method::GET {
        body = query_params(&req).into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    }
    let non_blank = |key: &str| -> Result<Option<String>, LcError> {
        Ok(fields::string(&body, key)?.filter(|v| !v.trim().is_empty()))
    };
    let id = if let Some(username) = non_blank("username")? {
        LoginId::Username(username)
    } else if let Some(email) = non_blank("email")? {
        LoginId::Email(email)
    } else if body.get("mobilePhoneNumber").is_some_and(|v| !v.is_null()) {
        LoginId::Phone(fields::phone(&body, "mobilePhoneNumber")?)
    } else {
        return Err(LcError::username_missing());
    };
    let credential = match (non_blank("smsCode")?, fields::string(&body, "password")?) {
        (Some(code), _) => Credential::SmsCode(code),
        (None, Some(password)) if !password.is_empty() => Credential::Password(password),
        _ => return Err(LcError::password_missing()),
    };
    let signed_in = auth.run(move |core, app| core.log_in(app, id, credential)).await?;
    Ok(HttpResponse::Ok().json(signed_in_json(&signed_in)))
}

/// `POST /usersByMobilePhone`: sign up or log in with phone + code.
#[utoipa::path(post, path = "/1.1/usersByMobilePhone", tag = "LeanCloud", request_body = doc::LcByPhone,
    responses((status = 200, body = doc::ParseUser), (status = 201, body = doc::ParseUser), doc::Errors))]
pub async fn by_mobile_phone(
    auth: LcAuth,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let phone = phone_input(&body)?.ok_or_else(LcError::missing_phone)?;
    let code = fields::string(&body, "smsCode")?.unwrap_or_default();
    let new = new_user(&body)?;
    let signed_in = auth.run(move |core, app| core.sign_up_or_log_in_by_phone(app, phone, &code, new)).await?;
    Ok(if signed_in.created {
        created(&req, &state, &signed_in)
    } else {
        HttpResponse::Ok().json(signed_in_json(&signed_in))
    })
}

/// `GET /users/me`: `?session_token=` wins over the header (Python's become()).
#[utoipa::path(get, path = "/1.1/users/me", tag = "LeanCloud", security(("X-LC-Id" = [], "X-LC-Key" = [], "X-LC-Session" = [])),
    params(("session_token" = Option<String>, Query, description = "wins over the header")),
    responses((status = 200, body = doc::ParseUser), doc::Errors))]
pub async fn me(auth: LcAuth, req: HttpRequest) -> Result<HttpResponse, LcError> {
    let token = query_params(&req)
        .into_iter()
        .find(|(k, _)| k == "session_token")
        .map(|(_, v)| v)
        .or_else(|| auth.session_token.clone());
    let session = auth.session_or_upstream_of(token.clone()).await?;
    match (session, token) {
        (Some(s), Some(token)) => Ok(HttpResponse::Ok().json(user_json(&s.user, Some(&token)))),
        _ => Err(Error::UserNotFound.into()),
    }
}

/// `GET /users/<id>` and `GET /classes/_User/<id>`: never with a sessionToken.
#[utoipa::path(get, path = "/1.1/users/{id}", tag = "LeanCloud", params(("id" = String, Path)),
    responses((status = 200, body = doc::ParseUser), doc::Errors))]
pub async fn get_user(auth: LcAuth, id: web::Path<String>) -> Result<HttpResponse, LcError> {
    let id = id.into_inner();
    let user = auth.run(move |core, app| core.user(app, &id)).await?;
    Ok(HttpResponse::Ok().json(user_json(&user, None)))
}

/// `PUT /users/<id>/refreshSessionToken`: the user's session or the master key; every old token dies.
#[utoipa::path(put, path = "/1.1/users/{id}/refreshSessionToken", tag = "LeanCloud", security(("X-LC-Id" = [], "X-LC-Key" = [], "X-LC-Session" = [])), params(("id" = String, Path)),
    responses((status = 200, body = doc::ParseUser), doc::Errors))]
pub async fn refresh_session_token(auth: LcAuth, id: web::Path<String>) -> Result<HttpResponse, LcError> {
    let id = id.into_inner();
    require_self_or_master(&auth, &id).await?;
    let (user, token) = auth.run(move |core, app| core.refresh_session(app, &id)).await?;
    Ok(HttpResponse::Ok().json(user_json(&user, Some(&token))))
}

/// `PUT /users/<id>/updatePassword` `{old_password, new_password}`: needs the user's session;
/// returns the user with that (still valid) token, other sessions end.
#[utoipa::path(put, path = "/1.1/users/{id}/updatePassword", tag = "LeanCloud", security(("X-LC-Id" = [], "X-LC-Key" = [], "X-LC-Session" = [])), params(("id" = String, Path)),
    request_body = doc::LcUpdatePassword, responses((status = 200, body = doc::ParseUser), doc::Errors))]
pub async fn update_password(
    auth: LcAuth,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let id = id.into_inner();
    let token = auth.session_token.clone();
    let session = auth.session_or_upstream().await?.filter(|s| s.user.id == id);
    let (Some(session), Some(token)) = (session, token) else {
        return Err(LcError::cannot_alter());
    };
    let old = fields::string(&body, "old_password")?.unwrap_or_default();
    let new = fields::string(&body, "new_password")?;
    let user = auth
        .run(move |core, app| {
            core.update_password(app, &id, &old, new.as_deref().unwrap_or_default(), Some(&session.id))
        })
        .await?;
    Ok(HttpResponse::Ok().json(user_json(&user, Some(&token))))
}

/// `POST /requestLoginSmsCode`, `/requestPasswordResetBySmsCode`, `/requestMobilePhoneVerify`:
/// one handler, the flow named by the path.
#[utoipa::path(post, path = "/1.1/requestLoginSmsCode", tag = "LeanCloud", request_body = doc::LcPhone,
    responses((status = 200, body = doc::LcEmpty), doc::Errors))]
pub async fn request_user_code(
    auth: LcAuth,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let flow = match req.path().rsplit('/').next() {
        Some("requestLoginSmsCode") => UserCodeFlow::Login,
        Some("requestPasswordResetBySmsCode") => UserCodeFlow::ResetPassword,
        _ => UserCodeFlow::VerifyPhone,
    };
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let phone = fields::phone(&body, "mobilePhoneNumber")?;
    let origin = sms::origin(&auth, &body)?;
    auth.run(move |core, app| core.request_user_code(app, flow, phone, origin)).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

/// The optional phone number of a body (JS sends none on verifyMobilePhone / reset).
fn optional_phone(body: &Body) -> Result<Option<Phone>, LcError> {
    Ok(phone_input(body)?.map(|p| p.phone))
}

/// `POST /verifyMobilePhone/<code>`: `{"objectId","updatedAt"}` of the verified user.
#[utoipa::path(post, path = "/1.1/verifyMobilePhone/{code}", tag = "LeanCloud", params(("code" = String, Path)),
    request_body = doc::LcPhone, responses((status = 200, body = doc::LcUpdated), doc::Errors))]
pub async fn verify_mobile_phone(
    auth: LcAuth,
    code: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let phone = optional_phone(&body)?;
    let session_user = auth.session().await?.map(|s| s.user.id);
    let (ip, code) = (auth.client_ip.clone(), code.into_inner());
    let user =
        auth.run(move |core, app| core.verify_phone(app, &code, phone.as_ref(), session_user.as_deref(), &ip)).await?;
    Ok(HttpResponse::Ok().json(json!({"objectId": user.id, "updatedAt": iso(user.updated_at)})))
}

/// `PUT /resetPasswordBySmsCode/<code>` `{password, mobilePhoneNumber?}`.
#[utoipa::path(put, path = "/1.1/resetPasswordBySmsCode/{code}", tag = "LeanCloud", params(("code" = String, Path)),
    request_body = doc::LcResetPassword, responses((status = 200, body = doc::LcEmpty), doc::Errors))]
pub async fn reset_password(
    auth: LcAuth,
    code: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let phone = optional_phone(&body)?;
    let password = fields::string(&body, "password")?.unwrap_or_default();
    let session_user = auth.session().await?.map(|s| s.user.id);
    let (ip, code) = (auth.client_ip.clone(), code.into_inner());
    auth.run(move |core, app| core.reset_password(app, &code, phone.as_ref(), &password, session_user.as_deref(), &ip))
        .await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

/// `POST /requestChangePhoneNumber` `{mobilePhoneNumber, ttl?}`: a logged-in user (or the master
/// key with a session) asks for a code on the new number.
#[utoipa::path(post, path = "/1.1/requestChangePhoneNumber", tag = "LeanCloud", security(("X-LC-Id" = [], "X-LC-Key" = [], "X-LC-Session" = [])),
    request_body = doc::LcRequestChangePhone, responses((status = 200, body = doc::LcEmpty), doc::Errors))]
pub async fn request_change_phone(
    auth: LcAuth,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let session = auth.session_or_upstream().await?;
    let Some(session) = session else {
        return Err(LcError::cannot_alter());
    };
    let phone = fields::phone(&body, "mobilePhoneNumber")?;
    let ttl = fields::integer(&body, "ttl")?;
    let origin = sms::origin(&auth, &body)?;
    auth.run(move |core, app| core.request_phone_change(app, &session.user.id, phone, ttl, origin)).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

/// `POST /changePhoneNumber` `{mobilePhoneNumber, code}`: no session needed, the code is bound
/// to the user who asked.
#[utoipa::path(post, path = "/1.1/changePhoneNumber", tag = "LeanCloud", request_body = doc::LcChangePhone,
    responses((status = 200, body = doc::LcEmpty), doc::Errors))]
pub async fn change_phone(
    auth: LcAuth,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let phone = phone_input(&body)?.ok_or_else(LcError::missing_phone)?;
    let code = fields::string(&body, "code")?.unwrap_or_default();
    auth.run(move |core, app| core.change_phone(app, phone, &code)).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

fn user_patch(body: &Body) -> Result<UserPatch, LcError> {
    let boolean = |key: &str| match body.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(LcError::invalid_parameter(format!("{key} must be a boolean"))),
    };
    if body.contains_key("authData") {
        return Err(LcError::invalid_parameter("authData cannot be changed by this server yet."));
    }
    let phone = match objects::optional_string(body, "mobilePhoneNumber")? {
        Some(Some(raw)) => Some(Some(PhoneInput::parse(&raw)?)),
        Some(None) => Some(None),
        None => None,
    };
    Ok(UserPatch {
        username: match objects::optional_string(body, "username")? {
            Some(Some(u)) => Some(u),
            Some(None) => return Err(LcError::invalid_username()),
            None => None,
        },
        // A null password is an empty one; core refuses it (and blank ones) once for every entry.
        password: match body.get("password") {
            None => None,
            Some(_) => Some(fields::string(body, "password")?.unwrap_or_default()),
        },
        email: objects::optional_string(body, "email")?,
        phone,
        email_verified: boolean("emailVerified")?,
        mobile_verified: boolean("mobilePhoneVerified")?,
        fields: objects::field_changes(body, NOT_FIELDS)?,
    })
}

/// Whether the query asks for the whole object back (`new=true` from JS, `fetchWhenSave=true`).
fn wants_object(req: &HttpRequest) -> bool {
    query_params(req).iter().any(|(k, v)| (k == "new" || k == "fetchWhenSave") && v == "true")
}

/// `PUT /users/<id>` and `PUT /classes/_User/<id>`: own session or master key (206 otherwise).
#[utoipa::path(put, path = "/1.1/users/{id}", tag = "LeanCloud", params(("id" = String, Path),
        ("new" = Option<bool>, Query, description = "true: the whole object back"), ("fetchWhenSave" = Option<bool>, Query)),
    request_body = doc::LcUserPatch,
    responses((status = 200, description = "objectId and updatedAt, or the whole user", body = doc::LcUpdated), doc::Errors))]
pub async fn update_user(
    auth: LcAuth,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let id = id.into_inner();
    let session = require_self_or_master(&auth, &id).await?;
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    if query_params(&req).iter().any(|(k, _)| k == "where") {
        return Err(LcError::invalid_parameter("Conditional saves (where) are not supported by this server."));
    }
    let patch = user_patch(&body)?;
    let (master, session_id) = (auth.master, session.map(|s| s.id));
    let user = auth.run(move |core, app| core.update_user(app, &id, patch, master, session_id.as_deref())).await?;
    Ok(HttpResponse::Ok().json(if wants_object(&req) {
        user_json(&user, None)
    } else {
        json!({"objectId": user.id, "updatedAt": iso(user.updated_at)})
    }))
}

/// `DELETE /users/<id>` and `DELETE /classes/_User/<id>`: own session or master key.
#[utoipa::path(delete, path = "/1.1/users/{id}", tag = "LeanCloud", params(("id" = String, Path)),
    responses((status = 200, body = doc::LcEmpty), doc::Errors))]
pub async fn delete_user(auth: LcAuth, id: web::Path<String>) -> Result<HttpResponse, LcError> {
    let id = id.into_inner();
    require_self_or_master(&auth, &id).await?;
    auth.run(move |core, app| core.delete_user(app, &id)).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

/// `POST /users/me/jwt` (a Phonebase extension): trades the caller's session for a short-lived
/// JWT that the app's other services verify with `/.well-known/jwks.json`.
#[utoipa::path(post, path = "/1.1/users/me/jwt", tag = "LeanCloud", security(("X-LC-Id" = [], "X-LC-Key" = [], "X-LC-Session" = [])),
    responses((status = 200, body = doc::LcJwt), doc::Errors))]
pub async fn issue_jwt(auth: LcAuth) -> Result<HttpResponse, LcError> {
    let session = auth.session_or_upstream().await?.ok_or(Error::UserNotFound)?;
    let (token, claims) = auth.core.issue_jwt(&auth.app, &session)?;
    Ok(HttpResponse::Ok().json(json!({"jwt": token, "expiresAt": claims.exp, "tokenType": "Bearer"})))
}

/// `GET /users?where=` and `GET /classes/_User?where=` with the master key: exact matches on one
/// of `objectId`, `username`, `email`, `mobilePhoneNumber` (a value or `{"$in": [...]}`), as
/// LeanCloud answers them (`{"results": [...]}`, never a sessionToken). What lazy migration asks
/// a LeanCloud upstream, so that a Phonebase can stand in for one.
#[utoipa::path(get, path = "/1.1/users", tag = "LeanCloud",
    params(("where" = String, Query, description = "JSON: one of objectId, username, email, mobilePhoneNumber, a value or {\"$in\": [...]}")),
    responses((status = 200, body = doc::LcUsers), doc::Errors))]
pub async fn query(auth: LcAuth, req: HttpRequest) -> Result<HttpResponse, LcError> {
    use crate::core::accounts::upstream::UserField;
    if !auth.master {
        return Err(Error::NotAllowed.into());
    }
    let unsupported = || {
        LcError::invalid_parameter(
            "This server answers only where={\"<objectId|username|email|mobilePhoneNumber>\": value or {\"$in\": [...]}}.",
        )
    };
    let params = query_params(&req);
    let text = params.iter().find(|(k, _)| k == "where").map(|(_, v)| v.as_str()).ok_or_else(unsupported)?;
    let Ok(Value::Object(condition)) = serde_json::from_str::<Value>(text) else {
        return Err(LcError::malformed_json());
    };
    let mut entries = condition.into_iter();
    let (Some((key, value)), None) = (entries.next(), entries.next()) else { return Err(unsupported()) };
    let field = match key.as_str() {
        "objectId" => UserField::ObjectId,
        "username" => UserField::Username,
        "email" => UserField::Email,
        "mobilePhoneNumber" => UserField::Phone,
        _ => return Err(unsupported()),
    };
    let values: Vec<String> = match value {
        Value::String(s) => vec![s],
        Value::Object(op) if op.len() == 1 => match op.get("$in") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(unsupported))
                .collect::<Result<_, _>>()?,
            _ => return Err(unsupported()),
        },
        _ => return Err(unsupported()),
    };
    let users = auth.run(move |core, app| core.query_users(app, field, &values)).await?;
    Ok(HttpResponse::Ok().json(json!({"results": users.iter().map(|u| user_json(u, None)).collect::<Vec<_>>()})))
}
