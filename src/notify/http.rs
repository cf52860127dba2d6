//! One HTTP POST, classified: success, retry (5xx/408/429, transport errors), or
//! permanent rejection (other 4xx). Errors never carry the URL (it holds tokens).
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::error::NotifyError;

/// What every HTTP sink needs besides its own settings: the shared client, the
/// receiver's name (for errors), its per-attempt timeout, the operator's external URL.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub client: &'a reqwest::Client,
    pub receiver: &'a str,
    pub timeout: Duration,
    pub external_url: &'a str,
}

impl Context<'_> {
    /// A POST to `url` bounded by the receiver's timeout.
    pub fn request(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.post(url).timeout(self.timeout)
    }

    /// Sends and classifies (see [`post`]); the body on 2xx.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<String, NotifyError> {
        post(self.receiver, request).await
    }

    /// A permanent failure the receiver reported in an HTTP 200 reply.
    pub fn rejected(&self, detail: String) -> NotifyError {
        NotifyError::Rejected {
            receiver: self.receiver.to_string(),
            detail,
        }
    }

    /// A temporary failure the receiver reported in an HTTP 200 reply (its rate limit).
    pub fn unavailable(&self, detail: String) -> NotifyError {
        NotifyError::Unavailable {
            receiver: self.receiver.to_string(),
            detail,
            retry_after: None,
        }
    }
}

/// Sends `request`; returns the response body on 2xx.
pub async fn post(receiver: &str, request: reqwest::RequestBuilder) -> Result<String, NotifyError> {
    let unavailable = |detail: String, retry_after| NotifyError::Unavailable {
        receiver: receiver.to_string(),
        detail,
        retry_after,
    };
    let response = request.send().await.map_err(|e| {
        // Refused before sending is surely not delivered; a timeout or a connection
        // broken afterwards may have delivered it.
        let sent = !e.is_connect();
        let detail = transport_error(e);
        if sent {
            NotifyError::Unanswered {
                receiver: receiver.to_string(),
                detail,
            }
        } else {
            unavailable(detail, None)
        }
    })?;
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let body = response.text().await.unwrap_or_default();
    match classify(status) {
        Class::Success => Ok(body),
        Class::Retry => Err(unavailable(
            format!("HTTP {}: {}", status.as_u16(), snippet(&body)),
            retry_after,
        )),
        Class::Reject => Err(NotifyError::Rejected {
            receiver: receiver.to_string(),
            detail: format!("HTTP {}: {}", status.as_u16(), snippet(&body)),
        }),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Success,
    Retry,
    Reject,
}

/// Alertmanager's rule: 5xx, 408 and 429 are worth retrying; other 4xx are not.
pub fn classify(status: StatusCode) -> Class {
    if status.is_success() {
        Class::Success
    } else if status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
    {
        Class::Retry
    } else if status.is_client_error() {
        Class::Reject
    } else {
        // 1xx/3xx left over after redirects: odd, but may pass.
        Class::Retry
    }
}

/// `Retry-After` as seconds (the form Slack and most APIs use) or as an HTTP date (a
/// date already past means now).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_at(headers, SystemTime::now())
}

fn retry_after_at(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

fn transport_error(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    // without_url: the URL is a credential. The causes say what went wrong.
    let e = e.without_url();
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        detail.push_str(&format!(": {s}"));
        source = s.source();
    }
    format!("{kind}: {detail}")
}

/// The first 200 characters of a reply, for the error message.
fn snippet(body: &str) -> String {
    crate::alerts::cut_text(body.trim(), 200)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn statuses_are_classified_like_alertmanager() {
        assert_eq!(classify(StatusCode::OK), Class::Success);
        assert_eq!(classify(StatusCode::NO_CONTENT), Class::Success);
        for s in [500, 502, 503, 408, 429] {
            assert_eq!(
                classify(StatusCode::from_u16(s).expect("status")),
                Class::Retry,
                "{s}"
            );
        }
        for s in [400, 401, 403, 404, 410, 422] {
            assert_eq!(
                classify(StatusCode::from_u16(s).expect("status")),
                Class::Reject,
                "{s}"
            );
        }
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        let date = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").expect("date");
        assert_eq!(
            retry_after_at(&h, date - Duration::from_secs(90)),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            retry_after_at(&h, date + Duration::from_secs(5)),
            Some(Duration::ZERO)
        );
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
