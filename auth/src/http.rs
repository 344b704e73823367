//! The `/auth` routes of DESIGN.md section 8 and the caller extractor.
//!
//! - `POST /auth/signup` `{"email","name","address","password"}` → 201, the profile, the cookie
//! - `POST /auth/login` `{"email","password"}` → 204 and the cookie; 401 that says neither which
//!   part was wrong nor whether the account exists
//! - `POST /auth/logout` → 204, the session ended and the cookie cleared
//! - `GET /auth/me` → the profile, or 401 (naming the external issuer the page may offer,
//!   `"signInWith": NAME, "signInAt": "/auth/oidc/login"`, when one is configured)
//! - `GET /auth/jwks.json` → the public keys of the tokens the BFF signs

pub mod cookie;
pub mod oidc;
pub mod principal;
pub mod problem;
pub mod service;

use std::sync::Arc;

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tokio::sync::broadcast;

use self::cookie::{session_id, CookieSettings};
use self::principal::{Principal, Via};
use self::problem::AuthProblem;
use crate::account::{Email, Password, Profile};
use crate::identity::{Identity, SignUp};
use crate::keys::SigningKey;
use crate::session::SessionKey;
use crate::settings::AuthSettings;
use crate::store::StoreLocation;
use crate::token::{TokenError, TokenIssuer, Verified};
use crate::verifier::Verifier;

/// What the routes and the extractor need. Cheap to clone.
#[derive(Clone)]
pub struct AuthState {
    pub identity: Identity,
    pub issuer: TokenIssuer,
    pub cookies: CookieSettings,
    /// Bearer tokens are accepted if one of these accepts them (the BFF's own tokens, an
    /// external OpenID issuer's).
    pub bearer: Arc<Vec<Verifier>>,
    /// The external issuer whose sign-in `/auth/oidc/login` starts, by the name the sign-in
    /// page shows; `/auth/me` offers it to a visitor nobody signed in yet.
    pub sign_in_with: Option<Arc<str>>,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthState")
            .field("cookies", &self.cookies)
            .finish_non_exhaustive()
    }
}

/// What can fail when the identity core is opened.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot open the identity store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("cannot load the token signing key: {0}")]
    Key(#[from] crate::keys::KeyError),
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
}

/// The audience of bearer tokens meant for the BFF itself (`mall token`).
pub const BFF_AUDIENCE: &str = "bff";

impl AuthState {
    /// Accepts the BFF's own tokens for audience [`BFF_AUDIENCE`]; add other issuers with
    /// [`AuthState::accept_bearer`].
    pub fn new(identity: Identity, issuer: TokenIssuer, cookies: CookieSettings) -> AuthState {
        let own = Verifier::fixed(
            issuer.key().jwks(),
            crate::token::Expectations::bff(issuer.issuer(), BFF_AUDIENCE),
        );
        AuthState {
            identity,
            issuer,
            cookies,
            bearer: Arc::new(vec![own]),
            sign_in_with: None,
        }
    }

    /// Opens the identity store (blocking: call it at start), loads or makes the signing
    /// key, and accepts the BFF's own bearer tokens. `public_url` is the shop's URL: the
    /// tokens' issuer unless `settings.tokens.issuer` names another, and whether the cookie
    /// is `Secure`.
    pub fn open(
        location: &StoreLocation,
        settings: &AuthSettings,
        public_url: &str,
    ) -> Result<AuthState, SetupError> {
        let store = location.open()?;
        let key = SigningKey::load_or_create(store.as_ref())?;
        let identity = Identity::new(store, &settings.identity)?;
        let mut tokens = settings.tokens.clone();
        if tokens.issuer == crate::token::DEFAULT_ISSUER {
            tokens.issuer = public_url.trim_end_matches('/').to_owned();
        }
        let cookies = CookieSettings {
            secure: settings.cookie.secure || public_url.starts_with("https://"),
        };
        Ok(AuthState::new(
            identity,
            TokenIssuer::new(key, tokens),
            cookies,
        ))
    }

    pub fn accept_bearer(mut self, verifier: Verifier) -> AuthState {
        Arc::make_mut(&mut self.bearer).push(verifier);
        self
    }

    /// Offers sign-in at an external issuer called `name` (where `/auth/oidc/*` is served).
    pub fn offer_sign_in_with(mut self, name: &str) -> AuthState {
        self.sign_in_with = Some(name.into());
        self
    }

    /// Sessions ended in this process, as they end (see [`Identity::ended_sessions`]).
    pub fn ended_sessions(&self) -> broadcast::Receiver<SessionKey> {
        self.identity.ended_sessions()
    }

    pub async fn verify_bearer(&self, token: &str) -> Result<Verified, AuthProblem> {
        let mut last = None;
        for v in self.bearer.iter() {
            match v.verify(token).await {
                Ok(verified) => return Ok(verified),
                Err(e) => last = Some(e),
            }
        }
        match last {
            Some(TokenError::Keys { url, reason }) => Err(AuthProblem::Internal(format!(
                "cannot check a bearer token: keys at {url}: {reason}"
            ))),
            Some(e) => {
                tracing::info!(error = %e, "bearer token refused");
                Err(AuthProblem::bad_token())
            }
            None => Err(AuthProblem::bad_token()),
        }
    }
}

/// The `/auth` routes, with their state applied: merge it into the BFF's router.
pub fn router(state: AuthState) -> Router {
    Router::new()
        .route("/auth/signup", post(signup))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
        .route("/auth/jwks.json", get(jwks))
        .with_state(state)
}

/// A JSON body whose rejections are problem documents.
struct Body<T>(T);

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = AuthProblem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(Body(value))
    }
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn signup(
    State(state): State<AuthState>,
    Body(form): Body<SignUp>,
) -> Result<Response, AuthProblem> {
    let opened = state.identity.sign_up(form).await?;
    tracing::info!(account = %opened.account.email, "account created");
    Ok(no_store(
        (
            StatusCode::CREATED,
            [(
                header::SET_COOKIE,
                state.cookies.set(&opened.id, &opened.session),
            )],
            Json(opened.account.profile()),
        )
            .into_response(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
}

async fn login(
    State(state): State<AuthState>,
    headers: HeaderMap,
    Body(form): Body<Login>,
) -> Result<Response, AuthProblem> {
    let opened = state
        .identity
        .sign_in(&form.email, Password::attempt(form.password))
        .await?;
    // A session the browser held before is ended, not left behind.
    if let Some(old) = session_id(&headers) {
        state.identity.sign_out(&old).await?;
    }
    Ok(no_store(
        (
            StatusCode::NO_CONTENT,
            [(
                header::SET_COOKIE,
                state.cookies.set(&opened.id, &opened.session),
            )],
        )
            .into_response(),
    ))
}

async fn logout(
    State(state): State<AuthState>,
    principal: Principal,
    headers: HeaderMap,
) -> Result<Response, AuthProblem> {
    if let (Via::Session(_), Some(id)) = (&principal.via, session_id(&headers)) {
        state.identity.sign_out(&id).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, state.cookies.clear())],
    )
        .into_response())
}

async fn me(State(state): State<AuthState>, principal: Principal) -> Response {
    match state.me(&principal).await {
        Ok(me) => me.into_response(),
        Err(problem) => problem.into_response(),
    }
}

/// Who `GET /auth/me` says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Me {
    /// Signed in: the account without its secrets (200).
    SignedIn(Profile),
    /// Nobody, or an account gone since (401), with what the sign-in page may offer besides
    /// its own form (RFC 9457 extension members: `signInWith`, `signInAt`).
    SignedOut(serde_json::Map<String, serde_json::Value>),
}

impl Me {
    /// The answer's JSON body: the profile, or the problem document with the offers.
    pub fn body(&self) -> serde_json::Value {
        match self {
            Me::SignedIn(profile) => serde_json::to_value(profile).unwrap_or_default(),
            Me::SignedOut(offers) => AuthProblem::sign_in_first().body_with(offers.clone()),
        }
    }
}

impl IntoResponse for Me {
    fn into_response(self) -> Response {
        match self {
            Me::SignedIn(profile) => no_store(Json(profile).into_response()),
            Me::SignedOut(offers) => AuthProblem::sign_in_first().into_response_with(offers),
        }
    }
}

impl AuthState {
    /// Who `principal` is, as `GET /auth/me` answers it. An error is the store's (500).
    pub async fn me(&self, principal: &Principal) -> Result<Me, AuthProblem> {
        let signed_out = || Me::SignedOut(self.sign_in_offers());
        let Some(id) = principal.caller.id() else {
            return Ok(signed_out());
        };
        let Ok(email) = Email::parse(id) else {
            return Ok(signed_out());
        };
        let identity = self.identity.clone();
        let account = tokio::task::spawn_blocking(move || identity.store().account(&email))
            .await
            .map_err(|e| AuthProblem::Internal(e.to_string()))?
            .map_err(|e| AuthProblem::Internal(e.to_string()))?;
        Ok(account.map_or_else(signed_out, |a| Me::SignedIn(a.profile())))
    }

    /// What `GET /auth/me` would answer a request with these headers (the caller resolved
    /// as its extractor does): the shop's document carries it, so the page need not ask.
    /// An error is what `/auth/me` would refuse with (a bearer token not accepted, the
    /// store unreachable).
    pub async fn me_of(&self, headers: &HeaderMap) -> Result<Me, AuthProblem> {
        let principal = principal::resolve(self, &axum::http::Method::GET, headers).await?;
        self.me(&principal).await
    }

    /// What the sign-in page may offer besides its own form: the external issuer, if any.
    fn sign_in_offers(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut offers = serde_json::Map::new();
        if let Some(name) = &self.sign_in_with {
            offers.insert("signInWith".into(), (&**name).into());
            offers.insert("signInAt".into(), "/auth/oidc/login".into());
        }
        offers
    }
}

async fn jwks(State(state): State<AuthState>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.issuer.key().jwks()),
    )
        .into_response()
}
