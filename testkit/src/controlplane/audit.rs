//! The opt-in audit log of a [`super::ControlPlane`]: a Metadata-level policy (who did what
//! to which object, no bodies) written as JSON lines, and a reader that counts one client's
//! requests as reads and writes.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::{Context, Result};
use k8s_openapi::jiff::Timestamp;
use serde::Deserialize;

pub(crate) const POLICY_FILE: &str = "audit-policy.yaml";
pub(crate) const LOG_FILE: &str = "audit.log";

/// Metadata for every request; the RequestReceived stage is left out because every request
/// also logs ResponseComplete (or ResponseStarted, for a watch), which carries the same data.
const POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [\"RequestReceived\"]
rules:
- level: Metadata
";

pub(crate) fn write_policy(dir: &Path) -> Result<()> {
    let path = dir.join(POLICY_FILE);
    std::fs::write(&path, POLICY).with_context(|| format!("cannot write {}", path.display()))
}

/// One line of the audit log, the fields the counters need.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    #[serde(rename = "auditID")]
    pub audit_id: String,
    pub stage: String,
    pub verb: String,
    pub user: AuditUser,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub object_ref: Option<AuditObjectRef>,
    pub request_received_timestamp: Timestamp,
    /// When this stage was reached: minus the received time, the apiserver's latency.
    pub stage_timestamp: Timestamp,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuditUser {
    #[serde(default)]
    pub username: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditObjectRef {
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub subresource: Option<String>,
}

impl AuditEvent {
    /// `pods`, `zookeeperclusters/status`, ... (`-` for non-resource URLs).
    pub fn resource(&self) -> String {
        let r = self.object_ref.clone().unwrap_or_default();
        match (r.resource, r.subresource) {
            (Some(res), Some(sub)) => format!("{res}/{sub}"),
            (Some(res), None) => res,
            _ => "-".into(),
        }
    }

    /// get, list and watch read; everything else (create, update, patch, delete,
    /// deletecollection) writes.
    pub fn is_read(&self) -> bool {
        matches!(self.verb.as_str(), "get" | "list" | "watch")
    }

    /// Time the apiserver took to answer (not meaningful for a watch's ResponseComplete).
    pub fn latency(&self) -> std::time::Duration {
        let d = self
            .stage_timestamp
            .duration_since(self.request_received_timestamp);
        std::time::Duration::try_from(d).unwrap_or_default()
    }
}

/// Every parseable line of the log (a line being written at the moment is skipped).
pub fn read_events(path: &Path) -> Result<Vec<AuditEvent>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

/// One client's requests in a time window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub reads: u64,
    pub writes: u64,
    /// `(verb, resource)` -> count, to say where the traffic goes.
    pub by_kind: BTreeMap<(String, String), u64>,
}

/// Counts each request once (by audit id) whose user is `user` and that was received in
/// `[from, to)`.
pub fn count(events: &[AuditEvent], user: &str, from: Timestamp, to: Timestamp) -> RequestCounts {
    let mut seen = HashSet::new();
    let mut counts = RequestCounts::default();
    for e in events {
        let t = e.request_received_timestamp;
        if e.user.username != user || t < from || t >= to || !seen.insert(e.audit_id.as_str()) {
            continue;
        }
        if e.is_read() {
            counts.reads += 1;
        } else {
            counts.writes += 1;
        }
        *counts
            .by_kind
            .entry((e.verb.clone(), e.resource()))
            .or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{"username":"op","groups":["system:masters"]},"sourceIPs":["127.0.0.1"],"objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-11-22T05:00:01.000000Z","stageTimestamp":"2026-11-22T05:00:01.010000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a2","stage":"ResponseStarted","requestURI":"/api/v1/pods?watch=true","verb":"watch","user":{"username":"op"},"objectRef":{"resource":"pods"},"requestReceivedTimestamp":"2026-11-22T05:00:02.000000Z","stageTimestamp":"2026-11-22T05:00:02.000000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a2","stage":"ResponseComplete","verb":"watch","user":{"username":"op"},"objectRef":{"resource":"pods"},"requestReceivedTimestamp":"2026-11-22T05:00:02.000000Z","stageTimestamp":"2026-11-22T05:04:02.000000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a3","stage":"ResponseComplete","verb":"patch","user":{"username":"op"},"userAgent":"x","objectRef":{"resource":"zookeeperclusters","subresource":"status"},"requestReceivedTimestamp":"2026-11-22T05:00:03.000000Z","stageTimestamp":"2026-11-22T05:00:03.000000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a4","stage":"ResponseComplete","verb":"get","user":{"username":"other"},"requestReceivedTimestamp":"2026-11-22T05:00:03.000000Z","stageTimestamp":"2026-11-22T05:00:03.250000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a5","stage":"ResponseComplete","verb":"get","user":{"username":"op"},"requestReceivedTimestamp":"2026-11-22T05:09:00.000000Z","stageTimestamp":"2026-11-22T05:09:00.000000Z"}
{"truncated line"#;

    #[test]
    fn counts_one_users_requests_once_each_in_the_window() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("audit.log");
        std::fs::write(&path, LINES).expect("write");
        let events = read_events(&path).expect("read");
        assert_eq!(events.len(), 6);
        assert_eq!(events[4].latency(), std::time::Duration::from_millis(250));
        let from: Timestamp = "2026-11-22T05:00:00Z".parse().expect("ts");
        let to: Timestamp = "2026-11-22T05:01:00Z".parse().expect("ts");
        let c = count(&events, "op", from, to);
        assert_eq!((c.reads, c.writes), (2, 1));
        assert_eq!(
            c.by_kind
                .get(&("patch".to_string(), "zookeeperclusters/status".to_string())),
            Some(&1)
        );
    }
}
