//! A slow consumer is cut before it leaves the client table (issue 13). When another
//! client's line overflowed its queue, the server used to take it out of the table first and
//! cut its socket after: a `NICK` it had sent, run by another worker in between, registered
//! it again, and everyone saw it come back (`JOIN`) after its `QUIT ... slow consumer`.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use crate::support::{DEADLINE, TestServer};

/// Rounds of the race: it need not be lost every time to be lost in some.
const ROUNDS: usize = 20;

/// A client that never reads, with a small receive buffer from the start, so that its queue
/// on the server fills soon.
fn victim(addr: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.into()
}

/// Waits until only `open` connections are left: a dropped victim's connection ends on a
/// server thread the protocol cannot observe.
fn wait_for_connections(server: &TestServer, open: usize) {
    let end = Instant::now() + DEADLINE;
    while server.stats().load.connections != open {
        assert!(Instant::now() < end, "{:?}", server.stats());
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn issue_13_a_slow_consumer_cut_by_another_client_never_registers_again() {
    // A queue of 4 MiB: the watcher may fall behind by thousands of announcements, while the
    // flood of 3 KB lines still overflows the victim's queue in a moment.
    let server = TestServer::with(|c| {
        c.workers = 4;
        c.send_queue = 4 * 1024 * 1024;
    });
    let mut watcher = server.client("watcher");
    let payload = "x".repeat(3000);
    for round in 0..ROUNDS {
        // The flood goes to a room, so that the watcher only hears the lobby.
        let room = format!("#flood{round}");
        let mut flooder = server.client(&format!("f{round}"));
        flooder.send(&format!("JOIN {room}"));
        flooder.barrier();
        watcher.expect(&format!("JOIN f{round}"));
        let mut stalled = victim(server.addr);
        stalled
            .write_all(format!("NICK v{round}a\nJOIN {room}\n").as_bytes())
            .unwrap();
        watcher.expect(&format!("JOIN v{round}a"));
        flooder.expect(&format!("JOIN v{round}a"));
        flooder.expect(&format!("JOIN {room} v{round}a"));
        let mut renamer = stalled.try_clone().unwrap();
        let mut sending = flooder.writer.try_clone().unwrap();
        let stop = flooder.writer.try_clone().unwrap();
        let heard = thread::scope(|scope| {
            // The victim renames itself until it is cut (its writes are then refused), so
            // that it is busy renaming when the flood overflows its queue. Blank lines (which
            // the server skips) between the renames spare the watcher's queue.
            scope.spawn(move || {
                let pause = "\n".repeat(30);
                let renames = format!("NICK v{round}b\n{pause}NICK v{round}a\n{pause}").repeat(100);
                while renamer.write_all(renames.as_bytes()).is_ok() {}
            });
            let line = format!("MSG {room} {payload}\n");
            scope.spawn(move || while sending.write_all(line.as_bytes()).is_ok() {});
            // The flooder reads what it is sent, so that only the victim falls behind.
            scope.spawn(|| while flooder.try_recv().is_some() {});
            let mut heard = Vec::new();
            loop {
                let line = watcher.recv();
                let cut = line.starts_with(&format!("QUIT v{round}"));
                heard.push(line);
                if cut {
                    break;
                }
            }
            // Ends the flood: the flooder's writes fail, the server closes it.
            stop.shutdown(std::net::Shutdown::Write).unwrap();
            heard
        });
        let quit = heard.last().unwrap();
        assert!(quit.contains("slow consumer"), "{quit}");
        let joins = heard.iter().filter(|l| l.starts_with("JOIN ")).count();
        assert_eq!(joins, 0, "round {round}: {heard:?}");
        drop(stalled);
        wait_for_connections(&server, 1);
        for line in watcher.barrier() {
            assert!(
                !line.starts_with(&format!("JOIN v{round}")),
                "round {round}: the dropped client registered again: {line}"
            );
        }
    }
}
