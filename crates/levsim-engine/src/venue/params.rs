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
        // A profile's identity is not a parameter.
        if prefix.is_empty() && matches!(k.as_str(), "name" | "version" | "as_of" | "source") {
            continue;
        }
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

/// One override as applied: the key as given, the parameter's full path,
/// and the value set.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The key as the user wrote it (`imf`).
    pub key: String,
    /// The parameter's full path (`symbols.BTC-USD.fraction.imf`).
    pub path: String,
    /// The value, as TOML.
    pub value: String,
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {}", self.path, self.value)
    }
}

/// Applies `set` to a preset `table` whose instrument table in use is
/// `symbol`; returns the applied overrides. Errors name `{at}.{key}` and
/// list what could be meant.
pub fn apply(
    table: &mut Table,
    symbol: Option<&str>,
    set: &BTreeMap<String, Value>,
    at: &str,
) -> Result<Vec<Applied>, EngineError> {
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
        applied.push(Applied {
            key: key.clone(),
            path: path.clone(),
            value: new.to_string(),
        });
        *old = new;
    }
    Ok(applied)
}

/// The ranges a preset's parameters must keep, whoever set them: every
/// number finite, and the known parameters within their meaning. Returns
/// the path of the first offender with what is wrong.
pub fn check(table: &Table) -> Result<(), (String, String)> {
    let mut all = Vec::new();
    leaves(table, "", None, &mut all);
    for path in &all {
        let v = lookup(table, path);
        if let Some(x) = v.and_then(Value::as_float) {
            if !x.is_finite() {
                return Err((path.clone(), format!("must be a finite number, got {x}")));
            }
        }
    }
    // (suffix of the path, lowest, highest, whether the lowest is allowed)
    const RANGES: &[(&str, f64, f64, bool)] = &[
        ("taker_fee", 0.0, 0.1, true),
        ("maker_fee", -0.01, 0.1, true),
        ("liquidation_fee", 0.0, 0.5, true),
        ("contract_size", 0.0, f64::INFINITY, false),
        ("insurance_fund", 0.0, f64::INFINITY, true),
        ("interval_hours", 0.0, 24.0 * 366.0, false),
        ("clamp_8h", 0.0, 1.0, true),
        ("cap_per_interval", 0.0, 1.0, true),
        ("bankruptcy_adjustment", 0.0, 1e6, true),
        ("spread_to_mmr", 0.0, 1e6, true),
        ("max_liquidation_fee", 0.0, 1.0, true),
        ("liquidator_fee", 0.0, 1.0, true),
        ("if_liquidation_fee", 0.0, 1.0, true),
        ("liquidation_margin_buffer", 0.0, 1.0, true),
        ("protocol_fee", 0.0, 1.0, true),
        ("min_base_max_close_factor", 0.0, f64::INFINITY, true),
        ("imf", 0.0, 1.0, false),
        ("mf", 0.0, 1.0, false),
        ("mm", 0.0, 1.0, false),
        ("im", 0.0, 1.0, false),
        ("factor", 0.0, f64::INFINITY, true),
    ];
    for path in &all {
        let last = path.rsplit('.').next().unwrap_or(path);
        let Some(&(_, lo, hi, closed)) = RANGES.iter().find(|r| r.0 == last) else {
            continue;
        };
        let Some(x) =
            lookup(table, path).and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)))
        else {
            continue;
        };
        let above = if closed { x >= lo } else { x > lo };
        // Fractions of a whole may reach it (1 = 100 %).
        let upper_closed = matches!(last, "imf" | "mf" | "protocol_fee");
        let below = if upper_closed { x <= hi } else { x < hi };
        if !(above && below) {
            let got = if x.abs() >= 1e6 {
                format!("{x:e}")
            } else {
                x.to_string()
            };
            let want = if hi.is_infinite() {
                format!("must be {} {lo}", if closed { "≥" } else { ">" })
            } else {
                format!(
                    "must be in {}{lo}, {hi}{}",
                    if closed { "[" } else { "(" },
                    if upper_closed { "]" } else { ")" }
                )
            };
            return Err((path.clone(), format!("{want}, got {got}")));
        }
    }
    Ok(())
}

fn lookup<'a>(table: &'a Table, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = table.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_table()?.get(p)?;
    }
    Some(cur)
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
    fn values_outside_their_meaning_are_refused() {
        let mut t = table();
        t["taker_fee"] = Value::Float(f64::NAN);
        assert_eq!(check(&t).unwrap_err().0, "taker_fee");
        t["taker_fee"] = Value::Float(0.5);
        let (path, msg) = check(&t).unwrap_err();
        assert_eq!(path, "taker_fee");
        assert!(msg.contains("must be in [0, 0.1), got 0.5"), "{msg}");
        t["taker_fee"] = Value::Float(0.0005);
        t["symbols"]["ETH-USD"]["fraction"]["imf"] = Value::Float(0.0);
        let (path, msg) = check(&t).unwrap_err();
        assert_eq!(path, "symbols.ETH-USD.fraction.imf");
        assert!(msg.contains("must be in (0, 1], got 0"), "{msg}");
        t["symbols"]["ETH-USD"]["fraction"]["imf"] = Value::Float(1.0);
        check(&t).unwrap();
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
        // Identity is not a parameter.
        let e = apply(&mut t, Some("BTC-USD"), &one("name", "\"x\""), "--set").unwrap_err();
        assert!(e.to_string().contains("no parameter \"name\""), "{e}");
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
