//! Fetches the ConfigMaps and Secrets a pod refers to (env, envFrom, volumes), so env
//! assembly and volume writing stay pure. A missing object is `None`, and the caller
//! decides whether its reference was optional.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, Client};
use std::collections::BTreeMap;

/// Key -> bytes of one ConfigMap (data and binaryData) or Secret (data).
pub type KeyData = BTreeMap<String, Vec<u8>>;

pub async fn config_map(client: &Client, ns: &str, name: &str) -> anyhow::Result<Option<KeyData>> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    Ok(api.get_opt(name).await?.map(|cm| {
        let mut out: KeyData = cm
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.into_bytes()))
            .collect();
        for (k, v) in cm.binary_data.unwrap_or_default() {
            out.insert(k, v.0);
        }
        out
    }))
}

pub async fn secret(client: &Client, ns: &str, name: &str) -> anyhow::Result<Option<KeyData>> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    Ok(api.get_opt(name).await?.map(|s| {
        s.data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect()
    }))
}
