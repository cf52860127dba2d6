//! Human (table) and machine (JSON) renderings of an assessment.
use std::fmt::Write;

use serde_json::{Value, json};

use crate::health::EnsembleAssessment;

fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// A fixed-width table of members, then the ensemble verdict and its faults.
pub fn render_table(a: &EnsembleAssessment) -> String {
    let name_width = a
        .members
        .iter()
        .map(|m| m.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<4} {:<name_width$} {:<10} {:<7} {:<5} {:<18} {:<5} {:<8} REASON",
        "ID", "NAME", "ROLE", "SERVING", "VOTER", "ZXID", "EPOCH", "LAG"
    );
    for m in &a.members {
        let _ = writeln!(
            out,
            "{:<4} {:<name_width$} {:<10} {:<7} {:<5} {:<18} {:<5} {:<8} {}",
            m.id,
            m.name,
            m.role.as_str(),
            if m.serving { "yes" } else { "no" },
            if m.voter { "yes" } else { "no" },
            or_dash(m.zxid.map(|z| format!("{z:#x}"))),
            or_dash(m.epoch),
            or_dash(m.lag),
            m.reason.as_deref().unwrap_or("-"),
        );
    }
    let leader = match (a.leader, a.epoch) {
        (Some(l), Some(e)) => format!("leader {l} (epoch {e})"),
        (Some(l), None) => format!("leader {l}"),
        _ => "no leader".to_string(),
    };
    let _ = writeln!(
        out,
        "\nensemble: {leader}; {}/{} voters serving, majority {}: {}{}",
        a.serving_voters,
        a.voters,
        a.majority,
        if a.quorum { "quorum" } else { "NO QUORUM" },
        if a.election_in_progress {
            ", election in progress"
        } else {
            ""
        },
    );
    if a.faults.is_empty() {
        let _ = writeln!(out, "faults: none");
    } else {
        let _ = writeln!(out, "faults:");
        for f in &a.faults {
            let _ = writeln!(out, "  {:<28} {}", f.key().id(), f.message());
        }
    }
    let _ = writeln!(out, "health: {}", a.health().as_str());
    out
}

/// The same content as JSON (zxids as hex strings, since they exceed 2^53).
pub fn render_json(a: &EnsembleAssessment) -> Value {
    let members: Vec<Value> = a
        .members
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "name": m.name,
                "address": m.address,
                "role": m.role.as_str(),
                "voter": m.voter,
                "serving": m.serving,
                "zxid": m.zxid.map(|z| format!("{z:#x}")),
                "epoch": m.epoch,
                "lag": m.lag,
                "reason": m.reason,
                "restarts": m.restarts,
            })
        })
        .collect();
    let faults: Vec<Value> = a
        .faults
        .iter()
        .map(|f| json!({"id": f.key().id(), "reason": f.reason(), "message": f.message()}))
        .collect();
    json!({
        "health": a.health().as_str(),
        "exitCode": a.health().exit_code(),
        "leader": a.leader,
        "epoch": a.epoch,
        "voters": a.voters,
        "servingVoters": a.serving_voters,
        "majority": a.majority,
        "quorum": a.quorum,
        "electionInProgress": a.election_in_progress,
        "splitBrain": a.split_brain,
        "lagging": a.lagging,
        "overloaded": a.overloaded,
        "faults": faults,
        "members": members,
    })
}
