//! New entry pages.

use super::*;
use crate::pages::Page;

// ---------------------------------------------------------------------------------------
// New entry
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_new.html")]
pub(super) struct NewPage {
    pub(super) base: Base,
    pub(super) basics: Vec<store::Entry>,
    pub(super) departments: Vec<yiwang_core::orgs::Department>,
    pub(super) can_basic: bool,
    pub(super) errors: Vec<FieldError>,
    pub(super) values: BTreeMap<String, String>,
}

crate::page!(NewPage);

impl NewPage {
    pub(super) fn v(&self, k: &str) -> &str {
        self.values.get(k).map(String::as_str).unwrap_or("")
    }
    pub(super) fn types(&self) -> Vec<(&'static str, &'static str)> {
        core::ItemType::ALL
            .iter()
            .map(|t| (t.as_str(), self.base.lang.name(&t)))
            .collect()
    }
}

pub(super) async fn render_new(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    errors: Vec<FieldError>,
    values: BTreeMap<String, String>,
) -> ApiResult<Response> {
    let basics = store::entries(
        &s.store,
        &store::EntryFilter {
            kind: Some(EntryKind::Basic),
            ..Default::default()
        },
    )
    .await?
    .into_iter()
    .filter(|e| e.published_version.is_some())
    .collect();
    let departments = yiwang_store::orgs::departments(&s.store.read, None)
        .await?
        .into_iter()
        .filter(|d| {
            ctx.actor
                .authorize(
                    Permission::CatalogManage,
                    &Target::Department {
                        id: d.id.clone(),
                        region_code: d.region_code.clone(),
                    },
                )
                .is_ok()
        })
        .collect();
    let can_basic = ctx
        .actor
        .authorize(
            Permission::CatalogManage,
            &Target::Region {
                code: s.home_region.clone(),
            },
        )
        .is_ok();
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        NewPage {
            base,
            basics,
            departments,
            can_basic,
            errors,
            values,
        },
    )
        .into_response())
}

pub(super) async fn new_page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<Response> {
    render_new(&s, &ctx, base, vec![], BTreeMap::new()).await
}

/// Creates an implementation item from a published basic entry, or a basic entry from
/// the essential elements (completed afterwards in the edit form).
pub(super) async fn new_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let values: BTreeMap<String, String> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k != "_csrf")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let v = |k: &str| values.get(k).cloned().unwrap_or_default();
    let result: Result<serde_json::Value, ApiError> = async {
        match v("kind").as_str() {
            "item" => {
                ctx.require(
                    Permission::CatalogManage,
                    &department_target(&s, &v("department_id")).await?,
                )?;
                Ok(s.store
                    .write(
                        ctx.meta(),
                        catalog_cmd(Cmd::CreateItem {
                            basic_code: v("basic_code"),
                            department_id: v("department_id"),
                            own: Map::new(),
                            dates: Dates::default(),
                        }),
                    )
                    .await?
                    .value)
            }
            "basic" => {
                ctx.require(
                    Permission::CatalogManage,
                    &Target::Region {
                        code: s.home_region.clone(),
                    },
                )?;
                let mut p = yiwang_core::error::Problems::new();
                let item_type = core::ItemType::parse(&v("item_type"));
                if item_type.is_none() {
                    p.push(FieldError::new(
                        "item_type",
                        "required",
                        "请选择事项类型",
                        "choose the item type",
                    ));
                }
                let promised = v("promised_days").trim().parse::<u32>();
                if promised.is_err() {
                    p.push(FieldError::new(
                        "promised_days",
                        "type",
                        "承诺办结时限应为工作日数（0 为即办）",
                        "the promised limit is a number of working days (0: on the spot)",
                    ));
                }
                p.finish().map_err(|d| ApiError::from(StoreError::from(d)))?;
                let mut e = Elements::new(v("name").trim(), item_type.expect("checked"));
                let days = promised.expect("checked");
                e.promised_limit = Some(core::TimeLimit::working_days(days));
                if days == 0 {
                    e.case_kind = core::CaseKind::Instant;
                }
                if let Ok(st) = v("statutory_days").trim().parse::<u32>() {
                    e.statutory_limit = Some(core::TimeLimit::working_days(st));
                }
                e.service_objects = values
                    .get("audience")
                    .map(|a| match a.as_str() {
                        "legal" => vec![core::ServiceObject::Enterprise],
                        _ => vec![core::ServiceObject::NaturalPerson],
                    })
                    .unwrap_or_default();
                e.handling_forms = vec![core::HandlingForm::Window];
                if !v("law").trim().is_empty() {
                    e.legal_basis = vec![core::LegalBasis {
                        law: v("law").trim().into(),
                        doc_no: None,
                        article: Some(v("article").trim().to_string()).filter(|a| !a.is_empty()),
                        text: v("article_text").trim().into(),
                    }];
                }
                let code = Some(v("basic_code").trim().to_string()).filter(|c| !c.is_empty());
                Ok(s.store
                    .write(
                        ctx.meta(),
                        catalog_cmd(Cmd::CreateBasic {
                            basic_code: code,
                            region_code: s.home_region.clone(),
                            elements: e,
                            dates: Dates::default(),
                        }),
                    )
                    .await?
                    .value)
            }
            _ => Err(ApiError::from(StoreError::from(yiwang_core::DomainError::invalid(
                vec![FieldError::new(
                    "kind",
                    "required",
                    "请选择新建基本目录还是实施清单",
                    "choose basic entry or item",
                )],
            )))),
        }
    }
    .await;
    match result {
        Ok(w) => {
            let id = w["entry"]["id"].as_str().unwrap_or_default().to_string();
            Ok(Redirect::to(&format!("/catalog/entries/{id}/edit")).into_response())
        }
        Err(e) => render_new(&s, &ctx, base, e.into_field_errors(), values).await,
    }
}
