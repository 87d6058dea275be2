//! Time: `i64` nanoseconds since the Unix epoch, UTC, everywhere inside levsim.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

use crate::CoreError;

/// Nanoseconds since 1970-01-01T00:00:00Z.
pub type TimestampNs = i64;

/// One second in nanoseconds.
pub const SECOND_NS: i64 = 1_000_000_000;
/// One minute in nanoseconds.
pub const MINUTE_NS: i64 = 60 * SECOND_NS;
/// One hour in nanoseconds.
pub const HOUR_NS: i64 = 60 * MINUTE_NS;
/// One day in nanoseconds.
pub const DAY_NS: i64 = 24 * HOUR_NS;

/// Formats a timestamp as ISO 8601 UTC (`2020-03-12T10:48:00Z`), with
/// sub-second digits only when they are non-zero.
pub fn to_iso(ts: TimestampNs) -> String {
    let dt = DateTime::<Utc>::from_timestamp_nanos(ts);
    dt.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Parses an RFC 3339 time (`2020-03-12T00:00:00Z`, any offset) or a date
/// (`2020-03-12`, taken as midnight UTC).
pub fn parse_iso(s: &str) -> Result<TimestampNs, CoreError> {
    let bad = |reason: String| CoreError::BadTime {
        value: s.to_string(),
        reason,
    };
    let dt = if s.len() == 10 {
        let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| bad(e.to_string()))?;
        d.and_hms_opt(0, 0, 0)
            .ok_or_else(|| bad("invalid date".into()))?
            .and_utc()
    } else {
        DateTime::parse_from_rfc3339(s)
            .map_err(|e| {
                bad(format!(
                    "{e}; expected RFC 3339 such as 2020-03-12T00:00:00Z"
                ))
            })?
            .with_timezone(&Utc)
    };
    dt.timestamp_nanos_opt()
        .ok_or_else(|| bad("out of the representable range (1677..2262)".into()))
}

/// Parses a naive `YYYY-MM-DD HH:MM:SS[.ffffff]` string as UTC.
pub fn parse_naive_utc(s: &str) -> Option<TimestampNs> {
    let fmt = if s.contains('.') {
        "%Y-%m-%d %H:%M:%S%.f"
    } else {
        "%Y-%m-%d %H:%M:%S"
    };
    let ndt = NaiveDateTime::parse_from_str(s.trim(), fmt)
        .or_else(|_| NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()?;
    ndt.and_utc().timestamp_nanos_opt()
}

/// Parses a duration such as `"30s"`, `"1m"`, `"8h"`, `"2d"` into nanoseconds.
pub fn parse_duration(s: &str) -> Result<i64, CoreError> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| CoreError::BadDuration(s.into()))?;
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| CoreError::BadDuration(s.into()))?;
    let unit_ns = match unit {
        "s" => SECOND_NS,
        "m" | "min" => MINUTE_NS,
        "h" => HOUR_NS,
        "d" => DAY_NS,
        _ => return Err(CoreError::BadDuration(s.into())),
    };
    if !(n.is_finite() && n >= 0.0) {
        return Err(CoreError::BadDuration(s.into()));
    }
    Ok((n * unit_ns as f64).round() as i64)
}

/// Formats a duration in nanoseconds compactly (`"1h"`, `"33h"`, `"90s"`).
pub fn fmt_duration(ns: i64) -> String {
    if ns % DAY_NS == 0 && ns >= 2 * DAY_NS {
        format!("{}d", ns / DAY_NS)
    } else if ns % HOUR_NS == 0 {
        format!("{}h", ns / HOUR_NS)
    } else if ns % MINUTE_NS == 0 {
        format!("{}m", ns / MINUTE_NS)
    } else if ns % SECOND_NS == 0 {
        format!("{}s", ns / SECOND_NS)
    } else {
        format!("{}ns", ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip() {
        let ts = parse_iso("2020-03-12T10:48:00Z").unwrap();
        assert_eq!(ts, 1_584_010_080 * SECOND_NS);
        assert_eq!(to_iso(ts), "2020-03-12T10:48:00Z");
        assert_eq!(parse_iso("2020-03-12").unwrap(), 1_583_971_200 * SECOND_NS);
        assert!(parse_iso("12/03/2020").is_err());
    }

    #[test]
    fn naive_parse() {
        assert_eq!(
            parse_naive_utc("2021-12-31 23:01:00.000000"),
            Some(parse_iso("2021-12-31T23:01:00Z").unwrap())
        );
        assert_eq!(parse_naive_utc("not a time"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("8h").unwrap(), 8 * HOUR_NS);
        assert_eq!(parse_duration("1m").unwrap(), MINUTE_NS);
        assert_eq!(parse_duration("2d").unwrap(), 2 * DAY_NS);
        assert!(parse_duration("8x").is_err());
        assert!(parse_duration("h").is_err());
        assert_eq!(fmt_duration(33 * HOUR_NS), "33h");
        assert_eq!(fmt_duration(MINUTE_NS), "1m");
    }
}
