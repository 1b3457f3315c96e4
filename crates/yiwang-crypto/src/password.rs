//! Password hashing with Argon2id (RFC 9106), PHC string format. GB/T 22239-2019
//! §8.1.4.8 (等保 2.0 level 3, confidentiality of authentication data in storage): only
//! salted, memory-hard hashes are stored.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use std::sync::OnceLock;

/// Argon2id with the library's defaults (m = 19 MiB, t = 2, p = 1: OWASP's recommended
/// minimum for Argon2id).
fn hasher() -> Argon2<'static> {
    Argon2::default()
}

/// Hashes a password into a PHC string (`$argon2id$v=19$…`).
pub fn hash(password: &str) -> String {
    hasher()
        .hash_password(password.as_bytes())
        .expect("argon2id hashing with a random salt")
        .to_string()
}

/// Checks a password against a stored PHC string. A malformed hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    hasher().verify_password(password.as_bytes(), phc).is_ok()
}

/// Does the same work as a real check for an unknown login, so timing does not reveal
/// which logins exist.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let h = DUMMY.get_or_init(|| hash("dummy-password-for-timing"));
    let _ = verify(password, h);
}

#[cfg(test)]
mod tests {
    #[test]
    fn hash_and_verify() {
        let h = super::hash("Correct#Horse1");
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("Correct"));
        assert!(super::verify("Correct#Horse1", &h));
        assert!(!super::verify("Correct#Horse2", &h));
        assert!(!super::verify("Correct#Horse1", "not a hash"));
        assert_ne!(super::hash("Correct#Horse1"), h, "salted");
    }
}
