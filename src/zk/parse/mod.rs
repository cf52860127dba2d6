//! Pure parsers for four-letter-word replies. They never panic on any input: see the
//! property test in `tests/zk_parse_props.rs` and the fuzz target in `fuzz/`.
mod conf;
mod mntr;
mod mntr_metrics;
mod reply;
mod srvr;

pub use conf::{Conf, ConfiguredServer, PeerRole, parse_conf};
pub use mntr::{Mntr, mntr_pairs, parse_mntr};
pub use mntr_metrics::{MEMBER_METRICS, MemberMetric, member_metric};
pub use reply::{IsRo, NOT_SERVING, check_reply, parse_isro, parse_ruok};
pub use srvr::{Latency, ServerMode, Srvr, parse_srvr, parse_zxid, zxid_counter, zxid_epoch};

/// Runs every parser on the same bytes; for the fuzz target and property tests.
pub fn parse_all(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let _ = check_reply(&text);
    let _ = parse_ruok(&text);
    let _ = parse_isro(&text);
    let _ = parse_srvr(&text);
    let _ = parse_mntr(&text);
    let _ = parse_conf(&text);
    let _ = parse_zxid(&text);
    crate::zk::jute::decode_frame_for_fuzz(bytes);
}
