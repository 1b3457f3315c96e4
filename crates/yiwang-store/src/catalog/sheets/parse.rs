//! Files → tables, bounded.

use super::*;

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

pub(super) fn too_big(zh: String, en: String) -> Vec<ImportProblem> {
    vec![ImportProblem::of(FieldError::new("(file)", "import.too_large", zh, en))]
}

/// Counts cells against the workbook's bounds; the first crossed is the error.
#[derive(Default)]
pub(super) struct Budget {
    pub(super) cells: usize,
}

impl Budget {
    pub(super) fn row(
        &mut self,
        sheet: &str,
        row: usize,
        cells: &[String],
    ) -> std::result::Result<(), Vec<ImportProblem>> {
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
pub(super) fn check_zip(bytes: &[u8], unpacked_max: u64) -> std::result::Result<(), Vec<ImportProblem>> {
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

pub(super) fn file_problem(zh: String, en: String) -> ImportProblem {
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

pub(super) fn cell_text(d: &calamine::Data) -> String {
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

pub(super) fn unknown_sheet(name: &str) -> ImportProblem {
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
pub(super) fn decode_csv(bytes: &[u8]) -> String {
    let b = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030.decode(b).0.into_owned(),
    }
}

pub(super) fn csv_to_table(
    name: &str,
    bytes: &[u8],
    budget: &mut Budget,
) -> std::result::Result<Table, Vec<ImportProblem>> {
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
