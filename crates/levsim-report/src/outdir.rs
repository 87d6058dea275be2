//! Output directories: never overwrite what a user wrote.
//!
//! A directory is levsim's when it carries the marker file; the marker
//! lists every file levsim wrote there (one relative path a line). levsim
//! replaces only those: a file of a name levsim would write (a page, a
//! table, a chart) that the marker does not list is the user's, and the
//! directory is refused. Paths are resolved before any check, so
//! `--out nothere/..` is the working directory it names.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::error::io;
use crate::ReportError;

/// Name of the marker file that says a directory is a levsim report.
pub const MARKER_FILE: &str = ".levsim-report";

const MARKER_HEADER: &str =
    "# This directory is a levsim report; levsim may replace the files listed below.\n";

/// `dir` made absolute and free of `.` and `..`: the longest existing
/// prefix is canonicalized (following links as the OS would), the rest,
/// which does not exist yet and so holds no links, is normalized lexically.
pub fn resolve_dir(dir: &Path) -> Result<PathBuf, ReportError> {
    let cwd = std::env::current_dir().map_err(io(Path::new(".")))?;
    let abs = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        cwd.join(dir)
    };
    let comps: Vec<Component<'_>> = abs.components().collect();
    // The longest prefix that exists.
    let mut split = comps.len();
    let mut base = None;
    while split > 0 {
        let prefix: PathBuf = comps[..split].iter().collect();
        if let Ok(c) = prefix.canonicalize() {
            base = Some(c);
            break;
        }
        split -= 1;
    }
    let mut out = base.unwrap_or_else(|| PathBuf::from("/"));
    for c in &comps[split..] {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(s) => out.push(s),
            Component::RootDir | Component::Prefix(_) => out.push(c.as_os_str()),
        }
    }
    Ok(out)
}

/// Whether a name is of a kind levsim writes into a report directory:
/// claiming one that levsim did not write would overwrite a user's file.
fn is_output_kind(rel: &Path) -> bool {
    let ext = rel.extension().and_then(|e| e.to_str()).unwrap_or("");
    matches!(ext, "html" | "md" | "json" | "parquet" | "svg" | "png")
}

/// The files the marker in `dir` lists; `None` for a marker of an older
/// levsim that listed none.
fn listed(dir: &Path) -> Result<Option<BTreeSet<PathBuf>>, ReportError> {
    let marker = dir.join(MARKER_FILE);
    let text = std::fs::read_to_string(&marker).map_err(io(&marker))?;
    let files: BTreeSet<PathBuf> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("This directory"))
        .map(PathBuf::from)
        .collect();
    Ok(text.starts_with('#').then_some(files))
}

/// The files in `dir` and `dir/charts`, relative to `dir`.
fn entries(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let mut out = Vec::new();
    for sub in [Path::new(""), Path::new("charts")] {
        let d = dir.join(sub);
        if !d.is_dir() {
            continue;
        }
        for e in std::fs::read_dir(&d).map_err(io(&d))? {
            let e = e.map_err(io(&d))?;
            let rel = sub.join(e.file_name());
            if rel == Path::new("charts") || rel == Path::new(MARKER_FILE) {
                continue;
            }
            out.push(rel);
        }
    }
    out.sort();
    Ok(out)
}

/// Checks, without writing anything, that levsim may write a report into
/// `dir`; returns the resolved directory. Accepted: a directory that does
/// not exist, an empty one, or one marked as levsim's in which every file
/// of a kind levsim writes is one levsim wrote.
pub fn check_out_dir(dir: &Path) -> Result<PathBuf, ReportError> {
    let resolved = resolve_dir(dir)?;
    if !resolved.exists() {
        return Ok(resolved);
    }
    if !resolved.is_dir() {
        return Err(ReportError::ForeignDirectory(resolved));
    }
    let found = entries(&resolved)?;
    if !resolved.join(MARKER_FILE).exists() {
        if found.is_empty() {
            return Ok(resolved);
        }
        return Err(ReportError::ForeignDirectory(resolved));
    }
    match listed(&resolved)? {
        Some(own) => {
            if let Some(f) = found
                .iter()
                .find(|f| is_output_kind(f) && !own.contains(*f))
            {
                return Err(ReportError::ForeignFile(resolved.join(f)));
            }
        }
        // An older levsim's marker lists nothing: every file must be of a
        // kind levsim writes.
        None => {
            if let Some(f) = found.iter().find(|f| !is_output_kind(f)) {
                return Err(ReportError::ForeignFile(resolved.join(f)));
            }
        }
    }
    Ok(resolved)
}

/// A report directory made ready by [`prepare_out_dir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutDir {
    /// The resolved directory.
    pub path: PathBuf,
    /// Whether this call created it (a caller that fails to write a report
    /// removes only a directory it created).
    pub created: bool,
}

/// Makes `dir` ready for a report (see [`check_out_dir`]): creates it and
/// its `charts/` and marks it as levsim's.
pub fn prepare_out_dir(dir: &Path) -> Result<OutDir, ReportError> {
    let path = check_out_dir(dir)?;
    let created = !path.exists();
    std::fs::create_dir_all(path.join("charts")).map_err(io(&path))?;
    let marker = path.join(MARKER_FILE);
    if !marker.exists() {
        std::fs::write(&marker, MARKER_HEADER).map_err(io(&marker))?;
    }
    Ok(OutDir { path, created })
}

/// Adds `files` (inside `dir`) to the marker's list of files levsim wrote.
pub fn record_files(dir: &Path, files: &[PathBuf]) -> Result<(), ReportError> {
    let mut own = if dir.join(MARKER_FILE).exists() {
        listed(dir)?.unwrap_or_default()
    } else {
        BTreeSet::new()
    };
    for f in files {
        let rel = f.strip_prefix(dir).unwrap_or(f);
        own.insert(rel.to_path_buf());
    }
    let mut text = MARKER_HEADER.to_string();
    for f in &own {
        text.push_str(&f.to_string_lossy());
        text.push('\n');
    }
    let marker = dir.join(MARKER_FILE);
    std::fs::write(&marker, text).map_err(io(&marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_foreign_directories_and_reuses_its_own() {
        let tmp = tempfile::tempdir().unwrap();
        let own = tmp.path().join("r");
        let d = prepare_out_dir(&own).unwrap();
        assert!(d.created);
        let d = d.path;
        record_files(&d, &[d.join("index.html")]).unwrap();
        std::fs::write(d.join("index.html"), "old report").unwrap();
        assert!(!prepare_out_dir(&own).unwrap().created);
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

    /// Regression (issue 13, data loss): `--out nothere/..` did not exist
    /// as written, so it was created, and the report landed in the
    /// working directory over the user's `summary.md`.
    #[test]
    fn out_nothere_dotdot_is_the_directory_it_names() {
        let tmp = tempfile::tempdir().unwrap();
        let user = tmp.path().join("work");
        std::fs::create_dir(&user).unwrap();
        std::fs::write(user.join("summary.md"), "my notes").unwrap();
        let sneaky = user.join("nothere").join("..");
        assert_eq!(resolve_dir(&sneaky).unwrap(), user.canonicalize().unwrap());
        let e = prepare_out_dir(&sneaky).unwrap_err();
        assert!(matches!(e, ReportError::ForeignDirectory(_)), "{e}");
        assert!(!user.join("nothere").exists());
        assert!(!user.join(MARKER_FILE).exists());
        assert_eq!(
            std::fs::read_to_string(user.join("summary.md")).unwrap(),
            "my notes"
        );
    }

    /// Regression (issue 13, data loss): a marker alone (left by the bug
    /// above) does not make a user's files levsim's.
    #[test]
    fn a_marker_does_not_claim_files_levsim_did_not_write() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        // An older levsim's marker, beside a user's files.
        std::fs::write(
            d.join(MARKER_FILE),
            "This directory is a levsim report; levsim may replace its contents.\n",
        )
        .unwrap();
        std::fs::write(d.join("Cargo.toml"), "[package]").unwrap();
        assert!(matches!(
            check_out_dir(d).unwrap_err(),
            ReportError::ForeignFile(_)
        ));
        // A listing marker, with a user's summary.md it does not list.
        std::fs::remove_file(d.join("Cargo.toml")).unwrap();
        std::fs::write(d.join(MARKER_FILE), MARKER_HEADER).unwrap();
        record_files(d, &[d.join("index.html")]).unwrap();
        std::fs::write(d.join("summary.md"), "mine").unwrap();
        match check_out_dir(d).unwrap_err() {
            ReportError::ForeignFile(p) => assert!(p.ends_with("summary.md")),
            other => panic!("{other}"),
        }
        // Once listed (levsim wrote it), it may be replaced; a user's
        // notes.txt is left alone and does not block.
        record_files(d, &[d.join("summary.md")]).unwrap();
        std::fs::write(d.join("notes.txt"), "mine").unwrap();
        check_out_dir(d).unwrap();
    }

    #[test]
    fn check_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("a").join("b");
        check_out_dir(&d).unwrap();
        assert!(!tmp.path().join("a").exists());
    }
}
