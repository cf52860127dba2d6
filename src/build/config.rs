//! The ConfigMap: zoo.cfg, the member list, and the scripts.
use std::collections::BTreeMap;
use std::fmt::Write as _;

use k8s_openapi::api::core::v1::ConfigMap;
use sha2::{Digest, Sha256};

use super::labels::{
    CLIENT_PORT, ELECTION_PORT, QUORUM_PORT, config_map_name, member_host, object_meta,
};
use super::scripts::{
    DATA_DIR, LOGBACK, LOGBACK_XML, MEMBER_CONF_DIR, liveness_script, readiness_script,
    start_script,
};
use crate::validate::ValidCluster;
use crate::zk::dynamic_config::{ClientAddr, Role, ServerSpec};

pub const ZOO_CFG: &str = "zoo.cfg";
pub const DYNAMIC_CFG: &str = "zoo.cfg.dynamic";
pub const START_SCRIPT: &str = "start.sh";
pub const READY_SCRIPT: &str = "ready.sh";
pub const LIVE_SCRIPT: &str = "live.sh";

/// Four-letter words the operator and probes use; nothing else is exposed.
pub const FOUR_LETTER_WORDS: &str = "conf,isro,mntr,ruok,srvr,stat";

/// Static zoo.cfg. Membership lives in the dynamic file so that scaling (a membership
/// change) does not alter this file and so does not roll every pod.
pub fn zoo_cfg(cluster: &ValidCluster) -> String {
    let c = &cluster.spec.config;
    let mut lines = vec![
        "# Managed by zookeeper-operator: edit the ZookeeperCluster, not this file.".to_string(),
        format!("dataDir={DATA_DIR}"),
        format!("dynamicConfigFile={MEMBER_CONF_DIR}/{DYNAMIC_CFG}"),
        // A one-member ensemble must still run as a quorum so it can grow by reconfig.
        "standaloneEnabled=false".to_string(),
        "reconfigEnabled=true".to_string(),
        // Pods resolve their own name to the pod IP only once DNS is up; listening on all
        // addresses avoids the bootstrap race pravega users hit.
        "quorumListenOnAllIPs=true".to_string(),
        format!("4lw.commands.whitelist={FOUR_LETTER_WORDS}"),
        "admin.enableServer=false".to_string(),
        format!("tickTime={}", c.tick_time),
        format!("initLimit={}", c.init_limit),
        format!("syncLimit={}", c.sync_limit),
        format!("maxClientCnxns={}", c.max_client_cnxns),
        format!(
            "autopurge.snapRetainCount={}",
            c.autopurge_snap_retain_count
        ),
        format!("autopurge.purgeInterval={}", c.autopurge_purge_interval),
    ];
    if let Some(v) = c.min_session_timeout {
        lines.push(format!("minSessionTimeout={v}"));
    }
    if let Some(v) = c.max_session_timeout {
        lines.push(format!("maxSessionTimeout={v}"));
    }
    lines.extend(c.extra.iter().map(|(k, v)| format!("{k}={}", v.trim())));
    lines.join("\n") + "\n"
}

/// `server.N=host:quorum:election:participant;0.0.0.0:client` for each member id.
pub fn member_list(cluster: &ValidCluster, members: &[u64]) -> String {
    let mut out = String::new();
    for id in members {
        let _ = writeln!(out, "{}", member_spec(cluster, *id).to_line());
    }
    out
}

/// One member's line, as the seed lists it and as a reconfig adds it.
pub fn member_spec(cluster: &ValidCluster, id: u64) -> ServerSpec {
    let ordinal = i32::try_from(id.saturating_sub(1)).unwrap_or(i32::MAX);
    ServerSpec {
        id,
        host: member_host(cluster, ordinal),
        quorum_port: QUORUM_PORT as u16,
        election_port: ELECTION_PORT as u16,
        role: Role::Participant,
        client: Some(ClientAddr {
            host: Some("0.0.0.0".to_string()),
            port: CLIENT_PORT as u16,
        }),
    }
}

pub fn config_map(cluster: &ValidCluster, members: &[u64]) -> ConfigMap {
    let data = BTreeMap::from([
        (ZOO_CFG.to_string(), zoo_cfg(cluster)),
        (DYNAMIC_CFG.to_string(), member_list(cluster, members)),
        (START_SCRIPT.to_string(), start_script()),
        (READY_SCRIPT.to_string(), readiness_script()),
        (LIVE_SCRIPT.to_string(), liveness_script()),
        (LOGBACK.to_string(), LOGBACK_XML.to_string()),
    ]);
    ConfigMap {
        metadata: object_meta(cluster, config_map_name(&cluster.name)),
        data: Some(data),
        ..ConfigMap::default()
    }
}

/// Hash of everything in the ConfigMap that a running member reads at start, except the
/// member list: put on the pod template, a change rolls the pods.
pub fn config_hash(config_map: &ConfigMap) -> String {
    let mut hasher = Sha256::new();
    for (key, value) in config_map.data.iter().flatten() {
        if key != DYNAMIC_CFG {
            hasher.update(key.as_bytes());
            hasher.update([0]);
            hasher.update(value.as_bytes());
            hasher.update([0]);
        }
    }
    hex::encode(hasher.finalize())[..16].to_string()
}
