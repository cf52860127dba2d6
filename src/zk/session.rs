//! A minimal ZooKeeper client session used only as a liveness signal.
//!
//! Why: a four-letter-word connection is closed by the server after each reply, so it
//! cannot notice a crash between polls. A session stays open: a crashed process makes the
//! kernel send FIN/RST at once, a member that stops serving (election, lost quorum) closes
//! all client connections, and a frozen one stops answering pings. Ping replies also carry
//! the member's last processed zxid, so lag can be followed without extra probes.
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::ZkError;
use super::jute::{self, ReplyHeader};

/// How to open a health session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    pub connect_timeout: Duration,
    /// Bound on the ConnectRequest/ConnectResponse exchange.
    pub handshake_timeout: Duration,
    /// Requested session timeout; the server clamps it to [2, 20] x tickTime. Short is
    /// better: a session left behind by a dropped connection expires sooner.
    pub session_timeout: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(1),
            handshake_timeout: Duration::from_secs(2),
            session_timeout: Duration::from_secs(4),
        }
    }
}

/// An established session on one member.
#[derive(Debug)]
pub struct HealthSession {
    stream: TcpStream,
    buf: Vec<u8>,
    pub session_id: i64,
    pub negotiated_timeout: Duration,
}

impl HealthSession {
    /// Connects and completes the handshake. A member that is not serving closes the
    /// connection here, which surfaces as [`ZkError::Closed`].
    pub async fn connect(addr: SocketAddr, cfg: SessionConfig) -> Result<Self, ZkError> {
        let stream = timeout(cfg.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| ZkError::Timeout {
                what: "connect",
                after: cfg.connect_timeout,
            })?
            .map_err(|e| ZkError::from_connect(addr, e))?;
        let _ = stream.set_nodelay(true);
        let mut session = Self {
            stream,
            buf: Vec::with_capacity(256),
            session_id: 0,
            negotiated_timeout: Duration::ZERO,
        };
        let requested = i32::try_from(cfg.session_timeout.as_millis()).unwrap_or(i32::MAX);
        let handshake = async {
            session
                .stream
                .write_all(&jute::encode_connect_request(requested, false))
                .await?;
            let body = session.next_frame("session handshake").await?;
            jute::decode_connect_response(&body)
        };
        let response = timeout(cfg.handshake_timeout, handshake)
            .await
            .map_err(|_| ZkError::Timeout {
                what: "session handshake",
                after: cfg.handshake_timeout,
            })??;
        if response.session_timeout_ms <= 0 {
            return Err(ZkError::Closed {
                what: "session refused",
            });
        }
        session.session_id = response.session_id;
        session.negotiated_timeout = Duration::from_millis(response.session_timeout_ms as u64);
        Ok(session)
    }

    /// Sends a ping; the reply arrives through [`Self::next_reply`].
    pub async fn send_ping(&mut self) -> Result<(), ZkError> {
        self.write(&jute::encode_ping()).await
    }

    /// Waits for the next reply. Cancel-safe: partial frames stay buffered.
    pub async fn next_reply(&mut self) -> Result<ReplyHeader, ZkError> {
        let body = self.next_frame("session").await?;
        jute::decode_reply_header(&body)
    }

    /// Best-effort closeSession so the member frees the session now, not at expiry.
    pub async fn close(mut self) {
        let _ = timeout(
            Duration::from_millis(200),
            self.stream.write_all(&jute::encode_close_session(1)),
        )
        .await;
    }

    /// Also the transport of the reconfiguration client, which reuses this handshake.
    pub(crate) async fn write(&mut self, bytes: &[u8]) -> Result<(), ZkError> {
        // A few bytes into an idle socket never block for long; the bound is for safety.
        timeout(Duration::from_secs(1), self.stream.write_all(bytes))
            .await
            .map_err(|_| ZkError::Timeout {
                what: "session write",
                after: Duration::from_secs(1),
            })??;
        Ok(())
    }

    /// The next whole frame body. Cancel-safe: partial frames stay buffered.
    pub(crate) async fn next_frame(&mut self, what: &'static str) -> Result<Vec<u8>, ZkError> {
        loop {
            if let Some(body) = jute::take_frame(&mut self.buf, jute::MAX_FRAME)? {
                return Ok(body);
            }
            let n = self
                .stream
                .read_buf(&mut self.buf)
                .await
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => {
                        ZkError::Closed { what }
                    }
                    _ => ZkError::Io(e),
                })?;
            if n == 0 {
                return Err(ZkError::Closed { what });
            }
        }
    }
}
