//! Pod address allocation inside the kubelet's /24. Round-robin rather than lowest-free so a
//! recreated pod usually gets a new IP, as on a real cluster: stale-DNS bugs stay visible.

use std::collections::BTreeSet;

#[derive(Debug, Default)]
pub struct Ipam {
    used: BTreeSet<u8>,
    last: u8,
}

/// First and last usable host numbers (.1 is the gateway, .255 broadcast).
const FIRST: u8 = 2;
const LAST: u8 = 254;

impl Ipam {
    /// Next free host number after the last one handed out, wrapping around.
    pub fn allocate(&mut self) -> Option<u8> {
        let span = u16::from(LAST - FIRST) + 1;
        for step in 1..=span {
            let offset = (u16::from(self.last.saturating_sub(FIRST)) + step) % span;
            let candidate = FIRST + offset as u8;
            if self.used.insert(candidate) {
                self.last = candidate;
                return Some(candidate);
            }
        }
        None
    }

    pub fn release(&mut self, host: u8) {
        self.used.remove(&host);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_round_robin_and_reuses_after_wrap() {
        let mut ipam = Ipam::default();
        let a = ipam.allocate();
        let b = ipam.allocate();
        assert_eq!((a, b), (Some(3), Some(4)));
        ipam.release(3);
        assert_eq!(
            ipam.allocate(),
            Some(5),
            "a released address is not reused at once"
        );
        while ipam.allocate().is_some() {}
        assert_eq!(ipam.used.len(), 253, "every usable address is handed out");
        assert!(ipam.used.contains(&2) && ipam.used.contains(&254));
    }
}
