//! An external OpenID Connect issuer (`[auth.oidc]`): its settings, and a verifier for its
//! bearer JWTs found through its discovery document. The authorization code flow itself
//! (`/auth/oidc/login`, `/auth/oidc/callback`) is not built yet.

use std::fmt;

use jsonwebtoken::Algorithm;
use serde::Deserialize;

use crate::token::{ClaimMapping, Expectations};
use crate::verifier::{JwksSettings, Verifier};

/// One external issuer.
#[derive(Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// The issuer URL, exactly as its tokens' `iss` says.
    pub issuer: String,
    /// Our client id at the issuer; ID tokens carry it as `aud`.
    pub client_id: String,
    /// Our client secret. No default; give it from a file or the environment.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Further audiences accepted on bearer tokens of API clients (access tokens issued for
    /// the mall's API).
    #[serde(default)]
    pub audiences: Vec<String>,
    /// The claim that carries the account's email (the customer's id).
    #[serde(default = "default_email_claim")]
    pub email_claim: String,
    /// Refuse tokens whose email is not marked `email_verified: true`. Turn it off only for
    /// an issuer that verifies every email but does not say so.
    #[serde(default = "yes")]
    pub require_verified_email: bool,
    /// The claim that grants staff, if any (`groups`, `roles`, …), and the values that do.
    #[serde(default)]
    pub staff_claim: Option<String>,
    #[serde(default)]
    pub staff_values: Vec<String>,
    #[serde(default)]
    pub jwks: JwksSettings,
    /// What the shop's sign-in page calls the issuer ("Sign in with <name>"); unset: the
    /// issuer's host.
    #[serde(default)]
    pub name: Option<String>,
}

fn default_email_claim() -> String {
    "email".into()
}

fn yes() -> bool {
    true
}

impl fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("audiences", &self.audiences)
            .field("email_claim", &self.email_claim)
            .field("require_verified_email", &self.require_verified_email)
            .field("staff_claim", &self.staff_claim)
            .field("staff_values", &self.staff_values)
            .field("name", &self.name)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the OpenID issuer's discovery document at {url} could not be read: {reason}")]
    Discovery { url: String, reason: String },
    #[error("the discovery document at {url} names the issuer `{found}`, not the configured `{expected}`; set `issuer` to exactly what the provider says")]
    IssuerMismatch {
        url: String,
        found: String,
        expected: String,
    },
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

impl OidcSettings {
    /// The checks its tokens must pass: asymmetric algorithms only.
    pub fn expectations(&self) -> Expectations {
        let mut audiences = vec![self.client_id.clone()];
        audiences.extend(self.audiences.iter().cloned());
        Expectations {
            issuer: self.issuer.clone(),
            audiences,
            algorithms: vec![
                Algorithm::RS256,
                Algorithm::PS256,
                Algorithm::ES256,
                Algorithm::EdDSA,
            ],
            claims: ClaimMapping::External {
                email_claim: self.email_claim.clone(),
                require_verified_email: self.require_verified_email,
                staff_claim: self.staff_claim.clone(),
                staff_values: self.staff_values.clone(),
            },
        }
    }

    /// What the shop's sign-in page calls the issuer: `name`, else the issuer's host.
    pub fn display_name(&self) -> String {
        if let Some(name) = self
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            return name.to_owned();
        }
        let rest = self.issuer.split("://").nth(1).unwrap_or(&self.issuer);
        rest.split(['/', ':']).next().unwrap_or(rest).to_owned()
    }

    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        )
    }

    /// Reads the issuer's discovery document and returns a verifier on its `jwks_uri`.
    pub async fn verifier(&self, client: reqwest::Client) -> Result<Verifier, OidcError> {
        let url = self.discovery_url();
        let fail = |reason: String| OidcError::Discovery {
            url: url.clone(),
            reason,
        };
        let response = client
            .get(&url)
            .timeout(self.jwks.timeout)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !response.status().is_success() {
            return Err(fail(format!("status {}", response.status())));
        }
        let doc: Discovery = response.json().await.map_err(|e| fail(e.to_string()))?;
        if doc.issuer != self.issuer {
            return Err(OidcError::IssuerMismatch {
                url,
                found: doc.issuer,
                expected: self.issuer.clone(),
            });
        }
        Ok(Verifier::remote(
            doc.jwks_uri,
            client,
            self.jwks.clone(),
            self.expectations(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::OidcSettings;

    fn with(issuer: &str, name: Option<&str>) -> OidcSettings {
        let mut v = serde_json::json!({"issuer": issuer, "client_id": "mall"});
        if let Some(name) = name {
            v["name"] = name.into();
        }
        serde_json::from_value(v).expect("settings")
    }

    #[test]
    fn the_sign_in_page_names_the_issuer_by_its_name_else_its_host() {
        assert_eq!(
            with("https://id.example.com/realms/shop", Some("Example ID")).display_name(),
            "Example ID"
        );
        assert_eq!(
            with("https://id.example.com/realms/shop", None).display_name(),
            "id.example.com"
        );
        assert_eq!(
            with("http://127.0.0.1:4000", Some("  ")).display_name(),
            "127.0.0.1"
        );
    }
}
