//! Email over SMTP (lettre): a readable subject and a plain-text body.
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::email_tls;
use super::error::NotifyError;
use super::render::{line, title};
use super::roots::ExtraRoots;
use super::secrets::SecretString;
use crate::alerts::Notification;
use crate::api::SmtpTls;

pub fn subject(n: &Notification) -> String {
    title(n)
}

/// One paragraph per alert: its line, then labels and annotations.
pub fn body(n: &Notification, external_url: &str) -> String {
    let mut out = format!("{}\n\n", title(n));
    for a in &n.alerts {
        out.push_str(&line(a));
        out.push('\n');
        for (k, v) in &a.labels {
            out.push_str(&format!("  {k} = {v}\n"));
        }
        for (k, v) in &a.annotations {
            out.push_str(&format!("  {k}: {v}\n"));
        }
        out.push_str(&format!("  fingerprint: {}\n\n", a.fingerprint));
    }
    if !external_url.is_empty() {
        out.push_str(&format!(
            "Sent by the ZooKeeper operator ({external_url}).\n"
        ));
    } else {
        out.push_str("Sent by the ZooKeeper operator.\n");
    }
    out
}

/// Where and how to send.
pub struct Smtp<'a> {
    pub receiver: &'a str,
    pub host: &'a str,
    pub port: u16,
    pub tls: SmtpTls,
    pub from: &'a str,
    pub to: &'a [String],
    pub credentials: Option<&'a (String, SecretString)>,
    pub extra_roots: &'a ExtraRoots,
    pub timeout: Duration,
}

pub async fn send(
    smtp: &Smtp<'_>,
    n: &Notification,
    external_url: &str,
) -> Result<(), NotifyError> {
    let config = |detail: String| NotifyError::Config {
        receiver: smtp.receiver.to_string(),
        detail,
    };
    let mut message = Message::builder()
        .from(
            smtp.from
                .parse()
                .map_err(|_| config(format!("'{}' is not an email address", smtp.from)))?,
        )
        .subject(subject(n))
        .header(ContentType::TEXT_PLAIN);
    for to in smtp.to {
        message = message.to(to
            .parse()
            .map_err(|_| config(format!("'{to}' is not an email address")))?);
    }
    let message = message
        .body(body(n, external_url))
        .map_err(|e| config(e.to_string()))?;

    let tls = email_tls::tls(smtp.tls, smtp.host, smtp.extra_roots)
        .map_err(|e| config(format!("TLS setup: {e}")))?;
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host)
        .port(smtp.port)
        .tls(tls)
        .timeout(Some(smtp.timeout));
    if let Some((user, password)) = smtp.credentials {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.expose().to_string(),
        ));
    }
    let transport = builder.build();
    match transport.send(message).await {
        Ok(_) => Ok(()),
        // 5xx: the server refuses this message for good (bad recipient, auth failed).
        Err(e) if e.is_permanent() => Err(NotifyError::Rejected {
            receiver: smtp.receiver.to_string(),
            detail: format!("SMTP: {e}"),
        }),
        // Transient rather than Config: the server's certificate may be renewed or fixed
        // without touching the receiver, and the notification then goes out.
        Err(e) => Err(NotifyError::Unavailable {
            receiver: smtp.receiver.to_string(),
            detail: match email_tls::refused_certificate(&e) {
                Some(why) => format!(
                    "SMTP: the server's TLS certificate was refused ({why}); \
                     one signed by a private CA needs that CA in caSecret"
                ),
                None => format!("SMTP: {e}"),
            },
            retry_after: None,
        }),
    }
}
