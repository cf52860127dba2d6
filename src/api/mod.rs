//! CRD types: the only place the API's serde/schemars shapes live.
mod crd;
mod metrics;
mod notifications;
mod pdb;
mod receivers;
mod recovery;
mod recovery_state;
mod restart;
mod rollout;
mod scale;
mod spec;
mod status;

pub use crd::{CrdError, crd_json, crd_yaml, strip_cel_validations};
pub use metrics::*;
pub use notifications::*;
pub use pdb::{DEFAULT_MAX_UNAVAILABLE, PdbSpec};
pub use receivers::*;
pub use recovery_state::*;
pub use restart::RESTART_REQUESTED_AT_ANNOTATION;
pub use rollout::*;
pub use scale::*;
pub use spec::*;
pub use status::*;
