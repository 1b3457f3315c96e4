//! Pure domain code of yiwang. No I/O, no async: everything here is a function of its
//! inputs, so it is tested exhaustively. Each capability has a module of the same name
//! in `yiwang-store` (persistence) and `yiwang-server` (HTTP and pages).

/// `TryFrom<String>` through the type's own `parse`, so a stored code becomes its value
/// where a row is read (`#[sqlx(try_from = "String")]` in the store).
macro_rules! from_text {
    ($($t:ty),+ $(,)?) => {$(
        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                <$t>::parse(&s).ok_or_else(|| format!("unknown {} {s:?}", stringify!($t)))
            }
        }
    )+};
}
pub(crate) use from_text;

/// A coded value with its stored (snake_case) name and its Chinese and English names.
macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($v:ident = $snake:literal, $zh:literal, $en:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        // The variants' JSON names are their snake_case names; said here too so the
        // OpenAPI schema (which cannot read a macro's literal) names them right.
        #[serde(rename_all = "snake_case")]
        pub enum $name { $(#[serde(rename = $snake)] $v,)+ }
        impl $crate::Named for $name {
            fn zh(&self) -> &'static str { match self { $($name::$v => $zh),+ } }
            fn en(&self) -> &'static str { match self { $($name::$v => $en),+ } }
        }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$v => $snake),+ } }
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
        crate::from_text!($name);
    };
}

pub mod access;
pub mod accounts;
pub mod audit;
pub mod auth;
pub mod bundles;
pub mod calendar;
pub mod cases;
pub mod catalog;
pub mod datause;
pub mod error;
pub mod federation;
pub mod hotline;
pub mod ids;
pub mod ledger;
pub mod licences;
pub mod mandates;
pub mod orgs;
pub mod policies;
pub mod ratings;
pub mod regions;
pub mod seals;
pub mod sharing;
pub mod sms;

pub use error::{DomainError, ErrorKind, FieldError};

/// A value with a name in each interface language (coded values: item types, units,
/// necessity, …); the pages pick one by the reader's language.
pub trait Named {
    fn zh(&self) -> &'static str;
    fn en(&self) -> &'static str;
}

impl<T: Named + ?Sized> Named for &T {
    fn zh(&self) -> &'static str {
        (**self).zh()
    }
    fn en(&self) -> &'static str {
        (**self).en()
    }
}
