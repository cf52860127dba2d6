//! Email against a real SMTP server process: plain delivery, STARTTLS and implicit TLS with
//! a private CA from the receiver's `caSecret` and AUTH from its `passwordSecret`, and
//! every way the connection must be refused (no STARTTLS, untrusted CA, wrong name, wrong
//! password, malformed bundle).
use std::time::Duration;

use serde_json::json;
use zookeeper_operator::api::{ReceiverSpec, SmtpTls};
use zookeeper_operator::notify::{
    Deliverer, NotifyError, ResolvedReceiver, SecretString, Sink, StaticSecrets, resolve,
};

use super::smtp_server::{Security, SmtpServer};
use super::test_ca::TestCa;
use super::{fast, notification};

const USER: &str = "zk-alerts";
const PASSWORD: &str = "pw-s3cr3t";

fn mail(
    port: u16,
    tls: SmtpTls,
    to: &[&str],
    credentials: Option<(String, SecretString)>,
) -> ResolvedReceiver {
    ResolvedReceiver {
        name: "mail".into(),
        timeout: Duration::from_secs(10),
        sink: Sink::Email {
            host: "127.0.0.1".into(),
            port,
            tls,
            from: "zookeeper-operator@example.com".into(),
            to: to.iter().map(|t| t.to_string()).collect(),
            credentials,
            extra_roots: Default::default(),
        },
    }
}

/// An email receiver as a user writes it, with the Secrets it names, resolved the way the
/// operator does; `ca` is the PEM in `caSecret` (none: the built-in roots only).
async fn resolved(port: u16, tls: &str, password: &str, ca: Option<&str>) -> ResolvedReceiver {
    let mut email = json!({
        "smarthost": format!("127.0.0.1:{port}"),
        "tls": tls,
        "from": "zookeeper-operator@example.com",
        "to": ["oncall@example.com"],
        "username": USER,
        "passwordSecret": {"name": "smtp", "key": "password"},
        "timeoutSeconds": 10,
    });
    let mut secrets = StaticSecrets::default().with("prod", "smtp", "password", password);
    if let Some(pem) = ca {
        email["caSecret"] = json!({"name": "smtp-ca", "key": "ca.crt"});
        secrets = secrets.with("prod", "smtp-ca", "ca.crt", pem);
    }
    let spec: ReceiverSpec =
        serde_json::from_value(json!({"name": "mail", "email": email})).expect("spec");
    resolve(&spec, "mail", "prod", &secrets)
        .await
        .expect("resolves")
}

/// One attempt: a refused handshake must fail at once, not after the retries.
fn once() -> Deliverer {
    let mut d = fast();
    d.policy.attempts = 1;
    d
}

fn assert_readable_alert(raw: &str) {
    assert!(
        raw.contains("Subject: [FIRING:2] prod/zk: MemberDown, Overloaded"),
        "{raw}"
    );
    assert!(
        raw.contains("FIRING MemberDown zk-1 (warning): member 2 is down: connection refused"),
        "{raw}"
    );
    assert!(raw.contains("  member = zk-1"), "{raw}");
    assert!(
        raw.contains("Sent by the ZooKeeper operator (http://operator.example)."),
        "{raw}"
    );
}

#[tokio::test]
async fn email_arrives_in_a_real_smtp_server() {
    let smtp = SmtpServer::start(Security::Plain, None).await;
    let receiver = mail(
        smtp.port,
        SmtpTls::None,
        &["oncall@example.com", "dba@example.com"],
        None,
    );
    fast()
        .deliver(&receiver, &notification())
        .await
        .expect("sent");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "one message for both recipients");
    let raw = &messages[0];
    assert_readable_alert(raw);
    assert!(
        raw.contains("From: zookeeper-operator@example.com"),
        "{raw}"
    );
    assert!(
        raw.contains("To: oncall@example.com, dba@example.com"),
        "{raw}"
    );
}

#[tokio::test]
async fn smtp_without_starttls_support_is_refused_when_required() {
    let smtp = SmtpServer::start(Security::Plain, None).await;
    let receiver = mail(
        smtp.port,
        SmtpTls::StartTls,
        &["oncall@example.com"],
        Some(("u".into(), SecretString::new(PASSWORD))),
    );
    let err = once()
        .deliver(&receiver, &notification())
        .await
        .expect_err("no STARTTLS offered");
    assert!(!err.to_string().contains(PASSWORD), "{err}");
    assert!(
        smtp.messages().is_empty(),
        "nothing may go in clear text when STARTTLS is required"
    );
}

#[tokio::test]
async fn starttls_with_a_private_ca_and_auth_from_the_secret_delivers() {
    let ca = TestCa::new("relay CA");
    let cert = ca.server_cert(&["127.0.0.1"]);
    let smtp = SmtpServer::start(Security::StartTls(&cert), Some((USER, PASSWORD))).await;
    let receiver = resolved(smtp.port, "StartTls", PASSWORD, Some(&ca.pem())).await;
    let debug = format!("{receiver:?}");
    assert!(!debug.contains(PASSWORD), "{debug}");
    assert!(debug.contains("ExtraRoots(1 certificates)"), "{debug}");
    fast()
        .deliver(&receiver, &notification())
        .await
        .expect("sent over STARTTLS with AUTH");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    assert_readable_alert(&messages[0]);
    assert!(
        messages[0].contains("To: oncall@example.com"),
        "{}",
        messages[0]
    );
}

#[tokio::test]
async fn implicit_tls_with_a_private_ca_and_auth_delivers() {
    let ca = TestCa::new("relay CA");
    let cert = ca.server_cert(&["127.0.0.1"]);
    let smtp = SmtpServer::start(Security::Implicit(&cert), Some((USER, PASSWORD))).await;
    // The CA among others, as a bundle file usually is.
    let bundle = format!("{}\n{}", TestCa::new("another CA").pem(), ca.pem());
    let receiver = resolved(smtp.port, "Tls", PASSWORD, Some(&bundle)).await;
    fast()
        .deliver(&receiver, &notification())
        .await
        .expect("sent over SMTPS with AUTH");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    assert_readable_alert(&messages[0]);
}

#[tokio::test]
async fn a_wrong_password_over_tls_is_rejected_for_good() {
    let ca = TestCa::new("relay CA");
    let cert = ca.server_cert(&["127.0.0.1"]);
    let smtp = SmtpServer::start(Security::StartTls(&cert), Some((USER, PASSWORD))).await;
    let receiver = resolved(smtp.port, "StartTls", "wrong-pw", Some(&ca.pem())).await;
    let err = fast()
        .deliver(&receiver, &notification())
        .await
        .expect_err("bad credentials");
    assert!(matches!(err, NotifyError::Rejected { .. }), "{err}");
    assert!(!err.to_string().contains("wrong-pw"), "{err}");
    assert!(smtp.messages().is_empty());
}

/// Refused before anything is sent: not delivered, transient (the server's certificate
/// may be fixed without touching the receiver), and the message says why.
async fn assert_refused(smtp: &SmtpServer, receiver: &ResolvedReceiver, case: &str) {
    let err = once()
        .deliver(receiver, &notification())
        .await
        .expect_err(case);
    assert!(
        matches!(err, NotifyError::Unavailable { .. }),
        "{case}: {err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("receiver mail") && text.contains("TLS certificate was refused"),
        "{case}: {text}"
    );
    assert!(text.contains("caSecret"), "{case}: {text}");
    assert!(!text.contains(PASSWORD), "{case}: {text}");
    assert!(smtp.messages().is_empty(), "{case}: delivered anyway");
}

#[tokio::test]
async fn a_server_whose_certificate_is_not_trusted_is_refused() {
    let ca = TestCa::new("relay CA");
    let cert = ca.server_cert(&["127.0.0.1"]);
    let starttls = SmtpServer::start(Security::StartTls(&cert), Some((USER, PASSWORD))).await;
    let implicit = SmtpServer::start(Security::Implicit(&cert), Some((USER, PASSWORD))).await;

    let public_roots_only = resolved(starttls.port, "StartTls", PASSWORD, None).await;
    assert_refused(&starttls, &public_roots_only, "no caSecret").await;
    let other_ca = TestCa::new("someone else's CA").pem();
    let wrong_ca = resolved(implicit.port, "Tls", PASSWORD, Some(&other_ca)).await;
    assert_refused(&implicit, &wrong_ca, "another CA").await;

    // Trusted CA, but the certificate names another host: the name is still checked.
    let localhost_only = ca.server_cert(&["localhost"]);
    let misnamed = SmtpServer::start(Security::StartTls(&localhost_only), None).await;
    let receiver = resolved(misnamed.port, "StartTls", PASSWORD, Some(&ca.pem())).await;
    let err = once()
        .deliver(&receiver, &notification())
        .await
        .expect_err("wrong name");
    assert!(
        err.to_string().contains("TLS certificate was refused"),
        "{err}"
    );
    assert!(misnamed.messages().is_empty());
}

#[tokio::test]
async fn a_malformed_ca_bundle_is_a_config_error_naming_the_secret_not_its_content() {
    let spec: ReceiverSpec = serde_json::from_value(json!({
        "name": "mail",
        "email": {"smarthost": "127.0.0.1:25", "from": "a@example.com", "to": ["b@example.com"],
                  "caSecret": {"name": "smtp-ca", "key": "ca.crt"}}
    }))
    .expect("spec");
    let bundle = "-----BEGIN CERTIFICATE-----\nc2VjcmV0LWlzaA==\n-----END CERTIFICATE-----\n";
    let secrets = StaticSecrets::default().with("prod", "smtp-ca", "ca.crt", bundle);
    let err = resolve(&spec, "mail", "prod", &secrets)
        .await
        .expect_err("not a certificate");
    assert!(matches!(err, NotifyError::Config { .. }), "{err}");
    assert_eq!(err.reason(), "NotificationConfigInvalid");
    let text = err.to_string();
    assert!(
        text.contains("receiver mail") && text.contains("caSecret prod/smtp-ca key ca.crt"),
        "{text}"
    );
    assert!(!text.contains("c2VjcmV0"), "{text}");

    let empty = StaticSecrets::default().with("prod", "smtp-ca", "ca.crt", "hello");
    let err = resolve(&spec, "mail", "prod", &empty)
        .await
        .expect_err("no certificate");
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
}
