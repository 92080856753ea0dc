//! The command words a client can send, in one table: each word's spelling, whether it needs
//! registration, and its lines in `HELP`.
//!
//! In scope: [`COMMAND_WORDS`] and looking a word up in it. The parser (`command`), the
//! server's registration gate and the `HELP` text (`help`) all read this table, so a new
//! command is one new row (and its arguments in `command`).
//!
//! Out of scope: the arguments of each command (`command`), and the words of server lines
//! (`reply`), which are another vocabulary.

/// A command word. Its row in [`COMMAND_WORDS`] says everything else about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandWord {
    // In the order of COMMAND_WORDS, which the const check below enforces: a word's row is
    // found by its index, with no search.
    Nick,
    Join,
    Part,
    Msg,
    All,
    Me,
    Upload,
    Away,
    Who,
    History,
    Rooms,
    Topic,
    Invite,
    Key,
    Private,
    Register,
    Login,
    Password,
    Unregister,
    Ping,
    Pong,
    Cap,
    Stats,
    Quit,
    Help,
}

/// One row of [`COMMAND_WORDS`].
#[derive(Debug)]
pub struct WordInfo {
    pub word: CommandWord,
    /// The word as the server spells it; clients may send it in any case.
    pub name: &'static str,
    /// Refused with `NOT_REGISTERED` before a successful `NICK`, whatever its arguments.
    pub needs_registration: bool,
    /// Its lines in `HELP`; none for a word a client does not type (`PONG`).
    pub help: &'static [Usage],
}

/// One line of `HELP`: a way to use a command and what it does.
#[derive(Debug)]
pub struct Usage {
    /// The section of `HELP` the line goes in.
    pub topic: Topic,
    /// The arguments after the command word, as `HELP` shows them.
    pub args: &'static str,
    pub about: &'static str,
}

/// The sections of `HELP`, in the order it lists them; within a section, lines come in the
/// order of [`COMMAND_WORDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Nicks and talking to people.
    People,
    Rooms,
    /// Accounts: a nick kept with a password.
    Accounts,
    /// Keeping the connection and leaving it.
    Connection,
}

impl Topic {
    pub const ALL: [Topic; 4] = [
        Topic::People,
        Topic::Rooms,
        Topic::Accounts,
        Topic::Connection,
    ];
}

/// Every command word. The rows are in [`CommandWord`] order, and that order is also the
/// order of the lines within each [`Topic`] of `HELP`: `MSG` has a line among the people
/// commands and one among the room commands (after `JOIN` and `PART`), hence its place, and
/// `REGISTER` has one among the room commands (last) and one among the account commands.
pub const COMMAND_WORDS: [WordInfo; 25] = [
    WordInfo {
        word: CommandWord::Nick,
        name: "NICK",
        needs_registration: false,
        help: &[Usage {
            topic: Topic::People,
            args: "<nick>",
            about: "choose or change your nick (letters, digits, _ and -)",
        }],
    },
    WordInfo {
        word: CommandWord::Join,
        name: "JOIN",
        needs_registration: true,
        help: &[Usage {
            topic: Topic::Rooms,
            args: "#room [key]",
            about: "join a room; the first to join creates and owns it",
        }],
    },
    WordInfo {
        word: CommandWord::Part,
        name: "PART",
        needs_registration: true,
        help: &[Usage {
            topic: Topic::Rooms,
            args: "#room [reason]",
            about: "leave a room",
        }],
    },
    WordInfo {
        word: CommandWord::Msg,
        name: "MSG",
        needs_registration: true,
        help: &[
            Usage {
                topic: Topic::People,
                args: "<nick> <text>",
                about: "send a private message",
            },
            Usage {
                topic: Topic::Rooms,
                args: "#room <text>",
                about: "send to a room",
            },
        ],
    },
    WordInfo {
        word: CommandWord::All,
        name: "ALL",
        needs_registration: true,
        help: &[Usage {
            topic: Topic::People,
            args: "<text>",
            about: "send to everyone",
        }],
    },
    WordInfo {
        word: CommandWord::Me,
        name: "ME",
        needs_registration: true,
        help: &[Usage {
            topic: Topic::People,
            args: "<target> <text>",
            about: "an action (/me) to * (everyone), a nick or a #room",
        }],
    },
    WordInfo {
        word: CommandWord::Upload,
        name: "UPLOAD",
        needs_registration: true,
        help: &[Usage {
            topic: Topic::People,
            // `<target> <size> <name>` would not fit the synopsis column.
            args: "<t> <n> <name>",
            about: "send a file of n bytes to t (*, a nick or a #room): PUT it to the URL",
        }],
    },
    WordInfo {
        word: CommandWord::Away,
        name: "AWAY",
        needs_registration: true,
        help: &[Usage {
            topic: Topic::People,
            args: "[text]",
            about: "say you are away, and why; without a text, back",
        }],
    },
    WordInfo {
        word: CommandWord::Who,
        name: "WHO",
        needs_registration: true,
        help: &[Usage {
            topic: Topic::People,
            args: "[#room]",
            about: "list who is online, or who is in a room",
        }],
    },
    WordInfo {
        word: CommandWord::History,
        name: "HISTORY",
        needs_registration: true,
        help: &[Usage {
            topic: Topic::People,
            args: "<target> [n]",
            about: "the last n lines of *, a #room or a nick; then BEFORE|AFTER <id>",
        }],
    },
    WordInfo {
        word: CommandWord::Rooms,
        name: "ROOMS",
        needs_registration: true,
        help: &[Usage {
            topic: Topic::Rooms,
            args: "",
            about: "list the rooms you can see",
        }],
    },
    WordInfo {
        word: CommandWord::Topic,
        name: "TOPIC",
        needs_registration: true,
        help: &[Usage {
            topic: Topic::Rooms,
            args: "#room [text]",
            about: "set a room's topic, or show it",
        }],
    },
    WordInfo {
        word: CommandWord::Invite,
        name: "INVITE",
        needs_registration: true,
        help: &[Usage {
            topic: Topic::Rooms,
            args: "<nick> #room",
            about: "let someone in once, past the key and privacy",
        }],
    },
    WordInfo {
        word: CommandWord::Key,
        name: "KEY",
        needs_registration: true,
        help: &[Usage {
            topic: Topic::Rooms,
            args: "#room [key]",
            about: "owner: set the room's key, or clear it",
        }],
    },
    WordInfo {
        word: CommandWord::Private,
        name: "PRIVATE",
        needs_registration: true,
        help: &[Usage {
            topic: Topic::Rooms,
            args: "#room on|off",
            about: "owner: make the room invite-only, or not",
        }],
    },
    WordInfo {
        word: CommandWord::Register,
        name: "REGISTER",
        needs_registration: true,
        help: &[
            Usage {
                topic: Topic::Rooms,
                args: "#room",
                about: "owner, logged in: keep the room when empty and over restarts",
            },
            Usage {
                topic: Topic::Accounts,
                args: "<password>",
                about: "make your nick an account: 8 to 128 bytes, no spaces",
            },
        ],
    },
    WordInfo {
        // Before NICK too: logging in is how a registered nick is taken.
        word: CommandWord::Login,
        name: "LOGIN",
        needs_registration: false,
        help: &[Usage {
            topic: Topic::Accounts,
            // `<password>` would not fit the synopsis column.
            args: "<nick> <pass>",
            about: "take your registered nick, with its password",
        }],
    },
    WordInfo {
        word: CommandWord::Password,
        name: "PASSWORD",
        needs_registration: true,
        help: &[Usage {
            topic: Topic::Accounts,
            args: "<old> <new>",
            about: "change your account's password",
        }],
    },
    WordInfo {
        word: CommandWord::Unregister,
        name: "UNREGISTER",
        needs_registration: true,
        help: &[Usage {
            topic: Topic::Accounts,
            args: "<password>",
            about: "delete your account (you keep the nick until you leave)",
        }],
    },
    WordInfo {
        word: CommandWord::Ping,
        name: "PING",
        needs_registration: false,
        help: &[Usage {
            topic: Topic::Connection,
            args: "[token]",
            about: "the server answers PONG [token]",
        }],
    },
    WordInfo {
        // The answer to the server's PING, which may come before registration.
        word: CommandWord::Pong,
        name: "PONG",
        needs_registration: false,
        help: &[],
    },
    WordInfo {
        word: CommandWord::Cap,
        name: "CAP",
        needs_registration: false,
        help: &[Usage {
            topic: Topic::Connection,
            args: "<name>",
            about: "turn on an extension: actions, away, owner, presence, ids",
        }],
    },
    WordInfo {
        word: CommandWord::Stats,
        name: "STATS",
        needs_registration: true,
        help: &[Usage {
            topic: Topic::Connection,
            args: "",
            about: "the server's load: STATS <name> <value> lines",
        }],
    },
    WordInfo {
        word: CommandWord::Quit,
        name: "QUIT",
        needs_registration: false,
        help: &[Usage {
            topic: Topic::Connection,
            args: "[reason]",
            about: "leave",
        }],
    },
    WordInfo {
        word: CommandWord::Help,
        name: "HELP",
        needs_registration: false,
        help: &[Usage {
            topic: Topic::Connection,
            args: "[command]",
            about: "this text, or one command's lines",
        }],
    },
];

// Row i describes the word whose discriminant is i, so `CommandWord::info` is an index.
const _: () = {
    let mut i = 0;
    while i < COMMAND_WORDS.len() {
        assert!(
            COMMAND_WORDS[i].word as usize == i,
            "COMMAND_WORDS must list the words in CommandWord order"
        );
        i += 1;
    }
};

impl CommandWord {
    /// The command a client's first word names, ignoring ASCII case; `None` for any other
    /// word.
    pub fn lookup(word: &str) -> Option<CommandWord> {
        // Names are upper case (a test checks it), so only the client's word is folded: half
        // the work of `eq_ignore_ascii_case`, on every line a client sends.
        let word = word.as_bytes();
        COMMAND_WORDS
            .iter()
            .find(|row| {
                row.name.len() == word.len()
                    && row
                        .name
                        .bytes()
                        .zip(word)
                        .all(|(a, b)| a == b.to_ascii_uppercase())
            })
            .map(|row| row.word)
    }

    /// Its row in [`COMMAND_WORDS`].
    pub fn info(self) -> &'static WordInfo {
        &COMMAND_WORDS[self as usize]
    }

    /// The word as the server spells it, in upper case.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Whether the word is refused with `NOT_REGISTERED` before `NICK` (every word but
    /// `NICK`, `LOGIN`, `PING`, `PONG`, `CAP`, `QUIT` and `HELP`): before registration that
    /// error comes first, whatever is wrong with the arguments.
    pub fn needs_registration(self) -> bool {
        self.info().needs_registration
    }

    /// Whether the word's arguments may hold a password (`REGISTER`, `LOGIN`, `PASSWORD`,
    /// `UNREGISTER`): such a line is never shown as sent, in a log or a `Debug`.
    pub fn carries_password(self) -> bool {
        matches!(
            self,
            CommandWord::Register
                | CommandWord::Login
                | CommandWord::Password
                | CommandWord::Unregister
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_found_by_its_name_in_any_case() {
        for row in &COMMAND_WORDS {
            assert_eq!(CommandWord::lookup(row.name), Some(row.word));
            assert_eq!(
                CommandWord::lookup(&row.name.to_ascii_lowercase()),
                Some(row.word)
            );
            assert_eq!(row.word.name(), row.name);
            // `lookup` folds only the client's word, so the names must be upper case.
            assert!(
                row.name.bytes().all(|b| b.is_ascii_uppercase()),
                "{}",
                row.name
            );
        }
    }

    #[test]
    fn only_whole_words_are_commands() {
        let near_misses = [
            "", "MSGX", "MS", "ROOM", "JOINS", "#a", "FROB", "NICK ", " NICK", "M", "MEE", "CAPS",
            "AWAYS", "OWNER", "STAT", "STATSX", "HIST", "HISTORYX", "UPLOADS", "FILE", "PUT",
        ];
        let account_misses = ["REG", "LOG", "LOGOUT", "PASS", "UNREG", "REGISTERS"];
        for word in near_misses.into_iter().chain(account_misses) {
            assert_eq!(CommandWord::lookup(word), None, "{word:?}");
        }
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in COMMAND_WORDS.iter().enumerate() {
            for b in &COMMAND_WORDS[i + 1..] {
                assert!(!a.name.eq_ignore_ascii_case(b.name), "{}", a.name);
            }
        }
    }

    #[test]
    fn the_words_open_before_registration_are_as_documented() {
        let open: Vec<&str> = COMMAND_WORDS
            .iter()
            .filter(|row| !row.needs_registration)
            .map(|row| row.name)
            .collect();
        assert_eq!(
            open,
            ["NICK", "LOGIN", "PING", "PONG", "CAP", "QUIT", "HELP"]
        );
    }
}
