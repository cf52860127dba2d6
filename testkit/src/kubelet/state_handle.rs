//! A container's view of its pod's record: updates notify the status reporter only when
//! something actually changed (no hot loop of identical patches).

use super::pod_state::{ContainerRecord, PodRecord};
use std::sync::Arc;
use tokio::sync::watch;

#[derive(Clone)]
pub struct StateHandle {
    pub tx: Arc<watch::Sender<PodRecord>>,
    pub init: bool,
    pub index: usize,
}

impl StateHandle {
    pub fn update(&self, f: impl FnOnce(&mut ContainerRecord)) {
        let (init, index) = (self.init, self.index);
        self.tx.send_if_modified(|rec| {
            let list = if init {
                &mut rec.init
            } else {
                &mut rec.containers
            };
            let Some(c) = list.get_mut(index) else {
                return false;
            };
            let before = c.clone();
            f(c);
            *c != before
        });
    }
}
