//! The errors of the domain commands, free of HTTP (the REST layer maps them to problems).

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The command's input is invalid; the message says what to fix.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// The command does not fit the aggregate's current state.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DomainError> for crate::problem::AppError {
    fn from(e: DomainError) -> Self {
        use crate::problem::AppError;
        match e {
            DomainError::Invalid(m) => AppError::BadRequest(m),
            DomainError::NotFound(m) => AppError::NotFound(m),
            DomainError::Conflict(m) => AppError::Conflict(m),
            DomainError::Store(e) => AppError::from(e),
        }
    }
}

/// Checks a required text field: present, not blank, at most `max` characters.
pub fn require_text(field: &str, value: &str, max: usize) -> Result<(), DomainError> {
    if value.trim().is_empty() {
        return Err(DomainError::Invalid(format!("`{field}` must not be empty")));
    }
    if value.chars().count() > max {
        return Err(DomainError::Invalid(format!(
            "`{field}` must be at most {max} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(DomainError::Invalid(format!(
            "`{field}` must not contain control characters"
        )));
    }
    if let Some(c) = value.chars().find(|c| is_invisible(*c)) {
        return Err(DomainError::Invalid(format!(
            "`{field}` must not contain invisible formatting characters (found U+{:04X}: \
             bidirectional overrides and zero-width characters can make text read \
             differently from what it is)",
            c as u32
        )));
    }
    Ok(())
}

/// Characters that change how text is displayed without being seen: the bidirectional
/// embeddings, overrides, isolates and marks, and the zero-width characters (including the
/// byte-order mark). Like control characters, they have no place in a name or an address
/// and are used to disguise one text as another.
const INVISIBLE: &[(char, char)] = &[
    ('\u{061C}', '\u{061C}'), // Arabic letter mark
    ('\u{200B}', '\u{200F}'), // zero-width space, non-joiner, joiner; LRM, RLM
    ('\u{202A}', '\u{202E}'), // bidi embeddings and overrides
    ('\u{2060}', '\u{2064}'), // word joiner and invisible operators
    ('\u{2066}', '\u{2069}'), // bidi isolates
    ('\u{FEFF}', '\u{FEFF}'), // zero-width no-break space (byte-order mark)
];

pub fn is_invisible(c: char) -> bool {
    INVISIBLE.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c))
}

/// The JSON Schema of a text field checked by [`require_text`]: 1 to `max` characters, not
/// blank, no control or invisible formatting characters.
pub fn text_schema(max: usize) -> utoipa::openapi::schema::ObjectBuilder {
    let mut refused = String::from("\u{0}-\u{1F}\u{7F}-\u{9F}");
    for (lo, hi) in INVISIBLE {
        refused.push(*lo);
        if lo != hi {
            refused.push('-');
            refused.push(*hi);
        }
    }
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(format!("^[^{refused}]*[^{refused}\\s][^{refused}]*$")))
}

/// `schema_with` helpers for the text fields of request bodies.
pub fn text_200() -> utoipa::openapi::schema::ObjectBuilder {
    text_schema(200)
}

pub fn text_500() -> utoipa::openapi::schema::ObjectBuilder {
    text_schema(500)
}
