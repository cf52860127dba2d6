//! Words shared by the chat and email sinks: one title and one line per alert.
use std::collections::BTreeMap;

use crate::alerts::{AlertSnapshot, Notification, Status, rfc3339};

/// `[FIRING:2] ns/zk: MemberDown, QuorumLost` (Alertmanager's subject style), with
/// `[RESOLVED]` and `[FLAPPING]` variants.
pub fn title(n: &Notification) -> String {
    let firing = n
        .alerts
        .iter()
        .filter(|a| a.status == Status::Firing)
        .count();
    let tag = if n.alerts.iter().all(|a| a.flapping) {
        "[FLAPPING]".to_string()
    } else if firing > 0 {
        format!("[FIRING:{firing}]")
    } else {
        "[RESOLVED]".to_string()
    };
    let mut names: Vec<&str> = n
        .alerts
        .iter()
        .filter_map(|a| a.labels.get("alertname").map(String::as_str))
        .collect();
    names.sort_unstable();
    names.dedup();
    let digest = if n.merged > 1 {
        format!(" (digest of {} messages)", n.merged)
    } else {
        String::new()
    };
    format!(
        "{tag} {}/{}: {}{digest}",
        n.namespace,
        n.cluster,
        names.join(", ")
    )
}

/// The state word of one alert in a message.
pub fn state(a: &AlertSnapshot) -> &'static str {
    if a.flapping {
        "FLAPPING"
    } else if a.status == Status::Resolved {
        "RESOLVED"
    } else if a.repeat {
        "STILL FIRING"
    } else {
        "FIRING"
    }
}

/// `MemberDown zk-1 (warning): member 2 is down: ...` plus since/until.
pub fn line(a: &AlertSnapshot) -> String {
    let severity = a.labels.get("severity").map_or("", String::as_str);
    let summary = a.annotations.get("summary").map_or("", String::as_str);
    let mut out = format!(
        "{} {} ({severity}): {summary}; since {}",
        state(a),
        name_and_member(a),
        rfc3339(a.starts_at)
    );
    if let Some(end) = a.ends_at {
        out.push_str(&format!(", resolved {}", rfc3339(end)));
    }
    if let Some(f) = a.annotations.get("flapping") {
        out.push_str(&format!(" ({f})"));
    }
    out
}

/// Labels and annotations every alert of the group shares (Alertmanager's common*).
pub fn common<'a>(
    maps: impl Iterator<Item = &'a BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let mut common: Option<BTreeMap<String, String>> = None;
    for m in maps {
        common = Some(match common {
            None => m.clone(),
            Some(c) => c.into_iter().filter(|(k, v)| m.get(k) == Some(v)).collect(),
        });
    }
    common.unwrap_or_default()
}

/// `MemberDown zk-1`, or just `QuorumLost` for an alert of the whole cluster.
fn name_and_member(a: &AlertSnapshot) -> String {
    let name = a.labels.get("alertname").map_or("", String::as_str);
    match a.labels.get("member") {
        Some(m) => format!("{name} {m}"),
        None => name.to_string(),
    }
}

/// `MemberDown zk-1 in prod/zk: member 2 is down: ...`: one alert in one line, without
/// state words, for services that track each alert themselves (PagerDuty, Opsgenie).
pub fn headline(a: &AlertSnapshot, n: &Notification) -> String {
    let summary = a.annotations.get("summary").map_or("", String::as_str);
    format!(
        "{} in {}/{}: {summary}",
        name_and_member(a),
        n.namespace,
        n.cluster
    )
}
