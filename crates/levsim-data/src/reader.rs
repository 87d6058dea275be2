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

/// Whether `path` starts with the gzip magic bytes.
fn is_gzip(path: &Path) -> bool {
    let mut magic = [0u8; 2];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| magic == [0x1f, 0x8b])
}

/// Reads a gzip file to its end, checking every member's CRC; the decoder's
/// complaint when the stream is damaged or cut short.
fn gzip_damage(path: &Path) -> Option<String> {
    let f = File::open(path).ok()?;
    let mut dec = MultiGzDecoder::new(BufReader::new(f));
    match std::io::copy(&mut dec, &mut std::io::sink()) {
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    }
}

/// A loader's error for `path`, or the real cause when the file is a
/// damaged gzip: corruption shows in the rows (a short row, a broken
/// number, a stray byte) before the decoder's checksum can tell, so every
/// error of a gzip file is checked against the whole stream first.
pub(crate) fn explain(path: &Path, err: DataError) -> DataError {
    if !is_gzip(path) {
        return err;
    }
    match gzip_damage(path) {
        Some(why) => DataError::Format {
            file: path.display().to_string(),
            message: format!(
                "damaged gzip data ({why}): the file is corrupt or truncated; fetch or copy it again"
            ),
        },
        None => err,
    }
}

/// Refuses a file that is empty (after decompression) or binary, with a
/// message that says so rather than quoting its bytes.
pub(crate) fn check_text(path: &Path) -> Result<(), DataError> {
    let file = path.display().to_string();
    let mut head = Vec::with_capacity(4096);
    open(path)?.take(4096).read_to_end(&mut head).map_err(|e| {
        explain(
            path,
            DataError::Io {
                file: file.clone(),
                source: e,
            },
        )
    })?;
    if head.iter().all(u8::is_ascii_whitespace) {
        return Err(DataError::Format {
            file,
            message: if head.is_empty() {
                "the file is empty".into()
            } else {
                "the file holds only blank lines".into()
            },
        });
    }
    // Text CSV has no NUL and almost no control bytes; valid UTF-8 is
    // allowed (names, quoted fields).
    let control = head
        .iter()
        .filter(|&&b| b == 0 || (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t')))
        .count();
    let utf8_ok = match std::str::from_utf8(&head) {
        Ok(_) => true,
        // A multi-byte character cut by the 4 KiB window is still text.
        Err(e) => e.error_len().is_none(),
    };
    if control > 0 || !utf8_ok {
        return Err(DataError::Format {
            file,
            message: "binary data, not a text CSV (nor gzip of one); give a kline, funding, \
                      trade or book file, or a .parquet file by its name"
                .into(),
        });
    }
    Ok(())
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
