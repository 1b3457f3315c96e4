//! How a bundle case moves on (国办发〔2025〕24号: parallel handling, one status, one
//! result): from where each member stands, which waiting members start (every predecessor
//! granted), which can no longer start (a predecessor refused, or any member refused under
//! [`OnRefusal::Stop`]), which running members stop, and where the bundle stands.

use super::OnRefusal;
use serde::{Deserialize, Serialize};

/// Where a member of a bundle case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MemberState {
    /// Its sub-case does not exist yet: it waits for its predecessors' results.
    Waiting,
    /// Its sub-case runs in its department.
    Started,
    /// Its sub-case was decided 准予 (its result exists).
    Granted,
    /// Its sub-case ended without a grant: 不予受理, 不予许可, withdrawn, terminated.
    Refused,
    /// It will not start: a predecessor was refused, or the bundle stopped.
    Cancelled,
}

impl MemberState {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberState::Waiting => "waiting",
            MemberState::Started => "started",
            MemberState::Granted => "granted",
            MemberState::Refused => "refused",
            MemberState::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<MemberState> {
        [
            MemberState::Waiting,
            MemberState::Started,
            MemberState::Granted,
            MemberState::Refused,
            MemberState::Cancelled,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
    /// Decided one way or the other, or never to start.
    pub fn settled(self) -> bool {
        matches!(
            self,
            MemberState::Granted | MemberState::Refused | MemberState::Cancelled
        )
    }
}

impl crate::Named for MemberState {
    fn zh(&self) -> &'static str {
        match *self {
            MemberState::Waiting => "等待前序事项结果",
            MemberState::Started => "办理中",
            MemberState::Granted => "已准予",
            MemberState::Refused => "未获准予",
            MemberState::Cancelled => "不再办理",
        }
    }
    fn en(&self) -> &'static str {
        match *self {
            MemberState::Waiting => "waiting for an earlier result",
            MemberState::Started => "in progress",
            MemberState::Granted => "granted",
            MemberState::Refused => "not granted",
            MemberState::Cancelled => "not pursued",
        }
    }
}

/// Where a bundle case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BundleState {
    /// Some member waits or runs.
    Open,
    /// Every member is decided (or will not start); results await the one delivery.
    Decided,
    /// Every member has ended (办结).
    Concluded,
}

impl BundleState {
    pub fn as_str(self) -> &'static str {
        match self {
            BundleState::Open => "open",
            BundleState::Decided => "decided",
            BundleState::Concluded => "concluded",
        }
    }
    pub fn parse(s: &str) -> Option<BundleState> {
        [BundleState::Open, BundleState::Decided, BundleState::Concluded]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

impl crate::Named for BundleState {
    fn zh(&self) -> &'static str {
        match *self {
            BundleState::Open => "办理中",
            BundleState::Decided => "已全部决定，待统一送达",
            BundleState::Concluded => "已办结",
        }
    }
    fn en(&self) -> &'static str {
        match *self {
            BundleState::Open => "in progress",
            BundleState::Decided => "all decided, awaiting the one delivery",
            BundleState::Concluded => "concluded",
        }
    }
}

/// A member as the progress sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    pub key: String,
    /// The members whose results it waits for.
    pub after: Vec<String>,
    pub state: MemberState,
    /// Its sub-case has ended (办结 or another final state); false while decided and
    /// awaiting delivery, or never started.
    pub ended: bool,
}

/// What is to happen next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Waiting members whose every predecessor is granted: their sub-cases start now.
    pub release: Vec<String>,
    /// Waiting members that will not start.
    pub cancel: Vec<String>,
    /// Running members to stop (withdrawn on the applicant's behalf, as the definition
    /// says) because another member was refused under [`OnRefusal::Stop`].
    pub stop: Vec<String>,
    /// The bundle's state once the above is done.
    pub state: Option<BundleState>,
}

/// Decides what happens next (国发〔2024〕3号: a dependent item starts when its predecessor's
/// result is issued; the definition says whether a refusal stops the others).
pub fn progress(on_refusal: OnRefusal, members: &[MemberView]) -> Progress {
    let mut state: std::collections::BTreeMap<&str, MemberState> =
        members.iter().map(|m| (m.key.as_str(), m.state)).collect();
    let refused = members.iter().any(|m| m.state == MemberState::Refused);
    let stopping = refused && on_refusal == OnRefusal::Stop;
    let mut out = Progress::default();
    // Cancellation runs along the dependencies until nothing changes.
    loop {
        let mut changed = false;
        for m in members {
            if state[m.key.as_str()] != MemberState::Waiting {
                continue;
            }
            let blocked = m.after.iter().any(|a| {
                matches!(
                    state.get(a.as_str()),
                    Some(MemberState::Refused | MemberState::Cancelled)
                )
            });
            if stopping || blocked {
                state.insert(&m.key, MemberState::Cancelled);
                out.cancel.push(m.key.clone());
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for m in members {
        if state[m.key.as_str()] == MemberState::Waiting
            && m.after
                .iter()
                .all(|a| state.get(a.as_str()) == Some(&MemberState::Granted))
        {
            out.release.push(m.key.clone());
        }
        if stopping && m.state == MemberState::Started {
            out.stop.push(m.key.clone());
        }
    }
    let settled = members
        .iter()
        .all(|m| state[m.key.as_str()].settled() && !out.release.contains(&m.key));
    out.state = Some(if !settled || !out.stop.is_empty() {
        BundleState::Open
    } else if members
        .iter()
        .all(|m| m.ended || state[m.key.as_str()] == MemberState::Cancelled)
    {
        BundleState::Concluded
    } else {
        BundleState::Decided
    });
    out
}
