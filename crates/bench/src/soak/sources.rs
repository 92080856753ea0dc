//! Where the soak's clients connect from. A server limits each address (`--max-per-ip`, the
//! address budgets `--ip-rate` and `--ip-byte-rate`), and on one machine every client would
//! be one address. But all of 127.0.0.0/8 is this machine, so against a loopback server the
//! soak gives each kind of client its own: the well-behaved clients 127.0.0.1, the clients
//! of the address flood (many connections of one address) 127.0.0.2, each resuming client
//! one of 127.0.2.0/24 (its history pages cost its own address's budget), each client that
//! sends wrong passwords one of 127.0.3.0/24 (the login throttle counts failures per
//! address: its own get locked, never the well-behaved clients', from which the right
//! passwords come), and each chaos slot an address of its own in 127.1.0.0/16, so that one
//! fault's traffic never eats the budget of another's, nor the well-behaved clients'. As on
//! a real server, where the people chatting and an attacker come from different places.
//!
//! In scope: the plan ([`Sources`]) and the check that the machine lets a socket bind to
//! such an address. Out of scope: connecting (`loadgen::client::connect_with`).
//!
//! Against a server elsewhere (`--addr` with another host) every client comes from this
//! machine's one address, and the per-address limits hold for all of them together.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};

/// Host addresses per /24 a slot may take: .1 to .250.
const PER_BLOCK: usize = 250;

/// The source address of each kind of client; `None`: the kernel's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sources {
    spread: bool,
}

impl Sources {
    /// The plan for a server at `server`: spread over 127.0.0.0/8 if the server is on
    /// IPv4 loopback and this machine lets a socket bind to 127.0.0.2.
    pub fn for_server(server: SocketAddr) -> Sources {
        let loopback = matches!(server.ip(), IpAddr::V4(ip) if ip.is_loopback());
        let spread = loopback && TcpListener::bind((Ipv4Addr::new(127, 0, 0, 2), 0)).is_ok();
        Sources { spread }
    }

    /// Every client from the kernel's choice of address.
    pub fn one_address() -> Sources {
        Sources { spread: false }
    }

    pub fn spread(&self) -> bool {
        self.spread
    }

    pub fn well_behaved(&self) -> Option<IpAddr> {
        self.spread
            .then_some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)))
    }

    /// Resuming client `number`'s (at most 250: 127.0.2.1 to 127.0.2.250). History pages
    /// are big answers, paid from the address's byte budget: one client's must neither slow
    /// the chatting clients down nor hold back another's registration.
    pub fn resumer(&self, number: usize) -> Option<IpAddr> {
        let host = u8::try_from(number + 1).expect("at most 250 resuming clients");
        self.spread
            .then_some(IpAddr::V4(Ipv4Addr::new(127, 0, 2, host)))
    }

    /// Wrong-password client `number`'s (at most 250: 127.0.3.1 to 127.0.3.250). The
    /// server slows down, then locks, the address that sent the wrong passwords; the right
    /// ones come from [`Sources::well_behaved`] and must never be refused for it.
    pub fn wrong_login(&self, number: usize) -> Option<IpAddr> {
        let host = u8::try_from(number + 1).expect("at most 250 wrong-password clients");
        self.spread
            .then_some(IpAddr::V4(Ipv4Addr::new(127, 0, 3, host)))
    }

    /// The one address all the connections of the address flood share.
    pub fn address_flood(&self) -> Option<IpAddr> {
        self.spread
            .then_some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
    }

    /// The address of chaos slot `slot` (at most 5,000 slots: 127.1.0.1 to 127.1.19.250).
    pub fn slot(&self, slot: usize) -> Option<IpAddr> {
        let block = u8::try_from(slot / PER_BLOCK).expect("at most 5,000 slots");
        let host = (slot % PER_BLOCK + 1) as u8;
        self.spread
            .then_some(IpAddr::V4(Ipv4Addr::new(127, 1, block, host)))
    }

    /// For the report.
    pub fn describe(&self) -> &'static str {
        if self.spread {
            "well-behaved clients and right passwords from 127.0.0.1, the address flood from \
             127.0.0.2, each resuming client from its own 127.0.2.x, each wrong-password client \
             from its own 127.0.3.x, each chaos slot from its own 127.1.x.y"
        } else {
            "every client from one address"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_and_slot_has_its_own_address() {
        let sources = Sources { spread: true };
        assert_eq!(sources.well_behaved(), Some([127, 0, 0, 1].into()));
        assert_eq!(sources.address_flood(), Some([127, 0, 0, 2].into()));
        assert_eq!(sources.resumer(0), Some([127, 0, 2, 1].into()));
        assert_eq!(sources.resumer(249), Some([127, 0, 2, 250].into()));
        assert_eq!(sources.wrong_login(0), Some([127, 0, 3, 1].into()));
        assert_eq!(sources.wrong_login(249), Some([127, 0, 3, 250].into()));
        assert_eq!(sources.slot(0), Some([127, 1, 0, 1].into()));
        assert_eq!(sources.slot(249), Some([127, 1, 0, 250].into()));
        assert_eq!(sources.slot(250), Some([127, 1, 1, 1].into()));
        assert_eq!(sources.slot(4999), Some([127, 1, 19, 250].into()));
        let one = Sources::one_address();
        assert_eq!((one.well_behaved(), one.slot(3)), (None, None));
        assert_eq!(one.wrong_login(0), None);
    }

    #[test]
    fn a_loopback_server_spreads_and_others_do_not() {
        let remote = Sources::for_server("192.0.2.1:7878".parse().unwrap());
        assert!(!remote.spread());
        let v6 = Sources::for_server("[::1]:7878".parse().unwrap());
        assert!(!v6.spread());
        // Linux routes all of 127.0.0.0/8 to the loopback interface.
        assert!(Sources::for_server("127.0.0.1:7878".parse().unwrap()).spread());
    }
}
