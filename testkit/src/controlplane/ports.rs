//! Free loopback TCP ports for the components.
//!
//! Ports are drawn at random below the kernel's ephemeral range (32768+ by default): ports handed
//! out by `bind(:0)` come from that range, and so do the local ports of outgoing connections, so a
//! port picked there could be taken by some client socket before our server binds it. Ports
//! already handed out in this process are never reused; collisions with other processes are
//! possible but rare, and `ControlPlane::start` retries when a component cannot bind.

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Mutex;

use anyhow::{Result, bail};

const LOW: u16 = 15_000;
const HIGH: u16 = 32_000;

static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A random value; `RandomState` is seeded from the OS on every construction.
pub(crate) fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

/// A port that nothing listens on right now and that this process has not handed out before.
pub(crate) fn free_port() -> Result<u16> {
    let mut guard = HANDED_OUT.lock().unwrap_or_else(|p| p.into_inner());
    let used = guard.get_or_insert_with(HashSet::new);
    for _ in 0..1000 {
        let port = LOW + (random_u64() % u64::from(HIGH - LOW)) as u16;
        if used.contains(&port) {
            continue;
        }
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            used.insert(port);
            return Ok(port);
        }
    }
    bail!("no free TCP port found on 127.0.0.1 in {LOW}..{HIGH}")
}
