//! The option set's page (好差评 评价选项, managed centrally: GB/T 39734-2020 评价内容): the
//! province's supervisors see the set in force and its versions, edit it as a table — one
//! row per option, its levels as boxes — and publish it as a new version. The same service
//! function as `PUT /api/v1/ratings/options`.

use super::*;
use crate::pages::{Base, Fields, Page};
use askama::Template;
use axum::Form;
use axum::response::Redirect;
use yiwang_core::FieldError;

/// Empty rows offered for new options.
const NEW_ROWS: usize = 3;

/// One row of the form as shown: what it holds and which levels are ticked.
pub(super) struct OptionRow {
    pub key: String,
    pub zh: String,
    pub en: String,
    pub levels: Vec<u8>,
    pub remove: bool,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "rating_options.html")]
struct OptionsPage {
    base: Base,
    version: i64,
    rows: Vec<OptionRow>,
    versions: Vec<store::OptionVersion>,
    errors: Vec<FieldError>,
    /// The version just published.
    done: Option<i64>,
}
crate::page!(OptionsPage);

impl OptionsPage {
    fn levels(&self) -> Vec<(u8, &'static str)> {
        core::LEVELS
            .iter()
            .map(|(l, zh, en)| (*l, self.base.lang.pick(zh, en)))
            .collect()
    }
    fn ticked(&self, row: &OptionRow, l: &u8) -> bool {
        row.levels.contains(l)
    }
    /// The row of the form a problem's field (`options[j].x`, j counting kept rows) is in.
    fn row_of(&self, field: &str) -> Option<(usize, String)> {
        let rest = field.strip_prefix("options[")?;
        let (j, x) = rest.split_once("].")?;
        let j: usize = j.parse().ok()?;
        let i = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| kept(r))
            .nth(j)
            .map(|(i, _)| i)?;
        Some((i, x.to_string()))
    }
    fn label_of(&self, field: &str) -> String {
        let l = self.base.lang;
        match self.row_of(field) {
            Some((i, x)) => {
                let what = match x.as_str() {
                    "key" => l.pick("代码", "key"),
                    "zh" => l.pick("中文", "Chinese"),
                    "en" => l.pick("英文", "English"),
                    _ => l.pick("适用等级", "levels"),
                };
                format!(
                    "{}{}{what}",
                    l.pick(&format!("第 {} 行", i + 1), &format!("Row {}", i + 1)),
                    l.sep()
                )
            }
            None => String::new(),
        }
    }
    fn summary(&self, e: &FieldError) -> String {
        let label = self.label_of(&e.field);
        let msg = self.msg(e);
        if label.is_empty() {
            msg
        } else {
            format!("{label}{}{msg}", self.base.lang.colon())
        }
    }
    fn anchor(&self, field: &str) -> String {
        match self.row_of(field) {
            Some((i, x)) if x == "levels" => format!("o-{i}-level-1"),
            Some((i, x)) => format!("o-{i}-{x}"),
            None => "options".into(),
        }
    }
    fn invalid(&self, i: &usize, x: &str) -> bool {
        self.errors
            .iter()
            .any(|e| self.row_of(&e.field) == Some((*i, x.to_string())))
    }
}

/// A row that becomes an option: not removed, not left blank.
fn kept(r: &OptionRow) -> bool {
    let blank = r.key.trim().is_empty() && r.zh.trim().is_empty() && r.en.trim().is_empty();
    !r.remove && !blank
}

fn rows_of(options: &[RatingOption]) -> Vec<OptionRow> {
    options
        .iter()
        .map(|o| OptionRow {
            key: o.key.clone(),
            zh: o.zh.clone(),
            en: o.en.clone(),
            levels: o.levels.clone(),
            remove: false,
        })
        .chain((0..NEW_ROWS).map(|_| OptionRow {
            key: String::new(),
            zh: String::new(),
            en: String::new(),
            levels: vec![],
            remove: false,
        }))
        .collect()
}

/// The rows a posted form holds (`key.i`, `zh.i`, `en.i`, `level.i` repeated, `remove.i`),
/// in row order.
fn rows_posted(f: &Fields) -> Vec<OptionRow> {
    let mut rows: std::collections::BTreeMap<usize, OptionRow> = std::collections::BTreeMap::new();
    for (k, v) in f {
        let Some((name, i)) = k.split_once('.') else {
            continue;
        };
        let Ok(i) = i.parse::<usize>() else {
            continue;
        };
        // Bounded: a form of the page never has more rows than options plus the blank ones.
        if i > 500 {
            continue;
        }
        let r = rows.entry(i).or_insert_with(|| OptionRow {
            key: String::new(),
            zh: String::new(),
            en: String::new(),
            levels: vec![],
            remove: false,
        });
        match name {
            "key" => r.key = v.trim().to_string(),
            "zh" => r.zh = v.trim().to_string(),
            "en" => r.en = v.trim().to_string(),
            "level" => r.levels.extend(v.parse::<u8>().ok()),
            "remove" => r.remove = v == "on" || v == "1",
            _ => {}
        }
    }
    rows.into_values().collect()
}

async fn render(
    s: &AppState,
    base: Base,
    rows: Option<Vec<OptionRow>>,
    errors: Vec<FieldError>,
    done: Option<i64>,
) -> ApiResult<Response> {
    let (version, options) = store::options(&s.store).await?;
    let rows = rows.unwrap_or_else(|| rows_of(&options));
    let page = OptionsPage {
        base,
        version,
        rows,
        versions: store::option_versions(&s.store).await?,
        errors,
        done,
    };
    Ok((crate::pages::form_status(&page.errors), page).into_response())
}

pub(super) async fn options_page(
    State(s): State<AppState>,
    base: Base,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<PublishedQuery>,
) -> ApiResult<Response> {
    render(&s, base, None, vec![], q.published).await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PublishedQuery {
    #[serde(default)]
    published: Option<i64>,
}

pub(super) async fn options_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    let rows = rows_posted(&f);
    let options: Vec<RatingOption> = rows
        .iter()
        .filter(|r| kept(r))
        .map(|r| RatingOption {
            key: r.key.clone(),
            zh: r.zh.clone(),
            en: r.en.clone(),
            levels: r.levels.clone(),
        })
        .collect();
    match store::set_options(&s.store, ctx.meta(), options).await {
        Ok(w) => {
            let v = w.value["version"].as_i64().unwrap_or_default();
            Ok(Redirect::to(&format!("/admin/rating-options?published={v}")).into_response())
        }
        Err(e) => render(&s, base, Some(rows), ApiError::from(e).into_field_errors(), None).await,
    }
}
