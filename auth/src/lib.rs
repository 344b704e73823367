//! The 12st mall's identity core: who is calling and what they may do.
//!
//! - [`policy`]: roles, the caller and the one rule set of the shop (pure, no I/O).
//! - [`account`]: accounts and their validated fields; passwords that never print.
//! - [`password`]: argon2id hashing.
//! - [`session`]: server-side sessions (random ids, stored hashed).
//! - [`store`]: the identity store port with SQLite and PostgreSQL adapters.
//! - [`identity`]: sign-up, sign-in, sign-out, sessions, the first staff account (async).
//! - [`keys`]: the BFF's Ed25519 signing key, kept in the store, and its JWKS.
//! - [`token`]: signing service tokens and checking any bearer JWT.
//! - [`verifier`]: checking bearer tokens against an issuer's JWKS URL, cached.
//! - [`oidc`]: an external OpenID issuer: settings and a verifier for its bearer tokens.
//! - [`settings`]: the `[auth]` settings tree, composed of the parts above.
//! - [`http`]: the `/auth` routes, the caller extractor and middleware, the CSRF rule.
pub mod account;
pub mod http;
pub mod identity;
pub mod keys;
pub mod oidc;
pub mod password;
pub mod policy;
pub mod session;
pub mod settings;
pub mod store;
pub mod token;
pub mod verifier;
