//! Jute records for the reconfiguration client: addAuth, getData, reconfig, create and
//! setData (the write that confirms a membership change), and the `GetDataResponse`
//! (data + `Stat`) that both getData and reconfig answer with. Pure.
//!
//! Layouts (ZooKeeper's `zookeeper.jute`; ustring/buffer = i32 length, -1 for null):
//! - `AuthPacket`: type i32 (0), scheme ustring, auth buffer; header xid -4, op 100.
//! - `GetDataRequest`: path ustring, watch bool; op 4.
//! - `ReconfigRequest`: joiningServers, leavingServers, newMembers ustrings,
//!   curConfigId i64 (-1 = don't check); op 16.
//! - `CreateRequest`: path ustring, data buffer, acl vector<ACL> (i32 count; each perms
//!   i32, id scheme ustring, id ustring), flags i32 (0 = persistent); op 1.
//! - `SetDataRequest`: path ustring, data buffer, version i32 (-1 = any); op 5; the
//!   reply is a `Stat`.
//! - `Stat`: czxid, mzxid, ctime, mtime i64; version, cversion, aversion i32;
//!   ephemeralOwner i64; dataLength, numChildren i32; pzxid i64 (68 bytes).
use super::ZkError;
use super::jute::{Reader, frame};

/// The xid ZooKeeper reserves for auth packets; their replies come back with it.
pub const AUTH_XID: i32 = -4;
/// Length of a reply header; a reply's record starts right after it.
pub const REPLY_HEADER_LEN: usize = 16;
const OP_CREATE: i32 = 1;
const OP_GET_DATA: i32 = 4;
const OP_SET_DATA: i32 = 5;
/// Every permission (READ, WRITE, CREATE, DELETE, ADMIN).
const PERMS_ALL: i32 = 31;
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

/// A `create` of a persistent node whose ACL gives every permission to the creator's
/// authenticated identity only (`auth` scheme: ZooKeeper's CREATOR_ALL_ACL).
pub fn encode_create(xid: i32, path: &str, data: &[u8]) -> Vec<u8> {
    let mut b = header(xid, OP_CREATE);
    put_bytes(&mut b, Some(path.as_bytes()));
    put_bytes(&mut b, Some(data));
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&PERMS_ALL.to_be_bytes());
    put_bytes(&mut b, Some(b"auth"));
    put_bytes(&mut b, Some(b""));
    b.extend_from_slice(&0i32.to_be_bytes());
    frame(&b)
}

/// A `setData` of any version, length-prefixed.
pub fn encode_set_data(xid: i32, path: &str, data: &[u8]) -> Vec<u8> {
    let mut b = header(xid, OP_SET_DATA);
    put_bytes(&mut b, Some(path.as_bytes()));
    put_bytes(&mut b, Some(data));
    b.extend_from_slice(&(-1i32).to_be_bytes());
    frame(&b)
}

/// Decodes a `Stat` alone (the `SetDataResponse` record).
pub fn decode_stat(record: &[u8]) -> Result<Stat, ZkError> {
    let mut r = Reader(record);
    stat(&mut r)
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
    Ok((data, stat(&mut r)?))
}

fn stat(r: &mut Reader<'_>) -> Result<Stat, ZkError> {
    Ok(Stat {
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
    })
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
    fn create_and_set_data_layouts() {
        let b = encode_create(2, "/x", b"v");
        let body = &b[4..];
        assert_eq!(&body[..8], &[0, 0, 0, 2, 0, 0, 0, 1]);
        assert_eq!(&body[8..14], &[0, 0, 0, 2, b'/', b'x']);
        assert_eq!(&body[14..19], &[0, 0, 0, 1, b'v']);
        assert_eq!(&body[19..23], &1i32.to_be_bytes(), "one ACL");
        assert_eq!(&body[23..27], &31i32.to_be_bytes());
        assert_eq!(&body[27..35], &[0, 0, 0, 4, b'a', b'u', b't', b'h']);
        assert_eq!(&body[35..39], &0i32.to_be_bytes(), "empty id");
        assert_eq!(&body[39..], &0i32.to_be_bytes(), "persistent");
        let b = encode_set_data(3, "/x", b"v");
        let body = &b[4..];
        assert_eq!(&body[..8], &[0, 0, 0, 3, 0, 0, 0, 5]);
        assert_eq!(&body[body.len() - 4..], &(-1i32).to_be_bytes());
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
