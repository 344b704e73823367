//! Password hashing with argon2id. Hashing is CPU work: callers run it on a blocking thread.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash as Phc, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::Deserialize;

use crate::account::{Password, PasswordHash};

/// The cost of hashing one password. The defaults are OWASP's argon2id minimum
/// (19 MiB, 2 passes, 1 lane). A stored hash keeps the parameters it was made with, so
/// changing them affects new passwords only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordSettings {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for PasswordSettings {
    fn default() -> Self {
        PasswordSettings {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("the password hashing settings are not valid: {0}")]
    Settings(String),
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// Hashes and checks passwords with one set of parameters.
#[derive(Debug, Clone)]
pub struct Hasher {
    params: Params,
    /// The hash compared against when an email is unknown, so that a sign-in with an unknown
    /// email costs what a wrong password costs.
    dummy: std::sync::Arc<OnceLock<PasswordHash>>,
}

impl Hasher {
    pub fn new(settings: &PasswordSettings) -> Result<Hasher, HashError> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| HashError::Settings(e.to_string()))?;
        Ok(Hasher {
            params,
            dummy: Default::default(),
        })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    pub fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        let phc = self
            .argon2()
            .hash_password(password.expose().as_bytes(), &salt)
            .map_err(|e| HashError::Hash(e.to_string()))?;
        Ok(PasswordHash(phc.to_string()))
    }

    /// Whether `password` matches `hash`. A stored hash that cannot be read never matches.
    pub fn verify(&self, password: &Password, hash: &PasswordHash) -> bool {
        if !hash.as_str().starts_with('$') {
            // An account without a password (made from an external identity).
            self.verify_dummy(password);
            return false;
        }
        match Phc::new(hash.as_str()) {
            Ok(phc) => self
                .argon2()
                .verify_password(password.expose().as_bytes(), &phc)
                .is_ok(),
            Err(e) => {
                tracing::error!(error = %e, "a stored password hash cannot be read");
                false
            }
        }
    }

    /// Spends the time a real check would, for an email that has no account.
    pub fn verify_dummy(&self, password: &Password) {
        let dummy = self.dummy.get_or_init(|| {
            let random = Password::attempt(crate::session::random_token());
            self.hash(&random)
                .unwrap_or_else(|_| PasswordHash(String::new()))
        });
        if dummy.as_str().starts_with('$') {
            let _ = self.verify(password, dummy);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Hasher {
        Hasher::new(&PasswordSettings {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .expect("settings")
    }

    #[test]
    fn a_hash_matches_its_password_only() {
        let h = cheap();
        let p = Password::new("correct horse").expect("valid");
        let hash = h.hash(&p).expect("hash");
        assert!(hash.as_str().starts_with("$argon2id$"));
        assert!(!hash.as_str().contains("correct"));
        assert!(h.verify(&p, &hash));
        assert!(!h.verify(&Password::attempt("correct horsE"), &hash));
        assert!(!h.verify(&p, &PasswordHash("not a hash".into())));
        // Two hashes of one password differ (salted).
        assert_ne!(h.hash(&p).expect("hash"), hash);
    }

    #[test]
    fn bad_settings_are_refused_with_the_reason() {
        let err = Hasher::new(&PasswordSettings {
            memory_kib: 1,
            iterations: 0,
            parallelism: 1,
        })
        .expect_err("refused");
        assert!(err.to_string().contains("settings"), "{err}");
    }
}
