//! Accounts and the validated values they are made of. A value that exists has passed its
//! checks: an [`Email`] is trimmed, lower-cased and well-formed; [`Name`] and [`Address`] hold no
//! control, bidi, zero-width or other invisible characters; a [`Password`] is never printed.

use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_general_category::{get_general_category, GeneralCategory};

use crate::policy::{Caller, Role};

/// Why a value was refused. The message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidField {
    #[error("{field} is required")]
    Empty { field: &'static str },
    #[error("{field} is too long: at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} is too short: at least {min} characters")]
    TooShort { field: &'static str, min: usize },
    #[error("{field} contains an invisible or control character (U+{code:04X}); type it again without it")]
    Invisible { field: &'static str, code: u32 },
    #[error("email must look like name@example.org: {reason}")]
    Email { reason: &'static str },
}

/// Characters that render as nothing or reorder text: control, format (bidi marks, zero-width
/// space and joiners, BOM, soft hyphen), line and paragraph separators, private use,
/// surrogates and unassigned code points.
fn invisible(c: char) -> bool {
    use GeneralCategory::*;
    matches!(
        get_general_category(c),
        Control | Format | LineSeparator | ParagraphSeparator | PrivateUse | Surrogate | Unassigned
    )
}

fn visible_text(field: &'static str, raw: &str, max: usize) -> Result<String, InvalidField> {
    if let Some(c) = raw.chars().find(|c| invisible(*c)) {
        return Err(InvalidField::Invisible {
            field,
            code: c as u32,
        });
    }
    let text = raw.trim();
    if text.is_empty() {
        return Err(InvalidField::Empty { field });
    }
    if text.chars().count() > max {
        return Err(InvalidField::TooLong { field, max });
    }
    Ok(text.to_owned())
}

/// An account's email: the customer's id (the course's `customerId`). Compared lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX: usize = 254;

    pub fn parse(raw: &str) -> Result<Email, InvalidField> {
        let text = visible_text("email", raw, Self::MAX)?.to_lowercase();
        if text.chars().any(char::is_whitespace) {
            return Err(InvalidField::Email {
                reason: "it contains a space",
            });
        }
        let Some((local, domain)) = text.split_once('@') else {
            return Err(InvalidField::Email {
                reason: "it has no `@`",
            });
        };
        if local.is_empty() {
            return Err(InvalidField::Email {
                reason: "nothing before the `@`",
            });
        }
        if domain.contains('@') {
            return Err(InvalidField::Email {
                reason: "it has more than one `@`",
            });
        }
        if domain.is_empty()
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(InvalidField::Email {
                reason: "the part after the `@` is not a domain",
            });
        }
        Ok(Email(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name shown in the shop and on deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub const MAX: usize = 100;

    pub fn parse(raw: &str) -> Result<Name, InvalidField> {
        visible_text("name", raw, Self::MAX).map(Name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The delivery address, one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Address(String);

impl Address {
    pub const MAX: usize = 300;

    pub fn parse(raw: &str) -> Result<Address, InvalidField> {
        visible_text("address", raw, Self::MAX).map(Address)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed. Never printed (Debug redacts), never serialized.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    pub const MIN: usize = 8;
    /// Bounds the hashing work one request can ask for.
    pub const MAX: usize = 128;

    /// Checks a new password. Spaces and any printable character are allowed; it is used as typed.
    pub fn new(raw: impl Into<String>) -> Result<Password, InvalidField> {
        let raw = raw.into();
        let field = "password";
        if let Some(c) = raw.chars().find(|c| c.is_control()) {
            return Err(InvalidField::Invisible {
                field,
                code: c as u32,
            });
        }
        let n = raw.chars().count();
        if n < Self::MIN {
            return Err(InvalidField::TooShort {
                field,
                min: Self::MIN,
            });
        }
        if n > Self::MAX {
            return Err(InvalidField::TooLong {
                field,
                max: Self::MAX,
            });
        }
        Ok(Password(raw))
    }

    /// A password given at sign-in: not checked for strength (an old one may predate the
    /// rules), only bounded so that hashing it costs what hashing any password costs.
    pub fn attempt(raw: impl Into<String>) -> Password {
        let mut raw = raw.into();
        let mut end = raw.len().min(4 * Self::MAX);
        while !raw.is_char_boundary(end) {
            end -= 1;
        }
        raw.truncate(end);
        Password(raw)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// An argon2 hash in PHC string form. Debug redacts it too: a hash is an offline-guessing aid.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub(crate) String);

impl PasswordHash {
    pub fn from_stored(phc: String) -> PasswordHash {
        PasswordHash(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub email: Email,
    pub name: Name,
    pub address: Address,
    pub password_hash: PasswordHash,
    /// Sorted, without duplicates; always holds `customer`.
    pub roles: Vec<Role>,
    /// Unix seconds.
    pub created_at: i64,
}

impl Account {
    pub fn caller(&self) -> Caller {
        Caller::from_roles(self.email.as_str(), &self.roles)
    }

    pub fn profile(&self) -> Profile {
        Profile {
            customer_id: self.email.as_str().to_owned(),
            name: self.name.as_str().to_owned(),
            address: self.address.as_str().to_owned(),
            roles: self.roles.clone(),
        }
    }
}

/// What `GET /auth/me` answers: an account without its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub customer_id: String,
    pub name: String,
    pub address: String,
    pub roles: Vec<Role>,
}

/// Sorted roles without duplicates, `customer` always among them.
pub fn normalize_roles(roles: impl IntoIterator<Item = Role>) -> Vec<Role> {
    let mut roles: Vec<Role> = roles.into_iter().chain([Role::Customer]).collect();
    roles.sort();
    roles.dedup();
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(
            Email::parse("  1@UEngine.org ").map(|e| e.0),
            Ok("1@uengine.org".into())
        );
        for bad in [
            "",
            "   ",
            "no-at",
            "@x.org",
            "a@",
            "a@b@c",
            "a b@c.org",
            "a@.org",
            "a@x..org",
            "a\u{200b}@x.org",
            "a@x.org\u{202e}",
            "a\n@x.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@x.org", "a".repeat(260));
        assert!(matches!(
            Email::parse(&long),
            Err(InvalidField::TooLong { .. })
        ));
    }

    #[test]
    fn names_and_addresses_refuse_invisible_characters() {
        assert_eq!(Name::parse(" Jay ").map(|n| n.0), Ok("Jay".into()));
        assert_eq!(
            Address::parse("Seoul, 서울").map(|a| a.0),
            Ok("Seoul, 서울".into())
        );
        for (bad, code) in [
            ("Ja\u{202e}y", 0x202e),
            ("Ja\u{200d}y", 0x200d),
            ("Ja\u{feff}y", 0xfeff),
            ("Ja\u{2066}y", 0x2066),
            ("Ja\u{0007}y", 0x7),
            ("Ja\ny", 0xa),
        ] {
            let err = Name::parse(bad).expect_err("refused");
            assert_eq!(
                err,
                InvalidField::Invisible {
                    field: "name",
                    code
                }
            );
            assert!(err.to_string().contains(&format!("U+{code:04X}")), "{err}");
        }
        assert!(Address::parse(&"x".repeat(301)).is_err());
        assert!(Name::parse("").is_err());
    }

    #[test]
    fn passwords_never_show() {
        let p = Password::new("correct horse battery").expect("valid");
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        let h = PasswordHash("$argon2id$v=19$...".into());
        assert!(!format!("{h:?}").contains("argon2"));
        assert!(matches!(
            Password::new("short"),
            Err(InvalidField::TooShort { min: 8, .. })
        ));
        assert!(Password::new("x".repeat(129)).is_err());
        assert_eq!(Password::attempt("é".repeat(600)).expose().len(), 512);
    }

    #[test]
    fn roles_always_include_customer() {
        assert_eq!(normalize_roles([]), vec![Role::Customer]);
        assert_eq!(
            normalize_roles([Role::Staff, Role::Customer, Role::Staff]),
            vec![Role::Customer, Role::Staff]
        );
    }
}
