//! Where tasks are: a task's case and its key within the case, by the task's row id, for
//! the tasks this node has read lately.
//!
//! A command on a task (claim, complete, ...) names the task by its row id, but runs on its
//! case. The id, the case and the key are written once, when the task is created, and never
//! change (a task row is updated, never moved or deleted), so what an inbox page or a task
//! read showed stays true: the next command on the task need not read the row again to find
//! its case. Only committed rows are ever noted here (rows read from the database).

use std::sync::{Arc, Mutex};

use hashlink::LruCache;

use super::entity::tasks;
use crate::core::TaskKey;

/// A task's case and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskLocation {
    /// The case the task belongs to.
    pub case_id: Arc<str>,
    /// The task's key within the case.
    pub key: TaskKey,
}

/// The locations of tasks read lately, at most `capacity` of them; when full, the task
/// looked up least recently makes room.
pub(crate) struct TaskLocations {
    entries: Mutex<LruCache<i64, TaskLocation>>,
    capacity: usize,
}

impl TaskLocations {
    /// An empty map holding at most `capacity` tasks (0 turns it off).
    pub fn new(capacity: usize) -> TaskLocations {
        TaskLocations { entries: Mutex::new(LruCache::new(capacity.max(1))), capacity }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, LruCache<i64, TaskLocation>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Where task `id` is, if a row of it was read lately.
    pub fn get(&self, id: i64) -> Option<TaskLocation> {
        if self.capacity == 0 {
            return None;
        }
        self.entries().get(&id).cloned()
    }

    /// Notes where the tasks of these rows (read from the database) are.
    pub fn note<'a>(&self, rows: impl IntoIterator<Item = &'a tasks::Model>) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries();
        for row in rows {
            let Ok(key) = u32::try_from(row.task_key) else { continue };
            // Held already means held right (a location never changes); looking it up marks
            // it as recently used.
            if entries.get(&row.id).is_none() {
                entries.insert(row.id, TaskLocation { case_id: row.case_id.as_str().into(), key: TaskKey(key) });
            }
        }
    }

    /// How many tasks are held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, case_id: &str, task_key: i32) -> tasks::Model {
        tasks::Model {
            id,
            case_id: case_id.into(),
            task_key,
            node_id: "review".into(),
            name: "Review".into(),
            flow_key: "f".into(),
            flow_version: 1,
            business_key: None,
            state: "open".into(),
            assignee: None,
            candidate_users: "[]".into(),
            candidate_groups: "[]".into(),
            priority: 50,
            due_at: None,
            created_at: 0,
            closed_at: None,
            completed_by: None,
            outcome: None,
        }
    }

    #[test]
    fn a_noted_task_is_found_by_its_id() {
        let map = TaskLocations::new(8);
        map.note([&row(1, "c1", 3), &row(2, "c2", 0)]);
        assert_eq!(map.get(1), Some(TaskLocation { case_id: "c1".into(), key: TaskKey(3) }));
        assert_eq!(map.get(2).map(|l| l.key), Some(TaskKey(0)));
        assert_eq!(map.get(3), None);
    }

    #[test]
    fn the_task_looked_up_least_recently_makes_room() {
        let map = TaskLocations::new(2);
        map.note([&row(1, "c1", 0), &row(2, "c1", 1)]);
        assert!(map.get(1).is_some());
        map.note([&row(3, "c2", 0)]);
        assert_eq!(map.len(), 2);
        assert!(map.get(2).is_none(), "task 2 was looked up least recently");
        assert!(map.get(1).is_some() && map.get(3).is_some());
    }

    #[test]
    fn a_capacity_of_zero_holds_nothing() {
        let map = TaskLocations::new(0);
        map.note([&row(1, "c1", 0)]);
        assert_eq!(map.get(1), None);
    }

    #[test]
    fn a_key_out_of_range_is_not_noted() {
        let map = TaskLocations::new(4);
        map.note([&row(1, "c1", -1)]);
        assert_eq!(map.get(1), None);
    }
}
