//! Pages: applying.

use super::*;
use crate::pages::Page;

// ---------------------------------------------------------------------------------------
// Pages: applying
// ---------------------------------------------------------------------------------------

/// One form field as the page shows it.
pub(crate) struct FieldView {
    pub(crate) code: String,
    pub(crate) label: String,
    pub(crate) kind: ElementKind,
    pub(crate) options: Vec<String>,
    pub(crate) required: bool,
}

impl FieldView {
    /// The input's type for the element's kind.
    pub(crate) fn input_type(&self) -> &'static str {
        match self.kind {
            ElementKind::Date => "date",
            ElementKind::Integer | ElementKind::Decimal | ElementKind::Money => "number",
            ElementKind::Email => "email",
            ElementKind::Phone => "tel",
            _ => "text",
        }
    }
    /// Chosen from a list (a choice, or yes/no).
    pub(crate) fn is_choice(&self) -> bool {
        self.kind == ElementKind::Choice || self.kind == ElementKind::Boolean
    }
    /// The list: (value, text).
    pub(crate) fn choices(&self, lang: crate::i18n::Lang) -> Vec<(String, String)> {
        if self.kind == ElementKind::Boolean {
            vec![
                ("true".into(), lang.pick("是", "yes").into()),
                ("false".into(), lang.pick("否", "no").into()),
            ]
        } else {
            self.options.iter().map(|o| (o.clone(), o.clone())).collect()
        }
    }
}

/// One material row of the application page.
pub(super) struct MaterialView {
    pub(super) key: String,
    pub(super) name: String,
    pub(super) necessity: Necessity,
    pub(super) tolerable: bool,
    pub(super) promisable: bool,
    /// Licences of the right type the applicant holds: (id, label).
    pub(super) licences: Vec<(String, String)>,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "case_apply.html")]
pub(super) struct ApplyPage {
    pub(super) base: Base,
    pub(super) code: String,
    pub(super) elements: Elements,
    pub(super) answers: BTreeMap<String, String>,
    pub(super) fields: Vec<FieldView>,
    pub(super) materials: Vec<MaterialView>,
    /// What was typed (`form.X`, `how.K`, `licence.K`, `files.K`, `commitment`).
    pub(super) values: BTreeMap<String, String>,
    pub(super) errors: Vec<FieldError>,
    pub(super) draft_id: String,
    pub(super) saved: bool,
    pub(super) logged_in: bool,
    /// At a window: the applicant the clerk serves.
    pub(super) window: Option<WindowApplicant>,
}

/// The applicant a window clerk takes an application for, and how they were looked up.
#[derive(Debug, Clone)]
pub(crate) struct WindowApplicant {
    pub(crate) subject: Subject,
    pub(crate) name: String,
    /// The lookup parameter (`id_number` or `uscc`) and its value, kept across the page.
    pub(crate) lookup: (&'static str, String),
}

crate::page!(ApplyPage);

impl ApplyPage {
    /// Where the form posts and the situation form reloads.
    pub(super) fn post_url(&self) -> String {
        match &self.window {
            Some(_) => "/work/window".into(),
            None => format!("/services/{}/apply", self.code),
        }
    }
    pub(super) fn situation_url(&self) -> String {
        self.post_url()
    }
    /// Hidden inputs that keep the window context (applicant lookup and item).
    pub(super) fn window_hidden(&self) -> Vec<(String, String)> {
        match &self.window {
            Some(w) => vec![
                (w.lookup.0.to_string(), w.lookup.1.clone()),
                ("item".into(), self.code.clone()),
                ("applicant".into(), w.subject.key()),
            ],
            None => vec![],
        }
    }
    pub(super) fn val(&self, k: &str) -> String {
        self.values.get(k).cloned().unwrap_or_default()
    }
    pub(super) fn err(&self, k: &str) -> String {
        self.errors
            .iter()
            .filter(|e| e.field == k)
            .map(|e| self.base.lang.problem(e))
            .collect::<Vec<_>>()
            .join("；")
    }
    pub(super) fn answer(&self, q: &str) -> String {
        self.answers.get(q).cloned().unwrap_or_default()
    }
    pub(super) fn input_type(&self, f: &FieldView) -> &'static str {
        f.input_type()
    }
    pub(super) fn is_choice(&self, f: &FieldView) -> bool {
        f.is_choice()
    }
    pub(super) fn choices(&self, f: &FieldView) -> Vec<(String, String)> {
        f.choices(self.base.lang)
    }
    /// How a material is provided: as chosen, else by a licence the applicant holds
    /// (免提交), else by upload.
    pub(super) fn how(&self, m: &MaterialView) -> String {
        let v = self.val(&format!("how.{}", m.key));
        match v.is_empty() {
            false => v,
            true if !m.licences.is_empty() => "licence".into(),
            true => "files".into(),
        }
    }
    /// What a problem's field is called on this page (its label, material or question);
    /// empty for a problem of the whole application.
    pub(super) fn label_of(&self, field: &str) -> String {
        let (kind, key) = field.split_once('.').unwrap_or((field, ""));
        match kind {
            "form" => self.fields.iter().find(|f| f.code == key).map(|f| f.label.clone()),
            "materials" | "how" | "licence" | "upload" => {
                self.materials.iter().find(|m| m.key == key).map(|m| m.name.clone())
            }
            "answers" => self
                .elements
                .questions
                .iter()
                .find(|q| q.key == key)
                .map(|q| q.text.clone()),
            "commitment" => Some(self.base.lang.pick("告知承诺", "Commitment").to_string()),
            "handling" => Some(self.base.lang.pick("办理项", "Variant").to_string()),
            _ => None,
        }
        .unwrap_or_default()
    }
    /// A line of the error summary: the field's name, then the problem.
    pub(super) fn summary(&self, e: &FieldError) -> String {
        let msg = self.msg(e);
        let label = self.label_of(&e.field);
        if label.is_empty() || msg.contains(&label) {
            msg
        } else {
            format!("{label}{}{msg}", self.base.lang.pick("：", ": "))
        }
    }
    /// The id of the control a problem's field is entered in (the summary links to it).
    pub(super) fn anchor(&self, field: &str) -> String {
        format!("f-{}", field.replace('.', "-"))
    }
    pub(super) fn invalid(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }
    /// The 业务办理项 chosen on the guide (its name), if the item has such variants.
    pub(super) fn handling_name(&self) -> Option<String> {
        let h = self.values.get("handling")?;
        self.elements
            .handling_items
            .iter()
            .find(|x| &x.suffix == h)
            .map(|x| x.name.clone())
    }
    pub(super) fn kept_files(&self, key: &str) -> String {
        self.val(&format!("files.{key}"))
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ApplyQuery {
    pub(super) draft: Option<String>,
    #[serde(flatten)]
    pub(super) rest: BTreeMap<String, String>,
}

/// The fields of a form (an item's, or a bundle's merged one) as the page shows them.
pub(crate) async fn field_views(s: &AppState, form: &[yiwang_core::catalog::FormField]) -> ApiResult<Vec<FieldView>> {
    let dict: BTreeMap<String, DataElement> = yiwang_store::catalog::data_elements(&s.store)
        .await?
        .into_iter()
        .map(|d| (d.code.clone(), d))
        .collect();
    Ok(form
        .iter()
        .map(|f| {
            let d = dict.get(&f.element);
            FieldView {
                code: f.element.clone(),
                label: f
                    .label
                    .clone()
                    .or_else(|| d.map(|d| d.name.clone()))
                    .unwrap_or_else(|| f.element.clone()),
                kind: d.map(|d| d.kind).unwrap_or(ElementKind::Text),
                options: d.map(|d| d.options.clone()).unwrap_or_default(),
                required: f.required,
            }
        })
        .collect())
}

pub(super) async fn material_views(
    s: &AppState,
    holder: Option<Subject>,
    e: &Elements,
    answers: &BTreeMap<String, String>,
) -> ApiResult<Vec<MaterialView>> {
    let sel = yiwang_core::catalog::select_materials(e, answers).ok();
    let held = match holder {
        Some(p) => yiwang_store::licences::of_subject(&s.store, &p).await?,
        None => vec![],
    };
    Ok(e.materials
        .iter()
        .filter(|m| {
            sel.as_ref()
                .is_none_or(|sel| sel.needed.iter().chain(sel.depends.iter()).any(|x| x.key == m.key))
        })
        .map(|m| MaterialView {
            key: m.key.clone(),
            name: m.name.clone(),
            necessity: m.necessity,
            tolerable: m.necessity == Necessity::Tolerated,
            promisable: e.commitment.is_some() && m.kind == yiwang_core::catalog::MaterialKind::Proof,
            licences: held
                .iter()
                .filter(|l| {
                    l.status == yiwang_core::licences::Status::Valid
                        && m.source.licence_type.as_deref() == Some(l.type_code.as_str())
                })
                .map(|l| (l.id.clone(), format!("{} {}", l.type_name, l.number)))
                .collect(),
        })
        .collect())
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn render_apply(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    code: &str,
    answers: BTreeMap<String, String>,
    values: BTreeMap<String, String>,
    errors: Vec<FieldError>,
    draft_id: String,
    saved: bool,
    window: Option<WindowApplicant>,
) -> ApiResult<Response> {
    let service = cases::service_for(&s.store, code).await?;
    let fields = field_views(s, &service.elements.form).await?;
    let holder = match &window {
        Some(w) => Some(w.subject.clone()),
        None => ctx.principal(),
    };
    let materials = material_views(s, holder, &service.elements, &answers).await?;
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        ApplyPage {
            base,
            code: service.code.clone(),
            elements: service.elements,
            answers,
            fields,
            materials,
            values,
            errors,
            draft_id,
            saved,
            logged_in: ctx.principal().is_some() || window.is_some(),
            window,
        },
    )
        .into_response())
}

/// The page's values for an application (for drafts and re-rendering).
pub(super) fn values_of(app: &Application) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    for (k, x) in &app.form {
        v.insert(
            format!("form.{k}"),
            match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
        );
    }
    for (k, p) in &app.materials {
        v.insert(format!("how.{k}"), p.kind.as_str().into());
        if !p.files.is_empty() {
            v.insert(format!("files.{k}"), p.files.join(","));
        }
        if let Some(l) = &p.licence_id {
            v.insert(format!("licence.{k}"), l.clone());
        }
    }
    if app.commitment {
        v.insert("commitment".into(), "on".into());
    }
    if let Some(h) = &app.handling {
        v.insert("handling".into(), h.clone());
    }
    v
}

pub(super) async fn apply_page(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<ApplyQuery>,
    base: Base,
) -> ApiResult<Response> {
    let mut answers = answers_of(&q.rest);
    let mut values = BTreeMap::new();
    if let Some(h) = q.rest.get("handling").filter(|h| !h.is_empty()) {
        values.insert("handling".to_string(), h.clone());
    }
    let mut draft_id = String::new();
    if let (Some(d), Some(subject)) = (q.draft.as_deref(), ctx.principal())
        && let Some((draft, app)) = cases::draft(&s.store, &subject, d).await?
    {
        draft_id = draft.id;
        values = values_of(&app);
        if answers.is_empty() {
            answers = app.answers.clone();
        }
    } else if let Some(subject) = ctx.principal() {
        // Filled in from the profile and from the licences held: asked once, never again.
        let service = cases::service_for(&s.store, &code).await?;
        for (k, v) in cases::prefill(
            &s.store,
            &subject,
            ctx.person_id.as_deref(),
            &service.elements,
            &*cases::dictionary(&s.store).await?,
        )
        .await?
        {
            values.insert(format!("form.{k}"), v);
        }
    }
    render_apply(&s, &ctx, base, &code, answers, values, vec![], draft_id, false, None).await
}

/// Reads the multipart application form: text fields, and one file per material; files
/// are stored (content-addressed) as they arrive, so nothing uploaded is lost when the
/// pre-check sends the form back.
pub(crate) async fn read_application_form(
    s: &AppState,
    ctx: &Ctx,
    mut mp: Multipart,
) -> ApiResult<(BTreeMap<String, String>, Vec<FieldError>)> {
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let mut errors = vec![];
    while let Some(field) = mp.next_field().await.map_err(|e| {
        ApiError::bad_request(FieldError::new(
            "body",
            "multipart",
            format!("表单格式不正确：{e}"),
            format!("malformed form: {e}"),
        ))
    })? {
        let name = field.name().unwrap_or_default().to_string();
        if let Some(key) = name.strip_prefix("upload.") {
            let file_name = field.file_name().unwrap_or_default().to_string();
            let bytes = field.bytes().await.map_err(|e| {
                ApiError::bad_request(FieldError::new(
                    "body",
                    "multipart",
                    format!("表单格式不正确：{e}"),
                    format!("malformed form: {e}"),
                ))
            })?;
            if bytes.is_empty() {
                continue;
            }
            match yiwang_store::files::put(
                &s.store,
                ctx.meta(),
                &file_name,
                &bytes,
                yiwang_store::files::Visibility::Private,
            )
            .await
            {
                Ok(f) => {
                    let k = format!("files.{key}");
                    let mut list: Vec<String> = values
                        .get(&k)
                        .map(|x| x.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect())
                        .unwrap_or_default();
                    if !list.contains(&f.sm3) {
                        list.push(f.sm3);
                    }
                    values.insert(k, list.join(","));
                    values.insert(format!("how.{key}"), "files".into());
                }
                Err(StoreError::Domain(d)) => {
                    errors.extend(d.errors.into_iter().map(|e| e.at(format!("materials.{key}"))));
                }
                Err(e) => return Err(e.into()),
            }
        } else if name != "_csrf" {
            let text = field.text().await.map_err(|e| {
                ApiError::bad_request(FieldError::new(
                    "body",
                    "multipart",
                    format!("表单格式不正确：{e}"),
                    format!("malformed form: {e}"),
                ))
            })?;
            // `files.K` from the page (kept uploads) merge with new ones.
            if let Some(old) = values.get(&name)
                && name.starts_with("files.")
            {
                let merged = format!("{old},{text}");
                values.insert(name, merged);
            } else {
                values.insert(name, text);
            }
        }
    }
    Ok((values, errors))
}

/// Builds an application from the page's values by the item's form and materials.
pub(super) fn application_of(values: &BTreeMap<String, String>, fields: &[FieldView], e: &Elements) -> Application {
    let mut app = Application {
        answers: answers_of(values),
        commitment: values.get("commitment").is_some_and(|v| v == "on" || v == "true"),
        handling: values.get("handling").filter(|h| !h.is_empty()).cloned(),
        form: form_values(values, fields),
        ..Default::default()
    };
    for m in &e.materials {
        if let Some(p) = provision_of(values, &m.key) {
            app.materials.insert(m.key.clone(), p);
        }
    }
    app
}

/// The answers a page's values give (`q.KEY`).
pub(crate) fn answers_of(values: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    values
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("q.").map(|k| (k.to_string(), v.clone())))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// The form values a page's values give (`form.CODE`), typed by each field's element.
pub(crate) fn form_values(values: &BTreeMap<String, String>, fields: &[FieldView]) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for f in fields {
        let Some(v) = values.get(&format!("form.{}", f.code)) else {
            continue;
        };
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        let value = match f.kind {
            ElementKind::Boolean => match v {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(v.into()),
            },
            ElementKind::Integer => v
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(v.into())),
            ElementKind::Decimal | ElementKind::Money => v
                .parse::<f64>()
                .ok()
                .and_then(|x| serde_json::Number::from_f64(x).map(Value::Number))
                .unwrap_or_else(|| Value::String(v.into())),
            _ => Value::String(v.into()),
        };
        out.insert(f.code.clone(), value);
    }
    out
}

/// How the page's values provide the material with this key (`how.K`, `files.K`,
/// `licence.K`, `originals.K`); None when they do not.
pub(crate) fn provision_of(values: &BTreeMap<String, String>, key: &str) -> Option<Provision> {
    let how = values.get(&format!("how.{key}")).map(String::as_str).unwrap_or("files");
    let files: Vec<String> = values
        .get(&format!("files.{key}"))
        .map(|x| {
            let mut v: Vec<String> = x.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect();
            v.dedup();
            v
        })
        .unwrap_or_default();
    let licence = values.get(&format!("licence.{key}")).filter(|x| !x.is_empty()).cloned();
    let bare = |kind| Provision {
        kind,
        files: vec![],
        licence_id: None,
        case_id: None,
        originals_checked: None,
    };
    match ProvisionKind::parse(how) {
        Some(ProvisionKind::Files) if files.is_empty() => None,
        Some(ProvisionKind::Files) => Some(Provision {
            files,
            ..bare(ProvisionKind::Files)
        }),
        Some(ProvisionKind::Licence) => Some(Provision {
            licence_id: licence,
            ..bare(ProvisionKind::Licence)
        }),
        // At a window: the paper is taken, and whether the originals were checked.
        Some(ProvisionKind::Paper) => Some(Provision {
            files,
            originals_checked: Some(values.get(&format!("originals.{key}")).is_some_and(|v| v == "on")),
            ..bare(ProvisionKind::Paper)
        }),
        Some(k @ (ProvisionKind::Tolerated | ProvisionKind::Promised)) => Some(bare(k)),
        _ => None,
    }
}

pub(super) async fn apply_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    base: Base,
    mp: Multipart,
) -> ApiResult<Response> {
    let (values, mut errors) = read_application_form(&s, &ctx, mp).await?;
    let service = cases::service_for(&s.store, &code).await?;
    let fields = field_views(&s, &service.elements.form).await?;
    let app = application_of(&values, &fields, &service.elements);
    let answers = app.answers.clone();
    let draft_id = values.get("draft_id").cloned().unwrap_or_default();
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let intent = values.get("intent").cloned().unwrap_or_default();
    if intent == "draft" {
        let v = cases::save_draft(
            &s.store,
            ctx.meta(),
            subject,
            Some(draft_id.clone()).filter(|d| !d.is_empty()),
            &code,
            app,
        )
        .await?;
        let id = v["draft_id"].as_str().unwrap_or_default().to_string();
        return render_apply(&s, &ctx, base, &code, answers, values, errors, id, true, None).await;
    }
    if errors.is_empty()
        && let Err(e) = check_mandate_covers(&s, &ctx, &code).await
    {
        errors.extend(e.into_field_errors());
    }
    if errors.is_empty() {
        let applicant = applicant_of(&s, &subject).await?;
        // The form carries a one-time key, so a double click makes one case.
        let mut meta = ctx.meta();
        if let Some(k) = values.get("submission_key").filter(|k| !k.is_empty()) {
            meta = meta.with_idempotency(format!("{}:{k}", ctx.ledger_actor()), "apply-form");
        }
        match cases::submit(
            &s.store,
            meta,
            cases::Submission {
                item_code: code.to_string(),
                applicant,
                channel: Channel::Online,
                assisted: ctx.acting_for.is_some(),
                application: app,
                draft_id: Some(draft_id.clone()).filter(|d| !d.is_empty()),
            },
        )
        .await
        {
            Ok(w) => {
                let id = w.value["id"].as_str().unwrap_or_default();
                return Ok(Redirect::to(&format!("/me/cases/{id}?submitted=1")).into_response());
            }
            Err(e) => errors.extend(ApiError::from(e).into_field_errors()),
        }
    }
    render_apply(&s, &ctx, base, &code, answers, values, errors, draft_id, false, None).await
}
