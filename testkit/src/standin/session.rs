//! The client-session side of a stand-in member: ConnectRequest -> ConnectResponse, then
//! a reply header for every request (pings get xid -2 and the current zxid), as ZooKeeper's
//! `NIOServerCnxn`/`FinalRequestProcessor` do for a session that only pings.

use std::sync::atomic::{AtomicI64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::member::MemberCtx;
use super::replies::TICK_MS;

const OP_CLOSE_SESSION: i32 = -11;
/// ZooKeeper's ZUNIMPLEMENTED: the stand-ins keep no data tree.
const ERR_UNIMPLEMENTED: i32 = -6;
/// Requests here are tiny; anything larger is not a health session.
const MAX_FRAME: usize = 1024 * 1024;

static NEXT_SESSION: AtomicI64 = AtomicI64::new(1);

/// Serves one session whose ConnectRequest length prefix (`first_len`) was already read.
/// Returns when the client closes or asks to, or on any I/O error.
pub async fn serve(mut s: TcpStream, first_len: i32, ctx: &MemberCtx) -> std::io::Result<()> {
    let len = usize::try_from(first_len).unwrap_or(usize::MAX);
    if len > MAX_FRAME {
        return Ok(());
    }
    let mut req = vec![0u8; len];
    s.read_exact(&mut req).await?;
    ctx.gate().await?;
    if !ctx.serving() {
        // ZooKeeper closes a connection that asks for a session while it is not serving.
        return Ok(());
    }
    // protocolVersion i32, lastZxidSeen i64, timeOut i32, ...
    let requested = req
        .get(12..16)
        .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(0);
    let timeout = requested.clamp(2 * TICK_MS, 20 * TICK_MS);
    let id = ((ctx.myid as i64) << 56) | NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
    let mut body = Vec::with_capacity(37);
    body.extend_from_slice(&0i32.to_be_bytes());
    body.extend_from_slice(&timeout.to_be_bytes());
    body.extend_from_slice(&id.to_be_bytes());
    body.extend_from_slice(&16i32.to_be_bytes());
    body.extend_from_slice(&[0u8; 16]);
    body.push(0);
    write_frame(&mut s, &body).await?;
    ctx.count_sent();

    loop {
        let mut len = [0u8; 4];
        s.read_exact(&mut len).await?;
        let len = usize::try_from(i32::from_be_bytes(len)).unwrap_or(usize::MAX);
        if len > MAX_FRAME {
            return Ok(());
        }
        let mut req = vec![0u8; len];
        s.read_exact(&mut req).await?;
        ctx.count_received();
        ctx.gate().await?;
        let (xid, op) = match (req.get(0..4), req.get(4..8)) {
            (Some(x), Some(o)) => (
                i32::from_be_bytes([x[0], x[1], x[2], x[3]]),
                i32::from_be_bytes([o[0], o[1], o[2], o[3]]),
            ),
            _ => return Ok(()),
        };
        let err = match op {
            // ping (11) and closeSession: a plain OK header.
            11 | OP_CLOSE_SESSION => 0,
            _ => ERR_UNIMPLEMENTED,
        };
        let mut reply = Vec::with_capacity(16);
        reply.extend_from_slice(&xid.to_be_bytes());
        reply.extend_from_slice(&(ctx.view().zxid as i64).to_be_bytes());
        reply.extend_from_slice(&err.to_be_bytes());
        write_frame(&mut s, &reply).await?;
        ctx.count_sent();
        if op == OP_CLOSE_SESSION {
            return s.shutdown().await;
        }
    }
}

async fn write_frame(s: &mut TcpStream, body: &[u8]) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as i32).to_be_bytes());
    out.extend_from_slice(body);
    s.write_all(&out).await
}
