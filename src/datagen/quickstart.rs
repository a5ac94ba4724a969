//! The quickstart data sets, in the spirit of ksqlDB's `ksql-datagen` quickstarts: page views,
//! users, orders, an e-commerce clickstream, IoT sensor readings and bank account events.
//!
//! Each keeps a little state between records so that the data behaves like the real thing:
//! a user's region never changes, clicks come in bursts per user (so that session windows
//! find sessions), sensors drift and sometimes overheat for a while, and accounts never
//! withdraw more than they hold.

use serde_json::{Value, json};

use super::Event;
use super::rng::Rng;

/// Which data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quickstart {
    Pageviews,
    Users,
    Orders,
    Clickstream,
    Sensors,
    Accounts,
}

impl Quickstart {
    /// Every data set, by its command-line name.
    pub const ALL: [(&'static str, Quickstart); 6] = [
        ("pageviews", Quickstart::Pageviews),
        ("users", Quickstart::Users),
        ("orders", Quickstart::Orders),
        ("clickstream", Quickstart::Clickstream),
        ("sensors", Quickstart::Sensors),
        ("accounts", Quickstart::Accounts),
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, q)| *q == self).map_or("", |(n, _)| n)
    }

    /// The data set called `name`.
    pub fn parse(name: &str) -> Option<Quickstart> {
        Self::ALL.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, q)| *q)
    }
}

/// Users of pageviews, users and orders.
pub const USERS: u64 = 20;
/// Shoppers of the clickstream.
pub const SHOPPERS: u64 = 30;
/// Sensors of the sensor data set.
pub const SENSORS: u64 = 12;
/// Accounts of the accounts data set.
pub const ACCOUNTS: u64 = 25;
/// A reading above this is an overheating sensor (°C).
pub const HOT_CELSIUS: f64 = 30.0;

/// The region of a user: fixed per user, so pageviews and users agree.
pub fn region_of(user: u64) -> String {
    format!("Region_{}", (user * 7) % 9 + 1)
}

const GENDERS: [&str; 3] = ["FEMALE", "MALE", "OTHER"];
const CITIES: [(&str, &str, &str); 6] = [
    ("Palo Alto", "CA", "94301"),
    ("San Jose", "CA", "95112"),
    ("Austin", "TX", "73301"),
    ("Seattle", "WA", "98101"),
    ("Boston", "MA", "02108"),
    ("Denver", "CO", "80202"),
];
const AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) Mobile/15E148",
];
const LOCATIONS: [&str; 4] = ["warehouse-a", "warehouse-b", "cold-room", "loading-dock"];
const CHANNELS: [&str; 3] = ["ATM", "ONLINE", "BRANCH"];

/// A shopper's visit: the steps still to come.
#[derive(Debug, Clone)]
struct Visit {
    user: u64,
    product: u64,
    steps: Vec<&'static str>,
}

/// What a data set remembers between records.
#[derive(Debug, Clone)]
pub struct QuickstartState {
    kind: Quickstart,
    seq: u64,
    visit: Option<Visit>,
    /// Per sensor: (temperature, readings left in an overheating episode, battery).
    sensors: Vec<(f64, u32, f64)>,
    /// Per account: balance.
    balances: Vec<f64>,
}

impl QuickstartState {
    /// A fresh data set.
    pub fn new(kind: Quickstart, rng: &mut Rng) -> QuickstartState {
        let sensors = (0..SENSORS).map(|_| (rng.cents(19.0, 24.0), 0, rng.cents(60.0, 100.0))).collect();
        QuickstartState { kind, seq: 0, visit: None, sensors, balances: vec![0.0; ACCOUNTS as usize] }
    }

    /// The next record, at event time `ts`.
    pub fn next(&mut self, rng: &mut Rng, ts: i64) -> Event {
        self.seq += 1;
        let stream = self.kind.name();
        let (key, fields) = match self.kind {
            Quickstart::Pageviews => {
                let user = rng.between(1, USERS as i64) as u64;
                let page = format!("Page_{}", rng.skewed(99));
                let fields = vec![
                    ("viewtime", json!(ts)),
                    ("userid", json!(format!("User_{user}"))),
                    ("pageid", json!(page)),
                    ("regionid", json!(region_of(user))),
                ];
                (page, fields)
            }
            Quickstart::Users => {
                // Users cycle, so a table over the topic sees updates of the same keys.
                let user = (self.seq - 1) % USERS + 1;
                let fields = vec![
                    ("registertime", json!(ts - rng.between(0, 730 * 86_400_000))),
                    ("userid", json!(format!("User_{user}"))),
                    ("regionid", json!(region_of(user))),
                    ("gender", json!(rng.pick(&GENDERS))),
                ];
                (format!("User_{user}"), fields)
            }
            Quickstart::Orders => {
                let id = format!("O-{:06}", self.seq);
                let (city, state, zip) = *rng.pick(&CITIES);
                let fields = vec![
                    ("ordertime", json!(ts)),
                    ("orderid", json!(id)),
                    ("itemid", json!(format!("Item_{}", rng.skewed(50)))),
                    ("customer", json!(format!("User_{}", rng.between(1, USERS as i64)))),
                    ("orderunits", json!(rng.between(1, 10))),
                    ("price", json!(rng.cents(2.0, 250.0))),
                    ("city", json!(city)),
                    ("state", json!(state)),
                    ("zipcode", json!(zip)),
                ];
                (id, fields)
            }
            Quickstart::Clickstream => self.click(rng, ts),
            Quickstart::Sensors => self.reading(rng, ts),
            Quickstart::Accounts => self.account_event(rng, ts),
        };
        Event { stream, key, timestamp: ts, fields }
    }

    /// Clicks come as visits: a shopper views products, and some go on to the cart, the
    /// checkout and a purchase (a funnel).
    fn click(&mut self, rng: &mut Rng, ts: i64) -> (String, Vec<(&'static str, Value)>) {
        let visit = match self.visit.take() {
            Some(v) if !v.steps.is_empty() => v,
            _ => {
                let mut steps = vec!["view"; rng.between(1, 5) as usize];
                if rng.chance(0.4) {
                    steps.push("add_to_cart");
                    if rng.chance(0.6) {
                        steps.push("checkout");
                        if rng.chance(0.7) {
                            steps.push("purchase");
                        }
                    }
                }
                steps.reverse();
                Visit { user: rng.between(1, SHOPPERS as i64) as u64, product: rng.skewed(40), steps }
            }
        };
        let mut visit = visit;
        let action = visit.steps.pop().unwrap_or("view");
        if action == "view" && rng.chance(0.5) {
            visit.product = rng.skewed(40);
        }
        let product = format!("Product_{}", visit.product);
        let url = match action {
            "view" => format!("/products/{product}"),
            "add_to_cart" => "/cart".to_string(),
            "checkout" => "/checkout".to_string(),
            _ => "/order/confirmed".to_string(),
        };
        let status = if rng.chance(0.03) { 404 } else { 200 };
        let user = format!("User_{}", visit.user);
        let fields = vec![
            ("event_time", json!(ts)),
            ("user_id", json!(user)),
            ("ip", json!(format!("192.168.{}.{}", visit.user / 250, visit.user % 250 + 1))),
            ("action", json!(action)),
            ("product_id", json!(product)),
            ("url", json!(url)),
            ("status", json!(status)),
            ("bytes", json!(rng.between(200, 40_000))),
            ("agent", json!(AGENTS[(visit.user % AGENTS.len() as u64) as usize])),
        ];
        self.visit = Some(visit);
        (user, fields)
    }

    /// Sensors take turns; temperatures drift, and now and then a sensor overheats for a
    /// few readings.
    fn reading(&mut self, rng: &mut Rng, ts: i64) -> (String, Vec<(&'static str, Value)>) {
        let index = ((self.seq - 1) % SENSORS) as usize;
        let Some((temp, hot, battery)) = self.sensors.get_mut(index) else {
            return (String::new(), Vec::new());
        };
        if *hot == 0 && rng.chance(0.03) {
            *hot = rng.between(3, 8) as u32;
        }
        let temperature = if *hot > 0 {
            *hot -= 1;
            rng.cents(HOT_CELSIUS + 1.0, HOT_CELSIUS + 12.0)
        } else {
            *temp = (*temp + rng.cents(-0.5, 0.5)).clamp(15.0, 28.0);
            ((*temp) * 100.0).round() / 100.0
        };
        *battery = (*battery - rng.cents(0.0, 0.05)).max(1.0);
        let id = format!("sensor-{:02}", index + 1);
        let fields = vec![
            ("sensor_id", json!(id)),
            ("location", json!(LOCATIONS[index % LOCATIONS.len()])),
            ("reading_time", json!(ts)),
            ("temperature", json!(temperature)),
            ("humidity", json!(rng.cents(30.0, 70.0))),
            ("battery", json!((*battery * 100.0).round() / 100.0)),
        ];
        (id, fields)
    }

    /// Deposits and withdrawals; a withdrawal never exceeds the balance (it becomes a
    /// deposit instead), as a bank's ledger would ensure.
    fn account_event(&mut self, rng: &mut Rng, ts: i64) -> (String, Vec<(&'static str, Value)>) {
        let index = rng.below(ACCOUNTS) as usize;
        let mut amount = rng.cents(5.0, 500.0);
        let balance = self.balances.get_mut(index);
        let mut kind = if rng.chance(0.4) { "WITHDRAWAL" } else { "DEPOSIT" };
        if let Some(balance) = balance {
            if kind == "WITHDRAWAL" && amount > *balance {
                kind = "DEPOSIT";
            }
            if kind == "WITHDRAWAL" {
                *balance -= amount;
            } else {
                *balance += amount;
            }
            *balance = (*balance * 100.0).round() / 100.0;
        } else {
            amount = 0.0;
        }
        let id = format!("ACC-{:03}", index + 1);
        let fields = vec![
            ("event_id", json!(self.seq)),
            ("account_id", json!(id)),
            ("event_type", json!(kind)),
            ("amount", json!(amount)),
            ("channel", json!(rng.pick(&CHANNELS))),
            ("event_time", json!(ts)),
        ];
        (id, fields)
    }
}
