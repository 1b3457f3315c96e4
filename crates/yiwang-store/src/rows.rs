//! Stored forms of columns for `#[derive(sqlx::FromRow)]` on `AnyRow`.
//!
//! The Any driver decodes only integers, floats, text and bytes, and the portable schema
//! keeps a flag as INTEGER 0/1, a date as ISO text and a document as JSON text. A row
//! struct reads such a column as its stored form and converts it with
//! `#[sqlx(try_from = "Flag")]`, `"DateText"` or `"JsonText"`; a coded value (state,
//! channel, kind) with `#[sqlx(try_from = "String")]` through the core type's `parse`.
//! Hand-written mappers remain only where a row is decrypted, combined or turned into a
//! core type (core has no database code).

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::any::{Any, AnyTypeInfo, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Decode, FromRow, Type, ValueRef};

/// A row (owned or borrowed) as the `FromRow` struct `T`, with a decode failure as a
/// store error.
pub fn read<T: for<'r> FromRow<'r, AnyRow>, R: std::borrow::Borrow<AnyRow>>(r: R) -> crate::Result<T> {
    Ok(T::from_row(r.borrow())?)
}

/// Rows of `T` from one JSON text holding an array of rows, each an array of its columns
/// in `T`'s order (what `db::json_rows` selects), with a decode failure as a store error.
pub fn read_json<T: DeserializeOwned>(text: &str) -> crate::Result<Vec<T>> {
    serde_json::from_str(text).map_err(|e| crate::StoreError::Internal(format!("rows as JSON: {e}")))
}

/// A row type read through its stored form `S` (a tuple of the columns as stored, in
/// the order its statements select them) and the one conversion `TryFrom<S>`: so a row
/// and a page of rows read as JSON text (`read_json_as`) decode alike.
macro_rules! row_from_stored {
    ($t:ty, $s:ty) => {
        impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for $t {
            fn from_row(r: &'r sqlx::any::AnyRow) -> sqlx::Result<$t> {
                <$s as sqlx::FromRow<'r, sqlx::any::AnyRow>>::from_row(r)?
                    .try_into()
                    .map_err(|e: String| sqlx::Error::Decode(e.into()))
            }
        }
    };
}
pub(crate) use row_from_stored;

/// Rows of `T` from one JSON text of rows in their stored form `S` (`db::json_rows`).
pub fn read_json_as<S: DeserializeOwned, T: TryFrom<S, Error = String>>(text: &str) -> crate::Result<Vec<T>> {
    read_json::<S>(text)?
        .into_iter()
        .map(|s| T::try_from(s).map_err(crate::StoreError::Internal))
        .collect()
}

/// An INTEGER 0/1 flag.
#[derive(serde::Deserialize)]
#[serde(transparent)]
pub struct Flag(i64);

impl Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }
    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(v: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Flag(<i64 as Decode<Any>>::decode(v)?))
    }
}

impl From<Flag> for bool {
    fn from(f: Flag) -> bool {
        f.0 != 0
    }
}

/// Text that may be NULL, read as itself: the source of [`DateText`] and [`JsonText`].
struct Text(Option<String>);

impl Text {
    fn decode(v: AnyValueRef<'_>) -> Result<Text, BoxDynError> {
        if v.is_null() {
            return Ok(Text(None));
        }
        Ok(Text(Some(<String as Decode<Any>>::decode(v)?)))
    }
}

macro_rules! text_column {
    ($name:ident) => {
        impl Type<Any> for $name {
            fn type_info() -> AnyTypeInfo {
                <String as Type<Any>>::type_info()
            }
            fn compatible(ty: &AnyTypeInfo) -> bool {
                <String as Type<Any>>::compatible(ty)
            }
        }
        impl<'r> Decode<'r, Any> for $name {
            fn decode(v: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok($name(Text::decode(v)?.0))
            }
        }
        impl From<Option<String>> for $name {
            fn from(s: Option<String>) -> $name {
                $name(s)
            }
        }
        impl From<String> for $name {
            fn from(s: String) -> $name {
                $name(Some(s))
            }
        }
    };
}

/// A date stored as ISO 8601 text (`2026-12-05`), possibly NULL.
#[derive(serde::Deserialize)]
#[serde(transparent)]
pub struct DateText(Option<String>);
text_column!(DateText);

fn date(s: &str) -> Result<NaiveDate, String> {
    s.parse().map_err(|_| format!("stored date {s:?}"))
}

impl TryFrom<DateText> for NaiveDate {
    type Error = String;
    fn try_from(t: DateText) -> Result<NaiveDate, String> {
        date(t.0.as_deref().ok_or("stored date is NULL")?)
    }
}

impl TryFrom<DateText> for Option<NaiveDate> {
    type Error = String;
    fn try_from(t: DateText) -> Result<Option<NaiveDate>, String> {
        t.0.as_deref().map(date).transpose()
    }
}

/// A JSON document stored as text, possibly NULL: NULL is an empty list, `None`, or (for
/// a document) JSON `null`.
pub struct JsonText(Option<String>);

text_column!(JsonText);

impl JsonText {
    fn parse<T: DeserializeOwned>(s: &str) -> Result<T, String> {
        serde_json::from_str(s).map_err(|e| format!("stored JSON: {e}"))
    }
}

impl<T: DeserializeOwned> TryFrom<JsonText> for Vec<T> {
    type Error = String;
    fn try_from(t: JsonText) -> Result<Vec<T>, String> {
        t.0.as_deref()
            .map(JsonText::parse)
            .transpose()
            .map(Option::unwrap_or_default)
    }
}

impl<T: DeserializeOwned> TryFrom<JsonText> for Option<T> {
    type Error = String;
    fn try_from(t: JsonText) -> Result<Option<T>, String> {
        t.0.as_deref().map(JsonText::parse).transpose()
    }
}

/// Documents read whole from a JSON column (NULL is the type's default).
macro_rules! json_documents {
    ($($t:ty),+) => {$(
        impl TryFrom<JsonText> for $t {
            type Error = String;
            fn try_from(t: JsonText) -> Result<$t, String> {
                t.0.as_deref().map(JsonText::parse).transpose().map(Option::unwrap_or_default)
            }
        }
    )+};
}
json_documents!(
    serde_json::Value,
    std::collections::BTreeMap<String, i64>,
    std::collections::BTreeMap<String, u8>,
    std::collections::BTreeMap<String, String>
);

impl TryFrom<JsonText> for yiwang_core::ratings::Task {
    type Error = String;
    fn try_from(t: JsonText) -> Result<Self, String> {
        JsonText::parse(t.0.as_deref().ok_or("stored task is NULL")?)
    }
}

impl TryFrom<JsonText> for yiwang_core::catalog::Elements {
    type Error = String;
    fn try_from(t: JsonText) -> Result<Self, String> {
        JsonText::parse(t.0.as_deref().ok_or("stored elements are NULL")?)
    }
}

impl TryFrom<JsonText> for yiwang_core::bundles::BundleDoc {
    type Error = String;
    fn try_from(t: JsonText) -> Result<Self, String> {
        JsonText::parse(t.0.as_deref().ok_or("stored definition is NULL")?)
    }
}

/// A coded value that may be NULL (`#[sqlx(try_from = "OptionalCode")]` on an
/// `Option<T>` whose `T: TryFrom<String>`).
pub struct OptionalCode(Option<String>);
text_column!(OptionalCode);

impl<T: TryFrom<String, Error = String>> TryFrom<OptionalCode> for Option<T> {
    type Error = String;
    fn try_from(t: OptionalCode) -> Result<Option<T>, String> {
        t.0.map(T::try_from).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(FromRow)]
    struct Sample {
        #[sqlx(try_from = "Flag")]
        flag: bool,
        #[sqlx(try_from = "DateText")]
        day: NaiveDate,
        #[sqlx(try_from = "DateText")]
        maybe_day: Option<NaiveDate>,
        #[sqlx(try_from = "JsonText")]
        list: Vec<String>,
        #[sqlx(try_from = "JsonText")]
        none_list: Vec<String>,
        #[sqlx(try_from = "JsonText")]
        doc: serde_json::Value,
    }

    async fn sample(sql: &str) -> Result<Sample, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect("sqlite::memory:").await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&pool).await?;
        Sample::from_row(&row)
    }

    #[tokio::test]
    async fn stored_forms_convert_and_bad_ones_are_errors() {
        let s = sample(
            "SELECT 1 AS flag, '2026-12-05' AS day, NULL AS maybe_day, '[\"a\",\"b\"]' AS list, \
             NULL AS none_list, '{\"k\":1}' AS doc",
        )
        .await
        .unwrap();
        assert!(s.flag);
        assert_eq!(s.day, NaiveDate::from_ymd_opt(2026, 12, 5).unwrap());
        assert_eq!(s.maybe_day, None);
        assert_eq!(s.list, ["a", "b"]);
        assert!(s.none_list.is_empty());
        assert_eq!(s.doc["k"], 1);
        let bad_date = sample(
            "SELECT 0 AS flag, '5 Dec' AS day, NULL AS maybe_day, '[]' AS list, NULL AS none_list, 'null' AS doc",
        )
        .await;
        assert!(matches!(bad_date, Err(sqlx::Error::ColumnDecode { ref index, .. }) if index == "day"));
        let bad_json = sample(
            "SELECT 0 AS flag, '2026-12-05' AS day, NULL AS maybe_day, '[1' AS list, NULL AS none_list, 'null' AS doc",
        )
        .await;
        assert!(matches!(bad_json, Err(sqlx::Error::ColumnDecode { ref index, .. }) if index == "list"));
    }
}
