//! Aggregation for the national platform.

use super::*;

// ---------------------------------------------------------------------------------------
// National aggregation (STANDARDS §2)
// ---------------------------------------------------------------------------------------

/// One case as the national platform aggregates it: acceptance, process rows, special
/// procedures, result and materials (STANDARDS §2 "Data aggregated nationally per case").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NationalRecord {
    pub acceptance: Value,
    pub process: Vec<Value>,
    pub special_procedures: Vec<Value>,
    pub result: Option<Value>,
    pub materials: Vec<Value>,
    /// The 一件事 a sub-case belongs to (国办发〔2025〕24号: bundle cases are reported with
    /// their members): the bundle case's number, the bundle, the member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<Value>,
}

/// The national records of the cases received in [from, to] (dates in the case's region).
/// The applicant's identifier is included: the national platform is an authorised
/// recipient of case data.
pub async fn national(store: &Store, from: NaiveDate, to: NaiveDate) -> Result<Vec<NationalRecord>> {
    let sql = format!(
        "SELECT {COLS} FROM cases WHERE received_on >= $1 AND received_on <= $2 AND state <> 'draft' ORDER BY id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&store.read)
        .await?;
    let ids: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String, _>("id"))
        .collect::<std::result::Result<_, _>>()?;
    let bundles = bundle_membership(store, &ids).await?;
    let mut out = vec![];
    for r in rows {
        let c = read::<CaseRow, _>(&r)?;
        let (app, code) = application(store, &c.id)
            .await?
            .ok_or_else(|| sql_err("case without application"))?;
        let version = crate::catalog::version_of(store, &c.entry_id, c.item_version).await?;
        let elements = version.map(|v| v.elements);
        let timeline = timeline(store, &c.id).await?;
        let (agent, principal) = match c.submitted_by.split_once('>') {
            Some((a, p)) => (Some(a.to_string()), p.to_string()),
            None => (None, c.submitted_by.clone()),
        };
        let submitted_at = timeline.first().map(|t| t.at_ms).unwrap_or(c.created_at);
        let accepted_at = timeline.iter().find(|t| t.event == "accepted").map(|t| t.at_ms);
        let acceptance = json!({
            "case_number": c.id, "item_code": c.item_code, "basic_code": c.item_code.get(19..31),
            "item_version": c.item_version, "item_name": c.item_name,
            "applicant_name": c.applicant_name, "applicant_code": code,
            "applicant_kind": c.subject().map(|s| match s { Subject::Person(_) => "person", Subject::Legal(_) => "legal" }),
            "submitted_by": principal, "agent": agent, "assisted": c.assisted, "channel": c.channel,
            "department_id": c.department_id, "region_code": c.region_code,
            "apply_time_ms": submitted_at, "accept_time_ms": accepted_at, "accepted_on": c.accepted_on,
            "promised_completion_on": c.due_on, "statutory_completion_on": c.statutory_due_on,
            "route": c.route,
        });
        let mut process = vec![];
        let mut start = submitted_at;
        for t in &timeline {
            let Some(action) = core::national_action_code(&t.event) else {
                continue;
            };
            let opinion = t
                .body
                .get("opinion")
                .or_else(|| t.body.get("reason"))
                .or_else(|| t.body.get("result"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            process.push(
                json!({ "case_number": c.id, "step_name": t.zh, "action_code": action, "event": t.event,
                "start_ms": start, "end_ms": t.at_ms, "opinion": opinion, "handler": t.actor, "party": t.party }),
            );
            start = t.at_ms;
        }
        let special_procedures = suspensions(store, &c.id)
            .await?
            .into_iter()
            .map(|s| {
                json!({ "case_number": c.id, "kind": s.kind,
                "kind_code": Some(s.kind.code()), "reason": s.reason,
                "start_on": s.from_on, "end_on": s.to_on, "result": s.result })
            })
            .collect();
        let result = c.concluded_at.or(c.decided_at).map(|_| {
            let licence_type = elements
                .as_ref()
                .and_then(|e| e.result.as_ref())
                .map(|r| r.name.clone());
            json!({ "case_number": c.id, "completion_time_ms": c.concluded_at, "decided_time_ms": c.decided_at,
                "decision": c.decision, "state": c.state,
                "result_kind": elements.as_ref().and_then(|e| e.result.as_ref()).map(|r| r.kind.code()),
                "licence_name": licence_type, "licence_id": c.licence_id,
                "delivered_by_post": c.delivery.as_ref().map(|d| d["method"] == "post"),
                "satisfaction": Value::Null })
        });
        let materials = elements
            .as_ref()
            .map(|e| {
                e.materials
                    .iter()
                    .filter_map(|m| {
                        let p = app.materials.get(&m.key);
                        let outstanding = c.outstanding.contains(&m.key);
                        (p.is_some() || outstanding).then(|| {
                            json!({ "case_number": c.id, "name": m.name, "key": m.key,
                                "how_received": if outstanding { "tolerated" } else { p.map(|p| p.kind.as_str()).unwrap_or("") },
                                "count": p.map(|p| p.files.len().max(1)).unwrap_or(0) })
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(NationalRecord {
            acceptance,
            process,
            special_procedures,
            result,
            materials,
            bundle: bundles.get(&c.id).cloned(),
        });
    }
    Ok(out)
}

/// The bundle case and member of each of these cases that is a 一件事's sub-case.
async fn bundle_membership(store: &Store, ids: &[String]) -> Result<std::collections::HashMap<String, Value>> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let mut sql =
            "SELECT m.case_id, m.member_key, b.id, b.bundle_code, b.bundle_version, b.name, b.lead_department_id
             FROM bundle_case_members m JOIN bundle_cases b ON b.id = m.bundle_case_id WHERE m.case_id IN ("
                .to_string();
        crate::db::Marks::of(store.engine).push_list(&mut sql, chunk.len());
        sql.push(')');
        let mut q =
            sqlx::query_as::<_, (String, String, String, String, i64, String, String)>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id);
        }
        for (case_id, member, bc, code, version, name, lead) in q.fetch_all(&store.read).await? {
            out.insert(
                case_id,
                json!({ "bundle_case_number": bc, "bundle_code": code, "bundle_version": version,
                        "bundle_name": name, "member_key": member, "lead_department_id": lead }),
            );
        }
    }
    Ok(out)
}
