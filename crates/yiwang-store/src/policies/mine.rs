//! A subject's own side of the policies: the policies that may be for them (a person, or
//! the enterprise a person acts for) with why, confirming a direct grant (免申即享), the
//! prefilled one-click application (即申即享), and the paying department's list of
//! disbursements.

use super::*;
use yiwang_core::mandates::Subject as Who;
use yiwang_core::policies::{Evaluator, Explanation, Outcome, PolicyMode};

/// A published policy as a person sees it for themselves: why they qualify or not.
#[derive(Debug, Clone, Serialize)]
pub struct ForYou {
    pub policy: Policy,
    pub version: PolicyVersion,
    pub explanation: Explanation,
    pub disbursement: Option<Disbursement>,
}

/// Every published policy for the subject's audience in its period, explained from the
/// subject's own profile (their own data: no data-use record), the probably eligible
/// first. `who` is a person, or the enterprise a person acts for under a mandate.
pub async fn for_subject(store: &Store, who: &Who) -> Result<Vec<ForYou>> {
    let Some((audience, subject)) = subject_of(store, who).await? else {
        return Ok(vec![]);
    };
    let schema = schema(store, audience).await?;
    let today = crate::today();
    let profile = profiles_of(
        store,
        &schema,
        std::slice::from_ref(&subject),
        &Needs::all(&schema),
        today,
    )
    .await?
    .pop()
    .ok_or_else(|| internal("no profile"))?;
    let ev = Evaluator::new();
    let mut out = Vec::new();
    for (p, v) in published(store).await? {
        if p.audience != audience || !yiwang_core::policies::in_period(&v.input, today) {
            continue;
        }
        let compiled =
            yiwang_core::policies::compile_policy(&schema, &v.input.rule, &v.input.amount, &Default::default())?;
        let explanation = compiled.explain(&schema, &ev, &profile);
        let disbursement = disbursement_of(store, &p.id, &subject.key).await?;
        out.push(ForYou {
            policy: p,
            version: v,
            explanation,
            disbursement,
        });
    }
    out.sort_by_key(|f| match f.explanation.outcome {
        Outcome::Eligible { .. } => 0,
        Outcome::Undetermined { .. } => 1,
        Outcome::Failed { .. } => 2,
        Outcome::Ineligible => 3,
    });
    Ok(out)
}

/// A direct grant, paid after the person confirmed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disbursement {
    pub id: String,
    pub policy_id: String,
    pub version: i64,
    pub subject_key: String,
    pub person_id: String,
    pub amount_fen: i64,
    pub account_masked: String,
    #[serde(skip)]
    pub account_enc: String,
    /// `pending` until the paying department's payment is recorded.
    pub status: String,
    pub consent_at: i64,
}

pub(super) async fn disburse_in(ctx: &mut WriteCtx<'_>, d: &Disbursement) -> Result<Value> {
    let exists: Option<String> =
        sqlx::query_scalar("SELECT id FROM disbursements WHERE policy_id = $1 AND subject_key = $2")
            .bind(&d.policy_id)
            .bind(&d.subject_key)
            .fetch_optional(&mut *ctx.conn)
            .await?;
    if exists.is_some() {
        return Err(DomainError::conflict(
            "policy_id",
            "disbursement.once",
            "您已确认过这项政策，不会重复发放".into(),
            "you have confirmed this policy already; it is paid once".into(),
        )
        .into());
    }
    ctx.append(
        &format!("disbursement:{}", d.id),
        Expect::New,
        "policy.disbursement_confirmed",
        &json!({ "policy_id": d.policy_id, "version": d.version, "amount_fen": d.amount_fen,
                 "account": d.account_masked, "person_id": d.person_id }),
    )
    .await?;
    sqlx::query(
        "INSERT INTO disbursements (id, policy_id, version, subject_key, person_id, amount_fen, account_masked, account_enc,
           status, consent_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9)",
    )
    .bind(&d.id)
    .bind(&d.policy_id)
    .bind(d.version)
    .bind(&d.subject_key)
    .bind(&d.person_id)
    .bind(d.amount_fen)
    .bind(&d.account_masked)
    .bind(&d.account_enc)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(json!({ "id": d.id }))
}

const DISBURSEMENT_COLS: &str =
    "id, policy_id, version, subject_key, person_id, amount_fen, account_masked, status, consent_at";

fn to_disbursement(r: sqlx::any::AnyRow) -> Result<Disbursement> {
    Ok(Disbursement {
        id: r.try_get("id")?,
        policy_id: r.try_get("policy_id")?,
        version: r.try_get("version")?,
        subject_key: r.try_get("subject_key")?,
        person_id: r.try_get("person_id")?,
        amount_fen: r.try_get("amount_fen")?,
        account_masked: r.try_get("account_masked")?,
        account_enc: String::new(),
        status: r.try_get("status")?,
        consent_at: r.try_get("consent_at")?,
    })
}

async fn disbursement_of(store: &Store, policy_id: &str, key: &str) -> Result<Option<Disbursement>> {
    let sql = format!("SELECT {DISBURSEMENT_COLS} FROM disbursements WHERE policy_id = $1 AND subject_key = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(policy_id)
        .bind(key)
        .fetch_optional(&store.read)
        .await?
        .map(to_disbursement)
        .transpose()
}

/// A person confirms a direct grant (免申即享) for themselves or for the enterprise they act
/// for (`who`): consent given, the account to pay into (a bank card or a social security
/// card), the eligibility evaluated again now. `person_id` is who confirmed.
pub async fn confirm(
    store: &Store,
    meta: Meta,
    person_id: &str,
    who: &Who,
    policy_id: &str,
    account: &str,
    consent: bool,
) -> Result<Disbursement> {
    let mut problems = yiwang_core::error::Problems::new();
    // PIPL §14: consent is given by a clear, informed act.
    if !consent {
        problems.push(FieldError::new(
            "consent",
            "disbursement.consent",
            "须同意以所填账户接收并同意使用您的数据核定资格",
            "agree to be paid into this account and to the use of your data for the check",
        ));
    }
    let account_masked = match yiwang_core::policies::check_account(account) {
        Ok(m) => m,
        Err(e) => {
            problems.push(e);
            String::new()
        }
    };
    problems.finish()?;
    let found = one_for(store, who, policy_id).await?;
    if found.version.input.mode != PolicyMode::Direct {
        return Err(DomainError::conflict(
            "policy_id",
            "disbursement.mode",
            "这项政策须通过申请办理".into(),
            "this policy is applied for, not granted directly".into(),
        )
        .into());
    }
    let amount_fen = eligible_amount(&found)?;
    let (_, subject) = subject_of(store, who)
        .await?
        .ok_or_else(|| internal("subject without profile"))?;
    let id = new_id();
    let d = Disbursement {
        account_enc: store.pii.seal(&format!("disbursements.account:{id}"), account.trim()),
        id,
        policy_id: found.policy.id.clone(),
        version: found.version.version,
        subject_key: subject.key,
        person_id: person_id.to_string(),
        amount_fen,
        account_masked,
        status: "pending".into(),
        consent_at: crate::now_ms(),
    };
    store
        .write(meta, Command::Policies(Box::new(Cmd::Disburse(Box::new(d.clone())))))
        .await?;
    Ok(d)
}

/// Disbursements of a policy, newest first (the paying department's list).
pub async fn disbursements(store: &Store, policy_id: &str) -> Result<Vec<Disbursement>> {
    let sql = format!(
        "SELECT {DISBURSEMENT_COLS} FROM disbursements WHERE policy_id = $1 ORDER BY created_at DESC, id DESC LIMIT 500"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(policy_id)
        .fetch_all(&store.read)
        .await?
        .into_iter()
        .map(to_disbursement)
        .collect()
}

/// One published policy of the subject's audience, explained for the subject.
async fn one_for(store: &Store, who: &Who, policy_id: &str) -> Result<ForYou> {
    for_subject(store, who)
        .await?
        .into_iter()
        .find(|f| f.policy.id == policy_id)
        .ok_or_else(|| not_found(policy_id))
}

fn eligible_amount(f: &ForYou) -> Result<i64> {
    match f.explanation.outcome {
        Outcome::Eligible { amount_fen } => Ok(amount_fen),
        _ => Err(DomainError::conflict(
            "policy_id",
            "disbursement.not_eligible",
            "按现有数据您暂不符合这项政策的条件，可查看原因".into(),
            "by the data held you do not qualify now; see why".into(),
        )
        .into()),
    }
}

/// The prefilled application of a one-click policy (即申即享).
#[derive(Debug, Clone, Serialize)]
pub struct OneClick {
    pub draft_id: String,
    pub item_code: String,
    /// Whether an earlier prefilled draft of this item was reopened instead.
    pub reopened: bool,
}

/// A one-click policy (即申即享): the eligibility checked again now, then an application
/// for the policy's item prefilled from the subject's profile and the licences they hold
/// (the catalogue's prefill), kept as their draft for them to check and submit — the
/// submission is their confirmation. A draft of the item they already have is reopened,
/// never doubled. Made when they ask, so nobody's data is copied into drafts they never
/// open, and the values are those of the day.
pub async fn one_click(store: &Store, meta: Meta, person_id: &str, who: &Who, policy_id: &str) -> Result<OneClick> {
    let found = one_for(store, who, policy_id).await?;
    // 国发〔2024〕3号: 即申即享 is a prefilled application the applicant confirms.
    if found.version.input.mode != PolicyMode::OneClick {
        return Err(DomainError::conflict(
            "policy_id",
            "one_click.mode",
            "这项政策不是即申即享".into(),
            "this policy is not a one-click application".into(),
        )
        .into());
    }
    eligible_amount(&found)?;
    let code = found
        .version
        .input
        .item_code
        .clone()
        .ok_or_else(|| internal("one-click policy without item"))?;
    let service = crate::cases::service_for(store, &code).await?;
    if let Some(d) = crate::cases::drafts_of(store, who)
        .await?
        .into_iter()
        .find(|d| d.item_code == service.code)
    {
        return Ok(OneClick {
            draft_id: d.id,
            item_code: service.code,
            reopened: true,
        });
    }
    let values = crate::cases::prefill(
        store,
        who,
        Some(person_id),
        &service.elements,
        &*crate::cases::dictionary(store).await?,
    )
    .await?;
    let application = yiwang_core::cases::Application {
        form: values.into_iter().map(|(k, v)| (k, Value::String(v))).collect(),
        ..Default::default()
    };
    let w = crate::cases::save_draft(store, meta, who.clone(), None, &service.code, application).await?;
    let draft_id = w["draft_id"]
        .as_str()
        .ok_or_else(|| internal("draft without id"))?
        .to_string();
    Ok(OneClick {
        draft_id,
        item_code: service.code,
        reopened: false,
    })
}
