//! Where books and credentials come from: the Kubernetes API in the operator, memory in
//! tests and tools. Enums rather than generics: two backends each, one call site.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex as StdMutex};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, Resource, ResourceExt};

use super::{BOOK_KEY, NotifierError, book_config_map_name};
use crate::alerts::AlertBook;
use crate::api::{SecretKeyRef, ZookeeperCluster};
use crate::build::labels::{APP_NAME, COMPONENT_LABEL, INSTANCE_LABEL, NAME_LABEL};
use crate::notify::{SecretError, SecretResolver, SecretString, StaticSecrets, decode};

/// Field manager of the book's ConfigMap.
const FIELD_MANAGER: &str = "zookeeper-operator-alerts";

/// Books by (namespace, cluster name), for [`BookStore::Memory`].
pub type MemoryBooks = Arc<StdMutex<BTreeMap<(String, String), AlertBook>>>;

/// Where alert books are kept.
#[derive(Clone)]
pub enum BookStore {
    /// The ConfigMap `NAME-alerts` owned by the cluster.
    ConfigMaps(Client),
    Memory(MemoryBooks),
}

impl BookStore {
    pub async fn load(&self, namespace: &str, name: &str) -> Result<AlertBook, NotifierError> {
        match self {
            Self::ConfigMaps(client) => load(client, namespace, name).await,
            Self::Memory(books) => Ok(books
                .lock()
                .ok()
                .and_then(|b| b.get(&(namespace.to_string(), name.to_string())).cloned())
                .unwrap_or_default()),
        }
    }

    pub async fn save(
        &self,
        cluster: &ZookeeperCluster,
        book: &AlertBook,
    ) -> Result<(), NotifierError> {
        match self {
            Self::ConfigMaps(client) => save(client, cluster, book).await,
            Self::Memory(books) => {
                let namespace = cluster
                    .namespace()
                    .ok_or(NotifierError::MissingMetadata("namespace"))?;
                if let Ok(mut b) = books.lock() {
                    b.insert((namespace, cluster.name_any()), book.clone());
                }
                Ok(())
            }
        }
    }
}

/// Where credentials come from.
#[derive(Clone)]
pub enum Secrets {
    Kube(KubeSecrets),
    Static(StaticSecrets),
}

impl SecretResolver for Secrets {
    async fn resolve(
        &self,
        namespace: &str,
        reference: &SecretKeyRef,
    ) -> Result<SecretString, SecretError> {
        match self {
            Self::Kube(k) => k.resolve(namespace, reference).await,
            Self::Static(s) => s.resolve(namespace, reference).await,
        }
    }
}

/// Secrets read through the API, one `get` per credential (no list, no cache: Secrets
/// change rarely and deliveries are rare).
#[derive(Clone)]
pub struct KubeSecrets(pub Client);

impl SecretResolver for KubeSecrets {
    async fn resolve(
        &self,
        namespace: &str,
        reference: &SecretKeyRef,
    ) -> Result<SecretString, SecretError> {
        let api: Api<Secret> = Api::namespaced(self.0.clone(), namespace);
        let secret = api
            .get_opt(&reference.name)
            .await
            .map_err(|e| SecretError::Unreadable {
                namespace: namespace.into(),
                name: reference.name.clone(),
                detail: e.to_string(),
            })?
            .ok_or_else(|| SecretError::NotFound {
                namespace: namespace.into(),
                name: reference.name.clone(),
            })?;
        let data = secret.data.as_ref().and_then(|d| d.get(&reference.key));
        decode(namespace, reference, data.map(|b| b.0.as_slice()))
    }
}

async fn load(client: &Client, namespace: &str, name: &str) -> Result<AlertBook, NotifierError> {
    let cm_name = book_config_map_name(name);
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let cm = api
        .get_opt(&cm_name)
        .await
        .map_err(|source| NotifierError::LoadBook {
            name: cm_name.clone(),
            source,
        })?;
    let text = cm.and_then(|c| c.data).and_then(|mut d| d.remove(BOOK_KEY));
    Ok(match text.map(|t| AlertBook::from_json(&t)) {
        Some(Ok(book)) => book,
        Some(Err(error)) => {
            // A damaged book must not stop notifications for good: start over, loudly.
            tracing::warn!(configmap = %cm_name, %error, "alert book unreadable; starting a new one");
            AlertBook::default()
        }
        None => AlertBook::default(),
    })
}

async fn save(
    client: &Client,
    cluster: &ZookeeperCluster,
    book: &AlertBook,
) -> Result<(), NotifierError> {
    let namespace = cluster
        .namespace()
        .ok_or(NotifierError::MissingMetadata("namespace"))?;
    let name = cluster.name_any();
    let cm_name = book_config_map_name(&name);
    let owner = OwnerReference {
        api_version: ZookeeperCluster::api_version(&()).to_string(),
        kind: ZookeeperCluster::kind(&()).to_string(),
        name: name.clone(),
        uid: cluster.uid().ok_or(NotifierError::MissingMetadata("uid"))?,
        ..OwnerReference::default()
    };
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(cm_name.clone()),
            namespace: Some(namespace.clone()),
            labels: Some(BTreeMap::from([
                (NAME_LABEL.to_string(), APP_NAME.to_string()),
                (INSTANCE_LABEL.to_string(), name.clone()),
                (COMPONENT_LABEL.to_string(), "alerts".to_string()),
            ])),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(BOOK_KEY.to_string(), book.to_json())])),
        ..ConfigMap::default()
    };
    let mut body = serde_json::to_value(&cm).unwrap_or_default();
    body["apiVersion"] = "v1".into();
    body["kind"] = "ConfigMap".into();
    Api::<ConfigMap>::namespaced(client.clone(), &namespace)
        .patch(
            &cm_name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
        .map_err(|source| NotifierError::SaveBook {
            name: cm_name,
            source,
        })?;
    Ok(())
}
