//! What goes out, in which order: the outbox's delivery rounds. A receiver hears
//! things in the order they happened, and nothing that stopped being true on the way
//! (see the invariants at `lifecycle::tell`).
use std::collections::BTreeMap;

use super::book::{AlertBook, AlertSnapshot, AlertState, Notification, Status, Told};

impl AlertBook {
    /// One delivery round's input: every receiver's due notifications, after
    /// [`compact`](Self::compact)ing each. A receiver hears things in the order they
    /// happened, so its list stops at its first notification not due yet: a postponed
    /// firing notice holds back the resolved notice queued after it (else the receiver
    /// would end with "firing" for an alert long resolved). Returns whether compacting
    /// changed the book (worth a write).
    pub fn due_by_receiver(&mut self, now: u64) -> (BTreeMap<String, Vec<Notification>>, bool) {
        let mut receivers: Vec<String> = Vec::new();
        for n in &self.outbox {
            if !receivers.contains(&n.receiver) {
                receivers.push(n.receiver.clone());
            }
        }
        let mut changed = false;
        let mut due = BTreeMap::new();
        for receiver in receivers {
            changed |= self.compact(&receiver);
            let now_due: Vec<Notification> = self
                .outbox
                .iter()
                .filter(|n| n.receiver == receiver)
                .take_while(|n| n.not_before <= now)
                .cloned()
                .collect();
            if !now_due.is_empty() {
                due.insert(receiver, now_due);
            }
        }
        (due, changed)
    }

    /// Withdraws what would tell `receiver` something no longer true, before a delivery
    /// round: queued firing notices of an episode that is over (a resolved notice for
    /// it is queued behind them, or the alert has resolved or started a new episode
    /// since: receivers without resolved notices get none queued). When the episode's
    /// first firing notice is withdrawn and cannot have reached the receiver, its
    /// resolved notice goes too (the receiver never knew). Returns whether anything
    /// changed.
    pub fn compact(&mut self, receiver: &str) -> bool {
        // (notification index, alert index) of each withdrawn snapshot.
        let mut withdrawn: Vec<(usize, usize)> = Vec::new();
        // Per fingerprint since its last queued resolved notice: the firing snapshots
        // still current, and whether this episode's first one is withdrawn or queued
        // and untold.
        let mut open: BTreeMap<String, (Vec<(usize, usize)>, bool)> = BTreeMap::new();
        for (i, n) in self.outbox.iter().enumerate() {
            if n.receiver != receiver {
                continue;
            }
            for (j, a) in n.alerts.iter().enumerate() {
                let entry = open.entry(a.fingerprint.clone()).or_default();
                match a.status {
                    Status::Firing => {
                        entry.1 |= !a.repeat && !n.maybe_delivered;
                        // A reminder behind a firing notice still queued adds nothing.
                        if self.stale(a) || (a.repeat && !entry.0.is_empty()) {
                            withdrawn.push((i, j));
                        } else {
                            entry.0.push((i, j));
                        }
                    }
                    Status::Resolved => {
                        let (firing, first_untold) = std::mem::take(entry);
                        withdrawn.extend(firing);
                        if first_untold {
                            withdrawn.push((i, j));
                        }
                    }
                }
            }
        }
        if withdrawn.is_empty() {
            return false;
        }
        for (i, n) in self.outbox.iter_mut().enumerate() {
            let mut j = 0;
            n.alerts.retain(|_| {
                let keep = !withdrawn.contains(&(i, j));
                j += 1;
                keep
            });
        }
        self.outbox.retain(|n| !n.alerts.is_empty());
        true
    }

    /// A queued firing notice whose episode is over: the alert resolved (and no longer
    /// flaps), or fires again since a later start.
    fn stale(&self, told: &AlertSnapshot) -> bool {
        match self.alerts.get(&told.fingerprint) {
            None => true,
            Some(alert) => {
                (alert.state == AlertState::Resolved && !alert.flapping)
                    || (!told.flapping && told.starts_at != alert.active_since)
            }
        }
    }

    /// Removes a notification the receiver took at `now`. Its firing alerts count as
    /// told from then: the repeat interval runs from when the receiver heard it, not
    /// from when it was queued.
    pub fn delivered(&mut self, id: u64, now: u64) -> Option<Notification> {
        let n = self.remove(id)?;
        for a in n.alerts.iter().filter(|a| a.status == Status::Firing) {
            if let Some(d) = self
                .alerts
                .get_mut(&a.fingerprint)
                .and_then(|alert| alert.delivered.get_mut(&n.receiver))
                && d.told != Told::Resolved
            {
                d.at = d.at.max(now);
            }
        }
        Some(n)
    }
}
