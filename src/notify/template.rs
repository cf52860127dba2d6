//! The templated webhook: the user writes the request body as a Jinja template
//! (minijinja: sandboxed, no I/O), so any SMS gateway or in-house system can be reached
//! without code. The template sees the Alertmanager v4 webhook payload's fields
//! (`status`, `receiver`, `alerts[].labels`, `commonLabels`, `externalURL`, ...) plus
//! `title`, `namespace` and `cluster`.
//!
//! Templates are checked when the spec is validated ([`check`]): syntax, variables that
//! do not exist (rendered against a sample where every label and annotation is set), and
//! for JSON content types that the result parses, with a sample value holding quotes and
//! a newline, so a value pasted into JSON without `| tojson` is caught before anyone is
//! paged. At delivery a label an alert lacks (`member` of `QuorumLost`) renders empty.
use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior, Value};

use super::error::NotifyError;
use super::http::Context;
use super::render::title;
use super::secrets::SecretString;
use super::template_guard::refused;
use super::webhook;
use crate::alerts::{AlertSnapshot, Notification, Status};

/// Bounds a runaway template (deep loops, recursion); a normal one needs a few hundred.
const FUEL: u64 = 200_000;
/// Longest body sent (bytes): past this the template is doing something wrong.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Why a template cannot be used; names the line where minijinja knows it.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("line {line}: {detail}")]
    AtLine { line: usize, detail: String },
    #[error("{0}")]
    Other(String),
    #[error("renders invalid JSON for a sample alert ({0}); put values into JSON with `| tojson`")]
    NotJson(String),
    #[error("renders more than {MAX_BODY_BYTES} bytes")]
    TooLong,
    /// Something that could build an unbounded value (see `template_guard`).
    #[error("{0}")]
    Refused(String),
}

impl From<minijinja::Error> for TemplateError {
    fn from(e: minijinja::Error) -> Self {
        let detail = match e.detail() {
            Some(d) => format!("{}: {d}", e.kind()),
            None => e.kind().to_string(),
        };
        match e.line() {
            Some(line) => Self::AtLine { line, detail },
            None => Self::Other(detail),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateWebhook {
    pub url: SecretString,
    pub body: String,
    pub content_type: String,
    pub bearer_token: Option<SecretString>,
    pub headers: BTreeMap<String, String>,
}

impl TemplateWebhook {
    pub async fn send(&self, cx: &Context<'_>, n: &Notification) -> Result<(), NotifyError> {
        // Validation rendered it already; failing now is a setting, not a network issue.
        let body =
            render(&self.body, n, cx.external_url, UndefinedBehavior::Chainable).map_err(|e| {
                NotifyError::Config {
                    receiver: cx.receiver.to_string(),
                    detail: format!("template body: {e}"),
                }
            })?;
        let mut request = cx
            .request(self.url.expose())
            .header("Content-Type", &self.content_type)
            .body(body);
        for (k, v) in &self.headers {
            request = request.header(k, v);
        }
        if let Some(t) = &self.bearer_token {
            request = request.bearer_auth(t.expose());
        }
        cx.send(request).await.map(drop)
    }
}

/// The body for `n`.
pub fn render(
    source: &str,
    n: &Notification,
    external_url: &str,
    undefined: UndefinedBehavior,
) -> Result<String, TemplateError> {
    if let Some(why) = refused(source) {
        return Err(TemplateError::Refused(why));
    }
    let mut env = Environment::new();
    env.set_undefined_behavior(undefined);
    env.set_fuel(Some(FUEL));
    let template = env.template_from_str(source)?;
    let mut out = Capped::default();
    if let Err(error) = template.render_captured_to(context(n, external_url), &mut out) {
        return Err(if out.over {
            TemplateError::TooLong
        } else {
            error.into()
        });
    }
    String::from_utf8(out.bytes).map_err(|e| TemplateError::Other(e.to_string()))
}

/// The body as it renders, refusing to grow past [`MAX_BODY_BYTES`].
#[derive(Default)]
struct Capped {
    bytes: Vec<u8>,
    over: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_BODY_BYTES {
            self.over = true;
            return Err(std::io::Error::other("the body is too long"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the template sees: the v4 payload's fields plus `title`, `namespace`, `cluster`.
fn context(n: &Notification, external_url: &str) -> Value {
    let mut v = serde_json::to_value(webhook::payload(n, external_url, 0)).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("title".into(), title(n).into());
        o.insert("namespace".into(), n.namespace.clone().into());
        o.insert("cluster".into(), n.cluster.clone().into());
    }
    Value::from(minijinja::value::Serde(v))
}

/// Validation: the template renders a sample notification with nothing undefined, and
/// into valid JSON when `content_type` is JSON.
pub fn check(source: &str, content_type: &str) -> Result<(), TemplateError> {
    let out = render(
        source,
        &sample(),
        "http://operator.example",
        UndefinedBehavior::SemiStrict,
    )?;
    if is_json(content_type) {
        serde_json::from_str::<serde_json::Value>(&out)
            .map_err(|e| TemplateError::NotJson(e.to_string()))?;
    }
    Ok(())
}

/// `application/json`, `application/problem+json; charset=utf-8`, ...
pub fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// One firing and one resolved alert with every label and annotation an alert can have;
/// the summary holds a quote and a newline, as real reasons may.
pub(crate) fn sample() -> Notification {
    let alert = |status, name: &str, ends_at| AlertSnapshot {
        status,
        labels: BTreeMap::from(
            [
                ("alertname", name),
                ("namespace", "prod"),
                ("cluster", "zk"),
                ("member", "zk-1"),
                ("severity", "warning"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        ),
        annotations: BTreeMap::from(
            [
                ("summary", "member 2 is down: \"connection refused\"\nagain"),
                ("description", "member 2 is down"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        ),
        starts_at: 1_700_000_000,
        ends_at,
        fingerprint: "0123456789abcdef".into(),
        flapping: false,
        repeat: false,
    };
    Notification {
        id: 1,
        receiver: "sample".into(),
        namespace: "prod".into(),
        cluster: "zk".into(),
        created_at: 1_700_000_000,
        alerts: vec![
            alert(Status::Firing, "MemberDown", None),
            alert(Status::Resolved, "Overloaded", Some(1_700_000_060)),
        ],
        attempts: 0,
        not_before: 0,
        merged: 0,
        merged_ids: Vec::new(),
        maybe_delivered: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMS: &str = r#"{"to": "+100", "text": {{ title | tojson }},
 "alerts": [{% for a in alerts %}{{ a.labels.alertname | tojson }}{% if not loop.last %},{% endif %}{% endfor %}]}"#;

    #[test]
    fn a_json_template_renders_the_alerts() {
        let out =
            render(SMS, &sample(), "http://x", UndefinedBehavior::Chainable).expect("renders");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(v["text"], "[FIRING:1] prod/zk: MemberDown, Overloaded");
        assert_eq!(v["alerts"], serde_json::json!(["MemberDown", "Overloaded"]));
        assert_eq!(check(SMS, "application/json"), Ok(()));
    }

    #[test]
    fn errors_name_the_line_and_the_mistake() {
        let e = check("{\n{% for a in alerts %}\n", "text/plain").expect_err("unclosed");
        assert!(matches!(e, TemplateError::AtLine { .. }), "{e}");
        assert!(e.to_string().contains("syntax error"), "{e}");
        let e = check("line one\n{{ alerts[0].lables.member }}", "text/plain").expect_err("typo");
        assert!(e.to_string().starts_with("line 2:"), "{e}");
        assert!(e.to_string().contains("undefined"), "{e}");
        let e = check(
            r#"{"text": "{{ alerts[0].annotations.summary }}"}"#,
            "application/json",
        )
        .expect_err("unquoted");
        assert!(matches!(e, TemplateError::NotJson(_)), "{e}");
        assert!(e.to_string().contains("tojson"), "{e}");
        // Not JSON, so no JSON check: plain text may hold anything.
        assert_eq!(
            check("{{ alerts[0].annotations.summary }}", "text/plain"),
            Ok(())
        );
    }

    #[test]
    fn a_missing_label_renders_empty_at_delivery() {
        let mut n = sample();
        n.alerts[0].labels.remove("member");
        let out = render(
            "[{{ alerts[0].labels.member }}]",
            &n,
            "x",
            UndefinedBehavior::Chainable,
        );
        assert_eq!(out, Ok("[]".to_string()));
    }

    #[test]
    fn a_growing_template_is_refused_before_it_renders() {
        let doubling = "{% set a = title %}{% set a = a ~ a %}{% set a = a ~ a %}{{ a }}";
        let e = check(doubling, "text/plain").expect_err("refused");
        assert!(matches!(e, TemplateError::Refused(_)), "{e}");
        let e = check(r#"{{ "x" * 100000000 }}"#, "text/plain").expect_err("refused");
        assert!(e.to_string().contains("`*`"), "{e}");
    }

    #[test]
    fn a_body_past_the_limit_stops_while_it_renders() {
        let mut n = sample();
        n.alerts[0]
            .labels
            .insert("big".into(), "x".repeat(MAX_BODY_BYTES / 2 + 1));
        let big = "{{ alerts[0].labels.big }}";
        let out = render(&big.repeat(2), &n, "x", UndefinedBehavior::Chainable);
        assert_eq!(out, Err(TemplateError::TooLong));
        let one = render(big, &n, "x", UndefinedBehavior::Chainable).expect("one fits");
        assert_eq!(one.len(), MAX_BODY_BYTES / 2 + 1);
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/vnd.api+json"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}
