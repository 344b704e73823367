//! Signed-in callers for the scenarios: bearer tokens minted with the signing key of the
//! `mall` process under test, as `mall token --account EMAIL` mints them (DESIGN.md section 8).
//!
//! The key lives in the process's identity store (`identity.db` in its data directory); the
//! bench opens that store after the process has started and signs with the same key and
//! issuer (the BFF's URL). The BFF checks only the signature, issuer, audience and expiry of a
//! bearer token, so 10,000 customers need 10,000 signatures (milliseconds each), not 10,000
//! sign-ups (a password hash each).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result};
use mall_auth::http::BFF_AUDIENCE;
use mall_auth::keys::SigningKey;
use mall_auth::policy::Role;
use mall_auth::store::StoreLocation;
use mall_auth::token::{TokenIssuer, TokenSettings};

/// How long the bench's tokens live: longer than any scenario.
const TTL: Duration = Duration::from_secs(3 * 3600);

/// Mints bearer tokens for the BFF of one `mall` process.
#[derive(Clone)]
pub struct Tokens {
    issuer: TokenIssuer,
}

impl Tokens {
    /// The signer of the `mall` process whose data directory is `data_dir` and whose BFF is
    /// at `bff_url` (the tokens' issuer when no public URL is configured).
    pub fn open(data_dir: &Path, bff_url: &str) -> Result<Tokens> {
        let store = StoreLocation::Embedded(data_dir.to_owned())
            .open()
            .with_context(|| format!("cannot open the identity store in {}", data_dir.display()))?;
        let key = SigningKey::load_or_create(store.as_ref())
            .context("cannot read the mall's signing key")?;
        let settings = TokenSettings {
            issuer: bff_url.trim_end_matches('/').to_owned(),
            ..TokenSettings::default()
        };
        Ok(Tokens {
            issuer: TokenIssuer::new(key, settings),
        })
    }

    /// A bearer token of the customer `email` (their customer id) for the GraphQL API.
    pub fn customer(&self, email: &str) -> Result<String> {
        self.sign(email, vec![Role::Customer])
    }

    /// A bearer token of a staff member (who may list every order).
    pub fn staff(&self) -> Result<String> {
        self.sign(STAFF, vec![Role::Customer, Role::Staff])
    }

    fn sign(&self, subject: &str, roles: Vec<Role>) -> Result<String> {
        self.issuer
            .sign(subject, roles, BFF_AUDIENCE, TTL)
            .with_context(|| format!("cannot sign a token for {subject}"))
    }
}

/// The staff member the bench acts as where a query needs staff (every order).
pub const STAFF: &str = "staff@bench.12st.example";
