//! The edit form.

use super::*;
use crate::pages::Page;

// ---------------------------------------------------------------------------------------
// The edit form
// ---------------------------------------------------------------------------------------

/// Multi-valued choices (checkbox groups).
pub(super) const MULTI: &[&str] = &["service_objects", "handling_forms", "online_depth"];
/// Lists of words, one per line or separated by 、.
pub(super) const WORD_LISTS: &[&str] = &[
    "aliases",
    "keywords",
    "themes",
    "joint_agencies",
    "intermediary_services",
];
/// Lists edited as rows.
pub(super) const ROW_LISTS: &[(&str, &[&str])] = &[
    ("legal_basis", &["law"]),
    ("materials", &["key", "name"]),
    ("fees", &["name"]),
    ("steps", &["name"]),
    ("faq", &["q"]),
];
/// Booleans (checkboxes; unchecked means false).
pub(super) const BOOLS: &[&str] = &[
    "online",
    "online_payment",
    "post_delivery",
    "in_hall",
    "appointment",
    "self_service",
];
/// Elements edited as JSON in the advanced box.
pub(super) const ADVANCED: &[&str] = &["questions", "form", "handling_items", "special_procedures"];
/// Whole-number leaves.
pub(super) const NUMBERS: &[&str] = &[
    "value",
    "visits",
    "originals",
    "copies",
    "days",
    "check_days",
    "amount_fen",
];

/// An optional leaf: empty means absent.
pub(super) fn optional_leaf(path: &str) -> bool {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    matches!(
        leaf,
        "local_code"
            | "name_en"
            | "entrusting_department"
            | "visit_reason"
            | "quantity_limit"
            | "pc_url"
            | "mobile_url"
            | "note"
            | "paper_spec"
            | "notes"
            | "sign_seal"
            | "licence_type"
            | "amount_fen"
            | "reduction_basis"
            | "doc_no"
            | "article"
            | "check_method"
    ) || (path.starts_with("materials[") && leaf == "basis")
}

/// Splits `materials[2].source.channel` into segments.
pub(super) fn segments(path: &str) -> Vec<Seg> {
    let mut out = vec![];
    for part in path.split('.') {
        match part.split_once('[') {
            Some((name, rest)) => {
                out.push(Seg::Key(name.to_string()));
                if let Ok(i) = rest.trim_end_matches(']').parse() {
                    out.push(Seg::Index(i));
                }
            }
            None => out.push(Seg::Key(part.to_string())),
        }
    }
    out
}

pub(super) enum Seg {
    Key(String),
    Index(usize),
}

pub(super) fn set_path(root: &mut Value, path: &str, v: Value) {
    let segs = segments(path);
    let mut cur = root;
    for (i, s) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        match s {
            Seg::Key(k) => {
                if !cur.is_object() {
                    *cur = Value::Object(Map::new());
                }
                let m = cur.as_object_mut().expect("object");
                if last {
                    m.insert(k.clone(), v);
                    return;
                }
                cur = m.entry(k.clone()).or_insert(Value::Null);
            }
            Seg::Index(n) => {
                if !cur.is_array() {
                    *cur = Value::Array(vec![]);
                }
                let a = cur.as_array_mut().expect("array");
                while a.len() <= *n {
                    a.push(Value::Null);
                }
                if last {
                    a[*n] = v;
                    return;
                }
                cur = &mut a[*n];
            }
        }
    }
}

/// What the form shows: a value per JSON path, the checked values of each checkbox
/// group, the advanced JSON, and the proposed dates.
#[derive(Debug, Clone, Default)]
pub(super) struct FormState {
    pub(super) values: BTreeMap<String, String>,
    pub(super) multi: BTreeMap<String, Vec<String>>,
    pub(super) advanced: String,
}

pub(super) fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        Value::Null => {}
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        Value::Bool(b) => {
            out.insert(prefix.to_string(), if *b { "1".into() } else { String::new() });
        }
        Value::Number(n) => {
            out.insert(prefix.to_string(), n.to_string());
        }
    }
}

impl FormState {
    pub(super) fn of(e: &Elements, dates: (Option<i64>, Option<i64>)) -> FormState {
        let mut m = e.to_map();
        let mut st = FormState::default();
        for k in MULTI {
            if let Some(Value::Array(a)) = m.remove(*k) {
                st.multi.insert(
                    k.to_string(),
                    a.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
                );
            }
        }
        for k in WORD_LISTS {
            if let Some(Value::Array(a)) = m.remove(*k) {
                let words: Vec<&str> = a.iter().filter_map(|x| x.as_str()).collect();
                st.values.insert(k.to_string(), words.join("\n"));
            }
        }
        let mut adv = Map::new();
        for k in ADVANCED {
            if let Some(v) = m.remove(*k) {
                adv.insert(k.to_string(), v);
            }
        }
        st.advanced = serde_json::to_string_pretty(&Value::Object(adv)).unwrap_or_default();
        flatten("", &Value::Object(m), &mut st.values);
        if let Some(d) = dates.0 {
            st.values
                .insert("_effective_from".into(), store::date_of(d).to_string());
        }
        if let Some(d) = dates.1 {
            st.values.insert("_cancel_on".into(), store::date_of(d).to_string());
        }
        st
    }

    pub(super) fn from_form(pairs: &[(String, String)]) -> FormState {
        let mut st = FormState::default();
        for (k, v) in pairs {
            match k.as_str() {
                "_csrf" | "_base_version" => {}
                "_advanced" => st.advanced = v.clone(),
                k if MULTI.contains(&k) => st.multi.entry(k.to_string()).or_default().push(v.clone()),
                _ => {
                    st.values.insert(k.clone(), v.clone());
                }
            }
        }
        st
    }

    /// The elements the form describes, laid over `current` (elements the form does not
    /// carry stay as they are).
    pub(super) fn to_elements(&self, current: &Elements) -> Result<(Elements, Dates), Vec<FieldError>> {
        let mut errors = vec![];
        let mut root = Value::Object(current.to_map());
        let obj = root.as_object_mut().expect("object");
        for (list, _) in ROW_LISTS {
            obj.insert(list.to_string(), Value::Array(vec![]));
        }
        for k in MULTI {
            let vals: Vec<Value> = self
                .multi
                .get(*k)
                .map(|v| v.iter().map(|x| Value::String(x.clone())).collect())
                .unwrap_or_default();
            obj.insert(k.to_string(), Value::Array(vals));
        }
        for k in WORD_LISTS {
            let words: Vec<Value> = self
                .values
                .get(*k)
                .map(|s| {
                    s.lines()
                        .map(str::trim)
                        .filter(|w| !w.is_empty())
                        .map(|w| Value::String(w.to_string()))
                        .collect()
                })
                .unwrap_or_default();
            obj.insert(k.to_string(), Value::Array(words));
        }
        for b in BOOLS {
            obj.insert(
                b.to_string(),
                Value::Bool(self.values.get(*b).is_some_and(|v| v == "1")),
            );
        }
        // Rows: dropped when their identifying fields are all empty.
        let mut rows: BTreeMap<(String, usize), Vec<(&String, &String)>> = BTreeMap::new();
        for (k, v) in &self.values {
            if let Some((list, _)) = ROW_LISTS.iter().find(|(l, _)| k.starts_with(&format!("{l}[")))
                && let Some(rest) = k.strip_prefix(&format!("{list}["))
                && let Some((i, _)) = rest.split_once(']')
                && let Ok(i) = i.parse::<usize>()
            {
                rows.entry((list.to_string(), i)).or_default().push((k, v));
            }
        }
        let mut next_index: BTreeMap<String, usize> = BTreeMap::new();
        for ((list, _), fields) in rows {
            let ids = ROW_LISTS
                .iter()
                .find(|(l, _)| *l == list)
                .map(|(_, ids)| *ids)
                .unwrap_or(&[]);
            let blank = fields.iter().all(|(k, v)| {
                let leaf = k.rsplit('.').next().unwrap_or(k);
                !ids.contains(&leaf) || v.trim().is_empty()
            });
            if blank {
                continue;
            }
            let n = next_index.entry(list.clone()).or_insert(0);
            let mut row = Value::Object(Map::new());
            for (k, v) in fields {
                let sub = k.split_once("].").map(|x| x.1).unwrap_or("");
                if sub.is_empty() {
                    continue;
                }
                set_path(&mut row, sub, leaf_value(k, v));
            }
            // Booleans of a row: present only when checked.
            if list == "fees" && row.get("reducible").is_none() {
                set_path(&mut row, "reducible", Value::Bool(false));
            }
            if list == "materials" {
                for f in ["blank_form", "sample"] {
                    if row
                        .get(f)
                        .and_then(|x| x.get("url"))
                        .is_none_or(|u| u.is_null() || u == "")
                    {
                        row.as_object_mut().expect("row").remove(f);
                    }
                }
                if row.get("key").and_then(|k| k.as_str()).is_none_or(|k| k.is_empty()) {
                    set_path(&mut row, "key", Value::String(format!("m{}", *n + 1)));
                }
            }
            if let Some(Value::Array(a)) = root.get_mut(&list) {
                a.push(row);
            }
            *n += 1;
        }
        // Scalars and nested objects.
        for (k, v) in &self.values {
            if k.starts_with('_')
                || BOOLS.contains(&k.as_str())
                || WORD_LISTS.contains(&k.as_str())
                || ROW_LISTS.iter().any(|(l, _)| k.starts_with(&format!("{l}[")))
            {
                continue;
            }
            set_path(&mut root, k, leaf_value(k, v));
        }
        // Optional objects whose main field is empty are absent.
        for (obj, main) in [
            ("statutory_limit", "value"),
            ("promised_limit", "value"),
            ("commitment", "text"),
            ("result", "name"),
        ] {
            let empty = root
                .get(obj)
                .and_then(|o| o.get(main))
                .is_none_or(|m| m.is_null() || m == "");
            if empty {
                root.as_object_mut()
                    .expect("object")
                    .insert(obj.to_string(), Value::Null);
            }
        }
        if let Some(Value::Object(c)) = root.get_mut("commitment")
            && c.get("check_days").is_none_or(|d| d.is_null())
        {
            c.insert("check_days".into(), Value::from(0));
        }
        if !self.advanced.trim().is_empty() {
            match serde_json::from_str::<Value>(&self.advanced) {
                Ok(Value::Object(m)) => {
                    for (k, v) in m {
                        if ADVANCED.contains(&k.as_str()) {
                            root.as_object_mut().expect("object").insert(k, v);
                        } else {
                            errors.push(FieldError::new(
                                "_advanced",
                                "catalog.advanced_key",
                                format!(
                                    "高级要素中只能包含：{}；「{k}」请在上面的表单中填写",
                                    ADVANCED.join("、")
                                ),
                                format!("the advanced box holds {} only; edit '{k}' above", ADVANCED.join(", ")),
                            ));
                        }
                    }
                }
                Ok(_) => errors.push(FieldError::new(
                    "_advanced",
                    "json",
                    "高级要素应为一个 JSON 对象",
                    "the advanced box holds one JSON object",
                )),
                Err(e) => errors.push(FieldError::new(
                    "_advanced",
                    "json.syntax",
                    format!("JSON 格式错误（第 {} 行第 {} 列）", e.line(), e.column()),
                    format!("malformed JSON at line {} column {}", e.line(), e.column()),
                )),
            }
        }
        let date = |k: &str, errors: &mut Vec<FieldError>| -> Option<chrono::NaiveDate> {
            let v = self.values.get(k).map(|s| s.trim()).unwrap_or("");
            if v.is_empty() {
                return None;
            }
            match v.parse() {
                Ok(d) => Some(d),
                Err(_) => {
                    errors.push(FieldError::new(
                        k.trim_start_matches('_'),
                        "date.format",
                        "日期格式应为 YYYY-MM-DD",
                        "a date is written YYYY-MM-DD",
                    ));
                    None
                }
            }
        };
        let dates = Dates {
            effective_from: date("_effective_from", &mut errors),
            cancel_on: date("_cancel_on", &mut errors),
        };
        match core::elements_from_value(root, "") {
            Ok(e) if errors.is_empty() => Ok((e, dates)),
            Ok(_) => Err(errors),
            Err(d) => {
                errors.extend(d.errors.into_iter().map(|mut f| {
                    f.field = f.field.trim_start_matches('.').to_string();
                    f
                }));
                Err(errors)
            }
        }
    }
}

pub(super) fn leaf_value(path: &str, v: &str) -> Value {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    let t = v.trim();
    if t.is_empty() && optional_leaf(path) {
        return Value::Null;
    }
    if NUMBERS.contains(&leaf) {
        if t.is_empty() {
            return Value::Null;
        }
        if let Ok(n) = t.parse::<i64>() {
            return Value::from(n);
        }
    }
    if leaf == "reducible" {
        return Value::Bool(t == "1");
    }
    Value::String(t.to_string())
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_edit.html")]
pub(super) struct EditPage {
    pub(super) base: Base,
    pub(super) entry: store::Entry,
    pub(super) st: FormState,
    pub(super) errors: Vec<FieldError>,
    pub(super) base_version: i64,
    pub(super) locked: Vec<String>,
    pub(super) is_item: bool,
}

crate::page!(EditPage);

impl EditPage {
    pub(super) fn v(&self, path: &str) -> &str {
        self.st.values.get(path).map(String::as_str).unwrap_or("")
    }
    pub(super) fn checked(&self, path: &str) -> bool {
        self.v(path) == "1"
    }
    pub(super) fn has(&self, group: &str, value: &str) -> bool {
        self.st.multi.get(group).is_some_and(|v| v.iter().any(|x| x == value))
    }
    /// The error messages of a field (and of the fields under it).
    pub(super) fn err(&self, path: &str) -> String {
        self.errors
            .iter()
            .filter(|e| {
                e.field == path || e.field.starts_with(&format!("{path}.")) || e.field.starts_with(&format!("{path}["))
            })
            .map(|e| self.base.lang.problem(e))
            .collect::<Vec<_>>()
            .join("；")
    }
    /// Is the element of this path locked (an item inherits it from the basic entry)?
    pub(super) fn locked(&self, path: &str) -> bool {
        let element = path.split(['.', '[']).next().unwrap_or(path);
        self.is_item && self.locked.iter().any(|l| l == element)
    }
    /// Row indices of a list: the rows there are, and one empty row to add.
    pub(super) fn rows(&self, list: &str) -> Vec<usize> {
        let prefix = format!("{list}[");
        let n = self
            .st
            .values
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter_map(|r| r.split_once(']').and_then(|(i, _)| i.parse::<usize>().ok()))
            .max()
            .map(|m| m + 1)
            .unwrap_or(0);
        let extra = if self.locked(list) { 0 } else { 1 };
        (0..n + extra).collect()
    }
    pub(super) fn p(&self, list: &str, i: &usize, field: &str) -> String {
        format!("{list}[{i}].{field}")
    }
    pub(super) fn opts(&self, which: &str) -> Vec<(&'static str, &'static str)> {
        let en = self.base.lang.is_en();
        macro_rules! o {
            ($t:ty) => {
                <$t>::ALL
                    .iter()
                    .map(|x| (x.as_str(), if en { x.en() } else { x.zh() }))
                    .collect()
            };
        }
        match which {
            "item_type" => o!(core::ItemType),
            "case_kind" => o!(core::CaseKind),
            "unit" => o!(core::TimeUnit),
            "tongban" => o!(core::TongbanScope),
            "power_source" => o!(core::PowerSource),
            "service_objects" => o!(core::ServiceObject),
            "handling_forms" => o!(core::HandlingForm),
            "online_depth" => o!(core::OnlineDepth),
            "kind" => o!(core::MaterialKind),
            "form" => o!(core::MaterialForm),
            "necessity" => o!(core::Necessity),
            "channel" => o!(core::SourceChannel),
            "role" => o!(core::StepRole),
            "result_kind" => o!(core::ResultKind),
            _ => vec![],
        }
    }
    pub(super) fn sel(&self, path: &str, value: &str, default: &str) -> bool {
        let v = self.v(path);
        if v.is_empty() { value == default } else { v == value }
    }
}

pub(super) async fn render_edit(
    s: &AppState,
    base: Base,
    entry: store::Entry,
    st: FormState,
    errors: Vec<FieldError>,
) -> ApiResult<Response> {
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        EditPage {
            base,
            base_version: entry.latest_version,
            is_item: entry.kind == EntryKind::Item,
            locked: s.store.config.catalog.locked.clone(),
            entry,
            st,
            errors,
        },
    )
        .into_response())
}

pub(super) async fn edit_page(State(s): State<AppState>, Path(id): Path<String>, base: Base) -> ApiResult<Response> {
    let entry = load_entry(&s, &id).await?;
    let v = current_version(&s, &entry).await?;
    // A new draft proposes its own effective date (the published one's is past); a planned
    // cancellation carries over until changed.
    let effective = if entry.open_version == Some(v.version) {
        v.effective_from
    } else {
        None
    };
    let st = FormState::of(&v.elements, (effective, v.cancel_on));
    render_edit(&s, base, entry, st, vec![]).await
}

pub(super) async fn current_version(s: &AppState, e: &store::Entry) -> ApiResult<store::Version> {
    let v = e.open_version.or(e.published_version).unwrap_or(e.latest_version);
    store::version_of(&s.store, &e.id, v)
        .await?
        .ok_or_else(|| ApiError::not_found("version"))
}

pub(super) async fn edit_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    base: Base,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let base_version = pairs
        .iter()
        .find(|(k, _)| k == "_base_version")
        .and_then(|(_, v)| v.parse::<i64>().ok());
    let st = FormState::from_form(&pairs);
    let entry = load_entry(&s, &id).await?;
    let current = current_version(&s, &entry).await?;
    let (elements, dates) = match st.to_elements(&current.elements) {
        Ok(x) => x,
        Err(errors) => return render_edit(&s, base, entry, st, errors).await,
    };
    let r = s
        .store
        .write(
            ctx.meta(),
            catalog_cmd(Cmd::SaveDraft {
                entry_id: id.clone(),
                elements,
                dates,
                base_version,
            }),
        )
        .await;
    match r {
        Ok(_) => {
            let lang = base.lang;
            render_entry(
                &s,
                &ctx,
                base,
                &id,
                EntryQuery::default(),
                vec![],
                Some(lang.pick("草稿已保存", "Draft saved").into()),
            )
            .await
        }
        Err(e) => {
            let errors = ApiError::from(e)
                .into_field_errors()
                .into_iter()
                .map(|mut f| {
                    f.field = f.field.trim_start_matches("elements.").to_string();
                    f
                })
                .collect();
            render_edit(&s, base, entry, st, errors).await
        }
    }
}
