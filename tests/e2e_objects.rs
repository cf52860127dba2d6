//! End-to-end on a real kube-apiserver and kube-controller-manager (no kubelet here: pods
//! stay Pending): a ZookeeperCluster becomes the objects it should, the real StatefulSet
//! controller creates its pods, nothing is written in steady state, an invalid spec is
//! reported and acted on in no way, and deleting the cluster collects everything.
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use support::*;
use zk_testkit::controlplane::ControlPlane;
use zookeeper_operator::api::ZookeeperCluster;

const WAIT: Duration = Duration::from_secs(60);

async fn resource_versions(client: &Client, ns: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let sts: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let svcs: Api<Service> = Api::namespaced(client.clone(), ns);
    let lp = ListParams::default().labels("app.kubernetes.io/managed-by=zookeeper-operator");
    for o in sts.list(&lp).await.expect("list sts").items {
        // Generation, not resourceVersion: the StatefulSet controller's status updates
        // bump the latter; only spec writes (ours) bump the former.
        out.insert(
            format!("sts/{}", o.name_any()),
            format!("g{}", o.metadata.generation.unwrap_or_default()),
        );
    }
    for o in cms.list(&lp).await.expect("list cm").items {
        out.insert(
            format!("cm/{}", o.name_any()),
            o.resource_version().unwrap_or_default(),
        );
    }
    for o in svcs.list(&lp).await.expect("list svc").items {
        out.insert(
            format!("svc/{}", o.name_any()),
            o.resource_version().unwrap_or_default(),
        );
    }
    out
}

/// Changes only metadata, which makes the operator reconcile without a spec change.
async fn poke(api: &Api<ZookeeperCluster>, name: &str, value: &str) {
    let patch = json!({"metadata": {"annotations": {"e2e/poke": value}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotate");
}

async fn wait_reconciled(operator: &Operator, before: u64) {
    wait_for("the operator to reconcile", WAIT, || async {
        (operator.metrics.reconciles.get() > before).then_some(())
    })
    .await;
    // Let that reconcile finish its writes, if it made any.
    tokio::time::sleep(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_objects_on_a_real_control_plane() {
    install_crypto();
    let cp = ControlPlane::start().await.expect("control plane starts");
    let client = cp.client();
    install_crd(&client).await;
    let operator = Operator::start(&client);

    // --- the minimal example: every object, owned, in shape; pods from the real controller
    let ns = "objects";
    create_namespace(&client, ns).await;
    let cluster = apply_cluster(&client, ns, &example("zookeeper-3.yaml")).await;
    let uid = cluster.uid().expect("uid");
    let sts_api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    let sts = wait_for("the StatefulSet", WAIT, || async {
        sts_api.get_opt("zk").await.ok().flatten()
    })
    .await;
    let spec = sts.spec.as_ref().expect("sts spec");
    assert_eq!(spec.replicas, Some(3));
    assert_eq!(spec.service_name.as_deref(), Some("zk-headless"));
    assert_eq!(spec.pod_management_policy.as_deref(), Some("Parallel"));
    assert_eq!(sts.owner_references()[0].uid, uid);

    let cm_api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let cm = cm_api.get("zk-config").await.expect("ConfigMap");
    let members = &cm.data.as_ref().expect("data")["zoo.cfg.dynamic"];
    assert!(
        members.contains("server.3=zk-2.zk-headless.objects.svc.cluster.local:2888:3888"),
        "{members}"
    );
    let svc_api: Api<Service> = Api::namespaced(client.clone(), ns);
    let headless = svc_api.get("zk-headless").await.expect("headless Service");
    assert_eq!(
        headless.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()),
        Some("None")
    );
    assert_eq!(
        headless
            .spec
            .as_ref()
            .and_then(|s| s.publish_not_ready_addresses),
        Some(true)
    );
    let client_svc = svc_api.get("zk-client").await.expect("client Service");
    assert!(
        client_svc
            .spec
            .as_ref()
            .and_then(|s| s.cluster_ip.clone())
            .is_some_and(|ip| ip != "None")
    );

    let pod_api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let pods = wait_for("3 pods from the StatefulSet controller", WAIT, || async {
        let pods = pod_api
            .list(&ListParams::default().labels("app.kubernetes.io/instance=zk"))
            .await
            .ok()?
            .items;
        (pods.len() == 3).then_some(pods)
    })
    .await;
    let mut names: Vec<_> = pods.iter().map(|p| p.name_any()).collect();
    names.sort();
    assert_eq!(names, ["zk-0", "zk-1", "zk-2"]);

    let zk_api: Api<ZookeeperCluster> = Api::namespaced(client.clone(), ns);
    let live = wait_for("status with observedGeneration", WAIT, || async {
        let c = zk_api.get("zk").await.ok()?;
        (c.status.as_ref()?.observed_generation == Some(1)).then_some(c)
    })
    .await;
    assert_eq!(
        condition(&live, "Available"),
        Some(("False".into(), "Creating".into()))
    );
    assert_eq!(
        condition(&live, "Progressing").map(|c| c.0),
        Some("True".into())
    );
    let status = live.status.as_ref().expect("status");
    assert_eq!(status.members.len(), 3);
    assert!(
        status
            .connection_string
            .as_deref()
            .is_some_and(|s| s.starts_with("zk-0.zk-headless.objects.svc"))
    );
    // Kubernetes 1.20 has no policy/v1: one Warning instead of a failed reconcile.
    wait_for(
        "the PodDisruptionBudgetUnsupported warning",
        WAIT,
        || async {
            (!events(&client, ns, "PodDisruptionBudgetUnsupported")
                .await
                .is_empty())
            .then_some(())
        },
    )
    .await;

    // --- steady state: reconciles make no writes (once the StatefulSet controller has
    // reported its pods, the last thing that legitimately changes the status)
    wait_for("status.replicas == 3", WAIT, || async {
        let c = zk_api.get("zk").await.ok()?;
        (c.status?.replicas == 3).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = resource_versions(&client, ns).await;
    let patches = operator.metrics.status_patches.get();
    for round in 0..3 {
        let reconciles = operator.metrics.reconciles.get();
        poke(&zk_api, "zk", &format!("{round}")).await;
        wait_reconciled(&operator, reconciles).await;
    }
    assert_eq!(
        resource_versions(&client, ns).await,
        before,
        "objects rewritten in steady state"
    );
    assert_eq!(
        operator.metrics.status_patches.get(),
        patches,
        "status patched without a change"
    );
    assert_eq!(
        events(&client, ns, "PodDisruptionBudgetUnsupported")
            .await
            .len(),
        1
    );

    // --- an orphan (labelled and owned, but not wanted) is deleted
    let orphan: ConfigMap = serde_json::from_value(json!({
        "metadata": {
            "name": "zk-stale", "namespace": ns,
            "labels": {"app.kubernetes.io/name": "zookeeper", "app.kubernetes.io/instance": "zk",
                       "app.kubernetes.io/managed-by": "zookeeper-operator"},
            "ownerReferences": [{"apiVersion": "zookeeper.ensemble.dev/v1alpha1", "kind": "ZookeeperCluster",
                                 "name": "zk", "uid": uid, "controller": true}]
        }
    }))
    .expect("orphan");
    cm_api
        .create(&PostParams::default(), &orphan)
        .await
        .expect("create orphan");
    wait_for("the orphan to be deleted", WAIT, || async {
        cm_api
            .get_opt("zk-stale")
            .await
            .ok()
            .flatten()
            .is_none()
            .then_some(())
    })
    .await;

    // --- someone edits the StatefulSet: the operator puts it back
    let scale = json!({"spec": {"replicas": 1}});
    sts_api
        .patch("zk", &PatchParams::default(), &Patch::Merge(&scale))
        .await
        .expect("edit sts");
    wait_for(
        "the StatefulSet to be restored to 3 replicas",
        WAIT,
        || async {
            let sts = sts_api.get("zk").await.ok()?;
            (sts.spec?.replicas == Some(3)).then_some(())
        },
    )
    .await;

    // --- a config change rolls the pods (new template hash), a scale does not
    let hash = |sts: &StatefulSet| {
        sts.spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref())
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get("zookeeper.ensemble.dev/config-hash").cloned())
    };
    let old_hash = hash(&sts_api.get("zk").await.expect("sts"));
    let tick = json!({"spec": {"config": {"tickTime": 3000}}});
    zk_api
        .patch("zk", &PatchParams::default(), &Patch::Merge(&tick))
        .await
        .expect("change config");
    wait_for("a new config hash on the pod template", WAIT, || async {
        let sts = sts_api.get("zk").await.ok()?;
        (hash(&sts) != old_hash).then_some(())
    })
    .await;
    let cfg = cm_api
        .get("zk-config")
        .await
        .expect("cm")
        .data
        .expect("data")["zoo.cfg"]
        .clone();
    assert!(cfg.contains("tickTime=3000"), "{cfg}");

    // --- invalid specs: reported (condition + Event naming the field), nothing touched
    let rejected = zk_api
        .patch(
            "zk",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"replicas": 0}})),
        )
        .await;
    assert!(rejected.is_err(), "the CRD schema rejects replicas: 0");
    let before = resource_versions(&client, ns).await;
    let owned_key = json!({"spec": {"config": {"extra": {"dataDir": "/tmp/elsewhere"}}}});
    zk_api
        .patch("zk", &PatchParams::default(), &Patch::Merge(&owned_key))
        .await
        .expect("accepted without CEL");
    let invalid = wait_for("Available=False/InvalidSpec", WAIT, || async {
        let c = zk_api.get("zk").await.ok()?;
        (condition(&c, "Available") == Some(("False".into(), "InvalidSpec".into()))).then_some(c)
    })
    .await;
    let message = find_condition(&invalid, "Available")
        .map(|c| c.message)
        .unwrap_or_default();
    assert!(message.contains("spec.config.extra.dataDir"), "{message}");
    let warnings = wait_for("an InvalidSpec Event", WAIT, || async {
        let e = events(&client, ns, "InvalidSpec").await;
        (!e.is_empty()).then_some(e)
    })
    .await;
    assert!(
        warnings[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("spec.config.extra.dataDir"))
    );
    assert_eq!(warnings[0].type_.as_deref(), Some("Warning"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        resource_versions(&client, ns).await,
        before,
        "nothing changes for an invalid spec"
    );
    assert_eq!(
        pod_api
            .list(&ListParams::default())
            .await
            .expect("pods")
            .items
            .len(),
        3,
        "no pod deleted"
    );

    // an immutable field, checked against the live StatefulSet
    let fix_and_change_class =
        json!({"spec": {"config": {"extra": null}, "storage": {"storageClassName": "other"}}});
    zk_api
        .patch(
            "zk",
            &PatchParams::default(),
            &Patch::Merge(&fix_and_change_class),
        )
        .await
        .expect("patch");
    wait_for("InvalidSpec naming storageClassName", WAIT, || async {
        let c = zk_api.get("zk").await.ok()?;
        find_condition(&c, "Available")?
            .message
            .contains("spec.storage.storageClassName")
            .then_some(())
    })
    .await;
    // a field newer than the server (1.20 here): named with both versions, nothing applied
    let before = resource_versions(&client, ns).await;
    let newer_field = json!({"spec": {"storage": {"storageClassName": null}, "pod": {"affinity": {
        "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "topologyKey": "kubernetes.io/hostname",
            "labelSelector": {"matchLabels": {"app": "zk"}},
            "matchLabelKeys": ["pod-template-hash"]}]}}}}});
    zk_api
        .patch("zk", &PatchParams::default(), &Patch::Merge(&newer_field))
        .await
        .expect("the CRD takes the 1.33 pod fields");
    let invalid = wait_for("InvalidSpec naming matchLabelKeys", WAIT, || async {
        let c = zk_api.get("zk").await.ok()?;
        let message = find_condition(&c, "Available")?.message;
        message.contains("matchLabelKeys").then_some(message)
    })
    .await;
    assert!(
        invalid.contains("needs Kubernetes 1.31 or newer; this server is 1.20"),
        "{invalid}"
    );
    assert_eq!(
        resource_versions(&client, ns).await,
        before,
        "nothing is applied for a field the server cannot take"
    );
    let fix = json!({"spec": {"pod": {"affinity": null}}});
    zk_api
        .patch("zk", &PatchParams::default(), &Patch::Merge(&fix))
        .await
        .expect("fix");
    wait_for("the cluster to leave InvalidSpec", WAIT, || async {
        let c = zk_api.get("zk").await.ok()?;
        (condition(&c, "Available")?.1 != "InvalidSpec").then_some(())
    })
    .await;

    // --- the other examples become their objects too
    create_namespace(&client, "examples").await;
    apply_cluster(&client, "examples", &example("zookeeper-persistent.yaml")).await;
    apply_cluster(&client, "examples", &example("zookeeper-dev.yaml")).await;
    let ex_sts: Api<StatefulSet> = Api::namespaced(client.clone(), "examples");
    let prod = wait_for("zk-prod StatefulSet", WAIT, || async {
        ex_sts.get_opt("zk-prod").await.ok().flatten()
    })
    .await;
    let prod_spec = prod.spec.expect("spec");
    assert_eq!(prod_spec.replicas, Some(5));
    let claim = &prod_spec.volume_claim_templates.expect("claims")[0];
    let size = claim
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .map(|r| r["storage"].0.clone());
    assert_eq!(size.as_deref(), Some("20Gi"));
    let dev = wait_for("zk-dev StatefulSet", WAIT, || async {
        ex_sts.get_opt("zk-dev").await.ok().flatten()
    })
    .await;
    assert!(
        dev.spec.expect("spec").volume_claim_templates.is_none(),
        "ephemeral: no PVCs"
    );

    // --- deleting the cluster collects everything through owner references
    zk_api
        .delete("zk", &DeleteParams::foreground())
        .await
        .expect("delete cluster");
    wait_for(
        "garbage collection of the cluster's objects",
        Duration::from_secs(120),
        || async {
            let sts = sts_api.get_opt("zk").await.ok()?;
            let cm = cm_api.get_opt("zk-config").await.ok()?;
            let svc = svc_api.get_opt("zk-headless").await.ok()?;
            let pods = pod_api.list(&ListParams::default()).await.ok()?.items;
            (sts.is_none() && cm.is_none() && svc.is_none() && pods.is_empty()).then_some(())
        },
    )
    .await;

    operator.stop().await;
    cp.stop().await;
}
