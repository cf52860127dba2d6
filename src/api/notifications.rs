//! `spec.notifications`: who hears about faults, and how.
//!
//! Credentials (URLs with tokens, signing secrets, passwords) are never in the spec: only
//! references to keys of Secrets in the cluster's namespace. Operator-wide default
//! receivers use the same types; their Secrets live in the operator's namespace.
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::receivers::{
    FeishuReceiver, OpsgenieReceiver, PagerDutyReceiver, TeamsReceiver, TemplateReceiver,
    WeComReceiver,
};

/// Every receiver kind, as named in messages.
pub const RECEIVER_KINDS: &str =
    "webhook, slack, dingtalk, email, pagerduty, opsgenie, teams, feishu, wecom, template";

/// Longest accepted receiver list; keeps CEL cost bounded and messages readable.
pub const MAX_RECEIVERS: usize = 16;

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationsSpec {
    /// Also notify the operator-wide default receivers (operator flag or Helm value).
    #[serde(default = "yes")]
    pub use_default_receivers: bool,
    /// This cluster's own receivers. Names are unique.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub receivers: Vec<ReceiverSpec>,
    /// How long a fault must last before it pages (Alertmanager's `for`).
    #[serde(default = "default_for_seconds")]
    #[schemars(range(min = 0, max = 3600))]
    pub for_seconds: i32,
    /// Remind receivers of alerts still firing after this long.
    #[serde(default = "default_repeat_interval_seconds")]
    #[schemars(range(min = 60, max = 604800))]
    pub repeat_interval_seconds: i32,
    /// How long a fault must stay gone before its alert resolves (Prometheus'
    /// `keep_firing_for`): a restarting member bounces through several states within
    /// seconds, which is neither a resolution nor a flap.
    #[serde(default = "default_keep_firing_for_seconds")]
    #[schemars(range(min = 0, max = 3600))]
    pub keep_firing_for_seconds: i32,
}

impl Default for NotificationsSpec {
    fn default() -> Self {
        Self {
            use_default_receivers: true,
            receivers: Vec::new(),
            for_seconds: default_for_seconds(),
            repeat_interval_seconds: default_repeat_interval_seconds(),
            keep_firing_for_seconds: default_keep_firing_for_seconds(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_for_seconds() -> i32 {
    30
}
fn default_repeat_interval_seconds() -> i32 {
    4 * 3600
}
fn default_keep_firing_for_seconds() -> i32 {
    15
}

/// How bad an alert is; receivers set the least they want to hear about.
#[derive(
    Deserialize,
    Serialize,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    JsonSchema,
)]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl Severity {
    /// The lower-case label value Alertmanager users expect (`severity="critical"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// One receiver: a name and exactly one of `webhook`, `slack`, `dingtalk`, `email`,
/// `pagerduty`, `opsgenie`, `teams`, `feishu`, `wecom`, `template`.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "(has(self.webhook) ? 1 : 0) + (has(self.slack) ? 1 : 0) + (has(self.dingtalk) ? 1 : 0) + (has(self.email) ? 1 : 0) + (has(self.pagerduty) ? 1 : 0) + (has(self.opsgenie) ? 1 : 0) + (has(self.teams) ? 1 : 0) + (has(self.feishu) ? 1 : 0) + (has(self.wecom) ? 1 : 0) + (has(self.template) ? 1 : 0) == 1",
    "message": "a receiver has exactly one of webhook, slack, dingtalk, email, pagerduty, opsgenie, teams, feishu, wecom, template"
}]))]
pub struct ReceiverSpec {
    /// Unique within the cluster; named in `NotificationFailed` Events.
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
    /// The least severe alert this receiver hears about.
    #[serde(default)]
    pub min_severity: Severity,
    /// Also send a notice when an alert resolves.
    #[serde(default = "yes")]
    pub send_resolved: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dingtalk: Option<DingTalkReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagerduty: Option<PagerDutyReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opsgenie: Option<OpsgenieReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams: Option<TeamsReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feishu: Option<FeishuReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wecom: Option<WeComReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateReceiver>,
}

impl ReceiverSpec {
    /// How many kinds are set (valid receivers have exactly one).
    pub fn kinds(&self) -> usize {
        usize::from(self.webhook.is_some())
            + usize::from(self.slack.is_some())
            + usize::from(self.dingtalk.is_some())
            + usize::from(self.email.is_some())
            + usize::from(self.pagerduty.is_some())
            + usize::from(self.opsgenie.is_some())
            + usize::from(self.teams.is_some())
            + usize::from(self.feishu.is_some())
            + usize::from(self.wecom.is_some())
            + usize::from(self.template.is_some())
    }
}

/// A key of a Secret in the cluster's namespace.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
pub struct SecretKeyRef {
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// A generic webhook receiving Alertmanager's v4 JSON.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookReceiver {
    /// The URL (it often carries a token).
    pub url_secret: SecretKeyRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_secret: Option<SecretKeyRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// Extra request headers (not secret).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "default_timeout_seconds")]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_seconds: i32,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BasicAuth {
    #[schemars(length(min = 1, max = 253))]
    pub username: String,
    pub password_secret: SecretKeyRef,
}

/// A Slack incoming webhook.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlackReceiver {
    pub url_secret: SecretKeyRef,
    /// Overrides the webhook's default channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default = "default_timeout_seconds")]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_seconds: i32,
}

/// A DingTalk custom robot (markdown messages, optional signing).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DingTalkReceiver {
    /// The robot URL with its `access_token`.
    pub url_secret: SecretKeyRef,
    /// The robot's signing secret (`SEC...`), when "additional signature" is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<SecretKeyRef>,
    #[serde(default = "default_timeout_seconds")]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_seconds: i32,
}

/// Email over SMTP.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailReceiver {
    /// SMTP server `host:port`.
    #[schemars(length(min = 1, max = 260))]
    pub smarthost: String,
    #[schemars(length(min = 3, max = 254))]
    pub from: String,
    #[schemars(length(min = 1, max = 16))]
    pub to: Vec<String>,
    #[serde(default)]
    pub tls: SmtpTls,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<SecretKeyRef>,
    /// PEM certificates (one or more CAs) trusted for this server besides the public
    /// roots built into the operator (Mozilla's): for a relay whose certificate a private
    /// CA signs. Needs `tls` `StartTls` or `Tls`; the server's name (the `smarthost` host)
    /// is verified either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret: Option<SecretKeyRef>,
    #[serde(default = "default_timeout_seconds")]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_seconds: i32,
}

/// How the SMTP connection is protected.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required).
    #[default]
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// No TLS at all: only for a relay on a trusted network.
    None,
}

fn default_timeout_seconds() -> i32 {
    10
}

/// What `status` can carry about alerts: counts and the firing ones, without secrets.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertsStatus {
    pub firing: u32,
    pub pending: u32,
    /// Notifications not yet delivered.
    pub undelivered: u32,
    /// Firing alerts, most severe first (at most 10).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active: Vec<ActiveAlert>,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveAlert {
    pub alertname: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// RFC 3339.
    pub since: String,
}
