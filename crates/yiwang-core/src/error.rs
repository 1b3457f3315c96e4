//! Errors that name the field and the rule, in Chinese and English (DESIGN principle 7).

use serde::Serialize;

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field as the caller named it (JSON path, e.g. `uscc` or `days[3].date`).
    pub field: String,
    /// A stable machine-readable rule name, e.g. `uscc.check_digit`.
    pub rule: String,
    /// Message in Simplified Chinese.
    pub zh: String,
    /// Message in English.
    pub en: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        rule: impl Into<String>,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// The same error, reported against another field name.
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input breaks a rule (HTTP 422).
    Invalid,
    /// Something named by the input does not exist (HTTP 404).
    NotFound,
    /// The input contradicts existing state, e.g. a duplicate code (HTTP 409).
    Conflict,
    /// The caller may not do this to this object, e.g. grant itself a role (HTTP 403).
    Forbidden,
}

/// A command refused by the domain: nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {}", .errors.iter().map(|e| format!("{} ({}): {}", e.field, e.rule, e.en)).collect::<Vec<_>>().join("; "))]
pub struct DomainError {
    pub kind: ErrorKind,
    pub errors: Vec<FieldError>,
}

impl DomainError {
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        Self {
            kind: ErrorKind::Invalid,
            errors,
        }
    }
    pub fn one(kind: ErrorKind, error: FieldError) -> Self {
        Self {
            kind,
            errors: vec![error],
        }
    }
    pub fn not_found(field: &str, what_zh: &str, what_en: &str, id: &str) -> Self {
        Self::one(
            ErrorKind::NotFound,
            FieldError::new(
                field,
                "exists",
                format!("{what_zh}「{id}」不存在"),
                format!("{what_en} '{id}' does not exist"),
            ),
        )
    }
    pub fn forbidden(error: FieldError) -> Self {
        Self::one(ErrorKind::Forbidden, error)
    }
    pub fn forbidden_many(errors: Vec<FieldError>) -> Self {
        Self {
            kind: ErrorKind::Forbidden,
            errors,
        }
    }
    pub fn conflict(field: &str, rule: &str, zh: String, en: String) -> Self {
        Self::one(ErrorKind::Conflict, FieldError::new(field, rule, zh, en))
    }
}

/// Collects field errors and turns them into one `DomainError::invalid` at the end, so a
/// caller is told every problem at once (一次性告知) rather than one per attempt.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<FieldError>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    pub fn check(&mut self, r: Result<(), FieldError>) {
        if let Err(e) = r {
            self.0.push(e);
        }
    }
    /// A required, trimmed, length-bounded text field.
    pub fn text(&mut self, field: &str, value: &str, max_chars: usize) {
        let n = value.trim().chars().count();
        if n == 0 {
            self.push(FieldError::new(field, "required", "不能为空", "must not be empty"));
        } else if n > max_chars {
            self.push(FieldError::new(
                field,
                "max_length",
                format!("长度不能超过 {max_chars} 个字符"),
                format!("must be at most {max_chars} characters"),
            ));
        }
    }
    /// An optional text field: only its length is bounded.
    pub fn opt_text(&mut self, field: &str, value: Option<&str>, max_chars: usize) {
        if let Some(v) = value
            && v.chars().count() > max_chars
        {
            self.push(FieldError::new(
                field,
                "max_length",
                format!("长度不能超过 {max_chars} 个字符"),
                format!("must be at most {max_chars} characters"),
            ));
        }
    }
    pub fn finish(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::invalid(self.0))
        }
    }
}
