//! Rules for `spec.notifications`, each naming the field it checks. Shared with the
//! operator-wide default receivers, which use the same types.
use std::collections::BTreeSet;

use super::FieldError;
use super::names::{is_dns_label, is_dns_subdomain};
use crate::api::{
    MAX_RECEIVERS, NotificationsSpec, RECEIVER_KINDS, ReceiverSpec, SecretKeyRef, SmtpTls,
};

pub fn check_notifications(spec: &NotificationsSpec) -> Vec<FieldError> {
    let mut errors = check_receivers(&spec.receivers, "spec.notifications.receivers");
    if !(0..=3600).contains(&spec.for_seconds) {
        errors.push(FieldError::new(
            "spec.notifications.forSeconds",
            format!("must be between 0 and 3600, got {}", spec.for_seconds),
        ));
    }
    if !(60..=604_800).contains(&spec.repeat_interval_seconds) {
        errors.push(FieldError::new(
            "spec.notifications.repeatIntervalSeconds",
            format!(
                "must be between 60 and 604800, got {}",
                spec.repeat_interval_seconds
            ),
        ));
    }
    errors
}

/// Checks a receiver list; `path` is where it sits (`spec.notifications.receivers`, or
/// the defaults file).
pub fn check_receivers(receivers: &[ReceiverSpec], path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if receivers.len() > MAX_RECEIVERS {
        errors.push(FieldError::new(
            path,
            format!("at most {MAX_RECEIVERS} receivers, got {}", receivers.len()),
        ));
    }
    let mut names = BTreeSet::new();
    for (i, r) in receivers.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if !is_dns_label(&r.name) {
            errors.push(FieldError::new(
                format!("{at}.name"),
                format!("'{}' must be a DNS label", r.name),
            ));
        } else if !names.insert(r.name.as_str()) {
            errors.push(FieldError::new(
                format!("{at}.name"),
                format!("receiver name '{}' is used twice", r.name),
            ));
        }
        if r.kinds() != 1 {
            errors.push(FieldError::new(
                at.clone(),
                format!(
                    "must have exactly one of {RECEIVER_KINDS}; has {}",
                    r.kinds()
                ),
            ));
        }
        check_kind(r, &at, &mut errors);
        super::receivers::check_receivers_more(r, &at, &mut errors);
    }
    errors
}

/// A Secret reference: a Secret's name and one of its keys.
pub(super) fn check_secret(field: String, s: &SecretKeyRef, errors: &mut Vec<FieldError>) {
    if !is_dns_subdomain(&s.name) {
        errors.push(FieldError::new(
            format!("{field}.name"),
            "must be a Secret name",
        ));
    }
    if s.key.is_empty()
        || !s
            .key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        errors.push(FieldError::new(
            format!("{field}.key"),
            "must be a Secret key (alphanumerics, '-', '_', '.')",
        ));
    }
}

fn check_kind(r: &ReceiverSpec, at: &str, errors: &mut Vec<FieldError>) {
    let mut secret = |field: String, s: &SecretKeyRef| check_secret(field, s, errors);
    if let Some(w) = &r.webhook {
        secret(format!("{at}.webhook.urlSecret"), &w.url_secret);
        if let Some(t) = &w.bearer_token_secret {
            secret(format!("{at}.webhook.bearerTokenSecret"), t);
        }
        if let Some(b) = &w.basic_auth {
            secret(
                format!("{at}.webhook.basicAuth.passwordSecret"),
                &b.password_secret,
            );
        }
    }
    if let Some(s) = &r.slack {
        secret(format!("{at}.slack.urlSecret"), &s.url_secret);
    }
    if let Some(d) = &r.dingtalk {
        secret(format!("{at}.dingtalk.urlSecret"), &d.url_secret);
        if let Some(s) = &d.signing_secret {
            secret(format!("{at}.dingtalk.signingSecret"), s);
        }
    }
    if let Some(e) = &r.email {
        if let Some(p) = &e.password_secret {
            secret(format!("{at}.email.passwordSecret"), p);
        }
        if let Some(ca) = &e.ca_secret {
            secret(format!("{at}.email.caSecret"), ca);
        }
        if e.ca_secret.is_some() && e.tls == SmtpTls::None {
            errors.push(FieldError::new(
                format!("{at}.email.caSecret"),
                "has no use with tls: None (set tls to StartTls or Tls)",
            ));
        }
        if e.password_secret.is_some() && e.username.is_none() {
            errors.push(FieldError::new(
                format!("{at}.email.username"),
                "is required with passwordSecret",
            ));
        }
        if crate::notify::split_host_port(&e.smarthost).is_none() {
            errors.push(FieldError::new(
                format!("{at}.email.smarthost"),
                format!("'{}' must be host:port", e.smarthost),
            ));
        }
        for (field, addr) in std::iter::once(("from".to_string(), &e.from)).chain(
            e.to.iter()
                .enumerate()
                .map(|(j, t)| (format!("to[{j}]"), t)),
        ) {
            if addr.parse::<lettre::Address>().is_err() {
                errors.push(FieldError::new(
                    format!("{at}.email.{field}"),
                    format!("'{addr}' is not an email address"),
                ));
            }
        }
        if e.to.is_empty() {
            errors.push(FieldError::new(
                format!("{at}.email.to"),
                "needs an address",
            ));
        }
    }
}
