//! A webhook receiver that can be taken down (503) and brought back, and the check that
//! what it was told per fingerprint alternates firing, resolved, firing, ...
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;

/// A webhook receiver that can be taken down (503) and brought back.
#[derive(Clone, Default)]
pub struct Receiver {
    pub down: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<(Instant, Value)>>>,
}

async fn take(State(r): State<Receiver>, body: Bytes) -> (StatusCode, &'static str) {
    if r.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down");
    }
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Ok(mut seen) = r.seen.lock() {
        seen.push((Instant::now(), value));
    }
    (StatusCode::OK, "ok")
}

/// One alert as the receiver got it.
#[derive(Debug, Clone)]
pub struct Told {
    pub at: Duration,
    pub status: String,
    pub alertname: String,
    pub member: String,
    pub fingerprint: String,
    pub starts_at: String,
}

impl Receiver {
    pub async fn start() -> (Self, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let r = Self::default();
        let app = Router::new().fallback(take).with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, format!("http://{addr}/hook"))
    }

    pub fn told(&self, t0: Instant) -> Vec<Told> {
        let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        seen.iter()
            .flat_map(|(at, body)| {
                let at = at.duration_since(t0);
                body["alerts"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |a| Told {
                        at,
                        status: a["status"].as_str().unwrap_or_default().into(),
                        alertname: a["labels"]["alertname"].as_str().unwrap_or_default().into(),
                        member: a["labels"]["member"].as_str().unwrap_or_default().into(),
                        fingerprint: a["fingerprint"].as_str().unwrap_or_default().into(),
                        starts_at: a["startsAt"].as_str().unwrap_or_default().into(),
                    })
            })
            .collect()
    }
}

/// Per fingerprint: firing, resolved, firing, ... Returns what breaks that, and the
/// fingerprints whose last word is firing.
pub fn check(told: &[Told]) -> (Vec<String>, Vec<String>) {
    let mut last: std::collections::BTreeMap<&str, &Told> = Default::default();
    let mut wrong = Vec::new();
    for t in told {
        let prev = last.get(t.fingerprint.as_str()).copied();
        match (prev.map(|p| p.status.as_str()), t.status.as_str()) {
            (None | Some("resolved"), "firing") | (Some("firing"), "resolved") => {}
            (Some("firing"), "firing") => wrong.push(format!(
                "{} {} firing again at {:.1?} (startsAt {} then {})",
                t.alertname,
                t.member,
                t.at,
                prev.map_or("", |p| p.starts_at.as_str()),
                t.starts_at
            )),
            (_, status) => wrong.push(format!(
                "{} {} {status} at {:.1?} without firing",
                t.alertname, t.member, t.at
            )),
        }
        last.insert(&t.fingerprint, t);
    }
    let open = last
        .values()
        .filter(|t| t.status == "firing")
        .map(|t| format!("{} {}", t.alertname, t.member))
        .collect();
    (wrong, open)
}

impl Receiver {
    /// What it was told once nothing is left firing (keepFiringFor and any delivery
    /// backoff later), or after 120 s.
    pub async fn settled(&self, t0: Instant) -> Vec<Told> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let told = self.told(t0);
            let (_, open) = check(&told);
            if open.is_empty() || Instant::now() > deadline {
                return told;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}

/// Prints the test's marks and what the receiver got, in time order.
pub fn print_timeline(since: &str, marks: Vec<(Duration, String)>, told: &[Told]) {
    println!("timeline (seconds since {since}):");
    let mut lines = marks;
    lines.extend(told.iter().map(|t| {
        (
            t.at,
            format!(
                "  receiver: {} {} {} (fp {})",
                t.status, t.alertname, t.member, t.fingerprint
            ),
        )
    }));
    lines.sort_by_key(|(at, _)| *at);
    for (at, line) in &lines {
        println!("{:>7.1} {line}", at.as_secs_f64());
    }
}
