//! Exact-field tests of every builder.
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;
use crate::validate::{ValidCluster, validate};

fn valid(spec_yaml: &str) -> ValidCluster {
    validate(&crate::validate::tests::cluster(spec_yaml)).expect("fixture must be valid")
}

fn objects(spec_yaml: &str) -> DesiredObjects {
    let cluster = valid(spec_yaml);
    desired_objects(
        &cluster,
        ServerCapabilities {
            policy_v1: true,
            minor: Some(33),
        },
        &Membership::of_spec(&cluster),
    )
}

#[test]
fn zoo_cfg_is_exact() {
    let expected = "\
# Managed by zookeeper-operator: edit the ZookeeperCluster, not this file.
dataDir=/data
dynamicConfigFile=/data/conf/zoo.cfg.dynamic
standaloneEnabled=false
reconfigEnabled=true
quorumListenOnAllIPs=true
4lw.commands.whitelist=conf,isro,mntr,ruok,srvr,stat
admin.enableServer=false
tickTime=2000
initLimit=10
syncLimit=5
maxClientCnxns=60
autopurge.snapRetainCount=3
autopurge.purgeInterval=24
maxSessionTimeout=60000
jute.maxbuffer=4194304
";
    let cfg = config::zoo_cfg(&valid(
        "config: {maxSessionTimeout: 60000, extra: {jute.maxbuffer: '4194304'}}",
    ));
    assert_eq!(cfg, expected);
}

#[test]
fn member_list_uses_stable_dns_names_and_myid_from_ordinal() {
    let list = config::member_list(
        &valid("replicas: 3\nclusterDomain: example.org"),
        &[1, 2, 3],
    );
    assert_eq!(
        list,
        "server.1=zk-0.zk-headless.ns.svc.example.org:2888:3888:participant;0.0.0.0:2181\n\
         server.2=zk-1.zk-headless.ns.svc.example.org:2888:3888:participant;0.0.0.0:2181\n\
         server.3=zk-2.zk-headless.ns.svc.example.org:2888:3888:participant;0.0.0.0:2181\n"
    );
}

#[test]
fn config_map_holds_config_member_list_and_scripts() {
    let cm = objects("{}").config_map;
    assert_eq!(cm.metadata.name.as_deref(), Some("zk-config"));
    let data = cm.data.expect("data");
    let keys: Vec<_> = data.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "live.sh",
            "logback.xml",
            "ready.sh",
            "start.sh",
            "zoo.cfg",
            "zoo.cfg.dynamic"
        ]
    );
    let start = &data["start.sh"];
    assert!(start.contains("myid=$((ordinal + 1))"), "{start}");
    assert!(
        start.contains("conf=/data/conf")
            && start.contains(r#"exec zkServer.sh start-foreground "$conf/zoo.cfg""#),
        "{start}"
    );
    assert!(data["ready.sh"].contains("printf srvr") && data["ready.sh"].contains("^Mode: "));
    assert!(data["live.sh"].contains("printf ruok") && data["live.sh"].contains("imok"));
}

#[test]
fn config_hash_ignores_membership_but_follows_config() {
    let base = objects("replicas: 3");
    let scaled = objects("replicas: 5");
    let tuned = objects("config: {tickTime: 3000}");
    let hash = |o: &DesiredObjects| config::config_hash(&o.config_map);
    assert_eq!(
        hash(&base),
        hash(&scaled),
        "scaling must not roll every pod"
    );
    assert_ne!(
        hash(&base),
        hash(&tuned),
        "a config change must roll the pods"
    );
    let annotation = |o: &DesiredObjects| {
        o.statefulset
            .spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref())
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get(statefulset::CONFIG_HASH_ANNOTATION).cloned())
    };
    assert_eq!(annotation(&tuned), Some(hash(&tuned)));
}

#[test]
fn every_object_is_owned_and_labelled() {
    let o = objects("{}");
    let metas = [
        &o.config_map.metadata,
        &o.headless_service.metadata,
        &o.client_service.metadata,
        &o.statefulset.metadata,
        &o.pdb.as_ref().expect("pdb").metadata,
    ];
    for meta in metas {
        let owner = &meta.owner_references.as_ref().expect("owner")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
            ("ZookeeperCluster", "zk", "1234")
        );
        assert_eq!(owner.controller, Some(true));
        let labels = meta.labels.as_ref().expect("labels");
        assert_eq!(labels["app.kubernetes.io/instance"], "zk");
        assert_eq!(labels["app.kubernetes.io/managed-by"], "zookeeper-operator");
        assert_eq!(meta.namespace.as_deref(), Some("ns"));
    }
}

#[test]
fn services_expose_peer_and_client_ports() {
    let o = objects("{}");
    let headless = o.headless_service.spec.expect("spec");
    assert_eq!(
        o.headless_service.metadata.name.as_deref(),
        Some("zk-headless")
    );
    assert_eq!(headless.cluster_ip.as_deref(), Some("None"));
    assert_eq!(headless.publish_not_ready_addresses, Some(true));
    let ports: Vec<_> = headless
        .ports
        .iter()
        .flatten()
        .map(|p| (p.name.clone().unwrap_or_default(), p.port))
        .collect();
    assert_eq!(
        ports,
        [
            ("client".into(), 2181),
            ("quorum".into(), 2888),
            ("leader-election".into(), 3888)
        ]
    );
    let client = o.client_service.spec.expect("spec");
    assert_eq!(o.client_service.metadata.name.as_deref(), Some("zk-client"));
    assert_eq!(client.publish_not_ready_addresses, None);
    assert_eq!(client.ports.expect("ports")[0].port, 2181);
    assert_eq!(client.selector, headless.selector);
}

#[test]
fn pdb_allows_one_member_down_and_is_skipped_without_policy_v1() {
    let o = objects("{}");
    let spec = o.pdb.expect("pdb").spec.expect("spec");
    assert_eq!(spec.max_unavailable, Some(IntOrString::Int(1)));
    let cluster = valid("{}");
    let old = desired_objects(
        &cluster,
        ServerCapabilities {
            policy_v1: false,
            minor: Some(20),
        },
        &Membership::of_spec(&cluster),
    );
    assert!(old.pdb.is_none());
}

#[test]
fn pdb_follows_max_unavailable_and_is_left_out_when_disabled() {
    let zero = objects("pdb: {maxUnavailable: 0}");
    let spec = zero.pdb.expect("pdb").spec.expect("spec");
    assert_eq!(spec.max_unavailable, Some(IntOrString::Int(0)));
    assert_eq!(
        spec.selector.and_then(|s| s.match_labels),
        Some(labels::selector_labels("zk"))
    );
    let two = objects("{replicas: 5, pdb: {maxUnavailable: 2}}");
    let spec = two.pdb.expect("pdb").spec.expect("spec");
    assert_eq!(spec.max_unavailable, Some(IntOrString::Int(2)));
    assert!(objects("pdb: {enabled: false}").pdb.is_none());
    assert!(objects("pdb: {enabled: true}").pdb.is_some());
}

#[test]
fn statefulset_shape() {
    let o = objects(
        "replicas: 5\nimage: {repository: registry.local/zk, tag: 3.9.3, pullPolicy: Always, pullSecrets: [{name: regcred}]}\n\
         resources: {limits: {memory: 2Gi}}\nstorage: {size: 20Gi, storageClassName: fast}\n\
         probes: {readiness: {periodSeconds: 2, timeoutSeconds: 1}}\n\
         pod: {labels: {team: data}, nodeSelector: {disk: ssd}, priorityClassName: high, serviceAccountName: zk-sa}",
    );
    let sts = o.statefulset;
    assert_eq!(sts.metadata.name.as_deref(), Some("zk"));
    let spec = sts.spec.expect("spec");
    assert_eq!(spec.replicas, Some(5));
    assert_eq!(spec.service_name.as_deref(), Some("zk-headless"));
    assert_eq!(spec.pod_management_policy.as_deref(), Some("Parallel"));
    assert_eq!(
        spec.update_strategy.and_then(|u| u.type_).as_deref(),
        Some("OnDelete"),
        "the operator rolls members itself, leader last"
    );
    let selector = spec.selector.match_labels.expect("selector");
    assert_eq!(selector.len(), 2);

    let meta = spec.template.metadata.expect("template metadata");
    let labels = meta.labels.expect("labels");
    assert_eq!(labels["team"], "data");
    assert!(
        selector.iter().all(|(k, v)| labels.get(k) == Some(v)),
        "pods match the selector"
    );

    let pod = spec.template.spec.expect("pod spec");
    assert_eq!(pod.node_selector.expect("node selector")["disk"], "ssd");
    assert_eq!(pod.priority_class_name.as_deref(), Some("high"));
    assert_eq!(pod.service_account_name.as_deref(), Some("zk-sa"));
    assert_eq!(
        pod.image_pull_secrets.expect("pull secrets")[0].name,
        "regcred"
    );
    let anti = pod
        .affinity
        .expect("affinity")
        .pod_anti_affinity
        .expect("anti-affinity");
    let term = &anti
        .preferred_during_scheduling_ignored_during_execution
        .expect("preferred")[0];
    assert_eq!(
        term.pod_affinity_term.topology_key,
        "kubernetes.io/hostname"
    );

    let psc = pod.security_context.expect("pod security");
    assert_eq!(psc.run_as_non_root, Some(true));
    assert_eq!(
        psc.seccomp_profile.expect("seccomp").type_,
        "RuntimeDefault"
    );

    let c = &pod.containers[0];
    assert_eq!(c.image.as_deref(), Some("registry.local/zk:3.9.3"));
    assert_eq!(c.image_pull_policy.as_deref(), Some("Always"));
    assert_eq!(
        c.command.as_deref(),
        Some(
            &[
                "/bin/bash".to_string(),
                "/config-templates/start.sh".to_string()
            ][..]
        )
    );
    let sc = c.security_context.as_ref().expect("container security");
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(
        sc.capabilities.as_ref().and_then(|c| c.drop.clone()),
        Some(vec!["ALL".to_string()])
    );
    let env = c.env.as_ref().expect("env");
    let jvm = env
        .iter()
        .find(|e| e.name == "SERVER_JVMFLAGS")
        .and_then(|e| e.value.clone());
    assert_eq!(
        jvm.as_deref(),
        Some(
            "-Xms1536m -Xmx1536m -XX:HeapDumpPath=/logs \
             -Dzookeeper.DigestAuthenticationProvider.superDigest=$(ZK_SUPER_DIGEST)"
        )
    );
    // The digest comes from the Secret and is defined before the flags that expand it.
    let names: Vec<_> = env.iter().map(|e| e.name.as_str()).collect();
    let digest_at = names.iter().position(|n| *n == "ZK_SUPER_DIGEST");
    let flags_at = names.iter().position(|n| *n == "SERVER_JVMFLAGS");
    assert!(digest_at.is_some() && digest_at < flags_at, "{names:?}");
    let digest_ref = env
        .iter()
        .find(|e| e.name == "ZK_SUPER_DIGEST")
        .and_then(|e| e.value_from.as_ref())
        .and_then(|v| v.secret_key_ref.as_ref())
        .expect("secretKeyRef");
    assert_eq!(
        (digest_ref.name.as_str(), digest_ref.key.as_str()),
        ("zk-zookeeper-super", "superDigest")
    );
    assert!(
        env.iter()
            .all(|e| e.value.as_deref().is_none_or(|v| !v.contains("password"))),
        "the password never reaches a pod"
    );
    let readiness = c.readiness_probe.as_ref().expect("readiness");
    assert_eq!(
        readiness
            .exec
            .as_ref()
            .and_then(|e| e.command.clone())
            .expect("cmd")[1],
        "/config-templates/ready.sh"
    );
    assert_eq!(
        (readiness.period_seconds, readiness.timeout_seconds),
        (Some(2), Some(1))
    );
    let liveness = c.liveness_probe.as_ref().expect("liveness");
    assert_eq!(
        liveness
            .exec
            .as_ref()
            .and_then(|e| e.command.clone())
            .expect("cmd")[1],
        "/config-templates/live.sh"
    );
    let mounts: Vec<_> = c
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.name.as_str(), m.mount_path.as_str()))
        .collect();
    assert!(
        mounts.contains(&("data", "/data"))
            && mounts.contains(&("config-templates", "/config-templates"))
    );

    let claims = spec.volume_claim_templates.expect("claims");
    let claim = claims[0].spec.as_ref().expect("claim spec");
    assert_eq!(claims[0].metadata.name.as_deref(), Some("data"));
    assert_eq!(claim.storage_class_name.as_deref(), Some("fast"));
    assert_eq!(
        claim
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .expect("requests")["storage"]
            .0,
        "20Gi"
    );
}

#[test]
fn ephemeral_storage_uses_an_empty_dir() {
    let sts = objects("replicas: 1\nstorage: {mode: Ephemeral, size: 1Gi}").statefulset;
    let spec = sts.spec.expect("spec");
    assert!(spec.volume_claim_templates.is_none());
    let volumes = spec.template.spec.expect("pod").volumes.expect("volumes");
    let data = volumes
        .iter()
        .find(|v| v.name == "data")
        .expect("data volume");
    assert_eq!(
        data.empty_dir
            .as_ref()
            .and_then(|e| e.size_limit.as_ref())
            .map(|q| q.0.as_str()),
        Some("1Gi")
    );
}

#[test]
fn explicit_affinity_replaces_the_default() {
    let sts = objects("pod: {affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]}}}}").statefulset;
    let affinity = sts
        .spec
        .and_then(|s| s.template.spec)
        .and_then(|p| p.affinity)
        .expect("affinity");
    assert!(affinity.pod_anti_affinity.is_none());
    assert!(affinity.node_affinity.is_some());
}

#[test]
fn super_secret_holds_password_and_its_digest_and_is_owned() {
    let cluster = valid("{}");
    let secret = super_secret::super_secret(&cluster, "s3cr3t-P@ss");
    assert_eq!(secret.metadata.name.as_deref(), Some("zk-zookeeper-super"));
    let owner = &secret.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!(owner.kind, "ZookeeperCluster");
    assert_eq!(owner.name, "zk");
    let data = secret.string_data.as_ref().expect("data");
    assert_eq!(data["password"], "s3cr3t-P@ss");
    // The vector computed with ZooKeeper's own DigestAuthenticationProvider.
    assert_eq!(data["superDigest"], "super:asjqFfUDwHsRObGFT4w4ka5bjyY=");

    let mut read_back = k8s_openapi::api::core::v1::Secret::default();
    assert_eq!(super_secret::password(&read_back), None);
    read_back.data = Some(std::collections::BTreeMap::from([(
        "password".to_string(),
        k8s_openapi::ByteString(b"pw".to_vec()),
    )]));
    assert_eq!(super_secret::password(&read_back).as_deref(), Some("pw"));
}

/// `status.selector` (the scale subresource's label selector) selects exactly what the
/// StatefulSet selects, so an autoscaler counts the members' pods and nothing else.
#[test]
fn pod_selector_string_is_the_statefulsets_selector() {
    let o = objects("{}");
    let selector = o.statefulset.spec.as_ref().expect("spec").selector.clone();
    let from_string: std::collections::BTreeMap<String, String> = labels::pod_selector("zk")
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(Some(from_string), selector.match_labels);
    assert_eq!(
        labels::pod_selector("zk"),
        "app.kubernetes.io/instance=zk,app.kubernetes.io/name=zookeeper"
    );
}

/// A restart stamp goes on the pod template (a new one changes the template, which the
/// roll then restarts every member onto); without one the template has no such key.
#[test]
fn restart_stamp_is_a_pod_template_annotation() {
    let annotations = |valid: &ValidCluster| {
        let o = desired_objects(
            valid,
            ServerCapabilities {
                policy_v1: true,
                minor: Some(33),
            },
            &Membership::of_spec(valid),
        );
        o.statefulset
            .spec
            .and_then(|s| s.template.metadata)
            .and_then(|m| m.annotations)
            .unwrap_or_default()
    };
    let key = crate::api::RESTART_REQUESTED_AT_ANNOTATION;
    let plain = valid("{}");
    assert!(!annotations(&plain).contains_key(key));
    let restarted = ValidCluster {
        restart_requested_at: Some("2026-12-07T15:04:05Z".into()),
        ..plain.clone()
    };
    let with = annotations(&restarted);
    assert_eq!(
        with.get(key).map(String::as_str),
        Some("2026-12-07T15:04:05Z")
    );
    // Only the stamp differs: the config hash (and so zoo.cfg) is the same.
    let hash = crate::build::statefulset::CONFIG_HASH_ANNOTATION;
    assert_eq!(with.get(hash), annotations(&plain).get(hash));
}
