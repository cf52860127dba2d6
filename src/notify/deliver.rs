//! Sends one notification to one resolved receiver, with per-attempt timeouts and
//! jittered exponential backoff (backon) that honours `Retry-After`.
use std::time::{Duration, SystemTime};

use backon::{ExponentialBuilder, Retryable};

use super::error::NotifyError;
use super::receiver::{ResolvedReceiver, Sink};
use super::{dingtalk, email, http, slack, webhook};
use crate::alerts::Notification;

/// How hard one delivery round tries before the notification goes back to the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this ends the round; the notification is postponed
    /// in the book instead of holding the delivery task.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// Installs ring as the process' rustls provider unless one is installed: reqwest is
/// built without a provider of its own, and the operator uses ring everywhere.
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: a provider is installed either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Delivers notifications; one per operator, shared by every cluster's delivery task.
#[derive(Debug, Clone)]
pub struct Deliverer {
    http: reqwest::Client,
    pub policy: RetryPolicy,
    /// Shown as `externalURL` in webhooks and in email footers.
    pub external_url: String,
    /// Webhook `max_alerts` (0 = all).
    pub max_alerts: usize,
}

impl Deliverer {
    pub fn new(policy: RetryPolicy, external_url: impl Into<String>) -> Result<Self, NotifyError> {
        ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("zookeeper-operator/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NotifyError::Config {
                receiver: "(all)".into(),
                detail: format!("HTTP client: {}", e.without_url()),
            })?;
        Ok(Self {
            http,
            policy,
            external_url: external_url.into(),
            max_alerts: 0,
        })
    }

    /// Tries until delivered, rejected, or this round's retries are used up.
    pub async fn deliver(
        &self,
        receiver: &ResolvedReceiver,
        n: &Notification,
    ) -> Result<(), NotifyError> {
        let p = self.policy;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(p.min_delay)
            .with_max_delay(p.max_delay)
            .with_max_times(p.attempts.saturating_sub(1))
            .with_jitter();
        let unanswered = std::sync::atomic::AtomicBool::new(false);
        let result = (|| self.attempt(receiver, n))
            .retry(backoff)
            .when(NotifyError::is_transient)
            .adjust(move |e, backoff| match e.retry_after() {
                Some(after) if after <= p.max_retry_after => Some(after),
                Some(_) => None,
                None => backoff,
            })
            .notify(|e, after| {
                if e.may_have_arrived() {
                    unanswered.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                tracing::info!(receiver = %receiver.name, error = %e, retry_in = ?after, "notification not delivered yet");
            })
            .await;
        match result {
            Err(e) if unanswered.load(std::sync::atomic::Ordering::Relaxed) => {
                Err(e.after_unanswered())
            }
            other => other,
        }
    }

    fn context<'a>(&'a self, receiver: &'a ResolvedReceiver) -> http::Context<'a> {
        http::Context {
            client: &self.http,
            receiver: &receiver.name,
            timeout: receiver.timeout,
            external_url: &self.external_url,
        }
    }

    /// One try, bounded by the receiver's timeout.
    pub async fn attempt(
        &self,
        receiver: &ResolvedReceiver,
        n: &Notification,
    ) -> Result<(), NotifyError> {
        let name = receiver.name.as_str();
        let timeout = receiver.timeout;
        match &receiver.sink {
            Sink::Webhook {
                url,
                bearer_token,
                basic_auth,
                headers,
            } => {
                let mut req = self
                    .http
                    .post(url.expose())
                    .timeout(timeout)
                    .json(&webhook::payload(n, &self.external_url, self.max_alerts));
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                if let Some(t) = bearer_token {
                    req = req.bearer_auth(t.expose());
                }
                if let Some((user, password)) = basic_auth {
                    req = req.basic_auth(user, Some(password.expose()));
                }
                http::post(name, req).await.map(drop)
            }
            Sink::Slack { url, channel } => {
                let req = self
                    .http
                    .post(url.expose())
                    .timeout(timeout)
                    .json(&slack::payload(n, channel.as_deref()));
                http::post(name, req).await.map(drop)
            }
            Sink::DingTalk {
                url,
                signing_secret,
            } => {
                let url = match signing_secret {
                    Some(secret) => {
                        let ms = SystemTime::now()
                            .duration_since(SystemTime::UNIX_EPOCH)
                            .map_or(0, |d| d.as_millis());
                        dingtalk::signed_url(url.expose(), ms, secret.expose())
                    }
                    None => url.expose().to_string(),
                };
                let req = self
                    .http
                    .post(url)
                    .timeout(timeout)
                    .json(&dingtalk::payload(n));
                let body = http::post(name, req).await?;
                dingtalk::check_reply(&body).map_err(|detail| NotifyError::Rejected {
                    receiver: name.to_string(),
                    detail,
                })
            }
            Sink::PagerDuty(p) => p.send(&self.context(receiver), n).await,
            Sink::Opsgenie(o) => o.send(&self.context(receiver), n).await,
            Sink::Teams(t) => t.send(&self.context(receiver), n).await,
            Sink::Feishu(f) => f.send(&self.context(receiver), n).await,
            Sink::WeCom(w) => w.send(&self.context(receiver), n).await,
            Sink::Template(t) => t.send(&self.context(receiver), n).await,
            Sink::Email {
                host,
                port,
                tls,
                from,
                to,
                credentials,
                extra_roots,
            } => {
                let smtp = email::Smtp {
                    receiver: name,
                    host,
                    port: *port,
                    tls: *tls,
                    from,
                    to,
                    credentials: credentials.as_ref(),
                    extra_roots,
                    timeout,
                };
                tokio::time::timeout(timeout * 2, email::send(&smtp, n, &self.external_url))
                    .await
                    .unwrap_or_else(|_| {
                        Err(NotifyError::Unanswered {
                            receiver: name.to_string(),
                            detail: "SMTP timed out".into(),
                        })
                    })
            }
        }
    }
}
