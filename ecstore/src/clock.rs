//! Timestamps for writes.
//!
//! Both clocks start from the process's realtime clock (`CLOCK_REALTIME`), as real stores do,
//! so a clock fault on the process acts on ecstore as it would on them:
//! - `wall`: the realtime clock as it is. A node whose clock runs ahead stamps its writes
//!   "later" than writes that really came after them: last-write-wins then keeps the wrong one.
//! - `hlc`: a hybrid logical clock (Kulkarni et al.): never goes backwards, and never behind any
//!   stamp it has seen from a peer, so causally later writes always get greater stamps.

use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Orders writes: by time, then the logical counter, then the node (a deterministic tie-break).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stamp {
    /// Nanoseconds since the Unix epoch.
    pub time: u64,
    pub logical: u32,
    pub node: u16,
}

/// The realtime clock in nanoseconds since the epoch.
pub fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[derive(Debug)]
pub enum Clock {
    Wall { node: u16 },
    Hybrid(Hlc),
}

impl Clock {
    pub fn now(&self) -> Stamp {
        match self {
            Clock::Wall { node } => Stamp {
                time: wall_ns(),
                logical: 0,
                node: *node,
            },
            Clock::Hybrid(hlc) => hlc.now(),
        }
    }

    /// Takes note of a stamp seen from a peer (only the hybrid clock cares).
    pub fn observe(&self, seen: Stamp) {
        if let Clock::Hybrid(hlc) = self {
            hlc.observe(seen);
        }
    }
}

/// A hybrid logical clock over some physical clock.
#[derive(Debug)]
pub struct Hlc {
    node: u16,
    physical: fn() -> u64,
    last: Mutex<(u64, u32)>,
}

impl Hlc {
    pub fn new(node: u16) -> Hlc {
        Hlc::with_physical(node, wall_ns)
    }

    pub fn with_physical(node: u16, physical: fn() -> u64) -> Hlc {
        Hlc {
            node,
            physical,
            last: Mutex::new((0, 0)),
        }
    }

    pub fn now(&self) -> Stamp {
        let pt = (self.physical)();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let (l, c) = *last;
        *last = if pt > l { (pt, 0) } else { (l, c + 1) };
        Stamp {
            time: last.0,
            logical: last.1,
            node: self.node,
        }
    }

    pub fn observe(&self, seen: Stamp) {
        let pt = (self.physical)();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let (l, c) = *last;
        let top = l.max(seen.time).max(pt);
        let logical = match (top == l, top == seen.time) {
            (true, true) => c.max(seen.logical) + 1,
            (true, false) => c + 1,
            (false, true) => seen.logical + 1,
            (false, false) => 0,
        };
        *last = (top, logical);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    static FAKE: AtomicU64 = AtomicU64::new(1_000);
    fn fake() -> u64 {
        FAKE.load(Ordering::SeqCst)
    }

    #[test]
    fn hlc_never_goes_backwards_even_when_the_wall_clock_does() {
        let hlc = Hlc::with_physical(1, fake);
        let mut last = hlc.now();
        for wall in [1_000, 2_000, 500, 500, 3_000, 10, 10, 2_999] {
            FAKE.store(wall, Ordering::SeqCst);
            let next = hlc.now();
            assert!(next > last, "{next:?} after {last:?} (wall {wall})");
            last = next;
        }
        // A stamp from a peer far ahead pulls the clock forward; it stays ahead of it.
        let ahead = Stamp {
            time: 1_000_000,
            logical: 7,
            node: 2,
        };
        hlc.observe(ahead);
        let next = hlc.now();
        assert!(next > ahead && next.time == ahead.time, "{next:?}");
    }

    #[test]
    fn stamps_order_by_time_then_logical_then_node() {
        let a = Stamp {
            time: 1,
            logical: 9,
            node: 9,
        };
        let b = Stamp {
            time: 2,
            logical: 0,
            node: 0,
        };
        let c = Stamp {
            time: 2,
            logical: 0,
            node: 1,
        };
        assert!(a < b && b < c);
    }
}
