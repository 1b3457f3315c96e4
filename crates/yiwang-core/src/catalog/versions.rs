//! The version workflow: draft → submitted → published (four eyes).

use super::*;

// ---------------------------------------------------------------------------------------
// Versions: draft → submitted → published (four eyes)
// ---------------------------------------------------------------------------------------

/// The state of one version of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VersionState {
    /// Being edited (also after a review returned it).
    Draft,
    /// Waiting for another manager's review; not editable.
    Submitted,
    /// Reviewed and published; in force between its dates.
    Published,
    /// Abandoned before publication.
    Discarded,
}

impl crate::Named for VersionState {
    fn zh(&self) -> &'static str {
        VersionState::zh(*self)
    }
    fn en(&self) -> &'static str {
        VersionState::en(*self)
    }
}

crate::from_text!(VersionState);

impl VersionState {
    pub const ALL: [VersionState; 4] = [
        VersionState::Draft,
        VersionState::Submitted,
        VersionState::Published,
        VersionState::Discarded,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            VersionState::Draft => "draft",
            VersionState::Submitted => "submitted",
            VersionState::Published => "published",
            VersionState::Discarded => "discarded",
        }
    }
    pub fn parse(s: &str) -> Option<VersionState> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
    pub fn zh(self) -> &'static str {
        match self {
            VersionState::Draft => "草稿",
            VersionState::Submitted => "待审核",
            VersionState::Published => "已发布",
            VersionState::Discarded => "已废弃",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            VersionState::Draft => "draft",
            VersionState::Submitted => "awaiting review",
            VersionState::Published => "published",
            VersionState::Discarded => "discarded",
        }
    }
}

/// What the workflow needs to know of an entry's open (unpublished) version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenVersion {
    pub version: i64,
    pub state: VersionState,
    /// Everyone who edited this version (ledger actors).
    pub editors: Vec<String>,
    pub submitted_by: Option<String>,
}

/// A workflow action on an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Save the elements as the draft (creating the next version if none is open).
    SaveDraft,
    /// Send the draft for review.
    Submit,
    /// The submitter takes a submitted version back to draft.
    Recall,
    /// A reviewer sends it back with reasons.
    Return { reasons: String },
    /// A reviewer other than its editors and submitter publishes it (四眼原则).
    Publish,
    /// Abandon the draft.
    Discard,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::SaveDraft => "save_draft",
            Action::Submit => "submit",
            Action::Recall => "recall",
            Action::Return { .. } => "return",
            Action::Publish => "publish",
            Action::Discard => "discard",
        }
    }
}

/// Who submitted and who reviewed a version, and why it was returned: what a workflow
/// step records of them (publishing records its reviewer too). Returns the step's name as
/// the past tense an event kind ends with (`submitted`, `recalled`, `returned`,
/// `discarded`, `published`); `None` for saving, which is not a step on a version.
pub fn record_step(
    action: &Action,
    actor: &str,
    submitted_by: &mut Option<String>,
    reviewed_by: &mut Option<String>,
    return_reasons: &mut Option<String>,
) -> Option<&'static str> {
    Some(match action {
        Action::SaveDraft => return None,
        Action::Submit => {
            *submitted_by = Some(actor.to_string());
            "submitted"
        }
        Action::Recall => {
            *submitted_by = None;
            "recalled"
        }
        Action::Return { reasons } => {
            *submitted_by = None;
            *reviewed_by = Some(actor.to_string());
            *return_reasons = Some(reasons.trim().to_string());
            "returned"
        }
        Action::Discard => "discarded",
        Action::Publish => {
            *reviewed_by = Some(actor.to_string());
            "published"
        }
    })
}

/// What an allowed action does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// A new draft version with this number.
    NewDraft(i64),
    /// The open version is changed in place, to this state.
    To(i64, VersionState),
}

pub(super) fn refused(rule: &str, zh: &str, en: &str) -> DomainError {
    DomainError::one(ErrorKind::Conflict, FieldError::new("state", rule, zh, en))
}

/// The workflow rule: what `action` by `actor` does given the entry's open version (if
/// any) and its latest version number. Four eyes: the publisher is neither an editor nor
/// the submitter of the version.
pub fn decide_action(
    open: Option<&OpenVersion>,
    latest_version: i64,
    action: &Action,
    actor: &str,
) -> Result<Transition, DomainError> {
    use VersionState::*;
    let state = open.map(|o| o.state);
    match (action, open, state) {
        (Action::SaveDraft, None, _) => Ok(Transition::NewDraft(latest_version + 1)),
        (Action::SaveDraft, Some(o), Some(Draft)) => Ok(Transition::To(o.version, Draft)),
        (Action::SaveDraft, Some(_), _) => Err(refused(
            "catalog.not_editable",
            "该版本已提交审核，不能修改；请先撤回或等待审核退回",
            "this version awaits review and cannot be edited; recall it or wait for the review",
        )),
        (Action::Submit, Some(o), Some(Draft)) => Ok(Transition::To(o.version, Submitted)),
        (Action::Recall, Some(o), Some(Submitted)) if o.submitted_by.as_deref() == Some(actor) => {
            Ok(Transition::To(o.version, Draft))
        }
        (Action::Recall, Some(_), Some(Submitted)) => Err(refused(
            "catalog.recall_not_submitter",
            "只有提交人可以撤回",
            "only the submitter can recall a version",
        )),
        (Action::Return { reasons }, Some(o), Some(Submitted)) => {
            if reasons.trim().is_empty() || reasons.chars().count() > 1000 {
                Err(DomainError::invalid(vec![FieldError::new(
                    "reasons",
                    "catalog.return_reasons",
                    "退回必须写明理由（最多 1000 字）",
                    "a return gives its reasons (at most 1000 characters)",
                )]))
            } else if o.submitted_by.as_deref() == Some(actor) {
                Err(refused(
                    "catalog.four_eyes",
                    "不能审核自己提交的版本（四眼原则），可撤回",
                    "you cannot review what you submitted (four eyes); recall it instead",
                ))
            } else {
                Ok(Transition::To(o.version, Draft))
            }
        }
        (Action::Publish, Some(o), Some(Submitted)) => {
            if o.submitted_by.as_deref() == Some(actor) || o.editors.iter().any(|e| e == actor) {
                Err(refused(
                    "catalog.four_eyes",
                    "编辑或提交该版本的人不能发布它，须由另一名管理人员审核发布（四眼原则）",
                    "whoever edited or submitted a version cannot publish it: another manager reviews it (four eyes)",
                ))
            } else {
                Ok(Transition::To(o.version, Published))
            }
        }
        (Action::Discard, Some(o), Some(Draft)) => Ok(Transition::To(o.version, Discarded)),
        (Action::Submit | Action::Discard, _, _) => Err(refused(
            "catalog.no_draft",
            "没有可操作的草稿",
            "there is no draft to act on",
        )),
        (Action::Recall | Action::Return { .. } | Action::Publish, _, _) => Err(refused(
            "catalog.not_submitted",
            "没有待审核的版本",
            "no version awaits review",
        )),
    }
}

/// A published version's dates: in force from `effective_from` until a later publication
/// takes over or its planned cancellation (计划取消日期).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub version: i64,
    pub effective_from_ms: i64,
    pub cancel_on_ms: Option<i64>,
}

/// When each published version is in force: `[from, until)`, `until` None for open-ended.
/// A version published later supersedes every earlier one from its own effective date
/// on, so at any moment at most one version is in force. Input in publication order.
pub fn validity(published: &[Published]) -> Vec<(i64, i64, Option<i64>)> {
    published
        .iter()
        .enumerate()
        .map(|(k, v)| {
            let next = published[k + 1..].iter().map(|j| j.effective_from_ms).min();
            let until = [next, v.cancel_on_ms].into_iter().flatten().min();
            // A version superseded before it took effect is never in force.
            let until = until.map(|u| u.max(v.effective_from_ms));
            (v.version, v.effective_from_ms, until)
        })
        .collect()
}

/// Checks the dates a reviewer publishes with (epoch ms at 00:00 China time).
pub fn check_publication_dates(
    effective_from_ms: i64,
    cancel_on_ms: Option<i64>,
    today_ms: i64,
) -> Result<(), DomainError> {
    let mut p = Problems::new();
    if effective_from_ms < today_ms {
        p.push(FieldError::new(
            "effective_from",
            "catalog.effective_in_past",
            "生效日期不能早于今天",
            "the effective date cannot be before today",
        ));
    }
    if let Some(c) = cancel_on_ms
        && c <= effective_from_ms
    {
        p.push(FieldError::new(
            "cancel_on",
            "catalog.cancel_before_effective",
            "计划取消日期应晚于生效日期",
            "the planned cancellation comes after the effective date",
        ));
    }
    p.finish()
}
