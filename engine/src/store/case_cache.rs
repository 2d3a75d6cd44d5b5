//! The committed rows of recently changed cases, with their decoded state, kept in memory so
//! that a command on a case need not read and decode the case again.
//!
//! An entry is only ever what a committed transaction wrote: a batch stages the rows it
//! writes ([`Staged`]) and the cache takes them after the commit succeeded, before any caller
//! is answered; a batch that rolls back drops its staged rows. An entry can still be stale
//! when something else changed the case (another node on PostgreSQL, a case migration): every
//! command's update is guarded by the case version, so a stale entry never reaches the
//! database. The command path treats a lost version race or a refusal computed from a cached
//! entry as a reason to read the case again (see `runtime::apply_command`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hashlink::LruCache;

use super::entity::cases;
use crate::core::CaseState;

/// A case row as committed, with its state decoded.
#[derive(Debug)]
pub(crate) struct CachedCase {
    /// The row, exactly as stored (its `state` column included).
    pub row: cases::Model,
    /// The row's `state`, decoded.
    pub state: CaseState,
}

/// Rows written by one batch transaction, not yet committed. A later command of the same
/// batch on the same case reads them (the transaction sees its own writes).
#[derive(Default)]
pub(crate) struct Staged {
    rows: HashMap<String, Arc<CachedCase>>,
    /// Job retries the transaction's commands scheduled, counted once it commits (a batch
    /// that rolls back and runs again starts a new count).
    job_retries: u64,
}

impl Staged {
    /// The row this transaction wrote for `id`, if it wrote one.
    pub fn get(&self, id: &str) -> Option<Arc<CachedCase>> {
        self.rows.get(id).cloned()
    }

    /// Notes job retries a command of this transaction scheduled.
    pub fn add_job_retries(&mut self, n: u64) {
        self.job_retries += n;
    }

    /// The job retries this transaction's commands scheduled.
    pub fn job_retries(&self) -> u64 {
        self.job_retries
    }

    /// Records the row this transaction wrote.
    pub fn put(&mut self, entry: CachedCase) {
        self.put_shared(Arc::new(entry));
    }

    /// Records the row this transaction wrote, already shared.
    pub fn put_shared(&mut self, entry: Arc<CachedCase>) {
        self.rows.insert(entry.row.id.clone(), entry);
    }
}

/// Committed case rows, at most `capacity` of them; when full, the case used least recently
/// (read or written) makes room. Cases at work stay; cases nobody touched for a while (a case
/// parked at a task for days) leave first.
pub(crate) struct CaseCache {
    entries: Mutex<LruCache<String, Arc<CachedCase>>>,
    capacity: usize,
}

impl CaseCache {
    /// An empty cache holding at most `capacity` cases (0 turns it off).
    pub fn new(capacity: usize) -> CaseCache {
        CaseCache { entries: Mutex::new(LruCache::new(capacity.max(1))), capacity }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, LruCache<String, Arc<CachedCase>>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The committed row of `id`, if cached (it becomes the most recently used).
    pub fn get(&self, id: &str) -> Option<Arc<CachedCase>> {
        self.entries().get(id).cloned()
    }

    /// Forgets `id` (its row was found stale, or changed outside the command path).
    pub fn forget(&self, id: &str) {
        self.entries().remove(id);
    }

    /// Takes the rows of a committed transaction. Closed cases leave the cache (nothing more
    /// happens to them); an entry is never replaced by an older version of its row (two
    /// committers may finish in either order).
    pub fn absorb(&self, staged: Staged) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries();
        for (id, entry) in staged.rows {
            if entry.state.status.is_closed() {
                entries.remove(&id);
                continue;
            }
            if entries.peek(&id).is_some_and(|held| held.row.version > entry.row.version) {
                continue;
            }
            // Inserting into a full cache drops the least recently used entry (the next
            // command on that case reads it again).
            entries.insert(id, entry);
        }
    }

    /// How many cases are held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::CaseStatus;

    fn entry(id: &str, version: i64, status: CaseStatus) -> CachedCase {
        let row = cases::Model {
            id: id.into(),
            definition_id: 1,
            flow_key: "f".into(),
            flow_version: 1,
            business_key: None,
            status: "active".into(),
            state: String::new(),
            version,
            parent_case_id: None,
            parent_call: None,
            audit_seq: version,
            audit_hash: String::new(),
            created_at: 0,
            updated_at: 0,
            closed_at: None,
            wake_at: None,
            wake_timer: None,
            wake_lease_owner: None,
            wake_lease_until: None,
        };
        CachedCase { row, state: CaseState { status, ..CaseState::default() } }
    }

    fn staged(entries: Vec<CachedCase>) -> Staged {
        let mut s = Staged::default();
        for e in entries {
            s.put(e);
        }
        s
    }

    #[test]
    fn newer_rows_replace_older_ones_never_the_reverse() {
        let cache = CaseCache::new(10);
        cache.absorb(staged(vec![entry("a", 3, CaseStatus::Active)]));
        cache.absorb(staged(vec![entry("a", 2, CaseStatus::Active)]));
        assert_eq!(cache.get("a").map(|e| e.row.version), Some(3));
        cache.absorb(staged(vec![entry("a", 4, CaseStatus::Active)]));
        assert_eq!(cache.get("a").map(|e| e.row.version), Some(4));
    }

    #[test]
    fn closed_cases_leave_and_capacity_holds() {
        let cache = CaseCache::new(2);
        cache.absorb(staged(vec![entry("a", 1, CaseStatus::Active), entry("b", 1, CaseStatus::Active)]));
        cache.absorb(staged(vec![entry("c", 1, CaseStatus::Active)]));
        assert_eq!(cache.len(), 2);
        assert!(cache.get("c").is_some());
        cache.absorb(staged(vec![entry("c", 2, CaseStatus::Completed)]));
        assert!(cache.get("c").is_none());
        cache.forget("a");
        cache.forget("b");
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn the_least_recently_used_case_makes_room() {
        let cache = CaseCache::new(3);
        cache.absorb(staged(vec![entry("a", 1, CaseStatus::Active), entry("b", 1, CaseStatus::Active)]));
        cache.absorb(staged(vec![entry("c", 1, CaseStatus::Active)]));
        // "a" is read, "b" is written: "c" is now the least recently used.
        assert!(cache.get("a").is_some());
        cache.absorb(staged(vec![entry("b", 2, CaseStatus::Active)]));
        cache.absorb(staged(vec![entry("d", 1, CaseStatus::Active)]));
        assert!(cache.get("c").is_none(), "the case nobody touched left");
        for kept in ["a", "b", "d"] {
            assert!(cache.get(kept).is_some(), "{kept} stays");
        }
        // Many new cases through a full cache: the ones at work stay.
        for n in 0..1000 {
            assert!(cache.get("a").is_some(), "a case in use is never the one to go");
            cache.absorb(staged(vec![entry(&format!("new{n}"), 1, CaseStatus::Active)]));
        }
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn a_cache_of_no_capacity_holds_nothing() {
        let cache = CaseCache::new(0);
        cache.absorb(staged(vec![entry("a", 1, CaseStatus::Active)]));
        assert!(cache.get("a").is_none());
    }
}
