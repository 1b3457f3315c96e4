//! The pre-check of an application against the item's elements.

use super::*;

// ---------------------------------------------------------------------------------------
// 智能预审: the pre-check of an application
// ---------------------------------------------------------------------------------------

/// How one material is provided in an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Provision {
    pub kind: ProvisionKind,
    /// Content hashes of uploaded files (`files`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// The e-licence used instead (`licence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence_id: Option<String>,
    /// The earlier case whose result stands in (`result`: a 一件事 member's predecessor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    /// Originals checked at the window (`paper`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originals_checked: Option<bool>,
}

/// The applicant's answers: situation, form, materials, and the chosen route.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// Situation question key → choice key.
    #[serde(default)]
    pub answers: BTreeMap<String, String>,
    /// Data-element code → value.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub form: BTreeMap<String, Value>,
    /// Material key → how it is provided.
    #[serde(default)]
    pub materials: BTreeMap<String, Provision>,
    /// The applicant signs the item's commitment text (告知承诺) instead of proving.
    #[serde(default)]
    pub commitment: bool,
    /// The 业务办理项 applied for (新办, 变更, 延续, 注销, 补办 …): the suffix of one of the
    /// item's handling items (STANDARDS §1: two digits after the implementation code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handling: Option<String>,
}

/// What the pre-check found besides problems: the materials that follow (容缺).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Prechecked {
    pub tolerated: BTreeSet<String>,
    pub promised: BTreeSet<String>,
}

/// Paper is handed in at a window, never online (STANDARDS §1 申请材料 形式: 纸质 / 电子):
/// an online application names no material as provided on paper.
pub fn check_channel(channel: Channel, application: &Application) -> Result<(), DomainError> {
    if channel != Channel::Online {
        return Ok(());
    }
    match application
        .materials
        .iter()
        .find(|(_, p)| p.kind == ProvisionKind::Paper)
    {
        None => Ok(()),
        Some((k, _)) => Err(DomainError::invalid(vec![FieldError::new(
            format!("materials.{k}"),
            "case.paper_online",
            "网上申报不能选择纸质材料，请上传或使用电子证照",
            "online, upload the material or use a licence",
        )])),
    }
}

/// The route a case takes once pre-checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// 告知承诺: decided on the applicant's written promise (国办发〔2020〕42号).
    Commitment,
    /// 容缺受理: accepted with secondary materials to follow (STANDARDS §3).
    Tolerance,
    /// Every material proved before the decision.
    Normal,
}

impl Route {
    /// The commitment route when the applicant signed the item's commitment text; else
    /// tolerance when the pre-check let materials follow; else normal.
    pub fn of(application: &Application, prechecked: &Prechecked) -> Route {
        if application.commitment {
            Route::Commitment
        } else if !prechecked.tolerated.is_empty() {
            Route::Tolerance
        } else {
            Route::Normal
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Commitment => "commitment",
            Route::Tolerance => "tolerance",
            Route::Normal => "normal",
        }
    }
}

/// 智能预审: required fields, values by their data elements (ID and USCC check digits,
/// dates, …), the situation answers, and the materials they call for. Every problem is
/// named by its field (`form.<element>`, `materials.<key>`, `answers.<question>`).
/// `tolerance_allowed` is false when the applicant has a serious credit default
/// (STANDARDS §3).
pub fn precheck(
    e: &Elements,
    dict: &dyn Fn(&str) -> Option<DataElement>,
    app: &Application,
    tolerance_allowed: bool,
) -> Result<Prechecked, DomainError> {
    let mut p = Problems::new();
    for f in &e.form {
        let field = format!("form.{}", f.element);
        let v = app.form.get(&f.element).filter(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.trim().is_empty(),
            _ => true,
        });
        let de = dict(&f.element);
        // A field is named by its label, else its data element's name: never by its code.
        let label = f
            .label
            .clone()
            .or_else(|| de.as_ref().map(|d| d.name.clone()))
            .unwrap_or_else(|| "申请表中的一项".into());
        match (v, de) {
            (None, _) if f.required => p.push(FieldError::new(
                field,
                "required",
                format!("请填写「{label}」"),
                format!("fill in '{label}'"),
            )),
            (Some(v), Some(de)) => p.check(check_value(&field, &de, v)),
            _ => {}
        }
    }
    for k in app.form.keys() {
        if !e.form.iter().any(|f| &f.element == k) {
            p.push(FieldError::new(
                format!("form.{k}"),
                "form.unknown_field",
                "本事项的申请表没有这一项".to_string(),
                "this item's form has no such field".to_string(),
            ));
        }
    }
    let sel = match select_materials(e, &app.answers) {
        Ok(s) => s,
        Err(err) => {
            p.0.extend(err.errors);
            return Err(DomainError::invalid(p.0));
        }
    };
    for q in &sel.unanswered {
        if !sel.depends.is_empty() {
            p.push(FieldError::new(
                format!("answers.{}", q.key),
                "required",
                format!("请回答「{}」", q.text),
                format!("answer '{}'", q.text),
            ));
        }
    }
    // STANDARDS §1: a 业务办理项 is one of the item's own.
    if let Some(h) = &app.handling
        && !e.handling_items.iter().any(|x| &x.suffix == h)
    {
        p.push(FieldError::new(
            "handling",
            "case.handling",
            "本事项没有这一办理项，请在办事指南中重新选择",
            "this item has no such variant; choose again on the guide",
        ));
    }
    // 告知承诺 (国办发〔2020〕42号): with the commitment signed, proofs are not required.
    if app.commitment && e.commitment.is_none() {
        p.push(FieldError::new(
            "commitment",
            "case.no_commitment",
            "本事项不适用告知承诺制",
            "this item has no commitment route",
        ));
    }
    let mut out = Prechecked::default();
    for m in &sel.needed {
        let field = format!("materials.{}", m.key);
        let given = app.materials.get(&m.key);
        let promised = app.commitment && e.commitment.is_some() && m.kind == MaterialKind::Proof;
        match given.map(|g| g.kind) {
            Some(ProvisionKind::Tolerated) => {
                if m.necessity != Necessity::Tolerated {
                    p.push(FieldError::new(
                        &field,
                        "case.not_tolerable",
                        format!("「{}」不属于可容缺材料", m.name),
                        format!("'{}' cannot follow later", m.name),
                    ));
                } else if !tolerance_allowed {
                    // STANDARDS §3: not for serious credit defaults until 信用修复.
                    p.push(FieldError::new(
                        &field,
                        "case.credit_default",
                        "存在严重失信记录，不适用容缺受理",
                        "a serious credit default excludes acceptance with materials to follow",
                    ));
                } else {
                    out.tolerated.insert(m.key.clone());
                }
            }
            Some(ProvisionKind::Promised) => {
                if promised {
                    out.promised.insert(m.key.clone());
                } else {
                    p.push(FieldError::new(
                        &field,
                        "case.not_promisable",
                        format!("「{}」不能以承诺代替", m.name),
                        format!("'{}' cannot be replaced by a commitment", m.name),
                    ));
                }
            }
            Some(ProvisionKind::Files) if given.is_some_and(|g| g.files.is_empty()) => p.push(FieldError::new(
                &field,
                "required",
                format!("请上传「{}」", m.name),
                format!("upload '{}'", m.name),
            )),
            Some(ProvisionKind::Licence) if given.is_some_and(|g| g.licence_id.is_none()) => p.push(FieldError::new(
                &field,
                "required",
                format!("请选择用于「{}」的电子证照", m.name),
                format!("choose the licence for '{}'", m.name),
            )),
            // 国发〔2024〕3号: what an earlier item of the same 一件事 produced is not asked again.
            Some(ProvisionKind::Result) if given.is_some_and(|g| g.case_id.is_none()) => p.push(FieldError::new(
                &field,
                "required",
                format!("请注明作为「{}」的前序办件", m.name),
                format!("name the earlier case whose result stands in for '{}'", m.name),
            )),
            Some(_) => {}
            None if promised => {
                out.promised.insert(m.key.clone());
            }
            None if m.necessity == Necessity::Optional => {}
            None => p.push(FieldError::new(
                &field,
                "required",
                if m.necessity == Necessity::Tolerated {
                    format!("请提交「{}」，或选择容缺后补", m.name)
                } else {
                    format!("请提交「{}」", m.name)
                },
                format!("'{}' is required", m.name),
            )),
        }
    }
    for k in app.materials.keys() {
        if !sel.needed.iter().chain(sel.depends.iter()).any(|m| &m.key == k) {
            // Named as the guide names it; a key the item does not know is not repeated.
            let name = e.materials.iter().find(|m| &m.key == k).map(|m| m.name.as_str());
            p.push(FieldError::new(
                format!("materials.{k}"),
                "case.material_not_needed",
                match name {
                    Some(n) => format!("本情形不需要材料「{n}」"),
                    None => "本事项没有这一材料".to_string(),
                },
                match name {
                    Some(n) => format!("'{n}' is not needed in this situation"),
                    None => "this item has no such material".to_string(),
                },
            ));
        }
    }
    p.finish()?;
    Ok(out)
}

/// A complete, valid application for an item: the first answer to each situation
/// question, an example value for every form field (check digits included) and a file
/// for every material needed. For load generators, demos and tests: what a careful
/// applicant would send.
pub fn sample_application(e: &Elements, dict: &dyn Fn(&str) -> Option<DataElement>, file_sm3: &str) -> Application {
    let answers: BTreeMap<String, String> = e
        .questions
        .iter()
        .filter_map(|q| q.choices.first().map(|c| (q.key.clone(), c.key.clone())))
        .collect();
    let mut form = BTreeMap::new();
    for f in &e.form {
        let Some(d) = dict(&f.element) else { continue };
        let v = crate::catalog::example_value(&d);
        let value = match d.kind {
            crate::catalog::ElementKind::Integer => v.parse::<i64>().map(Value::from).unwrap_or(Value::String(v)),
            crate::catalog::ElementKind::Decimal | crate::catalog::ElementKind::Money => v
                .parse::<f64>()
                .ok()
                .and_then(|x| serde_json::Number::from_f64(x).map(Value::Number))
                .unwrap_or(Value::String(v)),
            crate::catalog::ElementKind::Boolean => Value::Bool(true),
            _ => Value::String(v),
        };
        form.insert(f.element.clone(), value);
    }
    let materials = select_materials(e, &answers)
        .map(|sel| {
            sel.needed
                .iter()
                .map(|m| {
                    (
                        m.key.clone(),
                        Provision {
                            kind: ProvisionKind::Files,
                            files: vec![file_sm3.to_string()],
                            licence_id: None,
                            case_id: None,
                            originals_checked: None,
                        },
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Application {
        answers,
        form,
        materials,
        commitment: false,
        handling: None,
    }
}
