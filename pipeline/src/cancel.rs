//! A cancellation token for blocking work.
//!
//! The pipeline runs on blocking threads, so it cannot await a tokio token. This token is a
//! flag that long loops poll, plus callbacks that fire once on cancellation: the engine
//! registers one per inference run that calls ONNX Runtime's run termination, so a deadline
//! stops inference that is already in flight. It knows nothing about ONNX Runtime or tokio.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

type Callback = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    next_id: AtomicU64,
    /// Callbacks waiting for cancellation. A std mutex is right: the critical sections are a
    /// push or a remove and never await.
    callbacks: Mutex<Vec<(u64, Callback)>>,
}

/// Cancels blocking work: cheap to clone, all clones share one state.
#[derive(Clone, Default)]
pub struct CancelToken {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels: sets the flag and runs every registered callback once.
    pub fn cancel(&self) {
        if self.inner.cancelled.swap(true, Ordering::SeqCst) {
            return;
        }
        let callbacks = std::mem::take(&mut *self.lock_callbacks());
        for (_, callback) in callbacks {
            callback();
        }
    }

    /// Whether [`cancel`](Self::cancel) has been called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Runs `callback` on cancellation, or at once when already cancelled. Dropping the
    /// returned registration removes the callback.
    pub fn on_cancel(&self, callback: impl FnOnce() + Send + 'static) -> CancelRegistration {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut callbacks = self.lock_callbacks();
            // Checked under the lock: `cancel` sets the flag before taking the list, so a
            // callback is either taken by `cancel` or run here, never lost.
            if !self.is_cancelled() {
                callbacks.push((id, Box::new(callback)));
                return CancelRegistration {
                    token: Some(self.clone()),
                    id,
                };
            }
        }
        callback();
        CancelRegistration { token: None, id }
    }

    fn lock_callbacks(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Callback)>> {
        // A panic inside a callback cannot leave the list half-updated, so poisoning is benign.
        self.inner
            .callbacks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Keeps a cancellation callback registered until dropped.
pub struct CancelRegistration {
    token: Option<CancelToken>,
    id: u64,
}

impl Drop for CancelRegistration {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            token.lock_callbacks().retain(|(id, _)| *id != self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn runs_callbacks_once_on_cancel() {
        let token = CancelToken::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let _registration = token.on_cancel(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        token.cancel();
        token.cancel();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(token.is_cancelled());
    }

    #[test]
    fn dropped_registration_does_not_fire() {
        let token = CancelToken::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        drop(token.on_cancel(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        token.cancel();
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn registering_after_cancel_runs_at_once() {
        let token = CancelToken::new();
        token.cancel();
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let _registration = token.on_cancel(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
