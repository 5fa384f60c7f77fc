//! `gemini3 vectorize INPUT [-o OUT] [--palette HEX,…] [--max-colors N] [--config FILE]
//! [--metadata FILE] [--preview PNG]`: the pipeline on local files.
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
use crate::pipeline::palette::Palette;
use crate::pipeline::{decode, DecodeLimits, Output, Pipeline, Request};
use crate::settings::{InputLimits, Settings};

/// File extensions taken from a folder, lower case.
const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "webp", "gif", "bmp"];

/// `gemini3 vectorize`: turn an image, or every image in a folder, into palette-exact SVG.
#[derive(Debug, Clone, clap::Args)]
pub struct VectorizeArgs {
    /// An image (PNG, JPEG, WebP, GIF, BMP), or a folder of images.
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
    /// Where the SVG goes: a file for one image (default: INPUT with .svg), a folder for a
    /// folder (default: INPUT-svg next to it).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Use exactly these colours: hex RRGGBB, `#` optional, comma-separated (1 to 64).
    #[arg(long, value_name = "HEX,HEX,…", value_delimiter = ',')]
    pub palette: Option<Vec<String>>,
    /// Colours of the automatic palette when no palette is given (1 to 64).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=64))]
    pub max_colors: Option<u8>,
    /// Partly transparent areas: `levels` (soft shadows keep their opacity, the default) or
    /// `threshold` (opaque shapes only, drawn where at least half covered).
    #[arg(long, value_name = "MODE", value_parser = ["levels", "threshold"])]
    pub alpha: Option<String>,
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
    /// Settings overrides from the flags, as full keys and TOML values (`--max-colors`).
    pub fn overrides(&self) -> Vec<(String, toml::Value)> {
        let max_colors = self.max_colors.map(|n| {
            (
                "phase3.max_colors".to_owned(),
                toml::Value::Integer(i64::from(n)),
            )
        });
        let alpha = self
            .alpha
            .as_ref()
            .map(|mode| ("phase4.alpha".to_owned(), toml::Value::String(mode.clone())));
        max_colors.into_iter().chain(alpha).collect()
    }
}

/// Runs the command: loads the engine once, then converts one file or a folder.
pub fn run(
    args: &VectorizeArgs,
    settings: &Settings,
    limits: &InputLimits,
) -> anyhow::Result<ExitCode> {
    let palette = match &args.palette {
        Some(values) => Some(Palette::from_hex(values).context("--palette")?),
        None => None,
    };
    let folder = if args.input.is_dir() {
        Some(folder_images(&args.input)?)
    } else {
        None
    };
    let engine = Engine::load(&settings.engine).context("loading ONNX Runtime")?;
    let models = engine
        .load_models(&settings.pipeline)
        .context("loading the phase models")?;
    let pipeline = Pipeline::new(settings.pipeline.clone(), models);
    let job = Job {
        pipeline: &pipeline,
        palette,
        max_colors: args.max_colors,
        limits: DecodeLimits::from(limits),
    };
    if let Some(images) = folder {
        convert_folder(&job, args, &images)
    } else {
        let output = args
            .output
            .clone()
            .unwrap_or_else(|| args.input.with_extension("svg"));
        let targets = Targets {
            svg: output,
            metadata: args.metadata.clone(),
            preview: args.preview.clone(),
        };
        let result = job.convert(&args.input, &targets)?;
        eprintln!(
            "{} -> {}: {} paths, {} colours, {} bytes, {:.0} ms",
            args.input.display(),
            targets.svg.display(),
            result.metadata.paths,
            result.metadata.colors_used,
            result.metadata.svg_bytes,
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
    palette: Option<Palette>,
    max_colors: Option<u8>,
    limits: DecodeLimits,
}

/// Where one file's outputs go.
struct Targets {
    svg: PathBuf,
    metadata: Option<PathBuf>,
    preview: Option<PathBuf>,
}

impl Job<'_> {
    fn convert(&self, input: &Path, targets: &Targets) -> anyhow::Result<Output> {
        let bytes =
            std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
        let image = decode(&bytes, &self.limits).with_context(|| input.display().to_string())?;
        let mut request = Request::new(image);
        request.palette = self.palette.clone();
        request.max_colors = self.max_colors;
        let output = self
            .pipeline
            .run(&request, &CancelToken::new(), &mut |progress| {
                tracing::debug!(phase = %progress.phase, percent = progress.percent, "{}", progress.message);
            })
            .with_context(|| input.display().to_string())?;
        write_file(&targets.svg, output.svg.as_bytes())?;
        if let Some(path) = &targets.metadata {
            let json = serde_json::to_string_pretty(&output.metadata)
                .context("cannot serialise the metadata")?;
            write_file(path, json.as_bytes())?;
        }
        if let Some(path) = &targets.preview {
            render_preview(&output.svg, path)?;
        }
        Ok(output)
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Renders an SVG to a PNG file with resvg, at the SVG's own size.
pub fn render_preview(svg: &str, path: &Path) -> anyhow::Result<()> {
    let tree = resvg::usvg::Tree::from_str(svg, &resvg::usvg::Options::default())
        .context("the SVG does not parse for the preview")?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .context("the SVG has no area to render")?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    pixmap
        .save_png(path)
        .with_context(|| format!("cannot write {}", path.display()))
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
        name.push("-svg");
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
            svg: named(&output_folder, "svg"),
            metadata: args.metadata.as_deref().map(|f| named(f, "json")),
            preview: args.preview.as_deref().map(|f| named(f, "png")),
        };
        let name = image.file_name().unwrap_or_default().to_string_lossy();
        if let Some(bar) = &bar {
            bar.set_message(name.to_string());
        }
        let (ok, line) = match job.convert(image, &targets) {
            Ok(output) => (
                true,
                format!(
                    "[{}/{}] {name}: {} paths, {} bytes, {:.0} ms",
                    index + 1,
                    images.len(),
                    output.metadata.paths,
                    output.metadata.svg_bytes,
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
