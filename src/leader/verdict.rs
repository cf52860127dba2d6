//! Pure judgement of a Lease read back from the apiserver: may this identity act as leader,
//! and for how long?
//!
//! kube-lease-manager renews in the background and only reports a *change* it has seen;
//! while a renewal hangs or fails it keeps saying nothing. The leader therefore re-reads
//! the Lease itself and acts only until the last renewal it has seen would run out.
use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::LeaseSpec;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// We hold the lease and may act for `remaining` more (already minus the margin).
    Held { remaining: Duration },
    /// The lease names us but its last renewal is too old (or unreadable) to act on.
    Stale,
    /// Someone else holds the lease, or nobody.
    NotHeld { holder: Option<String> },
}

pub(crate) fn judge(
    spec: Option<&LeaseSpec>,
    identity: &str,
    now: SystemTime,
    margin: Duration,
) -> Verdict {
    let Some(spec) = spec else {
        return Verdict::NotHeld { holder: None };
    };
    if spec.holder_identity.as_deref() != Some(identity) {
        return Verdict::NotHeld {
            holder: spec.holder_identity.clone(),
        };
    }
    let (Some(renewed), Some(seconds)) = (&spec.renew_time, spec.lease_duration_seconds) else {
        return Verdict::Stale;
    };
    let Ok(seconds) = u64::try_from(seconds) else {
        return Verdict::Stale;
    };
    let renewed: SystemTime = renewed.0.into();
    let until = renewed + Duration::from_secs(seconds);
    match until.duration_since(now) {
        Ok(left) if left > margin => Verdict::Held {
            remaining: left - margin,
        },
        _ => Verdict::Stale,
    }
}
