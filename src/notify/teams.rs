//! Microsoft Teams through a Workflows webhook (the replacement of Office 365 connectors),
//! as Microsoft documents it ("Create incoming webhooks with Workflows for Microsoft
//! Teams" and "Adaptive Card format"): a `message` whose one attachment has
//! `contentType: application/vnd.microsoft.card.adaptive` and an Adaptive Card
//! (`type: AdaptiveCard`, `version`, `body` of `TextBlock`s) as `content`. Workflows
//! answer 202 Accepted.
use serde_json::{Value, json};

use super::error::NotifyError;
use super::http::Context;
use super::render::{line, title};
use super::secrets::SecretString;
use crate::alerts::{Notification, Status};

pub const CARD_CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";
/// 1.4 renders on every Teams client (desktop, web, mobile).
const CARD_VERSION: &str = "1.4";

#[derive(Debug, Clone, PartialEq)]
pub struct Teams {
    pub url: SecretString,
}

impl Teams {
    pub async fn send(&self, cx: &Context<'_>, n: &Notification) -> Result<(), NotifyError> {
        let request = cx.request(self.url.expose()).json(&payload(n));
        cx.send(request).await.map(drop)
    }
}

pub fn payload(n: &Notification) -> Value {
    // Adaptive Card colours: Attention (red) while anything fires, Good when resolved.
    let color = match n.status() {
        Status::Firing => "Attention",
        Status::Resolved => "Good",
    };
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": title(n),
        "size": "Large",
        "weight": "Bolder",
        "color": color,
        "wrap": true,
    })];
    body.extend(n.alerts.iter().map(|a| {
        json!({
            "type": "TextBlock",
            "text": line(a),
            "wrap": true,
        })
    }));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": CARD_CONTENT_TYPE,
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": CARD_VERSION,
                "msteams": {"width": "Full"},
                "body": body,
            },
        }],
    })
}
