//! The kernel's view of one of the server's TCP sockets, found by its two addresses through
//! netlink's `sock_diag` (what `ss` asks): whether a process still holds it open, and how
//! full its send buffer is. Wire clients cannot see either: a client that reads nothing sees
//! nothing of a server that stopped writing to it, or closed its descriptor.
//!
//! In scope: one exact lookup ([`SockDiag::lookup`], a request and its answer, both pure
//! functions below, unit-tested) and what it says ([`SocketView`]). IPv4 only, Linux only.
//! Out of scope: what the soak and the memory measurement conclude from it.
//!
//! The kernel looks an exact 4-tuple up as it would route a segment: when the connection is
//! gone it may answer with the listening socket instead, so an answer is only taken when both
//! ports and addresses are the ones asked for.

use std::io;
use std::net::SocketAddrV4;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

/// `NETLINK_SOCK_DIAG` and its one message type (linux/sock_diag.h).
const NETLINK_SOCK_DIAG: libc::c_int = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
/// The attribute with `struct tcp_info` (`INET_DIAG_INFO`), and where its
/// `tcpi_bytes_acked` is (Linux 4.1 and later).
const INET_DIAG_INFO: u16 = 2;
const TCPI_BYTES_ACKED: usize = 120;
/// The attribute with the socket's memory figures (`INET_DIAG_SKMEMINFO`), and its slots.
const INET_DIAG_SKMEMINFO: u16 = 7;
const SK_MEMINFO_SNDBUF: usize = 3;
const SK_MEMINFO_WMEM_QUEUED: usize = 5;
/// Header sizes: `nlmsghdr`, `inet_diag_req_v2`, `inet_diag_msg`.
const HEADER: usize = 16;
const REQUEST: usize = 56;
const MESSAGE: usize = 72;

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
    fd: OwnedFd,
}

impl SockDiag {
    #[allow(unsafe_code)]
    pub fn open() -> io::Result<SockDiag> {
        // SAFETY: plain system call; the result is checked before it is used.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                NETLINK_SOCK_DIAG,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(SockDiag { fd })
    }

    /// The socket whose local address is `local` and whose peer is `peer` (the server's
    /// address and one client's, for a socket the server accepted); `None` when there is no
    /// such socket any more.
    #[allow(unsafe_code)]
    pub fn lookup(
        &self,
        local: SocketAddrV4,
        peer: SocketAddrV4,
    ) -> io::Result<Option<SocketView>> {
        static SEQUENCE: AtomicU32 = AtomicU32::new(1);
        let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let request = request(local, peer, sequence);
        // SAFETY: the buffer is valid for reads of its length for the call; the descriptor
        // is owned by `self`.
        let sent = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                request.as_ptr().cast(),
                request.len(),
                0,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut answer = [0u8; 4096];
        loop {
            // SAFETY: the buffer is valid for writes of its length for the call.
            let got = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    answer.as_mut_ptr().cast(),
                    answer.len(),
                    0,
                )
            };
            let got = usize::try_from(got).map_err(|_| io::Error::last_os_error())?;
            // An answer to an earlier lookup that gave up would carry its own number.
            if answer_sequence(&answer[..got]) == Some(sequence) {
                return parse_answer(&answer[..got], local, peer);
            }
        }
    }
}

/// The `SOCK_DIAG_BY_FAMILY` request for the TCP socket from `local` to `peer`.
fn request(local: SocketAddrV4, peer: SocketAddrV4, sequence: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + REQUEST);
    out.extend_from_slice(&((HEADER + REQUEST) as u32).to_ne_bytes());
    out.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    out.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    out.extend_from_slice(&sequence.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.push(libc::AF_INET as u8);
    out.push(libc::IPPROTO_TCP as u8);
    out.push(1 << (INET_DIAG_SKMEMINFO - 1) | 1 << (INET_DIAG_INFO - 1));
    out.push(0);
    // Every state.
    out.extend_from_slice(&u32::MAX.to_ne_bytes());
    out.extend_from_slice(&socket_id(local, peer));
    out
}

/// `inet_diag_sockid`: ports and addresses in network order, no interface, no cookie.
fn socket_id(local: SocketAddrV4, peer: SocketAddrV4) -> [u8; 48] {
    let mut id = [0u8; 48];
    id[0..2].copy_from_slice(&local.port().to_be_bytes());
    id[2..4].copy_from_slice(&peer.port().to_be_bytes());
    id[4..8].copy_from_slice(&local.ip().octets());
    id[20..24].copy_from_slice(&peer.ip().octets());
    // INET_DIAG_NOCOOKIE, twice.
    id[40..48].fill(0xff);
    id
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let field = bytes.get(at..at + 4)?;
    Some(u32::from_ne_bytes(field.try_into().expect("4 bytes")))
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let field = bytes.get(at..at + 2)?;
    Some(u16::from_ne_bytes(field.try_into().expect("2 bytes")))
}

fn answer_sequence(answer: &[u8]) -> Option<u32> {
    u32_at(answer, 8)
}

/// The kernel's answer to [`request`]: `None` for "no such socket" (an error `ENOENT`, or an
/// answer about another socket, the listener).
fn parse_answer(
    answer: &[u8],
    local: SocketAddrV4,
    peer: SocketAddrV4,
) -> io::Result<Option<SocketView>> {
    let short = || io::Error::other("sock_diag: a short answer");
    let length = u32_at(answer, 0).ok_or_else(short)? as usize;
    let kind = u16_at(answer, 4).ok_or_else(short)?;
    let answer = answer.get(..length).ok_or_else(short)?;
    if kind == NLMSG_ERROR {
        let code = u32_at(answer, HEADER).ok_or_else(short)? as i32;
        return match -code {
            libc::ENOENT => Ok(None),
            errno => Err(io::Error::from_raw_os_error(errno)),
        };
    }
    if kind != SOCK_DIAG_BY_FAMILY {
        return Err(io::Error::other(format!(
            "sock_diag: an answer of type {kind}"
        )));
    }
    let message = answer.get(HEADER..HEADER + MESSAGE).ok_or_else(short)?;
    let wanted = socket_id(local, peer);
    // Ports and addresses; the interface and cookie are the kernel's.
    if message[4..44] != wanted[..40] {
        return Ok(None);
    }
    let field = |at| u32_at(message, at).expect("inside the message");
    let mut view = SocketView {
        state: message[1],
        inode: field(68),
        unacknowledged: field(60),
        unread: field(56),
        written: None,
        send_buffer: None,
    };
    let mut at = HEADER + MESSAGE;
    while let (Some(len), Some(kind)) = (u16_at(answer, at), u16_at(answer, at + 2)) {
        let len = usize::from(len);
        if len < 4 {
            break;
        }
        if kind == INET_DIAG_SKMEMINFO {
            let slot = |i: usize| u32_at(answer, at + 4 + i * 4).filter(|_| 4 + i * 4 + 4 <= len);
            view.send_buffer = slot(SK_MEMINFO_SNDBUF).zip(slot(SK_MEMINFO_WMEM_QUEUED));
        }
        if kind == INET_DIAG_INFO && 4 + TCPI_BYTES_ACKED + 8 <= len {
            let start = at + 4 + TCPI_BYTES_ACKED;
            let acked = answer
                .get(start..start + 8)
                .map(|b| u64::from_ne_bytes(b.try_into().expect("8 bytes")));
            view.written = acked.map(|acked| acked + u64::from(view.unacknowledged));
        }
        at += (len + 3) & !3;
    }
    Ok(Some(view))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpListener, TcpStream};

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

    #[test]
    fn an_error_answer_means_no_such_socket() {
        let any = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1);
        let mut answer = vec![0u8; 36];
        answer[0..4].copy_from_slice(&36u32.to_ne_bytes());
        answer[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        answer[16..20].copy_from_slice(&(-libc::ENOENT).to_ne_bytes());
        assert_eq!(parse_answer(&answer, any, any).unwrap(), None);
        answer[16..20].copy_from_slice(&(-libc::EPERM).to_ne_bytes());
        assert!(parse_answer(&answer, any, any).is_err());
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
