//! Delivery: resolved receivers (credentials from Secrets), sinks (Alertmanager v4
//! webhook, Slack, DingTalk, email, PagerDuty, Opsgenie, Teams, Feishu, WeCom, templated
//! webhook; one file each), retries with backoff, rate limits with digests.
//!
//! ```text
//! ReceiverSpec --resolve(SecretResolver)--> ResolvedReceiver
//! (ResolvedReceiver, Notification) --Deliverer::deliver--> Ok | NotifyError
//! ```
//! Transient failures (5xx, 408, 429, timeouts) retry within a round and then leave the
//! notification queued; permanent ones (other 4xx, DingTalk `errcode != 0`, SMTP 5xx,
//! bad credentials) drop it and become a Warning Event named by [`NotifyError::reason`].
mod deliver;
pub mod dingtalk;
pub mod email;
mod email_tls;
mod error;
pub mod feishu;
pub mod http;
mod lookup;
pub mod opsgenie;
pub mod pagerduty;
pub mod ratelimit;
mod receiver;
pub mod render;
mod roots;
mod secrets;
pub mod slack;
pub mod teams;
pub mod template;
mod template_guard;
pub mod webhook;
pub mod wecom;

pub use deliver::{Deliverer, RetryPolicy, ensure_crypto_provider};
pub use error::NotifyError;
pub use receiver::{ResolvedReceiver, Sink, resolve, split_host_port};
pub use roots::{ExtraRoots, RootsError};
pub use secrets::{SecretError, SecretResolver, SecretString, StaticSecrets, decode};
