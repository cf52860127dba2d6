//! Alertmanager-compatible fingerprints, so our ids match what receivers already dedupe on.
use std::collections::BTreeMap;

const OFFSET: u64 = 14_695_981_039_346_656_037;
const PRIME: u64 = 1_099_511_628_211;
const SEPARATOR: u8 = 0xff;

fn add(mut hash: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(PRIME);
    }
    hash
}

/// FNV-1a 64 over label names and values sorted by name, each followed by 0xff
/// (Prometheus' `labelSetToFingerprint`).
pub fn fingerprint_value(labels: &BTreeMap<String, String>) -> u64 {
    labels.iter().fold(OFFSET, |hash, (name, value)| {
        let hash = add(add(hash, name.as_bytes()), &[SEPARATOR]);
        add(add(hash, value.as_bytes()), &[SEPARATOR])
    })
}

/// The fingerprint as Alertmanager prints it: `%016x`.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    format!("{:016x}", fingerprint_value(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn matches_prometheus_vectors() {
        // From prometheus/common model/signature_test.go (same algorithm).
        assert_eq!(fingerprint_value(&labels(&[])), 14_695_981_039_346_656_037);
        assert_eq!(
            fingerprint_value(&labels(&[
                ("name", "garland, briggs"),
                ("fear", "love is not enough")
            ])),
            5_799_056_148_416_392_346
        );
    }

    #[test]
    fn printed_as_sixteen_hex_digits() {
        let f = fingerprint(&labels(&[("a", "b")]));
        assert_eq!(f.len(), 16);
        assert!(f.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(f, fingerprint(&labels(&[("a", "c")])));
        // The separator keeps "ab"+"c" apart from "a"+"bc".
        assert_ne!(
            fingerprint(&labels(&[("ab", "c")])),
            fingerprint(&labels(&[("a", "bc")]))
        );
    }
}
