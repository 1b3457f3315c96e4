//! The text of a rule: positions in characters, the scan of its brackets outside string
//! literals (before it is parsed, and to find where a condition ends), and the parser's
//! errors as `RuleError`s.

use super::RuleError;
use cel::parser::{ParseError, ParseErrors};

/// A problem at a byte offset of the source.
pub(super) fn error_at(source: &str, byte: usize, rule: &'static str, zh: String, en: String) -> RuleError {
    let (line, column) = position(source, byte);
    RuleError {
        line,
        column,
        rule,
        zh,
        en,
    }
}

/// The 1-based line and column, in characters, of a byte offset. The parser's node
/// offsets are byte offsets (its input stream steps through UTF-8 by char boundaries).
pub(super) fn position(source: &str, byte: usize) -> (u32, u32) {
    let mut byte = byte.min(source.len());
    while !source.is_char_boundary(byte) {
        byte -= 1;
    }
    let before = &source[..byte];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line as u32, column as u32)
}

/// The parser's errors. Their positions are the parser's own (line, and column in
/// characters). Passing the parser's recursion cap is one error, not its cascade.
pub(super) fn syntax_errors(source: &str, errs: ParseErrors) -> Vec<RuleError> {
    let place = |e: &ParseError| match e.pos {
        (l, c) if l >= 1 && c >= 1 => (l as u32, c as u32),
        _ => (1, 1),
    };
    let deep = errs.errors.iter().find_map(|e| match recursion_limit(e) {
        Some(byte) => Some(position(source, byte)),
        None => e.msg.contains("Recursion limit").then(|| place(e)),
    });
    if let Some((line, column)) = deep {
        return vec![RuleError {
            line,
            column,
            rule: "rule.too_deep",
            zh: "表达式嵌套过深".into(),
            en: "the expression nests too deep".into(),
        }];
    }
    let mut out: Vec<RuleError> = vec![];
    for e in &errs.errors {
        let (line, column) = place(e);
        let msg = e.msg.strip_prefix("Syntax error: ").unwrap_or(&e.msg);
        let err = RuleError {
            line,
            column,
            rule: "rule.syntax",
            zh: format!("语法错误：{msg}"),
            en: format!("syntax error: {msg}"),
        };
        if !out.contains(&err) {
            out.push(err);
        }
        if out.len() == 5 {
            break;
        }
    }
    if out.is_empty() {
        out.push(error_at(
            source,
            0,
            "rule.syntax",
            "语法错误".into(),
            "syntax error".into(),
        ));
    }
    out
}

/// The byte offset of a recursion-limit error, found in the error's chain of sources.
fn recursion_limit(e: &ParseError) -> Option<usize> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = match &e.source {
        Some(s) => Some(s.as_ref()),
        None => None,
    };
    while let Some(s) = next {
        if let Some(pe) = s.downcast_ref::<ParseError>()
            && pe.msg.starts_with("Recursion limit")
        {
            return Some(pe.pos.0.max(0) as usize);
        }
        next = s.source();
    }
    None
}

/// Skips a string literal starting at `start` (a quote); returns the offset after it.
/// Raw strings (`r'…'`) have no escapes; triple-quoted ones may span lines.
fn skip_string(b: &[u8], start: usize) -> usize {
    let q = b[start];
    let raw = start > 0
        && matches!(b[start - 1], b'r' | b'R')
        && (start < 2 || !(b[start - 2].is_ascii_alphanumeric() || b[start - 2] == b'_'));
    let triple = b.len() >= start + 3 && b[start + 1] == q && b[start + 2] == q;
    let mut i = start + if triple { 3 } else { 1 };
    while i < b.len() {
        if !raw && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if triple {
            if b[i..].starts_with(&[q, q, q]) {
                return i + 3;
            }
        } else if b[i] == q {
            return i + 1;
        } else if b[i] == b'\n' {
            return i;
        }
        i += 1;
    }
    b.len()
}

/// The byte offset of the first bracket nested deeper than `max`, outside string
/// literals. (Bytes of multi-byte characters are never ASCII, so bytes suffice.)
pub(super) fn too_deep_bracket(source: &str, max: usize) -> Option<usize> {
    let b = source.as_bytes();
    let (mut depth, mut i) = (0usize, 0);
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' => {
                i = skip_string(b, i);
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Extends `[start, end)` to the right over the closing brackets it leaves open (a node
/// ends at its last token, a call's `)` is no node).
pub(super) fn balance_end(source: &str, start: usize, end: usize) -> usize {
    let b = source.as_bytes();
    let (mut depth, mut i) = (0usize, start);
    while i < b.len() {
        if i >= end && depth == 0 {
            return i;
        }
        match b[i] {
            b'\'' | b'"' => {
                i = skip_string(b, i);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// The edit distance of two short names (for “did you mean”).
pub(super) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j])).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
