//! Feishu / Lark custom bot, as Feishu's "Custom bot guide" documents it: POST JSON
//! `{msg_type: "post", content: {post: {zh_cn: {title, content: [[{tag: "text", text}]]}}}}`
//! to the hook URL; with signature verification on, the body also carries `timestamp`
//! (seconds, within an hour of Feishu's clock) and `sign` = base64(HMAC-SHA256 with key
//! `"{timestamp}\n{secret}"` over an empty message): unlike DingTalk, the secret goes
//! into the key and nothing is signed. Failures are HTTP 200 with `code != 0` (older
//! deployments answer `StatusCode`); 11232 is the bot's rate limit.
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::error::NotifyError;
use super::http::Context;
use super::render::{line, title};
use super::secrets::SecretString;
use crate::alerts::Notification;

/// Feishu's "frequency limited" code: try again later.
const RATE_LIMITED: i64 = 11232;

#[derive(Debug, Clone, PartialEq)]
pub struct Feishu {
    pub url: SecretString,
    pub signing_secret: Option<SecretString>,
}

impl Feishu {
    pub async fn send(&self, cx: &Context<'_>, n: &Notification) -> Result<(), NotifyError> {
        let mut body = payload(n);
        if let Some(secret) = &self.signing_secret {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            body["timestamp"] = json!(now.to_string());
            body["sign"] = json!(signature(now, secret.expose()));
        }
        let reply = cx.send(cx.request(self.url.expose()).json(&body)).await?;
        match check_reply(&reply) {
            Reply::Ok => Ok(()),
            Reply::RateLimited(detail) => Err(cx.unavailable(detail)),
            Reply::Failed(detail) => Err(cx.rejected(detail)),
        }
    }
}

/// A rich-text ("post") message: the title, then one paragraph per alert.
pub fn payload(n: &Notification) -> Value {
    let paragraphs: Vec<Value> = n
        .alerts
        .iter()
        .map(|a| json!([{"tag": "text", "text": line(a)}]))
        .collect();
    json!({
        "msg_type": "post",
        "content": {"post": {"zh_cn": {"title": title(n), "content": paragraphs}}},
    })
}

/// `base64(HmacSHA256(key = "{timestamp_s}\n{secret}", message = ""))`.
pub fn signature(timestamp_s: u64, secret: &str) -> String {
    let key = format!("{timestamp_s}\n{secret}");
    // HMAC accepts keys of any length, so this cannot fail.
    let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Ok,
    RateLimited(String),
    Failed(String),
}

/// Reads Feishu's answer to a 2xx: `code` (or the older `StatusCode`) 0 is success.
pub fn check_reply(body: &str) -> Reply {
    let Ok(reply) = serde_json::from_str::<Value>(body) else {
        return Reply::Failed("Feishu answered with no JSON".into());
    };
    let code = reply
        .get("code")
        .or_else(|| reply.get("StatusCode"))
        .and_then(Value::as_i64);
    let msg = reply
        .get("msg")
        .or_else(|| reply.get("StatusMessage"))
        .and_then(Value::as_str)
        .unwrap_or("");
    match code {
        Some(0) => Reply::Ok,
        Some(RATE_LIMITED) => Reply::RateLimited(format!("Feishu code {RATE_LIMITED}: {msg}")),
        Some(code) => Reply::Failed(format!("Feishu code {code}: {msg}")),
        None => Reply::Failed("Feishu answered without a code".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_value() {
        // Computed with Python, as Feishu's sample does:
        // base64(hmac.new(b"1599360473\ntest-secret", b"", sha256).digest()).
        assert_eq!(
            signature(1_599_360_473, "test-secret"),
            "wSds2BzzFIIGf/WrhUO+NI1q/9j+FRJd3JNHKAq0NZY="
        );
    }

    #[test]
    fn code_decides() {
        assert_eq!(
            check_reply(r#"{"code":0,"data":{},"msg":"success"}"#),
            Reply::Ok
        );
        assert_eq!(
            check_reply(r#"{"StatusCode":0,"StatusMessage":"success"}"#),
            Reply::Ok
        );
        assert!(matches!(
            check_reply(r#"{"code":19021,"msg":"sign match fail"}"#),
            Reply::Failed(d) if d.contains("19021") && d.contains("sign match fail")
        ));
        assert!(matches!(
            check_reply(r#"{"code":11232,"msg":"frequency limited"}"#),
            Reply::RateLimited(_)
        ));
        assert!(matches!(check_reply("<html>"), Reply::Failed(_)));
    }
}
