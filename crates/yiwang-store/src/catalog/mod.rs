//! The service catalogue: commands (create entries, save drafts, submit, recall, return,
//! publish, discard, data elements, import chunks), the projections `catalog_entries`,
//! `catalog_versions` and `data_elements`, and the queries the portal, the lists (清单),
//! the guides, search and the CLI share.
//!
//! Every change is a version: the first save after a publication opens version N+1 as a
//! draft; a manager submits it; another manager publishes it (four eyes, decided in
//! `yiwang_core::catalog::decide_action`). Publishing a basic directory entry passes its
//! locked elements on to every implementation item (同要素管理), as a new published version
//! of each item whose locked elements changed, and into their open drafts.

pub mod sheets;

use crate::ledger::Expect;
use crate::rows::{JsonText, OptionalCode, read};
use crate::writer::WriteCtx;
use crate::{Meta, Result, Store, StoreError, new_id, orgs};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::{AnyConnection, Row};
use std::collections::{BTreeMap, HashMap, HashSet};
use yiwang_core::catalog::{
    self as core, Action, BasicDoc, CatalogDoc, CatalogPolicy, DataElement, Elements, EntryKind, ExerciseLevel,
    ItemDoc, OpenVersion, Transition, VersionState,
};
use yiwang_core::error::{DomainError, ErrorKind, FieldError, Problems};

pub use crate::{date_of, day_start_ms};

/// Dates a draft proposes for its publication.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dates {
    /// In force from this day (default: the day it is published).
    #[serde(default)]
    pub effective_from: Option<NaiveDate>,
    /// 计划取消日期: no longer in force from this day.
    #[serde(default)]
    pub cancel_on: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub enum Cmd {
    /// A basic directory entry; its code is generated in the region's province when None.
    CreateBasic {
        basic_code: Option<String>,
        region_code: String,
        elements: Elements,
        dates: Dates,
    },
    /// An implementation item of a department: the basic entry's elements with `own` laid
    /// over them (locked elements cannot be among them).
    CreateItem {
        basic_code: String,
        department_id: String,
        own: Map<String, Value>,
        dates: Dates,
    },
    /// Saves the elements as the entry's draft. `base_version`: the version the editor
    /// started from (a newer one means someone else saved in between).
    SaveDraft {
        entry_id: String,
        elements: Elements,
        dates: Dates,
        base_version: Option<i64>,
    },
    Act {
        entry_id: String,
        action: Action,
    },
    SaveDataElement(DataElement),
    Import(ImportChunk),
}

/// Part of an import, written as one command (all or nothing).
#[derive(Debug, Clone)]
pub struct ImportChunk {
    pub ops: Vec<ImportOp>,
    /// Submit each created or changed entry for review.
    pub submit: bool,
    /// The region new basic entries belong to (the portal's province).
    pub region_code: String,
}

#[derive(Debug, Clone)]
pub enum ImportOp {
    Element(DataElement),
    Basic(Box<BasicDoc>),
    Item { doc: Box<ItemDoc>, department_id: String },
}

/// A catalogue entry as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Entry {
    pub id: String,
    #[sqlx(try_from = "String")]
    pub kind: EntryKind,
    /// 12-character basic code or 31-character implementation code.
    pub code: String,
    pub basic_code: String,
    pub department_id: Option<String>,
    pub region_code: String,
    #[sqlx(try_from = "OptionalCode")]
    pub level: Option<ExerciseLevel>,
    pub name: String,
    pub latest_version: i64,
    pub open_version: Option<i64>,
    #[sqlx(try_from = "OptionalCode")]
    pub open_state: Option<VersionState>,
    pub published_version: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One version of an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Version {
    pub entry_id: String,
    pub version: i64,
    #[sqlx(try_from = "String")]
    pub state: VersionState,
    #[sqlx(try_from = "JsonText")]
    pub elements: Elements,
    #[sqlx(try_from = "JsonText")]
    pub editors: Vec<String>,
    pub submitted_by: Option<String>,
    pub reviewed_by: Option<String>,
    pub return_reasons: Option<String>,
    pub effective_from: Option<i64>,
    pub cancel_on: Option<i64>,
    /// Published: no longer in force from this instant (superseded or cancelled).
    pub until_ms: Option<i64>,
    pub published_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Version {
    /// Is this published version in force at `t`?
    pub fn in_force(&self, t: i64) -> bool {
        self.state == VersionState::Published
            && self.effective_from.is_some_and(|f| f <= t)
            && self.until_ms.is_none_or(|u| t < u)
    }
}

use crate::internal;

const ENTRY_COLS: &str = "id, kind, code, basic_code, department_id, region_code, level, name, latest_version, \
     open_version, open_state, published_version, created_at, updated_at";

const VERSION_COLS: &str = "entry_id, version, state, elements, editors, submitted_by, reviewed_by, return_reasons, \
     effective_from, cancel_on, until_ms, published_at, created_at, updated_at";

mod read;
pub use read::*;
mod commands;
pub(crate) use commands::*;
mod prepare;
use prepare::*;
mod write;
pub use write::*;
mod import;
pub use import::*;
mod query;
pub use query::*;
