//! 一次一评 at the counter (国办发〔2019〕51号: every visit can be rated where it happens): the
//! window clerk who served a case opens a rating for it on the counter's tablet, or for the
//! person's phone by its QR code. No login: the rating is bound to that case and that clerk
//! by a random token (only its SM3 kept), valid for `pad_minutes` and usable once. The
//! department and the clerk are rated; the rater is the case's applicant.

use super::*;

/// An open counter rating as the tablet shows it.
#[derive(Debug, Clone)]
pub struct Pad {
    pub case_id: String,
    pub item_name: String,
    /// The clerk's account (`account:…`).
    pub clerk: String,
    /// The hall and window the clerk serves at, if they named it.
    pub hall_id: Option<String>,
    pub window_id: Option<String>,
    pub stage: Stage,
    pub expires_at: i64,
}

/// A window a clerk may name when opening a counter rating, with its hall.
#[derive(Debug, Clone, Serialize)]
pub struct PadWindow {
    pub id: String,
    pub number: String,
    pub name: String,
    pub hall_id: String,
    pub hall_name: String,
}

/// The windows where a case of this department can be served: 综合窗口 (no department) and
/// the department's own, in the halls of its region, of the regions above it or below it
/// (a province's department is served in every city's hall). Ordered by hall and number.
pub async fn pad_windows(store: &Store, department_id: &str) -> Result<Vec<PadWindow>> {
    let Some(d) = crate::refdata::department(store, department_id).await? else {
        return Ok(vec![]);
    };
    let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT w.id, w.number, w.name, h.id, h.name, h.region_code FROM windows w JOIN halls h ON h.id = w.hall_id
         WHERE w.department_id IS NULL OR w.department_id = $1 ORDER BY h.name, h.id, w.number",
    )
    .bind(department_id)
    .fetch_all(&store.read)
    .await?;
    use yiwang_core::access::region_within;
    Ok(rows
        .into_iter()
        .filter(|(.., region)| region_within(region, &d.region_code) || region_within(&d.region_code, region))
        .map(|(id, number, name, hall_id, hall_name, _)| PadWindow {
            id,
            number,
            name,
            hall_id,
            hall_name,
        })
        .collect())
}

fn token_hash(token: &str) -> String {
    hex::encode(yiwang_crypto::sm3(token.as_bytes()))
}

fn unknown() -> StoreError {
    pad_error(
        "rating.pad_unknown",
        "评价码无效，请向窗口工作人员重新获取",
        "this rating link is not valid; ask the clerk for a new one",
    )
}

fn used() -> StoreError {
    pad_error(
        "rating.pad_used",
        "此次服务已评价，感谢您的评价",
        "this visit has been rated already; thank you",
    )
}

fn expired() -> StoreError {
    pad_error(
        "rating.pad_expired",
        "评价码已过期，请向窗口工作人员重新获取",
        "this rating link has expired; ask the clerk for a new one",
    )
}

fn pad_error(rule: &str, zh: &str, en: &str) -> StoreError {
    let kind = if rule == "rating.pad_unknown" {
        ErrorKind::NotFound
    } else {
        ErrorKind::Conflict
    };
    DomainError::one(kind, yiwang_core::FieldError::new("token", rule, zh, en)).into()
}

/// The clerk opens a counter rating for a case they may handle (the server checked it);
/// returns the token for the tablet's address and when it expires. Refused if the case may
/// not be rated on site now.
/// `window_id`, if given, is where the clerk serves: one of [`pad_windows`] of the case's
/// department, or the request is refused on that field.
pub async fn open_pad(
    store: &Store,
    meta: Meta,
    case_id: &str,
    clerk: &str,
    window_id: Option<&str>,
) -> Result<(String, i64)> {
    let row = crate::cases::case(store, case_id)
        .await?
        .ok_or_else(|| not_found(case_id))?;
    let window = match window_id.filter(|w| !w.is_empty()) {
        None => None,
        Some(w) => Some(
            pad_windows(store, &row.department_id)
                .await?
                .into_iter()
                .find(|x| x.id == w)
                .ok_or_else(|| {
                    StoreError::from(DomainError::one(
                        ErrorKind::Invalid,
                        yiwang_core::FieldError::new(
                            "window_id",
                            "rating.pad_window",
                            "窗口不存在，或不办理该部门的事项",
                            "no such window, or it does not serve this department",
                        ),
                    ))
                })?,
        ),
    };
    let stage = core::on_site_stage(row.state);
    let done = rated(store, case_id).await?;
    core::may_rate(Channel::OnSite, stage, row.state, row.accepted_on, false, &done)?;
    let token = hex::encode(rand::random::<[u8; 16]>());
    let expires_at = crate::now_ms() + i64::from(store.config.ratings.pad_minutes) * 60_000;
    store
        .write(
            meta,
            Command::Ratings(Box::new(Cmd::OpenPad(OpenPad {
                token_hash: token_hash(&token),
                case_id: case_id.to_string(),
                clerk: clerk.to_string(),
                hall_id: window.as_ref().map(|w| w.hall_id.clone()),
                window_id: window.map(|w| w.id),
                expires_at,
            }))),
        )
        .await?;
    Ok((token, expires_at))
}

pub(super) async fn open_pad_cmd(ctx: &mut WriteCtx<'_>, p: &OpenPad) -> Result<Value> {
    let OpenPad {
        token_hash,
        case_id,
        clerk,
        hall_id,
        window_id,
        expires_at,
    } = p;
    ctx.append(
        &format!("rating_pad:{case_id}"),
        Expect::Any,
        "rating.pad_opened",
        &json!({ "case_id": case_id, "clerk": clerk, "hall_id": hall_id, "window_id": window_id,
                 "expires_at": expires_at }),
    )
    .await?;
    sqlx::query(
        "INSERT INTO rating_pads (token_hash, case_id, clerk, hall_id, window_id, expires_at, used_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)",
    )
    .bind(token_hash)
    .bind(case_id)
    .bind(clerk)
    .bind(hall_id)
    .bind(window_id)
    .bind(expires_at)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(json!({ "case_id": case_id, "expires_at": expires_at }))
}

/// The counter rating a token opens: unknown (forged) → not found; used or expired →
/// conflict, each with its rule.
pub async fn pad(store: &Store, token: &str) -> Result<Pad> {
    type Row = (String, String, Option<String>, Option<String>, i64, Option<i64>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT case_id, clerk, hall_id, window_id, expires_at, used_at FROM rating_pads WHERE token_hash = $1",
    )
    .bind(token_hash(token))
    .fetch_optional(&store.read)
    .await?;
    let Some((case_id, clerk, hall_id, window_id, expires_at, used_at)) = row else {
        return Err(unknown());
    };
    if used_at.is_some() {
        return Err(used());
    }
    if crate::now_ms() > expires_at {
        return Err(expired());
    }
    let case = crate::cases::case(store, &case_id)
        .await?
        .ok_or_else(|| not_found(&case_id))?;
    Ok(Pad {
        stage: core::on_site_stage(case.state),
        item_name: case.item_name,
        case_id,
        clerk,
        hall_id,
        window_id,
        expires_at,
    })
}

/// Rates the visit a token opens (channel 现场, the clerk named), once.
pub async fn rate_pad(store: &Store, token: &str, input: RatingInput) -> Result<Written> {
    let p = pad(store, token).await?;
    let row = crate::cases::case(store, &p.case_id)
        .await?
        .ok_or_else(|| not_found(&p.case_id))?;
    let (version, options) = options(store).await?;
    core::check_rating(Channel::OnSite, &input, &options)?;
    let done = rated(store, &row.id).await?;
    core::may_rate(Channel::OnSite, p.stage, row.state, row.accepted_on, false, &done)?;
    let rater = Subject::parse(&row.applicant).ok_or_else(|| internal("a case without its applicant"))?;
    let kind = rater_type(&rater);
    let mut rating = rating_of(
        &row,
        Channel::OnSite,
        p.stage,
        input,
        version,
        kind,
        Some(p.clerk.clone()),
        crate::today(),
    );
    rating.hall_id = p.hall_id.clone();
    rating.window_id = p.window_id.clone();
    let by = format!("pad:{}", p.clerk);
    store_rating(
        store,
        Meta::actor(by.clone()),
        rating,
        &rater,
        by,
        Some(token_hash(token)),
    )
    .await
}

/// Inside the writer, before the rating is stored: the token is still unused and valid.
pub(super) async fn take_pad(ctx: &mut WriteCtx<'_>, hash: &str) -> Result<()> {
    let row: Option<(i64, Option<i64>)> =
        sqlx::query_as("SELECT expires_at, used_at FROM rating_pads WHERE token_hash = $1")
            .bind(hash)
            .fetch_optional(&mut *ctx.conn)
            .await?;
    match row {
        Some((exp, None)) if exp >= ctx.now_ms => Ok(()),
        Some((_, Some(_))) => Err(used()),
        Some(_) => Err(expired()),
        None => Err(unknown()),
    }
}

/// Marks a token used (after the rating's first event).
pub(super) async fn use_pad(ctx: &mut WriteCtx<'_>, hash: &str) -> Result<()> {
    sqlx::query("UPDATE rating_pads SET used_at = $1 WHERE token_hash = $2")
        .bind(ctx.now_ms)
        .bind(hash)
        .execute(&mut *ctx.conn)
        .await?;
    Ok(())
}

/// May the clerk open a counter rating for this case now?
/// `done`: the channels and stages the case was rated at (`rated_at`).
pub fn pad_possible(row: &CaseRow, done: &[(Channel, Stage)]) -> bool {
    let stage = core::on_site_stage(row.state);
    core::may_rate(Channel::OnSite, stage, row.state, row.accepted_on, false, done).is_ok()
}
