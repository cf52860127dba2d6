//! The generic webhook: exactly Alertmanager's v4 JSON, so existing receivers just work.
use serde::Serialize;
use std::collections::BTreeMap;

use super::render::common;
use crate::alerts::{Notification, Status, rfc3339};

/// Alertmanager's zero time, which it sends as `endsAt` of firing alerts.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WebhookMessage {
    pub version: &'static str,
    pub group_key: String,
    pub truncated_alerts: u64,
    pub status: &'static str,
    pub receiver: String,
    pub group_labels: BTreeMap<String, String>,
    pub common_labels: BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    pub external_url: String,
    pub alerts: Vec<WebhookAlert>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert {
    pub status: &'static str,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    pub fingerprint: String,
}

/// The v4 payload for one notification; alerts past `max_alerts` (0 = all) are counted
/// in `truncatedAlerts` as Alertmanager does.
pub fn payload(n: &Notification, external_url: &str, max_alerts: usize) -> WebhookMessage {
    let group_labels = BTreeMap::from([
        ("cluster".to_string(), n.cluster.clone()),
        ("namespace".to_string(), n.namespace.clone()),
    ]);
    let keep = if max_alerts == 0 {
        n.alerts.len()
    } else {
        max_alerts.min(n.alerts.len())
    };
    WebhookMessage {
        version: "4",
        group_key: format!(
            "{{}}:{{cluster=\"{}\", namespace=\"{}\"}}",
            n.cluster, n.namespace
        ),
        truncated_alerts: (n.alerts.len() - keep) as u64,
        status: n.status().as_str(),
        receiver: n.receiver.clone(),
        common_labels: common(n.alerts.iter().map(|a| &a.labels)),
        common_annotations: common(n.alerts.iter().map(|a| &a.annotations)),
        group_labels,
        external_url: external_url.to_string(),
        alerts: n.alerts[..keep]
            .iter()
            .map(|a| WebhookAlert {
                status: a.status.as_str(),
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                starts_at: rfc3339(a.starts_at),
                ends_at: match (a.status, a.ends_at) {
                    (Status::Resolved, Some(t)) => rfc3339(t),
                    _ => ZERO_TIME.to_string(),
                },
                generator_url: external_url.to_string(),
                fingerprint: a.fingerprint.clone(),
            })
            .collect(),
    }
}
