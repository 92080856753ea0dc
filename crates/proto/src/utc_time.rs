//! [`UtcMillis`]: a moment as milliseconds since the Unix epoch, spelled as RFC 3339 UTC with
//! milliseconds (`2026-12-06T14:00:00.123Z`), the `<time>` of a `HIST` line.
//!
//! In scope: the spelling both ways, through the proleptic Gregorian calendar (days to a civil
//! date and back, after Howard Hinnant's `chrono`-compatible algorithms), for the years 1970
//! to 9999. Out of scope: reading the clock (the server does, and hands the milliseconds
//! over): this crate has no dependencies and does no I/O.

use std::fmt;

/// A moment between 1970-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z, in milliseconds
/// since the Unix epoch: four-digit years, so every moment has one spelling of one length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcMillis(u64);

const MILLIS_PER_DAY: u64 = 86_400_000;

/// The length of the spelling: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
const SPELLING_LEN: usize = 24;

impl UtcMillis {
    /// The last millisecond of the year 9999.
    pub const MAX: UtcMillis = UtcMillis(253_402_300_799_999);

    /// The moment `millis` after the epoch, or `None` past [`UtcMillis::MAX`].
    pub const fn new(millis: u64) -> Option<UtcMillis> {
        if millis > UtcMillis::MAX.0 {
            None
        } else {
            Some(UtcMillis(millis))
        }
    }

    /// The moment `millis` after the epoch, or [`UtcMillis::MAX`] past it.
    pub const fn saturating(millis: u64) -> UtcMillis {
        match UtcMillis::new(millis) {
            Some(time) => time,
            None => UtcMillis::MAX,
        }
    }

    pub const fn millis(self) -> u64 {
        self.0
    }

    /// Reads the spelling [`fmt::Display`] writes, and nothing else: `None` for another
    /// length, another separator, a field out of range or a date that does not exist.
    pub fn parse(text: &str) -> Option<UtcMillis> {
        let bytes = text.as_bytes();
        if bytes.len() != SPELLING_LEN {
            return None;
        }
        let field = |from: usize, to: usize| -> Option<u64> {
            let digits = &bytes[from..to];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some(
                digits
                    .iter()
                    .fold(0, |n, digit| n * 10 + u64::from(digit - b'0')),
            )
        };
        let (year, month, day) = (field(0, 4)?, field(5, 7)?, field(8, 10)?);
        let (hour, minute, second, milli) = (
            field(11, 13)?,
            field(14, 16)?,
            field(17, 19)?,
            field(20, 23)?,
        );
        if year < 1970 || !(1..=12).contains(&month) || day == 0 || hour > 23 || minute > 59 {
            return None;
        }
        if second > 59 {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let millis = days * MILLIS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + milli;
        let time = UtcMillis::new(millis)?;
        // The separators, and a day past the end of its month (`02-30` would read as March
        // the 2nd), are caught by spelling the moment again.
        (time.to_string() == text).then_some(time)
    }
}

impl fmt::Display for UtcMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, in_day) = (self.0 / MILLIS_PER_DAY, self.0 % MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let (seconds, milli) = (in_day / 1000, in_day % 1000);
        let (hour, minute, second) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z"
        )
    }
}

/// The date `days` after 1970-01-01: (year, month 1..=12, day 1..=31). Counts in 400-year
/// eras that start on March 1st, so that the leap day is the last day of a year.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Days since 0000-03-01; the years handled are all after it, so no negative numbers.
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The days from 1970-01-01 to the date (a year from 1970 on): the inverse of
/// [`civil_from_days`] for existing dates.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year % 400;
    let month_from_march = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests;
