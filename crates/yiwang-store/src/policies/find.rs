//! Finding the eligible: a policy evaluated over profiles — a dry run's totals before
//! publication; on publication and whenever a profile changes (the `Finder` follower),
//! what each subject's evaluation found, the newly eligible notified once; a person's own
//! explanation; a direct grant paid after the person confirms (免申即享).
//!
//! Shared data is read only under the paying department's grants for the policy's
//! purpose (`sharing::usable_grant`); every evaluation logs its use, and a registered
//! person's data read for a finding shows in their data-use log with the purpose.

use super::*;
use chrono::NaiveDate;
use std::collections::BTreeMap;
use yiwang_core::policies::{CompiledPolicy, Evaluator, Outcome, Schema};
use yiwang_core::sharing::Grant;

/// Subjects evaluated per round.
const PAGE: i64 = 500;
/// Failures a dry run lists.
const MAX_FAILURES: usize = 20;

/// The grants a policy reads shared data under: one per resource its rule or amount
/// names, for the policy's purpose and the fields it reads, in force on `today`.
pub async fn grants_for(
    store: &Store,
    input: &PolicyInput,
    compiled: &CompiledPolicy,
    today: NaiveDate,
) -> Result<Vec<(Grant, Vec<String>)>> {
    let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in compiled.rule.paths().iter().chain(compiled.amount.paths()) {
        if let Some((g, f)) = p.split_once('.') {
            let e = fields.entry(g.to_string()).or_default();
            if !e.iter().any(|x| x == f) {
                e.push(f.to_string());
            }
        }
    }
    let mut out = Vec::new();
    for (resource, fields) in fields {
        let g = crate::sharing::usable_grant(store, &input.department_id, &resource, &input.purpose, &fields, today)
            .await?;
        out.push((g, fields));
    }
    Ok(out)
}

fn needs_of(compiled: &CompiledPolicy) -> Needs {
    Needs::of_paths(compiled.rule.paths().iter().chain(compiled.amount.paths()))
}

/// Each subject's outcome, a page at a time (every subject of the audience, or `keys`).
async fn evaluate(
    store: &Store,
    schema: &Schema,
    compiled: &CompiledPolicy,
    keys: Option<&[String]>,
    today: NaiveDate,
    mut each: impl FnMut(&Subject, Outcome),
) -> Result<u64> {
    let needs = needs_of(compiled);
    let ev = Evaluator::new();
    let mut n = 0u64;
    let mut run = |subjects: &[Subject], profiles: Vec<yiwang_core::policies::Profile>| {
        for (s, p) in subjects.iter().zip(profiles) {
            n += 1;
            each(s, compiled.evaluate(&ev, &p));
        }
    };
    match keys {
        Some(keys) => {
            for chunk in keys.chunks(PAGE as usize) {
                let subjects = subjects_by_keys(store, chunk).await?;
                let profiles = profiles_of(store, schema, &subjects, &needs, today).await?;
                run(&subjects, profiles);
            }
        }
        None => {
            let mut after = String::new();
            loop {
                let subjects = subjects_page(store, schema.audience(), &after, PAGE).await?;
                let Some(last) = subjects.last() else { break };
                after = last.key.clone();
                let profiles = profiles_of(store, schema, &subjects, &needs, today).await?;
                run(&subjects, profiles);
            }
        }
    }
    Ok(n)
}

async fn subjects_by_keys(store: &Store, keys: &[String]) -> Result<Vec<Subject>> {
    if keys.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = String::from("SELECT subject_key, birth_date, male FROM profiles WHERE subject_key IN (");
    crate::db::Marks::of(store.engine).push_list(&mut sql, keys.len());
    sql.push_str(") ORDER BY subject_key");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for k in keys {
        q = q.bind(k);
    }
    q.fetch_all(&store.read).await?.into_iter().map(to_subject).collect()
}

fn masked(key: &str) -> String {
    format!("{}…", key.get(..8).unwrap_or(key))
}

/// A dry run of the version being worked on over every profile of its audience: how
/// many qualify, are not, cannot be decided for missing data, or failed; and the cost.
/// Only totals leave it; the use of each grant is logged with the number of subjects.
pub async fn dry_run(store: &Store, meta: Meta, policy_id: &str) -> Result<DryRun> {
    let p = policy(store, policy_id).await?.ok_or_else(|| not_found(policy_id))?;
    let v = version(store, policy_id, p.latest_version)
        .await?
        .ok_or_else(|| not_found(policy_id))?;
    let schema = schema(store, p.audience).await?;
    let compiled = yiwang_core::policies::compile_policy(&schema, &v.input.rule, &v.input.amount, &Default::default())?;
    let today = crate::today();
    let grants = grants_for(store, &v.input, &compiled, today).await?;
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    let profiles = evaluate(store, &schema, &compiled, None, today, |s, o| {
        if let Outcome::Failed { message } = &o
            && failures.len() < MAX_FAILURES
        {
            failures.push(format!("{}: {message}", masked(&s.key)));
        }
        tally.add(&o);
    })
    .await?;
    for (g, fields) in grants {
        crate::sharing::log_access(
            store,
            meta.clone(),
            crate::sharing::Access {
                id: new_id(),
                grant_id: g.id,
                resource: g.resource,
                subject_key: None,
                subjects: profiles as i64,
                fields,
                purpose: g.purpose,
            },
        )
        .await?;
    }
    let result = DryRun {
        profiles,
        tally,
        failures,
        at_ms: crate::now_ms(),
    };
    store
        .write(
            meta,
            Command::Policies(Box::new(Cmd::DryRun {
                policy_id: policy_id.to_string(),
                version: v.version,
                result: Box::new(result.clone()),
            })),
        )
        .await?;
    Ok(result)
}

/// What an evaluation found, for the writer.
#[derive(Debug, Clone, Serialize)]
pub struct Findings {
    pub policy_id: String,
    pub policy_name: String,
    pub version: i64,
    pub rows: Vec<Found>,
    /// The shared data read, as `resource·field` names, for the persons' data-use logs.
    pub read: Vec<String>,
    pub purpose: String,
    pub department: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Found {
    pub subject_key: String,
    pub outcome: Outcome,
    /// The registered person, if the subject is one.
    pub person_id: Option<String>,
}

fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Eligible { .. } => "eligible",
        Outcome::Ineligible => "ineligible",
        Outcome::Undetermined { .. } => "undetermined",
        Outcome::Failed { .. } => "failed",
    }
}

fn amount_of(o: &Outcome) -> i64 {
    match o {
        Outcome::Eligible { amount_fen } => *amount_fen,
        _ => 0,
    }
}

pub(super) async fn findings_in(ctx: &mut WriteCtx<'_>, f: &Findings) -> Result<Value> {
    let stream = format!("policy:{}:findings", f.policy_id);
    let eligible = f
        .rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Eligible { .. }))
        .count();
    ctx.append(
        &stream,
        Expect::Any,
        "policy.found",
        &json!({ "version": f.version, "subjects": f.rows.len(), "eligible": eligible }),
    )
    .await?;
    let mut notified = 0;
    for r in &f.rows {
        // Read again inside the batch: a finding delivered twice notifies once.
        let before: Option<(String, Option<i64>)> =
            sqlx::query_as("SELECT outcome, notified_at FROM eligibility WHERE policy_id = $1 AND subject_key = $2")
                .bind(&f.policy_id)
                .bind(&r.subject_key)
                .fetch_optional(&mut *ctx.conn)
                .await?;
        let is_eligible = matches!(r.outcome, Outcome::Eligible { .. });
        let notify = is_eligible && r.person_id.is_some() && before.as_ref().is_none_or(|(_, n)| n.is_none());
        let notified_at = if notify {
            Some(ctx.now_ms)
        } else {
            before.as_ref().and_then(|(_, n)| *n)
        };
        sqlx::query(
            "INSERT INTO eligibility (policy_id, subject_key, version, outcome, amount_fen, evaluated_at, notified_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (policy_id, subject_key) DO UPDATE SET version = excluded.version, outcome = excluded.outcome,
               amount_fen = excluded.amount_fen, evaluated_at = excluded.evaluated_at, notified_at = excluded.notified_at",
        )
        .bind(&f.policy_id)
        .bind(&r.subject_key)
        .bind(f.version)
        .bind(outcome_name(&r.outcome))
        .bind(amount_of(&r.outcome))
        .bind(ctx.now_ms)
        .bind(notified_at)
        .execute(&mut *ctx.conn)
        .await?;
        let Some(person) = &r.person_id else { continue };
        // PIPL §44: the person sees that their shared data was read, by whom and for what.
        if !f.read.is_empty() {
            let u = yiwang_core::datause::DataUse {
                id: new_id(),
                person_id: person.clone(),
                actor_kind: "system".into(),
                actor_id: format!("policy:{}", f.policy_id),
                actor_name: format!("免申即享：{}", f.policy_name),
                department: f.department.clone(),
                fields: vec![],
                unmasked: false,
                purpose: f.purpose.clone(),
                case_id: None,
                resources: f.read.clone(),
                at_ms: ctx.now_ms,
            };
            crate::datause::execute(ctx, &crate::datause::Cmd::Record(Box::new(u))).await?;
        }
        if notify {
            notified += 1;
            let amount = amount_of(&r.outcome) as f64 / 100.0;
            sqlx::query(
                "INSERT INTO notifications (id, recipient, case_id, text_zh, text_en, created_at) VALUES ($1, $2, NULL, $3, $4, $5)",
            )
            .bind(new_id())
            .bind(format!("person:{person}"))
            .bind(format!(
                "您可能符合「{}」的条件（约 {amount:.2} 元），请到「可能适合您的政策」查看原因并确认。",
                f.policy_name
            ))
            .bind(format!(
                "You may qualify for \"{}\" (about CNY {amount:.2}): see why and confirm under \"Policies for you\".",
                f.policy_name
            ))
            .bind(ctx.now_ms)
            .execute(&mut *ctx.conn)
            .await?;
        }
    }
    Ok(json!({ "subjects": f.rows.len(), "notified": notified }))
}

/// Evaluates a published policy for `keys` (or every subject) and stores what changed;
/// the newly eligible registered persons are notified once. Answers how many were stored.
pub async fn find(store: &Store, policy_id: &str, keys: Option<&[String]>) -> Result<usize> {
    let Some(p) = policy(store, policy_id).await? else {
        return Ok(0);
    };
    let Some(pv) = p.published_version else { return Ok(0) };
    let Some(v) = version(store, policy_id, pv).await? else {
        return Ok(0);
    };
    let today = crate::today();
    if !yiwang_core::policies::in_period(&v.input, today) {
        return Ok(0);
    }
    let schema = schema(store, p.audience).await?;
    let compiled = yiwang_core::policies::compile_policy(&schema, &v.input.rule, &v.input.amount, &Default::default())?;
    let grants = grants_for(store, &v.input, &compiled, today).await?;
    let mut outcomes = Vec::new();
    evaluate(store, &schema, &compiled, keys, today, |s, o| {
        outcomes.push((s.key.clone(), o))
    })
    .await?;
    // Only what changed is stored (an unchanged profile finds what it found before).
    let mut before: BTreeMap<String, (String, i64)> = BTreeMap::new();
    for chunk in outcomes.chunks(PAGE as usize) {
        let mut sql = String::from("SELECT subject_key, outcome, amount_fen FROM eligibility WHERE policy_id = ");
        let mut m = crate::db::Marks::of(store.engine);
        m.push(&mut sql);
        sql.push_str(" AND subject_key IN (");
        m.push_list(&mut sql, chunk.len());
        sql.push(')');
        let mut q = sqlx::query_as::<_, (String, String, i64)>(sqlx::AssertSqlSafe(sql)).bind(policy_id);
        for (k, _) in chunk {
            q = q.bind(k);
        }
        for (k, o, a) in q.fetch_all(&store.read).await? {
            before.insert(k, (o, a));
        }
    }
    let changed: Vec<(String, Outcome)> = outcomes
        .into_iter()
        .filter(|(k, o)| before.get(k) != Some(&(outcome_name(o).to_string(), amount_of(o))))
        .collect();
    if changed.is_empty() {
        return Ok(0);
    }
    let dept = crate::orgs::department(&store.read, &v.input.department_id).await?;
    let mut read = Vec::new();
    for (g, fields) in &grants {
        let r = crate::sharing::resource(store, &g.resource).await?;
        for f in fields {
            let zh = r
                .as_ref()
                .and_then(|r| {
                    r.fields
                        .iter()
                        .find(|d| &d.name == f)
                        .map(|d| format!("{}·{}", r.name, d.zh))
                })
                .unwrap_or_else(|| format!("{}.{f}", g.resource));
            read.push(zh);
        }
    }
    let meta = Meta::actor(format!("system:policy:{policy_id}"));
    for (g, fields) in &grants {
        crate::sharing::log_access(
            store,
            meta.clone(),
            crate::sharing::Access {
                id: new_id(),
                grant_id: g.id.clone(),
                resource: g.resource.clone(),
                subject_key: (changed.len() == 1).then(|| changed[0].0.clone()),
                subjects: changed.len() as i64,
                fields: fields.clone(),
                purpose: g.purpose.clone(),
            },
        )
        .await?;
    }
    let mut stored = 0;
    for chunk in changed.chunks(PAGE as usize) {
        let keys: Vec<String> = chunk.iter().map(|(k, _)| k.clone()).collect();
        let applicants = crate::sharing::applicants_of_keys(store, &keys).await?;
        let rows: Vec<Found> = chunk
            .iter()
            .map(|(k, o)| Found {
                subject_key: k.clone(),
                outcome: o.clone(),
                person_id: applicants
                    .get(k)
                    .and_then(|a| a.strip_prefix("person:"))
                    .map(str::to_string),
            })
            .collect();
        stored += rows.len();
        store
            .write(
                meta.clone(),
                Command::Policies(Box::new(Cmd::Findings(Box::new(Findings {
                    policy_id: policy_id.to_string(),
                    policy_name: v.input.name.clone(),
                    version: pv,
                    rows,
                    read: read.clone(),
                    purpose: v.input.purpose.clone(),
                    department: dept.as_ref().map(|d| d.name.clone()),
                })))),
            )
            .await?;
    }
    Ok(stored)
}

/// The follower that finds the eligible: a policy's publication evaluates every subject of
/// its audience; a profile's change evaluates that subject under each published policy
/// whose rule or amount reads what changed — a load of shared data (its resource), a
/// licence issued or changing status (`licences`), a case decided (`results`). At least
/// once: `find` stores only what changed and the writer notifies a subject once.
pub struct Finder {
    pub store: std::sync::Arc<Store>,
}

/// What changed in some profiles: the subjects, by what their policies must read.
#[derive(Default)]
struct Changed {
    /// resource code → subject keys loaded
    groups: BTreeMap<String, Vec<String>>,
    licences: Vec<String>,
    results: Vec<String>,
}

impl Finder {
    async fn collect(&self, e: &crate::outbox::StoredEvent, c: &mut Changed) -> Result<()> {
        let store = &self.store;
        match e.kind.as_str() {
            "data.loaded" => {
                let resource = e.body["resource"].as_str().unwrap_or_default();
                let version = e.body["version"].as_i64().unwrap_or_default();
                let keys: Vec<String> =
                    sqlx::query_scalar("SELECT subject_key FROM data_records WHERE resource = $1 AND version = $2")
                        .bind(resource)
                        .bind(version)
                        .fetch_all(&store.read)
                        .await?;
                c.groups.entry(resource.to_string()).or_default().extend(keys);
            }
            "licence.issued" | "licence.status_changed" => {
                let id = e.stream_id.strip_prefix("licence:").unwrap_or(&e.stream_id);
                let row: Option<(String, String)> =
                    sqlx::query_as("SELECT holder_kind, holder_index FROM licences WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&store.read)
                        .await?;
                if let Some((kind, index)) = row {
                    let audience = if kind == "person" {
                        Audience::Person
                    } else {
                        Audience::Enterprise
                    };
                    c.licences.push(crate::sharing::key_of_index(audience, &index));
                }
            }
            "case.decided" => {
                let id = e.stream_id.strip_prefix("case:").unwrap_or(&e.stream_id);
                let applicant: Option<String> = sqlx::query_scalar("SELECT applicant FROM cases WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&store.read)
                    .await?;
                if let Some(who) = applicant.as_deref().and_then(yiwang_core::mandates::Subject::parse)
                    && let Some((_, subject)) = subject_of(store, &who).await?
                {
                    c.results.push(subject.key);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Each published policy evaluated for the subjects whose change it reads.
    async fn on_changes(&self, c: Changed) -> Result<()> {
        for (p, v) in published(&self.store).await? {
            let schema = schema(&self.store, p.audience).await?;
            let Ok(compiled) =
                yiwang_core::policies::compile_policy(&schema, &v.input.rule, &v.input.amount, &Default::default())
            else {
                continue;
            };
            let needs = needs_of(&compiled);
            let mut keys: Vec<String> = needs
                .groups
                .iter()
                .filter_map(|g| c.groups.get(g))
                .flatten()
                .cloned()
                .collect();
            if needs.licences {
                keys.extend(c.licences.iter().cloned());
            }
            if needs.results {
                keys.extend(c.results.iter().cloned());
            }
            let prefix = if p.audience == Audience::Person { "p:" } else { "e:" };
            keys.retain(|k| k.starts_with(prefix));
            keys.sort();
            keys.dedup();
            if !keys.is_empty() {
                find(&self.store, &p.id, Some(&keys)).await?;
            }
        }
        Ok(())
    }
}

impl crate::outbox::Subscriber for Finder {
    fn name(&self) -> &str {
        "policies"
    }
    fn kinds(&self) -> Option<&[&str]> {
        Some(&[
            "data.loaded",
            "policy.published",
            "licence.issued",
            "licence.status_changed",
            "case.decided",
        ])
    }
    async fn handle(&self, events: &[crate::outbox::StoredEvent], _upto: i64) -> std::result::Result<(), String> {
        let mut changed = Changed::default();
        for e in events {
            let r = if e.kind == "policy.published" {
                match e.stream_id.strip_prefix("policy:") {
                    Some(id) => find(&self.store, id, None).await.map(|_| ()),
                    None => Ok(()),
                }
            } else {
                self.collect(e, &mut changed).await
            };
            if let Err(err) = r {
                tracing::warn!(event = e.seq, kind = e.kind.as_str(), error = %err, "finding the eligible failed");
            }
        }
        if let Err(err) = self.on_changes(changed).await {
            tracing::warn!(error = %err, "finding the eligible after profile changes failed");
        }
        Ok(())
    }
}

/// Counts of what the findings hold for a policy (eligible, ineligible, undetermined,
/// failed) and the amount of the eligible.
pub async fn finding_counts(store: &Store, policy_id: &str) -> Result<BTreeMap<String, (i64, i64)>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT outcome, COUNT(*), CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM eligibility WHERE policy_id = $1 GROUP BY outcome",
    )
    .bind(policy_id)
    .fetch_all(&store.read)
    .await?;
    Ok(rows.into_iter().map(|(o, n, a)| (o, (n, a))).collect())
}
