//! The dialect kit: what every wire format (LeanCloud, Bmob, JPush, MinCloud) and the console
//! share, so that a dialect is its parsing, its authentication rule and its error body, nothing
//! more.
//!
//! - [`caller`]: the `Caller<D>` extractor (app through core's cache, master or not, client
//!   address, session token, captcha `validate_token`) and [`caller::Caller::run`], which runs a
//!   core call off the async threads;
//! - [`fields`]: lenient body fields and the neutral [`fields::FieldError`];
//! - [`objects`]: Parse-family object conventions (`__op`, reserved `_User` keys, patches);
//! - [`urls`]: absolute URLs and the console cookie's `Secure` flag, from `public_url` or a
//!   trusted proxy's forwarded headers only;
//! - [`routing`]: resources and scopes answering with the dialect's own 405 and 404;
//! - [`openapi`]: what the dialects' OpenAPI documents share (security schemes, error
//!   responses, aliases, the error-code table, the Parse-family user).
//!
//! # How to add a dialect
//! 1. A folder `src/http/<dialect>/` with a `mod.rs` exposing `routes(cfg)`, registered in
//!    `startup.rs`. Build its scope with [`routing::scope`] and every path with
//!    [`routing::resource`], both given the dialect's own 404 and 405 handlers.
//! 2. `error.rs`: the dialect's error body (a type implementing `ResponseError`), every wire
//!    error it can return as a named constructor, `From<core::Error>` written once (exhaustive,
//!    no `_` arm), `From<FieldError>`, `From<BodyError>` and `From<edge::BadText>`; and a test
//!    that walks `core::Error::examples()` checking status, code and message of each.
//! 3. `auth.rs`: a unit type implementing [`caller::Rules`] (which headers name the app, what
//!    proves the client or master key, where the session token is), so handlers take
//!    `Caller<ThatType>`. Compare secrets with `core::secrets::ct_eq`.
//! 4. The edge: wrap the scope in a middleware refusing control bytes in the path, query and
//!    headers with the dialect's body (`edge::check_request`, as `leancloud::refuse_bad_text`
//!    does); read bodies with [`crate::http::json_object_body`], which applies the same check
//!    to every key and string.
//! 5. Handlers read fields with [`fields`], call core through `caller.run(|core, app| ...)`, and
//!    never import another dialect or `crate::store`.
//! 6. Tests: a client next to `tests/api/common/leancloud.rs` (`common/<dialect>.rs`, adding
//!    methods to `TestApp`), wire tests in `tests/api/<dialect>.rs`, and every new route in the
//!    `ROUTES` list of `tests/api/edge.rs` with its router file in the guard test beside it.
//! 7. The API reference: `#[utoipa::path]` on each handler, and an `openapi.rs` listing the paths,
//!    the schemas of the bodies, the headers as security schemes and the error table ([`openapi`]
//!    has the pieces), merged in `http/openapi.rs`; `tests/api/openapi.rs` fails on a route
//!    without documentation.

pub mod caller;
pub mod fields;
pub mod objects;
pub mod openapi;
pub mod routing;
pub mod urls;
