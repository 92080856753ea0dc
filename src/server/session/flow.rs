//! What a session tells its connection after a line ([`Flow`]), the work a connection may
//! wait for with its reading stopped ([`Awaited`]), and its answer ([`Answered`]).
//!
//! Out of scope: who carries the work out (the verification threads for an account
//! command, the cluster for a claim or a barrier: `turns` hands it over) and what the answer
//! does (`session`).

use crate::server::accounts::{Job, Waiting};
use crate::server::cluster_link::{self, Errand};
use crate::server::conn_id::ConnId;
use crate::server::login::Verdict;
use chatd_proto::Nick;

/// What the connection does after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep reading.
    Continue,
    /// The client said `QUIT`: it has left and `BYE` is queued. Stop reading; close once the
    /// queue is written.
    Quit,
    /// The client's own queue is full: it does not read what it is sent. Cut it off.
    SlowConsumer,
    /// The session has work for another thread ([`Awaited`], `Session::take_job`): read
    /// nothing more until its answer (`Session::resume`).
    Await,
    /// The account just logged in to is held by this other connection: end it, then give
    /// this one another turn, which claims the nick.
    Evict(ConnId),
    /// The answer is not here yet: stop; the answer queues the next turn.
    Wait,
}

/// Work a connection waits for, reading nothing meanwhile.
#[derive(Debug)]
pub enum Awaited {
    /// An account command, for the verification threads.
    Account(Job),
    /// A claim or a barrier, for the cluster (`--cluster`).
    Cluster(Errand),
}

/// The answer to an [`Awaited`].
pub enum Answered {
    Account(Verdict),
    Cluster(cluster_link::Answer),
}

/// What a session waits for the cluster for, to finish when the answer comes.
pub enum ClusterWait {
    /// `NICK <nick>`: claim it here once the cluster has.
    Claim(Nick),
    /// A successful `LOGIN`: claim the account's nick here once the cluster has, then
    /// deliver what waited for it.
    Login(Nick, Vec<Waiting>),
    /// `PING [token]`: answer `PONG` once the barrier passed.
    Pong(Option<String>),
    /// Chat lines went to a congested cluster: read on once it has caught up with them.
    CatchUp,
    /// A room command went to the stream: go on once it is carried out here (a `JOIN`,
    /// `joining`, then counts a wrong key).
    Room { joining: bool },
    /// `MSG <to> <text>` (or `ME <to> <text>`, an `action`) to a nick this node has not
    /// heard of: sent once the cluster says someone holds it.
    Direct {
        to: Nick,
        text: String,
        action: bool,
    },
}
