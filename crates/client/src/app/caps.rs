//! The protocol extensions the client turns on: the `CAP` lines it sends on every connection
//! before `NICK`, and reading their answers. Shared by the full-screen client and the line
//! mode.
//!
//! An older server does not know `CAP`: it answers `ERR UNKNOWN_COMMAND` (or, one that knows
//! `CAP` but not a name, `ERR BAD_CAP`). Those answers are taken silently and the client
//! works as a v1 client; [`Caps::has`] then tells the rest of the client to use the v1 form
//! of a command (`/me` as a message starting `/me `) or to say that the server lacks it.
//! [`Caps::answer`] is, with `nick`'s [`NickRefusal`](super::NickRefusal) and `history`'s
//! reading of a refused `HISTORY`, one of the places where the client reads error codes.
//!
//! Out of scope: what the extensions' lines do (`replies`), and what is sent after `NICK`.

use chatd_proto::{CapSet, Capability, Command, ErrorCode, Reply};

/// The capabilities the full-screen client asks for, in the order they are asked. Not
/// [`Capability::ALL`]: a capability a later protocol adds changes the lines the client
/// gets, so it is asked for only once the client reads those lines. `ids` is what history
/// and resuming after a reconnect build on (issue 15).
pub const CAPS_WANTED: [Capability; 6] = [
    Capability::Actions,
    Capability::Away,
    Capability::Owner,
    Capability::Presence,
    Capability::Ids,
    Capability::Files,
];

/// What `--plain` asks for: no `presence`, since it keeps no list of who is online and its
/// output would only gain lines a script must skip. `ids` changes nothing it prints (it
/// prints lines without their id) but lets it resume after a reconnect.
pub const PLAIN_CAPS_WANTED: [Capability; 5] = [
    Capability::Actions,
    Capability::Away,
    Capability::Owner,
    Capability::Ids,
    Capability::Files,
];

/// The capabilities of one connection: those the server turned on, and how many `CAP`
/// lines still wait for their answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    on: CapSet,
    /// `CAP` lines sent on this connection and not answered yet. The server answers lines in
    /// the order they were sent, and these are the first lines of a connection, so the next
    /// `OK CAP` or refusal answers the oldest of them.
    unanswered: usize,
}

impl Caps {
    /// A new connection: nothing is on; returns the `CAP` lines to send, before `NICK`.
    pub fn ask(&mut self, wanted: &[Capability]) -> Vec<Command<'static>> {
        *self = Caps {
            on: CapSet::NONE,
            unanswered: wanted.len(),
        };
        wanted.iter().map(|&cap| Command::Cap(cap)).collect()
    }

    /// Reads `reply` if it answers one of our `CAP` lines (then the caller shows nothing of
    /// it): `OK CAP <name>` turns the capability on; `ERR UNKNOWN_COMMAND` or `ERR BAD_CAP`
    /// (and `NOT_REGISTERED`, from a server that checks registration first) is a server
    /// without it. Returns false for every other line.
    pub fn answer(&mut self, reply: &Reply) -> bool {
        if self.unanswered == 0 {
            return false;
        }
        match reply {
            Reply::OkCap(cap) => self.on = self.on.with(*cap),
            Reply::Err {
                code: ErrorCode::UnknownCommand | ErrorCode::BadCap | ErrorCode::NotRegistered,
                ..
            } => {}
            _ => return false,
        }
        self.unanswered -= 1;
        true
    }

    /// Whether the server turned `cap` on for this connection.
    pub fn has(&self, cap: Capability) -> bool {
        self.on.has(cap)
    }

    /// Whether the server knows the commands that came with the capabilities (`ME`, `AWAY`,
    /// `TOPIC #room` as a question): it turned at least one capability on.
    pub fn extended(&self) -> bool {
        self.on != CapSet::NONE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(caps: &mut Caps, line: &str) -> bool {
        caps.answer(&Reply::parse(line).unwrap())
    }

    #[test]
    fn issue_12_each_cap_line_gets_one_answer_and_nothing_else_is_taken() {
        let mut caps = Caps::default();
        let lines: Vec<String> = caps
            .ask(&CAPS_WANTED)
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            lines,
            [
                "CAP actions",
                "CAP away",
                "CAP owner",
                "CAP presence",
                "CAP ids",
                "CAP files"
            ]
        );
        assert!(!answer(&mut caps, "HELLO chatd"));
        assert!(answer(&mut caps, "OK CAP actions"));
        assert!(answer(&mut caps, "ERR BAD_CAP no capability called away"));
        assert!(answer(&mut caps, "OK CAP owner"));
        assert!(answer(&mut caps, "OK CAP presence"));
        assert!(answer(&mut caps, "OK CAP ids"));
        assert!(answer(&mut caps, "OK CAP files"));
        assert!(caps.has(Capability::Actions) && caps.has(Capability::Owner));
        assert!(!caps.has(Capability::Away));
        assert!(caps.extended());
        // All answered: later errors are the user's.
        assert!(!answer(&mut caps, "ERR UNKNOWN_COMMAND no command FOO"));
        // A new connection starts again from nothing.
        assert_eq!(caps.ask(&PLAIN_CAPS_WANTED).len(), 5);
        assert!(!caps.extended());
        assert!(!answer(
            &mut caps,
            "ERR NICK_TAKEN nick alice is already in use"
        ));
        for _ in PLAIN_CAPS_WANTED {
            assert!(answer(&mut caps, "ERR UNKNOWN_COMMAND unknown command CAP"));
        }
        assert!(!caps.extended());
    }
}
