//! Property tests: ZooKeeper dynamic config text round-trips, and the parser never panics.
use proptest::prelude::*;
use zookeeper_operator::zk::{ClientAddr, DynamicConfig, Role, ServerSpec};

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,10}(\\.[a-z0-9-]{1,8}){0,3}",
        any::<[u8; 4]>().prop_map(|o| format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3])),
        any::<std::net::Ipv6Addr>().prop_map(|a| a.to_string()),
    ]
}

fn port() -> impl Strategy<Value = u16> {
    1u16..=u16::MAX
}

fn server(id: u64) -> impl Strategy<Value = ServerSpec> {
    let client = prop::option::of((prop::option::of(host()), port()))
        .prop_map(|c| c.map(|(host, port)| ClientAddr { host, port }));
    (host(), port(), port(), any::<bool>(), client).prop_map(move |(host, q, e, obs, client)| {
        ServerSpec {
            id,
            host,
            quorum_port: q,
            election_port: e,
            role: if obs {
                Role::Observer
            } else {
                Role::Participant
            },
            client,
        }
    })
}

fn config() -> impl Strategy<Value = DynamicConfig> {
    let ids = prop::collection::btree_set(0u64..300, 1..8);
    let servers = ids.prop_flat_map(|ids| {
        ids.into_iter()
            .map(server)
            .collect::<Vec<_>>()
            .prop_map(|v| v.into_iter().map(|s| (s.id, s)).collect())
    });
    (servers, prop::option::of(any::<u64>()))
        .prop_map(|(servers, version)| DynamicConfig { servers, version })
}

proptest! {
    #[test]
    fn render_then_parse_is_identity(c in config()) {
        prop_assert_eq!(DynamicConfig::parse(&c.render()).unwrap(), c.clone());
        for s in c.servers.values() {
            prop_assert_eq!(&ServerSpec::parse_line(&s.to_line()).unwrap(), s);
        }
        let servers_only = DynamicConfig::parse(&c.render_servers()).unwrap();
        prop_assert_eq!(servers_only.servers, c.servers);
        prop_assert_eq!(servers_only.version, None);
    }

    #[test]
    fn parse_never_panics_and_is_stable(text in "(server\\.[0-9]{1,3}=[a-z0-9.:\\[\\];|]{0,30}|version=[0-9a-fx]{0,17}|[ -~]{0,30})(\n(server\\.[0-9]{1,3}=[a-z0-9.:\\[\\];]{0,30}|[ -~]{0,20})){0,6}") {
        if let Ok(c) = DynamicConfig::parse(&text) {
            prop_assert_eq!(DynamicConfig::parse(&c.render()).unwrap(), c);
        }
    }
}
