//! 国密 primitives for yiwang (DESIGN principle 6): SM3 hashing (GB/T 32905), SM2
//! signatures (GB/T 32918, with SM3 and the default distinguishing id of GB/T 35276), and
//! SM4-GCM authenticated encryption (GB/T 32907 in GCM mode) for data at rest.
//! Signing goes through the `Signer` trait so a hardware security module can replace the
//! software key.

pub mod keyed;
pub mod password;
pub mod totp;

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm3::Digest;
use zeroize::Zeroizing;

/// GB/T 35276-2017 §10.1: the default user identity for SM2 signatures.
pub const DEFAULT_DISTID: &str = "1234567812345678";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("malformed key: {0}")]
    Key(&'static str),
    #[error("signature is not valid")]
    BadSignature,
    #[error("decryption failed: wrong key or tampered data")]
    Decrypt,
    #[error("malformed ciphertext")]
    Ciphertext,
}

/// SM3 digest (GB/T 32905-2016).
pub fn sm3(data: &[u8]) -> [u8; 32] {
    sm3::Sm3::digest(data).into()
}

/// Something that signs with SM2: the software key below, or an HSM.
pub trait Signer: Send + Sync {
    /// The public key, SEC1 uncompressed (65 bytes, 0x04 || x || y).
    fn public_key(&self) -> Vec<u8>;
    /// An SM2 signature with SM3 over `msg` (the Z value includes `DEFAULT_DISTID`),
    /// DER-encoded (GB/T 35276 §7.2 SM2Signature).
    fn sign(&self, msg: &[u8]) -> Vec<u8>;
}

/// An SM2 key pair held in memory.
pub struct SoftKey {
    key: sm2::dsa::SigningKey,
}

impl SoftKey {
    pub fn generate() -> Self {
        let secret = sm2::SecretKey::generate();
        Self {
            key: sm2::dsa::SigningKey::new(DEFAULT_DISTID, &secret).expect("distid is valid"),
        }
    }

    /// From the 32-byte private scalar.
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let key = sm2::dsa::SigningKey::from_slice(DEFAULT_DISTID, bytes)
            .map_err(|_| CryptoError::Key("not a valid SM2 private key"))?;
        Ok(Self { key })
    }

    /// The 32-byte private scalar (zeroed when dropped).
    pub fn secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.key.to_bytes().to_vec())
    }

    /// PKCS#8 PEM of the private key, for interchange with other tools (OpenSSL).
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        use sm2::pkcs8::{EncodePrivateKey, LineEnding};
        let sk = sm2::SecretKey::from_slice(&self.key.to_bytes()).expect("valid key");
        Zeroizing::new(sk.to_pkcs8_pem(LineEnding::LF).expect("encodable").to_string())
    }
}

impl Signer for SoftKey {
    fn public_key(&self) -> Vec<u8> {
        self.key.verifying_key().to_sec1_bytes().to_vec()
    }
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let sig: sm2::dsa::Signature = self.key.sign(msg);
        sig.to_der().to_vec()
    }
}

/// A SEC1 public key as SubjectPublicKeyInfo PEM, for verifiers using other tools
/// (e.g. `openssl pkeyutl -verify -pubin`).
pub fn public_key_pem(sec1: &[u8]) -> Result<String, CryptoError> {
    use sm2::pkcs8::{EncodePublicKey, LineEnding};
    let pk = sm2::PublicKey::from_sec1_bytes(sec1).map_err(|_| CryptoError::Key("not a valid SM2 public key"))?;
    pk.to_public_key_pem(LineEnding::LF)
        .map_err(|_| CryptoError::Key("not encodable"))
}

/// Verifies a DER-encoded SM2/SM3 signature against a SEC1 public key.
///
/// A verification that succeeded is remembered by the SM3 of its three inputs (each
/// length-prefixed), so checking the same signature of the same bytes by the same key again
/// — a licence verified at every scan of its QR code — costs a hash instead of the SM2
/// arithmetic; the answer cannot differ, since it depends on those bytes only. Failures are
/// never remembered. At most [`VERIFIED_MAX`] are kept; past that the memory starts again.
pub fn verify(public_key: &[u8], msg: &[u8], sig_der: &[u8]) -> Result<(), CryptoError> {
    let key = verified_key(public_key, msg, sig_der);
    if verified().lock().map(|v| v.contains(&key)).unwrap_or(false) {
        return Ok(());
    }
    verify_uncached(public_key, msg, sig_der)?;
    if let Ok(mut v) = verified().lock() {
        if v.len() >= VERIFIED_MAX {
            v.clear();
        }
        v.insert(key);
    }
    Ok(())
}

/// Verifies without the memory of earlier verifications (always the SM2 arithmetic).
pub fn verify_uncached(public_key: &[u8], msg: &[u8], sig_der: &[u8]) -> Result<(), CryptoError> {
    let vk = sm2::dsa::VerifyingKey::from_sec1_bytes(DEFAULT_DISTID, public_key)
        .map_err(|_| CryptoError::Key("not a valid SM2 public key"))?;
    let sig = sm2::dsa::Signature::from_der(sig_der).map_err(|_| CryptoError::BadSignature)?;
    vk.verify(msg, &sig).map_err(|_| CryptoError::BadSignature)
}

/// How many successful verifications are remembered (32 bytes each).
pub const VERIFIED_MAX: usize = 65_536;

fn verified() -> &'static std::sync::Mutex<std::collections::HashSet<[u8; 32]>> {
    static V: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<[u8; 32]>>> = std::sync::OnceLock::new();
    V.get_or_init(Default::default)
}

fn verified_key(public_key: &[u8], msg: &[u8], sig_der: &[u8]) -> [u8; 32] {
    let mut h = sm3::Sm3::new();
    for part in [public_key, msg, sig_der] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

/// A 128-bit SM4 key.
#[derive(Clone)]
pub struct Sm4Key(Zeroizing<[u8; 16]>);

impl std::fmt::Debug for Sm4Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sm4Key(<redacted>)")
    }
}

impl Sm4Key {
    pub fn generate() -> Self {
        let mut k = [0u8; 16];
        rand::fill(&mut k);
        Self(Zeroizing::new(k))
    }
    pub fn from_bytes(b: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; 16] = b.try_into().map_err(|_| CryptoError::Key("an SM4 key has 16 bytes"))?;
        Ok(Self(Zeroizing::new(arr)))
    }
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(*self.0))
    }
    pub fn from_hex(s: &str) -> Result<Self, CryptoError> {
        let b = Zeroizing::new(hex::decode(s.trim()).map_err(|_| CryptoError::Key("an SM4 key is 32 hex digits"))?);
        Self::from_bytes(&b)
    }

    /// SM4-GCM encryption: returns nonce (12 bytes) || ciphertext || tag (16 bytes).
    /// `aad` binds the ciphertext to its context (e.g. table and row id).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let cipher = Sm4Gcm::new((&*self.0).into());
        let nonce = aes_gcm::Nonce::<U12>::generate();
        let ct = cipher
            .encrypt(&nonce, Payload { msg: plaintext, aad })
            .expect("SM4-GCM encryption");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        out
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < 12 + 16 {
            return Err(CryptoError::Ciphertext);
        }
        let (nonce, ct) = sealed.split_at(12);
        let cipher = Sm4Gcm::new((&*self.0).into());
        let nonce = aes_gcm::Nonce::<U12>::try_from(nonce).map_err(|_| CryptoError::Ciphertext)?;
        cipher
            .decrypt(&nonce, Payload { msg: ct, aad })
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm3_standard_vector() {
        // GB/T 32905-2016 Appendix A.1: SM3("abc").
        assert_eq!(
            hex::encode(sm3(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn sign_verify_and_tamper() {
        let k = SoftKey::generate();
        let sig = k.sign(b"hello");
        verify(&k.public_key(), b"hello", &sig).unwrap();
        assert_eq!(verify(&k.public_key(), b"hellp", &sig), Err(CryptoError::BadSignature));
        let other = SoftKey::generate();
        assert_eq!(
            verify(&other.public_key(), b"hello", &sig),
            Err(CryptoError::BadSignature)
        );
        let again = SoftKey::from_secret_bytes(&k.secret_bytes()).unwrap();
        assert_eq!(again.public_key(), k.public_key());
    }

    #[test]
    fn a_remembered_verification_answers_only_for_the_same_bytes() {
        let k = SoftKey::generate();
        let sig = k.sign(b"licence");
        // Verified once (and remembered), then again from memory.
        verify(&k.public_key(), b"licence", &sig).unwrap();
        verify(&k.public_key(), b"licence", &sig).unwrap();
        // Any other message, key or signature is verified afresh and fails.
        assert_eq!(
            verify(&k.public_key(), b"licencf", &sig),
            Err(CryptoError::BadSignature)
        );
        let other = SoftKey::generate();
        assert_eq!(
            verify(&other.public_key(), b"licence", &sig),
            Err(CryptoError::BadSignature)
        );
        let mut forged = sig.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(verify(&k.public_key(), b"licence", &forged).is_err());
        // The inputs are length-prefixed: moving bytes between them is not the same entry.
        let mut joined = k.public_key();
        joined.extend_from_slice(b"l");
        assert!(verify(&joined, b"icence", &sig).is_err());
        // Failures are not remembered: the failing triple fails again.
        assert_eq!(
            verify(&k.public_key(), b"licencf", &sig),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn sm4_gcm_round_trip_and_tamper() {
        let key = Sm4Key::generate();
        let sealed = key.seal(b"460100199001011234", b"person:1");
        assert_eq!(&**key.open(&sealed, b"person:1").unwrap(), b"460100199001011234");
        assert_eq!(key.open(&sealed, b"person:2").unwrap_err(), CryptoError::Decrypt);
        let mut bad = sealed.clone();
        bad[20] ^= 1;
        assert_eq!(key.open(&bad, b"person:1").unwrap_err(), CryptoError::Decrypt);
        assert_eq!(
            Sm4Key::generate().open(&sealed, b"person:1").unwrap_err(),
            CryptoError::Decrypt
        );
    }

    /// Interop with stock OpenSSL 3 in both directions, whenever openssl is installed.
    #[test]
    fn openssl_interop() {
        let Ok(out) = std::process::Command::new("openssl").arg("version").output() else {
            eprintln!("openssl not installed: interop test not run");
            return;
        };
        assert!(out.status.success());
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let k = SoftKey::generate();
        std::fs::write(dir.join("key.pem"), k.to_pkcs8_pem().as_bytes()).unwrap();
        std::fs::write(dir.join("msg"), b"yiwang interop").unwrap();
        std::fs::write(dir.join("sig"), k.sign(b"yiwang interop")).unwrap();
        let run = |args: &[&str]| {
            std::process::Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .unwrap()
        };
        let o = run(&["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // Our SubjectPublicKeyInfo PEM is what OpenSSL derives from the private key.
        assert_eq!(
            public_key_pem(&k.public_key()).unwrap(),
            std::fs::read_to_string(dir.join("pub.pem")).unwrap()
        );
        // Ours → OpenSSL verifies.
        let o = run(&[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "pub.pem",
            "-rawin",
            "-in",
            "msg",
            "-sigfile",
            "sig",
            "-digest",
            "sm3",
            "-pkeyopt",
            "distid:1234567812345678",
        ]);
        assert!(
            o.status.success(),
            "openssl rejected our signature: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        // OpenSSL signs → ours verifies.
        let o = run(&[
            "pkeyutl",
            "-sign",
            "-inkey",
            "key.pem",
            "-rawin",
            "-in",
            "msg",
            "-out",
            "sig2",
            "-digest",
            "sm3",
            "-pkeyopt",
            "distid:1234567812345678",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let sig2 = std::fs::read(dir.join("sig2")).unwrap();
        verify(&k.public_key(), b"yiwang interop", &sig2).unwrap();
    }
}
