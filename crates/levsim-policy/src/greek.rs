//! Greek-aware sizing: the largest book whose margin, compressed by the
//! loss its Greeks predict under a k-sigma joint move of price and
//! implied volatility, stays above maintenance.
//!
//! For a book in proportion to `weights` (by the underlying's notional,
//! Σ |w| = 1) at gross leverage `L`, leg `j` holds `L · w_j · E / S_j`
//! units (`S_j` its underlying's price, `E` the equity). The Taylor
//! expansion of its value under a move `dS` of the underlying and `dσ` of
//! its implied volatility,
//!
//! `ΔV_j = q_j · (δ_j dS + ½ γ_j dS² + ν_j · 100 dσ)`,
//!
//! is linear in `L`: `ΔV = L · v(dS, dσ)`. The moves are k-sigma over the
//! horizon `h`, lognormal: `dS = S (e^{±k σ √h} − 1)` with `σ` the implied
//! volatility of the book's options on that underlying (its realized
//! volatility when it has none), and `dσ = σ_j (e^{±k ν √h} − 1)` with `ν`
//! the volatility of volatility; the predicted loss per unit of leverage
//! is the worst of the four corners, `ℓ = max(0, −min v)`. Maintenance
//! per unit of leverage is `m = requirement / L` of the open book (the
//! venue's own rule, as it margins this book), `mmr · E` before the first
//! fill (an opening the venue refuses is tried again at half the size). Staying above maintenance after the move, `E − L ℓ ≥ L m`, gives
//!
//! `L* = E / (ℓ + m)`, capped at `max_leverage`,
//!
//! re-sized whenever the Greeks move `L*` more than `band` (relative)
//! from the book's gross leverage.

use crate::{PortfolioDecision, PortfolioObservation, PortfolioPolicy};

/// Parameters of [`GreekAware`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GreekAwareParams {
    /// Size of the joint move in standard deviations.
    pub k: f64,
    /// Horizon of the move, hours.
    pub horizon_h: f64,
    /// Volatility of implied volatility, annual (relative: 1.0 moves a
    /// 75 % IV by about 12 points at k = 3 over a day).
    pub vol_of_vol: f64,
    /// Requirement per unit of gross notional assumed before the book is
    /// open (then the venue's own maintenance is used); by default 0.2,
    /// about a short option's initial margin at Deribit (0.15 of the
    /// underlying plus its mark), so the opening passes the venue's check.
    pub mmr: f64,
    /// Gross leverage cap.
    pub max_leverage: f64,
    /// Relative tolerance before re-sizing.
    pub band: f64,
}

/// The Greek-aware policy (see the module docs).
#[derive(Debug, Clone)]
pub struct GreekAware {
    weights: Vec<f64>,
    p: GreekAwareParams,
    opened: bool,
    /// The book has been open (a fill happened).
    held: bool,
    /// Scale of the next opening: halved each time the venue refuses one.
    scale: f64,
}

impl GreekAware {
    /// The policy; `Err` when the weights have no size.
    pub fn new(weights: &[f64], p: GreekAwareParams) -> Result<Self, String> {
        let gross: f64 = weights.iter().map(|w| w.abs()).sum();
        if !(gross > 0.0 && gross.is_finite()) {
            return Err("the weights sum to zero in absolute value: nothing to trade".into());
        }
        Ok(Self {
            weights: weights.iter().map(|w| w / gross).collect(),
            p,
            opened: false,
            held: false,
            scale: 1.0,
        })
    }

    /// The gross leverage of the book as it stands, by each leg's
    /// underlying notional.
    fn gross(obs: &PortfolioObservation<'_>) -> f64 {
        (0..obs.legs())
            .map(|j| obs.qty[j].abs() * obs.marks[obs.delta_leg[j]])
            .sum::<f64>()
            / obs.equity
    }

    /// Annual volatility of underlying `u` for the price move: the mean
    /// implied volatility of the book's options on it, else its realized
    /// volatility over the last 30 days of closes (0.8 before two closes).
    fn sigma(&self, obs: &PortfolioObservation<'_>, u: usize) -> f64 {
        let (mut sum, mut n) = (0.0, 0);
        for j in 0..obs.legs() {
            if obs.delta_leg[j] == u && j != u && self.weights[j] != 0.0 && obs.iv[j] > 0.0 {
                sum += obs.iv[j];
                n += 1;
            }
        }
        if n > 0 {
            return sum / n as f64;
        }
        let c = obs.closes(u);
        let want = ((30.0 / 365.0) / obs.bar_years).ceil() as usize;
        let c = &c[c.len().saturating_sub(want + 1)..];
        if c.len() < 3 {
            return 0.8;
        }
        let r: Vec<f64> = c.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
        let m = r.iter().sum::<f64>() / r.len() as f64;
        let var = r.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (r.len() - 1) as f64;
        (var / obs.bar_years).sqrt()
    }

    /// Predicted loss of the book per unit of gross leverage under the
    /// worst corner of the k-sigma joint move (0 when every corner gains).
    pub fn loss_per_leverage(&self, obs: &PortfolioObservation<'_>) -> f64 {
        let h = self.p.horizon_h / (365.0 * 24.0);
        let n = obs.legs();
        let sig: Vec<f64> = (0..n).map(|u| self.sigma(obs, u)).collect();
        let mut worst = 0.0f64;
        for ds_sign in [-1.0, 1.0] {
            for dv_sign in [-1.0, 1.0] {
                let mut v = 0.0;
                for j in 0..n {
                    let w = self.weights[j];
                    if w == 0.0 {
                        continue;
                    }
                    let u = obs.delta_leg[j];
                    let s = obs.marks[u];
                    let q = w * obs.equity / s;
                    let ds = s * ((ds_sign * self.p.k * sig[u] * h.sqrt()).exp() - 1.0);
                    let dvol = obs.iv[j]
                        * ((dv_sign * self.p.k * self.p.vol_of_vol * h.sqrt()).exp() - 1.0);
                    v += q
                        * (obs.delta[j] * ds
                            + 0.5 * obs.gamma[j] * ds * ds
                            + obs.vega[j] * 100.0 * dvol);
                }
                worst = worst.max(-v);
            }
        }
        worst
    }

    /// The gross leverage the rule allows at this bar.
    pub fn target_leverage(&self, obs: &PortfolioObservation<'_>) -> f64 {
        let loss = self.loss_per_leverage(obs);
        let gross = Self::gross(obs);
        let m = if gross > 0.0 && obs.requirement > 0.0 {
            obs.requirement / gross
        } else {
            self.p.mmr * obs.equity
        };
        let l = obs.equity / (loss + m);
        if l.is_finite() {
            l.clamp(0.0, self.p.max_leverage)
        } else {
            self.p.max_leverage
        }
    }
}

impl PortfolioPolicy for GreekAware {
    fn decide(&mut self, obs: &PortfolioObservation<'_>, target: &mut [f64]) -> PortfolioDecision {
        if obs.equity <= 0.0 {
            return PortfolioDecision::Hold;
        }
        let flat = obs.is_flat();
        if !flat {
            self.held = true;
        }
        if flat && self.held {
            // Liquidated or expired: no re-entry (as its static peer).
            return PortfolioDecision::Hold;
        }
        if flat && self.opened {
            // The venue refused the opening (its initial margin): try
            // again at half the size.
            self.scale *= 0.5;
        }
        let l = self.target_leverage(obs) * if flat { self.scale } else { 1.0 };
        let gross = Self::gross(obs);
        if !flat && (l - gross).abs() <= self.p.band * gross {
            return PortfolioDecision::Hold;
        }
        self.opened = true;
        for (j, t) in target.iter_mut().enumerate() {
            // A leg closed since the opening (an expired option) stays so.
            *t = if !flat && obs.qty[j] == 0.0 && self.weights[j] != 0.0 {
                f64::NAN
            } else {
                self.weights[j] * l
            };
        }
        PortfolioDecision::Target
    }

    fn reset(&mut self) {
        self.opened = false;
        self.held = false;
        self.scale = 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> GreekAwareParams {
        GreekAwareParams {
            k: 3.0,
            horizon_h: 24.0,
            vol_of_vol: 1.0,
            mmr: 0.1,
            max_leverage: 50.0,
            band: 0.25,
        }
    }

    /// One perpetual (leg 0) and one option on it (leg 1).
    #[allow(clippy::too_many_arguments)]
    fn obs<'a>(
        marks: &'a [f64],
        qty: &'a [f64],
        delta: &'a [f64],
        gamma: &'a [f64],
        vega: &'a [f64],
        iv: &'a [f64],
        equity: f64,
        requirement: f64,
    ) -> PortfolioObservation<'a> {
        PortfolioObservation {
            ts: 0,
            seen: 1,
            bar_years: 1.0 / 8760.0,
            marks,
            qty,
            notional: qty,
            entry: qty,
            delta,
            gamma,
            vega,
            iv,
            delta_leg: &[0, 0],
            liquidation_distance: &[f64::NAN, f64::NAN],
            equity,
            requirement,
            margin_ratio: 0.0,
            reserve: 0.0,
            liquidations: 0,
            close_columns: marks,
            bars: 1,
        }
    }

    /// A short call's predicted loss is the Taylor expansion at the worst
    /// corner (price up, volatility up), computed here by hand.
    #[test]
    fn the_loss_is_the_worst_corner_of_the_taylor_expansion() {
        let (s, k, t, iv) = (50_000.0, 55_000.0, 30.0 / 365.0, 0.8);
        let g = levsim_options::greeks(s, k, t, iv, levsim_options::OptionKind::Call);
        let (delta, gamma, vega) = ([1.0, g.delta], [0.0, g.gamma], [0.0, g.vega]);
        let (marks, ivs) = ([s, 1_000.0], [0.0, iv]);
        let o = obs(
            &marks,
            &[0.0, 0.0],
            &delta,
            &gamma,
            &vega,
            &ivs,
            10_000.0,
            0.0,
        );
        let p = GreekAware::new(&[0.0, -1.0], params()).unwrap();
        let h: f64 = 1.0 / 365.0;
        let ds = s * ((3.0 * iv * h.sqrt()).exp() - 1.0);
        let dv = iv * ((3.0 * h.sqrt()).exp() - 1.0);
        let q = -10_000.0 / s;
        let want = -q * (g.delta * ds + 0.5 * g.gamma * ds * ds + g.vega * 100.0 * dv);
        let got = p.loss_per_leverage(&o);
        assert!((got - want).abs() < 1e-9 * want, "{got} vs {want}");
        // And it sizes to equity / (loss + mmr · equity).
        let l = p.target_leverage(&o);
        assert!((l - 10_000.0 / (want + 1_000.0)).abs() < 1e-9, "{l}");
    }

    /// The loss grows with gamma and vega: more of a short option's
    /// convexity (nearer expiry at the money) means a smaller book; a
    /// delta-hedged straddle loses only through gamma and vega.
    #[test]
    fn convexity_shrinks_the_book_and_a_hedge_does_not_hide_it() {
        let s = 50_000.0;
        let far = levsim_options::greeks(s, s, 60.0 / 365.0, 0.8, levsim_options::OptionKind::Call);
        let near = levsim_options::greeks(s, s, 3.0 / 365.0, 0.8, levsim_options::OptionKind::Call);
        let p = GreekAware::new(&[0.0, -1.0], params()).unwrap();
        let lev = |g: levsim_options::Greeks| {
            let (d, ga, v) = ([1.0, g.delta], [0.0, g.gamma], [0.0, g.vega]);
            p.target_leverage(&obs(
                &[s, 1.0],
                &[0.0, 0.0],
                &d,
                &ga,
                &v,
                &[0.0, 0.8],
                10_000.0,
                0.0,
            ))
        };
        assert!(lev(near) < lev(far), "{} vs {}", lev(near), lev(far));
        // Perpetual weight −(−δ) hedges the call's delta: the hedged book's
        // loss is below the naked call's but above zero (gamma, vega).
        let hedged = GreekAware::new(&[far.delta, -1.0], params()).unwrap();
        let (d, ga, v) = ([1.0, far.delta], [0.0, far.gamma], [0.0, far.vega]);
        let marks = [s, 1.0];
        let o = obs(&marks, &[0.0, 0.0], &d, &ga, &v, &[0.0, 0.8], 10_000.0, 0.0);
        // Weights are normalized: compare per unit of the option leg.
        let per_option = |p: &GreekAware, w_opt: f64| p.loss_per_leverage(&o) / w_opt;
        let naked = per_option(&p, 1.0);
        let hedge = per_option(&hedged, 1.0 / (1.0 + far.delta));
        assert!(hedge > 0.0 && hedge < 0.5 * naked, "{hedge} vs {naked}");
    }

    /// Open at the target, hold within the band, re-size past it, never
    /// re-enter once flat again.
    #[test]
    fn it_opens_holds_and_resizes() {
        let mut p = GreekAware::new(&[1.0], params()).unwrap();
        let marks = [100.0];
        let flat = PortfolioObservation {
            delta_leg: &[0],
            liquidation_distance: &[f64::NAN],
            ..obs(&marks, &[0.0], &[1.0], &[0.0], &[0.0], &[0.0], 1_000.0, 0.0)
        };
        let mut t = [0.0];
        assert_eq!(p.decide(&flat, &mut t), PortfolioDecision::Target);
        // A perpetual alone: σ = 0.8 prior, loss per unit leverage is
        // E (1 − e^{−3·0.8·√h}); sized with mmr 0.1.
        let h: f64 = 1.0 / 365.0;
        let want = 1.0 / ((1.0 - (-3.0 * 0.8 * h.sqrt()).exp()) + 0.1);
        assert!((t[0] - want).abs() < 1e-9, "{} vs {want}", t[0]);
        // Open at that size with a matching requirement: hold.
        let q = [want * 1_000.0 / 100.0];
        let open = PortfolioObservation {
            delta_leg: &[0],
            liquidation_distance: &[f64::NAN],
            ..obs(
                &marks,
                &q,
                &[1.0],
                &[0.0],
                &[0.0],
                &[0.0],
                1_000.0,
                0.1 * 1_000.0 * want,
            )
        };
        assert_eq!(p.decide(&open, &mut t), PortfolioDecision::Hold);
        // The venue asks three times as much: re-size down.
        let tight = PortfolioObservation {
            requirement: 0.3 * 1_000.0 * want,
            ..open
        };
        assert_eq!(p.decide(&tight, &mut t), PortfolioDecision::Target);
        assert!(t[0] < 0.75 * want, "{}", t[0]);
        assert_eq!(p.decide(&flat, &mut t), PortfolioDecision::Hold);
        // An opening the venue refuses is tried at half the size.
        let mut p = GreekAware::new(&[1.0], params()).unwrap();
        p.decide(&flat, &mut t);
        let first = t[0];
        assert_eq!(p.decide(&flat, &mut t), PortfolioDecision::Target);
        assert!((t[0] - 0.5 * first).abs() < 1e-12);
    }
}
