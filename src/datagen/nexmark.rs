//! The Nexmark benchmark's streams: people register, put items up for auction and bid on
//! them (topics `person`, `auction`, `bid`).
//!
//! As in the reference generator, out of every 50 events 1 is a new person, 3 are new auctions
//! and 46 are bids; sellers and bidders are recent people and bids go mostly to recent
//! ("hot") auctions. Field names are the benchmark's (`dateTime`, `itemName`, ...), so its
//! queries read them unchanged (ksqlDB matches JSON fields case-insensitively).

use serde_json::json;

use super::Event;
use super::rng::Rng;

/// The ids of the first person and the first auction (the reference generator's).
const FIRST_ID: u64 = 1000;
const FIRST_NAMES: [&str; 8] = ["Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie"];
const LAST_NAMES: [&str; 8] = ["Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones"];
const CITIES: [&str; 8] =
    ["Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle"];
const STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
const CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];

/// Counts of what has been generated, from which the next ids follow.
#[derive(Debug, Clone, Default)]
pub struct NexmarkState {
    events: u64,
    people: u64,
    auctions: u64,
}

impl NexmarkState {
    /// The next event, at event time `ts`.
    pub fn next(&mut self, rng: &mut Rng, ts: i64) -> Event {
        let slot = self.events % 50;
        self.events += 1;
        if slot == 0 || self.people == 0 {
            self.person(rng, ts)
        } else if slot < 4 || self.auctions == 0 {
            self.auction(rng, ts)
        } else {
            self.bid(rng, ts)
        }
    }

    fn person(&mut self, rng: &mut Rng, ts: i64) -> Event {
        let id = FIRST_ID + self.people;
        self.people += 1;
        let name = format!("{} {}", rng.pick(&FIRST_NAMES), rng.pick(&LAST_NAMES));
        let email =
            format!("{}@{}.com", name.replace(' ', ".").to_lowercase(), rng.pick(&["mail", "example", "nexmark"]));
        let card = (0..4).map(|_| format!("{:04}", rng.below(10_000))).collect::<Vec<_>>().join(" ");
        Event {
            stream: "person",
            key: id.to_string(),
            timestamp: ts,
            fields: vec![
                ("id", json!(id)),
                ("name", json!(name)),
                ("emailAddress", json!(email)),
                ("creditCard", json!(card)),
                ("city", json!(rng.pick(&CITIES))),
                ("state", json!(rng.pick(&STATES))),
                ("dateTime", json!(ts)),
                ("extra", json!("")),
            ],
        }
    }

    fn auction(&mut self, rng: &mut Rng, ts: i64) -> Event {
        let id = FIRST_ID + self.auctions;
        self.auctions += 1;
        let initial = rng.between(1, 1000);
        let seller = self.recent_person(rng);
        Event {
            stream: "auction",
            key: id.to_string(),
            timestamp: ts,
            fields: vec![
                ("id", json!(id)),
                ("itemName", json!(format!("item-{}", rng.below(100_000)))),
                ("description", json!(format!("lot {id} from seller {seller}"))),
                ("initialBid", json!(initial)),
                ("reserve", json!(initial + rng.between(0, 1000))),
                ("dateTime", json!(ts)),
                ("expires", json!(ts + rng.between(10_000, 120_000))),
                ("seller", json!(seller)),
                ("category", json!(10 + rng.below(5))),
                ("extra", json!("")),
            ],
        }
    }

    fn bid(&mut self, rng: &mut Rng, ts: i64) -> Event {
        // Most bids go to the last few auctions; some to any auction so far.
        let auction = if rng.chance(0.9) {
            FIRST_ID + self.auctions - rng.skewed(self.auctions.min(20))
        } else {
            FIRST_ID + rng.below(self.auctions)
        };
        let bidder = self.recent_person(rng);
        Event {
            stream: "bid",
            key: auction.to_string(),
            timestamp: ts,
            fields: vec![
                ("auction", json!(auction)),
                ("bidder", json!(bidder)),
                ("price", json!(rng.between(100, 100_000))),
                ("channel", json!(rng.pick(&CHANNELS))),
                ("url", json!(format!("https://www.nexmark.com/item/{auction}/bid"))),
                ("dateTime", json!(ts)),
                ("extra", json!("")),
            ],
        }
    }

    /// One of the last 100 people (most activity comes from recent sign-ups).
    fn recent_person(&self, rng: &mut Rng) -> u64 {
        FIRST_ID + self.people - rng.skewed(self.people.clamp(1, 100))
    }
}
