//! The receiver kinds beyond the generic webhook, Slack, DingTalk and email: paging
//! services (PagerDuty, Opsgenie), chat (Microsoft Teams, Feishu/Lark, WeCom) and a
//! webhook whose body the user writes as a template.
//!
//! As everywhere in `spec.notifications`, credentials are only Secret references. Where
//! the vendor's URL carries no credential (PagerDuty, Opsgenie) it is a plain field that
//! defaults to the vendor's endpoint; chat webhooks' URLs carry their token, so they live
//! in Secrets whole.
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::notifications::SecretKeyRef;

/// Longest accepted template body (bytes).
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024;

/// PagerDuty Events API v2: one event per alert, `dedup_key` = the alert's fingerprint,
/// `trigger` while firing and `resolve` when resolved.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PagerDutyReceiver {
    /// The Events API v2 integration key (`routing_key`).
    pub routing_key_secret: SecretKeyRef,
    /// The events endpoint; default `https://events.pagerduty.com/v2/enqueue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 8, max = 2048), regex(pattern = r"^https?://"))]
    pub url: Option<String>,
    #[serde(default = "default_timeout_seconds")]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_seconds: i32,
}

/// Opsgenie Alert API: one alert per fingerprint (its `alias`), closed through the close
/// endpoint when it resolves.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpsgenieReceiver {
    /// An API integration's key, sent as `Authorization: GenieKey ...`.
    pub api_key_secret: SecretKeyRef,
    /// The API base; default `https://api.opsgenie.com` (EU accounts:
    /// `https://api.eu.opsgenie.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 8, max = 2048), regex(pattern = r"^https?://"))]
    pub api_url: Option<String>,
    #[serde(default = "default_timeout_seconds")]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_seconds: i32,
}

/// A Microsoft Teams workflow ("Post to a channel when a webhook request is received"):
/// an Adaptive Card message.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamsReceiver {
    /// The workflow's URL (it carries its signature `sig=`).
    pub url_secret: SecretKeyRef,
    #[serde(default = "default_timeout_seconds")]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_seconds: i32,
}

/// A Feishu (Lark) custom bot: rich-text messages, signed when `signingSecret` is set.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeishuReceiver {
    /// The bot's webhook URL (`.../open-apis/bot/v2/hook/...`, Feishu or Lark).
    pub url_secret: SecretKeyRef,
    /// The bot's signing secret, when "signature verification" is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<SecretKeyRef>,
    #[serde(default = "default_timeout_seconds")]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_seconds: i32,
}

/// A WeCom (WeChat Work) group robot: markdown messages.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WeComReceiver {
    /// The robot's webhook URL (`.../cgi-bin/webhook/send?key=...`).
    pub url_secret: SecretKeyRef,
    #[serde(default = "default_timeout_seconds")]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_seconds: i32,
}

/// A webhook whose body is a Jinja template (minijinja) over the Alertmanager v4
/// payload's fields plus `title`, `namespace` and `cluster`: for SMS gateways and
/// in-house systems. Checked when the spec is validated: syntax, unknown variables, and
/// (for a JSON content type) that it renders valid JSON.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateReceiver {
    pub url_secret: SecretKeyRef,
    /// The request body template. Use `| tojson` for values inside JSON.
    #[schemars(length(min = 1, max = 16384))]
    pub body: String,
    /// The body's `Content-Type`.
    #[serde(default = "default_content_type")]
    #[schemars(length(min = 3, max = 255))]
    pub content_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_secret: Option<SecretKeyRef>,
    /// Extra request headers (not secret).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 32))]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "default_timeout_seconds")]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_seconds: i32,
}

fn default_timeout_seconds() -> i32 {
    10
}

fn default_content_type() -> String {
    "application/json".into()
}
