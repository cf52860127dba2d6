//! ZooKeeper wire: four-letter-word client, a minimal health session, and pure parsers.
//!
//! - [`FourLetterClient`]: `ruok`, `srvr`, `mntr`, `conf`, `isro` with bounded connect,
//!   read and reply size.
//! - [`HealthSession`]: a client session kept open for liveness (FIN/RST, pings).
//! - [`parse`]: pure parsers for 3.5-3.9 replies; they never panic on any input.
mod error;
mod four_letter;
pub mod jute;
pub mod parse;
mod session;

pub use error::{ZkError, ZkErrorKind};
pub use four_letter::{FourLetterClient, FourLetterWord, ProbeLimits};
pub use parse::{Conf, IsRo, Mntr, ServerMode, Srvr};
pub use session::{HealthSession, SessionConfig};
