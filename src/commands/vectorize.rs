//! `gemini3 vectorize INPUT [-o OUT] [--format FORMAT] [--palette HEX,…] [--max-colors N]
//! [--config FILE] [--metadata FILE] [--preview PNG] [--dxf-dpi DPI]`: the pipeline on local
//! files.
//!
//! The output format (SVG, PDF, EPS, DXF or PNG; `crate::output`) is the `-o` file's
//! extension, else `--format`, else SVG; an unknown extension is an error naming it and the
//! valid ones, found before any model loads.
//!
//! INPUT is an image or a folder. For a folder, every image in it (by extension: png, jpg,
//! jpeg, webp, gif, bmp; not recursive) is converted into the `-o` folder, and `--metadata`
//! and `--preview` name folders too. Message policy: a file that fails is reported on its own
//! line with its whole error chain and the rest continue; the exit status is 1 when any file
//! failed, and a folder without images is an error (exit 2) found before any model loads. On a terminal a progress bar shows the folder's progress; otherwise one plain line
//! per file goes to stderr.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use crate::cancel::CancelToken;
use crate::engine::Engine;
use crate::handler::InputLimits;
use crate::output::{self, Format, OutputOptions};
use crate::pipeline::alpha::AlphaMode;
use crate::pipeline::options::{Layout, TraceMode};
use crate::pipeline::palette::Palette;
use crate::pipeline::request::{
    check_filter_speckle, check_gap_filler, check_max_colors, JobOptions, TraceOverrides,
};
use crate::pipeline::{decode, DecodeLimits, Output, Pipeline, Request};
use crate::settings::Settings;

/// File extensions taken from a folder, lower case.
const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "webp", "gif", "bmp"];

/// `gemini3 vectorize`: turn an image, or every image in a folder, into palette-exact SVG.
#[derive(Debug, Clone, clap::Args)]
pub struct VectorizeArgs {
    /// An image (PNG, JPEG, WebP, GIF, BMP), or a folder of images.
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
    /// Where the output goes: a file for one image, its extension choosing the format (.svg,
    /// .pdf, .eps, .dxf, .png; default: INPUT with the format's extension), a folder for a
    /// folder (default: INPUT-svg, INPUT-pdf, … next to it).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// The output format when -o does not name it (a folder, or no -o): svg (default), pdf,
    /// eps, dxf or png.
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub format: Option<Format>,
    /// DXF scale in SVG pixels per inch: millimetres = pixels × 25.4 / DPI (default: the
    /// configuration's output.dxf_dpi, 96).
    #[arg(long, value_name = "DPI")]
    pub dxf_dpi: Option<f64>,
    /// Use exactly these colours: hex RRGGBB, `#` optional, comma-separated (1 to 64).
    #[arg(long, value_name = "HEX,HEX,…", value_delimiter = ',')]
    pub palette: Option<Vec<String>>,
    /// Colours of the automatic palette when no palette is given (1 to 64).
    #[arg(long, value_name = "N", value_parser = max_colors)]
    pub max_colors: Option<u8>,
    /// Partly transparent areas: `levels` (soft shadows keep their opacity, the default) or
    /// `threshold` (opaque shapes only, drawn where at least half covered).
    #[arg(long, value_name = "MODE", value_parser = job_value::<AlphaMode>)]
    pub alpha: Option<AlphaMode>,
    /// `stacked` (larger shapes under smaller ones, the default) or `cutout` (shapes that
    /// never overlap and tile the drawn area exactly: cutters, vinyl, screen print).
    #[arg(long, value_name = "LAYOUT", value_parser = job_value::<Layout>)]
    pub layout: Option<Layout>,
    /// Tracing: `auto` (the default), `spline`, `polygon` or `pixel`.
    #[arg(long, value_name = "MODE", value_parser = job_value::<TraceMode>)]
    pub mode: Option<TraceMode>,
    /// Regions smaller than this many working pixels are dropped (0 to 1024; default: scaled
    /// with the image, see `phase4.filter_speckle`).
    #[arg(long, value_name = "PX", value_parser = filter_speckle)]
    pub filter_speckle: Option<u32>,
    /// Gap filler width in output pixels (0 = off, up to 20): a thin stroke under the
    /// boundaries between shapes, in one neighbour's colour, so no hairline seam shows.
    #[arg(long, value_name = "PX", value_parser = gap_filler)]
    pub gap_filler: Option<f64>,
    /// Whole circles and ellipses written exactly (`<circle>`, `<ellipse>`, arcs): `true`
    /// (the default) or `false` (Bézier curves only).
    #[arg(long, value_name = "BOOL")]
    pub primitives: Option<bool>,
    /// Configuration overlay merged over configs/default.toml and the profile.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write the metadata JSON here (a folder when INPUT is a folder).
    #[arg(long, value_name = "FILE")]
    pub metadata: Option<PathBuf>,
    /// Render the SVG back to PNG here, to look at (a folder when INPUT is a folder).
    #[arg(long, value_name = "PNG")]
    pub preview: Option<PathBuf>,
}

impl VectorizeArgs {
    /// Settings overrides from the flags that are settings, not job options (`--dxf-dpi`).
    pub fn overrides(&self) -> Vec<(String, toml::Value)> {
        self.dxf_dpi
            .map(|dpi| ("output.dxf_dpi".to_owned(), toml::Value::Float(dpi)))
            .into_iter()
            .collect()
    }

    /// The job options the flags ask for: the same type, names and ranges as a job's input,
    /// so a flag and a job field cannot disagree.
    pub fn job_options(&self) -> anyhow::Result<JobOptions> {
        let palette = match &self.palette {
            Some(values) => Some(Palette::from_hex(values).context("--palette")?),
            None => None,
        };
        let options = JobOptions {
            palette,
            max_colors: self.max_colors,
            steering: None,
            trace: TraceOverrides {
                mode: self.mode,
                filter_speckle: self.filter_speckle,
                primitives: self.primitives,
            },
            alpha: self.alpha,
            layout: self.layout,
            gap_filler: self.gap_filler,
        };
        options.check().context("the command-line options")?;
        Ok(options)
    }
}

/// A job option's value by its job-input name (serde's), so the CLI takes exactly what a job
/// does, and says the same when it is wrong.
fn job_value<T: serde::de::DeserializeOwned>(value: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(value.to_owned())).map_err(|error| {
        let text = error.to_string();
        text.split(" at line ").next().unwrap_or(&text).to_owned()
    })
}

/// `--max-colors` in the job's range.
fn max_colors(value: &str) -> Result<u8, String> {
    let number: i64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a whole number"))?;
    check_max_colors(number)
}

/// `--filter-speckle` in the job's range.
fn filter_speckle(value: &str) -> Result<u32, String> {
    let number: i64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a whole number"))?;
    check_filter_speckle(number)
}

/// `--gap-filler` in the job's range.
fn gap_filler(value: &str) -> Result<f64, String> {
    let number: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a number"))?;
    check_gap_filler(number)
}

fn parse_format(value: &str) -> Result<Format, output::OutputError> {
    value.parse()
}

/// The format of a file named by `-o`: its extension's, which must agree with `--format`;
/// a file without an extension takes `--format`, else SVG.
fn file_format(path: &Path, flag: Option<Format>) -> anyhow::Result<Format> {
    let Some(extension) = path.extension() else {
        return Ok(flag.unwrap_or(Format::Svg));
    };
    let format: Format = extension
        .to_string_lossy()
        .parse()
        .with_context(|| format!("{}: the output file's extension", path.display()))?;
    match flag {
        Some(flag) if flag != format => anyhow::bail!(
            "{}: the output file's extension says {format} but --format says {flag}",
            path.display()
        ),
        _ => Ok(format),
    }
}

/// Runs the command: loads the engine once, then converts one file or a folder.
pub fn run(
    args: &VectorizeArgs,
    settings: &Settings,
    limits: &InputLimits,
) -> anyhow::Result<ExitCode> {
    let job_options = args.job_options()?;
    let folder = if args.input.is_dir() {
        Some(folder_images(&args.input)?)
    } else {
        None
    };
    let format = match (&folder, &args.output) {
        (None, Some(path)) => file_format(path, args.format)?,
        _ => args.format.unwrap_or(Format::Svg),
    };
    let engine = Engine::load(&settings.engine).context("loading ONNX Runtime")?;
    let models = engine
        .load_models(&settings.pipeline)
        .context("loading the phase models")?;
    let pipeline = Pipeline::new(settings.pipeline.clone(), models);
    let job = Job {
        pipeline: &pipeline,
        job_options,
        limits: DecodeLimits::from(limits),
        format,
        options: settings.output.clone(),
    };
    if let Some(images) = folder {
        convert_folder(&job, args, &images)
    } else {
        let output = args
            .output
            .clone()
            .unwrap_or_else(|| args.input.with_extension(format.extension()));
        let targets = Targets {
            out: output,
            metadata: args.metadata.clone(),
            preview: args.preview.clone(),
        };
        let (result, bytes) = job.convert(&args.input, &targets)?;
        eprintln!(
            "{} -> {}: {} paths, {} colours, {} bytes, {:.0} ms",
            args.input.display(),
            targets.out.display(),
            result.metadata.paths,
            result.metadata.colors_used,
            bytes,
            result.metadata.total_ms
        );
        for warning in &result.metadata.warnings {
            eprintln!("warning: {warning}");
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// What every file shares.
struct Job<'a> {
    pipeline: &'a Pipeline,
    /// The flags' job options, the same for every file.
    job_options: JobOptions,
    limits: DecodeLimits,
    /// The format of the main output.
    format: Format,
    options: OutputOptions,
}

/// Where one file's outputs go.
struct Targets {
    /// The main output, in the job's format.
    out: PathBuf,
    metadata: Option<PathBuf>,
    preview: Option<PathBuf>,
}

impl Job<'_> {
    /// Converts one file; the pipeline's output and the main output's size in bytes.
    fn convert(&self, input: &Path, targets: &Targets) -> anyhow::Result<(Output, usize)> {
        let bytes =
            std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
        let image = decode(&bytes, &self.limits).with_context(|| input.display().to_string())?;
        let mut request = Request::new(image);
        request.options = self.job_options.clone();
        let output = self
            .pipeline
            .run(&request, &CancelToken::new(), &mut |progress| {
                tracing::debug!(phase = %progress.phase, percent = progress.percent, "{}", progress.message);
            })
            .with_context(|| input.display().to_string())?;
        let bytes = match self.format {
            Format::Svg => output.svg.as_bytes().to_vec(),
            format => output::encode(&output.svg, format, &self.options)
                .with_context(|| format!("{}: cannot make the {format}", input.display()))?,
        };
        write_file(&targets.out, &bytes)?;
        if let Some(path) = &targets.metadata {
            let json = serde_json::to_string_pretty(&output.metadata)
                .context("cannot serialise the metadata")?;
            write_file(path, json.as_bytes())?;
        }
        if let Some(path) = &targets.preview {
            let png = output::encode(&output.svg, Format::Png, &self.options)
                .with_context(|| format!("{}: cannot render the preview", input.display()))?;
            write_file(path, &png)?;
        }
        Ok((output, bytes.len()))
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// The images of a folder, sorted by name; an error when there are none.
fn folder_images(folder: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut images = Vec::new();
    for entry in
        std::fs::read_dir(folder).with_context(|| format!("cannot list {}", folder.display()))?
    {
        let path = entry
            .with_context(|| format!("cannot list {}", folder.display()))?
            .path();
        let is_image = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if path.is_file() && is_image {
            images.push(path);
        }
    }
    if images.is_empty() {
        anyhow::bail!(
            "{}: no images to convert (looked for files ending in .{})",
            folder.display(),
            IMAGE_EXTENSIONS.join(", .")
        );
    }
    images.sort();
    Ok(images)
}

fn convert_folder(
    job: &Job<'_>,
    args: &VectorizeArgs,
    images: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let output_folder = args.output.clone().unwrap_or_else(|| {
        let mut name = args
            .input
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "images".into());
        name.push(format!("-{}", job.format.extension()));
        args.input.with_file_name(name)
    });
    std::fs::create_dir_all(&output_folder)
        .with_context(|| format!("cannot create {}", output_folder.display()))?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(images.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} [{elapsed_precise} < {eta_precise}] {msg}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let started = Instant::now();
    let mut failed = 0usize;
    for (index, image) in images.iter().enumerate() {
        let stem = image
            .file_stem()
            .map(|s| s.to_os_string())
            .unwrap_or_else(|| "image".into());
        let named = |folder: &Path, extension: &str| {
            let mut file = folder.join(&stem);
            file.set_extension(extension);
            file
        };
        let targets = Targets {
            out: named(&output_folder, job.format.extension()),
            metadata: args.metadata.as_deref().map(|f| named(f, "json")),
            preview: args.preview.as_deref().map(|f| named(f, "png")),
        };
        let name = image.file_name().unwrap_or_default().to_string_lossy();
        if let Some(bar) = &bar {
            bar.set_message(name.to_string());
        }
        let (ok, line) = match job.convert(image, &targets) {
            Ok((output, bytes)) => (
                true,
                format!(
                    "[{}/{}] {name}: {} paths, {} bytes, {:.0} ms",
                    index + 1,
                    images.len(),
                    output.metadata.paths,
                    bytes,
                    output.metadata.total_ms
                ),
            ),
            Err(error) => {
                failed += 1;
                (
                    false,
                    format!("[{}/{}] error: {error:#}", index + 1, images.len()),
                )
            }
        };
        match &bar {
            Some(bar) => {
                if !ok {
                    bar.println(&line);
                }
                bar.inc(1);
            }
            None => eprintln!("{line}"),
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    eprintln!(
        "{} of {} images converted into {} in {:.1} s{}",
        images.len() - failed,
        images.len(),
        output_folder.display(),
        started.elapsed().as_secs_f64(),
        if failed > 0 {
            format!("; {failed} failed")
        } else {
            String::new()
        }
    );
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
