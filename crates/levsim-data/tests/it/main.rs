//! Loader tests on every real file in `data/` and on broken copies of them.

#![allow(clippy::unwrap_used)]

mod books;
mod broken;
mod chain;
mod fuzz;
mod real;

use std::path::PathBuf;

/// The repository's `data/` directory.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

/// The path of a file in `data/`.
pub fn data(name: &str) -> PathBuf {
    data_dir().join(name)
}

/// The decompressed lines of a real data file.
pub fn lines_of(name: &str) -> Vec<String> {
    use std::io::Read;
    let f = std::fs::File::open(data_dir().join(name)).unwrap();
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(f)
        .read_to_string(&mut s)
        .unwrap();
    s.lines().map(str::to_string).collect()
}
