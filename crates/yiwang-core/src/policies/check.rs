//! Checking a rule against a schema, and compiling it: caps on size and nesting, the
//! parse, then a static type check of the expression tree that knows every attribute's
//! type, so a rule that could only fail or mean nothing is refused when it is written.
//!
//! The supported subset of CEL: literals (int, double, string, bool, lists of them),
//! attributes (`age`, `group.field`), `&&` `||` `!`, comparisons, `+ - * / %`, unary `-`,
//! `?:`, `in` on a list, `size()`, `has(group.field)`, `int()`, `double()`, `string()`,
//! and `startsWith`, `endsWith`, `contains` on strings. An int and a double may be
//! compared and mixed in arithmetic: the int is converted to a double (`age * 1.5` is a
//! double; `int(...)` makes an amount of it). Comprehensions (`exists`, `all`, `map`,
//! `filter`), maps, indexes and other functions are refused as unsupported.

use super::source::{balance_end, distance, error_at, syntax_errors, too_deep_bracket};
use super::{AttrType, Layout, Limits, Root, RuleError, Schema};
use crate::error::DomainError;
use cel::common::ast::{CallExpr, EntryExpr, Expr, IdedExpr, LiteralValue, SourceInfo, operators};
use cel::common::types::CelDouble;
use cel::parser::Parser;
use std::sync::Arc;

/// An attribute a condition reads: its root's index (in the profile) and the attribute's
/// index (in the schema).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Slot {
    pub(super) root: usize,
    pub(super) attr: usize,
}

/// One top-level condition of a rule (a conjunct of its top-level `&&`), or a whole
/// amount formula.
#[derive(Clone, Debug)]
pub struct Condition {
    text: String,
    pub(super) expr: IdedExpr,
    paths: Vec<String>,
    tested: Vec<String>,
    /// The attributes read, which must all be known for the condition to be evaluated.
    pub(super) required: Vec<Slot>,
}

impl Condition {
    /// The condition as written in the rule.
    pub fn text(&self) -> &str {
        &self.text
    }
    /// The attributes it reads: all must be known before it is evaluated.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }
    /// The attributes it only tests with `has()`: they may be missing.
    pub fn tested(&self) -> &[String] {
        &self.tested
    }
}

/// A rule checked against a schema and compiled.
#[derive(Clone, Debug)]
pub struct Compiled {
    source: String,
    ty: AttrType,
    whole: Condition,
    conditions: Vec<Condition>,
    paths: Vec<String>,
    pub(super) layout: Arc<Layout>,
}

impl Compiled {
    pub fn source(&self) -> &str {
        &self.source
    }
    /// Every attribute the rule refers to, in order of first appearance.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }
    /// The top-level conditions, in order; an amount formula is one condition.
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
    /// The type of the rule's result (as compiled: `expect`).
    pub fn result_type(&self) -> AttrType {
        self.ty
    }
    /// The whole rule as one condition.
    pub(super) fn whole(&self) -> &Condition {
        &self.whole
    }
}

/// A policy's eligibility rule and amount formula, compiled.
#[derive(Clone, Debug)]
pub struct CompiledPolicy {
    pub rule: Compiled,
    pub amount: Compiled,
}

/// Checks and compiles a policy; errors are reported against the fields `rule` and
/// `amount`, all at once.
pub fn compile_policy(
    schema: &Schema,
    rule: &str,
    amount: &str,
    limits: &Limits,
) -> Result<CompiledPolicy, DomainError> {
    let r = compile(schema, rule, AttrType::Bool, limits);
    let a = compile(schema, amount, AttrType::Int, limits);
    match (r, a) {
        (Ok(rule), Ok(amount)) => Ok(CompiledPolicy { rule, amount }),
        (r, a) => {
            let mut errors = vec![];
            for (field, res) in [("rule", r.err()), ("amount", a.err())] {
                errors.extend(res.unwrap_or_default().iter().map(|e| e.field_error(field)));
            }
            Err(DomainError::invalid(errors))
        }
    }
}

/// Checks `source` against `schema` and compiles it. `expect` is `AttrType::Bool` for a
/// condition and `AttrType::Int` for an amount formula (fen).
pub fn compile(schema: &Schema, source: &str, expect: AttrType, limits: &Limits) -> Result<Compiled, Vec<RuleError>> {
    let chars = source.chars().count();
    if chars > limits.max_chars {
        let byte = source
            .char_indices()
            .nth(limits.max_chars)
            .map_or(source.len(), |(i, _)| i);
        return Err(vec![error_at(
            source,
            byte,
            "rule.too_long",
            format!("规则不能超过 {} 个字符（现为 {chars} 个）", limits.max_chars),
            format!(
                "a rule must be at most {} characters (this one has {chars})",
                limits.max_chars
            ),
        )]);
    }
    if source.trim().is_empty() {
        return Err(vec![error_at(
            source,
            0,
            "rule.syntax",
            "规则为空".into(),
            "the rule is empty".into(),
        )]);
    }
    if let Some(byte) = too_deep_bracket(source, limits.max_depth) {
        return Err(vec![error_at(
            source,
            byte,
            "rule.too_deep",
            format!("括号嵌套不能超过 {} 层", limits.max_depth),
            format!("brackets may nest at most {} deep", limits.max_depth),
        )]);
    }
    // The parser's own cap is a backstop for nesting without brackets (chains of `?:`);
    // the tree's depth is checked below against `max_depth` itself.
    let recursion = u16::try_from(limits.max_depth.saturating_mul(2).saturating_add(2)).unwrap_or(u16::MAX - 1);
    let (mut expr, info) = Parser::new()
        .max_recursion_depth(recursion)
        .parse_with_source_info(source)
        .map_err(|e| syntax_errors(source, e))?;

    let mut m = Measure::default();
    measure(&expr, 1, limits.max_depth, &mut m);
    let mut ck = Checker {
        schema,
        source,
        info: &info,
        errors: vec![],
        next_id: m.max_id + 1,
    };
    if let Some(id) = m.too_deep {
        let byte = ck.own_start(id).unwrap_or_else(|| ck.start(&expr));
        return Err(vec![error_at(
            source,
            byte,
            "rule.too_deep",
            format!("表达式嵌套不能超过 {} 层", limits.max_depth),
            format!("expressions may nest at most {} deep", limits.max_depth),
        )]);
    }
    if m.nodes > limits.max_nodes {
        return Err(vec![error_at(
            source,
            ck.start(&expr),
            "rule.too_large",
            format!("规则不能超过 {} 个节点（现为 {} 个）", limits.max_nodes, m.nodes),
            format!(
                "a rule may have at most {} nodes (this one has {})",
                limits.max_nodes, m.nodes
            ),
        )]);
    }

    let ty = ck.check(&mut expr);
    if !ck.errors.is_empty() {
        return Err(ck.errors);
    }
    let Some(ty) = ty else {
        return Err(vec![error_at(
            source,
            0,
            "rule.unsupported",
            "规则无法检查".into(),
            "the rule cannot be checked".into(),
        )]);
    };
    let want = Ty::of(expect);
    if ty != want {
        let (hint_zh, hint_en) = if want == Ty::Int && ty == Ty::Double {
            ("；可用 int(…) 取整", "; int(…) truncates it")
        } else {
            ("", "")
        };
        return Err(vec![error_at(
            source,
            ck.start(&expr),
            "rule.result_type",
            format!("结果应为{}，这里是{}{hint_zh}", want.zh(), ty.zh()),
            format!("the result must be {}, this is {}{hint_en}", want.en(), ty.en()),
        )]);
    }

    let mut parts = vec![];
    if expect == AttrType::Bool {
        conjuncts(&expr, &mut parts);
    } else {
        parts.push(&expr);
    }
    let conditions = parts.into_iter().map(|p| ck.condition(p)).collect();
    let whole = ck.condition(&expr);
    let mut paths = whole.paths.clone();
    paths.extend(whole.tested.iter().cloned());
    let order = |p: &String| ck.first_read(&expr, p);
    paths.sort_by_key(order);
    Ok(Compiled {
        source: source.to_string(),
        ty: expect,
        whole,
        conditions,
        paths,
        layout: schema.layout().clone(),
    })
}

/// The conjuncts of the top-level `&&` chain, in order (the parser balances the chain
/// into a tree).
fn conjuncts<'e>(e: &'e IdedExpr, out: &mut Vec<&'e IdedExpr>) {
    match &e.expr {
        Expr::Call(c) if c.func_name == operators::LOGICAL_AND && c.target.is_none() && c.args.len() == 2 => {
            conjuncts(&c.args[0], out);
            conjuncts(&c.args[1], out);
        }
        _ => out.push(e),
    }
}

/// The children of a node.
fn children(e: &IdedExpr) -> Vec<&IdedExpr> {
    match &e.expr {
        Expr::Call(c) => c.target.as_deref().into_iter().chain(c.args.iter()).collect(),
        Expr::Select(s) => vec![&s.operand],
        Expr::List(l) => l.elements.iter().collect(),
        Expr::Map(m) => m.entries.iter().flat_map(|en| entry_children(&en.expr)).collect(),
        Expr::Struct(s) => s.entries.iter().flat_map(|en| entry_children(&en.expr)).collect(),
        Expr::Comprehension(c) => vec![&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result],
        Expr::Literal(_) | Expr::Ident(_) | Expr::Unspecified => vec![],
    }
}

fn entry_children(e: &EntryExpr) -> Vec<&IdedExpr> {
    match e {
        EntryExpr::StructField(f) => vec![&f.value],
        EntryExpr::MapEntry(m) => vec![&m.key, &m.value],
    }
}

#[derive(Default)]
struct Measure {
    nodes: usize,
    max_id: u64,
    /// The first node deeper than allowed.
    too_deep: Option<u64>,
}

fn measure(e: &IdedExpr, depth: usize, max_depth: usize, m: &mut Measure) {
    m.nodes += 1;
    m.max_id = m.max_id.max(e.id);
    if depth > max_depth {
        m.too_deep.get_or_insert(e.id);
        return;
    }
    for c in children(e) {
        measure(c, depth + 1, max_depth, m);
    }
}

/// A static type.
#[derive(Clone, Debug, PartialEq)]
enum Ty {
    Bool,
    Int,
    Double,
    String,
    List(Box<Ty>),
    /// The element of an empty list literal: any.
    Any,
}

impl Ty {
    fn of(t: AttrType) -> Ty {
        match t {
            AttrType::Int => Ty::Int,
            AttrType::Double => Ty::Double,
            AttrType::String => Ty::String,
            AttrType::Bool => Ty::Bool,
            AttrType::StringList => Ty::List(Box::new(Ty::String)),
        }
    }
    fn numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Double)
    }
    fn zh(&self) -> String {
        match self {
            Ty::Bool => "布尔值".into(),
            Ty::Int => "整数".into(),
            Ty::Double => "小数".into(),
            Ty::String => "字符串".into(),
            Ty::List(e) if **e == Ty::Any => "空列表".into(),
            Ty::List(e) => format!("{}列表", e.zh()),
            Ty::Any => "任意值".into(),
        }
    }
    fn en(&self) -> String {
        match self {
            Ty::Bool => "a boolean".into(),
            Ty::Int => "an integer".into(),
            Ty::Double => "a decimal number".into(),
            Ty::String => "a string".into(),
            Ty::List(e) if **e == Ty::Any => "an empty list".into(),
            Ty::List(e) => format!("a list of {}", e.plural()),
            Ty::Any => "any value".into(),
        }
    }
    fn plural(&self) -> String {
        match self {
            Ty::Bool => "booleans".into(),
            Ty::Int => "integers".into(),
            Ty::Double => "decimal numbers".into(),
            Ty::String => "strings".into(),
            Ty::List(e) => format!("lists of {}", e.plural()),
            Ty::Any => "values".into(),
        }
    }
    /// May `==` compare the two (and `in` find one in a list of the other)?
    fn comparable(&self, other: &Ty) -> bool {
        match (self, other) {
            (Ty::Any, _) | (_, Ty::Any) => true,
            (a, b) if a.numeric() && b.numeric() => true,
            (Ty::List(a), Ty::List(b)) => a.comparable(b),
            (a, b) => a == b,
        }
    }
}

/// An operator's name as written.
fn written(func: &str) -> &str {
    match func {
        operators::IN => "in",
        operators::CONDITIONAL => "?:",
        operators::NEGATE => "-",
        operators::LOGICAL_NOT => "!",
        f => f.trim_matches('_'),
    }
}

struct Checker<'a> {
    schema: &'a Schema,
    source: &'a str,
    info: &'a SourceInfo,
    errors: Vec<RuleError>,
    next_id: u64,
}

impl Checker<'_> {
    /// Where a node's own token starts (an operator's symbol, a call's parenthesis).
    fn own_start(&self, id: u64) -> Option<usize> {
        self.info.offset_for(id).map(|(s, _)| s as usize)
    }

    /// The bytes `[start, end)` a node spans in the source.
    fn span(&self, e: &IdedExpr) -> (usize, usize) {
        let (mut start, mut end) = (usize::MAX, 0);
        let mut stack = vec![e];
        while let Some(n) = stack.pop() {
            if let Some((s, t)) = self.info.offset_for(n.id) {
                let (s, t) = (s as usize, t as usize);
                start = start.min(s);
                let last = self
                    .source
                    .get(t..)
                    .and_then(|r| r.chars().next())
                    .map_or(1, char::len_utf8);
                end = end.max(t + last);
                // A selection's node is its `.`: take in the field's name after it.
                if let Expr::Select(sel) = &n.expr
                    && let Some(at) = self.source.get(t..).and_then(|r| r.find(sel.field.as_str()))
                {
                    end = end.max(t + at + sel.field.len());
                }
            }
            stack.extend(children(n));
        }
        if start == usize::MAX {
            return (0, self.source.len());
        }
        // A global call's node is its `(`: take in the function's name before it.
        let b = self.source.as_bytes();
        if b.get(start) == Some(&b'(') {
            let mut s = start;
            while s > 0 && b[s - 1] == b' ' {
                s -= 1;
            }
            let mut n = s;
            while n > 0 && (b[n - 1].is_ascii_alphanumeric() || b[n - 1] == b'_') {
                n -= 1;
            }
            if n < s {
                start = n;
            }
        }
        let end = balance_end(self.source, start, end.min(self.source.len()));
        (start, end)
    }

    fn start(&self, e: &IdedExpr) -> usize {
        self.span(e).0
    }

    fn push(&mut self, byte: usize, rule: &'static str, zh: String, en: String) {
        let err = error_at(self.source, byte, rule, zh, en);
        if !self.errors.contains(&err) {
            self.errors.push(err);
        }
    }

    fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id - 1
    }

    /// Makes an int operand a double: a literal in place, anything else wrapped in
    /// `double(…)`.
    fn widen_to_double(&mut self, e: &mut IdedExpr) {
        if let Expr::Literal(LiteralValue::Int(i)) = &e.expr {
            e.expr = Expr::Literal(LiteralValue::Double(CelDouble::from(*i.inner() as f64)));
            return;
        }
        let inner = std::mem::take(e);
        *e = IdedExpr {
            id: self.fresh_id(),
            expr: Expr::Call(CallExpr {
                func_name: "double".into(),
                target: None,
                args: vec![inner],
            }),
        };
    }

    fn unsupported(&mut self, byte: usize, zh: &str, en: &str) -> Option<Ty> {
        self.push(
            byte,
            "rule.unsupported",
            format!("不支持{zh}"),
            format!("{en} is not supported"),
        );
        None
    }

    fn type_error(&mut self, byte: usize, zh: String, en: String) -> Option<Ty> {
        self.push(byte, "rule.type", zh, en);
        None
    }

    fn unknown(&mut self, byte: usize, name: &str) -> Option<Ty> {
        let best = self
            .schema
            .attrs()
            .iter()
            .map(|a| a.path.as_str())
            .map(|c| (distance(name, c), c))
            .filter(|(d, _)| *d <= 2)
            .min_by_key(|(d, _)| *d);
        let (zh, en) = match best {
            Some((_, c)) => (format!("（是否为 {c}？）"), format!(" (did you mean {c}?)")),
            None => (String::new(), String::new()),
        };
        self.push(
            byte,
            "rule.unknown_attribute",
            format!("未知属性 {name}{zh}"),
            format!("unknown attribute {name}{en}"),
        );
        None
    }

    /// The type of `group.field`, or an error at `byte`.
    fn path(&mut self, byte: usize, group: &str, field: &str) -> Option<Ty> {
        match self.schema.root_index(group).map(|i| self.schema.root(i)) {
            Some(Root::Group) => match self.schema.find(&format!("{group}.{field}")) {
                Some(a) => Some(Ty::of(a.ty)),
                None => self.unknown(byte, &format!("{group}.{field}")),
            },
            Some(Root::Scalar(_)) => self.type_error(
                byte,
                format!("{group} 不是属性组，没有字段 {field}"),
                format!("{group} is not a group and has no field {field}"),
            ),
            None => self.unknown(byte, &format!("{group}.{field}")),
        }
    }

    /// Type-checks a node; `None` when an error has been recorded (so that one mistake
    /// is reported once, not at every node above it).
    fn check(&mut self, e: &mut IdedExpr) -> Option<Ty> {
        let at = self.start(e);
        let own = self.own_start(e.id).unwrap_or(at);
        match &mut e.expr {
            Expr::Literal(l) => match l {
                LiteralValue::Boolean(_) => Some(Ty::Bool),
                LiteralValue::Int(_) => Some(Ty::Int),
                LiteralValue::Double(_) => Some(Ty::Double),
                LiteralValue::String(_) => Some(Ty::String),
                LiteralValue::UInt(_) => self.unsupported(at, "无符号整数", "an unsigned integer"),
                LiteralValue::Bytes(_) => self.unsupported(at, "字节串", "a bytes literal"),
                LiteralValue::Null => self.unsupported(at, " null", "null"),
            },
            Expr::Ident(name) => {
                let name = name.clone();
                match self.schema.root_index(&name).map(|i| self.schema.root(i)) {
                    Some(Root::Scalar(a)) => Some(Ty::of(self.schema.attrs()[*a].ty)),
                    Some(Root::Group) => {
                        self.push(
                            at,
                            "rule.unknown_attribute",
                            format!("{name} 是一组属性，请写成 {name}.字段名"),
                            format!("{name} is a group of attributes: use {name}.<field>"),
                        );
                        None
                    }
                    None => self.unknown(at, &name),
                }
            }
            Expr::Select(s) => {
                let Expr::Ident(group) = &s.operand.expr else {
                    return self.unsupported(
                        at,
                        "此处的字段访问：只能读取“属性组.字段”",
                        "selecting here: only group.field",
                    );
                };
                let t = self.path(at, &group.clone(), &s.field.clone())?;
                Some(if s.test { Ty::Bool } else { t })
            }
            Expr::List(l) => {
                let mut elem = Ty::Any;
                let mut ok = true;
                for x in l.elements.iter_mut() {
                    let x_at = self.start(x);
                    let Some(t) = self.check(x) else {
                        ok = false;
                        continue;
                    };
                    if elem == Ty::Any {
                        elem = t;
                    } else if elem.numeric() && t.numeric() && elem != t {
                        elem = Ty::Double;
                    } else if elem != t {
                        ok = false;
                        self.type_error(
                            x_at,
                            format!("列表元素的类型应一致：{}与{}", elem.zh(), t.zh()),
                            format!("list elements must have one type: {} and {}", elem.en(), t.en()),
                        );
                    }
                }
                if !l.optional_indices.is_empty() {
                    return self.unsupported(at, "可选元素", "an optional element");
                }
                ok.then(|| Ty::List(Box::new(elem)))
            }
            Expr::Call(c) => self.call(c, at, own),
            Expr::Map(_) => self.unsupported(at, "映射（map）字面量", "a map literal"),
            Expr::Struct(_) => self.unsupported(at, "结构体字面量", "a message literal"),
            Expr::Comprehension(_) => self.unsupported(
                at,
                "遍历宏（exists、all、map、filter 等）",
                "a comprehension (exists, all, map, filter, …)",
            ),
            Expr::Unspecified => self.unsupported(at, "此表达式", "this expression"),
        }
    }

    fn call(&mut self, c: &mut CallExpr, at: usize, own: usize) -> Option<Ty> {
        let name = c.func_name.clone();
        let op = written(&name).to_string();
        match (name.as_str(), c.target.is_some(), c.args.len()) {
            (operators::LOGICAL_AND | operators::LOGICAL_OR, false, 2) | (operators::LOGICAL_NOT, false, 1) => {
                let mut ok = true;
                for a in c.args.iter_mut() {
                    let a_at = self.start(a);
                    match self.check(a) {
                        Some(Ty::Bool) => {}
                        Some(t) => {
                            ok = false;
                            self.type_error(
                                a_at,
                                format!("{op} 的操作数应为布尔值（条件），这里是{}", t.zh()),
                                format!("the operands of {op} must be booleans (conditions), this is {}", t.en()),
                            );
                        }
                        None => ok = false,
                    }
                }
                ok.then_some(Ty::Bool)
            }
            (operators::NEGATE, false, 1) => {
                let a_at = self.start(&c.args[0]);
                match self.check(&mut c.args[0])? {
                    t if t.numeric() => Some(t),
                    t => self.type_error(
                        a_at,
                        format!("负号只适用于数值，这里是{}", t.zh()),
                        format!("unary - applies to numbers, this is {}", t.en()),
                    ),
                }
            }
            (operators::EQUALS | operators::NOT_EQUALS, false, 2) => {
                let (a, b) = self.pair(c)?;
                if a.comparable(&b) {
                    Some(Ty::Bool)
                } else {
                    self.type_error(
                        own,
                        format!("不能比较{}与{}", a.zh(), b.zh()),
                        format!("cannot compare {} with {}", a.en(), b.en()),
                    )
                }
            }
            (operators::LESS | operators::LESS_EQUALS | operators::GREATER | operators::GREATER_EQUALS, false, 2) => {
                let (a, b) = self.pair(c)?;
                if (a.numeric() && b.numeric()) || (a == Ty::String && b == Ty::String) {
                    Some(Ty::Bool)
                } else {
                    self.type_error(
                        own,
                        format!("{op} 只能比较两个数值或两个字符串，这里是{}与{}", a.zh(), b.zh()),
                        format!(
                            "{op} compares two numbers or two strings, not {} and {}",
                            a.en(),
                            b.en()
                        ),
                    )
                }
            }
            (operators::ADD | operators::SUBSTRACT | operators::MULTIPLY | operators::DIVIDE, false, 2) => {
                let (a, b) = self.pair(c)?;
                match (a, b) {
                    (Ty::Int, Ty::Int) => Some(Ty::Int),
                    (Ty::Double, Ty::Double) => Some(Ty::Double),
                    (Ty::Int, Ty::Double) => {
                        self.widen_to_double(&mut c.args[0]);
                        Some(Ty::Double)
                    }
                    (Ty::Double, Ty::Int) => {
                        self.widen_to_double(&mut c.args[1]);
                        Some(Ty::Double)
                    }
                    (a, b) => self.type_error(
                        own,
                        format!("{op} 只适用于数值，这里是{}与{}", a.zh(), b.zh()),
                        format!("{op} applies to numbers, not {} and {}", a.en(), b.en()),
                    ),
                }
            }
            (operators::MODULO, false, 2) => match self.pair(c)? {
                (Ty::Int, Ty::Int) => Some(Ty::Int),
                (a, b) => self.type_error(
                    own,
                    format!("% 只适用于整数，这里是{}与{}", a.zh(), b.zh()),
                    format!("% applies to integers, not {} and {}", a.en(), b.en()),
                ),
            },
            (operators::CONDITIONAL, false, 3) => {
                let c_at = self.start(&c.args[0]);
                let cond = self.check(&mut c.args[0]);
                let a = self.check(&mut c.args[1]);
                let b = self.check(&mut c.args[2]);
                let cond_ok = match cond {
                    Some(Ty::Bool) => true,
                    Some(t) => {
                        self.type_error(
                            c_at,
                            format!("? 前应为条件（布尔值），这里是{}", t.zh()),
                            format!("the condition before ? must be a boolean, this is {}", t.en()),
                        );
                        false
                    }
                    None => false,
                };
                let (a, b) = (a?, b?);
                if !cond_ok {
                    return None;
                }
                match (a, b) {
                    (a, b) if a == b => Some(a),
                    (Ty::Int, Ty::Double) => {
                        self.widen_to_double(&mut c.args[1]);
                        Some(Ty::Double)
                    }
                    (Ty::Double, Ty::Int) => {
                        self.widen_to_double(&mut c.args[2]);
                        Some(Ty::Double)
                    }
                    (a, b) => self.type_error(
                        own,
                        format!("?: 两个分支的类型应一致，这里是{}与{}", a.zh(), b.zh()),
                        format!("both branches of ?: must have one type, not {} and {}", a.en(), b.en()),
                    ),
                }
            }
            (operators::IN, false, 2) => {
                let r_at = self.start(&c.args[1]);
                let (a, b) = self.pair(c)?;
                match b {
                    Ty::List(e) if matches!(a, Ty::List(_)) || !a.comparable(&e) => self.type_error(
                        own,
                        format!("in 左边的{}不能在{}中查找", a.zh(), Ty::List(e.clone()).zh()),
                        format!("{} cannot be looked for in {}", a.en(), Ty::List(e).en()),
                    ),
                    Ty::List(_) => Some(Ty::Bool),
                    b => self.type_error(
                        r_at,
                        format!("in 的右边应为列表，这里是{}", b.zh()),
                        format!("the right of in must be a list, this is {}", b.en()),
                    ),
                }
            }
            ("size", false, 1) | ("size", true, 0) => {
                let x = match c.target.as_deref_mut() {
                    Some(t) => t,
                    None => &mut c.args[0],
                };
                let x_at = self.start(x);
                match self.check(x)? {
                    Ty::List(_) | Ty::String => Some(Ty::Int),
                    t => self.type_error(
                        x_at,
                        format!("size() 只适用于列表或字符串，这里是{}", t.zh()),
                        format!("size() applies to lists and strings, not {}", t.en()),
                    ),
                }
            }
            ("int" | "double" | "string", false, 1) => {
                let x_at = self.start(&c.args[0]);
                let t = self.check(&mut c.args[0])?;
                let ok = t.numeric() || t == Ty::String || (name == "string" && t == Ty::Bool);
                if !ok {
                    return self.type_error(
                        x_at,
                        format!("{name}() 不能转换{}", t.zh()),
                        format!("{name}() cannot convert {}", t.en()),
                    );
                }
                Some(match name.as_str() {
                    "int" => Ty::Int,
                    "double" => Ty::Double,
                    _ => Ty::String,
                })
            }
            ("startsWith" | "endsWith" | "contains", true, 1) => {
                let target = c.target.as_deref_mut().expect("a member call");
                let t_at = self.start(target);
                let a_at = self.start(&c.args[0]);
                let t = self.check(target);
                let a = self.check(&mut c.args[0]);
                let (t, a) = (t?, a?);
                if t != Ty::String {
                    return self.type_error(
                        t_at,
                        format!("{name}() 只适用于字符串，这里是{}", t.zh()),
                        format!("{name}() applies to strings, not {}", t.en()),
                    );
                }
                if a != Ty::String {
                    return self.type_error(
                        a_at,
                        format!("{name}() 的参数应为字符串，这里是{}", a.zh()),
                        format!("the argument of {name}() must be a string, this is {}", a.en()),
                    );
                }
                Some(Ty::Bool)
            }
            (operators::INDEX | operators::OPT_INDEX, ..) => self.unsupported(own, "下标访问 [ ]", "indexing with [ ]"),
            _ => {
                let n = c.args.len();
                let on = if c.target.is_some() { "x." } else { "" };
                self.unsupported(
                    at,
                    &format!("函数 {on}{op}()（{n} 个参数）"),
                    &format!(
                        "the function {on}{op}() with {n} argument{}",
                        if n == 1 { "" } else { "s" }
                    ),
                )
            }
        }
    }

    /// Checks both operands of a binary call; `None` if either failed.
    fn pair(&mut self, c: &mut CallExpr) -> Option<(Ty, Ty)> {
        let [a, b] = &mut c.args[..] else {
            return None;
        };
        let (a, b) = (self.check(a), self.check(b));
        Some((a?, b?))
    }

    /// The attributes a node reads, in order: `(attribute index, only tested by has())`.
    fn reads(&self, e: &IdedExpr, out: &mut Vec<(usize, bool)>) {
        match &e.expr {
            Expr::Ident(name) => {
                if let Some(i) = self.schema.attr_index(name) {
                    out.push((i, false));
                }
            }
            Expr::Select(s) => {
                if let Expr::Ident(g) = &s.operand.expr
                    && let Some(i) = self.schema.attr_index(&format!("{g}.{}", s.field))
                {
                    out.push((i, s.test));
                }
            }
            _ => {
                for c in children(e) {
                    self.reads(c, out);
                }
            }
        }
    }

    /// Where a path is first read in `e` (for ordering `Compiled::paths`).
    fn first_read(&self, e: &IdedExpr, path: &str) -> usize {
        let mut reads = vec![];
        self.reads(e, &mut reads);
        reads
            .iter()
            .position(|(i, _)| self.schema.attrs()[*i].path == path)
            .unwrap_or(usize::MAX)
    }

    /// A checked node as a condition: its text and what it reads.
    fn condition(&self, e: &IdedExpr) -> Condition {
        let (start, end) = self.span(e);
        let mut reads = vec![];
        self.reads(e, &mut reads);
        let (mut paths, mut tested, mut required) = (vec![], vec![], vec![]);
        for (attr, _) in reads.iter().filter(|(_, t)| !t) {
            let path = &self.schema.attrs()[*attr].path;
            if !paths.contains(path) {
                paths.push(path.clone());
                required.push(Slot {
                    root: self.schema.root_of(*attr),
                    attr: *attr,
                });
            }
        }
        for (attr, _) in reads.iter().filter(|(_, t)| *t) {
            let path = &self.schema.attrs()[*attr].path;
            if !paths.contains(path) && !tested.contains(path) {
                tested.push(path.clone());
            }
        }
        Condition {
            text: self.source[start..end].trim().to_string(),
            expr: e.clone(),
            paths,
            tested,
            required,
        }
    }
}
