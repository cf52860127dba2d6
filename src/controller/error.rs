//! A failed pass: the stage that failed, with its own error; each variant's reason is
//! the Warning Event's.
use super::act::ActError;
use super::gather::GatherError;
use super::memory::Poisoned;
use super::report::ReportError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Gather(#[from] GatherError),
    #[error(transparent)]
    Act(#[from] ActError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Memory(#[from] Poisoned),
}

impl Error {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Gather(e) => e.reason(),
            Self::Act(e) => e.reason(),
            Self::Report(e) => e.reason(),
            Self::Memory(_) => "MemoryPoisoned",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
