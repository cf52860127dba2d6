//! The shared state of one stand-in ensemble: which members are up, who leads, the epoch
//! and zxid. Pure and synchronous; the member servers read it for every reply.
//!
//! Rules, simplified from ZooKeeper: a majority of the configured voters that have not
//! crashed serve, the highest live myid leads, and every leader change starts a new epoch
//! (zxid = epoch << 32). Each change of leadership bumps `term`, on which member servers
//! drop their client sessions, as ZooKeeper does when it leaves the serving state. A frozen
//! member keeps its role (a real ensemble would notice a frozen leader only after
//! syncLimit ticks; the stand-ins do not model that).

use std::collections::BTreeMap;
use std::time::Instant;

/// What was done to one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Process gone: nothing listens, connections closed.
    Crashed,
    /// Process stopped: connections stay open, nothing is answered.
    Frozen,
}

/// The role a member answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Leader,
    Follower,
    /// No quorum (or crashed): "not currently serving requests".
    NotServing,
}

/// What a member needs to render a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    pub myid: u64,
    pub role: Role,
    pub zxid: u64,
    /// Configured voters (`zk_quorum_size`).
    pub voters: usize,
    /// Followers that are up and following (leader only).
    pub synced_followers: usize,
    /// `(myid, host)` of every configured server, for `conf`.
    pub servers: Vec<(u64, String)>,
}

#[derive(Debug)]
pub struct EnsembleState {
    voters: usize,
    members: BTreeMap<u64, (String, Fault)>,
    leader: Option<u64>,
    epoch: u64,
    counter: u64,
    term: u64,
    started: Instant,
}

impl EnsembleState {
    /// An ensemble configured for `voters` members, none registered yet.
    pub fn new(voters: usize) -> Self {
        Self {
            voters: voters.max(1),
            members: BTreeMap::new(),
            leader: None,
            epoch: 0,
            counter: 0,
            term: 0,
            started: Instant::now(),
        }
    }

    /// A member's process starts (or restarts); `host` is what `conf` shows for it.
    pub fn join(&mut self, myid: u64, host: String) {
        self.members.insert(myid, (host, Fault::None));
        self.elect();
    }

    /// The member's pod is gone.
    pub fn leave(&mut self, myid: u64) {
        self.members.remove(&myid);
        self.elect();
    }

    pub fn set_fault(&mut self, myid: u64, fault: Fault) {
        if let Some(entry) = self.members.get_mut(&myid) {
            entry.1 = fault;
        }
        self.elect();
    }

    /// Advances the zxid as a committed write would.
    pub fn write(&mut self) {
        if self.leader.is_some() {
            self.counter += 1;
        }
    }

    /// Bumped on every change of leadership: sessions opened before are dropped.
    pub fn term(&self) -> u64 {
        self.term
    }

    pub fn uptime_ms(&self) -> u128 {
        self.started.elapsed().as_millis()
    }

    pub fn leader(&self) -> Option<u64> {
        self.leader
    }

    fn alive(&self) -> impl Iterator<Item = u64> + '_ {
        self.members
            .iter()
            .filter(|(_, (_, f))| *f != Fault::Crashed)
            .map(|(id, _)| *id)
    }

    fn elect(&mut self) {
        let alive: Vec<u64> = self.alive().collect();
        let quorum = alive.len() > self.voters / 2;
        let next = match self.leader {
            Some(l) if quorum && alive.contains(&l) => Some(l),
            _ if quorum => alive.iter().max().copied(),
            _ => None,
        };
        if next != self.leader {
            self.leader = next;
            self.term += 1;
            if next.is_some() {
                self.epoch += 1;
                self.counter = 0;
            }
        }
    }

    pub fn view(&self, myid: u64) -> MemberView {
        let fault = self.members.get(&myid).map(|(_, f)| *f);
        let role = match (self.leader, fault) {
            (_, None | Some(Fault::Crashed)) | (None, _) => Role::NotServing,
            (Some(l), _) if l == myid => Role::Leader,
            _ => Role::Follower,
        };
        let synced_followers = match role {
            Role::Leader => self
                .members
                .iter()
                .filter(|(id, (_, f))| **id != myid && *f == Fault::None)
                .count(),
            _ => 0,
        };
        MemberView {
            myid,
            role,
            zxid: (self.epoch << 32) | self.counter,
            voters: self.voters,
            synced_followers,
            servers: self
                .members
                .iter()
                .map(|(id, (host, _))| (*id, host.clone()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Members joined in order 1, 2, 3: 2 completes the majority and leads.
    fn three() -> EnsembleState {
        let mut e = EnsembleState::new(3);
        for id in 1..=3 {
            e.join(id, format!("zk-{}", id - 1));
        }
        assert_eq!(e.leader(), Some(2));
        e
    }

    #[test]
    fn a_majority_elects_the_highest_id() {
        let mut e = EnsembleState::new(3);
        e.join(1, "a".into());
        assert_eq!(e.view(1).role, Role::NotServing);
        e.join(2, "b".into());
        assert_eq!(e.leader(), Some(2));
        e.join(3, "c".into());
        // A member joining an ensemble with a leader follows it.
        assert_eq!(e.leader(), Some(2));
        assert_eq!(e.view(3).role, Role::Follower);
        assert_eq!(e.view(2).synced_followers, 2);
        assert_eq!(e.view(1).zxid, 1 << 32);
    }

    #[test]
    fn follower_crash_keeps_the_leader_and_epoch() {
        let mut e = three();
        let (leader, term) = (e.leader(), e.term());
        e.set_fault(1, Fault::Crashed);
        assert_eq!((e.leader(), e.term()), (leader, term));
        assert_eq!(e.view(1).role, Role::NotServing);
        assert_eq!(e.view(2).synced_followers, 1);
        e.set_fault(1, Fault::None);
        assert_eq!(e.view(2).synced_followers, 2);
    }

    #[test]
    fn leader_crash_elects_anew_and_majority_loss_stops_serving() {
        let mut e = three();
        e.set_fault(2, Fault::Crashed);
        assert_eq!(e.leader(), Some(3));
        assert_eq!(e.view(1).zxid >> 32, 2);
        e.set_fault(3, Fault::Crashed);
        assert_eq!(e.leader(), None);
        assert_eq!(e.view(1).role, Role::NotServing);
    }

    #[test]
    fn a_frozen_member_keeps_its_role_but_is_not_synced() {
        let mut e = three();
        e.set_fault(1, Fault::Frozen);
        assert_eq!(e.view(1).role, Role::Follower);
        assert_eq!(e.view(2).synced_followers, 1);
    }
}
