//! Host sysctls the kubelet 1.20 changes on start (`setupKernelTunables`: it *sets* them
//! unless `--protect-kernel-defaults`, which refuses to start instead). Saved before the
//! kubelet starts and restored at teardown, so a test run leaves the machine as it was.

use serde::{Deserialize, Serialize};

use super::cmd;

const KEYS: [&str; 6] = [
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct SavedSysctls(Vec<(String, String)>);

impl SavedSysctls {
    pub(crate) fn save() -> SavedSysctls {
        SavedSysctls(
            KEYS.iter()
                .filter_map(|k| {
                    let v = cmd::run("sysctl", &["-n", k]).ok()?;
                    Some((k.to_string(), v.trim().to_string()))
                })
                .collect(),
        )
    }

    /// Writes back only what changed (a write of the same value is still a write).
    pub(crate) fn restore(&self) {
        for (k, v) in &self.0 {
            let now = cmd::run("sysctl", &["-n", k]).unwrap_or_default();
            if now.trim() != v {
                cmd::quietly("sysctl", &["-qw", &format!("{k}={v}")]);
            }
        }
    }
}
