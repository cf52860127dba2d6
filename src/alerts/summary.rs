//! The short account of alerts that `status` can carry.
use super::book::{AlertBook, AlertState};
use crate::api::{ActiveAlert, AlertsStatus};

/// Firing alerts listed in status at most.
pub const MAX_LISTED: usize = 10;

pub fn summary(book: &AlertBook) -> AlertsStatus {
    let count = |state| {
        let n = book.alerts.values().filter(|a| a.state == state).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    };
    let mut firing: Vec<_> = book
        .alerts
        .values()
        .filter(|a| a.state == AlertState::Firing)
        .collect();
    // Most severe first, then oldest: what a person should look at first.
    firing.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.active_since.cmp(&b.active_since))
    });
    AlertsStatus {
        firing: count(AlertState::Firing),
        pending: count(AlertState::Pending),
        undelivered: u32::try_from(book.outbox.len()).unwrap_or(u32::MAX),
        active: firing
            .into_iter()
            .take(MAX_LISTED)
            .map(|a| ActiveAlert {
                alertname: a.alertname().to_string(),
                severity: a.severity,
                member: a.label("member").map(str::to_string),
                since: rfc3339(a.active_since),
            })
            .collect(),
    }
}

/// Unix seconds as RFC 3339 (UTC).
pub fn rfc3339(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| k8s_openapi::jiff::Timestamp::from_second(s).ok())
        .map(|t| t.to_string())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}
