//! Crash-loop back-off as the kubelet does it: the first restart is immediate, then the
//! delay starts at `initial` and doubles up to `max`; a container that ran long enough
//! (2 x max) starts over.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Option<Duration>,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            next: None,
        }
    }

    /// Delay before the next restart, given how long the last run lasted.
    pub fn delay_after(&mut self, ran_for: Duration) -> Duration {
        if ran_for >= self.max * 2 {
            self.next = None;
        }
        let delay = self.next.unwrap_or(Duration::ZERO);
        self.next = Some(match self.next {
            None => self.initial,
            Some(d) => (d * 2).min(self.max),
        });
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immediate_then_doubling_then_capped_then_reset() {
        let s = Duration::from_secs;
        let mut b = Backoff::new(s(10), s(40));
        let short = s(1);
        let delays: Vec<_> = (0..5).map(|_| b.delay_after(short)).collect();
        assert_eq!(delays, vec![s(0), s(10), s(20), s(40), s(40)]);
        assert_eq!(
            b.delay_after(s(80)),
            s(0),
            "a long healthy run resets the back-off"
        );
    }
}
