//! The dispatch catalogue and the reads.

use super::*;

// ---------------------------------------------------------------------------------------
// The dispatch catalogue
// ---------------------------------------------------------------------------------------

/// The dispatch catalogue as published versions.
const CATALOGS: crate::versioned::Doc = crate::versioned::Doc {
    table: "dispatch_catalogs",
    column: "entries",
    stream: "dispatch_catalog",
    kind: "hotline.catalog_published",
    base: 0,
};

/// The dispatch catalogue in force: its version and lines (version 0: empty).
pub async fn catalog(store: &Store) -> Result<(i64, Vec<DispatchEntry>)> {
    Ok(CATALOGS.latest(store).await?.unwrap_or((0, vec![])))
}

/// Publishes a new version of the dispatch catalogue (every unit named must exist).
pub async fn set_catalog(store: &Store, meta: Meta, entries: Vec<DispatchEntry>) -> Result<Written> {
    core::check_catalog(&entries)?;
    let mut errors = vec![];
    for (i, e) in entries.iter().enumerate() {
        if crate::refdata::department(store, &e.department_id).await?.is_none() {
            errors.push(FieldError::new(
                format!("entries[{i}].department_id"),
                "department.unknown",
                "单位不存在",
                "no such unit",
            ));
        }
        if crate::regions::get(&store.read, &e.region_code).await?.is_none() {
            errors.push(FieldError::new(
                format!("entries[{i}].region_code"),
                "region.unknown",
                "行政区划不存在",
                "no such region",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::invalid(errors).into());
    }
    store
        .write(meta, Command::Hotline(Box::new(Cmd::SetCatalog(entries))))
        .await
}

pub(super) async fn set_catalog_cmd(ctx: &mut WriteCtx<'_>, entries: &[DispatchEntry]) -> Result<Value> {
    CATALOGS.publish(ctx, &entries).await
}

/// The catalogue's suggestion for a ticket: the lines that match its text, best first.
pub async fn suggestions(store: &Store, t: &Ticket) -> Result<Vec<DispatchEntry>> {
    let (_, catalog) = catalog(store).await?;
    Ok(core::suggest(&catalog, &t.region_code, &t.content)
        .into_iter()
        .map(|(e, _)| e.clone())
        .collect())
}

// ---------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------

pub async fn ticket(store: &Store, id: &str) -> Result<Option<Ticket>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tickets WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&store.read)
    .await?
    .as_ref()
    .map(read)
    .transpose()
}

/// The tickets of the centre in some states (its board: to dispatch, sent back, to call
/// back), oldest first, within a region.
pub async fn centre_tickets(store: &Store, states: &[State], region: &str, limit: i64) -> Result<Vec<Ticket>> {
    let mut out = vec![];
    for st in states {
        let rows: Vec<Ticket> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM tickets WHERE state = $1 ORDER BY created_at, id LIMIT $2"
        )))
        .bind(st.as_str())
        .bind(limit)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect::<Result<_>>()?;
        out.extend(
            rows.into_iter()
                .filter(|t| yiwang_core::access::region_within(region, &t.region_code)),
        );
    }
    out.sort_by_key(|t| t.created_at);
    Ok(out)
}

/// A unit's open tickets — as main unit, assisting unit or the superior a late one was
/// escalated to —, earliest deadline first (through `ticket_units`' open rows).
pub async fn unit_tickets(store: &Store, department_id: &str, limit: i64) -> Result<Vec<Ticket>> {
    let cols = COLUMNS
        .split(',')
        .map(|c| format!("t.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {cols} FROM ticket_units u JOIN tickets t ON t.id = u.ticket_id
         WHERE u.department_id = $1 AND u.open = 1 ORDER BY u.due_at, u.ticket_id LIMIT $2"
    )))
    .bind(department_id)
    .bind(limit)
    .fetch_all(&store.read)
    .await?
    .iter()
    .map(read)
    .collect()
}

/// A ticket's progress for whoever holds its number and the caller's phone (else none: a
/// wrong phone and an unknown number look the same).
pub async fn follow(store: &Store, id: &str, phone: &str) -> Result<Option<Progress>> {
    let index = store.pii.index("phone", &core::phone_key(phone));
    type Row = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        i64,
        i64,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, category, state, redirect, reply, merged_into, created_at, updated_at FROM tickets
         WHERE id = $1 AND caller_phone_index = $2",
    )
    .bind(id)
    .bind(index)
    .fetch_optional(&store.read)
    .await?;
    let Some((id, c, mut st, redirect, mut reply, merged_into, created_at, mut updated_at)) = row else {
        return Ok(None);
    };
    // 并单: every person gets the answer of the ticket theirs was merged into.
    if let Some(m) = &merged_into
        && let Some(t) = ticket(store, m).await?
    {
        st = t.state.as_str().to_string();
        reply = t.reply;
        updated_at = updated_at.max(t.updated_at);
    }
    Ok(Some(Progress {
        id,
        category: Category::parse(&c).ok_or_else(|| internal("category"))?,
        state: State::parse(&st).ok_or_else(|| internal("state"))?,
        redirect,
        reply,
        merged_into,
        created_at,
        updated_at,
    }))
}

/// The units that see a ticket and how: `main`, `assisting`, `superior`.
pub async fn ticket_units(store: &Store, id: &str) -> Result<Vec<(String, String)>> {
    Ok(
        sqlx::query_as(
            "SELECT department_id, role FROM ticket_units WHERE ticket_id = $1 ORDER BY role, department_id",
        )
        .bind(id)
        .fetch_all(&store.read)
        .await?,
    )
}

/// The tickets merged into this one (并单), oldest first.
pub async fn merged_from(store: &Store, id: &str) -> Result<Vec<Ticket>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tickets WHERE merged_into = $1 ORDER BY created_at, id LIMIT 200"
    )))
    .bind(id)
    .fetch_all(&store.read)
    .await?
    .iter()
    .map(read)
    .collect()
}

/// A ticket's words as stored.
async fn terms_of(store: &Store, id: &str) -> Result<Vec<String>> {
    let terms: Option<String> = sqlx::query_scalar("SELECT terms FROM tickets WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.read)
        .await?;
    Ok(words(&terms.unwrap_or_default()))
}

fn words(terms: &str) -> Vec<String> {
    terms.split(' ').filter(|w| !w.is_empty()).map(str::to_string).collect()
}

/// What a candidate is compared by: id, words, address, unit, merged into.
type Candidate = (String, String, Option<String>, Option<String>, Option<String>);

/// The 300 most recent tickets of a ticket's region from the last 60 days in some states
/// (through the index over region, state and time), other than itself: only what they are
/// compared by, so the lookup costs the same whatever the tickets' histories hold.
async fn alike(store: &Store, t: &Ticket, states: &str) -> Result<Vec<Candidate>> {
    let since = t.created_at - DUPLICATE_DAYS * 86_400_000;
    let rows: Vec<Candidate> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, terms, address, department_id, merged_into FROM tickets
         WHERE region_code = $1 AND {states} AND created_at >= $2 ORDER BY created_at DESC LIMIT 300"
    )))
    .bind(&t.region_code)
    .bind(since)
    .fetch_all(&store.read)
    .await?;
    Ok(rows.into_iter().filter(|c| c.0 != t.id).collect())
}

/// The units that handled closed tickets like this one (派单 from past tickets): of the
/// region's recent closed tickets at least `duplicate_min_percent` alike, the units they
/// went to, most often first (at most 3).
pub async fn past_units(store: &Store, t: &Ticket) -> Result<Vec<(String, u32)>> {
    let mine = terms_of(store, &t.id).await?;
    let min = store.config.hotline.duplicate_min_percent;
    let mut votes: std::collections::HashMap<String, u32> = Default::default();
    for (_, terms, _, unit, _) in alike(store, t, "state = 'closed'").await? {
        if let Some(d) = unit
            && core::likeness(&mine, &words(&terms), false) >= min
        {
            *votes.entry(d).or_default() += 1;
        }
    }
    let mut out: Vec<(String, u32)> = votes.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out.truncate(3);
    Ok(out)
}

/// An open ticket like a new one, and how alike (per cent).
#[derive(Debug, Clone, Serialize)]
pub struct Duplicate {
    pub ticket: Ticket,
    pub likeness: u32,
}

/// How far back open tickets are compared with a new one.
const DUPLICATE_DAYS: i64 = 60;

/// The open tickets a ticket not yet dispatched may be a repeat of (重复诉求并单): those of
/// the same region from the last 60 days, not merged themselves, at least
/// `duplicate_min_percent` alike by their words and address ([`core::likeness`]); best
/// first, at most 5. Read through the index over (region, state, time), the most recent 300.
pub async fn duplicates(store: &Store, t: &Ticket) -> Result<Vec<Duplicate>> {
    let mine = terms_of(store, &t.id).await?;
    let min = store.config.hotline.duplicate_min_percent;
    let norm = |a: &Option<String>| {
        a.as_deref()
            .map(|x| x.split_whitespace().collect::<String>())
            .filter(|x| !x.is_empty())
    };
    let mut found: Vec<(String, u32)> = vec![];
    for (id, terms, address, _, merged) in
        alike(store, t, "state IN ('received', 'dispatched', 'disputed', 'replied')").await?
    {
        let same_address = norm(&t.address).is_some() && norm(&t.address) == norm(&address);
        let likeness = core::likeness(&mine, &words(&terms), same_address);
        if merged.is_none() && likeness >= min {
            found.push((id, likeness));
        }
    }
    // Best first (newest first among equals: the candidates come newest first).
    found.sort_by_key(|f| std::cmp::Reverse(f.1));
    found.truncate(5);
    let mut out = vec![];
    for (id, likeness) in found {
        if let Some(ticket) = ticket(store, &id).await? {
            out.push(Duplicate { ticket, likeness });
        }
    }
    Ok(out)
}

/// The caller's name and phone, opened for the centre (always) or a unit — main, assisting
/// or superior — (never for a confidential ticket: the caller asked units not to see them).
pub async fn caller(store: &Store, id: &str, party: Party) -> Result<Option<(String, String)>> {
    let row: Option<(String, String, i16)> =
        sqlx::query_as("SELECT caller_name, caller_phone, confidential FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_optional(&store.read)
            .await?;
    let Some((name, phone, confidential)) = row else {
        return Err(not_found(id));
    };
    if party != Party::Centre && confidential != 0 {
        return Ok(None);
    }
    Ok(Some((
        store.pii.open(&format!("tickets.caller_name:{id}"), &name)?,
        store.pii.open(&format!("tickets.caller_phone:{id}"), &phone)?,
    )))
}

/// The caller's name and phone opened for a reader, recorded first in the data-use log of
/// the registered person the phone belongs to, if any (个人信息保护法: every staff view of a
/// person's data is theirs to see); none for a unit when the caller asked for
/// confidentiality.
pub async fn caller_seen(
    store: &Store,
    meta: Meta,
    reader: &crate::datause::Reader,
    id: &str,
    party: Party,
) -> Result<Option<(String, String)>> {
    let Some((name, phone)) = caller(store, id, party).await? else {
        return Ok(None);
    };
    let index: Option<String> = sqlx::query_scalar("SELECT caller_phone_index FROM tickets WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.read)
        .await?;
    if let Some(index) = index
        && let Some(person) = crate::accounts::person_id_by_phone_index(&store.read, &index).await?
    {
        use yiwang_core::datause::PersonalField;
        crate::datause::record(
            store,
            meta,
            reader,
            &person,
            vec![PersonalField::Name, PersonalField::Phone],
            true,
            &format!("12345 工单 {id}"),
            None,
        )
        .await?;
    }
    Ok(Some((name, phone)))
}
