//! Calendar formatting and parsing in exact integer arithmetic (proleptic Gregorian
//! calendar, UTC; no float and no time-zone database): Avro's date, time and timestamp
//! logical types, Protobuf's `Timestamp` and `Duration` in ProtoJSON, and the parsing
//! that `encode` needs to read them back.

use crate::json_text::JsonSink;

/// Seconds in a day.
const DAY_SECS: i64 = 86_400;

/// Converts days since 1970-01-01 to (year, month, day); Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn push_padded(out: &mut impl JsonSink, v: u64, width: usize) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(v);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_unescaped(digits);
}

/// Appends `YYYY-MM-DD` (years outside 0..=9999 keep their sign and all their digits).
pub fn push_date(out: &mut impl JsonSink, days: i64) {
    let (y, m, d) = civil_from_days(days);
    if y < 0 {
        out.push('-');
    }
    push_padded(out, y.unsigned_abs(), 4);
    out.push('-');
    push_padded(out, u64::from(m), 2);
    out.push('-');
    push_padded(out, u64::from(d), 2);
}

/// Appends `HH:MM:SS.fff…` for a time of day given as `seconds` and a fraction of
/// `frac_digits` digits.
fn push_clock(out: &mut impl JsonSink, secs_of_day: i64, fraction: u64, frac_digits: usize) {
    push_hms(out, secs_of_day as u64);
    out.push('.');
    push_padded(out, fraction, frac_digits);
}

/// Appends `HH:MM:SS` for a second of the day.
fn push_hms(out: &mut impl JsonSink, secs: u64) {
    push_padded(out, secs / 3600, 2);
    out.push(':');
    push_padded(out, secs / 60 % 60, 2);
    out.push(':');
    push_padded(out, secs % 60, 2);
}

/// The resolution of a time or timestamp value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Millis,
    Micros,
    Nanos,
}

impl Unit {
    fn per_second(self) -> i64 {
        match self {
            Unit::Millis => 1_000,
            Unit::Micros => 1_000_000,
            Unit::Nanos => 1_000_000_000,
        }
    }

    fn digits(self) -> usize {
        match self {
            Unit::Millis => 3,
            Unit::Micros => 6,
            Unit::Nanos => 9,
        }
    }
}

/// Appends a time of day (`time-millis`, `time-micros`). Returns `false` when the value is
/// not within one day, which is a decode error: such a time does not exist.
#[must_use]
pub fn push_time_of_day(out: &mut impl JsonSink, value: i64, unit: Unit) -> bool {
    let per_second = unit.per_second();
    if value < 0 || value >= DAY_SECS * per_second {
        return false;
    }
    push_clock(
        out,
        value / per_second,
        (value % per_second) as u64,
        unit.digits(),
    );
    true
}

/// Appends an ISO-8601 timestamp `YYYY-MM-DDTHH:MM:SS.fff…`, with a trailing `Z` when
/// `utc` (the `timestamp-*` types) and none for `local-timestamp-*`.
pub fn push_timestamp(out: &mut impl JsonSink, value: i64, unit: Unit, utc: bool) {
    let per_second = unit.per_second();
    let secs = value.div_euclid(per_second);
    let fraction = value.rem_euclid(per_second) as u64;
    push_date(out, secs.div_euclid(DAY_SECS));
    out.push('T');
    push_clock(out, secs.rem_euclid(DAY_SECS), fraction, unit.digits());
    if utc {
        out.push('Z');
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date; Howard Hinnant's
/// `days_from_civil`.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(text: &str) -> Option<u64> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// Parses `YYYY-MM-DD` to days since the epoch.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let (y, m, d) = (digits(y)?, digits(m)?, digits(d)?);
    let (m, d) = (u32::try_from(m).ok()?, u32::try_from(d).ok()?);
    if !(1..=12).contains(&m) || d == 0 || d > 31 {
        return None;
    }
    let days = days_from_civil(i64::try_from(y).ok()?, m, d);
    // Rejects 2023-02-30 and the like: the date must format back to itself.
    (civil_from_days(days) == (i64::try_from(y).ok()?, m, d)).then_some(days)
}

/// Parses `HH:MM:SS[.fraction]` to units since midnight.
pub fn parse_time_of_day(text: &str, unit: Unit) -> Option<i64> {
    let (clock, fraction) = match text.split_once('.') {
        Some((clock, fraction)) => (clock, fraction),
        None => (text, ""),
    };
    let mut parts = clock.splitn(3, ':');
    let (h, m, s) = (
        digits(parts.next()?)?,
        digits(parts.next()?)?,
        digits(parts.next()?)?,
    );
    if h > 23 || m > 59 || s > 59 || fraction.len() > unit.digits() {
        return None;
    }
    let frac = if fraction.is_empty() {
        0
    } else {
        digits(fraction)? * 10u64.pow((unit.digits() - fraction.len()) as u32)
    };
    i64::try_from(((h * 60 + m) * 60 + s) * unit.per_second() as u64 + frac).ok()
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction][Z]` to units since the epoch.
pub fn parse_timestamp(text: &str, unit: Unit) -> Option<i64> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = text.split_once('T')?;
    let days = parse_date(date)?;
    let of_day = parse_time_of_day(time, unit)?;
    days.checked_mul(DAY_SECS * unit.per_second())?
        .checked_add(of_day)
}

/// Seconds from 1970 of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range
/// ProtoJSON allows for a Timestamp.
const MIN_TIMESTAMP_SECS: i64 = -62_135_596_800;
const MAX_TIMESTAMP_SECS: i64 = 253_402_300_799;

/// ProtoJSON writes 0, 3, 6 or 9 fraction digits: as few as the value needs.
fn push_nanos_fraction(out: &mut impl JsonSink, nanos: u32) {
    if nanos == 0 {
        return;
    }
    out.push('.');
    if nanos.is_multiple_of(1_000_000) {
        push_padded(out, u64::from(nanos / 1_000_000), 3);
    } else if nanos.is_multiple_of(1_000) {
        push_padded(out, u64::from(nanos / 1_000), 6);
    } else {
        push_padded(out, u64::from(nanos), 9);
    }
}

/// Appends a `google.protobuf.Timestamp` as RFC 3339 (`2024-05-01T13:45:00.250Z`).
/// Returns `false` for values ProtoJSON does not allow.
#[must_use]
pub fn push_rfc3339(out: &mut impl JsonSink, seconds: i64, nanos: i32) -> bool {
    let Ok(nanos) = u32::try_from(nanos) else {
        return false;
    };
    if nanos > 999_999_999 || !(MIN_TIMESTAMP_SECS..=MAX_TIMESTAMP_SECS).contains(&seconds) {
        return false;
    }
    push_date(out, seconds.div_euclid(DAY_SECS));
    out.push('T');
    push_hms(out, seconds.rem_euclid(DAY_SECS) as u64);
    push_nanos_fraction(out, nanos);
    out.push('Z');
    true
}

/// Appends a `google.protobuf.Duration` as ProtoJSON does (`"-1.500s"`). Returns `false`
/// when seconds and nanos disagree in sign or nanos is out of range.
#[must_use]
pub fn push_duration(out: &mut impl JsonSink, seconds: i64, nanos: i32) -> bool {
    if nanos.unsigned_abs() > 999_999_999
        || (seconds > 0 && nanos < 0)
        || (seconds < 0 && nanos > 0)
    {
        return false;
    }
    if seconds < 0 || nanos < 0 {
        out.push('-');
    }
    crate::json_text::push_int(out, seconds.unsigned_abs());
    push_nanos_fraction(out, nanos.unsigned_abs());
    out.push('s');
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(days: i64) -> String {
        let mut s = String::new();
        push_date(&mut s, days);
        s
    }

    #[test]
    fn dates_across_eras() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(-1), "1969-12-31");
        assert_eq!(date(19_782), "2024-02-29");
        assert_eq!(date(2_932_896), "9999-12-31");
        assert_eq!(date(-719_528), "0000-01-01");
        assert_eq!(date(-719_529), "-0001-12-31");
    }

    #[test]
    fn timestamps_round_toward_negative_infinity() {
        let mut s = String::new();
        push_timestamp(&mut s, -1, Unit::Millis, true);
        assert_eq!(s, "1969-12-31T23:59:59.999Z");
        s.clear();
        push_timestamp(&mut s, 1_700_000_000_123_456, Unit::Micros, false);
        assert_eq!(s, "2023-11-14T22:13:20.123456");
        s.clear();
        push_timestamp(&mut s, i64::MIN, Unit::Nanos, true);
        assert_eq!(s, "1677-09-21T00:12:43.145224192Z");
    }

    #[test]
    fn protojson_timestamps_and_durations() {
        let mut s = String::new();
        assert!(push_rfc3339(&mut s, 1_714_571_100, 250_000_000));
        assert_eq!(s, "2024-05-01T13:45:00.250Z");
        s.clear();
        assert!(push_rfc3339(&mut s, 0, 1_000));
        assert_eq!(s, "1970-01-01T00:00:00.000001Z");
        assert!(!push_rfc3339(&mut s, MAX_TIMESTAMP_SECS + 1, 0));
        assert!(!push_rfc3339(&mut s, 0, -1));
        s.clear();
        assert!(push_duration(&mut s, -1, -500_000_000));
        assert!(push_duration(&mut s, 0, 1));
        assert!(push_duration(&mut s, 3, 0));
        assert_eq!(s, "-1.500s0.000000001s3s");
        assert!(!push_duration(&mut s, 1, -1));
    }

    #[test]
    fn parsing_inverts_formatting() {
        // Input dates are years 0000-9999; formatting also covers negative years.
        for days in [-719_528, -1, 0, 19_782, 2_932_896] {
            assert_eq!(parse_date(&date(days)), Some(days));
        }
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-13-01"), None);
        for (value, unit) in [
            (-1, Unit::Millis),
            (1_700_000_000_123_456, Unit::Micros),
            (5, Unit::Nanos),
        ] {
            let mut s = String::new();
            push_timestamp(&mut s, value, unit, true);
            assert_eq!(parse_timestamp(&s, unit), Some(value), "{s}");
        }
        assert_eq!(
            parse_time_of_day("13:45:00.25", Unit::Millis),
            Some(49_500_250)
        );
        assert_eq!(parse_time_of_day("24:00:00", Unit::Millis), None);
        assert_eq!(parse_time_of_day("00:00:00.1234", Unit::Millis), None);
    }

    #[test]
    fn times_of_day_are_bounded() {
        let mut s = String::new();
        assert!(push_time_of_day(&mut s, 86_399_999, Unit::Millis));
        assert_eq!(s, "23:59:59.999");
        assert!(!push_time_of_day(&mut s, 86_400_000, Unit::Millis));
        assert!(!push_time_of_day(&mut s, -1, Unit::Micros));
    }
}
