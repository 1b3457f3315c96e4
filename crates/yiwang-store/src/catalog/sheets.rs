//! Spreadsheets of the catalogue: xlsx (one workbook) and CSV (a zip of one file per
//! sheet, UTF-8 or GB18030 as Excel writes it in China). Sheets: 事项 (one row per basic
//! entry or implementation item), 设定依据, 申请材料, 收费, 办理流程; child rows refer to
//! their entry by the 编号 column.
//!
//! A row carries the whole value of each of its columns (an empty cell is an empty
//! value), except that an implementation item may leave locked elements empty to inherit
//! them. Elements no sheet carries (situations, FAQ, form fields, handling items, special
//! procedures, blank forms) are kept from the entry's current version; a sheet missing
//! from the file keeps its lists. Every problem is reported with sheet, row and column.

use super::{ImportProblem, Store, StoreError, current, entry_by_code};
use crate::Result;
use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read, Write};
use yiwang_core::catalog::*;
use yiwang_core::error::FieldError;

pub const ENTRIES: &str = "事项";
pub const BASIS: &str = "设定依据";
pub const MATERIALS: &str = "申请材料";
pub const FEES: &str = "收费";
pub const STEPS: &str = "办理流程";
const SHEETS: [&str; 5] = [ENTRIES, BASIS, MATERIALS, FEES, STEPS];

const KEY: &str = "编号";
const KIND: &str = "类别";
const BASIC_CODE: &str = "基本编码";
const IMPL_CODE: &str = "实施编码";
const DEPT_NAME: &str = "实施主体";
const DEPT_USCC: &str = "实施主体编码";
const KIND_BASIC: &str = "基本目录";
const KIND_ITEM: &str = "实施清单";

/// One sheet: headers and rows (with their 1-based row numbers in the file).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    fn new(name: &str, headers: &[&str]) -> Table {
        Table {
            name: name.into(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: vec![],
        }
    }
    fn push(&mut self, cells: Vec<String>) {
        let n = self.rows.len() + 2;
        self.rows.push((n, cells));
    }
}

// ---------------------------------------------------------------------------------------
// Cell conversions
// ---------------------------------------------------------------------------------------

const SEPARATORS: &[char] = &['、', '，', ',', '；', ';'];

/// The parts of a list cell: one per line when the cell has several lines, else
/// separated by 、，,；; outside brackets (so 「税务部门（发票申领、税务登记）」 stays whole).
fn split_list(s: &str) -> Vec<String> {
    let parts: Vec<String> = if s.contains('\n') {
        s.lines().map(String::from).collect()
    } else {
        let mut out = vec![String::new()];
        let mut depth = 0i32;
        for c in s.chars() {
            match c {
                '（' | '(' | '《' | '【' | '[' | '「' => depth += 1,
                '）' | ')' | '》' | '】' | ']' | '」' => depth -= 1,
                _ => {}
            }
            if depth <= 0 && SEPARATORS.contains(&c) {
                out.push(String::new());
            } else {
                out.last_mut().expect("one part").push(c);
            }
        }
        out
    };
    parts
        .into_iter()
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// A list cell that `split_list` reads back as the same list: 、-separated, or one per
/// line when a value itself holds a separator.
fn join<T: AsRef<str>>(v: &[T]) -> String {
    let parts: Vec<&str> = v.iter().map(|x| x.as_ref()).collect();
    let joined = parts.join("、");
    if split_list(&joined) == parts {
        joined
    } else {
        parts.join("\n")
    }
}

fn bool_cell(b: bool) -> String {
    if b { "是".into() } else { "否".into() }
}

type CellResult<T> = std::result::Result<T, (String, String)>;

fn parse_bool(s: &str) -> CellResult<bool> {
    match s.trim() {
        "是" | "Y" | "y" | "true" | "TRUE" | "1" => Ok(true),
        "否" | "N" | "n" | "false" | "FALSE" | "0" | "" => Ok(false),
        other => Err((
            format!("「{other}」应为「是」或「否」"),
            format!("'{other}' should be 是 (yes) or 否 (no)"),
        )),
    }
}

fn parse_u32(s: &str) -> CellResult<u32> {
    let t = s.trim();
    // Spreadsheets store whole numbers as floats ("20.0").
    let t = t.strip_suffix(".0").unwrap_or(t);
    t.parse::<u32>().map_err(|_| {
        (
            format!("「{s}」应为非负整数"),
            format!("'{s}' should be a whole number ≥ 0"),
        )
    })
}

fn parse_i64(s: &str) -> CellResult<i64> {
    let t = s.trim();
    let t = t.strip_suffix(".0").unwrap_or(t);
    t.parse::<i64>()
        .map_err(|_| (format!("「{s}」应为整数"), format!("'{s}' should be a whole number")))
}

macro_rules! enum_cell {
    ($t:ty) => {
        |s: &str| -> CellResult<$t> {
            <$t>::parse(s).ok_or_else(|| {
                let all: Vec<&str> = <$t>::ALL.iter().map(|v| v.zh()).collect();
                (
                    format!("「{s}」不是有效取值，可填：{}", all.join("、")),
                    format!("'{s}' is not a valid value; use one of: {}", all.join(", ")),
                )
            })
        }
    };
}

fn enum_list<T: Copy>(s: &str, parse: impl Fn(&str) -> CellResult<T>) -> CellResult<Vec<T>> {
    split_list(s).iter().map(|x| parse(x)).collect()
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

// ---------------------------------------------------------------------------------------
// The entries sheet's element columns
// ---------------------------------------------------------------------------------------

type Getter = fn(&Elements) -> String;
type Setter = fn(&mut Elements, &str) -> CellResult<()>;

/// An element column of the entries sheet.
struct Col {
    header: &'static str,
    element: &'static str,
    get: Getter,
    set: Setter,
}

fn limit_get(l: &Option<TimeLimit>, part: u8) -> String {
    match (l, part) {
        (None, _) => String::new(),
        (Some(l), 0) => l.value.to_string(),
        (Some(l), 1) => l.unit.zh().to_string(),
        (Some(l), _) => l.note.clone().unwrap_or_default(),
    }
}

fn limit_set(l: &mut Option<TimeLimit>, part: u8, s: &str) -> CellResult<()> {
    let t = s.trim();
    match part {
        0 if t.is_empty() => *l = None,
        0 => {
            let v = parse_u32(t)?;
            match l {
                Some(x) => x.value = v,
                None => *l = Some(TimeLimit::working_days(v)),
            }
        }
        1 => {
            if let Some(x) = l
                && !t.is_empty()
            {
                x.unit = enum_cell!(TimeUnit)(t)?;
            }
        }
        _ => {
            if let Some(x) = l {
                x.note = opt(t);
            }
        }
    }
    Ok(())
}

fn result_mut(e: &mut Elements) -> &mut ResultSpec {
    e.result.get_or_insert(ResultSpec {
        kind: ResultKind::Other,
        name: String::new(),
        sample: None,
        licence_type: None,
    })
}

fn commitment_mut(e: &mut Elements) -> &mut Commitment {
    e.commitment.get_or_insert(Commitment {
        text: String::new(),
        check_days: 0,
        check_method: None,
    })
}

fn cols() -> Vec<Col> {
    macro_rules! c {
        ($h:expr, $el:expr, $get:expr, $set:expr) => {
            Col {
                header: $h,
                element: $el,
                get: $get,
                set: $set,
            }
        };
    }
    vec![
        c!("事项名称", "name", |e| e.name.clone(), |e, s| {
            e.name = s.trim().to_string();
            Ok(())
        }),
        c!("事项类型", "item_type", |e| e.item_type.zh().into(), |e, s| {
            e.item_type = enum_cell!(ItemType)(s)?;
            Ok(())
        }),
        c!("别名", "aliases", |e| join(&e.aliases), |e, s| {
            e.aliases = split_list(s);
            Ok(())
        }),
        c!("关键词", "keywords", |e| join(&e.keywords), |e, s| {
            e.keywords = split_list(s);
            Ok(())
        }),
        c!("主题分类", "themes", |e| join(&e.themes), |e, s| {
            e.themes = split_list(s);
            Ok(())
        }),
        c!(
            "地方编码",
            "local_code",
            |e| e.local_code.clone().unwrap_or_default(),
            |e, s| {
                e.local_code = opt(s);
                Ok(())
            }
        ),
        c!("受理条件", "conditions", |e| e.conditions.clone(), |e, s| {
            e.conditions = s.trim().to_string();
            Ok(())
        }),
        c!(
            "权力来源",
            "power_source",
            |e| e.power_source.zh().into(),
            |e, s| {
                e.power_source = if s.trim().is_empty() {
                    PowerSource::default()
                } else {
                    enum_cell!(PowerSource)(s)?
                };
                Ok(())
            }
        ),
        c!(
            "委托部门",
            "entrusting_department",
            |e| e.entrusting_department.clone().unwrap_or_default(),
            |e, s| {
                e.entrusting_department = opt(s);
                Ok(())
            }
        ),
        c!(
            "法定办结时限",
            "statutory_limit",
            |e| limit_get(&e.statutory_limit, 0),
            |e, s| { limit_set(&mut e.statutory_limit, 0, s) }
        ),
        c!(
            "法定时限单位",
            "statutory_limit",
            |e| limit_get(&e.statutory_limit, 1),
            |e, s| { limit_set(&mut e.statutory_limit, 1, s) }
        ),
        c!(
            "法定时限说明",
            "statutory_limit",
            |e| limit_get(&e.statutory_limit, 2),
            |e, s| { limit_set(&mut e.statutory_limit, 2, s) }
        ),
        c!(
            "承诺办结时限",
            "promised_limit",
            |e| limit_get(&e.promised_limit, 0),
            |e, s| { limit_set(&mut e.promised_limit, 0, s) }
        ),
        c!(
            "承诺时限单位",
            "promised_limit",
            |e| limit_get(&e.promised_limit, 1),
            |e, s| { limit_set(&mut e.promised_limit, 1, s) }
        ),
        c!(
            "承诺时限说明",
            "promised_limit",
            |e| limit_get(&e.promised_limit, 2),
            |e, s| { limit_set(&mut e.promised_limit, 2, s) }
        ),
        c!("办件类型", "case_kind", |e| e.case_kind.zh().into(), |e, s| {
            e.case_kind = if s.trim().is_empty() {
                CaseKind::default()
            } else {
                enum_cell!(CaseKind)(s)?
            };
            Ok(())
        }),
        c!(
            "服务对象",
            "service_objects",
            |e| join(&e.service_objects.iter().map(|o| o.zh()).collect::<Vec<_>>()),
            |e, s| {
                e.service_objects = enum_list(s, enum_cell!(ServiceObject))?;
                Ok(())
            }
        ),
        c!(
            "办理形式",
            "handling_forms",
            |e| join(&e.handling_forms.iter().map(|o| o.zh()).collect::<Vec<_>>()),
            |e, s| {
                e.handling_forms = enum_list(s, enum_cell!(HandlingForm))?;
                Ok(())
            }
        ),
        c!("到办事现场次数", "visits", |e| e.visits.to_string(), |e, s| {
            e.visits = if s.trim().is_empty() { 0 } else { parse_u32(s)? };
            Ok(())
        }),
        c!(
            "必须现场办理原因",
            "visit_reason",
            |e| e.visit_reason.clone().unwrap_or_default(),
            |e, s| {
                e.visit_reason = opt(s);
                Ok(())
            }
        ),
        c!("通办范围", "tongban", |e| e.tongban.zh().into(), |e, s| {
            e.tongban = if s.trim().is_empty() {
                TongbanScope::default()
            } else {
                enum_cell!(TongbanScope)(s)?
            };
            Ok(())
        }),
        c!("是否网办", "online", |e| bool_cell(e.online), |e, s| {
            e.online = parse_bool(s)?;
            Ok(())
        }),
        c!(
            "网上办理深度",
            "online_depth",
            |e| join(&e.online_depth.iter().map(|o| o.zh()).collect::<Vec<_>>()),
            |e, s| {
                e.online_depth = enum_list(s, enum_cell!(OnlineDepth))?;
                Ok(())
            }
        ),
        c!(
            "网上支付",
            "online_payment",
            |e| bool_cell(e.online_payment),
            |e, s| {
                e.online_payment = parse_bool(s)?;
                Ok(())
            }
        ),
        c!(
            "物流快递",
            "post_delivery",
            |e| bool_cell(e.post_delivery),
            |e, s| {
                e.post_delivery = parse_bool(s)?;
                Ok(())
            }
        ),
        c!("进驻大厅", "in_hall", |e| bool_cell(e.in_hall), |e, s| {
            e.in_hall = parse_bool(s)?;
            Ok(())
        }),
        c!("预约办理", "appointment", |e| bool_cell(e.appointment), |e, s| {
            e.appointment = parse_bool(s)?;
            Ok(())
        }),
        c!("自助终端", "self_service", |e| bool_cell(e.self_service), |e, s| {
            e.self_service = parse_bool(s)?;
            Ok(())
        }),
        c!("联办机构", "joint_agencies", |e| join(&e.joint_agencies), |e, s| {
            e.joint_agencies = split_list(s);
            Ok(())
        }),
        c!(
            "中介服务",
            "intermediary_services",
            |e| join(&e.intermediary_services),
            |e, s| {
                e.intermediary_services = split_list(s);
                Ok(())
            }
        ),
        c!(
            "数量限制",
            "quantity_limit",
            |e| e.quantity_limit.clone().unwrap_or_default(),
            |e, s| {
                e.quantity_limit = opt(s);
                Ok(())
            }
        ),
        c!(
            "审批结果类型",
            "result",
            |e| e.result.as_ref().map(|r| r.kind.zh().to_string()).unwrap_or_default(),
            |e, s| {
                if !s.trim().is_empty() {
                    result_mut(e).kind = enum_cell!(ResultKind)(s)?;
                }
                Ok(())
            }
        ),
        c!(
            "审批结果名称",
            "result",
            |e| e.result.as_ref().map(|r| r.name.clone()).unwrap_or_default(),
            |e, s| {
                if !s.trim().is_empty() {
                    result_mut(e).name = s.trim().to_string();
                }
                Ok(())
            }
        ),
        c!(
            "结果证照类型",
            "result",
            |e| e
                .result
                .as_ref()
                .and_then(|r| r.licence_type.clone())
                .unwrap_or_default(),
            |e, s| {
                if !s.trim().is_empty() {
                    result_mut(e).licence_type = opt(s);
                } else if let Some(r) = &mut e.result {
                    r.licence_type = None;
                }
                Ok(())
            }
        ),
        c!("办理地点", "location", |e| e.location.clone(), |e, s| {
            e.location = s.trim().to_string();
            Ok(())
        }),
        c!("办理时间", "hours", |e| e.hours.clone(), |e, s| {
            e.hours = s.trim().to_string();
            Ok(())
        }),
        c!("咨询方式", "consult", |e| e.consult.clone(), |e, s| {
            e.consult = s.trim().to_string();
            Ok(())
        }),
        c!("监督投诉方式", "complaint", |e| e.complaint.clone(), |e, s| {
            e.complaint = s.trim().to_string();
            Ok(())
        }),
        c!(
            "PC端办理地址",
            "pc_url",
            |e| e.pc_url.clone().unwrap_or_default(),
            |e, s| {
                e.pc_url = opt(s);
                Ok(())
            }
        ),
        c!(
            "移动端办理地址",
            "mobile_url",
            |e| e.mobile_url.clone().unwrap_or_default(),
            |e, s| {
                e.mobile_url = opt(s);
                Ok(())
            }
        ),
        c!(
            "告知承诺书内容",
            "commitment",
            |e| e.commitment.as_ref().map(|c| c.text.clone()).unwrap_or_default(),
            |e, s| {
                if !s.trim().is_empty() {
                    commitment_mut(e).text = s.trim().to_string();
                }
                Ok(())
            }
        ),
        c!(
            "核查期限（工作日）",
            "commitment",
            |e| e
                .commitment
                .as_ref()
                .map(|c| c.check_days.to_string())
                .unwrap_or_default(),
            |e, s| {
                if !s.trim().is_empty() {
                    commitment_mut(e).check_days = parse_u32(s)?;
                }
                Ok(())
            }
        ),
        c!(
            "核查方式",
            "commitment",
            |e| e
                .commitment
                .as_ref()
                .and_then(|c| c.check_method.clone())
                .unwrap_or_default(),
            |e, s| {
                if let Some(c) = &mut e.commitment {
                    c.check_method = opt(s);
                } else if !s.trim().is_empty() {
                    commitment_mut(e).check_method = opt(s);
                }
                Ok(())
            }
        ),
    ]
}

const BASIS_COLS: [&str; 5] = [KEY, "法律法规名称", "文号", "条款号", "条款内容"];
const MATERIAL_COLS: [&str; 16] = [
    KEY,
    "材料键",
    "材料名称",
    "材料类型",
    "材料形式",
    "必要性",
    "纸质规格",
    "原件份数",
    "复印件份数",
    "来源渠道",
    "来源说明",
    "可替代证照类型",
    "受理标准",
    "依据",
    "填报须知",
    "签字盖章要求",
];
const FEE_COLS: [&str; 7] = [
    KEY,
    "收费项目",
    "收费标准",
    "金额（分）",
    "收费依据",
    "允许减免",
    "减免依据",
];
const STEP_COLS: [&str; 5] = [KEY, "环节名称", "办理角色", "时限（工作日）", "审查标准"];

/// Which JSON field of a child row a column sets (for error placement).
fn child_field(sheet: &str, field: &str) -> Option<&'static str> {
    let pairs: &[(&str, &str)] = match sheet {
        BASIS => &[
            ("law", "法律法规名称"),
            ("doc_no", "文号"),
            ("article", "条款号"),
            ("text", "条款内容"),
        ],
        MATERIALS => &[
            ("key", "材料键"),
            ("name", "材料名称"),
            ("kind", "材料类型"),
            ("form", "材料形式"),
            ("necessity", "必要性"),
            ("paper_spec", "纸质规格"),
            ("originals", "原件份数"),
            ("copies", "复印件份数"),
            ("source", "来源渠道"),
            ("standard", "受理标准"),
            ("basis", "依据"),
            ("notes", "填报须知"),
            ("sign_seal", "签字盖章要求"),
        ],
        FEES => &[
            ("name", "收费项目"),
            ("standard", "收费标准"),
            ("amount_fen", "金额（分）"),
            ("basis", "收费依据"),
            ("reducible", "允许减免"),
            ("reduction_basis", "减免依据"),
        ],
        STEPS => &[
            ("name", "环节名称"),
            ("role", "办理角色"),
            ("days", "时限（工作日）"),
            ("standard", "审查标准"),
        ],
        _ => &[],
    };
    let f = field.split('.').next().unwrap_or(field);
    pairs.iter().find(|(k, _)| *k == f).map(|(_, v)| *v)
}

// ---------------------------------------------------------------------------------------
// Document → tables (export)
// ---------------------------------------------------------------------------------------

fn entry_headers() -> Vec<&'static str> {
    let mut h = vec![KEY, KIND, BASIC_CODE, IMPL_CODE, DEPT_NAME, DEPT_USCC];
    h.extend(cols().iter().map(|c| c.header));
    h
}

/// The five sheets of a document (items written with their full elements).
pub fn doc_to_tables(doc: &CatalogDoc) -> Vec<Table> {
    let columns = cols();
    let mut entries = Table::new(ENTRIES, &entry_headers());
    let mut basis = Table::new(BASIS, &BASIS_COLS);
    let mut materials = Table::new(MATERIALS, &MATERIAL_COLS);
    let mut fees = Table::new(FEES, &FEE_COLS);
    let mut steps = Table::new(STEPS, &STEP_COLS);
    let mut rows: Vec<(String, Vec<String>, Elements)> = vec![];
    for b in &doc.basic {
        rows.push((
            b.basic_code.clone(),
            vec![
                b.basic_code.clone(),
                KIND_BASIC.into(),
                b.basic_code.clone(),
                String::new(),
                String::new(),
                String::new(),
            ],
            b.elements.clone(),
        ));
    }
    let basics: HashMap<&str, &Elements> = doc.basic.iter().map(|b| (b.basic_code.as_str(), &b.elements)).collect();
    for it in &doc.items {
        let e = match basics.get(it.basic_code.as_str()) {
            Some(b) => overlay(b, &it.elements, "elements").ok(),
            None => elements_from_value(serde_json::Value::Object(it.elements.clone()), "elements").ok(),
        };
        let Some(e) = e else { continue };
        let key = it.implementation_code.clone().unwrap_or_else(|| {
            format!(
                "{}@{}",
                it.basic_code,
                it.department_name
                    .clone()
                    .or(it.department_uscc.clone())
                    .unwrap_or_default()
            )
        });
        rows.push((
            key.clone(),
            vec![
                key,
                KIND_ITEM.into(),
                it.basic_code.clone(),
                it.implementation_code.clone().unwrap_or_default(),
                it.department_name.clone().unwrap_or_default(),
                it.department_uscc.clone().unwrap_or_default(),
            ],
            e,
        ));
    }
    for (key, mut head, e) in rows {
        head.extend(columns.iter().map(|c| (c.get)(&e)));
        entries.push(head);
        for b in &e.legal_basis {
            basis.push(vec![
                key.clone(),
                b.law.clone(),
                b.doc_no.clone().unwrap_or_default(),
                b.article.clone().unwrap_or_default(),
                b.text.clone(),
            ]);
        }
        for m in &e.materials {
            materials.push(vec![
                key.clone(),
                m.key.clone(),
                m.name.clone(),
                m.kind.zh().into(),
                m.form.zh().into(),
                m.necessity.zh().into(),
                m.paper_spec.clone().unwrap_or_default(),
                m.originals.to_string(),
                m.copies.to_string(),
                m.source.channel.zh().into(),
                m.source.note.clone().unwrap_or_default(),
                m.source.licence_type.clone().unwrap_or_default(),
                m.standard.clone(),
                m.basis.clone().unwrap_or_default(),
                m.notes.clone().unwrap_or_default(),
                m.sign_seal.clone().unwrap_or_default(),
            ]);
        }
        for f in &e.fees {
            fees.push(vec![
                key.clone(),
                f.name.clone(),
                f.standard.clone(),
                f.amount_fen.map(|a| a.to_string()).unwrap_or_default(),
                f.basis.clone(),
                bool_cell(f.reducible),
                f.reduction_basis.clone().unwrap_or_default(),
            ]);
        }
        for s in &e.steps {
            steps.push(vec![
                key.clone(),
                s.name.clone(),
                s.role.zh().into(),
                s.days.to_string(),
                s.standard.clone(),
            ]);
        }
    }
    vec![entries, basis, materials, fees, steps]
}

pub fn tables_to_xlsx(tables: &[Table]) -> Result<Vec<u8>> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for t in tables {
        let ws = wb.add_worksheet();
        ws.set_name(&t.name).map_err(xlsx_err)?;
        for (c, h) in t.headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold).map_err(xlsx_err)?;
        }
        for (r, (_, cells)) in t.rows.iter().enumerate() {
            for (c, v) in cells.iter().enumerate() {
                if !v.is_empty() {
                    ws.write_string(r as u32 + 1, c as u16, v).map_err(xlsx_err)?;
                }
            }
        }
        ws.set_freeze_panes(1, 1).map_err(xlsx_err)?;
    }
    wb.save_to_buffer().map_err(xlsx_err)
}

fn xlsx_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("xlsx: {e}"))
}

/// A zip of one CSV per sheet (UTF-8 with a byte-order mark, which Excel needs).
pub fn tables_to_csv_zip(tables: &[Table]) -> Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for t in tables {
        let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
        w.write_record(&t.headers).map_err(csv_err)?;
        for (_, cells) in &t.rows {
            w.write_record(cells).map_err(csv_err)?;
        }
        let bytes = w.into_inner().map_err(|e| StoreError::Internal(format!("csv: {e}")))?;
        zip.start_file(format!("{}.csv", t.name), opts)
            .map_err(|e| StoreError::Internal(format!("zip: {e}")))?;
        zip.write_all(&bytes)
            .map_err(|e| StoreError::Internal(format!("zip: {e}")))?;
    }
    Ok(zip
        .finish()
        .map_err(|e| StoreError::Internal(format!("zip: {e}")))?
        .into_inner())
}

fn csv_err(e: csv::Error) -> StoreError {
    StoreError::Internal(format!("csv: {e}"))
}

// ---------------------------------------------------------------------------------------
// Files → tables
// ---------------------------------------------------------------------------------------

/// Bounds of an imported workbook (issue 13, item 2: a 16 KB zip of one 16 MiB CSV took
/// 4.5 GB). A province's whole catalogue fits well inside them; anything beyond is refused
/// at the first bound crossed, before it is held in memory.
pub mod bounds {
    /// Bytes of all sheets unpacked (CSV text; xlsx sheet XML may take twice this).
    pub const UNPACKED: u64 = 32 << 20;
    /// Files inside a zip.
    pub const ENTRIES: usize = 32;
    /// Rows of one sheet.
    pub const ROWS: usize = 100_000;
    /// Cells of one row.
    pub const COLUMNS: usize = 256;
    /// Characters of one cell.
    pub const CELL_CHARS: usize = 20_000;
    /// Cells of the whole workbook.
    pub const CELLS: usize = 2_000_000;
}

fn too_big(zh: String, en: String) -> Vec<ImportProblem> {
    vec![ImportProblem::of(FieldError::new("(file)", "import.too_large", zh, en))]
}

/// Counts cells against the workbook's bounds; the first crossed is the error.
#[derive(Default)]
struct Budget {
    cells: usize,
}

impl Budget {
    fn row(&mut self, sheet: &str, row: usize, cells: &[String]) -> std::result::Result<(), Vec<ImportProblem>> {
        let place = |p: Vec<ImportProblem>| {
            p.into_iter()
                .map(|x| ImportProblem {
                    sheet: Some(sheet.to_string()),
                    row: Some(row),
                    ..x
                })
                .collect::<Vec<_>>()
        };
        if row > bounds::ROWS + 1 {
            return Err(place(too_big(
                format!("工作表「{sheet}」超过 {} 行", bounds::ROWS),
                format!("sheet '{sheet}' has more than {} rows", bounds::ROWS),
            )));
        }
        if cells.len() > bounds::COLUMNS {
            return Err(place(too_big(
                format!("一行不能超过 {} 列", bounds::COLUMNS),
                format!("a row has at most {} cells", bounds::COLUMNS),
            )));
        }
        if cells
            .iter()
            .any(|c| c.len() > bounds::CELL_CHARS * 4 || c.chars().count() > bounds::CELL_CHARS)
        {
            return Err(place(too_big(
                format!("单元格不能超过 {} 个字符", bounds::CELL_CHARS),
                format!("a cell has at most {} characters", bounds::CELL_CHARS),
            )));
        }
        self.cells += cells.len();
        if self.cells > bounds::CELLS {
            return Err(place(too_big(
                format!("文件超过 {} 个单元格", bounds::CELLS),
                format!("the file has more than {} cells", bounds::CELLS),
            )));
        }
        Ok(())
    }
}

/// Checks the entries of a zip (xlsx or CSV zip) without keeping them: how many, and how
/// much they unpack to (read and counted, never trusting the sizes the zip declares).
fn check_zip(bytes: &[u8], unpacked_max: u64) -> std::result::Result<(), Vec<ImportProblem>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        vec![file_problem(
            format!("无法读取 zip 文件：{e}"),
            format!("the zip file cannot be read: {e}"),
        )]
    })?;
    if zip.len() > bounds::ENTRIES {
        return Err(too_big(
            format!("压缩包内文件不能超过 {} 个", bounds::ENTRIES),
            format!("a zip holds at most {} files", bounds::ENTRIES),
        ));
    }
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).map_err(|e| {
            vec![file_problem(
                format!("zip 条目损坏：{e}"),
                format!("broken zip entry: {e}"),
            )]
        })?;
        let left = unpacked_max - total;
        let n = std::io::copy(&mut f.by_ref().take(left + 1), &mut std::io::sink()).map_err(|e| {
            vec![file_problem(
                format!("zip 条目损坏：{e}"),
                format!("broken zip entry: {e}"),
            )]
        })?;
        total += n;
        if total > unpacked_max {
            return Err(too_big(
                format!("解压后超过 {} MB", unpacked_max >> 20),
                format!("the file unpacks to more than {} MB", unpacked_max >> 20),
            ));
        }
    }
    Ok(())
}

fn file_problem(zh: String, en: String) -> ImportProblem {
    ImportProblem::of(FieldError::new("(file)", "import.file", zh, en))
}

/// Reads the sheets of an xlsx workbook (unknown sheets are reported).
pub fn xlsx_to_tables(bytes: &[u8]) -> std::result::Result<Vec<Table>, Vec<ImportProblem>> {
    use calamine::Reader;
    check_zip(bytes, bounds::UNPACKED * 2)?;
    let mut budget = Budget::default();
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|e| {
        vec![file_problem(
            format!("无法读取 xlsx 文件：{e}"),
            format!("the xlsx file cannot be read: {e}"),
        )]
    })?;
    let mut out = vec![];
    let mut problems = vec![];
    for name in wb.sheet_names() {
        if !SHEETS.contains(&name.as_str()) {
            problems.push(unknown_sheet(&name));
            continue;
        }
        let range = match wb.worksheet_range(&name) {
            Ok(r) => r,
            Err(e) => {
                problems.push(file_problem(
                    format!("无法读取工作表「{name}」：{e}"),
                    format!("sheet '{name}' cannot be read: {e}"),
                ));
                continue;
            }
        };
        let (r0, _) = range.start().unwrap_or((0, 0));
        let mut rows = range.rows().enumerate();
        let headers: Vec<String> = match rows.next() {
            Some((_, h)) => h.iter().map(cell_text).collect(),
            None => vec![],
        };
        let mut t = Table {
            name: name.clone(),
            headers,
            rows: vec![],
        };
        budget.row(&name, 1, &t.headers)?;
        for (i, r) in rows {
            if r.len() > bounds::COLUMNS {
                budget.row(&name, r0 as usize + i + 1, &vec![String::new(); r.len()])?;
            }
            let cells: Vec<String> = r.iter().map(cell_text).collect();
            budget.row(&name, r0 as usize + i + 1, &cells)?;
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            t.rows.push((r0 as usize + i + 1, cells));
        }
        out.push(t);
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => bool_cell(*b),
        other => other.to_string(),
    }
}

fn unknown_sheet(name: &str) -> ImportProblem {
    ImportProblem {
        sheet: Some(name.to_string()),
        ..file_problem(
            format!("未知的工作表「{name}」，应为：{}", SHEETS.join("、")),
            format!("unknown sheet '{name}'; the sheets are: {}", SHEETS.join(", ")),
        )
    }
}

/// Text of a CSV file: UTF-8 (with or without a byte-order mark) or GB18030, which
/// Excel in China writes by default.
fn decode_csv(bytes: &[u8]) -> String {
    let b = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030.decode(b).0.into_owned(),
    }
}

fn csv_to_table(name: &str, bytes: &[u8], budget: &mut Budget) -> std::result::Result<Table, Vec<ImportProblem>> {
    let text = decode_csv(bytes);
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut t = Table {
        name: name.into(),
        ..Default::default()
    };
    for (i, rec) in rd.records().enumerate() {
        let rec = rec.map_err(|e| {
            vec![ImportProblem {
                sheet: Some(name.into()),
                row: Some(i + 1),
                ..file_problem(format!("CSV 格式错误：{e}"), format!("malformed CSV: {e}"))
            }]
        })?;
        if rec.len() > bounds::COLUMNS {
            budget.row(name, i + 1, &vec![String::new(); rec.len()])?;
        }
        let cells: Vec<String> = rec.iter().map(String::from).collect();
        budget.row(name, i + 1, &cells)?;
        if i == 0 {
            t.headers = cells;
        } else if !cells.iter().all(|c| c.trim().is_empty()) {
            t.rows.push((i + 1, cells));
        }
    }
    Ok(t)
}

/// Reads a zip of CSV files named after the sheets (`事项.csv`, …), or a single CSV file
/// (the entries sheet only).
pub fn csv_to_tables(bytes: &[u8]) -> std::result::Result<Vec<Table>, Vec<ImportProblem>> {
    let mut budget = Budget::default();
    if !bytes.starts_with(b"PK") {
        if bytes.len() as u64 > bounds::UNPACKED {
            return Err(too_big(
                format!("文件超过 {} MB", bounds::UNPACKED >> 20),
                format!("the file is larger than {} MB", bounds::UNPACKED >> 20),
            ));
        }
        return csv_to_table(ENTRIES, bytes, &mut budget).map(|t| vec![t]);
    }
    check_zip(bytes, bounds::UNPACKED)?;
    let mut seen = std::collections::BTreeSet::new();
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        vec![file_problem(
            format!("无法读取 zip 文件：{e}"),
            format!("the zip file cannot be read: {e}"),
        )]
    })?;
    let mut out = vec![];
    let mut problems = vec![];
    for i in 0..zip.len() {
        let mut f = match zip.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                problems.push(file_problem(
                    format!("zip 条目损坏：{e}"),
                    format!("broken zip entry: {e}"),
                ));
                continue;
            }
        };
        if f.is_dir() {
            continue;
        }
        let full = f.name().map(|n| n.to_string()).unwrap_or_default();
        let base = full.rsplit('/').next().unwrap_or(&full);
        let Some(name) = base.strip_suffix(".csv") else {
            problems.push(unknown_sheet(base));
            continue;
        };
        if !SHEETS.contains(&name) {
            problems.push(unknown_sheet(name));
            continue;
        }
        if !seen.insert(name.to_string()) {
            return Err(vec![ImportProblem {
                sheet: Some(name.into()),
                ..file_problem(
                    format!("工作表「{name}」重复出现"),
                    format!("sheet '{name}' appears twice"),
                )
            }]);
        }
        let mut buf = vec![];
        // The whole zip unpacks within the bound (checked above); read no more than that.
        if f.by_ref().take(bounds::UNPACKED).read_to_end(&mut buf).is_err() {
            return Err(vec![file_problem(
                format!("无法读取「{base}」"),
                format!("'{base}' cannot be read"),
            )]);
        }
        // A structural error (malformed CSV, a bound crossed) stops the reading.
        out.push(csv_to_table(name, &buf, &mut budget)?);
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

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

struct Row<'a> {
    n: usize,
    cells: HashMap<&'a str, &'a str>,
}

impl Row<'_> {
    fn get(&self, h: &str) -> &str {
        self.cells.get(h).copied().unwrap_or("").trim()
    }
}

fn rows_of(t: &Table) -> Vec<Row<'_>> {
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

fn cell_problem(sheet: &str, row: usize, column: &str, rule: &str, zh: String, en: String) -> ImportProblem {
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

fn check_headers(t: &Table, expected: &[&str], problems: &mut Vec<ImportProblem>) {
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
fn nullable(k: &str) -> bool {
    matches!(
        k,
        "local_code"
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

fn material(c: &Row, _j: usize, old: Option<&Material>) -> std::result::Result<Material, Vec<ImportProblem>> {
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

/// Which spreadsheet a byte string is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xlsx,
    Csv,
}

impl Format {
    /// By file name or content type.
    pub fn guess(name_or_type: &str, bytes: &[u8]) -> Format {
        let n = name_or_type.to_ascii_lowercase();
        if n.ends_with(".xlsx") || n.contains("spreadsheetml") {
            Format::Xlsx
        } else if n.ends_with(".csv") || n.ends_with(".zip") || n.contains("csv") || n.contains("zip") {
            Format::Csv
        } else if n.ends_with(".json") || n.contains("json") {
            Format::Json
        } else if bytes.starts_with(b"PK") {
            // An xlsx is a zip with xl/workbook.xml; a CSV zip has none.
            if bytes.windows(11).any(|w| w == b"xl/workbook") {
                Format::Xlsx
            } else {
                Format::Csv
            }
        } else if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            Format::Json
        } else {
            Format::Csv
        }
    }
}

/// Reads a document from JSON, xlsx or CSV; spreadsheets are merged with the current
/// elements of the entries they name. Problems are placed on sheet, row and column.
pub async fn read(
    store: &Store,
    format: Format,
    bytes: &[u8],
) -> Result<std::result::Result<(CatalogDoc, Option<Provenance>), Vec<ImportProblem>>> {
    let tables = match format {
        Format::Json => {
            let de = &mut serde_json::Deserializer::from_slice(bytes);
            return Ok(match serde_path_to_error::deserialize::<_, CatalogDoc>(de) {
                Ok(doc) => Ok((doc, None)),
                Err(e) => Err(vec![ImportProblem::of(FieldError::new(
                    match e.path().to_string() {
                        p if p == "." => "(file)".to_string(),
                        p => p,
                    },
                    "import.json",
                    format!("JSON 内容错误：{}", e.inner()),
                    format!("the JSON is wrong: {}", e.inner()),
                ))]),
            });
        }
        Format::Xlsx => xlsx_to_tables(bytes),
        Format::Csv => csv_to_tables(bytes),
    };
    let tables = match tables {
        Ok(t) => t,
        Err(p) => return Ok(Err(p)),
    };
    // The current elements of the entries the sheets name (items and basic entries).
    let mut existing = Existing::new();
    let mut conn = store.read.acquire().await?;
    if let Some(t) = tables.iter().find(|t| t.name == ENTRIES) {
        for r in rows_of(t) {
            for code in [r.get(BASIC_CODE), r.get(IMPL_CODE)] {
                if !code.is_empty()
                    && !existing.contains_key(code)
                    && let Some(e) = entry_by_code(&mut conn, code).await?
                {
                    existing.insert(code.to_string(), current(&mut conn, &e).await?.elements);
                }
            }
        }
    }
    drop(conn);
    Ok(tables_to_doc(&tables, &existing, &store.config.catalog.locked).map(|(d, p)| (d, Some(p))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in files {
            zip.start_file(*name, opts).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn rule(r: std::result::Result<Vec<Table>, Vec<ImportProblem>>) -> String {
        match r {
            Ok(_) => panic!("accepted"),
            Err(e) => e[0].rule.clone(),
        }
    }

    /// Issue 13, item 2: what the probe sent, and the other ways to make a small request
    /// into a large memory, are refused at the first bound crossed.
    #[test]
    fn imports_are_bounded() {
        // A zip bomb: one sheet unpacking past the bound (compresses to a few KB).
        let bomb = zip_of(&[(&format!("{ENTRIES}.csv"), vec![b'a'; (bounds::UNPACKED + 1) as usize])]);
        assert!(bomb.len() < 100_000, "{}", bomb.len());
        assert_eq!(rule(csv_to_tables(&bomb)), "import.too_large");
        // Many small entries adding up, and too many entries.
        let half = vec![b'b'; (bounds::UNPACKED / 2 + 1) as usize];
        let two = zip_of(&[
            (&format!("{ENTRIES}.csv"), half.clone()),
            (&format!("{BASIS}.csv"), half),
        ]);
        assert_eq!(rule(csv_to_tables(&two)), "import.too_large");
        let names: Vec<String> = (0..=bounds::ENTRIES).map(|i| format!("x{i}.csv")).collect();
        let many = zip_of(&names.iter().map(|n| (n.as_str(), b"a".to_vec())).collect::<Vec<_>>());
        assert_eq!(rule(csv_to_tables(&many)), "import.too_large");
        // A workbook whose sheet XML unpacks past its (doubled) bound.
        let xml = zip_of(&[(
            "xl/worksheets/sheet1.xml",
            vec![b' '; (bounds::UNPACKED * 2 + 1) as usize],
        )]);
        assert_eq!(rule(xlsx_to_tables(&xml)), "import.too_large");
        // A plain CSV past the bound, a row too wide, a cell too long, too many rows.
        assert_eq!(
            rule(csv_to_tables(&vec![b'c'; (bounds::UNPACKED + 1) as usize])),
            "import.too_large"
        );
        let wide = "a,".repeat(bounds::COLUMNS + 1);
        assert_eq!(rule(csv_to_tables(wide.as_bytes())), "import.too_large");
        let long = "d".repeat(bounds::CELL_CHARS + 1);
        assert_eq!(rule(csv_to_tables(long.as_bytes())), "import.too_large");
        let rows = "e\n".repeat(bounds::ROWS + 2);
        assert_eq!(rule(csv_to_tables(rows.as_bytes())), "import.too_large");
        // A sheet twice.
        let twice = zip_of(&[
            (&format!("{ENTRIES}.csv"), b"a".to_vec()),
            (&format!("x/{ENTRIES}.csv"), b"a".to_vec()),
        ]);
        assert_eq!(rule(csv_to_tables(&twice)), "import.file");
        // Within the bounds, read as before.
        let ok = csv_to_tables("h1,h2\nv1,v2\n".as_bytes()).unwrap();
        assert_eq!(ok[0].rows.len(), 1);
    }

    #[test]
    fn list_cells_round_trip() {
        for list in [
            vec!["营业执照", "餐饮许可证"],
            vec!["税务部门（发票申领、税务登记信息确认）", "银行"],
            vec!["甲，乙", "丙"],
            vec!["单独一项"],
        ] {
            let cell = join(&list);
            assert_eq!(split_list(&cell), list, "{cell:?}");
        }
        assert_eq!(split_list("窗口办理、网上办理"), vec!["窗口办理", "网上办理"]);
        assert!(split_list("").is_empty());
    }
}
