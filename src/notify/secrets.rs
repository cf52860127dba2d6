//! Credentials: resolved from Secret references, redacted in every Debug output.
use std::collections::BTreeMap;
use std::future::Future;

use crate::api::SecretKeyRef;

/// A secret value. `Debug` prints `<redacted>`; only [`SecretString::expose`] reveals it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why a credential could not be read; names the Secret and key, never the value.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("Secret {namespace}/{name} not found")]
    NotFound { namespace: String, name: String },
    #[error("Secret {namespace}/{name} has no key {key}")]
    NoKey {
        namespace: String,
        name: String,
        key: String,
    },
    #[error("Secret {namespace}/{name} key {key} is empty or not UTF-8 text")]
    Malformed {
        namespace: String,
        name: String,
        key: String,
    },
    #[error("Secret {namespace}/{name} cannot be read: {detail}")]
    Unreadable {
        namespace: String,
        name: String,
        detail: String,
    },
}

/// Where credentials come from: the Kubernetes API in the operator, a map in tests.
pub trait SecretResolver: Send + Sync {
    fn resolve(
        &self,
        namespace: &str,
        reference: &SecretKeyRef,
    ) -> impl Future<Output = Result<SecretString, SecretError>> + Send;
}

/// Turns a Secret's raw data into a credential: UTF-8, trimmed of a trailing newline
/// (`kubectl create secret --from-file` keeps it), not empty.
pub fn decode(
    namespace: &str,
    reference: &SecretKeyRef,
    data: Option<&[u8]>,
) -> Result<SecretString, SecretError> {
    let Some(bytes) = data else {
        return Err(SecretError::NoKey {
            namespace: namespace.into(),
            name: reference.name.clone(),
            key: reference.key.clone(),
        });
    };
    match std::str::from_utf8(bytes).map(|s| s.trim_end_matches(['\n', '\r'])) {
        Ok(s) if !s.is_empty() => Ok(SecretString::new(s)),
        _ => Err(SecretError::Malformed {
            namespace: namespace.into(),
            name: reference.name.clone(),
            key: reference.key.clone(),
        }),
    }
}

/// Secrets from memory: `(namespace, name) -> key -> bytes`. For tests and tools.
#[derive(Debug, Clone, Default)]
pub struct StaticSecrets(pub BTreeMap<(String, String), BTreeMap<String, Vec<u8>>>);

impl StaticSecrets {
    pub fn with(mut self, namespace: &str, name: &str, key: &str, value: &str) -> Self {
        self.0
            .entry((namespace.into(), name.into()))
            .or_default()
            .insert(key.into(), value.as_bytes().to_vec());
        self
    }
}

impl SecretResolver for StaticSecrets {
    async fn resolve(
        &self,
        namespace: &str,
        reference: &SecretKeyRef,
    ) -> Result<SecretString, SecretError> {
        let secret = self
            .0
            .get(&(namespace.to_string(), reference.name.clone()))
            .ok_or_else(|| SecretError::NotFound {
                namespace: namespace.into(),
                name: reference.name.clone(),
            })?;
        decode(
            namespace,
            reference,
            secret.get(&reference.key).map(Vec::as_slice),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = SecretString::new("hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn decode_trims_newline_and_rejects_empty_or_binary() {
        let r = SecretKeyRef {
            name: "s".into(),
            key: "k".into(),
        };
        assert_eq!(
            decode("ns", &r, Some(b"tok\n")).map(|s| s.expose().to_string()),
            Ok("tok".to_string())
        );
        assert!(matches!(
            decode("ns", &r, Some(b"\n")),
            Err(SecretError::Malformed { .. })
        ));
        assert!(matches!(
            decode("ns", &r, Some(&[0xff, 0xfe])),
            Err(SecretError::Malformed { .. })
        ));
        assert!(matches!(
            decode("ns", &r, None),
            Err(SecretError::NoKey { .. })
        ));
    }
}
