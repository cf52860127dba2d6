//! Setting a condition keeps its transition time unless its status flips, so recomputing
//! an unchanged status yields an identical object (and no patch).
use crate::api::Condition;

pub const TRUE: &str = "True";
pub const FALSE: &str = "False";

/// A condition as computed, before transition bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub type_: &'static str,
    pub status: bool,
    pub reason: String,
    pub message: String,
}

impl Verdict {
    pub fn new(
        type_: &'static str,
        status: bool,
        reason: &str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            type_,
            status,
            reason: reason.to_string(),
            message: message.into(),
        }
    }
}

/// Turns verdicts into conditions, reusing the previous transition time where the status
/// did not change.
pub fn conditions(
    previous: &[Condition],
    verdicts: Vec<Verdict>,
    generation: Option<i64>,
    now: &str,
) -> Vec<Condition> {
    verdicts
        .into_iter()
        .map(|v| {
            let status = if v.status { TRUE } else { FALSE };
            let last_transition_time = previous
                .iter()
                .find(|c| c.type_ == v.type_ && c.status == status)
                .and_then(|c| c.last_transition_time.clone())
                .or_else(|| Some(now.to_string()));
            Condition {
                type_: v.type_.to_string(),
                status: status.to_string(),
                reason: v.reason,
                message: v.message,
                last_transition_time,
                observed_generation: generation,
            }
        })
        .collect()
}

/// Conditions of types the caller did not decide keep their last value: another part of
/// the reconcile sets them, and it may not have run in this pass.
pub fn keep_others(mut computed: Vec<Condition>, previous: &[Condition]) -> Vec<Condition> {
    let others: Vec<Condition> = previous
        .iter()
        .filter(|p| !computed.iter().any(|c| c.type_ == p.type_))
        .cloned()
        .collect();
    computed.extend(others);
    computed
}

/// Sets the condition of type `type_` from `verdict`, or removes it with `None`.
pub fn set(
    current: &mut Vec<Condition>,
    previous: &[Condition],
    type_: &str,
    verdict: Option<Verdict>,
    generation: Option<i64>,
    now: &str,
) {
    current.retain(|c| c.type_ != type_);
    if let Some(v) = verdict {
        current.extend(conditions(previous, vec![v], generation, now));
    }
}

pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == TRUE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn others_are_kept_and_set_replaces_or_removes_one_type() {
        let t0 = "2026-01-01T00:00:00Z";
        let prior = conditions(
            &[],
            vec![
                Verdict::new("Available", true, "QuorumReady", "ok"),
                Verdict::new(
                    "NotificationsReady",
                    false,
                    "NotificationSecretInvalid",
                    "x",
                ),
            ],
            Some(1),
            t0,
        );
        let computed = conditions(
            &prior,
            vec![Verdict::new("Available", true, "QuorumReady", "ok")],
            Some(2),
            "later",
        );
        let mut kept = keep_others(computed, &prior);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[1], prior[1], "kept exactly as it was");

        let fixed = Verdict::new("NotificationsReady", true, "ReceiversReady", "1 ready");
        set(
            &mut kept,
            &prior,
            "NotificationsReady",
            Some(fixed),
            Some(2),
            "now",
        );
        let n = find(&kept, "NotificationsReady").expect("set");
        assert_eq!(
            (n.status.as_str(), n.last_transition_time.as_deref()),
            (TRUE, Some("now"))
        );
        set(
            &mut kept,
            &prior,
            "NotificationsReady",
            None,
            Some(2),
            "now",
        );
        assert!(find(&kept, "NotificationsReady").is_none());
        assert_eq!(kept.len(), 1);
    }
}
