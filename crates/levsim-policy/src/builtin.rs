use crate::{Cadence, Decision, LeveragePolicy, Observation};

/// `static`: open at leverage `L` and hold; never rebalance. The classic
/// leveraged position, and the behaviour of most of the crowd.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticLeverage {
    /// Opening leverage (notional / equity).
    pub leverage: f64,
}

impl LeveragePolicy for StaticLeverage {
    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        if obs.is_flat() {
            Decision::TargetLeverage(self.leverage)
        } else {
            Decision::Hold
        }
    }

    fn cadence(&self) -> Cadence {
        Cadence::WhenFlat
    }
}

/// `constant_leverage`: keep the effective leverage near `L`. At every
/// decision point, when `|lev / L − 1| > band` the position is traded back to
/// exactly `L` (so `band = 0.1` tolerates 9x..11x around 10x).
#[derive(Debug, Clone, PartialEq)]
pub struct ConstantLeverage {
    /// Target leverage.
    pub leverage: f64,
    /// Relative tolerance before rebalancing.
    pub band: f64,
}

impl LeveragePolicy for ConstantLeverage {
    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        crate::dynamic::rebalance(obs, self.leverage, self.band)
    }
}

/// The built-in policies as one enum, so the engine's hot loop dispatches
/// statically.
#[derive(Debug, Clone, PartialEq)]
pub enum BuiltinPolicy {
    /// See [`StaticLeverage`].
    Static(StaticLeverage),
    /// See [`ConstantLeverage`].
    ConstantLeverage(ConstantLeverage),
    /// See [`crate::VolTarget`].
    VolTarget(crate::VolTarget),
    /// See [`crate::LiquidationBuffer`].
    LiquidationBuffer(crate::LiquidationBuffer),
    /// See [`crate::Kelly`].
    Kelly(crate::Kelly),
    /// See [`crate::DrawdownControl`].
    DrawdownControl(crate::DrawdownControl),
    /// See [`crate::MarginTopup`].
    MarginTopup(crate::MarginTopup),
    /// Any of the above with a [`crate::TopupRule`] on top.
    WithTopup(Box<crate::WithTopup<BuiltinPolicy>>),
}

impl BuiltinPolicy {
    /// This policy with `rule` on top (`None`: unchanged).
    pub fn with_topup(self, rule: Option<crate::TopupRule>) -> Self {
        match rule {
            Some(rule) => Self::WithTopup(Box::new(crate::WithTopup { inner: self, rule })),
            None => self,
        }
    }
}

macro_rules! each {
    ($self:expr, $p:ident => $e:expr) => {
        match $self {
            BuiltinPolicy::Static($p) => $e,
            BuiltinPolicy::ConstantLeverage($p) => $e,
            BuiltinPolicy::VolTarget($p) => $e,
            BuiltinPolicy::LiquidationBuffer($p) => $e,
            BuiltinPolicy::Kelly($p) => $e,
            BuiltinPolicy::DrawdownControl($p) => $e,
            BuiltinPolicy::MarginTopup($p) => $e,
            BuiltinPolicy::WithTopup($p) => $e,
        }
    };
}

impl LeveragePolicy for BuiltinPolicy {
    #[inline]
    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        each!(self, p => p.decide(obs))
    }
    fn cadence(&self) -> Cadence {
        each!(self, p => p.cadence())
    }
    fn reset(&mut self) {
        each!(self, p => p.reset())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use levsim_core::Side;

    fn obs(qty: f64, lev: f64) -> Observation<'static> {
        Observation {
            ts: 0,
            mark: 100.0,
            closes: &[],
            bar_years: 1.0 / 8760.0,
            side: Side::Long,
            equity: 1000.0,
            position_qty: qty,
            entry_price: 100.0,
            leverage: lev,
            margin_ratio: 0.0,
            liquidation_price: None,
            reserve: 0.0,
            pending: 0,
            liquidations: 0,
        }
    }

    #[test]
    fn static_opens_then_holds() {
        let mut p = StaticLeverage { leverage: 5.0 };
        assert_eq!(p.decide(&obs(0.0, 0.0)), Decision::TargetLeverage(5.0));
        assert_eq!(p.decide(&obs(50.0, 9.0)), Decision::Hold);
    }

    #[test]
    fn constant_rebalances_outside_the_band_only() {
        let mut p = ConstantLeverage {
            leverage: 10.0,
            band: 0.1,
        };
        let cases = [
            (0.0, 0.0, Decision::TargetLeverage(10.0)),
            (100.0, 10.5, Decision::Hold),
            (100.0, 9.0, Decision::Hold),
            (100.0, 11.5, Decision::TargetLeverage(10.0)),
            (100.0, 8.5, Decision::TargetLeverage(10.0)),
        ];
        for (qty, lev, want) in cases {
            assert_eq!(p.decide(&obs(qty, lev)), want, "qty {qty} lev {lev}");
        }
    }
}
