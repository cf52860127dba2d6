//! PagerDuty, Opsgenie, Teams, Feishu, WeCom and the templated webhook against the
//! recording HTTP server: every field each vendor documents, checked one by one; the
//! signature recomputed here as the vendor does; credentials only from Secrets and never
//! in errors or Debug output; vendors' "HTTP 200 but failed" replies classified.
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use base64::Engine;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use zookeeper_operator::alerts::{Notification, Status};
use zookeeper_operator::api::ReceiverSpec;
use zookeeper_operator::notify::{
    NotifyError, ResolvedReceiver, SecretString, Sink, StaticSecrets, feishu::Feishu,
    pagerduty::PagerDuty, resolve, template::TemplateWebhook, wecom::WeCom,
};

use super::{Request, expected_fingerprint, fast, notification, reply, server};

fn receiver(name: &str, sink: Sink) -> ResolvedReceiver {
    ResolvedReceiver {
        name: name.into(),
        timeout: Duration::from_secs(5),
        sink,
    }
}

fn resolved() -> Notification {
    let mut n = notification();
    for a in &mut n.alerts {
        a.status = Status::Resolved;
        a.ends_at = Some(1_700_000_100);
    }
    n
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// The request whose body (or whose alert) belongs to `alertname`.
fn by_alertname<'a>(reqs: &'a [Request], pointer: &str, alertname: &str) -> &'a Request {
    reqs.iter()
        .find(|r| r.body.pointer(pointer).and_then(Value::as_str) == Some(alertname))
        .unwrap_or_else(|| panic!("no request for {alertname} at {pointer}"))
}

/// Resolves `spec` against `secrets` in namespace `prod`.
async fn resolved_from(spec: Value, secrets: &StaticSecrets) -> ResolvedReceiver {
    let spec: ReceiverSpec = serde_json::from_value(spec).expect("spec");
    resolve(&spec, &spec.name, "prod", secrets)
        .await
        .expect("resolves")
}

#[tokio::test]
async fn pagerduty_triggers_and_resolves_one_event_per_fingerprint() {
    let accepted = r#"{"status":"success","message":"Event processed","dedup_key":"x"}"#;
    let (url, rec) = server(vec![reply(202, accepted); 4]).await;
    let secrets = StaticSecrets::default().with("prod", "pd", "key", "R0UTINGKEY");
    let pd = resolved_from(
        json!({"name": "pager", "pagerduty": {"routingKeySecret": {"name": "pd", "key": "key"},
                                               "url": format!("{url}/v2/enqueue")}}),
        &secrets,
    )
    .await;
    assert!(!format!("{pd:?}").contains("R0UTINGKEY"), "{pd:?}");
    fast()
        .deliver(&pd, &notification())
        .await
        .expect("delivered");
    let reqs = rec.requests();
    assert_eq!(reqs.len(), 2, "one event per alert");
    let r = by_alertname(&reqs, "/payload/class", "MemberDown");
    assert_eq!(r.path_and_query, "/v2/enqueue");
    assert_eq!(r.headers["content-type"], "application/json");
    let b = &r.body;
    assert_eq!(
        keys(b),
        BTreeSet::from([
            "routing_key",
            "event_action",
            "dedup_key",
            "payload",
            "client",
            "client_url"
        ])
    );
    assert_eq!(b["routing_key"], "R0UTINGKEY");
    assert_eq!(b["event_action"], "trigger");
    let labels = json!({"alertname": "MemberDown", "cluster": "zk", "member": "zk-1",
                        "namespace": "prod", "severity": "warning"});
    let fingerprint = expected_fingerprint(&labels);
    assert_eq!(b["dedup_key"], fingerprint.as_str());
    assert_eq!(b["client"], "zookeeper-operator");
    assert_eq!(b["client_url"], "http://operator.example");
    let p = &b["payload"];
    assert_eq!(
        keys(p),
        BTreeSet::from([
            "summary",
            "source",
            "severity",
            "timestamp",
            "component",
            "group",
            "class",
            "custom_details"
        ])
    );
    assert_eq!(
        p["summary"],
        "MemberDown zk-1 in prod/zk: member 2 is down: connection refused"
    );
    assert_eq!(p["source"], "prod/zk/zk-1");
    assert_eq!(p["severity"], "warning");
    assert_eq!(p["timestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(p["component"], "zk-1");
    assert_eq!(p["group"], "prod/zk");
    assert_eq!(p["custom_details"]["labels"], labels);
    assert_eq!(
        p["custom_details"]["annotations"]["summary"],
        "member 2 is down: connection refused"
    );

    fast().deliver(&pd, &resolved()).await.expect("delivered");
    let reqs = rec.requests();
    assert_eq!(reqs.len(), 4);
    let resolves: Vec<&Value> = reqs[2..].iter().map(|r| &r.body).collect();
    for b in &resolves {
        assert_eq!(
            keys(b),
            BTreeSet::from(["routing_key", "event_action", "dedup_key"])
        );
        assert_eq!(b["event_action"], "resolve");
    }
    assert!(
        resolves
            .iter()
            .any(|b| b["dedup_key"] == fingerprint.as_str()),
        "the resolve closes the same dedup_key: {resolves:?}"
    );
}

#[tokio::test]
async fn pagerduty_defaults_to_its_endpoint_and_a_400_is_permanent_without_the_key() {
    let secrets = StaticSecrets::default().with("prod", "pd", "key", "R0UTINGKEY");
    let pd = resolved_from(
        json!({"name": "pager", "pagerduty": {"routingKeySecret": {"name": "pd", "key": "key"}}}),
        &secrets,
    )
    .await;
    match &pd.sink {
        Sink::PagerDuty(p) => assert_eq!(p.url, "https://events.pagerduty.com/v2/enqueue"),
        other => panic!("{other:?}"),
    }
    let (url, rec) = server(vec![reply(
        400,
        r#"{"status":"invalid event","message":"Event object is invalid"}"#,
    )])
    .await;
    let pd = receiver(
        "pager",
        Sink::PagerDuty(PagerDuty {
            url: format!("{url}/v2/enqueue"),
            routing_key: SecretString::new("R0UTINGKEY"),
        }),
    );
    let err = fast().deliver(&pd, &notification()).await.expect_err("400");
    assert_eq!(rec.requests().len(), 1, "a 400 is not retried");
    assert!(matches!(err, NotifyError::Rejected { .. }), "{err}");
    assert!(err.to_string().contains("Event object is invalid"), "{err}");
    assert!(!err.to_string().contains("R0UTINGKEY"), "{err}");
}

#[tokio::test]
async fn opsgenie_creates_by_alias_and_closes_through_the_close_endpoint() {
    let accepted = r#"{"result":"Request will be processed","took":0.1,"requestId":"r"}"#;
    let (url, rec) = server(vec![reply(202, accepted); 4]).await;
    let secrets = StaticSecrets::default().with("prod", "og", "key", "G3N1E");
    let og = resolved_from(
        json!({"name": "genie", "opsgenie": {"apiKeySecret": {"name": "og", "key": "key"},
                                             "apiUrl": url}}),
        &secrets,
    )
    .await;
    assert!(!format!("{og:?}").contains("G3N1E"), "{og:?}");
    fast()
        .deliver(&og, &notification())
        .await
        .expect("delivered");
    let reqs = rec.requests();
    assert_eq!(reqs.len(), 2);
    let fingerprint = expected_fingerprint(&json!({"alertname": "MemberDown", "cluster": "zk",
        "member": "zk-1", "namespace": "prod", "severity": "warning"}));
    let r = reqs
        .iter()
        .find(|r| r.body["alias"] == fingerprint.as_str())
        .expect("the MemberDown alert, by alias");
    assert_eq!(r.path_and_query, "/v2/alerts");
    assert_eq!(r.headers["authorization"], "GenieKey G3N1E");
    let b = &r.body;
    assert_eq!(
        keys(b),
        BTreeSet::from([
            "message",
            "alias",
            "description",
            "tags",
            "details",
            "entity",
            "source",
            "priority"
        ])
    );
    assert_eq!(
        b["message"],
        "MemberDown zk-1 in prod/zk: member 2 is down: connection refused"
    );
    assert!(b["message"].as_str().expect("message").chars().count() <= 130);
    assert!(
        b["description"]
            .as_str()
            .expect("description")
            .starts_with("FIRING MemberDown zk-1 (warning): member 2 is down"),
        "{b}"
    );
    assert_eq!(b["tags"], json!(["MemberDown", "warning", "prod", "zk"]));
    assert_eq!(b["details"]["member"], "zk-1");
    assert_eq!(
        b["details"]["summary"],
        "member 2 is down: connection refused"
    );
    assert_eq!(b["entity"], "prod/zk");
    assert_eq!(b["source"], "zookeeper-operator");
    assert_eq!(b["priority"], "P3", "warning is Opsgenie's default P3");

    fast().deliver(&og, &resolved()).await.expect("delivered");
    let reqs = rec.requests();
    assert_eq!(reqs.len(), 4);
    let close = reqs[2..]
        .iter()
        .find(|r| r.path_and_query.contains(&fingerprint))
        .expect("a close for the MemberDown alias");
    assert_eq!(
        close.path_and_query,
        format!("/v2/alerts/{fingerprint}/close?identifierType=alias")
    );
    assert_eq!(close.headers["authorization"], "GenieKey G3N1E");
    assert_eq!(
        close.body,
        json!({"source": "zookeeper-operator", "note": "resolved at 2023-11-14T22:15:00Z"})
    );
}

#[tokio::test]
async fn teams_gets_an_adaptive_card_message() {
    let (url, rec) = server(vec![reply(202, "")]).await;
    let secrets = StaticSecrets::default().with(
        "prod",
        "teams",
        "url",
        &format!("{url}/workflows/abc/triggers/manual/paths/invoke?sig=S1G"),
    );
    let teams = resolved_from(
        json!({"name": "chat", "teams": {"urlSecret": {"name": "teams", "key": "url"}}}),
        &secrets,
    )
    .await;
    assert!(!format!("{teams:?}").contains("S1G"));
    fast()
        .deliver(&teams, &notification())
        .await
        .expect("delivered");
    let reqs = rec.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].path_and_query,
        "/workflows/abc/triggers/manual/paths/invoke?sig=S1G"
    );
    let b = &reqs[0].body;
    assert_eq!(keys(b), BTreeSet::from(["type", "attachments"]));
    assert_eq!(b["type"], "message");
    let attachments = b["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 1);
    let a = &attachments[0];
    assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(a["contentUrl"], Value::Null);
    let card = &a["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(
        card["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    assert_eq!(card["version"], "1.4");
    let body = card["body"].as_array().expect("card body");
    assert_eq!(body.len(), 3, "a title and one block per alert");
    assert!(
        body.iter()
            .all(|b| b["type"] == "TextBlock" && b["wrap"] == true)
    );
    assert_eq!(
        body[0]["text"],
        "[FIRING:2] prod/zk: MemberDown, Overloaded"
    );
    assert_eq!(body[0]["color"], "Attention");
    assert!(
        body[1..].iter().any(|b| b["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("FIRING MemberDown zk-1 (warning): member 2 is down"))),
        "{body:?}"
    );
    let card = zookeeper_operator::notify::teams::payload(&resolved());
    assert_eq!(
        card["attachments"][0]["content"]["body"][0]["color"],
        "Good"
    );
}

fn feishu(url: &str, secret: Option<&str>) -> ResolvedReceiver {
    receiver(
        "lark",
        Sink::Feishu(Feishu {
            url: SecretString::new(format!("{url}/open-apis/bot/v2/hook/H00K")),
            signing_secret: secret.map(SecretString::new),
        }),
    )
}

const FEISHU_OK: &str = r#"{"code":0,"data":{},"msg":"success"}"#;

#[tokio::test]
async fn feishu_post_is_signed_as_feishu_verifies_it() {
    let (url, rec) = server(vec![reply(200, FEISHU_OK)]).await;
    fast()
        .deliver(&feishu(&url, Some("s3cret")), &notification())
        .await
        .expect("delivered");
    let reqs = rec.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path_and_query, "/open-apis/bot/v2/hook/H00K");
    let b = &reqs[0].body;
    assert_eq!(
        keys(b),
        BTreeSet::from(["timestamp", "sign", "msg_type", "content"])
    );
    assert_eq!(b["msg_type"], "post");
    let post = &b["content"]["post"]["zh_cn"];
    assert_eq!(post["title"], "[FIRING:2] prod/zk: MemberDown, Overloaded");
    let paragraphs = post["content"].as_array().expect("paragraphs");
    assert_eq!(paragraphs.len(), 2);
    assert!(paragraphs.iter().all(|p| p[0]["tag"] == "text"));
    // Feishu: timestamp in seconds (a string), at most an hour off.
    let ts: u64 = b["timestamp"]
        .as_str()
        .expect("timestamp is a string")
        .parse()
        .expect("seconds");
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(now.abs_diff(ts) < 60, "{ts} vs {now}");
    // sign = base64(HmacSHA256(key = "timestamp\nsecret", message = empty)).
    let mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(format!("{ts}\ns3cret").as_bytes())
        .expect("key");
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(b["sign"], expected.as_str());

    // Unsigned bots get neither field.
    let (url, rec) = server(vec![reply(200, FEISHU_OK)]).await;
    fast()
        .deliver(&feishu(&url, None), &notification())
        .await
        .expect("delivered");
    assert_eq!(
        keys(&rec.requests()[0].body),
        BTreeSet::from(["msg_type", "content"])
    );
}

#[tokio::test]
async fn feishu_code_in_a_200_decides_between_rejected_and_retry() {
    let (url, rec) = server(vec![reply(
        200,
        r#"{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}"#,
    )])
    .await;
    let err = fast()
        .deliver(&feishu(&url, Some("wrong")), &notification())
        .await
        .expect_err("sign mismatch");
    assert_eq!(rec.requests().len(), 1, "not retried");
    assert_eq!(err.reason(), "NotificationFailed");
    assert!(err.to_string().contains("19021"), "{err}");
    assert!(!err.to_string().contains("H00K"), "{err}");

    let (url, rec) = server(vec![
        reply(200, r#"{"code":11232,"msg":"frequency limited"}"#),
        reply(200, FEISHU_OK),
    ])
    .await;
    fast()
        .deliver(&feishu(&url, None), &notification())
        .await
        .expect("delivered after the rate limit");
    assert_eq!(rec.requests().len(), 2);
}

#[tokio::test]
async fn wecom_markdown_and_its_errcodes() {
    let (url, rec) = server(vec![
        reply(200, r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#),
        reply(200, r#"{"errcode":0,"errmsg":"ok"}"#),
    ])
    .await;
    let secrets = StaticSecrets::default().with(
        "prod",
        "wecom",
        "url",
        &format!("{url}/cgi-bin/webhook/send?key=W3C0M"),
    );
    let wecom = resolved_from(
        json!({"name": "wx", "wecom": {"urlSecret": {"name": "wecom", "key": "url"}}}),
        &secrets,
    )
    .await;
    fast()
        .deliver(&wecom, &notification())
        .await
        .expect("delivered after the rate limit");
    let reqs = rec.requests();
    assert_eq!(reqs.len(), 2, "45009 is retried");
    assert_eq!(reqs[1].path_and_query, "/cgi-bin/webhook/send?key=W3C0M");
    let b = &reqs[1].body;
    assert_eq!(keys(b), BTreeSet::from(["msgtype", "markdown"]));
    assert_eq!(b["msgtype"], "markdown");
    assert_eq!(keys(&b["markdown"]), BTreeSet::from(["content"]));
    let content = b["markdown"]["content"].as_str().expect("content");
    assert!(
        content.starts_with(
            "### <font color=\"warning\">[FIRING:2] prod/zk: MemberDown, Overloaded</font>\n"
        ),
        "{content}"
    );
    assert!(
        content.contains("> FIRING MemberDown zk-1 (warning)"),
        "{content}"
    );
    assert!(content.len() <= 4096);

    let (url, rec) = server(vec![reply(
        200,
        r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#,
    )])
    .await;
    let wecom = receiver(
        "wx",
        Sink::WeCom(WeCom {
            url: SecretString::new(format!("{url}/cgi-bin/webhook/send?key=W3C0M")),
        }),
    );
    let err = fast()
        .deliver(&wecom, &notification())
        .await
        .expect_err("bad key");
    assert_eq!(rec.requests().len(), 1);
    assert!(matches!(err, NotifyError::Rejected { .. }), "{err}");
    assert!(err.to_string().contains("93000"), "{err}");
    assert!(!err.to_string().contains("W3C0M"), "{err}");
}

#[tokio::test]
async fn templated_webhook_sends_the_users_body_for_an_sms_gateway() {
    let (url, rec) = server(vec![]).await;
    let secrets = StaticSecrets::default()
        .with("prod", "sms", "url", &format!("{url}/send"))
        .with("prod", "sms", "token", "T0KEN");
    let body = "to=%2B15550100&text={{ title | urlencode }}\
                {% for a in alerts %}&fp={{ a.fingerprint }}{% endfor %}";
    let sms = resolved_from(
        json!({"name": "sms", "template": {
            "urlSecret": {"name": "sms", "key": "url"},
            "bearerTokenSecret": {"name": "sms", "key": "token"},
            "contentType": "application/x-www-form-urlencoded",
            "headers": {"X-Gateway": "zk"},
            "body": body}}),
        &secrets,
    )
    .await;
    assert!(!format!("{sms:?}").contains("T0KEN"));
    fast()
        .deliver(&sms, &notification())
        .await
        .expect("delivered");
    let reqs = rec.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.path_and_query, "/send");
    assert_eq!(
        r.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(r.headers["authorization"], "Bearer T0KEN");
    assert_eq!(r.headers["x-gateway"], "zk");
    let n = notification();
    let expected = format!(
        "to=%2B15550100&text=%5BFIRING%3A2%5D%20prod/zk%3A%20MemberDown%2C%20Overloaded&fp={}&fp={}",
        n.alerts[0].fingerprint, n.alerts[1].fingerprint
    );
    assert_eq!(r.raw, expected);
}

#[tokio::test]
async fn templated_webhook_json_body_and_a_template_that_cannot_render() {
    let (url, rec) = server(vec![]).await;
    let json_body = r#"{"status": {{ status | tojson }}, "cluster": {{ cluster | tojson }},
 "summaries": [{% for a in alerts %}{{ a.annotations.summary | tojson }}{% if not loop.last %}, {% endif %}{% endfor %}]}"#;
    let hook = |body: &str| {
        receiver(
            "inhouse",
            Sink::Template(TemplateWebhook {
                url: SecretString::new(format!("{url}/in")),
                body: body.into(),
                content_type: "application/json".into(),
                bearer_token: None,
                headers: Default::default(),
            }),
        )
    };
    fast()
        .deliver(&hook(json_body), &notification())
        .await
        .expect("delivered");
    let b = &rec.requests()[0].body;
    assert_eq!(b["status"], "firing");
    assert_eq!(b["cluster"], "zk");
    let summaries: BTreeSet<&str> = b["summaries"]
        .as_array()
        .expect("summaries")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        summaries.contains("member 2 is down: connection refused"),
        "{b}"
    );
    // A template that fails at delivery is a setting to fix, not a retry.
    let err = fast()
        .deliver(&hook("{{ title | nosuchfilter }}"), &notification())
        .await
        .expect_err("cannot render");
    assert_eq!(err.reason(), "NotificationConfigInvalid", "{err}");
    assert_eq!(rec.requests().len(), 1, "nothing sent");
    // The same template is refused already when the receiver is resolved.
    let secrets = StaticSecrets::default().with("prod", "in", "url", "http://127.0.0.1:9/in");
    let spec: ReceiverSpec = serde_json::from_value(json!({"name": "inhouse", "template": {
        "urlSecret": {"name": "in", "key": "url"}, "body": "{% if %}"}}))
    .expect("spec");
    let err = resolve(&spec, "inhouse", "prod", &secrets)
        .await
        .expect_err("syntax");
    assert_eq!(err.reason(), "NotificationConfigInvalid");
    assert!(err.to_string().contains("template body: line 1"), "{err}");
}
