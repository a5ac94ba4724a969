//! The data generator behind `rivulet datagen`: realistic, keyed, timestamped records for
//! the example programs and the benchmarks, reproducible from a seed.
//!
//! This module owns the generators ([`quickstart`] data sets and the [`nexmark`] streams),
//! their encoding (JSON or DELIMITED values, string keys) and [`write`], which paces records
//! into topics of a topic backend. Event times are `start + n × spacing`: with a rate of N/s
//! the spacing is 1000/N ms, so records written live carry (about) the wall-clock time and
//! windows fill as a person watching would expect. The same seed, start and spacing give the
//! same records, byte for byte.

pub mod nexmark;
pub mod quickstart;
pub mod rng;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::topic::{ProducerRecord, SharedBackend, TopicConfig};

pub use quickstart::Quickstart;
use rng::Rng;

/// One generated record before encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The data set or Nexmark stream it belongs to (`pageviews`, `bid`, ...).
    pub stream: &'static str,
    /// The record key (a string key: KAFKA format).
    pub key: String,
    /// Event time, milliseconds since the epoch.
    pub timestamp: i64,
    /// Value fields in order.
    pub fields: Vec<(&'static str, Value)>,
}

/// How values are serialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    /// Comma-separated values in field order (no generated value contains a comma).
    Delimited,
}

impl Format {
    /// The format called `name` (`json` or `delimited`).
    pub fn parse(name: &str) -> Result<Format> {
        match name.to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "delimited" => Ok(Format::Delimited),
            other => Err(Error::user(format!("unknown format '{other}'")).with_hint("use json or delimited")),
        }
    }
}

impl Event {
    /// The record to produce: string key, encoded value, the event time as timestamp.
    pub fn encode(&self, format: Format) -> ProducerRecord {
        let value = match format {
            Format::Json => {
                let object: serde_json::Map<String, Value> =
                    self.fields.iter().map(|(name, v)| (name.to_string(), v.clone())).collect();
                Value::Object(object).to_string()
            }
            Format::Delimited => self
                .fields
                .iter()
                .map(|(_, v)| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
        };
        ProducerRecord {
            partition: None,
            timestamp: self.timestamp,
            key: Some(self.key.clone().into_bytes().into()),
            value: Some(value.into_bytes().into()),
            headers: Vec::new(),
        }
    }

    /// A field's value.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    Quickstart(Quickstart),
    /// Person, Auction and Bid events, to topics `person`, `auction` and `bid`.
    Nexmark,
}

#[derive(Debug, Clone)]
enum State {
    Quickstart(quickstart::QuickstartState),
    Nexmark(nexmark::NexmarkState),
}

/// An endless, deterministic sequence of events.
#[derive(Debug, Clone)]
pub struct Generator {
    rng: Rng,
    state: State,
    start_ms: i64,
    spacing_ms: i64,
    count: u64,
}

impl Generator {
    /// Events of `dataset` from `seed`, the first at `start_ms`, then every `spacing_ms`.
    pub fn new(dataset: Dataset, seed: u64, start_ms: i64, spacing_ms: i64) -> Generator {
        let mut rng = Rng::new(seed);
        let state = match dataset {
            Dataset::Quickstart(kind) => State::Quickstart(quickstart::QuickstartState::new(kind, &mut rng)),
            Dataset::Nexmark => State::Nexmark(nexmark::NexmarkState::default()),
        };
        Generator { rng, state, start_ms, spacing_ms: spacing_ms.max(1), count: 0 }
    }

    /// How many events were generated so far.
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl Iterator for Generator {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        let ts = self.start_ms.saturating_add((self.count as i64).saturating_mul(self.spacing_ms));
        self.count += 1;
        Some(match &mut self.state {
            State::Quickstart(state) => state.next(&mut self.rng, ts),
            State::Nexmark(state) => state.next(&mut self.rng, ts),
        })
    }
}

/// How [`write`] runs.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Records per second; `None` writes as fast as possible.
    pub rate: Option<f64>,
    /// Stop after this many records; `None` runs until stopped.
    pub iterations: Option<u64>,
    pub format: Format,
    /// Partitions of topics that do not exist yet.
    pub partitions: i32,
}

/// Progress of [`write`], reported about four times a second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub written: u64,
    /// Records per second since the start.
    pub rate: f64,
    pub elapsed: Duration,
}

/// Records buffered before a produce when writing as fast as possible.
const BATCH: usize = 1000;

/// Writes `generator`'s events to topics (`topic_of(stream)` names each event's topic),
/// creating missing topics, pacing to `options.rate`, until `options.iterations` records
/// are written or `stop` is set. Returns how many were written.
pub fn write(
    backend: &SharedBackend,
    generator: &mut Generator,
    topic_of: &dyn Fn(&str) -> String,
    options: &WriteOptions,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<u64> {
    let started = Instant::now();
    let mut written: u64 = 0;
    let mut last_report = started;
    let mut created: Vec<String> = Vec::new();
    let mut pending: Vec<(String, ProducerRecord)> = Vec::new();
    let config = TopicConfig { partitions: options.partitions.max(1), ..TopicConfig::default() };
    let report = |written: u64, progress: &mut dyn FnMut(Progress)| {
        let elapsed = started.elapsed();
        let rate = if elapsed.as_secs_f64() > 0.0 { written as f64 / elapsed.as_secs_f64() } else { 0.0 };
        progress(Progress { written, rate, elapsed });
    };
    loop {
        let done = options.iterations.is_some_and(|n| written + pending.len() as u64 >= n);
        if done || stop.load(Ordering::Acquire) {
            break;
        }
        let Some(event) = generator.next() else { break };
        let topic = topic_of(event.stream);
        if !created.contains(&topic) {
            if backend.describe_topic(&topic)?.is_none() {
                backend.create_topic(&topic, &config)?;
            }
            created.push(topic.clone());
        }
        pending.push((topic, event.encode(options.format)));
        let due = match options.rate {
            // Wait until this record is due, then write it (and whatever is pending).
            Some(rate) if rate > 0.0 => {
                let at = started + Duration::from_secs_f64((written + pending.len() as u64) as f64 / rate);
                let now = Instant::now();
                if at > now {
                    sleep_unless_stopped(at - now, stop);
                }
                true
            }
            _ => pending.len() >= BATCH,
        };
        if due {
            written += produce(backend, &mut pending)?;
        }
        if last_report.elapsed() >= Duration::from_millis(250) {
            last_report = Instant::now();
            report(written, progress);
        }
    }
    written += produce(backend, &mut pending)?;
    report(written, progress);
    Ok(written)
}

/// Produces the pending records, grouped by topic in their order, and makes them durable.
fn produce(backend: &SharedBackend, pending: &mut Vec<(String, ProducerRecord)>) -> Result<u64> {
    let count = pending.len() as u64;
    if count == 0 {
        return Ok(0);
    }
    let mut run: Vec<ProducerRecord> = Vec::new();
    let mut run_topic: Option<String> = None;
    for (topic, record) in pending.drain(..) {
        if run_topic.as_deref() != Some(topic.as_str()) {
            if let Some(t) = run_topic.take() {
                backend.produce(&t, std::mem::take(&mut run))?;
            }
            run_topic = Some(topic);
        }
        run.push(record);
    }
    if let Some(t) = run_topic {
        backend.produce(&t, run)?;
    }
    backend.flush()?;
    Ok(count)
}

/// Sleeps in short steps so that a stop request is honoured quickly.
fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let until = Instant::now() + total;
    while !stop.load(Ordering::Acquire) {
        let now = Instant::now();
        if now >= until {
            return;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(50)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(dataset: Dataset, seed: u64, n: usize) -> Vec<Event> {
        Generator::new(dataset, seed, 1_700_000_000_000, 1000).take(n).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_records() {
        for (_, kind) in Quickstart::ALL {
            let a = take(Dataset::Quickstart(kind), 7, 200);
            assert_eq!(a, take(Dataset::Quickstart(kind), 7, 200), "{kind:?}");
            assert_ne!(a, take(Dataset::Quickstart(kind), 8, 200), "{kind:?} ignores its seed");
            let encoded: Vec<_> = a.iter().map(|e| e.encode(Format::Json)).collect();
            let again: Vec<_> =
                take(Dataset::Quickstart(kind), 7, 200).iter().map(|e| e.encode(Format::Json)).collect();
            assert_eq!(encoded, again);
        }
        assert_eq!(take(Dataset::Nexmark, 3, 500), take(Dataset::Nexmark, 3, 500));
    }

    #[test]
    fn records_are_keyed_and_timestamped() {
        let events = take(Dataset::Quickstart(Quickstart::Pageviews), 1, 10);
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.timestamp, 1_700_000_000_000 + 1000 * i as i64);
            assert_eq!(e.field("viewtime"), Some(&Value::from(e.timestamp)));
            assert_eq!(Some(&Value::from(e.key.clone())), e.field("pageid"));
        }
        let record = events[0].encode(Format::Delimited);
        let value = String::from_utf8(record.value.unwrap().to_vec()).unwrap();
        assert_eq!(value.split(',').count(), 4, "{value}");
        assert_eq!(record.key, Some(events[0].key.clone().into_bytes().into()));
    }

    #[test]
    fn a_users_region_never_changes() {
        let mut regions = std::collections::HashMap::new();
        for e in take(Dataset::Quickstart(Quickstart::Pageviews), 5, 500) {
            let user = e.field("userid").unwrap().clone();
            let region = e.field("regionid").unwrap().clone();
            assert_eq!(regions.entry(user).or_insert_with(|| region.clone()), &region);
        }
    }

    #[test]
    fn accounts_never_go_negative() {
        let mut balances = std::collections::HashMap::<String, f64>::new();
        for e in take(Dataset::Quickstart(Quickstart::Accounts), 11, 2000) {
            let amount = e.field("amount").unwrap().as_f64().unwrap();
            let balance = balances.entry(e.key.clone()).or_default();
            match e.field("event_type").unwrap().as_str().unwrap() {
                "DEPOSIT" => *balance += amount,
                _ => *balance -= amount,
            }
            assert!(*balance > -1e-6, "{} went to {balance}", e.key);
        }
    }

    #[test]
    fn nexmark_mixes_people_auctions_and_bids_like_the_benchmark() {
        let events = take(Dataset::Nexmark, 9, 5000);
        let count = |s: &str| events.iter().filter(|e| e.stream == s).count();
        assert_eq!((count("person"), count("auction"), count("bid")), (100, 300, 4600));
        // Every bid names an auction and a bidder that already exist.
        let auctions: std::collections::HashSet<u64> =
            events.iter().filter(|e| e.stream == "auction").map(|e| e.field("id").unwrap().as_u64().unwrap()).collect();
        for bid in events.iter().filter(|e| e.stream == "bid") {
            assert!(auctions.contains(&bid.field("auction").unwrap().as_u64().unwrap()));
        }
    }

    #[test]
    fn write_creates_the_topic_and_writes_the_iterations() {
        let backend: SharedBackend = std::sync::Arc::new(crate::topic::embedded::EmbeddedLog::in_memory());
        let mut generator = Generator::new(Dataset::Nexmark, 1, 0, 10);
        let options = WriteOptions { rate: None, iterations: Some(120), format: Format::Json, partitions: 2 };
        let mut reports = Vec::new();
        let n = write(&backend, &mut generator, &|s| s.to_string(), &options, &AtomicBool::new(false), &mut |p| {
            reports.push(p.written)
        })
        .unwrap();
        assert_eq!(n, 120);
        assert_eq!(reports.last(), Some(&120));
        let total: i64 = ["person", "auction", "bid"]
            .iter()
            .map(|t| (0..2).map(|p| backend.end_offset(t, p).unwrap()).sum::<i64>())
            .sum();
        assert_eq!(total, 120);
    }
}
