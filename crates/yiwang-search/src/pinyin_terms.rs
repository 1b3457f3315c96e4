//! Pinyin for search (拼音、首字母检索): people type `yyzz` or `yingyezhizhao` for
//! 营业执照 on a phone keyboard. A name becomes its toneless pinyin and its initials; a
//! query of Latin letters is looked up as a prefix of either.

use pinyin::ToPinyin;

/// The whole toneless pinyin and the initials of `text`'s Chinese characters (other
/// characters dropped), both lowercase; None when it has no Chinese character.
pub(crate) fn of(text: &str) -> Option<(String, String)> {
    let mut whole = String::new();
    let mut initials = String::new();
    for p in text.to_pinyin().flatten() {
        whole.push_str(p.plain());
        initials.push_str(p.first_letter());
    }
    (!whole.is_empty()).then_some((whole, initials))
}

/// A query that is pinyin: 2–40 Latin letters (spaces between syllables allowed),
/// lowercased without the spaces.
pub(crate) fn query(text: &str) -> Option<String> {
    let t: String = text.split_whitespace().collect::<String>().to_lowercase();
    (2..=40)
        .contains(&t.len())
        .then_some(())
        .filter(|_| t.chars().all(|c| c.is_ascii_lowercase()))?;
    Some(t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_become_pinyin_and_initials() {
        assert_eq!(
            super::of("营业执照"),
            Some(("yingyezhizhao".to_string(), "yyzz".to_string()))
        );
        assert_eq!(super::of("ABC"), None);
        assert_eq!(super::query("Ying Ye"), Some("yingye".to_string()));
        assert_eq!(super::query("营业"), None);
        assert_eq!(super::query("y"), None);
    }
}
