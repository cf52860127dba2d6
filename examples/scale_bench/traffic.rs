//! The operator's API traffic from the audit log: counts, apiserver latency, bursts.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use zk_testkit::controlplane::{AuditEvent, RequestCounts, count_requests};

use crate::faults::quantile;

pub struct Traffic {
    pub counts: RequestCounts,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Most requests received in one second.
    pub peak_rps: u64,
}

pub fn analyse(events: &[AuditEvent], user: &str, from: Timestamp, to: Timestamp) -> Traffic {
    let counts = count_requests(events, user, from, to);
    let mut seen = HashSet::new();
    let mut latencies = Vec::new();
    let mut per_second: BTreeMap<i64, u64> = BTreeMap::new();
    for e in events.iter().filter(|e| {
        e.user.username == user
            && e.request_received_timestamp >= from
            && e.request_received_timestamp < to
    }) {
        if seen.insert(e.audit_id.as_str()) {
            *per_second
                .entry(e.request_received_timestamp.as_second())
                .or_default() += 1;
        }
        // A watch's completion is its end, not an answer time.
        if e.stage == "ResponseComplete" && e.verb != "watch" {
            latencies.push(e.latency());
        }
    }
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Traffic {
        counts,
        p50_ms: ms(quantile(&latencies, 0.5)),
        p99_ms: ms(quantile(&latencies, 0.99)),
        peak_rps: per_second.values().copied().max().unwrap_or(0),
    }
}

/// "list pods 12, get statefulsets 12, ..." — the most frequent requests first.
pub fn top(counts: &RequestCounts, limit: usize) -> String {
    let mut kinds: Vec<_> = counts.by_kind.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1));
    let text: Vec<String> = kinds
        .iter()
        .take(limit)
        .map(|((verb, resource), n)| format!("{verb} {resource} {n}"))
        .collect();
    if text.is_empty() {
        "none".into()
    } else {
        text.join(", ")
    }
}
