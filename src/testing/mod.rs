//! The runner for ksqlDB query-validation-test (QTT) files: `rivulet test PATH...`.
//!
//! [`run_cli`] loads every `.json` file under the given paths ([`case`]), runs each case
//! against a fresh engine ([`executor`]), compares what came out ([`compare`], [`post`]) and
//! prints one line per failing case, then `N passed, M failed, K skipped`. A ratchet file (the
//! committed list of cases known to pass) turns the run into a regression check: listed cases
//! must keep passing, others may fail. The project's own declarative cases in `tests/cases`
//! use the same format and must all pass.

pub mod case;
pub mod compare;
pub mod executor;
pub mod functions;
pub mod post;
pub mod rest;
pub mod window;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

pub use case::TestCase;
pub use executor::Outcome;

/// Options of `rivulet test`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct RunOptions {
    /// Run only the cases whose display name contains this text.
    #[arg(long, value_name = "SUBSTRING")]
    pub filter: Option<String>,
    /// A file listing cases (one display name a line) that must pass; others may fail.
    #[arg(long, value_name = "FILE")]
    pub ratchet: Option<PathBuf>,
    /// Adds the cases that passed to this file (the list only grows; kept sorted).
    #[arg(long, value_name = "FILE")]
    pub update_ratchet: Option<PathBuf>,
    /// Prints pass/fail/skip counts per file.
    #[arg(long)]
    pub summary_by_file: bool,
    /// Prints passing and skipped cases too.
    #[arg(long)]
    pub verbose: bool,
    /// Seconds a case may run before it counts as failed.
    #[arg(long = "timeout", value_name = "SECONDS", default_value_t = 10)]
    pub timeout_secs: u64,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            filter: None,
            ratchet: None,
            update_ratchet: None,
            summary_by_file: false,
            verbose: false,
            timeout_secs: 10,
        }
    }
}

/// Counts of one file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileCounts {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases skipped.
    pub skipped: usize,
}

/// What a run found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed (including files that could not be loaded, one each).
    pub failed: usize,
    /// Cases skipped (disabled, or needing a schema registry).
    pub skipped: usize,
    /// Failing cases: display name and message.
    pub failures: Vec<(String, String)>,
    /// Display names of the cases that passed.
    pub passed_names: Vec<String>,
    /// Counts per file stem.
    pub by_file: BTreeMap<String, FileCounts>,
    /// Set when a ratchet was checked.
    pub ratchet_checked: bool,
    /// Cases listed in the ratchet that failed.
    pub regressions: Vec<String>,
}

impl Summary {
    /// True when the run should exit 0: no regression with a ratchet, no failure without.
    pub fn success(&self) -> bool {
        if self.ratchet_checked { self.regressions.is_empty() } else { self.failed == 0 }
    }

    /// The final line: `N passed, M failed, K skipped`.
    pub fn line(&self) -> String {
        format!("{} passed, {} failed, {} skipped", self.passed, self.failed, self.skipped)
    }
}

/// Runs `rivulet test PATH...`, printing the report to stdout. The returned summary says
/// whether the process should fail ([`Summary::success`]); `Err` is for problems with the
/// arguments (a missing path, an unreadable ratchet file).
pub fn run_cli(paths: &[PathBuf], options: &RunOptions) -> Result<Summary> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    run(paths, options, &mut out)
}

/// [`run_cli`] writing the report to `out`.
pub fn run(paths: &[PathBuf], options: &RunOptions, out: &mut dyn Write) -> Result<Summary> {
    let files = collect_files(paths)?;
    let ratchet = match &options.ratchet {
        Some(path) => Some(read_ratchet(path)?),
        None => None,
    };
    let timeout = Duration::from_secs(options.timeout_secs.max(1));
    let mut summary = Summary { ratchet_checked: ratchet.is_some(), ..Summary::default() };

    for file in &files {
        let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let cases = match case::load_file(file) {
            Ok(cases) => cases,
            Err(err) => {
                // A broken file is one failure, named after the file.
                if options.filter.as_deref().is_none_or(|f| stem.contains(f)) {
                    record(&mut summary, out, options, &stem, &stem, Outcome::Failed(format!("cannot load: {err}")))?;
                }
                continue;
            }
        };
        for case in cases {
            if options.filter.as_deref().is_some_and(|f| !case.display_name.contains(f)) {
                continue;
            }
            let outcome = executor::run_case(&case, timeout);
            record(&mut summary, out, options, &case.file_stem, &case.display_name, outcome)?;
        }
    }

    if options.summary_by_file {
        writeln!(out, "per file:")?;
        for (file, counts) in &summary.by_file {
            let ran = counts.passed + counts.failed;
            let percent = if ran == 0 { 100.0 } else { 100.0 * counts.passed as f64 / ran as f64 };
            writeln!(
                out,
                "  {file}: {} passed, {} failed, {} skipped ({percent:.1}% of run)",
                counts.passed, counts.failed, counts.skipped
            )?;
        }
    }

    if let (Some(listed), Some(path)) = (&ratchet, &options.ratchet) {
        let failed: BTreeSet<&str> = summary.failures.iter().map(|(n, _)| ratchet_key(n)).collect();
        summary.regressions = listed.iter().filter(|n| failed.contains(n.as_str())).cloned().collect();
        if summary.regressions.is_empty() {
            writeln!(out, "ratchet {}: no regressions ({} cases listed)", path.display(), listed.len())?;
        } else {
            writeln!(
                out,
                "ratchet {}: {} regressions (listed as passing, now failing):",
                path.display(),
                summary.regressions.len()
            )?;
            for name in &summary.regressions {
                writeln!(out, "  REGRESSION {name}")?;
            }
        }
        let new = summary.passed_names.iter().filter(|n| !listed.contains(ratchet_key(n))).count();
        if new > 0 && options.update_ratchet.is_none() {
            writeln!(
                out,
                "ratchet: {new} passing cases are not listed; add them with --update-ratchet {}",
                path.display()
            )?;
        }
    }

    if let Some(path) = &options.update_ratchet {
        let added = update_ratchet(path, &summary.passed_names)?;
        writeln!(out, "ratchet {}: {added} cases added", path.display())?;
    }

    writeln!(out, "{}", summary.line())?;
    out.flush()?;
    Ok(summary)
}

fn record(
    summary: &mut Summary,
    out: &mut dyn Write,
    options: &RunOptions,
    file: &str,
    name: &str,
    outcome: Outcome,
) -> Result<()> {
    let counts = summary.by_file.entry(file.to_string()).or_default();
    match outcome {
        Outcome::Passed => {
            counts.passed += 1;
            summary.passed += 1;
            summary.passed_names.push(name.to_string());
            if options.verbose {
                writeln!(out, "PASS {name}")?;
            }
        }
        Outcome::Failed(message) => {
            counts.failed += 1;
            summary.failed += 1;
            // One line per failure, whatever the message contains.
            let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
            writeln!(out, "FAIL {name}: {message}")?;
            summary.failures.push((name.to_string(), message));
        }
        Outcome::Skipped(reason) => {
            counts.skipped += 1;
            summary.skipped += 1;
            if options.verbose {
                writeln!(out, "SKIP {name}: {reason}")?;
            }
        }
    }
    Ok(())
}

/// The `.json` files named by `paths`: files as given, directories searched recursively, each
/// directory's files sorted by name.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files)?;
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(Error::user(format!("no such file or directory: '{}'", path.display())));
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries = std::fs::read_dir(dir)
        .map_err(|e| Error::external(format!("cannot list '{}': {e}", dir.display())))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            walk(&entry, files)?;
        } else if entry.extension().is_some_and(|e| e == "json") {
            files.push(entry);
        }
    }
    Ok(())
}

/// The display names listed in a ratchet file (blank lines and `#` comments ignored).
pub fn read_ratchet(path: &Path) -> Result<BTreeSet<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::user(format!("cannot read the ratchet file '{}': {e}", path.display())))?;
    Ok(ratchet_names(&text))
}

/// A case's name as a ratchet file lists it: a line's trailing whitespace does not survive
/// editors and diffs, so a name that ends in a space (ksqlDB has a few) is listed without it,
/// and compared that way.
fn ratchet_key(name: &str) -> &str {
    name.trim_end()
}

fn ratchet_names(text: &str) -> BTreeSet<String> {
    text.lines().map(ratchet_key).filter(|l| !l.trim().is_empty() && !l.starts_with('#')).map(str::to_string).collect()
}

/// Rewrites a ratchet file with the union of its names and `passed`, sorted; leading `#`
/// comment lines are kept. Returns how many names were added. A missing file is created.
pub fn update_ratchet(path: &Path, passed: &[String]) -> Result<usize> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(Error::external(format!("cannot read the ratchet file '{}': {e}", path.display())));
        }
    };
    let comments: Vec<&str> = existing.lines().filter(|l| l.starts_with('#')).collect();
    let mut names = ratchet_names(&existing);
    let before = names.len();
    names.extend(passed.iter().map(|name| ratchet_key(name).to_string()));
    let added = names.len() - before;
    let mut text = String::new();
    for line in comments.iter().copied().chain(names.iter().map(String::as_str)) {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(path, text)
        .map_err(|e| Error::external(format!("cannot write the ratchet file '{}': {e}", path.display())))?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_is_exact() {
        let summary = Summary { passed: 3, failed: 1, skipped: 2, ..Summary::default() };
        assert_eq!(summary.line(), "3 passed, 1 failed, 2 skipped");
        assert!(!summary.success());
        assert!(Summary { passed: 1, ..Summary::default() }.success());
    }

    #[test]
    fn with_a_ratchet_only_regressions_fail_the_run() {
        let mut summary = Summary { failed: 5, ratchet_checked: true, ..Summary::default() };
        assert!(summary.success());
        summary.regressions.push("x - y".into());
        assert!(!summary.success());
    }

    #[test]
    fn ratchet_files_grow_sorted_and_keep_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passing.txt");
        assert_eq!(update_ratchet(&path, &["b - 2".into(), "a - 1".into()]).unwrap(), 2);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a - 1\nb - 2\n");
        std::fs::write(&path, "# header\nb - 2\n\nc - 3\n").unwrap();
        assert_eq!(update_ratchet(&path, &["a - 1".into(), "b - 2".into()]).unwrap(), 1);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# header\na - 1\nb - 2\nc - 3\n");
        let names = read_ratchet(&path).unwrap();
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["a - 1", "b - 2", "c - 3"]);
        // A name ending in a space is listed without it, and counts as listed from then on.
        assert_eq!(update_ratchet(&path, &["d - 4 ".into()]).unwrap(), 1);
        assert_eq!(update_ratchet(&path, &["d - 4 ".into()]).unwrap(), 0);
        assert!(read_ratchet(&path).unwrap().contains(ratchet_key("d - 4 ")));
    }

    #[test]
    fn a_run_reports_failures_skips_and_per_file_counts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cases.json"),
            r#"{"tests": [
                {"name": "skipped", "enabled": false, "statements": []},
                {"name": "avro", "format": ["AVRO"], "statements": ["X {FORMAT};"]},
                {"name": "broken", "statements": [], "inputs": [{"topic": 5}]}
            ]}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("bad.json"), "{").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let ratchet = dir.path().join("ratchet.txt");
        std::fs::write(&ratchet, "cases - broken\n").unwrap();
        let options =
            RunOptions { ratchet: Some(ratchet), summary_by_file: true, verbose: true, ..RunOptions::default() };
        let mut out = Vec::new();
        let summary = run(&[dir.path().to_path_buf()], &options, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!((summary.passed, summary.failed, summary.skipped), (0, 2, 2));
        assert!(text.contains("FAIL bad: cannot load"), "{text}");
        assert!(text.contains("FAIL cases - broken: "), "{text}");
        assert!(text.contains("SKIP cases - avro - AVRO: needs a schema registry (AVRO)"), "{text}");
        assert!(text.contains("  cases: 0 passed, 1 failed, 2 skipped (0.0% of run)"), "{text}");
        assert!(text.contains("REGRESSION cases - broken"), "{text}");
        assert_eq!(text.lines().last(), Some("0 passed, 2 failed, 2 skipped"));
        assert_eq!(summary.regressions, ["cases - broken"]);
        assert!(!summary.success());
    }

    #[test]
    fn the_filter_selects_by_display_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.json");
        std::fs::write(
            &file,
            r#"{"tests": [{"name": "one", "enabled": false, "statements": []},
                          {"name": "two", "enabled": false, "statements": []}]}"#,
        )
        .unwrap();
        let options = RunOptions { filter: Some("f - two".into()), ..RunOptions::default() };
        let summary = run(&[file], &options, &mut Vec::new()).unwrap();
        assert_eq!(summary.skipped, 1);
    }

    #[test]
    fn a_missing_path_is_an_error() {
        assert!(collect_files(&[PathBuf::from("/definitely/not/here.json")]).is_err());
    }
}
