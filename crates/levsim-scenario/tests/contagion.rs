//! Portfolio scenarios with a crowd holding several instruments: the
//! contagion pass per venue configuration, its book of positions, and bad
//! input named by key, file, line and field.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use levsim_scenario::{execute_sweep, LoadedMarket, Scenario};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn parse(text: &str) -> Result<Scenario, String> {
    Scenario::parse(text, &root().join("scenarios/test.toml")).map_err(|e| e.to_string())
}

/// The shipped contagion scenario: both ADL configurations see the same
/// crowd and market; contagion in both instruments; the book's accounts
/// counted apart; money conserved; pro-rata ADL reaches more accounts.
#[test]
fn black_thursday_contagion() {
    let sc = Scenario::load(&root().join("scenarios/black-thursday-2020-contagion.toml")).unwrap();
    let m = LoadedMarket::load(&sc).unwrap();
    let sweep = execute_sweep(&sc, &m, 2, &|| {}, false).unwrap();
    assert_eq!(sweep.contagion.len(), 2);
    let (a, b) = (&sweep.contagion[0], &sweep.contagion[1]);
    for c in [a, b] {
        assert_eq!(c.metrics.accounts, 20_040);
        assert_eq!(c.metrics.book_accounts, 40);
        assert!(c.metrics.book_accounts_liquidated > 0);
        for i in &c.instruments {
            assert!(i.contagion_notional > 0.0, "{i:?}");
            assert!(i.contagion_notional < i.liquidated_notional);
        }
        assert!(c.metrics.accounts_liquidated_by_other_asset > 0);
        let money = 4.0e8;
        assert!(
            c.metrics.conservation_error.abs() < 1e-9 * money,
            "{}",
            c.metrics.conservation_error
        );
        assert!(c.series.is_some());
    }
    assert!(a.metrics.adl_profit_taken > 0.0 && b.metrics.adl_profit_taken > 0.0);
    assert!(
        b.metrics.adl_accounts > 10 * a.metrics.adl_accounts,
        "{} vs {}",
        b.metrics.adl_accounts,
        a.metrics.adl_accounts
    );
}

const BASE: &str = r#"
name = "c"
[market]
kind = "historical"
start = "2020-03-12T00:00:00Z"
end = "2020-03-12T06:00:00Z"
[[market.instrument]]
symbol = "BTCUSDT"
file = "data/binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz"
[[market.instrument]]
symbol = "ETHUSDT"
file = "data/binance_um_ETHUSDT_1m_2020-03-12_2020-03-13.csv.gz"
[venue]
profile = "binance-usdm"
[account]
capital = 10000.0
margin_mode = "cross"
[[policy]]
kind = "static"
leverage = 2
weights = { BTCUSDT = 0.5, ETHUSDT = 0.5 }
"#;

#[test]
fn bad_crowd_tables_are_named() {
    let with = |pop: &str| parse(&format!("{BASE}\n[population]\n{pop}\n")).unwrap_err();
    let e = with(
        r#"accounts = 10
open_interest = 1e6
leverage = { dist = "lognormal", median = 5.0, sigma = 0.5, cap = 20.0 }
mix = [{ weights = { XRPUSDT = 1.0 } }]"#,
    );
    assert!(e.contains("population.mix[0].weights.XRPUSDT"), "{e}");
    let e = with("accounts = 10\nopen_interest = 1e6\nmix = [{ weights = { BTCUSDT = 1.0 } }]");
    assert!(e.contains("population.leverage"), "{e}");
    let e = with("accounts = 0");
    assert!(e.contains("population.accounts"), "{e}");
    let e = with("accounts = 10\nentry_window = \"1d\"");
    assert!(
        e.contains("population") && e.contains("entry_window"),
        "{e}"
    );
    // A positions file in an instrument the market lacks: file, line, field.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pos.csv");
    std::fs::write(
        &f,
        "account,symbol,side,size,entry_price,margin_mode,collateral\na,BTCUSDT,long,1,7900,cross,1000\na,SOLUSDT,long,1,7900,cross,1000\n",
    )
    .unwrap();
    let sc = parse(&format!(
        "{BASE}\n[population]\nfile = {:?}\n",
        f.display().to_string()
    ))
    .unwrap();
    let e = LoadedMarket::load(&sc).unwrap_err().to_string();
    assert!(e.contains("pos.csv line 3, field symbol"), "{e}");
}

/// A positions file alone (no generated accounts): its cross account long
/// BTC and ETH at about 23x goes when both fall, its isolated 2x BTC long
/// does not; the bar and point are those an independent walk finds.
#[test]
fn a_book_of_positions_alone() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pos.csv");
    // Cross: 2 BTC and 100 ETH (about $15.8k + $19.4k) on $1.5k; isolated:
    // 1 BTC on $3,950. By 06:00 BTC's low is 7,569 and ETH's 180.
    std::fs::write(
        &f,
        "account,symbol,side,size,entry_price,margin_mode,collateral\nx,BTCUSDT,long,2,7900,cross,1000\nx,ETHUSDT,long,100,194,cross,500\ni,BTCUSDT,long,1,7900,isolated,3950\n",
    )
    .unwrap();
    let sc = parse(&format!(
        "{BASE}\n[population]\nfile = {:?}\n",
        f.display().to_string()
    ))
    .unwrap();
    let m = LoadedMarket::load(&sc).unwrap();
    let sweep = execute_sweep(&sc, &m, 1, &|| {}, false).unwrap();
    let c = &sweep.contagion[0];
    assert_eq!(c.metrics.accounts, 2);
    assert_eq!(c.metrics.book_accounts, 2);
    // Independent walk: both instruments open → extremes (the nearer
    // first as the bar's direction says) → close in step; Binance's
    // brackets (SPEC §1.2) at these sizes: BTC ≤ 50k at 0.4 %; ETH
    // 10k–100k at 0.65 % less 15 (its maintenance amount).
    let p = m.portfolio.as_ref().unwrap();
    let n = p.tape.len();
    let path = |i: usize, j: usize| {
        let (o, h, l, cl) = (
            p.tape.open[i],
            p.tape.high[i],
            p.tape.low[i],
            p.tape.close[i],
        );
        if cl >= o {
            [o, l, h, cl][j]
        } else {
            [o, h, l, cl][j]
        }
    };
    let mut hit = None;
    'walk: for t in 0..n {
        for j in 0..4 {
            let (b, e) = (path(t, j), path(n + t, j));
            let eq = 1500.0 + 2.0 * (b - 7900.0) + 100.0 * (e - 194.0);
            if eq <= 0.004 * 2.0 * b + (0.0065 * 100.0 * e - 15.0) {
                hit = Some(t);
                break 'walk;
            }
        }
    }
    let t = hit.expect("the cross account should go under in this window");
    assert_eq!(c.metrics.accounts_liquidated, 1, "{:?}", c.metrics);
    assert_eq!(c.metrics.cross_accounts_liquidated, 1);
    assert_eq!(c.metrics.isolated_accounts_liquidated, 0);
    // Its bar: the one where the series first shows liquidated notional.
    let s = c.series.as_ref().unwrap();
    let first = (0..n).find(|&k| s.liquidated[k] > 0.0 || s.liquidated[n + k] > 0.0);
    assert_eq!(first, Some(t));
}

/// Two venues on one price and a shared index: each venue's fund apart,
/// both marks below the price where either venue's crowd sold, funding
/// from the premium paid by the crowd and by the subject runs.
#[test]
fn two_venues_on_a_shared_index() {
    let sc = Scenario::load(&root().join("scenarios/black-thursday-2020-two-venues.toml")).unwrap();
    let m = LoadedMarket::load(&sc).unwrap();
    let p = m.portfolio.as_ref().unwrap();
    assert_eq!(p.rules[0][1].name, "hyperliquid");
    assert_eq!(p.rules[0][0].name, "binance-usdm");
    let sweep = execute_sweep(&sc, &m, 2, &|| {}, false).unwrap();
    let c = &sweep.contagion[0];
    assert_eq!(c.metrics.insurance_funds_end.len(), 2);
    assert_eq!(c.metrics.insurance_fund_start, 3.0e6);
    for i in &c.instruments {
        assert!(i.liquidated_notional > 0.0, "{i:?}");
        assert!(i.funding_rate_max != 0.0, "{i:?}");
    }
    let (b, h) = (&c.instruments[0], &c.instruments[1]);
    // Hyperliquid's hourly rule follows the premium; Binance's 8-hourly
    // one stays at its interest rate while the mean premium is inside its
    // ±0.05 % band.
    assert!(h.funding_rate_min < h.funding_rate_max, "{h:?}");
    // A thinner book: Hyperliquid's traded price leaves the index further.
    assert!(h.premium_min_pct < b.premium_min_pct, "{b:?} {h:?}");
    assert!(c.metrics.conservation_error.abs() < 1e-9 * 3e8);
    // The subject's isolated accounts: no transfers with `transfer_delay =
    // "none"`, some with a delay; money conserved with transfers on their
    // way; the premium funding paid by the subject too.
    let mut moved = 0;
    for r in &sweep.kept {
        let p = r.portfolio.as_ref().unwrap();
        if r.spec.run_id.contains("transfer_delay=none") {
            assert_eq!(p.transfers.transfers, 0);
        } else {
            moved += p.transfers.transfers;
        }
        assert!(
            p.conservation_error.abs() < 1e-6,
            "{}: {}",
            r.spec.run_id,
            p.conservation_error
        );
        assert!(r.output.metrics.funding != 0.0, "{}", r.spec.run_id);
    }
    assert!(moved > 0);
}

#[test]
fn bad_venue_links_are_named() {
    let crowd = "[population]\naccounts = 10\nopen_interest = 1e6\nleverage = { dist = \"lognormal\", median = 5.0, sigma = 0.5, cap = 20.0 }\nmix = [{ weights = { BTCUSDT = 1.0 } }]\n";
    let with = |inst: &str, pop: &str| {
        let text = BASE.replacen(
            "file = \"data/binance_um_ETHUSDT_1m_2020-03-12_2020-03-13.csv.gz\"",
            &format!("file = \"data/binance_um_ETHUSDT_1m_2020-03-12_2020-03-13.csv.gz\"\n{inst}"),
            1,
        );
        // Refused when read, or else when the market loads.
        match parse(&format!("{text}\n{pop}")) {
            Err(e) => e,
            Ok(sc) => LoadedMarket::load(&sc).unwrap_err().to_string(),
        }
    };
    let e = with("index = { BTCUSDT = 0.5, XRPUSDT = 0.5 }", crowd);
    assert!(e.contains("market.instrument[1].index.XRPUSDT"), "{e}");
    let e = with("index = { BTCUSDT = 0.5, ETHUSDT = 0.5 }", "");
    assert!(
        e.contains("market.instrument[1].index") && e.contains("[population]"),
        "{e}"
    );
    let e = with("premium_funding = true", crowd);
    assert!(e.contains("market.instrument[1].premium_funding"), "{e}");
    let e = with("venue = { profile = \"nowhere\" }", crowd);
    assert!(
        e.contains("market.instrument[1].venue") && e.contains("nowhere"),
        "{e}"
    );
}

/// Binance's maintenance (SPEC §1.2 snapshot A) for notional up to 250k
/// (BTC) and 100k (ETH): the first two brackets, cum from the recursion.
fn binance_mm(symbol: &str, n: f64) -> f64 {
    let ((cap1, r1), r2) = match symbol {
        "BTCUSDT" => ((50_000.0, 0.004), 0.005),
        _ => ((10_000.0, 0.005), 0.0065),
    };
    if n <= cap1 {
        n * r1
    } else {
        n * r2 - cap1 * (r2 - r1)
    }
}

/// A positions file of 50 accounts in BTC and ETH (isolated and cross, a
/// seeded draw written here) through a market with no impact: the
/// notional liquidated in each bar and instrument is what an independent
/// walk of the same price points finds, account by account.
#[test]
fn fifty_accounts_liquidate_where_an_independent_walk_says() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pos.csv");
    let mut x: u64 = 2020;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    // (account, symbol, side, size, entry, cross, collateral)
    let mut rows: Vec<(String, &str, f64, f64, f64, bool, f64)> = Vec::new();
    for a in 0..50 {
        let cross = a % 3 == 0;
        let lev = 3.0 + 30.0 * next();
        let side = if next() < 0.7 { 1.0 } else { -1.0 };
        let symbols: &[(&str, f64)] = if a % 4 == 0 {
            &[("BTCUSDT", 7_900.0), ("ETHUSDT", 194.0)]
        } else if a % 2 == 0 {
            &[("ETHUSDT", 194.0)]
        } else {
            &[("BTCUSDT", 7_900.0)]
        };
        for &(s, p) in symbols {
            let entry = p * (0.99 + 0.02 * next());
            let notional = 2_000.0 + 30_000.0 * next();
            rows.push((
                format!("a{a}"),
                s,
                side,
                notional / entry,
                entry,
                cross,
                notional / lev,
            ));
        }
    }
    let mut text = "account,symbol,side,size,entry_price,margin_mode,collateral\n".to_string();
    for r in &rows {
        text += &format!(
            "{},{},{},{},{},{},{}\n",
            r.0,
            r.1,
            if r.2 > 0.0 { "long" } else { "short" },
            r.3,
            r.4,
            if r.5 { "cross" } else { "isolated" },
            r.6
        );
    }
    std::fs::write(&f, text).unwrap();
    let sc = parse(&format!(
        "{BASE}\n[population]\nfile = {:?}\n",
        f.display().to_string()
    ))
    .unwrap();
    let m = LoadedMarket::load(&sc).unwrap();
    let sweep = execute_sweep(&sc, &m, 1, &|| {}, false).unwrap();
    let c = &sweep.contagion[0];
    let s = c.series.as_ref().unwrap();
    // Independent walk: buckets (a cross account's rows together, each
    // isolated row alone), every bar's points in step.
    let p = m.portfolio.as_ref().unwrap();
    let n = p.tape.len();
    let k_of = |sym: &str| usize::from(sym == "ETHUSDT");
    let point = |k: usize, t: usize, j: usize| {
        let i = k * n + t;
        let (o, h, l, cl) = (
            p.tape.open[i],
            p.tape.high[i],
            p.tape.low[i],
            p.tape.close[i],
        );
        if cl >= o {
            [o, l, h, cl][j]
        } else {
            [o, h, l, cl][j]
        }
    };
    let mut buckets: Vec<Vec<usize>> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        match buckets
            .iter_mut()
            .find(|b| r.5 && rows[b[0]].5 && rows[b[0]].0 == r.0)
        {
            Some(b) => b.push(i),
            None => buckets.push(vec![i]),
        }
    }
    let mut expect = vec![0.0; 2 * n];
    let mut hit = 0;
    for b in &buckets {
        let wallet: f64 = b.iter().map(|&i| rows[i].6).sum();
        'walk: for t in 0..n {
            for j in 0..4 {
                let (mut eq, mut mm) = (wallet, 0.0);
                for &i in b {
                    let r = &rows[i];
                    let px = point(k_of(r.1), t, j);
                    eq += r.2 * r.3 * (px - r.4);
                    mm += binance_mm(r.1, r.3 * px);
                }
                if eq <= mm {
                    for &i in b {
                        let r = &rows[i];
                        let k = k_of(r.1);
                        expect[k * n + t] += r.3 * point(k, t, j);
                    }
                    hit += 1;
                    break 'walk;
                }
            }
        }
    }
    // Some of the book goes, some survives the window.
    assert!(
        hit >= 5 && hit < buckets.len(),
        "{hit} of {}",
        buckets.len()
    );
    assert_eq!(c.metrics.book_accounts, 50);
    for (i, (got, want)) in s.liquidated.iter().zip(&expect).enumerate() {
        assert!(
            (got - want).abs() <= 1e-6 * want.max(1.0),
            "instrument {} bar {}: {got} vs {want}",
            i / n,
            i % n
        );
    }
    assert_eq!(s.liquidated.len(), expect.len());
}
