//! Margin of an option book under each model, side by side, at one bar:
//! the Greek (Taylor) margin of SPEC §8.3, portfolio margin by full
//! revaluation over the same price-volatility grid (Deribit's ±16 % in 9
//! buckets × −10/0/+10 volatility points), and CME SPAN's 16 scenarios
//! (SPEC §8.1: price scan range 16 %, volatility scan range 10 points,
//! extreme moves of 3 × the range covered at 35 %). Each underlying and
//! the legs on it (the perpetual itself and its options) are scanned on
//! their own and the worst losses summed: no offsets across underlyings.
//! Amounts in quote. These are diagnostics of the book as it stands; the
//! run itself is margined by its `margin_mode`.

use super::book::Book;
use super::scope::MarginScope;
use crate::venue::portfolio::{scanning_risk, span_scenarios};
use crate::VenueProfile;

/// Deribit's price moves (relative).
pub const GRID_MOVES: [f64; 9] = [-0.16, -0.12, -0.08, -0.04, 0.0, 0.04, 0.08, 0.12, 0.16];
/// Deribit's volatility moves (points).
pub const GRID_VOL_MOVES: [f64; 3] = [-10.0, 0.0, 10.0];
const SPAN_PSR: f64 = 0.16;
const SPAN_VSR: f64 = 10.0;
const SPAN_EXTREME: f64 = 3.0;
const SPAN_COVER: f64 = 0.35;
const YEAR_NS: f64 = 365.0 * 86_400e9;

/// The book's requirement under each model, quote.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ModelMargins {
    /// Greek (Taylor) margin over the grid.
    pub greek: f64,
    /// Full revaluation over the grid.
    pub full: f64,
    /// SPAN's scanning risk.
    pub span: f64,
    /// The price move of the scenario that binds full revaluation (of the
    /// underlying that loses most).
    pub binding_move: f64,
    /// Its volatility move, points.
    pub binding_vol: f64,
}

/// One scenario of the stress table: the move, the book's loss and each
/// leg's share of it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StressRow {
    /// Relative price move of the underlying.
    pub price_move: f64,
    /// Volatility move, points.
    pub vol_move: f64,
    /// The book's loss (quote, positive = loses).
    pub loss: f64,
    /// Per leg, its loss in this scenario (0 for legs on other
    /// underlyings).
    pub leg_loss: Vec<f64>,
}

/// The price-volatility stress table of the underlying that loses most,
/// worst scenario first.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct StressTable {
    /// When it was taken (the bar where full revaluation asked most).
    pub ts: levsim_core::TimestampNs,
    /// The book's full-revaluation margin then (all underlyings, quote).
    pub full: f64,
    /// The underlying's leg.
    pub underlying: usize,
    /// Every grid scenario, worst first.
    pub rows: Vec<StressRow>,
}

/// Value change of leg `k` at a relative move `m` of its underlying and
/// `dv` volatility points: full revaluation for an option, linear for a
/// perpetual.
fn leg_pnl(book: &Book, k: usize, marks: &[f64], m: f64, dv: f64) -> f64 {
    let q = book.qty[k];
    if q == 0.0 {
        return 0.0;
    }
    match book.option[k] {
        Some(o) => {
            let s = marks[o.underlying];
            let t = (o.expiry - book.now) as f64 / YEAR_NS;
            let iv = book.iv[k];
            let now = levsim_options::price(s, o.strike, t, iv, o.kind);
            let then = levsim_options::price(
                s * (1.0 + m),
                o.strike,
                t,
                (iv + dv / 100.0).max(1e-4),
                o.kind,
            );
            q * (then - now)
        }
        None => book.notional(k, marks) * m,
    }
}

/// Taylor value change of leg `k` (delta, gamma, vega at this bar).
fn leg_taylor(book: &Book, k: usize, marks: &[f64], m: f64, dv: f64) -> f64 {
    let q = book.qty[k];
    if q == 0.0 {
        return 0.0;
    }
    match book.option[k] {
        Some(o) => {
            let s = marks[o.underlying];
            let t = (o.expiry - book.now) as f64 / YEAR_NS;
            let g = levsim_options::greeks(s, o.strike, t, book.iv[k], o.kind);
            let ds = s * m;
            q * (g.delta * ds + 0.5 * g.gamma * ds * ds + g.vega * dv)
        }
        None => book.notional(k, marks) * m,
    }
}

/// The underlying leg each leg moves with.
fn group_of(book: &Book, k: usize) -> usize {
    book.option[k].map_or(k, |o| o.underlying)
}

/// The book's margin under each model (see the module docs).
pub fn model_margins(book: &Book, marks: &[f64]) -> ModelMargins {
    let n = book.legs();
    let mut out = ModelMargins::default();
    let mut worst_group = 0.0;
    for u in 0..n {
        let legs: Vec<usize> = (0..n)
            .filter(|&k| group_of(book, k) == u && book.qty[k] != 0.0)
            .collect();
        if legs.is_empty() {
            continue;
        }
        let full = |m: f64, dv: f64| {
            legs.iter()
                .map(|&k| leg_pnl(book, k, marks, m, dv))
                .sum::<f64>()
        };
        let taylor = |m: f64, dv: f64| {
            legs.iter()
                .map(|&k| leg_taylor(book, k, marks, m, dv))
                .sum::<f64>()
        };
        let (mut wf, mut wt, mut at) = (0.0f64, 0.0f64, (0.0, 0.0));
        for &m in &GRID_MOVES {
            for &dv in &GRID_VOL_MOVES {
                let f = -full(m, dv);
                if f > wf {
                    wf = f;
                    at = (m, dv);
                }
                wt = wt.max(-taylor(m, dv));
            }
        }
        let span = scanning_risk(&span_scenarios(
            |k, v| full(k * SPAN_PSR, v * SPAN_VSR),
            SPAN_EXTREME,
            SPAN_COVER,
        ));
        out.full += wf;
        out.greek += wt;
        out.span += span;
        if wf > worst_group {
            worst_group = wf;
            out.binding_move = at.0;
            out.binding_vol = at.1;
        }
    }
    out
}

/// Which model a [`ModelScope`] margins by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// CME SPAN's scanning risk.
    Span,
    /// The Greek (Taylor) grid margin.
    Greek,
}

/// One bucket: equity against the book's requirement under SPAN or the
/// Greek margin (`margin_mode = "span"` or `"greek"`), so a run can be
/// liquidated by either; the portfolio-margin grid by full revaluation is
/// [`super::Portfolio`].
#[derive(Debug, Clone, Copy)]
pub struct ModelScope {
    /// The model.
    pub model: Model,
}

impl MarginScope for ModelScope {
    fn isolated(&self) -> bool {
        false
    }
    fn revalues(&self) -> bool {
        true
    }
    fn requirement(&self, book: &Book, _rules: &[VenueProfile], _b: usize, marks: &[f64]) -> f64 {
        let m = model_margins(book, marks);
        match self.model {
            Model::Span => m.span,
            Model::Greek => m.greek,
        }
    }
    fn requirement_bound(&self, book: &Book, _rules: &[VenueProfile], _b: usize, n: &[f64]) -> f64 {
        // Without options both are linear in each perpetual's notional: at
        // most its largest move (SPAN's extreme move covered at 35 %).
        let per = match self.model {
            Model::Span => SPAN_EXTREME * SPAN_PSR * SPAN_COVER,
            Model::Greek => GRID_MOVES[GRID_MOVES.len() - 1],
        };
        let mut r = 0.0;
        for k in 0..book.legs() {
            if book.qty[k] == 0.0 {
                continue;
            }
            if book.has_options && book.option[k].is_some() {
                return f64::INFINITY;
            }
            r += per.max(GRID_MOVES[GRID_MOVES.len() - 1]) * n[k];
        }
        r
    }
}

/// The stress table of the underlying whose worst grid loss is largest.
pub fn stress_table(
    book: &Book,
    marks: &[f64],
    ts: levsim_core::TimestampNs,
    full: f64,
) -> StressTable {
    let n = book.legs();
    let mut best: Option<StressTable> = None;
    let mut best_loss = f64::NEG_INFINITY;
    for u in 0..n {
        let legs: Vec<usize> = (0..n)
            .filter(|&k| group_of(book, k) == u && book.qty[k] != 0.0)
            .collect();
        if legs.is_empty() {
            continue;
        }
        let mut rows = Vec::with_capacity(GRID_MOVES.len() * GRID_VOL_MOVES.len());
        for &m in &GRID_MOVES {
            for &dv in &GRID_VOL_MOVES {
                let mut leg_loss = vec![0.0; n];
                for &k in &legs {
                    leg_loss[k] = -leg_pnl(book, k, marks, m, dv);
                }
                rows.push(StressRow {
                    price_move: m,
                    vol_move: dv,
                    loss: leg_loss.iter().sum(),
                    leg_loss,
                });
            }
        }
        rows.sort_by(|a, b| b.loss.total_cmp(&a.loss));
        if rows[0].loss > best_loss {
            best_loss = rows[0].loss;
            best = Some(StressTable {
                ts,
                full,
                underlying: u,
                rows,
            });
        }
    }
    best.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use levsim_options::margin::{Grid, PricedOption};
    use levsim_options::OptionKind;

    const DAY: i64 = 86_400_000_000_000;

    /// A perpetual (leg 0) at 50,000 with a short call and a long put on
    /// it, 30 days out, at 80 % and 70 %.
    fn book(perp: f64) -> (Book, Vec<f64>) {
        let mut b = Book::new(vec![false; 3], false, 100_000.0);
        b.qty = vec![perp, -2.0, 1.0];
        b.entry = vec![50_000.0, 1.0, 1.0];
        b.option[1] = Some(crate::portfolio::LegOption {
            underlying: 0,
            strike: 55_000.0,
            expiry: 30 * DAY,
            kind: OptionKind::Call,
        });
        b.option[2] = Some(crate::portfolio::LegOption {
            underlying: 0,
            strike: 45_000.0,
            expiry: 30 * DAY,
            kind: OptionKind::Put,
        });
        b.iv = vec![0.0, 0.8, 0.7];
        b.has_options = true;
        (b, vec![50_000.0, 0.0, 0.0])
    }

    /// Full revaluation and the Greek margin equal the calculator's own
    /// (levsim_options::margin, written for coin-settled books: its worst
    /// loss in USD) for the options alone.
    #[test]
    fn the_models_agree_with_the_calculator() {
        let (b, marks) = book(0.0);
        let m = model_margins(&b, &marks);
        let priced = |size: f64, k: f64, kind, sigma| PricedOption {
            size,
            strike: k,
            kind,
            forward: 50_000.0,
            index: 50_000.0,
            sigma,
            t: 30.0 / 365.0,
        };
        let opts = [
            priced(-2.0, 55_000.0, OptionKind::Call, 0.8),
            priced(1.0, 45_000.0, OptionKind::Put, 0.7),
        ];
        let grid = Grid::default();
        let full = levsim_options::margin::portfolio(&opts, &grid);
        let greek = levsim_options::margin::greek(&opts, &grid);
        assert!(
            (m.full - full.worst_loss_usd).abs() < 1e-6 * m.full,
            "{m:?} {full:?}"
        );
        assert!(
            (m.greek - greek.worst_loss_usd).abs() < 1e-6 * m.greek,
            "{m:?} {greek:?}"
        );
        assert_eq!(
            (m.binding_move, m.binding_vol),
            (full.worst_price_move, full.worst_vol_move)
        );
        // SPAN scans the grid's corners too (±16 % with ±10 points): it
        // is at least their worst loss.
        let t = stress_table(&b, &marks, 0, m.full);
        let corners = t
            .rows
            .iter()
            .filter(|r| r.price_move.abs() == 0.16 && r.vol_move.abs() == 10.0)
            .map(|r| r.loss)
            .fold(f64::NEG_INFINITY, f64::max);
        assert!(m.span >= corners - 1e-9, "{} vs {corners}", m.span);
    }

    /// A perpetual alone: every model is linear; the grid's worst is 16 %
    /// of the notional, SPAN's the extreme move's 0.35 × 48 % = 16.8 %.
    #[test]
    fn a_perpetual_alone_has_closed_forms() {
        let (mut b, marks) = book(2.0);
        b.qty[1] = 0.0;
        b.qty[2] = 0.0;
        let m = model_margins(&b, &marks);
        let notional = 100_000.0;
        assert!((m.full - 0.16 * notional).abs() < 1e-6);
        assert!((m.greek - 0.16 * notional).abs() < 1e-6);
        assert!((m.span - 0.168 * notional).abs() < 1e-6, "{}", m.span);
        assert_eq!(m.binding_move, -0.16);
    }

    /// The stress table holds every grid scenario, worst first, each
    /// leg's loss adding up to the book's; its worst is the full margin.
    #[test]
    fn the_stress_table_adds_up() {
        let (b, marks) = book(-1.0);
        let m = model_margins(&b, &marks);
        let t = stress_table(&b, &marks, 7, m.full);
        assert_eq!(t.rows.len(), 27);
        assert!((t.rows[0].loss - m.full).abs() < 1e-9);
        for w in t.rows.windows(2) {
            assert!(w[0].loss >= w[1].loss);
        }
        for r in &t.rows {
            assert!((r.leg_loss.iter().sum::<f64>() - r.loss).abs() < 1e-9);
        }
    }

    /// The SPAN and Greek scopes ask what the models say, and their
    /// bound is above the requirement for a book of perpetuals.
    #[test]
    fn the_model_scopes_margin_by_their_model() {
        let (b, marks) = book(1.0);
        let m = model_margins(&b, &marks);
        let span = ModelScope { model: Model::Span };
        let greek = ModelScope {
            model: Model::Greek,
        };
        assert_eq!(span.requirement(&b, &[], 0, &marks), m.span);
        assert_eq!(greek.requirement(&b, &[], 0, &marks), m.greek);
        assert!(span
            .requirement_bound(&b, &[], 0, &[5e4, 1.0, 1.0])
            .is_infinite());
        let (mut p, marks) = book(2.0);
        p.qty[1] = 0.0;
        p.qty[2] = 0.0;
        let n = [100_000.0, 0.0, 0.0];
        for s in [span, greek] {
            let r = s.requirement(&p, &[], 0, &marks);
            let bound = s.requirement_bound(&p, &[], 0, &n);
            assert!(r <= bound + 1e-9 && bound < 1.1 * r, "{r} {bound}");
        }
    }

    /// Deribit's extended table: a far out-of-the-money short put that
    /// the ±16 % grid barely charges is charged the given fraction of its
    /// loss at −66 % with volatility +10 points (computed here by hand).
    #[test]
    fn the_extended_table_charges_far_out_of_the_money_shorts() {
        use crate::portfolio::{MarginScope, Portfolio, ScenarioGrid};
        let mut b = Book::new(vec![false; 2], false, 100_000.0);
        b.qty = vec![0.0, -10.0];
        b.option[1] = Some(crate::portfolio::LegOption {
            underlying: 0,
            strike: 20_000.0,
            expiry: 60 * DAY,
            kind: OptionKind::Put,
        });
        b.iv = vec![0.0, 0.9];
        b.has_options = true;
        let marks = [50_000.0, 0.0];
        let grid = ScenarioGrid::principal(&[1.0; 4], &[0.16, 0.16], 9, 0.0).unwrap();
        let plain = Portfolio::new(grid.clone());
        let ext = Portfolio::new(grid).with_extended(Some(0.25));
        let (r0, r1) = (
            plain.requirement(&b, &[], 0, &marks),
            ext.requirement(&b, &[], 0, &marks),
        );
        let t = 60.0 / 365.0;
        let p = |s: f64, v: f64| levsim_options::price(s, 20_000.0, t, v, OptionKind::Put);
        let loss = 10.0 * (p(50_000.0 * 0.34, 1.0) - p(50_000.0, 0.9));
        assert!(r0 < 0.05 * loss, "{r0} vs {loss}");
        assert!(
            (r1 - 0.25 * loss).abs() < 1e-9 * loss,
            "{r1} vs {}",
            0.25 * loss
        );
    }
}
