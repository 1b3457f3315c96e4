//! The personal data-use log: each read of a person's data by staff or a system is
//! recorded (row for the person's own view, and a ledger event, so it is tamper-evident)
//! BEFORE the data is returned.

use crate::accounts::{self, PersonRow, PersonView};
use crate::ledger::Expect;
use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, new_id};
use serde_json::{Value, json};
use sqlx::Row;
use yiwang_core::datause::{DataUse, PersonalField};

#[derive(Debug, Clone)]
pub enum Cmd {
    Record(Box<DataUse>),
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    let Cmd::Record(u) = cmd;
    ctx.append(
        &format!("person:{}:data_use", u.person_id),
        Expect::Any,
        "person.data_used",
        &**u,
    )
    .await?;
    sqlx::query(
        "INSERT INTO data_use (id, person_id, actor_kind, actor_id, actor_name, department, fields, unmasked, purpose, case_id, at_ms,
           resources) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&u.id)
    .bind(&u.person_id)
    .bind(&u.actor_kind)
    .bind(&u.actor_id)
    .bind(&u.actor_name)
    .bind(&u.department)
    .bind(serde_json::to_string(&u.fields).expect("serialisable"))
    .bind(i16::from(u.unmasked))
    .bind(&u.purpose)
    .bind(&u.case_id)
    .bind(ctx.now_ms)
    .bind(serde_json::to_string(&u.resources).expect("serialisable"))
    .execute(&mut *ctx.conn)
    .await?;
    if u.unmasked {
        accounts::security(
            ctx,
            "person.unmasked",
            &u.person_id,
            json!({ "fields": u.fields, "by": u.actor_id, "purpose": u.purpose, "case_id": u.case_id }),
        )
        .await?;
    }
    Ok(json!({ "id": u.id }))
}

/// Who reads, as the person will see it.
#[derive(Debug, Clone)]
pub struct Reader {
    /// `staff` or `system`.
    pub kind: String,
    pub id: String,
    pub name: String,
    pub department: Option<String>,
}

/// Records the read, then returns the person's view with `unmask` fields in full.
pub async fn read_person(
    store: &Store,
    meta: Meta,
    reader: &Reader,
    person: &PersonRow,
    unmask: &[PersonalField],
    purpose: Option<&str>,
    case_id: Option<&str>,
) -> Result<PersonView> {
    let mut p = yiwang_core::error::Problems::new();
    yiwang_core::datause::check_purpose(&mut p, purpose, case_id);
    p.finish()?;
    // The log names what was disclosed: a masked read shows the name and the masked ID
    // number and phone (the address not at all); an unmasking shows the fields asked for.
    let unmasked = !unmask.is_empty();
    let fields = if unmasked {
        unmask.to_vec()
    } else {
        vec![PersonalField::Name, PersonalField::IdNumber, PersonalField::Phone]
    };
    record(
        store,
        meta,
        reader,
        &person.id,
        fields,
        unmasked,
        purpose.unwrap_or(""),
        case_id,
    )
    .await?;
    accounts::view(store, person, unmask)
}

/// Records a use of a person's data (before it is shown): who, which fields, seen in full
/// or masked, for what.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    store: &Store,
    meta: Meta,
    reader: &Reader,
    person_id: &str,
    fields: Vec<PersonalField>,
    unmasked: bool,
    purpose: &str,
    case_id: Option<&str>,
) -> Result<()> {
    let u = DataUse {
        id: new_id(),
        person_id: person_id.to_string(),
        actor_kind: reader.kind.clone(),
        actor_id: reader.id.clone(),
        actor_name: reader.name.clone(),
        department: reader.department.clone(),
        fields,
        unmasked,
        purpose: purpose.trim().to_string(),
        case_id: case_id.map(str::to_string).filter(|c| !c.is_empty()),
        resources: vec![],
        at_ms: crate::now_ms(),
    };
    store.write(meta, Command::DataUse(Cmd::Record(Box::new(u)))).await?;
    Ok(())
}

/// Records a read of a person's shared data (`resource·field` names) for a purpose, before
/// it is used (PIPL §44: the person may know who used what, for what).
pub async fn record_shared(
    store: &Store,
    meta: Meta,
    reader: &Reader,
    person_id: &str,
    resources: Vec<String>,
    purpose: &str,
) -> Result<()> {
    let u = DataUse {
        id: new_id(),
        person_id: person_id.to_string(),
        actor_kind: reader.kind.clone(),
        actor_id: reader.id.clone(),
        actor_name: reader.name.clone(),
        department: reader.department.clone(),
        fields: vec![],
        unmasked: false,
        purpose: purpose.trim().to_string(),
        case_id: None,
        resources,
        at_ms: crate::now_ms(),
    };
    store.write(meta, Command::DataUse(Cmd::Record(Box::new(u)))).await?;
    Ok(())
}

/// The uses of a person's data, newest first.
pub async fn of_person(store: &Store, person_id: &str, limit: i64) -> Result<Vec<DataUse>> {
    let rows = sqlx::query(
        "SELECT id, person_id, actor_kind, actor_id, actor_name, department, fields, unmasked, purpose, case_id, at_ms,
           resources FROM data_use WHERE person_id = $1 ORDER BY at_ms DESC, id DESC LIMIT $2",
    )
    .bind(person_id)
    .bind(limit)
    .fetch_all(&store.read)
    .await?;
    rows.into_iter()
        .map(|r| {
            let fields: String = r.try_get("fields")?;
            Ok(DataUse {
                id: r.try_get("id")?,
                person_id: r.try_get("person_id")?,
                actor_kind: r.try_get("actor_kind")?,
                actor_id: r.try_get("actor_id")?,
                actor_name: r.try_get("actor_name")?,
                department: r.try_get("department")?,
                fields: serde_json::from_str(&fields).unwrap_or_default(),
                unmasked: r.try_get::<i64, _>("unmasked")? != 0,
                purpose: r.try_get("purpose")?,
                case_id: r.try_get("case_id")?,
                resources: serde_json::from_str(&r.try_get::<String, _>("resources")?).unwrap_or_default(),
                at_ms: r.try_get("at_ms")?,
            })
        })
        .collect()
}
