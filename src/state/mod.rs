//! State of stateful queries: changelogs, restore, and the materialized tables pull queries
//! read.
//!
//! Why this shape. An aggregation keeps its groups in memory, in columnar accumulators
//! (`functions::aggregate`) indexed by a hash table (`exec::aggregate`): that is what makes it
//! fast. Durability comes from a compacted changelog topic per stateful query, written through
//! the same topic layer as everything else (the embedded log on disk, or Kafka), so that state
//! moves with the topics and nothing else has to be backed up. Each batch's changes are
//! followed by a *checkpoint* record holding the source offsets the state reflects; restore
//! replays the changelog up to the last checkpoint and resumes reading the source from the
//! offsets it names. Changes after the last checkpoint (a batch cut short by a crash) are
//! ignored and recomputed, so a crash neither loses nor double-counts input: the state is
//! exactly-once with respect to the source even on the embedded log, and only the output topic
//! may hold duplicates (at-least-once), as ksqlDB's is. We chose this over an embedded
//! key-value store (RocksDB, as Kafka Streams uses) to keep one small binary with no C++
//! build, and because the in-memory columnar layout is several times denser and faster for
//! COUNT/SUM state; restore time grows with the changelog, which compaction bounds to one
//! record per live group.

pub mod changelog;
pub mod table;
