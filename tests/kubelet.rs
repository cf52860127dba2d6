//! The process kubelet (zk-testkit) against a real apiserver + controller-manager: pods get
//! their own IP and namespaces, probes and restarts behave like a kubelet's, and a
//! StatefulSet of ZooKeeper pods becomes a real quorum. Needs root, iproute2, util-linux,
//! Debian's zookeeper and the control-plane binaries (testkit/scripts/install-deps.sh).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, Service,
    ServiceAccount,
};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zk_testkit::controlplane::ControlPlane;
use zk_testkit::kubelet::{KubeletOptions, ProcessKubelet};

/// Test logs: `RUST_LOG=zk_testkit=debug cargo test --test kubelet -- --nocapture`.
/// Silent without RUST_LOG (the control plane's startup polls log expected 500s).
fn init_logs() {
    if std::env::var_os("RUST_LOG").is_none() {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Polls `check` every 250 ms until it returns `Some`, or fails after `timeout`.
async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Creates a namespace and waits for its `default` ServiceAccount token: a 1.20 apiserver
/// rejects pods until the token controller made it.
async fn create_namespace(client: &kube::Client, name: &str) -> Result<()> {
    let ns: Namespace = serde_json::from_value(json!({ "metadata": { "name": name } }))?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), name);
    eventually(
        "the default service account token",
        Duration::from_secs(60),
        || async {
            let sa = sas.get_opt("default").await?;
            Ok(sa
                .filter(|sa| sa.secrets.as_ref().is_some_and(|s| !s.is_empty()))
                .map(|_| ()))
        },
    )
    .await
}

fn condition(pod: &Pod, kind: &str) -> Option<String> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| c.status.clone())
}

fn is_ready(pod: &Pod) -> bool {
    condition(pod, "Ready").as_deref() == Some("True")
}

fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref()?.phase.as_deref()
}

fn restart_count(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .map_or(0, |c| c.restart_count)
}

fn waiting_reason(pod: &Pod) -> Option<String> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .first()?
        .state
        .as_ref()?
        .waiting
        .as_ref()?
        .reason
        .clone()
}

/// A four-letter word from the host to a member; `None` when it does not answer in time.
async fn four_letter(ip: IpAddr, word: &str) -> Option<String> {
    let io = async {
        let mut s = TcpStream::connect(SocketAddr::new(ip, 2181)).await.ok()?;
        s.write_all(word.as_bytes()).await.ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).await.ok()?;
        Some(out)
    };
    tokio::time::timeout(Duration::from_secs(2), io)
        .await
        .ok()
        .flatten()
}

async fn mode(ip: IpAddr) -> Option<String> {
    let out = four_letter(ip, "srvr").await?;
    out.lines()
        .find_map(|l| l.strip_prefix("Mode: "))
        .map(str::to_string)
}

/// One bare pod through its whole life: Running with an IP, env and hosts file as a kubelet
/// sets them, an exec readiness probe that follows the container, a kill that is counted as
/// a restart, and a deletion that removes the object. Next to it, a pod with an image the
/// harness cannot run must stay not-Ready and say why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_pod_lifecycle_and_unknown_image() -> Result<()> {
    init_logs();
    let t0 = Instant::now();
    let cp = ControlPlane::start().await?;
    let client = cp.client();
    let kubelet = ProcessKubelet::start(&cp, KubeletOptions::fast()).await?;
    create_namespace(&client, "bare").await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "bare");

    let node = Api::<Node>::all(client.clone())
        .get(kubelet.node_name())
        .await?;
    let node_ready = node
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    assert!(node_ready, "the node registers Ready");
    let lease = eventually("the node lease", Duration::from_secs(20), || async {
        Ok(Api::<Lease>::namespaced(client.clone(), "kube-node-lease")
            .get_opt(kubelet.node_name())
            .await?)
    })
    .await?;
    let holder = lease.spec.and_then(|s| s.holder_identity);
    assert_eq!(holder.as_deref(), Some(kubelet.node_name()));

    let pod: Pod = serde_json::from_value(json!({
        "metadata": { "name": "solo" },
        "spec": {
            "terminationGracePeriodSeconds": 5,
            "volumes": [{ "name": "work", "emptyDir": {} }],
            "containers": [{
                "name": "main",
                "image": "zookeeper:3.9",
                // PID 1 ignores SIGTERM unless it traps it, exactly as in a container.
                "command": ["bash", "-c", "trap 'exit 0' TERM; echo hi from $(hostname); sleep 3600 & wait"],
                "env": [
                    { "name": "MY_IP", "valueFrom": { "fieldRef": { "fieldPath": "status.podIP" } } },
                    { "name": "MY_MEM", "valueFrom": { "resourceFieldRef": { "resource": "limits.memory", "divisor": "1Mi" } } },
                ],
                "resources": { "limits": { "memory": "256Mi" } },
                "volumeMounts": [{ "name": "work", "mountPath": "/work" }],
                "readinessProbe": {
                    "exec": { "command": ["test", "-f", "/work/ready"] },
                    "periodSeconds": 1, "failureThreshold": 1,
                },
            }],
        },
    }))?;
    pods.create(&PostParams::default(), &pod).await?;
    let mystery: Pod = serde_json::from_value(json!({
        "metadata": { "name": "mystery" },
        "spec": { "containers": [{ "name": "main", "image": "busybox:1.36", "command": ["true"] }] },
    }))?;
    pods.create(&PostParams::default(), &mystery).await?;

    let running = eventually(
        "solo Running with a pod IP",
        Duration::from_secs(60),
        || async {
            let p = pods.get("solo").await?;
            let ip = p.status.as_ref().and_then(|s| s.pod_ip.clone());
            Ok((phase(&p) == Some("Running") && ip.is_some()).then_some(p))
        },
    )
    .await?;
    let pod_ip = running
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .context("pod IP")?;
    assert_eq!(
        kubelet.pod_ip("bare", "solo").map(|ip| ip.to_string()),
        Some(pod_ip.clone())
    );
    assert!(
        !is_ready(&running),
        "not Ready before the readiness probe passes"
    );
    println!("solo running at {pod_ip} after {:?}", t0.elapsed());

    // The container sees its own hostname, IP (downward API), limits and hosts file.
    let secs = Duration::from_secs(20);
    let (code, out) = kubelet
        .exec("bare", "solo", "main", &["bash", "-c", "echo $(hostname) $MY_IP $MY_MEM; grep -c solo /etc/hosts; ls /var/run/secrets/kubernetes.io/serviceaccount"], secs)
        .await?;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("solo {pod_ip} 256")), "{out}");
    assert!(out.contains("token") && out.contains("ca.crt"), "{out}");
    assert!(
        kubelet
            .logs("bare", "solo", "main")?
            .contains("hi from solo")
    );

    // In-cluster API access: service-account token + CA + KUBERNETES_SERVICE_HOST, through
    // the forwarder on the bridge, with full TLS verification.
    let sa = "/var/run/secrets/kubernetes.io/serviceaccount";
    let curl = format!(
        "curl -sS --cacert {sa}/ca.crt -H \"Authorization: Bearer $(cat {sa}/token)\" \
         https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/$(cat {sa}/namespace)/pods/solo"
    );
    let (code, out) = kubelet
        .exec("bare", "solo", "main", &["bash", "-c", &curl], secs)
        .await?;
    assert_eq!(code, 0, "{out}");
    // The default service account may not read pods (RBAC): a 403 from the real apiserver
    // naming it proves the token was accepted and TLS verified.
    assert!(out.contains("system:serviceaccount:bare:default"), "{out}");

    // The exec readiness probe follows the file.
    kubelet
        .exec("bare", "solo", "main", &["touch", "/work/ready"], secs)
        .await?;
    eventually("solo Ready", Duration::from_secs(20), || async {
        Ok(is_ready(&pods.get("solo").await?).then_some(()))
    })
    .await?;
    // Status is patched on change only: passing probes do not touch the object.
    let before = pods.get("solo").await?.metadata.resource_version;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = pods.get("solo").await?.metadata.resource_version;
    assert_eq!(before, after, "a steady pod must not be rewritten");
    kubelet
        .exec("bare", "solo", "main", &["rm", "/work/ready"], secs)
        .await?;
    eventually("solo not Ready", Duration::from_secs(20), || async {
        Ok((!is_ready(&pods.get("solo").await?)).then_some(()))
    })
    .await?;

    // A killed container is restarted and counted; its last state records the SIGKILL.
    kubelet.kill_container("bare", "solo", "main")?;
    let restarted = eventually("restartCount 1", Duration::from_secs(30), || async {
        let p = pods.get("solo").await?;
        Ok((restart_count(&p) == 1 && phase(&p) == Some("Running")).then_some(p))
    })
    .await?;
    let last = restarted
        .status
        .and_then(|s| s.container_statuses)
        .and_then(|c| c.into_iter().next())
        .and_then(|c| c.last_state)
        .and_then(|s| s.terminated)
        .context("lastState.terminated after a kill")?;
    assert_eq!(last.exit_code, 137);

    // The unknown image never runs and says why.
    let stuck = pods.get("mystery").await?;
    let reason = waiting_reason(&stuck);
    assert!(
        matches!(reason.as_deref(), Some("ErrImagePull" | "ImagePullBackOff")),
        "unknown image must show an image error, got {reason:?}"
    );
    assert_eq!(phase(&stuck), Some("Pending"));
    assert!(!is_ready(&stuck));

    // Deletion: SIGTERM, the kubelet removes the object, the sandbox goes away.
    let started = Instant::now();
    pods.delete("solo", &DeleteParams::default()).await?;
    eventually("solo deleted", Duration::from_secs(30), || async {
        Ok(pods.get_opt("solo").await?.is_none().then_some(()))
    })
    .await?;
    println!("solo deleted in {:?}", started.elapsed());
    assert!(kubelet.pod_ip("bare", "solo").is_none());
    let still = pods.get("mystery").await?;
    assert!(!is_ready(&still), "the unknown image never becomes Ready");

    kubelet.stop().await;
    cp.stop().await;
    println!("bare pod test took {:?}", t0.elapsed());
    Ok(())
}

const ZK_NS: &str = "zk";

fn zoo_cfg() -> String {
    let servers: String = (0..3)
        .map(|i| {
            format!(
                "server.{}=zk-{i}.zk-hs.{ZK_NS}.svc.cluster.local:2888:3888\n",
                i + 1
            )
        })
        .collect();
    format!(
        "tickTime=1000\ninitLimit=10\nsyncLimit=3\ndataDir=/data\nclientPort=2181\n\
         4lw.commands.whitelist=*\nadmin.enableServer=false\n{servers}"
    )
}

/// What an operator would generate: myid from the StatefulSet ordinal, then the
/// official image's entry point.
const START_SH: &str = "#!/bin/bash\nset -e\nord=${HOSTNAME##*-}\necho $((ord + 1)) > /data/myid\n\
exec zkServer.sh start-foreground /conf/zoo.cfg\n";

/// Readiness by `srvr` over bash's /dev/tcp: cheap (no JVM per probe) and it means
/// "serving", not merely "listening".
const READY_SH: &str = "exec 3<>/dev/tcp/127.0.0.1/2181 && echo srvr >&3 && grep -q '^Mode: ' <&3";

async fn apply_ensemble(client: &kube::Client) -> Result<()> {
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": { "name": "zk-config" },
        "data": { "zoo.cfg": zoo_cfg(), "start.sh": START_SH },
    }))?;
    Api::<ConfigMap>::namespaced(client.clone(), ZK_NS)
        .create(&PostParams::default(), &cm)
        .await?;
    let svc: Service = serde_json::from_value(json!({
        "metadata": { "name": "zk-hs" },
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": true,
            "selector": { "app": "zk" },
            "ports": [{ "name": "client", "port": 2181 }, { "name": "peer", "port": 2888 }, { "name": "election", "port": 3888 }],
        },
    }))?;
    Api::<Service>::namespaced(client.clone(), ZK_NS)
        .create(&PostParams::default(), &svc)
        .await?;
    let sts: StatefulSet = serde_json::from_value(json!({
        "metadata": { "name": "zk" },
        "spec": {
            "replicas": 3,
            "serviceName": "zk-hs",
            "podManagementPolicy": "Parallel",
            "selector": { "matchLabels": { "app": "zk" } },
            "template": {
                "metadata": { "labels": { "app": "zk" } },
                "spec": {
                    "terminationGracePeriodSeconds": 10,
                    "volumes": [{ "name": "conf", "configMap": { "name": "zk-config", "items": [
                        { "key": "zoo.cfg", "path": "zoo.cfg" },
                        { "key": "start.sh", "path": "start.sh", "mode": 0o755 },
                    ] } }],
                    "containers": [{
                        "name": "zookeeper",
                        "image": "zookeeper:3.9",
                        "command": ["bash", "/conf/start.sh"],
                        "env": [{ "name": "ZK_SERVER_HEAP", "value": "256" }],
                        "ports": [{ "name": "client", "containerPort": 2181 }],
                        "volumeMounts": [
                            { "name": "conf", "mountPath": "/conf" },
                            { "name": "data", "mountPath": "/data" },
                        ],
                        "readinessProbe": {
                            "exec": { "command": ["bash", "-c", READY_SH] },
                            "periodSeconds": 2, "timeoutSeconds": 2,
                        },
                        "livenessProbe": {
                            "tcpSocket": { "port": "client" },
                            "initialDelaySeconds": 20, "periodSeconds": 5, "failureThreshold": 6,
                        },
                    }],
                },
            },
            "volumeClaimTemplates": [{
                "metadata": { "name": "data" },
                "spec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "1Gi" } } },
            }],
        },
    }))?;
    Api::<StatefulSet>::namespaced(client.clone(), ZK_NS)
        .create(&PostParams::default(), &sts)
        .await?;
    Ok(())
}

/// Pod IPs of zk-0..2 once all three are Ready.
async fn ready_members(pods: &Api<Pod>, timeout: Duration) -> Result<Vec<IpAddr>> {
    eventually("3 Ready ZooKeeper pods", timeout, || async {
        let mut ips = Vec::new();
        for i in 0..3 {
            let Some(p) = pods.get_opt(&format!("zk-{i}")).await? else {
                return Ok(None);
            };
            let ip = p
                .status
                .as_ref()
                .and_then(|s| s.pod_ip.as_deref())
                .and_then(|ip| ip.parse().ok());
            match ip {
                Some(ip) if is_ready(&p) => ips.push(ip),
                _ => return Ok(None),
            }
        }
        Ok(Some(ips))
    })
    .await
}

async fn leaders(ips: &[IpAddr]) -> (usize, Vec<Option<String>>) {
    let mut modes = Vec::new();
    for ip in ips {
        modes.push(mode(*ip).await);
    }
    let n = modes
        .iter()
        .filter(|m| m.as_deref() == Some("leader"))
        .count();
    (n, modes)
}

/// A 3-replica StatefulSet (headless Service, ConfigMap, PVCs) becomes a ZooKeeper quorum:
/// one leader, data written through one member is read through another, members find each
/// other by pod DNS name. Then faults: a frozen or cut-off member stops answering and comes
/// back; a deleted member is recreated by the StatefulSet with its data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulset_forms_a_zookeeper_quorum_and_survives_faults() -> Result<()> {
    init_logs();
    let t0 = Instant::now();
    let cp = ControlPlane::start().await?;
    let client = cp.client();
    let kubelet = ProcessKubelet::start(&cp, KubeletOptions::fast()).await?;
    create_namespace(&client, ZK_NS).await?;
    apply_ensemble(&client).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), ZK_NS);

    let ips = ready_members(&pods, Duration::from_secs(180)).await?;
    println!("3 members Ready after {:?}: {ips:?}", t0.elapsed());
    let (n, modes) = eventually("exactly one leader", Duration::from_secs(60), || async {
        let (n, modes) = leaders(&ips).await;
        let all_serving = modes
            .iter()
            .all(|m| matches!(m.as_deref(), Some("leader" | "follower")));
        Ok((n == 1 && all_serving).then_some((n, modes)))
    })
    .await?;
    assert_eq!(n, 1, "{modes:?}");

    // Peers resolve each other by pod DNS name from inside the pods.
    let secs = Duration::from_secs(60);
    let (_, hosts) = kubelet
        .exec(
            ZK_NS,
            "zk-0",
            "zookeeper",
            &["getent", "hosts", "zk-2.zk-hs.zk.svc.cluster.local"],
            secs,
        )
        .await?;
    assert!(hosts.contains(&ips[2].to_string()), "{hosts}");

    // A write through zk-0 is readable through zk-2 (zkCli.sh via the image shims).
    let (code, out) = kubelet
        .exec(
            ZK_NS,
            "zk-0",
            "zookeeper",
            &[
                "zkCli.sh",
                "-server",
                "127.0.0.1:2181",
                "create",
                "/kubelet-test",
                "hello-quorum",
            ],
            secs,
        )
        .await?;
    assert_eq!(code, 0, "{out}");
    let (code, out) = kubelet
        .exec(
            ZK_NS,
            "zk-2",
            "zookeeper",
            &[
                "zkCli.sh",
                "-server",
                "127.0.0.1:2181",
                "get",
                "/kubelet-test",
            ],
            secs,
        )
        .await?;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("hello-quorum"), "{out}");
    println!("quorum verified after {:?}", t0.elapsed());

    // Freeze a member: it holds its sockets but answers nothing; thaw brings it back.
    let victim = ips[1];
    kubelet.freeze(ZK_NS, "zk-1")?;
    assert_eq!(
        four_letter(victim, "ruok").await,
        None,
        "a frozen member must not answer"
    );
    kubelet.thaw(ZK_NS, "zk-1")?;
    eventually(
        "zk-1 answers after thaw",
        Duration::from_secs(30),
        || async {
            Ok(mode(victim)
                .await
                .filter(|m| m == "follower" || m == "leader"))
        },
    )
    .await?;

    // Cut a member off the network: unreachable; restored, it serves again.
    kubelet.cut_network(ZK_NS, "zk-2").await?;
    assert_eq!(
        four_letter(ips[2], "ruok").await,
        None,
        "a cut-off member must not answer"
    );
    kubelet.restore_network(ZK_NS, "zk-2").await?;
    eventually(
        "zk-2 serves after restore",
        Duration::from_secs(60),
        || async {
            Ok(mode(ips[2])
                .await
                .filter(|m| m == "follower" || m == "leader"))
        },
    )
    .await?;

    // Deleting a member: the kubelet stops it and removes the object, the StatefulSet
    // recreates it (same PVC), and it rejoins with the data.
    let old_uid = pods.get("zk-0").await?.metadata.uid;
    pods.delete("zk-0", &DeleteParams::default()).await?;
    eventually("zk-0 recreated", Duration::from_secs(60), || async {
        let p = pods.get_opt("zk-0").await?;
        Ok(p.filter(|p| p.metadata.uid != old_uid).map(|_| ()))
    })
    .await?;
    let ips = ready_members(&pods, Duration::from_secs(120)).await?;
    let (code, out) = kubelet
        .exec(
            ZK_NS,
            "zk-0",
            "zookeeper",
            &[
                "zkCli.sh",
                "-server",
                "127.0.0.1:2181",
                "get",
                "/kubelet-test",
            ],
            secs,
        )
        .await?;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("hello-quorum"), "{out}");
    let (n, modes) = leaders(&ips).await;
    assert_eq!(n, 1, "{modes:?}");

    // After a minute of running, the node lifecycle controller still sees a healthy node.
    let node = Api::<Node>::all(client.clone())
        .get(kubelet.node_name())
        .await?;
    let taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    assert!(taints.is_empty(), "node tainted: {taints:?}");
    let ready = node
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .into_iter()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    assert!(ready, "node not Ready");

    kubelet.stop().await;
    cp.stop().await;
    println!("quorum test took {:?}", t0.elapsed());
    Ok(())
}

fn container_status(pod: &Pod) -> Option<k8s_openapi::api::core::v1::ContainerStatus> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .first()
        .cloned()
}

/// Restart policies, crash-loop back-off, liveness restarts, init containers and live
/// configMap volumes, with cheap bash pods on one control plane.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_policies_probes_init_and_volumes() -> Result<()> {
    init_logs();
    let t0 = Instant::now();
    let cp = ControlPlane::start().await?;
    let client = cp.client();
    // Images naming the operator run this binary; /bin/echo shows the argv it gets.
    let opts = KubeletOptions::fast().with_operator_binary("/bin/echo");
    let kubelet = ProcessKubelet::start(&cp, opts).await?;
    create_namespace(&client, "policies").await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "policies");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "policies");
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": { "name": "settings" },
        "data": { "greeting": "hello", "mode": "one" },
    }))?;
    cms.create(&PostParams::default(), &cm).await?;

    let simple = |name: &str, policy: &str, script: &str| -> Result<Pod> {
        Ok(serde_json::from_value(json!({
            "metadata": { "name": name },
            "spec": {
                "restartPolicy": policy,
                "terminationGracePeriodSeconds": 1,
                "containers": [{ "name": "main", "image": "zookeeper", "command": ["bash", "-c", script] }],
            },
        }))?)
    };
    let mut all = vec![
        simple("crashy", "Always", "echo crashing; exit 3")?,
        simple("done-ok", "Never", "exit 0")?,
        simple("done-bad", "Never", "exit 1")?,
        simple("retry-ok", "OnFailure", "exit 0")?,
    ];
    all.push(serde_json::from_value(json!({
        "metadata": { "name": "unlively" },
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{
                "name": "main", "image": "zookeeper",
                "command": ["bash", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
                "livenessProbe": { "exec": { "command": ["false"] }, "periodSeconds": 1, "failureThreshold": 2 },
            }],
        },
    }))?);
    all.push(serde_json::from_value(json!({
        "metadata": { "name": "staged" },
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "volumes": [
                { "name": "shared", "emptyDir": {} },
                { "name": "settings", "configMap": { "name": "settings" } },
            ],
            "initContainers": [{
                "name": "prepare", "image": "zookeeper",
                "command": ["bash", "-c", "echo prepared > /shared/marker"],
                "volumeMounts": [{ "name": "shared", "mountPath": "/shared" }],
            }],
            "containers": [{
                "name": "main", "image": "zookeeper",
                "command": ["bash", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
                "env": [{ "name": "GREETING", "valueFrom": { "configMapKeyRef": { "name": "settings", "key": "greeting" } } }],
                "volumeMounts": [
                    { "name": "shared", "mountPath": "/shared" },
                    { "name": "settings", "mountPath": "/etc/settings" },
                ],
            }],
        },
    }))?);
    // Termination messages: the log tail (this run's only) with FallbackToLogsOnError and
    // a failed exit, nothing with the default policy, the file when the container wrote one.
    let counted = "n=$(cat /s/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /s/n; \
                   echo \"attempt $n\"; exit 2";
    for (name, policy) in [("last-words", "FallbackToLogsOnError"), ("silent", "File")] {
        all.push(serde_json::from_value(json!({
            "metadata": { "name": name },
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "volumes": [{ "name": "s", "emptyDir": {} }],
                "containers": [{
                    "name": "main", "image": "zookeeper", "command": ["bash", "-c", counted],
                    "terminationMessagePolicy": policy,
                    "volumeMounts": [{ "name": "s", "mountPath": "/s" }],
                }],
            },
        }))?);
    }
    all.push(serde_json::from_value(json!({
        "metadata": { "name": "wrote-file" },
        "spec": {
            "restartPolicy": "Never",
            "containers": [{
                "name": "main", "image": "zookeeper",
                "command": ["bash", "-c", "echo log line; echo -n 'my last words' > /tmp/why; exit 4"],
                "terminationMessagePath": "/tmp/why",
                "terminationMessagePolicy": "FallbackToLogsOnError",
            }],
        },
    }))?);
    for p in &all {
        pods.create(&PostParams::default(), p).await?;
    }

    let crashing = eventually(
        "crashy in CrashLoopBackOff",
        Duration::from_secs(60),
        || async {
            let p = pods.get("crashy").await?;
            let ok =
                waiting_reason(&p).as_deref() == Some("CrashLoopBackOff") && restart_count(&p) >= 1;
            Ok(ok.then_some(p))
        },
    )
    .await?;
    let last = container_status(&crashing)
        .and_then(|c| c.last_state)
        .and_then(|s| s.terminated)
        .context("lastState of a crash-looping container")?;
    assert_eq!(last.exit_code, 3);

    let looped = eventually(
        "last-words restarted twice",
        Duration::from_secs(60),
        || async {
            let p = pods.get("last-words").await?;
            Ok((restart_count(&p) >= 2).then_some(p))
        },
    )
    .await?;
    let words = container_status(&looped)
        .and_then(|c| c.last_state)
        .and_then(|s| s.terminated)
        .and_then(|t| t.message)
        .context("lastState.terminated.message with FallbackToLogsOnError")?;
    assert!(
        words.starts_with("attempt ") && words.matches("attempt").count() == 1,
        "only the last run's log: {words:?}"
    );
    let silent = eventually("silent restarted", Duration::from_secs(60), || async {
        let p = pods.get("silent").await?;
        Ok((restart_count(&p) >= 1).then_some(p))
    })
    .await?;
    let silent = container_status(&silent)
        .and_then(|c| c.last_state)
        .and_then(|s| s.terminated)
        .context("silent's lastState")?;
    assert_eq!(silent.exit_code, 2);
    assert_eq!(silent.message, None, "the default policy reports no log");
    let wrote = eventually("wrote-file terminated", Duration::from_secs(60), || async {
        let p = pods.get("wrote-file").await?;
        Ok(container_status(&p)
            .and_then(|c| c.state)
            .and_then(|s| s.terminated))
    })
    .await?;
    assert_eq!(wrote.message.as_deref(), Some("my last words"));
    assert_eq!(
        phase(&crashing),
        Some("Running"),
        "Always + crash loop stays Running"
    );

    for (name, want) in [
        ("done-ok", "Succeeded"),
        ("done-bad", "Failed"),
        ("retry-ok", "Succeeded"),
    ] {
        eventually(
            &format!("{name} {want}"),
            Duration::from_secs(60),
            || async { Ok((phase(&pods.get(name).await?) == Some(want)).then_some(())) },
        )
        .await?;
    }
    assert_eq!(
        restart_count(&pods.get("done-bad").await?),
        0,
        "Never does not restart"
    );

    eventually(
        "liveness restarts unlively",
        Duration::from_secs(60),
        || async { Ok((restart_count(&pods.get("unlively").await?) >= 1).then_some(())) },
    )
    .await?;

    eventually("staged Running", Duration::from_secs(60), || async {
        Ok((phase(&pods.get("staged").await?) == Some("Running")).then_some(()))
    })
    .await?;
    let secs = Duration::from_secs(20);
    let (code, out) = kubelet
        .exec(
            "policies",
            "staged",
            "main",
            &[
                "bash",
                "-c",
                "cat /shared/marker; echo $GREETING; cat /etc/settings/mode",
            ],
            secs,
        )
        .await?;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("prepared") && out.contains("hello") && out.contains("one"),
        "{out}"
    );
    let patch = json!({ "data": { "mode": "two" } });
    cms.patch(
        "settings",
        &Default::default(),
        &kube::api::Patch::Merge(&patch),
    )
    .await?;
    eventually(
        "configMap update reaches the volume",
        Duration::from_secs(30),
        || async {
            let (_, out) = kubelet
                .exec(
                    "policies",
                    "staged",
                    "main",
                    &["cat", "/etc/settings/mode"],
                    secs,
                )
                .await?;
            Ok((out.trim() == "two").then_some(()))
        },
    )
    .await?;

    // The operator image maps to the configured binary, command[0] replaced.
    let op: Pod = serde_json::from_value(json!({
        "metadata": { "name": "op" },
        "spec": {
            "restartPolicy": "Never",
            "containers": [{
                "name": "operator", "image": "localhost:5000/zookeeper-operator:dev",
                "command": ["/zookeeper-operator", "operator-says"], "args": ["hi"],
            }],
        },
    }))?;
    pods.create(&PostParams::default(), &op).await?;
    eventually("op Succeeded", Duration::from_secs(60), || async {
        Ok((phase(&pods.get("op").await?) == Some("Succeeded")).then_some(()))
    })
    .await?;
    assert_eq!(
        kubelet.logs("policies", "op", "operator")?.trim(),
        "operator-says hi"
    );

    // A PVC gets a volume, its data outlives the pod, and it goes away with the claim.
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "policies");
    let claim: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": { "name": "scratch" },
        "spec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "1Gi" } } },
    }))?;
    pvcs.create(&PostParams::default(), &claim).await?;
    let run_once = |name: &str, script: &str| -> Result<Pod> {
        Ok(serde_json::from_value(json!({
            "metadata": { "name": name },
            "spec": {
                "restartPolicy": "Never",
                "volumes": [{ "name": "data", "persistentVolumeClaim": { "claimName": "scratch" } }],
                "containers": [{
                    "name": "main", "image": "zookeeper", "command": ["bash", "-c", script],
                    "volumeMounts": [{ "name": "data", "mountPath": "/data" }],
                }],
            },
        }))?)
    };
    for (name, script) in [
        ("writer", "echo kept > /data/file"),
        ("reader", "cat /data/file"),
    ] {
        pods.create(&PostParams::default(), &run_once(name, script)?)
            .await?;
        eventually(
            &format!("{name} Succeeded"),
            Duration::from_secs(60),
            || async { Ok((phase(&pods.get(name).await?) == Some("Succeeded")).then_some(())) },
        )
        .await?;
        pods.delete(name, &DeleteParams::default()).await?;
        eventually(
            &format!("{name} deleted"),
            Duration::from_secs(30),
            || async { Ok(pods.get_opt(name).await?.is_none().then_some(())) },
        )
        .await?;
    }
    assert_eq!(kubelet.logs("policies", "reader", "main")?.trim(), "kept");
    let bound = pvcs.get("scratch").await?;
    let pv_name = bound
        .spec
        .and_then(|s| s.volume_name)
        .context("a bound PVC names its PV")?;
    pvcs.delete("scratch", &DeleteParams::default()).await?;
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    eventually(
        "the PV removed with its claim",
        Duration::from_secs(60),
        || async { Ok(pvs.get_opt(&pv_name).await?.is_none().then_some(())) },
    )
    .await?;

    kubelet.stop().await;
    cp.stop().await;
    println!("policies test took {:?}", t0.elapsed());
    Ok(())
}

const ORPHAN_MARKER_ENV: &str = "ZK_KUBELET_ORPHAN_MARKER";

/// Processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| *pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
        })
        .collect()
}

/// Helper for `sigkilled_test_leaves_no_pod_processes`: runs only in the child process it
/// spawns (ignored otherwise). Starts a pod, says READY, and waits to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper: run by sigkilled_test_leaves_no_pod_processes"]
async fn orphan_helper() -> Result<()> {
    let Ok(marker) = std::env::var(ORPHAN_MARKER_ENV) else {
        return Ok(());
    };
    let cp = ControlPlane::start().await?;
    let client = cp.client();
    let kubelet = ProcessKubelet::start(&cp, KubeletOptions::fast()).await?;
    create_namespace(&client, "orphans").await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "orphans");
    let script = format!("trap '' TERM; sleep 3600 & wait # {marker}");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": { "name": "orphan" },
        "spec": { "containers": [{ "name": "main", "image": "zookeeper", "command": ["bash", "-c", script] }] },
    }))?;
    pods.create(&PostParams::default(), &pod).await?;
    eventually("orphan Running", Duration::from_secs(60), || async {
        Ok((phase(&pods.get("orphan").await?) == Some("Running")).then_some(()))
    })
    .await?;
    println!("READY {}", kubelet.node_name());
    tokio::time::sleep(Duration::from_secs(600)).await;
    drop(kubelet);
    Ok(())
}

/// A test process killed with SIGKILL (no Drop, no cleanup code) leaves no pod process
/// behind: PR_SET_PDEATHSIG and PID-namespace teardown do it in the kernel. Its network
/// namespaces, links and dirs outlive it until the next kubelet start sweeps them (here
/// called directly).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_test_leaves_no_pod_processes() -> Result<()> {
    use std::io::BufRead;
    let marker = format!("zk-orphan-marker-{}", std::process::id());
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(["orphan_helper", "--exact", "--ignored", "--nocapture"])
        .env(ORPHAN_MARKER_ENV, &marker)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().context("child stdout")?;
    let ready = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("READY ").map(str::to_string))
    });
    let ready = tokio::time::timeout(Duration::from_secs(240), ready).await;
    let running = processes_with(&marker);
    child.kill()?;
    child.wait()?;
    let Ok(Ok(Some(node))) = ready else {
        bail!("the helper never got its pod running");
    };
    assert!(
        !running.is_empty(),
        "the helper's pod process was not found"
    );
    eventually(
        "pod processes to die with the test",
        Duration::from_secs(10),
        || async { Ok(processes_with(&marker).is_empty().then_some(())) },
    )
    .await?;

    let slot = node.trim_start_matches("zk-node-");
    zk_testkit::kubelet::sweep_orphans();
    let netns = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()?;
    let netns = String::from_utf8_lossy(&netns.stdout);
    assert!(!netns.contains(&format!("zk{slot}-")), "{netns}");
    let links = std::process::Command::new("ip")
        .args(["-o", "link", "show"])
        .output()?;
    let links = String::from_utf8_lossy(&links.stdout);
    assert!(!links.contains(&format!(": zkbr{slot}:")), "{links}");
    assert!(!std::path::Path::new(&format!("/var/tmp/zk-kubelet-{slot}")).exists());
    Ok(())
}
