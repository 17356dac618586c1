//! The one error type of the domain: what went wrong, and on which input field.

/// A rejected input, naming the field the caller should fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// Not there, or not visible to the caller: the two are deliberately the same answer.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    /// The request is valid but clashes with the current state (a taken task, say).
    #[error("{0}")]
    Conflict(String),
}
