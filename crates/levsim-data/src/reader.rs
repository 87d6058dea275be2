//! Opening plain or gzip-compressed files.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::DataError;

/// Opens `path`, transparently decompressing gzip (detected by magic bytes,
/// not by the file name).
pub(crate) fn open(path: &Path) -> Result<Box<dyn Read>, DataError> {
    let io = |source| DataError::Io {
        file: path.display().to_string(),
        source,
    };
    let mut f = File::open(path).map_err(io)?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(io)?;
    f.seek(SeekFrom::Start(0)).map_err(io)?;
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(BufReader::new(f)),
        )))
    } else {
        Ok(Box::new(BufReader::with_capacity(1 << 16, f)))
    }
}

/// Reads the first line of a (possibly compressed) file.
pub(crate) fn first_line(path: &Path) -> Result<String, DataError> {
    let mut r = open(path)?;
    let mut buf = Vec::with_capacity(512);
    let mut byte = [0u8; 1];
    while buf.len() < 4096 {
        match r.read(&mut byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => buf.push(byte[0]),
            Err(source) => {
                return Err(DataError::Io {
                    file: path.display().to_string(),
                    source,
                })
            }
        }
    }
    Ok(String::from_utf8_lossy(&buf).trim().to_string())
}

/// The records of a CSV file with a header row, each with its line number.
/// A record whose field count `fields_ok` refuses is an error naming its line
/// and what was `expected` ("8 fields (Tardis trades)").
pub(crate) struct CsvRows {
    file: String,
    rdr: csv::Reader<Box<dyn Read>>,
    rec: csv::StringRecord,
    fields_ok: fn(usize) -> bool,
    expected: &'static str,
}

impl CsvRows {
    /// Opens `path` (plain or gzip).
    pub(crate) fn open(
        path: &Path,
        fields_ok: fn(usize) -> bool,
        expected: &'static str,
    ) -> Result<Self, DataError> {
        Ok(Self {
            file: path.display().to_string(),
            rdr: csv::ReaderBuilder::new()
                .has_headers(true)
                .flexible(true)
                .from_reader(open(path)?),
            rec: csv::StringRecord::new(),
            fields_ok,
            expected,
        })
    }

    /// The next record and its line, `None` at the end.
    pub(crate) fn next_row(&mut self) -> Result<Option<(u64, &csv::StringRecord)>, DataError> {
        let more = self
            .rdr
            .read_record(&mut self.rec)
            .map_err(|e| crate::klines::csv_error(&self.file, &e))?;
        if !more {
            return Ok(None);
        }
        let line = self.rec.position().map_or(0, |p| p.line());
        if !(self.fields_ok)(self.rec.len()) {
            return Err(DataError::Row {
                file: self.file.clone(),
                line,
                message: format!("expected {}, found {}", self.expected, self.rec.len()),
            });
        }
        Ok(Some((line, &self.rec)))
    }
}
