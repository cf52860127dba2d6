//! Host networking: one bridge per kubelet, one network namespace + veth pair per pod, so
//! each pod has its own IP reachable from the host (tests, operator) and from other pods.

use super::cmd::run;
use super::names::SlotNames;
use super::slot::remove_netns_sync;
use std::net::Ipv4Addr;

/// The network sandbox of one pod.
#[derive(Clone, Debug)]
pub struct PodNet {
    pub netns: String,
    pub host_veth: String,
    pub ip: Ipv4Addr,
}

/// Creates the bridge with the gateway address, so the host routes the /24 to it.
pub async fn create_bridge(names: &SlotNames) -> anyhow::Result<()> {
    let br = names.bridge();
    let cidr = format!("{}/{}", names.gateway(), names.prefix_len());
    run("ip", &["link", "add", &br, "type", "bridge"]).await?;
    run("ip", &["addr", "add", &cidr, "dev", &br]).await?;
    run("ip", &["link", "set", &br, "up"]).await?;
    Ok(())
}

/// Creates the pod's netns with `eth0` (its IP, default route via the bridge) and `lo` up.
pub async fn create_pod_net(names: &SlotNames, seq: u32, ip: Ipv4Addr) -> anyhow::Result<PodNet> {
    let net = PodNet {
        netns: names.netns(seq),
        host_veth: names.host_veth(seq),
        ip,
    };
    let result = setup(names, seq, &net).await;
    if result.is_err() {
        // Half-built sandboxes would leak links; tear down whatever exists.
        remove_pod_net(&net).await;
    }
    result.map(|()| net)
}

async fn setup(names: &SlotNames, seq: u32, net: &PodNet) -> anyhow::Result<()> {
    let ns = net.netns.as_str();
    let peer = names.peer_veth(seq);
    let cidr = format!("{}/{}", net.ip, names.prefix_len());
    let gw = names.gateway().to_string();
    run("ip", &["netns", "add", ns]).await?;
    run(
        "ip",
        &[
            "link",
            "add",
            &net.host_veth,
            "type",
            "veth",
            "peer",
            "name",
            &peer,
        ],
    )
    .await?;
    run("ip", &["link", "set", &peer, "netns", ns]).await?;
    run(
        "ip",
        &[
            "link",
            "set",
            &net.host_veth,
            "master",
            &names.bridge(),
            "up",
        ],
    )
    .await?;
    run("ip", &["-n", ns, "link", "set", &peer, "name", "eth0"]).await?;
    run("ip", &["-n", ns, "addr", "add", &cidr, "dev", "eth0"]).await?;
    run("ip", &["-n", ns, "link", "set", "eth0", "up"]).await?;
    run("ip", &["-n", ns, "link", "set", "lo", "up"]).await?;
    run("ip", &["-n", ns, "route", "add", "default", "via", &gw]).await?;
    Ok(())
}

/// Link up/down on the host end: down cuts the pod off from everything but itself.
pub async fn set_link(net: &PodNet, up: bool) -> anyhow::Result<()> {
    let state = if up { "up" } else { "down" };
    run("ip", &["link", "set", &net.host_veth, state]).await?;
    Ok(())
}

/// Deletes the namespace (killing stragglers first: a netns with live processes keeps its
/// veth alive) and the host end of the veth.
pub async fn remove_pod_net(net: &PodNet) {
    let net = net.clone();
    let _ = tokio::task::spawn_blocking(move || remove_pod_net_sync(&net)).await;
}

pub fn remove_pod_net_sync(net: &PodNet) {
    remove_netns_sync(&net.netns);
    let _ = super::cmd::run_sync("ip", &["link", "del", &net.host_veth]);
}

pub fn delete_bridge_sync(names: &SlotNames) {
    let _ = super::cmd::run_sync("ip", &["link", "del", &names.bridge()]);
}
