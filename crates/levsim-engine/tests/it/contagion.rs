//! The contagion pass: crowds holding several instruments.

use levsim_core::{Instrument, InstrumentTable, MarketTape, PortfolioTape};
use levsim_engine::crowd::{
    contagion_pass, ContagionOptions, Crossing, CrowdBook, CrowdMixConfig, HoldingMix,
    LeverageDist, VenueLinks,
};
use levsim_engine::liquidity::{LinearImpact, NoImpact};
use levsim_engine::venue::adl::AdlRanking;
use levsim_engine::venue::MarginModel;
use levsim_engine::{VenueConfig, VenueProfile};
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};

use crate::support::MIN;

fn venue(symbol: &str, fund: f64, ranking: &str) -> VenueProfile {
    let mut v = VenueProfile::resolve(
        &VenueConfig {
            profile: "binance-usdm".into(),
            funding: Some(false),
            insurance_fund: Some(fund),
            ..Default::default()
        },
        symbol,
    )
    .unwrap();
    v.adl_ranking = match ranking {
        "binance" => AdlRanking::Binance,
        "bitmex" => AdlRanking::Bitmex,
        "bybit" => AdlRanking::Bybit,
        "size" => AdlRanking::Size,
        "pro_rata" => AdlRanking::ProRata,
        _ => AdlRanking::Unranked,
    };
    v
}

fn leg(symbol: &str, rows: &[(f64, f64, f64, f64)]) -> MarketTape {
    let mut t = MarketTape {
        symbol: symbol.into(),
        interval_ns: MIN,
        ..Default::default()
    };
    for (i, &(o, h, l, c)) in rows.iter().enumerate() {
        t.push(i as i64 * MIN, o, h, l, c, 1.0);
    }
    t
}

fn two(btc: &[(f64, f64, f64, f64)], eth: &[(f64, f64, f64, f64)]) -> PortfolioTape {
    let table = InstrumentTable::new(vec![
        Instrument::linear("BTCUSDT"),
        Instrument::linear("ETHUSDT"),
    ])
    .unwrap();
    PortfolioTape::align(table, &[leg("BTCUSDT", btc), leg("ETHUSDT", eth)])
        .unwrap()
        .0
}

/// A bar that moves linearly from `a` to `b`.
fn bar(a: f64, b: f64) -> (f64, f64, f64, f64) {
    (a, a.max(b), a.min(b), b)
}

/// Only ETH moves (−40 %); BTC stays flat. Cross accounts long BTC and ETH
/// lose their BTC legs with their ETH legs; isolated accounts keep BTC.
#[test]
fn only_eth_moves_cross_btc_legs_go_isolated_stay() {
    let btc: Vec<_> = (0..6).map(|_| bar(50_000.0, 50_000.0)).collect();
    let mut eth = vec![bar(2_000.0, 2_000.0)];
    for i in 0..5 {
        let a = 2_000.0 * (1.0 - 0.08 * i as f64);
        eth.push(bar(a, a * (1.0 - 0.08 / (1.0 - 0.08 * i as f64))));
    }
    let tape = two(&btc, &eth);
    let rules = [
        venue("BTCUSDT", 1e9, "binance"),
        venue("ETHUSDT", 1e9, "binance"),
    ];
    let mut book = CrowdBook::new(2);
    // Ten accounts of each kind: 5x long, half in BTC and half in ETH.
    for i in 0..10 {
        let notional = 10_000.0 + 1_000.0 * i as f64;
        let legs = [
            (0u16, notional / 50_000.0, 50_000.0),
            (1u16, notional / 2_000.0, 2_000.0),
        ];
        book.push_account(true, &legs, &[2.0 * notional / 5.0]);
        book.push_account(false, &legs, &[notional / 5.0, notional / 5.0]);
    }
    let mut liq = [NoImpact, NoImpact];
    let out = contagion_pass(
        &tape,
        &[None, None],
        &rules,
        &VenueLinks::single(2, rules[0].insurance_fund),
        &book,
        &mut liq,
        &ContagionOptions::default(),
    );
    let (b, e) = (&out.instruments[0], &out.instruments[1]);
    // Every ETH leg goes (a 40 % fall at 5x), cross and isolated alike.
    assert_eq!(e.legs_liquidated, 20, "{e:?}");
    // BTC legs: exactly the ten cross accounts', all as contagion.
    assert_eq!(b.legs_liquidated, 10, "{b:?}");
    assert_eq!(b.contagion_legs, 10);
    assert_eq!(e.contagion_legs, 0);
    assert_eq!(out.metrics.cross_accounts_liquidated, 10);
    assert_eq!(out.metrics.accounts_liquidated_by_other_asset, 10);
    // The BTC notional sold is the cross accounts' BTC at 50,000.
    let btc_cross: f64 = (0..10).map(|i| 10_000.0 + 1_000.0 * i as f64).sum();
    assert!((b.contagion_notional - btc_cross).abs() < 1e-6 * btc_cross);
    assert!(
        out.metrics.conservation_error.abs() < 1e-6,
        "{}",
        out.metrics.conservation_error
    );
}

/// Each bucket is liquidated at the first point where equity ≤ maintenance
/// at the exogenous prices (no impact), found by an independent scan here.
#[test]
fn liquidation_points_match_an_independent_check() {
    let tape = walk2(3, 300, 0.3);
    let rules = [
        venue("BTCUSDT", 1e12, "binance"),
        venue("ETHUSDT", 1e12, "binance"),
    ];
    let book = crowd(5, 400, &tape, &rules);
    let mut liq = [NoImpact, NoImpact];
    let out = contagion_pass(
        &tape,
        &[None, None],
        &rules,
        &VenueLinks::single(2, rules[0].insurance_fund),
        &book,
        &mut liq,
        &ContagionOptions::default(),
    );
    // Independent: walk the same points, bucket by bucket.
    let bars = tape.len();
    let mut expect = 0u64;
    let mut legs_expect = [0u64; 2];
    for b in 0..book.buckets() {
        'walk: for t in 0..bars {
            for j in 0..4 {
                let mut eq = book.wallet[b];
                let mut mm = 0.0;
                for l in book.legs(b) {
                    let k = book.leg_inst[l] as usize;
                    let i = k * bars + t;
                    let (o, h, lo, c) = (tape.open[i], tape.high[i], tape.low[i], tape.close[i]);
                    let path = if c >= o { [o, lo, h, c] } else { [o, h, lo, c] };
                    let p = path[j];
                    let q = book.leg_qty[l];
                    eq += q * (p - book.leg_entry[l]);
                    mm += rules[k].margin.maintenance(q.abs() * p, q.abs());
                }
                if eq <= mm {
                    expect += 1;
                    for l in book.legs(b) {
                        legs_expect[book.leg_inst[l] as usize] += 1;
                    }
                    break 'walk;
                }
            }
        }
    }
    let got: u64 = out.instruments.iter().map(|i| i.legs_liquidated).sum();
    assert!(expect > 10, "the path should liquidate someone: {expect}");
    assert_eq!(got, legs_expect[0] + legs_expect[1]);
    assert_eq!(out.instruments[0].legs_liquidated, legs_expect[0]);
    assert_eq!(out.instruments[1].legs_liquidated, legs_expect[1]);
}

/// Two random walks (BTC, ETH) with a crash of `crash` in ETH in the middle.
fn walk2(seed: u64, n: usize, crash: f64) -> PortfolioTape {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let (mut b, mut e) = (50_000.0f64, 2_000.0f64);
    let (mut rb, mut re) = (Vec::new(), Vec::new());
    for i in 0..n {
        let z: f64 = rng.random::<f64>() - 0.5;
        let w: f64 = rng.random::<f64>() - 0.5;
        let shock = if i == n / 2 { 1.0 - crash } else { 1.0 };
        let (b1, e1) = (b * (1.0 + 0.004 * z), e * (1.0 + 0.006 * w) * shock);
        let wick = 1.0 + 0.002 * rng.random::<f64>();
        rb.push((b, b.max(b1) * wick, b.min(b1) / wick, b1));
        re.push((e, e.max(e1) * wick, e.min(e1) / wick, e1));
        b = b1;
        e = e1;
    }
    two(&rb, &re)
}

fn crowd(seed: u64, accounts: usize, tape: &PortfolioTape, rules: &[VenueProfile]) -> CrowdBook {
    crowd_on(seed, accounts, tape, rules, &[0, 0])
}

/// [`crowd`] with BTC and ETH on the venues `venue_of`.
fn crowd_on(
    seed: u64,
    accounts: usize,
    tape: &PortfolioTape,
    rules: &[VenueProfile],
    venue_of: &[usize],
) -> CrowdBook {
    let cfg = CrowdMixConfig {
        accounts,
        open_interest: 1e8,
        long_share: 0.6,
        cross_share: 0.5,
        file: None,
        leverage: Some(LeverageDist::Lognormal {
            median: 10.0,
            sigma: 0.6,
            cap: 50.0,
            min: 1.1,
        }),
        size_sigma: 1.0,
        mix: vec![
            HoldingMix {
                weights: [("BTCUSDT".to_string(), 1.0)].into(),
                share: 1.0,
            },
            HoldingMix {
                weights: [("BTCUSDT".to_string(), 0.5), ("ETHUSDT".to_string(), 0.5)].into(),
                share: 2.0,
            },
            HoldingMix {
                weights: [("BTCUSDT".to_string(), 0.5), ("ETHUSDT".to_string(), -0.5)].into(),
                share: 1.0,
            },
        ],
        max_rounds: 50,
    };
    let symbols = tape.instruments.symbols();
    let prices = [tape.open[0], tape.open[tape.len()]];
    let mut book = CrowdBook::new(2);
    cfg.generate_into(&mut book, seed, &symbols, &prices, rules, venue_of)
        .unwrap();
    book
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// The radius index finds exactly the buckets a scan finds: identical
    /// passes, with impact, funding, ADL and socialized losses in play; and
    /// money is conserved across both instruments.
    #[test]
    fn index_equals_scan_and_money_is_conserved(
        seed in 0u64..1_000, crash in 0.05f64..0.5, fund in prop::sample::select(vec![0.0, 1e4, 1e9]),
        ranking in prop::sample::select(vec!["binance", "bitmex", "size", "pro_rata", "unranked"]),
        adl in any::<bool>(), linked in any::<bool>(),
    ) {
        let tape = walk2(seed, 120, crash);
        let mut rules = [venue("BTCUSDT", fund, ranking), venue("ETHUSDT", fund, ranking)];
        for r in &mut rules {
            r.adl = adl;
            r.funding = true;
        }
        // Funding in both instruments (large, both signs), every 30 bars.
        let funding = levsim_core::FundingSeries {
            ts: (1..4).map(|i| i * 30 * MIN).collect(),
            rate: vec![0.003, -0.002, 0.004],
        };
        // Enough buckets (about 4,500) that the index keeps a sorted prefix
        // and rebuilds it, rather than holding every bucket.
        let book = crowd_on(seed, 3_000, &tape, &rules, if linked { &[0, 1] } else { &[0, 0] });
        let run = |crossing| {
            let mut liq = [LinearImpact::new(2e7, 1.0, 120.0), LinearImpact::new(1e7, 1.0, 120.0)];
            // Linked: two venues (their own funds), BTC marked at an index
            // leaning on ETH's book too, funding from the premium.
            let mut links = VenueLinks::single(2, fund);
            if linked {
                links.venue_of = vec![0, 1];
                links.funds = vec![fund, fund * 0.5];
                links.index = vec![Some(vec![(0, 0.9), (1, 0.1 * 25.0)]), None];
                links.premium_funding = vec![true, false];
            }
            contagion_pass(&tape, &[Some(&funding), Some(&funding)], &rules, &links, &book, &mut liq, &ContagionOptions { crossing, seed, ..Default::default() })
        };
        let a = run(Crossing::Index);
        let b = run(Crossing::Scan);
        prop_assert_eq!(&a.instruments, &b.instruments);
        prop_assert_eq!(&a.tape, &b.tape);
        prop_assert_eq!(a.metrics.accounts_liquidated, b.metrics.accounts_liquidated);
        prop_assert_eq!(a.metrics.socialized_loss, b.metrics.socialized_loss);
        prop_assert_eq!(a.metrics.adl_profit_taken, b.metrics.adl_profit_taken);
        let money: f64 = book.wallet.iter().sum::<f64>() + fund * if linked { 1.5 } else { 1.0 };
        prop_assert!(a.metrics.conservation_error.abs() <= 1e-9 * money, "{}", a.metrics.conservation_error);
        // ADL closes at least the least notional that covers what it took.
        prop_assert!(a.metrics.adl_notional + 1e-9 * money >= a.metrics.adl_notional_required, "{:?}", a.metrics);
        prop_assert_eq!(a.metrics.adl_overshoot_notional, b.metrics.adl_overshoot_notional);
        // The deficit is covered exactly once.
        let covered = a.metrics.adl_profit_taken + a.metrics.socialized_loss + a.metrics.uncovered_deficit;
        let paid = a.metrics.insurance_fund_start - a.metrics.insurance_fund_end;
        let income = a.metrics.insurance_fund_end - a.metrics.insurance_fund_start + a.metrics.bad_debt - covered;
        prop_assert!(income >= -1e-6 * money, "fund income {income} (paid {paid})");
    }
}

/// With no insurance fund a crash's bad debt is covered by ADL (or, with
/// ADL off, socialized); pro-rata ADL touches every winner, so it hits at
/// least as many accounts as any ranked queue, and takes less from each.
#[test]
fn adl_rankings_side_by_side() {
    let tape = walk2(11, 200, 0.45);
    let run = |ranking: &str, adl: bool| {
        let mut rules = [
            venue("BTCUSDT", 0.0, ranking),
            venue("ETHUSDT", 0.0, ranking),
        ];
        for r in &mut rules {
            r.adl = adl;
        }
        let book = crowd(11, 2_000, &tape, &rules);
        let mut liq = [
            LinearImpact::new(5e7, 1.0, 120.0),
            LinearImpact::new(2e7, 1.0, 120.0),
        ];
        contagion_pass(
            &tape,
            &[None, None],
            &rules,
            &VenueLinks::single(2, rules[0].insurance_fund),
            &book,
            &mut liq,
            &ContagionOptions::default(),
        )
        .metrics
    };
    let off = run("binance", false);
    assert!(off.bad_debt > 0.0 && off.socialized_loss > 0.0, "{off:?}");
    assert_eq!(off.adl_count, 0);
    let pro = run("pro_rata", true);
    assert!(pro.adl_profit_taken > 0.0, "{pro:?}");
    for r in ["binance", "bitmex", "bybit", "size"] {
        let m = run(r, true);
        assert!(m.adl_profit_taken > 0.0, "{r}: {m:?}");
        assert!(
            pro.adl_accounts >= m.adl_accounts,
            "{r}: {} > {}",
            m.adl_accounts,
            pro.adl_accounts
        );
        assert!(
            m.conservation_error.abs() < 1e-3,
            "{r}: {}",
            m.conservation_error
        );
    }
}

/// Two venues on one price, marked at a 50/50 index of their traded
/// prices: a crowd only on the first venue sells into its book, and the
/// second venue's mark moves by half that impact (its own book untouched);
/// with premium funding the first venue's longs, trading below the index,
/// receive and the second's pay. Without the index the second venue's
/// mark is the exogenous price.
#[test]
fn a_shared_index_carries_one_venues_selling_to_the_other() {
    let rows: Vec<_> = (0..120)
        .map(|i| {
            let a = 100.0 * (1.0 - 0.002 * i as f64);
            bar(a, a * 0.998)
        })
        .collect();
    let table =
        InstrumentTable::new(vec![Instrument::linear("A"), Instrument::linear("B")]).unwrap();
    let tape = PortfolioTape::align(table, &[leg("A", &rows), leg("B", &rows)])
        .unwrap()
        .0;
    // Both under Binance's BTCUSDT table.
    let mut rules = [
        venue("BTCUSDT", 1e9, "binance"),
        venue("BTCUSDT", 1e9, "binance"),
    ];
    for r in &mut rules {
        r.funding = true;
        r.funding_rule.interval_hours = 0.5;
    }
    let mut book = CrowdBook::new(2);
    for i in 0..200 {
        let q = 100.0 + i as f64;
        book.push_account(
            false,
            &[(0u16, q, 100.0)],
            &[q * 100.0 / (5.0 + 0.2 * i as f64)],
        );
    }
    let run = |linked: bool| {
        let mut links = VenueLinks::single(2, 1e9);
        links.venue_of = vec![0, 1];
        links.funds = vec![1e9, 1e9];
        if linked {
            links.index = vec![Some(vec![(0, 0.5), (1, 0.5)]); 2];
            links.premium_funding = vec![true, true];
        }
        let mut liq = [
            LinearImpact::new(2e5, 1.0, 600.0),
            LinearImpact::new(2e5, 1.0, 600.0),
        ];
        contagion_pass(
            &tape,
            &[None, None],
            &rules,
            &links,
            &book,
            &mut liq,
            &ContagionOptions::default(),
        )
    };
    let plain = run(false);
    let linked = run(true);
    let n = tape.len();
    assert!(
        plain.instruments[0].legs_liquidated > 50,
        "{:?}",
        plain.instruments[0]
    );
    // Unlinked: B is marked at its own (untouched) price.
    for t in 0..n {
        assert!((plain.tape.close[n + t] / tape.close[n + t] - 1.0).abs() < 1e-12);
    }
    // Linked: both marks are the index, below B's exogenous price where A
    // sold, and B's deviation is at most half of A's book impact.
    let mut moved = 0;
    for t in 0..n {
        assert!((linked.tape.close[t] - linked.tape.close[n + t]).abs() < 1e-9 * tape.close[t]);
        let dev_b = linked.tape.close[n + t] / tape.close[n + t] - 1.0;
        assert!(dev_b <= 1e-12, "{t}: {dev_b}");
        if dev_b < -1e-6 {
            moved += 1;
        }
    }
    assert!(moved > 10, "{moved}");
    let (fa, fb) = (
        linked.funding[0].as_ref().unwrap(),
        linked.funding[1].as_ref().unwrap(),
    );
    assert!(!fa.rate.is_empty() && fa.rate.len() == fb.rate.len());
    // A trades below the index (negative premium), B above: A's rate is
    // below B's at every payment, and below the interest-only rate.
    for (a, b) in fa.rate.iter().zip(&fb.rate) {
        assert!(a <= b, "{a} {b}");
    }
    assert!(linked.instruments[0].premium_min_pct < -0.01);
    assert!(linked.instruments[1].premium_max_pct > 0.01);
    assert!(
        linked.metrics.conservation_error.abs() < 1e-6,
        "{}",
        linked.metrics.conservation_error
    );
    assert_eq!(linked.metrics.insurance_funds_end.len(), 2);
}

/// The least notional covering a deficit, by hand: profit per notional
/// 0.25 (5 of 20), 0.1 (10 of 100), 0.05 (30 of 600); covering 12 takes
/// all of the first (20) and 7/10 of the second (70); covering more than
/// all profit closes everything.
#[test]
fn least_notional_to_cover_a_deficit() {
    use levsim_engine::crowd::least_notional_to_cover;
    let c = [(10.0, 100.0), (30.0, 600.0), (5.0, 20.0)];
    assert!((least_notional_to_cover(&c, 12.0) - 90.0).abs() < 1e-12);
    assert!((least_notional_to_cover(&c, 5.0) - 20.0).abs() < 1e-12);
    assert!((least_notional_to_cover(&c, 100.0) - 720.0).abs() < 1e-12);
    assert_eq!(least_notional_to_cover(&c, 0.0), 0.0);
}
