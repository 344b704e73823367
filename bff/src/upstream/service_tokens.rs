//! The tokens the BFF signs for its calls to one service, kept while they are fresh.
//!
//! Every upstream call carries a token for its caller, audience = the service (DESIGN.md
//! section 8). Signing one is an Ed25519 signature, and `jsonwebtoken` parses the PKCS#8 key
//! again for each: about a tenth of a millisecond on the request's path before every call,
//! three times in a composite query. A caller's token for a service is therefore signed once
//! and reused until half its lifetime has gone, so a service never sees one with less than
//! half its lifetime left. The key is the whole [`Caller`] (its id and the kind that gives
//! its roles): a caller whose roles change is another key and gets a token of its own.

use std::time::{Duration, Instant};

use http::HeaderValue;
use mall_auth::policy::Caller;
use mall_auth::token::TokenIssuer;
use quick_cache::sync::Cache;

use crate::error::BffError;

/// Callers whose tokens are kept per service (the least recently used go first).
const KEPT: usize = 4096;

/// See the module documentation.
#[derive(Debug)]
pub struct ServiceTokens {
    issuer: TokenIssuer,
    audience: &'static str,
    kept: Cache<Caller, Kept>,
}

#[derive(Debug, Clone)]
struct Kept {
    header: HeaderValue,
    renew_at: Instant,
}

impl ServiceTokens {
    pub fn new(issuer: TokenIssuer, audience: &'static str) -> ServiceTokens {
        ServiceTokens {
            issuer,
            audience,
            kept: Cache::new(KEPT),
        }
    }

    /// `Authorization: Bearer …` for a call by `caller`; `None` for an anonymous caller,
    /// whose calls carry no token.
    pub fn header_for(&self, caller: &Caller) -> Result<Option<HeaderValue>, BffError> {
        if caller.id().is_none() {
            return Ok(None);
        }
        let now = Instant::now();
        if let Some(kept) = self.kept.get(caller) {
            if now < kept.renew_at {
                return Ok(Some(kept.header));
            }
        }
        let Some(token) = self
            .issuer
            .for_service(caller, self.audience)
            .map_err(|e| BffError::Internal(format!("cannot sign an upstream token: {e}")))?
        else {
            return Ok(None);
        };
        let header = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| BffError::Internal("a signed token is not a header".into()))?;
        let half_life: Duration = self.issuer.service_token_ttl() / 2;
        self.kept.insert(
            caller.clone(),
            Kept {
                header: header.clone(),
                renew_at: now + half_life,
            },
        );
        Ok(Some(header))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mall_auth::keys::SigningKey;
    use mall_auth::token::TokenSettings;

    fn tokens(ttl: Duration) -> ServiceTokens {
        let settings = TokenSettings {
            service_token_ttl: ttl,
            ..TokenSettings::default()
        };
        let key = SigningKey::generate().expect("a key");
        ServiceTokens::new(TokenIssuer::new(key, settings), "order")
    }

    fn customer(id: &str) -> Caller {
        Caller::Customer { id: id.into() }
    }

    #[test]
    fn a_callers_token_is_reused_while_fresh_and_kept_apart_from_others() {
        let tokens = tokens(Duration::from_secs(60));
        let first = tokens.header_for(&customer("a@x")).expect("signed");
        assert!(first.is_some());
        assert_eq!(tokens.header_for(&customer("a@x")).expect("kept"), first);
        let other = tokens.header_for(&customer("b@x")).expect("signed");
        assert_ne!(other, first);
        let staff = tokens
            .header_for(&Caller::Staff { id: "a@x".into() })
            .expect("signed");
        assert_ne!(staff, first, "other roles, another token");
        assert_eq!(tokens.header_for(&Caller::Anonymous).expect("none"), None);
    }

    #[test]
    fn a_token_past_half_its_lifetime_is_signed_again() {
        let tokens = tokens(Duration::from_secs(2));
        let first = tokens.header_for(&customer("a@x")).expect("signed");
        std::thread::sleep(Duration::from_millis(1100));
        let second = tokens.header_for(&customer("a@x")).expect("signed again");
        assert!(second.is_some());
        assert_ne!(second, first, "a fresh token (its iat and exp moved on)");
    }
}
