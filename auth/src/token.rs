//! Bearer tokens: the short-lived ones the BFF signs for each upstream call (audience = the
//! service), and the checks any bearer JWT must pass: signature by a known key, an allowed
//! algorithm (never `none`, never one the key was not made for), issuer, audience, expiry.

use std::time::Duration;

use jsonwebtoken::jwk::Jwk;
/// The keys of a JWKS document (`jsonwebtoken`'s type, re-exported for the key holders).
pub use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::account::Email;
use crate::keys::SigningKey;
use crate::policy::{Caller, Role};
use crate::session::now;

/// Tokens the BFF signs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// The `iss` of the tokens: the BFF's public URL.
    pub issuer: String,
    /// How long a token for one upstream call lives.
    #[serde(with = "humantime_serde")]
    pub service_token_ttl: Duration,
}

pub const DEFAULT_ISSUER: &str = "http://127.0.0.1:8088";
pub const DEFAULT_SERVICE_TOKEN_TTL: Duration = Duration::from_secs(60);
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            issuer: DEFAULT_ISSUER.to_owned(),
            service_token_ttl: DEFAULT_SERVICE_TOKEN_TTL,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token is not acceptable; the reason is for logs, clients get a plain 401.
    #[error("the bearer token was refused: {0}")]
    Refused(String),
    #[error("the signing keys could not be fetched from {url}: {reason}")]
    Keys { url: String, reason: String },
    #[error("a token could not be signed: {0}")]
    Sign(String),
}

/// The claims of the tokens the BFF signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub roles: Vec<Role>,
}

/// Signs tokens with the BFF's key.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    key: SigningKey,
    settings: TokenSettings,
}

impl TokenIssuer {
    pub fn new(key: SigningKey, settings: TokenSettings) -> TokenIssuer {
        TokenIssuer { key, settings }
    }

    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// A token for one call by `caller` to the service `audience` (`order`, `delivery`, …).
    /// `None` for an anonymous caller: its calls carry no token.
    pub fn for_service(
        &self,
        caller: &Caller,
        audience: &str,
    ) -> Result<Option<String>, TokenError> {
        let Some(sub) = caller.id() else {
            return Ok(None);
        };
        self.sign(
            sub,
            caller.roles(),
            audience,
            self.settings.service_token_ttl,
        )
        .map(Some)
    }

    /// A token with any lifetime (`mall token --account EMAIL --ttl 1h` for scripts).
    pub fn sign(
        &self,
        subject: &str,
        roles: Vec<Role>,
        audience: &str,
        ttl: Duration,
    ) -> Result<String, TokenError> {
        let iat = now();
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            sub: subject.to_owned(),
            aud: audience.to_owned(),
            iat,
            nbf: iat,
            exp: iat.saturating_add(ttl.as_secs() as i64),
            roles,
        };
        self.key
            .sign_json(&claims)
            .map_err(|e| TokenError::Sign(e.to_string()))
    }
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub caller: Caller,
    /// Every claim of the token, as sent.
    pub claims: serde_json::Map<String, Value>,
}

/// How a verified token's claims name the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimMapping {
    /// The BFF's own tokens: `sub` is the account, `roles` its roles.
    Bff,
    /// An OpenID issuer's: the account is the email in `email_claim`, which must be marked
    /// `email_verified: true` when `require_verified_email` (the email is the account: an
    /// unverified one could be anybody's); staff when `staff_claim` (a string or a list of
    /// strings) holds one of `staff_values`.
    External {
        email_claim: String,
        require_verified_email: bool,
        staff_claim: Option<String>,
        staff_values: Vec<String>,
    },
}

impl ClaimMapping {
    /// The caller these (already verified) claims name.
    pub fn caller(&self, claims: &serde_json::Map<String, Value>) -> Result<Caller, TokenError> {
        match self {
            ClaimMapping::Bff => {
                let parsed: Claims = serde_json::from_value(Value::Object(claims.clone()))
                    .map_err(|e| refused(format!("not a token of the BFF: {e}")))?;
                Ok(Caller::from_roles(parsed.sub, &parsed.roles))
            }
            ClaimMapping::External {
                email_claim,
                require_verified_email,
                staff_claim,
                staff_values,
            } => {
                let email = claims
                    .get(email_claim)
                    .and_then(Value::as_str)
                    .ok_or_else(|| refused(format!("the token has no `{email_claim}` claim")))?;
                let verified = claims.get("email_verified");
                let unverified = match verified {
                    Some(v) => v != &Value::Bool(true),
                    None => *require_verified_email,
                };
                if unverified {
                    return Err(refused("the token's email is not marked verified"));
                }
                let email = Email::parse(email).map_err(refused)?;
                let staff = staff_claim.as_ref().is_some_and(|name| {
                    let holds = |v: &Value| {
                        v.as_str()
                            .is_some_and(|s| staff_values.iter().any(|w| w == s))
                    };
                    match claims.get(name) {
                        Some(Value::Array(items)) => items.iter().any(holds),
                        Some(v) => holds(v),
                        None => false,
                    }
                });
                let roles = if staff {
                    vec![Role::Customer, Role::Staff]
                } else {
                    vec![Role::Customer]
                };
                Ok(Caller::from_roles(email.as_str(), &roles))
            }
        }
    }
}

/// The checks one issuer's tokens must pass.
#[derive(Debug, Clone)]
pub struct Expectations {
    pub issuer: String,
    /// A token is accepted if its `aud` names any of these.
    pub audiences: Vec<String>,
    /// The allow-list; `none` and HMAC algorithms have no place in it.
    pub algorithms: Vec<Algorithm>,
    pub claims: ClaimMapping,
}

impl Expectations {
    /// The BFF's own tokens as a service checks them: EdDSA only, `aud` = the service.
    pub fn bff(issuer: &str, service: &str) -> Expectations {
        Expectations {
            issuer: issuer.to_owned(),
            audiences: vec![service.to_owned()],
            algorithms: vec![Algorithm::EdDSA],
            claims: ClaimMapping::Bff,
        }
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = LEEWAY_SECS;
        v.validate_nbf = true;
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&self.audiences);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v
    }
}

fn refused(reason: impl std::fmt::Display) -> TokenError {
    TokenError::Refused(reason.to_string())
}

/// Checks a token against a set of keys. The header's `alg` must be on the allow-list and
/// match the key's own `alg` (a key made for EdDSA never checks an HS256 token).
pub fn verify_with(
    token: &str,
    keys: &JwkSet,
    expect: &Expectations,
) -> Result<Verified, TokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(refused)?;
    if !expect.algorithms.contains(&header.alg) {
        return Err(refused(format!(
            "algorithm {:?} is not allowed",
            header.alg
        )));
    }
    let jwk = find_key(keys, header.kid.as_deref())?;
    if let Some(alg) = jwk.common.key_algorithm {
        if alg.to_string() != format!("{:?}", header.alg) {
            return Err(refused("the token's algorithm is not its key's"));
        }
    }
    let key = DecodingKey::from_jwk(jwk).map_err(refused)?;
    let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(
        token,
        &key,
        &expect.validation(header.alg),
    )
    .map_err(refused)?;
    Ok(Verified {
        caller: expect.claims.caller(&data.claims)?,
        claims: data.claims,
    })
}

fn find_key<'a>(keys: &'a JwkSet, kid: Option<&str>) -> Result<&'a Jwk, TokenError> {
    match kid {
        Some(kid) => keys
            .find(kid)
            .ok_or_else(|| refused(format!("no key `{kid}`"))),
        None if keys.keys.len() == 1 => Ok(&keys.keys[0]),
        None => Err(refused("the token names no key (`kid`)")),
    }
}

/// Whether a token names a key the set does not have (time to fetch the keys again).
pub fn names_unknown_key(token: &str, keys: &JwkSet) -> bool {
    match jsonwebtoken::decode_header(token) {
        Ok(Header { kid: Some(kid), .. }) => keys.find(&kid).is_none(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    use super::*;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(
            SigningKey::generate().expect("key"),
            TokenSettings::default(),
        )
    }

    fn customer() -> Caller {
        Caller::Customer {
            id: "1@uengine.org".into(),
        }
    }

    fn expect(service: &str) -> Expectations {
        Expectations::bff(DEFAULT_ISSUER, service)
    }

    #[test]
    fn a_service_token_carries_the_caller_to_its_service_only() {
        let i = issuer();
        let token = i
            .for_service(&customer(), "order")
            .expect("sign")
            .expect("token");
        let v = verify_with(&token, &i.key().jwks(), &expect("order")).expect("valid");
        assert_eq!(v.caller, customer());
        assert_eq!(v.claims["aud"], "order");
        let life = v.claims["exp"].as_i64().expect("exp") - v.claims["iat"].as_i64().expect("iat");
        assert!(life <= 60, "{life}");
        let err = verify_with(&token, &i.key().jwks(), &expect("delivery")).expect_err("refused");
        assert!(err.to_string().contains("Audience"), "{err}");
        assert_eq!(
            i.for_service(&Caller::Anonymous, "order").expect("sign"),
            None
        );
        let staff = Caller::Staff {
            id: "s@x.org".into(),
        };
        let t = i
            .for_service(&staff, "order")
            .expect("sign")
            .expect("token");
        assert_eq!(
            verify_with(&t, &i.key().jwks(), &expect("order"))
                .expect("valid")
                .caller,
            staff
        );
    }

    #[test]
    fn tampered_expired_foreign_and_unsigned_tokens_are_refused() {
        let i = issuer();
        let keys = i.key().jwks();
        let token = i
            .for_service(&customer(), "order")
            .expect("sign")
            .expect("token");
        let parts: Vec<&str> = token.split('.').collect();

        // Tampered: the payload now says staff.
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        claims["roles"] = serde_json::json!(["staff"]);
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            parts[2]
        );
        assert!(verify_with(&forged, &keys, &expect("order")).is_err());

        // Expired (beyond the leeway).
        let old = i
            .sign(
                "1@uengine.org",
                vec![Role::Customer],
                "order",
                Duration::ZERO,
            )
            .expect("sign");
        assert!(
            verify_with(&old, &keys, &expect("order")).is_ok(),
            "within leeway"
        );
        let mut c = claims.clone();
        c["roles"] = serde_json::json!(["customer"]);
        c["exp"] = serde_json::json!(now() - 3600);
        let expired = sign_raw(&i, parts[0], &c);
        let err = verify_with(&expired, &keys, &expect("order")).expect_err("refused");
        assert!(err.to_string().contains("Expired"), "{err}");

        // Another issuer's key, same kid.
        let other = TokenIssuer::new(
            SigningKey::generate().expect("key"),
            TokenSettings::default(),
        );
        let foreign = other
            .for_service(&customer(), "order")
            .expect("sign")
            .expect("token");
        assert!(verify_with(&foreign, &keys, &expect("order")).is_err());

        // Wrong issuer.
        let mut e = expect("order");
        e.issuer = "https://elsewhere".into();
        assert!(verify_with(&token, &keys, &e).is_err());

        // alg: none, with and without a signature.
        let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        for t in [
            format!("{none}.{}.", parts[1]),
            format!("{none}.{}.{}", parts[1], parts[2]),
        ] {
            assert!(verify_with(&t, &keys, &expect("order")).is_err(), "{t}");
        }

        // HS256 signed with the public key as the secret (algorithm confusion).
        let hs_header = jsonwebtoken::Header {
            kid: Some(i.key().kid().to_owned()),
            ..jsonwebtoken::Header::new(Algorithm::HS256)
        };
        let public = URL_SAFE_NO_PAD
            .decode(match &keys.keys[0].algorithm {
                jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(p) => p.x.clone(),
                _ => unreachable!("an Ed25519 key"),
            })
            .expect("b64");
        let hs = jsonwebtoken::encode(
            &hs_header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&public).expect("an HMAC key"),
        )
        .expect("sign");
        let err = verify_with(&hs, &keys, &expect("order")).expect_err("refused");
        assert!(err.to_string().contains("not allowed"), "{err}");

        // Garbage.
        for t in ["", "a.b.c", "not a token"] {
            assert!(verify_with(t, &keys, &expect("order")).is_err());
        }
    }

    /// Signs arbitrary claims with the issuer's key (to make an expired token).
    fn sign_raw(i: &TokenIssuer, _header: &str, claims: &serde_json::Value) -> String {
        i.key().sign_json(claims).expect("sign")
    }

    fn external(staff_claim: Option<&str>) -> Expectations {
        Expectations {
            issuer: "https://id.example".into(),
            audiences: vec!["mall".into()],
            algorithms: vec![Algorithm::EdDSA, Algorithm::RS256, Algorithm::ES256],
            claims: ClaimMapping::External {
                email_claim: "email".into(),
                require_verified_email: true,
                staff_claim: staff_claim.map(str::to_owned),
                staff_values: vec!["shop-staff".into()],
            },
        }
    }

    fn id_token(i: &TokenIssuer, extra: serde_json::Value) -> String {
        let mut claims = serde_json::json!({
            "iss": "https://id.example", "aud": "mall", "sub": "opaque-123",
            "iat": now(), "exp": now() + 300,
        });
        for (k, v) in extra.as_object().expect("object") {
            claims[k] = v.clone();
        }
        sign_raw(i, "", &claims)
    }

    #[test]
    fn an_openid_issuers_tokens_name_the_account_by_email() {
        let idp = issuer();
        let keys = idp.key().jwks();
        let t = id_token(
            &idp,
            serde_json::json!({"email": "1@UEngine.org", "email_verified": true}),
        );
        let v = verify_with(&t, &keys, &external(Some("groups"))).expect("valid");
        assert_eq!(v.caller, customer());

        for groups in [
            serde_json::json!(["x", "shop-staff"]),
            serde_json::json!("shop-staff"),
        ] {
            let t = id_token(
                &idp,
                serde_json::json!({"email": "s@x.org", "email_verified": true, "groups": groups}),
            );
            let v = verify_with(&t, &keys, &external(Some("groups"))).expect("valid");
            assert_eq!(
                v.caller,
                Caller::Staff {
                    id: "s@x.org".into()
                }
            );
            // Without a staff claim configured, nobody is staff.
            let v = verify_with(&t, &keys, &external(None)).expect("valid");
            assert_eq!(
                v.caller,
                Caller::Customer {
                    id: "s@x.org".into()
                }
            );
        }

        for bad in [
            serde_json::json!({}),
            serde_json::json!({"email": "1@uengine.org", "email_verified": false}),
            serde_json::json!({"email": "1@uengine.org"}),
            serde_json::json!({"email": "1@uengine.org", "email_verified": "true"}),
            serde_json::json!({"email": "not an email", "email_verified": true}),
            serde_json::json!({"email": "1@uengine.org", "email_verified": true, "aud": "someone-else"}),
            serde_json::json!({"email": "1@uengine.org", "email_verified": true, "iss": "https://evil.example"}),
        ] {
            let t = id_token(&idp, bad.clone());
            assert!(verify_with(&t, &keys, &external(None)).is_err(), "{bad}");
        }
        // The BFF's own token is not an external one (no email claim).
        let own = idp
            .for_service(&customer(), "mall")
            .expect("sign")
            .expect("token");
        assert!(verify_with(&own, &keys, &external(None)).is_err());
    }

    #[test]
    fn an_issuer_without_email_verified_can_be_trusted_on_purpose() {
        let idp = issuer();
        let mut expect = external(None);
        if let ClaimMapping::External {
            require_verified_email,
            ..
        } = &mut expect.claims
        {
            *require_verified_email = false;
        }
        let t = id_token(&idp, serde_json::json!({"email": "1@uengine.org"}));
        let v = verify_with(&t, &idp.key().jwks(), &expect).expect("valid");
        assert_eq!(v.caller, customer());
        // An explicit `false` is never trusted.
        let t = id_token(
            &idp,
            serde_json::json!({"email": "1@uengine.org", "email_verified": false}),
        );
        assert!(verify_with(&t, &idp.key().jwks(), &expect).is_err());
    }
}
