//! `rivulet datagen` and the REPL's `datagen` command: arguments, and running the library's
//! generator ([`rivulet::datagen`]) in the foreground with a progress line, or in the
//! background on the REPL's own engine.
//!
//! The embedded log is locked by the process that opened it, so while a REPL has a data
//! directory open, `rivulet datagen` on that directory fails; the REPL's `datagen` command
//! runs the same generator inside the REPL instead.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use clap::{Args, Parser};
use rivulet::datagen::{Dataset, Format, Generator, Quickstart, WriteOptions};
use rivulet::topic::SharedBackend;
use rivulet::{Error, Result};

/// Arguments of `rivulet datagen`.
#[derive(Args, Debug, Clone)]
pub struct DatagenArgs {
    /// The data set: pageviews, users, orders, clickstream, sensors or accounts.
    #[arg(long, required_unless_present = "nexmark", conflicts_with = "nexmark")]
    quickstart: Option<String>,
    /// Nexmark's Person, Auction and Bid streams, to topics person, auction and bid.
    #[arg(long)]
    nexmark: bool,
    /// The topic to write (default: the data set's name).
    #[arg(long)]
    topic: Option<String>,
    /// Records per second, as `N` or `N/s`; without it, as fast as possible.
    #[arg(long, value_parser = parse_rate)]
    rate: Option<f64>,
    /// How many records to write; without it, until Ctrl-C.
    #[arg(long)]
    iterations: Option<u64>,
    /// Value format: json or delimited.
    #[arg(long, default_value = "json")]
    format: String,
    /// Seed of the generator: the same seed gives the same records.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Partitions of topics that do not exist yet.
    #[arg(long, default_value_t = 1)]
    partitions: i32,
    /// Event time of the first record, in ms since the epoch (default: now).
    #[arg(long)]
    start_ms: Option<i64>,
}

/// The REPL's `datagen ...` line, parsed with the subcommand's arguments.
#[derive(Parser, Debug)]
#[command(name = "datagen", no_binary_name = true, disable_help_flag = false)]
struct DatagenLine {
    #[command(flatten)]
    args: DatagenArgs,
}

fn parse_rate(text: &str) -> std::result::Result<f64, String> {
    let number = text.trim().trim_end_matches("/s").trim();
    match number.parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate.is_finite() => Ok(rate),
        _ => Err(format!("'{text}' is not a rate: write N or N/s with N > 0")),
    }
}

/// What the arguments ask for, checked.
struct Plan {
    dataset: Dataset,
    topic: Option<String>,
    options: WriteOptions,
    seed: u64,
    start_ms: i64,
    spacing_ms: i64,
}

impl DatagenArgs {
    fn plan(&self) -> Result<Plan> {
        let dataset = match (&self.quickstart, self.nexmark) {
            (_, true) => Dataset::Nexmark,
            (Some(name), false) => Dataset::Quickstart(Quickstart::parse(name).ok_or_else(|| {
                let names: Vec<&str> = Quickstart::ALL.iter().map(|(n, _)| *n).collect();
                Error::user(format!("unknown quickstart '{name}'")).with_hint(format!("one of {}", names.join(", ")))
            })?),
            (None, false) => return Err(Error::user("datagen needs --quickstart NAME or --nexmark")),
        };
        let start_ms = self.start_ms.unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
        // Live data carries about the wall-clock time; unpaced data is 10 ms apart.
        let spacing_ms = self.rate.map_or(10, |rate| ((1000.0 / rate).round() as i64).max(1));
        Ok(Plan {
            dataset,
            topic: self.topic.clone(),
            options: WriteOptions {
                rate: self.rate,
                iterations: self.iterations,
                format: Format::parse(&self.format)?,
                partitions: self.partitions,
            },
            seed: self.seed,
            start_ms,
            spacing_ms,
        })
    }
}

impl Plan {
    fn generator(&self) -> Generator {
        Generator::new(self.dataset, self.seed, self.start_ms, self.spacing_ms)
    }

    /// Quickstart records go to --topic (default the data set's name); Nexmark's to their
    /// stream names.
    fn topic_of(&self) -> impl Fn(&str) -> String + Send + 'static {
        let topic = self.topic.clone();
        let nexmark = self.dataset == Dataset::Nexmark;
        move |stream: &str| match &topic {
            Some(t) if !nexmark => t.clone(),
            _ => stream.to_string(),
        }
    }

    fn describe(&self) -> String {
        let what = match self.dataset {
            Dataset::Nexmark => "Nexmark person/auction/bid records to topics person, auction and bid".to_string(),
            Dataset::Quickstart(q) => {
                format!("{} records to topic '{}'", q.name(), self.topic.as_deref().unwrap_or(q.name()))
            }
        };
        let pace = self.options.rate.map_or("as fast as possible".to_string(), |r| format!("at {r}/s"));
        format!("Writing {what} {pace}")
    }
}

/// `rivulet datagen`: writes in the foreground with a progress line on stderr, until the
/// iterations are written or Ctrl-C.
pub fn run(args: &DatagenArgs, data_dir: &Path) -> Result<()> {
    let plan = args.plan()?;
    let backend: SharedBackend = Arc::new(rivulet::topic::embedded::EmbeddedLog::open(data_dir)?);
    let stop = Arc::new(AtomicBool::new(false));
    let signal = signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone())
        .map_err(|e| Error::external(format!("cannot handle Ctrl-C: {e}")))?;
    eprintln!("{} (Ctrl-C stops)", plan.describe());
    let mut generator = plan.generator();
    let topic_of = plan.topic_of();
    let mut stderr = std::io::stderr();
    let outcome = rivulet::datagen::write(&backend, &mut generator, &topic_of, &plan.options, &stop, &mut |p| {
        // `\r` and clear-to-end-of-line update the line in place.
        let _ = write!(stderr, "\r{} records written, {:.0} records/s\x1b[K", p.written, p.rate);
        let _ = stderr.flush();
    });
    eprintln!();
    signal_hook::low_level::unregister(signal);
    outcome.map(|_| ())
}

/// A generator writing on a thread of the REPL.
pub struct Background {
    pub description: String,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl Background {
    /// Stops the generator and waits for its thread.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Release);
        if self.handle.join().is_err() {
            tracing::error!("the data generator thread panicked");
        }
    }

    /// True once it wrote its iterations (or failed).
    pub fn finished(&self) -> bool {
        self.handle.is_finished()
    }
}

/// Parses a REPL `datagen ...` line (without the word `datagen`).
pub fn parse_line(words: &[String]) -> std::result::Result<DatagenArgs, String> {
    DatagenLine::try_parse_from(words).map(|line| line.args).map_err(|e| e.to_string())
}

/// Starts a generator writing to `backend` on its own thread.
pub fn spawn(args: &DatagenArgs, backend: SharedBackend) -> Result<Background> {
    let plan = args.plan()?;
    let description = plan.describe();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::Builder::new()
        .name("datagen".into())
        .spawn(move || {
            let mut generator = plan.generator();
            let topic_of = plan.topic_of();
            if let Err(e) =
                rivulet::datagen::write(&backend, &mut generator, &topic_of, &plan.options, &flag, &mut |_| {})
            {
                tracing::error!(error = %e, "the data generator stopped");
            }
        })
        .map_err(|e| Error::external(format!("cannot start the data generator: {e}")))?;
    Ok(Background { description, stop, handle })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repl_lines_parse_like_the_subcommand() {
        let words: Vec<String> =
            "--quickstart pageviews --topic pv --rate 5/s --iterations 10".split(' ').map(String::from).collect();
        let args = parse_line(&words).unwrap();
        let plan = args.plan().unwrap();
        assert_eq!(plan.dataset, Dataset::Quickstart(Quickstart::Pageviews));
        assert_eq!(plan.spacing_ms, 200);
        assert_eq!((plan.topic_of())("pageviews"), "pv");
        assert!(parse_line(&["--quickstart".into(), "nope".into()]).unwrap().plan().is_err());
        assert!(parse_line(&["--rate".into(), "fast".into()]).is_err());
    }
}
