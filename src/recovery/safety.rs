//! The two rules no restart may break, whatever the reason for it.
use super::view::MemberView;
use crate::health::{EnsembleAssessment, Role};

/// `Err(why)` when restarting `target` now could make the ensemble worse:
/// - a serving voter may only go if a majority of voters still serves without it
///   (a member already down can always be restarted: it weighs nothing);
/// - the leader may only go while every other member is synced (serving, not lagging),
///   because losing the leader forces an election that unsynced members cannot help win.
pub(crate) fn check(
    assessment: &EnsembleAssessment,
    members: &[MemberView<'_>],
    target: &MemberView<'_>,
) -> Result<(), String> {
    if target.serving_voter() && assessment.serving_voters < assessment.majority + 1 {
        return Err(format!(
            "restarting {} would leave {} serving voters, fewer than the majority of {}",
            target.name,
            assessment.serving_voters.saturating_sub(1),
            assessment.majority
        ));
    }
    let is_leader = target.role == Role::Leader || assessment.leader == Some(target.id);
    if is_leader
        && let Some(unsynced) = members
            .iter()
            .find(|m| m.id != target.id && (!m.serving || m.lagging))
    {
        return Err(format!(
            "not restarting the leader {} while {} is not synced",
            target.name, unsynced.name
        ));
    }
    Ok(())
}
