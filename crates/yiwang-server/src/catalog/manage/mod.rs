//! Catalogue management pages (事项管理): the manager's list, a new entry, an entry with
//! its versions, history, diffs and workflow actions, the edit form, the review queue,
//! import with its error report, the data-element dictionary and the level-difference
//! report. Every change goes through the same store commands as the API.
//!
//! The edit form names each input by its JSON path (`materials[2].name`), so errors from
//! the domain land next to their field, and what the manager typed is shown again when
//! something is refused (nothing typed is lost).

use super::{
    EntriesParams, HistoryRow, VersionSummary, catalog_cmd, department_target, entry_filter, entry_target, history,
    import_bytes, load_entry, review_queue, summary, visible_entries,
};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::i18n::Lang;
use crate::pages::Base;
use crate::pages::china_time;
use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa_axum::router::OpenApiRouter;
use yiwang_core::FieldError;
use yiwang_core::access::{Permission, Target};
use yiwang_core::catalog::{self as core, Action, Elements, EntryKind, VersionState};
use yiwang_store::catalog::{self as store, Cmd, Dates, sheets};
use yiwang_store::{StoreError, now_ms};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/catalog", get(dashboard))
        .route("/catalog/new", get(new_page).post(new_form))
        .route("/catalog/review", get(review_page))
        .route(
            "/catalog/import",
            get(import_page)
                .post(import_form)
                .layer(axum::extract::DefaultBodyLimit::max(super::IMPORT_LIMIT)),
        )
        .route("/catalog/elements", get(elements_page))
        .route("/catalog/differences", get(differences_page))
        .route("/catalog/entries/{entry_id}", get(entry_page))
        .route("/catalog/entries/{entry_id}/edit", get(edit_page).post(edit_form))
        .route("/catalog/entries/{entry_id}/act", post(act_form))
}

fn state_name(lang: Lang, s: Option<VersionState>) -> &'static str {
    match s {
        None => lang.pick("无待办版本", "nothing open"),
        Some(s) if lang.is_en() => s.en(),
        Some(s) => s.zh(),
    }
}

/// Names for actors in the ledger form (`account:ID`).
async fn actor_names(s: &AppState) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    if let Ok(staff) = yiwang_store::accounts::staff_in_region(&s.store.read, "000000").await {
        for st in staff {
            m.insert(
                format!("account:{}", st.account_id),
                format!("{}（{}）", st.name, st.login),
            );
        }
    }
    m
}

mod review;
use review::*;
mod new;
use new::*;
mod entry;
pub(crate) use entry::workflow_action;
use entry::*;
mod edit;
use edit::*;
mod import;
use import::*;
mod elements;
use elements::*;
