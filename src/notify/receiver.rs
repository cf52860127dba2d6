//! Receivers with their credentials resolved: what the sinks need to send.
use std::collections::BTreeMap;
use std::time::Duration;

use super::error::NotifyError;
use super::feishu::Feishu;
use super::lookup::Lookup;
use super::opsgenie::Opsgenie;
use super::pagerduty::PagerDuty;
use super::roots::ExtraRoots;
use super::secrets::{SecretResolver, SecretString};
use super::teams::Teams;
use super::template::TemplateWebhook;
use super::wecom::WeCom;
use crate::api::{RECEIVER_KINDS, ReceiverSpec, SmtpTls};

/// A receiver ready to send. Debug output redacts every credential.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedReceiver {
    /// The name in the book and in Events (`operator/NAME` for default receivers).
    pub name: String,
    pub timeout: Duration,
    pub sink: Sink,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Sink {
    Webhook {
        url: SecretString,
        bearer_token: Option<SecretString>,
        basic_auth: Option<(String, SecretString)>,
        headers: BTreeMap<String, String>,
    },
    Slack {
        url: SecretString,
        channel: Option<String>,
    },
    DingTalk {
        url: SecretString,
        signing_secret: Option<SecretString>,
    },
    Email {
        host: String,
        port: u16,
        tls: SmtpTls,
        from: String,
        to: Vec<String>,
        credentials: Option<(String, SecretString)>,
        /// A private CA's certificates, trusted besides the built-in roots.
        extra_roots: ExtraRoots,
    },
    PagerDuty(PagerDuty),
    Opsgenie(Opsgenie),
    Teams(Teams),
    Feishu(Feishu),
    WeCom(WeCom),
    Template(TemplateWebhook),
}

impl Sink {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Webhook { .. } => "webhook",
            Self::Slack { .. } => "slack",
            Self::DingTalk { .. } => "dingtalk",
            Self::Email { .. } => "email",
            Self::PagerDuty(_) => "pagerduty",
            Self::Opsgenie(_) => "opsgenie",
            Self::Teams(_) => "teams",
            Self::Feishu(_) => "feishu",
            Self::WeCom(_) => "wecom",
            Self::Template(_) => "template",
        }
    }
}

/// `host:port` (or `[v6]:port`) split, when well formed.
pub fn split_host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse().ok()?;
    (!host.is_empty()).then(|| (host.to_string(), port))
}

/// A receiver's per-attempt timeout, within the schema's 1..=120 s.
fn secs(t: i32) -> Duration {
    Duration::from_secs(u64::try_from(t.clamp(1, 120)).unwrap_or(10))
}

/// Resolves `spec`'s credentials from Secrets in `namespace`, named `name` in the book.
pub async fn resolve<R: SecretResolver>(
    spec: &ReceiverSpec,
    name: &str,
    namespace: &str,
    secrets: &R,
) -> Result<ResolvedReceiver, NotifyError> {
    let l = Lookup {
        secrets,
        namespace,
        receiver: name,
    };
    if spec.kinds() != 1 {
        return Err(l.config(format!("needs exactly one of {RECEIVER_KINDS}")));
    }
    let (timeout, sink) = match (&spec.webhook, &spec.slack, &spec.dingtalk, &spec.email) {
        (Some(w), None, None, None) => {
            let bearer_token = l.optional(w.bearer_token_secret.as_ref()).await?;
            let basic_auth = match &w.basic_auth {
                Some(b) => Some((b.username.clone(), l.get(&b.password_secret).await?)),
                None => None,
            };
            let url = l.url(&w.url_secret).await?;
            (
                secs(w.timeout_seconds),
                Sink::Webhook {
                    url,
                    bearer_token,
                    basic_auth,
                    headers: w.headers.clone(),
                },
            )
        }
        (None, Some(s), None, None) => {
            let url = l.url(&s.url_secret).await?;
            (
                secs(s.timeout_seconds),
                Sink::Slack {
                    url,
                    channel: s.channel.clone(),
                },
            )
        }
        (None, None, Some(d), None) => {
            let url = l.url(&d.url_secret).await?;
            let signing_secret = l.optional(d.signing_secret.as_ref()).await?;
            (
                secs(d.timeout_seconds),
                Sink::DingTalk {
                    url,
                    signing_secret,
                },
            )
        }
        (None, None, None, Some(e)) => {
            let (host, port) = split_host_port(&e.smarthost)
                .ok_or_else(|| l.config(format!("smarthost '{}' is not host:port", e.smarthost)))?;
            let credentials = match (&e.username, &e.password_secret) {
                (Some(u), Some(p)) => Some((u.clone(), l.get(p).await?)),
                _ => None,
            };
            let extra_roots = match &e.ca_secret {
                Some(r) => ExtraRoots::from_pem(l.get(r).await?.expose()).map_err(|err| {
                    l.config(format!(
                        "caSecret {namespace}/{} key {}: {err}",
                        r.name, r.key
                    ))
                })?,
                None => ExtraRoots::default(),
            };
            (
                secs(e.timeout_seconds),
                Sink::Email {
                    host,
                    port,
                    tls: e.tls,
                    from: e.from.clone(),
                    to: e.to.clone(),
                    credentials,
                    extra_roots,
                },
            )
        }
        _ => resolve_more(spec, &l).await?,
    };
    Ok(ResolvedReceiver {
        name: name.to_string(),
        timeout,
        sink,
    })
}

/// The kinds added after the first four, one branch each.
async fn resolve_more<R: SecretResolver>(
    spec: &ReceiverSpec,
    l: &Lookup<'_, R>,
) -> Result<(Duration, Sink), NotifyError> {
    if let Some(p) = &spec.pagerduty {
        let sink = PagerDuty {
            url: l.endpoint(p.url.as_ref(), super::pagerduty::DEFAULT_URL)?,
            routing_key: l.get(&p.routing_key_secret).await?,
        };
        return Ok((secs(p.timeout_seconds), Sink::PagerDuty(sink)));
    }
    if let Some(o) = &spec.opsgenie {
        let sink = Opsgenie {
            api_url: l.endpoint(o.api_url.as_ref(), super::opsgenie::DEFAULT_API_URL)?,
            api_key: l.get(&o.api_key_secret).await?,
        };
        return Ok((secs(o.timeout_seconds), Sink::Opsgenie(sink)));
    }
    if let Some(t) = &spec.teams {
        let sink = Teams {
            url: l.url(&t.url_secret).await?,
        };
        return Ok((secs(t.timeout_seconds), Sink::Teams(sink)));
    }
    if let Some(f) = &spec.feishu {
        let sink = Feishu {
            url: l.url(&f.url_secret).await?,
            signing_secret: l.optional(f.signing_secret.as_ref()).await?,
        };
        return Ok((secs(f.timeout_seconds), Sink::Feishu(sink)));
    }
    if let Some(w) = &spec.wecom {
        let sink = WeCom {
            url: l.url(&w.url_secret).await?,
        };
        return Ok((secs(w.timeout_seconds), Sink::WeCom(sink)));
    }
    if let Some(t) = &spec.template {
        // Validation checked it; a defaults file or an old object may not have been.
        super::template::check(&t.body, &t.content_type)
            .map_err(|e| l.config(format!("template body: {e}")))?;
        let sink = TemplateWebhook {
            url: l.url(&t.url_secret).await?,
            body: t.body.clone(),
            content_type: t.content_type.clone(),
            bearer_token: l.optional(t.bearer_token_secret.as_ref()).await?,
            headers: t.headers.clone(),
        };
        return Ok((secs(t.timeout_seconds), Sink::Template(sink)));
    }
    Err(l.config(format!("needs exactly one of {RECEIVER_KINDS}")))
}
