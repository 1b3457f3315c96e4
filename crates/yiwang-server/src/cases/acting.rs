//! Who is acting: staff parties, applicants, mandates.

use super::*;

// ---------------------------------------------------------------------------------------
// Who is acting
// ---------------------------------------------------------------------------------------

pub(super) async fn target(s: &AppState, row: &CaseRow) -> ApiResult<Target> {
    let d = yiwang_store::refdata::department(&s.store, &row.department_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Target::Department {
        id: d.id,
        region_code: d.region_code,
    })
}

/// The applicant's own case (or the principal's they act for).
pub(crate) async fn my_case(s: &AppState, ctx: &Ctx, id: &str) -> ApiResult<CaseRow> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    match cases::case(&s.store, id).await? {
        Some(c) if c.applicant == subject.key() => Ok(c),
        _ => Err(not_found()),
    }
}

/// The party a staff member acts as for this action, checked against their permissions
/// and the case's department and region.
pub(super) async fn staff_party(s: &AppState, ctx: &Ctx, row: &CaseRow, a: &Action) -> ApiResult<Party> {
    let t = target(s, row).await?;
    let (party, perm) = match a {
        Action::Accept | Action::Refuse { .. } | Action::RequestCorrection { .. } => {
            (Party::Clerk, Permission::CaseAccept)
        }
        Action::Claim
        | Action::Assign { .. }
        | Action::Complete { .. }
        | Action::Return { .. }
        | Action::StartSpecial { .. }
        | Action::EndSpecial { .. } => match row.step_role() {
            Some(StepRole::Decide) => (Party::Decider, Permission::CaseDecide),
            _ => (Party::Reviewer, Permission::CaseReview),
        },
        Action::Decide { .. } | Action::Terminate { .. } => (Party::Decider, Permission::CaseDecide),
        Action::Deliver { .. } => {
            if ctx.actor.authorize(Permission::CaseAccept, &t).is_ok() {
                (Party::Clerk, Permission::CaseAccept)
            } else {
                (Party::Decider, Permission::CaseDecide)
            }
        }
        Action::Void { .. } => (Party::Admin, Permission::CaseVoid),
        Action::Submit | Action::Correct | Action::Supplement { .. } | Action::Withdraw { .. } | Action::DeemAccept => {
            return Err(ApiError::from(StoreError::from(DomainError::invalid(vec![
                FieldError::new(
                    "action",
                    "case.party",
                    "该操作由申请人或系统执行",
                    "the applicant or the system takes this action",
                ),
            ]))));
        }
    };
    ctx.require(perm, &t)?;
    Ok(party)
}

/// The parties a staff member may act as on a case (for the page's action forms).
pub(super) async fn staff_parties(s: &AppState, ctx: &Ctx, row: &CaseRow) -> ApiResult<Vec<Party>> {
    let t = target(s, row).await?;
    let mut out = vec![];
    for (p, perm) in [
        (Party::Clerk, Permission::CaseAccept),
        (Party::Reviewer, Permission::CaseReview),
        (Party::Decider, Permission::CaseDecide),
        (Party::Admin, Permission::CaseVoid),
    ] {
        if ctx.actor.authorize(perm, &t).is_ok() {
            out.push(p);
        }
    }
    Ok(out)
}

/// The applicant as the case records them: name and identifier from the account.
pub(crate) async fn applicant_of(s: &AppState, subject: &Subject) -> ApiResult<Applicant> {
    match subject {
        Subject::Person(id) => {
            let p = yiwang_store::accounts::person(&s.store.read, id)
                .await?
                .ok_or_else(|| ApiError::not_found("person"))?;
            let code = yiwang_store::accounts::reveal(&s.store, &p, yiwang_core::datause::PersonalField::IdNumber)?;
            Ok(Applicant {
                subject: subject.clone(),
                name: p.name,
                code,
            })
        }
        Subject::Legal(id) => {
            let l = yiwang_store::accounts::legal_person(&s.store.read, id)
                .await?
                .ok_or_else(|| ApiError::not_found("legal person"))?;
            Ok(Applicant {
                subject: subject.clone(),
                name: l.name,
                code: l.uscc,
            })
        }
    }
}

/// Acting for a principal, the mandate must cover this item (a mandate may list items by
/// their basic-directory or implementation code, 代办授权的事项范围).
pub(crate) async fn check_mandate_covers(s: &AppState, ctx: &Ctx, item_code: &str) -> ApiResult<()> {
    let (Some((principal, _)), Some(pid)) = (&ctx.acting_for, &ctx.person_id) else {
        return Ok(());
    };
    let basic = item_code.trim().get(19..31).unwrap_or("");
    for code in [item_code.trim(), basic] {
        if !code.is_empty()
            && yiwang_store::mandates::in_force(&s.store, pid, principal, Some(code))
                .await?
                .is_some()
        {
            return Ok(());
        }
    }
    Err(ApiError::from(StoreError::from(DomainError::one(
        yiwang_core::ErrorKind::Conflict,
        FieldError::new(
            "item_code",
            "mandate.scope",
            "您的代办授权不包括此事项",
            "your mandate does not cover this item",
        ),
    ))))
}

pub(crate) fn idem_meta(ctx: &Ctx, idem: IdempotencyKey, method: &Method, uri: &Uri, body: &[u8]) -> Meta {
    let actor = ctx.ledger_actor();
    let mut meta = Meta::actor(&actor);
    if let Some(key) = idem.0 {
        let mut fp = format!("{method} {}\n", uri.path()).into_bytes();
        fp.extend_from_slice(body);
        meta = meta.with_idempotency(format!("{actor}:{key}"), hex::encode(yiwang_crypto::sm3(&fp)));
    }
    meta
}
