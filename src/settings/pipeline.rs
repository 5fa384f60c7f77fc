//! `configs/*.toml`: the pipeline's sections (`[pipeline]`, `[phase1]`..`[phase4]`),
//! deserialised straight into the pipeline's own option types (serde's remote derives below
//! mirror them, so a field added there must be added here), and [`Settings::load`], which
//! reads the layers in order.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::loader::{self, Layer, Layers};
use super::{truthy, LoadOptions, SettingsError, ENV_PREFIX};
use crate::engine::EngineSettings;
use crate::fields;
use crate::output::OutputOptions;
use crate::pipeline::alpha::{AlphaMode, LEVELS_RANGE};
use crate::pipeline::model::MAX_STEER_SCALE;
use crate::pipeline::options::{
    CleanSettings, IouRetrySettings, Layout, PipelineSettings, QuantizeSettings, SteerSettings,
    TraceMode, TraceOptions,
};
use crate::pipeline::palette::Palette;
use crate::pipeline::request::{FILTER_SPECKLE_RANGE, GAP_FILLER_MAX, MAX_COLORS_RANGE};

/// Validated pipeline and hardware settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The project root that relative paths were resolved against.
    pub root: PathBuf,
    /// The profile overlay in use, if any.
    pub profile: Option<String>,
    /// The layers that were read, lowest first (for the start-up log).
    pub sources: Vec<String>,
    /// Everything the pipeline needs.
    pub pipeline: PipelineSettings,
    /// Everything the ONNX Runtime engine needs.
    pub engine: EngineSettings,
    /// `[output]`: the encoders of the other output formats (PDF, EPS, DXF, PNG).
    pub output: OutputOptions,
}

/// The schema of `configs/*.toml`.
#[derive(Deserialize)]
struct File {
    pipeline: Sizes,
    hardware: EngineSettings,
    #[serde(with = "CleanDef")]
    phase1: CleanSettings,
    #[serde(with = "SteerDef")]
    phase2: SteerSettings,
    #[serde(with = "QuantizeDef")]
    phase3: QuantizeSettings,
    #[serde(with = "TraceDef")]
    phase4: TraceOptions,
    #[serde(with = "OutputDef")]
    output: OutputOptions,
}

/// `[pipeline]`.
#[derive(Deserialize)]
struct Sizes {
    #[serde(deserialize_with = "fields::int::<_, u32, 64, 8192>")]
    working_size: u32,
    #[serde(deserialize_with = "fields::int::<_, u32, 1, 256>")]
    pad_multiple: u32,
}

/// `[phase1]`; the model must exist when enabled ([`check_models`]).
#[derive(Deserialize)]
#[serde(remote = "CleanSettings")]
struct CleanDef {
    enabled: bool,
    model: PathBuf,
}

/// `[phase2]`; the model must be set and exist when enabled ([`check_models`]).
#[derive(Deserialize)]
#[serde(remote = "SteerSettings")]
struct SteerDef {
    enabled: bool,
    #[serde(deserialize_with = "fields::optional_path")]
    model: Option<PathBuf>,
    #[serde(deserialize_with = "fields::unit")]
    strength: f32,
    seed: i64,
    #[serde(deserialize_with = "fields::int::<_, u32, 0, 65536>")]
    cpu_max_side: u32,
    #[serde(deserialize_with = "fields::int::<_, u32, 0, 65536>")]
    max_side: u32,
    #[serde(with = "IouRetryDef")]
    iou_retry: IouRetrySettings,
}

/// `[phase2.iou_retry]`.
#[derive(Deserialize)]
#[serde(remote = "IouRetrySettings")]
struct IouRetryDef {
    #[serde(deserialize_with = "fields::int::<_, u32, 0, 10>")]
    max_retries: u32,
    #[serde(deserialize_with = "fields::unit")]
    iou_threshold: f32,
    allow_skip_on_failure: bool,
    #[serde(deserialize_with = "fields::unit")]
    strength_decay: f32,
}

/// `[phase3]`; the model must exist ([`check_models`]).
#[derive(Deserialize)]
#[serde(remote = "QuantizeSettings")]
struct QuantizeDef {
    model: PathBuf,
    #[serde(deserialize_with = "fields::palette")]
    default_palette: Option<Palette>,
    #[serde(
        deserialize_with = "fields::int::<_, u8, { *MAX_COLORS_RANGE.start() }, { *MAX_COLORS_RANGE.end() }>"
    )]
    max_colors: u8,
    #[serde(deserialize_with = "fields::int::<_, u32, 1, 1000>")]
    kmeans_iterations: u32,
    #[serde(deserialize_with = "fields::int::<_, usize, 64, 16_777_216>")]
    kmeans_sample: usize,
}

/// `[phase4]`.
#[derive(Deserialize)]
#[serde(remote = "TraceOptions")]
struct TraceDef {
    #[serde(deserialize_with = "fields::one_of::<_, TraceMode>")]
    mode: TraceMode,
    #[serde(
        deserialize_with = "fields::int::<_, u32, { *FILTER_SPECKLE_RANGE.start() }, { *FILTER_SPECKLE_RANGE.end() }>"
    )]
    filter_speckle: u32,
    #[serde(deserialize_with = "fields::float::<_, 0, 180_000>")]
    corner_threshold: f64,
    #[serde(deserialize_with = "fields::float::<_, 50, 4_000>")]
    fit_tolerance: f64,
    #[serde(deserialize_with = "fields::int::<_, u32, 0, 8>")]
    path_precision: u32,
    #[serde(deserialize_with = "fields::one_of::<_, AlphaMode>")]
    alpha: AlphaMode,
    #[serde(
        deserialize_with = "fields::int::<_, u8, { *LEVELS_RANGE.start() as i64 }, { *LEVELS_RANGE.end() as i64 }>"
    )]
    alpha_levels: u8,
    #[serde(deserialize_with = "fields::int::<_, u32, 1, 8>")]
    supersample: u32,
    #[serde(deserialize_with = "fields::one_of::<_, Layout>")]
    layout: Layout,
    #[serde(deserialize_with = "fields::float::<_, 0, { (GAP_FILLER_MAX * 1000.0) as i64 }>")]
    gap_filler: f64,
    primitives: bool,
}

/// `[output]`.
#[derive(Deserialize)]
#[serde(remote = "OutputOptions")]
struct OutputDef {
    #[serde(deserialize_with = "fields::float::<_, 1_000, 100_000_000>")]
    dxf_dpi: f64,
    #[serde(deserialize_with = "fields::float::<_, 1, 100_000>")]
    dxf_tolerance_mm: f64,
    #[serde(deserialize_with = "fields::int::<_, u64, 1, 1_000_000_000>")]
    png_max_pixels: u64,
}

/// The name of the profile to apply: `GEMINI3_PROFILE`, else `rtx5090` for
/// `GPU_MODEL=RTX_5090`.
fn profile_name(options: &LoadOptions) -> Option<String> {
    if let Some(profile) = options.env_value("GEMINI3_PROFILE") {
        if !profile.is_empty() {
            return Some(profile.to_owned());
        }
    }
    match options.env_value("GPU_MODEL") {
        Some(model) if model.eq_ignore_ascii_case("RTX_5090") => Some("rtx5090".to_owned()),
        _ => None,
    }
}

fn known_profiles(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("configs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".toml")?;
            (stem != "default").then(|| stem.to_owned())
        })
        .collect();
    names.sort();
    names
}

impl Settings {
    /// Reads every layer and validates the result. Invalid settings stop start-up.
    pub fn load(options: &LoadOptions) -> Result<Settings, SettingsError> {
        let root = &options.root;
        let mut layers = vec![Layer::file(
            &root.join("configs/default.toml"),
            "configs/default.toml".to_owned(),
        )?];
        let profile = profile_name(options);
        if let Some(name) = &profile {
            let valid = name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            let path = root.join("configs").join(format!("{name}.toml"));
            if !valid || !path.is_file() {
                return Err(SettingsError::new(
                    "GEMINI3_PROFILE",
                    format!(
                        "profile {name:?} has no file configs/{name}.toml (known: {})",
                        known_profiles(root).join(", ")
                    ),
                ));
            }
            layers.push(Layer::file(&path, format!("configs/{name}.toml"))?);
        }
        if let Some(overlay) = &options.overlay {
            layers.push(Layer::file(overlay, overlay.display().to_string())?);
        }
        layers.push(Layer::environment(&options.env, ENV_PREFIX));
        if !options.overrides.is_empty() {
            layers.push(Layer::from_keys("command line", &options.overrides));
        }
        let (file, layers) = loader::load::<File>(layers)?;
        let File {
            pipeline: sizes,
            mut hardware,
            mut phase1,
            mut phase2,
            mut phase3,
            phase4,
            output,
        } = file;
        check_models(root, &layers, &mut phase1, &mut phase2, &mut phase3)?;
        let pad = |side: u32| side.div_ceil(sizes.pad_multiple) * sizes.pad_multiple;
        let padded_max = pad(sizes.working_size);
        // Phase 2 may output up to 4× its input (the padded working image, at most
        // `phase2.max_side` long when that is set), and phase 3 labels that output.
        let labels_max = if phase2.enabled {
            let input = match phase2.max_side {
                0 => sizes.working_size,
                side => side.min(sizes.working_size),
            };
            pad(input).saturating_mul(MAX_STEER_SCALE)
        } else {
            padded_max
        };
        super::hardware::resolve(&mut hardware, root, (padded_max, labels_max), &layers)?;
        hardware.disable_tensorrt |= truthy(options.env_value("DISABLE_TENSORRT"));
        hardware.ort_dylib_path = options
            .env_value("ORT_DYLIB_PATH")
            .filter(|value| !value.trim().is_empty())
            .map(PathBuf::from);
        Ok(Settings {
            root: root.clone(),
            profile,
            sources: layers.sources(),
            pipeline: PipelineSettings {
                working_size: sizes.working_size,
                pad_multiple: sizes.pad_multiple,
                phase1,
                phase2,
                phase3,
                phase4,
            },
            engine: hardware,
            output,
        })
    }
}

/// Resolves the model paths against `root`; a model a phase will load must exist.
fn check_models(
    root: &Path,
    layers: &Layers,
    phase1: &mut CleanSettings,
    phase2: &mut SteerSettings,
    phase3: &mut QuantizeSettings,
) -> Result<(), SettingsError> {
    let exists = |key: &str, path: &Path| -> Result<PathBuf, SettingsError> {
        let resolved = root.join(path);
        if !resolved.is_file() {
            return Err(layers.fail(
                key,
                format!(
                    "{:?} does not exist (looked for {})",
                    path.display().to_string(),
                    resolved.display()
                ),
            ));
        }
        Ok(resolved)
    };
    phase1.model = if phase1.enabled {
        exists("phase1.model", &phase1.model)?
    } else {
        root.join(&phase1.model)
    };
    phase2.model = match (&phase2.model, phase2.enabled) {
        (None, true) => {
            return Err(SettingsError::new(
                layers.origin_of("phase2.enabled"),
                "phase2.enabled is true but phase2.model is not set",
            ))
        }
        (Some(model), true) => Some(exists("phase2.model", model)?),
        (model, false) => model.as_deref().map(|model| root.join(model)),
    };
    phase3.model = exists("phase3.model", &phase3.model)?;
    Ok(())
}
