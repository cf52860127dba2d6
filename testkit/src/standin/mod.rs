//! A lightweight "stand-in kubelet" for benchmarks at scale: hundreds of ZooKeeper pods
//! without hundreds of JVMs.
//!
//! [`StandinKubelet`] registers a Ready Node, binds pods (Binding subresource), and for
//! each pod starts an in-process [`StandinMember`] on its own loopback address
//! (`127.S.x.y:2181`) before reporting the pod Running and Ready with that IP. Members of
//! one StatefulSet form one [`Ensemble`]: one leader, followers, consistent zxids. They
//! answer `ruok`, `srvr`, `stat`, `mntr`, `conf`, `isro` as ZooKeeper 3.9 does and accept
//! the client session protocol a health session uses (ConnectRequest, pings, closeSession).
//!
//! Faults: [`StandinMember::crash`] (listener and connections closed, connects refused),
//! [`StandinMember::freeze`] (nothing answered, connections stay open), `restore`.
//! The kubelet does not reflect faults in pod status (as a kubelet whose probes have not
//! fired yet), does not model scaling, and marks pods Ready as soon as their member listens.
mod ensemble;
mod ips;
mod kubelet;
mod member;
mod node;
mod pod_status;
mod replies;
mod session;
mod shared;

pub use ensemble::{EnsembleState, Fault, MemberView, Role};
pub use kubelet::{StandinKubelet, StandinOptions};
pub use member::StandinMember;
pub use shared::Ensemble;
