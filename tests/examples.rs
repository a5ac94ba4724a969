//! Every example program in `queries/` run through the engine on generated data, with its
//! results checked against what the data says they must be (computed here, independently).
//!
//! Each test writes records with the data generator (as `rivulet datagen` would), runs the
//! file's statements in order — letting the persistent queries consume everything before
//! each query statement, as time passing would — and compares tables, pull queries, push
//! queries and output topics with the expected values. A statement a file needs that the
//! engine does not support fails its test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use rivulet::datagen::{Dataset, Event, Format, Generator, Quickstart};
use rivulet::engine::result::PushQuery;
use rivulet::engine::{Engine, EngineConfig, StatementResult};
use rivulet::sql::ast::Statement;
use rivulet::topic::embedded::{EmbeddedLog, LogOptions};
use rivulet::topic::{SharedBackend, TopicConfig};
use serde_json::Value;

const START_MS: i64 = 1_700_000_000_000;
/// Not a divisor of any window size, so no event falls exactly on a session gap's edge.
const SPACING_MS: i64 = 997;

struct Example {
    engine: Engine,
    log: Arc<EmbeddedLog>,
    /// What each statement of the file returned, with its text.
    results: Vec<(String, StatementResult)>,
}

/// An engine on an in-memory log with small segments (so that compaction has closed
/// segments to work on), queries stepped by hand.
fn engine() -> (Engine, Arc<EmbeddedLog>) {
    let log = Arc::new(EmbeddedLog::in_memory_with(LogOptions { segment_bytes: 2048 }));
    let backend: SharedBackend = log.clone();
    let mut properties = BTreeMap::new();
    properties.insert("auto.offset.reset".to_string(), "earliest".to_string());
    let engine = Engine::with_backend(
        EngineConfig { data_dir: None, properties, background: false, ..Default::default() },
        backend,
    )
    .unwrap();
    (engine, log)
}

fn generate(kind: Quickstart, seed: u64, n: usize) -> Vec<Event> {
    Generator::new(Dataset::Quickstart(kind), seed, START_MS, SPACING_MS).take(n).collect()
}

fn produce(engine: &Engine, topic: &str, events: &[Event], format: Format) {
    let backend = engine.backend();
    backend.create_topic(topic, &TopicConfig::default()).unwrap();
    backend.produce(topic, events.iter().map(|e| e.encode(format)).collect()).unwrap();
    backend.flush().unwrap();
}

/// Runs a file of `queries/` statement by statement; before each query the persistent
/// queries consume all their input.
fn run_file(engine: Engine, log: Arc<EmbeddedLog>, file: &str) -> Example {
    let text = std::fs::read_to_string(format!("queries/{file}")).unwrap();
    let mut results = Vec::new();
    for statement in rivulet::sql::parse(&text).unwrap() {
        if matches!(statement.statement, Statement::Query(_)) {
            engine.run_to_completion(1).unwrap();
        }
        let result =
            engine.execute_statement(&statement).unwrap_or_else(|e| panic!("{file}: `{}`: {e}", statement.text));
        results.push((statement.text.clone(), result));
    }
    engine.run_to_completion(1).unwrap();
    Example { engine, log, results }
}

impl Example {
    /// A pull query's rows as column-name → value maps.
    fn pull(&self, sql: &str) -> Vec<BTreeMap<String, Value>> {
        match self.engine.execute(sql).unwrap().pop().unwrap() {
            StatementResult::Rows { columns, rows, .. } => named(&columns, rows),
            other => panic!("{sql}: expected rows, got {other:?}"),
        }
    }

    /// The result of the file's last statement.
    fn last(&self) -> &StatementResult {
        &self.results.last().unwrap().1
    }
}

fn named(columns: &[rivulet::engine::result::ResultColumn], rows: Vec<Vec<Value>>) -> Vec<BTreeMap<String, Value>> {
    rows.into_iter().map(|row| columns.iter().map(|c| c.name.clone()).zip(row).collect()).collect()
}

/// Rows of a push query until it ends or stays silent for a while.
fn drain(push: &PushQuery) -> Vec<BTreeMap<String, Value>> {
    let mut rows = Vec::new();
    while let Some(row) = push.next_timeout(Duration::from_secs(3)) {
        rows.push(row.unwrap());
    }
    named(&push.columns, rows)
}

/// What the processing log says went wrong (shown when an expectation fails).
fn processing_log(engine: &Engine) -> Vec<String> {
    let backend = engine.backend();
    let Ok(Some(topic)) = backend.describe_topic("rivulet_processing_log") else { return Vec::new() };
    (0..topic.config.partitions)
        .flat_map(|p| backend.read("rivulet_processing_log", p, 0, 20).unwrap())
        .map(|r| String::from_utf8_lossy(&r.value.unwrap_or_default()).into_owned())
        .collect()
}

fn s(v: &Value) -> String {
    v.as_str().map(String::from).unwrap_or_else(|| v.to_string())
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

fn float(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn field<'a>(e: &'a Event, name: &str) -> &'a Value {
    e.field(name).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn pageviews_counts_views_per_region_and_user_in_tumbling_windows() {
    let (engine, log) = engine();
    let events = generate(Quickstart::Pageviews, 42, 700);
    produce(&engine, "pageviews", &events, Format::Json);
    let example = run_file(engine, log, "pageviews.sql");

    // Expected: per (region, minute) the views and distinct users; per (user, 5 minutes) the
    // views and the last page.
    let mut per_region: BTreeMap<(String, i64), (i64, BTreeSet<String>)> = BTreeMap::new();
    let mut per_user: BTreeMap<(String, i64), (i64, String)> = BTreeMap::new();
    for e in &events {
        let region = s(field(e, "regionid"));
        let user = s(field(e, "userid"));
        let entry = per_region.entry((region, e.timestamp - e.timestamp % 60_000)).or_default();
        entry.0 += 1;
        entry.1.insert(user.clone());
        let entry = per_user.entry((user, e.timestamp - e.timestamp % 300_000)).or_default();
        entry.0 += 1;
        entry.1 = s(field(e, "pageid"));
    }

    let regions: BTreeSet<String> = per_region.keys().map(|(r, _)| r.clone()).collect();
    assert!(regions.len() >= 5, "the data covers several regions");
    for region in &regions {
        let rows = example.pull(&format!("SELECT * FROM pageviews_per_region WHERE regionid = '{region}';"));
        let got: BTreeMap<i64, (i64, i64)> =
            rows.iter().map(|r| (int(&r["WINDOWSTART"]), (int(&r["VIEWS"]), int(&r["USERS"])))).collect();
        let want: BTreeMap<i64, (i64, i64)> = per_region
            .iter()
            .filter(|((r, _), _)| r == region)
            .map(|((_, start), (views, users))| (*start, (*views, users.len() as i64)))
            .collect();
        assert_eq!(got, want, "{region}");
        assert!(rows.iter().all(|r| int(&r["WINDOWEND"]) == int(&r["WINDOWSTART"]) + 60_000));
    }
    for user in ["User_1", "User_7", "User_13"] {
        let rows = example.pull(&format!("SELECT * FROM pageviews_per_user WHERE userid = '{user}';"));
        let got: BTreeMap<i64, (i64, String)> =
            rows.iter().map(|r| (int(&r["WINDOWSTART"]), (int(&r["VIEWS"]), s(&r["LAST_PAGE"])))).collect();
        let want: BTreeMap<i64, (i64, String)> =
            per_user.iter().filter(|((u, _), _)| u == user).map(|((_, start), v)| (*start, v.clone())).collect();
        assert_eq!(got, want, "{user}");
    }

    // The script ends with a push query of the per-region counts: its latest row per window
    // is the final count.
    let StatementResult::Push(push) = example.last() else { panic!("pageviews.sql ends with a push query") };
    let rows = drain(push);
    assert!(!rows.is_empty());
    let mut latest: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for r in &rows {
        latest.insert((s(&r["REGIONID"]), int(&r["WINDOWSTART"])), int(&r["VIEWS"]));
    }
    let want: BTreeMap<(String, i64), i64> = per_region.iter().map(|(k, (views, _))| (k.clone(), *views)).collect();
    assert_eq!(latest, want);
}

#[test]
fn iot_sensors_rolling_averages_and_overheating_alerts() {
    let (engine, log) = engine();
    let events = generate(Quickstart::Sensors, 7, 1500);
    produce(&engine, "sensors", &events, Format::Json);
    let example = run_file(engine, log, "iot_sensors.sql");

    // Alerts: (sensor, minute) with three or more readings above 30 °C.
    let mut hot: BTreeMap<(String, i64), (i64, f64)> = BTreeMap::new();
    for e in &events {
        let t = float(field(e, "temperature"));
        if t > 30.0 {
            let entry = hot.entry((e.key.clone(), e.timestamp - e.timestamp % 60_000)).or_insert((0, f64::MIN));
            entry.0 += 1;
            entry.1 = entry.1.max(t);
        }
    }
    let want: BTreeMap<(String, i64), (i64, String)> =
        hot.into_iter().filter(|(_, (n, _))| *n >= 3).map(|(k, (n, peak))| (k, (n, format!("{peak:.2}")))).collect();
    assert!(!want.is_empty(), "the data has overheating episodes");
    let got: BTreeMap<(String, i64), (i64, String)> = example
        .pull("SELECT * FROM overheating;")
        .iter()
        .map(|r| {
            (
                (s(&r["SENSOR_ID"]), int(&r["WINDOWSTART"])),
                (int(&r["HOT_READINGS"]), format!("{:.2}", float(&r["PEAK"]))),
            )
        })
        .collect();
    assert_eq!(got, want);

    // Rolling statistics: hopping windows of 5 minutes every minute.
    for sensor in ["sensor-01", "sensor-06"] {
        let mut windows: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for e in events.iter().filter(|e| e.key == sensor) {
            let last = e.timestamp - e.timestamp % 60_000;
            for start in (0..5).map(|i| last - i * 60_000) {
                windows.entry(start).or_default().push(float(field(e, "temperature")));
            }
        }
        let rows = example.pull(&format!("SELECT * FROM sensor_rolling WHERE sensor_id = '{sensor}';"));
        assert_eq!(rows.len(), windows.len(), "{sensor}: one row per window");
        for r in rows {
            let temps = &windows[&int(&r["WINDOWSTART"])];
            let avg = temps.iter().sum::<f64>() / temps.len() as f64;
            assert_eq!(int(&r["READINGS"]), temps.len() as i64);
            assert!(close(float(&r["AVG_TEMP"]), avg), "{r:?} vs {avg}");
            assert!(close(float(&r["MAX_TEMP"]), temps.iter().cloned().fold(f64::MIN, f64::max)));
            assert!(close(float(&r["MIN_TEMP"]), temps.iter().cloned().fold(f64::MAX, f64::min)));
        }
    }

    // Low batteries: exactly the readings under 20 %.
    let low = events.iter().filter(|e| float(field(e, "battery")) < 20.0).count();
    assert_eq!(example.pull("SELECT * FROM low_battery;").len(), low);

    // The live alerts only ever show three or more hot readings.
    let StatementResult::Push(push) = example.last() else { panic!("iot_sensors.sql ends with a push query") };
    let rows = drain(push);
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| int(&r["HOT_READINGS"]) >= 3), "{rows:?}");
}

#[test]
fn clickstream_sessions_funnel_and_top_products() {
    let (engine, log) = engine();
    let events = generate(Quickstart::Clickstream, 3, 1500);
    produce(&engine, "clickstream", &events, Format::Json);
    let example = run_file(engine, log, "clickstream.sql");

    // Sessions: a user's clicks split where 60 s pass without one.
    let mut by_user: BTreeMap<String, Vec<&Event>> = BTreeMap::new();
    for e in &events {
        by_user.entry(e.key.clone()).or_default().push(e);
    }
    for user in ["User_1", "User_2", "User_17"] {
        let mut sessions: Vec<(i64, i64, i64, BTreeSet<String>)> = Vec::new();
        for e in &by_user[user] {
            match sessions.last_mut() {
                Some(last) if e.timestamp - last.1 <= 60_000 => {
                    last.1 = e.timestamp;
                    last.2 += 1;
                    last.3.insert(s(field(e, "product_id")));
                }
                _ => sessions.push((e.timestamp, e.timestamp, 1, BTreeSet::from([s(field(e, "product_id"))]))),
            }
        }
        let want: BTreeSet<(i64, i64, i64, i64)> =
            sessions.iter().map(|(start, end, n, products)| (*start, *end, *n, products.len() as i64)).collect();
        let got: BTreeSet<(i64, i64, i64, i64)> = example
            .pull(&format!("SELECT * FROM user_sessions WHERE user_id = '{user}';"))
            .iter()
            .map(|r| (int(&r["WINDOWSTART"]), int(&r["WINDOWEND"]), int(&r["CLICKS"]), int(&r["PRODUCTS"])))
            .collect();
        assert!(want.len() > 1, "{user} has several sessions");
        assert_eq!(got, want, "{user}");
    }

    // The funnel: per step and 10 minutes, events and distinct customers.
    let mut funnel: BTreeMap<(String, i64), (i64, BTreeSet<String>)> = BTreeMap::new();
    for e in &events {
        let entry = funnel.entry((s(field(e, "action")), e.timestamp - e.timestamp % 600_000)).or_default();
        entry.0 += 1;
        entry.1.insert(e.key.clone());
    }
    let mut totals: HashMap<String, i64> = HashMap::new();
    for step in ["view", "add_to_cart", "checkout", "purchase"] {
        let got: BTreeMap<i64, (i64, i64)> = example
            .pull(&format!("SELECT * FROM funnel WHERE action = '{step}';"))
            .iter()
            .map(|r| (int(&r["WINDOWSTART"]), (int(&r["EVENTS"]), int(&r["CUSTOMERS"]))))
            .collect();
        let want: BTreeMap<i64, (i64, i64)> = funnel
            .iter()
            .filter(|((a, _), _)| a == step)
            .map(|((_, start), (n, users))| (*start, (*n, users.len() as i64)))
            .collect();
        assert_eq!(got, want, "{step}");
        totals.insert(step.to_string(), want.values().map(|(n, _)| n).sum());
    }
    assert!(totals["view"] > totals["add_to_cart"] && totals["checkout"] >= totals["purchase"], "{totals:?}");

    // Best sellers: the file's last statement, products bought at least three times.
    let mut products: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for e in events.iter().filter(|e| int(field(e, "status")) == 200) {
        let entry = products.entry(s(field(e, "product_id"))).or_default();
        match field(e, "action").as_str() {
            Some("view") => entry.0 += 1,
            Some("purchase") => entry.1 += 1,
            _ => {}
        }
    }
    let want: BTreeSet<(String, i64, i64)> =
        products.into_iter().filter(|(_, (_, bought))| *bought >= 3).map(|(p, (v, b))| (p, v, b)).collect();
    assert!(!want.is_empty());
    let StatementResult::Rows { columns, rows, .. } = example.last() else {
        panic!("clickstream.sql ends with a pull query")
    };
    let got: BTreeSet<(String, i64, i64)> = named(columns, rows.clone())
        .iter()
        .map(|r| (s(&r["PRODUCT_ID"]), int(&r["VIEWS"]), int(&r["PURCHASES"])))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn event_sourcing_folds_account_events_into_balances_on_a_compacted_topic() {
    let (engine, log) = engine();
    let events = generate(Quickstart::Accounts, 11, 2000);
    produce(&engine, "accounts", &events, Format::Json);
    let example = run_file(engine, log, "event_sourcing.sql");

    let mut want: BTreeMap<String, (f64, i64, String)> = BTreeMap::new();
    for e in &events {
        let amount = float(field(e, "amount"));
        let kind = s(field(e, "event_type"));
        let entry = want.entry(e.key.clone()).or_insert((0.0, 0, String::new()));
        entry.0 += if kind == "DEPOSIT" { amount } else { -amount };
        entry.1 += 1;
        entry.2 = kind;
    }
    for (account, (balance, n, last)) in &want {
        let rows = example.pull(&format!("SELECT * FROM balances WHERE account_id = '{account}';"));
        assert_eq!(rows.len(), 1, "{account}");
        let r = &rows[0];
        assert!((float(&r["BALANCE"]) - balance).abs() < 1e-6, "{account}: {r:?} vs {balance}");
        assert!(*balance > -1e-6, "a ledger never goes negative");
        assert_eq!((int(&r["EVENTS"]), s(&r["LAST_EVENT"])), (*n, last.clone()), "{account}");
    }
    // The file's own pull query answers for ACC-001.
    let StatementResult::Rows { rows, .. } = example.last() else {
        panic!("event_sourcing.sql ends with a pull query")
    };
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], Value::from("ACC-001"));

    // The table's topic is compacted: after compaction it holds little more than one record
    // per account, and the latest record of each account is its balance.
    let backend = example.engine.backend();
    let read_all = || backend.read("balances", 0, 0, usize::MAX).unwrap();
    // One update per event was written (the queries consumed one record at a time)...
    let written = backend.end_offset("balances", 0).unwrap();
    assert!(written >= events.len() as i64, "one update per event: {written}");
    example.log.compact_now("balances").unwrap();
    // ...and compaction leaves about one per account (plus the open segment's).
    let after = read_all();
    assert!(after.len() < 3 * want.len(), "compaction kept {} of {written} records", after.len());
    let mut latest: HashMap<Vec<u8>, Value> = HashMap::new();
    for record in &after {
        latest.insert(
            record.key.clone().unwrap().to_vec(),
            serde_json::from_slice(record.value.as_ref().unwrap()).unwrap(),
        );
    }
    assert_eq!(latest.len(), want.len());
    for (account, (balance, _, _)) in &want {
        let value = &latest[account.as_bytes()];
        assert!((float(&value["BALANCE"]) - balance).abs() < 1e-6, "{account}: {value}");
    }
}

#[test]
fn streaming_etl_filters_standardizes_and_enriches_orders() {
    let (engine, log) = engine();
    let events = generate(Quickstart::Orders, 5, 300);
    produce(&engine, "orders", &events, Format::Delimited);
    // Dirty rows from the legacy system: padded names and lower-case codes are cleaned, an
    // order of zero units is dropped.
    let dirty = [
        ("DIRTY-1", format!("{START_MS},DIRTY-1,Item_7,  ada lovelace ,3,20.5,  palo alto,ca,94301")),
        ("BAD-1", format!("{START_MS},BAD-1,Item_8,User_2,0,9.99,Austin,TX,73301")),
    ];
    engine
        .backend()
        .produce(
            "orders",
            dirty
                .iter()
                .map(|(k, v)| rivulet::topic::ProducerRecord {
                    key: Some(k.as_bytes().to_vec().into()),
                    value: Some(v.clone().into_bytes().into()),
                    timestamp: START_MS,
                    ..Default::default()
                })
                .collect(),
        )
        .unwrap();
    let example = run_file(engine, log, "streaming_etl.sql");

    let backend = example.engine.backend();
    let out: HashMap<String, Value> = backend
        .read("orders_clean", 0, 0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|r| {
            (String::from_utf8(r.key.unwrap().to_vec()).unwrap(), serde_json::from_slice(&r.value.unwrap()).unwrap())
        })
        .collect();
    assert_eq!(
        out.len(),
        events.len() + 1,
        "every valid order is loaded, the zero-unit one is not; processing log: {:?}",
        processing_log(&example.engine)
    );
    assert!(!out.contains_key("BAD-1"));

    let utc = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let dirty_row = &out["DIRTY-1"];
    assert_eq!(dirty_row["CUSTOMER"], "ADA LOVELACE");
    assert_eq!(dirty_row["CITY"], "Palo Alto");
    assert_eq!(dirty_row["STATE"], "CA");
    assert_eq!(dirty_row["SALES_REGION"], "WEST");
    assert_eq!(dirty_row["ITEM"], 7);
    assert_eq!(dirty_row["ORDER_TIME_UTC"], Value::from(utc(START_MS)));

    for e in &events {
        let row = &out[&e.key];
        let units = int(field(e, "orderunits"));
        let total = units as f64 * float(field(e, "price"));
        let item: i64 = s(field(e, "itemid")).trim_start_matches("Item_").parse().unwrap();
        assert_eq!(row["ORDER_TIME_UTC"], Value::from(utc(e.timestamp)), "{row}");
        assert_eq!(row["CUSTOMER"], Value::from(s(field(e, "customer")).to_uppercase()));
        assert_eq!(row["ITEM"], Value::from(item));
        assert_eq!(row["UNITS"], Value::from(units));
        assert!((float(&row["TOTAL"]) - total).abs() < 0.006, "{row} vs {total}");
        let class = if total >= 1000.0 {
            "LARGE"
        } else if total >= 100.0 {
            "MEDIUM"
        } else {
            "SMALL"
        };
        assert_eq!(row["SIZE_CLASS"], class, "{row}");
        let region = match s(field(e, "state")).as_str() {
            "CA" | "WA" | "CO" => "WEST",
            "TX" => "SOUTH",
            "MA" => "NORTHEAST",
            _ => "OTHER",
        };
        assert_eq!(row["SALES_REGION"], region, "{row}");
    }

    // The file ends with the first five cleaned orders, live.
    let StatementResult::Push(push) = example.last() else { panic!("streaming_etl.sql ends with a push query") };
    let rows = drain(push);
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| out.contains_key(&s(&r["ORDERID"]))));
}
