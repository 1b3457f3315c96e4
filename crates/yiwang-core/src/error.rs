//! Errors that name the field and the rule, in Chinese and English (DESIGN principle 7).

use serde::{Deserialize, Serialize};

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// A serde message as a problem a person can read: the rule, and the sentence in Chinese
/// and English. serde's own words (Rust type names) are not passed on; the value given and
/// the values allowed are, and a syntax error keeps its position.
pub fn serde_problem(msg: &str) -> (&'static str, String, String) {
    let ticks: Vec<&str> = msg.split('`').skip(1).step_by(2).collect();
    // "… at line 1 column 372": where a syntax error is.
    let at = msg.rsplit_once(" at line ").and_then(|(_, rest)| {
        let (line, col) = rest.split_once(" column ")?;
        Some((line.trim().parse::<u64>().ok()?, col.trim().parse::<u64>().ok()?))
    });
    let first = ticks.first().copied().unwrap_or("");
    if msg.starts_with("unknown field") {
        (
            "unknown_field",
            format!("不认识的字段「{first}」"),
            format!("unknown field '{first}'"),
        )
    } else if msg.starts_with("missing field") {
        ("required", "缺少必填字段".into(), "this field is required".into())
    } else if msg.starts_with("unknown variant") {
        let allowed = &ticks[1.min(ticks.len())..];
        (
            "type",
            format!("「{first}」不是可选的值；可选：{}", allowed.join("、")),
            format!("'{first}' is not one of the allowed values: {}", allowed.join(", ")),
        )
    } else if msg.starts_with("invalid type") || msg.starts_with("invalid value") || msg.starts_with("invalid length") {
        (
            "type",
            "类型或取值不正确".into(),
            "the type or value is not allowed here".into(),
        )
    } else if let Some((line, col)) = at {
        (
            "json",
            format!("JSON 格式不正确（第 {line} 行第 {col} 列）"),
            format!("not valid JSON (line {line}, column {col})"),
        )
    } else {
        ("json", "格式不正确".into(), "not in the expected format".into())
    }
}

#[cfg(test)]
mod serde_problem_tests {
    use super::serde_problem;

    #[test]
    fn no_rust_words_reach_the_reader() {
        let cases = [
            "invalid type: string \"x\", expected u32 at line 1 column 9",
            "unknown variant `zz`, expected one of `a`, `b`",
            "unknown field `zz`, expected `name`",
            "missing field `name`",
            "expected value at line 1 column 372",
            "invalid length 3, expected a tuple of size 2",
        ];
        for m in cases {
            let (_, zh, en) = serde_problem(m);
            for w in ["expected", "u32", "string \"", "tuple"] {
                assert!(!zh.contains(w) && !en.contains(w), "{m} -> {zh} / {en}");
            }
        }
        assert_eq!(serde_problem(cases[1]).1, "「zz」不是可选的值；可选：a、b");
        assert_eq!(serde_problem(cases[4]).2, "not valid JSON (line 1, column 372)");
    }
}
