//! Tables → document.

use super::*;

// ---------------------------------------------------------------------------------------
// Tables → document (import)
// ---------------------------------------------------------------------------------------

/// Where each part of a document built from sheets came from.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Entries-sheet row of `basic[i]` and `items[i]`.
    pub basic_rows: Vec<usize>,
    pub item_rows: Vec<usize>,
    /// (entry key → rows of each child sheet, in list order).
    pub children: HashMap<(String, &'static str), Vec<usize>>,
    pub basic_keys: Vec<String>,
    pub item_keys: Vec<String>,
}

impl Provenance {
    /// Places a problem found in the document (`basic[3].elements.materials[1].name`) on
    /// its sheet, row and column.
    pub fn place(&self, p: &mut ImportProblem) {
        let path = p.path.clone();
        let (list, rest) = if let Some(r) = path.strip_prefix("basic[") {
            ("basic", r)
        } else if let Some(r) = path.strip_prefix("items[") {
            ("items", r)
        } else {
            return;
        };
        let Some((idx, rest)) = rest.split_once(']') else {
            return;
        };
        let Ok(i) = idx.parse::<usize>() else { return };
        let (rows, keys) = if list == "basic" {
            (&self.basic_rows, &self.basic_keys)
        } else {
            (&self.item_rows, &self.item_keys)
        };
        let (Some(row), Some(key)) = (rows.get(i), keys.get(i)) else {
            return;
        };
        p.sheet = Some(ENTRIES.into());
        p.row = Some(*row);
        let rest = rest.trim_start_matches('.');
        let rest = rest
            .strip_prefix("elements")
            .map(|r| r.trim_start_matches('.'))
            .unwrap_or(rest);
        p.column = match rest {
            "basic_code" => Some(BASIC_CODE.into()),
            "implementation_code" => Some(IMPL_CODE.into()),
            "department_name" | "department_id" => Some(DEPT_NAME.into()),
            "department_uscc" => Some(DEPT_USCC.into()),
            _ => None,
        };
        if p.column.is_some() {
            return;
        }
        for (sheet, element) in [
            (BASIS, "legal_basis"),
            (MATERIALS, "materials"),
            (FEES, "fees"),
            (STEPS, "steps"),
        ] {
            if let Some(r) = rest.strip_prefix(element) {
                if let Some(r) = r.strip_prefix('[')
                    && let Some((j, field)) = r.split_once(']')
                    && let Ok(j) = j.parse::<usize>()
                    && let Some(crow) = self.children.get(&(key.clone(), sheet)).and_then(|v| v.get(j))
                {
                    p.sheet = Some(sheet.into());
                    p.row = Some(*crow);
                    p.column = child_field(sheet, field.trim_start_matches('.')).map(String::from);
                }
                return;
            }
        }
        let element = rest.split(['.', '[']).next().unwrap_or("");
        p.column = cols()
            .into_iter()
            .find(|c| c.element == element)
            .map(|c| c.header.to_string());
    }
}

/// The current elements of entries already in the catalogue, by code.
pub type Existing = HashMap<String, Elements>;

pub(super) struct Row<'a> {
    pub(super) n: usize,
    pub(super) cells: HashMap<&'a str, &'a str>,
}

impl Row<'_> {
    pub(super) fn get(&self, h: &str) -> &str {
        self.cells.get(h).copied().unwrap_or("").trim()
    }
}

pub(super) fn rows_of(t: &Table) -> Vec<Row<'_>> {
    t.rows
        .iter()
        .map(|(n, cells)| Row {
            n: *n,
            cells: t
                .headers
                .iter()
                .map(String::as_str)
                .zip(cells.iter().map(String::as_str))
                .collect(),
        })
        .collect()
}

pub(super) fn cell_problem(sheet: &str, row: usize, column: &str, rule: &str, zh: String, en: String) -> ImportProblem {
    ImportProblem {
        path: format!("{sheet}!{row}:{column}"),
        sheet: Some(sheet.into()),
        row: Some(row),
        column: Some(column.into()),
        rule: rule.into(),
        zh,
        en,
    }
}

pub(super) fn check_headers(t: &Table, expected: &[&str], problems: &mut Vec<ImportProblem>) {
    for h in &t.headers {
        if !h.trim().is_empty() && !expected.contains(&h.trim()) {
            problems.push(cell_problem(
                &t.name,
                1,
                h,
                "import.unknown_column",
                format!("未知的列「{h}」"),
                format!("unknown column '{h}'"),
            ));
        }
    }
    for e in expected {
        if !t.headers.iter().any(|h| h.trim() == *e) && (*e == KEY || t.name == ENTRIES && *e == KIND) {
            problems.push(cell_problem(
                &t.name,
                1,
                e,
                "import.missing_column",
                format!("缺少必需的列「{e}」"),
                format!("the required column '{e}' is missing"),
            ));
        }
    }
}

/// Builds a document from sheets. `existing` holds the current elements of the entries
/// the sheets name (by basic or implementation code); `locked` the locked elements an
/// item row may leave empty.
pub fn tables_to_doc(
    tables: &[Table],
    existing: &Existing,
    locked: &[String],
) -> std::result::Result<(CatalogDoc, Provenance), Vec<ImportProblem>> {
    let mut problems = vec![];
    let get = |name: &str| tables.iter().find(|t| t.name == name);
    let Some(entries) = get(ENTRIES) else {
        return Err(vec![file_problem(
            format!("缺少工作表「{ENTRIES}」"),
            format!("the sheet '{ENTRIES}' is missing"),
        )]);
    };
    let columns = cols();
    let mut expected = vec![KEY, KIND, BASIC_CODE, IMPL_CODE, DEPT_NAME, DEPT_USCC];
    expected.extend(columns.iter().map(|c| c.header));
    check_headers(entries, &expected, &mut problems);
    for (t, cols) in [
        (get(BASIS), &BASIS_COLS[..]),
        (get(MATERIALS), &MATERIAL_COLS[..]),
        (get(FEES), &FEE_COLS[..]),
        (get(STEPS), &STEP_COLS[..]),
    ] {
        if let Some(t) = t {
            check_headers(t, cols, &mut problems);
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    // Child rows by entry key.
    let mut children: BTreeMap<(String, &'static str), Vec<Row>> = BTreeMap::new();
    for sheet in [BASIS, MATERIALS, FEES, STEPS] {
        if let Some(t) = get(sheet) {
            for r in rows_of(t) {
                children.entry((r.get(KEY).to_string(), sheet)).or_default().push(r);
            }
        }
    }
    let mut doc = CatalogDoc::new();
    let mut prov = Provenance::default();
    let mut keys_seen: HashMap<String, usize> = HashMap::new();
    // Basic entries first: a new item row starts from its basic entry's elements.
    let all_rows = rows_of(entries);
    let basic_first = all_rows
        .iter()
        .filter(|r| r.get(KIND) == KIND_BASIC)
        .chain(all_rows.iter().filter(|r| r.get(KIND) != KIND_BASIC));
    for r in basic_first {
        let key = r.get(KEY).to_string();
        if key.is_empty() {
            problems.push(cell_problem(
                ENTRIES,
                r.n,
                KEY,
                "required",
                "编号不能为空".into(),
                "the key must not be empty".into(),
            ));
            continue;
        }
        if let Some(first) = keys_seen.insert(key.clone(), r.n) {
            problems.push(cell_problem(
                ENTRIES,
                r.n,
                KEY,
                "import.duplicate",
                format!("编号「{key}」与第 {first} 行重复"),
                format!("key '{key}' repeats row {first}"),
            ));
            continue;
        }
        let kind = match r.get(KIND) {
            KIND_BASIC => EntryKind::Basic,
            KIND_ITEM => EntryKind::Item,
            other => {
                problems.push(cell_problem(
                    ENTRIES,
                    r.n,
                    KIND,
                    "import.kind",
                    format!("类别「{other}」应为「{KIND_BASIC}」或「{KIND_ITEM}」"),
                    format!("kind '{other}' should be {KIND_BASIC} (basic entry) or {KIND_ITEM} (implementation item)"),
                ));
                continue;
            }
        };
        let basic_code = r.get(BASIC_CODE).to_string();
        let impl_code = opt(r.get(IMPL_CODE));
        let lookup = match kind {
            EntryKind::Basic => existing.get(&basic_code),
            EntryKind::Item => impl_code.as_ref().and_then(|c| existing.get(c)),
        };
        let base = match kind {
            EntryKind::Basic => None,
            EntryKind::Item => doc
                .basic
                .iter()
                .find(|b| b.basic_code == basic_code)
                .map(|b| &b.elements)
                .or_else(|| existing.get(&basic_code)),
        };
        let mut e = lookup.or(base).cloned().unwrap_or_else(|| {
            let mut e = Elements::new(r.get("事项名称"), ItemType::PublicService);
            if let Some(t) = ItemType::parse(r.get("事项类型")) {
                e.item_type = t;
            }
            e
        });
        let mut own = serde_json::Map::new();
        let mut skipped: Vec<&str> = vec![];
        for c in &columns {
            let value = r.get(c.header);
            if !r.cells.contains_key(c.header) {
                continue; // column absent from this file: keep the element
            }
            if kind == EntryKind::Item && value.is_empty() && locked.iter().any(|l| l == c.element) {
                skipped.push(c.element);
                continue; // inherited from the basic entry
            }
            if let Err((zh, en)) = (c.set)(&mut e, value) {
                problems.push(cell_problem(ENTRIES, r.n, c.header, "import.cell", zh, en));
            }
        }
        // A cleared result or commitment: both of its required cells empty.
        if r.cells.contains_key("审批结果名称") && r.get("审批结果名称").is_empty() && r.get("审批结果类型").is_empty()
        {
            e.result = None;
        }
        if r.cells.contains_key("告知承诺书内容") && r.get("告知承诺书内容").is_empty() {
            e.commitment = None;
        }
        let mut child_rows = |sheet: &'static str, prov: &mut Provenance| -> Option<Vec<Row>> {
            get(sheet)?;
            let rows = children.remove(&(key.clone(), sheet)).unwrap_or_default();
            prov.children
                .insert((key.clone(), sheet), rows.iter().map(|r| r.n).collect());
            Some(rows)
        };
        if let Some(rows) = child_rows(BASIS, &mut prov) {
            if kind == EntryKind::Item && rows.is_empty() && locked.iter().any(|l| l == "legal_basis") {
                skipped.push("legal_basis");
            } else {
                e.legal_basis = rows
                    .iter()
                    .map(|c| LegalBasis {
                        law: c.get("法律法规名称").into(),
                        doc_no: opt(c.get("文号")),
                        article: opt(c.get("条款号")),
                        text: c.get("条款内容").into(),
                    })
                    .collect();
            }
        }
        if let Some(rows) = child_rows(MATERIALS, &mut prov) {
            let old: HashMap<String, Material> = e.materials.iter().map(|m| (m.key.clone(), m.clone())).collect();
            let mut list = vec![];
            for (j, c) in rows.iter().enumerate() {
                match material(c, j, old.get(c.get("材料键"))) {
                    Ok(m) => list.push(m),
                    Err(p) => problems.extend(p),
                }
            }
            e.materials = list;
        }
        if let Some(rows) = child_rows(FEES, &mut prov) {
            let mut list = vec![];
            for c in &rows {
                let amount = match opt(c.get("金额（分）")) {
                    None => Ok(None),
                    Some(a) => parse_i64(&a).map(Some),
                };
                let reducible = parse_bool(c.get("允许减免"));
                match (amount, reducible) {
                    (Ok(a), Ok(red)) => list.push(Fee {
                        name: c.get("收费项目").into(),
                        standard: c.get("收费标准").into(),
                        amount_fen: a,
                        basis: c.get("收费依据").into(),
                        reducible: red,
                        reduction_basis: opt(c.get("减免依据")),
                    }),
                    (a, red) => {
                        for (col, r) in [("金额（分）", a.err()), ("允许减免", red.err())] {
                            if let Some((zh, en)) = r {
                                problems.push(cell_problem(FEES, c.n, col, "import.cell", zh, en));
                            }
                        }
                    }
                }
            }
            e.fees = list;
        }
        if let Some(rows) = child_rows(STEPS, &mut prov) {
            let mut list = vec![];
            for c in &rows {
                let role = enum_cell!(StepRole)(c.get("办理角色"));
                let days = if c.get("时限（工作日）").is_empty() {
                    Ok(0)
                } else {
                    parse_u32(c.get("时限（工作日）"))
                };
                match (role, days) {
                    (Ok(role), Ok(days)) => list.push(Step {
                        name: c.get("环节名称").into(),
                        role,
                        days,
                        standard: c.get("审查标准").into(),
                    }),
                    (role, days) => {
                        for (col, r) in [("办理角色", role.err()), ("时限（工作日）", days.err())] {
                            if let Some((zh, en)) = r {
                                problems.push(cell_problem(STEPS, c.n, col, "import.cell", zh, en));
                            }
                        }
                    }
                }
            }
            e.steps = list;
        }
        match kind {
            EntryKind::Basic => {
                prov.basic_rows.push(r.n);
                prov.basic_keys.push(key);
                doc.basic.push(BasicDoc {
                    basic_code,
                    elements: e,
                });
            }
            EntryKind::Item => {
                for (k, v) in e.to_map() {
                    if !skipped.contains(&k.as_str()) {
                        own.insert(k, v);
                    }
                }
                for s in &skipped {
                    own.remove(*s);
                }
                // Elements absent from the JSON when empty must still override the basic's.
                for name in ELEMENT_NAMES {
                    if !own.contains_key(*name) && !skipped.contains(name) {
                        own.insert(name.to_string(), serde_json::Value::Null);
                    }
                }
                own.retain(|k, v| !v.is_null() || nullable(k));
                prov.item_rows.push(r.n);
                prov.item_keys.push(key);
                doc.items.push(ItemDoc {
                    basic_code,
                    implementation_code: impl_code,
                    department_uscc: opt(r.get(DEPT_USCC)),
                    department_name: opt(r.get(DEPT_NAME)),
                    elements: own,
                });
            }
        }
    }
    for ((key, sheet), rows) in children {
        for r in rows {
            problems.push(cell_problem(
                sheet,
                r.n,
                KEY,
                "import.unknown_key",
                format!("编号「{key}」在「{ENTRIES}」工作表中不存在"),
                format!("key '{key}' is not in the sheet '{ENTRIES}'"),
            ));
        }
    }
    if problems.is_empty() {
        Ok((doc, prov))
    } else {
        Err(problems)
    }
}

/// Optional elements: a null in an item's own elements clears the basic entry's value.
pub(super) fn nullable(k: &str) -> bool {
    matches!(
        k,
        "local_code"
            | "name_en"
            | "entrusting_department"
            | "statutory_limit"
            | "promised_limit"
            | "visit_reason"
            | "commitment"
            | "quantity_limit"
            | "result"
            | "pc_url"
            | "mobile_url"
    )
}

pub(super) fn material(
    c: &Row,
    _j: usize,
    old: Option<&Material>,
) -> std::result::Result<Material, Vec<ImportProblem>> {
    let mut problems = vec![];
    let mut cell = |col: &str, r: CellResult<()>| {
        if let Err((zh, en)) = r {
            problems.push(cell_problem(MATERIALS, c.n, col, "import.cell", zh, en));
        }
    };
    let mut m = Material {
        key: c.get("材料键").into(),
        name: c.get("材料名称").into(),
        kind: MaterialKind::default(),
        form: MaterialForm::default(),
        necessity: Necessity::default(),
        paper_spec: opt(c.get("纸质规格")),
        originals: 0,
        copies: 0,
        source: MaterialSource::default(),
        standard: c.get("受理标准").into(),
        basis: opt(c.get("依据")),
        notes: opt(c.get("填报须知")),
        // Files are not in the sheet: kept from the material with the same key.
        blank_form: old.and_then(|o| o.blank_form.clone()),
        sample: old.and_then(|o| o.sample.clone()),
        sign_seal: opt(c.get("签字盖章要求")),
    };
    macro_rules! set {
        ($col:expr, $target:expr, $parse:expr) => {
            if !c.get($col).is_empty() {
                cell(
                    $col,
                    $parse(c.get($col)).map(|v| {
                        $target = v;
                    }),
                );
            }
        };
    }
    set!("材料类型", m.kind, enum_cell!(MaterialKind));
    set!("材料形式", m.form, enum_cell!(MaterialForm));
    set!("必要性", m.necessity, enum_cell!(Necessity));
    set!("原件份数", m.originals, parse_u32);
    set!("复印件份数", m.copies, parse_u32);
    set!("来源渠道", m.source.channel, enum_cell!(SourceChannel));
    m.source.note = opt(c.get("来源说明"));
    m.source.licence_type = opt(c.get("可替代证照类型"));
    if problems.is_empty() { Ok(m) } else { Err(problems) }
}
