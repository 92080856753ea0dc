//! Property tests of `chatd-proto` over generated input: the framer, the command parser and
//! every server line.
//!
//! What they prove, each for every generated case:
//! - Framing does not depend on how the stream arrives: any byte stream cut into any chunks
//!   gives the same frames, and the same `parse_command` results, as the whole stream pushed at
//!   once, for several `--max-line` values down to the smallest allowed. The frames are also the
//!   ones the contract describes (`oracle::reference_frames`).
//! - `LineBuffer` stays within its documented bound: once drained, it holds less than
//!   `max_line` bytes, and right after a push at most that plus the pushed chunk.
//! - `parse_command` never panics on any line, v1, room, extension (`CAP`, `ME`, `AWAY`,
//!   `HELP <command>`, `TOPIC #room`) or account command (`REGISTER`, `LOGIN`, `PASSWORD`,
//!   `UNREGISTER`), and what it accepts is consistent (`oracle::check_command_line`): valid
//!   nicks, texts and passwords kept as sent, new passwords that meet the rule and a `Debug`
//!   that hides them, registration judged as protocol.md says, and a `Display` that parses
//!   back to the same command. Its errors format as `ERR` lines that parse back.
//! - The text rule's one-pass scan finds the same first refused character, at the same place,
//!   and replaces a reason's the same way, as the rule written range by range
//!   (`oracle::check_text_rule`), for texts that put refused characters at every offset of
//!   its eight-byte words; and a relayed text (message, topic, key, away text) never holds
//!   one (`oracle::check_command_line`).
//! - Every `Command` variant, built from valid parts, parses back from its line.
//! - Every `Reply` variant the server can build (nicks and texts as `parse_command` hands them
//!   over, every error, codes this version does not know, the v1 form of an action) formats
//!   as one line that `Reply::parse` turns back into the same reply; any line that parses as
//!   a reply formats back to the same reply.
//! - With any message id, a chat line (`ALL`, `MSG`, `MSG #room`, `ME`) written in its
//!   `@<id> ` form reads back as the same id and reply, and every other line is refused in
//!   that form; any line that reads with an id formats back to itself, so an id has one
//!   spelling and a bad prefix never reads as a good one.
//!
//! The variant lists (`COMMANDS`, `REPLIES`, `ERRORS`) are checked by plain tests to cover
//! every variant, through exhaustive matches: a new variant does not compile until it is
//! counted, and then fails those tests until it has a generator.
//!
//! Out of scope: sockets and sessions (`tests/it`), and long searches (the fuzz targets in
//! `fuzz/`, which share `chatd_proto::oracle` with these tests). Each property runs
//! `DEFAULT_CASES` cases so `cargo test` stays quick; set `PROPTEST_CASES` for a longer run,
//! e.g. `PROPTEST_CASES=20000 cargo test -p chatd-proto-props`.

mod builders;
mod lines;

use builders::{COMMANDS, ERRORS, REPLIES, built, sample_parts};
use chatd_proto::oracle::{
    COMMAND_VARIANTS, REPLY_VARIANTS, check_command_line, check_reply_line, check_text_rule,
    command_variant, frame_chunks, reference_frames, reply_variant, wire_line,
};
use chatd_proto::{ErrorCode, MessageId, Reply, parse_command};
use lines::{argument, byte_stream, command_text, cut, lines, ruled_text};
use proptest::prelude::*;
use proptest::sample::Index;

/// Cases per property unless `PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 256;

/// The `max_line` values every stream is framed with: the smallest allowed, a few small ones
/// that make most generated lines too long, and ones that fit them all.
const MAX_LINES: [usize; 7] = [2, 3, 4, 7, 16, 64, 4096];

fn config() -> ProptestConfig {
    let default = ProptestConfig::default();
    ProptestConfig {
        // ProptestConfig::default() already honours PROPTEST_CASES; only replace its 256
        // when the variable is not set, so a longer run is one variable away.
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            default.cases
        } else {
            DEFAULT_CASES
        },
        // A failure is printed shrunk; it becomes a named regression test in the module it
        // concerns, rather than a seed file next to this one.
        failure_persistence: None,
        ..default
    }
}
// Properties.

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_chunking_gives_the_same_frames_and_commands(
        stream in byte_stream(),
        cuts in prop::collection::vec(any::<Index>(), 0..12),
    ) {
        let chunks = cut(&stream, &cuts);
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        for max_line in MAX_LINES {
            let whole = frame_chunks(max_line, &[&stream]);
            let split = frame_chunks(max_line, &chunks);
            prop_assert_eq!(&split, &whole, "max_line {}, chunks {:?}", max_line, chunks);
            let bytewise = frame_chunks(max_line, &bytes);
            prop_assert_eq!(&bytewise, &whole, "max_line {}, one byte at a time", max_line);
            let commands = |frames| {
                lines(frames).into_iter().map(parse_command).collect::<Vec<_>>()
            };
            prop_assert_eq!(commands(&split), commands(&whole));
        }
    }

    #[test]
    fn frames_follow_the_contract(stream in byte_stream()) {
        for max_line in MAX_LINES {
            let got = frame_chunks(max_line, &[&stream]);
            prop_assert_eq!(&got, &reference_frames(max_line, &stream), "max_line {}", max_line);
            for line in lines(&got) {
                prop_assert!(!line.contains('\n'));
                prop_assert!(line.len() < max_line, "{:?} breaks max_line {}", line, max_line);
            }
        }
    }

    #[test]
    fn memory_stays_bounded_after_any_input(
        stream in byte_stream(),
        cuts in prop::collection::vec(any::<Index>(), 0..12),
        max_line in prop_oneof![2..=8usize, Just(64usize), Just(4096usize)],
    ) {
        // The bounds are asserted after every push and drain inside `frame_chunks`.
        frame_chunks(max_line, &cut(&stream, &cuts));
    }

    #[test]
    fn parse_command_never_panics_and_is_consistent(
        line in prop_oneof![3 => command_text(), 1 => any::<String>()],
    ) {
        check_command_line(&line);
    }

    #[test]
    fn issue_13_the_text_rule_matches_its_reference(text in ruled_text()) {
        check_text_rule(&text);
        for word in ["ALL", "TOPIC #tea", "AWAY", "KEY #tea", "QUIT", "PART #tea"] {
            check_command_line(&format!("{word} {text}"));
        }
    }

    #[test]
    fn every_command_round_trips((build, parts) in built(&COMMANDS)) {
        let command = build(&parts);
        let line = command.to_string();
        prop_assert_eq!(parse_command(&line), Ok(Some(command)), "{:?}", line);
        check_command_line(&line);
    }

    #[test]
    fn every_reply_round_trips((build, parts) in built(&REPLIES)) {
        let reply = build(&parts);
        // A text may end in '\r' (the client sent `ALL x\r\r\n`), so the round trip is checked
        // on the line as a reader that strips only the '\n' sees it.
        prop_assert_eq!(Reply::parse(&wire_line(&reply)), Ok(reply));
    }

    #[test]
    fn issue_15_chat_lines_and_only_they_round_trip_with_an_id(
        (build, parts) in built(&REPLIES),
        id in 1..=MessageId::MAX.get(),
    ) {
        let reply = build(&parts);
        let id = MessageId::new(id).unwrap();
        let v1 = wire_line(&reply);
        let mut stamped = String::new();
        id.write_line(&v1, &mut stamped);
        if reply.carries_id() {
            prop_assert_eq!(Reply::parse_with_id(&stamped), Ok((Some(id), reply.clone())));
        } else {
            prop_assert!(Reply::parse_with_id(&stamped).is_err(), "{:?}", stamped);
        }
        prop_assert_eq!(Reply::parse_with_id(&v1), Ok((None, reply)));
    }

    #[test]
    fn issue_15_a_line_that_reads_with_an_id_formats_back(
        prefix in prop_oneof![
            "@[0-9]{0,17}[ \t]?",
            "@[-+0-9a-z@ ]{0,6}",
            Just("@9007199254740992 ".to_owned()),
            Just("@9007199254740991 ".to_owned()),
        ],
        (build, parts) in built(&REPLIES),
    ) {
        let line = format!("{prefix}{}", wire_line(&build(&parts)));
        if let Ok((id, reply)) = Reply::parse_with_id(&line) {
            let id = id.expect("a line starting with @ reads only with its id");
            let mut again = String::new();
            id.write_line(&reply.to_string(), &mut again);
            prop_assert_eq!(again, line);
        }
    }

    #[test]
    fn any_line_that_reads_as_a_reply_formats_back(
        line in prop_oneof![
            2 => (built(&REPLIES), argument())
                .prop_map(|((build, parts), extra)| format!("{} {extra}", build(&parts))),
            2 => command_text(),
            1 => any::<String>(),
        ],
    ) {
        check_reply_line(&line);
    }
}

// The variant lists cover every variant.

#[test]
fn the_command_builders_cover_every_variant() {
    let parts = sample_parts();
    let mut covered = [false; COMMAND_VARIANTS];
    for build in COMMANDS {
        covered[command_variant(&build(&parts))] = true;
    }
    assert_eq!(
        covered, [true; COMMAND_VARIANTS],
        "a Command variant has no builder"
    );
}

#[test]
fn the_error_builders_cover_every_code() {
    let parts = sample_parts();
    let codes: Vec<ErrorCode> = ERRORS.iter().map(|build| build(&parts).code()).collect();
    for code in ErrorCode::KNOWN {
        assert!(codes.contains(code), "no builder makes a {code} error");
    }
}

#[test]
fn the_reply_builders_cover_every_variant() {
    let parts = sample_parts();
    let mut covered = [false; REPLY_VARIANTS];
    for build in REPLIES {
        covered[reply_variant(&build(&parts))] = true;
    }
    assert_eq!(
        covered, [true; REPLY_VARIANTS],
        "a Reply variant has no builder"
    );
}
