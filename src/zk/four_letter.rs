//! Async four-letter-word client: one TCP connection per command, as ZooKeeper expects
//! (it answers, then closes). Every step is bounded: connect timeout, one read deadline
//! for the whole reply, and a maximum reply size.
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

use super::ZkError;
use super::parse::{self, Conf, IsRo, Mntr, Srvr};

/// The commands the operator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FourLetterWord {
    Ruok,
    Srvr,
    Mntr,
    Conf,
    Isro,
}

impl FourLetterWord {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ruok => "ruok",
            Self::Srvr => "srvr",
            Self::Mntr => "mntr",
            Self::Conf => "conf",
            Self::Isro => "isro",
        }
    }
}

/// Bounds for one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeLimits {
    pub connect_timeout: Duration,
    /// Deadline for the whole reply, from the moment the command is sent.
    pub read_timeout: Duration,
    /// `mntr` on 3.8 is ~20 KiB; anything near this limit is not ZooKeeper.
    pub max_response_bytes: usize,
}

impl Default for ProbeLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(1),
            read_timeout: Duration::from_secs(2),
            max_response_bytes: 1024 * 1024,
        }
    }
}

impl ProbeLimits {
    /// Same timeout for connect and read.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            connect_timeout: timeout,
            read_timeout: timeout,
            ..Self::default()
        }
    }
}

/// Sends four-letter words to one member.
#[derive(Debug, Clone)]
pub struct FourLetterClient {
    addr: SocketAddr,
    limits: ProbeLimits,
}

impl FourLetterClient {
    pub fn new(addr: SocketAddr, limits: ProbeLimits) -> Self {
        Self { addr, limits }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `word` and returns the raw reply text (lossy UTF-8).
    pub async fn send(&self, word: FourLetterWord) -> Result<String, ZkError> {
        let limits = self.limits;
        let mut stream = timeout(limits.connect_timeout, TcpStream::connect(self.addr))
            .await
            .map_err(|_| ZkError::Timeout {
                what: "connect",
                after: limits.connect_timeout,
            })?
            .map_err(|e| ZkError::from_connect(self.addr, e))?;
        // Latency matters more than batching for a 4-byte request.
        let _ = stream.set_nodelay(true);

        let deadline = Instant::now() + limits.read_timeout;
        let timed_out = || ZkError::Timeout {
            what: word.as_str(),
            after: limits.read_timeout,
        };
        timeout_at(deadline, stream.write_all(word.as_str().as_bytes()))
            .await
            .map_err(|_| timed_out())??;

        let mut reply = Vec::with_capacity(512);
        let mut chunk = [0u8; 8192];
        loop {
            let n = match timeout_at(deadline, stream.read(&mut chunk)).await {
                Err(_) => return Err(timed_out()),
                Ok(Ok(n)) => n,
                // ZooKeeper may reset instead of closing after a complete reply.
                Ok(Err(e))
                    if e.kind() == std::io::ErrorKind::ConnectionReset && !reply.is_empty() =>
                {
                    0
                }
                Ok(Err(e)) => return Err(e.into()),
            };
            if n == 0 {
                break;
            }
            if reply.len() + n > limits.max_response_bytes {
                return Err(ZkError::ResponseTooLarge {
                    limit: limits.max_response_bytes,
                });
            }
            reply.extend_from_slice(&chunk[..n]);
        }
        if reply.is_empty() {
            return Err(ZkError::Closed {
                what: word.as_str(),
            });
        }
        Ok(String::from_utf8_lossy(&reply).into_owned())
    }

    /// `Ok` when the member answered `imok` (it listens; says nothing about quorum).
    pub async fn ruok(&self) -> Result<(), ZkError> {
        parse::parse_ruok(&self.send(FourLetterWord::Ruok).await?)
    }

    pub async fn srvr(&self) -> Result<Srvr, ZkError> {
        parse::parse_srvr(&self.send(FourLetterWord::Srvr).await?)
    }

    pub async fn mntr(&self) -> Result<Mntr, ZkError> {
        parse::parse_mntr(&self.send(FourLetterWord::Mntr).await?)
    }

    pub async fn conf(&self) -> Result<Conf, ZkError> {
        parse::parse_conf(&self.send(FourLetterWord::Conf).await?)
    }

    pub async fn isro(&self) -> Result<IsRo, ZkError> {
        parse::parse_isro(&self.send(FourLetterWord::Isro).await?)
    }
}
