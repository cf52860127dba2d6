//! A "process kubelet" for tests: registers a Node with a real apiserver, binds pending pods
//! to it and runs their containers as host processes, each pod in its own network namespace
//! (own IP on a per-kubelet bridge) and each container in its own mount/UTS/PID namespaces,
//! so a StatefulSet of ZooKeeper pods becomes a real ensemble on one machine.
//!
//! Needs root, iproute2, util-linux (`unshare`, `nsenter`) and Debian's `zookeeper`.

mod automount;
mod backoff;
mod binder;
mod cmd;
mod context;
mod dns;
mod downward;
mod env;
mod expand;
mod faults;
mod forwarder;
mod hosts;
mod image;
mod ipam;
mod lifecycle;
mod manager;
mod mounts;
mod names;
mod net;
mod node;
mod options;
mod pod_ctx;
mod pod_state;
mod pod_worker;
mod probe;
mod probe_action;
mod probe_runner;
mod process;
mod proctree;
mod pvc;
mod quantity;
mod refs;
mod registry;
mod reporter;
mod sandbox;
mod scheduling;
mod shim;
mod slot;
mod state_handle;
mod status;
mod supervisor;
mod termination;
mod token;
mod volume_files;
mod volumes;
mod wrapper;

pub use lifecycle::ProcessKubelet;
pub use options::KubeletOptions;
pub use slot::sweep_orphans;
