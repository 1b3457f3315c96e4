//! Documents of yiwang: licences as PDF, laid out by typst used as a library, and QR
//! codes as SVG. Fonts are Debian's fonts-noto-cjk (the directory can be changed with
//! `YIWANG_FONT_DIR`); typst subsets them, so a licence page stays small.
//!
//! This crate does no database work: callers hand it what is printed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use serde::Serialize;
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

/// Why a document could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("no CJK fonts found in {0} (install Debian's fonts-noto-cjk or set YIWANG_FONT_DIR)")]
    NoFonts(String),
    #[error("typesetting failed: {0}")]
    Typeset(String),
}

/// The default font directory (Debian's fonts-noto-cjk).
pub const DEFAULT_FONT_DIR: &str = "/usr/share/fonts/opentype/noto";

struct Fonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

/// Fonts are opened once per process. The four Noto CJK collections are ~90 MB; they are
/// memory-mapped, so only the pages a document's glyphs use become resident (and the
/// kernel shares and reclaims them like any file cache) instead of 90 MB of heap.
static FONTS: LazyLock<Result<Arc<Fonts>, String>> = LazyLock::new(|| {
    let dir = std::env::var("YIWANG_FONT_DIR").unwrap_or_else(|_| DEFAULT_FONT_DIR.to_string());
    load_fonts(Path::new(&dir)).map(Arc::new)
});

static LIBRARY: LazyLock<LazyHash<Library>> = LazyLock::new(|| LazyHash::new(Library::default()));

fn load_fonts(dir: &Path) -> Result<Fonts, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|_| dir.display().to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.contains("CJK") && (name.ends_with(".ttc") || name.ends_with(".otf") || name.ends_with(".ttf"))
        })
        .collect();
    paths.sort();
    let mut fonts = Vec::new();
    for p in paths {
        let Ok(file) = std::fs::File::open(&p) else { continue };
        // SAFETY: a font file of a system package, opened read-only and never written by
        // us; were it truncated while mapped, reading it would fault (as with any mapped
        // file). The map lives as long as the `Bytes` that own it.
        let Ok(map) = (unsafe { memmap2::Mmap::map(&file) }) else {
            continue;
        };
        fonts.extend(Font::iter(Bytes::new(map)));
    }
    if fonts.is_empty() {
        return Err(dir.display().to_string());
    }
    let book = LazyHash::new(FontBook::from_fonts(&fonts));
    Ok(Fonts { book, fonts })
}

/// Whether the fonts can be had (for a clear message at start-up).
pub fn fonts_available() -> Result<(), DocError> {
    FONTS.as_ref().map(|_| ()).map_err(|d| DocError::NoFonts(d.clone()))
}

/// A typst world of one main file and a few in-memory files.
struct DocWorld {
    fonts: Arc<Fonts>,
    main: Source,
    files: HashMap<FileId, Bytes>,
}

fn file_id(path: &str) -> FileId {
    RootedPath::new(
        VirtualRoot::Project,
        VirtualPath::new(path).expect("valid virtual path"),
    )
    .intern()
}

impl DocWorld {
    fn new(main: &str, files: Vec<(&str, Vec<u8>)>) -> Result<DocWorld, DocError> {
        let fonts = FONTS.as_ref().map_err(|d| DocError::NoFonts(d.clone()))?.clone();
        let main = Source::new(file_id("/main.typ"), main.to_string());
        let files = files.into_iter().map(|(p, b)| (file_id(p), Bytes::new(b))).collect();
        Ok(DocWorld { fonts, main, files })
    }
}

impl World for DocWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &self.fonts.book
    }
    fn main(&self) -> FileId {
        self.main.id()
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::NotSource)
        }
    }
    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.main.id() {
            return Ok(Bytes::from_string(self.main.text().to_string()));
        }
        self.files
            .get(&id)
            .cloned()
            .ok_or_else(|| FileError::NotFound(PathBuf::from(id.vpath().get_with_slash())))
    }
    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.fonts.get(index).cloned()
    }
    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        // Documents never print "today": every date comes from the data.
        None
    }
}

/// How many compilations a memoized typst result survives unused. typst memoizes layout
/// and shaping across compilations in a process-wide cache that only eviction shrinks (the
/// typst CLI evicts after every compilation in watch mode); a server that renders a notice
/// for every decision would otherwise grow without bound.
const CACHE_MAX_AGE: usize = 10;

fn typeset(world: &DocWorld) -> Result<PagedDocument, DocError> {
    let out = typst::compile(world).output;
    comemo::evict(CACHE_MAX_AGE);
    out.map_err(|errs| {
        DocError::Typeset(
            errs.iter()
                .map(|e| e.message.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}

fn compile_pdf(world: &DocWorld) -> Result<Vec<u8>, DocError> {
    let doc = typeset(world)?;
    let options = typst_pdf::PdfOptions {
        ident: typst::foundations::Smart::Auto,
        ..Default::default()
    };
    typst_pdf::pdf(&doc, &options).map_err(|errs| {
        DocError::Typeset(
            errs.iter()
                .map(|e| e.message.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}

/// A QR code of `text` as SVG (error correction level M, quiet zone included).
pub fn qr_svg(text: &str) -> String {
    use qrcode::render::svg;
    use qrcode::{EcLevel, QrCode};
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .or_else(|_| QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L))
        .expect("payload fits a QR code");
    code.render::<svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build()
}

/// What the face of a licence shows.
#[derive(Debug, Clone, Serialize)]
pub struct LicencePage {
    /// Landscape certificate (true) or portrait.
    pub landscape: bool,
    /// The licence type's name, printed as the title.
    pub title: String,
    /// 证照编号.
    pub number: String,
    /// Label and value of each face line, in order (holder first).
    pub fields: Vec<(String, String)>,
    pub issuer_name: String,
    /// 发证日期 as printed (e.g. 2026年11月25日).
    pub issued_on: String,
    /// 有效期 as printed.
    pub validity: String,
    /// The GB/T 36904 identifier.
    pub licence_id: String,
    pub note: Option<String>,
    /// Printed across the page when the licence is no longer valid (e.g. 已撤销 REVOKED).
    pub watermark: Option<String>,
    /// How to verify, printed under the QR code.
    pub verify_hint: String,
}

const LICENCE_TEMPLATE: &str = include_str!("licence.typ");

fn licence_world(page: &LicencePage, seal_svg: &str, qr_payload: &str) -> Result<DocWorld, DocError> {
    let data = serde_json::to_vec(page).expect("serialisable");
    DocWorld::new(
        LICENCE_TEMPLATE,
        vec![
            ("/data.json", data),
            ("/seal.svg", seal_svg.as_bytes().to_vec()),
            ("/qr.svg", qr_svg(qr_payload).into_bytes()),
        ],
    )
}

/// The licence as a one-page PDF: face data, issuer, the seal image over the issuing
/// line and a QR code carrying the signed compact payload.
pub fn licence_pdf(page: &LicencePage, seal_svg: &str, qr_payload: &str) -> Result<Vec<u8>, DocError> {
    compile_pdf(&licence_world(page, seal_svg, qr_payload)?)
}

/// The same face as an SVG image (shown in the wallet and on the verification page).
pub fn licence_svg(page: &LicencePage, seal_svg: &str, qr_payload: &str) -> Result<String, DocError> {
    let doc = typeset(&licence_world(page, seal_svg, qr_payload)?)?;
    let first = doc.pages().first().ok_or_else(|| DocError::Typeset("no page".into()))?;
    Ok(typst_svg::svg(first, &typst_svg::SvgOptions::default()))
}

/// A case notice (受理通知书, 补正告知书, 决定书 …) as printed.
#[derive(Debug, Clone, Serialize)]
pub struct NoticePage {
    /// The department that issues it (printed as the letterhead and the signature).
    pub department: String,
    pub title: String,
    /// The document number line (e.g. the case number and the notice kind).
    pub doc_no: String,
    pub case_id: String,
    /// To whom (the applicant).
    pub addressee: String,
    pub paragraphs: Vec<String>,
    /// Listed lines (materials to correct, materials to follow): (what, note).
    pub items: Vec<(String, String)>,
    /// The date as printed (e.g. 2026年11月25日).
    pub date: String,
    /// Whether the seal image is printed (a signed notice).
    pub sealed: bool,
    /// The signature fingerprint, or a line saying the notice is unsigned.
    pub signature_line: String,
    pub verify_hint: String,
    /// Where the person rates the case on their phone (好差评, a second QR code), if the
    /// notice invites a rating (receipts and results).
    pub rate_url: Option<String>,
}

const NOTICE_TEMPLATE: &str = include_str!("notice.typ");

/// A notice as a PDF: letterhead, text, listed items, the seal over the date and a QR
/// code pointing at the case's verification address.
pub fn notice_pdf(page: &NoticePage, seal_svg: &str, qr_text: &str) -> Result<Vec<u8>, DocError> {
    let data = serde_json::to_vec(page).expect("serialisable");
    let mut files = vec![
        ("/data.json", data),
        ("/seal.svg", seal_svg.as_bytes().to_vec()),
        ("/qr.svg", qr_svg(qr_text).into_bytes()),
    ];
    if let Some(u) = &page.rate_url {
        files.push(("/rate.svg", qr_svg(u).into_bytes()));
    }
    compile_pdf(&DocWorld::new(NOTICE_TEMPLATE, files)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> LicencePage {
        LicencePage {
            landscape: true,
            title: "食品经营许可证".into(),
            number: "JY14601050012345".into(),
            fields: vec![
                ("经营者名称".into(), "海口椰风食品有限公司".into()),
                ("统一社会信用代码".into(), "91460100MA5T0XXX1K".into()),
                ("经营场所".into(), "海南省海口市龙华区滨海大道 1 号".into()),
            ],
            issuer_name: "海口市市场监督管理局".into(),
            issued_on: "2026年11月25日".into(),
            validity: "2026年11月25日至2031年11月24日".into(),
            licence_id: "1.2.156.3005.2.11460100MB1234567X001.11460100MB1234567X.00001.001.P".into(),
            note: Some("本证照可通过扫描二维码核验".into()),
            watermark: None,
            verify_hint: "扫码核验 Scan to verify".into(),
        }
    }

    const SEAL: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200" viewBox="0 0 200 200"><circle cx="100" cy="100" r="90" fill="none" stroke="#d00" stroke-width="6"/></svg>"##;

    #[test]
    fn notice_pdf_prints_text_and_items() {
        if fonts_available().is_err() {
            panic!("fonts-noto-cjk is required for the document tests (install it or set YIWANG_FONT_DIR)");
        }
        let page = NoticePage {
            department: "海口市市场监督管理局".into(),
            title: "补正告知书".into(),
            doc_no: "（补正）46010000000020261125000001".into(),
            case_id: "46010000000020261125000001".into(),
            addressee: "海口椰风食品有限公司 #[evil]".into(),
            paragraphs: vec!["你单位提交的申请材料不齐全，请一次性补正下列内容。".into()],
            items: vec![("营业执照".into(), "复印件不清晰".into())],
            date: "2026年11月25日".into(),
            sealed: true,
            signature_line: "SM2 签名 ab12".into(),
            verify_hint: "扫码查看办件".into(),
            rate_url: Some("http://127.0.0.1/me/cases/46010000000020261125000001/rate".into()),
        };
        let pdf = notice_pdf(&page, SEAL, "http://127.0.0.1/verify/case").unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        if let Ok(dir) = std::env::var("YIWANG_DOC_SAMPLES") {
            std::fs::write(format!("{dir}/notice-correction.pdf"), &pdf).unwrap();
        }
    }

    #[test]
    fn qr_encodes_long_payloads() {
        let svg = qr_svg(&"YWL1.".repeat(100));
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"));
    }

    #[test]
    fn licence_pdf_is_small_and_has_text() {
        if fonts_available().is_err() {
            panic!("fonts-noto-cjk is required for the document tests (install it or set YIWANG_FONT_DIR)");
        }
        let pdf = licence_pdf(&page(), SEAL, "YWL1.abc.def").unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.len() < 1_000_000, "a licence page is {} bytes", pdf.len());
        let mut p = page();
        p.landscape = false;
        p.watermark = Some("已撤销 REVOKED".into());
        let pdf2 = licence_pdf(&p, SEAL, "YWL1.abc.def").unwrap();
        if let Ok(dir) = std::env::var("YIWANG_DOC_SAMPLES") {
            std::fs::write(format!("{dir}/licence-landscape.pdf"), &pdf).unwrap();
            std::fs::write(format!("{dir}/licence-portrait-revoked.pdf"), &pdf2).unwrap();
            std::fs::write(
                format!("{dir}/licence-landscape.svg"),
                licence_svg(&page(), SEAL, "YWL1.a.b").unwrap(),
            )
            .unwrap();
            std::fs::write(
                format!("{dir}/licence-portrait-revoked.svg"),
                licence_svg(&p, SEAL, "YWL1.a.b").unwrap(),
            )
            .unwrap();
        }
        assert!(pdf2.len() < 1_000_000);
        assert_ne!(pdf, pdf2);
    }
}
