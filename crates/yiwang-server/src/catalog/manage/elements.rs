//! Dictionary and level differences pages.

use super::*;

// ---------------------------------------------------------------------------------------
// Dictionary and level differences
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_elements.html")]
pub(super) struct ElementsPage {
    pub(super) base: Base,
    pub(super) elements: Vec<core::DataElement>,
}

impl ElementsPage {
    pub(super) fn kind(&self, d: &core::DataElement) -> &'static str {
        self.base.lang.name(&d.kind)
    }
}

pub(super) async fn elements_page(State(s): State<AppState>, base: Base) -> ApiResult<ElementsPage> {
    Ok(ElementsPage {
        base,
        elements: store::data_elements(&s.store).await?,
    })
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct DiffQuery {
    #[serde(default)]
    pub(super) basic_code: String,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_differences.html")]
pub(super) struct DifferencesPage {
    pub(super) base: Base,
    pub(super) basics: Vec<store::Entry>,
    pub(super) chosen: String,
    pub(super) report: Option<store::Differences>,
    pub(super) error: Option<String>,
}

impl DifferencesPage {
    pub(super) fn show(&self, v: &Value) -> String {
        match v {
            Value::Null => "–".into(),
            Value::String(s) => s.clone(),
            Value::Object(m) if m.contains_key("value") && m.contains_key("unit") => {
                let l: Result<core::TimeLimit, _> = serde_json::from_value(v.clone());
                l.map(|l| {
                    if self.base.lang.is_en() {
                        l.text_en()
                    } else {
                        l.text_zh()
                    }
                })
                .unwrap_or_else(|_| v.to_string())
            }
            other => {
                let s = other.to_string();
                if s.chars().count() > 120 {
                    format!("{}…", s.chars().take(120).collect::<String>())
                } else {
                    s
                }
            }
        }
    }
    pub(super) fn value_of<'a>(&self, d: &'a core::LevelDifference, code: &str) -> &'a Value {
        d.values.get(code).unwrap_or(&Value::Null)
    }
}

pub(super) async fn differences_page(
    State(s): State<AppState>,
    Query(q): Query<DiffQuery>,
    base: Base,
) -> ApiResult<Response> {
    let basics = store::entries(
        &s.store,
        &store::EntryFilter {
            kind: Some(EntryKind::Basic),
            ..Default::default()
        },
    )
    .await?;
    let (report, error) = if q.basic_code.is_empty() {
        (None, None)
    } else {
        match store::differences(&s.store, &q.basic_code).await {
            Ok(r) => (Some(r), None),
            Err(e) => (
                None,
                ApiError::from(e)
                    .into_field_errors()
                    .first()
                    .map(|f| base.lang.problem(f)),
            ),
        }
    };
    Ok(DifferencesPage {
        base,
        basics,
        chosen: q.basic_code,
        report,
        error,
    }
    .into_response())
}
