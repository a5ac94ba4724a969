//! State of stateful queries: state stores, changelogs, local snapshots, restore, and the
//! materialized tables pull queries read.
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
//! COUNT/SUM state.
//!
//! Local snapshots (`snapshot`). Replaying the changelog makes restore time grow with it, and
//! compaction only bounds it to one record per live group *plus* everything written since the
//! last compaction, which for a busy query is several times that. So an engine with a data
//! directory also writes, now and then, the whole state to
//! `<data dir>/state/<query id>/<changelog offset>.snapshot` (streamed a chunk at a time,
//! fsynced, renamed into place), recording the changelog offset just past the checkpoint it
//! reflects. Restore loads the newest valid snapshot and replays only the changelog from that
//! offset; with no usable snapshot (none yet, torn, corrupt, or from a changelog that is gone)
//! it logs a warning and replays the whole changelog, so a snapshot is a cache that can only
//! make restore faster, never change its result. Snapshots are taken after a checkpoint is
//! durable, not every batch: when the changelog records written since the last one reach the
//! state's size (at least `rivulet.state.snapshot.min.records`, default 100,000), or after
//! `rivulet.state.snapshot.interval.ms` (default ten minutes) with anything new. Tying the
//! threshold to the state's size keeps the cost of writing snapshots proportional to the cost
//! of writing the changelog, and the tail a restore replays at most about one state's worth.
//! A clean stop (shutdown, not TERMINATE) also writes one, so that a restart after it replays
//! nothing; only a crash leaves a tail to replay.
//! Memory-only engines (no data directory) keep no snapshots: they have nothing to restore.
//!
//! A [`store::StateStore`] is the seam between the structures and their durability: what can
//! be streamed to a snapshot and rebuilt from snapshot and changelog entries. The aggregation
//! implements it over its accumulators; [`store::MemoryStore`] is a plain ordered map.

pub mod changelog;
pub mod snapshot;
pub mod store;
pub mod table;

use crate::error::Result;
use crate::topic::SharedBackend;

/// Snapshot scheduling, from the engine's properties.
pub const SNAPSHOT_MIN_RECORDS: &str = "rivulet.state.snapshot.min.records";
/// See [`SNAPSHOT_MIN_RECORDS`].
pub const SNAPSHOT_INTERVAL_MS: &str = "rivulet.state.snapshot.interval.ms";
/// Default of [`SNAPSHOT_MIN_RECORDS`].
pub const DEFAULT_SNAPSHOT_MIN_RECORDS: u64 = 100_000;
/// Default of [`SNAPSHOT_INTERVAL_MS`].
pub const DEFAULT_SNAPSHOT_INTERVAL_MS: u64 = 10 * 60 * 1000;

/// What a restore did: where the state came from and how much of the changelog it replayed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreStats {
    /// The changelog offset of the snapshot loaded, `None` when none was.
    pub snapshot_offset: Option<i64>,
    /// Entries loaded from the snapshot.
    pub snapshot_entries: u64,
    /// Changelog records replayed after it (or from the start without one).
    pub replayed_records: u64,
    /// Whether snapshots existed but none could be used, so the whole changelog was replayed.
    pub fell_back: bool,
    /// The checkpoint the restored state reflects (`None`: nothing to restore).
    pub checkpoint: Option<changelog::Checkpoint>,
}

/// Restores `store` for query `query_id`: the newest valid snapshot, if `snapshots` is given
/// and has one, then the changelog from the snapshot's offset (or from its start).
pub fn restore(
    backend: &SharedBackend,
    query_id: &str,
    snapshots: Option<&snapshot::Snapshots>,
    store: &mut dyn store::StateStore,
) -> Result<RestoreStats> {
    let mut stats = RestoreStats::default();
    let mut from = 0;
    if let Some(snapshots) = snapshots {
        let end = changelog::end_offset(backend, query_id)?;
        if end == 0 {
            // No changelog (or an empty one): any snapshot is of state that is gone.
            snapshots.remove_all()?;
        } else if let Some(meta) = snapshots.newest_valid(end)? {
            stats.snapshot_entries = snapshots.load(&meta, store)?;
            stats.snapshot_offset = Some(meta.changelog_offset);
            stats.checkpoint = Some(meta.checkpoint);
            from = meta.changelog_offset;
        } else if snapshots.dir().exists() {
            stats.fell_back = true;
            tracing::warn!(
                query = query_id,
                dir = %snapshots.dir().display(),
                "no usable state snapshot: replaying the whole changelog"
            );
        }
    }
    let replay = changelog::replay(backend, query_id, from, store)?;
    stats.replayed_records = replay.records;
    if replay.checkpoint.is_some() {
        stats.checkpoint = replay.checkpoint;
    }
    Ok(stats)
}
