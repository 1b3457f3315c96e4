//! The catalogue over HTTP: the public services (search, guides, the questionnaire, the
//! lists 清单, the data-element dictionary) and the management API (entries, drafts,
//! submit / recall / discard / publish / return, history and diffs, level differences,
//! import and export). The pages are in `pages` (public) and `manage` (managers); all of
//! them call the same store and search functions.

pub mod manage;
pub mod pages;

use crate::IMPORT_LIMIT;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdempotencyKey};
use crate::{AppState, submit};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use yiwang_core::access::{Permission, Target};
use yiwang_core::catalog::{self as core, Action, Audience, DataElement, Elements, EntryKind, TongbanScope};
use yiwang_core::{DomainError, FieldError};
use yiwang_store::catalog::{self as store, Cmd, Dates, ExportState, ListKind, Service, ServiceFilter, sheets};
use yiwang_store::{Command, StoreError, now_ms};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/services", get(api_search))
        .route("/api/v1/services/{service_code}", get(api_guide))
        .route("/api/v1/services/{service_code}/materials", get(api_materials))
        .route("/api/v1/catalog/lists/{kind}", get(api_list))
        .route("/api/v1/catalog/data-elements", get(api_data_elements))
        .route(
            "/api/v1/catalog/data-elements/{element_code}",
            put(api_save_data_element),
        )
        .route("/api/v1/catalog/entries", get(api_entries))
        .route("/api/v1/catalog/basic", post(api_create_basic))
        .route("/api/v1/catalog/items", post(api_create_item))
        .route("/api/v1/catalog/entries/{entry_id}", get(api_entry))
        .route(
            "/api/v1/catalog/entries/{entry_id}/versions/{version}",
            get(api_version),
        )
        .route("/api/v1/catalog/entries/{entry_id}/diff", get(api_diff))
        .route("/api/v1/catalog/entries/{entry_id}/history", get(api_history))
        .route("/api/v1/catalog/entries/{entry_id}/draft", put(api_save_draft))
        .route("/api/v1/catalog/entries/{entry_id}/submit", post(api_submit))
        .route("/api/v1/catalog/entries/{entry_id}/recall", post(api_recall))
        .route("/api/v1/catalog/entries/{entry_id}/discard", post(api_discard))
        .route("/api/v1/catalog/entries/{entry_id}/publish", post(api_publish))
        .route("/api/v1/catalog/entries/{entry_id}/return", post(api_return))
        .route("/api/v1/catalog/review", get(api_review))
        .route("/api/v1/catalog/differences/{basic_code}", get(api_differences))
        .route(
            "/api/v1/catalog/import",
            post(api_import).layer(axum::extract::DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/api/v1/catalog/export", get(api_export))
        .merge(pages::routes())
        .merge(manage::routes())
}

fn invalid(e: FieldError) -> ApiError {
    ApiError::from(StoreError::from(DomainError::invalid(vec![e])))
}

mod public;
pub use public::*;
mod entries;
pub use entries::*;
mod interchange;
pub use interchange::*;
