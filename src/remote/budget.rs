//! The client-side request budget: how many requests clerk_fdw may send to
//! one Clerk instance per window, shared by every backend of the cluster.
//!
//! Clerk rate-limits per instance and the customer's app spends the same
//! budget, so clerk_fdw paces itself below Clerk's limit instead of waiting
//! for 429s. The state of each instance (one `(api_url, api_key)` pair) is a
//! slot in a small memory-mapped file, so every Postgres process sees the
//! same counters without `shared_preload_libraries`: the budget holds across
//! all sessions whether or not the library is preloaded.
//!
//! Pacing is exact: each slot keeps the start times of the last requests
//! in a ring, and a request starts no earlier than one window after the
//! request `budget` places before it. So no window ever sees more than the
//! budget, a short scan may use the whole budget at once, and a long one
//! gets all of it, evenly. A 429 pushes every session's next start back.
//! The slot also counts what was done (requests, retries, 429s, bytes,
//! waits), which `clerk_fdw_stats()` reports.
//!
//! Written by hand, not with a rate-limiting crate: those keep their state
//! in process memory, and the budget must be shared across processes.

use crate::remote::shared_words::{self, SharedWords};
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Requests per window, e.g. `400/10s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    pub requests: u32,
    pub window: Duration,
}

/// Clerk's per-instance limits (requests per 10 s) by key type.
const PRODUCTION_LIMIT: u32 = 1000;
const DEVELOPMENT_LIMIT: u32 = 100;
/// The share of Clerk's limit clerk_fdw takes by default: the app keeps the rest.
const DEFAULT_SHARE_PERCENT: u32 = 40;

impl Rate {
    /// The default for a key: 40% of Clerk's limit for its type (production
    /// `sk_live_…` keys 1000 per 10 s, development `sk_test_…` and unknown
    /// keys 100 per 10 s).
    pub fn default_for_key(api_key: &str) -> Rate {
        let limit = if api_key.starts_with("sk_live_") {
            PRODUCTION_LIMIT
        } else {
            DEVELOPMENT_LIMIT
        };
        Rate {
            requests: limit * DEFAULT_SHARE_PERCENT / 100,
            window: Duration::from_secs(10),
        }
    }

    /// Parses `N`, `N/10s`, `N/1s` or `N/500ms` (requests per window; the
    /// window defaults to Clerk's 10 s).
    pub fn parse(text: &str) -> Option<Rate> {
        let text = text.trim();
        let (count, window) = match text.split_once('/') {
            None => (text, Duration::from_secs(10)),
            Some((count, window)) => {
                let window = window.trim();
                let window = if let Some(ms) = window.strip_suffix("ms") {
                    Duration::from_millis(ms.trim().parse().ok()?)
                } else {
                    let secs = window.strip_suffix('s').unwrap_or(window);
                    Duration::from_secs(secs.trim().parse().ok()?)
                };
                (count, window)
            }
        };
        let requests: u32 = count.trim().parse().ok()?;
        let window_ok = (Duration::from_millis(1)..=MAX_WINDOW).contains(&window);
        (requests > 0 && window_ok).then_some(Rate { requests, window })
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.window.as_millis();
        if ms.is_multiple_of(1000) {
            write!(f, "{}/{}s", self.requests, ms / 1000)
        } else {
            write!(f, "{}/{}ms", self.requests, ms)
        }
    }
}

/// What one slot counts, in this order after its key and schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    Requests = 0,
    Retries,
    Throttled,
    BytesReceived,
    Rows,
    BudgetWaitMicros,
    Errors,
    /// Requests that write (INSERT, UPDATE, DELETE), once each however
    /// often attempted.
    Writes,
    WriteErrors,
}

pub const COUNTERS: usize = 9;
const KEY: usize = 0;
/// 0, or the pid of the process that holds the slot's lock.
const LOCK: usize = 1;
/// Requests scheduled so far: the next one's index in the ring.
const SCHEDULED: usize = 2;
/// Nobody starts before this (after a 429).
const PAUSED_UNTIL: usize = 3;
/// After a 429: the budget Clerk seemed to allow (0: none learned), and
/// when it was learned. It grows back by a tenth per window.
const LEARNED: usize = 4;
const LEARNED_AT: usize = 5;
/// When the slot's instance last used it: an idle slot can be reclaimed.
const LAST_USED: usize = 6;
const FIRST_COUNTER: usize = 7;
const HEADER_WORDS: usize = 16;
/// The largest budget a slot can enforce exactly.
pub const MAX_BUDGET: u32 = 2048;
/// The longest budget window: pacing over longer windows would stall scans.
pub const MAX_WINDOW: Duration = Duration::from_secs(3600);
/// u64 words per slot: header, then the ring of start times.
const SLOT_WORDS: usize = HEADER_WORDS + MAX_BUDGET as usize;
const SLOTS: usize = 256;
/// A slot unused for this long holds nothing that still matters (no window
/// is longer): another instance may take it, with fresh counters.
const RECLAIM_AFTER: u64 = MAX_WINDOW.as_nanos() as u64;
/// Words before the slots: the lock that serialises claiming slots.
const TABLE_HEADER_WORDS: usize = 8;
const CLAIM_LOCK: usize = 0;
const TABLE_WORDS: usize = TABLE_HEADER_WORDS + SLOTS * SLOT_WORDS;

/// The slot table, in a shared file or (when that cannot be opened) in this
/// process only.
///
/// A slot belongs to one instance at a time. An instance claims a free
/// slot, or the one idle longest once it has been idle for an hour; when
/// every slot is in use, the instance paces itself in this process only
/// rather than share another's slot (whose 429s would then pause it).
pub struct BudgetTable {
    words: Arc<SharedWords>,
    slots: usize,
}

impl BudgetTable {
    /// Maps `path` (created, zero-filled, when missing); falls back to a
    /// per-process table when the file cannot be used, which `is_shared`
    /// reports.
    pub fn open(path: &Path) -> BudgetTable {
        BudgetTable {
            words: Arc::new(SharedWords::open(path, TABLE_WORDS)),
            slots: SLOTS,
        }
    }

    pub fn local() -> BudgetTable {
        BudgetTable::with_slots(SLOTS)
    }

    /// A table of `slots` slots in this process only.
    fn with_slots(slots: usize) -> BudgetTable {
        BudgetTable {
            words: Arc::new(SharedWords::local(TABLE_HEADER_WORDS + slots * SLOT_WORDS)),
            slots,
        }
    }

    pub fn is_shared(&self) -> bool {
        self.words.is_shared()
    }

    fn slot_words(&self, index: usize) -> &[AtomicU64] {
        let start = TABLE_HEADER_WORDS + index * SLOT_WORDS;
        &self.words.words()[start..start + SLOT_WORDS]
    }

    /// The slot `key_hash` holds, if any.
    fn find(&self, key_hash: u64) -> Option<usize> {
        (0..self.slots).find(|&i| self.slot_words(i)[KEY].load(Ordering::Acquire) == key_hash)
    }

    /// The slot of `key_hash`: the one it holds, else a free one, else the
    /// one idle longest if idle for [`RECLAIM_AFTER`]; `None` when every
    /// slot is in use.
    fn claim(&self, key_hash: u64, now: u64) -> Option<usize> {
        if let Some(index) = self.find(key_hash) {
            return Some(index);
        }
        let _claiming = SlotLock::acquire(&self.words.words()[CLAIM_LOCK]);
        if let Some(index) = self.find(key_hash) {
            return Some(index);
        }
        let mut idlest: Option<(u64, usize)> = None;
        for index in 0..self.slots {
            let slot = self.slot_words(index);
            let _lock = SlotLock::acquire(&slot[LOCK]);
            let last_used = slot[LAST_USED].load(Ordering::Relaxed);
            let free = slot[KEY].load(Ordering::Acquire) == 0;
            // A use ahead of now comes from a clock that was set back.
            let idle = last_used.saturating_add(RECLAIM_AFTER) < now
                || last_used > now.saturating_add(STALE_AFTER);
            if free || idle {
                if free {
                    idlest = Some((0, index));
                    break;
                }
                if idlest.is_none_or(|(t, _)| last_used < t) {
                    idlest = Some((last_used, index));
                }
            }
        }
        let (_, index) = idlest?;
        let slot = self.slot_words(index);
        let _lock = SlotLock::acquire(&slot[LOCK]);
        for (i, word) in slot[..HEADER_WORDS].iter().enumerate() {
            if i != LOCK {
                word.store(0, Ordering::Relaxed);
            }
        }
        slot[LAST_USED].store(now, Ordering::Relaxed);
        slot[KEY].store(key_hash, Ordering::Release);
        Some(index)
    }
}
/// Nanoseconds since the Unix epoch. The wall clock, not a monotonic one:
/// the file outlives reboots, which restart monotonic clocks.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Slack before a schedule counts as stale (see [`Budget::reserve`]).
const STALE_AFTER: u64 = 120_000_000_000;

/// A spin lock in a slot, held for a few instructions. It records its
/// holder's pid, so a process killed while holding it cannot block others.
struct SlotLock<'a>(&'a AtomicU64);

impl SlotLock<'_> {
    fn acquire(word: &AtomicU64) -> SlotLock<'_> {
        static THREADS: AtomicU64 = AtomicU64::new(1);
        thread_local!(static TOKEN: u64 =
            (u64::from(std::process::id()) << 32) | (THREADS.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff));
        let me = TOKEN.with(|t| *t);
        let mut spins = 0u32;
        loop {
            match word.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return SlotLock(word),
                Err(holder) => {
                    spins += 1;
                    if spins.is_multiple_of(64) {
                        if holder != 0 && !process_alive((holder >> 32) as i32) {
                            let _ = word.compare_exchange(
                                holder,
                                0,
                                Ordering::AcqRel,
                                Ordering::Relaxed,
                            );
                        }
                        std::thread::yield_now();
                    } else {
                        std::hint::spin_loop();
                    }
                }
            }
        }
    }
}

impl Drop for SlotLock<'_> {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Release);
    }
}

fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH))
}

/// A budget table and the index of an instance's slot in it.
type Slot = (Arc<BudgetTable>, usize);

/// One Clerk instance's budget and counters, as a client uses them.
#[derive(Clone)]
pub struct Budget {
    table: Arc<BudgetTable>,
    key_hash: u64,
    /// `None`: no pacing (`request_budget 'off'`), counters only.
    rate: Option<Rate>,
    /// The table and slot this instance holds, once found.
    place: Arc<Mutex<Option<Slot>>>,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.rate {
            Some(rate) => write!(f, "Budget({rate})"),
            None => f.write_str("Budget(off)"),
        }
    }
}

/// The hash that names an instance's slot; never 0 (a free slot).
pub fn instance_hash(api_url: &str, api_key: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    api_url.trim_end_matches('/').hash(&mut h);
    api_key.hash(&mut h);
    h.finish().max(1)
}

impl Budget {
    pub fn new(table: Arc<BudgetTable>, key_hash: u64, rate: Option<Rate>) -> Budget {
        Budget {
            table,
            key_hash,
            rate,
            place: Arc::default(),
        }
    }

    /// The hash of the instance (see [`instance_hash`]).
    pub fn instance(&self) -> u64 {
        self.key_hash
    }

    /// Runs `f` on this instance's slot, locked. With `now`, the slot is
    /// claimed when the instance has none and marked used; without, `f`
    /// runs only if the instance holds one.
    fn with_slot<R>(&self, now: Option<u64>, f: impl FnOnce(&[AtomicU64]) -> R) -> Option<R> {
        let mut place = self.place.lock().unwrap_or_else(|p| p.into_inner());
        // A slot can be reclaimed between two uses (after an hour idle):
        // then look again, once.
        for _ in 0..2 {
            let (table, index) = match place.as_ref() {
                Some(found) => found.clone(),
                None => {
                    let found = match now {
                        Some(now) => self.claim(now),
                        None => self
                            .table
                            .find(self.key_hash)
                            .map(|i| (self.table.clone(), i)),
                    }?;
                    *place = Some(found.clone());
                    found
                }
            };
            let slot = table.slot_words(index);
            let _lock = SlotLock::acquire(&slot[LOCK]);
            if slot[KEY].load(Ordering::Acquire) == self.key_hash {
                if let Some(now) = now {
                    slot[LAST_USED].fetch_max(now, Ordering::Relaxed);
                }
                return Some(f(slot));
            }
            *place = None;
        }
        None
    }

    /// A slot of the shared table; when all are in use, one of this
    /// process's table; when those are too, one of this client's own.
    fn claim(&self, now: u64) -> Option<(Arc<BudgetTable>, usize)> {
        static LOCAL: OnceLock<Arc<BudgetTable>> = OnceLock::new();
        if let Some(index) = self.table.claim(self.key_hash, now) {
            return Some((self.table.clone(), index));
        }
        let local = LOCAL.get_or_init(|| Arc::new(BudgetTable::local())).clone();
        if let Some(index) = local.claim(self.key_hash, now) {
            return Some((local, index));
        }
        let own = Arc::new(BudgetTable::with_slots(1));
        own.claim(self.key_hash, now).map(|index| (own, index))
    }

    /// This instance's counters, in [`Counter`] order (zeros when it holds
    /// no slot).
    pub fn counters(&self) -> [u64; COUNTERS] {
        self.with_slot(None, |slot| {
            std::array::from_fn(|i| slot[FIRST_COUNTER + i].load(Ordering::Relaxed))
        })
        .unwrap_or([0; COUNTERS])
    }

    /// Sets this instance's counters back to zero (the pacing state stays).
    pub fn reset_counters(&self) {
        self.with_slot(None, |slot| {
            for word in &slot[FIRST_COUNTER..FIRST_COUNTER + COUNTERS] {
                word.store(0, Ordering::Relaxed);
            }
        });
    }

    /// Takes a turn for one request that starts now, or says how long to
    /// wait before asking again. Turns are recorded when they are taken, not
    /// reserved ahead: a request that was slow to start cannot push a later
    /// one into the same window.
    pub fn try_acquire(&self, now: u64) -> Result<(), Duration> {
        let Some(rate) = self.rate else {
            return Ok(());
        };
        self.with_slot(Some(now), |slot| {
            let window = with_margin(rate.window);
            let ring = |k: u64| ring_entry(slot, k);
            let n = allowed(rate, slot, now);
            let mut k = slot[SCHEDULED].load(Ordering::Acquire);
            let mut paused = slot[PAUSED_UNTIL].load(Ordering::Relaxed);
            let previous = if k > 0 {
                ring(k - 1).load(Ordering::Relaxed)
            } else {
                0
            };
            // Times ahead of now come from a clock that was set back: forget them.
            if previous > now + STALE_AFTER || paused > now + STALE_AFTER + window * 16 {
                k = 0;
                paused = 0;
                slot[PAUSED_UNTIL].store(0, Ordering::Relaxed);
            }
            if paused > now {
                return Err(Duration::from_nanos(paused - now));
            }
            if k >= n {
                let frees_at = ring(k - n).load(Ordering::Relaxed) + window;
                if frees_at > now {
                    return Err(Duration::from_nanos(frees_at - now));
                }
            }
            ring(k).store(now, Ordering::Relaxed);
            slot[SCHEDULED].store(k + 1, Ordering::Release);
            Ok(())
        })
        .unwrap_or(Ok(()))
    }

    /// Clerk answered 429: nobody sends for `pause`, and the budget drops to
    /// three quarters of what was sent in the last window (once per window,
    /// however many requests were refused), growing back by a tenth of that
    /// per window: a limit tighter than the budget is found and kept to.
    pub fn pause(&self, now: u64, pause: Duration) {
        let Some(rate) = self.rate else {
            return;
        };
        self.with_slot(Some(now), |slot| {
            let window = rate.window.as_nanos() as u64;
            let pause = u64::try_from(pause.as_nanos()).unwrap_or(u64::MAX);
            slot[PAUSED_UNTIL].fetch_max(now.saturating_add(pause), Ordering::AcqRel);
            let learned_at = slot[LEARNED_AT].load(Ordering::Relaxed);
            if slot[LEARNED].load(Ordering::Relaxed) != 0 && now < learned_at + window {
                return;
            }
            let k = slot[SCHEDULED].load(Ordering::Acquire);
            let recent = (0..k.min(u64::from(MAX_BUDGET)))
                .take_while(|i| ring_entry(slot, k - 1 - i).load(Ordering::Relaxed) + window > now)
                .count() as u64;
            slot[LEARNED].store((recent * 3 / 4).max(1), Ordering::Relaxed);
            slot[LEARNED_AT].store(now, Ordering::Relaxed);
        });
    }

    pub fn count(&self, counter: Counter, n: u64) {
        self.with_slot(Some(now_ns()), |slot| {
            slot[FIRST_COUNTER + counter as usize].fetch_add(n, Ordering::Relaxed);
        });
    }
}

/// The start time of the slot's `k`-th request, in its ring.
fn ring_entry(slot: &[AtomicU64], k: u64) -> &AtomicU64 {
    &slot[HEADER_WORDS + (k % u64::from(MAX_BUDGET)) as usize]
}

/// The window clerk_fdw keeps to: 2% longer than the budget's, so that
/// requests that travel at different speeds still arrive within budget.
fn with_margin(window: Duration) -> u64 {
    let window = window.as_nanos() as u64;
    window + window / 50
}

/// Requests per window now: the configured budget, or less while
/// recovering from a 429.
fn allowed(rate: Rate, slot: &[AtomicU64], now: u64) -> u64 {
    let configured = u64::from(rate.requests.min(MAX_BUDGET));
    let learned = slot[LEARNED].load(Ordering::Relaxed);
    if learned == 0 {
        return configured;
    }
    let windows = now.saturating_sub(slot[LEARNED_AT].load(Ordering::Relaxed))
        / rate.window.as_nanos().max(1) as u64;
    configured.min(learned + windows * learned.div_ceil(10))
}

/// The process-wide table for `path`, opened once.
pub fn table(path: Option<&Path>) -> Arc<BudgetTable> {
    Arc::new(BudgetTable {
        words: shared_words::open(path, TABLE_WORDS),
        slots: SLOTS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates_and_defaults_by_key_type() {
        let r = |t| Rate::parse(t).map(|r| (r.requests, r.window.as_millis()));
        assert_eq!(r("400"), Some((400, 10_000)));
        assert_eq!(r(" 20 / 1s "), Some((20, 1000)));
        assert_eq!(r("5/500ms"), Some((5, 500)));
        assert_eq!(r("0/10s"), None);
        assert_eq!(r("10/0s"), None);
        assert_eq!(r("ten"), None);
        assert_eq!(r("-1"), None);
        // Windows that would turn pacing off or stall every scan.
        assert_eq!(r("1/36028797018963968s"), None);
        assert_eq!(r("10/2000000000s"), None);
        assert_eq!(r("10/3601s"), None);
        assert_eq!(r("10/3600s"), Some((10, 3_600_000)));
        assert_eq!(Rate::default_for_key("sk_live_x").to_string(), "400/10s");
        assert_eq!(Rate::default_for_key("sk_test_x").to_string(), "40/10s");
        assert_eq!(Rate::parse("5/500ms").unwrap().to_string(), "5/500ms");
    }

    /// The most request starts in any window of `window` length.
    fn busiest_window(starts: &mut [u64], window: u64) -> usize {
        starts.sort_unstable();
        let mut best = 0;
        let mut first = 0;
        for last in 0..starts.len() {
            while starts[last] - starts[first] >= window {
                first += 1;
            }
            best = best.max(last - first + 1);
        }
        best
    }

    /// Waits (on a simulated clock) for a turn; when it was taken.
    fn acquire(budget: &Budget, t: &mut u64) -> u64 {
        while let Err(wait) = budget.try_acquire(*t) {
            *t += wait.as_nanos() as u64;
        }
        *t
    }

    /// Simulated clock: each "process" asks to send as fast as it can.
    #[test]
    fn no_window_exceeds_the_budget_across_processes() {
        let dir = std::env::temp_dir().join(format!("clerk_fdw_budget_{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let rate = Rate::parse("20/1s").unwrap();
        let hash = instance_hash("http://x/v1", "sk");
        // Two maps of one file stand for two backends.
        let a = Budget::new(Arc::new(BudgetTable::open(&dir)), hash, Some(rate));
        let b = Budget::new(Arc::new(BudgetTable::open(&dir)), hash, Some(rate));
        assert!(a.table.is_shared());
        let t0 = now_ns();
        let mut t = t0;
        let mut starts = Vec::new();
        for i in 0..200 {
            let who = if i % 3 == 0 { &a } else { &b };
            starts.push(acquire(who, &mut t));
        }
        let second = 1_000_000_000;
        assert!(busiest_window(&mut starts, second) <= 20);
        // The whole budget may go out at once, and the rest at full rate:
        // 200 requests at 20 per 1.02 s start within 9.18 s.
        assert_eq!(starts.iter().filter(|&&s| s == t0).count(), 20);
        assert_eq!(starts.iter().max().unwrap() - t0, 9 * second * 102 / 100);
        a.count(Counter::Requests, 3);
        b.count(Counter::Requests, 4);
        let again = Budget::new(Arc::new(BudgetTable::open(&dir)), hash, None);
        assert_eq!(again.counters(), [7, 0, 0, 0, 0, 0, 0, 0, 0]);
        // A reset clears what was counted, not the pacing: the budget is
        // as spent as before.
        assert!(a.try_acquire(t).is_err());
        again.reset_counters();
        assert_eq!(a.counters(), [0; COUNTERS]);
        assert!(a.try_acquire(t).is_err());
        std::fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn a_429_pauses_everyone_and_stale_schedules_reset() {
        let rate = Rate::parse("10/1s").unwrap();
        let table = Arc::new(BudgetTable::local());
        let a = Budget::new(table.clone(), 7, Some(rate));
        let b = Budget::new(table, 7, Some(rate));
        let t0 = 1_000_000_000_000;
        let second = 1_000_000_000;
        for _ in 0..6 {
            assert_eq!(a.try_acquire(t0), Ok(()));
        }
        a.pause(t0, Duration::from_secs(2));
        // A second 429 in the same window changes nothing more.
        a.pause(t0, Duration::from_secs(1));
        assert_eq!(b.try_acquire(t0), Err(Duration::from_secs(2)));
        // 6 went out in the window that got a 429: 4 per window from now on,
        // growing back by a tenth (rounded up) per window.
        let allowed_at = |t| b.with_slot(None, |slot| allowed(rate, slot, t)).unwrap();
        assert_eq!(allowed_at(t0), 4);
        assert_eq!(allowed_at(t0 + 2 * second), 6);
        assert_eq!(allowed_at(t0 + 60 * second), 10);
        let mut t = t0;
        let starts: Vec<u64> = (0..7).map(|_| acquire(&b, &mut t) - t0).collect();
        assert_eq!(starts[..6], [2 * second; 6]);
        assert_eq!(starts[6], 3 * second + second / 50);
        // A clock that went backwards (reboot) does not block forever.
        assert_eq!(b.try_acquire(1000), Ok(()));
    }

    #[test]
    fn instances_do_not_share_budgets() {
        let rate = Rate::parse("2/1s").unwrap();
        let table = Arc::new(BudgetTable::local());
        let t0 = 1_000_000_000_000;
        let a = Budget::new(table.clone(), instance_hash("u", "k1"), Some(rate));
        let b = Budget::new(table, instance_hash("u", "k2"), Some(rate));
        assert_eq!(a.try_acquire(t0), Ok(()));
        assert_eq!(a.try_acquire(t0), Ok(()));
        assert_eq!(a.try_acquire(t0), Err(Duration::from_millis(1020)));
        assert_eq!(b.try_acquire(t0), Ok(()));
    }

    /// A table full of instances idle for less than an hour: a new one
    /// gets a slot of its own elsewhere, never one of theirs; an hour
    /// later it takes the slot idle longest, and that slot's old instance
    /// finds another when it comes back.
    #[test]
    fn slots_are_reclaimed_after_an_hour_idle_and_never_shared() {
        let rate = Rate::parse("2/1s").unwrap();
        let table = Arc::new(BudgetTable::with_slots(3));
        let t0 = 1_000_000_000_000;
        let second = 1_000_000_000;
        let budget = |n: u64| Budget::new(table.clone(), 1000 + n, Some(rate));
        let holders: Vec<Budget> = (0..3).map(&budget).collect();
        for (i, b) in holders.iter().enumerate() {
            assert_eq!(b.try_acquire(t0 + i as u64 * second), Ok(()));
        }
        let newcomer = budget(3);
        newcomer.pause(t0, Duration::from_secs(30));
        assert!(newcomer.try_acquire(t0 + second).is_err());
        // The newcomer's pause reached none of the holders, and its slot is
        // not in their table.
        assert_eq!(table.find(1003), None);
        for (i, b) in holders.iter().enumerate() {
            assert_eq!(b.try_acquire(t0 + (i as u64 + 1) * second), Ok(()), "{i}");
        }
        // An hour after their last use, a later instance takes the slot
        // idle longest (holder 0's), with fresh counters.
        holders[0].count(Counter::Requests, 5);
        let later = budget(4);
        let hour = RECLAIM_AFTER;
        let in_use = |b: &Budget, t| b.with_slot(Some(t), |_| ()).is_some();
        // Still in use by holders 1 and 2 (counted just now by holder 0).
        let mut now = now_ns();
        assert!(in_use(&holders[1], now) && in_use(&holders[2], now));
        assert!(in_use(&later, now));
        assert_eq!(table.find(1004), None, "no slot was free yet");
        now += hour + second;
        assert!(in_use(&holders[1], now));
        let later = budget(5);
        assert!(in_use(&later, now + second));
        assert!(table.find(1005).is_some(), "the idle slot was reclaimed");
        assert_eq!(later.counters(), [0; COUNTERS]);
        // Holder 0 or 2 lost its slot; using it again finds another place.
        let lost = [&holders[0], &holders[2]]
            .into_iter()
            .find(|b| table.find(b.key_hash).is_none())
            .unwrap();
        assert_eq!(lost.try_acquire(now + 2 * second), Ok(()));
        assert_eq!(lost.try_acquire(now + 2 * second), Ok(()));
        assert!(lost.try_acquire(now + 2 * second).is_err());
    }
}
