//! The session cookie: `mall_session`, HttpOnly, SameSite=Lax, Path=/, Secure when the shop is
//! served over https.

use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};
use serde::Deserialize;

use crate::session::{Session, SessionId};

pub const COOKIE_NAME: &str = "mall_session";

/// How the session cookie is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CookieSettings {
    /// Mark the cookie `Secure` (sent over https only). Set it whenever the shop is served
    /// over https; [`CookieSettings::for_public_url`] derives it from the shop's URL.
    pub secure: bool,
}

impl CookieSettings {
    pub fn for_public_url(url: &str) -> CookieSettings {
        CookieSettings {
            secure: url.starts_with("https://"),
        }
    }

    fn base(&self, value: String) -> cookie::CookieBuilder<'static> {
        Cookie::build((COOKIE_NAME, value))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .secure(self.secure)
    }

    /// `Set-Cookie` for a session just opened; it expires with the session.
    pub fn set(&self, id: &SessionId, session: &Session) -> HeaderValue {
        let max_age = (session.expires_at - session.created_at).max(0);
        let c = self
            .base(id.expose().to_owned())
            .max_age(cookie::time::Duration::seconds(max_age))
            .build();
        header_value(&c)
    }

    /// `Set-Cookie` that removes the cookie.
    pub fn clear(&self) -> HeaderValue {
        let c = self
            .base(String::new())
            .max_age(cookie::time::Duration::ZERO)
            .build();
        header_value(&c)
    }
}

fn header_value(c: &Cookie<'_>) -> HeaderValue {
    // The value is base64url and the attributes are fixed: always a valid header.
    HeaderValue::from_str(&c.to_string()).expect("a cookie of base64url and fixed attributes")
}

/// The session id a request's `Cookie` headers carry, if any.
pub fn session_id(headers: &HeaderMap) -> Option<SessionId> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE_NAME && !c.value().is_empty())
        .map(|c| SessionId::from_cookie(c.value()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Email;

    #[test]
    fn the_cookie_has_the_attributes_of_design_section_8() {
        let id = SessionId::generate();
        let session = Session {
            key: id.key(),
            email: Email::parse("1@uengine.org").expect("email"),
            created_at: 0,
            expires_at: 3600,
            revoked_at: None,
        };
        let plain = CookieSettings::for_public_url("http://127.0.0.1:8088");
        let v = plain.set(&id, &session);
        let v = v.to_str().expect("ascii");
        assert!(
            v.starts_with(&format!("mall_session={}", id.expose())),
            "{v}"
        );
        for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=3600"] {
            assert!(v.contains(attr), "{attr} in {v}");
        }
        assert!(!v.contains("Secure"), "{v}");
        let tls = CookieSettings::for_public_url("https://shop.example");
        assert!(tls
            .set(&id, &session)
            .to_str()
            .expect("ascii")
            .contains("Secure"));
        assert!(plain.clear().to_str().expect("ascii").contains("Max-Age=0"));
    }

    #[test]
    fn the_session_id_is_found_among_other_cookies() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; mall_session=abc; b=2"),
        );
        assert_eq!(session_id(&h), Some(SessionId::from_cookie("abc")));
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("mall_session=; x=1"),
        );
        assert_eq!(session_id(&h), None);
    }
}
