//! The `ZookeeperCluster` spec: what a user asks for.
//!
//! Schema bounds here are the first validation layer (the API server rejects what breaks
//! them); `crate::validate` repeats every check so servers that skip parts of the schema
//! (old Kubernetes without CEL) still end in a clear `InvalidSpec` condition.
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, LocalObjectReference, ResourceRequirements, Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::recovery::{RECOVERY_PAUSED_ANNOTATION, RecoverySpec};
use super::status::ZookeeperClusterStatus;

/// Default image: the official ZooKeeper 3.9 image.
pub const DEFAULT_IMAGE_REPOSITORY: &str = "zookeeper";
pub const DEFAULT_IMAGE_TAG: &str = "3.9";
pub const DEFAULT_STORAGE_SIZE: &str = "10Gi";
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";

/// A ZooKeeper ensemble managed by the operator. Annotations it reads on the cluster:
/// `zookeeper.ensemble.dev/restart-requested-at` (an RFC 3339 timestamp: each new value
/// restarts every member once, the leader last; done when `status.restartedAt` shows it)
/// and `zookeeper.ensemble.dev/recovery-paused` (`"true"` pauses automatic recovery).
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "zookeeper.ensemble.dev",
    version = "v1alpha1",
    kind = "ZookeeperCluster",
    plural = "zookeeperclusters",
    shortname = "zk",
    shortname = "zkc",
    namespaced,
    status = "ZookeeperClusterStatus",
    // `kubectl scale` and autoscalers write `spec.replicas`, so a scale goes through the
    // same one-member-at-a-time reconfiguration as an edit of the spec.
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".spec.replicas"}"#,
    printcolumn = r#"{"name":"Ready","type":"integer","jsonPath":".status.readyReplicas"}"#,
    printcolumn = r#"{"name":"Leader","type":"string","jsonPath":".status.leader"}"#,
    printcolumn = r#"{"name":"Quorum","type":"string","jsonPath":".status.quorum"}"#,
    printcolumn = r#"{"name":"Available","type":"string","jsonPath":".status.conditions[?(@.type==\"Available\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ZookeeperClusterSpec {
    /// Number of ensemble members. Odd numbers tolerate the most failures per member.
    /// Also set by `kubectl scale` (the scale subresource); either way members are added
    /// and removed one at a time through ZooKeeper's dynamic reconfiguration.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 1, max = 255))]
    pub replicas: i32,

    /// Container image and how to pull it.
    #[serde(default)]
    pub image: ImageSpec,

    /// Where members keep their data.
    #[serde(default)]
    pub storage: StorageSpec,

    /// ZooKeeper configuration (zoo.cfg).
    #[serde(default)]
    pub config: ZookeeperConfig,

    /// Compute resources of the ZooKeeper container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,

    /// JVM settings; the heap is derived from the memory limit unless set.
    #[serde(default)]
    pub jvm: JvmSpec,

    /// Pod placement and metadata.
    #[serde(default)]
    pub pod: PodSpecOverrides,

    /// Probe timings for the readiness (member serving) and liveness (`ruok`) probes.
    #[serde(default)]
    pub probes: ProbesSpec,

    /// Automatic recovery of failed members.
    #[serde(default)]
    pub recovery: RecoverySpec,

    /// Rolling restarts onto a new pod template (config, image, resources): one member
    /// at a time, followers first, the leader last, each back in sync before the next.
    #[serde(default)]
    pub rollout: super::rollout::RolloutSpec,

    /// What the operator exports about the members on its `/metrics`.
    #[serde(default)]
    pub metrics: super::metrics::MetricsSpec,

    /// DNS domain of the Kubernetes cluster, used in member addresses.
    #[serde(default = "default_cluster_domain")]
    #[schemars(regex(
        pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    ))]
    pub cluster_domain: String,

    /// The PodDisruptionBudget: how many members a node drain may take at once.
    #[serde(default)]
    pub pdb: super::pdb::PdbSpec,

    /// Pause the operator's changes: while true nothing is applied, rolled, recovered or
    /// scaled (`Progressing=False/Paused`, one `Paused` Event); health is still observed
    /// and reported in status, Events and notifications. Set false to resume: what was
    /// asked meanwhile is then carried out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,

    /// Who is told about faults (webhook, Slack, DingTalk, email, PagerDuty, Opsgenie,
    /// Teams, Feishu, WeCom, a templated webhook), and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<super::notifications::NotificationsSpec>,
}

fn default_replicas() -> i32 {
    3
}

fn default_cluster_domain() -> String {
    DEFAULT_CLUSTER_DOMAIN.to_string()
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageSpec {
    /// Image repository, e.g. `zookeeper` or `registry.example.com/zookeeper`.
    #[serde(default = "default_image_repository")]
    #[schemars(length(min = 1, max = 255))]
    pub repository: String,
    /// Image tag (or `sha256:...` digest).
    #[serde(default = "default_image_tag")]
    #[schemars(length(min = 1, max = 128))]
    #[schemars(regex(pattern = r"^(sha256:[0-9a-fA-F]{64}|[A-Za-z0-9_][A-Za-z0-9_.-]*)$"))]
    pub tag: String,
    #[serde(default)]
    pub pull_policy: PullPolicy,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_secrets: Vec<LocalObjectReference>,
}

fn default_image_repository() -> String {
    DEFAULT_IMAGE_REPOSITORY.to_string()
}

fn default_image_tag() -> String {
    DEFAULT_IMAGE_TAG.to_string()
}

impl ImageSpec {
    /// The image reference a container uses: `repository:tag` or `repository@sha256:...`.
    pub fn reference(&self) -> String {
        if self.tag.starts_with("sha256:") {
            format!("{}@{}", self.repository, self.tag)
        } else {
            format!("{}:{}", self.repository, self.tag)
        }
    }
}

impl Default for ImageSpec {
    fn default() -> Self {
        Self {
            repository: default_image_repository(),
            tag: default_image_tag(),
            pull_policy: PullPolicy::default(),
            pull_secrets: Vec::new(),
        }
    }
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum PullPolicy {
    Always,
    #[default]
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "Always",
            Self::IfNotPresent => "IfNotPresent",
            Self::Never => "Never",
        }
    }
}

/// Persistent storage survives pod restarts; ephemeral storage is for development only.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "self.mode == oldSelf.mode", "message": "storage.mode is immutable", "fieldPath": ".mode"},
    {"rule": "has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)",
     "message": "storage.storageClassName is immutable", "fieldPath": ".storageClassName"},
    // Equal quantities spelled differently (10Gi, 10240Mi) are the same size. The
    // quantity library needs Kubernetes 1.29+ (the oldest we support is 1.30).
    {"rule": "isQuantity(string(self.size)) && isQuantity(string(oldSelf.size)) ? quantity(string(self.size)).compareTo(quantity(string(oldSelf.size))) == 0 : string(self.size) == string(oldSelf.size)",
     "message": "storage.size cannot change (resizing member volumes is not supported yet)",
     "fieldPath": ".size"},
    {"rule": "isQuantity(string(self.size)) && quantity(string(self.size)).isGreaterThan(quantity('0'))",
     "message": "storage.size must be a positive quantity such as 10Gi", "fieldPath": ".size"}
]))]
pub struct StorageSpec {
    #[serde(default)]
    pub mode: StorageMode,
    /// Volume size per member (PVC request, or the emptyDir size limit when ephemeral).
    #[serde(default = "default_storage_size")]
    // Quantity's schema is nullable, but `size` is not an Option: an explicit null would
    // be stored and then fail to decode, breaking the watch of every cluster in scope.
    // Not nullable, the server replaces a null with the default instead.
    #[schemars(extend("nullable" = false))]
    pub size: Quantity,
    /// Storage class of the members' PVCs; the cluster default when unset. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    #[schemars(regex(
        pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    ))]
    pub storage_class_name: Option<String>,
    /// What happens to PVCs when the cluster is deleted or scaled down.
    #[serde(default)]
    pub retention: RetentionSpec,
}

fn default_storage_size() -> Quantity {
    Quantity(DEFAULT_STORAGE_SIZE.to_string())
}

impl Default for StorageSpec {
    fn default() -> Self {
        Self {
            mode: StorageMode::default(),
            size: default_storage_size(),
            storage_class_name: None,
            retention: RetentionSpec::default(),
        }
    }
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum StorageMode {
    #[default]
    Persistent,
    Ephemeral,
}

/// PVC retention. The operator enforces it itself (owner references on delete, PVC
/// deletion after scale-down) so it works on servers without the StatefulSet field.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionSpec {
    #[serde(default)]
    pub when_deleted: RetentionPolicy,
    #[serde(default)]
    pub when_scaled: RetentionPolicy,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum RetentionPolicy {
    #[default]
    Retain,
    Delete,
}

/// Typed zoo.cfg knobs plus free extra entries. Keys the operator owns are rejected.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!has(self.minSessionTimeout) || !has(self.maxSessionTimeout) || self.minSessionTimeout <= self.maxSessionTimeout",
     "message": "config.minSessionTimeout must not exceed config.maxSessionTimeout",
     "fieldPath": ".minSessionTimeout"}
]))]
pub struct ZookeeperConfig {
    /// Basic time unit in milliseconds.
    #[serde(default = "default_tick_time")]
    #[schemars(range(min = 100, max = 60000))]
    pub tick_time: i32,
    /// Ticks a follower may take to connect and sync to the leader.
    #[serde(default = "default_init_limit")]
    #[schemars(range(min = 1, max = 1000))]
    pub init_limit: i32,
    /// Ticks a follower may lag behind the leader.
    #[serde(default = "default_sync_limit")]
    #[schemars(range(min = 1, max = 1000))]
    pub sync_limit: i32,
    /// Concurrent connections per client IP; 0 means unlimited.
    #[serde(default = "default_max_client_cnxns")]
    #[schemars(range(min = 0, max = 100000))]
    pub max_client_cnxns: i32,
    /// Snapshots kept by autopurge (ZooKeeper requires at least 3).
    #[serde(default = "default_snap_retain_count")]
    #[schemars(range(min = 3, max = 1000))]
    pub autopurge_snap_retain_count: i32,
    /// Hours between autopurge runs; 0 disables autopurge.
    #[serde(default = "default_purge_interval")]
    #[schemars(range(min = 0, max = 8760))]
    pub autopurge_purge_interval: i32,
    /// Minimum session timeout in milliseconds (ZooKeeper default: 2 ticks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_session_timeout: Option<i32>,
    /// Maximum session timeout in milliseconds (ZooKeeper default: 20 ticks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_session_timeout: Option<i32>,
    /// Extra zoo.cfg entries. Keys the operator owns (dataDir, clientPort, server.N, ...) are rejected.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("x-kubernetes-validations" = owned_keys_rule()))]
    // Bounded so the API server can cost the CEL rule above: unbounded, it assumes ~400k
    // entries and refuses the whole CRD (over the per-rule budget on Kubernetes 1.25+).
    #[schemars(extend("maxProperties" = MAX_EXTRA_ENTRIES))]
    #[schemars(extend("additionalProperties" = {"type": "string", "maxLength": MAX_EXTRA_VALUE_LEN}))]
    pub extra: BTreeMap<String, String>,
}

/// The longest cluster name whose derived names all stay legal: StatefulSet pods carry a
/// `controller-revision-hash` label of `NAME-<10 chars>`, which must fit in 63 characters.
pub const MAX_NAME_LEN: usize = 52;

/// At most this many `config.extra` entries (the schema's `maxProperties`).
pub const MAX_EXTRA_ENTRIES: usize = 64;
/// The longest `config.extra` value (the schema's `maxLength`, which bounds the CEL cost).
pub const MAX_EXTRA_VALUE_LEN: usize = 1024;

/// zoo.cfg keys the operator sets itself; `config.extra` may not override them.
pub const OPERATOR_OWNED_KEYS: &[&str] = &[
    "dataDir",
    "dataLogDir",
    "clientPort",
    "secureClientPort",
    "clientPortAddress",
    "dynamicConfigFile",
    "4lw.commands.whitelist",
    "reconfigEnabled",
    "standaloneEnabled",
    "quorumListenOnAllIPs",
    "admin.enableServer",
    "admin.serverPort",
    "skipACL",
];

/// zoo.cfg keys that have a typed field (and that field); `config.extra` setting them is a
/// mistake.
pub const TYPED_ZOO_CFG_KEYS: &[(&str, &str)] = &[
    ("tickTime", "config.tickTime"),
    ("initLimit", "config.initLimit"),
    ("syncLimit", "config.syncLimit"),
    ("maxClientCnxns", "config.maxClientCnxns"),
    (
        "autopurge.snapRetainCount",
        "config.autopurgeSnapRetainCount",
    ),
    ("autopurge.purgeInterval", "config.autopurgePurgeInterval"),
    ("minSessionTimeout", "config.minSessionTimeout"),
    ("maxSessionTimeout", "config.maxSessionTimeout"),
];

/// Owned key prefixes: `server.N` membership lines.
pub const OPERATOR_OWNED_PREFIXES: &[&str] = &["server.", "group.", "weight."];

/// The CEL twin of the owned-key check, for servers that evaluate CEL (1.25+).
fn owned_keys_rule() -> serde_json::Value {
    let keys = OPERATOR_OWNED_KEYS
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(",");
    let prefixes = OPERATOR_OWNED_PREFIXES
        .iter()
        .map(|p| format!("!k.startsWith('{p}')"))
        .collect::<Vec<_>>()
        .join(" && ");
    let typed = TYPED_ZOO_CFG_KEYS
        .iter()
        .map(|(k, _)| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(",");
    serde_json::json!([{
        "rule": format!("self.all(k, {prefixes} && !(k in [{keys}]))"),
        "message": "config.extra must not set keys the operator owns (dataDir, clientPort, server.N, ...)"
    }, {
        "rule": format!("self.all(k, !(k in [{typed}]))"),
        "message": "config.extra must not set keys that have a typed field (tickTime: use config.tickTime, ...)"
    }, {
        "rule": "self.all(k, k.matches('^[A-Za-z0-9._-]+$') && !self[k].contains('\\n') && !self[k].contains('\\r'))",
        "message": "config.extra keys may hold only letters, digits, '.', '_' and '-', and values must be a single line"
    }])
}

fn default_tick_time() -> i32 {
    2000
}
fn default_init_limit() -> i32 {
    10
}
fn default_sync_limit() -> i32 {
    5
}
fn default_max_client_cnxns() -> i32 {
    60
}
fn default_snap_retain_count() -> i32 {
    3
}
fn default_purge_interval() -> i32 {
    24
}

impl Default for ZookeeperConfig {
    fn default() -> Self {
        Self {
            tick_time: default_tick_time(),
            init_limit: default_init_limit(),
            sync_limit: default_sync_limit(),
            max_client_cnxns: default_max_client_cnxns(),
            autopurge_snap_retain_count: default_snap_retain_count(),
            autopurge_purge_interval: default_purge_interval(),
            min_session_timeout: None,
            max_session_timeout: None,
            extra: BTreeMap::new(),
        }
    }
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!has(self.heap) || (isQuantity(string(self.heap)) && quantity(string(self.heap)).isGreaterThan(quantity('0')))",
     "message": "jvm.heap must be a positive quantity such as 1Gi", "fieldPath": ".heap"}
]))]
pub struct JvmSpec {
    /// Heap size (-Xms/-Xmx) as a Kubernetes quantity, e.g. `1Gi`. Default: 3/4 of the memory limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap: Option<Quantity>,
    /// Extra JVM flags appended after the heap flags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_flags: Vec<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodSpecOverrides {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Default: preferred anti-affinity across hosts, so one node failure costs one member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Extra pod labels (the operator's own selector labels win).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProbesSpec {
    #[serde(default)]
    pub readiness: ProbeTiming,
    #[serde(default)]
    pub liveness: ProbeTiming,
}

impl Default for ProbesSpec {
    fn default() -> Self {
        Self {
            readiness: ProbeTiming::default(),
            liveness: ProbeTiming {
                initial_delay_seconds: 15,
                ..ProbeTiming::default()
            },
        }
    }
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProbeTiming {
    #[serde(default = "default_initial_delay")]
    #[schemars(range(min = 0, max = 3600))]
    pub initial_delay_seconds: i32,
    #[serde(default = "default_period")]
    #[schemars(range(min = 1, max = 3600))]
    pub period_seconds: i32,
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 1, max = 3600))]
    pub timeout_seconds: i32,
    #[serde(default = "default_failure_threshold")]
    #[schemars(range(min = 1, max = 100))]
    pub failure_threshold: i32,
}

fn default_initial_delay() -> i32 {
    5
}
fn default_period() -> i32 {
    10
}
fn default_timeout() -> i32 {
    5
}
fn default_failure_threshold() -> i32 {
    3
}

impl Default for ProbeTiming {
    fn default() -> Self {
        Self {
            initial_delay_seconds: default_initial_delay(),
            period_seconds: default_period(),
            timeout_seconds: default_timeout(),
            failure_threshold: default_failure_threshold(),
        }
    }
}
