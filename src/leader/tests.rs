use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;

use super::LeaderState;
use super::timing::{Backoff, LeaseTiming};
use super::verdict::{Verdict, judge};

const MARGIN: Duration = Duration::from_secs(1);

fn at(seconds: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds as u64)
}

fn lease(holder: Option<&str>, renewed: Option<i64>, duration: Option<i32>) -> LeaseSpec {
    LeaseSpec {
        holder_identity: holder.map(String::from),
        renew_time: renewed.map(|s| MicroTime(Timestamp::from_second(s).expect("timestamp"))),
        lease_duration_seconds: duration,
        ..Default::default()
    }
}

#[test]
fn held_until_the_renewal_runs_out_minus_the_margin() {
    let spec = lease(Some("a"), Some(1000), Some(10));
    assert_eq!(
        judge(Some(&spec), "a", at(1003), MARGIN),
        Verdict::Held {
            remaining: Duration::from_secs(6)
        }
    );
    // Inside the margin we must already have stopped: a fast-clocked candidate may take over.
    assert_eq!(judge(Some(&spec), "a", at(1009), MARGIN), Verdict::Stale);
    assert_eq!(judge(Some(&spec), "a", at(1030), MARGIN), Verdict::Stale);
}

#[test]
fn another_holder_or_none_is_not_ours() {
    let theirs = lease(Some("b"), Some(1000), Some(10));
    assert_eq!(
        judge(Some(&theirs), "a", at(1001), MARGIN),
        Verdict::NotHeld {
            holder: Some("b".into())
        }
    );
    let released = lease(None, None, None);
    assert_eq!(
        judge(Some(&released), "a", at(1001), MARGIN),
        Verdict::NotHeld { holder: None }
    );
    assert_eq!(
        judge(None, "a", at(1001), MARGIN),
        Verdict::NotHeld { holder: None }
    );
}

#[test]
fn ours_without_a_usable_renewal_is_stale() {
    for spec in [
        lease(Some("a"), None, Some(10)),
        lease(Some("a"), Some(1000), None),
        lease(Some("a"), Some(1000), Some(-5)),
    ] {
        assert_eq!(judge(Some(&spec), "a", at(1001), MARGIN), Verdict::Stale);
    }
}

#[test]
fn default_timing_is_valid_and_bad_ones_are_refused() {
    assert_eq!(LeaseTiming::default().validate(), Ok(()));
    let base = LeaseTiming::default();
    let bad = [
        LeaseTiming {
            grace: base.duration,
            ..base
        },
        LeaseTiming {
            duration: Duration::from_millis(10_500),
            ..base
        },
        LeaseTiming {
            grace: Duration::ZERO,
            ..base
        },
        // A leader polling as slowly as it renews would step down at every renewal.
        LeaseTiming {
            poll: Duration::from_secs(2),
            ..base
        },
        LeaseTiming {
            margin: Duration::ZERO,
            ..base
        },
    ];
    for timing in bad {
        assert!(timing.validate().is_err(), "{timing:?} should be refused");
    }
}

#[test]
fn backoff_doubles_to_its_cap_and_resets() {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(3));
    let delays: Vec<_> = (0..5).map(|_| backoff.next_delay().as_millis()).collect();
    assert_eq!(delays, [500, 1000, 2000, 3000, 3000]);
    backoff.reset();
    assert_eq!(backoff.next_delay(), Duration::from_millis(500));
}

#[test]
fn only_a_known_role_is_ready() {
    assert!(!LeaderState::Unknown.knows_role());
    assert!(LeaderState::Following.knows_role());
    assert!(LeaderState::Leading.knows_role() && LeaderState::Leading.is_leading());
}
