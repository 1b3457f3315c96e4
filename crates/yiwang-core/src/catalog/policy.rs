//! The catalogue policy a province configures: required elements, locks, star rules.

use super::*;

// ---------------------------------------------------------------------------------------
// Policy (configurable per province)
// ---------------------------------------------------------------------------------------

/// A star level of online depth: an item earns `stars` when it offers every depth listed
/// and needs at most `max_visits` visits. No national definition exists (STANDARDS §1
/// [M]): the rules are configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StarRule {
    pub stars: u8,
    pub depth: Vec<OnlineDepth>,
    #[serde(default)]
    pub max_visits: Option<u32>,
}

/// The province's catalogue settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogPolicy {
    /// Elements an implementation item inherits unchanged from its basic entry
    /// (同要素管理; the national 四级四同: name, code, basis, type — STANDARDS §1 [M]).
    pub locked: Vec<String>,
    /// Star rules, any order; the highest matching rule wins.
    pub stars: Vec<StarRule>,
    /// Most situation questions per item: the questionnaire answers in that many clicks.
    pub max_questions: usize,
}

impl Default for CatalogPolicy {
    fn default() -> Self {
        use OnlineDepth::*;
        let rule = |stars, depth: &[OnlineDepth], max_visits| StarRule {
            stars,
            depth: depth.to_vec(),
            max_visits,
        };
        CatalogPolicy {
            locked: vec!["name".into(), "item_type".into(), "legal_basis".into()],
            stars: vec![
                rule(5, &[Collect, Prereview, Accept, Handle, Feedback, Elicence], Some(0)),
                rule(4, &[Collect, Prereview, Accept, Handle, Feedback], Some(0)),
                rule(3, &[Collect, Prereview, Accept], Some(1)),
                rule(2, &[Collect, Prereview], None),
                rule(1, &[Consult], None),
            ],
            max_questions: 3,
        }
    }
}

impl CatalogPolicy {
    /// Checks the configuration itself (at start), naming the bad entry.
    pub fn check(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        for (i, l) in self.locked.iter().enumerate() {
            if !ELEMENT_NAMES.contains(&l.as_str()) {
                p.push(FieldError::new(
                    format!("catalog.locked[{i}]"),
                    "catalog.unknown_element",
                    format!("未知要素「{l}」"),
                    format!("unknown element '{l}'"),
                ));
            }
        }
        for (i, r) in self.stars.iter().enumerate() {
            if !(1..=5).contains(&r.stars) {
                p.push(FieldError::new(
                    format!("catalog.stars[{i}].stars"),
                    "range",
                    "星级为 1–5",
                    "stars are 1–5",
                ));
            }
        }
        if !(1..=10).contains(&self.max_questions) {
            p.push(FieldError::new(
                "catalog.max_questions",
                "range",
                "情形问题数上限为 1–10",
                "max_questions is 1–10",
            ));
        }
        p.finish()
    }
    pub fn is_locked(&self, element: &str) -> bool {
        self.locked.iter().any(|l| l == element)
    }
    /// The derived star rating of online depth (0 when no rule matches).
    pub fn stars(&self, e: &Elements) -> u8 {
        self.stars
            .iter()
            .filter(|r| r.depth.iter().all(|d| e.has_depth(*d)) && r.max_visits.is_none_or(|m| e.visits <= m))
            .map(|r| r.stars)
            .max()
            .unwrap_or(0)
    }
}
