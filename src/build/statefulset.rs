//! The StatefulSet that runs the members.
use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvVar, EnvVarSource, ExecAction, ObjectFieldSelector, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PodAffinityTerm, PodAntiAffinity, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, SeccompProfile, SecurityContext, Volume, VolumeMount,
    VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::config::{LIVE_SCRIPT, READY_SCRIPT, START_SCRIPT};
use super::labels::{
    CLIENT_PORT, ELECTION_PORT, QUORUM_PORT, headless_service_name, object_labels, object_meta,
    selector_labels,
};
use super::scripts::{CONF_DIR, DATA_DIR, TEMPLATE_DIR};
use super::super_secret::{DIGEST_ENV, digest_env};
use crate::api::{ProbeTiming, RESTART_REQUESTED_AT_ANNOTATION, StorageMode};
use crate::validate::ValidCluster;

pub const CONTAINER: &str = "zookeeper";
pub const DATA_VOLUME: &str = "data";
/// ZooKeeper's log directory (an emptyDir), also where an OutOfMemoryError's heap dump goes.
pub const LOGS_DIR: &str = "/logs";
pub const CONFIG_HASH_ANNOTATION: &str = "zookeeper.ensemble.dev/config-hash";
/// The official image runs ZooKeeper as uid/gid 1000.
const ZOOKEEPER_UID: i64 = 1000;

/// `replicas` is the planned count (`crate::scale`), not necessarily `spec.replicas`.
pub fn statefulset(
    cluster: &ValidCluster,
    replicas: i32,
    config_map: &str,
    config_hash: &str,
) -> StatefulSet {
    let spec = &cluster.spec;
    let mut pod_labels = spec.pod.labels.clone();
    pod_labels.extend(object_labels(&cluster.name));
    let mut pod_annotations = spec.pod.annotations.clone();
    pod_annotations.insert(CONFIG_HASH_ANNOTATION.to_string(), config_hash.to_string());
    // A new restart stamp changes the template: every member is outdated and the
    // leader-last roll restarts each once (the StatefulSet is `OnDelete`).
    if let Some(stamp) = &cluster.restart_requested_at {
        pod_annotations.insert(RESTART_REQUESTED_AT_ANNOTATION.to_string(), stamp.clone());
    }

    let mut volumes = vec![
        Volume {
            name: "config-templates".to_string(),
            config_map: Some(ConfigMapVolumeSource {
                name: config_map.to_string(),
                default_mode: Some(0o555),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        },
        empty_dir("conf", None),
        empty_dir("logs", None),
        empty_dir("tmp", None),
    ];
    let claims = match spec.storage.mode {
        StorageMode::Ephemeral => {
            volumes.push(empty_dir(DATA_VOLUME, Some(spec.storage.size.clone())));
            None
        }
        StorageMode::Persistent => Some(vec![data_claim(cluster)]),
    };

    StatefulSet {
        metadata: object_meta(cluster, cluster.name.clone()),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some(headless_service_name(&cluster.name)),
            // Parallel: a new ensemble needs a majority up at once to elect a leader.
            pod_management_policy: Some("Parallel".to_string()),
            // OnDelete: the operator rolls members itself, followers first and the
            // leader last, each back in sync before the next (`crate::rollout`); the
            // StatefulSet controller would go by ordinal, whoever leads.
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("OnDelete".to_string()),
                ..StatefulSetUpdateStrategy::default()
            }),
            selector: LabelSelector {
                match_labels: Some(selector_labels(&cluster.name)),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: Some(pod_annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(cluster, volumes)),
            },
            volume_claim_templates: claims,
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}

fn pod_spec(cluster: &ValidCluster, volumes: Vec<Volume>) -> PodSpec {
    let spec = &cluster.spec;
    let pod = &spec.pod;
    PodSpec {
        containers: vec![container(cluster)],
        volumes: Some(volumes),
        affinity: Some(
            pod.affinity
                .clone()
                .unwrap_or_else(|| default_affinity(&cluster.name)),
        ),
        node_selector: non_empty_map(&pod.node_selector),
        tolerations: non_empty(&pod.tolerations),
        topology_spread_constraints: non_empty(&pod.topology_spread_constraints),
        priority_class_name: pod.priority_class_name.clone(),
        service_account_name: pod.service_account_name.clone(),
        image_pull_secrets: non_empty(&spec.image.pull_secrets),
        // ZooKeeper needs no API access.
        automount_service_account_token: Some(false),
        termination_grace_period_seconds: Some(30),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(ZOOKEEPER_UID),
            run_as_group: Some(ZOOKEEPER_UID),
            fs_group: Some(ZOOKEEPER_UID),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_string(),
                ..SeccompProfile::default()
            }),
            ..PodSecurityContext::default()
        }),
        ..PodSpec::default()
    }
}

fn container(cluster: &ValidCluster) -> Container {
    let spec = &cluster.spec;
    let script = |name: &str| vec!["/bin/bash".to_string(), format!("{TEMPLATE_DIR}/{name}")];
    Container {
        name: CONTAINER.to_string(),
        image: Some(spec.image.reference()),
        image_pull_policy: Some(spec.image.pull_policy.as_str().to_string()),
        command: Some(script(START_SCRIPT)),
        ports: Some(vec![
            container_port("client", CLIENT_PORT),
            container_port("quorum", QUORUM_PORT),
            container_port("leader-election", ELECTION_PORT),
        ]),
        env: Some(env(cluster)),
        resources: spec.resources.clone(),
        readiness_probe: Some(probe(script(READY_SCRIPT), &spec.probes.readiness)),
        liveness_probe: Some(probe(script(LIVE_SCRIPT), &spec.probes.liveness)),
        // The log tail becomes the termination message: recovery reads ZooKeeper's
        // "cannot load the database" errors from it (optional data reset).
        termination_message_policy: Some("FallbackToLogsOnError".to_string()),
        volume_mounts: Some(vec![
            mount("config-templates", TEMPLATE_DIR, true),
            mount("conf", CONF_DIR, false),
            mount(DATA_VOLUME, DATA_DIR, false),
            mount("logs", LOGS_DIR, false),
            mount("tmp", "/tmp", false),
        ]),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_string()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        ..Container::default()
    }
}

fn env(cluster: &ValidCluster) -> Vec<EnvVar> {
    let field = |name: &str, path: &str| EnvVar {
        name: name.to_string(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.to_string(),
                ..ObjectFieldSelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    };
    let value = |name: &str, value: String| EnvVar {
        name: name.to_string(),
        value: Some(value),
        ..EnvVar::default()
    };
    vec![
        field("POD_NAME", "metadata.name"),
        field("POD_NAMESPACE", "metadata.namespace"),
        value("ZOO_LOG_DIR", LOGS_DIR.to_string()),
        // Before SERVER_JVMFLAGS, which expands it.
        digest_env(&cluster.name),
        value("SERVER_JVMFLAGS", jvm_flags(cluster)),
    ]
}

/// `-Xms/-Xmx` from the heap (equal, so the heap never resizes under load), extra flags,
/// then the super-user digest (last, so an extra flag cannot override it) that lets the
/// operator reconfigure membership without `skipACL`.
pub fn jvm_flags(cluster: &ValidCluster) -> String {
    let mut flags = Vec::new();
    if let Some(bytes) = cluster.heap_bytes {
        let mib = bytes >> 20;
        flags.push(format!("-Xms{mib}m"));
        flags.push(format!("-Xmx{mib}m"));
    }
    // zkServer.sh adds -XX:+HeapDumpOnOutOfMemoryError; the dump would go to the working
    // directory, which is read-only. /logs is an emptyDir: it outlives the killed container
    // (kubectl cp reads it) and is not the data volume, which a dump could fill.
    flags.push(format!("-XX:HeapDumpPath={LOGS_DIR}"));
    flags.extend(
        cluster
            .spec
            .jvm
            .extra_flags
            .iter()
            .map(|f| f.trim().to_string()),
    );
    flags.push(format!(
        "-Dzookeeper.DigestAuthenticationProvider.superDigest=$({DIGEST_ENV})"
    ));
    flags.join(" ")
}

fn probe(command: Vec<String>, timing: &ProbeTiming) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(command),
        }),
        initial_delay_seconds: Some(timing.initial_delay_seconds),
        period_seconds: Some(timing.period_seconds),
        timeout_seconds: Some(timing.timeout_seconds),
        failure_threshold: Some(timing.failure_threshold),
        success_threshold: Some(1),
        ..Probe::default()
    }
}

fn data_claim(cluster: &ValidCluster) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(DATA_VOLUME.to_string()),
            labels: Some(selector_labels(&cluster.name)),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_string()]),
            storage_class_name: cluster.spec.storage.storage_class_name.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    cluster.spec.storage.size.clone(),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

/// Prefer spreading members across hosts so one node failure costs one member; preferred
/// rather than required so small clusters still schedule.
fn default_affinity(cluster: &str) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: PodAffinityTerm {
                        topology_key: "kubernetes.io/hostname".to_string(),
                        label_selector: Some(LabelSelector {
                            match_labels: Some(selector_labels(cluster)),
                            ..LabelSelector::default()
                        }),
                        ..PodAffinityTerm::default()
                    },
                },
            ]),
            ..PodAntiAffinity::default()
        }),
        ..Affinity::default()
    }
}

fn empty_dir(name: &str, size_limit: Option<Quantity>) -> Volume {
    Volume {
        name: name.to_string(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit,
            ..EmptyDirVolumeSource::default()
        }),
        ..Volume::default()
    }
}

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.to_string(),
        mount_path: path.to_string(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

fn container_port(name: &str, port: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.to_string()),
        container_port: port,
        protocol: Some("TCP".to_string()),
        ..ContainerPort::default()
    }
}

fn non_empty<T: Clone>(items: &[T]) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items.to_vec())
}

fn non_empty_map(map: &BTreeMap<String, String>) -> Option<BTreeMap<String, String>> {
    (!map.is_empty()).then(|| map.clone())
}
