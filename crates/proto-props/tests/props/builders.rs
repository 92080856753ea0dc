//! One builder per variant of `Command`, `ProtocolError` and `Reply`, from generated valid
//! parts, and the exhaustive matches that let a test check the lists cover every variant.

use chatd_proto::text::Refused;
use chatd_proto::{
    COMMAND_WORDS, CapSet, Capability, Command, CommandWord, ErrorCode, FileName, FileNameFault,
    HistoryRequest, MessageId, Nick, NickFault, Page, Password, PasswordFault, ProtocolError,
    Reply, Room, StatName, Target, UtcMillis,
};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::lines::{
    file_name, given_password, new_password, nick, one_word, relayed_text, room, url,
};

/// The valid parts a command, an error or a reply is built from; each builder takes the ones
/// it needs. Commands borrow their texts from here.
#[derive(Debug, Clone)]
pub struct Parts {
    nick: Nick,
    other: Nick,
    room: Room,
    /// A free text as `parse_command` hands it over.
    text: String,
    /// An optional free text (a token, a reason, a key, a topic).
    tail: Option<String>,
    nicks: Vec<Nick>,
    count: usize,
    on: bool,
    /// The command of a `MISSING_ARGUMENT`, a `BAD_ARGUMENT` or a `HELP <command>`.
    word: CommandWord,
    cap: Capability,
    /// Which kind of target (`*`, a nick, a room) a target built from these parts is.
    target_kind: usize,
    fault: NickFault,
    /// Anything a client could type where a nick or a room belongs.
    typed: String,
    /// A code no version of this crate knows (yet).
    new_code: String,
    /// Which line of `HELP`.
    help_line: Index,
    /// A password that meets the rule, as `REGISTER` takes it.
    password: String,
    /// A password as `LOGIN` and `UNREGISTER` hand it over: any text to the end of the line.
    given: String,
    /// A word without spaces, as the old password of `PASSWORD`.
    word_text: String,
    /// A file name that meets the rule, as `UPLOAD` takes it.
    file_name: String,
    /// A URL of a file, as `OK UPLOAD`, `OK FILE` and `FILE` carry it.
    url: String,
}

pub fn parts() -> impl Strategy<Value = Parts> {
    let names = (nick(), nick(), room(), prop::collection::vec(nick(), 0..6));
    let texts = (
        relayed_text(),
        prop::option::of(relayed_text()),
        any::<String>(),
        "[A-Z][A-Z_]{0,15}".prop_filter("a known code", |code| {
            matches!(ErrorCode::parse(code), ErrorCode::Unknown(_))
        }),
    );
    let rest = (
        any::<usize>(),
        any::<bool>(),
        prop::sample::select(COMMAND_WORDS.iter().map(|row| row.word).collect::<Vec<_>>()),
        prop::sample::select(vec![
            NickFault::Empty,
            NickFault::TooLong,
            NickFault::FirstNotLetter,
            NickFault::BadCharacter,
        ]),
        any::<Index>(),
        prop::sample::select(Capability::ALL.to_vec()),
        0..3usize,
    );
    let passwords = (new_password(), given_password(), one_word());
    let files = (file_name(), url());
    (names, texts, rest, passwords, files).prop_map(
        |(
            (nick, other, room, nicks),
            (text, tail, typed, new_code),
            (count, on, word, fault, help_line, cap, target_kind),
            (password, given, word_text),
            (file_name, url),
        )| Parts {
            nick,
            other,
            room,
            text,
            tail,
            nicks,
            count,
            on,
            word,
            cap,
            target_kind,
            fault,
            typed,
            new_code,
            help_line,
            password,
            given,
            word_text,
            file_name,
            url,
        },
    )
}

impl Parts {
    /// The lobby, the nick or the room, as `target_kind` says.
    fn target(&self) -> Target {
        match self.target_kind {
            0 => Target::Lobby,
            1 => Target::Nick(self.nick.clone()),
            _ => Target::Room(self.room.clone()),
        }
    }

    /// An id made from `count`.
    fn id(&self) -> MessageId {
        MessageId::new(self.count as u64 % MessageId::MAX.get() + 1).expect("in range")
    }

    /// A `HISTORY` request of `target`, before or after `id` as `on` says.
    fn history(&self) -> HistoryRequest {
        HistoryRequest {
            target: self.target(),
            count: u16::try_from(self.count % 1000 + 1).expect("at most 1000"),
            page: if self.on {
                Page::Before(self.id())
            } else {
                Page::After(self.id())
            },
        }
    }

    /// A `HIST` line of the action's v1 form, queued `count` milliseconds after the epoch.
    fn hist(&self) -> Reply {
        let v1 = self
            .action()
            .form_for(CapSet::NONE)
            .expect("an action has a v1 form")
            .into_owned();
        Reply::Hist {
            target: self.target(),
            id: self.id(),
            time: UtcMillis::saturating(self.count as u64),
            line: v1.to_string(),
        }
    }

    /// The new password, held to the rule.
    fn new_password(&self) -> Password<'_> {
        Password::new(&self.password).expect("generated to meet the rule")
    }

    /// The file name, held to the rule.
    fn file_name(&self) -> FileName<'_> {
        FileName::parse(&self.file_name).expect("generated to meet the rule")
    }

    /// A size made from `count`.
    fn size(&self) -> u64 {
        self.count as u64
    }

    /// An action from `other` to `target`.
    fn action(&self) -> Reply {
        Reply::Me {
            target: self.target(),
            from: self.other.clone(),
            text: self.text.clone(),
        }
    }
}

pub type BuildCommand = for<'a> fn(&'a Parts) -> Command<'a>;

/// One builder per `Command` variant (two for those with an optional part).
pub const COMMANDS: [BuildCommand; 37] = [
    |p| Command::Nick(p.nick.clone()),
    |p| Command::Msg {
        to: p.nick.clone(),
        text: &p.text,
    },
    |p| Command::All { text: &p.text },
    |_| Command::Who,
    |p| Command::Ping {
        token: p.tail.as_deref(),
    },
    |p| Command::Pong {
        token: p.tail.as_deref(),
    },
    |p| Command::Quit {
        reason: p.tail.as_deref(),
    },
    |_| Command::Help,
    |p| Command::Join {
        room: p.room.clone(),
        key: p.tail.as_deref(),
    },
    |p| Command::Part {
        room: p.room.clone(),
        reason: p.tail.as_deref(),
    },
    |p| Command::MsgRoom {
        room: p.room.clone(),
        text: &p.text,
    },
    |p| Command::WhoRoom(p.room.clone()),
    |_| Command::Rooms,
    |p| Command::Topic {
        room: p.room.clone(),
        text: &p.text,
    },
    |p| Command::Key {
        room: p.room.clone(),
        key: p.tail.as_deref(),
    },
    |p| Command::Key {
        room: p.room.clone(),
        key: None,
    },
    |p| Command::Private {
        room: p.room.clone(),
        on: p.on,
    },
    |p| Command::Invite {
        nick: p.nick.clone(),
        room: p.room.clone(),
    },
    |p| Command::Ping {
        token: Some(p.text.as_str()),
    },
    |p| Command::Quit {
        reason: Some(p.text.as_str()),
    },
    |p| Command::Join {
        room: p.room.clone(),
        key: Some(p.text.as_str()),
    },
    |p| Command::HelpFor(p.word),
    |p| Command::TopicQuery(p.room.clone()),
    |p| Command::Cap(p.cap),
    |p| Command::Me {
        target: p.target(),
        text: &p.text,
    },
    |p| Command::Away {
        text: p.tail.as_deref(),
    },
    |p| Command::Away {
        text: Some(p.text.as_str()),
    },
    |_| Command::Stats,
    |p| Command::History(p.history()),
    |p| {
        Command::History(HistoryRequest {
            page: Page::Latest,
            ..p.history()
        })
    },
    |p| Command::Register(p.new_password()),
    |p| Command::RegisterRoom(p.room.clone()),
    |p| Command::Login {
        nick: p.nick.clone(),
        password: Password::given(&p.given),
    },
    |p| Command::Password {
        old: Password::given(&p.word_text),
        new: p.new_password(),
    },
    |p| Command::Unregister(Password::given(&p.given)),
    |p| Command::Unregister(Password::given(&p.password)),
    |p| Command::Upload {
        target: p.target(),
        size: p.size(),
        name: p.file_name(),
    },
];

pub type BuildError = fn(&Parts) -> ProtocolError;

/// One builder per `ProtocolError` variant, with the free parts generated.
pub const ERRORS: [BuildError; 43] = [
    |_| ProtocolError::NotRegistered,
    |p| ProtocolError::NickTaken(p.nick.clone()),
    |p| ProtocolError::BadNick(p.fault),
    |p| ProtocolError::NoSuchNick(p.typed.clone()),
    |p| ProtocolError::UnknownCommand(p.typed.clone()),
    |p| ProtocolError::MissingArgument {
        command: p.word,
        needs: "a text",
        after: None,
    },
    |p| ProtocolError::MissingArgument {
        command: p.word,
        needs: "a room",
        after: Some(p.typed.clone()),
    },
    |p| ProtocolError::LineTooLong { max: p.count },
    |_| ProtocolError::BadEncoding,
    |p| ProtocolError::ServerFull { max: p.count },
    |p| ProtocolError::TooManyConnections { max: p.count },
    |p| ProtocolError::ConnectingTooOften {
        per_second: u32::try_from(p.count).unwrap_or(u32::MAX),
    },
    |p| ProtocolError::BadRoom(p.typed.clone()),
    |p| ProtocolError::NoSuchRoom(p.typed.clone()),
    |p| ProtocolError::NotInRoom(p.room.clone()),
    |p| ProtocolError::AlreadyInRoom(p.room.clone()),
    |p| ProtocolError::BadKey(p.room.clone()),
    |p| ProtocolError::InviteOnly(p.room.clone()),
    |p| ProtocolError::NotOwner(p.room.clone()),
    |p| ProtocolError::TooManyRooms { max: p.count },
    |p| ProtocolError::RoomFull {
        room: p.room.clone(),
        max: p.count,
    },
    |p| ProtocolError::NoSuchCommand(p.typed.clone()),
    |p| ProtocolError::BadArgument {
        command: p.word,
        takes: "on or off",
        got: p.typed.clone(),
    },
    |p| ProtocolError::BadCap(p.typed.clone()),
    |p| ProtocolError::BadText {
        what: "the topic",
        refused: Refused {
            found: if p.on { '\u{1b}' } else { '\u{2028}' },
            at: p.count + 1,
        },
    },
    |p| ProtocolError::NoMoreRooms { max: p.count },
    |p| ProtocolError::TooLong {
        what: "a key",
        max: p.count,
        got: p.count + 1,
    },
    |p| ProtocolError::TooManyAttempts {
        wait_secs: p.count as u64,
    },
    |p| ProtocolError::BadHistory {
        expected: "a count of 1 to 1000",
        got: p.on.then(|| p.typed.clone()),
    },
    |p| {
        ProtocolError::WeakPassword(
            [
                PasswordFault::TooShort,
                PasswordFault::TooLong,
                PasswordFault::HasSpace,
            ][p.count % 3],
        )
    },
    |p| ProtocolError::NickRegistered(p.nick.clone()),
    |_| ProtocolError::BadLogin,
    |p| ProtocolError::TooManyLogins {
        wait_secs: p.count as u64,
    },
    |_| ProtocolError::LoginRequired,
    |_| ProtocolError::ServerBusy,
    |p| ProtocolError::MailboxFull {
        nick: p.nick.clone(),
        lines: p.count,
    },
    |p| {
        ProtocolError::BadFileName(
            [
                FileNameFault::Slash,
                FileNameFault::Dots,
                FileNameFault::TooLong(p.count),
            ][p.count % 3],
        )
    },
    |p| ProtocolError::FileTooLarge {
        size: p.size().saturating_add(1),
        max: p.size(),
    },
    |p| ProtocolError::Quota { free: p.size() },
    |p| ProtocolError::UploadsWaiting { max: p.count },
    |_| ProtocolError::NoFiles,
    |_| ProtocolError::TlsRequired,
    |p| ProtocolError::Unavailable(p.text.clone()),
];

pub type BuildReply = fn(&Parts) -> Reply;

/// One builder per `Reply` variant, and more for the lines the server builds itself.
pub const REPLIES: [BuildReply; 57] = [
    |p| Reply::Hello {
        text: p.text.clone(),
    },
    |_| Reply::hello(),
    |p| Reply::OkNick(p.nick.clone()),
    |p| Reply::Join(p.nick.clone()),
    |p| Reply::NickChanged {
        old: p.nick.clone(),
        new: p.other.clone(),
    },
    |p| Reply::Msg {
        from: p.nick.clone(),
        text: p.text.clone(),
    },
    |p| Reply::All {
        from: p.nick.clone(),
        text: p.text.clone(),
    },
    |p| Reply::Who(p.nicks.clone()),
    |_| Reply::EndWho,
    |p| Reply::Pong {
        token: p.tail.clone(),
    },
    |p| Reply::Ping {
        token: p.tail.clone(),
    },
    |p| Reply::Bye {
        reason: p.tail.clone(),
    },
    |p| Reply::Quit {
        nick: p.nick.clone(),
        reason: p.tail.clone(),
    },
    |p| Reply::Help {
        text: p.text.clone(),
    },
    |p| {
        let help = Reply::help();
        help[p.help_line.index(help.len())].clone()
    },
    |_| Reply::EndHelp,
    |p| Reply::from(&ERRORS[p.count % ERRORS.len()](p)),
    |p| Reply::Err {
        code: ErrorCode::Unknown(p.new_code.clone()),
        text: p.text.clone(),
    },
    |p| Reply::OkJoin(p.room.clone()),
    |p| Reply::OkPart(p.room.clone()),
    |p| Reply::RoomJoin {
        room: p.room.clone(),
        nick: p.nick.clone(),
    },
    |p| Reply::RoomPart {
        room: p.room.clone(),
        nick: p.nick.clone(),
        reason: p.tail.clone(),
    },
    |p| Reply::RoomMsg {
        room: p.room.clone(),
        from: p.nick.clone(),
        text: p.text.clone(),
    },
    |p| Reply::RoomWho {
        room: p.room.clone(),
        nicks: p.nicks.clone(),
    },
    |p| Reply::EndRoomWho(p.room.clone()),
    |p| Reply::RoomInfo {
        room: p.room.clone(),
        members: p.count,
        topic: p.tail.clone(),
    },
    |_| Reply::EndRooms,
    |p| Reply::TopicIs {
        room: p.room.clone(),
        setter: p.nick.clone(),
        text: p.text.clone(),
    },
    |p| Reply::OkKey(p.room.clone()),
    |p| Reply::OkPrivate {
        room: p.room.clone(),
        on: p.on,
    },
    |p| Reply::OkInvite {
        nick: p.nick.clone(),
        room: p.room.clone(),
    },
    |p| Reply::Invited {
        room: p.room.clone(),
        from: p.nick.clone(),
    },
    |p| Reply::who_list(p.nicks.clone())[0].clone(),
    |p| Reply::room_who_list(&p.room, p.nicks.clone())[0].clone(),
    |p| {
        let help = Reply::help_for(p.word);
        help[p.help_line.index(help.len())].clone()
    },
    |p| Reply::NoTopic(p.room.clone()),
    |p| Reply::OkCap(p.cap),
    |p| Reply::OkAway { on: p.on },
    Parts::action,
    // What a client without `CAP actions` gets for it.
    |p| {
        p.action()
            .form_for(CapSet::NONE)
            .expect("an action has a v1 form")
            .into_owned()
    },
    |p| Reply::Away {
        nick: p.nick.clone(),
        text: p.text.clone(),
    },
    |p| Reply::Owner {
        room: p.room.clone(),
        nick: p.nick.clone(),
    },
    |p| Reply::Presence {
        exact: p.on,
        count: u32::try_from(p.count).unwrap_or(u32::MAX),
    },
    |p| Reply::Stat {
        name: StatName::KNOWN[p.count % StatName::KNOWN.len()].clone(),
        value: p.count as u64,
    },
    |_| Reply::EndStats,
    Parts::hist,
    |p| Reply::EndHistory {
        target: p.target(),
        count: p.count,
    },
    |p| Reply::OkRegister(p.nick.clone()),
    |p| Reply::OkRegisterRoom(p.room.clone()),
    |p| Reply::OkLogin(p.nick.clone()),
    |_| Reply::OkPassword,
    |p| Reply::OkUnregister(p.nick.clone()),
    |p| Reply::OkStored(p.nick.clone()),
    |p| Reply::OkUpload { url: p.url.clone() },
    |p| Reply::OkFile { url: p.url.clone() },
    |p| Reply::File {
        from: p.nick.clone(),
        size: p.size(),
        url: p.url.clone(),
        name: p.file_name.clone(),
    },
    |p| Reply::RoomFile {
        room: p.room.clone(),
        from: p.nick.clone(),
        size: p.size(),
        url: p.url.clone(),
        name: p.file_name.clone(),
    },
];

/// A builder from `list` and the parts to build with.
pub fn built<T: Clone + std::fmt::Debug + 'static>(
    list: &'static [T],
) -> impl Strategy<Value = (T, Parts)> {
    (prop::sample::select(list), parts())
}

/// Some parts to build every variant with.
pub fn sample_parts() -> Parts {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    parts().new_tree(&mut runner).unwrap().current()
}
