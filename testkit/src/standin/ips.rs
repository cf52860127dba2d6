//! Pod IPs on the loopback network: Linux routes all of 127.0.0.0/8 to `lo`, so a member
//! can bind `127.B.C.D:2181` without a network namespace. Each kubelet draws its own
//! second octet so that stand-in kubelets in parallel test processes rarely meet; a member
//! that still finds its address taken simply asks for the next one.

use std::net::Ipv4Addr;

pub struct IpPool {
    second: u8,
    next: u32,
}

impl IpPool {
    /// A pool in `127.S.0.0/16`, `S` drawn from the clock and pid (never 0: 127.0.0.1 is
    /// everyone's).
    pub fn random() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let seed = nanos ^ std::process::id().wrapping_mul(2_654_435_761);
        Self::new(32 + (seed % 200) as u8)
    }

    pub fn new(second: u8) -> Self {
        Self {
            second: second.max(1),
            next: 0,
        }
    }

    /// The next address, skipping .0 and .255 in the last octet; wraps after 64k.
    pub fn next_ip(&mut self) -> Ipv4Addr {
        loop {
            self.next = (self.next + 1) % 65_536;
            let [_, _, c, d] = self.next.to_be_bytes();
            if d != 0 && d != 255 {
                return Ipv4Addr::new(127, self.second, c, d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_network_and_broadcast_like_octets() {
        let mut pool = IpPool::new(9);
        assert_eq!(pool.next_ip(), Ipv4Addr::new(127, 9, 0, 1));
        let ips: Vec<_> = (0..600).map(|_| pool.next_ip()).collect();
        assert!(
            ips.iter()
                .all(|ip| ip.octets()[3] != 0 && ip.octets()[3] != 255)
        );
        assert!(ips.contains(&Ipv4Addr::new(127, 9, 1, 1)));
    }
}
