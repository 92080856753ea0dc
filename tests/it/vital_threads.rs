//! A server whose acceptor dies does not linger half alive (issue 13): the `chatd` binary
//! logs which thread died, shuts down what still runs (every client is told) and exits
//! non-zero, so that a supervisor restarts it.
//!
//! The fault is a real one, made from outside: the test takes a copy of the server's
//! listening socket (`pidfd_getfd`, allowed on a child process) and shuts it down, after
//! which `accept` fails with `EINVAL` for good.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::support::{ChatdProcess, TestClient};

/// A copy, in this process, of descriptor `fd` of process `pid`.
#[allow(unsafe_code)]
fn steal(pid: u32, fd: RawFd) -> Option<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).unwrap();
    // SAFETY: plain system calls on numbers; each result is checked before use.
    unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid, 0);
        assert!(
            pidfd >= 0,
            "pidfd_open: {}",
            std::io::Error::last_os_error()
        );
        let pidfd = OwnedFd::from_raw_fd(pidfd as RawFd);
        let copy = libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0);
        (copy >= 0).then(|| OwnedFd::from_raw_fd(copy as RawFd))
    }
}

/// Whether `fd` is a listening socket bound to `port`.
#[allow(unsafe_code)]
fn is_listener_on(fd: &OwnedFd, port: u16) -> bool {
    let mut accepting: libc::c_int = 0;
    let mut size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the pointers describe a live `c_int` and its size for the duration of the call,
    // and the descriptor is open (borrowed).
    let done = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&raw mut accepting).cast(),
            &mut size,
        )
    };
    let listening = done == 0 && accepting == 1;
    let bound = socket2::SockRef::from(fd)
        .local_addr()
        .ok()
        .and_then(|addr| addr.as_socket())
        .is_some_and(|addr| addr.port() == port);
    listening && bound
}

/// A copy of the server's listening socket.
fn steal_listener(chatd: &ChatdProcess) -> OwnedFd {
    let pid = chatd.pid();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap();
    for entry in fds {
        let entry = entry.unwrap();
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        if !target.to_string_lossy().starts_with("socket:") {
            continue;
        }
        let fd: RawFd = entry.file_name().to_str().unwrap().parse().unwrap();
        if let Some(copy) = steal(pid, fd) {
            if is_listener_on(&copy, chatd.addr.port()) {
                return copy;
            }
        }
    }
    panic!("no listening socket on port {} in chatd", chatd.addr.port());
}

#[test]
fn issue_13_when_the_acceptor_dies_chatd_tells_its_clients_and_exits_non_zero() {
    let mut chatd = ChatdProcess::spawn(&[], None);
    let mut alice = TestClient::connect_raw(chatd.addr);
    assert!(alice.recv().starts_with("HELLO "));
    alice.send("NICK alice");
    alice.expect("OK NICK alice");

    let listener = steal_listener(&chatd);
    socket2::SockRef::from(&listener)
        .shutdown(std::net::Shutdown::Read)
        .unwrap();

    let died = chatd.expect_log("the acceptor thread died");
    assert!(
        died.contains("[ERROR]") && died.contains("the listening socket failed"),
        "{died}"
    );
    alice.expect("BYE server shutting down");
    alice.expect_closed();
    let status = chatd.wait();
    assert_eq!(status.code(), Some(1), "{status}");
}
