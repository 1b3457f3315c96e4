//! Import and export of the catalogue.

use super::*;

// ---------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------

/// What one import op did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Created,
    Changed,
    Unchanged,
}

pub(super) async fn import_chunk(ctx: &mut WriteCtx<'_>, chunk: &ImportChunk) -> Result<Value> {
    let mut outcomes = vec![];
    for op in &chunk.ops {
        if let ImportOp::Element(d) = op {
            core::check_data_element(d)?;
            let changed = save_element(ctx, d).await?;
            outcomes.push(if changed { Outcome::Changed } else { Outcome::Unchanged });
        }
    }
    let known = element_codes(ctx.conn).await?;
    for op in &chunk.ops {
        let (outcome, entry) = match op {
            ImportOp::Element(_) => continue,
            ImportOp::Basic(doc) => {
                let elements = normalized(&doc.elements);
                match prepare_basic(ctx.conn, ctx.catalog, &known, &doc.basic_code, &elements, "").await? {
                    None => {
                        let e = create_entry(
                            ctx,
                            EntryKind::Basic,
                            &doc.basic_code,
                            &doc.basic_code,
                            None,
                            &chunk.region_code,
                            None,
                            &elements,
                            &Dates::default(),
                        )
                        .await?;
                        (Outcome::Created, e)
                    }
                    Some(e) => (update_from_import(ctx, &e, &elements).await?, e),
                }
            }
            ImportOp::Item { doc, department_id } => {
                let p = prepare_item(ctx.conn, ctx.catalog, &known, doc, department_id, None, "").await?;
                match p.existing {
                    None => {
                        let e = create_entry(
                            ctx,
                            EntryKind::Item,
                            &p.code,
                            &doc.basic_code,
                            Some(department_id),
                            &p.region_code,
                            Some(p.level),
                            &p.elements,
                            &Dates::default(),
                        )
                        .await?;
                        (Outcome::Created, e)
                    }
                    Some(e) => {
                        check_entry_elements(ctx.conn, ctx.catalog, &known, &e, &p.elements, "").await?;
                        (update_from_import(ctx, &e, &p.elements).await?, e)
                    }
                }
            }
        };
        if chunk.submit && outcome != Outcome::Unchanged {
            let e = load(ctx.conn, &entry.id).await?;
            act(ctx, &e, &Action::Submit).await?;
        }
        outcomes.push(outcome);
    }
    Ok(json!({ "outcomes": outcomes }))
}

pub(super) async fn update_from_import(ctx: &mut WriteCtx<'_>, e: &Entry, elements: &Elements) -> Result<Outcome> {
    let cur = current(ctx.conn, e).await?;
    if cur.elements == *elements {
        return Ok(Outcome::Unchanged);
    }
    if e.open_state == Some(VersionState::Submitted) {
        return Err(not_editable(e));
    }
    let dates = Dates {
        effective_from: None,
        cancel_on: if e.open_version.is_some() {
            cur.cancel_on.map(date_of)
        } else {
            None
        },
    };
    save_draft(ctx, e, elements, &dates).await?;
    Ok(Outcome::Changed)
}

pub(super) fn not_editable(e: &Entry) -> StoreError {
    DomainError::conflict(
        "state",
        "catalog.not_editable",
        format!(
            "「{}」（{}）已提交审核，导入不能修改它；请先撤回或等待审核",
            e.name, e.code
        ),
        format!(
            "'{}' ({}) awaits review and cannot be changed by an import; recall it or wait for the review",
            e.name, e.code
        ),
    )
    .into()
}

/// A problem found in an import, placed where the user can find it: the JSON path, and
/// for spreadsheets also the sheet, row and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportProblem {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub rule: String,
    pub zh: String,
    pub en: String,
}

impl ImportProblem {
    pub fn of(f: FieldError) -> ImportProblem {
        ImportProblem {
            path: f.field,
            sheet: None,
            row: None,
            column: None,
            rule: f.rule,
            zh: f.zh,
            en: f.en,
        }
    }
    /// "sheet 申请材料, row 7, column 名称: …" (or the JSON path).
    pub fn place_zh(&self) -> String {
        match (&self.sheet, self.row) {
            (Some(s), Some(r)) => format!(
                "工作表「{s}」第 {r} 行{}",
                self.column.as_ref().map(|c| format!("「{c}」列")).unwrap_or_default()
            ),
            _ => self.path.clone(),
        }
    }
    pub fn place_en(&self) -> String {
        match (&self.sheet, self.row) {
            (Some(s), Some(r)) => format!(
                "sheet '{s}', row {r}{}",
                self.column
                    .as_ref()
                    .map(|c| format!(", column '{c}'"))
                    .unwrap_or_default()
            ),
            _ => self.path.clone(),
        }
    }
}

/// How an import went: nothing is written when `problems` is not empty.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub ok: bool,
    pub dry_run: bool,
    pub problems: Vec<ImportProblem>,
    pub data_elements: usize,
    pub created: usize,
    pub changed: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Check only; write nothing.
    pub dry_run: bool,
    /// Submit created and changed entries for review.
    pub submit: bool,
    /// The region new basic entries belong to (the portal's province).
    pub region_code: String,
    /// Entries written per command.
    pub chunk: usize,
}

/// Progress of an import: (phase, done, total).
pub type Progress<'a> = &'a (dyn Fn(&str, usize, usize) + Sync);

/// Imports a catalogue document: every entry is checked first, against the database and
/// the rest of the document, and every problem reported at once; only a document without
/// problems is written, in chunks of `opts.chunk` entries (each chunk one transaction).
/// Unchanged entries are skipped, so importing the same document again changes nothing.
pub async fn import(
    store: &Store,
    meta: Meta,
    doc: &CatalogDoc,
    opts: &ImportOptions,
    progress: Progress<'_>,
) -> Result<ImportReport> {
    let mut report = ImportReport {
        dry_run: opts.dry_run,
        ..Default::default()
    };
    let mut doc = doc.clone();
    for b in &mut doc.basic {
        b.elements.normalize();
    }
    let doc = &doc;
    let mut problems: Vec<FieldError> = vec![];
    if doc.format != core::DOC_FORMAT || doc.version != core::DOC_VERSION {
        problems.push(FieldError::new(
            "format",
            "import.format",
            format!("文件格式应为 {} 第 {} 版", core::DOC_FORMAT, core::DOC_VERSION),
            format!(
                "the document format is {} version {}",
                core::DOC_FORMAT,
                core::DOC_VERSION
            ),
        ));
    }
    let mut conn = store.read.acquire().await?;
    let mut known = element_codes(&mut conn).await?;
    let mut seen_elements = HashSet::new();
    for (i, d) in doc.data_elements.iter().enumerate() {
        if let Err(e) = core::check_data_element(d) {
            problems.extend(with_prefix(&format!("data_elements[{i}]"), e).errors);
        }
        if !seen_elements.insert(d.code.clone()) {
            problems.push(duplicate(&format!("data_elements[{i}].code"), &d.code));
        }
        known.insert(d.code.clone());
    }
    let total = doc.basic.len() + doc.items.len();
    let mut ops: Vec<ImportOp> = doc.data_elements.iter().cloned().map(ImportOp::Element).collect();
    let mut basic_in_doc: HashMap<&str, &Elements> = HashMap::new();
    let mut codes = HashSet::new();
    let mut done = 0;
    for (i, b) in doc.basic.iter().enumerate() {
        let at = format!("basic[{i}]");
        if !codes.insert(b.basic_code.clone()) {
            problems.push(duplicate(&format!("{at}.basic_code"), &b.basic_code));
        }
        basic_in_doc.insert(&b.basic_code, &b.elements);
        match prepare_basic(
            &mut conn,
            &store.config.catalog,
            &known,
            &b.basic_code,
            &b.elements,
            &at,
        )
        .await
        {
            Err(StoreError::Domain(e)) => problems.extend(e.errors),
            Err(e) => return Err(e),
            Ok(existing) => {
                if let Some(e) = &existing {
                    let cur = current(&mut conn, e).await?;
                    if cur.elements == b.elements {
                        report.unchanged += 1;
                    } else if e.open_state == Some(VersionState::Submitted) {
                        problems.push(not_editable_at(&at, e));
                    } else {
                        report.changed += 1;
                    }
                } else {
                    report.created += 1;
                }
                ops.push(ImportOp::Basic(Box::new(b.clone())));
            }
        }
        done += 1;
        progress("check", done, total);
    }
    for (i, it) in doc.items.iter().enumerate() {
        let at = format!("items[{i}]");
        let dept = match resolve_department(store, it, &at).await? {
            Ok(d) => d,
            Err(f) => {
                problems.push(f);
                done += 1;
                progress("check", done, total);
                continue;
            }
        };
        let in_doc = basic_in_doc.get(it.basic_code.as_str()).copied();
        match prepare_item(&mut conn, &store.config.catalog, &known, it, &dept, in_doc, &at).await {
            Err(StoreError::Domain(e)) => problems.extend(e.errors),
            Err(e) => return Err(e),
            Ok(p) => {
                if !codes.insert(p.code.clone()) {
                    problems.push(duplicate(&format!("{at}.implementation_code"), &p.code));
                }
                match &p.existing {
                    Some(e) => {
                        let cur = current(&mut conn, e).await?;
                        if cur.elements == p.elements {
                            report.unchanged += 1;
                        } else if e.open_state == Some(VersionState::Submitted) {
                            problems.push(not_editable_at(&at, e));
                        } else {
                            report.changed += 1;
                        }
                    }
                    None => report.created += 1,
                }
                ops.push(ImportOp::Item {
                    doc: Box::new(it.clone()),
                    department_id: dept,
                });
            }
        }
        done += 1;
        progress("check", done, total);
    }
    drop(conn);
    // 一件事 name items in force: checked against the catalogue as it is before this
    // import (what the import changes is only submitted for review).
    let mut bundle_codes = HashSet::new();
    let mut bundles_to_save = vec![];
    for (i, b) in doc.bundles.iter().enumerate() {
        let at = format!("bundles[{i}]");
        if !bundle_codes.insert(b.code.clone()) {
            problems.push(duplicate(&format!("{at}.code"), &b.code));
        }
        match crate::bundles::check(store, b).await {
            Err(StoreError::Domain(e)) => problems.extend(with_prefix(&at, e).errors),
            Err(e) => return Err(e),
            Ok(()) => match crate::bundles::current_doc(store, &b.code).await? {
                Some((cur, _)) if cur == *b => report.unchanged += 1,
                Some((_, Some(VersionState::Submitted))) => problems.push(FieldError::new(
                    at,
                    "catalog.not_editable",
                    format!("一件事「{}」（{}）已提交审核，导入不能修改它", b.name, b.code),
                    format!(
                        "bundle '{}' ({}) awaits review and cannot be changed by an import",
                        b.name, b.code
                    ),
                )),
                Some(_) => {
                    report.changed += 1;
                    bundles_to_save.push(b.clone());
                }
                None => {
                    report.created += 1;
                    bundles_to_save.push(b.clone());
                }
            },
        }
    }
    report.data_elements = doc.data_elements.len();
    report.problems = problems.into_iter().map(ImportProblem::of).collect();
    report.ok = report.problems.is_empty();
    if !report.ok || opts.dry_run {
        return Ok(report);
    }
    // Write: data elements and basic entries first (items refer to them), in chunks.
    let n = ops.len();
    let mut written = 0;
    let mut it = ops.into_iter().peekable();
    while it.peek().is_some() {
        let chunk: Vec<ImportOp> = it.by_ref().take(opts.chunk.max(1)).collect();
        let len = chunk.len();
        store
            .write(
                meta.clone(),
                crate::Command::Catalog(Box::new(Cmd::Import(ImportChunk {
                    ops: chunk,
                    submit: opts.submit,
                    region_code: opts.region_code.clone(),
                }))),
            )
            .await?;
        written += len;
        progress("write", written, n);
    }
    for b in bundles_to_save {
        let w = crate::bundles::save(store, meta.clone(), b, None).await?;
        if opts.submit {
            let id = w.value["bundle"]["id"].as_str().unwrap_or_default().to_string();
            crate::bundles::act(store, meta.clone(), &id, Action::Submit).await?;
        }
    }
    Ok(report)
}

pub(super) fn duplicate(field: &str, code: &str) -> FieldError {
    FieldError::new(
        field,
        "import.duplicate",
        format!("「{code}」在文件中出现了不止一次"),
        format!("'{code}' appears more than once in the document"),
    )
}

pub(super) fn not_editable_at(at: &str, e: &Entry) -> FieldError {
    FieldError::new(
        at,
        "catalog.not_editable",
        format!(
            "「{}」（{}）已提交审核，导入不能修改它；请先撤回或等待审核",
            e.name, e.code
        ),
        format!(
            "'{}' ({}) awaits review and cannot be changed by an import; recall it or wait for the review",
            e.name, e.code
        ),
    )
}

/// The department an item names, by credit code or by exact name.
pub(super) async fn resolve_department(
    store: &Store,
    it: &ItemDoc,
    at: &str,
) -> Result<std::result::Result<String, FieldError>> {
    if let Some(u) = &it.department_uscc {
        return Ok(match orgs::department_by_uscc(&store.read, u).await? {
            Some(d) => Ok(d.id),
            None => Err(FieldError::new(
                format!("{at}.department_uscc"),
                "exists",
                format!("没有统一社会信用代码为「{u}」的部门"),
                format!("no department has the credit code '{u}'"),
            )),
        });
    }
    let Some(name) = &it.department_name else {
        return Ok(Err(FieldError::new(
            format!("{at}.department_uscc"),
            "required",
            "请填写实施部门的统一社会信用代码或名称",
            "name the implementing department by credit code or name",
        )));
    };
    let found: Vec<String> = sqlx::query_scalar("SELECT id FROM departments WHERE name = $1")
        .bind(name.trim())
        .fetch_all(&store.read)
        .await?;
    Ok(match found.len() {
        1 => Ok(found[0].clone()),
        0 => Err(FieldError::new(
            format!("{at}.department_name"),
            "exists",
            format!("没有名为「{name}」的部门"),
            format!("no department is named '{name}'"),
        )),
        _ => Err(FieldError::new(
            format!("{at}.department_name"),
            "import.ambiguous_department",
            format!("有多个名为「{name}」的部门，请改用统一社会信用代码"),
            format!("several departments are named '{name}': use the credit code"),
        )),
    })
}

/// Which content an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportState {
    /// What managers see: the open draft or submission, else the latest publication
    /// (importing this export again changes nothing).
    Current,
    /// Only entries with a publication, as last published.
    Published,
}

/// The catalogue as an interchange document (data elements, basic entries, items with
/// their full elements and their department's code and name).
pub async fn export(store: &Store, state: ExportState) -> Result<CatalogDoc> {
    let mut doc = CatalogDoc::new();
    let rows = sqlx::query("SELECT body FROM data_elements ORDER BY code")
        .fetch_all(&store.read)
        .await?;
    for r in rows {
        let body: String = r.try_get("body")?;
        doc.data_elements.push(serde_json::from_str(&body).map_err(internal)?);
    }
    let departments: HashMap<String, (String, String)> = orgs::departments(&store.read, None)
        .await?
        .into_iter()
        .map(|d| (d.id, (d.uscc, d.name)))
        .collect();
    let mut conn = store.read.acquire().await?;
    let sql = format!("SELECT {ENTRY_COLS} FROM catalog_entries ORDER BY kind, code");
    let entries: Vec<Entry> = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(read)
        .collect::<Result<_>>()?;
    for e in entries {
        let v = match state {
            ExportState::Current => current(&mut conn, &e).await?,
            ExportState::Published if e.published_version.is_some() => reference(&mut conn, &e).await?,
            ExportState::Published => continue,
        };
        match e.kind {
            EntryKind::Basic => doc.basic.push(BasicDoc {
                basic_code: e.code,
                elements: v.elements,
            }),
            EntryKind::Item => {
                let (uscc, name) = e
                    .department_id
                    .as_ref()
                    .and_then(|d| departments.get(d))
                    .cloned()
                    .unwrap_or_default();
                doc.items.push(ItemDoc {
                    basic_code: e.basic_code,
                    implementation_code: Some(e.code),
                    department_uscc: Some(uscc),
                    department_name: Some(name),
                    elements: v.elements.to_map(),
                });
            }
        }
    }
    drop(conn);
    for b in crate::bundles::bundles(store).await? {
        let v = match (state, b.open_version) {
            (ExportState::Current, Some(v)) => Some(v),
            _ => b.published_version,
        };
        if let Some(v) = v
            && let Some(v) = crate::bundles::version(store, &b.id, v).await?
        {
            doc.bundles.push(v.doc);
        }
    }
    Ok(doc)
}
