//! What becomes an alert: health faults and recovery verdicts, with identity and words.
use std::collections::BTreeMap;

use crate::api::Severity;
use crate::health::{Fault, MemberId};
use crate::recovery::Decision;

/// One active problem as alert input. Identity is `alertname` + `member` + `detail`;
/// the rest (severity aside) may change while the alert stays the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSource {
    pub alertname: String,
    pub member: Option<MemberId>,
    /// A further identity label (`what` of an overload), when one alertname can fire
    /// several times for one member.
    pub detail: Option<(String, String)>,
    pub severity: Severity,
    pub summary: String,
    pub description: String,
    /// Current values, shown as annotations (`value_lag`, ...).
    pub values: BTreeMap<String, String>,
}

impl AlertSource {
    fn new(alertname: &str, member: Option<MemberId>, severity: Severity, summary: String) -> Self {
        Self {
            alertname: alertname.to_string(),
            member,
            detail: None,
            severity,
            description: summary.clone(),
            summary,
            values: BTreeMap::new(),
        }
    }

    fn value(mut self, name: &str, value: impl ToString) -> Self {
        self.values.insert(name.to_string(), value.to_string());
        self
    }

    /// Every health fault is an alert; an election in progress is only `info`.
    pub fn from_fault(fault: &Fault) -> Self {
        let s = |sev| Self::new(fault.reason(), fault.key().member(), sev, fault.message());
        match fault {
            Fault::MemberDown { reason, .. } => s(Severity::Warning).value("reason", reason),
            Fault::QuorumLost => s(Severity::Critical),
            Fault::ElectionInProgress => s(Severity::Info),
            Fault::SplitBrainSuspected { leaders } => {
                s(Severity::Critical).value("leaders", format!("{leaders:?}"))
            }
            Fault::FollowerLagging { lag, .. } => s(Severity::Warning).value("lag", lag),
            Fault::Overloaded {
                what, value, limit, ..
            } => {
                let mut a = s(Severity::Warning)
                    .value("value", value)
                    .value("limit", limit);
                a.detail = Some(("what".into(), what.as_str().into()));
                a
            }
        }
    }

    /// Recovery verdicts people must act on: exhausted restarts and failures a restart
    /// cannot fix. Restarts, waits and pauses are the operator's own business.
    pub fn from_decision(decision: &Decision) -> Option<Self> {
        let member = decision.member();
        match decision {
            Decision::Exhausted {
                restarts, reason, ..
            } => {
                let mut a = Self::new(
                    "RecoveryExhausted",
                    member,
                    Severity::Critical,
                    format!("restarts do not help member {}", member.unwrap_or_default()),
                )
                .value("restarts", restarts);
                a.description = reason.clone();
                Some(a)
            }
            Decision::Report { problem, .. } => Some(Self::new(
                problem.event_reason(),
                member,
                Severity::Warning,
                problem.message(),
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::OverloadKind;

    #[test]
    fn faults_map_to_severities_and_values() {
        let down = AlertSource::from_fault(&Fault::MemberDown {
            member: 2,
            reason: "connection refused".into(),
        });
        assert_eq!(
            (down.alertname.as_str(), down.member, down.severity),
            ("MemberDown", Some(2), Severity::Warning)
        );
        assert_eq!(down.values["reason"], "connection refused");
        assert_eq!(
            AlertSource::from_fault(&Fault::QuorumLost).severity,
            Severity::Critical
        );
        let over = AlertSource::from_fault(&Fault::Overloaded {
            member: 1,
            what: OverloadKind::PendingSyncs,
            value: 12,
            limit: 10,
        });
        assert_eq!(
            over.detail,
            Some(("what".to_string(), "pending_syncs".to_string()))
        );
        assert_eq!(over.values["value"], "12");
    }

    #[test]
    fn only_actionable_decisions_alert() {
        let exhausted = Decision::Exhausted {
            member: 3,
            restarts: 5,
            reason: "5 restarts in 1h".into(),
        };
        let a = AlertSource::from_decision(&exhausted).expect("alerts");
        assert_eq!(
            (a.alertname.as_str(), a.severity),
            ("RecoveryExhausted", Severity::Critical)
        );
        assert_eq!(a.values["restarts"], "5");
        assert!(
            AlertSource::from_decision(&Decision::Blocked {
                member: 1,
                reason: "x".into()
            })
            .is_none()
        );
        assert!(AlertSource::from_decision(&Decision::None).is_none());
    }
}
