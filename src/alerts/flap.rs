//! Flap detection: a source that turns on and off often gets one "flapping" notice
//! instead of a stream of firing/resolved pairs.
use super::book::Alert;

/// Changes are counted in this window.
pub const FLAP_WINDOW_SECS: u64 = 600;
/// This many on/off changes within the window make an alert flap (two down/up cycles).
pub const FLAP_CHANGES: usize = 4;
/// A flapping alert is stable again after this long without a change.
pub const FLAP_QUIET_SECS: u64 = 300;

/// Records that the source turned on or off at `now`.
pub fn record_change(alert: &mut Alert, now: u64) {
    alert.changes.push(now);
}

/// Forgets old changes and updates the flapping flag. A flapping alert is stable again
/// [`FLAP_QUIET_SECS`] after its last change, even if the window still holds enough
/// changes (else it would take the whole window), and starts counting afresh.
pub fn update(alert: &mut Alert, now: u64) {
    alert
        .changes
        .retain(|t| now.saturating_sub(*t) < FLAP_WINDOW_SECS);
    if alert.flapping {
        let last = alert.changes.last().copied().unwrap_or(0);
        if now.saturating_sub(last) >= FLAP_QUIET_SECS {
            alert.flapping = false;
            alert.changes.clear();
        }
    } else if alert.changes.len() >= FLAP_CHANGES {
        alert.flapping = true;
    }
}
