//! The notification driver with in-memory books and static Secrets against a real HTTP
//! receiver: rate-limited excess becomes one digest; a receiver with a missing Secret or
//! one that rejects fails alone, reported for Events, while the others get their message.
mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use serde_json::{Value, json};
use support::notifications;
use zookeeper_operator::alerts::{self, AlertBook, AlertSource, Evaluation, Route, Timing};
use zookeeper_operator::api::{Severity, ZookeeperCluster};
use zookeeper_operator::controller::notifications::{
    BookStore, DefaultReceivers, MemoryBooks, Notifier, Secrets,
};
use zookeeper_operator::health::{EnsembleAssessment, Fault, MemberAssessment, Role};
use zookeeper_operator::notify::{NotifyError, StaticSecrets};

type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// Records every request; paths under /bad get a 400.
async fn server() -> (String, Seen) {
    async fn record(State(seen): State<Seen>, uri: Uri, body: Bytes) -> StatusCode {
        let path = uri.path().to_string();
        let bad = path.starts_with("/bad");
        seen.lock()
            .expect("lock")
            .push((path, serde_json::from_slice(&body).unwrap_or(Value::Null)));
        if bad {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        }
    }
    let seen: Seen = Arc::default();
    let app = Router::new().fallback(record).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

fn cluster(receivers: Value) -> ZookeeperCluster {
    serde_json::from_value(json!({
        "apiVersion": "zookeeper.ensemble.dev/v1alpha1",
        "kind": "ZookeeperCluster",
        "metadata": {"name": "zk", "namespace": "prod", "uid": "u-1"},
        "spec": {"replicas": 5, "notifications": {"forSeconds": 0, "receivers": receivers}}
    }))
    .expect("cluster")
}

/// Five members, those in `down` down.
fn assessment(down: &[u64]) -> EnsembleAssessment {
    let members = (1..=5)
        .map(|id| MemberAssessment {
            id,
            name: format!("zk-{}", id - 1),
            address: String::new(),
            role: if down.contains(&id) {
                Role::Down
            } else {
                Role::Follower
            },
            voter: true,
            serving: !down.contains(&id),
            zxid: None,
            epoch: None,
            lag: None,
            reason: None,
            restarts: None,
            outstanding_requests: None,
            avg_latency_ms: None,
            zk_metrics: Vec::new(),
        })
        .collect();
    EnsembleAssessment {
        members,
        leader: Some(1),
        epoch: Some(1),
        voters: 5,
        serving_voters: 5 - down.len(),
        majority: 3,
        quorum: true,
        election_in_progress: false,
        split_brain: vec![],
        lagging: vec![],
        overloaded: vec![],
        faults: down
            .iter()
            .map(|m| Fault::MemberDown {
                member: *m,
                reason: "connection refused".into(),
            })
            .collect(),
    }
}

fn notifier(books: &MemoryBooks, secrets: StaticSecrets) -> Notifier {
    let deliverer = notifications::fast_deliverer();
    Notifier::with_backends(
        BookStore::Memory(books.clone()),
        Secrets::Static(secrets),
        deliverer,
        DefaultReceivers::default(),
    )
}

async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn slack_backlog_beyond_its_rate_goes_out_as_one_digest() {
    let (url, seen) = server().await;
    let secrets = StaticSecrets::default().with("prod", "chat", "url", &format!("{url}/slack"));
    let zk =
        cluster(json!([{"name": "chat", "slack": {"urlSecret": {"name": "chat", "key": "url"}}}]));
    // A backlog from before a restart: members 1..5 went down one after the other and
    // each got its own queued message.
    let routes = [Route {
        receiver: "chat".into(),
        min_severity: Severity::Warning,
        send_resolved: true,
    }];
    let none = BTreeSet::new();
    let mut book = AlertBook::default();
    let now = SystemTime::now() - Duration::from_secs(60);
    for i in 1..=5u64 {
        let sources: Vec<AlertSource> = assessment(&(1..=i).collect::<Vec<_>>())
            .faults
            .iter()
            .map(AlertSource::from_fault)
            .collect();
        book = alerts::evaluate(
            &book,
            &Evaluation {
                namespace: "prod",
                cluster: "zk",
                sources: Some(&sources),
                members: None,
                restarting: &none,
                forming: false,
                routes: &routes,
                timing: Timing {
                    for_secs: 0,
                    repeat_secs: 3600,
                    keep_firing_secs: 0,
                },
                now: now + Duration::from_secs(i),
            },
        )
        .0;
    }
    assert_eq!(book.outbox.len(), 5);
    let books: MemoryBooks = Arc::default();
    books
        .lock()
        .expect("lock")
        .insert(("prod".into(), "zk".into()), book);

    let n = notifier(&books, secrets);
    let all_down = assessment(&[1, 2, 3, 4, 5]);
    n.observe(&zk, &notifications::faults_of(&all_down), SystemTime::now())
        .await
        .expect("observe");
    wait_until("the digest", || !seen.lock().expect("lock").is_empty()).await;
    wait_until("the outbox to empty", || {
        books.lock().expect("lock")[&("prod".to_string(), "zk".to_string())]
            .outbox
            .is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(
        seen.len(),
        1,
        "Slack allows one message now: one digest, {seen:?}"
    );
    let text = seen[0].1["text"].as_str().expect("text");
    assert_eq!(
        text,
        "[FIRING:5] prod/zk: MemberDown (digest of 5 messages)"
    );
    let lines = seen[0].1["attachments"][0]["text"].as_str().expect("lines");
    for m in 0..5 {
        assert!(lines.contains(&format!("MemberDown zk-{m} ")), "{lines}");
    }
}

#[tokio::test]
async fn a_failing_receiver_fails_alone_and_is_reported() {
    let (url, seen) = server().await;
    let secrets = StaticSecrets::default()
        .with("prod", "hooks", "good", &format!("{url}/good?token=s3cr3t"))
        .with("prod", "hooks", "bad", &format!("{url}/bad?token=s3cr3t"));
    let zk = cluster(json!([
        {"name": "good", "webhook": {"urlSecret": {"name": "hooks", "key": "good"}}},
        {"name": "nosecret", "slack": {"urlSecret": {"name": "missing", "key": "url"}}},
        {"name": "bad", "webhook": {"urlSecret": {"name": "hooks", "key": "bad"}}}
    ]));
    let books: MemoryBooks = Arc::default();
    let n = notifier(&books, secrets);
    let down = assessment(&[2]);
    let faults = notifications::faults_of(&down);
    let first = n
        .observe(&zk, &faults, SystemTime::now())
        .await
        .expect("observe");
    assert_eq!((first.status.firing, first.status.undelivered), (1, 3));
    // The missing Secret is found by the first look at the receivers, before any
    // delivery needs it.
    assert_eq!(first.receivers, 3);
    let named = |errors: &[NotifyError]| {
        let mut v: Vec<(String, &'static str)> = errors
            .iter()
            .map(|f| (f.receiver().to_string(), f.reason()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        named(&first.problems),
        vec![("nosecret".to_string(), "NotificationSecretInvalid")]
    );
    wait_until("good and bad to be tried", || {
        seen.lock().expect("lock").len() == 2
    })
    .await;
    let paths: BTreeSet<String> = seen
        .lock()
        .expect("lock")
        .iter()
        .map(|(p, _)| p.clone())
        .collect();
    assert_eq!(
        paths,
        BTreeSet::from(["/bad".to_string(), "/good".to_string()])
    );
    wait_until("the book to settle", || {
        books.lock().expect("lock")[&("prod".to_string(), "zk".to_string())]
            .outbox
            .iter()
            .all(|n| n.receiver == "nosecret")
    })
    .await;
    let report = n
        .observe(&zk, &faults, SystemTime::now())
        .await
        .expect("observe");
    let failures: Vec<NotifyError> = first
        .failures
        .iter()
        .chain(&report.failures)
        .cloned()
        .collect();
    let expected = vec![
        ("bad".to_string(), "NotificationFailed"),
        ("nosecret".to_string(), "NotificationSecretInvalid"),
    ];
    assert_eq!(named(&failures), expected, "each problem told once");
    assert!(failures.iter().all(|f| !f.to_string().contains("s3cr3t")));
    // Only the setup problem is one for the condition; the refusal was its Event.
    assert_eq!(
        named(&report.problems),
        vec![("nosecret".to_string(), "NotificationSecretInvalid")]
    );
    assert!(
        report
            .problems
            .iter()
            .all(|f| !f.to_string().contains("s3cr3t")),
        "problems never carry the URL"
    );
    // The one without its Secret keeps its message for when the Secret appears.
    assert_eq!(report.status.undelivered, 1);
    assert!(
        report.next_evaluation.is_some(),
        "a problem brings the notifier back to look again"
    );
    assert!(
        n.observe(&zk, &faults, SystemTime::now())
            .await
            .expect("observe")
            .failures
            .is_empty(),
        "reported once"
    );
}

#[tokio::test]
async fn a_flapping_member_reaches_the_webhook_as_one_flapping_notice() {
    let (url, seen) = server().await;
    let secrets = StaticSecrets::default().with("prod", "hooks", "url", &format!("{url}/hook"));
    let zk: ZookeeperCluster = serde_json::from_value(json!({
        "apiVersion": "zookeeper.ensemble.dev/v1alpha1",
        "kind": "ZookeeperCluster",
        "metadata": {"name": "zk", "namespace": "prod", "uid": "u-1"},
        "spec": {"replicas": 5, "notifications": {"forSeconds": 30, "receivers": [
            {"name": "ops", "webhook": {"urlSecret": {"name": "hooks", "key": "url"}}}
        ]}}
    }))
    .expect("cluster");
    let books: MemoryBooks = Arc::default();
    let n = notifier(&books, secrets);
    let (down, up) = (assessment(&[3]), assessment(&[]));
    let start = SystemTime::now();
    let pass = async |at: u64, a: &EnsembleAssessment| {
        let faults = notifications::faults_of(a);
        n.observe(&zk, &faults, start + Duration::from_secs(at))
            .await
            .expect("observe");
    };
    // Member 3 down and up every 10 s for five minutes: never down for `for`, yet
    // someone should know.
    for i in 0..30u64 {
        pass(i * 10, if i % 2 == 0 { &down } else { &up }).await;
    }
    wait_until("the flapping notice", || {
        !seen.lock().expect("lock").is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let bodies: Vec<Value> = seen
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, b)| b.clone())
        .collect();
    assert_eq!(bodies.len(), 1, "one notice, not a stream: {bodies:?}");
    let alert = &bodies[0]["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "MemberDown");
    assert_eq!(alert["labels"]["member"], "zk-2");
    assert_eq!(alert["status"], "firing");
    assert!(
        alert["annotations"]["flapping"]
            .as_str()
            .is_some_and(|f| f.contains("held back")),
        "{alert}"
    );
    // Stable (up) for the quiet period: resolved, once.
    for t in (300..1200).step_by(30) {
        pass(t, &up).await;
    }
    wait_until("the resolved notice", || {
        seen.lock().expect("lock").len() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].1["alerts"][0]["status"], "resolved");
    assert_eq!(
        seen[1].1["alerts"][0]["fingerprint"], alert["fingerprint"],
        "the same alert"
    );
}
