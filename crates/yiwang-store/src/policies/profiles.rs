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

/// A subject's profile row, made when it registers (or when shared data first names it);
/// an existing row is kept.
pub(crate) async fn profile_in(
    ctx: &mut WriteCtx<'_>,
    key: &str,
    audience: Audience,
    birth: Option<(NaiveDate, bool)>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO profiles (subject_key, audience, birth_date, male, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (subject_key) DO NOTHING",
    )
    .bind(key)
    .bind(audience.as_str())
    .bind(birth.map(|(d, _)| d.to_string()))
    .bind(birth.map(|(_, m)| i16::from(m)))
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
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

/// The subject a registered person or legal person is, with its audience: its key, and for
/// a person birth date and sex (from the profile, else from their ID number).
pub async fn subject_of(store: &Store, who: &yiwang_core::mandates::Subject) -> Result<Option<(Audience, Subject)>> {
    use yiwang_core::mandates::Subject as Who;
    let (audience, index) = match who {
        Who::Person(id) => {
            let index: Option<String> = sqlx::query_scalar("SELECT id_number_index FROM persons WHERE id = $1")
                .bind(id)
                .fetch_optional(&store.read)
                .await?;
            (Audience::Person, index)
        }
        Who::Legal(id) => {
            let index: Option<Option<String>> =
                sqlx::query_scalar("SELECT uscc_index FROM legal_persons WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&store.read)
                    .await?;
            (Audience::Enterprise, index.flatten())
        }
    };
    let Some(index) = index else { return Ok(None) };
    let key = crate::sharing::key_of_index(audience, &index);
    let row = sqlx::query("SELECT subject_key, birth_date, male FROM profiles WHERE subject_key = $1")
        .bind(&key)
        .fetch_optional(&store.read)
        .await?;
    if let Some(r) = row {
        return Ok(Some((audience, to_subject(r)?)));
    }
    let mut subject = Subject {
        key,
        birth_date: None,
        male: None,
    };
    if let Who::Person(id) = who
        && let Some(p) = crate::accounts::person(&store.read, id).await?
    {
        let number = crate::accounts::reveal(store, &p, yiwang_core::datause::PersonalField::IdNumber)?;
        if let Ok(c) = yiwang_core::ids::check_resident_id("id_number", &number) {
            subject.birth_date = Some(c.birth_date);
            subject.male = Some(c.male);
        }
    }
    Ok(Some((audience, subject)))
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
    let mut licences = if needs.licences {
        licences_held(store, subjects).await?
    } else {
        BTreeMap::new()
    };
    let mut results = if needs.results {
        items_granted(store, subjects).await?
    } else {
        BTreeMap::new()
    };
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
            let types = licences.remove(s.key.as_str()).unwrap_or_default();
            set(&mut p, schema, "licences", json!(types))?;
        }
        if needs.results {
            let items = results.remove(s.key.as_str()).unwrap_or_default();
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

/// The licence types each subject holds in force, for a batch in one statement (a
/// subject's key is its holder index with the audience's prefix).
async fn licences_held<'a>(store: &Store, subjects: &'a [Subject]) -> Result<BTreeMap<&'a str, Vec<String>>> {
    let mut out: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    if subjects.is_empty() {
        return Ok(out);
    }
    let mut sql = String::from(
        "SELECT DISTINCT holder_index, type_code FROM licences WHERE status = 'valid' AND holder_index IN (",
    );
    crate::db::Marks::of(store.engine).push_list(&mut sql, subjects.len());
    sql.push_str(") ORDER BY holder_index, type_code");
    let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
    for s in subjects {
        q = q.bind(s.key.get(2..).unwrap_or_default());
    }
    for (index, t) in q.fetch_all(&store.read).await? {
        if let Some(s) = subjects.iter().find(|s| s.key.get(2..) == Some(index.as_str())) {
            out.entry(s.key.as_str()).or_default().push(t);
        }
    }
    Ok(out)
}

/// The items each registered subject was granted (cases decided `approve`), for a batch:
/// the applicants found in one statement per kind, their cases in one more.
async fn items_granted<'a>(store: &Store, subjects: &'a [Subject]) -> Result<BTreeMap<&'a str, Vec<String>>> {
    let keys: Vec<String> = subjects.iter().map(|s| s.key.clone()).collect();
    let applicants = crate::sharing::applicants_of_keys(store, &keys).await?;
    let mut out: BTreeMap<&str, Vec<String>> = subjects.iter().map(|s| (s.key.as_str(), vec![])).collect();
    if applicants.is_empty() {
        return Ok(out);
    }
    let mut sql =
        String::from("SELECT DISTINCT applicant, item_code FROM cases WHERE decision = 'approve' AND applicant IN (");
    crate::db::Marks::of(store.engine).push_list(&mut sql, applicants.len());
    sql.push_str(") ORDER BY applicant, item_code");
    let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
    for a in applicants.values() {
        q = q.bind(a);
    }
    for (applicant, item) in q.fetch_all(&store.read).await? {
        for s in subjects {
            if applicants.get(&s.key) == Some(&applicant)
                && let Some(v) = out.get_mut(s.key.as_str())
            {
                v.push(item.clone());
            }
        }
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

/// A subject's own profile (一人一档 / 一企一档, the latter seen by a person acting for the
/// enterprise): every attribute the platform holds, with its source and freshness (their
/// own data: no data-use record).
pub async fn own_profile(store: &Store, who: &yiwang_core::mandates::Subject) -> Result<Vec<Attribute>> {
    let Some((audience, subject)) = subject_of(store, who).await? else {
        return Ok(vec![]);
    };
    let schema = schema(store, audience).await?;
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
