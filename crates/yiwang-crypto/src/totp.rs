//! Time-based one-time passwords: HOTP (RFC 4226) over HMAC-SHA1 with 30-second steps
//! (RFC 6238), the algorithm every authenticator app implements. The second factor that
//! GB/T 22239-2019 §8.1.4.1 d) asks of staff logins.

use hmac::{Hmac, KeyInit, Mac};

/// RFC 6238 §4: the default time step, in seconds.
pub const STEP_SECONDS: i64 = 30;
/// Secret length in bytes (RFC 4226 §4 R6 recommends 160 bits).
pub const SECRET_LEN: usize = 20;

/// A fresh random secret.
pub fn generate_secret() -> Vec<u8> {
    let mut s = vec![0u8; SECRET_LEN];
    rand::fill(&mut s[..]);
    s
}

/// RFC 4226 §5.3: HOTP value of `counter`, 6 digits.
pub fn hotp(secret: &[u8], counter: u64) -> String {
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[19] & 0x0f) as usize;
    let bin = ((h[offset] as u32 & 0x7f) << 24)
        | ((h[offset + 1] as u32) << 16)
        | ((h[offset + 2] as u32) << 8)
        | (h[offset + 3] as u32);
    format!("{:06}", bin % 1_000_000)
}

/// The time step of a Unix time in seconds.
pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The step (within one step of clock drift either way, RFC 6238 §5.2) whose code equals
/// `code`, if any. Replay checking is the caller's: see `yiwang_core::auth::check_totp_step`.
pub fn matching_step(secret: &[u8], code: &str, unix_seconds: i64) -> Option<i64> {
    let now = step_of(unix_seconds);
    let mut found = None;
    for step in [now - 1, now, now + 1] {
        // Compare every candidate (no early exit), in constant time per comparison.
        let c = hotp(secret, step as u64);
        if subtle_eq(c.as_bytes(), code.as_bytes()) {
            found = Some(step);
        }
    }
    found
}

fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Base32 (RFC 4648, no padding) as authenticator apps expect secrets.
pub fn base32(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

pub fn from_base32(s: &str) -> Option<Vec<u8>> {
    let clean: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    data_encoding::BASE32_NOPAD
        .decode(clean.trim_end_matches('=').as_bytes())
        .ok()
}

/// The `otpauth://` URI (Key Uri Format) that authenticator apps read from a QR code.
pub fn provisioning_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={STEP_SECONDS}",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4226_appendix_d_vectors() {
        let secret = b"12345678901234567890";
        let expect = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489",
        ];
        for (i, e) in expect.iter().enumerate() {
            assert_eq!(hotp(secret, i as u64), *e);
        }
    }

    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        let secret = b"12345678901234567890";
        // RFC 6238 lists 8-digit values; their last 6 digits are the 6-digit codes.
        for (t, eight) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
        ] {
            assert_eq!(hotp(secret, step_of(t) as u64), eight[2..]);
            assert_eq!(matching_step(secret, &eight[2..], t), Some(step_of(t)));
        }
        assert_eq!(
            matching_step(secret, "000000", 59).filter(|_| hotp(secret, 1) != "000000"),
            None
        );
    }

    #[test]
    fn drift_of_one_step_is_accepted_two_is_not() {
        let s = generate_secret();
        let t = 1_800_000_000;
        let code = hotp(&s, step_of(t) as u64);
        assert_eq!(matching_step(&s, &code, t + 30), Some(step_of(t)));
        assert_eq!(matching_step(&s, &code, t - 30), Some(step_of(t)));
        // Two steps later the code is outside the window (unless a later code collides).
        if (1..=3).all(|d| hotp(&s, (step_of(t) + d) as u64) != code) {
            assert_eq!(matching_step(&s, &code, t + 60), None);
        }
        assert_eq!(from_base32(&base32(&s)).unwrap(), s);
        assert!(provisioning_uri("yiwang", "hk.clerk", &s).starts_with("otpauth://totp/yiwang:hk.clerk?secret="));
    }
}
