//! Command lines of the node's kubelet, kube-scheduler and dnsmasq (pure: the flags are
//! where this machine's quirks live, see docs/real-node-spike.md).

use std::path::Path;

pub(crate) struct KubeletPorts {
    pub(crate) port: u16,
    pub(crate) healthz: u16,
}

pub(crate) fn kubelet(
    dir: &Path,
    kubeconfig: &Path,
    socket: &Path,
    node: &str,
    node_ip: &str,
    cgroup_root: &str,
    ports: &KubeletPorts,
) -> Vec<String> {
    let d = |p: &str| dir.join(p).display().to_string();
    vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        format!("--root-dir={}", d("kubelet")),
        format!("--cert-dir={}", d("kubelet/pki")),
        "--container-runtime=remote".into(),
        format!("--container-runtime-endpoint=unix://{}", socket.display()),
        "--runtime-request-timeout=2m".into(),
        "--fail-swap-on=false".into(),
        "--cgroup-driver=cgroupfs".into(),
        format!("--cgroup-root=/{cgroup_root}"),
        format!("--hostname-override={node}"),
        // The bridge's gateway: kubelet 1.20 refuses a loopback node IP.
        format!("--node-ip={node_ip}"),
        format!("--address={node_ip}"),
        format!("--port={}", ports.port),
        "--read-only-port=0".into(),
        "--healthz-bind-address=127.0.0.1".into(),
        format!("--healthz-port={}", ports.healthz),
        // exec/logs from the apiserver are unauthenticated; bound to the bridge only.
        "--anonymous-auth=true".into(),
        "--authorization-mode=AlwaysAllow".into(),
        "--authentication-token-webhook=false".into(),
        // No iptables on this machine; the pod network needs none.
        "--make-iptables-util-chains=false".into(),
        format!("--volume-plugin-dir={}", d("kubelet/volume-plugins")),
        "--image-gc-high-threshold=100".into(),
        "--image-gc-low-threshold=99".into(),
        "--eviction-hard=memory.available<100Mi,nodefs.available<1%,imagefs.available<1%".into(),
        "--max-pods=30".into(),
        // The cluster DNS is dnsmasq on the node IP; no host search domains leak in.
        format!("--cluster-dns={node_ip}"),
        "--cluster-domain=cluster.local".into(),
        format!("--resolv-conf={}", d("resolv.conf")),
        // Ready is posted on the next status update after the runtime check (default 10 s).
        "--node-status-update-frequency=2s".into(),
        "--v=2".into(),
    ]
}

pub(crate) fn scheduler(kubeconfig: &Path) -> Vec<String> {
    vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        "--leader-elect=false".into(),
        // No serving at all: nothing here reads its metrics, and fixed ports would collide.
        "--port=0".into(),
        "--secure-port=0".into(),
        "--v=1".into(),
    ]
}

pub(crate) fn dnsmasq(node_ip: &str, hosts_file: &Path) -> Vec<String> {
    vec![
        "--keep-in-foreground".into(),
        "--log-facility=-".into(),
        "--conf-file=/dev/null".into(),
        "--pid-file=".into(),
        "--user=root".into(),
        format!("--listen-address={node_ip}"),
        "--bind-interfaces".into(),
        "--port=53".into(),
        // Only the cluster's names: no upstream, no /etc/hosts, cluster.local answered here.
        "--no-resolv".into(),
        "--no-hosts".into(),
        "--local=/cluster.local/".into(),
        format!("--addn-hosts={}", hosts_file.display()),
        // A pod looks its peers up before they exist: never cache a "no such name".
        "--no-negcache".into(),
        "--local-ttl=1".into(),
    ]
}
