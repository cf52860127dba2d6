//! WeCom (WeChat Work) group robot, as WeCom's "群机器人配置说明" (group robot) doc
//! describes it: POST JSON `{msgtype: "markdown", markdown: {content}}` to
//! `.../cgi-bin/webhook/send?key=KEY`; `content` is at most 4096 bytes of UTF-8 and may
//! colour text with `<font color="warning|info|comment">`. Failures are HTTP 200 with
//! `errcode != 0`; 45009 is the robot's limit of 20 messages a minute.
use serde_json::{Value, json};

use super::error::NotifyError;
use super::http::Context;
use super::render::{line, title};
use super::secrets::SecretString;
use crate::alerts::{Notification, Status};

const MAX_CONTENT_BYTES: usize = 4096;
/// WeCom's "api freq out of limit": try again later.
const RATE_LIMITED: i64 = 45009;

#[derive(Debug, Clone, PartialEq)]
pub struct WeCom {
    pub url: SecretString,
}

impl WeCom {
    pub async fn send(&self, cx: &Context<'_>, n: &Notification) -> Result<(), NotifyError> {
        let reply = cx
            .send(cx.request(self.url.expose()).json(&payload(n)))
            .await?;
        let reply: Value = serde_json::from_str(&reply)
            .map_err(|_| cx.rejected("WeCom answered with no JSON".into()))?;
        let msg = reply.get("errmsg").and_then(Value::as_str).unwrap_or("");
        match reply.get("errcode").and_then(Value::as_i64) {
            Some(0) => Ok(()),
            Some(RATE_LIMITED) => {
                Err(cx.unavailable(format!("WeCom errcode {RATE_LIMITED}: {msg}")))
            }
            Some(code) => Err(cx.rejected(format!("WeCom errcode {code}: {msg}"))),
            None => Err(cx.rejected("WeCom answered without errcode".into())),
        }
    }
}

pub fn payload(n: &Notification) -> Value {
    // "warning" is WeCom's orange, "info" its green.
    let color = match n.status() {
        Status::Firing => "warning",
        Status::Resolved => "info",
    };
    let mut content = format!("### <font color=\"{color}\">{}</font>\n", title(n));
    for a in &n.alerts {
        content.push_str(&format!("> {}\n", line(a)));
    }
    json!({
        "msgtype": "markdown",
        "markdown": {"content": cut_bytes(&content, MAX_CONTENT_BYTES)},
    })
}

/// At most `max` bytes, cut at a character boundary, with `…` when cut.
pub fn cut_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let room = max.saturating_sub('…'.len_utf8());
    let end = (0..=room)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_bytes_keeps_utf8_whole_and_within_the_limit() {
        assert_eq!(cut_bytes("abc", 3), "abc");
        let s = "成员".repeat(2000); // 12000 bytes
        let cut = cut_bytes(&s, MAX_CONTENT_BYTES);
        assert!(cut.len() <= MAX_CONTENT_BYTES, "{}", cut.len());
        assert!(cut.ends_with('…'));
        assert!(
            cut.len() > MAX_CONTENT_BYTES - 6,
            "cut too much: {}",
            cut.len()
        );
    }
}
