//! Clerk's row counts for planner estimates, shared by every backend of the
//! cluster for a few minutes.
//!
//! A dashboard that opens a new connection per refresh would otherwise ask
//! Clerk for the same counts on every refresh. The cache is a small table
//! of entries in a [`SharedWords`] file; an entry is written without locks
//! and carries a checksum of its words, so a reader that races a writer (or
//! two writers that race each other) sees a miss, never a wrong count.

use crate::remote::shared_words::{self, SharedWords};
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a count is trusted: estimates may be a little stale, and a
/// dashboard refreshed every few minutes asks Clerk once.
pub const TTL: Duration = Duration::from_secs(300);

const ENTRIES: usize = 1024;
/// Words per entry: key, time written, rows, checksum.
const ENTRY_WORDS: usize = 4;
/// Entries tried after a key's home entry.
const PROBE: usize = 8;
/// Stored for "Clerk cannot count these rows", also worth remembering.
const UNCOUNTED: u64 = u64::MAX;

pub struct Estimates {
    words: Arc<SharedWords>,
}

/// The process-wide cache of `path` (this process's own when `None`).
pub fn table(path: Option<&Path>) -> Estimates {
    Estimates {
        words: shared_words::open(path, ENTRIES * ENTRY_WORDS),
    }
}

/// The cache key of `parts` (which server, which key, which request); never
/// 0, which marks a free entry.
pub fn key(parts: impl Hash) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish().max(1)
}

fn checksum(key: u64, at: u64, rows: u64) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (key, at, rows).hash(&mut h);
    h.finish()
}

/// One entry, read in one go.
struct Entry {
    key: u64,
    at: u64,
    rows: u64,
}

impl Estimates {
    pub fn is_shared(&self) -> bool {
        self.words.is_shared()
    }

    fn entries(&self, key: u64) -> impl Iterator<Item = &[AtomicU64]> {
        let words = self.words.words();
        let home = (key % ENTRIES as u64) as usize;
        (0..PROBE).map(move |i| {
            let index = (home + i) % ENTRIES;
            &words[index * ENTRY_WORDS..(index + 1) * ENTRY_WORDS]
        })
    }

    /// The entry's words when they are one writer's whole write.
    fn read(entry: &[AtomicU64]) -> Option<Entry> {
        let [key, at, rows, check] = std::array::from_fn(|i| entry[i].load(Ordering::Acquire));
        (key != 0 && check == checksum(key, at, rows)).then_some(Entry { key, at, rows })
    }

    /// The rows counted for `key` less than [`TTL`] before `now_ns`:
    /// `Some(None)` when Clerk could not count them.
    pub fn get(&self, key: u64, now_ns: u64) -> Option<Option<u64>> {
        let fresh = |at: u64| now_ns >= at && now_ns - at < TTL.as_nanos() as u64;
        self.entries(key)
            .filter_map(Self::read)
            .find(|e| e.key == key && fresh(e.at))
            .map(|e| (e.rows != UNCOUNTED).then_some(e.rows))
    }

    /// Remembers the count of `key` (`None`: Clerk could not count), in its
    /// own entry, a free or expired one, or the oldest of its neighbours.
    pub fn put(&self, key: u64, now_ns: u64, rows: Option<u64>) {
        let rows = rows.map_or(UNCOUNTED, |n| n.min(UNCOUNTED - 1));
        let age = |entry: &[AtomicU64]| match Self::read(entry) {
            Some(e) if e.key == key => (0, 0),
            Some(e) if now_ns >= e.at && now_ns - e.at < TTL.as_nanos() as u64 => {
                (2, u64::MAX - (now_ns - e.at))
            }
            _ => (1, 0),
        };
        let Some(entry) = self.entries(key).min_by_key(|e| age(e)) else {
            return;
        };
        entry[3].store(0, Ordering::Release);
        entry[0].store(key, Ordering::Release);
        entry[1].store(now_ns, Ordering::Release);
        entry[2].store(rows, Ordering::Release);
        entry[3].store(checksum(key, now_ns, rows), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_000_000_000_000_000_000;
    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn a_count_is_seen_by_every_process_until_it_expires() {
        let path = std::env::temp_dir().join(format!("clerk_fdw_estimates_{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        // Two maps of one file stand for two backends.
        let a = Estimates {
            words: Arc::new(SharedWords::open(&path, ENTRIES * ENTRY_WORDS)),
        };
        let b = Estimates {
            words: Arc::new(SharedWords::open(&path, ENTRIES * ENTRY_WORDS)),
        };
        assert!(a.is_shared() && b.is_shared());
        let users = key(("server 1", "GET /users/count"));
        let orgs = key(("server 1", "GET /organizations?limit=1"));
        assert_eq!(b.get(users, T0), None);
        a.put(users, T0, Some(100_000));
        a.put(orgs, T0, None);
        assert_eq!(b.get(users, T0 + 10 * SECOND), Some(Some(100_000)));
        assert_eq!(b.get(orgs, T0 + 10 * SECOND), Some(None));
        assert_eq!(b.get(key(("server 2", "GET /users/count")), T0), None);
        assert_eq!(b.get(users, T0 + 300 * SECOND), None);
        // A newer count replaces the old one in place.
        b.put(users, T0 + 400 * SECOND, Some(7));
        assert_eq!(a.get(users, T0 + 401 * SECOND), Some(Some(7)));
        // A clock set back does not make an entry live forever.
        assert_eq!(a.get(users, T0), None);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_torn_entry_is_a_miss() {
        let cache = table(None);
        let k = key("request");
        cache.put(k, T0, Some(42));
        let entry = cache
            .entries(k)
            .find(|e| e[0].load(Ordering::Relaxed) == k)
            .unwrap();
        // Another writer's rows landed, but not its checksum.
        entry[2].store(43, Ordering::Relaxed);
        assert_eq!(cache.get(k, T0), None);
    }

    #[test]
    fn a_full_neighbourhood_evicts_its_oldest_entry() {
        let cache = Estimates {
            words: Arc::new(SharedWords::local(ENTRIES * ENTRY_WORDS)),
        };
        // Keys with the same home entry, written a second apart.
        let keys: Vec<u64> = (1..=PROBE as u64 + 1).map(|i| i * ENTRIES as u64).collect();
        for (i, &k) in keys.iter().enumerate() {
            cache.put(k, T0 + i as u64 * SECOND, Some(i as u64));
        }
        let now = T0 + 20 * SECOND;
        assert_eq!(cache.get(keys[0], now), None);
        for (i, &k) in keys.iter().enumerate().skip(1) {
            assert_eq!(cache.get(k, now), Some(Some(i as u64)));
        }
    }
}
