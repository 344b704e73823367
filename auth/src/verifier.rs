//! What a service (or the BFF, for an external issuer) uses to check bearer tokens: the
//! issuer's keys, fetched from its JWKS URL and cached, and the checks of [`crate::token`].

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::token::{names_unknown_key, verify_with, Expectations, TokenError, Verified};

/// Fetching and caching an issuer's keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwksSettings {
    /// Keys are fetched again after this long.
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
    /// A token naming an unknown key fetches the keys again, but not more often than this.
    #[serde(with = "humantime_serde")]
    pub min_refetch: Duration,
    /// One fetch's time limit.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for JwksSettings {
    fn default() -> Self {
        JwksSettings {
            max_age: Duration::from_secs(300),
            min_refetch: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
        }
    }
}

/// Where a verifier's keys come from.
enum Keys {
    Fixed(JwkSet),
    Remote {
        url: String,
        client: reqwest::Client,
        settings: JwksSettings,
        cache: Mutex<Option<(JwkSet, Instant)>>,
    },
}

/// Checks bearer tokens of one issuer.
#[derive(Clone)]
pub struct Verifier {
    keys: Arc<Keys>,
    expect: Expectations,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("expect", &self.expect)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// With keys at hand (the BFF checking its own tokens).
    pub fn fixed(keys: JwkSet, expect: Expectations) -> Verifier {
        Verifier {
            keys: Arc::new(Keys::Fixed(keys)),
            expect,
        }
    }

    /// With keys fetched from `jwks_url` (a service given the BFF's `/auth/jwks.json`).
    pub fn remote(
        jwks_url: impl Into<String>,
        client: reqwest::Client,
        settings: JwksSettings,
        expect: Expectations,
    ) -> Verifier {
        Verifier {
            keys: Arc::new(Keys::Remote {
                url: jwks_url.into(),
                client,
                settings,
                cache: Mutex::new(None),
            }),
            expect,
        }
    }

    pub fn expectations(&self) -> &Expectations {
        &self.expect
    }

    pub async fn verify(&self, token: &str) -> Result<Verified, TokenError> {
        match self.keys.as_ref() {
            Keys::Fixed(keys) => verify_with(token, keys, &self.expect),
            Keys::Remote {
                url,
                client,
                settings,
                cache,
            } => {
                // Held across the fetch: concurrent requests wait for one fetch, not many.
                let mut cache = cache.lock().await;
                let fresh = match cache.as_ref() {
                    None => true,
                    Some((keys, at)) => {
                        at.elapsed() >= settings.max_age
                            || (names_unknown_key(token, keys)
                                && at.elapsed() >= settings.min_refetch)
                    }
                };
                if fresh {
                    match fetch(client, url, settings.timeout).await {
                        Ok(keys) => *cache = Some((keys, Instant::now())),
                        // Keep checking with the keys we had: the issuer may be restarting.
                        Err(e) if cache.is_some() => {
                            tracing::warn!(error = %e, "kept the cached signing keys");
                        }
                        Err(e) => return Err(e),
                    }
                }
                let (keys, _) = cache.as_ref().expect("filled above or returned");
                verify_with(token, keys, &self.expect)
            }
        }
    }
}

async fn fetch(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
) -> Result<JwkSet, TokenError> {
    let fail = |reason: String| TokenError::Keys {
        url: url.to_owned(),
        reason,
    };
    let response = client
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !response.status().is_success() {
        return Err(fail(format!("status {}", response.status())));
    }
    let body = response.bytes().await.map_err(|e| fail(e.to_string()))?;
    if body.len() > 64 * 1024 {
        return Err(fail("the key set is larger than 64 KiB".into()));
    }
    serde_json::from_slice(&body).map_err(|e| fail(format!("not a JWKS document: {e}")))
}
