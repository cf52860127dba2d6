//! Claims a slot (1..=250) for this kubelet with an advisory file lock. The kernel drops the
//! lock when the process dies, even on SIGKILL, so whoever claims the slot next knows any
//! netns/veth/bridge/dir carrying the slot's names is a leftover and sweeps it.

use super::cmd::run_sync;
use super::names::{MAX_SLOT, SlotNames, etc_netns_dir};
use anyhow::{Context, bail};
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

const LOCK_DIR: &str = "/run/zk-testkit";

/// A claimed slot; the claim lasts as long as this value (the lock file stays open).
#[derive(Debug)]
pub struct Slot {
    pub names: SlotNames,
    _lock: File,
}

impl Slot {
    /// Claims the first free slot, after sweeping what dead owners of any slot left behind.
    pub fn claim() -> anyhow::Result<Slot> {
        std::fs::create_dir_all(LOCK_DIR).with_context(|| format!("creating {LOCK_DIR}"))?;
        sweep_orphans();
        // Start from a pid-derived slot so parallel test binaries rarely contend.
        let start = (std::process::id() % u32::from(MAX_SLOT)) as u8;
        for i in 0..MAX_SLOT {
            let slot = (start + i) % MAX_SLOT + 1;
            if let Some(file) = try_lock(slot)? {
                let names = SlotNames::new(slot);
                sweep(&names);
                return Ok(Slot { names, _lock: file });
            }
        }
        bail!("all {MAX_SLOT} kubelet slots are taken")
    }

    /// Remembers a custom root dir so that a later sweep of this slot removes it too.
    pub fn record_root(&self, root: &Path) -> anyhow::Result<()> {
        std::fs::write(
            root_record(self.names.slot),
            root.as_os_str().as_encoded_bytes(),
        )
        .context("recording the kubelet root dir")
    }
}

/// The slot's lock, if nobody holds it.
fn try_lock(slot: u8) -> anyhow::Result<Option<File>> {
    let path = lock_path(slot);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: flock on a valid, owned descriptor; no memory is shared.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    Ok((rc == 0).then_some(file))
}

/// Sweeps every slot that has leftovers (netns, links, a recorded root dir) but no live
/// owner, i.e. whose lock is free. Returns the slots swept.
pub fn sweep_orphans() -> Vec<u8> {
    let mut candidates: Vec<u8> = Vec::new();
    if let Ok(list) = run_sync("ip", &["netns", "list"]) {
        candidates.extend(list.lines().filter_map(|l| slot_of(l, "zk", '-')));
    }
    if let Ok(links) = run_sync("ip", &["-o", "link", "show"]) {
        for name in links.lines().filter_map(link_name) {
            candidates.extend(slot_of(&name, "zkbr", '\0').or_else(|| slot_of(&name, "zk", 'h')));
        }
    }
    if let Ok(entries) = std::fs::read_dir(LOCK_DIR) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(n) = name
                .strip_prefix("slot-")
                .and_then(|r| r.strip_suffix(".root"))
            {
                candidates.extend(n.parse::<u8>().ok());
            }
        }
    }
    candidates.sort_unstable();
    candidates.dedup();
    candidates
        .into_iter()
        .filter(|&slot| {
            // Held only for the sweep; dropping the file releases the lock.
            let free = matches!(try_lock(slot), Ok(Some(_lock)));
            if free {
                sweep(&SlotNames::new(slot));
            }
            free
        })
        .collect()
}

/// `zk12-p3` with ("zk", '-') -> 12; `zkbr7` with ("zkbr", '\0') -> 7 (digits to the end).
fn slot_of(name: &str, prefix: &str, sep: char) -> Option<u8> {
    let rest = name.split_whitespace().next()?.strip_prefix(prefix)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = rest[digits.len()..].chars().next();
    let ok = match sep {
        '\0' => after.is_none(),
        c => after == Some(c),
    };
    if ok { digits.parse().ok() } else { None }
}

fn lock_path(slot: u8) -> PathBuf {
    PathBuf::from(format!("{LOCK_DIR}/slot-{slot}.lock"))
}

fn root_record(slot: u8) -> PathBuf {
    PathBuf::from(format!("{LOCK_DIR}/slot-{slot}.root"))
}

/// Removes every host object named after the slot: processes in its network namespaces,
/// the namespaces, veths, the bridge, /etc/netns entries and the root dir. Best effort:
/// each step logs and continues so one stuck object does not keep the others around.
pub fn sweep(names: &SlotNames) {
    sweep_host_objects(names);
    remove_root(names);
}

/// Everything but the root dir: processes, namespaces, links, /etc/netns entries.
pub fn sweep_host_objects(names: &SlotNames) {
    if let Ok(list) = run_sync("ip", &["netns", "list"]) {
        for ns in list.lines().filter_map(|l| l.split_whitespace().next()) {
            if ns.starts_with(&names.netns_prefix()) {
                remove_netns_sync(ns);
            }
        }
    }
    if let Ok(links) = run_sync("ip", &["-o", "link", "show"]) {
        for name in links.lines().filter_map(link_name) {
            if name.starts_with(&names.veth_prefix()) || name == names.bridge() {
                let _ = run_sync("ip", &["link", "del", &name]);
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir("/etc/netns") {
        for e in entries.flatten() {
            if e.file_name()
                .to_string_lossy()
                .starts_with(&names.netns_prefix())
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// The root dir (pods, PVC data, logs) and its record.
fn remove_root(names: &SlotNames) {
    let record = root_record(names.slot);
    let recorded = std::fs::read_to_string(&record).ok().map(PathBuf::from);
    for dir in recorded.into_iter().chain([names.default_root()]) {
        if dir.is_dir() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let _ = std::fs::remove_file(record);
}

/// Kills whatever still runs in a namespace, then deletes it and its /etc/netns dir.
pub fn remove_netns_sync(ns: &str) {
    if let Ok(pids) = run_sync("ip", &["netns", "pids", ns]) {
        for pid in pids
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            // SAFETY: plain kill(2); the pid comes from the kernel's list for this netns.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    let _ = run_sync("ip", &["netns", "del", ns]);
    let _ = std::fs::remove_dir_all(etc_netns_dir(ns));
}

/// `3: zk1h4@if2: <BROADCAST...` -> `zk1h4`.
fn link_name(line: &str) -> Option<String> {
    let name = line.split(": ").nth(1)?;
    Some(name.split('@').next()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::{link_name, slot_of};

    #[test]
    fn recognises_slot_names_only() {
        assert_eq!(slot_of("zk12-p3 (id: 4)", "zk", '-'), Some(12));
        assert_eq!(slot_of("zkbr7", "zkbr", '\0'), Some(7));
        assert_eq!(slot_of("zk7h12", "zk", 'h'), Some(7));
        assert_eq!(slot_of("zkbr7x", "zkbr", '\0'), None);
        assert_eq!(slot_of("zookeeper", "zk", '-'), None);
        assert_eq!(slot_of("zk999-p1", "zk", '-'), None, "not a u8 slot");
    }

    #[test]
    fn parses_link_names_with_and_without_peer_suffix() {
        assert_eq!(
            link_name("7: zk3h12@if6: <BROADCAST,MULTICAST> mtu 1500").as_deref(),
            Some("zk3h12")
        );
        assert_eq!(link_name("5: zkbr3: <BROADCAST>").as_deref(), Some("zkbr3"));
    }
}
