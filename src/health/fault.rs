//! Faults: what is wrong with an ensemble, with a stable identity for diffing.
use super::observation::MemberId;

/// Which overload signal fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OverloadKind {
    OutstandingRequests,
    AvgLatency,
    PendingSyncs,
    OpenFileDescriptors,
}

impl OverloadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutstandingRequests => "outstanding_requests",
            Self::AvgLatency => "avg_latency_ms",
            Self::PendingSyncs => "pending_syncs",
            Self::OpenFileDescriptors => "open_file_descriptors",
        }
    }
}

/// One active problem of an ensemble.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Fault {
    MemberDown {
        member: MemberId,
        reason: String,
    },
    /// No serving leader backed by a majority of voters.
    QuorumLost,
    /// No leader yet, but a majority of voters is reachable: they are electing.
    ElectionInProgress,
    /// More than one member claims leadership with a majority-looking view.
    SplitBrainSuspected {
        leaders: Vec<MemberId>,
    },
    FollowerLagging {
        member: MemberId,
        lag: u64,
    },
    Overloaded {
        member: MemberId,
        what: OverloadKind,
        value: u64,
        limit: u64,
    },
}

/// The identity of a fault: the same problem keeps its key while its numbers change
/// (lag, overload value, down reason), so a controller emits Events on transitions only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKey {
    MemberDown(MemberId),
    QuorumLost,
    ElectionInProgress,
    SplitBrainSuspected,
    FollowerLagging(MemberId),
    Overloaded(MemberId, OverloadKind),
}

impl FaultKey {
    /// A stable string id, e.g. `MemberDown/3` or `Overloaded/2/pending_syncs`.
    pub fn id(&self) -> String {
        match self {
            Self::MemberDown(m) => format!("MemberDown/{m}"),
            Self::QuorumLost => "QuorumLost".into(),
            Self::ElectionInProgress => "ElectionInProgress".into(),
            Self::SplitBrainSuspected => "SplitBrainSuspected".into(),
            Self::FollowerLagging(m) => format!("FollowerLagging/{m}"),
            Self::Overloaded(m, what) => format!("Overloaded/{m}/{}", what.as_str()),
        }
    }

    /// The member the fault is about, if it is about one member.
    pub fn member(&self) -> Option<MemberId> {
        match self {
            Self::MemberDown(m) | Self::FollowerLagging(m) | Self::Overloaded(m, _) => Some(*m),
            _ => None,
        }
    }
}

impl Fault {
    pub fn key(&self) -> FaultKey {
        match self {
            Self::MemberDown { member, .. } => FaultKey::MemberDown(*member),
            Self::QuorumLost => FaultKey::QuorumLost,
            Self::ElectionInProgress => FaultKey::ElectionInProgress,
            Self::SplitBrainSuspected { .. } => FaultKey::SplitBrainSuspected,
            Self::FollowerLagging { member, .. } => FaultKey::FollowerLagging(*member),
            Self::Overloaded { member, what, .. } => FaultKey::Overloaded(*member, *what),
        }
    }

    /// CamelCase reason for a Kubernetes Event or a status entry.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MemberDown { .. } => "MemberDown",
            Self::QuorumLost => "QuorumLost",
            Self::ElectionInProgress => "ElectionInProgress",
            Self::SplitBrainSuspected { .. } => "SplitBrainSuspected",
            Self::FollowerLagging { .. } => "FollowerLagging",
            Self::Overloaded { .. } => "Overloaded",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::MemberDown { member, reason } => format!("member {member} is down: {reason}"),
            Self::QuorumLost => "no leader is backed by a majority of voters".into(),
            Self::ElectionInProgress => {
                "leader election in progress: a majority of voters is reachable".into()
            }
            Self::SplitBrainSuspected { leaders } => {
                format!("more than one member claims leadership: {leaders:?}")
            }
            Self::FollowerLagging { member, lag } => {
                format!("member {member} is {lag} transactions behind the leader")
            }
            Self::Overloaded {
                member,
                what,
                value,
                limit,
            } => format!(
                "member {member} is overloaded: {} = {value} (limit {limit})",
                what.as_str()
            ),
        }
    }
}
