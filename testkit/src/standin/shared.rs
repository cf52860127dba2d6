//! An [`EnsembleState`] shared by its member servers, with a `term` channel on which they
//! learn that leadership changed (and drop their sessions).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use super::ensemble::{EnsembleState, MemberView};

pub struct Ensemble {
    state: Mutex<EnsembleState>,
    term: watch::Sender<u64>,
}

impl Ensemble {
    pub fn new(voters: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(EnsembleState::new(voters)),
            term: watch::Sender::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, EnsembleState> {
        // The state stays consistent whatever panicked while holding it: every mutation
        // is a few field writes.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the state and tells the members if leadership changed.
    pub fn update<R>(&self, f: impl FnOnce(&mut EnsembleState) -> R) -> R {
        let mut state = self.lock();
        let result = f(&mut state);
        let term = state.term();
        drop(state);
        self.term.send_if_modified(|t| {
            let changed = *t != term;
            *t = term;
            changed
        });
        result
    }

    pub fn view(&self, myid: u64) -> MemberView {
        self.lock().view(myid)
    }

    pub fn leader(&self) -> Option<u64> {
        self.lock().leader()
    }

    pub fn subscribe_term(&self) -> watch::Receiver<u64> {
        self.term.subscribe()
    }
}
