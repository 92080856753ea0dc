//! Tests of `utc_time`: known dates both ways, and what the parser refuses.

use super::*;

/// Moments whose spelling is known from elsewhere (`date -u -d @<seconds>`).
const KNOWN: [(u64, &str); 9] = [
    (0, "1970-01-01T00:00:00.000Z"),
    (999, "1970-01-01T00:00:00.999Z"),
    (68_169_600_000, "1972-02-29T00:00:00.000Z"),
    (951_782_400_000, "2000-02-29T00:00:00.000Z"),
    (978_307_199_999, "2000-12-31T23:59:59.999Z"),
    (1_709_164_800_123, "2024-02-29T00:00:00.123Z"),
    (1_796_565_600_123, "2026-12-06T14:00:00.123Z"),
    (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
    (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
];

#[test]
fn known_moments_are_spelled_and_read_back() {
    for (millis, spelled) in KNOWN {
        let time = UtcMillis::new(millis).unwrap();
        assert_eq!(time.to_string(), spelled);
        assert_eq!(UtcMillis::parse(spelled), Some(time), "{spelled}");
    }
}

#[test]
fn every_day_for_a_thousand_years_goes_there_and_back() {
    let mut previous = String::new();
    for day in (0..366_000).step_by(7) {
        let (year, month, day_of_month) = civil_from_days(day);
        assert_eq!(days_from_civil(year, month, day_of_month), day);
        let time = UtcMillis::new(day * MILLIS_PER_DAY + 45_296_789).unwrap();
        let spelled = time.to_string();
        assert!(spelled > previous, "{spelled} after {previous}");
        assert_eq!(UtcMillis::parse(&spelled), Some(time));
        previous = spelled;
    }
}

#[test]
fn only_the_one_spelling_of_an_existing_moment_is_read() {
    for text in [
        "",
        "2026-12-06T14:00:00Z",
        "2026-12-06T14:00:00.123",
        "2026-12-06 14:00:00.123Z",
        "2026-12-06T14:00:00.123z",
        "2026-12-06T14:00:00.123+00:00",
        "2026-13-06T14:00:00.123Z",
        "2026-00-06T14:00:00.123Z",
        "2026-02-29T14:00:00.123Z",
        "2026-04-31T14:00:00.123Z",
        "2026-12-00T14:00:00.123Z",
        "2026-12-06T24:00:00.123Z",
        "2026-12-06T14:60:00.123Z",
        "2026-12-06T14:00:60.123Z",
        "1969-12-31T23:59:59.999Z",
        "2026-12-06T14:00:0+.123Z",
        "+026-12-06T14:00:00.123Z",
    ] {
        assert_eq!(UtcMillis::parse(text), None, "{text:?}");
    }
}

#[test]
fn moments_past_the_year_9999_are_refused_or_saturated() {
    assert_eq!(UtcMillis::new(UtcMillis::MAX.millis() + 1), None);
    assert_eq!(UtcMillis::saturating(u64::MAX), UtcMillis::MAX);
    assert_eq!(UtcMillis::saturating(5).millis(), 5);
}
