//! 多地联办 (国办发〔2020〕35号; STANDARDS §4): a 一件事 of this node whose members are
//! decided at several nodes. A partner's item joins a bundle as the partner published it
//! (its whole guide travels in the offer); the member is forwarded to the partner as an
//! application in mode `joint` when it starts, its status comes back like any crossing case,
//! and this node — the receiving one — hands its result over (结果送达权).

use super::*;
use crate::catalog::Service;
use yiwang_core::cases::{Application, ProvisionKind};
use yiwang_core::error::FieldError;
use yiwang_core::federation::{ForwardedApplicant, Scan};

/// A partner's item offered for 多地联办, as a bundle member sees it: its published guide,
/// its region and department as the partner named them (`department_id` is `node:<id>`).
/// None when the partner does not offer it jointly (or offered it before guides travelled).
pub async fn joint_service(store: &Store, node: &str, item_code: &str) -> Result<Option<Service>> {
    let Some(o) = offer(store, node, item_code).await? else {
        return Ok(None);
    };
    if !o.modes.contains(&Mode::Joint) {
        return Ok(None);
    }
    let Ok(elements) = serde_json::from_value::<yiwang_core::catalog::Elements>(o.detail["elements"].clone()) else {
        return Ok(None);
    };
    let node_name = partner(store, node)
        .await?
        .map(|d| d.name)
        .unwrap_or_else(|| node.to_string());
    Ok(Some(Service {
        entry_id: String::new(),
        code: o.item_code.clone(),
        basic_code: String::new(),
        version: o.detail["version"].as_i64().unwrap_or(0),
        department_id: format!("node:{node}"),
        department_name: format!("{}（{node_name}）", o.department),
        region_code: o.detail["region"].as_str().unwrap_or_default().to_string(),
        level: None,
        effective_from: 0,
        until_ms: None,
        elements,
    }))
}

/// Why a partner's item cannot be a member decided there (the field is the member's
/// `node`): not offered for 多地联办, no agreement in force, or no 结果送达权 granted — the
/// receiving node delivers every result of the bundle (统一出件).
pub async fn joint_problem(store: &Store, field: &str, node: &str, item_code: &str) -> Result<Option<FieldError>> {
    if joint_service(store, node, item_code).await?.is_none() {
        return Ok(Some(FieldError::new(
            field,
            "bundles.not_offered",
            format!("节点「{node}」未以多地联办方式开通事项 {item_code}"),
            format!("node '{node}' does not offer item {item_code} for joint handling"),
        )));
    }
    let granted = match store.node.get() {
        Some(local) => granted(store, &local.id, node, core::Right::Deliver, item_code).await?,
        None => None,
    };
    let Some(deliver) = granted else {
        return Ok(Some(FieldError::new(
            field,
            "federation.no_agreement",
            format!("与节点「{node}」没有生效的授权信任协议"),
            format!("there is no agreement in force with node '{node}'"),
        )));
    };
    if !deliver {
        return Ok(Some(FieldError::new(
            field,
            "federation.not_granted",
            format!("节点「{node}」未授予本节点该事项的结果送达权，无法统一出件"),
            format!(
                "node '{node}' has not granted this node the right to deliver this item's result: no single delivery"
            ),
        )));
    }
    Ok(None)
}

/// The applicant as this node asserts them to a partner (their name, ID number and phone),
/// whose disclosure is recorded in their data-use log first, with `purpose` (given the
/// partner's name) and the partner's receiving department if known. `online`: they logged
/// in here; otherwise a window verified them.
pub async fn forwarded_applicant(
    store: &Store,
    actor: &str,
    person_id: &str,
    node: &str,
    department: Option<String>,
    purpose: impl FnOnce(&str) -> String,
    online: bool,
) -> Result<ForwardedApplicant> {
    use yiwang_core::datause::PersonalField as F;
    let person = crate::accounts::person(&store.read, person_id)
        .await?
        .ok_or_else(|| DomainError::not_found("applicant", "办事人", "applicant", person_id))?;
    let me = crate::accounts::view(store, &person, &[F::IdNumber, F::Phone])?;
    let node_name = partner(store, node)
        .await?
        .map(|d| d.name)
        .unwrap_or_else(|| node.to_string());
    crate::datause::record(
        store,
        Meta::actor(actor),
        &crate::datause::Reader {
            kind: "system".into(),
            id: node.to_string(),
            name: node_name.clone(),
            department,
        },
        person_id,
        vec![F::Name, F::IdNumber, F::Phone],
        true,
        &purpose(&node_name),
        None,
    )
    .await?;
    Ok(ForwardedApplicant {
        name: me.name,
        id_number: me.id_number,
        phone: me.phone,
        verified_by: if online { "login" } else { "window" }.into(),
    })
}

/// A bundle member's part prepared for its node: the files it names travel as scans (the
/// partner keeps them as its own), everything else as given; then the checks and the
/// envelope of any forwarded application ([`prepare_forward`]), the crossing marked with its
/// bundle case.
#[allow(clippy::too_many_arguments)]
pub async fn forward_member(
    store: &Store,
    local: &Local,
    taken_by: &str,
    applicant_key: &str,
    applicant: ForwardedApplicant,
    node: &str,
    item_code: &str,
    mut application: Application,
    bundle_case_id: &str,
    member_key: &str,
) -> Result<(CrossingRow, Outgoing)> {
    let mut scans = vec![];
    for (key, p) in application.materials.iter_mut() {
        if p.kind != ProvisionKind::Files {
            continue;
        }
        for sm3 in std::mem::take(&mut p.files) {
            let (info, bytes) = crate::files::get(store, &sm3)
                .await?
                .ok_or_else(|| DomainError::not_found(&format!("materials.{key}"), "文件", "file", &sm3))?;
            scans.push(Scan {
                material: key.clone(),
                name: info.name,
                content_hex: hex::encode(&bytes),
            });
        }
    }
    application.materials.retain(|_, p| p.kind != ProvisionKind::Files);
    let input = ForwardInput {
        partner: node.to_string(),
        item_code: item_code.to_string(),
        mode: Mode::Joint,
        applicant,
        application: serde_json::to_value(&application).map_err(internal)?,
        scans,
        originals_checked: false,
        accept_on_behalf: false,
    };
    super::work::prepare_forward(
        store,
        local,
        taken_by,
        Some(applicant_key.to_string()),
        input,
        json!({ "bundle_case": bundle_case_id, "member": member_key }),
    )
    .await
}
