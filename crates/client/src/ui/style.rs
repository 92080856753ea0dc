//! The look of the screen: the styles of each kind of text and the colour of each nick,
//! shared by every part of the drawing.
//!
//! Out of scope: where anything is drawn (`ui` and `scrollback`).

use ratatui::style::{Color, Modifier, Style};

use chatd_proto::Nick;

/// Nick colours: a nick always gets the same one (FNV-1a of its lower-case form).
const PALETTE: [Color; 12] = [
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
];

/// The colour of a nick: the same in every tab, every run, every client.
pub fn nick_color(nick: &Nick) -> Color {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in nick.as_str().bytes() {
        hash ^= u32::from(byte.to_ascii_lowercase());
        hash = hash.wrapping_mul(0x0100_0193);
    }
    PALETTE[hash as usize % PALETTE.len()]
}

// The styles of the parts of a line and of the bars.
pub(super) const TIME: Style = Style::new().fg(Color::DarkGray);
pub(super) const NOTICE: Style = Style::new().fg(Color::Cyan);
pub(super) const NOTICE_TEXT: Style = Style::new().fg(Color::Gray);
pub(super) const ERROR: Style = Style::new()
    .fg(Color::LightRed)
    .add_modifier(Modifier::BOLD);
pub(super) const INFO: Style = Style::new().fg(Color::Gray);
pub(super) const DIRECT_TEXT: Style = Style::new().fg(Color::LightMagenta);
pub(super) const MENTION: Style = Style::new()
    .fg(Color::LightYellow)
    .add_modifier(Modifier::BOLD);
pub(super) const MARKER: Style = Style::new().fg(Color::Yellow);
/// The number of a file (`[3]`), which `/save` takes.
pub(super) const FILE_NUMBER: Style = Style::new()
    .fg(Color::LightCyan)
    .add_modifier(Modifier::BOLD);
/// A question in the input line (a paste waiting for Enter or Esc).
pub(super) const QUESTION: Style = Style::new()
    .fg(Color::LightYellow)
    .add_modifier(Modifier::BOLD);
pub(super) const BAR: Style = Style::new().fg(Color::White).bg(Color::DarkGray);
