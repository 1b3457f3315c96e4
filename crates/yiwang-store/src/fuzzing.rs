//! What the fuzz targets (`fuzz/`, cargo-fuzz) feed outside input to: every parser of
//! bytes that come from outside. Each function takes arbitrary bytes and must return (with
//! errors named as usual) — a panic, a hang or an allocation past the bounds is a bug. The
//! same functions replay the committed corpora in the ordinary test run
//! (`tests/fuzz_corpora.rs`), so every case a fuzzer once found stays covered.

use crate::catalog::sheets;
use std::sync::OnceLock;
use yiwang_core::catalog::{CatalogDoc, Elements};

/// A fuzz target's entry point.
pub type Target = fn(&[u8]);

/// The targets by name (the fuzz target and its corpus directory have the same name).
pub const TARGETS: &[(&str, Target)] = &[
    ("catalog_csv", catalog_csv),
    ("catalog_xlsx", catalog_xlsx),
    ("catalog_json", catalog_json),
    ("qr_payload", qr_payload),
    ("licence_file", licence_file),
    ("application_json", application_json),
    ("file_sniff", file_sniff),
];

/// A catalogue import as CSV (one file or a zip of sheets), then the sheets as entries.
pub fn catalog_csv(data: &[u8]) {
    if let Ok(tables) = sheets::csv_to_tables(data) {
        let _ = sheets::tables_to_doc(&tables, &Default::default(), &[]);
    }
}

/// A catalogue import as an xlsx workbook, then the sheets as entries.
pub fn catalog_xlsx(data: &[u8]) {
    if let Ok(tables) = sheets::xlsx_to_tables(data) {
        let _ = sheets::tables_to_doc(&tables, &Default::default(), &[]);
    }
}

/// A catalogue import in our JSON interchange format; a document that reads is written out
/// as sheets and read back.
pub fn catalog_json(data: &[u8]) {
    if let Ok(doc) = serde_json::from_slice::<CatalogDoc>(data) {
        let tables = sheets::doc_to_tables(&doc);
        let _ = sheets::tables_to_doc(&tables, &Default::default(), &[]);
    }
}

/// A licence QR payload (`YWL1…`), parsed and verified offline with no trusted key.
pub fn qr_payload(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = yiwang_core::licences::verify_qr(text, &|_| None, &|_, _, _| false, today());
    }
}

/// A licence file (our signed JSON) as uploaded to `/verify`.
pub fn licence_file(data: &[u8]) {
    if let Ok(f) = serde_json::from_slice::<yiwang_core::licences::LicenceFile>(data) {
        let _ = yiwang_core::licences::verify_file(&f, None, &|_, _, _| false, today(), None);
    }
}

/// An application (JSON) pre-checked against a real item of the demo catalogue.
pub fn application_json(data: &[u8]) {
    if let Ok(app) = serde_json::from_slice::<yiwang_core::cases::Application>(data) {
        let _ = yiwang_core::cases::precheck(item(), &|_| None, &app, true);
        let _ = yiwang_core::cases::precheck(item(), &|_| None, &app, false);
    }
}

/// An upload's type, told from its first bytes.
pub fn file_sniff(data: &[u8]) {
    let _ = crate::files::sniff(data);
}

fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 12, 5).expect("a date")
}

/// The demo catalogue's first service with a form and materials.
fn item() -> &'static Elements {
    static ITEM: OnceLock<Elements> = OnceLock::new();
    ITEM.get_or_init(|| {
        let doc: CatalogDoc =
            serde_json::from_str(include_str!("../../yiwang/demo/catalog.json")).expect("the demo catalogue");
        doc.basic
            .into_iter()
            .map(|b| b.elements)
            .find(|e| !e.form.is_empty() && !e.materials.is_empty())
            .expect("a service with a form and materials")
    })
}
