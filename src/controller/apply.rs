//! Server-side apply of the desired objects under one field manager, skipping objects that
//! are already as desired (so a settled cluster costs no API writes), and deletion of
//! orphans: objects labelled as the cluster's that it no longer wants.
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Mutex;

use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::act::{ActError, Result};
use crate::build::labels::MANAGER;

/// What the operator last applied to an object, and the object's version right after.
/// An object is re-applied when either side moved: the desired state, or the live object
/// (someone edited it: a new generation, or a new resourceVersion for kinds without one).
#[derive(Default)]
pub struct AppliedCache {
    entries: Mutex<HashMap<String, (String, String)>>,
}

impl AppliedCache {
    fn is_current(&self, key: &str, desired_hash: &str, live_marker: &str) -> bool {
        self.entries
            .lock()
            .map(|e| {
                e.get(key)
                    .is_some_and(|(h, m)| h == desired_hash && m == live_marker)
            })
            .unwrap_or(false)
    }

    fn record(&self, key: String, desired_hash: String, live_marker: String) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(key, (desired_hash, live_marker));
        }
    }

    /// Forgets the objects of clusters for which `keep(namespace, cluster)` is false
    /// (deleted clusters), so the cache does not grow with every cluster ever seen.
    pub fn retain_clusters(&self, keep: impl Fn(&str, &str) -> bool) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|key, _| {
                let mut parts = key.splitn(3, '/');
                match (parts.next(), parts.next()) {
                    (Some(ns), Some(cluster)) => keep(ns, cluster),
                    _ => false,
                }
            });
        }
    }
}

fn live_marker<K: Resource>(object: &K) -> String {
    let meta = object.meta();
    match meta.generation {
        Some(generation) if generation > 0 => format!("g{generation}"),
        _ => format!("rv{}", meta.resource_version.as_deref().unwrap_or_default()),
    }
}

fn hash<K: Serialize>(object: &K, what: &str) -> Result<String> {
    let bytes = serde_json::to_vec(object).map_err(|source| ActError::Encode {
        what: what.to_string(),
        source,
    })?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// Brings one kind of a cluster's objects to the desired set, given what `existing` of
/// that kind carries the cluster's labels; returns the live objects.
pub async fn sync_kind<K>(
    api: &Api<K>,
    cache: &AppliedCache,
    cluster: &str,
    cluster_uid: &str,
    existing: Vec<K>,
    desired: Vec<K>,
) -> Result<Vec<K>>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned,
{
    let kind = K::kind(&());
    let params = PatchParams::apply(MANAGER).force();
    let mut live = Vec::with_capacity(desired.len());
    for object in desired {
        let name = object.name_any();
        let what = format!("{kind} {name}");
        let key = format!(
            "{}/{cluster}/{kind}/{name}",
            object.namespace().unwrap_or_default()
        );
        let desired_hash = hash(&object, &what)?;
        if let Some(current) = existing.iter().find(|e| e.name_any() == name)
            && cache.is_current(&key, &desired_hash, &live_marker(current))
        {
            live.push(current.clone());
            continue;
        }
        let mut body = serde_json::to_value(&object).map_err(|source| ActError::Encode {
            what: what.clone(),
            source,
        })?;
        // Server-side apply needs apiVersion and kind in the body; typed objects omit them.
        body["apiVersion"] = K::api_version(&()).into();
        body["kind"] = kind.to_string().into();
        let applied = api
            .patch(&name, &params, &Patch::Apply(&body))
            .await
            .map_err(|source| ActError::Apply {
                what: what.clone(),
                source,
            })?;
        tracing::info!(object = %what, "applied");
        cache.record(key, desired_hash, live_marker(&applied));
        live.push(applied);
    }
    for orphan in existing
        .iter()
        .filter(|e| !live.iter().any(|l| l.name_any() == e.name_any()))
    {
        // Only what this cluster controls: a label alone could be copied by anyone.
        let owned = orphan
            .owner_references()
            .iter()
            .any(|o| o.uid == cluster_uid && o.controller == Some(true));
        if owned {
            let name = orphan.name_any();
            match api.delete(&name, &DeleteParams::background()).await {
                Ok(_) => {}
                // Already gone: `existing` may come from a store that has not seen it go.
                Err(kube::Error::Api(e)) if e.code == 404 => continue,
                Err(source) => {
                    return Err(ActError::Delete {
                        what: format!("{kind} {name}"),
                        source,
                    });
                }
            }
            tracing::info!(object = %format!("{kind} {name}"), "deleted orphan");
        }
    }
    Ok(live)
}

#[cfg(test)]
mod tests {
    use super::AppliedCache;

    #[test]
    fn cache_is_current_only_for_the_same_desired_state_and_live_version() {
        let cache = AppliedCache::default();
        cache.record(
            "ns/zk/ConfigMap/zk-config".into(),
            "h1".into(),
            "rv7".into(),
        );
        assert!(cache.is_current("ns/zk/ConfigMap/zk-config", "h1", "rv7"));
        assert!(
            !cache.is_current("ns/zk/ConfigMap/zk-config", "h2", "rv7"),
            "desired changed"
        );
        assert!(
            !cache.is_current("ns/zk/ConfigMap/zk-config", "h1", "rv8"),
            "someone edited it"
        );
        assert!(!cache.is_current("ns/other/ConfigMap/other-config", "h1", "rv7"));
    }

    #[test]
    fn deleted_clusters_are_forgotten() {
        let cache = AppliedCache::default();
        cache.record("ns/zk/ConfigMap/zk-config".into(), "h".into(), "m".into());
        cache.record(
            "ns/gone/ConfigMap/gone-config".into(),
            "h".into(),
            "m".into(),
        );
        cache.retain_clusters(|ns, cluster| ns == "ns" && cluster == "zk");
        assert!(cache.is_current("ns/zk/ConfigMap/zk-config", "h", "m"));
        assert!(!cache.is_current("ns/gone/ConfigMap/gone-config", "h", "m"));
    }
}
