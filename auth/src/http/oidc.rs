//! Sign-in through an external OpenID issuer: the authorization code flow with PKCE
//! (`openidconnect`).
//!
//! - `GET /auth/oidc/login` redirects to the issuer with a fresh state, nonce and PKCE
//!   challenge; what the callback needs to check them travels in a short-lived cookie
//!   (`mall_oidc`, HttpOnly, Path=/auth/oidc) signed with the BFF's key, so any replica can
//!   finish the flow.
//! - `GET /auth/oidc/callback` checks the state, exchanges the code with the PKCE verifier,
//!   verifies the ID token (signature by the issuer's keys, issuer, audience, expiry, nonce),
//!   maps its claims like a bearer token of that issuer, opens a session and redirects to `/`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cookie::{Cookie, SameSite};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use serde::{Deserialize, Serialize};

use super::problem::AuthProblem;
use super::AuthState;
use crate::account::{Email, Name};
use crate::identity::External;
use crate::oidc::{OidcError, OidcSettings};
use crate::session::now;

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

const PENDING_COOKIE: &str = "mall_oidc";
const PENDING_AUDIENCE: &str = "mall-oidc-login";
/// How long a sign-in at the issuer may take.
const PENDING_TTL_SECS: i64 = 600;

/// The code flow against one issuer, discovered once.
#[derive(Clone)]
pub struct OidcLogin {
    client: Arc<Client>,
    http: reqwest::Client,
    settings: Arc<OidcSettings>,
}

impl std::fmt::Debug for OidcLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcLogin")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl OidcLogin {
    /// Reads the issuer's discovery document and keys. `public_url` is the shop's own URL
    /// (the callback is `<public_url>/auth/oidc/callback`, registered at the issuer).
    pub async fn discover(
        settings: OidcSettings,
        public_url: &str,
    ) -> Result<OidcLogin, OidcError> {
        let url = settings.discovery_url();
        let fail = |reason: String| OidcError::Discovery {
            url: url.clone(),
            reason,
        };
        // Never follow redirects from the issuer's endpoints (SSRF hardening, as the crate advises).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.jwks.timeout)
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let issuer = IssuerUrl::new(settings.issuer.clone()).map_err(|e| fail(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|e| fail(error_chain(&e)))?;
        let redirect = RedirectUrl::new(format!(
            "{}/auth/oidc/callback",
            public_url.trim_end_matches('/')
        ))
        .map_err(|e| fail(format!("the shop's public URL: {e}")))?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(settings.client_id.clone()),
            settings.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect);
        Ok(OidcLogin {
            client: Arc::new(client),
            http,
            settings: Arc::new(settings),
        })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// What the callback checks, signed into the `mall_oidc` cookie.
#[derive(Serialize, Deserialize)]
struct Pending {
    iss: String,
    aud: String,
    exp: i64,
    state: String,
    nonce: String,
    pkce: String,
}

/// The `/auth/oidc` routes.
pub fn router(state: AuthState, login: OidcLogin) -> Router {
    Router::new()
        .route("/auth/oidc/login", get(start))
        .route("/auth/oidc/callback", get(callback))
        .with_state((state, login))
}

fn pending_cookie(value: String, max_age: i64, secure: bool) -> HeaderValue {
    let c = Cookie::build((PENDING_COOKIE, value))
        .http_only(true)
        // Lax: the issuer sends the browser back with a top-level GET, which carries it.
        .same_site(SameSite::Lax)
        .path("/auth/oidc")
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    HeaderValue::from_str(&c.to_string()).expect("a JWT and fixed attributes")
}

async fn start(
    State((state, login)): State<(AuthState, OidcLogin)>,
) -> Result<Response, AuthProblem> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = login
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let pending = Pending {
        iss: state.issuer.issuer().to_owned(),
        aud: PENDING_AUDIENCE.into(),
        exp: now() + PENDING_TTL_SECS,
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce: verifier.secret().clone(),
    };
    let signed = state
        .issuer
        .key()
        .sign_json(&pending)
        .map_err(|e| AuthProblem::Internal(e.to_string()))?;
    let location =
        HeaderValue::from_str(url.as_str()).map_err(|e| AuthProblem::Internal(e.to_string()))?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (
                header::SET_COOKIE,
                pending_cookie(signed, PENDING_TTL_SECS, state.cookies.secure),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response())
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn failed(detail: &'static str) -> AuthProblem {
    AuthProblem::Unauthenticated {
        detail,
        bearer: false,
    }
}

fn read_pending(state: &AuthState, headers: &HeaderMap) -> Option<Pending> {
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == PENDING_COOKIE)?
        .value()
        .to_owned();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&[PENDING_AUDIENCE]);
    validation.set_issuer(&[state.issuer.issuer()]);
    validation.leeway = 0;
    jsonwebtoken::decode::<Pending>(&value, &state.issuer.key().decoding_key(), &validation)
        .ok()
        .map(|d| d.claims)
}

async fn callback(
    State((state, login)): State<(AuthState, OidcLogin)>,
    headers: HeaderMap,
    Query(query): Query<Callback>,
) -> Result<Response, AuthProblem> {
    if let Some(error) = query.error {
        tracing::info!(%error, "the OpenID issuer refused the sign-in");
        return Err(failed(
            "the sign-in at the identity provider did not complete; try again",
        ));
    }
    let pending = read_pending(&state, &headers)
        .ok_or_else(|| failed("the sign-in took too long or was started elsewhere; start again"))?;
    // The state ties this callback to the browser that started the flow (login CSRF).
    if query.state.as_deref() != Some(pending.state.as_str()) {
        return Err(failed(
            "the sign-in does not match the one this browser started; start again",
        ));
    }
    let code = query
        .code
        .ok_or_else(|| AuthProblem::BadRequest("the callback has no `code`".into()))?;
    let response = login
        .client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| AuthProblem::Internal(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce))
        .request_async(&login.http)
        .await
        .map_err(|e| {
            tracing::warn!(error = %error_chain(&e), "the code exchange failed");
            failed("the identity provider did not confirm the sign-in; try again")
        })?;
    let id_token = response
        .id_token()
        .ok_or_else(|| failed("the identity provider sent no ID token"))?;
    // The same allow-list as the issuer's bearer tokens (the crate's default is RS256 only).
    let verifier = login.client.id_token_verifier().set_allowed_algs([
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::RsaSsaPssSha256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::EdDsa,
    ]);
    id_token
        .claims(&verifier, &Nonce::new(pending.nonce))
        .map_err(|e| {
            tracing::warn!(error = %error_chain(&e), "ID token refused");
            failed("the identity provider's ID token was not accepted")
        })?;
    // Verified above; read every claim (the staff claim is not a standard one).
    let claims = id_token
        .to_string()
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&b).ok())
        .ok_or_else(|| {
            AuthProblem::Internal("a verified ID token without readable claims".into())
        })?;
    let caller = login
        .settings
        .expectations()
        .claims
        .caller(&claims)
        .map_err(|e| {
            tracing::info!(error = %e, "ID token claims refused");
            failed("the identity provider did not give a verified email address")
        })?;
    let email = Email::parse(caller.id().unwrap_or_default())
        .map_err(|e| AuthProblem::Internal(e.to_string()))?;
    let name = claims
        .get("name")
        .and_then(|v| v.as_str())
        .and_then(|n| Name::parse(n).ok())
        .map_or_else(
            || {
                let local = email.as_str().split('@').next().unwrap_or_default();
                Name::parse(&local.chars().take(Name::MAX).collect::<String>())
            },
            Ok,
        )
        .map_err(|e| AuthProblem::Internal(e.to_string()))?;
    let opened = state
        .identity
        .sign_in_external(External {
            email,
            name,
            staff: caller.is_staff(),
        })
        .await?;
    tracing::info!(account = %opened.account.email, "signed in through the OpenID issuer");
    let mut response = (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, HeaderValue::from_static("/")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        state.cookies.set(&opened.id, &opened.session),
    );
    h.append(
        header::SET_COOKIE,
        pending_cookie(String::new(), 0, state.cookies.secure),
    );
    Ok(response)
}
