//! The number formats and the line wrapping of the report: three significant digits, SI
//! suffixes, ratios, percents, and paragraphs wrapped at the report's width.
//!
//! In scope: turning one figure into text, and a head with its parts into lines. Pure.
//! Out of scope: which figures go where (`report`, `compare`).

/// The widest line of the report, tables and legend included.
pub const WIDTH: usize = 120;

pub fn dash() -> String {
    "-".to_owned()
}

/// 1234567 → `1.23M`, 45678 → `45.7k`, 999 → `999`.
pub fn si(value: f64) -> String {
    let (scaled, unit) = if value >= 1e9 {
        (value / 1e9, "G")
    } else if value >= 1e6 {
        (value / 1e6, "M")
    } else if value >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    format!("{}{unit}", three_digits(scaled))
}

/// Three significant digits: `0.123`, `1.23`, `12.3`, `123`, `1234`.
pub fn three_digits(value: f64) -> String {
    if value == 0.0 {
        "0".to_owned()
    } else if value < 1.0 {
        format!("{value:.3}")
    } else if value < 10.0 {
        format!("{value:.2}")
    } else if value < 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

pub fn millis(value: f64) -> String {
    three_digits(value)
}

/// A count: whole below 1000 (`7`, not `7.00`), else as [`si`].
pub fn count(value: u64) -> String {
    if value < 1000 {
        value.to_string()
    } else {
        si(value as f64)
    }
}

pub fn ratio(value: f64) -> String {
    if value == 0.0 {
        "0".to_owned()
    } else if value < 0.001 {
        format!("{value:.1e}")
    } else {
        three_digits(value)
    }
}

pub fn percent(value: f64) -> String {
    format!("{value:.0}%")
}

pub fn signed_percent(value: f64) -> String {
    format!("{value:+.0}%")
}

/// `head` and then `parts`, separated by commas, on lines of at most [`WIDTH`] characters;
/// the lines after the first are indented.
pub fn wrap(head: String, parts: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = head;
    for (i, part) in parts.iter().enumerate() {
        let comma = if i + 1 < parts.len() { "," } else { "" };
        if line.chars().count() + 1 + part.chars().count() + comma.len() > WIDTH {
            lines.push(std::mem::replace(&mut line, " ".to_owned()));
        }
        line.push(' ');
        line.push_str(part);
        line.push_str(comma);
    }
    lines.push(line);
    lines
}
