//! Slack incoming webhook: a text fallback plus one coloured attachment.
use serde_json::{Value, json};

use super::render::{line, title};
use crate::alerts::{Notification, Status};

pub fn payload(n: &Notification, channel: Option<&str>) -> Value {
    let color = match n.status() {
        Status::Firing if n.alerts.iter().all(|a| a.flapping) => "warning",
        Status::Firing => "danger",
        Status::Resolved => "good",
    };
    let text = n.alerts.iter().map(line).collect::<Vec<_>>().join("\n");
    let mut body = json!({
        "text": title(n),
        "attachments": [{
            "color": color,
            "title": title(n),
            "text": text,
            "fallback": title(n),
        }],
    });
    if let Some(c) = channel {
        body["channel"] = json!(c);
    }
    body
}
