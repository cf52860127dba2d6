//! The pod network: a Linux bridge made up front whose gateway address is also the node's IP.
//! kubelet 1.20 refuses a loopback `--node-ip` and this kernel has no `dummy` links, so the
//! bridge is the only local address it accepts; the CNI bridge plugin adopts it as it is.
//! No masquerade and no iptables: all traffic stays on the machine, and the host (where
//! the operator and tests run) reaches every pod IP directly through the bridge route.

use std::path::Path;

use anyhow::{Context, Result};

use super::cmd;

pub(crate) const BRIDGE: &str = "zktk0";
/// A /24 of its own, so nothing else on the machine routes it (the spike used .77).
pub(crate) const SUBNET_PREFIX: &str = "10.231.78";

pub(crate) fn node_ip() -> String {
    format!("{SUBNET_PREFIX}.1")
}

pub(crate) fn create_bridge() -> Result<()> {
    // A bridge left by a killed run would make `add` fail; it carries nothing of value.
    cmd::quietly("ip", &["link", "del", BRIDGE]);
    cmd::run("ip", &["link", "add", BRIDGE, "type", "bridge"])?;
    cmd::run(
        "ip",
        &["addr", "add", &format!("{}/24", node_ip()), "dev", BRIDGE],
    )?;
    cmd::run("ip", &["link", "set", BRIDGE, "up"])?;
    Ok(())
}

pub(crate) fn delete_bridge() {
    cmd::quietly("ip", &["link", "del", BRIDGE]);
}

/// The CNI conflist (bridge + host-local IPAM with its state under `ipam_dir`).
pub(crate) fn write_cni_config(conf_dir: &Path, ipam_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(conf_dir)?;
    std::fs::create_dir_all(ipam_dir)?;
    let conf = serde_json::json!({
        "cniVersion": "0.4.0",
        "name": "zk-testkit",
        "plugins": [{
            "type": "bridge", "bridge": BRIDGE, "isGateway": true, "ipMasq": false,
            "hairpinMode": true,
            "ipam": {
                "type": "host-local", "dataDir": ipam_dir,
                "ranges": [[{"subnet": format!("{SUBNET_PREFIX}.0/24")}]],
                "routes": [{"dst": "0.0.0.0/0"}]
            }
        }]
    });
    let path = conf_dir.join("10-zk-testkit.conflist");
    std::fs::write(&path, serde_json::to_vec_pretty(&conf)?)
        .with_context(|| format!("cannot write {}", path.display()))
}
