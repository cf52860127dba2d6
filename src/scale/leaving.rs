//! Which watched members are leaving: the scale-down took them out of the committed
//! membership, and their pods run until the StatefulSet shrinks. They are no longer part
//! of the ensemble, so their not serving is expected, not a fault.
use std::collections::BTreeSet;

use crate::health::MemberId;
use crate::zk::dynamic_config::DynamicConfig;

/// Members beyond `desired` (up to `watched`, the pods the StatefulSet still runs) that the
/// committed membership no longer lists. Without the committed membership (unreadable, as
/// during the election that follows removing the leader) every member beyond `desired` is
/// taken as leaving: the spec no longer wants any of them.
pub fn leaving(
    desired: u64,
    watched: u64,
    committed: Option<&DynamicConfig>,
) -> BTreeSet<MemberId> {
    let voters: BTreeSet<MemberId> = committed
        .map(|c| c.participants().into_iter().collect())
        .unwrap_or_default();
    (desired + 1..=watched)
        .filter(|id| committed.is_none() || !voters.contains(id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::tests::committed_config;

    fn config(ids: &[u64]) -> DynamicConfig {
        committed_config(ids, 0x1_0000_0004)
    }

    #[test]
    fn only_members_beyond_the_target_and_out_of_the_committed_membership_leave() {
        // 5 -> 3: member 5 removed, member 4 (maybe the leader) still a voter.
        let committed = config(&[1, 2, 3, 4]);
        assert_eq!(leaving(3, 5, Some(&committed)), BTreeSet::from([5]));
        // Both removed; the StatefulSet still runs both pods.
        assert_eq!(
            leaving(3, 5, Some(&config(&[1, 2, 3]))),
            BTreeSet::from([4, 5])
        );
        // Growing: a joiner not yet committed is not leaving.
        assert_eq!(leaving(5, 4, Some(&config(&[1, 2, 3]))), BTreeSet::new());
        // Settled.
        assert_eq!(leaving(3, 3, Some(&config(&[1, 2, 3]))), BTreeSet::new());
    }

    #[test]
    fn without_the_committed_membership_every_member_beyond_the_target_leaves() {
        assert_eq!(leaving(3, 5, None), BTreeSet::from([4, 5]));
        assert_eq!(leaving(3, 3, None), BTreeSet::new());
    }
}
