//! Highlighted snippets of matching text.

/// The text (cut to a window of `max_chars` around the first match) with every
/// occurrence of the terms in `<b>`, HTML-escaped; None when no term occurs. Terms of
/// two or more characters are preferred; single characters only when nothing longer
/// matches. (tantivy's snippet generator assumes tokens in offset order, which jieba's
/// search mode does not keep.)
pub fn highlight(text: &str, terms: &[&str], max_chars: usize) -> Option<String> {
    let find = |long: bool| -> Vec<(usize, usize)> {
        let mut r = vec![];
        for t in terms
            .iter()
            .filter(|t| (t.chars().count() > 1) == long && !t.is_empty())
        {
            let mut from = 0;
            while let Some(i) = text[from..].find(*t) {
                r.push((from + i, from + i + t.len()));
                from += i + t.len();
            }
        }
        r
    };
    let mut ranges = find(true);
    if ranges.is_empty() {
        ranges = find(false);
    }
    if ranges.is_empty() {
        return None;
    }
    ranges.sort();
    let mut merged: Vec<(usize, usize)> = vec![];
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    // A window of at most `max_chars` characters, starting a little before the first match.
    let first = merged[0].0;
    let lead = text[..first].chars().rev().take(10).map(char::len_utf8).sum::<usize>();
    let start = first - lead;
    let end = text[start..]
        .char_indices()
        .nth(max_chars)
        .map(|(i, _)| start + i)
        .unwrap_or(text.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut pos = start;
    for (a, b) in merged.into_iter().filter(|(a, _)| *a < end) {
        let b = b.min(end);
        out.push_str(&html_escape(&text[pos.max(start)..a.max(pos)]));
        if b > a.max(pos) {
            out.push_str("<b>");
            out.push_str(&html_escape(&text[a.max(pos)..b]));
            out.push_str("</b>");
        }
        pos = b.max(pos);
    }
    out.push_str(&html_escape(&text[pos..end]));
    if end < text.len() {
        out.push('…');
    }
    Some(out)
}

pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
