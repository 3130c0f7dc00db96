//! Who is calling, read once per request: the app (through core's app cache), whether the
//! master key was proven, the client address (`X-Forwarded-For` believed from trusted proxies
//! only), the session token and the captcha `validate_token`. A dialect says how it reads its
//! headers by implementing [`Rules`]; a handler then takes a `Caller<ItsDialect>` argument (an
//! actix extractor) and runs core calls with [`Caller::run`].

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, ResponseError, web};

use crate::core::accounts::sessions::Session;
use crate::core::apps::App;
use crate::core::codes::Origin;
use crate::core::{self, Core};
use crate::http::{AppState, blocking, client_ip};

/// A way to find an app other than by id, run on the blocking pool.
pub type FindApp = Box<dyn FnOnce(&Core) -> core::Result<Arc<App>> + Send>;

/// Which app a request names.
pub enum AppRef {
    /// The app's id (LeanCloud's `X-LC-Id`), looked up through the app cache.
    Id(String),
    /// Any other way to find it, run off the async threads (a dialect's own key that
    /// `Core::app_by_credential` resolves, say).
    Lookup(FindApp),
}

/// How one dialect reads its caller from a request. Implemented on a unit type per dialect
/// (`leancloud::auth::LeanCloud`); all methods but `app` and `master` have defaults.
pub trait Rules: 'static {
    /// The dialect's error body; `core::Error::UnknownApp` becomes it when the app is unknown.
    type Error: ResponseError + From<core::Error> + 'static;

    /// The app the request names, or the dialect's "unauthorized" when it names none.
    fn app(req: &HttpRequest, state: &AppState) -> Result<AppRef, Self::Error>;

    /// Whether the request proves the app's master key (`true`) or its client key (`false`);
    /// the dialect's "unauthorized" when it proves neither. Compare secrets with `ct_eq`.
    fn master(req: &HttpRequest, state: &AppState, app: &App) -> Result<bool, Self::Error>;

    /// The user's session token the request carries, if any (a header, usually).
    fn session_token(_req: &HttpRequest) -> Option<String> {
        None
    }

    /// A captcha `validate_token` carried outside the body (a header or the query), if any.
    /// Tokens sent in a body are passed to [`Caller::origin`] by the handler that reads it.
    fn validate_token(_req: &HttpRequest) -> Option<String> {
        None
    }
}

/// An authenticated request of dialect `D`.
pub struct Caller<D> {
    pub core: Core,
    /// Shared with the app cache: settings (test numbers included) are not copied per request.
    pub app: Arc<App>,
    pub master: bool,
    /// The address per-IP limits count ([`crate::http::client_ip`]).
    pub client_ip: String,
    /// The session token the request carries (`Rules::session_token`), not yet checked: see
    /// [`Caller::session`].
    pub session_token: Option<String>,
    /// A captcha token from the headers or query (`Rules::validate_token`).
    pub validate_token: Option<String>,
    dialect: PhantomData<fn() -> D>,
}

impl<D> Clone for Caller<D> {
    fn clone(&self) -> Self {
        Self {
            core: self.core.clone(),
            app: self.app.clone(),
            master: self.master,
            client_ip: self.client_ip.clone(),
            session_token: self.session_token.clone(),
            validate_token: self.validate_token.clone(),
            dialect: PhantomData,
        }
    }
}

impl<D> std::fmt::Debug for Caller<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No token: logs never carry one.
        f.debug_struct("Caller").field("app", &self.app.id).field("master", &self.master).finish_non_exhaustive()
    }
}

/// Runs a core call for `app` on the blocking pool (Diesel is synchronous), inside the request's
/// tracing span.
pub async fn run<T, F>(core: &Core, app: &Arc<App>, f: F) -> core::Result<T>
where
    F: FnOnce(&Core, &App) -> core::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let (core, app) = (core.clone(), app.clone());
    blocking(move || f(&core, &app)).await
}

impl<D> Caller<D> {
    /// Runs `f(core, app)` off the async threads: `caller.run(|core, app| core.send_code(app, request))`.
    pub async fn run<T, F>(&self, f: F) -> core::Result<T>
    where
        F: FnOnce(&Core, &App) -> core::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        run(&self.core, &self.app, f).await
    }

    /// The live session behind `token`, or `None` for no token or a dead one.
    pub async fn session_of(&self, token: Option<String>) -> core::Result<Option<Session>> {
        let Some(token) = token else { return Ok(None) };
        self.run(move |core, app| core.session(app, &token)).await
    }

    /// The live session behind `token` where the call needs a user: a token this app has never
    /// seen may be one of its LeanCloud upstream's (lazy migration), which is asked.
    pub async fn session_or_upstream_of(&self, token: Option<String>) -> core::Result<Option<Session>> {
        let Some(token) = token else { return Ok(None) };
        self.run(move |core, app| core.session_or_upstream(app, &token)).await
    }

    /// The session behind the request's own token ([`Self::session_of`]).
    pub async fn session(&self) -> core::Result<Option<Session>> {
        self.session_of(self.session_token.clone()).await
    }

    /// The session behind the request's own token, asking the upstream ([`Self::session_or_upstream_of`]).
    pub async fn session_or_upstream(&self) -> core::Result<Option<Session>> {
        self.session_or_upstream_of(self.session_token.clone()).await
    }

    /// Where a send comes from: the client address and the captcha token, the body's
    /// (`from_body`) before the headers'.
    pub fn origin(&self, from_body: Option<String>) -> Origin {
        Origin { client_ip: self.client_ip.clone(), validate_token: from_body.or_else(|| self.validate_token.clone()) }
    }
}

impl<D: Rules> FromRequest for Caller<D> {
    type Error = D::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, D::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req.app_data::<web::Data<AppState>>().expect("AppState is registered").clone();
            let app = match D::app(&req, &state)? {
                AppRef::Id(id) => match state.core.cached_app(&id) {
                    Some(app) => app,
                    None => {
                        let core = state.core.clone();
                        blocking(move || core.app(&id)).await?
                    }
                },
                AppRef::Lookup(find) => {
                    let core = state.core.clone();
                    blocking(move || find(&core)).await?
                }
            };
            let master = D::master(&req, &state, &app)?;
            Ok(Caller {
                core: state.core.clone(),
                app,
                master,
                client_ip: client_ip(&req, &state.config),
                session_token: D::session_token(&req),
                validate_token: D::validate_token(&req),
                dialect: PhantomData,
            })
        })
    }
}
