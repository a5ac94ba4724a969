//! Kafka's default partitioner, bit for bit.
//!
//! Rivulet writes either to its embedded log or to Kafka, and topics may also be written by
//! other Kafka clients. A keyed join or aggregate is only correct when every writer puts a key
//! in the same partition, so this module reproduces `org.apache.kafka.common.utils.Utils.murmur2`
//! (seed `0x9747b28c`) and `toPositive(hash) % partitions` exactly, including Java's wrapping
//! `int` arithmetic and its sign-extending vs. unsigned shifts.
//!
//! Records without a key have no placement to agree on; they are spread round-robin, like the
//! Kafka producer's `RoundRobinPartitioner`.

use std::sync::atomic::{AtomicU32, Ordering};

/// The seed Kafka's `Utils.murmur2` starts from.
const SEED: u32 = 0x9747_b28c;
/// The multiplication constant of MurmurHash2.
const M: u32 = 0x5bd1_e995;
/// The shift of MurmurHash2's mixing step.
const R: u32 = 24;

/// Kafka's `Utils.murmur2`: 32-bit MurmurHash2 of `data`, as the signed `int` Java returns.
///
/// The arithmetic is done on `u32` with wrapping operations, which is exactly Java's `int`
/// arithmetic; Java's `>>>` is the logical shift a `u32` gives.
pub fn murmur2(data: &[u8]) -> i32 {
    let length = data.len();
    // Java computes `seed ^ length` on an int: the length is truncated to 32 bits.
    let mut h: u32 = SEED ^ (length as u32);

    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }

    // The tail: Java's switch falls through from case 3 to case 1.
    let tail = chunks.remainder();
    if tail.len() == 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }

    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which overflows on `i32::MIN`).
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition Kafka's default partitioner picks for a non-null key.
///
/// `num_partitions` must be positive; a non-positive count (a caller bug) yields partition 0
/// rather than a division by zero.
pub fn partition_for_key(key: &[u8], num_partitions: i32) -> i32 {
    if num_partitions <= 0 {
        return 0;
    }
    to_positive(murmur2(key)) % num_partitions
}

/// Places records in partitions: murmur2 for keyed records, round-robin for null keys.
///
/// One partitioner is kept per topic so that round-robin cycles through that topic's
/// partitions independently of other topics. It is lock-free and shared between producers.
#[derive(Debug, Default)]
pub struct Partitioner {
    /// The next round-robin slot for null keys; wraps around, which only shifts the cycle.
    next: AtomicU32,
}

impl Partitioner {
    /// A partitioner whose round-robin starts at partition 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The partition for a record with `key` in a topic of `num_partitions` partitions.
    pub fn partition(&self, key: Option<&[u8]>, num_partitions: i32) -> i32 {
        if num_partitions <= 0 {
            return 0;
        }
        match key {
            Some(key) => partition_for_key(key, num_partitions),
            None => {
                // Relaxed is enough: we only need each call to get some slot, not an ordering
                // with other memory operations.
                let slot = self.next.fetch_add(1, Ordering::Relaxed);
                // Like Kafka, map the counter through toPositive before the modulo.
                to_positive(slot as i32) % num_partitions
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka() {
        // Values from Kafka's UtilsTest.testMurmur2 (and checked against the Java source).
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            (b"abc", 479_470_107),
        ];
        for (data, expected) in cases {
            assert_eq!(murmur2(data), *expected, "murmur2({:?})", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn murmur2_covers_every_tail_length() {
        // Lengths 0..=7 exercise the empty input and every fall-through of the tail switch;
        // the hashes must all differ (a dropped tail byte would make some collide).
        let data = b"abcdefg";
        let hashes: Vec<i32> = (0..=data.len()).map(|n| murmur2(&data[..n])).collect();
        for (i, a) in hashes.iter().enumerate() {
            for b in &hashes[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Bytes >= 0x80 are read as unsigned (`& 0xff` in Java): flipping the top bit of the
        // tail byte must change the hash.
        assert_ne!(murmur2(&[0x7f]), murmur2(&[0xff]));
    }

    #[test]
    fn to_positive_clears_the_sign_bit() {
        assert_eq!(to_positive(-1), i32::MAX);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(42), 42);
    }

    #[test]
    fn keyed_records_land_where_kafka_puts_them() {
        // toPositive(-973932308) = 1173551340; % 3 = 0, % 5 = 0, % 7 = 3.
        assert_eq!(partition_for_key(b"21", 3), 1_173_551_340 % 3);
        assert_eq!(partition_for_key(b"21", 7), 3);
        // toPositive(479470107) % 4 = 3.
        assert_eq!(partition_for_key(b"abc", 4), 479_470_107 % 4);
        assert_eq!(partition_for_key(b"abc", 1), 0);
        let p = Partitioner::new();
        for n in 1..10 {
            assert_eq!(p.partition(Some(b"foobar"), n), to_positive(-790_332_482) % n);
        }
    }

    #[test]
    fn null_keys_round_robin() {
        let p = Partitioner::new();
        let got: Vec<i32> = (0..6).map(|_| p.partition(None, 3)).collect();
        assert_eq!(got, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn degenerate_partition_counts_do_not_panic() {
        assert_eq!(partition_for_key(b"x", 0), 0);
        assert_eq!(Partitioner::new().partition(None, -1), 0);
    }
}
