//! DingTalk custom robot: markdown messages, optional HMAC-SHA256 signing.
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use sha2::Sha256;

use super::render::{line, title};
use crate::alerts::Notification;

pub fn payload(n: &Notification) -> Value {
    let mut text = format!("### {}\n\n", title(n));
    for a in &n.alerts {
        text.push_str(&format!("- {}\n", line(a)));
    }
    json!({
        "msgtype": "markdown",
        "markdown": { "title": title(n), "text": text },
    })
}

/// `base64(HmacSHA256(key = secret, msg = "{timestamp_ms}\n{secret}"))`, as DingTalk
/// documents it (not yet URL-encoded).
pub fn signature(timestamp_ms: u128, secret: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The robot URL with `&timestamp=..&sign=..` appended.
pub fn signed_url(url: &str, timestamp_ms: u128, secret: &str) -> String {
    let sign = utf8_percent_encode(&signature(timestamp_ms, secret), NON_ALPHANUMERIC).to_string();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}timestamp={timestamp_ms}&sign={sign}")
}

/// DingTalk answers HTTP 200 even on failure; `errcode != 0` is the failure.
pub fn check_reply(body: &str) -> Result<(), String> {
    let reply: Value =
        serde_json::from_str(body).map_err(|_| "DingTalk answered with no JSON".to_string())?;
    match reply.get("errcode").and_then(Value::as_i64) {
        Some(0) => Ok(()),
        Some(code) => Err(format!(
            "DingTalk errcode {code}: {}",
            reply.get("errmsg").and_then(Value::as_str).unwrap_or("")
        )),
        None => Err("DingTalk answered without errcode".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_value() {
        // Computed with Python: base64(hmac.new(b"SECabc", b"1700000000000\nSECabc", sha256)).
        assert_eq!(
            signature(1_700_000_000_000, "SECabc"),
            "jcUpW0QmtKduN03n4JqQ0PBosVjqnM8gU7fIIvsDmCM="
        );
        let url = signed_url("https://oapi.example/robot/send?access_token=t", 1, "s");
        assert!(
            url.starts_with("https://oapi.example/robot/send?access_token=t&timestamp=1&sign=")
        );
        assert!(!url.ends_with('='), "sign must be URL-encoded: {url}");
    }

    #[test]
    fn errcode_decides() {
        assert_eq!(check_reply(r#"{"errcode":0,"errmsg":"ok"}"#), Ok(()));
        assert!(
            check_reply(r#"{"errcode":310000,"errmsg":"sign not match"}"#)
                .is_err_and(|e| e.contains("310000") && e.contains("sign not match"))
        );
        assert!(check_reply("<html>").is_err());
    }
}
