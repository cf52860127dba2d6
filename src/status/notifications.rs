//! Pure: the receivers' problems -> the `NotificationsReady` condition, so a missing or
//! malformed Secret shows in the cluster's status and not only in an Event.
use super::conditions::{Verdict, set};
use crate::api::{NOTIFICATIONS_READY, ZookeeperClusterStatus};
use crate::notify::NotifyError;

pub const RECEIVERS_READY: &str = "ReceiversReady";

/// `None` when the cluster notifies nobody: no condition then.
pub fn verdict(receivers: usize, problems: &[NotifyError]) -> Option<Verdict> {
    if receivers == 0 {
        return None;
    }
    let Some(first) = problems.first() else {
        let plural = if receivers == 1 { "" } else { "s" };
        return Some(Verdict::new(
            NOTIFICATIONS_READY,
            true,
            RECEIVERS_READY,
            format!("{receivers} receiver{plural} ready"),
        ));
    };
    // Every problem, not only the first: each may need a different fix.
    let message = problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    Some(Verdict::new(
        NOTIFICATIONS_READY,
        false,
        first.reason(),
        format!(
            "{} of {receivers} receivers cannot be notified: {message}",
            problems.len()
        ),
    ))
}

/// Puts the condition into `next` (or takes it out when nobody is notified).
pub fn apply(
    next: &mut ZookeeperClusterStatus,
    previous: Option<&ZookeeperClusterStatus>,
    receivers: usize,
    problems: &[NotifyError],
    now: &str,
) {
    let prior = previous
        .map(|p| p.conditions.as_slice())
        .unwrap_or_default();
    let generation = next.observed_generation;
    set(
        &mut next.conditions,
        prior,
        NOTIFICATIONS_READY,
        verdict(receivers, problems),
        generation,
        now,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_receivers_no_condition_and_every_problem_is_named() {
        assert_eq!(verdict(0, &[]), None);
        let ready = verdict(2, &[]).expect("condition");
        assert!(ready.status);
        assert_eq!(ready.message, "2 receivers ready");
        let missing = NotifyError::Secret {
            receiver: "pager".into(),
            detail: "Secret prod/pager not found".into(),
        };
        let bad = NotifyError::Config {
            receiver: "mail".into(),
            detail: "smarthost 'x' is not host:port".into(),
        };
        let v = verdict(3, &[missing, bad]).expect("condition");
        assert!(!v.status);
        assert_eq!(v.reason, "NotificationSecretInvalid");
        assert_eq!(
            v.message,
            "2 of 3 receivers cannot be notified: receiver pager: Secret prod/pager not \
             found; receiver mail is misconfigured: smarthost 'x' is not host:port"
        );
    }
}
