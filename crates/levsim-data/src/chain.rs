//! Option chains: Deribit ticker snapshots (one row per listed option) as
//! the public `get_instruments` + `ticker` responses dump them, with their
//! Python-literal `greeks` field.

use std::collections::BTreeMap;
use std::path::Path;

use levsim_core::TimestampNs;
use levsim_options::OptionName;

use crate::reader::CsvRows;
use crate::DataError;

/// One option of a chain snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainRow {
    /// 1-based line in the file.
    pub line: u64,
    /// Deribit's name, e.g. `BTC-26JUN20-10000-C`.
    pub instrument: String,
    /// The name parsed (underlying, expiry, strike, kind).
    pub name: OptionName,
    /// Quote time, ns UTC.
    pub ts: TimestampNs,
    /// The forward of its expiry (`underlying_price`), USD.
    pub forward: f64,
    /// The index (`index_price`), USD.
    pub index: f64,
    /// Deribit's mark, coin per 1-coin option.
    pub mark_price: f64,
    /// Deribit's mark implied volatility, percent.
    pub mark_iv: f64,
    /// Deribit's Greeks (`delta`, `gamma`, `vega`, `theta`, `rho`), as
    /// published.
    pub greeks: BTreeMap<String, f64>,
}

/// A chain snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OptionChain {
    /// The file it was read from.
    pub file: String,
    /// Its rows, in file order.
    pub rows: Vec<ChainRow>,
}

impl OptionChain {
    /// The row of `instrument`, if listed.
    pub fn get(&self, instrument: &str) -> Option<&ChainRow> {
        self.rows.iter().find(|r| r.instrument == instrument)
    }
}

/// Parses a Python dict literal of numbers, `{'vega': 5.49, 'delta': -0.4}`.
fn python_dict(s: &str) -> Result<BTreeMap<String, f64>, String> {
    let t = s.trim();
    let inner = t
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .ok_or("not a {…} literal")?;
    let mut out = BTreeMap::new();
    for item in inner.split(',').map(str::trim).filter(|x| !x.is_empty()) {
        let (k, v) = item
            .split_once(':')
            .ok_or_else(|| format!("{item:?} is not key: value"))?;
        let k = k.trim();
        let key = k
            .strip_prefix('\'')
            .and_then(|x| x.strip_suffix('\''))
            .ok_or_else(|| format!("key {k} is not a quoted string"))?;
        let v: f64 = v
            .trim()
            .parse()
            .map_err(|_| format!("{key}: {} is not a number", v.trim()))?;
        out.insert(key.to_string(), v);
    }
    Ok(out)
}

/// Reads a chain file (CSV, plain or gzip) with the columns
/// `instrument_name`, `timestamp` (ms), `underlying_price`, `index_price`,
/// `mark_price`, `mark_iv` and `greeks`; other columns are ignored. Every
/// problem names the file, the line and the field.
pub fn load_chain(path: &Path) -> Result<OptionChain, DataError> {
    let file = path.display().to_string();
    let mut rows = CsvRows::open(path, |n| n >= 7, "at least 7 fields (a Deribit chain)")?;
    // The header names the columns.
    let header = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(crate::reader::open(path)?)
        .headers()
        .map_err(|e| crate::klines::csv_error(&file, &e))?
        .clone();
    let col = |name: &str| -> Result<usize, DataError> {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| DataError::Format {
                file: file.clone(),
                message: format!("no `{name}` column: not a Deribit option chain"),
            })
    };
    let (c_name, c_ts, c_fwd, c_idx, c_mark, c_iv, c_greeks) = (
        col("instrument_name")?,
        col("timestamp")?,
        col("underlying_price")?,
        col("index_price")?,
        col("mark_price")?,
        col("mark_iv")?,
        col("greeks")?,
    );
    let mut out = Vec::new();
    while let Some((line, rec)) = rows.next_row()? {
        let field = |name: &str, message: String| DataError::Field {
            file: file.clone(),
            line,
            field: name.to_string(),
            message,
        };
        let get = |c: usize| rec.get(c).unwrap_or("");
        let num = |c: usize, name: &str, positive: bool| -> Result<f64, DataError> {
            let s = get(c);
            match s.trim().parse::<f64>() {
                Ok(x) if x.is_finite() && (!positive || x > 0.0) => Ok(x),
                Ok(x) => Err(field(
                    name,
                    format!(
                        "{x} must be a finite number{}",
                        if positive { " > 0" } else { "" }
                    ),
                )),
                Err(_) => Err(field(name, format!("{s:?} is not a number"))),
            }
        };
        let instrument = get(c_name).trim().to_string();
        let name =
            OptionName::parse(&instrument).map_err(|e| field("instrument_name", e.to_string()))?;
        let ts_ms = num(c_ts, "timestamp", true)?;
        let greeks = python_dict(get(c_greeks))
            .map_err(|e| field("greeks", format!("{e} (a Python dict literal of numbers)")))?;
        out.push(ChainRow {
            line,
            // Whole milliseconds are exact in f64; scaled as integers.
            ts: (ts_ms.round() as TimestampNs) * 1_000_000,
            forward: num(c_fwd, "underlying_price", true)?,
            index: num(c_idx, "index_price", true)?,
            mark_price: num(c_mark, "mark_price", false)?,
            mark_iv: num(c_iv, "mark_iv", true)?,
            instrument,
            name,
            greeks,
        });
    }
    if out.is_empty() {
        return Err(DataError::Format {
            file,
            message: "no option rows".into(),
        });
    }
    Ok(OptionChain { file, rows: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_literals_parse_and_name_their_problem() {
        let d = python_dict("{'vega': 5.49167, 'theta': -26.07217, 'delta': -0.43897}").unwrap();
        assert_eq!(d["theta"], -26.07217);
        assert!(python_dict("{'vega': x}").unwrap_err().contains("vega"));
        assert!(python_dict("vega: 1").unwrap_err().contains("{…}"));
    }

    #[test]
    fn a_broken_row_is_named() {
        let dir = std::env::temp_dir().join(format!("levsim-chain-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("chain.csv");
        std::fs::write(
            &p,
            "instrument_name,timestamp,underlying_price,index_price,mark_price,mark_iv,greeks\n\
             BTC-26JUN20-10000-C,1589434897494,9359.9,9350.1,0.2,90.2,\"{'delta': 0.7}\"\n\
             BTC-26JUN20-10000-C,1589434897494,9359.9,9350.1,0.2,-1,\"{'delta': 0.7}\"\n",
        )
        .unwrap();
        let e = load_chain(&p).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("mark_iv"), "{e}");
        std::fs::write(
            &p,
            "instrument_name,timestamp,underlying_price,index_price,mark_price,mark_iv,greeks\n\
             BTC-26JUN20-10000-Q,1589434897494,9359.9,9350.1,0.2,90.2,\"{'delta': 0.7}\"\n",
        )
        .unwrap();
        let e = load_chain(&p).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("instrument_name"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
