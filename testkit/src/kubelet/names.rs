//! Every host-visible name a kubelet instance creates, derived from its slot number so that
//! concurrently running kubelets (parallel test binaries) never collide, and so that the
//! leftovers of a SIGKILLed kubelet can be recognised and swept by the next owner of the slot.

use std::net::Ipv4Addr;
use std::path::PathBuf;

/// Highest slot; slot N owns 10.244.N.0/24.
pub const MAX_SLOT: u8 = 250;

/// Names owned by one slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotNames {
    pub slot: u8,
}

impl SlotNames {
    pub fn new(slot: u8) -> Self {
        Self { slot }
    }

    /// The bridge every pod veth of this kubelet is enslaved to.
    pub fn bridge(&self) -> String {
        format!("zkbr{}", self.slot)
    }

    /// The host's address on the bridge: the pods' gateway and the node's InternalIP.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 244, self.slot, 1)
    }

    pub fn prefix_len(&self) -> u8 {
        24
    }

    /// Address of pod slot `host` (2..=254) in this kubelet's /24.
    pub fn pod_ip(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 244, self.slot, host)
    }

    /// Prefix shared by all network namespaces of this slot (the sweep matches on it).
    pub fn netns_prefix(&self) -> String {
        format!("zk{}-", self.slot)
    }

    pub fn netns(&self, seq: u32) -> String {
        format!("{}p{seq}", self.netns_prefix())
    }

    /// Prefix of host-side veth names (at most 15 bytes in total with the sequence).
    pub fn veth_prefix(&self) -> String {
        format!("zk{}h", self.slot)
    }

    pub fn host_veth(&self, seq: u32) -> String {
        format!("{}{}", self.veth_prefix(), seq % 100_000)
    }

    /// Temporary name of the pod end before it is moved into the netns and renamed eth0.
    pub fn peer_veth(&self, seq: u32) -> String {
        format!("zk{}c{}", self.slot, seq % 100_000)
    }

    pub fn default_root(&self) -> PathBuf {
        // Not under /tmp: pods commonly mount an emptyDir at /tmp, which would hide the shims.
        PathBuf::from(format!("/var/tmp/zk-kubelet-{}", self.slot))
    }

    pub fn default_node_name(&self) -> String {
        format!("zk-node-{}", self.slot)
    }
}

/// Directory `ip netns exec` bind-mounts over /etc (hosts, resolv.conf).
pub fn etc_netns_dir(netns: &str) -> PathBuf {
    PathBuf::from("/etc/netns").join(netns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_linux_interface_limit_and_do_not_prefix_each_other() {
        let n = SlotNames::new(MAX_SLOT);
        assert!(n.host_veth(99_999).len() <= 15);
        assert!(n.peer_veth(99_999).len() <= 15);
        assert!(n.bridge().len() <= 15);
        let one = SlotNames::new(1);
        let twelve = SlotNames::new(12);
        assert!(!twelve.netns(3).starts_with(&one.netns_prefix()));
        assert!(!twelve.host_veth(3).starts_with(&one.veth_prefix()));
    }

    #[test]
    fn addresses_live_in_the_slot_subnet() {
        let n = SlotNames::new(7);
        assert_eq!(n.gateway(), Ipv4Addr::new(10, 244, 7, 1));
        assert_eq!(n.pod_ip(9), Ipv4Addr::new(10, 244, 7, 9));
    }
}
