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

mod columns;
use columns::*;
mod export;
pub use export::*;
mod parse;
pub use parse::*;
mod to_doc;
pub use to_doc::*;

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
