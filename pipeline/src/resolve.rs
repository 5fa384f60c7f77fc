//! A job's options resolved once against the settings: the one value every phase reads, so
//! no phase looks at the raw request or at a settings default the request overrides.

use crate::alpha::{AlphaMode, LEVELS_RANGE};
use crate::options::{PipelineSettings, TraceOptions};
use crate::palette::{Palette, MAX_COLORS};
use crate::{JobOptions, Phase, PipelineError, Request};

/// Where the palette comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PaletteChoice {
    /// The job's own palette (`palette`), used exactly.
    Requested(Palette),
    /// The configuration's `phase3.default_palette`, used exactly.
    Default(Palette),
    /// Learned from the image (k-means), at most this many colours. `given`: the job set
    /// `max_colors` itself (used as given, not raised for phase 2's upscale).
    Automatic { max_colors: u8, given: bool },
}

impl PaletteChoice {
    /// The fixed palette, when there is one (requested or default).
    pub(crate) fn fixed(&self) -> Option<&Palette> {
        match self {
            Self::Requested(palette) | Self::Default(palette) => Some(palette),
            Self::Automatic { .. } => None,
        }
    }
}

/// Phase 2 as the job asks for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SteeringChoice {
    /// `steering.enabled` when the job says: `Some(false)` turns phase 2 off, `Some(true)`
    /// asks for it (a warning says so when it cannot run).
    pub(crate) asked: Option<bool>,
    /// Seed of the first attempt (`steering.seed`, else `phase2.seed`).
    pub(crate) seed: i64,
    /// Strength of the first attempt (`steering.strength`, else `phase2.strength`).
    pub(crate) strength: f32,
}

/// A job's options resolved against the settings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolved {
    pub(crate) palette: PaletteChoice,
    pub(crate) steering: SteeringChoice,
    /// Phase 4's options, the job's overrides applied (`alpha`, `layout` and `gap_filler`
    /// included). `mode` may still be `auto`: phase 4 decides it from the labels.
    pub(crate) trace: TraceOptions,
    /// Whether the job set `trace.filter_speckle` itself: then it is used as given, not
    /// scaled with the art's size nor lowered for photos.
    pub(crate) speckle_given: bool,
}

impl Resolved {
    /// Checks the request (its options' ranges, the image) and resolves its options.
    pub(crate) fn new(
        request: &Request,
        settings: &PipelineSettings,
    ) -> Result<Self, PipelineError> {
        let options: &JobOptions = &request.options;
        options.check()?;
        let image = &request.image;
        if image.width == 0 || image.height == 0 || image.rgba.len() != image.pixel_count() * 4 {
            return Err(PipelineError::invalid(
                Phase::Decode,
                "image",
                format!(
                    "{}x{} with {} bytes of RGBA is not a valid image",
                    image.width,
                    image.height,
                    image.rgba.len()
                ),
            ));
        }
        let palette = match (&options.palette, &settings.phase3.default_palette) {
            (Some(palette), _) => PaletteChoice::Requested(palette.clone()),
            (None, Some(palette)) => PaletteChoice::Default(palette.clone()),
            (None, None) => PaletteChoice::Automatic {
                max_colors: options.max_colors.unwrap_or(settings.phase3.max_colors),
                given: options.max_colors.is_some(),
            },
        };
        let asked = options.steering;
        let steering = SteeringChoice {
            asked: asked.map(|s| s.enabled),
            seed: asked.and_then(|s| s.seed).unwrap_or(settings.phase2.seed),
            strength: asked
                .and_then(|s| s.strength)
                .unwrap_or(settings.phase2.strength),
        };
        let mut trace: TraceOptions = settings.phase4;
        let overrides = options.trace;
        trace.mode = overrides.mode.unwrap_or(trace.mode);
        trace.filter_speckle = overrides.filter_speckle.unwrap_or(trace.filter_speckle);
        trace.primitives = overrides.primitives.unwrap_or(trace.primitives);
        trace.alpha = options.alpha.unwrap_or(trace.alpha);
        trace.layout = options.layout.unwrap_or(trace.layout);
        trace.gap_filler = options.gap_filler.unwrap_or(trace.gap_filler);
        Ok(Self {
            palette,
            steering,
            trace,
            speckle_given: overrides.filter_speckle.is_some(),
        })
    }

    /// For phase 2's upscale: half as many automatic palette colours again (unless the job set
    /// `max_colors`) and half as many opacity levels again (at most 16). At `s ×` a glossy
    /// icon's gradients and soft shadows are smooth ramps that phase 4 traces as bands and
    /// level contours; 8 colours and 8 levels left steps of an eighth of the ramp (a soft
    /// shadow 32 grey levels a step). 12 and 12, paired medians against 8 and 8 (bench/upscale.py,
    /// icons 0-9 and held-out 10-19): glossy +0.54 / +0.59 dB (96 px RGBA), +0.43 / +0.57
    /// (128 px JPEG), +1.97 (256 px RGBA, icons 0-9); every other set within ±0.1 dB; glossy
    /// at 1.1 to 1.6× the bytes, still about half the bicubic control's.
    pub(crate) fn upscaling(&mut self) {
        let finer =
            |n: u8, most: usize| (usize::from(n) * 3 / 2).min(most).max(usize::from(n)) as u8;
        if let PaletteChoice::Automatic {
            max_colors,
            given: false,
        } = &mut self.palette
        {
            *max_colors = finer(*max_colors, MAX_COLORS);
        }
        self.trace.alpha_levels = finer(self.trace.alpha_levels, usize::from(*LEVELS_RANGE.end()));
    }

    /// How partly transparent pixels are drawn.
    pub(crate) fn alpha(&self) -> AlphaMode {
        self.trace.alpha
    }
}
