//! The synonym list: groups of terms citizens and officials use for the same thing
//! (社保卡 ↔ 社会保障卡, 开饭店 ↔ 餐饮). A query containing one term of a group is also
//! searched with the others. The default list ships in `data/synonyms.txt`; a province
//! adds its own lines in `DATA_DIR/synonyms.txt`.

/// Groups of equivalent terms.
#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    groups: Vec<Vec<String>>,
}

impl Synonyms {
    /// One group per line, terms separated by commas (`,` or `，`); `#` starts a comment.
    pub fn parse(text: &str) -> Synonyms {
        let groups = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .map(|l| {
                l.split([',', '，'])
                    .map(|t| t.trim().to_lowercase())
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
            })
            .filter(|g| g.len() >= 2)
            .collect();
        Synonyms { groups }
    }

    /// The list shipped with yiwang.
    pub fn builtin() -> Synonyms {
        Synonyms::parse(include_str!("../data/synonyms.txt"))
    }

    /// This list and another's groups.
    pub fn with(mut self, more: Synonyms) -> Synonyms {
        self.groups.extend(more.groups);
        self
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The other terms of every group with a term occurring in `text`.
    pub fn expand(&self, text: &str) -> Vec<String> {
        let t = text.to_lowercase();
        let mut out: Vec<String> = vec![];
        for g in &self.groups {
            if g.iter().any(|term| t.contains(term.as_str())) {
                for term in g {
                    if !t.contains(term.as_str()) && !out.contains(term) {
                        out.push(term.clone());
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_expand_both_ways() {
        let s = Synonyms::parse("# comment\n社保卡,社会保障卡\n饭店，餐馆, 餐饮 # tail\nlonely\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s.expand("社保卡丢了"), vec!["社会保障卡"]);
        assert_eq!(s.expand("补办社会保障卡"), vec!["社保卡"]);
        assert_eq!(s.expand("开饭店"), vec!["餐馆", "餐饮"]);
        assert!(s.expand("身份证").is_empty());
        assert!(!Synonyms::builtin().is_empty());
    }
}
