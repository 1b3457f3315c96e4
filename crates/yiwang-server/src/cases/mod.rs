//! Cases over HTTP. Applicants apply from a guide (`/services/{code}/apply`, `POST
//! /api/v1/cases` with an Idempotency-Key), follow their cases, answer corrections, hand
//! in materials that follow and download signed notices (`/me/cases`); window clerks
//! take any item of their region for an applicant (`POST /api/v1/window/cases`); staff
//! work an inbox ordered by remaining working time and act on cases (`/work/inbox`,
//! `/work/cases/{id}`). Every action goes through `yiwang_store::cases`, whose state
//! machine is `yiwang_core::cases::decide`.

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, IdempotencyKey, PageParams};
use crate::pages::Base;
use askama::Template;
use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::router::UtoipaMethodRouterExt;
use utoipa_axum::routes;
use yiwang_core::access::{Actor, Permission, Target};
use yiwang_core::cases::{
    Action, Application, Channel, CorrectionItem, DeliveryMethod, Light, NoticeKind, Party, PostDetail, Provision,
    ProvisionKind,
};
use yiwang_core::catalog::{DataElement, ElementKind, Elements, Necessity, SpecialKind, StepRole};
use yiwang_core::mandates::Subject;
use yiwang_core::{DomainError, FieldError, Named};
use yiwang_store::cases::{self, Applicant, CaseRow, Clocks, Notice, Task, TimelineEntry};
use yiwang_store::{Meta, StoreError};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_submit))
        .routes(routes!(api_window_submit))
        .routes(routes!(api_import))
        .routes(routes!(api_my_cases))
        .routes(routes!(api_my_case))
        .routes(routes!(api_my_action))
        .routes(routes!(api_resubmit))
        .route("/api/v1/me/cases/{case_id}/notices/{notice_id}/pdf", get(my_notice_pdf))
        .routes(routes!(api_drafts, api_save_draft))
        .routes(routes!(api_notifications))
        .routes(routes!(api_upload).layer(axum::extract::DefaultBodyLimit::max(
            yiwang_store::files::MAX_SIZE + 4096,
        )))
        .routes(routes!(api_inbox))
        .routes(routes!(api_case))
        .routes(routes!(api_action))
        .route("/api/v1/cases/{case_id}/notices/{notice_id}/pdf", get(staff_notice_pdf))
        .routes(routes!(api_complete_task))
        .route(
            "/services/{service_code}/apply",
            get(apply_page)
                .post(apply_form)
                .layer(axum::extract::DefaultBodyLimit::max(
                    yiwang_store::files::MAX_SIZE + (1 << 20),
                )),
        )
        .route("/me/cases", get(my_cases_page))
        .route(
            "/me/cases/{case_id}",
            get(my_case_page)
                .post(my_case_form)
                .layer(axum::extract::DefaultBodyLimit::max(
                    yiwang_store::files::MAX_SIZE + (1 << 20),
                )),
        )
        .route("/me/cases/{case_id}/notices/{notice_id}/pdf", get(my_notice_pdf))
        .route("/verify/notices/{notice_id}", get(notice_check_page))
        .route("/work/inbox", get(inbox_page))
        .route(
            "/work/window",
            get(window_page)
                .post(window_form)
                .layer(axum::extract::DefaultBodyLimit::max(
                    yiwang_store::files::MAX_SIZE + (1 << 20),
                )),
        )
        .route("/work/cases/{case_id}", get(work_case_page).post(work_case_form))
        .route("/work/cases/{case_id}/notices/{notice_id}/pdf", get(staff_notice_pdf))
}

fn not_found() -> ApiError {
    ApiError::from(cases::not_party())
}

mod acting;
pub(crate) use acting::*;
mod api;
pub use api::*;
mod notices;
pub(crate) use notices::*;
mod apply;
pub(crate) use apply::*;
mod mine;
use mine::*;
mod work;
pub use work::*;
mod window;
pub(crate) use window::*;
