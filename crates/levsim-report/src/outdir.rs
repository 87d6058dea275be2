//! Output directories: never overwrite what a user wrote.

use std::path::Path;

use crate::error::io;
use crate::ReportError;

/// Name of the marker file that says a directory is a levsim report.
pub const MARKER_FILE: &str = ".levsim-report";

/// Makes `dir` ready for a report: creates it if missing; accepts it if it
/// is empty or carries the levsim marker (a previous report, which is then
/// replaced); refuses any other existing directory or file.
pub fn prepare_out_dir(dir: &Path) -> Result<(), ReportError> {
    if dir.exists() {
        if !dir.is_dir() {
            return Err(ReportError::ForeignDirectory(dir.to_path_buf()));
        }
        let empty = std::fs::read_dir(dir).map_err(io(dir))?.next().is_none();
        if !empty && !dir.join(MARKER_FILE).exists() {
            return Err(ReportError::ForeignDirectory(dir.to_path_buf()));
        }
    }
    std::fs::create_dir_all(dir.join("charts")).map_err(io(dir))?;
    let marker = dir.join(MARKER_FILE);
    std::fs::write(
        &marker,
        "This directory is a levsim report; levsim may replace its contents.\n",
    )
    .map_err(io(&marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_foreign_directories_and_reuses_its_own() {
        let tmp = tempfile::tempdir().unwrap();
        let own = tmp.path().join("r");
        prepare_out_dir(&own).unwrap();
        prepare_out_dir(&own).unwrap();
        let foreign = tmp.path().join("mine");
        std::fs::create_dir(&foreign).unwrap();
        std::fs::write(foreign.join("notes.txt"), "precious").unwrap();
        let e = prepare_out_dir(&foreign).unwrap_err();
        assert!(matches!(e, ReportError::ForeignDirectory(_)));
        assert_eq!(
            std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
            "precious"
        );
        let file = tmp.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert!(prepare_out_dir(&file).is_err());
    }
}
