//! Tencent Cloud SMS, API 3.0 action `SendSms` version `2021-01-11`: TC3-HMAC-SHA256 request
//! signing, the JSON request body, the response shapes, and the server-side check a local test
//! gateway uses. Pure functions only; the caller POSTs `request_headers` + body with reqwest.
//!
//! Sources (rules below cite them by short name):
//! - [SigV3] "Signature v3" (TC3-HMAC-SHA256), https://www.tencentcloud.com/document/product/382/40467
//!   (same text for every product; worked example: CVM DescribeInstances, timestamp 1551113065).
//! - [SendSms] "SendSms" (发送短信), https://cloud.tencent.com/document/api/382/55981 and
//!   https://www.tencentcloud.com/document/api/382/40536 (inputs, outputs, examples).
//! - [Errors] "Error Codes", common part, e.g. https://www.tencentcloud.com/document/api/1036/38589.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// [SigV3] the only algorithm name.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// [SendSms] action name.
pub const ACTION: &str = "SendSms";
/// [SendSms] API version.
pub const VERSION: &str = "2021-01-11";
/// [SigV3] service name in the credential scope; matches the product domain `sms.`.
pub const SERVICE: &str = "sms";
/// [SendSms] request domain (nearest-region access point).
pub const DEFAULT_ENDPOINT: &str = "https://sms.tencentcloudapi.com";
/// [SigV3] JSON protocol content type, signed exactly as sent.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";
/// [SigV3] headers covered by the signature, lowercase, ASCII-sorted, `;`-joined.
pub const SIGNED_HEADERS: &str = "content-type;host";
/// [SigV3] allowed clock difference between X-TC-Timestamp and the server (five minutes).
pub const MAX_SKEW_SECS: i64 = 300;

/// Credentials and fixed SendSms parameters for one SMS application.
#[derive(Clone)]
pub struct TencentSms {
    pub secret_id: String,
    pub secret_key: String,
    pub region: String,
    pub sdk_app_id: String,
    pub sign_name: String,
    pub template_id: String,
    /// Base URL, default [`DEFAULT_ENDPOINT`]; overridable for a local test server.
    pub endpoint: String,
}

impl std::fmt::Debug for TencentSms {
    /// Debug output that leaves out the secret key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (id, app, ep) = (&self.secret_id, &self.sdk_app_id, &self.endpoint);
        write!(
            f,
            "TencentSms {{ secret_id: {id}, sdk_app_id: {app}, endpoint: {ep}, .. }}"
        )
    }
}

impl TencentSms {
    /// URL to POST to: the endpoint with path `/` ([SigV3]: CanonicalURI is always `/`).
    pub fn url(&self) -> String {
        format!("{}/", self.endpoint.trim_end_matches('/'))
    }

    /// [SendSms] JSON body: PhoneNumberSet (E.164), SmsSdkAppId, SignName, TemplateId, TemplateParamSet.
    pub fn send_sms_body(&self, phone_e164: &str, params: &[&str]) -> String {
        // Keys written in ASCII order so the text is identical with or without serde_json's
        // `preserve_order`; the signature covers these exact bytes.
        serde_json::json!({
            "PhoneNumberSet": [phone_e164],
            "SignName": self.sign_name,
            "SmsSdkAppId": self.sdk_app_id,
            "TemplateId": self.template_id,
            "TemplateParamSet": params,
        })
        .to_string()
    }

    /// All headers for the POST of `payload` at `timestamp` (Unix seconds), Authorization included.
    pub fn request_headers(&self, payload: &str, timestamp: i64) -> Vec<(String, String)> {
        let host = host_of(&self.endpoint);
        let (key, id) = (&self.secret_key, &self.secret_id);
        let auth = sign(key, id, SERVICE, &host, ACTION, payload, timestamp);
        [
            ("Authorization", auth),
            ("Content-Type", CONTENT_TYPE.to_owned()),
            ("Host", host),
            ("X-TC-Action", ACTION.to_owned()),
            ("X-TC-Timestamp", timestamp.to_string()),
            ("X-TC-Version", VERSION.to_owned()),
            ("X-TC-Region", self.region.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// Host (and port) of a base URL such as `https://sms.tencentcloudapi.com` or `http://127.0.0.1:8080/`.
pub fn host_of(endpoint: &str) -> String {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).trim().to_ascii_lowercase()
}

/// UTC calendar date `YYYY-MM-DD` of a Unix timestamp ([SigV3]: Date is UTC+0, from X-TC-Timestamp).
pub fn utc_date(timestamp: i64) -> String {
    // Days-to-civil conversion (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"); total.
    let z = timestamp.div_euclid(86_400) + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Lowercase hex SHA-256 ([SigV3]: Lowercase(HexEncode(Hash.SHA256(x)))).
fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// HMAC-SHA256 of `msg` under `key`.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            Mac::update(&mut mac, msg);
            Mac::finalize(mac).into_bytes().into()
        }
        // HMAC accepts keys of any length, so this arm is unreachable.
        Err(_) => [0u8; 32],
    }
}

/// [SigV3] full Authorization header value for a JSON POST (X-TC-Action is not a signed header).
pub fn sign(
    secret_key: &str,
    secret_id: &str,
    service: &str,
    host: &str,
    _action: &str,
    payload: &str,
    timestamp: i64,
) -> String {
    // 1. CanonicalRequest: method, URI "/", empty query, canonical headers (lowercase key:value, sorted),
    //    signed headers, hex SHA-256 of the payload.
    let host = host.trim().to_ascii_lowercase();
    let hashed_payload = sha256_hex(payload.as_bytes());
    let canonical_request =
        format!("POST\n/\n\ncontent-type:{CONTENT_TYPE}\nhost:{host}\n\n{SIGNED_HEADERS}\n{hashed_payload}");
    // 2. StringToSign: algorithm, timestamp, Date/service/tc3_request, hex SHA-256 of the canonical request.
    let date = utc_date(timestamp);
    let scope = format!("{date}/{service}/tc3_request");
    let hashed_request = sha256_hex(canonical_request.as_bytes());
    let string_to_sign = format!("{ALGORITHM}\n{timestamp}\n{scope}\n{hashed_request}");
    // 3. Derived key: HMAC("TC3"+SecretKey, Date) -> Service -> "tc3_request"; hex signature.
    let k_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac_sha256(&k_date, service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"tc3_request");
    let signature = hex::encode(hmac_sha256(&k_signing, string_to_sign.as_bytes()));
    // 4. Authorization header value.
    format!("{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}")
}

/// [SigV3] error if `timestamp` is more than [`MAX_SKEW_SECS`] away from `now` (AuthFailure.SignatureExpire).
pub fn check_timestamp(timestamp: i64, now: i64) -> Result<(), String> {
    if timestamp.abs_diff(now) > MAX_SKEW_SECS.unsigned_abs() {
        return Err("AuthFailure.SignatureExpire: timestamp differs from server time by over five minutes".into());
    }
    Ok(())
}

/// Server-side check of a SendSms request; Ok(secret id), or Err("<Tencent error code>: <message>").
pub fn verify(
    secret_key_of: impl Fn(&str) -> Option<String>,
    headers: &[(String, String)],
    payload: &str,
) -> Result<String, String> {
    let required = |name: &str| match headers.iter().find(|(k, _)| k.trim().eq_ignore_ascii_case(name)) {
        Some((_, v)) => Ok(v.trim()),
        None => Err(format!("MissingParameter: header {name} is missing")),
    };
    let auth = required("Authorization")?;
    let host = required("Host")?;
    let timestamp: i64 = required("X-TC-Timestamp")?
        .parse()
        .map_err(|_| "InvalidParameter: X-TC-Timestamp is not an integer".to_owned())?;
    // Content-Type is signed; Action, Version and Region are not, so they are checked here explicitly.
    for (name, want, code) in [
        ("Content-Type", CONTENT_TYPE, "InvalidParameter"),
        ("X-TC-Action", ACTION, "InvalidAction"),
        ("X-TC-Version", VERSION, "NoSuchVersion"),
    ] {
        if !required(name)?.eq_ignore_ascii_case(want) {
            return Err(format!("{code}: {name} must be {want}"));
        }
    }
    if required("X-TC-Region")?.is_empty() {
        return Err("MissingParameter: X-TC-Region is empty".into());
    }
    let invalid = || "AuthFailure.InvalidAuthorization: malformed Authorization header".to_owned();
    let credential = auth
        .strip_prefix("TC3-HMAC-SHA256 Credential=")
        .and_then(|r| r.split(',').next());
    let parts: Vec<&str> = credential.ok_or_else(invalid)?.split('/').collect();
    let &[secret_id, date, SERVICE, "tc3_request"] = parts.as_slice() else {
        return Err(invalid());
    };
    if date != utc_date(timestamp) {
        return Err("AuthFailure.SignatureFailure: credential date is not the UTC date of X-TC-Timestamp".into());
    }
    let secret_key =
        secret_key_of(secret_id).ok_or_else(|| "AuthFailure.SecretIdNotFound: unknown SecretId".to_owned())?;
    let expected = sign(&secret_key, secret_id, SERVICE, host, ACTION, payload, timestamp);
    if bool::from(expected.as_bytes().ct_eq(auth.as_bytes())) {
        Ok(secret_id.to_owned())
    } else {
        Err("AuthFailure.SignatureFailure: the provided credentials could not be validated".into())
    }
}

/// Ok only when the body is a SendSms response whose every SendStatusSet entry has Code "Ok".
pub fn parse_response(body: &str) -> Result<(), String> {
    // [SendSms] {"Response":{"SendStatusSet":[{"Code":..}],"RequestId":..}}; [Errors] {"Response":{"Error":{..}}}.
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("unparseable SendSms response: {e}"))?;
    let r = &v["Response"];
    let text = |x: &serde_json::Value, key: &str| x[key].as_str().unwrap_or_default().to_owned();
    let request_id = text(r, "RequestId");
    if !r.is_object() {
        return Err("SendSms response has no Response object".into());
    }
    if !r["Error"].is_null() {
        let error = [text(&r["Error"], "Code"), text(&r["Error"], "Message")].join(": ");
        return Err(format!("{error} (RequestId {request_id})"));
    }
    let statuses = r["SendStatusSet"].as_array().cloned().unwrap_or_default();
    let failed: Vec<String> = statuses
        .iter()
        .filter(|&s| text(s, "Code") != "Ok")
        .map(|s| [text(s, "PhoneNumber"), text(s, "Code"), text(s, "Message")].join(": "))
        .collect();
    match (statuses.is_empty(), failed.is_empty()) {
        (true, _) => Err(format!("no SendStatusSet in SendSms response (RequestId {request_id})")),
        (false, true) => Ok(()),
        (false, false) => Err(format!("{} (RequestId {request_id})", failed.join("; "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
    const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";

    /// The SendSms example's application (SdkAppId 1400006666, sign 腾讯云, template 1110).
    fn client() -> TencentSms {
        TencentSms {
            secret_id: ID.into(),
            secret_key: KEY.into(),
            region: "ap-guangzhou".into(),
            sdk_app_id: "1400006666".into(),
            sign_name: "腾讯云".into(),
            template_id: "1110".into(),
            endpoint: DEFAULT_ENDPOINT.into(),
        }
    }

    /// Secret-key lookup of the test gateway: knows only the example key pair.
    fn keys(id: &str) -> Option<String> {
        (id == ID).then(|| KEY.to_owned())
    }

    /// [SigV3] worked example reproduced byte for byte.
    #[test]
    fn reproduces_the_published_signature_v3_example() {
        // [SigV3] section 4: expected payload hash, canonical-request hash and signature.
        let payload = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        assert_eq!(
            sha256_hex(payload.as_bytes()),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(utc_date(1551113065), "2019-02-25");
        let (host, action) = ("cvm.tencentcloudapi.com", "DescribeInstances");
        let auth = sign(KEY, ID, "cvm", host, action, payload, 1551113065);
        assert_eq!(
            auth,
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, \
             SignedHeaders=content-type;host, \
             Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    /// SendSms body and Authorization agree with a Python hashlib/hmac computation.
    #[test]
    fn send_sms_body_and_signature_match_an_independent_python_computation() {
        let body = client().send_sms_body("+8618501234444", &["4370"]);
        assert_eq!(
            body,
            concat!(
                r#"{"PhoneNumberSet":["+8618501234444"],"SignName":"腾讯云","SmsSdkAppId":"1400006666","#,
                r#""TemplateId":"1110","TemplateParamSet":["4370"]}"#
            )
        );
        let headers = client().request_headers(&body, 1551113065);
        assert_eq!(
            headers[0].1,
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/sms/tc3_request, \
             SignedHeaders=content-type;host, \
             Signature=cc7ce320188e64a9fab50fc63ff9530ec522ab6819cef1ec04c22cabf9e836a6"
        );
        assert!(headers.contains(&("Host".into(), "sms.tencentcloudapi.com".into())));
        assert!(headers.contains(&("X-TC-Version".into(), "2021-01-11".into())));
    }

    /// Date in the credential scope is the UTC date.
    #[test]
    fn utc_date_uses_utc_not_local_time() {
        // [SigV3] note: 1551113065 is 2019-02-26 00:44:25 at UTC+8 but the Date is 2019-02-25.
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_868_799), "2000-02-29");
        assert_eq!(utc_date(951_868_800), "2000-03-01");
        assert_eq!(utc_date(-1), "1969-12-31");
    }

    /// A request built by the client passes the gateway check.
    #[test]
    fn sign_then_verify_round_trips_against_a_local_endpoint() {
        let mut sms = client();
        sms.endpoint = "http://127.0.0.1:8080/".into();
        assert_eq!(sms.url(), "http://127.0.0.1:8080/");
        let body = sms.send_sms_body("+8618501234444", &["123456", "5"]);
        let headers = sms.request_headers(&body, 1_700_000_000);
        assert_eq!(verify(keys, &headers, &body), Ok(ID.to_owned()));
        assert!(check_timestamp(1_700_000_000, 1_700_000_299).is_ok());
        assert!(check_timestamp(1_700_000_000, 1_700_000_301).is_err());
    }

    /// Changed payload, timestamp, action, key or missing header fail the gateway check.
    #[test]
    fn verify_rejects_tampering_and_unknown_keys() {
        let sms = client();
        let body = sms.send_sms_body("+8618501234444", &["4370"]);
        let headers = sms.request_headers(&body, 1_700_000_000);
        let tampered = body.replace("4370", "4371");
        let err = verify(keys, &headers, &tampered).unwrap_err();
        assert!(err.starts_with("AuthFailure.SignatureFailure"), "{err}");
        let mut moved = headers.clone();
        moved[4].1 = "1700000001".into(); // X-TC-Timestamp changed, same UTC day
        let err = verify(keys, &moved, &body).unwrap_err();
        assert!(err.starts_with("AuthFailure.SignatureFailure"), "{err}");
        let err = verify(|_| None, &headers, &body).unwrap_err();
        assert!(err.starts_with("AuthFailure.SecretIdNotFound"), "{err}");
        let mut action = headers.clone();
        action[3].1 = "PullSmsSendStatus".into();
        assert!(verify(keys, &action, &body).unwrap_err().starts_with("InvalidAction"));
        let err = verify(keys, &headers[1..], &body).unwrap_err();
        assert!(err.starts_with("MissingParameter"), "{err}");
    }

    /// Success, per-number failure and common error examples from the docs.
    #[test]
    fn parses_documented_responses() {
        // [SendSms] example 1 (success), first of its two SendStatusSet entries.
        let ok = r#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1045710669157053657849499619",
            "PhoneNumber":"+8618501234444","Fee":1,"SessionContext":"outsid_1729495320_1011","Code":"Ok",
            "Message":"send success","IsoCode":"CN"}],"RequestId":"a0aabda6-cf91-4f3e-a81f-9198114a2279"}}"#;
        assert_eq!(parse_response(ok), Ok(()));
        // [SendSms] example 2: per-number failure inside a 200 response.
        let failed = r#"{"Response":{"SendStatusSet":[{"SerialNo":"","PhoneNumber":"+8618501234444","Fee":0,
            "SessionContext":"","Code":"FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
            "Message":"request content does not match the template content","IsoCode":""}],
            "RequestId":"4e394811-9ebd-4d66-98ee-730b21c4a681"}}"#;
        let err = parse_response(failed).unwrap_err();
        assert!(err.contains("+8618501234444: FailedOperation.TemplateParam"), "{err}");
        // [Errors] common error shape.
        let auth = r#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":
            "The provided credentials could not be validated. Please check your signature is correct."},
            "RequestId":"ed93f3cb-f35e-473f-b9f3-0d451b8b79c6"}}"#;
        let err = parse_response(auth).unwrap_err();
        assert!(err.starts_with("AuthFailure.SignatureFailure: The provided"), "{err}");
        assert!(err.contains("ed93f3cb-f35e-473f-b9f3-0d451b8b79c6"));
        assert!(parse_response(r#"{"Response":{"SendStatusSet":[],"RequestId":"x"}}"#).is_err());
        assert!(parse_response("not json").is_err());
    }
}
