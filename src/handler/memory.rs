//! Memory per job: an estimate from the declared image size, made before any pixel buffer
//! exists, and a budget per worker that jobs reserve their estimate from.
//!
//! A job reads the image header ([`crate::pipeline::decode::probe`]: bounded, no pixels),
//! estimates its peak ([`job_estimate`]: decode, working image, model planes, labels, trace), then reserves that many megabytes of the worker's
//! budget (`input.memory_budget_mb` in `handler.toml`) before it decodes. A job whose
//! estimate does not fit waits for room (the budget is a fair, first-come semaphore, so a
//! large job is not starved by small ones); one whose estimate exceeds the whole budget can
//! never run and is refused with `InvalidInput` on `image`. The reservation is released when
//! the job's blocking work ends.

use std::sync::Arc;

use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

/// One mebibyte, the budget's unit.
pub const MIB: u64 = 1 << 20;

// Calibration (commands and raw figures in bench/hardening-memory.md): peak RSS of
// `/usr/bin/time -v target/release/gemini3 vectorize IMAGE` on the CPU provider, two series,
// pipeline.working_size 1024. A 64×64 image (the runtime and the sessions, no real job)
// peaked at 166 and 120 MiB; "job" below is the higher peak minus the lower baseline, 120 MiB,
// so that run-to-run noise (±50 MiB) counts against the estimate, not for it.
//
// | image (PNG)             | input px | working px | peak RSS (MiB) |   job | estimate |
// |-------------------------|---------:|-----------:|---------------:|------:|---------:|
// | flat 1024×1024          |    1.05M |      1.05M |       331, 355 |   235 |      316 |
// | noise 1024×1024, auto   |    1.05M |      1.05M |       343, 367 |   247 |      319 |
// | noise 1024×1024, pixel  |    1.05M |      1.05M |            391 |   271 |      319 |
// | noise 2048×2048         |    4.19M |      1.05M |       443, 307 |   323 |      412 |
// | flat 4096×4096          |    16.8M |      1.05M |       507, 567 |   447 |      736 |
// | flat 6300×6300 (RGB8)   |    39.7M |      1.05M |       999, 974 |   879 |     1348 |
// | flat 6300×6300 (RGBA16) |    39.7M |      1.05M |            967 |   847 |     1348 |
//
// Above the working size the slope is 18 to 22.5 B per input pixel (flat 4096² to 6300²);
// at the working size a job is at most ~270 MiB. The constants round both up: 28 B per input
// pixel, 256 B per padded working pixel, 32 MiB: the estimate is 1.18 (noise in pixel mode,
// the tightest) to 1.65 times the measured job.

/// Fixed part of a job's estimate, whatever its size: per-job state, the result JSON, logs,
/// allocator slack.
pub const JOB_BASE_BYTES: u64 = 32 * MIB;

/// Per padded working pixel (the long side is at most `pipeline.working_size`): the f32
/// model planes (input, clean plate, steering attempts), ONNX Runtime's activations on the
/// CPU provider, the label maps, fringe votes, opacity, the image tracer's clusters and the
/// SVG text (the SVG is bounded by `output.max_inline_bytes` only once the writer stops at
/// it; see bench/hardening-memory.md).
pub const JOB_BYTES_PER_WORKING_PIXEL: u64 = 256;

/// Per input pixel: the decoded RGBA8 image (4 B, held for the whole job), the decoder's own
/// buffer while it converts (up to 8 B for 16-bit RGBA, freed before the next step), the
/// white-composited RGB and alpha planes (4 B), and the resize's f32 intermediate (up to 16 B
/// a pixel of the input width times the working height).
pub const JOB_BYTES_PER_PIXEL: u64 = 28;

/// The estimated peak memory of one job on an image whose header declares `width × height`,
/// delivered as `encoded_bytes` (held for the whole job), processed at `working_size` (long
/// side) padded to a multiple of `pad_multiple`.
pub fn job_estimate(
    width: u32,
    height: u32,
    encoded_bytes: u64,
    working_size: u32,
    pad_multiple: u32,
) -> u64 {
    let pixels = u64::from(width) * u64::from(height);
    let (working_width, working_height) =
        crate::pipeline::working_dimensions(width, height, working_size);
    let padded = |side: u32| u64::from(side.div_ceil(pad_multiple.max(1)) * pad_multiple.max(1));
    let working_pixels = padded(working_width) * padded(working_height);
    JOB_BASE_BYTES
        .saturating_add(working_pixels.saturating_mul(JOB_BYTES_PER_WORKING_PIXEL))
        .saturating_add(pixels.saturating_mul(JOB_BYTES_PER_PIXEL))
        .saturating_add(encoded_bytes)
}

/// A reservation that can never be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an estimated {needed_mb} MB is more than the whole memory budget of {budget_mb} MB")]
pub struct NeverFits {
    /// Megabytes asked for.
    pub needed_mb: u64,
    /// The whole budget, megabytes.
    pub budget_mb: u64,
}

/// What the budget is doing, for logs, tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BudgetState {
    /// Megabytes held by running jobs now.
    pub reserved_mb: u64,
    /// Reservations waiting for room now.
    pub waiting: usize,
    /// The most megabytes held at once since the start (or [`MemoryBudget::reset_peak`]).
    pub peak_reserved_mb: u64,
    /// Reservations granted since the start.
    pub granted: u64,
}

/// The worker's memory budget, in megabytes.
#[derive(Debug, Clone)]
pub struct MemoryBudget {
    semaphore: Arc<Semaphore>,
    total_mb: u64,
    state: Arc<watch::Sender<BudgetState>>,
}

/// Megabytes held by a job; given back on drop.
#[derive(Debug)]
pub struct MemoryReservation {
    mb: u64,
    state: Arc<watch::Sender<BudgetState>>,
    _permit: OwnedSemaphorePermit,
}

impl MemoryReservation {
    /// Megabytes held.
    pub fn megabytes(&self) -> u64 {
        self.mb
    }
}

impl Drop for MemoryReservation {
    fn drop(&mut self) {
        let mb = self.mb;
        self.state.send_modify(|state| state.reserved_mb -= mb);
    }
}

/// Counts a waiting reservation for as long as it waits (also when its future is dropped).
struct Waiting<'a>(&'a watch::Sender<BudgetState>);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|state| state.waiting -= 1);
    }
}

/// Whole megabytes needed to hold `bytes`.
pub fn megabytes(bytes: u64) -> u64 {
    bytes.div_ceil(MIB)
}

impl MemoryBudget {
    /// A budget of `total_bytes`, rounded down to whole megabytes (at least one).
    pub fn new(total_bytes: u64) -> Self {
        // Tokio's semaphore holds at most usize::MAX >> 3 permits; acquire_many takes a u32.
        let total_mb = (total_bytes / MIB).clamp(1, u64::from(u32::MAX));
        Self {
            semaphore: Arc::new(Semaphore::new(total_mb as usize)),
            total_mb,
            state: Arc::new(watch::Sender::new(BudgetState::default())),
        }
    }

    /// The whole budget, megabytes.
    pub fn total_mb(&self) -> u64 {
        self.total_mb
    }

    /// What the budget is doing now.
    pub fn state(&self) -> BudgetState {
        *self.state.borrow()
    }

    /// Starts a new peak from what is held now (for benchmarks and tests that measure one
    /// batch).
    pub fn reset_peak(&self) {
        self.state
            .send_modify(|state| state.peak_reserved_mb = state.reserved_mb);
    }

    /// Follows the budget's state (each reservation, release and wait changes it).
    pub fn subscribe(&self) -> watch::Receiver<BudgetState> {
        self.state.subscribe()
    }

    /// Whether a reservation of `bytes` could ever be granted.
    pub fn check(&self, bytes: u64) -> Result<u64, NeverFits> {
        let needed_mb = megabytes(bytes).max(1);
        if needed_mb > self.total_mb {
            return Err(NeverFits {
                needed_mb,
                budget_mb: self.total_mb,
            });
        }
        Ok(needed_mb)
    }

    /// Takes `bytes` (rounded up to whole megabytes) of the budget now, if there is room and
    /// nobody is waiting ahead.
    pub fn try_reserve(&self, bytes: u64) -> Result<Option<MemoryReservation>, NeverFits> {
        let mb = self.check(bytes)?;
        Ok(Arc::clone(&self.semaphore)
            .try_acquire_many_owned(mb as u32)
            .ok()
            .map(|permit| self.granted(mb, permit)))
    }

    /// Takes `bytes` (rounded up to whole megabytes) of the budget, waiting in line for room.
    /// Cancel-safe: dropping the future gives up the place in line.
    pub async fn reserve(&self, bytes: u64) -> Result<MemoryReservation, NeverFits> {
        let mb = self.check(bytes)?;
        self.state.send_modify(|state| state.waiting += 1);
        let waiting = Waiting(&self.state);
        let permit = Arc::clone(&self.semaphore)
            .acquire_many_owned(mb as u32)
            .await
            .expect("the budget's semaphore is never closed");
        drop(waiting);
        Ok(self.granted(mb, permit))
    }

    fn granted(&self, mb: u64, permit: OwnedSemaphorePermit) -> MemoryReservation {
        self.state.send_modify(|state| {
            state.reserved_mb += mb;
            state.granted += 1;
            state.peak_reserved_mb = state.peak_reserved_mb.max(state.reserved_mb);
        });
        MemoryReservation {
            mb,
            state: Arc::clone(&self.state),
            _permit: permit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_grows_with_the_declared_size() {
        // At or under the working size, input and working pixels grow together.
        let small = job_estimate(64, 64, 1000, 1024, 32);
        assert_eq!(
            small,
            JOB_BASE_BYTES + 64 * 64 * (JOB_BYTES_PER_WORKING_PIXEL + JOB_BYTES_PER_PIXEL) + 1000
        );
        // Padding counts: 65 pads to 96.
        assert_eq!(
            job_estimate(65, 65, 0, 1024, 32) - JOB_BASE_BYTES,
            96 * 96 * JOB_BYTES_PER_WORKING_PIXEL + 65 * 65 * JOB_BYTES_PER_PIXEL
        );
        // Above it, only the input part grows.
        let large = job_estimate(6300, 6300, 5000, 1024, 32);
        assert_eq!(
            large,
            JOB_BASE_BYTES
                + 1024 * 1024 * JOB_BYTES_PER_WORKING_PIXEL
                + 6300 * 6300 * JOB_BYTES_PER_PIXEL
                + 5000
        );
        assert_eq!(
            job_estimate(u32::MAX, u32::MAX, u64::MAX, 1024, 32),
            u64::MAX
        );
    }

    #[test]
    fn refuses_what_can_never_fit_and_rounds_up() {
        let budget = MemoryBudget::new(100 * MIB);
        assert_eq!(
            budget.check(100 * MIB + 1),
            Err(NeverFits {
                needed_mb: 101,
                budget_mb: 100
            })
        );
        let held = budget.try_reserve(MIB + 1).unwrap().unwrap();
        assert_eq!(held.megabytes(), 2);
        assert!(budget.try_reserve(99 * MIB).unwrap().is_none());
        drop(held);
        assert_eq!(budget.state().reserved_mb, 0);
        assert_eq!(budget.state().peak_reserved_mb, 2);
    }
}
