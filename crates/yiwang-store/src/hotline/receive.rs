//! Receiving (受理): checked, numbered, sealed.

use super::*;

// ---------------------------------------------------------------------------------------
// Receiving (受理)
// ---------------------------------------------------------------------------------------

/// Who received it: an agent (`staff:…`, any channel; the input's, else `channel`) or the
/// public form (always `web`), for the hotline of `centre_region` (the province's home
/// region).
#[derive(Debug, Clone)]
pub struct Received {
    pub channel: core::Channel,
    /// The input may name the channel (agents).
    pub channel_from_input: bool,
    pub by: String,
    pub centre_region: String,
    /// The matter's words ([`core::matter_terms`] of the search's segmentation), for
    /// duplicates and hotspots.
    pub terms: Vec<String>,
    /// When it came in, where not now: a record brought over from another system, the demo's
    /// history (never from a request's body).
    pub at: Option<i64>,
}

/// Takes a request: checked field by field, numbered at once. A request outside 12345's
/// remit (`redirect`) is recorded as directed there and closed. The same `request_id` again
/// returns the ticket it made (nothing twice).
pub async fn receive(store: &Store, meta: Meta, input: &TicketInput, how: Received) -> Result<Written> {
    let region = crate::regions::get(&store.read, &input.region_code).await?;
    let within = yiwang_core::access::region_within(&how.centre_region, &input.region_code);
    let checked = core::check_input(input, within, region.is_some())?;
    if let Some(r) = input.request_id.as_deref()
        && let Some(id) = by_request(store, r).await?
    {
        return Ok(Written {
            value: json!({ "id": id, "existing": true }),
            replayed: true,
        });
    }
    let now = how.at.unwrap_or_else(crate::now_ms);
    let day = crate::date_of(now);
    let serial = crate::numbers::next(
        store,
        crate::numbers::Counter::CaseSerial {
            prefix: format!("12345-{}", day.format("%Y%m%d")),
        },
    )
    .await?;
    let id = format!("{}{serial:05}", day.format("%Y%m%d"));
    let channel = match (how.channel_from_input, checked.channel) {
        (true, Some(c)) => c,
        _ => how.channel,
    };
    let state = if checked.redirect.is_some() {
        State::Redirected
    } else {
        State::Received
    };
    let entry = json!({ "action": "receive", "at": now, "by": meta.actor, "channel": channel,
                        "redirect": checked.redirect });
    let ticket = Ticket {
        id: id.clone(),
        channel,
        category: checked.category,
        priority: checked.priority,
        state,
        region_code: input.region_code.clone(),
        address: input
            .address
            .as_ref()
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty()),
        content: input.content.trim().to_string(),
        confidential: input.confidential,
        redirect: checked.redirect.map(|r| r.as_str().to_string()),
        department_id: None,
        assisting: vec![],
        due_at: None,
        dispute_until: None,
        unresolved: false,
        reply: None,
        merged_into: None,
        extension_days: None,
        extension_reason: None,
        supervised_level: 0,
        article_id: None,
        history: vec![entry],
        received_by: how.by,
        created_at: now,
        updated_at: now,
    };
    let phone = core::phone_key(&input.caller_phone);
    let new = NewTicket {
        caller_name: store
            .pii
            .seal(&format!("tickets.caller_name:{id}"), input.caller_name.trim()),
        caller_phone: store.pii.seal(&format!("tickets.caller_phone:{id}"), &phone),
        phone_index: store.pii.index("phone", &phone),
        request_id: input.request_id.clone(),
        terms: how.terms,
        ticket,
    };
    store
        .write(meta, Command::Hotline(Box::new(Cmd::Create(Box::new(new)))))
        .await
}

async fn by_request(store: &Store, request_id: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT id FROM tickets WHERE request_id = $1")
        .bind(request_id)
        .fetch_optional(&store.read)
        .await?)
}

pub(super) async fn create_cmd(ctx: &mut WriteCtx<'_>, n: &NewTicket) -> Result<Value> {
    let t = &n.ticket;
    // A retry that raced its first attempt: the first one's ticket.
    if let Some(r) = &n.request_id {
        let existing: Option<String> = sqlx::query_scalar("SELECT id FROM tickets WHERE request_id = $1")
            .bind(r)
            .fetch_optional(&mut *ctx.conn)
            .await?;
        if let Some(id) = existing {
            return Ok(json!({ "id": id, "existing": true }));
        }
    }
    ctx.append(
        &stream(&t.id),
        Expect::New,
        if t.state == State::Redirected {
            "ticket.redirected"
        } else {
            "ticket.received"
        },
        &json!({ "id": t.id, "channel": t.channel, "category": t.category, "priority": t.priority,
                 "region_code": t.region_code, "confidential": t.confidential, "redirect": t.redirect,
                 "content_sm3": hex::encode(yiwang_crypto::sm3(t.content.as_bytes())) }),
    )
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO tickets ({COLUMNS}, request_id, caller_name, caller_phone, caller_phone_index, terms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24,
                 $25, $26, $27, $28, $29, $30)"
    )))
    .bind(&t.id)
    .bind(t.channel.as_str())
    .bind(t.category.as_str())
    .bind(t.priority.as_str())
    .bind(t.state.as_str())
    .bind(&t.region_code)
    .bind(&t.address)
    .bind(&t.content)
    .bind(i16::from(t.confidential))
    .bind(&t.redirect)
    .bind(&t.department_id)
    .bind("[]")
    .bind(t.due_at)
    .bind(t.dispute_until)
    .bind(i16::from(t.unresolved))
    .bind(&t.reply)
    .bind(&t.merged_into)
    .bind(t.extension_days)
    .bind(&t.extension_reason)
    .bind(t.supervised_level)
    .bind(&t.article_id)
    .bind(serde_json::to_string(&t.history).map_err(internal)?)
    .bind(&t.received_by)
    .bind(t.created_at)
    .bind(t.updated_at)
    .bind(&n.request_id)
    .bind(&n.caller_name)
    .bind(&n.caller_phone)
    .bind(&n.phone_index)
    .bind(n.terms.join(" "))
    .execute(&mut *ctx.conn)
    .await?;
    // Hotspots: the day's count by region and category, the week's words.
    let day = crate::date_of(t.created_at);
    bump(ctx, day, &t.region_code, t.category.as_str(), "received", 1).await?;
    bump_terms(ctx, week_of(day), "", &n.terms).await?;
    Ok(json!({ "id": t.id, "state": t.state }))
}
