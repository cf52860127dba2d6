//! Optional, off by default: reset a member whose on-disk data ZooKeeper cannot load.
//!
//! A restart cannot help such a member: it crash-loops on the same files. Deleting its
//! PVC (then its pod) lets it rejoin empty and resync from the leader, which is only
//! safe while the others hold a quorum: every committed transaction is then on a
//! serving majority, so nothing the member held is lost.
use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use super::decide::{in_flight, only_report};
use super::decision::{Decision, RestartReason};
use super::failed::{Verdict, verdict};
use super::history::{RecoveryHistory, at};
use super::policy::RecoveryPolicy;
use super::view::members_of;
use crate::health::{EnsembleAssessment, MemberId, PodView};

/// What ZooKeeper 3.8 logs when it cannot load its snapshot or transaction log
/// (strings from `FileTxnLog`, `FileTxnSnapLog` and `QuorumPeer`). Seen for real in
/// `tests/e2e_data_reset.rs`: `QuorumPeer - Unable to load database on disk` with the
/// cause, then two stack traces. The log fallback keeps only the last 2048 bytes, which
/// can cut that first line off, so the causes count too: they come back in the final
/// `Caused by:` line.
const CORRUPT_DATA_MARKERS: &[&str] = &[
    "Unable to load database on disk",
    "CRC check failed",
    "Last transaction was partial",
    "No snapshot found, but there are log entries",
];

/// Whether a container's last words (its termination message, with
/// `terminationMessagePolicy: FallbackToLogsOnError` the tail of its log) say the data
/// on disk is unrecoverable.
pub fn corrupt_data(termination_message: &str) -> bool {
    CORRUPT_DATA_MARKERS
        .iter()
        .any(|m| termination_message.contains(m))
}

/// The data reset to perform now, if any: `corrupt` are the members whose last
/// termination message satisfies [`corrupt_data`]. Call it before [`super::decide`];
/// when it returns a decision, that is the pass's one action. Shares the restart history,
/// so backoff, the cap and the in-flight hold apply as for restarts.
pub fn decide_reset(
    policy: &RecoveryPolicy,
    history: &RecoveryHistory,
    assessment: &EnsembleAssessment,
    pods: &BTreeMap<MemberId, PodView>,
    corrupt: &BTreeSet<MemberId>,
    now: SystemTime,
) -> Option<Decision> {
    if !policy.reset_corrupt_data || corrupt.is_empty() {
        return None;
    }
    let members = members_of(assessment, pods);
    if in_flight(policy, history, assessment, &members, now).is_some() {
        return None;
    }
    // The rest must hold a healthy quorum without the member: a serving leader, a serving
    // majority, no split brain. A crash-looping member is not serving, so it is not
    // counted in `serving_voters`.
    let healthy_quorum = assessment.quorum
        && assessment.leader.is_some()
        && assessment.split_brain.is_empty()
        && assessment.serving_voters >= assessment.majority;
    if !healthy_quorum {
        return None;
    }
    let view = members.iter().find(|v| {
        corrupt.contains(&v.id)
            && !v.serving
            && matches!(
                verdict(policy, v, history.member(v.id), false, now),
                Verdict::Failed(RestartReason::CrashLoop | RestartReason::Terminated)
            )
    })?;
    let pod = view.pod?;
    let h = history.member(view.id);
    let recent = h.map_or(0, |h| h.recent_restarts(policy.window, now));
    let backoff_over = h
        .and_then(|h| h.last_restart)
        .is_none_or(|last| now >= at(last) + policy.backoff(recent));
    if recent >= policy.max_restarts || !backoff_over {
        return None;
    }
    let decision = Decision::ResetData {
        member: view.id,
        pod: pod.name.clone(),
        explanation: format!(
            "resetting {} (member {}): ZooKeeper cannot load its data on disk; deleting its \
             volume claim and pod so it resyncs from the leader, while {} of {} voters \
             serve",
            view.name, view.id, assessment.serving_voters, assessment.voters
        ),
    };
    Some(if policy.enabled && !policy.paused {
        decision
    } else {
        only_report(policy, decision)
    })
}
