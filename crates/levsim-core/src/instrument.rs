use serde::{Deserialize, Serialize};

/// How a contract settles its profit and loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ContractKind {
    /// Quote-margined (USDT-M): PnL = qty · (exit − entry), in quote currency.
    #[default]
    Linear,
    /// Coin-margined: PnL = contracts · size · (1/entry − 1/exit), in base currency.
    Inverse,
}

/// A tradable perpetual contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instrument {
    /// Venue symbol, e.g. `BTCUSDT`.
    pub symbol: String,
    /// Linear or inverse settlement.
    pub kind: ContractKind,
    /// Size of one contract: base units (linear) or quote units (inverse).
    pub contract_size: f64,
}

impl Instrument {
    /// A linear perpetual quoted in base units (contract size 1).
    pub fn linear(symbol: impl Into<String>) -> Self {
        Self {
            symbol: symbol.into(),
            kind: ContractKind::Linear,
            contract_size: 1.0,
        }
    }
}
