//! `rivulet bench`: load a JSON-lines file into a topic, run statements until the input is
//! consumed, write the sink's rows, report throughput.
//!
//! The measured time runs from opening the input file to the output being complete, load
//! included, as the peers in `../shared/bench` measure theirs.
#![allow(clippy::print_stdout)]

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use rivulet::engine::{Engine, EngineConfig};
use rivulet::topic::{Bytes, PackedBytes, ProducerBatch};
use rivulet::{Error, Result};

/// Arguments of `rivulet bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// The statements to run (CREATE STREAM over the input topic, then a persistent query).
    #[arg(long)]
    sql: PathBuf,
    /// `TOPIC=PATH.jsonl`: records to load into TOPIC before the queries run, one value a line.
    /// The file is memory-mapped: it must not change while the benchmark runs.
    #[arg(long)]
    input: Vec<String>,
    /// Where to write the last persistent query's output rows as JSON lines.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Keep the data directory instead of a temporary one (implies --storage disk).
    #[arg(long)]
    keep_data: bool,
    /// Where the embedded log keeps the topics: `memory` (the default: the peers in
    /// ../shared/bench read a file and persist nothing either) or `disk` (a temporary data
    /// directory, every step fsynced as in production).
    #[arg(long, default_value = "memory")]
    storage: String,
    /// Records each query step reads (each step ends with a flush and an offset commit).
    #[arg(long, default_value_t = 65_536)]
    step: usize,
}

const LOAD_BATCH: usize = 16 * 1024;

/// Runs the benchmark.
pub fn run(args: &BenchArgs) -> Result<()> {
    let sql = std::fs::read_to_string(&args.sql)
        .map_err(|e| Error::user(format!("cannot read {}: {e}", args.sql.display())))?;
    let dir = std::env::temp_dir().join(format!("rivulet-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut properties = std::collections::BTreeMap::new();
    properties.insert("auto.offset.reset".to_string(), "earliest".to_string());
    let started = Instant::now();
    let on_disk = match args.storage.as_str() {
        _ if args.keep_data => true,
        "disk" => true,
        "memory" => false,
        other => return Err(Error::user(format!("--storage takes memory or disk, not '{other}'"))),
    };
    let data_dir = on_disk.then(|| dir.clone());
    let engine = Engine::open(EngineConfig { data_dir, properties, background: false, ..Default::default() })?;
    // Statements first, so that the input topics exist with the sources' settings.
    let mut sink = None;
    for statement in rivulet::sql::parse(&sql)? {
        if let rivulet::sql::ast::Statement::CreateAsSelect(c) = &statement.statement {
            sink = Some(c.name.clone());
        }
        engine.execute_statement(&statement)?;
    }
    let mut events: u64 = 0;
    let load_started = Instant::now();
    for input in &args.input {
        let (topic, path) =
            input.split_once('=').ok_or_else(|| Error::user(format!("--input takes TOPIC=PATH, got '{input}'")))?;
        let topic = resolve_topic(&engine, topic);
        events += load(&engine, &topic, path)?;
    }
    let load_s = load_started.elapsed().as_secs_f64();
    // Big steps by default: each ends with a flush (an fsync on disk) and an offset commit.
    engine.run_to_completion(args.step.max(1))?;
    engine.close_windows()?;
    let mut rows_out: u64 = 0;
    if let Some(sink) = &sink {
        let source = engine
            .catalog()
            .source(sink)
            .cloned()
            .ok_or_else(|| Error::internal("the sink of the benchmark query vanished"))?;
        let mut out: Box<dyn Write> = match &args.output {
            Some(path) => Box::new(BufWriter::new(std::fs::File::create(path)?)),
            None => Box::new(std::io::sink()),
        };
        rows_out = write_rows(&engine, &source, &mut out)?;
        out.flush()?;
    }
    let wall_s = started.elapsed().as_secs_f64();
    engine.shutdown();
    drop(engine);
    if !args.keep_data {
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "events_per_s={:.0} wall_s={wall_s:.3} rows_out={rows_out} load_s={load_s:.3} peak_rss_mb={:.1}",
        events as f64 / wall_s,
        peak_rss_mb()
    );
    Ok(())
}

/// Writes the rows of `source`'s topic as JSON objects, one a line: key columns, the window
/// bounds of a windowed key, then the value columns. Tombstones are left out.
fn write_rows(engine: &Engine, source: &rivulet::catalog::Source, out: &mut dyn Write) -> Result<u64> {
    use arrow::array::{Array, AsArray};
    let backend = engine.backend();
    let partitions = backend.describe_topic(&source.topic)?.map(|d| d.config.partitions).unwrap_or(1);
    let mut positions = Vec::with_capacity(partitions as usize);
    for partition in 0..partitions {
        positions.push((partition, backend.start_offset(&source.topic, partition)?));
    }
    let log = rivulet::exec::processing_log::ProcessingLog::new(backend.clone(), "bench");
    let mut reader = rivulet::exec::source::SourceReader::new(source.clone(), backend, positions, log)?;
    let schema = reader.schema().clone();
    let mut names: Vec<(usize, String)> = Vec::new();
    let keys = source.columns.iter().enumerate().filter(|(_, c)| c.role == rivulet::catalog::ColumnRole::Key);
    names.extend(keys.map(|(i, c)| (i, c.name.clone())));
    for bound in [rivulet::exec::source::WINDOWSTART, rivulet::exec::source::WINDOWEND] {
        if source.window.is_some()
            && let Ok(i) = schema.index_of(bound)
        {
            names.push((i, bound.to_string()));
        }
    }
    let values = source.columns.iter().enumerate().filter(|(_, c)| c.role == rivulet::catalog::ColumnRole::Value);
    names.extend(values.map(|(i, c)| (i, c.name.clone())));
    let null_value = schema.index_of(rivulet::exec::source::NULL_VALUE_COLUMN)?;
    let mut rows = 0u64;
    if names.iter().all(|(i, _)| source.columns.get(*i).is_some_and(|c| c.role == rivulet::catalog::ColumnRole::Value))
        && source.window.is_none()
        && source.value_format.kind == rivulet::format::FormatKind::Json
        && (names.len() > 1 || source.value_format.wrap_single)
    {
        // Keyless JSON rows are their value bytes: copy them.
        // One buffer for every read, not a fresh one (and its page faults) per read.
        let mut records = Vec::with_capacity(65_536);
        for (partition, start) in reader.positions().to_vec() {
            let mut offset = start;
            loop {
                records.clear();
                engine.backend().read_into(&source.topic, partition, offset, 65_536, &mut records)?;
                let Some(last) = records.last() else { break };
                offset = last.offset + 1;
                for value in records.iter().filter_map(|r| r.value.as_deref()) {
                    out.write_all(value)?;
                    out.write_all(b"\n")?;
                    rows += 1;
                }
            }
        }
        return Ok(rows);
    }
    while let Some(batch) = reader.poll(65_536)? {
        let tombstones = batch.column(null_value).as_boolean();
        for row in 0..batch.num_rows() {
            if tombstones.is_valid(row) && tombstones.value(row) {
                continue;
            }
            let mut object = serde_json::Map::with_capacity(names.len());
            for (i, name) in &names {
                object.insert(name.clone(), rivulet::format::array_value_to_json(batch.column(*i).as_ref(), row));
            }
            serde_json::to_writer(&mut *out, &object)
                .map_err(|e| Error::external(format!("cannot write a row: {e}")))?;
            out.write_all(b"\n")?;
            rows += 1;
        }
    }
    Ok(rows)
}

/// The bench's TOPIC may name a stream (bids → BIDS) or a topic; prefer the stream's topic.
fn resolve_topic(engine: &Engine, name: &str) -> String {
    let catalog = engine.catalog();
    match catalog.source(&name.to_ascii_uppercase()) {
        Some(source) => source.topic.clone(),
        None => name.to_string(),
    }
}

/// Loads the lines of `path` as records of `topic`, in batches that slice the input.
fn load(engine: &Engine, topic: &str, path: &str) -> Result<u64> {
    let input = read_input(path)?;
    let backend = engine.backend();
    let mut count = 0u64;
    let mut lines = memchr::memchr_iter(b'\n', &input);
    let mut start = 0;
    while start < input.len() {
        // Up to LOAD_BATCH lines as one batch whose values slice the input.
        let mut values = PackedBytes::with_capacity(input.clone(), LOAD_BATCH);
        while values.len() < LOAD_BATCH && start < input.len() {
            let end = lines.next().unwrap_or(input.len());
            // Blank lines are not records.
            if let Some(range) = line(&input, start, end) {
                values.push(Some(range))?;
            }
            start = end + 1;
        }
        let n = values.len();
        if n > 0 {
            backend.produce_batch(topic, ProducerBatch { timestamps: vec![0; n], values, ..Default::default() })?;
        }
        count += n as u64;
    }
    backend.flush()?;
    Ok(count)
}

/// The line `input[start..end]` without a trailing `\r`, `None` when blank.
fn line(input: &[u8], start: usize, mut end: usize) -> Option<std::ops::Range<usize>> {
    if end > start && input[end - 1] == b'\r' {
        end -= 1;
    }
    (end > start).then_some(start..end)
}

/// The whole input as one buffer that the loaded records slice, so that a record costs
/// neither an allocation nor a copy of its own. A regular file is mapped rather than read:
/// reading 300 MB copies it out of the page cache into fresh pages, and the page faults and
/// the copy were a fifth of the benchmark's time; the mapping shares the cached pages. It is
/// populated up front (one call maps every cached page) because faulting it in 64 KB at a time
/// as the loader scans it cost a twentieth of the run.
fn read_input(path: &str) -> Result<Bytes> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::user(format!("cannot open {path}: {e}")))?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.len() > 0 {
        // SAFETY: the mapping is read-only (shared with the page cache) and lives as long as the `Bytes` that
        // owns it. What mmap cannot rule out is another process truncating or rewriting the
        // file while it is mapped (a truncation would fault the reader): `rivulet bench`
        // documents that its input must not change while it runs, as any benchmark input.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) };
        match map {
            Ok(map) => return Ok(Bytes::from_owner(map)),
            Err(e) => tracing::debug!("cannot map {path} ({e}); reading it instead"),
        }
    }
    let mut buffer = Vec::new();
    file.read_to_end(&mut buffer)?;
    Ok(Bytes::from(buffer))
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}
