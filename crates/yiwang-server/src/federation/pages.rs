//! The pages of 跨域通办: the administrators' page (node, agreements, offers, exchange
//! log), the window's forwarding, the cases across nodes, the public 专区.

use super::*;

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------

/// An offer's modes in the page's language.
fn modes_of(base: &Base, o: &Offer) -> String {
    o.modes.iter().map(|m| base.lang.name(m)).collect::<Vec<_>>().join("、")
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "federation.html")]
struct AdminPage {
    base: Base,
    node: NodeDoc,
    fingerprint: String,
    agreements: Vec<Agreement>,
    offers: Offers,
    log: Vec<LogLine>,
    errors: Vec<FieldError>,
    values: Fields,
}
crate::page!(AdminPage);

impl AdminPage {
    fn val(&self, k: &str) -> String {
        field(&self.values, k).to_string()
    }
    fn rights(&self, a: &Agreement, grantor: &str) -> String {
        let names: Vec<&str> = a
            .terms
            .grants
            .iter()
            .filter(|g| g.grantor == grantor)
            .map(|g| self.base.lang.name(&g.right))
            .collect();
        if names.is_empty() {
            "—".into()
        } else {
            names.join("、")
        }
    }
    fn modes(&self, o: &Offer) -> String {
        modes_of(&self.base, o)
    }
    fn all_rights(&self) -> &'static [Right] {
        Right::ALL
    }
    fn all_modes(&self) -> &'static [Mode] {
        Mode::ALL
    }
}

async fn render_admin(s: &AppState, base: Base, errors: Vec<FieldError>, values: Fields) -> ApiResult<Response> {
    let node = fed::node_doc(&s.store, &s.node).await?;
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        AdminPage {
            base,
            fingerprint: fed::fingerprint(&node.public_key),
            node,
            agreements: fed::agreements(&s.store).await?,
            offers: all_offers(s).await?,
            log: fed::log(&s.store, 50).await?,
            errors,
            values,
        },
    )
        .into_response())
}

pub(super) async fn admin_page(State(s): State<AppState>, base: Base) -> ApiResult<Response> {
    render_admin(&s, base, vec![], vec![]).await
}

fn rights_in(f: &Fields, prefix: &str) -> Vec<Right> {
    f.iter()
        .filter(|(k, _)| k == prefix)
        .filter_map(|(_, v)| Right::parse(v))
        .collect()
}

pub(super) async fn propose_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    let until = field(&f, "valid_until").trim().parse::<chrono::NaiveDate>();
    let limit = ForwardLimit::parse(field(&f, "forward_limit"));
    let (Ok(valid_until), Some(forward_limit)) = (until, limit) else {
        let e = FieldError::new(
            "valid_until",
            "date.format",
            "日期格式应为 YYYY-MM-DD",
            "a date is YYYY-MM-DD",
        );
        return render_admin(&s, base, vec![e], f).await;
    };
    let input = ProposeInput {
        partner_endpoint: field(&f, "partner_endpoint").to_string(),
        grant: rights_in(&f, "grant"),
        ask: rights_in(&f, "ask"),
        items: vec![],
        forward_limit,
        valid_until,
    };
    match propose(&s, &ctx, input).await {
        Ok(_) => Ok(Redirect::to("/work/federation#agreements").into_response()),
        Err(e) => render_admin(&s, base, e.into_field_errors(), f).await,
    }
}

pub(super) async fn decide_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    let r = match action_of(field(&f, "action")) {
        Ok(a) => fed::decide(&s.store, ctx.meta(), &s.node, &id, a, Some(field(&f, "reason")))
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match r {
        Ok(_) => Ok(Redirect::to("/work/federation#agreements").into_response()),
        Err(e) => render_admin(&s, base, e.into_field_errors(), f).await,
    }
}

pub(super) async fn offer_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    let code = field(&f, "item_code").trim().to_string();
    let modes: Vec<Mode> = f
        .iter()
        .filter(|(k, _)| k == "mode")
        .filter_map(|(_, v)| Mode::parse(v))
        .collect();
    let r = if field(&f, "remove") == "1" {
        fed::remove_offer(&s.store, ctx.meta(), &s.node, &code).await
    } else {
        fed::set_offer(&s.store, ctx.meta(), &s.node, &code, modes).await
    };
    match r {
        Ok(_) => Ok(Redirect::to("/work/federation#offers").into_response()),
        Err(e) => render_admin(&s, base, ApiError::from(e).into_field_errors(), f).await,
    }
}

pub(super) async fn retry_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    match fed::retry_envelope(&s.store, ctx.meta(), &id).await {
        Ok(_) => Ok(Redirect::to("/work/federation#log").into_response()),
        Err(e) => render_admin(&s, base, ApiError::from(e).into_field_errors(), vec![]).await,
    }
}

pub(super) async fn rotate_form(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<Response> {
    match fed::rotate_key(&s.store, ctx.meta(), &s.node).await {
        Ok(_) => Ok(Redirect::to("/work/federation#log").into_response()),
        Err(e) => render_admin(&s, base, ApiError::from(e).into_field_errors(), vec![]).await,
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "federation_zone.html")]
struct ZonePage {
    base: Base,
    q: String,
    offers: Offers,
}
crate::page!(ZonePage);

impl ZonePage {
    fn modes(&self, o: &Offer) -> String {
        modes_of(&self.base, o)
    }
    fn online(&self, o: &Offer) -> bool {
        o.modes.contains(&Mode::Online)
    }
    fn guide(&self, o: &Offer) -> String {
        o.detail["guide"].as_str().unwrap_or_default().to_string()
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ZoneQuery {
    #[serde(default)]
    q: String,
}

/// 跨域通办专区: the items partners offer (with the competent node's guide) and this
/// node's own, filtered by words of the name or department.
pub(super) async fn zone_page(
    State(s): State<AppState>,
    base: Base,
    ApiQuery(q): ApiQuery<ZoneQuery>,
) -> ApiResult<Response> {
    let mut offers = all_offers(&s).await?;
    let words: Vec<String> = q.q.split_whitespace().map(str::to_string).collect();
    let hit = |o: &Offer| {
        words
            .iter()
            .all(|w| o.name.contains(w.as_str()) || o.department.contains(w.as_str()))
    };
    offers.own.retain(|o| hit(o));
    offers.partners.retain(|p| hit(&p.offer));
    Ok(ZonePage { base, q: q.q, offers }.into_response())
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "federation_forward.html")]
struct ForwardPage {
    base: Base,
    node: String,
    node_name: String,
    offer: Option<Offer>,
    partners: Vec<PartnerOffer>,
    sample: String,
    errors: Vec<FieldError>,
    values: Fields,
}
crate::page!(ForwardPage);

impl ForwardPage {
    fn val(&self, k: &str) -> String {
        let v = field(&self.values, k);
        if v.is_empty() && k == "application" {
            return self.sample.clone();
        }
        v.to_string()
    }
    fn modes(&self, o: &Offer) -> String {
        modes_of(&self.base, o)
    }
    fn materials(&self) -> Vec<(String, String)> {
        self.offer.as_ref().map(materials_of).unwrap_or_default()
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ForwardQuery {
    #[serde(default)]
    node: String,
    #[serde(default)]
    item: String,
}

async fn render_forward(
    s: &AppState,
    base: Base,
    node: &str,
    item: &str,
    errors: Vec<FieldError>,
    values: Fields,
) -> ApiResult<Response> {
    let partners: Vec<PartnerOffer> = all_offers(s)
        .await?
        .partners
        .into_iter()
        .filter(|p| p.offer.modes.contains(&Mode::Proxy))
        .collect();
    let picked = partners.iter().find(|p| p.node == node && p.offer.item_code == item);
    let sample = picked
        .map(|p| serde_json::to_string_pretty(&p.offer.detail["sample"]).unwrap_or_default())
        .filter(|v| v != "null")
        .unwrap_or_else(|| "{}".into());
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        ForwardPage {
            base,
            node: node.to_string(),
            node_name: picked.map(|p| p.node_name.clone()).unwrap_or_default(),
            offer: picked.map(|p| p.offer.clone()),
            partners,
            sample,
            errors,
            values,
        },
    )
        .into_response())
}

pub(super) async fn forward_page(
    State(s): State<AppState>,
    base: Base,
    ApiQuery(q): ApiQuery<ForwardQuery>,
) -> ApiResult<Response> {
    render_forward(&s, base, &q.node, &q.item, vec![], vec![]).await
}

pub(super) async fn forward_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    let node = field(&f, "node").to_string();
    let item = field(&f, "item_code").to_string();
    let application = match serde_json::from_str::<serde_json::Value>(field(&f, "application")) {
        Ok(v) => v,
        Err(e) => {
            let err = FieldError::new(
                "application",
                "json",
                format!("申请内容不是有效的 JSON：{e}"),
                format!("the application is not valid JSON: {e}"),
            );
            return render_forward(&s, base, &node, &item, vec![err], f).await;
        }
    };
    let input = ForwardInput {
        partner: node.clone(),
        item_code: item.clone(),
        mode: Mode::Proxy,
        applicant: yiwang_core::federation::ForwardedApplicant {
            name: field(&f, "name").trim().to_string(),
            id_number: field(&f, "id_number").trim().to_uppercase(),
            phone: field(&f, "phone").trim().to_string(),
            verified_by: "window".into(),
        },
        application,
        scans: vec![],
        originals_checked: field(&f, "originals_checked") == "1",
        accept_on_behalf: field(&f, "accept_on_behalf") == "1",
    };
    match fed::forward(&s.store, ctx.meta(), &s.node, &taken_by(&ctx), None, input).await {
        Ok(v) => {
            let id = v["id"].as_str().unwrap_or_default();
            Ok(Redirect::to(&format!("/work/federation/cases#c-{id}")).into_response())
        }
        Err(e) => render_forward(&s, base, &node, &item, ApiError::from(e).into_field_errors(), f).await,
    }
}

/// What the competent node's pre-check found, to be told at once (一次性告知).
fn problems_of(base: &Base, c: &CrossingRow) -> Vec<String> {
    c.detail["status"]["problems"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            format!(
                "{}: {}",
                p["field"].as_str().unwrap_or_default(),
                base.lang.pick(
                    p["zh"].as_str().unwrap_or_default(),
                    p["en"].as_str().unwrap_or_default()
                )
            )
        })
        .collect()
}

/// What the pages listing crossing cases show of each: the status the competent node
/// reported, the problems it found, the partner's name.
trait CrossingView: Page {
    fn names(&self) -> &std::collections::HashMap<String, (String, String)>;
    fn status_label(&self, c: &CrossingRow) -> String {
        status_label(self.base(), c)
    }
    fn problems(&self, c: &CrossingRow) -> Vec<String> {
        problems_of(self.base(), c)
    }
    fn partner(&self, c: &CrossingRow) -> String {
        self.names()
            .get(&c.partner)
            .map(|p| p.0.clone())
            .unwrap_or_else(|| c.partner.clone())
    }
    /// The licence the competent node issued, and where to verify it there (its public
    /// verification page checks the signature, the seal and the live status).
    fn licence(&self, c: &CrossingRow) -> Option<(String, String)> {
        let id = c.detail["status"]["licence_id"].as_str()?.to_string();
        let endpoint = self.names().get(&c.partner).map(|p| p.1.clone()).unwrap_or_default();
        let enc: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
        Some((id, format!("{endpoint}/verify?id={enc}")))
    }
}

/// Partner nodes by id: (name, endpoint).
pub(super) async fn partner_names(s: &AppState) -> ApiResult<std::collections::HashMap<String, (String, String)>> {
    Ok(fed::agreements(&s.store)
        .await?
        .into_iter()
        .map(|a| (a.partner, (a.partner_name, a.partner_endpoint)))
        .collect())
}

/// A crossing case's status as the competent node last reported it.
fn status_label(base: &Base, c: &CrossingRow) -> String {
    let st = &c.detail["status"];
    match (st["label_zh"].as_str(), st["label_en"].as_str()) {
        (Some(zh), Some(en)) => base.lang.pick(zh, en).to_string(),
        _ => match c.state.as_str() {
            "forwarded" => base
                .lang
                .pick("已转递，待对方收件", "forwarded, awaiting the partner")
                .into(),
            "received" => base.lang.pick("已收件，待受理", "received, to be accepted").into(),
            "refused" => base
                .lang
                .pick("未能收件，已一次性告知", "not taken, the problems told at once")
                .into(),
            // A case of this node's (the competent side): its own state.
            other => match yiwang_core::cases::State::parse(other) {
                Some(s) => base
                    .lang
                    .pick(yiwang_core::Named::zh(&s), yiwang_core::Named::en(&s))
                    .into(),
                None => other.to_string(),
            },
        },
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "federation_cases.html")]
struct CasesPage {
    base: Base,
    origin: Vec<CrossingRow>,
    competent: Vec<CrossingRow>,
    names: std::collections::HashMap<String, (String, String)>,
    errors: Vec<FieldError>,
}
crate::page!(CasesPage);

impl CrossingView for CasesPage {
    fn names(&self) -> &std::collections::HashMap<String, (String, String)> {
        &self.names
    }
}

impl CasesPage {
    fn forward_by(&self, c: &CrossingRow) -> String {
        c.forward_by.map(|d| d.to_string()).unwrap_or_default()
    }
    /// 全程网办, 异地代收代办 or 多地联办.
    fn mode(&self, c: &CrossingRow) -> String {
        self.base
            .lang
            .pick(yiwang_core::Named::zh(&c.mode), yiwang_core::Named::en(&c.mode))
            .to_string()
    }
}

async fn render_cases(s: &AppState, base: Base, errors: Vec<FieldError>) -> ApiResult<Response> {
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        CasesPage {
            base,
            origin: fed::crossings(&s.store, "origin", 100).await?,
            competent: fed::crossings(&s.store, "competent", 100).await?,
            names: partner_names(s).await?,
            errors,
        },
    )
        .into_response())
}

pub(super) async fn cases_page(State(s): State<AppState>, base: Base) -> ApiResult<Response> {
    render_cases(&s, base, vec![]).await
}

/// 结果送达权: the clerk hands the partner's result over here.
pub(super) async fn hand_over_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    let method = match field(&f, "method") {
        "electronic" => yiwang_core::cases::DeliveryMethod::Electronic,
        _ => yiwang_core::cases::DeliveryMethod::Window,
    };
    match fed::hand_over(&s.store, ctx.meta(), &s.node, &id, method).await {
        Ok(_) => Ok(Redirect::to(&format!("/work/federation/cases#c-{id}")).into_response()),
        Err(e) => render_cases(&s, base, ApiError::from(e).into_field_errors()).await,
    }
}

// ---------------------------------------------------------------------------------------
// 全程网办 across nodes: a person logged in here applies for a partner's item
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "federation_apply.html")]
struct ApplyPage {
    base: Base,
    node: String,
    node_name: String,
    offer: Offer,
    errors: Vec<FieldError>,
    values: Fields,
}
crate::page!(ApplyPage);

/// A field of the partner's form, as the page asks for it.
struct AskField {
    key: String,
    name: String,
    required: bool,
    example: String,
}

impl ApplyPage {
    fn val(&self, k: &str) -> String {
        field(&self.values, &format!("form.{k}")).to_string()
    }
    fn fields(&self) -> Vec<AskField> {
        let d = &self.offer.detail;
        d["fields"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|f| {
                let key = f["key"].as_str().unwrap_or_default().to_string();
                let example = match &d["sample"]["form"][&key] {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    v => v.to_string(),
                };
                AskField {
                    name: f["name"].as_str().unwrap_or(&key).to_string(),
                    required: f["required"].as_bool().unwrap_or(false),
                    key,
                    example,
                }
            })
            .collect()
    }
    /// The materials the item asks for in the situation of the sample's answers (the
    /// partner's pre-check refuses files for materials not needed).
    fn materials(&self) -> Vec<(String, String)> {
        let needed = &self.offer.detail["sample"]["materials"];
        materials_of(&self.offer)
            .into_iter()
            .filter(|(k, _)| needed.get(k).is_some())
            .collect()
    }
}

/// An offer's materials: (key, name).
fn materials_of(o: &Offer) -> Vec<(String, String)> {
    o.detail["materials"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| {
            (
                m["key"].as_str().unwrap_or_default().to_string(),
                m["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn partner_offer(s: &AppState, node: &str, item: &str) -> ApiResult<(String, Offer)> {
    all_offers(s)
        .await?
        .partners
        .into_iter()
        .find(|p| p.node == node && p.offer.item_code == item && p.offer.modes.contains(&Mode::Online))
        .map(|p| (p.node_name, p.offer))
        .ok_or_else(|| ApiError::not_found("跨域通办事项 / offered item"))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ApplyQuery {
    #[serde(default)]
    node: String,
    #[serde(default)]
    item: String,
}

pub(super) async fn apply_page(
    State(s): State<AppState>,
    base: Base,
    ApiQuery(q): ApiQuery<ApplyQuery>,
) -> ApiResult<Response> {
    let (node_name, offer) = partner_offer(&s, &q.node, &q.item).await?;
    Ok(ApplyPage {
        base,
        node: q.node,
        node_name,
        offer,
        errors: vec![],
        values: vec![],
    }
    .into_response())
}

/// The application for a partner's item, sent with this node's signed assertion of the
/// applicant's identity (they logged in here) and the files they uploaded; the use of
/// their data goes into their data-use log first.
pub(super) async fn apply_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    mut mp: axum::extract::Multipart,
) -> ApiResult<Response> {
    let pid = ctx.person_id.clone().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let mut values: Fields = vec![];
    let mut scans = vec![];
    while let Some(f) = mp.next_field().await.map_err(crate::files::upload_broken)? {
        let name = f.name().unwrap_or_default().to_string();
        if let Some(material) = name.strip_prefix("file.") {
            let material = material.to_string();
            let file_name = f.file_name().unwrap_or_default().to_string();
            let bytes = f.bytes().await.map_err(crate::files::upload_broken)?;
            if !bytes.is_empty() {
                scans.push(yiwang_core::federation::Scan {
                    material,
                    name: file_name,
                    content_hex: hex::encode(&bytes),
                });
            }
        } else {
            let v = f.text().await.unwrap_or_default();
            values.push((name, v));
        }
    }
    let node = field(&values, "node").to_string();
    let item = field(&values, "item_code").to_string();
    let (node_name, offer) = partner_offer(&s, &node, &item).await?;
    let mut form = serde_json::Map::new();
    for (k, v) in &values {
        if let Some(key) = k.strip_prefix("form.")
            && !v.trim().is_empty()
        {
            form.insert(key.to_string(), serde_json::Value::String(v.trim().to_string()));
        }
    }
    let application = serde_json::json!({
        "answers": offer.detail["sample"]["answers"].clone(),
        "form": form,
        "materials": {},
    });
    let r = async {
        // The person's data leaves this node: recorded in their data-use log first.
        let applicant = fed::forwarded_applicant(
            &s.store,
            &ctx.meta().actor,
            &pid,
            &node,
            Some(offer.department.clone()),
            |node_name| format!("跨域通办（全程网办）：申请「{}」转递至{node_name}", offer.name),
            true,
        )
        .await?;
        let input = ForwardInput {
            partner: node.clone(),
            item_code: item.clone(),
            mode: Mode::Online,
            applicant,
            application,
            scans,
            originals_checked: false,
            accept_on_behalf: false,
        };
        Ok::<_, ApiError>(
            fed::forward(
                &s.store,
                ctx.meta(),
                &s.node,
                "online",
                Some(format!("person:{pid}")),
                input,
            )
            .await?,
        )
    }
    .await;
    match r {
        Ok(_) => Ok(Redirect::to("/me/federation").into_response()),
        Err(e) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            Ok((
                status,
                ApplyPage {
                    base,
                    node,
                    node_name,
                    offer,
                    errors: e.into_field_errors(),
                    values,
                },
            )
                .into_response())
        }
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "federation_mine.html")]
struct MinePage {
    base: Base,
    cases: Vec<CrossingRow>,
    names: std::collections::HashMap<String, (String, String)>,
}
crate::page!(MinePage);

impl CrossingView for MinePage {
    fn names(&self) -> &std::collections::HashMap<String, (String, String)> {
        &self.names
    }
}

/// The person's applications to other regions, followed here.
pub(super) async fn mine_page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<Response> {
    let pid = ctx.person_id.clone().ok_or_else(|| ApiError::unauthorized("log in"))?;
    Ok(MinePage {
        base,
        cases: fed::crossings_of(&s.store, &format!("person:{pid}")).await?,
        names: partner_names(&s).await?,
    }
    .into_response())
}
