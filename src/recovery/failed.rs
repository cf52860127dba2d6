//! Which members count as failed, and which failures a restart cannot fix.
use std::time::{Duration, SystemTime};

use super::decision::{Problem, RestartReason};
use super::history::{MemberHistory, unix};
use super::policy::RecoveryPolicy;
use super::view::MemberView;
use crate::health::{ContainerState, Role};

/// Waiting reasons that mean the image cannot be had: a new pod would fail the same way.
const IMAGE_REASONS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "RegistryUnavailable",
];

/// Waiting reasons that mean the container cannot be created from its spec.
const CONFIG_REASONS: &[&str] = &["CreateContainerConfigError", "CreateContainerError"];

/// The verdict for one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Healthy,
    /// Unhealthy, but not for long enough to act.
    Unwell,
    /// A restart may fix it.
    Failed(RestartReason),
    /// Only a human (or the scheduler) can fix it.
    Unfixable(Problem),
}

/// Classifies a member. `leaderless` is true when the ensemble has no leader and no
/// quorum: a reachable member that does not serve is then waiting for an election, which
/// only the leaderless rule may cut short.
pub(crate) fn verdict(
    policy: &RecoveryPolicy,
    view: &MemberView<'_>,
    history: Option<&MemberHistory>,
    leaderless: bool,
    now: SystemTime,
) -> Verdict {
    let unwell_for = history
        .and_then(|h| h.failing_since)
        .map_or(Duration::ZERO, |since| {
            Duration::from_secs(unix(now).saturating_sub(since))
        });
    let Some(pod) = view.pod else {
        return if unwell_for >= policy.not_ready_after {
            Verdict::Unfixable(Problem::PodMissing { member: view.id })
        } else {
            Verdict::Unwell
        };
    };
    if let ContainerState::Waiting { reason } = &pod.container {
        let reason = reason.clone();
        if IMAGE_REASONS.contains(&reason.as_str()) {
            return Verdict::Unfixable(Problem::Image {
                pod: pod.name.clone(),
                reason,
            });
        }
        if CONFIG_REASONS.contains(&reason.as_str()) {
            return Verdict::Unfixable(Problem::ContainerConfig {
                pod: pod.name.clone(),
                reason,
            });
        }
    }
    match pod.phase.as_str() {
        "Pending" if unwell_for >= policy.not_ready_after => {
            return Verdict::Unfixable(Problem::Pending {
                pod: pod.name.clone(),
            });
        }
        "Pending" => return Verdict::Unwell,
        "Failed" | "Succeeded" => return Verdict::Failed(RestartReason::PodFailed),
        _ => {}
    }
    match &pod.container {
        ContainerState::Waiting { reason } if reason == "CrashLoopBackOff" => {
            return Verdict::Failed(RestartReason::CrashLoop);
        }
        ContainerState::Terminated { .. } => return Verdict::Failed(RestartReason::Terminated),
        _ => {}
    }
    if view.healthy() {
        return Verdict::Healthy;
    }
    let waiting_for_election = leaderless && view.role != Role::Down;
    // Unreachable from the operator while its own readiness probe (srvr from inside the
    // pod) still says it serves: two witnesses disagree, and the operator's network path
    // is the likelier culprit. Restarting would not help; wait until the pod agrees.
    let only_operator_sees_it = view.role == Role::Down && pod.ready;
    if !view.serving
        && !waiting_for_election
        && !only_operator_sees_it
        && view.container_running()
        && unwell_for >= policy.not_serving_after
    {
        return Verdict::Failed(RestartReason::NotServing);
    }
    if !pod.ready && !waiting_for_election && unwell_for >= policy.not_ready_after {
        return Verdict::Failed(RestartReason::NotReady);
    }
    Verdict::Unwell
}
