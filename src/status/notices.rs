//! Pure: status transitions -> the Events worth telling. Only transitions: recomputing an
//! unchanged status yields nothing, so Events never repeat per reconcile.
use super::conditions::{TRUE, find};
use super::reason;
use crate::api::{AVAILABLE, DEGRADED, PROGRESSING, ZookeeperClusterStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub warning: bool,
    pub reason: String,
    pub message: String,
}

impl Notice {
    fn new(warning: bool, reason: &str, message: &str) -> Self {
        Self {
            warning,
            reason: reason.to_string(),
            message: message.to_string(),
        }
    }
}

pub fn notices(
    previous: Option<&ZookeeperClusterStatus>,
    current: &ZookeeperClusterStatus,
) -> Vec<Notice> {
    let prior = previous
        .map(|p| p.conditions.as_slice())
        .unwrap_or_default();
    let mut out = Vec::new();
    if let Some(now) = find(&current.conditions, AVAILABLE) {
        let before = find(prior, AVAILABLE);
        let was_true = before.is_some_and(|c| c.status == TRUE);
        match (now.status == TRUE, now.reason.as_str()) {
            (true, _) if !was_true => {
                out.push(Notice::new(false, reason::QUORUM_READY, &now.message))
            }
            (false, reason::INVALID_SPEC)
                if before.is_none_or(|c| c.reason != now.reason || c.message != now.message) =>
            {
                out.push(Notice::new(true, reason::INVALID_SPEC, &now.message));
            }
            (false, reason::QUORUM_NOT_READY) if was_true => {
                out.push(Notice::new(true, reason::QUORUM_NOT_READY, &now.message));
            }
            _ => {}
        }
    }
    if let Some(now) = find(&current.conditions, PROGRESSING) {
        let was_paused = find(prior, PROGRESSING).is_some_and(|c| c.reason == reason::PAUSED);
        match (now.reason == reason::PAUSED, was_paused) {
            (true, false) => out.push(Notice::new(false, reason::PAUSED, super::PAUSED_MESSAGE)),
            (false, true) => out.push(Notice::new(
                false,
                reason::RESUMED,
                "spec.paused is false: the operator acts again",
            )),
            _ => {}
        }
    }
    if let Some(now) = find(&current.conditions, DEGRADED) {
        let was_true = find(prior, DEGRADED).is_some_and(|c| c.status == TRUE);
        match (now.status == TRUE, was_true) {
            (true, false) => out.push(Notice::new(true, reason::MEMBERS_NOT_READY, &now.message)),
            (false, true) if now.reason == reason::ALL_MEMBERS_READY => {
                out.push(Notice::new(false, reason::ALL_MEMBERS_READY, &now.message));
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Condition;

    fn status(available: (&str, &str, &str), degraded: (&str, &str)) -> ZookeeperClusterStatus {
        let c = |t: &str, s: &str, r: &str, m: &str| Condition {
            type_: t.into(),
            status: s.into(),
            reason: r.into(),
            message: m.into(),
            last_transition_time: None,
            observed_generation: None,
        };
        ZookeeperClusterStatus {
            conditions: vec![
                c(AVAILABLE, available.0, available.1, available.2),
                c(DEGRADED, degraded.0, degraded.1, ""),
            ],
            ..ZookeeperClusterStatus::default()
        }
    }

    fn reasons(n: &[Notice]) -> Vec<(&str, bool)> {
        n.iter().map(|n| (n.reason.as_str(), n.warning)).collect()
    }

    #[test]
    fn transitions_only() {
        let creating = status(("False", "Creating", ""), ("False", "AllMembersReady"));
        let ready = status(("True", "QuorumReady", ""), ("False", "AllMembersReady"));
        let degraded = status(("True", "QuorumReady", ""), ("True", "MembersNotReady"));
        let lost = status(("False", "QuorumNotReady", ""), ("True", "MembersNotReady"));
        assert!(notices(None, &creating).is_empty());
        assert_eq!(
            reasons(&notices(Some(&creating), &ready)),
            [("QuorumReady", false)]
        );
        assert!(notices(Some(&ready), &ready).is_empty());
        assert_eq!(
            reasons(&notices(Some(&ready), &degraded)),
            [("MembersNotReady", true)]
        );
        assert_eq!(
            reasons(&notices(Some(&degraded), &lost)),
            [("QuorumNotReady", true)]
        );
        assert_eq!(
            reasons(&notices(Some(&lost), &ready)),
            [("QuorumReady", false), ("AllMembersReady", false)]
        );
    }

    #[test]
    fn a_pause_is_told_once_when_it_starts_and_when_it_ends() {
        let with_progressing = |reason: &str| {
            let mut s = status(("True", "QuorumReady", ""), ("False", "AllMembersReady"));
            s.conditions.push(Condition {
                type_: PROGRESSING.into(),
                status: "False".into(),
                reason: reason.into(),
                message: String::new(),
                last_transition_time: None,
                observed_generation: None,
            });
            s
        };
        let settled = with_progressing("Reconciled");
        let paused = with_progressing("Paused");
        assert_eq!(
            reasons(&notices(Some(&settled), &paused)),
            [("Paused", false)]
        );
        assert!(
            notices(Some(&paused), &paused).is_empty(),
            "once, not per pass"
        );
        assert_eq!(
            reasons(&notices(Some(&paused), &settled)),
            [("Resumed", false)]
        );
        assert!(notices(Some(&settled), &settled).is_empty());
    }

    #[test]
    fn invalid_spec_is_told_once_per_distinct_problem() {
        let a = status(
            ("False", "InvalidSpec", "spec.replicas: bad"),
            ("False", "x"),
        );
        let b = status(
            ("False", "InvalidSpec", "spec.image.tag: bad"),
            ("False", "x"),
        );
        assert_eq!(reasons(&notices(None, &a)), [("InvalidSpec", true)]);
        assert!(notices(Some(&a), &a).is_empty());
        assert_eq!(reasons(&notices(Some(&a), &b)), [("InvalidSpec", true)]);
    }
}
