//! Property tests: the four-letter-word and jute parsers never panic, whatever the bytes.
use proptest::prelude::*;
use zookeeper_operator::zk::parse::{self, ServerMode};

/// Lines that look like ZooKeeper output, mixed with noise, to reach deep parser paths.
fn zk_like_line() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("Mode".to_string()),
        Just("Zxid".to_string()),
        Just("Latency min/avg/max".to_string()),
        Just("Outstanding".to_string()),
        Just("zk_server_state".to_string()),
        Just("zk_learners".to_string()),
        Just("zk_avg_latency".to_string()),
        Just("server.1".to_string()),
        Just("version".to_string()),
        Just("serverId".to_string()),
        "[a-z_.]{0,12}",
    ];
    let sep = prop_oneof![Just(": "), Just("\t"), Just("="), Just(" ")];
    let value = prop_oneof![
        Just("leader".to_string()),
        Just("0x100000000".to_string()),
        Just("0/0.0/0".to_string()),
        Just("1.5E7".to_string()),
        Just("-1".to_string()),
        Just("[::1]:2888:3888:observer;2181".to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        ".{0,24}",
    ];
    (key, sep, value).prop_map(|(k, s, v)| format!("{k}{s}{v}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        parse::parse_all(&bytes);
    }

    #[test]
    fn zk_like_text_never_panics(lines in proptest::collection::vec(zk_like_line(), 0..40)) {
        let text = lines.join("\n");
        parse::parse_all(text.as_bytes());
    }

    #[test]
    fn zxid_round_trips(zxid in any::<u64>()) {
        prop_assert_eq!(parse::parse_zxid(&format!("0x{zxid:x}")).unwrap(), zxid);
        prop_assert_eq!(u64::from(parse::zxid_epoch(zxid)) << 32 | u64::from(parse::zxid_counter(zxid)), zxid);
    }

    #[test]
    fn srvr_fields_survive(zxid in any::<u64>(), outstanding in 0u64..1_000_000, nodes in 0u64..1_000_000) {
        let raw = format!(
            "Zookeeper version: 3.9.1\nLatency min/avg/max: 0/1.5/9\nReceived: 1\nSent: 1\nConnections: 2\nOutstanding: {outstanding}\nZxid: 0x{zxid:x}\nMode: follower\nNode count: {nodes}\n"
        );
        let s = parse::parse_srvr(&raw).unwrap();
        prop_assert_eq!(s.zxid, zxid);
        prop_assert_eq!(s.mode, ServerMode::Follower);
        prop_assert_eq!(s.outstanding, Some(outstanding));
        prop_assert_eq!(s.node_count, Some(nodes));
    }
}
