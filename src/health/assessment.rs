//! Outputs of the assessment. Everything here is comparable and free of wall-clock time,
//! so "nothing changed" is one `==` (or [`EnsembleAssessment::same_health`], which also
//! ignores numbers that move all the time: zxids, lag, overload values).
use super::fault::{Fault, FaultKey};
use super::observation::MemberId;

/// What a member is doing, as far as the operator can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Leader,
    Follower,
    Observer,
    /// Reachable but not serving: electing, without quorum, or read-only.
    Looking,
    Standalone,
    /// Not reachable, not answering in time, or not probed successfully yet.
    Down,
}

impl Role {
    /// Leader, follower, observer or standalone: answering clients.
    pub fn serves(self) -> bool {
        matches!(
            self,
            Self::Leader | Self::Follower | Self::Observer | Self::Standalone
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Leader => "leader",
            Self::Follower => "follower",
            Self::Observer => "observer",
            Self::Looking => "looking",
            Self::Standalone => "standalone",
            Self::Down => "down",
        }
    }
}

/// The verdict for one member.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberAssessment {
    pub id: MemberId,
    pub name: String,
    pub address: String,
    pub role: Role,
    /// Counts toward the quorum (participant, not observer).
    pub voter: bool,
    /// Answers client requests (in quorum or standalone).
    pub serving: bool,
    pub zxid: Option<u64>,
    pub epoch: Option<u32>,
    /// Transactions behind the leader (followers and observers with a known leader).
    pub lag: Option<u64>,
    /// Why the member is not healthy; `None` when it is.
    pub reason: Option<String>,
    /// Container restarts, when a pod view was given.
    pub restarts: Option<u32>,
    /// Requests queued in the server (`mntr`, else `srvr`); moves with load, so
    /// [`EnsembleAssessment::same_health`] ignores it.
    pub outstanding_requests: Option<u64>,
    /// Average request latency in milliseconds (`mntr`); ignored by `same_health` too.
    pub avg_latency_ms: Option<f64>,
    /// ZooKeeper's own metrics from the last `mntr` (name, value), exported per member;
    /// empty when the member did not answer `mntr`. Ignored by `same_health`.
    pub zk_metrics: Vec<(&'static str, f64)>,
}

/// Overall verdict, mapped to the probe command's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    Healthy,
    Degraded,
    NoQuorum,
}

impl Health {
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Healthy => 0,
            Self::Degraded => 1,
            Self::NoQuorum => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::NoQuorum => "no-quorum",
        }
    }
}

/// The verdict for an ensemble.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleAssessment {
    /// Sorted by member id.
    pub members: Vec<MemberAssessment>,
    /// The serving leader (the one with the highest epoch if several claim it).
    pub leader: Option<MemberId>,
    /// The leader's epoch.
    pub epoch: Option<u32>,
    /// Voting members: the watched participants, or the leader's `zk_quorum_size` if larger.
    pub voters: usize,
    pub serving_voters: usize,
    /// `voters / 2 + 1`.
    pub majority: usize,
    /// A serving leader (or standalone) and a serving majority of voters.
    pub quorum: bool,
    pub election_in_progress: bool,
    /// Members claiming leadership with a majority-looking view, when more than one.
    pub split_brain: Vec<MemberId>,
    pub lagging: Vec<MemberId>,
    pub overloaded: Vec<MemberId>,
    /// Sorted by [`FaultKey`].
    pub faults: Vec<Fault>,
}

impl EnsembleAssessment {
    pub fn health(&self) -> Health {
        if !self.quorum {
            Health::NoQuorum
        } else if self.faults.is_empty() {
            Health::Healthy
        } else {
            Health::Degraded
        }
    }

    pub fn member(&self, id: MemberId) -> Option<&MemberAssessment> {
        self.members.iter().find(|m| m.id == id)
    }

    pub fn fault_keys(&self) -> impl Iterator<Item = FaultKey> + '_ {
        self.faults.iter().map(Fault::key)
    }

    pub fn has_fault(&self, key: FaultKey) -> bool {
        self.fault_keys().any(|k| k == key)
    }

    /// Equal in everything that matters for Events and recovery: roles, serving, epochs,
    /// reasons, quorum, leader and the set of fault keys. Ignores zxids, lag and overload
    /// values, which change with every write.
    pub fn same_health(&self, other: &Self) -> bool {
        let members_equal = self.members.len() == other.members.len()
            && self.members.iter().zip(&other.members).all(|(a, b)| {
                (a.id, &a.name, &a.address, a.role, a.voter, a.serving)
                    == (b.id, &b.name, &b.address, b.role, b.voter, b.serving)
                    && (a.epoch, &a.reason, a.restarts) == (b.epoch, &b.reason, b.restarts)
            });
        members_equal
            && (
                self.leader,
                self.epoch,
                self.voters,
                self.serving_voters,
                self.majority,
            ) == (
                other.leader,
                other.epoch,
                other.voters,
                other.serving_voters,
                other.majority,
            )
            && (self.quorum, self.election_in_progress)
                == (other.quorum, other.election_in_progress)
            && self.fault_keys().eq(other.fault_keys())
    }
}
