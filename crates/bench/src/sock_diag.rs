//! The kernel's view of one of the server's TCP sockets, found by its two addresses through
//! netlink's `sock_diag` (what `ss` asks): whether a process still holds it open, and how
//! full its send buffer is. Wire clients cannot see either: a client that reads nothing sees
//! nothing of a server that stopped writing to it, or closed its descriptor.
//!
//! In scope: one exact lookup ([`SockDiag::lookup`]) and what it says ([`SocketView`]). IPv4
//! only, Linux only. The messages are the `netlink-packet-sock-diag` crate's, the socket
//! `netlink-sys`'s. Out of scope: what the soak concludes from it.
//!
//! The kernel looks an exact 4-tuple up as it would route a segment: when the connection is
//! gone it may answer with the listening socket instead, so an answer is only taken when both
//! ports and addresses are the ones asked for.

use std::io;
use std::net::{IpAddr, SocketAddrV4};
use std::sync::atomic::{AtomicU32, Ordering};

use netlink_packet_core::{NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::constants::{AF_INET, IPPROTO_TCP};
use netlink_packet_sock_diag::inet::nlas::Nla;
use netlink_packet_sock_diag::inet::{
    ExtensionFlags, InetRequest, InetResponse, SocketId, StateFlags,
};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_SOCK_DIAG};

/// Where `tcpi_bytes_acked` sits in the kernel's `struct tcp_info` (Linux 4.1 and later). The
/// crate parses the whole struct only as far as its own copy of it goes, which an older or a
/// newer kernel need not match; this one field is read from the raw bytes.
const TCPI_BYTES_ACKED: usize = 120;

/// What the kernel says about one socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketView {
    /// The TCP state (`1` established, `4` FIN-WAIT-1, ...).
    pub state: u8,
    /// The socket's inode: 0 once no process holds a descriptor of it (an orphan the kernel
    /// still finishes, or a TIME-WAIT).
    pub inode: u32,
    /// Bytes in its send buffer: not yet acknowledged by the peer, or not yet sent.
    pub unacknowledged: u32,
    /// Bytes in its receive buffer that its process has not read.
    pub unread: u32,
    /// Bytes its process has written to it so far (acknowledged, plus still in its send
    /// buffer): grows only when a write to it makes progress. `None` on an old kernel.
    pub written: Option<u64>,
    /// The send buffer's size and what it holds, both counted as the kernel counts memory;
    /// `None` if the kernel left the figures out.
    pub send_buffer: Option<(u32, u32)>,
}

impl SocketView {
    /// A process still holds a descriptor of it.
    pub fn held_open(&self) -> bool {
        self.inode != 0
    }

    /// Its process has shut its writing side down or closed it: its FIN is queued or sent
    /// (FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, CLOSE, LAST-ACK, CLOSING). The FIN counts as one
    /// byte of the sequence space, so [`written`](Self::written) grows by one with it.
    pub fn fin_sent(&self) -> bool {
        matches!(self.state, 4..=7 | 9 | 11)
    }

    /// Its send buffer is full: a blocking write to it waits.
    pub fn send_buffer_full(&self) -> bool {
        self.send_buffer
            .is_some_and(|(size, queued)| queued >= size)
    }
}

/// A netlink socket for lookups; one per thread that looks.
#[derive(Debug)]
pub struct SockDiag {
    socket: Socket,
}

impl SockDiag {
    pub fn open() -> io::Result<SockDiag> {
        let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(SockDiag { socket })
    }

    /// The socket whose local address is `local` and whose peer is `peer` (the server's
    /// address and one client's, for a socket the server accepted); `None` when there is no
    /// such socket any more.
    pub fn lookup(
        &self,
        local: SocketAddrV4,
        peer: SocketAddrV4,
    ) -> io::Result<Option<SocketView>> {
        static SEQUENCE: AtomicU32 = AtomicU32::new(1);
        let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        self.socket.send(&request(local, peer, sequence), 0)?;
        let mut answer = Vec::with_capacity(8192);
        loop {
            answer.clear();
            self.socket.recv(&mut answer, 0)?;
            let message = NetlinkMessage::<SockDiagMessage>::deserialize(&answer)
                .map_err(|e| io::Error::other(format!("sock_diag: {e}")))?;
            // An answer to an earlier lookup that gave up would carry its own number.
            if message.header.sequence_number != sequence {
                continue;
            }
            return match message.payload {
                NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(response)) => {
                    Ok(view_of(&response, local, peer))
                }
                NetlinkPayload::Error(error) if error.raw_code() == -libc::ENOENT => Ok(None),
                NetlinkPayload::Error(error) => Err(error.to_io()),
                other => Err(io::Error::other(format!(
                    "sock_diag: an answer of type {}",
                    other.message_type()
                ))),
            };
        }
    }
}

/// The `SOCK_DIAG_BY_FAMILY` request for the TCP socket from `local` to `peer`, with its
/// memory figures and its `tcp_info`.
fn request(local: SocketAddrV4, peer: SocketAddrV4, sequence: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST;
    header.sequence_number = sequence;
    let mut message = NetlinkMessage::new(
        header,
        SockDiagMessage::InetRequest(InetRequest {
            family: AF_INET,
            protocol: IPPROTO_TCP,
            extensions: ExtensionFlags::SKMEMINFO | ExtensionFlags::INFO,
            states: StateFlags::all(),
            socket_id: socket_id(local, peer),
        })
        .into(),
    );
    message.finalize();
    let mut bytes = vec![0; message.buffer_len()];
    message.serialize(&mut bytes);
    bytes
}

/// Both ends, no interface, no cookie (all `0xff`: "any").
fn socket_id(local: SocketAddrV4, peer: SocketAddrV4) -> SocketId {
    SocketId {
        source_port: local.port(),
        destination_port: peer.port(),
        source_address: IpAddr::V4(*local.ip()),
        destination_address: IpAddr::V4(*peer.ip()),
        interface_id: 0,
        cookie: [0xff; 8],
    }
}

/// What `response` says, if it is about the socket from `local` to `peer`.
fn view_of(response: &InetResponse, local: SocketAddrV4, peer: SocketAddrV4) -> Option<SocketView> {
    let header = &response.header;
    let id = &header.socket_id;
    let wanted = socket_id(local, peer);
    // Ports and addresses; the interface and cookie are the kernel's.
    if (
        id.source_port,
        id.destination_port,
        id.source_address,
        id.destination_address,
    ) != (
        wanted.source_port,
        wanted.destination_port,
        wanted.source_address,
        wanted.destination_address,
    ) {
        return None;
    }
    let mut view = SocketView {
        state: header.state,
        inode: header.inode,
        unacknowledged: header.send_queue,
        unread: header.recv_queue,
        written: None,
        send_buffer: None,
    };
    for nla in &response.nlas {
        match nla {
            Nla::MemInfo(memory) => {
                view.send_buffer = Some((memory.send_queue_max, memory.send_queue));
            }
            Nla::TcpInfo(raw) => {
                let acked = raw
                    .get(TCPI_BYTES_ACKED..TCPI_BYTES_ACKED + 8)
                    .map(|b| u64::from_ne_bytes(b.try_into().expect("8 bytes")));
                view.written = acked.map(|acked| acked + u64::from(header.send_queue));
            }
            _ => {}
        }
    }
    Some(view)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpListener, TcpStream};

    fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_ne_bytes(
            bytes.get(at..at + 4)?.try_into().unwrap(),
        ))
    }

    fn v4(addr: std::net::SocketAddr) -> SocketAddrV4 {
        match addr {
            std::net::SocketAddr::V4(v4) => v4,
            other => panic!("not IPv4: {other}"),
        }
    }

    #[test]
    fn the_request_names_both_ends_in_network_order() {
        let local = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 0x1234);
        let peer = SocketAddrV4::new(Ipv4Addr::new(127, 1, 2, 3), 0xabcd);
        let request = request(local, peer, 9);
        assert_eq!(request.len(), 72);
        assert_eq!(u32_at(&request, 0), Some(72));
        assert_eq!(u32_at(&request, 8), Some(9));
        assert_eq!(&request[24..28], &[0x12, 0x34, 0xab, 0xcd]);
        assert_eq!(&request[28..32], &[127, 0, 0, 1]);
        assert_eq!(&request[44..48], &[127, 1, 2, 3]);
    }

    /// Against the kernel: a socket that does not exist is "none", not an error.
    #[test]
    fn a_socket_that_is_not_there_is_none() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let local = v4(listener.local_addr().unwrap());
        // No connection from this port: the kernel's answer would be the listener, or ENOENT.
        let peer = SocketAddrV4::new(Ipv4Addr::new(127, 9, 9, 9), 9);
        let diag = SockDiag::open().unwrap();
        assert_eq!(diag.lookup(local, peer).unwrap(), None);
    }

    /// Against the kernel: an accepted socket is found and held open, its send buffer
    /// figures come back, and once it is closed it is no longer held (or gone).
    #[test]
    fn a_socket_is_seen_open_then_closed() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        let (local, peer) = (
            v4(accepted.local_addr().unwrap()),
            v4(client.local_addr().unwrap()),
        );
        let diag = SockDiag::open().unwrap();
        let open = diag.lookup(local, peer).unwrap().expect("found");
        assert!(open.held_open(), "{open:?}");
        assert_eq!(open.state, 1, "established");
        let (size, queued) = open.send_buffer.expect("memory figures");
        assert!(size > 0 && queued < size, "{open:?}");
        assert!(!open.send_buffer_full());
        assert_eq!(open.written, Some(0), "nothing written yet");
        (&accepted).write_all(b"hello\n").unwrap();
        let mut line = [0u8; 6];
        (&client).read_exact(&mut line).unwrap();
        let wrote = diag.lookup(local, peer).unwrap().expect("found");
        assert_eq!(wrote.written, Some(6), "{wrote:?}");
        drop(accepted);
        let closed = diag.lookup(local, peer).unwrap();
        assert!(closed.is_none_or(|view| !view.held_open()), "{closed:?}");
        // The reverse direction names the client's socket, which is still open.
        let reverse = diag
            .lookup(peer, local)
            .unwrap()
            .expect("the client's socket");
        assert!(reverse.held_open());
    }
}
