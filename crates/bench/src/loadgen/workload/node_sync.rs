//! Against a cluster (`--nodes`): before the senders start, every node must know every
//! client of the run. A client's `OK NICK` says its nick is claimed across the cluster, but
//! the other nodes learn that it is online when they read its `JOIN` from the stream, a
//! little later; until then a `MSG` to it from one of their clients is refused with
//! `ERR NO_SUCH_NICK`. So a watcher client on each node asks `WHO` (which lists the nicks
//! the node knows, its own clients and the others') until every nick of the run is in it.
//!
//! In scope: that wait and its deadline. Out of scope: registering the run's clients and
//! everything after (`engine`). The watchers' nicks are no run's, so the run's readers count
//! their `JOIN`s and `QUIT`s as someone else's.

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use chatd_proto::{Command, Reply};

use crate::loadgen::client::{self, Naming};

/// The pause between two `WHO`s of a watcher whose node does not list everyone yet: the
/// node has no notice to wait for, and a node is typically a fraction of a millisecond
/// behind.
const WHO_AGAIN: Duration = Duration::from_millis(2);

/// How long past the deadline the answer to the last `WHO` may come: it was asked just
/// before the deadline, and on a loaded machine it takes more than the pause between two.
const LAST_ANSWER: Duration = Duration::from_secs(2);

/// Waits until the node at each of `nodes` lists every one of `nicks` in its `WHO`, or
/// `deadline`; the error names the first node and nick missing.
pub(super) fn wait_until_every_node_knows(
    nodes: &[SocketAddr],
    nicks: &[String],
    deadline: Instant,
) -> Result<(), String> {
    let started = Instant::now();
    for (at, &addr) in nodes.iter().enumerate() {
        let node = at + 1;
        let missing = watch(addr, nicks, deadline).map_err(|e| format!("node {node}: {e}"))?;
        if let Some(first) = missing.first() {
            return Err(format!(
                "after {:.1} s node {node} still did not list {} of the run's {} clients (the \
                 first: {first}) in its WHO",
                started.elapsed().as_secs_f64(),
                missing.len(),
                nicks.len()
            ));
        }
    }
    Ok(())
}

/// A watcher at `addr` asks `WHO` until it lists all of `nicks` or `deadline` passes, then
/// leaves; returns the nicks still missing (none when all are listed).
fn watch(addr: SocketAddr, nicks: &[String], deadline: Instant) -> io::Result<Vec<String>> {
    let stream = client::connect(addr)?;
    // A fresh tag: no client of this run or another has this nick.
    let watcher = Naming::fresh().nick(u32::MAX);
    let mut pending = client::register(&stream, &watcher)?;
    let mut missing: Vec<String> = nicks.to_vec();
    loop {
        client::send_command(&stream, &Command::Who)?;
        let mut listed: HashSet<String> = HashSet::new();
        pending = client::read_until(
            &stream,
            pending,
            deadline + LAST_ANSWER,
            "END WHO",
            |line| {
                match Reply::parse(&String::from_utf8_lossy(line)) {
                    Ok(Reply::Who(names)) => {
                        listed.extend(names.into_iter().map(|n| n.as_str().to_owned()));
                        Ok(false)
                    }
                    Ok(Reply::EndWho) => Ok(true),
                    // Others' `JOIN`s and `QUIT`s: what `WHO` answers is what counts.
                    _ => Ok(false),
                }
            },
        )?;
        missing.retain(|nick| !listed.contains(nick));
        if missing.is_empty() || Instant::now() + WHO_AGAIN >= deadline {
            break;
        }
        thread::sleep(WHO_AGAIN);
    }
    // The answer is in; whether the goodbye arrives changes nothing.
    let _ = client::send_command(&stream, &Command::Quit { reason: None });
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::target::Target;

    #[test]
    fn issue_19_the_wait_ends_when_the_node_lists_every_nick_and_names_one_it_does_not() {
        let target = Target::in_process(chatd::config::Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            workers: 1,
            http: None,
            ephemeral: true,
            ..chatd::config::Config::default()
        })
        .unwrap();
        let naming = Naming::fresh();
        let nicks: Vec<String> = (0..3).map(|i| naming.nick(i)).collect();
        let clients: Vec<_> = nicks
            .iter()
            .map(|nick| {
                let stream = client::connect(target.addr()).unwrap();
                client::register(&stream, nick).unwrap();
                stream
            })
            .collect();
        let nodes = [target.addr(), target.addr()];
        // Generous for a loaded machine: the wait ends as soon as the lists match, and the
        // one that cannot match fails at its deadline.
        let soon = || Instant::now() + Duration::from_secs(2);
        let ample = Instant::now() + Duration::from_secs(10);
        assert_eq!(wait_until_every_node_knows(&nodes, &nicks, ample), Ok(()));
        let absent = naming.nick(3);
        let with_absent: Vec<String> = nicks.iter().cloned().chain([absent.clone()]).collect();
        let error = wait_until_every_node_knows(&nodes, &with_absent, soon()).unwrap_err();
        assert!(
            error.contains(&format!(
                "node 1 still did not list 1 of the run's 4 clients (the first: {absent}) in \
                 its WHO"
            )),
            "{error}"
        );
        drop(clients);
        target.stop().unwrap();
    }
}
