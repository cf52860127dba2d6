//! What exists of the cluster-owned ConfigMaps, Services and PodDisruptionBudgets, from
//! the controller's own watches (reflector stores) instead of three lists per reconcile:
//! the apply step needs only their names, versions and owners, to skip what is current
//! and delete orphans. Objects are stored stripped to their metadata, so the stores cost
//! little memory.
//!
//! The StatefulSet, pods and PVCs are still read live: restarts, reconfiguration and
//! claim deletion are decided on them, and a store may lag behind the operator's own
//! writes. A lagging store here costs at most a redundant apply (server-side apply is
//! idempotent) or an orphan deleted one pass later.
use futures::Stream;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};

use crate::build::labels::{APP_NAME, INSTANCE_LABEL, MANAGED_BY_LABEL, MANAGER, NAME_LABEL};

#[derive(Clone)]
pub struct OwnedCaches {
    pub config_maps: Store<ConfigMap>,
    pub services: Store<Service>,
    /// `None` on servers without policy/v1 (no PodDisruptionBudgets are made there).
    pub pdbs: Option<Store<PodDisruptionBudget>>,
}

/// A store of `api`'s objects matching `config`, kept without managed fields,
/// annotations and what `strip_body` clears, and the watch stream that fills it (and
/// triggers the owners' reconciles: pass it to `Controller::owns_stream`).
pub fn reflect<K>(
    api: Api<K>,
    config: watcher::Config,
    strip_body: fn(&mut K),
) -> (
    Store<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(
        writer,
        watcher(api, config)
            .default_backoff()
            .modify(move |object: &mut K| {
                let meta = object.meta_mut();
                meta.managed_fields = None;
                meta.annotations = None;
                strip_body(object);
            }),
    )
    .touched_objects();
    (reader, stream)
}

/// For ConfigMaps: the scripts and configuration are most of their size.
pub fn strip_data(cm: &mut ConfigMap) {
    cm.data = None;
    cm.binary_data = None;
}

/// For kinds whose body is small.
pub fn keep_body<K>(_: &mut K) {}

/// The objects in `store` that belong to `cluster` in `namespace` (the labels the
/// operator puts on everything it builds, as `owned_selector` selects them).
pub fn owned<K>(store: &Store<K>, namespace: &str, cluster: &str) -> Vec<K>
where
    K: Resource<DynamicType = ()> + Clone,
{
    store
        .state()
        .iter()
        .filter(|o| o.namespace().as_deref() == Some(namespace))
        .filter(|o| {
            let labels = o.labels();
            labels.get(NAME_LABEL).map(String::as_str) == Some(APP_NAME)
                && labels.get(INSTANCE_LABEL).map(String::as_str) == Some(cluster)
                && labels.get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGER)
        })
        .map(|o| o.as_ref().clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::labels::object_labels;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn service(
        ns: &str,
        name: &str,
        labels: std::collections::BTreeMap<String, String>,
    ) -> Service {
        Service {
            metadata: ObjectMeta {
                namespace: Some(ns.into()),
                name: Some(name.into()),
                labels: Some(labels),
                ..ObjectMeta::default()
            },
            ..Service::default()
        }
    }

    #[test]
    fn only_the_clusters_own_objects_in_its_namespace() {
        let (reader, mut writer) = reflector::store::<Service>();
        let mut unmanaged = object_labels("zk");
        unmanaged.remove(MANAGED_BY_LABEL);
        for s in [
            service("prod", "zk", object_labels("zk")),
            service("prod", "zk-client", object_labels("zk")),
            service("prod", "other", object_labels("other")),
            service("test", "zk", object_labels("zk")),
            service("prod", "copied", unmanaged),
        ] {
            writer.apply_watcher_event(&watcher::Event::Apply(s));
        }
        let mut names: Vec<String> = owned(&reader, "prod", "zk")
            .iter()
            .map(|s| s.name_any())
            .collect();
        names.sort();
        assert_eq!(names, ["zk", "zk-client"]);
    }

    #[test]
    fn config_maps_are_kept_without_their_data() {
        let mut cm = ConfigMap {
            data: Some([("zoo.cfg".to_string(), "tickTime=2000".to_string())].into()),
            ..ConfigMap::default()
        };
        strip_data(&mut cm);
        assert_eq!(cm.data, None);
    }
}
