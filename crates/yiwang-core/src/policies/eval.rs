//! Evaluating compiled policies over profiles: the outcome of one profile, its
//! explanation condition by condition, and totals over many (a dry run).
//!
//! A profile keeps one CEL value per root (a group is a map of its known fields) and a
//! flag per attribute, so that evaluating a rule builds nothing per profile: the
//! variable resolver hands CEL the profile's own values by reference, found through the
//! schema's short table of root names.

use super::check::{Compiled, CompiledPolicy, Condition, Slot};
use super::{AttrType, Layout, Root, Schema};
use crate::error::FieldError;
use cel::common::ast::IdedExpr;
use cel::common::types::{CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelString};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Context, Env, Program};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// One person's or enterprise's attributes, by root, typed against the schema.
#[derive(Clone, Debug)]
pub struct Profile {
    layout: Arc<Layout>,
    /// Per root: the value, a group's being a map of its known fields.
    values: Vec<Option<Box<dyn Val>>>,
    /// Per attribute: is it known?
    present: Vec<bool>,
    /// Per root: when its source was read (ms since the epoch).
    as_of: Vec<Option<i64>>,
}

/// Are the two layouts the same schema's roots?
fn same_layout(a: &Arc<Layout>, b: &Arc<Layout>) -> bool {
    Arc::ptr_eq(a, b) || (a.names == b.names && a.groups == b.groups)
}

/// A JSON value as a CEL value of type `ty`; `None` if it has another type.
fn to_val(ty: AttrType, v: &serde_json::Value) -> Option<Box<dyn Val>> {
    let val: Box<dyn Val> = match ty {
        AttrType::Int => Box::new(CelInt::from(v.as_i64()?)),
        AttrType::Double => Box::new(CelDouble::from(v.as_f64()?)),
        AttrType::String => Box::new(CelString::from(v.as_str()?.to_string())),
        AttrType::Bool => Box::new(CelBool::from(v.as_bool()?)),
        AttrType::StringList => {
            let items = v
                .as_array()?
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(|s| Box::new(CelString::from(s.to_string())) as Box<dyn Val>)
                })
                .collect::<Option<Vec<_>>>()?;
            Box::new(CelList::from(items))
        }
    };
    Some(val)
}

/// A CEL value of one of the attribute types as JSON.
fn to_json(v: &dyn Val) -> serde_json::Value {
    if let Some(i) = v.downcast_ref::<CelInt>() {
        (*i.inner()).into()
    } else if let Some(d) = v.downcast_ref::<CelDouble>() {
        (*d.inner()).into()
    } else if let Some(s) = v.downcast_ref::<CelString>() {
        s.inner().into()
    } else if let Some(b) = v.downcast_ref::<CelBool>() {
        (*b.inner()).into()
    } else if let Some(l) = v.downcast_ref::<CelList>() {
        serde_json::Value::Array(l.inner().iter().map(|x| to_json(x.as_ref())).collect())
    } else {
        serde_json::Value::Null
    }
}

impl Profile {
    /// A profile with nothing known.
    pub fn new(schema: &Schema) -> Profile {
        let roots = schema.roots().len();
        Profile {
            layout: schema.layout().clone(),
            values: (0..roots).map(|_| None).collect(),
            present: vec![false; schema.attrs().len()],
            as_of: vec![None; roots],
        }
    }

    /// Sets an attribute from JSON, checked against its type: an int from an integral
    /// JSON number, a double from any number, a string list from an array of strings.
    /// `null` makes it missing again. Errors name the path.
    pub fn set(&mut self, schema: &Schema, path: &str, value: &serde_json::Value) -> Result<(), FieldError> {
        let Some(attr) = schema.attr_index(path) else {
            return Err(FieldError::new(
                path,
                "attribute.unknown",
                format!("未知属性 {path}"),
                format!("unknown attribute {path}"),
            ));
        };
        if !same_layout(&self.layout, schema.layout()) {
            return Err(FieldError::new(
                path,
                "attribute.schema",
                "档案与属性表不一致",
                "the profile was made for another schema",
            ));
        }
        let def = &schema.attrs()[attr];
        let val = if value.is_null() {
            None
        } else {
            Some(to_val(def.ty, value).ok_or_else(|| {
                FieldError::new(
                    path,
                    "attribute.type",
                    format!("{path} 应为{}", def.ty.name_zh()),
                    format!("{path} must be of type {}", def.ty.name_en()),
                )
            })?)
        };
        self.present[attr] = val.is_some();
        let root = schema.root_of(attr);
        match schema.root(root) {
            Root::Scalar(_) => self.values[root] = val,
            Root::Group => {
                let field = &def.path[schema.roots()[root].len() + 1..];
                let mut map: HashMap<CelMapKey<'static>, Box<dyn Val>> = self.values[root]
                    .take()
                    .and_then(|v| v.downcast_ref::<CelMap>().map(|m| m.inner().clone()))
                    .unwrap_or_default();
                let key = CelMapKey::from(field.to_string());
                match val {
                    Some(v) => map.insert(key, v),
                    None => map.remove(&key),
                };
                self.values[root] = (!map.is_empty()).then(|| Box::new(CelMap::from(map)) as Box<dyn Val>);
            }
        }
        Ok(())
    }

    /// The root named `root` (or the root of the path `root`).
    fn root_index(schema: &Schema, root: &str) -> Option<usize> {
        schema
            .root_index(root)
            .or_else(|| schema.attr_index(root).map(|a| schema.root_of(a)))
    }

    /// Records when a root's source was read (ms since the epoch). An unknown root is
    /// ignored.
    pub fn set_as_of(&mut self, schema: &Schema, root: &str, at_ms: i64) {
        if let Some(slot) = Self::root_index(schema, root).and_then(|i| self.as_of.get_mut(i)) {
            *slot = Some(at_ms);
        }
    }

    /// An attribute's value as JSON, if known.
    pub fn get(&self, schema: &Schema, path: &str) -> Option<serde_json::Value> {
        let attr = schema.attr_index(path)?;
        if !self.present.get(attr).copied().unwrap_or(false) {
            return None;
        }
        let root = schema.root_of(attr);
        let v = self.values.get(root)?.as_deref()?;
        match schema.root(root) {
            Root::Scalar(_) => Some(to_json(v)),
            Root::Group => {
                let field = &path[schema.roots()[root].len() + 1..];
                let found = v.as_indexer()?.get(&CelString::from(field)).ok()?;
                Some(to_json(&*found))
            }
        }
    }

    /// When a root's source was read (ms since the epoch).
    pub fn as_of(&self, schema: &Schema, root: &str) -> Option<i64> {
        Self::root_index(schema, root).and_then(|i| self.as_of.get(i).copied().flatten())
    }

    /// Are all these attributes known?
    fn has_all(&self, slots: &[Slot]) -> bool {
        slots.iter().all(|s| self.present.get(s.attr).copied().unwrap_or(false))
    }

    fn has(&self, slot: &Slot) -> bool {
        self.present.get(slot.attr).copied().unwrap_or(false)
    }
}

/// Hands CEL a profile's values by reference; a group none of whose fields is known is
/// an empty map, so `has(group.field)` is false.
struct Resolver<'a> {
    layout: &'a Layout,
    values: &'a [Option<Box<dyn Val>>],
}

impl<'a> Resolver<'a> {
    fn new(p: &'a Profile) -> Self {
        Resolver {
            layout: &p.layout,
            values: &p.values,
        }
    }
}

impl VariableResolver for Resolver<'_> {
    fn resolve<'b>(&'b self, name: &str) -> Option<CowVal<'b, 'b>> {
        let i = self.layout.names.iter().position(|n| n == name)?;
        match self.values.get(i)? {
            Some(v) => Some(CowVal::Borrowed(v.as_ref())),
            None if self.layout.groups[i] => Some(CowVal::Borrowed(&self.layout.empty)),
            None => None,
        }
    }
}

/// The standard CEL environment, built once per process.
static ENV: OnceLock<Arc<Env>> = OnceLock::new();

/// A per-thread evaluation context (owns a CEL root context built once). Compiled rules
/// are shared between threads; each thread has its own `Evaluator`.
pub struct Evaluator {
    root: Context<'static, 'static>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator").finish_non_exhaustive()
    }
}

impl Default for Evaluator {
    fn default() -> Self {
        Self::new()
    }
}

impl Evaluator {
    pub fn new() -> Self {
        let env = ENV.get_or_init(|| Arc::new(Env::stdlib())).clone();
        Evaluator {
            root: Context::with_env(env),
        }
    }

    /// A scope over the root context that reads variables from `r`.
    fn scope<'a>(&'a self, r: &'a Resolver<'a>) -> Context<'a, 'a> {
        let root: &'a Context<'a, 'a> = &self.root;
        let mut scope = root.new_inner_scope();
        scope.set_variable_resolver(r);
        scope
    }
}

/// The outcome of a policy for one profile.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Every condition holds: granted this amount (fen).
    Eligible { amount_fen: i64 },
    /// A condition is false.
    Ineligible,
    /// No condition is false, but these attributes are missing to decide (or to compute
    /// the amount).
    Undetermined { missing: Vec<String> },
    /// The rule could not be evaluated (a runtime error such as a division by zero, or
    /// an amount that is not a non-negative integer). Never counted as ineligible.
    Failed { message: String },
}

/// Why: every condition with its result, the values it read and what is missing.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Explanation {
    pub outcome: Outcome,
    pub conditions: Vec<ConditionReport>,
}

/// One condition of a rule, evaluated.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ConditionReport {
    /// The condition as written.
    pub text: String,
    /// Whether it holds; `None` when something is missing or it failed.
    pub met: Option<bool>,
    /// The values it read (including those it only tests with `has()`).
    pub values: Vec<ValueReport>,
    /// The attributes it needs that are missing.
    pub missing: Vec<String>,
    /// The runtime error, if it failed.
    pub error: Option<String>,
}

/// One value a condition read, and where it came from.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ValueReport {
    pub path: String,
    pub zh: String,
    pub en: String,
    pub value: serde_json::Value,
    pub source: String,
    pub as_of_ms: Option<i64>,
}

/// Totals over many outcomes (a dry run).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Tally {
    pub eligible: u64,
    pub ineligible: u64,
    pub undetermined: u64,
    pub failed: u64,
    /// The amounts of the eligible, in fen (saturating).
    pub total_fen: i64,
}

impl Tally {
    pub fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Eligible { amount_fen } => {
                self.eligible += 1;
                self.total_fen = self.total_fen.saturating_add(*amount_fen);
            }
            Outcome::Ineligible => self.ineligible += 1,
            Outcome::Undetermined { .. } => self.undetermined += 1,
            Outcome::Failed { .. } => self.failed += 1,
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        self.eligible += other.eligible;
        self.ineligible += other.ineligible;
        self.undetermined += other.undetermined;
        self.failed += other.failed;
        self.total_fen = self.total_fen.saturating_add(other.total_fen);
    }

    /// How many outcomes were counted.
    pub fn total(&self) -> u64 {
        self.eligible + self.ineligible + self.undetermined + self.failed
    }
}

/// Runs a checked condition: its truth, or the error as text.
fn truth(scope: &Context<'_, '_>, e: &IdedExpr) -> Result<bool, String> {
    let v = cel::Value::resolve_val(e, scope).map_err(|e| e.to_string())?;
    match v.downcast_ref::<CelBool>() {
        Some(b) => Ok(*b.inner()),
        None => Err(format!("the condition gave {}, not a boolean", v.get_type().name())),
    }
}

/// Runs the amount formula.
fn amount(scope: &Context<'_, '_>, e: &IdedExpr) -> Outcome {
    let v = match cel::Value::resolve_val(e, scope) {
        Ok(v) => v,
        Err(e) => return Outcome::Failed { message: e.to_string() },
    };
    match v.downcast_ref::<CelInt>().map(|i| *i.inner()) {
        Some(fen) if fen >= 0 => Outcome::Eligible { amount_fen: fen },
        Some(fen) => Outcome::Failed {
            message: format!("the amount is negative: {fen}"),
        },
        None => Outcome::Failed {
            message: format!("the amount is {}, not an integer", v.get_type().name()),
        },
    }
}

const OTHER_SCHEMA: &str = "the profile was made for another schema than the policy";

impl CompiledPolicy {
    fn fits(&self, layout: &Arc<Layout>) -> bool {
        same_layout(&self.rule.layout, layout) && same_layout(&self.amount.layout, layout)
    }

    /// The attributes missing to decide: those of the conditions that could not be
    /// evaluated, then those of the amount formula, each once.
    fn missing(&self, profile: &Profile) -> Vec<String> {
        let mut out: Vec<String> = vec![];
        let conditions = self.rule.conditions().iter().filter(|c| !profile.has_all(&c.required));
        for c in conditions.chain([self.amount.whole()]) {
            for (path, slot) in c.paths().iter().zip(&c.required) {
                if !profile.has(slot) && !out.contains(path) {
                    out.push(path.clone());
                }
            }
        }
        out
    }

    /// Decides one profile. Conditions run in order, each only if all it reads is known:
    /// a false one decides `Ineligible` at once (whatever else is missing), a runtime
    /// error or a non-boolean `Failed`. If all that ran held but some could not run,
    /// `Undetermined` with the missing attributes; else `Eligible` with the amount
    /// formula's value, which must be a non-negative integer (fen).
    pub fn evaluate(&self, ev: &Evaluator, profile: &Profile) -> Outcome {
        if !self.fits(&profile.layout) {
            return Outcome::Failed {
                message: OTHER_SCHEMA.into(),
            };
        }
        let resolver = Resolver::new(profile);
        let scope = ev.scope(&resolver);
        let mut undetermined = false;
        for c in self.rule.conditions() {
            if !profile.has_all(&c.required) {
                undetermined = true;
                continue;
            }
            match truth(&scope, &c.expr) {
                Ok(true) => {}
                Ok(false) => return Outcome::Ineligible,
                Err(message) => return Outcome::Failed { message },
            }
        }
        let formula = self.amount.whole();
        if undetermined || !profile.has_all(&formula.required) {
            return Outcome::Undetermined {
                missing: self.missing(profile),
            };
        }
        amount(&scope, &formula.expr)
    }

    /// Every condition with its result, the values it read (with their sources and
    /// dates) and what is missing, and the outcome `evaluate` gives.
    pub fn explain(&self, schema: &Schema, ev: &Evaluator, profile: &Profile) -> Explanation {
        if !self.fits(&profile.layout) || !self.fits(schema.layout()) {
            return Explanation {
                outcome: Outcome::Failed {
                    message: OTHER_SCHEMA.into(),
                },
                conditions: vec![],
            };
        }
        let resolver = Resolver::new(profile);
        let scope = ev.scope(&resolver);
        let conditions: Vec<ConditionReport> = self
            .rule
            .conditions()
            .iter()
            .map(|c| report(schema, &scope, profile, c))
            .collect();
        let mut undetermined = false;
        let mut outcome = None;
        for r in &conditions {
            if let Some(message) = &r.error {
                outcome = Some(Outcome::Failed {
                    message: message.clone(),
                });
                break;
            }
            match r.met {
                Some(false) => {
                    outcome = Some(Outcome::Ineligible);
                    break;
                }
                Some(true) => {}
                None => undetermined = true,
            }
        }
        let outcome = outcome.unwrap_or_else(|| {
            let formula = self.amount.whole();
            if undetermined || !profile.has_all(&formula.required) {
                Outcome::Undetermined {
                    missing: self.missing(profile),
                }
            } else {
                amount(&scope, &formula.expr)
            }
        });
        Explanation { outcome, conditions }
    }
}

/// One condition evaluated, with what it read.
fn report(schema: &Schema, scope: &Context<'_, '_>, profile: &Profile, c: &Condition) -> ConditionReport {
    let values = c
        .paths()
        .iter()
        .chain(c.tested())
        .filter_map(|path| {
            let def = schema.find(path)?;
            let value = profile.get(schema, path)?;
            Some(ValueReport {
                path: path.clone(),
                zh: def.zh.clone(),
                en: def.en.clone(),
                value,
                source: def.source.clone(),
                as_of_ms: profile.as_of(schema, path),
            })
        })
        .collect();
    let missing: Vec<String> = c
        .paths()
        .iter()
        .zip(&c.required)
        .filter(|(_, s)| !profile.has(s))
        .map(|(p, _)| p.clone())
        .collect();
    let (met, error) = if missing.is_empty() {
        match truth(scope, &c.expr) {
            Ok(b) => (Some(b), None),
            Err(e) => (None, Some(e)),
        }
    } else {
        (None, None)
    };
    ConditionReport {
        text: c.text().to_string(),
        met,
        values,
        missing,
        error,
    }
}

/// A CEL program run as is over a profile, with the same resolver and no outcome logic:
/// the baseline of `yiwang bench policies`.
#[derive(Debug)]
pub struct BareProgram {
    program: Program,
}

/// Parses `source` as a plain CEL program (not checked against a schema).
pub fn bare_program(source: &str) -> Result<BareProgram, String> {
    Program::compile(source)
        .map(|program| BareProgram { program })
        .map_err(|e| e.to_string())
}

impl BareProgram {
    /// The program's value over the profile if it is a boolean; `None` on an error
    /// (such as a missing attribute) or another type.
    pub fn run(&self, ev: &Evaluator, profile: &Profile) -> Option<bool> {
        let resolver = Resolver::new(profile);
        let scope = ev.scope(&resolver);
        match self.program.execute(&scope) {
            Ok(cel::Value::Bool(b)) => Some(b),
            _ => None,
        }
    }
}

/// What a compiled rule needs of a profile.
impl Compiled {
    /// Does the profile know every attribute the rule reads (not counting `has()` tests)?
    pub fn complete_for(&self, profile: &Profile) -> bool {
        same_layout(&self.layout, &profile.layout) && profile.has_all(&self.whole().required)
    }
}
