//! Issue 12's application half: decoding bombs, memory per job, SSRF through IPv6 forms that
//! embed IPv4, and credentials in `image_url`. One regression test per finding, each failing
//! on the code before the fix.
//!
//! This binary counts allocations per thread and refuses any single allocation above 1 GiB:
//! a decoder that tries to inflate a bomb aborts the binary (a failure) instead of taking the
//! machine's memory, and a bounded one shows its peak.

mod common;
#[path = "support/worker.rs"]
mod worker;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use common::{fills, png_chunk as chunk, png_header_only};
use gemini3::commands::worker::worker_config;
use gemini3::download::{download, DownloadError, DownloadPolicy};
use gemini3::engine::Engine;
use gemini3::handler::memory::{job_estimate, megabytes, MemoryBudget, MIB};
use gemini3::handler::{HandlerConfig, VectorizeHandler};
use gemini3::pipeline::decode::{probe, METADATA_ALLOC};
use gemini3::pipeline::{decode, DecodeLimits, Pipeline, PipelineErrorKind};
use gemini3::settings::{HandlerSettings, LoadOptions, Settings};
use worker::{error_report, Worker};

// ---------------------------------------------------------------------------------------------
// A counting allocator with a cap on single allocations.

/// Largest single allocation this binary grants.
const LARGEST_ALLOCATION: usize = 1 << 30;

struct Counting;

thread_local! {
    static CURRENT: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn account(delta: i64) {
    let _ = CURRENT.try_with(|current| {
        let now = current.get() + delta;
        current.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged, or refused with null
// (which the standard library turns into an allocation-failure abort); the bookkeeping only
// touches const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > LARGEST_ALLOCATION {
            return std::ptr::null_mut();
        }
        let pointer = System.alloc(layout);
        if !pointer.is_null() {
            account(layout.size() as i64);
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > LARGEST_ALLOCATION {
            return std::ptr::null_mut();
        }
        let pointer = System.alloc_zeroed(layout);
        if !pointer.is_null() {
            account(layout.size() as i64);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        System.dealloc(pointer, layout);
        account(-(layout.size() as i64));
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > LARGEST_ALLOCATION {
            return std::ptr::null_mut();
        }
        let moved = System.realloc(pointer, layout, new_size);
        if !moved.is_null() {
            account(new_size as i64 - layout.size() as i64);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `work` and returns its result with the most bytes this thread held at once above
/// what it held before.
fn peak_allocation<T>(work: impl FnOnce() -> T) -> (T, u64) {
    let start = CURRENT.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    let result = work();
    let peak = PEAK.with(Cell::get);
    (result, (peak - start).max(0) as u64)
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A zlib stream that inflates to `mebibytes` MiB of zeros, streamed: one MiB of zeros is
/// compressed once with a full flush (byte-aligned, no back-references across it, so the
/// same bytes decode correctly anywhere in the stream), repeated, then closed with an empty
/// final block and the Adler-32 of the zeros (a = 1, b = length mod 65521).
fn zlib_zeros(mebibytes: u64) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    const SEGMENT: usize = 1 << 20;
    let zeros = vec![0u8; SEGMENT];
    let mut compress = Compress::new(Compression::best(), false);
    let mut segment = Vec::with_capacity(64 << 10);
    compress
        .compress_vec(&zeros, &mut segment, FlushCompress::Full)
        .unwrap();
    assert_eq!(
        compress.total_in(),
        SEGMENT as u64,
        "one call takes the MiB"
    );
    let mut stream = vec![0x78, 0xda];
    for _ in 0..mebibytes {
        stream.extend_from_slice(&segment);
    }
    stream.extend_from_slice(&[0x03, 0x00]);
    let length = mebibytes * SEGMENT as u64;
    let adler = (((length % 65521) as u32) << 16) | 1;
    stream.extend_from_slice(&adler.to_be_bytes());
    stream
}

/// Finding 1's fixture: a valid 128×128 RGBA PNG whose `iCCP` colour profile inflates to
/// `mebibytes` MiB of zeros.
fn iccp_bomb_png(mebibytes: u64) -> Vec<u8> {
    let (width, height) = (128u32, 128u32);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    let mut iccp = b"bomb\0\0".to_vec();
    iccp.extend_from_slice(&zlib_zeros(mebibytes));
    chunk(&mut png, b"iCCP", &iccp);
    // Rows of filter byte 0 and opaque blue pixels.
    let mut row = vec![0u8];
    row.extend_from_slice(&[0x1e, 0x5a, 0xc8, 0xff].repeat(width as usize));
    let raw = row.repeat(height as usize);
    let mut idat = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut idat, &raw).unwrap();
    chunk(&mut png, b"IDAT", &idat.finish().unwrap());
    chunk(&mut png, b"IEND", &[]);
    png
}

/// The shipped limits.
fn decode_limits() -> DecodeLimits {
    DecodeLimits::from(&handler_settings().input)
}

fn handler_settings() -> HandlerSettings {
    HandlerSettings::load(&root(), None, &[]).expect("valid handler.toml")
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn logo_png() -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures/logo96.png")).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Finding 1: the colour-profile bomb.

#[test]
fn the_bomb_fixture_is_small_and_inflates_to_gigabytes() {
    let bomb = zlib_zeros(3 << 10);
    assert!(bomb.len() < 4 << 20, "{} bytes", bomb.len());
    // Inflate a prefix with a bounded decoder: it is zeros all the way.
    let mut inflate = flate2::Decompress::new(true);
    let mut out = Vec::with_capacity(8 << 20);
    inflate
        .decompress_vec(&bomb, &mut out, flate2::FlushDecompress::None)
        .unwrap();
    assert_eq!(out.len(), 8 << 20);
    assert!(out.iter().all(|b| *b == 0));
    // A small one checks the end of the stream (the final block and the checksum).
    let small = zlib_zeros(3);
    let mut inflate = flate2::Decompress::new(true);
    let mut out = Vec::with_capacity((3 << 20) + 1);
    let status = inflate
        .decompress_vec(&small, &mut out, flate2::FlushDecompress::Finish)
        .unwrap();
    assert_eq!(status, flate2::Status::StreamEnd);
    assert_eq!(out.len(), 3 << 20);
}

#[test]
fn iccp_bomb_is_invalid_input_on_image_without_allocating_gigabytes() {
    // 3 GiB of zeros in about 3 MB.
    let bomb = iccp_bomb_png(3 << 10);
    assert!(bomb.len() < 4 << 20, "{} bytes", bomb.len());
    let limits = decode_limits();
    for (pass, result) in [
        (
            "probe",
            peak_allocation(|| probe(&bomb, &limits).map(|_| ())),
        ),
        (
            "decode",
            peak_allocation(|| decode(&bomb, &limits).map(|_| ())),
        ),
    ] {
        let (outcome, peak) = result;
        let error = outcome.expect_err("the bomb is refused");
        match &error.kind {
            PipelineErrorKind::InvalidInput { field, message } => {
                assert_eq!(field, "image", "{pass}");
                assert!(message.contains("metadata"), "{pass}: {message}");
            }
            other => panic!("{pass}: not InvalidInput: {other:?}"),
        }
        assert!(
            peak < 4 * METADATA_ALLOC,
            "{pass}: allocated {peak} bytes at once"
        );
    }
}

#[test]
fn a_real_colour_profile_still_decodes() {
    // A 1 MiB profile: far under the allowance.
    let png = iccp_bomb_png(1);
    let decoded = decode(&png, &decode_limits()).expect("a small profile is fine");
    assert_eq!((decoded.width, decoded.height), (128, 128));
    assert_eq!(&decoded.rgba[..4], &[0x1e, 0x5a, 0xc8, 0xff]);
}

// ---------------------------------------------------------------------------------------------
// Findings 7 and 8: SSRF through embedded IPv4, credentials in URLs.

fn policy() -> DownloadPolicy {
    DownloadPolicy {
        max_bytes: 1 << 20,
        timeout: Duration::from_secs(5),
        allow_private: false,
    }
}

#[tokio::test]
async fn ipv6_forms_of_private_ipv4_addresses_are_refused() {
    for url in [
        "http://[::127.0.0.1]/",                          // IPv4-compatible
        "http://[::ffff:127.0.0.1]/",                     // IPv4-mapped
        "http://[2002:7f00:1::]/",                        // 6to4
        "http://[2002:a9fe:a9fe::1]/latest/meta-data",    // 6to4 of the metadata address
        "http://[64:ff9b::7f00:1]/",                      // NAT64
        "http://[64:ff9b:1::c0a8:1]/",                    // local-use NAT64
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", // Teredo, client 127.0.0.1
        "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/", // Teredo, client 10.0.0.1
    ] {
        let error = download(url, &policy()).await.unwrap_err();
        assert!(
            matches!(error, DownloadError::PrivateAddress { .. }),
            "{url}: {error}"
        );
        assert!(error.to_string().starts_with("image_url: "), "{error}");
    }
    for public in [
        "::8.8.8.8",
        "2002:808:808::",
        "64:ff9b::808:808",
        "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
    ] {
        assert!(
            gemini3::download::is_public(public.parse().unwrap()),
            "{public}"
        );
    }
}

#[tokio::test]
async fn download_errors_never_show_the_credentials_of_an_image_url() {
    for url in [
        "http://alice:hunter2@127.0.0.1:9/x.png",
        "http://alice:hunter2@[::127.0.0.1]/x.png",
        "gopher://alice:hunter2@example.com/x.png",
        "http://alice:hunter2@exa mple.com/x.png",
    ] {
        let message = download(url, &policy()).await.unwrap_err().to_string();
        assert!(!message.contains("alice"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.starts_with("image_url: "), "{message}");
    }
}

// ---------------------------------------------------------------------------------------------
// Finding 5: the memory budget, without the pipeline.

#[tokio::test]
async fn two_reservations_whose_sum_exceeds_the_budget_do_not_hold_at_once() {
    let budget = MemoryBudget::new(100 * MIB);
    let first = budget.reserve(60 * MIB).await.unwrap();
    let second = budget.reserve(60 * MIB);
    tokio::pin!(second);
    // Polled once: it cannot be granted while the first is held.
    assert!(futures_util::poll!(second.as_mut()).is_pending());
    assert_eq!(budget.state().waiting, 1);
    assert_eq!(budget.state().reserved_mb, 60);
    // A smaller, later one does not jump the line either (no starvation of the large one).
    assert!(budget.try_reserve(30 * MIB).unwrap().is_none());
    drop(first);
    let second = second.await.unwrap();
    assert_eq!(second.megabytes(), 60);
    let state = budget.state();
    assert_eq!(
        (state.waiting, state.reserved_mb, state.peak_reserved_mb),
        (0, 60, 60)
    );
    assert_eq!(
        budget.check(101 * MIB).unwrap_err().to_string(),
        "an estimated 101 MB is more than the whole memory budget of 100 MB"
    );
}

#[tokio::test]
async fn a_waiting_reservation_that_is_dropped_leaves_the_line() {
    let budget = MemoryBudget::new(10 * MIB);
    let held = budget.reserve(10 * MIB).await.unwrap();
    {
        let waiting = budget.reserve(MIB);
        tokio::pin!(waiting);
        assert!(futures_util::poll!(waiting.as_mut()).is_pending());
        assert_eq!(budget.state().waiting, 1);
    }
    assert_eq!(budget.state().waiting, 0);
    drop(held);
    assert!(budget.try_reserve(10 * MIB).unwrap().is_some());
}

#[test]
fn the_estimate_of_a_declared_40_megapixel_image_is_made_from_its_header_alone() {
    // 4.9 KB on the wire, 6300×6300 declared: the estimate comes from the header.
    let bytes = png_header_only(6300, 6300);
    let (header, peak) = peak_allocation(|| probe(&bytes, &decode_limits()).unwrap());
    assert_eq!((header.width, header.height), (6300, 6300));
    assert!(peak < 1 << 20, "probing allocated {peak} bytes");
    let estimate = job_estimate(header.width, header.height, bytes.len() as u64, 1024, 32);
    assert!(megabytes(estimate) > 1000, "{estimate}");
    let shipped = handler_settings().input.memory_budget_bytes;
    assert!(
        estimate < shipped,
        "the largest accepted image fits the shipped budget"
    );
}

// ---------------------------------------------------------------------------------------------
// The handler end to end: the fake queue and the real pipeline on CPU.

fn pipeline() -> Arc<Pipeline> {
    static PIPELINE: OnceLock<Arc<Pipeline>> = OnceLock::new();
    PIPELINE
        .get_or_init(|| {
            let settings = Settings::load(&LoadOptions {
                root: root(),
                env: vec![("GEMINI3__HARDWARE__DEVICE".into(), "cpu".into())],
                ..Default::default()
            })
            .expect("valid settings");
            let engine = Engine::load(&settings.engine).expect("ONNX Runtime loads");
            let models = engine.load_models(&settings.pipeline).expect("models load");
            Arc::new(Pipeline::new(settings.pipeline, models))
        })
        .clone()
}

fn handler(memory_budget_bytes: Option<u64>) -> Arc<VectorizeHandler> {
    let settings = handler_settings();
    let mut input = settings.input;
    if let Some(bytes) = memory_budget_bytes {
        input.memory_budget_bytes = bytes;
    }
    Arc::new(VectorizeHandler::new(
        pipeline(),
        HandlerConfig {
            input,
            output: settings.output,
            allow_private_downloads: false,
            bucket: None,
        },
    ))
}

fn config(concurrency: usize) -> runpod::WorkerConfig {
    let mut settings = handler_settings().worker;
    settings.concurrency = concurrency.try_into().unwrap();
    settings.progress_interval = Duration::ZERO;
    worker_config(&settings)
}

/// The estimate of a job on the logo fixture, in whole megabytes.
fn logo_estimate_mb() -> u64 {
    let settings = pipeline().settings().clone();
    megabytes(job_estimate(
        96,
        96,
        logo_png().len() as u64,
        settings.working_size,
        settings.pad_multiple,
    ))
}

fn assert_svg(result: &Value) {
    let svg = result["output"]["svg"]
        .as_str()
        .unwrap_or_else(|| panic!("no SVG in {result}"));
    assert!(!fills(svg).is_empty(), "{svg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_iccp_bomb_job_fails_cleanly_and_the_next_job_runs() {
    let worker = Worker::start(handler(None), config(1));
    worker
        .queue
        .push("bomb", json!({"image": b64(&iccp_bomb_png(3 << 10))}));
    worker
        .queue
        .push("good", json!({"image": b64(&logo_png())}));
    let report = error_report(&worker.result("bomb").await);
    assert_eq!(report["error_type"], "InvalidInput", "{report}");
    let message = report["error_message"].as_str().unwrap();
    assert!(message.starts_with("decode: image: "), "{message}");
    assert_svg(&worker.result("good").await);
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_whose_estimate_can_never_fit_is_refused_naming_image_and_the_estimate() {
    // 512 MB: the smallest budget handler.toml accepts; a declared 6300×6300 needs more.
    let worker = Worker::start(handler(Some(512 * MIB)), config(1));
    worker.queue.push(
        "large",
        json!({"image": b64(&png_header_only(6300, 6300)), "return_logs": true}),
    );
    worker
        .queue
        .push("good", json!({"image": b64(&logo_png())}));
    let report = error_report(&worker.result("large").await);
    assert_eq!(report["error_type"], "InvalidInput", "{report}");
    let message = report["error_message"].as_str().unwrap();
    let settings = pipeline().settings().clone();
    let estimate = megabytes(job_estimate(
        6300,
        6300,
        png_header_only(6300, 6300).len() as u64,
        settings.working_size,
        settings.pad_multiple,
    ));
    assert_eq!(
        message,
        format!(
            "image: 6300x6300 needs an estimated {estimate} MB to process, more than this worker's memory budget of 512 MB (input.memory_budget_mb); send a smaller image"
        )
    );
    assert_svg(&worker.result("good").await);
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_that_does_not_fit_waits_for_room_then_runs() {
    let estimate = logo_estimate_mb();
    let handler = handler(Some(2 * estimate * MIB));
    let budget = handler.memory_budget().clone();
    // Someone else holds all but less than one job's worth.
    let held = budget.reserve((estimate + 1) * MIB).await.unwrap();
    let worker = Worker::start(Arc::clone(&handler), config(1));
    worker.queue.push(
        "waits",
        json!({"image": b64(&logo_png()), "return_logs": true}),
    );
    let mut states = budget.subscribe();
    states
        .wait_for(|state| state.waiting == 1)
        .await
        .expect("the budget lives");
    // It is in line, not running: no result can exist while the room is held.
    assert!(worker.queue.results().is_empty());
    assert_eq!(budget.state().granted, 1);
    drop(held);
    let result = worker.result("waits").await;
    assert_svg(&result);
    let logs = result["output"]["logs"].to_string();
    assert!(logs.contains("waiting for"), "{logs}");
    assert_eq!(budget.state().granted, 2);
    assert_eq!(budget.state().reserved_mb, 0);
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_jobs_whose_sum_exceeds_the_budget_do_not_run_at_once() {
    let estimate = logo_estimate_mb();
    // Room for one job and a half.
    let handler = handler(Some(estimate * 3 / 2 * MIB));
    let budget = handler.memory_budget().clone();
    let held = budget.reserve(budget.total_mb() * MIB).await.unwrap();
    let worker = Worker::start(Arc::clone(&handler), config(2));
    worker.queue.push("a", json!({"image": b64(&logo_png())}));
    worker.queue.push("b", json!({"image": b64(&logo_png())}));
    // Both jobs run at once (concurrency 2) and both wait for memory.
    let mut states = budget.subscribe();
    states
        .wait_for(|state| state.waiting == 2)
        .await
        .expect("the budget lives");
    drop(held);
    budget.reset_peak();
    assert_svg(&worker.result("a").await);
    assert_svg(&worker.result("b").await);
    let state = budget.state();
    assert_eq!(state.granted, 3, "{state:?}");
    assert_eq!(
        state.peak_reserved_mb, estimate,
        "one job's worth at a time: {state:?}"
    );
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn credentials_in_an_image_url_appear_in_no_error_and_no_log() {
    let worker = Worker::start(handler(None), config(1));
    worker.queue.push(
        "creds",
        json!({"image_url": "http://alice:hunter2@127.0.0.1:9/x.png", "return_logs": true}),
    );
    let result = worker.result("creds").await;
    let report = error_report(&result);
    assert_eq!(report["error_type"], "InvalidInput", "{report}");
    let everything = result.to_string();
    assert!(!everything.contains("alice"), "{everything}");
    assert!(!everything.contains("hunter2"), "{everything}");
    assert!(
        report["error_message"]
            .as_str()
            .unwrap()
            .contains("http://***@127.0.0.1:9/x.png"),
        "{report}"
    );
    worker.finish().await;
}
