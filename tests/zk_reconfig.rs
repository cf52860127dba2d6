//! Dynamic reconfiguration against real ZooKeeper (Debian's 3.8): the `ReconfigClient`
//! grows an ensemble one member at a time, shrinks it followers first and the leader
//! last, and every refusal arrives as its typed error.
use std::process::Command;
use std::time::{Duration, Instant};

use zk_testkit::zkensemble::{EnsembleOptions, ZkEnsemble};
use zookeeper_operator::zk::digest::{generate_password, super_digest_property};
use zookeeper_operator::zk::{
    DynamicConfig, ReconfigClient, ReconfigError, ReconfigOptions, ServerSpec,
};

/// One ensemble at a time: JVM elections on 2 cores get flaky when crowded.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/zk_client.py");
const SERVE: Duration = Duration::from_secs(90);
/// Bound on each wait for a member to catch up; generous for a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(60);

fn reconfigurable(members: usize) -> (ZkEnsemble, String) {
    let password = generate_password().expect("os random");
    let zk = ZkEnsemble::start_with(EnsembleOptions::reconfigurable(
        members,
        &super_digest_property(&password),
    ));
    zk.wait_until_serving(SERVE)
        .unwrap_or_else(|| panic!("no leader; member 1 log:\n{}", zk.log(1)));
    (zk, password)
}

async fn connect(zk: &ZkEnsemble, id: u64, password: &str) -> ReconfigClient {
    ReconfigClient::connect(zk.client_addr(id), password, ReconfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("connect to member {id}: {e}"))
}

/// Polls every member in `ids` until its getConfig equals `want` (followers may lag).
async fn wait_all_agree(zk: &ZkEnsemble, ids: &[u64], password: &str, want: &DynamicConfig) {
    for &id in ids {
        let deadline = Instant::now() + WAIT;
        loop {
            let got = match ReconfigClient::connect(
                zk.client_addr(id),
                password,
                ReconfigOptions::default(),
            )
            .await
            {
                Ok(mut c) => c.get_config().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if got.as_ref() == Ok(want) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "member {id} config {got:?}, want {want:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The membership in the dynamic file that member `id`'s zoo.cfg names.
fn on_disk(zk: &ZkEnsemble, id: u64) -> std::collections::BTreeMap<u64, ServerSpec> {
    let cfg = std::fs::read_to_string(zk.dir(id).join("zoo.cfg")).expect("zoo.cfg");
    let file = cfg
        .lines()
        .find_map(|l| l.strip_prefix("dynamicConfigFile="))
        .expect("dynamicConfigFile line");
    // Named after the committed version, not the initial zoo.cfg.dynamic.
    assert!(file.contains(".dynamic."), "{file}");
    let text = std::fs::read_to_string(file).expect("dynamic file");
    DynamicConfig::parse(&text)
        .expect("dynamic file parses")
        .servers
}

/// Polls member `id` until its committed config is newer than `version`.
async fn wait_for_newer_config(
    zk: &ZkEnsemble,
    id: u64,
    password: &str,
    version: u64,
) -> DynamicConfig {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(mut c) =
            ReconfigClient::connect(zk.client_addr(id), password, ReconfigOptions::default()).await
            && let Ok(config) = c.get_config().await
            && config.version > Some(version)
        {
            return config;
        }
        assert!(
            Instant::now() < deadline,
            "member {id}: no config newer than {version:x}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_mode(zk: &ZkEnsemble, id: u64, want: &str) {
    let deadline = Instant::now() + WAIT;
    while zk.mode(id).as_deref() != Some(want) {
        assert!(
            Instant::now() < deadline,
            "member {id} mode {:?}, want {want}; log:\n{}",
            zk.mode(id),
            zk.log(id)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The member that joined must be synced before the leader accepts it: retry the
/// transient refusals, as the operator will.
async fn add_when_synced(
    client: &mut ReconfigClient,
    spec: &ServerSpec,
    version: u64,
) -> DynamicConfig {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match client.add_participant(spec, version).await {
            Ok(c) => return c,
            Err(e @ (ReconfigError::NewConfigNoQuorum | ReconfigError::ReconfigInProgress))
                if Instant::now() < deadline =>
            {
                eprintln!("add {}: {e}; retrying", spec.id);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("add {}: {e}", spec.id),
        }
    }
}

/// A write through a real client (kazoo) and a synced read from each member.
fn write_and_read_everywhere(zk: &ZkEnsemble, ids: &[u64], value: &str) {
    let hosts: Vec<String> = ids.iter().map(|&i| zk.client_addr(i).to_string()).collect();
    let run = |args: &[&str]| {
        let out = Command::new("/usr/bin/python3")
            .arg(CLIENT)
            .args(args)
            .output()
            .expect("run zk_client.py");
        assert!(
            out.status.success(),
            "zk_client {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    run(&["write", &hosts.join(","), "/reconfig-probe", value]);
    for host in &hosts {
        assert_eq!(
            run(&["read", host, "/reconfig-probe"]),
            value,
            "read from {host}"
        );
    }
}

#[tokio::test]
async fn grows_to_five_and_shrinks_to_three_leader_last() {
    let _serial = SERIAL.lock().await;
    let t0 = Instant::now();
    let (mut zk, pw) = reconfigurable(3);
    let mut client = connect(&zk, 1, &pw).await;
    let mut config = client.get_config().await.expect("get_config");
    assert_eq!(config.participants(), vec![1, 2, 3]);
    let initial = config.clone();

    for _ in 0..2 {
        let id = zk.start_joining_member(&config.render());
        let spec = ServerSpec::parse_line(&zk.server_line(id)).expect("testkit line");
        // What the operator must do too: the leader would also accept a joiner that is
        // not synced (a majority of the new config suffices), leaving a dead voter.
        wait_mode(&zk, id, "follower").await;
        let before = config.version.expect("version");
        config = add_when_synced(&mut client, &spec, before).await;
        assert!(config.version.expect("new version") > before);
        assert_eq!(config.servers.get(&id), Some(&spec));
        wait_all_agree(&zk, &zk.ids(), &pw, &config).await;
        wait_mode(&zk, id, "follower").await;
    }
    assert_eq!(config.participants(), vec![1, 2, 3, 4, 5]);
    write_and_read_everywhere(&zk, &zk.ids(), "five");

    // A change decided on an old read must not apply.
    let stale = initial.version.expect("version");
    match client.remove(5, stale).await {
        Err(e @ ReconfigError::BadVersion { .. }) => assert_eq!(e.reason(), "BadVersion"),
        other => panic!("stale version: {other:?}"),
    }
    assert_eq!(client.get_config().await.expect("get_config"), config);

    // Followers first: one follower leaves, then the leader.
    let leader = zk.leader().expect("one leader");
    let follower = *zk
        .ids()
        .iter()
        .rev()
        .find(|&&i| i != leader)
        .expect("a follower");
    let mut driver = connect(
        &zk,
        zk.ids()
            .into_iter()
            .find(|&i| i != leader && i != follower)
            .unwrap(),
        &pw,
    )
    .await;
    config = driver
        .remove(follower, config.version.expect("version"))
        .await
        .expect("remove follower");
    assert!(!config.servers.contains_key(&follower));
    zk.stop(follower);
    assert_eq!(zk.wait_for_leader(SERVE), Some(leader), "leader unchanged");

    let remaining: Vec<u64> = zk
        .ids()
        .into_iter()
        .filter(|&i| i != leader && i != follower)
        .collect();
    let before = config.version.expect("version");
    config = match driver.remove(leader, before).await {
        Ok(c) => c,
        // The member we talk to may drop its clients while it follows the new leader.
        Err(ReconfigError::OutcomeUnknown(e)) => {
            eprintln!("remove leader: {e}; reading the config again");
            wait_for_newer_config(&zk, remaining[0], &pw, before).await
        }
        Err(e) => panic!("remove leader: {e}"),
    };
    zk.stop(leader);
    assert_eq!(config.participants(), remaining);
    let new_leader = zk.wait_until_serving(SERVE).expect("a new leader");
    assert_ne!(new_leader, leader);
    assert!(remaining.contains(&new_leader));
    wait_all_agree(&zk, &remaining, &pw, &config).await;
    write_and_read_everywhere(&zk, &remaining, "three");

    // The write a scale-down confirms with, through the new leader: committed after the
    // new membership, and again once the node exists.
    let mut writer = connect(&zk, new_leader, &pw).await;
    let first = writer
        .write_check("member left")
        .await
        .expect("write commits");
    let second = writer
        .write_check("again")
        .await
        .expect("write commits again");
    writer.close().await;
    let version = config.version.expect("version");
    assert!(first > version, "{first:x} after the config {version:x}");
    assert!(second > first, "{second:x} after {first:x}");

    // The committed membership is on disk (what a restarted pod starts from): ZooKeeper
    // rewrote zoo.cfg to name zoo.cfg.dynamic.<version>. A restarted member rejoins.
    let restarted = *remaining.iter().find(|&&i| i != new_leader).unwrap();
    assert_eq!(on_disk(&zk, restarted), config.servers);
    zk.restart(restarted);
    wait_mode(&zk, restarted, "follower").await;
    wait_all_agree(&zk, &remaining, &pw, &config).await;
    eprintln!("grow/shrink took {:?}", t0.elapsed());
}

#[tokio::test]
async fn refusals_are_typed() {
    let _serial = SERIAL.lock().await;
    let (mut zk, pw) = reconfigurable(3);
    let config = connect(&zk, 2, &pw)
        .await
        .get_config()
        .await
        .expect("get_config");
    let version = config.version.expect("version");

    // Any digest credential is accepted at addAuth; only the super one may reconfigure.
    let mut wrong = connect(&zk, 2, "not-the-password").await;
    match wrong.remove(3, version).await {
        Err(e @ ReconfigError::NoAuth) => assert_eq!(e.reason(), "NoAuth"),
        other => panic!("wrong password: {other:?}"),
    }

    // ZooKeeper does not refuse removing an unknown member: it commits the same servers
    // under a new version. The caller must only remove ids it read from the config.
    let mut client = connect(&zk, 1, &pw).await;
    let noop = client.remove(99, version).await.expect("no-op remove");
    assert_eq!(noop.servers, config.servers);
    assert!(noop.version > config.version);
    let config = noop;
    let version = config.version.expect("version");

    // The leader accepts a new voter when a majority of the *new* config is synced, even
    // if the new voter itself is not (3 of 4 would do). With member 3 down, only 2 of 4
    // are synced: the new config has no quorum.
    zk.stop(3);
    zk.wait_for_leader(SERVE).expect("a leader among 1 and 2");
    let id = zk.start_joining_member(&config.render());
    let spec = ServerSpec::parse_line(&zk.server_line(id)).expect("testkit line");
    zk.stop(id);
    let mut client = connect(&zk, 1, &pw).await;
    match client.add_participant(&spec, version).await {
        Err(e @ ReconfigError::NewConfigNoQuorum) => assert!(e.is_transient()),
        other => panic!("add of a stopped member without a synced majority: {other:?}"),
    }
    assert_eq!(client.get_config().await.expect("get_config"), config);
}

#[tokio::test]
async fn reconfig_disabled_is_typed() {
    let _serial = SERIAL.lock().await;
    let zk = ZkEnsemble::start(3);
    zk.wait_until_serving(SERVE)
        .unwrap_or_else(|| panic!("no leader; member 1 log:\n{}", zk.log(1)));
    let mut client = connect(&zk, 1, "any").await;
    let config = client.get_config().await.expect("get_config");
    assert_eq!(config.participants(), vec![1, 2, 3]);
    match client.remove(3, config.version.expect("version")).await {
        Err(e @ ReconfigError::ReconfigDisabled) => assert_eq!(e.reason(), "ReconfigDisabled"),
        other => panic!("reconfig on a static ensemble: {other:?}"),
    }
}
