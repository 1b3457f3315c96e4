//! Issuing a licence in two halves (DESIGN "The write path": signatures before the
//! writer). [`prepare`] checks the input, draws the serial from a block reserved for this
//! process (`numbers`), fills, seals and signs the licence and its QR payload on the
//! caller's task; [`store_prepared`] only stores it in the writer, after checking that
//! the seal is still active (if not, the licence is issued anew there). The writer's own
//! path ([`issue`]) takes the next serial in its transaction and runs the same two halves.

use super::*;
use crate::numbers::{self, Counter};
use yiwang_core::orgs::Department;
use yiwang_core::seals::Seal;
use yiwang_crypto::SoftKey;

/// A licence numbered, filled, sealed and signed, ready to be stored.
#[derive(Debug, Clone)]
pub struct PreparedLicence {
    /// What it was made from (issued anew from this if its seal is no longer active).
    pub input: IssueInput,
    data: LicenceData,
    signature: LicenceSignature,
    department_id: String,
    issuer_name: String,
    digest: String,
    holder_masked: String,
    holder_index: String,
    data_enc: String,
    qr_payload: String,
}

impl PreparedLicence {
    pub fn id(&self) -> &str {
        &self.data.id
    }
}

/// What a licence is checked against besides its input, read before it is made.
struct Sources<'a> {
    t: &'a LicenceType,
    elements: &'a BTreeMap<String, yiwang_core::catalog::DataElement>,
    seal: Option<&'a Seal>,
}

/// The input's own problems, the face against its type, the seal that is to sign (no
/// number is used up by a licence that cannot be issued). Returns the seal.
fn check<'a>(s: &Sources<'a>, input: &IssueInput, today: NaiveDate) -> Result<&'a Seal> {
    let mut p = yiwang_core::error::Problems::new();
    p.text("holder_name", &input.holder_name, 100);
    p.check(
        s.t.holder
            .check_code("holder_code", &input.holder_code.trim().to_uppercase()),
    );
    if input.valid_from.unwrap_or(today) < today {
        p.push(FieldError::new(
            "valid_from",
            "licence.from_past",
            "有效期起始日不能早于今天",
            "the validity cannot begin before today",
        ));
    }
    if let Some(n) = &input.number
        && (n.trim().is_empty() || n.chars().count() > 50)
    {
        p.push(FieldError::new(
            "number",
            "max_length",
            "证照编号为 1–50 个字符",
            "a number has 1–50 characters",
        ));
    }
    if let Some(item) = &input.related_item {
        p.check(yiwang_core::catalog::check_impl_code("related_item", item).map(|_| ()));
    }
    p.finish()?;
    core::check_face(s.t, &input.face, &|c| s.elements.get(c).cloned())?;
    let seal = s.seal.ok_or_else(no_seal)?;
    yiwang_core::seals::may_sign(seal, today)?;
    Ok(seal)
}

/// Fills, seals and signs licence number `n` of its type and issuer (CPU only).
fn make(
    (t, dept, seal): (&LicenceType, &Department, &Seal),
    signer: &SoftKey,
    pii: &crate::keys::PiiKeys,
    input: &IssueInput,
    n: i64,
    now_ms: i64,
) -> PreparedLicence {
    let today = date_of(now_ms);
    let valid_from = input.valid_from.unwrap_or(today);
    let serial = format!("{}{n:06}", today.format("%Y"));
    let id = core::licence_id(&t.code, &dept.uscc, &serial, 1);
    let data = LicenceData {
        id: id.clone(),
        type_code: t.code.clone(),
        type_name: t.name.clone(),
        number: input
            .number
            .clone()
            .map(|n| n.trim().to_string())
            .unwrap_or_else(|| format!("{}{serial}", dept.region_code)),
        version: 1,
        definer_uscc: t.definer_uscc().to_string(),
        issuer_uscc: dept.uscc.clone(),
        issuer_name: dept.name.clone(),
        issued_on: today,
        valid_from,
        valid_until: t.validity.until(valid_from),
        jurisdiction: dept.region_code.clone(),
        holder_kind: t.holder,
        holder_name: input.holder_name.trim().to_string(),
        holder_code: input.holder_code.trim().to_uppercase(),
        holder_code_type: t.holder.code_type().into(),
        related_item: input.related_item.clone(),
        face: input
            .face
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k.clone(), v.trim().to_string()))
            .collect(),
    };
    let signature = LicenceSignature {
        seal_id: seal.id.clone(),
        key_id: seal.key_id.clone(),
        signed_at_ms: now_ms,
        alg: core::ALG.into(),
        value: hex::encode(signer.sign(&data.signed_bytes(&seal.id, &seal.key_id, now_ms))),
    };
    let digest = hex::encode(yiwang_crypto::sm3(&data.canonical()));
    let holder_masked = t.holder.mask(&data.holder_code);
    let claims = QrClaims {
        i: id.clone(),
        t: t.name.clone(),
        n: data.number.clone(),
        h: data.holder_name.clone(),
        c: holder_masked.clone(),
        s: dept.uscc.clone(),
        u: data.valid_until.map(|d| d.to_string()).unwrap_or_default(),
        d: digest.clone(),
        k: seal.key_id.clone(),
        a: now_ms,
    };
    let claims_b64 = core::b64url_encode(&serde_json::to_vec(&claims).expect("serialisable"));
    let qr_sig = signer.sign(&core::qr_signed_bytes(&claims_b64));
    let qr_payload = format!("{}.{claims_b64}.{}", core::QR_PREFIX, core::b64url_encode(&qr_sig));
    PreparedLicence {
        input: input.clone(),
        data_enc: pii.seal_bytes(&format!("licences.data:{id}"), &data.canonical()),
        holder_index: holder_index(pii, t.holder, &data.holder_code),
        department_id: dept.id.clone(),
        issuer_name: dept.name.clone(),
        data,
        signature,
        digest,
        holder_masked,
        qr_payload,
    }
}

fn no_type(code: &str) -> StoreError {
    DomainError::not_found("type_code", "证照类型", "licence type", code).into()
}

fn no_department(id: &str) -> StoreError {
    DomainError::not_found("department_id", "部门", "department", id).into()
}

/// Prepares a licence on the caller's task: reference data from memory, the serial from
/// this process's block, the signatures made here. The writer then only stores it.
pub async fn prepare(store: &Store, input: &IssueInput, now_ms: i64) -> Result<PreparedLicence> {
    let t = licence_type(store, &input.type_code)
        .await?
        .ok_or_else(|| no_type(&input.type_code))?;
    prepare_typed(store, t, input, now_ms).await
}

/// [`prepare`] with the licence type already read (it must be `input`'s).
pub async fn prepare_typed(store: &Store, t: LicenceType, input: &IssueInput, now_ms: i64) -> Result<PreparedLicence> {
    if t.code != input.type_code {
        return Err(no_type(&input.type_code));
    }
    let dept = crate::refdata::department(store, &input.department_id)
        .await?
        .ok_or_else(|| no_department(&input.department_id))?;
    let dictionary = crate::refdata::dictionary(store).await?;
    let elements = t
        .face
        .iter()
        .filter_map(|f| dictionary.get(&f.element).map(|d| (f.element.clone(), d.clone())))
        .collect();
    let seal = crate::refdata::signing_seal(store, &dept.id).await?;
    let s = Sources {
        t: &t,
        elements: &elements,
        seal: seal.as_ref(),
    };
    let seal = check(&s, input, date_of(now_ms))?.clone();
    let n = numbers::next(
        store,
        Counter::LicenceSerial {
            type_code: t.code.clone(),
            issuer_uscc: dept.uscc.clone(),
        },
    )
    .await?;
    let signer = store.keyring.signer_from(&store.read, &seal.key_id).await?;
    let pii = store.pii.clone();
    let input = input.clone();
    tokio::task::spawn_blocking(move || make((&t, &dept, &seal), &signer, &pii, &input, n, now_ms))
        .await
        .map_err(|e| StoreError::Internal(format!("preparing a licence: {e}")))
}

/// Issues a licence inside the writer: the next serial taken in the batch's transaction,
/// then made and stored like a prepared one.
pub(crate) async fn issue(ctx: &mut WriteCtx<'_>, input: &IssueInput) -> Result<Value> {
    let t = type_on(ctx.conn, &input.type_code)
        .await?
        .ok_or_else(|| no_type(&input.type_code))?;
    let dept = orgs::department(&mut *ctx.conn, &input.department_id)
        .await?
        .ok_or_else(|| no_department(&input.department_id))?;
    let mut elements = BTreeMap::new();
    for f in &t.face {
        if let Some(d) = data_element(ctx.conn, &f.element).await? {
            elements.insert(f.element.clone(), d);
        }
    }
    let seal = seals::signing_seal(ctx.conn, &dept.id).await?;
    let s = Sources {
        t: &t,
        elements: &elements,
        seal: seal.as_ref(),
    };
    let seal = check(&s, input, date_of(ctx.now_ms))?;
    // The serial: per type and issuer, from the same counter the blocks are drawn from.
    let reserve = numbers::Reserve {
        counter: Counter::LicenceSerial {
            type_code: t.code.clone(),
            issuer_uscc: dept.uscc.clone(),
        },
        n: 1,
    };
    let n = numbers::execute(ctx, &reserve)
        .await?
        .as_i64()
        .ok_or_else(|| StoreError::Internal("a licence serial was not reserved".into()))?;
    let signer = ctx.keys.signer(ctx.conn, &seal.key_id).await?;
    let p = make((&t, &dept, seal), &signer, &ctx.keys.pii, input, n, ctx.now_ms);
    write(ctx, &p).await
}

/// Stores a prepared licence; if its seal was revoked or superseded since it was signed,
/// issues the licence anew in the writer with the seal as it now stands.
pub(crate) async fn store_prepared(ctx: &mut WriteCtx<'_>, p: &PreparedLicence) -> Result<Value> {
    if !crate::cases::seal_active(ctx, &p.signature.seal_id).await? {
        return issue(ctx, &p.input).await;
    }
    write(ctx, p).await
}

async fn write(ctx: &mut WriteCtx<'_>, p: &PreparedLicence) -> Result<Value> {
    let (data, id) = (&p.data, &p.data.id);
    // The ledger gets the facts and the digest, never the holder's identifier in clear.
    ctx.append(
        &stream(id),
        Expect::New,
        "licence.issued",
        &json!({ "id": id, "type_code": data.type_code, "number": data.number, "issuer_uscc": data.issuer_uscc,
                 "holder_kind": data.holder_kind, "holder_name": data.holder_name, "holder_masked": p.holder_masked,
                 "digest": p.digest, "signature": p.signature, "case_id": p.input.case_id,
                 "valid_from": data.valid_from, "valid_until": data.valid_until }),
    )
    .await?;
    sqlx::query(
        "INSERT INTO licences (id, type_code, type_name, number, issuer_department_id, issuer_uscc, holder_kind,
           holder_index, holder_name, holder_masked, data_enc, signature, qr_payload, seal_id, status, issued_on,
           valid_until, related_item, case_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'valid', $15, $16, $17, $18, $19, $19)",
    )
    .bind(id)
    .bind(&data.type_code)
    .bind(&data.type_name)
    .bind(&data.number)
    .bind(&p.department_id)
    .bind(&data.issuer_uscc)
    .bind(data.holder_kind.as_str())
    .bind(&p.holder_index)
    .bind(&data.holder_name)
    .bind(&p.holder_masked)
    .bind(&p.data_enc)
    .bind(serde_json::to_string(&p.signature).expect("serialisable"))
    .bind(&p.qr_payload)
    .bind(&p.signature.seal_id)
    .bind(data.issued_on.to_string())
    .bind(data.valid_until.map(|d| d.to_string()))
    .bind(&data.related_item)
    .bind(&p.input.case_id)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    history(
        ctx,
        id,
        "issued",
        Some(Status::Valid),
        &format!("{} 核发", p.issuer_name),
        None,
    )
    .await?;
    Ok(
        json!({ "id": id, "number": data.number, "type_name": data.type_name, "status": Status::Valid,
               "valid_until": data.valid_until, "holder_masked": p.holder_masked }),
    )
}
