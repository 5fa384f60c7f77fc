//! What a caller asks of one run: the [`Request`] (the image and its [`JobOptions`]), the
//! option fields of the job input (DESIGN section 4) in the pipeline's own types, read
//! straight from the job's JSON, and the one definition of each of their ranges.
//!
//! ```json
//! {"palette": ["FF0000", "#00ff00"], "max_colors": 16,
//!  "steering": {"enabled": true, "seed": 7, "strength": 0.6},
//!  "trace": {"mode": "auto|spline|polygon|pixel", "filter_speckle": 4, "primitives": true},
//!  "alpha": "levels|threshold", "layout": "stacked|cutout", "gap_filler": 0.5}
//! ```
//!
//! Each range is checked by one function ([`check_max_colors`], [`check_unit`],
//! [`check_filter_speckle`], [`check_gap_filler`]), called when the JSON is read (the
//! deserialiser's error sits at the field's path: `max_colors: 0 is outside 1..=64`) and by
//! [`JobOptions::check`] for options built in code. `null` is the same as a missing key.
//! Enum values are the enums' own serde names, so a new variant is a new accepted value and
//! part of the error's list at once. Unknown keys inside `steering` and `trace` are refused;
//! at the top level the caller refuses them (the job input holds its own keys there too), with
//! [`field_names`].

use std::cell::RefCell;
use std::fmt::Display;
use std::ops::RangeInclusive;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, IntoDeserializer};

use crate::alpha::AlphaMode;
use crate::decode::DecodedImage;
use crate::job::{Phase, PipelineError};
use crate::options::{Layout, TraceMode};
use crate::palette::{Palette, PaletteError, Rgb8, MAX_COLORS};

/// `max_colors`: colours of an automatic palette (also `phase3.max_colors`).
pub const MAX_COLORS_RANGE: RangeInclusive<i64> = 1..=MAX_COLORS as i64;

/// `trace.filter_speckle`: speckle area, working pixels (also `phase4.filter_speckle`).
pub const FILTER_SPECKLE_RANGE: RangeInclusive<i64> = 0..=1024;

/// The largest gap filler width, output pixels (also `phase4.gap_filler`).
pub const GAP_FILLER_MAX: f64 = 20.0;

/// The job's options; every field left out follows the settings.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
pub struct JobOptions {
    /// Used exactly when given; else `phase3.default_palette`; else an automatic palette.
    #[serde(deserialize_with = "palette")]
    pub palette: Option<Palette>,
    /// Colours of an automatic palette, [`MAX_COLORS_RANGE`] (default `phase3.max_colors`).
    #[serde(deserialize_with = "max_colors")]
    pub max_colors: Option<u8>,
    /// Phase-2 options; `None` follows the settings.
    #[serde(deserialize_with = "or_default")]
    pub steering: Option<SteeringRequest>,
    /// Phase-4 options.
    #[serde(deserialize_with = "or_default")]
    pub trace: TraceOverrides,
    /// How partly transparent pixels are drawn (default `phase4.alpha`).
    #[serde(deserialize_with = "optional_one_of")]
    pub alpha: Option<AlphaMode>,
    /// `stacked` or `cutout` (default `phase4.layout`).
    #[serde(deserialize_with = "optional_one_of")]
    pub layout: Option<Layout>,
    /// Gap filler width in output pixels, 0 = off, up to [`GAP_FILLER_MAX`] (default
    /// `phase4.gap_filler`).
    #[serde(deserialize_with = "gap_filler")]
    pub gap_filler: Option<f64>,
}

/// The steering options (`{"enabled": true, "seed": 7, "strength": 0.6}`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SteeringRequest {
    /// `false` turns phase 2 off for this job (on only when the worker has a model).
    #[serde(default = "yes", deserialize_with = "enabled")]
    pub enabled: bool,
    /// Seed of the first attempt (default `phase2.seed`).
    #[serde(default)]
    pub seed: Option<i64>,
    /// Strength of the first attempt, in (0, 1] (default `phase2.strength`).
    #[serde(default, deserialize_with = "strength")]
    pub strength: Option<f32>,
}

/// The image-tracing options (`{"mode": "polygon", "filter_speckle": 4}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TraceOverrides {
    /// A [`TraceMode`] by name (default `phase4.mode`).
    #[serde(deserialize_with = "optional_one_of")]
    pub mode: Option<TraceMode>,
    /// Speckle area in working pixels, [`FILTER_SPECKLE_RANGE`] (default
    /// `phase4.filter_speckle`).
    #[serde(deserialize_with = "filter_speckle")]
    pub filter_speckle: Option<u32>,
    /// Whole circles and ellipses written exactly (default `phase4.primitives`); `false`:
    /// Bézier curves only.
    pub primitives: Option<bool>,
}

impl JobOptions {
    /// Checks every range, naming the job-input field and the phase that uses it: for
    /// options built in code, which no deserialiser has seen.
    pub fn check(&self) -> Result<(), PipelineError> {
        let invalid = |phase, field| move |message| PipelineError::invalid(phase, field, message);
        if let Some(value) = self.max_colors {
            check_max_colors(value.into()).map_err(invalid(Phase::Quantize, "max_colors"))?;
        }
        if let Some(value) = self.steering.and_then(|steering| steering.strength) {
            check_unit(value).map_err(invalid(Phase::Steer, "steering.strength"))?;
        }
        if let Some(value) = self.trace.filter_speckle {
            check_filter_speckle(value.into())
                .map_err(invalid(Phase::Trace, "trace.filter_speckle"))?;
        }
        if let Some(value) = self.gap_filler {
            check_gap_filler(value).map_err(invalid(Phase::Decode, "gap_filler"))?;
        }
        Ok(())
    }
}

/// `max_colors` in [`MAX_COLORS_RANGE`].
pub fn check_max_colors(value: i64) -> Result<u8, String> {
    int_in(value, MAX_COLORS_RANGE)
}

/// A share in (0, 1]: `steering.strength` (and the configuration's shares, `phase2.strength`
/// among them).
pub fn check_unit<T: Into<f64> + Display + Copy>(value: T) -> Result<T, String> {
    let number: f64 = value.into();
    if number > 0.0 && number <= 1.0 {
        Ok(value)
    } else {
        Err(format!("{value} is outside (0, 1]"))
    }
}

/// `trace.filter_speckle` in [`FILTER_SPECKLE_RANGE`].
pub fn check_filter_speckle(value: i64) -> Result<u32, String> {
    int_in(value, FILTER_SPECKLE_RANGE)
}

/// `gap_filler` in `0..=`[`GAP_FILLER_MAX`] output pixels.
pub fn check_gap_filler(value: f64) -> Result<f64, String> {
    if (0.0..=GAP_FILLER_MAX).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{value} is outside 0..={GAP_FILLER_MAX} output pixels"
        ))
    }
}

fn int_in<T: TryFrom<i64>>(value: i64, range: RangeInclusive<i64>) -> Result<T, String> {
    range
        .contains(&value)
        .then(|| T::try_from(value).ok())
        .flatten()
        .ok_or_else(|| format!("{value} is outside {}..={}", range.start(), range.end()))
}

/// An optional value read as `T` and checked by `check`; the error sits at the field's path.
fn checked<'de, D, T, U>(
    deserializer: D,
    check: impl FnOnce(T) -> Result<U, String>,
) -> Result<Option<U>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)?
        .map(check)
        .transpose()
        .map_err(de::Error::custom)
}

fn max_colors<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u8>, D::Error> {
    checked(deserializer, check_max_colors)
}

fn strength<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f32>, D::Error> {
    checked(deserializer, |value: f64| {
        check_unit(value).map(|v| v as f32)
    })
}

fn filter_speckle<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    checked(deserializer, check_filter_speckle)
}

fn gap_filler<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    checked(deserializer, check_gap_filler)
}

fn yes() -> bool {
    true
}

/// `enabled`: `null` is left out, which is `true`.
fn enabled<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(true))
}

/// A value whose `null` is its default.
fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn optional_one_of<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: de::DeserializeOwned,
{
    checked(deserializer, |value: String| one_of(&value))
}

/// A serde enum by name; anything else is refused with the list of names, in declaration
/// order (`"bezier" is not one of spline, polygon, pixel, auto`).
pub fn one_of<T: de::DeserializeOwned>(value: &str) -> Result<T, String> {
    let parsed: Result<T, de::value::Error> = T::deserialize(value.into_deserializer());
    parsed.map_err(|_| format!("{value:?} is not one of {}", field_names::<T>().join(", ")))
}

/// `palette`: a list of hex colours; a bad or repeated entry is refused at its own path
/// (`palette[1]`), an empty or too long list at `palette`.
fn palette<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Palette>, D::Error> {
    struct Colours;
    impl<'de> de::Visitor<'de> for Colours {
        type Value = Option<Palette>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("a list of hex colours")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Self::Value, D::Error> {
            inner.deserialize_seq(self)
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut colours = Vec::new();
            while let Some(colour) = seq.next_element_seed(Entry(&colours))? {
                colours.push(colour);
            }
            Palette::from_colors(colours)
                .map(Some)
                .map_err(de::Error::custom)
        }
    }
    deserializer.deserialize_option(Colours)
}

/// One palette entry, checked against the entries before it.
struct Entry<'a>(&'a [Rgb8]);

impl<'de> DeserializeSeed<'de> for Entry<'_> {
    type Value = Rgb8;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Rgb8, D::Error> {
        let value = String::deserialize(deserializer)?;
        let index = self.0.len();
        let error = match Palette::from_hex(&[&value]) {
            Ok(one) => {
                let colour = one.colors()[0];
                match self.0.iter().position(|c| *c == colour) {
                    None => return Ok(colour),
                    Some(first) => PaletteError::Duplicate {
                        index,
                        value,
                        first,
                    },
                }
            }
            Err(_) => PaletteError::BadHex { index, value },
        };
        // The path already names the entry; the message says the rest.
        let text = error.to_string();
        let prefix = format!("palette[{index}]: ");
        Err(de::Error::custom(
            text.strip_prefix(&prefix).unwrap_or(&text),
        ))
    }
}

/// The names a serde type declares: an enum's variants or a struct's fields, in order.
pub fn field_names<'de, T: Deserialize<'de>>() -> Vec<&'static str> {
    let found = RefCell::new(Vec::new());
    let _ = T::deserialize(Names(&found));
    found.into_inner()
}

/// A deserializer that answers every request with an error, noting the names an enum or a
/// struct asks for.
struct Names<'a>(&'a RefCell<Vec<&'static str>>);

impl Names<'_> {
    fn note<T>(self, names: &'static [&'static str]) -> Result<T, de::value::Error> {
        self.0.borrow_mut().extend_from_slice(names);
        Err(de::Error::custom("names only"))
    }
}

impl<'de> Deserializer<'de> for Names<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("names only"))
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.note(variants)
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.note(fields)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map identifier
        ignored_any
    }
}

/// One vectorization job.
#[derive(Debug, Clone)]
pub struct Request {
    /// The decoded image (see [`crate::decode()`]).
    pub image: DecodedImage,
    /// What the job asks for; left out, the settings decide.
    pub options: JobOptions,
    /// The SVG may not grow past this many bytes; tracing stops as soon as it does.
    pub max_svg_bytes: Option<usize>,
}

impl Request {
    /// A request with every option at its default.
    pub fn new(image: DecodedImage) -> Self {
        Self {
            image,
            options: JobOptions::default(),
            max_svg_bytes: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::PipelineErrorKind;

    /// The field path and message of reading `input`, as the job handler reports them.
    fn read(input: Value) -> Result<JobOptions, (String, String)> {
        serde_path_to_error::deserialize(&input)
            .map_err(|error| (error.path().to_string(), error.into_inner().to_string()))
    }

    #[test]
    fn reads_every_option_into_the_pipeline_types() {
        let options = read(json!({"palette": ["FF0000", "#00ff00"], "max_colors": 8,
            "steering": {"seed": 7, "strength": 0.5},
            "trace": {"mode": "pixel", "filter_speckle": 0, "primitives": false},
            "alpha": "threshold", "layout": "cutout", "gap_filler": 1.5}))
        .unwrap();
        assert_eq!(
            options,
            JobOptions {
                palette: Some(Palette::from_hex(&["ff0000", "00ff00"]).unwrap()),
                max_colors: Some(8),
                steering: Some(SteeringRequest {
                    enabled: true,
                    seed: Some(7),
                    strength: Some(0.5),
                }),
                trace: TraceOverrides {
                    mode: Some(TraceMode::Pixel),
                    filter_speckle: Some(0),
                    primitives: Some(false),
                },
                alpha: Some(AlphaMode::Threshold),
                layout: Some(Layout::Cutout),
                gap_filler: Some(1.5),
            }
        );
    }

    #[test]
    fn null_is_a_left_out_key() {
        let nulls = json!({"palette": null, "max_colors": null, "steering": null, "trace": null,
            "alpha": null, "layout": null, "gap_filler": null});
        assert_eq!(read(nulls).unwrap(), JobOptions::default());
        let options = read(
            json!({"steering": {"enabled": null, "seed": null, "strength": null},
            "trace": {"mode": null, "filter_speckle": null, "primitives": null}}),
        )
        .unwrap();
        assert_eq!(options.steering.map(|s| s.enabled), Some(true));
        assert_eq!(options.trace, TraceOverrides::default());
    }

    #[test]
    fn each_range_refuses_alike_when_read_and_when_built_in_code() {
        let with = |set: fn(&mut JobOptions)| {
            let mut options = JobOptions::default();
            set(&mut options);
            options
        };
        let cases: [(Value, &str, JobOptions); 5] = [
            (
                json!({"max_colors": 0}),
                "max_colors",
                with(|o| o.max_colors = Some(0)),
            ),
            (
                json!({"max_colors": 65}),
                "max_colors",
                with(|o| o.max_colors = Some(65)),
            ),
            (
                json!({"steering": {"strength": 1.5}}),
                "steering.strength",
                with(|o| {
                    o.steering = Some(SteeringRequest {
                        enabled: true,
                        seed: None,
                        strength: Some(1.5),
                    })
                }),
            ),
            (
                json!({"trace": {"filter_speckle": 1025}}),
                "trace.filter_speckle",
                with(|o| o.trace.filter_speckle = Some(1025)),
            ),
            (
                json!({"gap_filler": 20.5}),
                "gap_filler",
                with(|o| o.gap_filler = Some(20.5)),
            ),
        ];
        for (input, field, built) in cases {
            let (path, read_message) = read(input.clone()).unwrap_err();
            assert_eq!(path, field, "{input}");
            let error = built.check().unwrap_err();
            match error.kind {
                PipelineErrorKind::InvalidInput {
                    field: checked,
                    message,
                } => {
                    assert_eq!(checked, field, "{input}");
                    assert_eq!(message, read_message, "{input}");
                }
                other => panic!("{input}: {other:?}"),
            }
        }
        assert_eq!(
            read(json!({"max_colors": 65})).unwrap_err().1,
            "65 is outside 1..=64"
        );
    }

    #[test]
    fn ranges_keep_their_ends() {
        assert_eq!(check_max_colors(1), Ok(1));
        assert_eq!(check_max_colors(64), Ok(64));
        assert_eq!(check_max_colors(-1), Err("-1 is outside 1..=64".to_owned()));
        assert_eq!(check_filter_speckle(1024), Ok(1024));
        assert_eq!(check_unit(1.0f32), Ok(1.0));
        assert!(check_unit(0.0f64).is_err());
        assert!(check_unit(f64::NAN).is_err());
        assert_eq!(check_gap_filler(GAP_FILLER_MAX), Ok(GAP_FILLER_MAX));
        assert_eq!(
            check_gap_filler(-0.5),
            Err("-0.5 is outside 0..=20 output pixels".to_owned())
        );
    }

    #[test]
    fn trace_primitives_is_a_boolean_named_by_its_path() {
        let (path, message) = read(json!({"trace": {"primitives": "yes"}})).unwrap_err();
        assert_eq!(path, "trace.primitives");
        assert!(
            message.contains("invalid type: string \"yes\""),
            "{message}"
        );
        let on = read(json!({"trace": {"primitives": true}})).unwrap();
        assert_eq!(on.trace.primitives, Some(true));
    }

    #[test]
    fn palette_errors_sit_at_the_entry() {
        let cases = [
            (
                json!(["ff0000", "nothex"]),
                "palette[1]",
                "\"nothex\" is not a hex colour",
            ),
            (
                json!(["ff0000", "#FF0000"]),
                "palette[1]",
                "\"#FF0000\" repeats palette[0]",
            ),
            (json!([]), "palette", "palette is empty"),
            (
                json!(["ff0000", 5]),
                "palette[1]",
                "invalid type: integer `5`",
            ),
            (json!("ff0000"), "palette", "expected a list of hex colours"),
        ];
        for (palette, field, fragment) in cases {
            let (path, message) = read(json!({ "palette": palette })).unwrap_err();
            assert_eq!(path, field, "{palette}");
            assert!(message.contains(fragment), "{palette}: {message}");
        }
        let many: Vec<String> = (0..65).map(|i| format!("{i:06x}")).collect();
        let (path, message) = read(json!({ "palette": many })).unwrap_err();
        assert_eq!(
            (path.as_str(), message.as_str()),
            ("palette", "palette has 65 colours: at most 64 are allowed")
        );
    }

    #[test]
    fn enums_are_named_by_their_serde_names_in_order() {
        assert_eq!(
            field_names::<TraceMode>(),
            ["spline", "polygon", "pixel", "auto"]
        );
        assert_eq!(
            one_of::<Layout>("tiled").unwrap_err(),
            "\"tiled\" is not one of stacked, cutout"
        );
        assert_eq!(one_of::<AlphaMode>("levels"), Ok(AlphaMode::Levels));
        let (path, message) = read(json!({"trace": {"mode": "bezier"}})).unwrap_err();
        assert_eq!(path, "trace.mode");
        assert_eq!(
            message,
            "\"bezier\" is not one of spline, polygon, pixel, auto"
        );
        assert_eq!(
            field_names::<JobOptions>(),
            [
                "palette",
                "max_colors",
                "steering",
                "trace",
                "alpha",
                "layout",
                "gap_filler"
            ]
        );
    }

    #[test]
    fn unknown_keys_inside_steering_and_trace_are_refused() {
        let (path, message) = read(json!({"trace": {"speckle": 1}})).unwrap_err();
        assert_eq!(path, "trace.speckle");
        assert!(message.contains("unknown field `speckle`"), "{message}");
        let (path, _) = read(json!({"steering": {"on": true}})).unwrap_err();
        assert_eq!(path, "steering.on");
    }
}
