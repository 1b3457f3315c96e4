//! The QR payload: verifiable offline with the trust list.

use super::*;

// ---------------------------------------------------------------------------------------
// The QR payload: verifiable offline with the trust list
// ---------------------------------------------------------------------------------------

/// What the QR code on a licence carries (compact, signed by the same seal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrClaims {
    /// Licence identifier.
    pub i: String,
    /// Type name.
    pub t: String,
    /// Number on the face.
    pub n: String,
    /// Holder name.
    pub h: String,
    /// Holder code, masked for a person.
    pub c: String,
    /// Issuer credit code.
    pub s: String,
    /// Valid until (YYYY-MM-DD; empty: permanent).
    pub u: String,
    /// SM3 of the licence data's canonical bytes (hex): binds the code to the full data.
    pub d: String,
    /// Signing key.
    pub k: String,
    /// Signed at (epoch ms).
    pub a: i64,
}

pub const QR_PREFIX: &str = "YWL1";

/// The bytes a QR payload's signature covers.
pub fn qr_signed_bytes(claims_b64: &str) -> Vec<u8> {
    format!("{QR_PREFIX}.{claims_b64}").into_bytes()
}

/// Why a QR payload cannot be read, in Chinese and English (shown to whoever scanned it).
pub type QrProblem = (String, String);

fn unreadable(zh: &str, en: &str) -> QrProblem {
    (zh.to_string(), en.to_string())
}

/// Splits a compact payload `YWL1.<claims>.<signature>` (base64url, no padding).
pub fn parse_qr(payload: &str) -> Result<(QrClaims, String, Vec<u8>), QrProblem> {
    let mut parts = payload.trim().split('.');
    let (Some(prefix), Some(claims_b64), Some(sig_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unreadable("这不是电子证照二维码", "this is not an e-licence QR code"));
    };
    if prefix != QR_PREFIX {
        return Err(unreadable(
            "二维码版本不受支持，请用最新的核验页面",
            "this QR code's version is not supported",
        ));
    }
    let damaged = || {
        unreadable(
            "二维码内容不完整或被改动",
            "the QR code is incomplete or has been altered",
        )
    };
    let claims = b64url_decode(claims_b64).ok_or_else(damaged)?;
    let claims: QrClaims = serde_json::from_slice(&claims).map_err(|_| damaged())?;
    let sig = b64url_decode(sig_b64).ok_or_else(damaged)?;
    Ok((claims, claims_b64.to_string(), sig))
}

pub(super) const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// RFC 4648 §5 base64url without padding.
pub fn b64url_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(B64URL[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut n = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = B64URL.iter().position(|&x| x == c)? as u32;
        n = (n << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((n >> bits) as u8);
            n &= (1 << bits) - 1;
        }
    }
    if bits >= 6 { None } else { Some(out) }
}
