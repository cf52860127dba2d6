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

pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == TRUE)
}
