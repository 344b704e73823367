//! Server-side sessions. The browser holds a random id (256 bits); the store keeps only its
//! SHA-256, so a copy of the database does not hand out live sessions.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::account::Email;

/// How long sessions live.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// From sign-in to the end of the session, whatever happens in between.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
}

pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            ttl: DEFAULT_SESSION_TTL,
        }
    }
}

/// 32 random bytes from the OS generator, base64url without padding.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The secret the cookie carries. Debug shows a short prefix only.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    pub fn generate() -> SessionId {
        SessionId(random_token())
    }

    /// Whatever a cookie said; it is looked up by its hash, never trusted as is.
    pub fn from_cookie(value: &str) -> SessionId {
        SessionId(value.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the store keeps and looks up: hex SHA-256 of the id.
    pub fn key(&self) -> SessionKey {
        SessionKey(
            Sha256::digest(self.0.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        )
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

/// A session's name in the store (the hash of its id). Safe to log and to hand to the BFF's
/// subscription registry, which closes a session's sockets when it ends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey(pub String);

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub key: SessionKey,
    pub email: Email,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; the session is over at this second.
    pub expires_at: i64,
    /// Unix seconds, when it was ended (sign-out, revoke-all).
    pub revoked_at: Option<i64>,
}

impl Session {
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_stored_hashed() {
        let a = SessionId::generate();
        let b = SessionId::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert_eq!(a.key(), SessionId::from_cookie(a.expose()).key());
        assert_eq!(a.key().0.len(), 64);
        assert!(!a.key().0.contains(a.expose()));
        assert_eq!(format!("{a:?}"), "SessionId(<redacted>)");
    }

    #[test]
    fn a_session_lives_until_expiry_or_revocation() {
        let email = Email::parse("1@uengine.org").expect("email");
        let mut s = Session {
            key: SessionId::generate().key(),
            email,
            created_at: 100,
            expires_at: 200,
            revoked_at: None,
        };
        assert!(s.is_live(199));
        assert!(!s.is_live(200));
        s.revoked_at = Some(150);
        assert!(!s.is_live(160));
    }
}
