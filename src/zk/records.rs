//! Jute records for the reconfiguration client: addAuth, getData, reconfig, and the
//! `GetDataResponse` (data + `Stat`) that both getData and reconfig answer with. Pure.
//!
//! Layouts (ZooKeeper's `zookeeper.jute`; ustring/buffer = i32 length, -1 for null):
//! - `AuthPacket`: type i32 (0), scheme ustring, auth buffer; header xid -4, op 100.
//! - `GetDataRequest`: path ustring, watch bool; op 4.
//! - `ReconfigRequest`: joiningServers, leavingServers, newMembers ustrings,
//!   curConfigId i64 (-1 = don't check); op 16.
//! - `Stat`: czxid, mzxid, ctime, mtime i64; version, cversion, aversion i32;
//!   ephemeralOwner i64; dataLength, numChildren i32; pzxid i64 (68 bytes).
use super::ZkError;
use super::jute::{Reader, frame};

/// The xid ZooKeeper reserves for auth packets; their replies come back with it.
pub const AUTH_XID: i32 = -4;
/// Length of a reply header; a reply's record starts right after it.
pub const REPLY_HEADER_LEN: usize = 16;
const OP_GET_DATA: i32 = 4;
const OP_RECONFIG: i32 = 16;
const OP_AUTH: i32 = 100;

/// A znode's metadata, as every data reply carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    pub czxid: i64,
    /// The zxid of the last change; for `/zookeeper/config` it equals the config version.
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub data_length: i32,
    pub num_children: i32,
    pub pzxid: i64,
}

/// An `addAuth` request, length-prefixed.
pub fn encode_auth(scheme: &str, auth: &[u8]) -> Vec<u8> {
    let mut b = header(AUTH_XID, OP_AUTH);
    b.extend_from_slice(&0i32.to_be_bytes()); // type: unused by the server
    put_bytes(&mut b, Some(scheme.as_bytes()));
    put_bytes(&mut b, Some(auth));
    frame(&b)
}

/// A `getData` request without a watch, length-prefixed.
pub fn encode_get_data(xid: i32, path: &str) -> Vec<u8> {
    let mut b = header(xid, OP_GET_DATA);
    put_bytes(&mut b, Some(path.as_bytes()));
    b.push(0);
    frame(&b)
}

/// An incremental or whole-membership `reconfig` request, length-prefixed. Empty lists go
/// out as null strings, as the Java client sends them.
pub fn encode_reconfig(
    xid: i32,
    joining: &str,
    leaving: &str,
    new_members: &str,
    cur_config_id: i64,
) -> Vec<u8> {
    let mut b = header(xid, OP_RECONFIG);
    for s in [joining, leaving, new_members] {
        put_bytes(&mut b, (!s.is_empty()).then_some(s.as_bytes()));
    }
    b.extend_from_slice(&cur_config_id.to_be_bytes());
    frame(&b)
}

/// Decodes a `GetDataResponse` (the record after the reply header).
pub fn decode_data_and_stat(record: &[u8]) -> Result<(Vec<u8>, Stat), ZkError> {
    let mut r = Reader(record);
    let len = r.i32()?;
    let data = match usize::try_from(len) {
        Ok(n) => r.take(n)?.to_vec(),
        Err(_) => Vec::new(), // -1: null data
    };
    let stat = Stat {
        czxid: r.i64()?,
        mzxid: r.i64()?,
        ctime: r.i64()?,
        mtime: r.i64()?,
        version: r.i32()?,
        cversion: r.i32()?,
        aversion: r.i32()?,
        ephemeral_owner: r.i64()?,
        data_length: r.i32()?,
        num_children: r.i32()?,
        pzxid: r.i64()?,
    };
    Ok((data, stat))
}

fn header(xid: i32, op: i32) -> Vec<u8> {
    let mut b = Vec::with_capacity(64);
    b.extend_from_slice(&xid.to_be_bytes());
    b.extend_from_slice(&op.to_be_bytes());
    b
}

fn put_bytes(b: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => {
            // Our strings are short (paths, server lines); a 2 GiB one is a caller bug.
            let len = i32::try_from(s.len()).unwrap_or(i32::MAX);
            b.extend_from_slice(&len.to_be_bytes());
            b.extend_from_slice(s);
        }
        None => b.extend_from_slice(&(-1i32).to_be_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_layout() {
        let b = encode_auth("digest", b"super:pw");
        let body = &b[4..];
        assert_eq!(&b[..4], &(body.len() as i32).to_be_bytes());
        assert_eq!(&body[..8], &[255, 255, 255, 252, 0, 0, 0, 100]);
        assert_eq!(&body[12..16], &6i32.to_be_bytes());
        assert_eq!(&body[16..22], b"digest");
        assert_eq!(&body[22..26], &8i32.to_be_bytes());
        assert_eq!(&body[26..], b"super:pw");
    }

    #[test]
    fn reconfig_layout_uses_null_for_empty_lists() {
        let b = encode_reconfig(7, "", "4", "", 0x1_0000_0000);
        let body = &b[4..];
        assert_eq!(&body[..8], &[0, 0, 0, 7, 0, 0, 0, 16]);
        assert_eq!(&body[8..12], &(-1i32).to_be_bytes());
        assert_eq!(&body[12..17], &[0, 0, 0, 1, b'4']);
        assert_eq!(&body[17..21], &(-1i32).to_be_bytes());
        assert_eq!(&body[21..], &0x1_0000_0000i64.to_be_bytes());
    }

    #[test]
    fn get_data_layout() {
        let b = encode_get_data(3, "/zookeeper/config");
        assert_eq!(b.len(), 4 + 8 + 4 + 17 + 1);
        assert_eq!(b[b.len() - 1], 0);
    }

    #[test]
    fn data_and_stat_round_trip_and_truncation() {
        let mut rec = Vec::new();
        rec.extend_from_slice(&3i32.to_be_bytes());
        rec.extend_from_slice(b"abc");
        for v in [1i64, 0x1_0000_0002, 3, 4] {
            rec.extend_from_slice(&v.to_be_bytes());
        }
        for v in [5i32, 6, 7] {
            rec.extend_from_slice(&v.to_be_bytes());
        }
        rec.extend_from_slice(&8i64.to_be_bytes());
        rec.extend_from_slice(&3i32.to_be_bytes());
        rec.extend_from_slice(&0i32.to_be_bytes());
        rec.extend_from_slice(&9i64.to_be_bytes());
        let (data, stat) = decode_data_and_stat(&rec).unwrap();
        assert_eq!(data, b"abc");
        assert_eq!(
            (stat.mzxid, stat.aversion, stat.pzxid),
            (0x1_0000_0002, 7, 9)
        );
        for cut in 0..rec.len() {
            assert!(decode_data_and_stat(&rec[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = (i32::MAX).to_be_bytes().to_vec();
        huge.extend_from_slice(&[0; 8]);
        assert!(decode_data_and_stat(&huge).is_err());
    }
}
