//! Profile parameters by name: `--set imf=0.2` on `levsim margin` and
//! `[venue] set = { imf = 0.2 }` in a scenario override any parameter of a
//! preset, named as `levsim venues show NAME` prints it.
//!
//! A name is either a full dotted path (`dydx.spread_to_mmr`,
//! `symbols.BTC-USD.fraction.imf`) or its last part (`spread_to_mmr`,
//! `imf`) when that is unique among the profile's own parameters and those
//! of the instrument table in use. The value must have the type the preset
//! gives the parameter (a number may stand for a float); the preset's own
//! validation then runs on the result.

use std::collections::BTreeMap;

use toml::{Table, Value};

use crate::EngineError;

/// Every leaf parameter of `table` as a dotted path, excluding the other
/// instruments' tables when `symbol` names the one in use.
fn leaves(table: &Table, prefix: &str, symbol: Option<&str>, out: &mut Vec<String>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Table(t) => {
                if prefix.is_empty() && k == "symbols" {
                    for (sym, st) in t {
                        if symbol.is_none_or(|s| s == sym) {
                            if let Value::Table(st) = st {
                                leaves(st, &format!("symbols.{sym}"), None, out);
                            }
                        }
                    }
                } else {
                    leaves(t, &path, symbol, out);
                }
            }
            _ => out.push(path),
        }
    }
}

/// The parameters of a preset table that `--set` can name, with the
/// instrument table `symbol` (the others are reachable by full path only).
pub fn parameter_names(table: &Table, symbol: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    leaves(table, "", symbol, &mut out);
    out
}

/// Parses a `--set` value as TOML (`0.2`, `true`, `"full"`, `[1, 2]`), or
/// takes it as a bare string (`full`).
pub fn parse_value(s: &str) -> Value {
    toml::from_str::<Table>(&format!("v = {s}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(s.to_string()))
}

fn slot<'a>(table: &'a mut Table, path: &str) -> Option<&'a mut Value> {
    let mut parts = path.split('.').peekable();
    let mut cur = table;
    // Symbol names may hold dots only if quoted; ours do not.
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            return cur.get_mut(p);
        }
        cur = match cur.get_mut(p)? {
            Value::Table(t) => t,
            _ => return None,
        };
    }
    None
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "true or false",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

/// Applies `set` to a preset `table` whose instrument table in use is
/// `symbol`; returns the applied overrides as `path = value`. Errors name
/// `{at}.{key}` and list what could be meant.
pub fn apply(
    table: &mut Table,
    symbol: Option<&str>,
    set: &BTreeMap<String, Value>,
    at: &str,
) -> Result<Vec<String>, EngineError> {
    let name = table
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("the profile")
        .to_string();
    let own = parameter_names(table, symbol);
    let all = parameter_names(table, None);
    let mut applied = Vec::new();
    for (key, value) in set {
        let field = format!("{at}.{key}");
        let path =
            if all.contains(key) {
                key.clone()
            } else {
                let hits: Vec<&String> = own
                    .iter()
                    .filter(|p| p.rsplit('.').next() == Some(key.as_str()))
                    .collect();
                match hits.as_slice() {
                    [one] => (*one).clone(),
                    [] => {
                        return Err(EngineError::config(
                            &field,
                            format!(
                                "{name} has no parameter {key:?}; its parameters: {}",
                                own.join(", ")
                            ),
                        ))
                    }
                    many => {
                        return Err(EngineError::config(
                            &field,
                            format!(
                            "{key:?} names several parameters of {name}: {}; give the full name",
                            many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                        ))
                    }
                }
            };
        let Some(old) = slot(table, &path) else {
            return Err(EngineError::config(
                &field,
                format!("{name} has no parameter {path:?}"),
            ));
        };
        let new = match (&*old, value) {
            (Value::Float(_), Value::Integer(i)) => Value::Float(*i as f64),
            (a, b) if std::mem::discriminant(a) == std::mem::discriminant(b) => b.clone(),
            (a, b) => {
                return Err(EngineError::config(
                    &field,
                    format!("{path} is {}, got {}", type_name(a), b),
                ))
            }
        };
        applied.push(format!("{path} = {new}"));
        *old = new;
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        toml::from_str(
            "name = \"t\"\ntaker_fee = 0.0005\n[dydx]\nspread_to_mmr = 0.1\n[symbols.BTC-USD]\nfraction = { imf = 0.02, mf = 0.6 }\n[symbols.ETH-USD]\nfraction = { imf = 0.05, mf = 0.6 }\n",
        )
        .unwrap()
    }

    #[test]
    fn short_names_reach_the_instrument_in_use() {
        let mut t = table();
        let set = BTreeMap::from([
            ("imf".to_string(), parse_value("0.2")),
            ("spread_to_mmr".to_string(), parse_value("1")),
        ]);
        let applied = apply(&mut t, Some("BTC-USD"), &set, "venue.set").unwrap();
        assert_eq!(applied.len(), 2);
        assert_eq!(
            t["symbols"]["BTC-USD"]["fraction"]["imf"].as_float(),
            Some(0.2)
        );
        assert_eq!(
            t["symbols"]["ETH-USD"]["fraction"]["imf"].as_float(),
            Some(0.05)
        );
        assert_eq!(t["dydx"]["spread_to_mmr"].as_float(), Some(1.0));
    }

    #[test]
    fn unknown_ambiguous_and_mistyped_keys_are_named() {
        let mut t = table();
        let one = |k: &str, v: &str| BTreeMap::from([(k.to_string(), parse_value(v))]);
        let e = apply(&mut t, Some("BTC-USD"), &one("imff", "1"), "--set").unwrap_err();
        assert!(e.to_string().contains("--set.imff"), "{e}");
        assert!(e.to_string().contains("no parameter \"imff\""), "{e}");
        let e = apply(&mut t, None, &one("imf", "1"), "--set").unwrap_err();
        assert!(e.to_string().contains("several parameters"), "{e}");
        let e = apply(&mut t, Some("BTC-USD"), &one("taker_fee", "cheap"), "--set").unwrap_err();
        assert!(e.to_string().contains("taker_fee is a number"), "{e}");
        // A full path reaches another instrument.
        apply(
            &mut t,
            Some("BTC-USD"),
            &one("symbols.ETH-USD.fraction.mf", "0.5"),
            "--set",
        )
        .unwrap();
        assert_eq!(
            t["symbols"]["ETH-USD"]["fraction"]["mf"].as_float(),
            Some(0.5)
        );
    }
}
