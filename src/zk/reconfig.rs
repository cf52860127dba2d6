//! An async client for ZooKeeper dynamic reconfiguration, authenticated as super.
//!
//! One connection to one member, one request at a time: the operator reads the committed
//! config (`get_config`), decides one membership change, and sends it with the config id
//! it read (`add_participant`, `remove`), so a concurrent change fails with `BadVersion`
//! instead of being overwritten. Any member accepts a reconfig (followers forward it to
//! the leader). Every step is time-bounded; nothing is retried here: the caller decides.
use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::{Instant, timeout};

use super::dynamic_config::{DynamicConfig, Role, ServerSpec};
use super::records::{self, AUTH_XID, REPLY_HEADER_LEN};
use super::{HealthSession, ReconfigError, SessionConfig, ZkError, digest, jute};

/// Where the committed configuration lives.
pub const CONFIG_NODE: &str = "/zookeeper/config";

/// How long each step may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconfigOptions {
    pub session: SessionConfig,
    /// Bound on one request's reply. A reconfig waits for the new config's quorum to
    /// commit, so allow more than a read.
    pub request_timeout: Duration,
}

impl Default for ReconfigOptions {
    fn default() -> Self {
        Self {
            session: SessionConfig {
                connect_timeout: Duration::from_secs(2),
                handshake_timeout: Duration::from_secs(3),
                // Long enough that a slow commit does not expire the session; pings keep
                // it alive meanwhile, and the server clamps it to 20 x tickTime anyway.
                session_timeout: Duration::from_secs(20),
            },
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The znode the operator writes to confirm the ensemble commits writes.
pub const CHECK_NODE: &str = "/zookeeper-operator";
/// ZooKeeper's NodeExists reply code.
const NODE_EXISTS: i32 = -110;

/// An authenticated session on one member.
#[derive(Debug)]
pub struct ReconfigClient {
    session: HealthSession,
    next_xid: i32,
    request_timeout: Duration,
}

impl ReconfigClient {
    /// Connects to `addr` and authenticates as `super` with `password`. ZooKeeper accepts
    /// any digest credential here; a wrong password shows up as `NoAuth` on reconfig.
    pub async fn connect(
        addr: SocketAddr,
        password: &str,
        opts: ReconfigOptions,
    ) -> Result<Self, ReconfigError> {
        let session = HealthSession::connect(addr, opts.session).await?;
        let mut client = Self {
            session,
            next_xid: 1,
            request_timeout: opts.request_timeout,
        };
        let auth = records::encode_auth("digest", &digest::super_auth(password));
        client.call(AUTH_XID, &auth, 0).await?;
        Ok(client)
    }

    /// Reads the committed config from this member's replica (it may lag the leader by a
    /// few transactions; the config id tells).
    pub async fn get_config(&mut self) -> Result<DynamicConfig, ReconfigError> {
        let xid = self.xid();
        let record = self
            .call(xid, &records::encode_get_data(xid, CONFIG_NODE), 0)
            .await?;
        parse_reply(&record)
    }

    /// Adds `server` as a voting member. It must already run with a dynamic file holding
    /// the current members plus itself, or the leader answers `NewConfigNoQuorum`.
    pub async fn add_participant(
        &mut self,
        server: &ServerSpec,
        expected_version: u64,
    ) -> Result<DynamicConfig, ReconfigError> {
        let line = ServerSpec {
            role: Role::Participant,
            ..server.clone()
        }
        .to_line();
        self.reconfig(&line, "", expected_version).await
    }

    /// Removes member `id` (a follower, an observer or the leader: the leader hands over).
    /// ZooKeeper does not check that `id` is a member: an unknown id commits the same
    /// servers under a new version, so only pass ids read from the config. Removing the
    /// leader often ends in [`ReconfigError::OutcomeUnknown`]; send it to a follower.
    pub async fn remove(
        &mut self,
        id: u64,
        expected_version: u64,
    ) -> Result<DynamicConfig, ReconfigError> {
        self.reconfig("", &id.to_string(), expected_version).await
    }

    /// A write committed through the ensemble: sets [`CHECK_NODE`] (creating it first,
    /// for the super user only) to `note`. Returns the zxid of the write. A scale-down
    /// shrinks the StatefulSet only after this succeeds on the remaining members.
    pub async fn write_check(&mut self, note: &str) -> Result<u64, ReconfigError> {
        let xid = self.xid();
        let create = records::encode_create(xid, CHECK_NODE, note.as_bytes());
        match self.call(xid, &create, 0).await {
            Ok(_) | Err(ReconfigError::Server(NODE_EXISTS)) => {}
            Err(e) => return Err(e),
        }
        let xid = self.xid();
        let record = self
            .call(
                xid,
                &records::encode_set_data(xid, CHECK_NODE, note.as_bytes()),
                0,
            )
            .await?;
        let stat = records::decode_stat(&record)?;
        Ok(u64::try_from(stat.mzxid).unwrap_or_default())
    }

    /// Best-effort closeSession.
    pub async fn close(self) {
        self.session.close().await;
    }

    async fn reconfig(
        &mut self,
        joining: &str,
        leaving: &str,
        expected_version: u64,
    ) -> Result<DynamicConfig, ReconfigError> {
        // -1 would mean "whatever the config is": never send it by accident.
        let cur = i64::try_from(expected_version).map_err(|_| {
            ReconfigError::BadArguments(format!("config version {expected_version:x} overflows"))
        })?;
        let xid = self.xid();
        let request = records::encode_reconfig(xid, joining, leaving, "", cur);
        let record = self
            .call(xid, &request, expected_version)
            .await
            .map_err(|e| match e {
                ReconfigError::Wire(e) => ReconfigError::OutcomeUnknown(e),
                other => other,
            })?;
        parse_reply(&record)
    }

    fn xid(&mut self) -> i32 {
        let xid = self.next_xid;
        // Positive xids only: negative ones are reserved (ping, auth, notification).
        self.next_xid = self.next_xid.checked_add(1).unwrap_or(1);
        xid
    }

    /// Sends one request and waits for its reply, pinging meanwhile so a slow commit does
    /// not expire the session. Returns the record after the reply header.
    async fn call(
        &mut self,
        xid: i32,
        request: &[u8],
        expected_version: u64,
    ) -> Result<Vec<u8>, ReconfigError> {
        self.session.write(request).await?;
        let deadline = Instant::now() + self.request_timeout;
        let ping_every = (self.session.negotiated_timeout / 3).max(Duration::from_millis(100));
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ZkError::Timeout {
                    what: "reconfig client request",
                    after: self.request_timeout,
                }
                .into());
            }
            let Ok(frame) = timeout(ping_every.min(left), self.session.next_frame("reply")).await
            else {
                self.session.send_ping().await?;
                continue;
            };
            let body = frame?;
            let header = jute::decode_reply_header(&body)?;
            if header.xid == jute::PING_XID || header.xid == -1 {
                continue; // ping reply or a watch notification: not ours
            }
            if header.xid != xid {
                return Err(ZkError::Malformed(format!(
                    "reply for xid {} while waiting for {xid}",
                    header.xid
                ))
                .into());
            }
            if header.err != 0 {
                return Err(ReconfigError::from_code(header.err, expected_version));
            }
            return Ok(body.get(REPLY_HEADER_LEN..).unwrap_or_default().to_vec());
        }
    }
}

fn parse_reply(record: &[u8]) -> Result<DynamicConfig, ReconfigError> {
    let (data, _stat) = records::decode_data_and_stat(record)?;
    let text =
        std::str::from_utf8(&data).map_err(|_| ZkError::Malformed("config is not UTF-8".into()))?;
    let config = DynamicConfig::parse(text)?;
    if config.version.is_none() {
        return Err(ZkError::Malformed("config without a version line".into()).into());
    }
    Ok(config)
}
