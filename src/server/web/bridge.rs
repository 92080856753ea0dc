//! The one seam between another transport and the chat core: a client that arrives over
//! WebSocket becomes an ordinary connection, admitted with its own address, with its own
//! queue, writer thread, flood control and timeouts, in the one client table.
//!
//! In scope: making the pair of loopback sockets that joins a relay (`ws`) to the core, and
//! handing the core's end to [`Admission`] with the client's address. Out of scope: framing
//! (the relay), and everything a connection does once admitted (`acceptor::Setup` on).
//!
//! Why a socket pair and not a second kind of connection: every part of the core that keeps
//! a promise about a connection (readiness, the writer's blocking writes and deadline, the
//! hang-up watch of a paused one, the slow-consumer cut, the end of stream, the place in the
//! limits held until the descriptor closes) works on a TCP socket and is tested there. Over
//! the pair, a WebSocket client gets all of them unchanged: its relay writes what the browser
//! sends and stops reading when the browser stops, so the core sees what it would see of a
//! TCP client on the same link. A relay that ends shuts its end, and the core sees the end of
//! stream; a connection the core ends closes its end, and the relay closes the WebSocket.
//! The cost is a loopback hop per line each way, on the web side only.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;

use parking_lot::Mutex;
use socket2::SockRef;

use crate::server::acceptor::Admission;
use crate::server::admission::Transport;

/// The kernel buffers of a pair, each way: with the core's `--send-queue`, what a stalled
/// browser can pin beyond its WebSocket. Small, because the relay reads as soon as the
/// browser takes, and the queue in the core is where a backlog belongs (it is counted there).
const PAIR_BUFFER: usize = 64 * 1024;

/// Makes the pairs: a listener on a loopback port of its own, to which the bridge connects
/// and from which it accepts its own connection.
pub struct Bridge {
    admission: Arc<Admission>,
    /// Held while a pair is made, so each accept finds the connect just made (or a stranger's,
    /// which is dropped).
    listener: Mutex<TcpListener>,
    addr: SocketAddr,
}

impl Bridge {
    pub fn new(admission: Arc<Admission>) -> io::Result<Bridge> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        Ok(Bridge {
            admission,
            listener: Mutex::new(listener),
            addr,
        })
    }

    /// Admits a client of `transport` from `peer`, and returns the relay's end of its pair.
    /// A refused client gets the same `ERR` line a TCP client would, on that end, and then
    /// its end of stream. Blocks for a loopback connect and accept: run it off the async
    /// threads.
    pub fn attach(&self, peer: SocketAddr, transport: Transport) -> io::Result<TcpStream> {
        let (relay_end, core_end) = self.pair()?;
        for (stream, is_core) in [(&relay_end, false), (&core_end, true)] {
            let socket = SockRef::from(stream);
            // Best effort: the kernel's default only costs memory.
            let _ = if is_core {
                socket.set_send_buffer_size(PAIR_BUFFER)
            } else {
                socket.set_recv_buffer_size(PAIR_BUFFER)
            };
            let _ = stream.set_nodelay(true);
        }
        self.admission.admit(core_end, peer, transport);
        Ok(relay_end)
    }

    fn pair(&self) -> io::Result<(TcpStream, TcpStream)> {
        let listener = self.listener.lock();
        let relay_end = TcpStream::connect(self.addr)?;
        let expected = relay_end.local_addr()?;
        loop {
            let (core_end, from) = listener.accept()?;
            // Anyone on this machine may connect to the port; only our own connect is a pair.
            if from == expected {
                return Ok((relay_end, core_end));
            }
        }
    }
}
