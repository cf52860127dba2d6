//! The probe command body against a real ensemble: exit codes and rendered content.
use std::time::{Duration, Instant};

use zk_testkit::zkensemble::ZkEnsemble;
use zookeeper_operator::observe::{probe_command, probe_ensemble, render_json, render_table};

const TIMEOUT: Duration = Duration::from_millis(800);

async fn wait_for_exit_code(addrs: &[String], code: i32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = probe_command(addrs, true, TIMEOUT).await.expect("probe");
        if got == code {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "exit code stayed {got}, wanted {code}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_reports_healthy_degraded_and_no_quorum() {
    let mut zk = ZkEnsemble::start(3);
    let leader = zk
        .wait_until_serving(Duration::from_secs(60))
        .unwrap_or_else(|| panic!("ensemble did not start:\n{}", zk.log(1)));
    let addrs: Vec<String> = zk.endpoints().iter().map(|(_, a)| a.to_string()).collect();

    wait_for_exit_code(&addrs, 0).await;
    assert_eq!(probe_command(&addrs, false, TIMEOUT).await.unwrap(), 0);

    let a = probe_ensemble(&addrs, TIMEOUT).await.unwrap();
    let table = render_table(&a);
    assert!(table.contains("health: healthy"), "{table}");
    assert!(
        table.contains("3/3 voters serving, majority 2: quorum"),
        "{table}"
    );
    let json = render_json(&a);
    assert_eq!(json["health"], "healthy");
    assert_eq!(json["exitCode"], 0);
    assert_eq!(json["leader"], leader);
    assert_eq!(json["members"].as_array().unwrap().len(), 3);
    assert!(
        json["members"][0]["zxid"]
            .as_str()
            .unwrap()
            .starts_with("0x")
    );

    let mut followers = zk.ids().into_iter().filter(|&id| id != leader);
    let (f1, f2) = (followers.next().unwrap(), followers.next().unwrap());
    zk.kill(f1);
    wait_for_exit_code(&addrs, 1).await;
    let a = probe_ensemble(&addrs, TIMEOUT).await.unwrap();
    assert!(render_table(&a).contains(&format!("MemberDown/{f1}")));

    zk.kill(f2);
    wait_for_exit_code(&addrs, 2).await;
    let json = render_json(&probe_ensemble(&addrs, TIMEOUT).await.unwrap());
    assert_eq!(json["health"], "no-quorum");
    assert_eq!(json["quorum"], false);

    assert!(probe_command(&[], false, TIMEOUT).await.is_err());
    assert!(
        probe_command(&["no-port".into()], false, TIMEOUT)
            .await
            .is_err()
    );
}
