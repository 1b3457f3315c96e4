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
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::router::UtoipaMethodRouterExt;
use utoipa_axum::routes;
use yiwang_core::access::{Permission, Target};
use yiwang_core::catalog::{self as core, Action, Audience, DataElement, Elements, EntryKind, TongbanScope};
use yiwang_core::{DomainError, FieldError};
use yiwang_store::catalog::{self as store, Cmd, Dates, ExportState, ListKind, Service, ServiceFilter, sheets};
use yiwang_store::{Command, StoreError, now_ms};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_search))
        .routes(routes!(api_guide))
        .routes(routes!(api_materials))
        .routes(routes!(api_list))
        .routes(routes!(api_data_elements))
        .routes(routes!(api_save_data_element))
        .routes(routes!(api_entries))
        .routes(routes!(api_create_basic))
        .routes(routes!(api_create_item))
        .routes(routes!(api_entry))
        .routes(routes!(api_version))
        .routes(routes!(api_diff))
        .routes(routes!(api_history))
        .routes(routes!(api_save_draft))
        .routes(routes!(api_submit))
        .routes(routes!(api_recall))
        .routes(routes!(api_discard))
        .routes(routes!(api_publish))
        .routes(routes!(api_return))
        .routes(routes!(api_review))
        .routes(routes!(api_differences))
        .routes(routes!(api_import).layer(axum::extract::DefaultBodyLimit::max(IMPORT_LIMIT)))
        .routes(routes!(api_export))
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
