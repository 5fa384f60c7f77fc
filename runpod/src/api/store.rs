//! The local API's job store: bounded by count and by bytes, with finished jobs expiring.
//!
//! Every entry holds a byte charge: the size of its request body while it waits or runs, then
//! the size of its result once finished. An insert that would pass the count bound or the byte
//! budget first evicts finished entries, oldest-finished first; when only in-flight entries
//! are left it is refused with a [`StoreFull`] that says which bound was hit. A finished
//! entry expires `ttl` after it finished (RunPod keeps `/run` results 30 minutes); expired
//! entries are dropped on every access, so their memory goes without any traffic-independent
//! timer being needed for correctness (the server also sweeps once a minute).
//!
//! A `std::sync::Mutex` guards it: critical sections are short and never `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::job::JobId;

/// The time the store reads: the real monotonic clock, plus an offset tests can advance.
#[derive(Clone, Debug, Default)]
pub struct ApiClock {
    offset_ms: Arc<AtomicU64>,
}

impl ApiClock {
    /// The current instant.
    pub fn now(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every clone of it) forward, as if `by` had passed: tests use it
    /// to expire results without waiting.
    pub fn advance(&self, by: Duration) {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.offset_ms.fetch_add(millis, Ordering::Relaxed);
    }
}

/// Why an insert was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreFull {
    /// Every slot holds a job that is queued or running.
    #[error("job store is full: {bound} jobs queued or running; retry when some finish")]
    Count {
        /// The count bound.
        bound: usize,
    },
    /// The bytes of queued and running inputs plus kept results leave no room.
    #[error(
        "job store is over its byte budget: {held} bytes held by queued and running jobs, \
         {wanted} more asked, budget {budget} bytes; retry when some finish"
    )]
    Bytes {
        /// Bytes held by in-flight entries (finished ones were evicted first).
        held: usize,
        /// The refused entry's charge.
        wanted: usize,
        /// The budget.
        budget: usize,
    },
}

struct Slot<T> {
    value: T,
    bytes: usize,
    finished_at: Option<Instant>,
    generation: u64,
}

struct Inner<T> {
    entries: HashMap<JobId, Slot<T>>,
    /// Finished entries in the order they finished (so also the order they expire);
    /// stale pairs (evicted or replaced ids) are skipped.
    finished: VecDeque<(JobId, u64)>,
    bytes: usize,
    next_generation: u64,
}

/// Bounds of a [`Store`].
#[derive(Debug, Clone, Copy)]
pub struct StoreBounds {
    /// Most entries held.
    pub max_jobs: usize,
    /// Most bytes charged.
    pub max_bytes: usize,
    /// How long a finished entry is kept.
    pub ttl: Duration,
}

/// A map of jobs bounded by count and bytes; finished entries expire.
pub struct Store<T> {
    inner: Mutex<Inner<T>>,
    bounds: StoreBounds,
    clock: ApiClock,
}

impl<T: Clone> Store<T> {
    /// An empty store.
    pub fn new(bounds: StoreBounds, clock: ApiClock) -> Self {
        Store {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                finished: VecDeque::new(),
                bytes: 0,
                next_generation: 0,
            }),
            bounds,
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Drops finished entries older than the TTL.
    fn expire(&self, inner: &mut Inner<T>) {
        let now = self.clock.now();
        while let Some((id, generation)) = inner.finished.front().cloned() {
            match inner.entries.get(&id) {
                Some(slot) if slot.generation == generation => {
                    let finished_at = slot.finished_at.unwrap_or(now);
                    if now.saturating_duration_since(finished_at) < self.bounds.ttl {
                        break;
                    }
                    remove_slot(inner, &id);
                }
                _ => {}
            }
            inner.finished.pop_front();
        }
    }

    /// Evicts the oldest finished entry other than `keep`; returns whether it did.
    fn evict_oldest(inner: &mut Inner<T>, keep: Option<&JobId>) -> bool {
        let mut index = 0;
        while index < inner.finished.len() {
            let (id, generation) = inner.finished[index].clone();
            let current = inner
                .entries
                .get(&id)
                .map(|slot| slot.generation == generation && slot.finished_at.is_some())
                .unwrap_or(false);
            if !current {
                inner.finished.remove(index);
                continue;
            }
            if Some(&id) == keep {
                index += 1;
                continue;
            }
            inner.finished.remove(index);
            remove_slot(inner, &id);
            return true;
        }
        false
    }

    /// Adds an in-flight entry charged `bytes`, evicting finished entries for room.
    pub fn insert(&self, id: JobId, value: T, bytes: usize) -> Result<(), StoreFull> {
        let mut inner = self.lock();
        self.expire(&mut inner);
        remove_slot(&mut inner, &id);
        while inner.entries.len() >= self.bounds.max_jobs {
            if !Self::evict_oldest(&mut inner, None) {
                return Err(StoreFull::Count {
                    bound: self.bounds.max_jobs,
                });
            }
        }
        while inner.bytes.saturating_add(bytes) > self.bounds.max_bytes {
            if !Self::evict_oldest(&mut inner, None) {
                return Err(StoreFull::Bytes {
                    held: inner.bytes,
                    wanted: bytes,
                    budget: self.bounds.max_bytes,
                });
            }
        }
        let generation = inner.next_generation;
        inner.next_generation += 1;
        inner.bytes += bytes;
        inner.entries.insert(
            id,
            Slot {
                value,
                bytes,
                finished_at: None,
                generation,
            },
        );
        Ok(())
    }

    /// Marks an entry finished and re-charges it `result_bytes` (its input is gone). While
    /// the store is over budget, older finished entries are evicted; this one is kept even
    /// then, since its client is owed the result.
    pub fn finish(&self, id: &JobId, result_bytes: usize) {
        let mut inner = self.lock();
        let now = self.clock.now();
        let Some(slot) = inner.entries.get_mut(id) else {
            return;
        };
        if slot.finished_at.is_some() {
            return;
        }
        let old = std::mem::replace(&mut slot.bytes, result_bytes);
        slot.finished_at = Some(now);
        let generation = slot.generation;
        inner.bytes = inner.bytes - old + result_bytes;
        inner.finished.push_back((id.clone(), generation));
        while inner.bytes > self.bounds.max_bytes {
            if !Self::evict_oldest(&mut inner, Some(id)) {
                break;
            }
        }
    }

    /// A clone of a live entry.
    pub fn get(&self, id: &JobId) -> Option<T> {
        let mut inner = self.lock();
        self.expire(&mut inner);
        inner.entries.get(id).map(|slot| slot.value.clone())
    }

    /// Clones of every live value.
    pub fn values(&self) -> Vec<T> {
        let mut inner = self.lock();
        self.expire(&mut inner);
        inner
            .entries
            .values()
            .map(|slot| slot.value.clone())
            .collect()
    }

    /// Clones of the values not yet finished.
    pub fn in_flight_values(&self) -> Vec<T> {
        self.lock()
            .entries
            .values()
            .filter(|slot| slot.finished_at.is_none())
            .map(|slot| slot.value.clone())
            .collect()
    }

    /// Drops expired entries now.
    pub fn sweep(&self) {
        let mut inner = self.lock();
        self.expire(&mut inner);
    }

    /// Bytes charged now (after expiring).
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        let mut inner = self.lock();
        self.expire(&mut inner);
        inner.bytes
    }
}

fn remove_slot<T>(inner: &mut Inner<T>, id: &JobId) {
    if let Some(slot) = inner.entries.remove(id) {
        inner.bytes -= slot.bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(max_jobs: usize, max_bytes: usize) -> (Store<u32>, ApiClock) {
        let clock = ApiClock::default();
        let bounds = StoreBounds {
            max_jobs,
            max_bytes,
            ttl: Duration::from_secs(60),
        };
        (Store::new(bounds, clock.clone()), clock)
    }

    fn id(text: &str) -> JobId {
        JobId::from(text)
    }

    #[test]
    fn inputs_over_the_byte_budget_are_refused_while_jobs_are_in_flight() {
        let (store, _) = store(10, 100);
        store.insert(id("a"), 1, 60).expect("room");
        assert_eq!(
            store.insert(id("b"), 2, 50),
            Err(StoreFull::Bytes {
                held: 60,
                wanted: 50,
                budget: 100
            })
        );
        store.finish(&id("a"), 10);
        assert_eq!(store.bytes(), 10);
        store
            .insert(id("b"), 2, 50)
            .expect("room once a's input is gone");
        store.insert(id("c"), 3, 45).expect("evicts a's result");
        assert_eq!(store.get(&id("a")), None);
        assert_eq!(store.bytes(), 95);
    }

    #[test]
    fn results_expire_after_the_ttl_and_free_their_bytes() {
        let (store, clock) = store(10, 1000);
        store.insert(id("a"), 1, 10).expect("room");
        store.finish(&id("a"), 500);
        clock.advance(Duration::from_secs(59));
        assert_eq!(store.get(&id("a")), Some(1));
        clock.advance(Duration::from_secs(1));
        assert_eq!(store.get(&id("a")), None);
        assert_eq!(store.bytes(), 0);
    }

    #[test]
    fn in_flight_entries_never_expire_or_get_evicted() {
        let (store, clock) = store(1, 1000);
        store.insert(id("a"), 1, 10).expect("room");
        clock.advance(Duration::from_secs(3600));
        assert_eq!(store.get(&id("a")), Some(1));
        assert_eq!(
            store.insert(id("b"), 2, 10),
            Err(StoreFull::Count { bound: 1 })
        );
    }

    #[test]
    fn a_big_result_evicts_older_results_but_is_kept_itself() {
        let (store, _) = store(10, 100);
        store.insert(id("a"), 1, 10).expect("room");
        store.finish(&id("a"), 40);
        store.insert(id("b"), 2, 10).expect("room");
        store.finish(&id("b"), 90);
        assert_eq!(store.get(&id("a")), None);
        assert_eq!(store.get(&id("b")), Some(2));
        assert_eq!(store.bytes(), 90);
    }
}
