//! Notices as PDF.

use super::*;
use crate::pages::Page;

// ---------------------------------------------------------------------------------------
// Notices as PDF
// ---------------------------------------------------------------------------------------

pub(super) fn date_zh(ms: i64) -> String {
    let d = yiwang_store::date_of(ms);
    format!("{}年{}月{}日", d.format("%Y"), d.format("%-m"), d.format("%-d"))
}

/// A notice's text. An approval names the licence issued with it (`licence`: its type,
/// number and validity), each in a row of its own so no line is stretched around a long
/// identifier.
pub(super) fn notice_page(
    n: &Notice,
    licence: Option<&yiwang_store::licences::LicenceSummary>,
) -> yiwang_docs::NoticePage {
    let b = &n.body;
    let str_of = |k: &str| b[k].as_str().unwrap_or("").to_string();
    let mut paragraphs = vec![];
    let mut items = vec![];
    let item = str_of("item_name");
    match n.kind {
        // 一件事: one receipt for every member (国办发〔2025〕24号 一次收件、并联办理).
        NoticeKind::Receipt if b["bundle"].as_bool() == Some(true) => {
            paragraphs.push(format!(
                "你（单位）申请办理「{item}」一件事的材料已于 {} 一次收到。以下各事项由主管部门并联办理，前序事项的结果自动作为后续事项的材料，承诺自收件之日起 {} 个工作日内全部办结。",
                str_of("received_on"),
                b["promised_days"].as_i64().unwrap_or_default()
            ));
            for m in b["members"].as_array().into_iter().flatten() {
                let name = format!(
                    "{}（{}）",
                    m["item_name"].as_str().unwrap_or(""),
                    m["department"].as_str().unwrap_or("")
                );
                let state = match m["case_id"].as_str() {
                    Some(id) => format!("办件编号 {id}"),
                    None => {
                        let after: Vec<&str> = m["after"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|x| x.as_str())
                            .collect();
                        format!("待「{}」准予后自动启动", after.join("」「"))
                    }
                };
                items.push((name, state));
            }
        }
        // 一件事: one acceptance notice once every started member is accepted (一窗受理).
        NoticeKind::Acceptance if b["bundle"].as_bool() == Some(true) => {
            paragraphs.push(format!(
                "你（单位）申请办理「{item}」一件事，经各主管部门审查，下列事项已依照《中华人民共和国行政许可法》第三十二条予以受理，由各部门并联办理，承诺于 {} 前全部办结（{} 个工作日，自收件之日起算）。",
                str_of("due_on"),
                b["promised_days"].as_i64().unwrap_or_default()
            ));
            for m in b["members"].as_array().into_iter().flatten() {
                let s = |k: &str| m[k].as_str().unwrap_or("");
                let name = format!("{}（{}）", s("item_name"), s("department"));
                let how = match s("status") {
                    "accepted" => "已受理",
                    "tolerance" => "容缺受理",
                    "commitment" => "告知承诺受理",
                    "cancelled" => "不再办理",
                    "waiting" => "",
                    other => yiwang_core::cases::State::parse(other).map_or(other, |x| x.zh()),
                };
                let state = match (s("status"), s("case_id")) {
                    ("waiting", _) => {
                        let after: Vec<&str> = m["after"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|x| x.as_str())
                            .collect();
                        format!("待「{}」准予后自动启动", after.join("」「"))
                    }
                    (_, id) if !s("due_on").is_empty() => {
                        format!(
                            "{how}，办件编号 {id}，受理日期 {}，承诺办结 {}",
                            s("accepted_on"),
                            s("due_on")
                        )
                    }
                    (_, "") => how.to_string(),
                    (_, id) => format!("{how}，办件编号 {id}"),
                };
                items.push((name, state));
            }
        }
        NoticeKind::Receipt => {
            paragraphs.push(format!(
                "你（单位）申请办理「{item}」的材料已于 {} 收到。本机关将依照《中华人民共和国行政许可法》第三十二条在 5 个工作日内作出是否受理的决定，逾期未告知补正的，自收到申请材料之日起即为受理。",
                str_of("received_on")
            ));
            for m in b["materials"].as_array().into_iter().flatten() {
                items.push((
                    m["name"].as_str().unwrap_or("").to_string(),
                    ProvisionKind::parse(m["how"].as_str().unwrap_or(""))
                        .map(|p| p.zh().to_string())
                        .unwrap_or_default(),
                ));
            }
        }
        NoticeKind::Acceptance | NoticeKind::Tolerance => {
            paragraphs.push(format!(
                "你（单位）提出的「{item}」申请，经审查，申请事项属于本机关职权范围，申请材料{}，根据《中华人民共和国行政许可法》第三十二条，决定予以受理。",
                if n.kind == NoticeKind::Tolerance { "主要材料齐全、符合法定形式，次要材料容缺后补" } else { "齐全、符合法定形式" }
            ));
            if b["deemed"].as_bool() == Some(true) {
                paragraphs.push("本机关未在法定期限内告知补正，依法自收到申请材料之日起视为受理。".into());
            }
            let due = str_of("due_on");
            if !due.is_empty() {
                paragraphs.push(format!(
                    "受理日期 {}，承诺办结日期 {due}（按工作日计算，特别程序时间不计入）。",
                    str_of("accepted_on")
                ));
            }
            for m in b["missing"].as_array().into_iter().flatten() {
                items.push((
                    m["name"].as_str().unwrap_or("").to_string(),
                    format!("请于 {} 前补交", m["due_on"].as_str().unwrap_or("承诺期限内")),
                ));
            }
            if !items.is_empty() {
                paragraphs
                    .push("下列材料容缺受理，补齐后方可作出决定；逾期未补交的，将依法终止办理并记入信用记录：".into());
            }
        }
        NoticeKind::NonAcceptance => {
            paragraphs.push(format!(
                "你（单位）提出的「{item}」申请，经审查，决定不予受理。理由：{}。依据：{}。",
                str_of("reason"),
                str_of("basis")
            ));
            paragraphs.push(str_of("remedy"));
        }
        NoticeKind::Correction => {
            paragraphs.push(format!(
                "你（单位）提出的「{item}」申请，材料不齐全或者不符合法定形式。根据《中华人民共和国行政许可法》第三十二条，现一次性告知需补正的全部内容如下，请补正后重新提交："
            ));
            for it in b["items"].as_array().into_iter().flatten() {
                items.push((
                    it["target"].as_str().unwrap_or("").to_string(),
                    it["problem"].as_str().unwrap_or("").to_string(),
                ));
            }
        }
        NoticeKind::Special => {
            paragraphs.push(format!(
                "你（单位）申请的「{item}」需要进行{}，理由：{}。根据《中华人民共和国行政许可法》第四十五条，所需时间不计算在办理期限内。自 {} 起计。",
                str_of("kind_zh"),
                str_of("reason"),
                str_of("from_on")
            ));
        }
        NoticeKind::Approval => {
            paragraphs.push(format!(
                "你（单位）提出的「{item}」申请，经审查，符合法定条件、标准，根据《中华人民共和国行政许可法》第三十八条，决定准予行政许可。"
            ));
            if let Some(l) = licence {
                paragraphs.push("电子证照已签发，并已送达你的电子证照夹：".into());
                items.push(("证照名称".into(), l.type_name.clone()));
                items.push(("证照编号".into(), l.number.clone()));
                items.push((
                    "有效期".into(),
                    match &l.valid_until {
                        Some(u) => format!("{} 至 {u}", l.issued_on),
                        None => format!("{} 起长期有效", l.issued_on),
                    },
                ));
                items.push(("证照标识".into(), l.id.clone()));
            }
        }
        NoticeKind::Denial => {
            paragraphs.push(format!(
                "你（单位）提出的「{item}」申请，经审查，决定不予行政许可。理由：{}。",
                str_of("reason")
            ));
            paragraphs.push(str_of("remedy"));
        }
    }
    yiwang_docs::NoticePage {
        department: str_of("department"),
        title: n.kind.zh().into(),
        // Notices made before document numbers: the case and the kind.
        doc_no: b["doc_no"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{} · {}", n.case_id, n.kind.zh())),
        case_id: n.case_id.clone(),
        addressee: str_of("applicant_name"),
        paragraphs,
        items,
        date: date_zh(n.created_at),
        sealed: n.signature.is_some(),
        signature_line: match &n.signature {
            Some(sig) => format!("SM2 电子印章签名 {}…", &sig[..sig.len().min(24)]),
            None => "本部门尚无电子印章：本文书未签章".into(),
        },
        verify_hint: "扫码核验本文书".into(),
        rate_url: None,
    }
}

pub(crate) async fn notice_pdf(s: &AppState, case_id: &str, notice_id: &str) -> ApiResult<Response> {
    let n = cases::notice(&s.store, notice_id)
        .await?
        .filter(|n| n.case_id == case_id)
        .ok_or_else(|| ApiError::not_found("notice"))?;
    let seal_svg = match &n.seal_id {
        Some(id) => yiwang_store::seals::image(&s.store, id).await?.unwrap_or_default(),
        None => String::new(),
    };
    let licence = match n.body["licence_id"].as_str() {
        Some(id) => yiwang_store::licences::summary(&s.store, id).await?,
        None => None,
    };
    let mut page = notice_page(&n, licence.as_ref());
    // 好差评: a receipt and a result invite the person to rate the case on their phone
    // (国办发〔2019〕51号: every service can be rated; a bundle's sub-cases are rated one by one).
    let invites = matches!(
        n.kind,
        NoticeKind::Receipt | NoticeKind::Approval | NoticeKind::Denial | NoticeKind::NonAcceptance
    );
    if invites && n.body["bundle"].as_bool() != Some(true) {
        page.rate_url = Some(format!("{}/me/cases/{}/rate", s.public_url, n.case_id));
    }
    // The QR code opens the public check of this document (no login).
    let url = format!("{}/verify/notices/{}", s.public_url, n.id);
    let pdf = tokio::task::spawn_blocking(move || yiwang_docs::notice_pdf(&page, &seal_svg, &url))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "typesetting a notice");
            ApiError::internal()
        })?
        .map_err(|e| {
            tracing::error!(error = %e, "typesetting a notice");
            ApiError::internal()
        })?;
    let mut r = (StatusCode::OK, pdf).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    let name: String =
        form_urlencoded::byte_serialize(format!("{}-{}.pdf", n.case_id, n.kind.zh()).as_bytes()).collect();
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"notice.pdf\"; filename*=UTF-8''{name}")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

pub(super) async fn my_notice_pdf(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((case_id, notice_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    my_case(&s, &ctx, &case_id).await?;
    notice_pdf(&s, &case_id, &notice_id).await
}

pub(super) async fn staff_notice_pdf(
    State(s): State<AppState>,
    Path((case_id, notice_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    notice_pdf(&s, &case_id, &notice_id).await
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "notice_check.html")]
pub(super) struct NoticeCheckPage {
    pub(super) base: Base,
    pub(super) notice: Option<Notice>,
    /// The seal's signature over the notice holds (a trusted key signed these bytes).
    pub(super) valid: bool,
}

crate::page!(NoticeCheckPage);

impl NoticeCheckPage {
    fn field(&self, k: &str) -> String {
        self.notice
            .as_ref()
            .and_then(|n| n.body[k].as_str().map(str::to_string))
            .unwrap_or_default()
    }
    fn date(&self) -> String {
        self.notice.as_ref().map(|n| date_zh(n.created_at)).unwrap_or_default()
    }
}

/// The public check of a notice its QR code opens: whether this platform issued it, and
/// whether its seal signature holds. Shows what the paper shows about the issuer and
/// the document, nothing about the applicant; anyone holding the paper may look.
pub(super) async fn notice_check_page(
    State(s): State<AppState>,
    Path(notice_id): Path<String>,
    base: Base,
) -> ApiResult<Response> {
    let notice = cases::notice(&s.store, &notice_id).await?;
    let valid = match &notice {
        Some(n) => cases::verify_notice(&s.store, n).await?,
        None => false,
    };
    let status = if notice.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    Ok((status, NoticeCheckPage { base, notice, valid }).into_response())
}
