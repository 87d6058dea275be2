//! The insurance fund: fees in, deficits out, never below zero.

use serde::Serialize;

/// An insurance fund's balance and flows (quote).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct InsuranceFund {
    /// Current balance.
    pub balance: f64,
    /// Lowest balance seen.
    pub min_balance: f64,
    /// Total received (clearance fees, surplus over bankruptcy).
    pub inflows: f64,
    /// Total paid out (deficits beyond bankruptcy).
    pub outflows: f64,
}

impl InsuranceFund {
    /// A fund starting with `balance`.
    pub fn new(balance: f64) -> Self {
        Self {
            balance,
            min_balance: balance,
            inflows: 0.0,
            outflows: 0.0,
        }
    }

    /// Adds a fee or surplus.
    pub fn deposit(&mut self, amount: f64) {
        self.balance += amount;
        self.inflows += amount;
    }

    /// Covers a deficit as far as the balance allows; returns the part left
    /// uncovered (for ADL or socialized loss).
    pub fn cover(&mut self, deficit: f64) -> f64 {
        let paid = deficit.min(self.balance).max(0.0);
        self.balance -= paid;
        self.outflows += paid;
        self.min_balance = self.min_balance.min(self.balance);
        deficit - paid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_up_to_its_balance() {
        let mut f = InsuranceFund::new(100.0);
        f.deposit(5.0);
        assert_eq!(f.cover(30.0), 0.0);
        assert_eq!(f.cover(100.0), 25.0);
        assert_eq!(f.balance, 0.0);
        assert_eq!(f.min_balance, 0.0);
        assert_eq!((f.inflows, f.outflows), (5.0, 105.0));
    }
}
