//! Field deserialisers of the configuration's types, whichever component owns the type (the
//! engine's, the handler's, the settings' own schemas): each key's range or set of values is
//! written once, on its field (`#[serde(deserialize_with = "fields::int::<_, u32, 64, 8192>")]`), and
//! the loader puts the key in front of the message (`pipeline.working_size: 9 is outside
//! 64..=8192`). Enums are plain serde enums; [`one_of`] lists their variants when a value is
//! not one of them.

use std::num::NonZeroUsize;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer};

use crate::pipeline::palette::Palette;
use crate::pipeline::request;

/// An integer in `LO..=HI`, as `T`.
pub(crate) fn int<'de, D, T, const LO: i64, const HI: i64>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    let value = i64::deserialize(deserializer)?;
    if !(LO..=HI).contains(&value) {
        return Err(de::Error::custom(format!("{value} is outside {LO}..={HI}")));
    }
    T::try_from(value).map_err(|_| de::Error::custom(format!("{value} does not fit")))
}

/// An integer in `1..=HI`.
pub(crate) fn positive<'de, D, const HI: i64>(deserializer: D) -> Result<NonZeroUsize, D::Error>
where
    D: Deserializer<'de>,
{
    let value: usize = int::<D, usize, 1, HI>(deserializer)?;
    NonZeroUsize::new(value).ok_or_else(|| de::Error::custom("0 is outside 1.."))
    // checked above
}

/// A number in `[LO, HI]` thousandths (`float::<_, 50, 4000>` is `[0.05, 4]`).
pub(crate) fn float<'de, D, const LO: i64, const HI: i64>(deserializer: D) -> Result<f64, D::Error>
where
    D: Deserializer<'de>,
{
    let value = f64::deserialize(deserializer)?;
    let (low, high) = (LO as f64 / 1000.0, HI as f64 / 1000.0);
    if !(value >= low && value <= high) {
        return Err(de::Error::custom(format!(
            "{value} is outside [{low}, {high}]"
        )));
    }
    Ok(value)
}

/// A number in `(0, 1]`.
pub(crate) fn unit<'de, D>(deserializer: D) -> Result<f32, D::Error>
where
    D: Deserializer<'de>,
{
    let value = f64::deserialize(deserializer)?;
    request::check_unit(value)
        .map(|value| value as f32)
        .map_err(de::Error::custom)
}

/// Seconds in `(0, MAX]`.
pub(crate) fn seconds<'de, D, const MAX: i64>(deserializer: D) -> Result<Duration, D::Error>
where
    D: Deserializer<'de>,
{
    let value = f64::deserialize(deserializer)?;
    let max = MAX as f64;
    if !(value > 0.0 && value <= max) {
        return Err(de::Error::custom(format!(
            "{value} is outside (0, {max}] seconds"
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

/// Milliseconds in `0..=MAX`.
pub(crate) fn millis<'de, D, const MAX: i64>(deserializer: D) -> Result<Duration, D::Error>
where
    D: Deserializer<'de>,
{
    int::<D, u64, 0, MAX>(deserializer).map(Duration::from_millis)
}

/// Mebibytes in `LO..=HI`, as bytes.
pub(crate) fn mebibytes<'de, D, const LO: i64, const HI: i64>(
    deserializer: D,
) -> Result<u64, D::Error>
where
    D: Deserializer<'de>,
{
    int::<D, u64, LO, HI>(deserializer).map(|mb| mb << 20)
}

/// A `u64` byte count where `0` means "no limit".
pub(crate) fn limit<'de, D>(deserializer: D) -> Result<Option<u64>, D::Error>
where
    D: Deserializer<'de>,
{
    int::<D, u64, 0, { i64::MAX }>(deserializer).map(|bytes| (bytes > 0).then_some(bytes))
}

/// A path; empty means "not set".
pub(crate) fn optional_path<'de, D>(deserializer: D) -> Result<Option<std::path::PathBuf>, D::Error>
where
    D: Deserializer<'de>,
{
    let value = String::deserialize(deserializer)?;
    Ok((!value.trim().is_empty()).then(|| value.into()))
}

/// A serde enum given by name; anything else is refused with the list of names (the rule
/// the job input follows too: [`crate::pipeline::request::one_of`]).
pub(crate) fn one_of<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: de::DeserializeOwned,
{
    let value = String::deserialize(deserializer)?;
    request::one_of(&value).map_err(de::Error::custom)
}

/// Hex colours, as a list or one comma-separated string (an environment variable); empty is
/// no palette.
pub(crate) fn palette<'de, D>(deserializer: D) -> Result<Option<Palette>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Colours {
        List(Vec<String>),
        Text(String),
    }
    let colours = match Colours::deserialize(deserializer)? {
        Colours::List(list) => list,
        Colours::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    if colours.is_empty() {
        return Ok(None);
    }
    Palette::from_hex(&colours)
        .map(Some)
        .map_err(de::Error::custom)
}
