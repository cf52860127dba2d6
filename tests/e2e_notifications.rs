//! The notification driver on a real control plane: the alert book persists in a
//! cluster-owned ConfigMap, credentials come from a real Secret, and an operator restart
//! between a fault and its delivery delivers it exactly once; a fault that cleared while
//! the operator was down still gets its resolved notice.
mod support;

use std::time::{Duration, SystemTime};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use serde_json::json;
use support::*;
use zk_testkit::controlplane::ControlPlane;
use zookeeper_operator::alerts::AlertBook;
use zookeeper_operator::api::ZookeeperCluster;
use zookeeper_operator::controller::notifications::{
    BOOK_KEY, DefaultReceivers, Notifier, book_config_map_name,
};
use zookeeper_operator::health::{EnsembleAssessment, Fault, MemberAssessment, Role};

const NS: &str = "notify";

fn member(id: u64, role: Role) -> MemberAssessment {
    MemberAssessment {
        id,
        name: format!("zk-{}", id - 1),
        address: format!("zk-{}:2181", id - 1),
        role,
        voter: true,
        serving: role != Role::Down,
        zxid: None,
        epoch: None,
        lag: None,
        reason: (role == Role::Down).then(|| "connection refused".to_string()),
        restarts: None,
        outstanding_requests: None,
        avg_latency_ms: None,
        zk_metrics: Vec::new(),
    }
}

/// Three members; member 2 down when `down`.
fn assessment(down: bool) -> EnsembleAssessment {
    let role2 = if down { Role::Down } else { Role::Follower };
    EnsembleAssessment {
        members: vec![
            member(1, Role::Leader),
            member(2, role2),
            member(3, Role::Follower),
        ],
        leader: Some(1),
        epoch: Some(1),
        voters: 3,
        serving_voters: if down { 2 } else { 3 },
        majority: 2,
        quorum: true,
        election_in_progress: false,
        split_brain: vec![],
        lagging: vec![],
        overloaded: vec![],
        faults: if down {
            vec![Fault::MemberDown {
                member: 2,
                reason: "connection refused".into(),
            }]
        } else {
            vec![]
        },
    }
}

fn notifier(cp: &ControlPlane) -> Notifier {
    let deliverer = notifications::fast_deliverer();
    Notifier::new(cp.client(), deliverer, DefaultReceivers::default())
}

async fn book(cp: &ControlPlane) -> AlertBook {
    let cms: Api<ConfigMap> = Api::namespaced(cp.client(), NS);
    let cm = cms
        .get(&book_config_map_name("zk"))
        .await
        .expect("the book's ConfigMap exists");
    let text = cm
        .data
        .and_then(|mut d| d.remove(BOOK_KEY))
        .expect("book.json");
    AlertBook::from_json(&text).expect("book parses")
}

#[tokio::test]
async fn restart_between_fault_and_delivery_delivers_exactly_once() {
    install_crypto();
    let cp = ControlPlane::start().await.expect("control plane starts");
    let client = cp.client();
    install_crd(&client).await;
    create_namespace(&client, NS).await;

    // The receiver's port, not listening yet: the first delivery fails (transiently).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "hooks"},
        "stringData": {"url": format!("http://{addr}/hook?token=s3cr3t")}
    }))
    .expect("secret");
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .expect("create secret");
    let cluster: ZookeeperCluster = serde_json::from_value(json!({
        "apiVersion": "zookeeper.ensemble.dev/v1alpha1",
        "kind": "ZookeeperCluster",
        "metadata": {"name": "zk"},
        "spec": {"notifications": {"forSeconds": 0, "keepFiringForSeconds": 0, "receivers": [
            {"name": "ops", "webhook": {"urlSecret": {"name": "hooks", "key": "url"}}}
        ]}}
    }))
    .expect("cluster");
    let cluster = apply_cluster(&client, NS, &cluster).await;
    let down = assessment(true);
    let faults = notifications::faults_of(&down);

    // 1. The fault: queued, persisted, the delivery fails and is postponed.
    let first = notifier(&cp);
    let report = first
        .observe(&cluster, &faults, SystemTime::now())
        .await
        .expect("observe");
    assert_eq!(report.status.firing, 1);
    let persisted = wait_for(
        "the failed delivery to be recorded",
        Duration::from_secs(20),
        || async {
            let b = book(&cp).await;
            (b.outbox.len() == 1 && b.outbox[0].attempts == 1).then_some(b)
        },
    )
    .await;
    assert_eq!(
        persisted.outbox[0].alerts[0].labels["alertname"],
        "MemberDown"
    );
    let cm: ConfigMap = Api::namespaced(client.clone(), NS)
        .get(&book_config_map_name("zk"))
        .await
        .expect("cm");
    assert_eq!(cm.owner_references()[0].uid, cluster.uid().expect("uid"));
    assert_eq!(cm.labels()["app.kubernetes.io/instance"], "zk");
    assert!(!cm.labels().contains_key("app.kubernetes.io/managed-by"));
    // Told once, by whichever report comes after the attempt: the delivery task may
    // fail before the first `observe` returns.
    let mut failures = report.failures.clone();
    failures.extend(
        first
            .observe(&cluster, &faults, SystemTime::now())
            .await
            .expect("observe")
            .failures,
    );
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].receiver(), "ops");
    assert!(!failures[0].to_string().contains("s3cr3t"));

    // 2. "Operator restart": the old notifier goes away, the receiver comes up, a new
    //    notifier loads the book from the ConfigMap and delivers the queued message.
    drop(first);
    let seen = notifications::Recorder::serve_on(
        tokio::net::TcpListener::bind(addr).await.expect("rebind"),
    )
    .await;
    let second = notifier(&cp);
    second
        .observe(&cluster, &faults, SystemTime::now())
        .await
        .expect("observe");
    wait_for(
        "the delivery after the restart",
        Duration::from_secs(40),
        || async { (!seen.bodies().is_empty()).then_some(()) },
    )
    .await;
    wait_for(
        "the outbox to be persisted empty",
        Duration::from_secs(10),
        || async { book(&cp).await.outbox.is_empty().then_some(()) },
    )
    .await;
    drop(second);

    // 3. Another restart with the fault still active: nothing is sent again.
    let third = notifier(&cp);
    third
        .observe(&cluster, &faults, SystemTime::now())
        .await
        .expect("observe");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(seen.bodies().len(), 1, "delivered exactly once");
    drop(third);

    // 4. The fault cleared while no operator ran: the next one sends the resolved notice.
    let healthy = assessment(false);
    let fourth = notifier(&cp);
    let report = fourth
        .observe(
            &cluster,
            &notifications::faults_of(&healthy),
            SystemTime::now(),
        )
        .await
        .expect("observe");
    assert_eq!(report.status.firing, 0);
    wait_for("the resolved notice", Duration::from_secs(20), || async {
        (seen.bodies().len() == 2).then_some(())
    })
    .await;
    let bodies = seen.bodies();
    assert_eq!(bodies[0]["status"], "firing");
    assert_eq!(bodies[1]["status"], "resolved");
    assert_eq!(
        bodies[0]["alerts"][0]["fingerprint"],
        bodies[1]["alerts"][0]["fingerprint"]
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(seen.bodies().len(), 2);
    drop(fourth);
    cp.stop().await;
}
