//! `PRINT 'topic' [FROM BEGINNING] [INTERVAL n] [LIMIT n]`: a topic's raw records, in
//! ksqlDB's format, read straight from the topic backend.
//!
//! ksqlDB's CLI prints the formats it guesses for keys and values once, then one line per
//! record — `rowtime: 2022/03/18 15:53:22.989 Z, key: k, value: v, partition: 0` — and
//! `Topic printing ceased` at the end. The REPL and the HTTP server read the topic here,
//! never decoding with a schema (PRINT is how one looks at a topic without one).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::topic::{Record, SharedBackend};

/// What a PRINT statement asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintRequest {
    pub topic: String,
    pub from_beginning: bool,
    /// Print every n-th record.
    pub interval: Option<u64>,
    /// Stop after this many printed records.
    pub limit: Option<u64>,
}

/// Records read per partition per round.
const READ_BATCH: usize = 500;

/// Prints the topic's records through `emit` until LIMIT or until `interrupted` is set.
pub fn print_topic(
    backend: &SharedBackend,
    request: &PrintRequest,
    interrupted: &AtomicBool,
    emit: &mut dyn FnMut(String),
) -> Result<()> {
    let topic = resolve_topic(backend, &request.topic)?;
    let description =
        backend.describe_topic(&topic)?.ok_or_else(|| Error::user(format!("Could not find topic '{topic}'")))?;
    let mut positions = Vec::new();
    for partition in 0..description.config.partitions {
        let offset = if request.from_beginning {
            backend.start_offset(&topic, partition)?
        } else {
            backend.end_offset(&topic, partition)?
        };
        positions.push((partition, offset));
    }
    let interval = request.interval.unwrap_or(1).max(1);
    let mut seen: u64 = 0;
    let mut printed: u64 = 0;
    let mut formats_shown = false;
    loop {
        let mut progressed = false;
        for (partition, offset) in positions.iter_mut() {
            if interrupted.load(Ordering::Acquire) {
                return Ok(());
            }
            let records = backend.read(&topic, *partition, *offset, READ_BATCH)?;
            for record in records {
                *offset = record.offset + 1;
                progressed = true;
                seen += 1;
                if !(seen - 1).is_multiple_of(interval) {
                    continue;
                }
                if !formats_shown {
                    emit(format!("Key format: {}", guess_format(record.key.as_deref())));
                    emit(format!("Value format: {}", guess_format(record.value.as_deref())));
                    formats_shown = true;
                }
                emit(format_record(&record));
                printed += 1;
                if request.limit.is_some_and(|l| printed >= l) {
                    return Ok(());
                }
            }
        }
        if !progressed {
            if interrupted.load(Ordering::Acquire) {
                return Ok(());
            }
            backend.wait_for_data(Duration::from_millis(100));
        }
    }
}

/// The topic as named, or the one whose name differs only in case (an unquoted PRINT
/// argument is upper-cased, while topics keep their case).
pub fn resolve_topic(backend: &SharedBackend, name: &str) -> Result<String> {
    if backend.describe_topic(name)?.is_some() {
        return Ok(name.to_string());
    }
    let topics = backend.list_topics()?;
    topics.iter().find(|t| t.name.eq_ignore_ascii_case(name)).map(|t| t.name.clone()).ok_or_else(|| {
        Error::user(format!("Could not find topic '{name}', Rivulet uses case-sensitive topic names."))
            .with_hint("SHOW TOPICS; lists them")
    })
}

/// One record as ksqlDB's PRINT shows it.
pub fn format_record(record: &Record) -> String {
    let rowtime = chrono::DateTime::from_timestamp_millis(record.timestamp)
        .map(|t| t.format("%Y/%m/%d %H:%M:%S%.3f Z").to_string())
        .unwrap_or_else(|| record.timestamp.to_string());
    format!(
        "rowtime: {rowtime}, key: {}, value: {}, partition: {}",
        show_bytes(record.key.as_deref()),
        show_bytes(record.value.as_deref()),
        record.partition
    )
}

/// Text as text; 4 and 8 bytes that are not text as Kafka's big-endian INT and BIGINT;
/// anything else as hex.
fn show_bytes(bytes: Option<&[u8]>) -> String {
    let Some(bytes) = bytes else { return "<null>".into() };
    if let Ok(text) = std::str::from_utf8(bytes)
        && text.chars().all(|c| !c.is_control() || c == '\n' || c == '\t')
    {
        return text.to_string();
    }
    if let Ok(four) = <[u8; 4]>::try_from(bytes) {
        return i32::from_be_bytes(four).to_string();
    }
    if let Ok(eight) = <[u8; 8]>::try_from(bytes) {
        return i64::from_be_bytes(eight).to_string();
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("0x{hex}")
}

/// The formats bytes could be in, as ksqlDB's PRINT guesses them.
pub fn guess_format(bytes: Option<&[u8]>) -> &'static str {
    let Some(bytes) = bytes else { return "¯\\_(ツ)_/¯ - no data processed" };
    match std::str::from_utf8(bytes) {
        Ok(text) if text.chars().all(|c| !c.is_control() || c == '\n' || c == '\t') => {
            match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(_)) => "JSON or KAFKA_STRING",
                Ok(_) => "JSON or KAFKA_STRING",
                Err(_) if text.contains(',') => "DELIMITED or KAFKA_STRING",
                Err(_) => "KAFKA_STRING",
            }
        }
        _ => match bytes.len() {
            4 => "KAFKA_INT or KAFKA_STRING",
            8 => "KAFKA_BIGINT or KAFKA_DOUBLE",
            _ => "KAFKA_BYTES",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_print_as_ksqldb_does() {
        let record = Record {
            partition: 2,
            offset: 7,
            timestamp: 1_647_618_802_989,
            key: Some(b"user_1".to_vec().into()),
            value: Some(br#"{"PAGEID":"page_3"}"#.to_vec().into()),
            headers: Vec::new(),
        };
        assert_eq!(
            format_record(&record),
            r#"rowtime: 2022/03/18 15:53:22.989 Z, key: user_1, value: {"PAGEID":"page_3"}, partition: 2"#
        );
        let tombstone = Record { key: Some(vec![0, 0, 0, 42].into()), value: None, ..record };
        assert!(format_record(&tombstone).contains("key: 42, value: <null>"));
    }

    #[test]
    fn formats_are_guessed_from_the_bytes() {
        assert_eq!(guess_format(Some(br#"{"a":1}"#)), "JSON or KAFKA_STRING");
        assert_eq!(guess_format(Some(b"a,b,3")), "DELIMITED or KAFKA_STRING");
        assert_eq!(guess_format(Some(b"plain")), "KAFKA_STRING");
        assert_eq!(guess_format(Some(&[0, 0, 0, 1])), "KAFKA_INT or KAFKA_STRING");
        assert_eq!(guess_format(Some(&[0xff; 8])), "KAFKA_BIGINT or KAFKA_DOUBLE");
    }

    #[test]
    fn print_reads_from_the_beginning_up_to_the_limit() {
        let backend: SharedBackend = std::sync::Arc::new(crate::topic::embedded::EmbeddedLog::in_memory());
        let config = crate::topic::TopicConfig { partitions: 2, ..Default::default() };
        backend.create_topic("Clicks", &config).unwrap();
        let records = (0..5)
            .map(|i| crate::topic::ProducerRecord {
                key: Some(format!("k{i}").into_bytes().into()),
                value: Some(format!("v{i}").into_bytes().into()),
                timestamp: i,
                ..Default::default()
            })
            .collect();
        backend.produce("Clicks", records).unwrap();
        let mut lines = Vec::new();
        let request = PrintRequest { topic: "CLICKS".into(), from_beginning: true, interval: None, limit: Some(3) };
        print_topic(&backend, &request, &AtomicBool::new(false), &mut |l| lines.push(l)).unwrap();
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert_eq!(lines[0], "Key format: KAFKA_STRING");
        assert!(lines[2..].iter().all(|l| l.starts_with("rowtime: 1970/01/01 00:00:00.00")));
    }
}
