//! The few jute (ZooKeeper client wire protocol) records a health session needs, pure.
//!
//! Every packet is a big-endian `i32` length followed by the record:
//! - `ConnectRequest`: protocolVersion i32, lastZxidSeen i64, timeOut i32, sessionId i64,
//!   passwd buffer (i32 length + bytes), readOnly bool (1 byte).
//! - `ConnectResponse`: protocolVersion i32, timeOut i32, sessionId i64, passwd buffer,
//!   readOnly bool (absent from old servers). `timeOut <= 0` means the session was refused.
//! - a request: `RequestHeader` (xid i32, type i32) + body; ping is xid -2, type 11 with no
//!   body; closeSession is type -11.
//! - a reply: `ReplyHeader` (xid i32, zxid i64, err i32) + body. The ping reply carries the
//!   member's last processed zxid (`FinalRequestProcessor`), which makes pings a free zxid probe.
use crate::zk::ZkError;

pub const PING_XID: i32 = -2;
const OP_PING: i32 = 11;
const OP_CLOSE_SESSION: i32 = -11;
const PASSWORD_LEN: usize = 16;

/// Largest frame accepted from a member on a health session (replies here are tiny).
pub const MAX_FRAME: usize = 64 * 1024;

/// A `ConnectRequest` for a brand-new session, length-prefixed.
pub fn encode_connect_request(session_timeout_ms: i32, read_only: bool) -> Vec<u8> {
    let mut body = Vec::with_capacity(45);
    body.extend_from_slice(&0i32.to_be_bytes()); // protocolVersion
    body.extend_from_slice(&0i64.to_be_bytes()); // lastZxidSeen: we have seen nothing
    body.extend_from_slice(&session_timeout_ms.to_be_bytes());
    body.extend_from_slice(&0i64.to_be_bytes()); // sessionId 0 = new session
    body.extend_from_slice(&(PASSWORD_LEN as i32).to_be_bytes());
    body.extend_from_slice(&[0u8; PASSWORD_LEN]);
    body.push(u8::from(read_only));
    frame(&body)
}

/// A ping request, length-prefixed.
pub fn encode_ping() -> Vec<u8> {
    request_header(PING_XID, OP_PING)
}

/// A closeSession request, length-prefixed, so the member frees the session at once.
pub fn encode_close_session(xid: i32) -> Vec<u8> {
    request_header(xid, OP_CLOSE_SESSION)
}

fn request_header(xid: i32, op: i32) -> Vec<u8> {
    let mut body = Vec::with_capacity(8);
    body.extend_from_slice(&xid.to_be_bytes());
    body.extend_from_slice(&op.to_be_bytes());
    frame(&body)
}

pub(crate) fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as i32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Removes one complete frame body from the front of `buf`, if there is one.
pub fn take_frame(buf: &mut Vec<u8>, max: usize) -> Result<Option<Vec<u8>>, ZkError> {
    let Some(len) = buf.get(..4) else {
        return Ok(None);
    };
    let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
    let len = usize::try_from(len)
        .map_err(|_| ZkError::Malformed(format!("negative frame length {len}")))?;
    if len > max {
        return Err(ZkError::ResponseTooLarge { limit: max });
    }
    if buf.len() < 4 + len {
        return Ok(None);
    }
    let body = buf[4..4 + len].to_vec();
    buf.drain(..4 + len);
    Ok(Some(body))
}

/// The member's answer to our `ConnectRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    pub session_timeout_ms: i32,
    pub session_id: i64,
    pub read_only: bool,
}

pub fn decode_connect_response(body: &[u8]) -> Result<ConnectResponse, ZkError> {
    let mut r = Reader(body);
    let protocol_version = r.i32()?;
    let session_timeout_ms = r.i32()?;
    let session_id = r.i64()?;
    let pw_len = r.i32()?;
    if pw_len > 0 {
        r.skip(pw_len as usize)?;
    }
    let read_only = r.u8().map(|b| b != 0).unwrap_or(false);
    Ok(ConnectResponse {
        protocol_version,
        session_timeout_ms,
        session_id,
        read_only,
    })
}

/// Header of every reply after the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyHeader {
    pub xid: i32,
    pub zxid: i64,
    pub err: i32,
}

pub fn decode_reply_header(body: &[u8]) -> Result<ReplyHeader, ZkError> {
    let mut r = Reader(body);
    Ok(ReplyHeader {
        xid: r.i32()?,
        zxid: r.i64()?,
        err: r.i32()?,
    })
}

/// A cursor over a record; every read checks the length first (no panics on any bytes).
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl Reader<'_> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&[u8], ZkError> {
        if self.0.len() < n {
            return Err(ZkError::Malformed("truncated jute record".into()));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    pub(crate) fn skip(&mut self, n: usize) -> Result<(), ZkError> {
        self.take(n).map(|_| ())
    }
    pub(crate) fn u8(&mut self) -> Result<u8, ZkError> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn i32(&mut self) -> Result<i32, ZkError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn i64(&mut self) -> Result<i64, ZkError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }
}

/// Feeds arbitrary bytes through the decoders; used by the fuzz target.
pub fn decode_frame_for_fuzz(bytes: &[u8]) {
    let mut buf = bytes.to_vec();
    while let Ok(Some(body)) = take_frame(&mut buf, MAX_FRAME) {
        let _ = decode_connect_response(&body);
        let _ = decode_reply_header(&body);
        let _ = super::records::decode_data_and_stat(body.get(16..).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_request_layout() {
        let b = encode_connect_request(4000, false);
        assert_eq!(b.len(), 4 + 45);
        assert_eq!(&b[..4], &45i32.to_be_bytes());
        assert_eq!(&b[16..20], &4000i32.to_be_bytes());
        assert_eq!(b[b.len() - 1], 0);
    }

    #[test]
    fn ping_layout() {
        assert_eq!(encode_ping(), [0, 0, 0, 8, 255, 255, 255, 254, 0, 0, 0, 11]);
    }

    #[test]
    fn frames_split_across_reads() {
        let mut reply = Vec::new();
        reply.extend_from_slice(&16i32.to_be_bytes());
        reply.extend_from_slice(&PING_XID.to_be_bytes());
        reply.extend_from_slice(&0x2_0000_0005i64.to_be_bytes());
        reply.extend_from_slice(&0i32.to_be_bytes());
        let mut buf = reply[..7].to_vec();
        assert_eq!(take_frame(&mut buf, MAX_FRAME).unwrap(), None);
        buf.extend_from_slice(&reply[7..]);
        let body = take_frame(&mut buf, MAX_FRAME).unwrap().unwrap();
        assert!(buf.is_empty());
        let h = decode_reply_header(&body).unwrap();
        assert_eq!((h.xid, h.zxid, h.err), (PING_XID, 0x2_0000_0005, 0));
    }

    #[test]
    fn rejects_huge_and_negative_lengths() {
        let mut buf = (MAX_FRAME as i32 + 1).to_be_bytes().to_vec();
        assert!(take_frame(&mut buf, MAX_FRAME).is_err());
        let mut buf = (-1i32).to_be_bytes().to_vec();
        assert!(take_frame(&mut buf, MAX_FRAME).is_err());
    }

    #[test]
    fn connect_response_with_and_without_read_only_flag() {
        let mut body = Vec::new();
        body.extend_from_slice(&0i32.to_be_bytes());
        body.extend_from_slice(&4000i32.to_be_bytes());
        body.extend_from_slice(&0x1234i64.to_be_bytes());
        body.extend_from_slice(&16i32.to_be_bytes());
        body.extend_from_slice(&[7u8; 16]);
        let r = decode_connect_response(&body).unwrap();
        assert_eq!(
            (r.session_timeout_ms, r.session_id, r.read_only),
            (4000, 0x1234, false)
        );
        body.push(1);
        assert!(decode_connect_response(&body).unwrap().read_only);
        assert!(decode_connect_response(&body[..10]).is_err());
    }
}
