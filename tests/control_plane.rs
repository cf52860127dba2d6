//! Smoke test of the test harness itself: a real kube-apiserver and kube-controller-manager
//! (see tests/README.md). If this fails, every other cluster test will too; start here.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use zk_testkit::controlplane::ControlPlane;

const NS: &str = "smoke";

/// Polls `check` every 200 ms until it returns `Some`, or fails after `timeout`. Errors count
/// as "not yet" (a loaded machine gives the odd transient API error); the last one is reported.
async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if Instant::now() > deadline {
            let last = last_error.map(|e| format!("; last error: {e:#}"));
            bail!(
                "timed out after {timeout:?} waiting for {what}{}",
                last.unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn statefulset(name: &str, replicas: i32) -> Result<StatefulSet> {
    let labels = json!({ "app": name });
    Ok(serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": { "name": name, "namespace": NS },
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": { "matchLabels": labels },
            "template": {
                "metadata": { "labels": labels },
                "spec": { "containers": [{ "name": "zk", "image": "zookeeper:3.8" }] }
            }
        }
    }))?)
}

async fn pods_of(pods: &Api<Pod>, app: &str) -> Result<Vec<Pod>> {
    Ok(pods
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await?
        .items)
}

fn running(pid: u32, name: &str) -> bool {
    // A reaped pid could be reused by an unrelated process: compare the command too.
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains(name))
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_controllers_create_and_collect_pods() -> Result<()> {
    let cp = ControlPlane::start().await?;
    // Panicking (not returning Err) while `cp` is alive keeps its logs for the post-mortem.
    if let Err(e) = controllers_scenario(&cp).await {
        panic!("{e:?}");
    }

    // Nothing of this instance survives stop(), and its directory is gone.
    let pids = cp.pids();
    ensure!(pids.len() == 3, "expected 3 components, got {pids:?}");
    let dir = cp.dir().to_path_buf();
    cp.stop().await;
    for (name, pid) in pids {
        assert!(!running(pid, name), "{name} (pid {pid}) survived stop()");
    }
    if std::env::var("ZKOP_KEEP").as_deref() != Ok("1") {
        assert!(!dir.exists(), "{} was not removed", dir.display());
    }
    Ok(())
}

async fn controllers_scenario(cp: &ControlPlane) -> Result<()> {
    let client = cp.client();
    assert!(cp.server_url().starts_with("https://127.0.0.1:"));
    assert!(cp.kubeconfig_path().is_file());
    assert!(cp.ca_cert_pem().contains("BEGIN CERTIFICATE"));

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({ "metadata": { "name": NS } }))?;
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .context("creating the namespace")?;

    // Server-side apply, twice: the second apply changes a field owned by the same manager.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    let ssa = PatchParams::apply("zk-testkit-smoke").force();
    for value in ["1", "2"] {
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "settings" },
            "data": { "value": value }
        });
        cms.patch("settings", &ssa, &Patch::Apply(&cm))
            .await
            .with_context(|| format!("server-side apply of the ConfigMap, value {value}"))?;
    }
    let data = cms.get("settings").await?.data.unwrap_or_default();
    assert_eq!(data, BTreeMap::from([("value".to_owned(), "2".to_owned())]));

    // kube-controller-manager's root-ca publisher hands pods the CA they must trust.
    let root_ca = eventually("kube-root-ca.crt", Duration::from_secs(30), || async {
        Ok(cms.get_opt("kube-root-ca.crt").await?)
    })
    .await?;
    let published = root_ca.data.unwrap_or_default();
    assert_eq!(
        published.get("ca.crt").map(String::as_str),
        Some(cp.ca_cert_pem())
    );

    // The real StatefulSet controller makes the Pods (Pending forever: no kubelet).
    let sts_api: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    sts_api
        .patch("zk", &ssa, &Patch::Apply(&statefulset("zk", 2)?))
        .await
        .context("server-side apply of StatefulSet zk")?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    // OrderedReady: pod 1 waits for pod 0 to be Ready, which never happens without a kubelet.
    // So only zk-0 exists until we switch to Parallel.
    let mut parallel = statefulset("zk-par", 2)?;
    if let Some(spec) = parallel.spec.as_mut() {
        spec.pod_management_policy = Some("Parallel".to_owned());
    }
    sts_api
        .patch("zk-par", &ssa, &Patch::Apply(&parallel))
        .await
        .context("server-side apply of StatefulSet zk-par")?;
    let created = eventually("2 pods of zk-par", Duration::from_secs(60), || async {
        let found = pods_of(&pods, "zk-par").await?;
        Ok((found.len() == 2).then_some(found))
    })
    .await?;
    let mut names: Vec<String> = created
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["zk-par-0", "zk-par-1"]);
    for pod in &created {
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        assert_eq!(phase, Some("Pending"));
        let owner = pod.metadata.owner_references.as_deref().unwrap_or_default();
        assert!(
            owner
                .iter()
                .any(|o| o.kind == "StatefulSet" && o.name == "zk-par")
        );
    }
    eventually("zk-0", Duration::from_secs(60), || async {
        Ok(pods.get_opt("zk-0").await?)
    })
    .await?;

    // The garbage collector deletes the Pods of a deleted StatefulSet.
    sts_api
        .delete("zk-par", &DeleteParams::background())
        .await
        .context("deleting zk-par")?;
    sts_api
        .delete("zk", &DeleteParams::foreground())
        .await
        .context("deleting zk")?;
    eventually("pods to be collected", Duration::from_secs(60), || async {
        let left = pods.list(&ListParams::default()).await?.items;
        Ok(left.is_empty().then_some(()))
    })
    .await?;
    Ok(())
}

/// Two instances at once in one process: separate ports, dirs and data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_are_independent() -> Result<()> {
    let (a, b) = tokio::try_join!(ControlPlane::start(), ControlPlane::start())?;
    assert_ne!(a.server_url(), b.server_url());
    assert_ne!(a.dir(), b.dir());
    let ns: Namespace = serde_json::from_value(json!({ "metadata": { "name": "only-in-a" } }))?;
    Api::<Namespace>::all(a.client())
        .create(&PostParams::default(), &ns)
        .await?;
    let in_b = Api::<Namespace>::all(b.client())
        .get_opt("only-in-a")
        .await
        .context("listing namespaces of b")?;
    assert!(in_b.is_none(), "instances share storage");
    let pids: Vec<_> = a.pids().into_iter().chain(b.pids()).collect();
    // Drop (not stop) must kill everything too: it is what runs when a test panics.
    drop(a);
    drop(b);
    for (name, pid) in pids {
        assert!(!running(pid, name), "{name} (pid {pid}) survived drop");
    }
    Ok(())
}
