//! ZooKeeper wire: four-letter-word client, a minimal health session, the dynamic
//! reconfiguration client, and pure parsers.
//!
//! - [`FourLetterClient`]: `ruok`, `srvr`, `mntr`, `conf`, `isro` with bounded connect,
//!   read and reply size.
//! - [`HealthSession`]: a client session kept open for liveness (FIN/RST, pings).
//! - [`ReconfigClient`]: getConfig and one-member-at-a-time reconfig as the super user.
//! - [`DynamicConfig`], [`digest`]: pure config text and super-user credential helpers.
//! - [`parse`]: pure parsers for 3.5-3.9 replies; they never panic on any input.
pub mod digest;
pub mod dynamic_config;
mod error;
mod four_letter;
pub mod jute;
pub mod parse;
mod reconfig;
mod reconfig_error;
pub mod records;
mod session;

pub use dynamic_config::{ClientAddr, ConfigParseError, DynamicConfig, Role, ServerSpec};
pub use error::{ZkError, ZkErrorKind};
pub use four_letter::{FourLetterClient, FourLetterWord, ProbeLimits};
pub use parse::{Conf, IsRo, Mntr, ServerMode, Srvr};
pub use reconfig::{CHECK_NODE, CONFIG_NODE, ReconfigClient, ReconfigOptions};
pub use reconfig_error::ReconfigError;
pub use session::{HealthSession, SessionConfig};
