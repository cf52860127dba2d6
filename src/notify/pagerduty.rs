//! PagerDuty Events API v2, as PagerDuty's developer docs describe it ("Send an Alert
//! Event", events-API-v2/02-Trigger-Events and 04-Resolve): `POST /v2/enqueue` with
//! `{routing_key, event_action, dedup_key, payload: {summary, source, severity, ...}}`,
//! answered `202 {"status":"success","dedup_key":...}`; 400 is an invalid event, 429 the
//! rate limit (retried like any 429).
//!
//! PagerDuty tracks alerts one by one, so a notification becomes one event per alert,
//! `dedup_key` = the alert's fingerprint: a re-sent trigger (a retry, a repeat) joins the
//! open alert instead of paging twice, and a resolve closes exactly that alert.
use serde_json::{Value, json};

use super::error::NotifyError;
use super::http::Context;
use super::render::headline;
use super::secrets::SecretString;
use crate::alerts::{AlertSnapshot, Notification, Status, cut_text, rfc3339};

pub const DEFAULT_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// The documented limit of `payload.summary`.
const MAX_SUMMARY: usize = 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct PagerDuty {
    pub url: String,
    pub routing_key: SecretString,
}

impl PagerDuty {
    pub async fn send(&self, cx: &Context<'_>, n: &Notification) -> Result<(), NotifyError> {
        for a in &n.alerts {
            let event = event(a, n, self.routing_key.expose(), cx.external_url);
            cx.send(cx.request(&self.url).json(&event)).await?;
        }
        Ok(())
    }
}

/// The event for one alert: `trigger` with its payload while firing, a bare `resolve`
/// (the docs need only the key) once resolved.
pub fn event(a: &AlertSnapshot, n: &Notification, routing_key: &str, external_url: &str) -> Value {
    if a.status == Status::Resolved {
        return json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": a.fingerprint,
        });
    }
    let label = |k: &str| a.labels.get(k).cloned();
    let source = match label("member") {
        Some(m) => format!("{}/{}/{m}", n.namespace, n.cluster),
        None => format!("{}/{}", n.namespace, n.cluster),
    };
    let mut payload = json!({
        "summary": cut_text(&headline(a, n), MAX_SUMMARY),
        "source": source,
        // Our severities (critical, warning, info) are three of PagerDuty's four.
        "severity": label("severity").unwrap_or_else(|| "warning".into()),
        "timestamp": rfc3339(a.starts_at),
        "group": format!("{}/{}", n.namespace, n.cluster),
        "class": label("alertname").unwrap_or_default(),
        "custom_details": {"labels": a.labels, "annotations": a.annotations},
    });
    if let Some(m) = label("member") {
        payload["component"] = json!(m);
    }
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": a.fingerprint,
        "payload": payload,
    });
    // Only a real link: without an external URL an empty `client_url` means nothing.
    if !external_url.is_empty() {
        event["client"] = json!("zookeeper-operator");
        event["client_url"] = json!(external_url);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::AlertSnapshot;

    #[test]
    fn no_external_url_sends_no_client_link() {
        let n = crate::notify::template::sample();
        let a: &AlertSnapshot = n.alerts.first().expect("an alert");
        let e = event(a, &n, "key", "");
        assert!(
            e.get("client_url").is_none() && e.get("client").is_none(),
            "{e}"
        );
        let e = event(a, &n, "key", "http://operator.example");
        assert_eq!(e["client_url"], "http://operator.example");
    }
}
