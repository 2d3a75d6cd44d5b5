//! A bounded memory of recent results keyed by the text they were computed from: the parsed
//! documents of GraphQL requests and the verified bearer tokens. Clients send the same few
//! query texts and the same token over and over; each is worked out once while it stays in
//! use, and the least recently used entry makes room when the memory is full.

use std::sync::Mutex;

use hashlink::LruCache;

/// Texts longer than this are not kept (a document of that size is rare and expensive to
/// hold; it is worked out each time).
pub const MAX_KEY_BYTES: usize = 16 * 1024;

/// Up to `capacity` results, by the text they came from.
pub struct Recent<V> {
    entries: Mutex<LruCache<String, V>>,
}

impl<V: Clone> Recent<V> {
    /// An empty memory of at most `capacity` entries.
    pub fn new(capacity: usize) -> Recent<V> {
        Recent { entries: Mutex::new(LruCache::new(capacity.max(1))) }
    }

    /// The result kept for `key`, if any.
    pub fn get(&self, key: &str) -> Option<V> {
        self.lock().get(key).cloned()
    }

    /// Keeps `value` for `key` (unless the key is over [`MAX_KEY_BYTES`]).
    pub fn put(&self, key: &str, value: V) {
        if key.len() <= MAX_KEY_BYTES {
            self.lock().insert(key.to_owned(), value);
        }
    }

    /// How many entries are kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, V>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_entry_makes_room() {
        let recent = Recent::new(2);
        recent.put("a", 1);
        recent.put("b", 2);
        assert_eq!(recent.get("a"), Some(1), "reading `a` makes `b` the least recently used");
        recent.put("c", 3);
        assert_eq!((recent.get("a"), recent.get("b"), recent.get("c")), (Some(1), None, Some(3)));
        assert_eq!(recent.len(), 2);
    }

    #[test]
    fn long_texts_are_not_kept() {
        let recent = Recent::new(4);
        let long = "x".repeat(MAX_KEY_BYTES + 1);
        recent.put(&long, 1);
        assert_eq!(recent.get(&long), None);
        assert_eq!(recent.len(), 0);
    }
}
