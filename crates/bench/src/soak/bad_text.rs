//! The bad-text fault: control characters, line separators and bidirectional controls in
//! every kind of text a client can send (issue 13). A message text (`MSG`, `MSG #room`,
//! `ALL`, `ME`), a topic, an away text or a key holding one is refused whole with
//! `ERR BAD_TEXT`, naming the character and its place; a `PART` or `QUIT` reason holding one
//! reaches the others with each such character replaced by U+FFFD. Nothing of a refused text
//! may reach anyone: every text it sends carries `REFUSED_TEXT_MARK`, which every receiver
//! of the soak looks for, and every receiver checks that no line it gets holds a refused
//! character at all.
//!
//! In scope: one run of the fault ([`run`]): a speaker and a witness in a room of their own,
//! the speaker's refused lines and their answers, its mended `PART` as the witness sees it,
//! its mended `QUIT` (which the well-behaved clients check). Out of scope: choosing and
//! counting it (`chaos`), the receivers' checks (`chatter`, `chaos_conn`).

use crate::soak::chaos_conn::{Conn, Step, is_pong, step};
use crate::soak::chatter::{Left, REFUSED_TEXT_MARK};
use crate::soak::faults::ChaosClient;
use crate::soak::figures::Figures;
use chatd_proto::text::replace_refused;
use chatd_proto::{Command, Nick, ProtocolError, Reply, Room, Target, parse_command};

/// Rooms below this index are the ones the rooms fault shares; each speaker has its own
/// above them.
const SHARED_ROOMS: u32 = 1_000;

/// Runs the fault on `client`.
pub fn run(client: &mut ChaosClient<'_>) -> Result<(), String> {
    let shared = client.shared();
    let index = client.index();
    let quit_reason = format!("soak {index} {} leaves", refused_piece(client.rng()));
    let part_reason = format!("parting {} now", refused_piece(client.rng()));
    let room_name = shared.names.chaos.room(SHARED_ROOMS + index);
    let room = Room::parse(&room_name).map_err(|e| e.to_string())?;
    let me = Nick::parse(&client.nick()).map_err(|e| e.to_string())?;

    let mut speaker = client.open()?;
    speaker.hello()?;
    client.register(
        &mut speaker,
        vec![Left::Quit(Some(replace_refused(&quit_reason).into_owned()))],
    )?;
    let witness_index = shared.next_chaos_index();
    let witness_nick =
        Nick::parse(&shared.names.chaos.nick(witness_index)).map_err(|e| e.to_string())?;
    let mut witness = client.open()?;
    witness.hello()?;
    witness.register(witness_nick.as_str())?;
    client.also_registered(witness_index, vec![Left::Quit(None)]);
    witness.join(&room, &witness_nick)?;
    speaker.join(&room, &me)?;
    witness.expect("the speaker's JOIN #room", |reply| {
        *reply
            == Reply::RoomJoin {
                room: room.clone(),
                nick: me.clone(),
            }
    })?;

    let lines = refused_lines(client, &room, &witness_nick);
    let mut answers = Vec::new();
    for line in &lines {
        speaker.send_raw(format!("{line}\n").as_bytes())?;
        answers.push(expected_refusal(line)?);
    }
    let token = format!("text-{index}");
    speaker.send(&Command::Ping {
        token: Some(&token),
    })?;
    let mut next = 0;
    speaker.expect_steps("ERR BAD_TEXT for each refused text, then PONG", |reply| {
        if next < answers.len() && *reply == answers[next] {
            next += 1;
            Step::More
        } else {
            step(next == answers.len() && is_pong(reply, &token))
        }
    })?;

    speaker.send(&Command::Part {
        room: room.clone(),
        reason: Some(&part_reason),
    })?;
    speaker.expect("OK PART", |reply| *reply == Reply::OkPart(room.clone()))?;
    let mended = Reply::RoomPart {
        room: room.clone(),
        nick: me.clone(),
        reason: Some(replace_refused(&part_reason).into_owned()),
    };
    let mut wrong = None;
    witness.expect_steps("the speaker's PART, mended", |reply| {
        if *reply == mended {
            return Step::Done;
        }
        if from(reply) == Some(&me) {
            wrong = Some(reply.to_string());
            return Step::Done;
        }
        Step::No
    })?;
    if let Some(wrong) = wrong {
        return Err(format!(
            "the witness got {wrong:?} from the speaker, waiting for {mended}"
        ));
    }
    leave(&mut witness, None)?;
    client.other_may_leave(witness_index, vec![Left::Quit(None)]);
    leave(&mut speaker, Some(&quit_reason))?;
    client.record(Figures::BadText {
        refused: lines.len() as u32,
        mended: 2,
    });
    Ok(())
}

/// `QUIT [reason]`, `BYE`, the end of the stream.
fn leave(conn: &mut Conn<'_>, reason: Option<&str>) -> Result<(), String> {
    conn.send(&Command::Quit { reason })?;
    conn.expect("BYE", |reply| *reply == Reply::Bye { reason: None })?;
    conn.expect_end()
}

/// Who a relayed line comes from.
fn from(reply: &Reply) -> Option<&Nick> {
    match reply {
        Reply::Msg { from, .. }
        | Reply::All { from, .. }
        | Reply::RoomMsg { from, .. }
        | Reply::Me { from, .. } => Some(from),
        Reply::TopicIs { setter, .. } => Some(setter),
        _ => None,
    }
}

/// One of each kind of text the server refuses, each with a refused character, in a random
/// order: message texts to a nick, the lobby and a room, actions, a topic, an away text,
/// and the key of `JOIN` and of `KEY`.
fn refused_lines(client: &mut ChaosClient<'_>, room: &Room, witness: &Nick) -> Vec<String> {
    let index = client.index();
    let rng = client.rng();
    let mut text = || format!("{REFUSED_TEXT_MARK}{index} {} end", refused_piece(rng));
    let texts: Vec<String> = (0..7).map(|_| text()).collect();
    let key = format!("k{}y", refused_piece(client.rng()));
    let other = Room::parse(&format!("{room}x")).expect("a room name with one more letter");
    let mut lines = vec![
        Command::Msg {
            to: witness.clone(),
            text: &texts[0],
        }
        .to_string(),
        Command::All { text: &texts[1] }.to_string(),
        Command::MsgRoom {
            room: room.clone(),
            text: &texts[2],
        }
        .to_string(),
        Command::Me {
            target: Target::Lobby,
            text: &texts[3],
        }
        .to_string(),
        Command::Me {
            target: Target::Room(room.clone()),
            text: &texts[4],
        }
        .to_string(),
        Command::Topic {
            room: room.clone(),
            text: &texts[5],
        }
        .to_string(),
        Command::Away {
            text: Some(&texts[6]),
        }
        .to_string(),
        Command::Join {
            room: other,
            key: Some(&key),
        }
        .to_string(),
        Command::Key {
            room: room.clone(),
            key: Some(&key),
        }
        .to_string(),
    ];
    client.rng().shuffle(&mut lines);
    lines
}

/// The `ERR BAD_TEXT` that `line` must get: the protocol crate's own reading of it, which
/// must be a refusal of a text.
fn expected_refusal(line: &str) -> Result<Reply, String> {
    match parse_command(line) {
        Err(error @ ProtocolError::BadText { .. }) => Ok(Reply::from(&error)),
        other => Err(format!(
            "the soak built {line:?}, which the protocol reads as {other:?}, not BAD_TEXT"
        )),
    }
}

/// Characters the text rule refuses: C0 controls but TAB and LF (which ends the line), DEL,
/// C1 controls, the line and paragraph separators, the bidirectional controls.
const REFUSED: [(u32, u32); 5] = [
    (0x00, 0x08),
    (0x0b, 0x1f),
    (0x7f, 0x9f),
    (0x2028, 0x202e),
    (0x2066, 0x2069),
];

/// A refused character, alone or starting a terminal escape sequence, always followed by a
/// letter: a CR just before the line's end would be read as the line ending.
fn refused_piece(rng: &mut fastrand::Rng) -> String {
    match rng.u8(0..6) {
        0 => "\u{1b}]0;pwned-title\u{7}x".to_owned(),
        1 => "\u{1b}[2Jx".to_owned(),
        2 => "a\rMSG admin run x".to_owned(),
        _ => {
            let (low, high) = REFUSED[rng.usize(0..REFUSED.len())];
            let c = char::from_u32(rng.u32(low..=high)).expect("not a surrogate");
            format!("{c}x")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatd_proto::text::find_refused;

    #[test]
    fn every_piece_holds_a_refused_character_not_at_its_end() {
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..1000 {
            let piece = refused_piece(&mut rng);
            assert!(find_refused(&piece).is_some(), "{piece:?}");
            assert!(!piece.contains('\n') && piece.ends_with('x'), "{piece:?}");
        }
    }

    #[test]
    fn each_refused_line_reads_as_bad_text() {
        let naming = crate::loadgen::client::Naming::with_tag(5);
        let room = Room::parse(&naming.room(1001)).unwrap();
        let witness = Nick::parse(&naming.nick(2)).unwrap();
        let mut rng = fastrand::Rng::with_seed(9);
        for _ in 0..50 {
            let text = format!("{REFUSED_TEXT_MARK}1 {} end", refused_piece(&mut rng));
            for line in [
                format!("MSG {witness} {text}"),
                format!("TOPIC {room} {text}"),
                format!("AWAY {text}"),
                format!("KEY {room} k{}", refused_piece(&mut rng)),
            ] {
                let reply = expected_refusal(&line).unwrap();
                assert!(reply.to_string().starts_with("ERR BAD_TEXT "), "{reply}");
            }
        }
        assert!(expected_refusal("ALL fine").is_err());
    }
}
