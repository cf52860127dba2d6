//! The stand-in members and kubelet used by the scale benchmark: the operator's own probe,
//! session and watcher code must see a stand-in ensemble as a healthy ZooKeeper 3.9 one,
//! and see its crash and freeze as it would a real member's.
#[path = "support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use tokio::sync::watch;
use zk_testkit::controlplane::ControlPlane;
use zk_testkit::standin::{Ensemble, StandinKubelet, StandinMember, StandinOptions};
use zookeeper_operator::health::{EnsembleAssessment, FaultKey, Health};
use zookeeper_operator::observe::{EnsembleWatcher, MemberEndpoint, WatcherConfig, render_table};
use zookeeper_operator::zk::{
    FourLetterClient, HealthSession, ProbeLimits, ServerMode, SessionConfig,
};

type Rx = watch::Receiver<Option<EnsembleAssessment>>;

async fn three_members() -> (Arc<Ensemble>, Vec<StandinMember>) {
    let ensemble = Ensemble::new(3);
    let mut members = Vec::new();
    for id in 1..=3 {
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let m = StandinMember::start(addr, id, format!("zk-{}", id - 1), ensemble.clone())
            .await
            .expect("stand-in member binds");
        members.push(m);
    }
    (ensemble, members)
}

async fn wait_until(
    rx: &mut Rx,
    what: &str,
    within: Duration,
    pred: impl Fn(&EnsembleAssessment) -> bool,
) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if rx.borrow_and_update().as_ref().is_some_and(&pred) {
            return;
        }
        if tokio::time::timeout_at(deadline, rx.changed())
            .await
            .is_err()
        {
            let last = rx.borrow().clone();
            panic!(
                "timed out waiting for {what}; last:\n{}",
                last.as_ref().map(render_table).unwrap_or_default()
            );
        }
    }
}

#[tokio::test]
async fn operator_parsers_and_session_accept_the_stand_ins() {
    let (ensemble, members) = three_members().await;
    let leader = ensemble.leader().expect("a majority elects a leader");
    let mut zxids = Vec::new();
    for m in &members {
        let c = FourLetterClient::new(m.addr(), ProbeLimits::default());
        c.ruok().await.expect("ruok");
        let srvr = c.srvr().await.expect("srvr parses");
        let expected = if m.myid() == leader {
            ServerMode::Leader
        } else {
            ServerMode::Follower
        };
        assert_eq!(srvr.mode, expected);
        zxids.push(srvr.zxid);
        let mntr = c.mntr().await.expect("mntr parses");
        assert_eq!(mntr.server_state, Some(expected.clone()));
        assert_eq!(mntr.quorum_size, Some(3));
        if m.myid() == leader {
            assert_eq!(mntr.synced_followers, Some(2));
        }
        let conf = c.conf().await.expect("conf parses");
        assert_eq!(conf.server_id, Some(m.myid()));
        assert_eq!(conf.voters().count(), 3);
        c.isro().await.expect("isro parses");
        let stat = c
            .send(zookeeper_operator::zk::FourLetterWord::Srvr)
            .await
            .expect("raw");
        assert!(stat.starts_with("Zookeeper version: 3.9"));

        let mut session = HealthSession::connect(m.addr(), SessionConfig::default())
            .await
            .expect("session handshake");
        assert_eq!(session.negotiated_timeout, Duration::from_secs(4));
        session.send_ping().await.expect("ping");
        let reply = session.next_reply().await.expect("ping reply");
        assert_eq!((reply.xid, reply.zxid as u64), (-2, srvr.zxid));
        session.close().await;
    }
    assert!(zxids.windows(2).all(|w| w[0] == w[1]), "{zxids:x?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_sees_crash_and_freeze() {
    let (ensemble, members) = three_members().await;
    let leader = ensemble.leader().expect("leader");
    let endpoints = members
        .iter()
        .map(|m| MemberEndpoint::new(m.myid(), format!("zk-{}", m.myid() - 1), m.addr()))
        .collect();
    let config = WatcherConfig {
        probe_timeout: Duration::from_secs(1),
        ping_interval: Duration::from_millis(250),
        ..WatcherConfig::default()
    };
    let watcher = EnsembleWatcher::spawn(endpoints, config);
    let mut rx = watcher.subscribe();
    let healthy = |a: &EnsembleAssessment| a.health() == Health::Healthy;
    wait_until(&mut rx, "healthy", Duration::from_secs(10), healthy).await;

    let victim = members
        .iter()
        .find(|m| m.myid() != leader)
        .expect("a follower");
    let id = victim.myid();
    let down = move |a: &EnsembleAssessment| a.has_fault(FaultKey::MemberDown(id));

    let started = Instant::now();
    victim.crash();
    wait_until(&mut rx, "crash seen", Duration::from_secs(5), down).await;
    let crash_seen = started.elapsed();
    assert!(crash_seen < Duration::from_secs(1), "{crash_seen:?}");
    victim.restore();
    wait_until(&mut rx, "restart seen", Duration::from_secs(10), healthy).await;

    let started = Instant::now();
    victim.freeze();
    wait_until(&mut rx, "freeze seen", Duration::from_secs(5), down).await;
    // Bounded by probe_timeout (1 s here), not by a poll period.
    let freeze_seen = started.elapsed();
    assert!(freeze_seen < Duration::from_millis(2500), "{freeze_seen:?}");
    victim.restore();
    wait_until(&mut rx, "thaw seen", Duration::from_secs(10), healthy).await;

    // Leader crash: the others elect a new leader in a new epoch.
    let old = members
        .iter()
        .find(|m| m.myid() == leader)
        .expect("leader member");
    old.crash();
    wait_until(&mut rx, "new leader", Duration::from_secs(10), |a| {
        a.quorum && a.leader.is_some_and(|l| l != leader)
    })
    .await;
    watcher.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubelet_runs_a_statefulsets_pods_as_stand_ins() {
    support::install_crypto();
    let cp = ControlPlane::start().await.expect("control plane starts");
    let client = cp.client();
    let kubelet = StandinKubelet::start(
        client.clone(),
        StandinOptions {
            label_selector: Some("app=standin-test".into()),
            ..StandinOptions::default()
        },
    )
    .await
    .expect("stand-in kubelet starts");
    let sts: k8s_openapi::api::apps::v1::StatefulSet = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "zk" },
        "spec": {
            "replicas": 3, "serviceName": "zk-headless", "podManagementPolicy": "Parallel",
            "selector": { "matchLabels": { "app": "standin-test" } },
            "template": {
                "metadata": { "labels": { "app": "standin-test" } },
                "spec": { "containers": [{ "name": "zookeeper", "image": "zookeeper:3.9" }] }
            }
        }
    }))
    .expect("statefulset");
    Api::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &sts)
        .await
        .expect("create statefulset");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let ips = support::wait_for(
        "3 running pods with IPs",
        Duration::from_secs(60),
        || async {
            let mut ips = Vec::new();
            for i in 0..3 {
                let pod = pods.get(&format!("zk-{i}")).await.ok()?;
                let status = pod.status?;
                (status.phase.as_deref() == Some("Running")).then_some(())?;
                ips.push(status.pod_ip?);
            }
            Some(ips)
        },
    )
    .await;
    for (i, ip) in ips.iter().enumerate() {
        assert_eq!(
            kubelet
                .pod_ip("default", &format!("zk-{i}"))
                .map(|a| a.to_string()),
            Some(ip.clone())
        );
        let addr = SocketAddr::new(ip.parse().expect("ip"), 2181);
        let srvr = FourLetterClient::new(addr, ProbeLimits::default())
            .srvr()
            .await
            .expect("the pod IP answers srvr");
        assert!(matches!(
            srvr.mode,
            ServerMode::Leader | ServerMode::Follower
        ));
    }
    // Deleting a pod stops its member; the StatefulSet's replacement runs again.
    pods.delete("zk-0", &Default::default())
        .await
        .expect("delete pod");
    support::wait_for(
        "zk-0 replaced and running",
        Duration::from_secs(60),
        || async {
            let pod = pods.get("zk-0").await.ok()?;
            let ip = pod.status?.pod_ip?;
            (kubelet.pod_ip("default", "zk-0")?.to_string() == ip).then_some(())
        },
    )
    .await;
    assert_eq!(kubelet.running(), 3);
    kubelet.stop().await;
    cp.stop().await;
}
