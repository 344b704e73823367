//! The `[auth]` part of the BFF's configuration: each part is the settings struct of what
//! it configures, composed here so the BFF's config tree can hold it as one key.

use serde::Deserialize;

use crate::http::cookie::CookieSettings;
use crate::identity::IdentitySettings;
use crate::oidc::OidcSettings;
use crate::token::TokenSettings;
use crate::verifier::JwksSettings;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Password hashing and session lifetime (`[auth.identity.password]`, `[auth.identity.session]`).
    pub identity: IdentitySettings,
    /// The tokens the BFF signs (`issuer` = the BFF's public URL).
    pub tokens: TokenSettings,
    /// The session cookie.
    pub cookie: CookieSettings,
    /// How the services fetch and cache the BFF's keys.
    pub jwks: JwksSettings,
    /// An external OpenID issuer, if any.
    pub oidc: Option<OidcSettings>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_part_has_a_default_and_misspellings_are_refused() {
        let s: AuthSettings = serde_json::from_value(serde_json::json!({})).expect("defaults");
        assert_eq!(s, AuthSettings::default());
        assert_eq!(s.tokens.service_token_ttl, Duration::from_secs(60));
        assert!(s.oidc.is_none());

        let s: AuthSettings = serde_json::from_value(serde_json::json!({
            "identity": {"session": {"ttl": "12h"}},
            "cookie": {"secure": true},
            "oidc": {"issuer": "https://id.example", "client_id": "mall"},
        }))
        .expect("parts");
        assert_eq!(s.identity.session.ttl, Duration::from_secs(12 * 3600));
        assert!(s.cookie.secure);
        let oidc = s.oidc.expect("oidc");
        assert_eq!(oidc.email_claim, "email");
        assert!(oidc.require_verified_email);
        assert_eq!(oidc.client_secret, None, "no defaulted secret");

        let err = serde_json::from_value::<AuthSettings>(serde_json::json!({"cookies": {}}))
            .expect_err("misspelt");
        assert!(err.to_string().contains("unknown field `cookies`"), "{err}");
    }
}
