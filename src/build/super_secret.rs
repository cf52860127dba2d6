//! The super-user Secret: the password the operator authenticates with for dynamic
//! reconfiguration, and its digest the members are started with. Pure; the controller
//! creates it once and never regenerates it (running members know only the old digest).
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, Secret, SecretKeySelector};

use super::labels::object_meta;
use crate::validate::ValidCluster;
use crate::zk::digest::super_digest_property;

pub const PASSWORD_KEY: &str = "password";
pub const DIGEST_KEY: &str = "superDigest";
/// The env var the pods get the digest in; `SERVER_JVMFLAGS` refers to it as `$(...)`.
pub const DIGEST_ENV: &str = "ZK_SUPER_DIGEST";

pub fn super_secret_name(cluster: &str) -> String {
    format!("{cluster}-zookeeper-super")
}

/// The Secret for a freshly generated `password`, owned by the cluster (garbage
/// collected with it).
pub fn super_secret(cluster: &ValidCluster, password: &str) -> Secret {
    Secret {
        metadata: object_meta(cluster, super_secret_name(&cluster.name)),
        type_: Some("Opaque".to_string()),
        string_data: Some(BTreeMap::from([
            (PASSWORD_KEY.to_string(), password.to_string()),
            (DIGEST_KEY.to_string(), super_digest_property(password)),
        ])),
        ..Secret::default()
    }
}

/// `ZK_SUPER_DIGEST` from the Secret: the digest reaches the pods, the password never does.
pub fn digest_env(cluster: &str) -> EnvVar {
    EnvVar {
        name: DIGEST_ENV.to_string(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: super_secret_name(cluster),
                key: DIGEST_KEY.to_string(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

/// The password from a Secret read back, if it holds one.
pub fn password(secret: &Secret) -> Option<String> {
    let bytes = secret.data.as_ref()?.get(PASSWORD_KEY)?;
    String::from_utf8(bytes.0.clone())
        .ok()
        .filter(|p| !p.is_empty())
}
