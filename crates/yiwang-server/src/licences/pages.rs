//! Pages: licence types, issuing, wallet.

use super::*;
use crate::pages::Page;

// ---------------------------------------------------------------------------------------
// Pages: licence types and issuing
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "licence_types.html")]
pub(super) struct TypesPage {
    pub(super) base: Base,
    pub(super) types: Vec<(LicenceType, String)>,
    pub(super) departments: Vec<Department>,
    pub(super) elements: Vec<yiwang_core::catalog::DataElement>,
    pub(super) form: TypeForm,
    pub(super) done: Option<String>,
    pub(super) errors: Vec<FieldError>,
}

#[derive(Debug, Default, Clone)]
pub(super) struct TypeForm {
    pub(super) department_id: String,
    pub(super) number: String,
    pub(super) name: String,
    pub(super) holder: String,
    pub(super) validity_kind: String,
    pub(super) validity_value: String,
    pub(super) face: String,
    pub(super) layout: String,
    pub(super) note: String,
}

crate::page!(TypesPage);

impl TypesPage {
    pub(super) fn validity(&self, v: &ValidityRule) -> String {
        match (v, self.base.lang.is_en()) {
            (ValidityRule::Permanent, false) => "长期".into(),
            (ValidityRule::Permanent, true) => "permanent".into(),
            (ValidityRule::Years(n), false) => format!("{n} 年"),
            (ValidityRule::Years(n), true) => format!("{n} years"),
            (ValidityRule::Months(n), false) => format!("{n} 个月"),
            (ValidityRule::Months(n), true) => format!("{n} months"),
        }
    }
    pub(super) fn holder(&self, h: &HolderKind) -> &'static str {
        match h {
            HolderKind::Person => self.base.lang.pick("自然人", "person"),
            HolderKind::Legal => self.base.lang.pick("法人", "legal person"),
        }
    }
    pub(super) fn face(&self, t: &LicenceType) -> String {
        t.face.iter().map(|f| f.element.as_str()).collect::<Vec<_>>().join(", ")
    }
    pub(super) fn dept(&self, id: &str) -> String {
        self.departments
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.name.clone())
            .unwrap_or_default()
    }
}

pub(super) async fn render_types(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    form: TypeForm,
    done: Option<String>,
    errors: Vec<FieldError>,
) -> ApiResult<Response> {
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        TypesPage {
            base,
            types: licences::types(&s.store).await?,
            departments: issuing_departments(s, ctx).await?,
            elements: yiwang_store::catalog::data_elements(&s.store).await?,
            form,
            done,
            errors,
        },
    )
        .into_response())
}

pub(super) async fn types_page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<Response> {
    let form = TypeForm {
        validity_kind: "years".into(),
        validity_value: "5".into(),
        holder: "legal".into(),
        ..Default::default()
    };
    render_types(&s, &ctx, base, form, None, vec![]).await
}

/// Face fields as typed on the page: one per line, `element`, `element|label` or
/// `element|label|required` (or `*element` for required).
pub(super) fn parse_face(text: &str) -> Vec<core::FaceField> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut parts = l.split('|').map(str::trim);
            let first = parts.next().unwrap_or("");
            let (element, star) = match first.strip_prefix('*') {
                Some(e) => (e.trim().to_string(), true),
                None => (first.to_string(), false),
            };
            let label = parts.next().filter(|x| !x.is_empty()).map(str::to_string);
            let required = star || parts.next().is_some_and(|r| r == "required" || r == "必填");
            core::FaceField {
                element,
                label,
                required,
            }
        })
        .collect()
}

pub(super) async fn define_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let mut f = TypeForm::default();
    for (k, v) in form_urlencoded::parse(&body) {
        let v = v.into_owned();
        match &*k {
            "department_id" => f.department_id = v,
            "number" => f.number = v.trim().to_string(),
            "name" => f.name = v,
            "holder" => f.holder = v,
            "validity_kind" => f.validity_kind = v,
            "validity_value" => f.validity_value = v.trim().to_string(),
            "face" => f.face = v,
            "layout" => f.layout = v,
            "note" => f.note = v,
            _ => {}
        }
    }
    let mut errors = vec![];
    let dept = match department(&s, &f.department_id).await {
        Ok(d) => Some(d),
        Err(e) => {
            errors.extend(e.into_field_errors());
            None
        }
    };
    let n = f.validity_value.parse::<u32>();
    let validity = match (f.validity_kind.as_str(), n) {
        ("permanent", _) => ValidityRule::Permanent,
        ("years", Ok(n)) => ValidityRule::Years(n),
        ("months", Ok(n)) => ValidityRule::Months(n),
        _ => {
            errors.push(FieldError::new(
                "validity",
                "type",
                "有效期应为整数年或月，或长期",
                "the validity is a whole number of years or months, or permanent",
            ));
            ValidityRule::Permanent
        }
    };
    if !(f.number.len() == 3 && f.number.bytes().all(|b| b.is_ascii_digit())) {
        errors.push(FieldError::new(
            "number",
            "licence_type.number",
            "类型序号为 3 位数字",
            "the type number has 3 digits",
        ));
    }
    let Some(dept) = dept.filter(|_| errors.is_empty()) else {
        return render_types(&s, &ctx, base, f, None, errors).await;
    };
    let t = LicenceType {
        code: format!("{}{}", dept.uscc, f.number),
        name: f.name.trim().to_string(),
        holder: HolderKind::parse(&f.holder).unwrap_or(HolderKind::Legal),
        validity,
        face: parse_face(&f.face),
        layout: if f.layout == "portrait" {
            Layout::Portrait
        } else {
            Layout::Certificate
        },
        note: Some(f.note.trim().to_string()).filter(|n| !n.is_empty()),
    };
    let name = t.name.clone();
    match define(&s, &ctx, dept.id.clone(), t).await {
        Ok(_) => render_types(&s, &ctx, base, TypeForm::default(), Some(name), vec![]).await,
        Err(e) => render_types(&s, &ctx, base, f, None, e.into_field_errors()).await,
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "licences.html")]
pub(super) struct LicencesPage {
    pub(super) base: Base,
    pub(super) issued: Vec<LicenceSummary>,
    pub(super) types: Vec<(LicenceType, String)>,
    pub(super) departments: Vec<Department>,
    /// The type whose issuing form is shown.
    pub(super) chosen: Option<LicenceType>,
    pub(super) labels: Vec<(String, String, bool)>,
    pub(super) form: BTreeMap<String, String>,
    pub(super) done: Option<Value>,
    pub(super) errors: Vec<FieldError>,
}

crate::page!(LicencesPage);

impl LicencesPage {
    pub(super) fn val(&self, k: &str) -> String {
        self.form.get(k).cloned().unwrap_or_default()
    }
    /// The holder already holds a valid licence of this kind: issuing asks to confirm.
    pub(super) fn duplicate(&self) -> bool {
        self.errors.iter().any(|e| e.rule == "licence.duplicate")
    }
    pub(super) fn err(&self, k: &str) -> String {
        self.errors
            .iter()
            .filter(|e| e.field == k || e.field == format!("face.{k}"))
            .map(|e| self.base.lang.problem(e))
            .collect::<Vec<_>>()
            .join("；")
    }
    pub(super) fn done_id(&self) -> String {
        self.done
            .as_ref()
            .and_then(|d| d["id"].as_str())
            .unwrap_or("")
            .to_string()
    }
    pub(super) fn holder_label(&self) -> &'static str {
        match self.chosen.as_ref().map(|t| t.holder) {
            Some(HolderKind::Person) => self.base.lang.pick("公民身份号码", "Resident ID number"),
            _ => self.base.lang.pick("统一社会信用代码", "Unified social credit code"),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct LicencesQuery {
    #[serde(rename = "type")]
    pub(super) licence_type: Option<String>,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn render_licences(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    type_code: Option<&str>,
    form: BTreeMap<String, String>,
    done: Option<Value>,
    errors: Vec<FieldError>,
) -> ApiResult<Response> {
    let chosen = match type_code.filter(|c| !c.is_empty()) {
        Some(c) => licences::licence_type(&s.store, c).await?,
        None => None,
    };
    let dict = yiwang_store::catalog::data_elements(&s.store).await?;
    let labels = chosen
        .as_ref()
        .map(|t| {
            face_labels(Some(t), &dict)
                .into_iter()
                .zip(t.face.iter())
                .map(|((code, label), f)| (code, label, f.required))
                .collect()
        })
        .unwrap_or_default();
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        LicencesPage {
            base,
            issued: issued(s, ctx, None).await?,
            types: licences::types(&s.store).await?,
            departments: issuing_departments(s, ctx).await?,
            chosen,
            labels,
            form,
            done,
            errors,
        },
    )
        .into_response())
}

pub(super) async fn licences_page(
    State(s): State<AppState>,
    ctx: Ctx,
    Query(q): Query<LicencesQuery>,
    base: Base,
) -> ApiResult<Response> {
    render_licences(&s, &ctx, base, q.licence_type.as_deref(), BTreeMap::new(), None, vec![]).await
}

pub(super) async fn issue_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k != "_csrf")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let type_code = get("type_code");
    let mut errors = vec![];
    let valid_from = match get("valid_from").trim() {
        "" => None,
        v => match v.parse() {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError::new(
                    "valid_from",
                    "date",
                    "日期格式为 YYYY-MM-DD",
                    "a date is YYYY-MM-DD",
                ));
                None
            }
        },
    };
    // A second valid licence of the same kind for the same holder is issued only when the
    // officer confirms it (重复发证).
    if !form.contains_key("confirm_duplicate")
        && let Some((t, _)) = yiwang_store::licences::types(&s.store)
            .await?
            .into_iter()
            .find(|(t, _)| t.code == type_code)
    {
        for l in yiwang_store::licences::duplicates(&s.store, &type_code, t.holder, &get("holder_code")).await? {
            errors.push(FieldError::new(
                "holder_code",
                "licence.duplicate",
                format!(
                    "该持证主体已持有有效的「{}」（编号 {}）；确需再签发一份，请勾选下方确认后重新提交",
                    l.type_name, l.number
                ),
                format!(
                    "this holder already holds a valid {} (number {}); to issue another, tick the confirmation below and submit again",
                    l.type_name, l.number
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return render_licences(&s, &ctx, base, Some(&type_code), form, None, errors).await;
    }
    let input = IssueInput {
        type_code: type_code.clone(),
        department_id: get("department_id"),
        holder_name: get("holder_name"),
        holder_code: get("holder_code"),
        face: form
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("face.").map(|k| (k.to_string(), v.clone())))
            .collect(),
        valid_from,
        number: Some(get("number")).filter(|n| !n.trim().is_empty()),
        related_item: Some(get("related_item")).filter(|n| !n.trim().is_empty()),
        case_id: None,
    };
    match issue(&s, &ctx, input).await {
        Ok(v) => render_licences(&s, &ctx, base, Some(&type_code), BTreeMap::new(), Some(v), vec![]).await,
        Err(e) => render_licences(&s, &ctx, base, Some(&type_code), form, None, e.into_field_errors()).await,
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "licence.html")]
pub(super) struct LicencePage {
    pub(super) base: Base,
    pub(super) sum: LicenceSummary,
    pub(super) face: String,
    pub(super) history: Vec<HistoryEntry>,
    pub(super) grants: Vec<Grant>,
    pub(super) statuses: Vec<Status>,
    /// Issuer's view (status forms) or the holder's (wallet: presentation, grants).
    pub(super) issuer: bool,
    pub(super) departments: Vec<Department>,
    pub(super) errors: Vec<FieldError>,
}

crate::page!(LicencePage);

impl LicencePage {
    pub(super) fn kind(&self, h: &HistoryEntry) -> &'static str {
        match h.kind.as_str() {
            "issued" => self.base.lang.pick("核发", "issued"),
            "annotation" => self.base.lang.pick("加注", "annotation"),
            _ => self.base.lang.pick("状态变更", "status"),
        }
    }
    pub(super) fn active(&self, g: &Grant) -> bool {
        g.revoked_at_ms.is_none() && g.valid_until_ms > yiwang_store::now_ms()
    }
    pub(super) fn valid(&self) -> bool {
        self.sum.status == Status::Valid
    }
    pub(super) fn pdf_url(&self) -> String {
        if self.issuer {
            format!("/licences/{}/pdf", self.sum.id)
        } else {
            format!("/wallet/{}/pdf", self.sum.id)
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn render_licence(
    s: &AppState,
    base: Base,
    sum: LicenceSummary,
    file: LicenceFile,
    issuer: bool,
    errors: Vec<FieldError>,
) -> ApiResult<Response> {
    let face = face_svg(s, &sum, &file).await?;
    let status = crate::pages::form_status(&errors);
    let departments = if issuer {
        vec![]
    } else {
        yiwang_store::orgs::departments(&s.store.read, None).await?
    };
    Ok((
        status,
        LicencePage {
            base,
            history: licences::history_of(&s.store, &sum.id).await?,
            grants: licences::grants_of(&s.store, &sum.id).await?,
            statuses: Status::ALL.to_vec(),
            face,
            sum,
            issuer,
            departments,
            errors,
        },
    )
        .into_response())
}

pub(super) async fn licence_page(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    base: Base,
) -> ApiResult<Response> {
    let sum = summary(&s, &id).await?;
    let file = staff_file(&s, &ctx, &id, "证照管理：查看已颁发的证照").await?;
    render_licence(&s, base, sum, file, true, vec![]).await
}

pub(super) async fn after_issuer_change(
    s: AppState,
    ctx: Ctx,
    id: String,
    r: ApiResult<Value>,
    base: Base,
) -> ApiResult<Response> {
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/licences/{id}")).into_response()),
        Err(e) => {
            let sum = summary(&s, &id).await?;
            let file = staff_file(&s, &ctx, &id, "证照管理：变更证照").await?;
            render_licence(&s, base, sum, file, true, e.into_field_errors()).await
        }
    }
}

pub(super) async fn status_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    base: Base,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let mut to = None;
    let mut reason = String::new();
    for (k, v) in form_urlencoded::parse(&body) {
        match &*k {
            "status" => to = Status::parse(&v),
            "reason" => reason = v.into_owned(),
            _ => {}
        }
    }
    let Some(to) = to else {
        let e = domain(DomainError::invalid(vec![FieldError::new(
            "status",
            "enum",
            "请选择新的状态",
            "choose the new status",
        )]));
        return after_issuer_change(s, ctx, id, Err(e), base).await;
    };
    let r = run(
        &s,
        &ctx,
        licences::Cmd::ChangeStatus {
            licence_id: id.clone(),
            to,
            reason,
        },
    )
    .await;
    after_issuer_change(s, ctx, id, r, base).await
}

pub(super) async fn annotate_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    base: Base,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let text = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "text")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let r = run(
        &s,
        &ctx,
        licences::Cmd::Annotate {
            licence_id: id.clone(),
            text,
        },
    )
    .await;
    after_issuer_change(s, ctx, id, r, base).await
}

// ---------------------------------------------------------------------------------------
// Pages: wallet
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "wallet.html")]
pub(super) struct WalletPage {
    pub(super) base: Base,
    pub(super) licences: Vec<LicenceSummary>,
}

crate::page!(WalletPage);

impl WalletPage {
    pub(super) fn valid(&self, l: &LicenceSummary) -> bool {
        l.status == Status::Valid
    }
}

pub(super) async fn wallet_page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<Response> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    Ok(WalletPage {
        base,
        licences: licences::of_subject(&s.store, &subject).await?,
    }
    .into_response())
}

pub(super) async fn wallet_licence(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    id: &str,
    errors: Vec<FieldError>,
) -> ApiResult<Response> {
    let sum = held(s, ctx, id).await?;
    let file = holder_file(s, id).await?;
    render_licence(s, base, sum, file, false, errors).await
}

pub(super) async fn wallet_licence_page(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    base: Base,
) -> ApiResult<Response> {
    wallet_licence(&s, &ctx, base, &id, vec![]).await
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "present.html")]
pub(super) struct PresentPage {
    pub(super) base: Base,
    pub(super) sum: LicenceSummary,
    pub(super) qr: String,
    pub(super) url: String,
    pub(super) until: String,
}

pub(super) async fn present_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    base: Base,
) -> ApiResult<Response> {
    match present(&s, &ctx, &id).await {
        Ok(p) => {
            let sum = held(&s, &ctx, &id).await?;
            Ok(PresentPage {
                base,
                qr: yiwang_docs::qr_svg(&p.url),
                until: china_time(p.valid_until_ms),
                url: p.url,
                sum,
            }
            .into_response())
        }
        Err(e) => wallet_licence(&s, &ctx, base, &id, e.into_field_errors()).await,
    }
}

pub(super) async fn grant_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    base: Base,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let mut b = GrantBody {
        department_id: String::new(),
        item_code: None,
        purpose: String::new(),
        days: 0,
    };
    let mut errors = vec![];
    for (k, v) in form_urlencoded::parse(&body) {
        match &*k {
            "department_id" => b.department_id = v.into_owned(),
            "item_code" => b.item_code = Some(v.trim().to_string()),
            "purpose" => b.purpose = v.into_owned(),
            "days" => match v.trim().parse() {
                Ok(n) => b.days = n,
                Err(_) => errors.push(FieldError::new(
                    "days",
                    "type",
                    "授权天数应为整数",
                    "the days are a whole number",
                )),
            },
            _ => {}
        }
    }
    // The service by its name (or code) among the chosen department's services.
    if let Some(text) = b.item_code.clone().filter(|t| !t.is_empty()) {
        let department = yiwang_store::orgs::department(&s.store.read, &b.department_id)
            .await?
            .map(|d| d.name);
        match crate::catalog::resolve_item(&s, &text, department, |_| async { true }).await? {
            Ok(code) => b.item_code = Some(code),
            Err(hits) if hits.is_empty() => errors.push(FieldError::new(
                "item_code",
                "not_found",
                format!("所选部门没有与「{text}」相符的服务"),
                format!("the department has no service matching “{text}”"),
            )),
            Err(hits) => {
                let names: Vec<String> = hits.iter().take(5).map(|h| h.name.clone()).collect();
                errors.push(FieldError::new(
                    "item_code",
                    "ambiguous",
                    format!("有多个服务与「{text}」相符：{}；请写出完整名称", names.join("、")),
                    format!(
                        "several services match “{text}”: {}; write the whole name",
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    if errors.is_empty() {
        match grant(&s, &ctx, &id, b).await {
            Ok(_) => return Ok(Redirect::to(&format!("/wallet/{id}")).into_response()),
            Err(e) => errors = e.into_field_errors(),
        }
    }
    wallet_licence(&s, &ctx, base, &id, errors).await
}

pub(super) async fn revoke_grant_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(grant_id): Path<String>,
) -> ApiResult<Response> {
    let g = licences::grant_by_id(&s.store, &grant_id)
        .await?
        .ok_or_else(|| ApiError::not_found("grant"))?;
    run(
        &s,
        &ctx,
        licences::Cmd::RevokeGrant {
            grant_id,
            by: ctx.ledger_actor(),
        },
    )
    .await?;
    Ok(Redirect::to(&format!("/wallet/{}", g.licence_id)).into_response())
}
