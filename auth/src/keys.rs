//! The BFF's signing key (Ed25519, JWT `EdDSA`): generated on first start, kept in the
//! identity store so every replica and every restart signs with the same key, and published
//! as a JWKS document.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::SigningKey as Ed25519;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
};
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{IdentityStore, StoreError};

/// The store's name for the key.
const KEY_NAME: &str = "signing_key";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored signing key cannot be read: {0}")]
    Unreadable(String),
}

/// How the key is stored: the private key as PKCS#8 DER, base64.
#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    pkcs8: String,
}

/// The private signing key and its public half.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    public: [u8; 32],
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh random key.
    pub fn generate() -> Result<SigningKey, KeyError> {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let key = Ed25519::from_bytes(&seed);
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(key.verifying_key().as_bytes())[..12]);
        let der = key
            .to_pkcs8_der()
            .map_err(|e| KeyError::Unreadable(e.to_string()))?;
        Self::from_stored(StoredKey {
            kid,
            pkcs8: STANDARD.encode(der.as_bytes()),
        })
    }

    fn from_stored(stored: StoredKey) -> Result<SigningKey, KeyError> {
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        let der = STANDARD
            .decode(&stored.pkcs8)
            .map_err(|e| KeyError::Unreadable(e.to_string()))?;
        let key = Ed25519::from_pkcs8_der(&der).map_err(|e| KeyError::Unreadable(e.to_string()))?;
        Ok(SigningKey {
            kid: stored.kid,
            encoding: EncodingKey::from_ed_der(&der),
            public: key.verifying_key().to_bytes(),
        })
    }

    fn to_stored(&self) -> Result<String, KeyError> {
        // The DER is what the encoding key was made from.
        let stored = StoredKey {
            kid: self.kid.clone(),
            pkcs8: STANDARD.encode(self.encoding.as_bytes()),
        };
        serde_json::to_string(&stored).map_err(|e| KeyError::Unreadable(e.to_string()))
    }

    /// The store's key, created there if it has none (blocking). Replicas starting at once
    /// agree on the first one written.
    pub fn load_or_create(store: &dyn IdentityStore) -> Result<SigningKey, KeyError> {
        let candidate = Self::generate()?;
        let stored = store.put_value_once(KEY_NAME, &candidate.to_stored()?)?;
        let stored: StoredKey =
            serde_json::from_str(&stored).map_err(|e| KeyError::Unreadable(e.to_string()))?;
        Self::from_stored(stored)
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs any claims (EdDSA, with this key's `kid`).
    pub fn sign_json(
        &self,
        claims: &impl Serialize,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }

    pub fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_ed_der(&self.public)
    }

    /// The public key as a JWK (`OKP`, `Ed25519`).
    pub fn jwk(&self) -> Jwk {
        Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::EdDSA),
                key_id: Some(self.kid.clone()),
                ..Default::default()
            },
            algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: URL_SAFE_NO_PAD.encode(self.public),
            }),
        }
    }

    /// What `GET /auth/jwks.json` serves.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: vec![self.jwk()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    #[test]
    fn the_key_is_made_once_and_kept() {
        let store = SqliteStore::in_memory().expect("store");
        let a = SigningKey::load_or_create(&store).expect("key");
        let b = SigningKey::load_or_create(&store).expect("key");
        assert_eq!(a.kid(), b.kid());
        assert_eq!(a.public, b.public);
        assert_ne!(SigningKey::generate().expect("key").public, a.public);
        assert!(!format!("{a:?}").contains("encoding"));
    }

    #[test]
    fn the_jwks_holds_the_public_key_only() {
        let key = SigningKey::generate().expect("key");
        let json = serde_json::to_value(key.jwks()).expect("json");
        let jwk = &json["keys"][0];
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(jwk["alg"], "EdDSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kid"], key.kid());
        assert!(jwk.get("d").is_none(), "no private part: {jwk}");
    }
}
