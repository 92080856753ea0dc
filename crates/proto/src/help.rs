//! The texts a client reads before it knows the protocol: the greeting and the `HELP` lines.
//!
//! In scope: [`Reply::hello`], [`Reply::help`] and [`Reply::help_for`], whose command lines
//! come from the table of command words. Out of scope: when they are sent (the server).

use crate::reply::Reply;
use crate::words::{COMMAND_WORDS, CommandWord, Topic, Usage};

/// The column where the description of each `HELP` line starts.
const SYNOPSIS_WIDTH: usize = 22;

/// The last `HELP` line, after the commands.
const PROTOCOL_NOTE: &str = "protocol: one command per line; commands are case-insensitive";

impl Reply {
    /// The greeting every connection gets first.
    pub fn hello() -> Reply {
        Reply::Hello {
            text: format!(
                "chatd {} - type HELP for commands",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }

    /// The `HELP` text, one reply per line, ending with `END HELP`: each command's usages,
    /// topic by topic, then a note on the protocol.
    pub fn help() -> Vec<Reply> {
        let mut lines = Vec::new();
        for topic in Topic::ALL {
            for row in &COMMAND_WORDS {
                for usage in row.help.iter().filter(|usage| usage.topic == topic) {
                    lines.push(Reply::Help {
                        text: usage_line(row.name, usage),
                    });
                }
            }
        }
        lines.push(Reply::Help {
            text: PROTOCOL_NOTE.to_owned(),
        });
        lines.push(Reply::EndHelp);
        lines
    }
}

impl Reply {
    /// The answer to `HELP <command>`: that command's `HELP` lines, in the order `HELP`
    /// lists them, then `END HELP`. A word with no lines (`PONG`, which a client does not
    /// type) gets `END HELP` alone.
    pub fn help_for(word: CommandWord) -> Vec<Reply> {
        let row = word.info();
        Topic::ALL
            .iter()
            .flat_map(|&topic| row.help.iter().filter(move |usage| usage.topic == topic))
            .map(|usage| Reply::Help {
                text: usage_line(row.name, usage),
            })
            .chain([Reply::EndHelp])
            .collect()
    }
}

/// `NAME args`, padded to [`SYNOPSIS_WIDTH`], then what it does.
fn usage_line(name: &str, usage: &Usage) -> String {
    let synopsis = if usage.args.is_empty() {
        name.to_owned()
    } else {
        format!("{name} {}", usage.args)
    };
    format!("{synopsis:<SYNOPSIS_WIDTH$}{}", usage.about)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text protocol.md shows, line for line: the table must keep producing it.
    const DOCUMENTED: [&str; 27] = [
        "NICK <nick>           choose or change your nick (letters, digits, _ and -)",
        "MSG <nick> <text>     send a private message",
        "ALL <text>            send to everyone",
        "ME <target> <text>    an action (/me) to * (everyone), a nick or a #room",
        "UPLOAD <t> <n> <name> send a file of n bytes to t (*, a nick or a #room): PUT it to the URL",
        "AWAY [text]           say you are away, and why; without a text, back",
        "WHO [#room]           list who is online, or who is in a room",
        "HISTORY <target> [n]  the last n lines of *, a #room or a nick; then BEFORE|AFTER <id>",
        "JOIN #room [key]      join a room; the first to join creates and owns it",
        "PART #room [reason]   leave a room",
        "MSG #room <text>      send to a room",
        "ROOMS                 list the rooms you can see",
        "TOPIC #room [text]    set a room's topic, or show it",
        "INVITE <nick> #room   let someone in once, past the key and privacy",
        "KEY #room [key]       owner: set the room's key, or clear it",
        "PRIVATE #room on|off  owner: make the room invite-only, or not",
        "REGISTER #room        owner, logged in: keep the room when empty and over restarts",
        "REGISTER <password>   make your nick an account: 8 to 128 bytes, no spaces",
        "LOGIN <nick> <pass>   take your registered nick, with its password",
        "PASSWORD <old> <new>  change your account's password",
        "UNREGISTER <password> delete your account (you keep the nick until you leave)",
        "PING [token]          the server answers PONG [token]",
        "CAP <name>            turn on an extension: actions, away, owner, presence, ids",
        "STATS                 the server's load: STATS <name> <value> lines",
        "QUIT [reason]         leave",
        "HELP [command]        this text, or one command's lines",
        "protocol: one command per line; commands are case-insensitive",
    ];

    #[test]
    fn help_is_the_documented_text_then_end_help() {
        let expected: Vec<Reply> = DOCUMENTED
            .iter()
            .map(|text| Reply::Help {
                text: (*text).to_owned(),
            })
            .chain([Reply::EndHelp])
            .collect();
        assert_eq!(Reply::help(), expected);
    }

    #[test]
    fn help_shows_every_word_a_client_types() {
        let help: Vec<String> = Reply::help().iter().map(Reply::to_string).collect();
        for row in COMMAND_WORDS.iter().filter(|row| !row.help.is_empty()) {
            let prefix = format!("HELP {} ", row.name);
            assert!(
                help.iter().any(|line| line.starts_with(&prefix)),
                "HELP does not list {}",
                row.name
            );
        }
    }

    #[test]
    fn issue_12_help_for_a_command_is_its_own_lines_of_help() {
        let help =
            |word| -> Vec<String> { Reply::help_for(word).iter().map(Reply::to_string).collect() };
        assert_eq!(
            help(CommandWord::Msg),
            [
                "HELP MSG <nick> <text>     send a private message",
                "HELP MSG #room <text>      send to a room",
                "END HELP",
            ]
        );
        assert_eq!(help(CommandWord::Pong), ["END HELP"]);
        assert_eq!(
            help(CommandWord::Register),
            [
                "HELP REGISTER #room        owner, logged in: keep the room when empty and over restarts",
                "HELP REGISTER <password>   make your nick an account: 8 to 128 bytes, no spaces",
                "END HELP",
            ]
        );
        assert_eq!(
            help(CommandWord::Login),
            [
                "HELP LOGIN <nick> <pass>   take your registered nick, with its password",
                "END HELP",
            ]
        );
        // Every line of the full text belongs to exactly one command's answer.
        let full: Vec<Reply> = Reply::help();
        let mut pieces: Vec<Reply> = COMMAND_WORDS
            .iter()
            .flat_map(|row| Reply::help_for(row.word))
            .filter(|reply| *reply != Reply::EndHelp)
            .collect();
        let mut commands: Vec<Reply> = full[..full.len() - 2].to_vec();
        let key = |reply: &Reply| reply.to_string();
        pieces.sort_by_key(key);
        commands.sort_by_key(key);
        assert_eq!(pieces, commands);
    }

    #[test]
    fn every_synopsis_fits_its_column() {
        for row in &COMMAND_WORDS {
            for usage in row.help {
                let synopsis = format!("{} {}", row.name, usage.args);
                assert!(synopsis.trim_end().len() < SYNOPSIS_WIDTH, "{synopsis}");
            }
        }
    }

    #[test]
    fn hello_names_the_version_and_help() {
        let Reply::Hello { text } = Reply::hello() else {
            panic!("hello is not HELLO")
        };
        assert_eq!(
            text,
            format!(
                "chatd {} - type HELP for commands",
                env!("CARGO_PKG_VERSION")
            )
        );
    }
}
