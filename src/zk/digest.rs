//! The ZooKeeper super-user credential: a generated password and its digest, pure.
//!
//! The members are started with
//! `-Dzookeeper.DigestAuthenticationProvider.superDigest=super:<digest>`; the operator keeps
//! the password in a Secret and authenticates with `addAuth digest super:<password>`, which
//! ZooKeeper hashes the same way (`DigestAuthenticationProvider.generateDigest`):
//! `base64(sha1("super:" + password))`. A super session may reconfigure without `skipACL`.
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha1::{Digest, Sha1};

/// The user name ZooKeeper treats as super when the digest matches.
pub const SUPER_USER: &str = "super";

/// `base64(sha1("<user>:<password>"))`, as `DigestAuthenticationProvider` computes it.
pub fn digest(user: &str, password: &str) -> String {
    let mut h = Sha1::new();
    h.update(user.as_bytes());
    h.update(b":");
    h.update(password.as_bytes());
    STANDARD.encode(h.finalize())
}

/// The value of the JVM property `zookeeper.DigestAuthenticationProvider.superDigest`.
pub fn super_digest_property(password: &str) -> String {
    format!("{SUPER_USER}:{}", digest(SUPER_USER, password))
}

/// The `addAuth` payload for scheme `digest`: `super:<password>`.
pub fn super_auth(password: &str) -> Vec<u8> {
    format!("{SUPER_USER}:{password}").into_bytes()
}

/// A new random password: 24 bytes from the OS CSPRNG, base64url (32 characters). The
/// alphabet avoids `:` (the digest's separator), quotes and spaces, so it survives
/// `JVMFLAGS` and shell quoting unchanged.
pub fn generate_password() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed with ZooKeeper 3.8.0's own
    // `java org.apache.zookeeper.server.auth.DigestAuthenticationProvider super:pw 'super:s3cr3t-P@ss'`.
    #[test]
    fn matches_zookeeper_digest_provider() {
        assert_eq!(digest("super", "pw"), "0bX78nEegDzJM3ju0iLBEJdWzjg=");
        assert_eq!(
            super_digest_property("s3cr3t-P@ss"),
            "super:asjqFfUDwHsRObGFT4w4ka5bjyY="
        );
        assert_eq!(super_auth("pw"), b"super:pw");
    }

    #[test]
    fn generated_passwords_are_long_safe_and_distinct() {
        let a = generate_password().unwrap();
        let b = generate_password().unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
}
