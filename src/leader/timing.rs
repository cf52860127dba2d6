//! The clock of leader election: how long a lease lives, when it is renewed, how often the
//! leader re-reads it, and the retry backoff. Pure, so the rules are unit-tested.
use std::time::Duration;

/// Lease timing. The defaults give a takeover within about `duration` (+1 s of jitter) after
/// a leader crashes, and within `duration` after it shuts down and releases the lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseTiming {
    /// How long a lease stays valid after its last renewal (Lease `leaseDurationSeconds`).
    pub duration: Duration,
    /// The holder renews this long before expiry; also the clock skew the election
    /// tolerates between nodes (kube-lease-manager's `grace`).
    pub grace: Duration,
    /// How often the leader re-reads the Lease to confirm it still holds it.
    pub poll: Duration,
    /// The leader stops acting this long before the lease would expire by its own clock,
    /// so that a candidate with a slightly fast clock never overlaps with it.
    pub margin: Duration,
    /// How long work may take to finish after being told to stop at shutdown (while the
    /// lease is still held and renewed). After a loss, work gets only `margin`.
    pub stop_timeout: Duration,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(10),
            grace: Duration::from_secs(3),
            poll: Duration::from_secs(1),
            margin: Duration::from_secs(1),
            stop_timeout: Duration::from_secs(10),
        }
    }
}

impl LeaseTiming {
    /// Checks the relations the election relies on; kube-lease-manager panics on some of
    /// them, so they are rejected here with a message instead.
    pub fn validate(&self) -> Result<(), String> {
        let whole = |d: Duration| d.subsec_nanos() == 0 && d.as_secs() > 0;
        if !whole(self.duration) || !whole(self.grace) {
            return Err("lease duration and grace must be whole, positive seconds".into());
        }
        if self.grace >= self.duration {
            return Err("lease grace must be shorter than the lease duration".into());
        }
        if self.poll.is_zero() || self.margin.is_zero() {
            return Err("poll and margin must be positive".into());
        }
        // The leader renews at `duration - grace` and stops acting at `duration - margin`;
        // it needs at least one poll in between to see its renewal, or it steps down
        // on every renewal.
        if self.margin + self.poll >= self.grace {
            return Err(format!(
                "margin ({:?}) + poll ({:?}) must be shorter than grace ({:?})",
                self.margin, self.poll, self.grace
            ));
        }
        Ok(())
    }

    /// Timeout of one confirming read of the Lease: a read slower than two polls is as good
    /// as no answer, and the renewal deadline takes over.
    pub(crate) fn read_timeout(&self) -> Duration {
        self.poll * 2
    }
}

/// Doubling retry delay for API failures, so an unreachable or forbidding apiserver is
/// not hammered, and a recovered one is picked up within `max`.
#[derive(Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            next: min,
        }
    }

    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    pub(crate) fn reset(&mut self) {
        self.next = self.min;
    }
}
