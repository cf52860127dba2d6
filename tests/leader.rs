//! Leader election on a real apiserver, with the production timing: of two candidates
//! exactly one leads; when the leader shuts down (releasing the lease) or crashes (no
//! release), another takes over within 15 s; a leader whose lease is taken from under it
//! stops its work within seconds; two workers never run at once.
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;
use support::{create_namespace, install_crypto, wait_for};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use zk_testkit::controlplane::ControlPlane;
use zookeeper_operator::leader::{CancellationToken, Elector, LeaderState};

const NS: &str = "leader-election";
const LEASE: &str = "zookeeper-operator";
const TAKEOVER: Duration = Duration::from_secs(15);

/// Counts workers running right now and the most ever seen at once.
#[derive(Clone, Default)]
struct Workers {
    now: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
    cancelled: Arc<AtomicUsize>,
}

/// Decrements on drop, so a worker dropped by a crash is counted out too.
struct Running(Workers);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Candidate {
    state: watch::Receiver<LeaderState>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

fn candidate(client: &Client, identity: &str, workers: &Workers) -> Candidate {
    let elector = Elector::new(client.clone(), NS, LEASE, identity.to_string());
    let state = elector.state();
    let (stop, stopped) = oneshot::channel::<()>();
    let workers = workers.clone();
    let task = tokio::spawn(elector.run(
        async move {
            let _ = stopped.await;
        },
        move |token: CancellationToken| {
            let workers = workers.clone();
            async move {
                let now = workers.now.fetch_add(1, Ordering::SeqCst) + 1;
                workers.most.fetch_max(now, Ordering::SeqCst);
                let _running = Running(workers.clone());
                token.cancelled().await;
                workers.cancelled.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        },
    ));
    Candidate {
        state,
        stop: Some(stop),
        task,
    }
}

fn leading(c: &Candidate) -> bool {
    c.state.borrow().is_leading()
}

async fn holder(client: &Client) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), NS);
    leases.get(LEASE).await.ok()?.spec?.holder_identity
}

/// Waits until `c` leads; returns how long it took.
async fn takes_over(what: &str, c: &Candidate) -> Duration {
    let started = Instant::now();
    wait_for(what, TAKEOVER, || async { leading(c).then_some(()) }).await;
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_and_fast_takeover_on_a_real_apiserver() {
    install_crypto();
    let cp = ControlPlane::start().await.expect("control plane starts");
    let client = cp.client();
    create_namespace(&client, NS).await;
    let workers = Workers::default();

    let a = candidate(&client, "replica-a", &workers);
    let b = candidate(&client, "replica-b", &workers);
    let started = Instant::now();
    wait_for("one candidate to lead", TAKEOVER, || async {
        (leading(&a) || leading(&b)).then_some(())
    })
    .await;
    println!("first leader after {:?}", started.elapsed());
    // For a few seconds (spanning lease renewals) exactly one leads, the other knows it follows.
    let check_until = Instant::now() + Duration::from_secs(8);
    while Instant::now() < check_until {
        assert!(leading(&a) != leading(&b), "exactly one candidate leads");
        assert!(a.state.borrow().knows_role() && b.state.borrow().knows_role());
        assert_eq!(workers.now.load(Ordering::SeqCst), 1, "one worker runs");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (mut leader, follower, first) = if leading(&a) {
        (a, b, "replica-a")
    } else {
        (b, a, "replica-b")
    };
    assert_eq!(holder(&client).await.as_deref(), Some(first));

    // Graceful: the leader is told to shut down, stops its work, releases the lease.
    if let Some(stop) = leader.stop.take() {
        let _ = stop.send(());
    }
    let graceful = takes_over("the follower to take over after a shutdown", &follower).await;
    println!("takeover after the leader shut down: {graceful:?}");
    let result = tokio::time::timeout(Duration::from_secs(5), leader.task)
        .await
        .expect("the old leader returns promptly");
    assert!(matches!(result, Ok(Ok(()))), "clean return: {result:?}");
    assert_eq!(
        workers.cancelled.load(Ordering::SeqCst),
        1,
        "work was told to stop"
    );

    // Crash: the new leader's task is aborted mid-term, the lease is not released.
    let c = candidate(&client, "replica-c", &workers);
    wait_for("the new candidate to follow", TAKEOVER, || async {
        (*c.state.borrow() == LeaderState::Following).then_some(())
    })
    .await;
    follower.task.abort();
    let crash = takes_over("the last candidate to take over after a crash", &c).await;
    println!("takeover after the leader crashed: {crash:?}");
    assert_eq!(holder(&client).await.as_deref(), Some("replica-c"));

    // Stolen: someone else's name is written into the lease (as after a partition in which
    // the lease expired and another replica took it). The leader must stop acting.
    let leases: Api<Lease> = Api::namespaced(client.clone(), NS);
    let now = MicroTime(Timestamp::now());
    let steal = json!({"spec": {"holderIdentity": "intruder", "acquireTime": now, "renewTime": now,
        "leaseDurationSeconds": 10}});
    let stolen_at = Instant::now();
    leases
        .patch(LEASE, &PatchParams::default(), &Patch::Merge(&steal))
        .await
        .expect("steal the lease");
    wait_for(
        "the robbed leader to stop its work",
        Duration::from_secs(5),
        || async { (workers.now.load(Ordering::SeqCst) == 0 && !leading(&c)).then_some(()) },
    )
    .await;
    println!(
        "work stopped {:?} after the lease was taken",
        stolen_at.elapsed()
    );
    // The intruder never renews: once its lease runs out, the candidate takes it back.
    let back = takes_over("the candidate to win the lease back", &c).await;
    println!("lease won back after {back:?}");

    assert_eq!(
        workers.most.load(Ordering::SeqCst),
        1,
        "never two workers at once"
    );
    c.task.abort();
    cp.stop().await;
}
