//! Admission: how many connections are open, in all and per peer address, and whether one
//! more may come in (`--max-clients`, `--max-per-ip`).
//!
//! In scope: the counts and the [`Slot`] each admitted connection holds until it ends, whose
//! drop gives its place back. Out of scope: telling a refused client why (`acceptor`) and when
//! a connection ends (`connection`, which drops the slot before anyone hears of the end, so a
//! client that saw a connection go finds its place free).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

/// The open connections, counted.
#[derive(Debug, Default)]
pub struct Slots {
    /// Open connections, registered or not, checked against `--max-clients`.
    open: AtomicUsize,
    /// Open connections per peer address, checked against `--max-per-ip`. Every address is
    /// counted, limited or not, so the count is right whatever the limit. A mutex: taken on
    /// connect and disconnect only.
    per_ip: Mutex<HashMap<IpAddr, usize>>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `--max-clients` connections are open.
    ServerFull { max: usize },
    /// `--max-per-ip` connections are open from this address.
    TooManyFromAddress { max: usize },
}

/// One admitted connection's place in the counts; dropping it gives the place back.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    ip: IpAddr,
}

impl Slots {
    /// Takes a place for a connection from `ip`, or says why there is none. Only the acceptor
    /// admits, so nothing can take a place between the checks and the counting.
    pub fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        max_clients: usize,
        max_per_ip: Option<usize>,
    ) -> Result<Slot, Refusal> {
        if self.open.load(Ordering::Relaxed) >= max_clients {
            return Err(Refusal::ServerFull { max: max_clients });
        }
        let mut per_ip = self.per_ip.lock();
        let from_ip = per_ip.entry(ip).or_insert(0);
        if let Some(max) = max_per_ip.filter(|&max| *from_ip >= max) {
            if *from_ip == 0 {
                per_ip.remove(&ip);
            }
            return Err(Refusal::TooManyFromAddress { max });
        }
        *from_ip += 1;
        drop(per_ip);
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(Slot {
            slots: Arc::clone(self),
            ip,
        })
    }

    /// Open connections, registered or not.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per_ip = self.slots.per_ip.lock();
        if let Some(count) = per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&self.ip);
            }
        }
        drop(per_ip);
        self.slots.open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn a_dropped_slot_frees_its_place_in_both_counts() {
        let slots = Arc::new(Slots::default());
        let first = slots.admit(A, 3, Some(1)).unwrap();
        assert_eq!(
            slots.admit(A, 3, Some(1)).unwrap_err(),
            Refusal::TooManyFromAddress { max: 1 }
        );
        let second = slots.admit(B, 3, Some(1)).unwrap();
        let unlimited = slots.admit(A, 3, None).unwrap();
        assert_eq!(slots.open(), 3);
        assert_eq!(
            slots.admit(B, 3, None).unwrap_err(),
            Refusal::ServerFull { max: 3 }
        );
        drop((first, unlimited));
        assert_eq!(slots.open(), 1);
        let _again = slots.admit(A, 3, Some(1)).unwrap();
        drop(second);
        assert!(
            slots.per_ip.lock().get(&B).is_none(),
            "an address at zero is forgotten"
        );
    }
}
