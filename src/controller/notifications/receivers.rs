//! What is wrong with the setup of a cluster's receivers: a missing or malformed Secret,
//! settings that cannot work. Kept until a later check or delivery finds it fixed, so
//! the cluster's status can say it, and each distinct problem is told as an Event once,
//! not per reconcile. A receiver that refuses or fails a delivery is not a setup problem
//! here: each refusal is its own `NotificationFailed` Event, and a refusal could not be
//! seen fixed without sending something.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::notify::NotifyError;

/// How often receivers' Secrets are read again: a fixed Secret clears the condition
/// within this long, and a deleted one is noticed before the next fault needs it.
pub const RECHECK: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct ReceiverHealth {
    /// The receivers' specs as last checked, and when: a change checks at once.
    checked: Option<(String, Instant)>,
    problems: BTreeMap<String, NotifyError>,
}

impl ReceiverHealth {
    /// Whether receivers described by `specs` should be checked again at `now`.
    pub fn due(&self, specs: &str, now: Instant) -> bool {
        self.checked
            .as_ref()
            .is_none_or(|(s, at)| s != specs || now.duration_since(*at) >= RECHECK)
    }

    /// When the next check is due, if a problem is waiting to be seen fixed.
    pub fn recheck_in(&self, now: Instant) -> Option<Duration> {
        let (_, at) = self.checked.as_ref()?;
        (!self.problems.is_empty()).then(|| RECHECK.saturating_sub(now.duration_since(*at)))
    }

    /// Records a check of every receiver in `outcomes` (credentials resolved or not) and
    /// forgets receivers no longer configured. Returns the problems that are news.
    pub fn checked(
        &mut self,
        specs: String,
        outcomes: Vec<(String, Result<(), NotifyError>)>,
        now: Instant,
    ) -> Vec<NotifyError> {
        self.checked = Some((specs, now));
        self.problems
            .retain(|name, _| outcomes.iter().any(|(n, _)| n == name));
        outcomes
            .into_iter()
            .filter_map(|(name, outcome)| match outcome {
                Ok(()) => {
                    self.problems.remove(&name);
                    None
                }
                Err(problem) => self.note(&name, problem),
            })
            .collect()
    }

    /// Records a setup problem met by a check or a delivery; returns it when it is news
    /// (a receiver that was fine, or a different problem). Other failures are ignored.
    pub fn note(&mut self, receiver: &str, problem: NotifyError) -> Option<NotifyError> {
        if !is_setup(&problem) {
            return None;
        }
        let news = self.problems.get(receiver) != Some(&problem);
        self.problems.insert(receiver.to_string(), problem.clone());
        news.then_some(problem)
    }

    /// A delivery to `receiver` succeeded: its setup is fine now.
    pub fn delivered(&mut self, receiver: &str) {
        self.problems.remove(receiver);
    }

    pub fn problems(&self) -> Vec<NotifyError> {
        self.problems.values().cloned().collect()
    }
}

fn is_setup(problem: &NotifyError) -> bool {
    matches!(
        problem,
        NotifyError::Secret { .. } | NotifyError::Config { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(receiver: &str, detail: &str) -> NotifyError {
        NotifyError::Secret {
            receiver: receiver.into(),
            detail: detail.into(),
        }
    }

    fn rejected(receiver: &str) -> NotifyError {
        NotifyError::Rejected {
            receiver: receiver.into(),
            detail: "HTTP 404".into(),
        }
    }

    #[test]
    fn a_problem_is_news_once_and_kept_until_fixed() {
        let t0 = Instant::now();
        let mut h = ReceiverHealth::default();
        let missing = secret("pager", "Secret prod/pager not found");
        let news = h.checked(
            "specs".into(),
            vec![
                ("pager".into(), Err(missing.clone())),
                ("mail".into(), Ok(())),
            ],
            t0,
        );
        assert_eq!(news, vec![missing.clone()]);
        assert_eq!(h.problems(), vec![missing.clone()]);
        assert!(!h.due("specs", t0 + Duration::from_secs(1)));
        assert!(
            h.due("other specs", t0 + Duration::from_secs(1)),
            "spec change"
        );
        assert_eq!(
            h.recheck_in(t0 + Duration::from_secs(10)),
            Some(RECHECK - Duration::from_secs(10))
        );

        let again = h.checked(
            "specs".into(),
            vec![("pager".into(), Err(missing.clone()))],
            t0 + RECHECK,
        );
        assert!(again.is_empty(), "the same problem is not told twice");
        let other = secret("pager", "Secret prod/pager has no key url");
        assert_eq!(
            h.note("pager", other.clone()),
            Some(other),
            "a new problem is"
        );

        h.checked("specs".into(), vec![("pager".into(), Ok(()))], t0 + RECHECK);
        assert!(h.problems().is_empty(), "fixed");
        assert_eq!(h.recheck_in(t0 + RECHECK), None, "nothing to watch for");
    }

    #[test]
    fn refusals_and_transient_failures_are_not_setup_problems() {
        let mut h = ReceiverHealth::default();
        assert_eq!(h.note("hook", rejected("hook")), None);
        let down = NotifyError::Unavailable {
            receiver: "hook".into(),
            detail: "HTTP 503".into(),
            retry_after: None,
        };
        assert_eq!(h.note("hook", down), None);
        assert!(h.problems().is_empty());
        let missing = secret("hook", "Secret prod/hook not found");
        assert_eq!(h.note("hook", missing.clone()), Some(missing));
        h.delivered("hook");
        assert!(h.problems().is_empty(), "a delivery proves the setup");
    }

    #[test]
    fn removed_receivers_are_forgotten() {
        let mut h = ReceiverHealth::default();
        h.note("gone", secret("gone", "x"));
        h.checked("s".into(), vec![("kept".into(), Ok(()))], Instant::now());
        assert!(h.problems().is_empty());
    }
}
