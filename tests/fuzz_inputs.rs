//! Fuzzing on stable Rust with proptest: the job-input parser, the palette parser and image
//! decoding take arbitrary and mutated inputs; none may panic, each returns `Ok` or its typed
//! error, and an `Ok` is well formed.
//!
//! Short run (CI, every `cargo test`): `PROPTEST_CASES` cases per property (proptest's default,
//! 256; six properties, so 1,536 executions) from a fixed seed, so a run is reproducible.
//! Nothing is rejected or filtered, so a passing property ran exactly its case count. Long
//! run, with another seed to explore further (see ARCHITECTURE.md, Tests, and
//! bench/hardening-fuzz.md):
//!
//! ```text
//! PROPTEST_CASES=100000 PROPTEST_RNG_SEED=2 cargo test --release --test fuzz_inputs
//! ```
//!
//! A failing input is shrunk by proptest and printed; keep it under `tests/fixtures/fuzz/`
//! (`*.json`: a job input; `*.palette.json`: an array of palette strings; anything else: image
//! bytes) and [`fixtures_replay_without_panics`] replays it on every run.

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::OnceLock;

use base64::Engine as _;
use image::{DynamicImage, ImageFormat, Rgba, RgbaImage};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{Map, Value};

use gemini3::handler::request::{parse, parse_s3_config, requested_deadline};
use gemini3::pipeline::palette::Palette;
use gemini3::pipeline::{decode, DecodeLimits, PipelineErrorKind};

/// The seed of the short run, unless `PROPTEST_RNG_SEED` names another.
const SEED: u64 = 0x6e33_f022;

/// Small limits: the fuzzer explores parsing, not memory (the limits themselves are tested
/// in tests/hardening.rs).
const LIMITS: DecodeLimits = DecodeLimits {
    max_bytes: 1 << 20,
    max_pixels: 1 << 20,
};

/// `PROPTEST_CASES` (default 256) cases from a fixed seed (or `PROPTEST_RNG_SEED`); no
/// regression files are written next to the sources: failing inputs are kept by hand under
/// tests/fixtures/fuzz/.
fn config() -> Config {
    let mut config = Config::default();
    if matches!(config.rng_seed, RngSeed::Random) {
        config.rng_seed = RngSeed::Fixed(SEED);
    }
    config.failure_persistence = None;
    config
}

// ---------------------------------------------------------------------------------------------
// The oracles: what every input must satisfy.

fn check_job_input(input: &Value) {
    let _ = requested_deadline(input);
    match parse(input, LIMITS.max_bytes) {
        Ok(request) => {
            if let Some(palette) = &request.options.palette {
                assert!((1..=64).contains(&palette.len()), "{input}");
            }
        }
        Err(error) => {
            // Every error names a field; an unknown key is named as itself, which may be the
            // empty key (found by this fuzzer: tests/fixtures/fuzz/job-empty-key.json).
            assert!(
                !error.field.is_empty() || error.message.contains("unknown field ``"),
                "an error names a field: {error}"
            );
            assert!(!error.message.is_empty(), "{error}");
        }
    }
}

fn check_palette(values: &[String]) {
    match Palette::from_hex(values) {
        Ok(palette) => {
            assert_eq!(palette.len(), values.len());
            // What it prints parses back to itself.
            assert_eq!(Palette::from_hex(&palette.hex_list()).unwrap(), palette);
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

fn check_decode(bytes: &[u8]) {
    match decode(bytes, &LIMITS) {
        Ok(image) => {
            assert!(image.width > 0 && image.height > 0);
            assert!(u64::from(image.width) * u64::from(image.height) <= LIMITS.max_pixels);
            assert_eq!(image.rgba.len(), image.pixel_count() * 4);
        }
        Err(error) => match &error.kind {
            PipelineErrorKind::InvalidInput { field, message } => {
                assert_eq!(field, "image", "{message}");
                // decode turns a decoder panic into an error; the fuzzer still reports it.
                assert!(!message.contains("decoder panicked"), "{message}");
            }
            other => panic!("decode failed with a kind other than InvalidInput: {other:?}"),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Seeds: valid images of every accepted format.

fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .expect("the seed encodes");
    bytes
}

fn seed_images() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let rgba = RgbaImage::from_fn(24, 16, |x, y| {
            Rgba([
                (x * 10) as u8,
                (y * 15) as u8,
                ((x + y) * 5) as u8,
                255 - (x * 4) as u8,
            ])
        });
        let image = DynamicImage::ImageRgba8(rgba);
        let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        vec![
            encode(image.clone(), ImageFormat::Png),
            encode(
                DynamicImage::ImageRgba16(image.to_rgba16()),
                ImageFormat::Png,
            ),
            encode(DynamicImage::ImageLuma8(image.to_luma8()), ImageFormat::Png),
            encode(rgb.clone(), ImageFormat::Jpeg),
            encode(image.clone(), ImageFormat::WebP),
            encode(image.clone(), ImageFormat::Gif),
            encode(rgb, ImageFormat::Bmp),
            std::fs::read(root.join("tests/fixtures/logo96.png")).expect("the fixture"),
        ]
    })
}

/// Recomputes the CRC of every chunk of a PNG, as far as its chunk lengths make sense, so a
/// mutation gets past the CRC check into the chunk parsers.
fn fix_png_crcs(bytes: &mut [u8]) {
    let mut at = 8;
    while at + 12 <= bytes.len() {
        let length = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let end = match (at + 8).checked_add(length) {
            Some(end) if end + 4 <= bytes.len() => end,
            _ => return,
        };
        let crc = crc32fast::hash(&bytes[at + 4..end]);
        bytes[end..end + 4].copy_from_slice(&crc.to_be_bytes());
        at = end + 4;
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Duplicate(usize, usize, usize),
    Truncate(usize),
    /// A 32-bit big-endian value somewhere (PNG lengths and sizes, RIFF sizes).
    Word(usize, u32),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let position = any::<usize>();
    prop_oneof![
        (position, any::<u8>()).prop_map(|(p, v)| Mutation::Set(p, v)),
        (position, 0u8..8).prop_map(|(p, bit)| Mutation::Flip(p, 1 << bit)),
        (position, proptest::collection::vec(any::<u8>(), 1..32))
            .prop_map(|(p, v)| Mutation::Insert(p, v)),
        (position, 1usize..64).prop_map(|(p, n)| Mutation::Remove(p, n)),
        (position, 1usize..256, position)
            .prop_map(|(from, n, to)| Mutation::Duplicate(from, n, to)),
        position.prop_map(Mutation::Truncate),
        (
            position,
            prop_oneof![
                Just(0u32),
                Just(u32::MAX),
                Just(0x7fff_ffff),
                Just(0x8000_0000),
                any::<u32>()
            ]
        )
            .prop_map(|(p, v)| Mutation::Word(p, v)),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let at = |p: usize, len: usize| p % len;
    match mutation {
        Mutation::Set(p, v) => {
            let i = at(*p, bytes.len());
            bytes[i] = *v;
        }
        Mutation::Flip(p, mask) => {
            let i = at(*p, bytes.len());
            bytes[i] ^= mask;
        }
        Mutation::Insert(p, v) => {
            let i = at(*p, bytes.len() + 1);
            bytes.splice(i..i, v.iter().copied());
        }
        Mutation::Remove(p, n) => {
            let i = at(*p, bytes.len());
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::Duplicate(from, n, to) => {
            let i = at(*from, bytes.len());
            let end = (i + n).min(bytes.len());
            let piece = bytes[i..end].to_vec();
            let j = at(*to, bytes.len() + 1);
            bytes.splice(j..j, piece);
        }
        Mutation::Truncate(p) => {
            let i = at(*p, bytes.len());
            bytes.truncate(i);
        }
        Mutation::Word(p, v) => {
            if bytes.len() >= 4 {
                let i = at(*p, bytes.len() - 3);
                bytes[i..i + 4].copy_from_slice(&v.to_be_bytes());
            }
        }
    }
}

/// A PNG built from random chunks with valid CRCs: a random IHDR (any size, depth, colour
/// type, interlace), random ancillary chunks, and IDAT holding random bytes, zlib-compressed.
fn png_from_parts(
    ihdr: (u32, u32, u8, u8, u8),
    ancillary: &[([u8; 4], Vec<u8>)],
    pixels: &[u8],
) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        out.extend_from_slice(&crc_input);
        out.extend_from_slice(&crc32fast::hash(&crc_input).to_be_bytes());
    }
    let (width, height, depth, colour, interlace) = ihdr;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[depth, colour, 0, 0, interlace]);
    chunk(&mut png, b"IHDR", &header);
    for (kind, data) in ancillary {
        chunk(&mut png, kind, data);
    }
    let mut idat = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut idat, pixels).unwrap();
    chunk(&mut png, b"IDAT", &idat.finish().unwrap());
    chunk(&mut png, b"IEND", &[]);
    png
}

// ---------------------------------------------------------------------------------------------
// Job inputs.

const KEYS: &[&str] = &[
    "image",
    "image_url",
    "palette",
    "max_colors",
    "steering",
    "enabled",
    "seed",
    "strength",
    "trace",
    "mode",
    "filter_speckle",
    "alpha",
    "deadline_s",
    "return_logs",
    "formats",
    "layout",
    "gap_filler",
    "primitives",
];

/// The keys of a job's `s3Config` (job level, beside `input`).
const S3_KEYS: &[&str] = &[
    "endpointUrl",
    "accessId",
    "accessSecret",
    "bucketName",
    "region",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

fn image_string() -> impl Strategy<Value = String> {
    let png = base64::engine::general_purpose::STANDARD.encode(&seed_images()[0]);
    prop_oneof![
        Just(png.clone()),
        Just(format!("data:image/png;base64,{png}")),
        "data:[a-z/;=]{0,20},[A-Za-z0-9+/=]{0,40}",
        "[A-Za-z0-9+/=\\s%]{0,64}",
        ".{0,32}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just(-1.0e300),
            Just(1.0e-12),
            Just(0.0),
            Just(-0.0),
            Just(1.0e300),
            Just(4.5)
        ]
        .prop_map(Value::from),
        ".{0,16}".prop_map(Value::from),
        "#?[0-9a-fA-FgG]{0,8}".prop_map(Value::from),
        "(auto|spline|polygon|pixel|levels|threshold|AUTO| auto)".prop_map(Value::from),
        "(svg|pdf|eps|dxf|png|SVG| pdf|stacked|cutout|Cutout)".prop_map(Value::from),
        image_string().prop_map(Value::from),
        "(https?|ftp|file)://[a-z0-9.:@\\[\\]]{0,20}/[a-z]{0,4}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Objects with the schema's keys, each holding a value of any type: most inputs get past
/// the outer shape into the field checks.
fn job_input() -> impl Strategy<Value = Value> {
    proptest::collection::vec((key(), json_value()), 0..6)
        .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>()))
}

/// `s3Config` objects with its keys (and others), each holding a value of any type.
fn s3_config() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        4 => proptest::sample::select(S3_KEYS).prop_map(str::to_owned),
        1 => ".{0,12}",
    ];
    let value = prop_oneof![
        3 => json_value(),
        2 => "(https?|ftp|s3)://[a-z0-9.:@\\[\\]-]{0,24}(/[a-z0-9]{0,8}){0,2}".prop_map(Value::from),
    ];
    prop_oneof![
        4 => proptest::collection::vec((key, value), 0..6)
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        1 => json_value(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn s3_config_parser_never_panics_and_names_the_field(input in s3_config()) {
        if let Err(error) = parse_s3_config(&input) {
            assert!(error.field.starts_with("s3Config"), "{error}");
            assert!(!error.message.is_empty(), "{error}");
            // The secret is never echoed.
            if let Some(secret) = input.get("accessSecret").and_then(Value::as_str) {
                if secret.len() >= 12 {
                    assert!(!error.to_string().contains(secret), "{error}");
                }
            }
        }
    }

    #[test]
    fn job_input_parser_never_panics_on_any_json(input in json_value()) {
        check_job_input(&input);
    }

    #[test]
    fn job_input_parser_never_panics_on_schema_shaped_objects(input in job_input()) {
        check_job_input(&input);
    }

    #[test]
    fn palette_parser_never_panics(values in proptest::collection::vec(
        prop_oneof![
            "#?[0-9a-fA-F]{6}",
            "#?[0-9a-fA-F]{0,9}",
            ".{0,10}",
            "[\\u{80}-\\u{10ffff}]{1,3}[0-9a-f]{0,4}",
        ],
        0..80,
    )) {
        check_palette(&values);
    }

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(
        prefix in proptest::sample::select(vec![
            &b""[..], b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF\0\0\0\0WEBPVP8L", b"GIF89a", b"BM",
        ]),
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut input = prefix.to_vec();
        input.extend_from_slice(&bytes);
        check_decode(&input);
    }

    #[test]
    fn decode_never_panics_on_mutated_valid_images(
        seed in 0usize..8,
        mutations in proptest::collection::vec(mutation(), 1..6),
        fix_crcs in any::<bool>(),
    ) {
        let mut bytes = seed_images()[seed].clone();
        for mutation in &mutations {
            apply(&mut bytes, mutation);
        }
        if fix_crcs && bytes.starts_with(b"\x89PNG") {
            fix_png_crcs(&mut bytes);
        }
        check_decode(&bytes);
    }

    #[test]
    fn decode_never_panics_on_pngs_built_from_random_chunks(
        width in prop_oneof![0u32..80, Just(u32::MAX), Just(1 << 20), any::<u32>()],
        height in prop_oneof![0u32..80, Just(u32::MAX), Just(1 << 20), any::<u32>()],
        depth in prop_oneof![Just(1u8), Just(2), Just(4), Just(8), Just(16), any::<u8>()],
        colour in prop_oneof![Just(0u8), Just(2), Just(3), Just(4), Just(6), any::<u8>()],
        interlace in 0u8..3,
        ancillary in proptest::collection::vec(
            (
                proptest::sample::select(vec![
                    *b"PLTE", *b"tRNS", *b"iCCP", *b"eXIf", *b"zTXt", *b"iTXt", *b"tEXt",
                    *b"gAMA", *b"cHRM", *b"sRGB", *b"pHYs", *b"acTL", *b"fcTL", *b"cICP",
                ]),
                proptest::collection::vec(any::<u8>(), 0..64),
            ),
            0..4,
        ),
        pixels in proptest::collection::vec(any::<u8>(), 0..4096),
    ) {
        let png = png_from_parts((width, height, depth, colour, interlace), &ancillary, &pixels);
        check_decode(&png);
    }
}

/// Every kept input replays without a panic, with the same oracle as the fuzzer.
#[test]
fn fixtures_replay_without_panics() {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&directory).expect("tests/fixtures/fuzz exists") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        if name == "README.md" {
            continue;
        } else if name.ends_with(".palette.json") {
            let values: Vec<String> = serde_json::from_slice(&bytes).expect("an array of strings");
            check_palette(&values);
        } else if name.ends_with(".json") {
            let input: Value = serde_json::from_slice(&bytes).expect("JSON");
            check_job_input(&input);
        } else {
            check_decode(&bytes);
        }
        replayed += 1;
    }
    assert!(replayed > 0, "no fixtures in {}", directory.display());
}
