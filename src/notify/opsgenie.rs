//! Opsgenie Alert API v2, as Opsgenie's REST docs describe it ("Alert API": Create Alert,
//! Close Alert): `Authorization: GenieKey KEY`; create is `POST /v2/alerts` with
//! `{message (<= 130 chars), alias (<= 512), description (<= 15000), tags, details,
//! entity, source, priority P1..P5}`, close is `POST /v2/alerts/ALIAS/close?
//! identifierType=alias` with `{source, note}`; both answer `202 {"result", "requestId"}`.
//!
//! One Opsgenie alert per alert fingerprint (its `alias`): Opsgenie de-duplicates a
//! create for an open alias (a retry or a repeat counts, it does not page again).
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use super::error::NotifyError;
use super::http::Context;
use super::render::{headline, line};
use super::secrets::SecretString;
use crate::alerts::{AlertSnapshot, Notification, Status, cut_text, rfc3339};

pub const DEFAULT_API_URL: &str = "https://api.opsgenie.com";
const MAX_MESSAGE: usize = 130;
const MAX_DESCRIPTION: usize = 15_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Opsgenie {
    /// The API base, without `/v2`.
    pub api_url: String,
    pub api_key: SecretString,
}

impl Opsgenie {
    pub async fn send(&self, cx: &Context<'_>, n: &Notification) -> Result<(), NotifyError> {
        let base = self.api_url.trim_end_matches('/');
        let auth = format!("GenieKey {}", self.api_key.expose());
        for a in &n.alerts {
            let (url, body) = match a.status {
                Status::Firing => (format!("{base}/v2/alerts"), create(a, n)),
                Status::Resolved => (close_url(base, &a.fingerprint), close(a)),
            };
            let request = cx.request(&url).header("Authorization", &auth).json(&body);
            cx.send(request).await?;
        }
        Ok(())
    }
}

/// `.../v2/alerts/ALIAS/close?identifierType=alias` (the alias path-encoded; ours are
/// hex, but the docs ask for it).
pub fn close_url(base: &str, alias: &str) -> String {
    let alias = utf8_percent_encode(alias, NON_ALPHANUMERIC);
    format!("{base}/v2/alerts/{alias}/close?identifierType=alias")
}

/// The create-alert body for a firing alert.
pub fn create(a: &AlertSnapshot, n: &Notification) -> Value {
    let label = |k: &str| a.labels.get(k).map_or("", String::as_str);
    let tags: Vec<&str> = [
        label("alertname"),
        label("severity"),
        &n.namespace,
        &n.cluster,
    ]
    .into_iter()
    .filter(|t| !t.is_empty())
    .collect();
    let mut details = a.labels.clone();
    details.extend(a.annotations.clone());
    json!({
        "message": cut_text(&headline(a, n), MAX_MESSAGE),
        "alias": a.fingerprint,
        "description": cut_text(&line(a), MAX_DESCRIPTION),
        "tags": tags,
        "details": details,
        "entity": format!("{}/{}", n.namespace, n.cluster),
        "source": "zookeeper-operator",
        "priority": priority(label("severity")),
    })
}

/// The close body: who closed it and when it ended.
pub fn close(a: &AlertSnapshot) -> Value {
    let ended = a.ends_at.map(rfc3339).unwrap_or_default();
    json!({
        "source": "zookeeper-operator",
        "note": format!("resolved at {ended}"),
    })
}

/// Opsgenie's P1 (critical) .. P5 (informational); its default is P3.
fn priority(severity: &str) -> &'static str {
    match severity {
        "critical" => "P1",
        "info" => "P5",
        _ => "P3",
    }
}
