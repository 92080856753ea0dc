//! Admission: how many connections are open, in all, per peer address and per transport, and
//! whether one more may come in (`--max-clients`, `--max-per-ip`).
//!
//! In scope: the counts and the [`Slot`] each admitted connection holds, whose drop gives its
//! place back; the [`AddressGroup`] the per-address limits count by; the [`Transport`] a
//! connection came by, counted for the metrics. Out of scope: telling a
//! refused client why (`acceptor`), how often an address connects (`connect_rate`), and when
//! the place is given back: the slot is owned by the connection's socket
//! (`socket_io::ClientSocket`) and dropped with its last handle, once the connection has ended
//! and its writer has exited, just before the descriptor closes.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

/// What the per-address limits count by: an IPv4 address, or the /64 an IPv6 address is in.
///
/// An IPv6 host is usually given a whole /64 and may pick any address in it, so counting
/// exact IPv6 addresses would let one host open unlimited connections. An IPv4-mapped IPv6
/// address (`::ffff:192.0.2.1`, from a dual-stack listener) counts as its IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressGroup(IpAddr);

impl AddressGroup {
    pub fn of(ip: IpAddr) -> AddressGroup {
        match ip {
            IpAddr::V4(_) => AddressGroup(ip),
            // `::1` stands alone: its /64 holds no other address of this machine.
            IpAddr::V6(v6) if v6.is_loopback() => AddressGroup(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressGroup(IpAddr::V4(v4)),
                None => {
                    let prefix = v6.to_bits() & !u128::from(u64::MAX);
                    AddressGroup(IpAddr::V6(Ipv6Addr::from_bits(prefix)))
                }
            },
        }
    }
}

impl fmt::Display for AddressGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) if v6.is_loopback() => write!(f, "{v6}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// How a connection reaches the server. Both share every limit and the one client table;
/// only the metrics tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The line protocol on the TCP listener (`--addr`).
    Tcp,
    /// The line protocol inside TLS on the TLS listener (`--tls-addr`).
    Tls,
    /// The line protocol over WebSocket on the web listener (`/ws`), bridged to a connection
    /// like a TCP one (`web::bridge`).
    WebSocket,
}

impl Transport {
    pub const ALL: [Transport; 3] = [Transport::Tcp, Transport::Tls, Transport::WebSocket];

    /// Its name in the metrics.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::WebSocket => "websocket",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The open connections, counted.
#[derive(Debug, Default)]
pub struct Slots {
    /// Open connections, registered or not, checked against `--max-clients`.
    open: AtomicUsize,
    /// Of those, the ones that came by each transport (`Transport::index`).
    by_transport: [AtomicUsize; Transport::ALL.len()],
    /// Open connections per address group, checked against `--max-per-ip`. Every group is
    /// counted, limited or not, so the count is right whatever the limit. A mutex: taken on
    /// connect, and by whichever thread drops a socket's last handle, with no lock taken under
    /// it (a leaf).
    per_ip: Mutex<HashMap<AddressGroup, usize>>,
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
    group: AddressGroup,
    transport: Transport,
}

impl Slots {
    /// Takes a place for a connection from `ip`, or says why there is none. Admissions are
    /// made one at a time (`acceptor::Admission`), so nothing can take a place between the
    /// checks and the counting.
    pub fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        transport: Transport,
        max_clients: usize,
        max_per_ip: Option<usize>,
    ) -> Result<Slot, Refusal> {
        if self.open.load(Ordering::Relaxed) >= max_clients {
            return Err(Refusal::ServerFull { max: max_clients });
        }
        let group = AddressGroup::of(ip);
        let mut per_ip = self.per_ip.lock();
        let from_ip = per_ip.entry(group).or_insert(0);
        if let Some(max) = max_per_ip.filter(|&max| *from_ip >= max) {
            if *from_ip == 0 {
                per_ip.remove(&group);
            }
            return Err(Refusal::TooManyFromAddress { max });
        }
        *from_ip += 1;
        drop(per_ip);
        self.open.fetch_add(1, Ordering::Relaxed);
        self.by_transport[transport.index()].fetch_add(1, Ordering::Relaxed);
        Ok(Slot {
            slots: Arc::clone(self),
            group,
            transport,
        })
    }

    /// Open connections, registered or not.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Open connections that came by `transport`.
    pub fn open_by(&self, transport: Transport) -> usize {
        self.by_transport[transport.index()].load(Ordering::Relaxed)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per_ip = self.slots.per_ip.lock();
        if let Some(count) = per_ip.get_mut(&self.group) {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&self.group);
            }
        }
        drop(per_ip);
        self.slots.by_transport[self.transport.index()].fetch_sub(1, Ordering::Relaxed);
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
        let first = slots.admit(A, Transport::Tcp, 3, Some(1)).unwrap();
        assert_eq!(
            slots.admit(A, Transport::Tcp, 3, Some(1)).unwrap_err(),
            Refusal::TooManyFromAddress { max: 1 }
        );
        let second = slots.admit(B, Transport::Tcp, 3, Some(1)).unwrap();
        let unlimited = slots.admit(A, Transport::Tcp, 3, None).unwrap();
        assert_eq!(slots.open(), 3);
        assert_eq!(
            slots.admit(B, Transport::Tcp, 3, None).unwrap_err(),
            Refusal::ServerFull { max: 3 }
        );
        drop((first, unlimited));
        assert_eq!(slots.open(), 1);
        let _again = slots.admit(A, Transport::Tcp, 3, Some(1)).unwrap();
        drop(second);
        assert!(
            slots.per_ip.lock().get(&AddressGroup::of(B)).is_none(),
            "an address at zero is forgotten"
        );
    }

    #[test]
    fn issue_13_an_ipv6_host_counts_by_its_64() {
        let ip = |text: &str| -> IpAddr { text.parse().unwrap() };
        let group = |text: &str| AddressGroup::of(ip(text));
        assert_eq!(group("2001:db8:1:2::1"), group("2001:db8:1:2:ffff::9"));
        assert_ne!(group("2001:db8:1:2::1"), group("2001:db8:1:3::1"));
        assert_eq!(group("2001:db8:1:2::1").to_string(), "2001:db8:1:2::/64");
        assert_eq!(group("::ffff:192.0.2.1"), group("192.0.2.1"));
        assert_eq!(group("192.0.2.1").to_string(), "192.0.2.1");
        assert_eq!(group("::1").to_string(), "::1");
        assert_ne!(group("::1"), group("::2"));

        let slots = Arc::new(Slots::default());
        let _first = slots
            .admit(ip("2001:db8::1"), Transport::Tcp, 10, Some(1))
            .unwrap();
        assert_eq!(
            slots
                .admit(ip("2001:db8::2"), Transport::Tcp, 10, Some(1))
                .unwrap_err(),
            Refusal::TooManyFromAddress { max: 1 }
        );
        let _other = slots
            .admit(ip("2001:db8:0:1::1"), Transport::Tcp, 10, Some(1))
            .unwrap();
    }

    #[test]
    fn issue_17_connections_are_counted_by_transport_and_share_the_limits() {
        let slots = Arc::new(Slots::default());
        let tcp = slots.admit(A, Transport::Tcp, 2, Some(2)).unwrap();
        let ws = slots.admit(A, Transport::WebSocket, 2, Some(2)).unwrap();
        assert_eq!(slots.open_by(Transport::Tcp), 1);
        assert_eq!(slots.open_by(Transport::WebSocket), 1);
        assert_eq!(
            slots
                .admit(A, Transport::WebSocket, 3, Some(2))
                .unwrap_err(),
            Refusal::TooManyFromAddress { max: 2 }
        );
        drop(ws);
        assert_eq!(slots.open_by(Transport::WebSocket), 0);
        assert_eq!(slots.open(), 1);
        drop(tcp);
        assert_eq!(slots.open(), 0);
    }
}
