//! Command lines of the three components. Each flag that is not a plain default says why.

use std::path::Path;

use super::pki::Pki;

pub(crate) struct Ports {
    pub(crate) etcd_client: u16,
    pub(crate) etcd_peer: u16,
    pub(crate) apiserver: u16,
    pub(crate) controller_manager: u16,
}

fn p(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

pub(crate) fn etcd(dir: &Path, ports: &Ports) -> Vec<String> {
    let client = format!("http://127.0.0.1:{}", ports.etcd_client);
    let peer = format!("http://127.0.0.1:{}", ports.etcd_peer);
    vec![
        "--name=default".into(),
        format!("--data-dir={}", p(&dir.join("etcd-data"))),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        // The peer port is unused by a one-member cluster but still bound: it must not be the
        // default 2380, or two control planes would collide.
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=default={peer}"),
        // Tests write little; the 100k default only delays nothing but costs memory.
        "--snapshot-count=10000".into(),
        "--logger=zap".into(),
    ]
}

pub(crate) fn apiserver(dir: &Path, ports: &Ports, pki: &Pki, audit: bool) -> Vec<String> {
    let mut flags = vec![
        format!("--etcd-servers=http://127.0.0.1:{}", ports.etcd_client),
        "--bind-address=127.0.0.1".into(),
        format!("--secure-port={}", ports.apiserver),
        "--advertise-address=127.0.0.1".into(),
        // The `kubernetes` Service's Endpoints would point at 127.0.0.1, which Endpoints
        // validation rejects (loopback), logging an error every 10 s. Nothing could use them
        // anyway: there is no kube-proxy.
        "--endpoint-reconciler-type=none".into(),
        format!("--tls-cert-file={}", p(&pki.serving_cert)),
        format!("--tls-private-key-file={}", p(&pki.serving_key)),
        format!("--client-ca-file={}", p(&pki.ca_cert)),
        format!("--token-auth-file={}", p(&dir.join("tokens.csv"))),
        "--authorization-mode=RBAC".into(),
        format!("--service-account-key-file={}", p(&pki.sa_pub)),
        format!("--service-account-signing-key-file={}", p(&pki.sa_key)),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
        "--api-audiences=https://kubernetes.default.svc.cluster.local".into(),
        "--service-cluster-ip-range=10.96.0.0/16".into(),
        // Pods get a real token via the ServiceAccount admission plugin (default set); the
        // tokens controller in kube-controller-manager must therefore run (see below).
        "--allow-privileged=true".into(),
        // On top of the default set, as OpenShift runs it: setting blockOwnerDeletion needs
        // `update` on the owner's finalizers, so a chart missing that rule fails here too.
        "--enable-admission-plugins=OwnerReferencesPermissionEnforcement".into(),
        "--profiling=false".into(),
        // No kubelets exist: never try to reach one for logs/exec.
        "--kubelet-preferred-address-types=InternalIP".into(),
    ];
    if audit {
        // Opt-in (benchmarks): one JSON line per request stage, never rotated.
        flags.push(format!(
            "--audit-policy-file={}",
            p(&dir.join(super::audit::POLICY_FILE))
        ));
        flags.push(format!(
            "--audit-log-path={}",
            p(&dir.join(super::audit::LOG_FILE))
        ));
        flags.push("--audit-log-maxsize=0".into());
    }
    flags
}

pub(crate) fn controller_manager(dir: &Path, ports: &Ports, pki: &Pki) -> Vec<String> {
    let kubeconfig = p(&dir.join("kubeconfig"));
    vec![
        format!("--kubeconfig={kubeconfig}"),
        // Without these two, no token Secret is made for ServiceAccounts, the ServiceAccount
        // admission plugin rejects every Pod, and StatefulSets never get Pods.
        format!("--service-account-private-key-file={}", p(&pki.sa_key)),
        format!("--root-ca-file={}", p(&pki.ca_cert)),
        // Each controller runs as its own ServiceAccount, so RBAC is exercised as in a cluster.
        "--use-service-account-credentials=true".into(),
        "--controllers=*".into(),
        format!("--cluster-signing-cert-file={}", p(&pki.ca_cert)),
        format!("--cluster-signing-key-file={}", p(&pki.ca_key)),
        "--leader-elect=false".into(),
        // The default client rate limit (20 qps) spaces controller start-ups ~150 ms apart
        // (each fetches its ServiceAccount token) and slows every test's reconciliation.
        "--kube-api-qps=200".into(),
        "--kube-api-burst=400".into(),
        // Plain-HTTP /healthz on loopback only; HTTPS serving is off (it would want the
        // default port 10257 and delegated authentication).
        "--address=127.0.0.1".into(),
        format!("--port={}", ports.controller_manager),
        "--secure-port=0".into(),
        "--profiling=false".into(),
    ]
}
