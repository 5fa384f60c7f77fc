//! The local API's job store: bounded by count and by bytes, with finished jobs expiring.
//!
//! Every entry holds a byte charge: the size of its request body while it waits or runs, then
//! the size of its result once finished. Request bodies still arriving are charged too
//! ([`Store::charge_incoming`]), chunk by chunk, so a flood of slow uploads cannot hold more
//! than the budget. A finished entry is kept until `ttl` after it finished (RunPod keeps
//! `/run` results 30 minutes) and is **never evicted before then**: an insert or an incoming
//! body that would pass the count bound or the byte budget is refused with a [`StoreFull`] that
//! says which bound was hit (the API answers 429), whatever holds the room. Expired entries
//! are dropped on every access, so their memory goes without any traffic-independent timer
//! being needed for correctness (the server also sweeps once a minute).
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
    /// Every slot holds a job that is queued or running, or a result within its TTL.
    #[error(
        "job store is full: {bound} jobs queued, running or kept until their TTL; retry when \
         some finish or expire"
    )]
    Count {
        /// The count bound.
        bound: usize,
    },
    /// The bytes of queued and running inputs, bodies still arriving and kept results leave
    /// no room.
    #[error(
        "job store is over its byte budget: {held} bytes held by queued, running and arriving \
         jobs and kept results, {wanted} more asked, budget {budget} bytes; retry when some \
         finish or expire"
    )]
    Bytes {
        /// Bytes held now.
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
    /// Bytes of request bodies still arriving (not yet entries).
    incoming: usize,
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
                incoming: 0,
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

    /// Charges `more` bytes of a request body still arriving; refused when the budget (held
    /// entries plus every arriving body) has no room. Give it back with
    /// [`Store::release_incoming`], or turn it into an entry with [`Store::insert_incoming`].
    pub fn charge_incoming(&self, more: usize) -> Result<(), StoreFull> {
        let mut inner = self.lock();
        self.expire(&mut inner);
        let held = inner.bytes.saturating_add(inner.incoming);
        if held.saturating_add(more) > self.bounds.max_bytes {
            return Err(StoreFull::Bytes {
                held,
                wanted: more,
                budget: self.bounds.max_bytes,
            });
        }
        inner.incoming += more;
        Ok(())
    }

    /// Gives back `bytes` charged by [`Store::charge_incoming`].
    pub fn release_incoming(&self, bytes: usize) {
        let mut inner = self.lock();
        inner.incoming = inner.incoming.saturating_sub(bytes);
    }

    /// [`Store::insert`] of a body whose `bytes` were charged as arriving: the charge moves to
    /// the entry (and is given back if the insert is refused).
    pub fn insert_incoming(&self, id: JobId, value: T, bytes: usize) -> Result<(), StoreFull> {
        self.release_incoming(bytes);
        self.insert(id, value, bytes)
    }

    /// Adds an in-flight entry charged `bytes`; refused when the count bound or the byte
    /// budget has no room (finished entries are kept until their TTL, never evicted for room).
    pub fn insert(&self, id: JobId, value: T, bytes: usize) -> Result<(), StoreFull> {
        let mut inner = self.lock();
        self.expire(&mut inner);
        remove_slot(&mut inner, &id);
        if inner.entries.len() >= self.bounds.max_jobs {
            return Err(StoreFull::Count {
                bound: self.bounds.max_jobs,
            });
        }
        let held = inner.bytes.saturating_add(inner.incoming);
        if held.saturating_add(bytes) > self.bounds.max_bytes {
            return Err(StoreFull::Bytes {
                held,
                wanted: bytes,
                budget: self.bounds.max_bytes,
            });
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

    /// Marks an entry finished and re-charges it `result_bytes` (its input is gone). The result
    /// is kept until its TTL even when that puts the store over budget (its client is owed
    /// it; results are bounded by the handler's result limit): new submissions wait meanwhile.
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
        if inner.bytes > self.bounds.max_bytes {
            tracing::warn!(
                job_id = %id,
                held = inner.bytes,
                budget = self.bounds.max_bytes,
                "local API: kept results are over the store's byte budget; new jobs get 429 until some expire"
            );
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
    fn inputs_over_the_byte_budget_are_refused_and_results_are_kept_until_their_ttl() {
        let (store, clock) = store(10, 100);
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
        // a's result is not evicted for c: c is refused instead, a stays readable.
        assert_eq!(
            store.insert(id("c"), 3, 45),
            Err(StoreFull::Bytes {
                held: 60,
                wanted: 45,
                budget: 100
            })
        );
        assert_eq!(store.get(&id("a")), Some(1));
        clock.advance(Duration::from_secs(60));
        store
            .insert(id("c"), 3, 45)
            .expect("room once a's result expired");
        assert_eq!(store.get(&id("a")), None);
        assert_eq!(store.bytes(), 95);
    }

    #[test]
    fn arriving_bodies_count_against_the_budget() {
        let (store, _) = store(10, 100);
        store.insert(id("a"), 1, 40).expect("room");
        store.charge_incoming(30).expect("room for 30 arriving");
        assert_eq!(
            store.charge_incoming(31),
            Err(StoreFull::Bytes {
                held: 70,
                wanted: 31,
                budget: 100
            })
        );
        assert_eq!(
            store.insert(id("b"), 2, 31),
            Err(StoreFull::Bytes {
                held: 70,
                wanted: 31,
                budget: 100
            })
        );
        store
            .insert_incoming(id("c"), 3, 30)
            .expect("the arriving body becomes an entry");
        assert_eq!(store.bytes(), 70);
        store.charge_incoming(30).expect("room");
        store.release_incoming(30);
        store.charge_incoming(30).expect("room again once released");
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
    fn a_big_result_is_kept_and_older_results_too() {
        let (store, _) = store(10, 100);
        store.insert(id("a"), 1, 10).expect("room");
        store.finish(&id("a"), 40);
        store.insert(id("b"), 2, 10).expect("room");
        store.finish(&id("b"), 90);
        assert_eq!(store.get(&id("a")), Some(1));
        assert_eq!(store.get(&id("b")), Some(2));
        assert_eq!(store.bytes(), 130);
        assert!(store.insert(id("c"), 3, 1).is_err());
    }
}
