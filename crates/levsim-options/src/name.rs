//! Deribit's option names: `BTC-26JUN20-10000-C`.

use levsim_core::TimestampNs;
use serde::Serialize;

use crate::{OptionError, OptionKind};

/// A parsed option name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionName {
    /// Underlying, e.g. `BTC`.
    pub underlying: String,
    /// Expiry, ns UTC (Deribit's options expire at 08:00 UTC).
    pub expiry: TimestampNs,
    /// Strike, USD.
    pub strike: f64,
    /// Call or put.
    pub kind: OptionKind,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

impl OptionName {
    /// Parses `UNDERLYING-DMMMYY-STRIKE-C|P` (the day has one or two
    /// digits: `BTC-5JUN20-…`, `BTC-26JUN20-…`).
    pub fn parse(name: &str) -> Result<Self, OptionError> {
        let bad = |reason: &str| OptionError::BadName {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = name.split('-').collect();
        let [underlying, date, strike, kind] = parts[..] else {
            return Err(bad("it has not four parts separated by '-'"));
        };
        if underlying.is_empty() || !underlying.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad("the underlying must be letters and digits"));
        }
        let kind = match kind {
            "C" => OptionKind::Call,
            "P" => OptionKind::Put,
            _ => return Err(bad("the last part must be C (call) or P (put)")),
        };
        let strike: f64 = strike
            .parse()
            .map_err(|_| bad("the strike is not a number"))?;
        if !(strike.is_finite() && strike > 0.0) {
            return Err(bad("the strike must be > 0"));
        }
        let split = date
            .find(|c: char| c.is_ascii_alphabetic())
            .ok_or_else(|| bad("the expiry must look like 26JUN20"))?;
        let (day, rest) = date.split_at(split);
        if rest.len() != 5 {
            return Err(bad("the expiry must look like 26JUN20"));
        }
        let (mon, yy) = rest.split_at(3);
        let month = MONTHS
            .iter()
            .position(|m| *m == mon)
            .ok_or_else(|| bad("the expiry's month must be JAN..DEC"))?
            + 1;
        let day: u32 = day
            .parse()
            .map_err(|_| bad("the expiry's day is not a number"))?;
        let year: i32 = 2000
            + yy.parse::<i32>()
                .map_err(|_| bad("the expiry's year must be two digits"))?;
        let iso = format!("{year:04}-{month:02}-{day:02}T08:00:00Z");
        let expiry = levsim_core::time::parse_iso(&iso)
            .map_err(|_| bad("the expiry is not a calendar date"))?;
        Ok(Self {
            underlying: underlying.to_string(),
            expiry,
            strike,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deribit_names_parse() {
        let n = OptionName::parse("BTC-26JUN20-10000-C").unwrap();
        assert_eq!(n.underlying, "BTC");
        assert_eq!(n.strike, 10_000.0);
        assert_eq!(n.kind, OptionKind::Call);
        assert_eq!(levsim_core::time::to_iso(n.expiry), "2020-06-26T08:00:00Z");
        let n = OptionName::parse("ETH-5JUN20-212.5-P").unwrap();
        assert_eq!(n.strike, 212.5);
        assert_eq!(n.kind, OptionKind::Put);
        for (bad, why) in [
            ("BTC-26JUN20-10000", "four parts"),
            ("BTC-26JUN20-10000-X", "C (call) or P"),
            ("BTC-26XXX20-10000-C", "JAN..DEC"),
            ("BTC-31FEB20-10000-C", "calendar date"),
            ("BTC-26JUN20-0-C", "> 0"),
            ("BTC-26JUN20-abc-C", "not a number"),
        ] {
            let e = OptionName::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(bad), "{bad}: {e}");
        }
    }
}
