//! Delivers the test server's webhook events over HTTP as Svix delivers
//! Clerk's: each event is POSTed to one endpoint, signed anew for every
//! attempt, and retried after anything but a 2xx on Svix's schedule
//! (scaled down for tests). On request it drops, duplicates and reorders
//! deliveries, as Svix may (it promises neither order nor exactly-once).

use crate::webhooks::{self, Delivery};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Svix's retry schedule: the wait before each attempt after the first
/// (<https://docs.svix.com/retries>): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
/// 10 h.
const SVIX_RETRIES_S: [u64; 7] = [5, 300, 1800, 7200, 18000, 36000, 36000];

/// What goes wrong on the way, drawn for each event.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Share of events never delivered.
    pub drop: f64,
    /// Share of events delivered twice (same `svix-id`).
    pub duplicate: f64,
    /// Each delivery waits up to this long before its first attempt, so
    /// that later events can overtake it.
    pub reorder: Duration,
}

/// Counts, for the tests and `/__mock/webhooks`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SenderStats {
    pub attempts: u64,
    /// Deliveries answered 2xx.
    pub delivered: u64,
    /// Attempts answered otherwise, or that failed to connect.
    pub failed_attempts: u64,
    pub dropped: u64,
    pub duplicated: u64,
    /// Deliveries that ran out of attempts.
    pub exhausted: u64,
    /// Deliveries not yet answered 2xx nor given up.
    pub pending: u64,
}

struct Job {
    due: Instant,
    seq: u64,
    attempt: usize,
    delivery: Delivery,
}

impl PartialEq for Job {
    fn eq(&self, other: &Job) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Job {}
impl PartialOrd for Job {
    fn partial_cmp(&self, other: &Job) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Job {
    /// The heap's top is the earliest due.
    fn cmp(&self, other: &Job) -> std::cmp::Ordering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

struct Queue {
    jobs: BinaryHeap<Job>,
    seq: u64,
    secret: String,
    faults: Faults,
}

/// Sends deliveries to one endpoint with a few worker threads.
pub struct Sender {
    url: String,
    /// Multiplies Svix's retry waits (1.0 = Svix's own schedule).
    retry_scale: f64,
    queue: Mutex<Queue>,
    wake: Condvar,
    stopping: AtomicBool,
    counts: [AtomicU64; 7],
}

const ATTEMPTS: usize = 0;
const DELIVERED: usize = 1;
const FAILED: usize = 2;
const DROPPED: usize = 3;
const DUPLICATED: usize = 4;
const EXHAUSTED: usize = 5;
const PENDING: usize = 6;

impl Sender {
    /// Starts `workers` threads that deliver to `url`, signing with
    /// `secret` (`whsec_...`).
    pub fn start(url: &str, secret: &str, retry_scale: f64, workers: usize) -> Arc<Sender> {
        let sender = Arc::new(Sender {
            url: url.to_string(),
            retry_scale: retry_scale.clamp(0.0, 1.0),
            queue: Mutex::new(Queue {
                jobs: BinaryHeap::new(),
                seq: 0,
                secret: secret.to_string(),
                faults: Faults::default(),
            }),
            wake: Condvar::new(),
            stopping: AtomicBool::new(false),
            counts: Default::default(),
        });
        for _ in 0..workers.max(1) {
            let sender = sender.clone();
            thread::spawn(move || sender.work());
        }
        sender
    }

    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    pub fn set_secret(&self, secret: &str) {
        self.lock().secret = secret.to_string();
    }

    pub fn stats(&self) -> SenderStats {
        let n = |i: usize| self.counts[i].load(Ordering::Relaxed);
        SenderStats {
            attempts: n(ATTEMPTS),
            delivered: n(DELIVERED),
            failed_attempts: n(FAILED),
            dropped: n(DROPPED),
            duplicated: n(DUPLICATED),
            exhausted: n(EXHAUSTED),
            pending: n(PENDING),
        }
    }

    /// Queues `delivery`, or drops or duplicates it as the faults say.
    pub fn send(&self, delivery: Delivery) {
        let mut queue = self.lock();
        let faults = queue.faults;
        if fastrand::f64() < faults.drop {
            self.counts[DROPPED].fetch_add(1, Ordering::Relaxed);
            return;
        }
        let copies = if fastrand::f64() < faults.duplicate {
            self.counts[DUPLICATED].fetch_add(1, Ordering::Relaxed);
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = faults.reorder.mul_f64(fastrand::f64());
            queue.seq += 1;
            let seq = queue.seq;
            queue.jobs.push(Job {
                due: Instant::now() + delay,
                seq,
                attempt: 0,
                delivery: delivery.clone(),
            });
            self.counts[PENDING].fetch_add(1, Ordering::Relaxed);
        }
        drop(queue);
        self.wake.notify_all();
    }

    /// Ends the worker threads; deliveries still queued are not sent.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        self.wake.notify_all();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn work(&self) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(15)))
            .build()
            .into();
        loop {
            let (job, secret) = {
                let mut queue = self.lock();
                loop {
                    if self.stopping.load(Ordering::Relaxed) {
                        return;
                    }
                    let now = Instant::now();
                    match queue.jobs.peek().map(|j| j.due) {
                        Some(due) if due <= now => break,
                        Some(due) => {
                            queue = self
                                .wake
                                .wait_timeout(queue, due - now)
                                .map_or_else(|p| p.into_inner().0, |r| r.0);
                        }
                        None => {
                            queue = self.wake.wait(queue).unwrap_or_else(|p| p.into_inner());
                        }
                    }
                }
                let job = queue.jobs.pop().expect("a due job");
                (job, queue.secret.clone())
            };
            self.counts[ATTEMPTS].fetch_add(1, Ordering::Relaxed);
            let mut request = agent
                .post(&self.url)
                .header("content-type", "application/json");
            for (name, value) in webhooks::sign(&secret, &job.delivery) {
                request = request.header(name, value);
            }
            let ok = request
                .send(job.delivery.body.as_bytes())
                .is_ok_and(|response| response.status().is_success());
            if ok {
                self.counts[DELIVERED].fetch_add(1, Ordering::Relaxed);
                self.counts[PENDING].fetch_sub(1, Ordering::Relaxed);
                continue;
            }
            self.counts[FAILED].fetch_add(1, Ordering::Relaxed);
            let Some(wait_s) = SVIX_RETRIES_S.get(job.attempt) else {
                self.counts[EXHAUSTED].fetch_add(1, Ordering::Relaxed);
                self.counts[PENDING].fetch_sub(1, Ordering::Relaxed);
                continue;
            };
            let wait = Duration::from_secs(*wait_s).mul_f64(self.retry_scale);
            let mut queue = self.lock();
            queue.seq += 1;
            let seq = queue.seq;
            queue.jobs.push(Job {
                due: Instant::now() + wait,
                seq,
                attempt: job.attempt + 1,
                delivery: job.delivery,
            });
            drop(queue);
            self.wake.notify_all();
        }
    }
}
