//! Notification sinks against real receivers started here: an HTTP server that records
//! every request (Alertmanager v4 webhook, Slack, DingTalk with its signature checked)
//! and scripted failures (5xx, 429 + Retry-After, 400, DingTalk errcode); email against a
//! real SMTP server process in `email`.
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use base64::Engine;
use hmac::{KeyInit, Mac};
use serde_json::Value;
use zookeeper_operator::alerts::{
    AlertBook, AlertSource, Evaluation, Notification, Route, Timing, evaluate,
};
use zookeeper_operator::api::{ReceiverSpec, Severity};
use zookeeper_operator::health::{Fault, OverloadKind};
use zookeeper_operator::notify::{
    Deliverer, NotifyError, ResolvedReceiver, RetryPolicy, SecretString, Sink, StaticSecrets,
    resolve,
};

#[path = "notify_sinks/email.rs"]
mod email;
#[path = "notify_sinks/smtp_server.rs"]
mod smtp_server;
#[path = "notify_sinks/test_ca.rs"]
mod test_ca;
#[path = "notify_sinks/vendors.rs"]
mod vendors;

#[derive(Debug, Clone)]
struct Request {
    path_and_query: String,
    headers: HeaderMap,
    body: Value,
    /// The body as sent, for bodies that are not JSON (templated webhooks).
    raw: String,
    at: Instant,
}

#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn reply(status: u16, body: &str) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: body.into(),
    }
}

#[derive(Clone, Default)]
struct Recorder {
    requests: Arc<Mutex<Vec<Request>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
}

impl Recorder {
    fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("lock").clone()
    }
}

async fn record(
    State(r): State<Recorder>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap, String) {
    assert_eq!(method, Method::POST);
    r.requests.lock().expect("lock").push(Request {
        path_and_query: uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        raw: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    });
    let next = r
        .script
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or_else(|| reply(200, r#"{"errcode":0,"errmsg":"ok"}"#));
    let mut h = HeaderMap::new();
    for (k, v) in next.headers {
        h.insert(k, v.parse().expect("header value"));
    }
    (
        StatusCode::from_u16(next.status).expect("status"),
        h,
        next.body,
    )
}

/// A recording HTTP server on a free loopback port; `script` answers requests in order,
/// then 200 with DingTalk's success body.
async fn server(script: Vec<Reply>) -> (String, Recorder) {
    let recorder = Recorder::default();
    recorder.script.lock().expect("lock").extend(script);
    let app = Router::new().fallback(record).with_state(recorder.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), recorder)
}

/// Two alerts that fired together (MemberDown of zk-1, Overloaded zk-0), as the
/// lifecycle queues them.
fn notification() -> Notification {
    let sources = [
        AlertSource::from_fault(&Fault::Overloaded {
            member: 1,
            what: OverloadKind::OutstandingRequests,
            value: 25,
            limit: 10,
        }),
        AlertSource::from_fault(&Fault::MemberDown {
            member: 2,
            reason: "connection refused".into(),
        }),
    ];
    let routes = [Route {
        receiver: "ops".into(),
        min_severity: Severity::Info,
        send_resolved: true,
    }];
    let none = BTreeSet::new();
    let e = |t| Evaluation {
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
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(t),
    };
    let (_, queued) = evaluate(&AlertBook::default(), &e(1_700_000_000));
    queued.into_iter().next().expect("one notification")
}

fn fast() -> Deliverer {
    Deliverer::new(
        RetryPolicy {
            attempts: 5,
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
            max_retry_after: Duration::from_secs(5),
        },
        "http://operator.example",
    )
    .expect("client")
}

fn webhook(url: &str) -> ResolvedReceiver {
    ResolvedReceiver {
        name: "ops".into(),
        timeout: Duration::from_secs(5),
        sink: Sink::Webhook {
            url: SecretString::new(format!("{url}/hook?token=s3cr3t")),
            bearer_token: Some(SecretString::new("bearer-xyz")),
            basic_auth: None,
            headers: BTreeMap::from([("X-Team".to_string(), "zk".to_string())]),
        },
    }
}

#[tokio::test]
async fn webhook_sends_alertmanager_v4_field_by_field() {
    let (url, rec) = server(vec![]).await;
    let n = notification();
    fast().deliver(&webhook(&url), &n).await.expect("delivered");
    let reqs = rec.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.path_and_query, "/hook?token=s3cr3t");
    assert_eq!(r.headers["authorization"], "Bearer bearer-xyz");
    assert_eq!(r.headers["x-team"], "zk");
    assert_eq!(r.headers["content-type"], "application/json");
    let b = &r.body;
    let keys: BTreeSet<&str> = b
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "version",
            "groupKey",
            "truncatedAlerts",
            "status",
            "receiver",
            "groupLabels",
            "commonLabels",
            "commonAnnotations",
            "externalURL",
            "alerts"
        ])
    );
    assert_eq!(b["version"], "4");
    assert_eq!(b["groupKey"], r#"{}:{cluster="zk", namespace="prod"}"#);
    assert_eq!(b["truncatedAlerts"], 0);
    assert_eq!(b["status"], "firing");
    assert_eq!(b["receiver"], "ops");
    assert_eq!(
        b["groupLabels"],
        serde_json::json!({"cluster": "zk", "namespace": "prod"})
    );
    assert_eq!(
        b["commonLabels"],
        serde_json::json!({"cluster": "zk", "namespace": "prod", "severity": "warning"})
    );
    assert_eq!(b["commonAnnotations"], serde_json::json!({}));
    assert_eq!(b["externalURL"], "http://operator.example");
    let alerts = b["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 2);
    let down = alerts
        .iter()
        .find(|a| a["labels"]["alertname"] == "MemberDown")
        .expect("MemberDown");
    let akeys: BTreeSet<&str> = down
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        akeys,
        BTreeSet::from([
            "status",
            "labels",
            "annotations",
            "startsAt",
            "endsAt",
            "generatorURL",
            "fingerprint"
        ])
    );
    assert_eq!(down["status"], "firing");
    assert_eq!(
        down["labels"],
        serde_json::json!({"alertname": "MemberDown", "cluster": "zk", "member": "zk-1",
                           "namespace": "prod", "severity": "warning"})
    );
    assert_eq!(
        down["annotations"]["summary"],
        "member 2 is down: connection refused"
    );
    assert_eq!(down["annotations"]["value_reason"], "connection refused");
    assert_eq!(down["startsAt"], "2023-11-14T22:13:20Z");
    assert_eq!(down["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(down["generatorURL"], "http://operator.example");
    // Alertmanager's fingerprint of these labels, computed independently (Python FNV-1a).
    assert_eq!(down["fingerprint"], expected_fingerprint(&down["labels"]));
}

/// FNV-1a 64 over sorted names/values with 0xff separators, written out again here so
/// the test does not trust the code under test.
fn expected_fingerprint(labels: &Value) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    let obj = labels.as_object().expect("labels");
    let mut names: Vec<&String> = obj.keys().collect();
    names.sort();
    for name in names {
        for bytes in [name.as_bytes(), obj[name].as_str().expect("str").as_bytes()] {
            for b in bytes.iter().chain([0xffu8].iter()) {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x100000001b3);
            }
        }
    }
    format!("{h:016x}")
}

#[tokio::test]
async fn failing_three_times_then_succeeding_delivers_exactly_once() {
    let (url, rec) = server(vec![reply(503, "busy"), reply(500, "oops"), reply(408, "")]).await;
    let result = fast().deliver(&webhook(&url), &notification()).await;
    assert_eq!(result, Ok(()));
    let reqs = rec.requests();
    assert_eq!(reqs.len(), 4, "three failures and one success");
    // The same message each time (same fingerprints), and nothing after the success.
    assert!(reqs.windows(2).all(|w| w[0].body == w[1].body));
}

#[tokio::test]
async fn too_many_requests_honours_retry_after() {
    let mut limited = reply(429, "slow down");
    limited.headers.push(("retry-after", "1".into()));
    let (url, rec) = server(vec![limited]).await;
    fast()
        .deliver(&webhook(&url), &notification())
        .await
        .expect("delivered");
    let reqs = rec.requests();
    assert_eq!(reqs.len(), 2);
    let waited = reqs[1].at - reqs[0].at;
    // The backoff alone would be ~20-100 ms.
    assert!(waited >= Duration::from_millis(950), "waited {waited:?}");
}

#[tokio::test]
async fn bad_request_is_permanent_and_does_not_leak_the_url() {
    let (url, rec) = server(vec![reply(400, "no such hook")]).await;
    let err = fast()
        .deliver(&webhook(&url), &notification())
        .await
        .expect_err("rejected");
    assert_eq!(rec.requests().len(), 1, "no retry of a 400");
    assert!(matches!(err, NotifyError::Rejected { .. }));
    assert_eq!(err.reason(), "NotificationFailed");
    assert_eq!(err.receiver(), "ops");
    let text = err.to_string();
    assert!(
        text.contains("HTTP 400") && text.contains("no such hook"),
        "{text}"
    );
    assert!(!text.contains("s3cr3t"), "the URL token leaked: {text}");
}

#[tokio::test]
async fn unreachable_receiver_is_transient_without_the_url() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let err = fast()
        .deliver(&webhook(&url), &notification())
        .await
        .expect_err("unreachable");
    assert!(err.is_transient(), "{err}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
}

#[tokio::test]
async fn slack_gets_text_and_a_coloured_attachment() {
    let (url, rec) = server(vec![]).await;
    let slack = ResolvedReceiver {
        name: "chat".into(),
        timeout: Duration::from_secs(5),
        sink: Sink::Slack {
            url: SecretString::new(format!("{url}/services/T/B/X")),
            channel: Some("#zk".into()),
        },
    };
    fast()
        .deliver(&slack, &notification())
        .await
        .expect("delivered");
    let reqs = rec.requests();
    assert_eq!(reqs.len(), 1);
    let b = &reqs[0].body;
    assert_eq!(reqs[0].path_and_query, "/services/T/B/X");
    assert_eq!(b["text"], "[FIRING:2] prod/zk: MemberDown, Overloaded");
    assert_eq!(b["channel"], "#zk");
    let att = &b["attachments"][0];
    assert_eq!(att["color"], "danger");
    let text = att["text"].as_str().expect("text");
    assert!(
        text.contains("FIRING MemberDown zk-1 (warning): member 2 is down"),
        "{text}"
    );
    assert!(
        text.contains("FIRING Overloaded zk-0 (warning): member 1 is overloaded: outstanding_requests = 25 (limit 10)"),
        "{text}"
    );
}

fn dingtalk(url: &str, secret: Option<&str>) -> ResolvedReceiver {
    ResolvedReceiver {
        name: "dd".into(),
        timeout: Duration::from_secs(5),
        sink: Sink::DingTalk {
            url: SecretString::new(format!("{url}/robot/send?access_token=tok")),
            signing_secret: secret.map(SecretString::new),
        },
    }
}

#[tokio::test]
async fn dingtalk_markdown_is_signed_with_hmac_sha256() {
    let (url, rec) = server(vec![]).await;
    fast()
        .deliver(&dingtalk(&url, Some("SEC000secret")), &notification())
        .await
        .expect("delivered");
    let reqs = rec.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    let b = &r.body;
    assert_eq!(b["msgtype"], "markdown");
    assert_eq!(
        b["markdown"]["title"],
        "[FIRING:2] prod/zk: MemberDown, Overloaded"
    );
    let text = b["markdown"]["text"].as_str().expect("text");
    assert!(text.starts_with("### [FIRING:2] prod/zk"), "{text}");
    assert!(text.contains("- FIRING MemberDown zk-1"), "{text}");

    // Verify the signature as DingTalk does.
    let query: BTreeMap<String, String> = r
        .path_and_query
        .split_once('?')
        .expect("query")
        .1
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            (
                k.to_string(),
                percent_encoding::percent_decode_str(v)
                    .decode_utf8()
                    .expect("utf8")
                    .into_owned(),
            )
        })
        .collect();
    assert_eq!(query["access_token"], "tok");
    let ts: u128 = query["timestamp"].parse().expect("ms timestamp");
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    assert!(
        now_ms.abs_diff(ts) < 60_000,
        "DingTalk rejects stale timestamps"
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"SEC000secret").expect("key");
    mac.update(format!("{ts}\nSEC000secret").as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(query["sign"], expected);
}

#[tokio::test]
async fn dingtalk_errcode_is_a_permanent_failure() {
    let (url, rec) = server(vec![reply(
        200,
        r#"{"errcode":310000,"errmsg":"sign not match"}"#,
    )])
    .await;
    let err = fast()
        .deliver(&dingtalk(&url, Some("wrong")), &notification())
        .await
        .expect_err("errcode");
    assert_eq!(rec.requests().len(), 1, "not retried");
    assert_eq!(err.reason(), "NotificationFailed");
    assert!(err.to_string().contains("310000"), "{err}");
}

#[tokio::test]
async fn a_missing_secret_fails_only_its_receiver_and_debug_redacts() {
    let secrets = StaticSecrets::default()
        .with(
            "prod",
            "hooks",
            "url",
            "http://127.0.0.1:9/hook?token=s3cr3t",
        )
        .with("prod", "hooks", "bearer", "bearer-xyz");
    let good: ReceiverSpec = serde_json::from_value(serde_json::json!({
        "name": "good",
        "webhook": {"urlSecret": {"name": "hooks", "key": "url"},
                    "bearerTokenSecret": {"name": "hooks", "key": "bearer"}}
    }))
    .expect("spec");
    let missing_key: ReceiverSpec = serde_json::from_value(serde_json::json!({
        "name": "broken",
        "slack": {"urlSecret": {"name": "hooks", "key": "slack"}}
    }))
    .expect("spec");
    let missing_secret: ReceiverSpec = serde_json::from_value(serde_json::json!({
        "name": "gone",
        "dingtalk": {"urlSecret": {"name": "nope", "key": "url"}}
    }))
    .expect("spec");
    let resolved = resolve(&good, "good", "prod", &secrets)
        .await
        .expect("resolves");
    let debug = format!("{resolved:?}");
    assert!(
        !debug.contains("s3cr3t") && !debug.contains("bearer-xyz"),
        "{debug}"
    );
    assert!(debug.contains("<redacted>"));
    let e = resolve(&missing_key, "broken", "prod", &secrets)
        .await
        .expect_err("no key");
    assert_eq!(
        (e.reason(), e.receiver()),
        ("NotificationSecretInvalid", "broken")
    );
    assert!(
        e.to_string().contains("Secret prod/hooks has no key slack"),
        "{e}"
    );
    let e = resolve(&missing_secret, "gone", "prod", &secrets)
        .await
        .expect_err("no secret");
    assert!(e.to_string().contains("Secret prod/nope not found"), "{e}");
}
