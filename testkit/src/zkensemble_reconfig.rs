//! Growing a [`ZkEnsemble`] that runs with dynamic reconfiguration.
//!
//! ZooKeeper's procedure for adding a member: start the new server with a dynamic file
//! that holds the *committed* membership plus itself; it syncs with the leader as a
//! non-voting learner; then a client issues `reconfig -add` with its server line, which
//! the leader commits once a quorum of the new membership is synced. This module does
//! the first half; the test (or the operator) issues the reconfig.
use std::net::SocketAddr;

use crate::zkensemble::{
    Member, MemberState, ZkEnsemble, free_ports, server_line, write_member_files,
};

impl ZkEnsemble {
    /// Creates and starts member `max id + 1`, whose dynamic file is the `server.` lines
    /// of `committed` (the text of `/zookeeper/config`; `version=` is dropped) plus its
    /// own line. Returns its id; [`ZkEnsemble::server_line`] gives the line to add.
    pub fn start_joining_member(&mut self, committed: &str) -> u64 {
        assert!(
            self.opts.dynamic_reconfig,
            "members can join only an ensemble started with dynamic_reconfig"
        );
        let id = self.ids().into_iter().max().unwrap_or(0) + 1;
        let ports = free_ports(3);
        let own = server_line(id, &ports);
        let mut servers: Vec<String> = committed
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("server.") && !l.starts_with(&format!("server.{id}=")))
            .map(str::to_string)
            .collect();
        servers.push(own.clone());
        let dir = self.root.join(format!("member-{id}"));
        write_member_files(&self.opts, &dir, id, ports[0], &servers);
        self.members.push(Member {
            id,
            client: SocketAddr::from(([127, 0, 0, 1], ports[0])),
            dir,
            server_line: own,
            child: None,
            state: MemberState::Stopped,
        });
        self.start_member(id);
        id
    }
}
