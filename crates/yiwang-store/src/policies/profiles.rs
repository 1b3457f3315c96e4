//! Profiles (一人一档 / 一企一档): the attributes the platform holds for a subject — identity
//! (birth date and sex from the resident ID number, GB 11643), the licences it holds in
//! force, the items it was granted, and the rows of shared data resources — each with its
//! source and freshness, typed against the audience's schema.

use super::*;
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet};
use yiwang_core::policies::{Profile, Schema};

/// The schema of an audience: the built-in attributes and every resource of the audience.
pub async fn schema(store: &Store, audience: Audience) -> Result<Schema> {
    let mut s = Schema::builtin(audience);
    for r in crate::sharing::resources(store).await? {
        if r.audience == audience {
            let fields: Vec<_> = r
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.ty, f.zh.clone(), f.en.clone()))
                .collect();
            s.add_group(&r.code, &fields);
        }
    }
    Ok(s)
}

/// A shared row as read: its resource, values and when it was loaded.
type Row = (String, serde_json::Map<String, Value>, i64);

/// What a batch of subjects needs read: the resources and built-ins a rule names.
#[derive(Debug, Clone, Default)]
pub struct Needs {
    pub groups: BTreeSet<String>,
    pub licences: bool,
    pub results: bool,
}

impl Needs {
    pub fn of_paths<'a>(paths: impl IntoIterator<Item = &'a String>) -> Needs {
        let mut n = Needs::default();
        for p in paths {
            match p.split_once('.') {
                Some((g, _)) => {
                    n.groups.insert(g.to_string());
                }
                None if p == "licences" => n.licences = true,
                None if p == "results" => n.results = true,
                None => {}
            }
        }
        n
    }
    /// Everything (a person's own profile).
    pub fn all(schema: &Schema) -> Needs {
        let paths: Vec<String> = schema.attrs().iter().map(|a| a.path.clone()).collect();
        Needs::of_paths(&paths)
    }
}

/// A subject as the profiles table knows it.
#[derive(Debug, Clone)]
pub struct Subject {
    pub key: String,
    pub birth_date: Option<NaiveDate>,
    pub male: Option<bool>,
}

/// A page of subjects of an audience after `after` (keyset by key).
pub async fn subjects_page(store: &Store, audience: Audience, after: &str, limit: i64) -> Result<Vec<Subject>> {
    let rows = sqlx::query(
        "SELECT subject_key, birth_date, male FROM profiles WHERE audience = $1 AND subject_key > $2
         ORDER BY subject_key LIMIT $3",
    )
    .bind(audience.as_str())
    .bind(after)
    .bind(limit)
    .fetch_all(&store.read)
    .await?;
    rows.into_iter().map(to_subject).collect()
}

pub(super) fn to_subject(r: sqlx::any::AnyRow) -> Result<Subject> {
    let birth: Option<String> = r.try_get("birth_date")?;
    let male: Option<i64> = r.try_get("male")?;
    Ok(Subject {
        key: r.try_get("subject_key")?,
        birth_date: birth.and_then(|b| b.parse().ok()),
        male: male.map(|m| m != 0),
    })
}

/// The subject a registered person is: their key, and birth date and sex from their ID
/// number when no shared data has named them yet.
pub async fn subject_of_person(store: &Store, person_id: &str) -> Result<Option<Subject>> {
    let Some(p) = crate::accounts::person(&store.read, person_id).await? else {
        return Ok(None);
    };
    let index: String = sqlx::query_scalar("SELECT id_number_index FROM persons WHERE id = $1")
        .bind(person_id)
        .fetch_one(&store.read)
        .await?;
    let key = format!("p:{index}");
    let row = sqlx::query("SELECT subject_key, birth_date, male FROM profiles WHERE subject_key = $1")
        .bind(&key)
        .fetch_optional(&store.read)
        .await?;
    if let Some(r) = row {
        return Ok(Some(to_subject(r)?));
    }
    let id = crate::accounts::reveal(store, &p, yiwang_core::datause::PersonalField::IdNumber)?;
    let checked = yiwang_core::ids::check_resident_id("id_number", &id).ok();
    Ok(Some(Subject {
        key,
        birth_date: checked.as_ref().map(|c| c.birth_date),
        male: checked.as_ref().map(|c| c.male),
    }))
}

/// Profiles of a batch of subjects, with what `needs` asks for (shared rows of the named
/// resources in one statement; licences and results per subject only where needed).
pub async fn profiles_of(
    store: &Store,
    schema: &Schema,
    subjects: &[Subject],
    needs: &Needs,
    today: NaiveDate,
) -> Result<Vec<Profile>> {
    let mut rows: BTreeMap<&str, Vec<Row>> = BTreeMap::new();
    if !needs.groups.is_empty() && !subjects.is_empty() {
        let groups: Vec<&String> = needs.groups.iter().collect();
        let mut m = crate::db::Marks::of(store.engine);
        let mut sql =
            String::from("SELECT resource, subject_key, data_enc, updated_at FROM data_records WHERE resource IN (");
        m.push_list(&mut sql, groups.len());
        sql.push_str(") AND subject_key IN (");
        m.push_list(&mut sql, subjects.len());
        sql.push(')');
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for g in &groups {
            q = q.bind(g.as_str());
        }
        for s in subjects {
            q = q.bind(&s.key);
        }
        for r in q.fetch_all(&store.read).await? {
            let code: String = r.try_get("resource")?;
            let key: String = r.try_get("subject_key")?;
            let enc: String = r.try_get("data_enc")?;
            let plain = store.pii.open(&format!("data_records:{code}:{key}"), &enc)?;
            let v = serde_json::from_str(&plain).map_err(internal)?;
            if let Some(s) = subjects.iter().find(|s| s.key == key) {
                rows.entry(s.key.as_str())
                    .or_default()
                    .push((code, v, r.try_get("updated_at")?));
            }
        }
    }
    let mut out = Vec::with_capacity(subjects.len());
    for s in subjects {
        let mut p = Profile::new(schema);
        let identity_at = Some(crate::now_ms());
        if schema.audience() == Audience::Person {
            if let Some(b) = s.birth_date {
                set(
                    &mut p,
                    schema,
                    "age",
                    json!(yiwang_core::policies::whole_years(b, today)),
                )?;
            }
            if let Some(m) = s.male {
                set(&mut p, schema, "sex", json!(if m { "male" } else { "female" }))?;
            }
            if let Some(at) = identity_at {
                p.set_as_of(schema, "age", at);
                p.set_as_of(schema, "sex", at);
            }
        }
        if needs.licences {
            let types: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT type_code FROM licences WHERE holder_index = $1 AND status = 'valid' ORDER BY type_code",
            )
            .bind(s.key.get(2..).unwrap_or_default())
            .fetch_all(&store.read)
            .await?;
            set(&mut p, schema, "licences", json!(types))?;
        }
        if needs.results {
            let items: Vec<String> = match crate::sharing::person_of_key(store, &s.key).await? {
                Some(person) => {
                    sqlx::query_scalar(
                        "SELECT DISTINCT item_code FROM cases WHERE applicant = $1 AND decision = 'approve' ORDER BY item_code",
                    )
                    .bind(format!("person:{person}"))
                    .fetch_all(&store.read)
                    .await?
                }
                None => vec![],
            };
            set(&mut p, schema, "results", json!(items))?;
        }
        for (code, values, at) in rows.remove(s.key.as_str()).unwrap_or_default() {
            for (field, v) in values {
                let path = format!("{code}.{field}");
                if schema.find(&path).is_some() {
                    set(&mut p, schema, &path, v)?;
                }
            }
            p.set_as_of(schema, &code, at);
        }
        out.push(p);
    }
    Ok(out)
}

fn set(p: &mut Profile, schema: &Schema, path: &str, v: Value) -> Result<()> {
    // A stored value that no longer fits its field (the resource's definition changed) is
    // left out: the rule then sees it missing, never a wrong value.
    if let Err(e) = p.set(schema, path, &v) {
        tracing::warn!(
            path,
            rule = e.rule.as_str(),
            "a stored value does not fit its attribute"
        );
    }
    Ok(())
}

/// One attribute of a profile as its subject sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Attribute {
    pub path: String,
    pub zh: String,
    pub en: String,
    pub value: Value,
    pub source: String,
    pub as_of_ms: Option<i64>,
}

/// A person's own profile (一人一档): every attribute the platform holds for them, with its
/// source and freshness (their own data: no data-use record).
pub async fn own_profile(store: &Store, person_id: &str) -> Result<Vec<Attribute>> {
    let Some(subject) = subject_of_person(store, person_id).await? else {
        return Ok(vec![]);
    };
    let schema = schema(store, Audience::Person).await?;
    let profile = profiles_of(
        store,
        &schema,
        std::slice::from_ref(&subject),
        &Needs::all(&schema),
        crate::today(),
    )
    .await?
    .pop()
    .ok_or_else(|| internal("no profile"))?;
    Ok(schema
        .attrs()
        .iter()
        .filter_map(|a| {
            let value = profile.get(&schema, &a.path)?;
            let root = a.path.split('.').next().unwrap_or(&a.path);
            Some(Attribute {
                path: a.path.clone(),
                zh: a.zh.clone(),
                en: a.en.clone(),
                value,
                source: a.source.clone(),
                as_of_ms: profile.as_of(&schema, root),
            })
        })
        .collect())
}
