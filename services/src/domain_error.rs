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
    Ok(())
}
