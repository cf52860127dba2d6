//! Receivers with their credentials resolved: what the sinks need to send.
use std::collections::BTreeMap;
use std::time::Duration;

use super::error::NotifyError;
use super::roots::ExtraRoots;
use super::secrets::{SecretResolver, SecretString};
use crate::api::{ReceiverSpec, SecretKeyRef, SmtpTls};

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
}

impl Sink {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Webhook { .. } => "webhook",
            Self::Slack { .. } => "slack",
            Self::DingTalk { .. } => "dingtalk",
            Self::Email { .. } => "email",
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

/// Resolves `spec`'s credentials from Secrets in `namespace`, named `name` in the book.
pub async fn resolve<R: SecretResolver>(
    spec: &ReceiverSpec,
    name: &str,
    namespace: &str,
    secrets: &R,
) -> Result<ResolvedReceiver, NotifyError> {
    let get = |r: &SecretKeyRef| {
        let r = r.clone();
        async move {
            secrets
                .resolve(namespace, &r)
                .await
                .map_err(|e| NotifyError::Secret {
                    receiver: name.to_string(),
                    detail: e.to_string(),
                })
        }
    };
    let config = |detail: String| NotifyError::Config {
        receiver: name.to_string(),
        detail,
    };
    let secs = |t: i32| Duration::from_secs(u64::try_from(t.clamp(1, 120)).unwrap_or(10));
    let (timeout, sink) = match (&spec.webhook, &spec.slack, &spec.dingtalk, &spec.email) {
        (Some(w), None, None, None) => {
            let bearer_token = match &w.bearer_token_secret {
                Some(r) => Some(get(r).await?),
                None => None,
            };
            let basic_auth = match &w.basic_auth {
                Some(b) => Some((b.username.clone(), get(&b.password_secret).await?)),
                None => None,
            };
            let url = get(&w.url_secret).await?;
            check_url(&url).map_err(config)?;
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
            let url = get(&s.url_secret).await?;
            check_url(&url).map_err(config)?;
            (
                secs(s.timeout_seconds),
                Sink::Slack {
                    url,
                    channel: s.channel.clone(),
                },
            )
        }
        (None, None, Some(d), None) => {
            let url = get(&d.url_secret).await?;
            check_url(&url).map_err(config)?;
            let signing_secret = match &d.signing_secret {
                Some(r) => Some(get(r).await?),
                None => None,
            };
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
                .ok_or_else(|| config(format!("smarthost '{}' is not host:port", e.smarthost)))?;
            let credentials = match (&e.username, &e.password_secret) {
                (Some(u), Some(p)) => Some((u.clone(), get(p).await?)),
                _ => None,
            };
            let extra_roots = match &e.ca_secret {
                Some(r) => ExtraRoots::from_pem(get(r).await?.expose()).map_err(|err| {
                    config(format!(
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
        _ => {
            return Err(config(
                "needs exactly one of webhook, slack, dingtalk, email".into(),
            ));
        }
    };
    Ok(ResolvedReceiver {
        name: name.to_string(),
        timeout,
        sink,
    })
}

/// The URL must be http(s); the message never repeats it (it may carry a token).
fn check_url(url: &SecretString) -> Result<(), String> {
    match reqwest::Url::parse(url.expose()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err("the URL in its Secret is not an http(s) URL".into()),
    }
}
