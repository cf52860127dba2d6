//! Rules for the receiver kinds in `api::receivers` (PagerDuty, Opsgenie, Teams, Feishu,
//! WeCom, templated webhook), each naming the field it checks.
use std::collections::BTreeMap;

use super::FieldError;
use super::notifications::check_secret;
use crate::api::{MAX_TEMPLATE_BYTES, ReceiverSpec};

pub(super) fn check_receivers_more(r: &ReceiverSpec, at: &str, errors: &mut Vec<FieldError>) {
    if let Some(p) = &r.pagerduty {
        check_secret(
            format!("{at}.pagerduty.routingKeySecret"),
            &p.routing_key_secret,
            errors,
        );
        check_endpoint(format!("{at}.pagerduty.url"), p.url.as_deref(), errors);
    }
    if let Some(o) = &r.opsgenie {
        check_secret(
            format!("{at}.opsgenie.apiKeySecret"),
            &o.api_key_secret,
            errors,
        );
        check_endpoint(
            format!("{at}.opsgenie.apiUrl"),
            o.api_url.as_deref(),
            errors,
        );
    }
    if let Some(t) = &r.teams {
        check_secret(format!("{at}.teams.urlSecret"), &t.url_secret, errors);
    }
    if let Some(f) = &r.feishu {
        check_secret(format!("{at}.feishu.urlSecret"), &f.url_secret, errors);
        if let Some(s) = &f.signing_secret {
            check_secret(format!("{at}.feishu.signingSecret"), s, errors);
        }
    }
    if let Some(w) = &r.wecom {
        check_secret(format!("{at}.wecom.urlSecret"), &w.url_secret, errors);
    }
    if let Some(t) = &r.template {
        let at = format!("{at}.template");
        check_secret(format!("{at}.urlSecret"), &t.url_secret, errors);
        if let Some(b) = &t.bearer_token_secret {
            check_secret(format!("{at}.bearerTokenSecret"), b, errors);
        }
        if t.body.len() > MAX_TEMPLATE_BYTES {
            errors.push(FieldError::new(
                format!("{at}.body"),
                format!("at most {MAX_TEMPLATE_BYTES} bytes, got {}", t.body.len()),
            ));
        } else if let Err(e) = crate::notify::template::check(&t.body, &t.content_type) {
            errors.push(FieldError::new(format!("{at}.body"), e.to_string()));
        }
        if reqwest::header::HeaderValue::from_str(&t.content_type).is_err() {
            errors.push(FieldError::new(
                format!("{at}.contentType"),
                format!("'{}' is not a header value", t.content_type),
            ));
        }
        check_headers(&format!("{at}.headers"), &t.headers, errors);
    }
}

/// A plain endpoint override: absent (the vendor's) or an http(s) URL with a host.
fn check_endpoint(field: String, url: Option<&str>, errors: &mut Vec<FieldError>) {
    let Some(url) = url else { return };
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => errors.push(FieldError::new(
            field,
            format!("'{url}' is not an http(s) URL"),
        )),
    }
}

/// Headers that carry credentials, refused in the plain-text spec.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie"];

/// Header names and values that an HTTP request can carry; `Content-Type` has its own
/// field.
fn check_headers(field: &str, headers: &BTreeMap<String, String>, errors: &mut Vec<FieldError>) {
    use reqwest::header::{HeaderName, HeaderValue};
    for (k, v) in headers {
        if HeaderName::from_bytes(k.as_bytes()).is_err() {
            errors.push(FieldError::new(
                format!("{field}.{k}"),
                "is not an HTTP header name",
            ));
        } else if k.eq_ignore_ascii_case("content-type") {
            errors.push(FieldError::new(
                format!("{field}.{k}"),
                "set it with contentType",
            ));
        } else if CREDENTIAL_HEADERS.iter().any(|c| k.eq_ignore_ascii_case(c)) {
            // The spec is readable by anyone who can read the cluster: credentials
            // belong in a Secret.
            errors.push(FieldError::new(
                format!("{field}.{k}"),
                "carries a credential: use bearerTokenSecret (a Secret) instead",
            ));
        }
        if HeaderValue::from_str(v).is_err() {
            errors.push(FieldError::new(
                format!("{field}.{k}"),
                "is not an HTTP header value",
            ));
        }
    }
}
