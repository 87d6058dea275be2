//! Stand-ins for the Parquet readers and writers in a build without the
//! `parquet` feature (no polars): every call is a clear error, never a
//! silent empty result.

use std::path::Path;

use levsim_core::MarketTape;

use crate::DataError;

fn unsupported(path: &Path) -> DataError {
    DataError::Parquet {
        file: path.display().to_string(),
        message:
            "this build of levsim-data has no Parquet support (build with the `parquet` feature)"
                .into(),
    }
}

/// Without the `parquet` feature: an error naming the file.
pub fn write_parquet_tape(path: &Path, _tape: &MarketTape) -> Result<(), DataError> {
    Err(unsupported(path))
}

/// Without the `parquet` feature: an error naming the file.
pub fn read_parquet_tape(path: &Path) -> Result<MarketTape, DataError> {
    Err(unsupported(path))
}

/// Without the `parquet` feature: an error naming the file.
pub(crate) fn read_trades(path: &Path) -> Result<levsim_core::TradeTape, DataError> {
    Err(unsupported(path))
}

/// Without the `parquet` feature: an error naming the file.
pub(crate) fn read_string_columns(
    path: &Path,
    _names: &[&str],
) -> Result<Vec<Vec<String>>, DataError> {
    Err(unsupported(path))
}
