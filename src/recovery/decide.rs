//! The policy: from the assessment, the pods and the history, the one safe action.
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::decision::{Decision, RestartReason, WaitCause};
use super::failed::{Verdict, verdict};
use super::history::{MemberHistory, RecoveryHistory, at, unix};
use super::policy::RecoveryPolicy;
use super::safety;
use super::view::{MemberView, members_of};
use crate::controller::arbitrate::Underway;
use crate::health::{EnsembleAssessment, MemberId, PodView, Role};

/// Decides what to do for one cluster. Pure: same inputs, same decision. Call
/// [`super::observe`] first so the "since" timestamps include this observation.
///
/// Order of precedence: a restart in flight holds everything; otherwise the first safe
/// restart in candidate order; otherwise the most important reason for doing nothing
/// (exhausted, backoff, blocked by a safety rule, a problem a restart cannot fix).
pub fn decide(
    policy: &RecoveryPolicy,
    history: &RecoveryHistory,
    assessment: &EnsembleAssessment,
    pods: &BTreeMap<MemberId, PodView>,
    now: SystemTime,
) -> Decision {
    let decision = decide_enabled(policy, history, assessment, pods, now);
    if !policy.enabled || policy.paused {
        return only_report(policy, decision);
    }
    decision
}

fn decide_enabled(
    policy: &RecoveryPolicy,
    history: &RecoveryHistory,
    assessment: &EnsembleAssessment,
    pods: &BTreeMap<MemberId, PodView>,
    now: SystemTime,
) -> Decision {
    let members = members_of(assessment, pods);
    let leaderless = assessment.leader.is_none() && !assessment.quorum;

    if let Some(wait) = in_flight(policy, history, assessment, &members, now) {
        return wait;
    }

    let mut candidates: Vec<(&MemberView<'_>, RestartReason)> = Vec::new();
    let mut report = None;
    for view in &members {
        match verdict(policy, view, history.member(view.id), leaderless, now) {
            Verdict::Failed(reason) => candidates.push((view, reason)),
            Verdict::Unfixable(problem) => {
                report.get_or_insert(Decision::Report {
                    member: view.id,
                    problem,
                });
            }
            Verdict::Healthy | Verdict::Unwell => {}
        }
    }
    let stuck_election = stuck_election(policy, history, &members, leaderless, now);
    if stuck_election.is_some() {
        for view in members.iter().filter(|v| v.voter) {
            if !candidates.iter().any(|(c, _)| c.id == view.id) {
                candidates.push((view, RestartReason::Leaderless));
            }
        }
    }
    // Members that do not serve first (restarting them costs nothing), the leader last,
    // and within each group the least recent data first: the member with the highest
    // zxid goes last, so the data most likely to be the newest survives the longest.
    candidates.sort_by_key(|(v, _)| (v.serving, v.role == Role::Leader, v.zxid, v.id));

    let mut exhausted = None;
    let mut backoff = None;
    let mut blocked = None;
    for (view, reason) in &candidates {
        let member_history = history.member(view.id);
        let recent = member_history.map_or(0, |h| h.recent_restarts(policy.window, now));
        if recent >= policy.max_restarts {
            exhausted.get_or_insert(Decision::Exhausted {
                member: view.id,
                restarts: recent,
                reason: format!(
                    "{} restarted {recent} times within {}; restarts do not help, \
                     automatic recovery of this member stops",
                    view.name,
                    human(policy.window)
                ),
            });
            continue;
        }
        if let Err(why) = safety::check(assessment, &members, view) {
            blocked.get_or_insert(Decision::Blocked {
                member: view.id,
                reason: why,
            });
            continue;
        }
        if let Some(until) = backoff_until(policy, member_history, recent, now) {
            backoff.get_or_insert(Decision::Wait {
                member: view.id,
                until,
                cause: WaitCause::Backoff,
                // Stable across passes (no countdown), so repeated Events aggregate.
                reason: format!(
                    "{} failed ({}); backing off {} after {recent} restart(s) within {}",
                    view.name,
                    reason.as_str(),
                    human(policy.backoff(recent)),
                    human(policy.window)
                ),
            });
            continue;
        }
        let Some(pod) = view.pod else { continue };
        return Decision::Restart {
            member: view.id,
            pod: pod.name.clone(),
            reason: *reason,
            explanation: explain(view, *reason, &candidates, stuck_election, recent),
        };
    }
    exhausted
        .or(backoff)
        .or(blocked)
        .or(report)
        .unwrap_or(Decision::None)
}

/// A restart younger than the timeout whose member has not come back holds every other
/// restart: two members down at once is how a degraded ensemble becomes a dead one.
pub(super) fn in_flight(
    policy: &RecoveryPolicy,
    history: &RecoveryHistory,
    assessment: &EnsembleAssessment,
    members: &[MemberView<'_>],
    now: SystemTime,
) -> Option<Decision> {
    history
        .members
        .iter()
        .filter_map(|(id, h)| {
            let until = h.in_flight_until(policy, now)?;
            (!landed(assessment, members, *id, h)).then_some((*id, until))
        })
        .min_by_key(|(_, until)| *until)
        .map(|(member, until)| Decision::Wait {
            member,
            until: at(until),
            cause: WaitCause::InFlight,
            reason: format!(
                "waiting for restarted member {member} to come back before touching \
                 any other member"
            ),
        })
}

/// A restart has landed once the old process was seen gone and the new one is back
/// (also remembered by `observe`, for passes where the member has failed again).
fn landed(
    assessment: &EnsembleAssessment,
    members: &[MemberView<'_>],
    id: MemberId,
    history: &MemberHistory,
) -> bool {
    history.gone_since_restart
        && members
            .iter()
            .find(|v| v.id == id)
            .is_some_and(|v| v.back_after_restart(assessment.quorum))
}

/// How long the ensemble has been without a leader while every member's pod runs, if
/// beyond the threshold.
fn stuck_election(
    policy: &RecoveryPolicy,
    history: &RecoveryHistory,
    members: &[MemberView<'_>],
    leaderless: bool,
    now: SystemTime,
) -> Option<Duration> {
    let since = history.leaderless_since.filter(|_| leaderless)?;
    let all_run = !members.is_empty() && members.iter().all(MemberView::container_running);
    let stuck_for = Duration::from_secs(unix(now).saturating_sub(since));
    (all_run && stuck_for >= policy.leaderless_after).then_some(stuck_for)
}

fn backoff_until(
    policy: &RecoveryPolicy,
    history: Option<&MemberHistory>,
    recent: usize,
    now: SystemTime,
) -> Option<SystemTime> {
    let last = history?.last_restart?;
    let until = at(last) + policy.backoff(recent);
    (now < until).then_some(until)
}

fn explain(
    view: &MemberView<'_>,
    reason: RestartReason,
    candidates: &[(&MemberView<'_>, RestartReason)],
    stuck_election: Option<Duration>,
    recent: usize,
) -> String {
    let why = match reason {
        RestartReason::CrashLoop => "its container is in CrashLoopBackOff".to_string(),
        RestartReason::Terminated => "its container terminated".to_string(),
        RestartReason::PodFailed => "its pod failed".to_string(),
        RestartReason::NotServing => "it runs but has not served for too long".to_string(),
        RestartReason::NotReady => "its pod has not been Ready for too long".to_string(),
        RestartReason::Leaderless => "the ensemble elects no leader".to_string(),
    };
    let mut text = format!(
        "restarting {} (member {}): {why}; restart {} in the window",
        view.name,
        view.id,
        recent + 1
    );
    if let Some(stuck_for) = stuck_election {
        let newest = candidates
            .iter()
            .map(|(v, _)| *v)
            .max_by_key(|v| (v.zxid, v.id))
            .filter(|v| v.zxid.is_some());
        text.push_str(&format!(
            "; no leader for {} although every member runs: members restart one at a time, \
             lowest zxid first",
            human(stuck_for)
        ));
        if let Some(newest) = newest {
            text.push_str(&format!(
                ", {} (zxid {:#x}, the most recent data) last",
                newest.name,
                newest.zxid.unwrap_or_default()
            ));
        }
    }
    text
}

/// Disabled or paused: the same decision, reported instead of acted on.
pub(super) fn only_report(policy: &RecoveryPolicy, decision: Decision) -> Decision {
    let Some(member) = acting_on(&decision) else {
        return decision;
    };
    let reason = format!("would act: {}", decision.message());
    if policy.enabled {
        Decision::Paused {
            member,
            reason: format!("recovery paused by annotation; {reason}"),
        }
    } else {
        Decision::Disabled {
            member,
            reason: format!("automatic recovery disabled; {reason}"),
        }
    }
}

/// The member a decision would act on (or waits for); `None` for decisions that only
/// report already.
fn acting_on(decision: &Decision) -> Option<MemberId> {
    match decision {
        Decision::Restart { member, .. }
        | Decision::ResetData { member, .. }
        | Decision::Wait { member, .. }
        | Decision::Exhausted { member, .. }
        | Decision::Blocked { member, .. } => Some(*member),
        Decision::Report { .. }
        | Decision::Paused { .. }
        | Decision::Disabled { .. }
        | Decision::None => None,
    }
}

/// A roll step or a scale step is in flight: the same decision, reported instead of acted
/// on, so recovery never changes a member while another change is under way.
pub fn yielding(decision: Decision, underway: &Underway) -> Decision {
    let Some(member) = acting_on(&decision) else {
        return decision;
    };
    Decision::Paused {
        member,
        reason: format!(
            "recovery yields to {}; would act: {}",
            underway.describe(),
            decision.message()
        ),
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Failed members that used up their restarts in the window, whatever the decision of
/// this pass: the controller keeps `Degraded`/`RecoveryExhausted` from this list, so the
/// condition does not flap while another member is being restarted.
pub fn exhausted(
    policy: &RecoveryPolicy,
    history: &RecoveryHistory,
    assessment: &EnsembleAssessment,
    pods: &BTreeMap<MemberId, PodView>,
    now: SystemTime,
) -> Vec<MemberId> {
    let leaderless = assessment.leader.is_none() && !assessment.quorum;
    members_of(assessment, pods)
        .iter()
        .filter(|v| {
            let h = history.member(v.id);
            h.is_some_and(|h| h.recent_restarts(policy.window, now) >= policy.max_restarts)
                && matches!(
                    verdict(policy, v, h, leaderless, now),
                    Verdict::Failed(_) | Verdict::Unwell
                )
        })
        .map(|v| v.id)
        .collect()
}
