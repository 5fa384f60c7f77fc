//! A bounded, thread-safe job registry.
//!
//! Holds an entry per job id. In-flight entries are never evicted; finished entries are evicted
//! oldest-finished first when an insert would pass the bound. When the registry is full of
//! in-flight entries an insert is refused with [`Error::RegistryFull`].
//!
//! A `std::sync::Mutex` guards it: critical sections are short and never `.await`, and the
//! heartbeat thread (on its own runtime) reads it too.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard};

use crate::error::Error;
use crate::job::JobId;

struct Slot<T> {
    value: T,
    finished: bool,
    /// Distinguishes this entry from an earlier one with the same id in `finished_order`.
    generation: u64,
}

struct Inner<T> {
    entries: HashMap<JobId, Slot<T>>,
    /// Finished entries, oldest first; stale pairs (removed or re-inserted ids) are skipped.
    finished_order: VecDeque<(JobId, u64)>,
    in_flight: usize,
    next_generation: u64,
}

/// A bounded map of jobs, safe to share between threads.
pub struct JobRegistry<T> {
    inner: Mutex<Inner<T>>,
    bound: usize,
}

impl<T: Clone> JobRegistry<T> {
    /// An empty registry holding at most `bound` entries.
    pub fn new(bound: NonZeroUsize) -> Self {
        JobRegistry {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                finished_order: VecDeque::new(),
                in_flight: 0,
                next_generation: 0,
            }),
            bound: bound.get(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // A panic while holding this lock cannot leave the maps inconsistent in a way that
        // matters more than losing the worker, so a poisoned lock is simply taken over.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Inserts an in-flight entry, evicting the oldest finished entry if the bound is reached.
    /// Replaces an existing entry with the same id.
    pub fn insert(&self, id: JobId, value: T) -> Result<(), Error> {
        let mut inner = self.lock();
        if let Some(old) = inner.entries.remove(&id) {
            if !old.finished {
                inner.in_flight -= 1;
            }
        }
        while inner.entries.len() >= self.bound {
            let Some((old_id, generation)) = inner.finished_order.pop_front() else {
                return Err(Error::RegistryFull { bound: self.bound });
            };
            let is_current = inner
                .entries
                .get(&old_id)
                .map(|slot| slot.finished && slot.generation == generation)
                .unwrap_or(false);
            if is_current {
                inner.entries.remove(&old_id);
            }
        }
        let generation = inner.next_generation;
        inner.next_generation += 1;
        inner.in_flight += 1;
        inner.entries.insert(
            id,
            Slot {
                value,
                finished: false,
                generation,
            },
        );
        Ok(())
    }

    /// Marks an entry finished: it stays readable until evicted.
    pub fn finish(&self, id: &JobId) {
        let mut inner = self.lock();
        let Some(slot) = inner.entries.get_mut(id) else {
            return;
        };
        if slot.finished {
            return;
        }
        slot.finished = true;
        let generation = slot.generation;
        inner.in_flight -= 1;
        inner.finished_order.push_back((id.clone(), generation));
        // Keep the order queue from growing without bound when entries are removed directly.
        if inner.finished_order.len() > 2 * self.bound {
            let entries = &inner.entries;
            let kept: VecDeque<(JobId, u64)> = inner
                .finished_order
                .iter()
                .filter(|(id, generation)| {
                    entries
                        .get(id)
                        .map(|slot| slot.finished && slot.generation == *generation)
                        .unwrap_or(false)
                })
                .cloned()
                .collect();
            inner.finished_order = kept;
        }
    }

    /// Removes an entry at once, in flight or not.
    pub fn remove(&self, id: &JobId) -> Option<T> {
        let mut inner = self.lock();
        let slot = inner.entries.remove(id)?;
        if !slot.finished {
            inner.in_flight -= 1;
        }
        Some(slot.value)
    }

    /// A clone of an entry's value.
    pub fn get(&self, id: &JobId) -> Option<T> {
        self.lock().entries.get(id).map(|slot| slot.value.clone())
    }

    /// Entries held (in flight and finished).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the registry is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries in flight.
    pub fn in_flight(&self) -> usize {
        self.lock().in_flight
    }

    /// Ids of the in-flight entries, sorted.
    pub fn in_flight_ids(&self) -> Vec<JobId> {
        let inner = self.lock();
        let mut ids: Vec<JobId> = inner
            .entries
            .iter()
            .filter(|(_, slot)| !slot.finished)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Clones of the in-flight values.
    pub fn in_flight_values(&self) -> Vec<T> {
        self.lock()
            .entries
            .values()
            .filter(|slot| !slot.finished)
            .map(|slot| slot.value.clone())
            .collect()
    }

    /// Clones of every value.
    pub fn values(&self) -> Vec<T> {
        self.lock()
            .entries
            .values()
            .map(|slot| slot.value.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn bound(value: usize) -> NonZeroUsize {
        NonZeroUsize::new(value).expect("non-zero")
    }

    #[test]
    fn ten_threads_creating_fifty_jobs_each_leave_exactly_the_bound() {
        let registry = Arc::new(JobRegistry::new(bound(100)));
        let threads: Vec<_> = (0..10)
            .map(|thread| {
                let registry = Arc::clone(&registry);
                std::thread::spawn(move || {
                    for index in 0..50 {
                        let id = JobId::new(format!("t{thread}-j{index}"));
                        registry
                            .insert(id.clone(), index)
                            .expect("room after eviction");
                        registry.finish(&id);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread finished");
        }
        assert_eq!(registry.len(), 100);
        assert_eq!(registry.in_flight(), 0);
    }

    #[test]
    fn in_flight_jobs_are_never_evicted() {
        let registry = JobRegistry::new(bound(3));
        registry.insert(JobId::from("a"), 1).expect("room");
        registry.insert(JobId::from("b"), 2).expect("room");
        registry.finish(&JobId::from("b"));
        registry.insert(JobId::from("c"), 3).expect("room");
        registry.insert(JobId::from("d"), 4).expect("evicts b");
        assert!(registry.get(&JobId::from("b")).is_none());
        assert!(matches!(
            registry.insert(JobId::from("e"), 5),
            Err(Error::RegistryFull { bound: 3 })
        ));
        assert_eq!(
            registry.in_flight_ids(),
            vec![JobId::from("a"), JobId::from("c"), JobId::from("d")]
        );
    }

    #[test]
    fn finished_jobs_are_evicted_oldest_first() {
        let registry = JobRegistry::new(bound(2));
        for id in ["a", "b"] {
            registry.insert(JobId::from(id), ()).expect("room");
        }
        registry.finish(&JobId::from("b"));
        registry.finish(&JobId::from("a"));
        registry.insert(JobId::from("c"), ()).expect("evicts b");
        assert!(registry.get(&JobId::from("a")).is_some());
        assert!(registry.get(&JobId::from("b")).is_none());
    }

    #[test]
    fn reinserting_an_id_does_not_let_a_stale_order_entry_evict_it() {
        let registry = JobRegistry::new(bound(2));
        registry.insert(JobId::from("a"), 1).expect("room");
        registry.finish(&JobId::from("a"));
        registry.insert(JobId::from("a"), 2).expect("replace");
        registry.insert(JobId::from("b"), 3).expect("room");
        assert!(registry.insert(JobId::from("c"), 4).is_err());
        assert_eq!(registry.get(&JobId::from("a")), Some(2));
    }
}
