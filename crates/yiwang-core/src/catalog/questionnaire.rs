//! The situation questionnaire (情形) that selects materials.

use super::*;

// ---------------------------------------------------------------------------------------
// Situation questionnaire (情形)
// ---------------------------------------------------------------------------------------

/// Whether a material is needed given the answers so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Need {
    Needed,
    /// Depends on a question not yet answered.
    Depends,
    NotNeeded,
}

/// The material list for a set of answers (question key → choice key).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selection<'a> {
    pub needed: Vec<&'a Material>,
    /// Needed or not depending on unanswered questions.
    pub depends: Vec<&'a Material>,
    pub unanswered: Vec<&'a Question>,
}

/// Turns answers into the exact material list: a material no answer adds is needed
/// unless a chosen answer removes it; a material some answer adds is needed when a chosen
/// answer adds it (and none removes it). Unknown questions or answers are refused.
pub fn select_materials<'a>(e: &'a Elements, answers: &BTreeMap<String, String>) -> Result<Selection<'a>, DomainError> {
    let mut p = Problems::new();
    let mut chosen: Vec<(&Question, Option<&Choice>)> = vec![];
    for q in &e.questions {
        let c = match answers.get(&q.key) {
            None => None,
            Some(k) if k.is_empty() => None,
            Some(k) => match q.choices.iter().find(|c| &c.key == k) {
                Some(c) => Some(c),
                None => {
                    p.push(FieldError::new(
                        format!("answers.{}", q.key),
                        "questionnaire.unknown_choice",
                        format!("「{}」没有选项「{k}」", q.text),
                        format!("'{}' has no answer '{k}'", q.key),
                    ));
                    None
                }
            },
        };
        chosen.push((q, c));
    }
    for k in answers.keys() {
        if !e.questions.iter().any(|q| &q.key == k) {
            p.push(FieldError::new(
                format!("answers.{k}"),
                "questionnaire.unknown_question",
                format!("没有问题「{k}」"),
                format!("there is no question '{k}'"),
            ));
        }
    }
    p.finish()?;
    let mut sel = Selection {
        needed: vec![],
        depends: vec![],
        unanswered: chosen.iter().filter(|(_, c)| c.is_none()).map(|(q, _)| *q).collect(),
    };
    for m in &e.materials {
        match need_of(m, &chosen) {
            Need::Needed => sel.needed.push(m),
            Need::Depends => sel.depends.push(m),
            Need::NotNeeded => {}
        }
    }
    Ok(sel)
}

pub(super) fn need_of(m: &Material, chosen: &[(&Question, Option<&Choice>)]) -> Need {
    need_of_key(&m.key, chosen)
}

/// Whether the thing keyed `k` (a material of an item, a member of a 一件事) is needed given
/// the questions and the answers chosen so far (None: not answered), by the same rule as
/// [`select_materials`].
pub fn need_of_key(k: &str, chosen: &[(&Question, Option<&Choice>)]) -> Need {
    let k = &k.to_string();
    let added_anywhere = chosen.iter().any(|(q, _)| q.choices.iter().any(|c| c.adds.contains(k)));
    let removed_by_answer = chosen.iter().any(|(_, c)| c.is_some_and(|c| c.removes.contains(k)));
    if removed_by_answer {
        return Need::NotNeeded;
    }
    let added_by_answer = chosen.iter().any(|(_, c)| c.is_some_and(|c| c.adds.contains(k)));
    let open_could_change = chosen.iter().any(|(q, c)| {
        c.is_none()
            && q.choices
                .iter()
                .any(|ch| ch.removes.contains(k) || (ch.adds.contains(k)))
    });
    let base = !added_anywhere || added_by_answer;
    match (base, open_could_change) {
        (true, false) => Need::Needed,
        (false, false) => Need::NotNeeded,
        (true, true) => {
            // Needed unless an open question could still remove it.
            let open_removes = chosen
                .iter()
                .any(|(q, c)| c.is_none() && q.choices.iter().any(|ch| ch.removes.contains(k)));
            if open_removes { Need::Depends } else { Need::Needed }
        }
        (false, true) => Need::Depends,
    }
}
