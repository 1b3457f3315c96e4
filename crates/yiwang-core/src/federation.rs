//! 跨域通办 between independently run nodes (国办发〔2020〕35号; STANDARDS §4): the node
//! document, agreements (授权信任) with the four rights the 莆田 model grants, the signed
//! envelope every message between nodes travels in, and the rules a receiver applies
//! before it acts on one — signature, agreement, freshness, replay, the right the message
//! needs. No I/O: the store keeps what these functions decide on.

use crate::error::{DomainError, ErrorKind, FieldError, Problems};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

named_enum!(
    /// The rights one region grants another by agreement (授权信任, STANDARDS §4, the 莆田
    /// 全域通办 seed).
    Right {
        Receive = "receive", "收件受理权", "receiving and accepting";
        Inform = "inform", "一次性告知权", "one-time notice of what is missing";
        VerifyOriginals = "verify_originals", "原件核验权", "checking originals";
        Deliver = "deliver", "结果送达权", "delivering the result";
    }
);

named_enum!(
    /// How an item is offered to other regions (STANDARDS §4: three modes).
    Mode {
        Online = "online", "全程网办", "fully online";
        Proxy = "proxy", "异地代收代办", "received elsewhere, handled here";
        Joint = "joint", "多地联办", "handled jointly by several places";
    }
);

named_enum!(
    /// Where an agreement stands, as this node sees it.
    AgreementState {
        Proposed = "proposed", "已发出，待对方确认", "proposed, awaiting the partner";
        Pending = "pending", "对方提出，待本方确认", "proposed by the partner, awaiting approval here";
        Active = "active", "生效", "in force";
        Declined = "declined", "已拒绝", "declined";
        Revoked = "revoked", "已撤销", "revoked";
    }
);

named_enum!(
    /// The forwarding limit of an application received for another node (STANDARDS §4:
    /// same day or within one working day is common [M]).
    ForwardLimit {
        SameDay = "same_day", "当日转递", "forwarded the same day";
        OneWorkingDay = "one_working_day", "一个工作日内转递", "forwarded within one working day";
    }
);

/// Settings of the federation [M] (`[federation]` in `yiwang.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FederationPolicy {
    /// This node's id (unique among partners); empty: the region code and the key's
    /// fingerprint.
    pub node_id: String,
    /// This node's name as partners show it; empty: the province's name.
    pub node_name: String,
    /// How far an envelope's time may be from the receiver's clock, in seconds.
    pub max_skew_s: i64,
    /// The longest wait between two delivery attempts, in seconds.
    pub max_backoff_s: i64,
    /// The largest envelope body accepted, in bytes.
    pub max_body_bytes: usize,
    /// After a partner announces a new key, how long its old key still verifies its
    /// envelopes (those signed before the rotation and still on their way), in seconds.
    pub key_grace_s: i64,
    /// Refused envelopes kept in full per minute, from one claimed sender and in all;
    /// beyond that a refusal is answered and counted but not stored (a flood of bad
    /// envelopes cannot fill the database).
    pub refusals_logged_per_minute: u32,
}

impl Default for FederationPolicy {
    fn default() -> Self {
        FederationPolicy {
            node_id: String::new(),
            node_name: String::new(),
            max_skew_s: 300,
            max_backoff_s: 600,
            max_body_bytes: 8 * 1024 * 1024,
            key_grace_s: 86_400,
            refusals_logged_per_minute: 60,
        }
    }
}

/// How many refusals are kept in full, per claimed sender and in all, in the current
/// minute (see [`FederationPolicy::refusals_logged_per_minute`]).
#[derive(Debug, Clone, Default)]
pub struct RefusalBudget {
    minute: i64,
    total: u32,
    by_sender: std::collections::HashMap<String, u32>,
}

impl RefusalBudget {
    /// Whether a refusal from `sender` at `now_ms` is kept: at most `per_minute` from one
    /// sender and four times that in all, per minute.
    pub fn keep(&mut self, sender: &str, now_ms: i64, per_minute: u32) -> bool {
        let minute = now_ms.div_euclid(60_000);
        if minute != self.minute {
            self.minute = minute;
            self.total = 0;
            self.by_sender.clear();
        }
        if self.total >= per_minute.saturating_mul(4) {
            return false;
        }
        let n = self.by_sender.entry(sender.chars().take(64).collect()).or_insert(0);
        if *n >= per_minute {
            return false;
        }
        *n += 1;
        self.total += 1;
        true
    }
}

impl FederationPolicy {
    pub fn validate(&self) -> Result<(), String> {
        if !(10..=3600).contains(&self.max_skew_s) {
            return Err("max_skew_s must be between 10 and 3600".into());
        }
        if !(1..=86_400).contains(&self.max_backoff_s) {
            return Err("max_backoff_s must be between 1 and 86400".into());
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.max_body_bytes) {
            return Err("max_body_bytes must be between 1 KiB and 64 MiB".into());
        }
        if !(1..=100_000).contains(&self.refusals_logged_per_minute) {
            return Err("refusals_logged_per_minute must be between 1 and 100000".into());
        }
        if !(0..=30 * 86_400).contains(&self.key_grace_s) {
            return Err("key_grace_s must be between 0 and 2592000 (30 days)".into());
        }
        if !self.node_id.is_empty() && !valid_node_id(&self.node_id) {
            return Err("node_id: letters, digits, '-', '_' or '.', at most 64".into());
        }
        Ok(())
    }
}

/// A node id: 1–64 of `[A-Za-z0-9._-]` (it appears in stream names and URLs).
pub fn valid_node_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A node's public document: who it is, where it answers and the key its envelopes are
/// signed with; signed by that key (X-Road's security server certificate plays this part;
/// here a partner's administrator compares the key's fingerprint out of band).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeDoc {
    pub id: String,
    pub name: String,
    /// The region the node serves (GB/T 2260 code).
    pub region: String,
    /// Base URL of the node (its envelopes go to `{endpoint}/federation/v1/envelopes`).
    pub endpoint: String,
    pub key_id: String,
    /// SM2 public key, uncompressed SEC1, hex.
    pub public_key: String,
    /// Where its seals' signed trust list is (licences it issues verify against it).
    pub trust_list: String,
    pub issued_ms: i64,
    /// SM2 signature (DER, hex) over [`NodeDoc::signed_bytes`].
    #[serde(default)]
    pub signature: String,
}

impl NodeDoc {
    /// The bytes the node signs: every field but the signature, one per line.
    pub fn signed_bytes(&self) -> Vec<u8> {
        format!(
            "yiwang-node/1\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.id,
            self.name,
            self.region,
            self.endpoint,
            self.key_id,
            self.public_key,
            self.trust_list,
            self.issued_ms
        )
        .into_bytes()
    }

    /// The first 16 hex digits of the SM3 of the public key, as administrators compare it
    /// (the caller passes the digest: core does no hashing).
    pub fn fingerprint(key_sm3_hex: &str) -> String {
        key_sm3_hex
            .chars()
            .take(16)
            .collect::<Vec<_>>()
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The document's own fields are sound (the signature is checked by the caller).
    pub fn check(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        if !valid_node_id(&self.id) {
            p.push(FieldError::new(
                "node.id",
                "node.id",
                "节点标识只能由字母、数字、“-”“_”“.”组成，最多 64 个字符",
                "a node id is letters, digits, '-', '_' or '.', at most 64",
            ));
        }
        p.text("node.name", &self.name, 100);
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            p.push(FieldError::new(
                "node.endpoint",
                "url",
                "节点地址须以 http:// 或 https:// 开头",
                "the endpoint must start with http:// or https://",
            ));
        }
        if self.public_key.len() != 130
            || !self.public_key.starts_with("04")
            || !self.public_key.chars().all(|c| c.is_ascii_hexdigit())
        {
            p.push(FieldError::new(
                "node.public_key",
                "sm2.public_key",
                "公钥须为 65 字节未压缩 SM2 公钥的十六进制",
                "the public key must be a 65-byte uncompressed SM2 key in hex",
            ));
        }
        p.finish()
    }
}

/// One right granted by one node to another, for some of the grantor's items (empty: every
/// item it offers for 跨域通办).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grant {
    pub grantor: String,
    pub grantee: String,
    pub right: Right,
    #[serde(default)]
    pub items: Vec<String>,
}

/// What an agreement says: the rights each side grants, the forwarding limit, validity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Terms {
    pub grants: Vec<Grant>,
    pub forward_limit: ForwardLimit,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
}

impl Terms {
    /// Terms between `a` and `b` are sound: every grant between the two, no right twice
    /// for the same pair, a validity that ends after it starts.
    pub fn check(&self, a: &str, b: &str) -> Result<(), DomainError> {
        let mut p = Problems::new();
        if a == b {
            p.push(FieldError::new(
                "partner",
                "federation.self",
                "不能与本节点自身建立授权信任",
                "a node cannot make an agreement with itself",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, g) in self.grants.iter().enumerate() {
            let pair_ok = (g.grantor == a && g.grantee == b) || (g.grantor == b && g.grantee == a);
            if !pair_ok {
                p.push(FieldError::new(
                    format!("grants[{i}]"),
                    "federation.grant_pair",
                    "授权只能在协议双方之间",
                    "a grant is between the two parties of the agreement",
                ));
            }
            if !seen.insert((g.grantor.clone(), g.right)) {
                p.push(FieldError::new(
                    format!("grants[{i}].right"),
                    "federation.grant_twice",
                    "同一方向的同一权限只能授予一次",
                    "a right is granted once in each direction",
                ));
            }
            if g.items.len() > 2000 {
                p.push(FieldError::new(
                    format!("grants[{i}].items"),
                    "max_items",
                    "事项最多 2000 个",
                    "at most 2000 items",
                ));
            }
        }
        if self.valid_until <= self.valid_from {
            p.push(FieldError::new(
                "valid_until",
                "federation.validity",
                "有效期截止日须晚于起始日",
                "the agreement must end after it starts",
            ));
        }
        p.finish()
    }

    /// Has `grantor` granted `right` to `grantee` for `item`?
    pub fn grants(&self, grantor: &str, grantee: &str, right: Right, item: &str) -> bool {
        self.grants.iter().any(|g| {
            g.grantor == grantor
                && g.grantee == grantee
                && g.right == right
                && (g.items.is_empty() || g.items.iter().any(|i| i == item))
        })
    }

    /// In force on `day`.
    pub fn in_force(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && day <= self.valid_until
    }
}

/// What an administrator may do to an agreement in a state (the other side's approval,
/// decline and revocation arrive as envelopes and go through the same function).
pub fn transition(state: AgreementState, action: AgreementAction) -> Result<AgreementState, DomainError> {
    use AgreementAction as A;
    use AgreementState as S;
    let next = match (state, action) {
        (S::Pending, A::Approve) | (S::Proposed, A::Approved) => Some(S::Active),
        (S::Pending, A::Decline) | (S::Proposed, A::Declined) => Some(S::Declined),
        (S::Active | S::Proposed | S::Pending, A::Revoke | A::Revoked) => Some(S::Revoked),
        _ => None,
    };
    next.ok_or_else(|| {
        DomainError::conflict(
            "state",
            "federation.agreement_state",
            format!("协议{}时不能{}", crate::Named::zh(&state), action.zh()),
            format!("an agreement {} cannot be {}", crate::Named::en(&state), action.en()),
        )
    })
}

/// What happens to an agreement: here (approve, decline, revoke) or on the partner's side
/// (its envelope says approved, declined, revoked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgreementAction {
    Approve,
    Decline,
    Revoke,
    Approved,
    Declined,
    Revoked,
}

impl AgreementAction {
    fn zh(self) -> &'static str {
        match self {
            Self::Approve | Self::Approved => "确认",
            Self::Decline | Self::Declined => "拒绝",
            Self::Revoke | Self::Revoked => "撤销",
        }
    }
    fn en(self) -> &'static str {
        match self {
            Self::Approve | Self::Approved => "approved",
            Self::Decline | Self::Declined => "declined",
            Self::Revoke | Self::Revoked => "revoked",
        }
    }
}

/// Every message between nodes: who sends to whom, its id and what it answers, when, what
/// kind, the SM3 of its body and the sender's SM2 signature over all of that (DESIGN
/// "Federation"; X-Road's signed message in spirit). The body travels beside, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Envelope {
    pub sender: String,
    pub receiver: String,
    /// Unique per message (a UUID); a retried delivery keeps it.
    pub id: String,
    /// The message or matter it belongs to (the forwarded application's id, the agreement).
    pub correlation: String,
    pub kind: String,
    /// When this attempt was signed, epoch ms.
    pub at_ms: i64,
    /// SM3 of `body`, hex.
    pub digest: String,
    pub key_id: String,
    /// SM2 signature (DER, hex) over [`Envelope::signed_bytes`].
    pub signature: String,
    /// The message itself, JSON text.
    pub body: String,
}

impl Envelope {
    pub fn signed_bytes(&self) -> Vec<u8> {
        format!(
            "yiwang-envelope/1\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.sender, self.receiver, self.id, self.correlation, self.kind, self.at_ms, self.digest, self.key_id
        )
        .into_bytes()
    }
}

/// The receiver's signed answer: it holds the message (or held it already).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    pub message_id: String,
    pub sender: String,
    pub receiver: String,
    pub digest: String,
    pub received_ms: i64,
    pub key_id: String,
    pub signature: String,
    /// The answer to a query (`licence.status`), JSON text, covered by the signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

impl Receipt {
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut v = format!(
            "yiwang-receipt/1\n{}\n{}\n{}\n{}\n{}\n{}",
            self.message_id, self.sender, self.receiver, self.digest, self.received_ms, self.key_id
        )
        .into_bytes();
        if let Some(a) = &self.answer {
            v.extend_from_slice(b"\n");
            v.extend_from_slice(a.as_bytes());
        }
        v
    }
}

/// The taking node's word that it handed the competent node's result over at its window
/// or electronically (结果送达权, 国办发〔2020〕35号 异地代收代办): the competent node's
/// case, how, by whom, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    pub case_id: String,
    pub method: crate::cases::DeliveryMethod,
    pub by: String,
    pub at_ms: i64,
}

/// The competent node's word on one of its licences (the answer of `licence.status`): the
/// status it records now, or none when it issued no licence by that id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenceStatusAnswer {
    pub licence_id: String,
    #[serde(default)]
    pub status: Option<crate::licences::Status>,
    pub checked_ms: i64,
}

named_enum!(
    /// Why a receiver refuses an envelope (each refusal is logged).
    Refusal {
        Malformed = "malformed", "报文格式错误", "malformed envelope";
        WrongReceiver = "wrong_receiver", "接收方不是本节点", "not addressed to this node";
        UnknownSender = "unknown_sender", "未知发送节点", "unknown sender";
        BadDigest = "bad_digest", "报文摘要不符", "body digest does not match";
        BadSignature = "bad_signature", "签名验证失败", "signature does not verify";
        Stale = "stale", "报文时间超出允许偏差", "envelope time outside the allowed skew";
        Replay = "replay", "报文标识已使用", "message id already used";
        NoAgreement = "no_agreement", "无生效的授权信任协议", "no agreement in force";
        Expired = "expired", "协议不在有效期内", "agreement not in its validity period";
        Revoked = "revoked", "协议已撤销", "agreement revoked";
        NotGranted = "not_granted", "未获授予所需权限", "the right this needs was not granted";
        NotOffered = "not_offered", "该事项未开通跨域通办", "the item is not offered for 跨域通办";
        UnknownKind = "unknown_kind", "未知报文类型", "unknown message kind";
        TooLarge = "too_large", "报文过大", "envelope too large";
        NotDue = "not_due", "办件尚无可送达的结果", "the case has no result to deliver yet";
    }
);

impl Refusal {
    /// As a domain error for the receiver's answer (422 malformed; 403 every trust failure;
    /// 409 a replay).
    pub fn error(self) -> DomainError {
        let kind = match self {
            Refusal::Malformed | Refusal::UnknownKind | Refusal::TooLarge => ErrorKind::Invalid,
            Refusal::Replay | Refusal::NotDue => ErrorKind::Conflict,
            _ => ErrorKind::Forbidden,
        };
        DomainError::one(
            kind,
            FieldError::new(
                "envelope",
                format!("federation.{}", self.as_str()),
                crate::Named::zh(&self),
                crate::Named::en(&self),
            ),
        )
    }
}

/// The message kinds and whether a sender without an agreement may send it (only a
/// proposal: it carries the sender's node document).
pub const KINDS: &[(&str, bool)] = &[
    ("agreement.propose", true),
    ("agreement.approve", false),
    ("agreement.decline", false),
    ("agreement.revoke", false),
    ("offers.publish", false),
    ("application.forward", false),
    ("application.received", false),
    ("case.status", false),
    // Mutual recognition (互认): the sender's seal keys, and a live status query.
    ("trust.publish", false),
    ("licence.status", false),
    // Key rotation, announced through the agreement (signed with the old key).
    ("node.rotate", false),
    // 结果送达权: the taking node handed the competent node's result over.
    ("case.delivered", false),
];

/// Is `kind` a message kind, and may it come without an agreement?
pub fn kind_needs_agreement(kind: &str) -> Option<bool> {
    KINDS.iter().find(|(k, _)| *k == kind).map(|(_, open)| !open)
}

/// The envelope's time against the receiver's clock.
pub fn fresh(at_ms: i64, now_ms: i64, max_skew_s: i64) -> bool {
    (now_ms - at_ms).abs() <= max_skew_s * 1000
}

/// The agreement a sender has with this node, as the receiver checks it before acting on
/// anything but a proposal.
pub fn admit(state: Option<(AgreementState, &Terms)>, today: NaiveDate) -> Result<(), Refusal> {
    match state {
        None => Err(Refusal::NoAgreement),
        Some((AgreementState::Revoked, _)) => Err(Refusal::Revoked),
        Some((AgreementState::Active, t)) if !t.in_force(today) => Err(Refusal::Expired),
        Some((AgreementState::Active, _)) => Ok(()),
        Some(_) => Err(Refusal::NoAgreement),
    }
}

/// An application forwarded from the node that received it to the node whose item it is
/// (异地代收代办 or 全程网办 across nodes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Forwarded {
    /// The receiving node's reference (its `fed_cases` id).
    pub origin_ref: String,
    pub item_code: String,
    pub mode: Mode,
    /// The applicant as the receiving node verified them (identity checked at its window
    /// or by its login): an assertion under the agreement.
    pub applicant: ForwardedApplicant,
    /// The application as the competent node's form asks for it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub application: serde_json::Value,
    /// The materials as scanned at the receiving node (digitised, 收受分离).
    #[serde(default)]
    pub scans: Vec<Scan>,
    /// The receiving node checked the originals (needs 原件核验权).
    #[serde(default)]
    pub originals_checked: bool,
    /// The receiving node accepts on the competent node's behalf (needs 收件受理权).
    #[serde(default)]
    pub accept_on_behalf: bool,
    /// Who took it and where: the window clerk's name and the hall, or `online`.
    pub taken_by: String,
    pub taken_ms: i64,
    /// The date by which it had to be forwarded (the receiving node's calendar).
    pub forward_by: NaiveDate,
}

/// A material scanned at the receiving node's window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scan {
    /// The material's key in the competent node's item.
    pub material: String,
    pub name: String,
    /// The file's bytes, hex.
    pub content_hex: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForwardedApplicant {
    pub name: String,
    pub id_number: String,
    pub phone: String,
    /// How the receiving node verified them: `window` (ID card at the window) or `login`.
    pub verified_by: String,
}

/// The rights a forwarded application needs from the competent node (the receiver), for
/// its item.
pub fn forward_needs(f: &Forwarded) -> Vec<Right> {
    let mut r = Vec::new();
    // 国办发〔2020〕35号: acceptance stays with the competent place unless granted (收受分离).
    if f.accept_on_behalf {
        r.push(Right::Receive);
    }
    // STANDARDS §4 (莆田): checking originals elsewhere is a granted right.
    if f.originals_checked {
        r.push(Right::VerifyOriginals);
    }
    r
}

/// The last day an application taken on `taken` must be forwarded by: the same day, or
/// the next working day of the receiving node's calendar (STANDARDS §4 [M]).
pub fn forward_by(limit: ForwardLimit, taken: NaiveDate, cal: &crate::calendar::Calendar) -> NaiveDate {
    match limit {
        ForwardLimit::SameDay => taken,
        ForwardLimit::OneWorkingDay => cal.add_working_days(taken, 1).date,
    }
}

/// An item offered for 跨域通办, as a node publishes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Offer {
    pub item_code: String,
    pub name: String,
    pub department: String,
    pub modes: Vec<Mode>,
    /// The guide's gist as the competent node gives it: materials, form fields, limits.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: Value,
}

/// A crossing case's status as the competent node reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Status {
    pub origin_ref: String,
    /// The competent node's case number (none when it could not take the application).
    pub case_id: Option<String>,
    /// `received` (taken as a case), `refused` (the pre-check found problems: `problems`
    /// lists them, to be told once), or a case state.
    pub state: String,
    pub label_zh: String,
    pub label_en: String,
    /// The competent node's ledger position of the change (later ones win).
    pub seq: i64,
    #[serde(default)]
    pub due_on: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub licence_id: Option<String>,
    /// The decision once made: `approve`, or the refusal's kind.
    #[serde(default)]
    pub decision: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub problems: Vec<FieldError>,
}

/// What a window clerk (or the portal, for 全程网办) hands over to forward.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForwardInput {
    pub partner: String,
    pub item_code: String,
    pub mode: Mode,
    pub applicant: ForwardedApplicant,
    /// The application as the partner's form asks for it (`answers`, `form`, `materials`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub application: Value,
    #[serde(default)]
    pub scans: Vec<Scan>,
    #[serde(default)]
    pub originals_checked: bool,
    #[serde(default)]
    pub accept_on_behalf: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> Terms {
        Terms {
            grants: vec![
                Grant {
                    grantor: "b".into(),
                    grantee: "a".into(),
                    right: Right::VerifyOriginals,
                    items: vec![],
                },
                Grant {
                    grantor: "b".into(),
                    grantee: "a".into(),
                    right: Right::Receive,
                    items: vec!["X1".into()],
                },
            ],
            forward_limit: ForwardLimit::OneWorkingDay,
            valid_from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        }
    }

    #[test]
    fn grants_are_directional_and_scoped() {
        let t = terms();
        assert!(t.grants("b", "a", Right::VerifyOriginals, "anything"));
        assert!(t.grants("b", "a", Right::Receive, "X1"));
        assert!(!t.grants("b", "a", Right::Receive, "X2"));
        assert!(!t.grants("a", "b", Right::VerifyOriginals, "X1"));
        assert!(t.check("a", "b").is_ok());
        assert!(t.check("a", "c").is_err());
        assert!(t.check("a", "a").is_err());
        let mut twice = t.clone();
        twice.grants.push(twice.grants[0].clone());
        assert!(twice.check("a", "b").is_err());
    }

    #[test]
    fn admission_follows_the_agreement() {
        let t = terms();
        let day = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        assert_eq!(admit(None, day), Err(Refusal::NoAgreement));
        assert_eq!(admit(Some((AgreementState::Active, &t)), day), Ok(()));
        assert_eq!(admit(Some((AgreementState::Revoked, &t)), day), Err(Refusal::Revoked));
        assert_eq!(
            admit(Some((AgreementState::Pending, &t)), day),
            Err(Refusal::NoAgreement)
        );
        let late = NaiveDate::from_ymd_opt(2027, 6, 1).unwrap();
        assert_eq!(admit(Some((AgreementState::Active, &t)), late), Err(Refusal::Expired));
    }

    #[test]
    fn agreement_transitions() {
        use AgreementAction as A;
        use AgreementState as S;
        assert_eq!(transition(S::Pending, A::Approve).unwrap(), S::Active);
        assert_eq!(transition(S::Proposed, A::Approved).unwrap(), S::Active);
        assert!(
            transition(S::Proposed, A::Approve).is_err(),
            "the proposer cannot approve its own proposal"
        );
        assert!(transition(S::Revoked, A::Approve).is_err());
        assert_eq!(transition(S::Active, A::Revoke).unwrap(), S::Revoked);
        assert!(transition(S::Declined, A::Revoke).is_err());
    }

    #[test]
    fn freshness_and_kinds() {
        assert!(fresh(1_000_000, 1_100_000, 300));
        assert!(!fresh(1_000_000, 1_400_001, 300));
        assert!(!fresh(1_400_001, 1_000_000, 300));
        assert_eq!(kind_needs_agreement("agreement.propose"), Some(false));
        assert_eq!(kind_needs_agreement("application.forward"), Some(true));
        assert_eq!(kind_needs_agreement("nonsense"), None);
        assert_eq!(Refusal::Replay.error().kind, ErrorKind::Conflict);
        assert_eq!(Refusal::BadSignature.error().kind, ErrorKind::Forbidden);
    }

    #[test]
    fn a_receipts_answer_is_signed_with_it() {
        let mut r = Receipt {
            message_id: "m".into(),
            sender: "a".into(),
            receiver: "b".into(),
            digest: "d".into(),
            received_ms: 1,
            key_id: "node-1".into(),
            signature: String::new(),
            answer: None,
        };
        let plain = r.signed_bytes();
        r.answer = Some(r#"{"licence_id":"x","status":"valid","checked_ms":1}"#.into());
        let answered = r.signed_bytes();
        assert_ne!(plain, answered, "the answer is covered");
        r.answer = Some(r#"{"licence_id":"x","status":"revoked","checked_ms":1}"#.into());
        assert_ne!(answered, r.signed_bytes(), "a changed answer changes what is signed");
        assert_eq!(kind_needs_agreement("licence.status"), Some(true));
        assert_eq!(kind_needs_agreement("node.rotate"), Some(true));
        assert!(
            FederationPolicy {
                key_grace_s: -1,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn refusals_are_kept_within_a_budget_per_sender_and_in_all() {
        let mut b = RefusalBudget::default();
        let t = 1_000 * 60_000;
        assert!((0..3).all(|_| b.keep("x", t, 3)));
        assert!(
            !b.keep("x", t + 1, 3),
            "a fourth from one sender in the minute is not kept"
        );
        assert!(b.keep("y", t + 2, 3), "another sender still is");
        // Four times the budget in all, whatever the senders claim to be.
        let kept = (0..40).filter(|i| b.keep(&format!("s{i}"), t + 3, 3)).count();
        assert_eq!(kept, 12 - 4);
        assert!(b.keep("x", t + 60_000, 3), "a new minute, a new budget");
    }

    #[test]
    fn forward_limits_use_the_calendar() {
        let cal = crate::calendar::Calendar::new(vec![], vec![2026]);
        // Friday 2026-12-04: the next working day is Monday.
        let fri = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        assert_eq!(forward_by(ForwardLimit::SameDay, fri, &cal), fri);
        assert_eq!(
            forward_by(ForwardLimit::OneWorkingDay, fri, &cal),
            NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
        );
    }

    #[test]
    fn node_documents_are_checked() {
        let doc = NodeDoc {
            id: "hainan-1".into(),
            name: "海南".into(),
            region: "460000".into(),
            endpoint: "http://127.0.0.1:1".into(),
            key_id: "node-1".into(),
            public_key: format!("04{}", "ab".repeat(64)),
            trust_list: String::new(),
            issued_ms: 1,
            signature: String::new(),
        };
        assert!(doc.check().is_ok());
        let bad = NodeDoc {
            id: "a b".into(),
            endpoint: "ftp://x".into(),
            ..doc.clone()
        };
        assert_eq!(bad.check().unwrap_err().errors.len(), 2);
        assert_eq!(NodeDoc::fingerprint("0123456789abcdef99"), "0123 4567 89ab cdef");
    }
}
