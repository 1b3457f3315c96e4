//! HTTP for yiwang: the JSON API under `/api/v1` (OpenAPI 3.1 at `/api/v1/openapi.json`,
//! Swagger UI at `/api/v1/docs`), the web pages (askama + htmx), `/healthz`, `/readyz` and
//! `/metrics`. Handlers only translate HTTP: every decision is in `yiwang-core`, every
//! read and write in `yiwang-store`, shared with the CLI.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod auth;
pub mod bundles;
pub mod calendar;
pub mod cases;
pub mod catalog;
pub mod ctx;
pub mod datause;
pub mod error;
pub mod extract;
pub mod federation;
pub mod files;
pub mod hotline;
pub mod i18n;
pub mod ledger;
pub mod licences;
pub mod mandates;
pub mod openapi;
pub mod orgs;
pub mod pages;
pub mod policies;
pub mod ratings;
pub mod regions;
pub mod seals;
pub mod sharing;
pub mod sms;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use yiwang_store::Store;

mod state;
pub use state::*;
mod router;
pub use router::*;
mod serve;
pub use serve::*;
#[cfg(test)]
mod tests;
