//! Document → tables → xlsx or CSV zip.

use super::*;

// ---------------------------------------------------------------------------------------
// Document → tables (export)
// ---------------------------------------------------------------------------------------

pub(super) fn entry_headers() -> Vec<&'static str> {
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

pub(super) fn xlsx_err(e: impl std::fmt::Display) -> StoreError {
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

pub(super) fn csv_err(e: csv::Error) -> StoreError {
    StoreError::Internal(format!("csv: {e}"))
}
