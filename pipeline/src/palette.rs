//! Palettes: one validated constructor (the Python system built palettes with
//! `object.__new__` and crashed on custom ones), plus the OKLab conversion shared with the
//! quantisation phase.

use std::fmt;

/// The most colours a palette may have.
pub const MAX_COLORS: usize = 64;

/// An sRGB colour with 8 bits per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb8(pub [u8; 3]);

impl Rgb8 {
    /// `#rrggbb`, lower case: the form used in SVG fills and metadata.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0[0], self.0[1], self.0[2])
    }

    /// The colour as float sRGB in [0, 1].
    pub fn to_unit(self) -> [f32; 3] {
        self.0.map(|c| f32::from(c) / 255.0)
    }
}

impl fmt::Display for Rgb8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

/// Why a palette was refused. Every message names the bad value and its index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaletteError {
    /// No colours at all.
    #[error("palette is empty: give 1 to 64 colours")]
    Empty,
    /// More than [`MAX_COLORS`].
    #[error("palette has {0} colours: at most 64 are allowed")]
    TooMany(usize),
    /// Not `RRGGBB` hex, with `#` optional.
    #[error("palette[{index}]: {value:?} is not a hex colour like \"FF8800\" or \"#ff8800\"")]
    BadHex {
        /// Position in the list.
        index: usize,
        /// The value as given.
        value: String,
    },
    /// The same colour twice.
    #[error("palette[{index}]: {value:?} repeats palette[{first}]")]
    Duplicate {
        /// Position of the repeat.
        index: usize,
        /// The value as given.
        value: String,
        /// Position of the first occurrence.
        first: usize,
    },
}

/// 1 to 64 distinct sRGB colours, in the order given. Every SVG fill is one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palette {
    colors: Vec<Rgb8>,
}

impl Palette {
    /// The one validated constructor for user-given palettes: hex `RRGGBB`, `#` optional,
    /// case-insensitive, 1 to 64 distinct colours.
    pub fn from_hex<S: AsRef<str>>(values: &[S]) -> Result<Self, PaletteError> {
        let mut colors = Vec::with_capacity(values.len());
        for (index, value) in values.iter().enumerate() {
            let value = value.as_ref();
            let color = parse_hex(value).ok_or_else(|| PaletteError::BadHex {
                index,
                value: value.to_owned(),
            })?;
            if let Some(first) = colors.iter().position(|c| *c == color) {
                return Err(PaletteError::Duplicate {
                    index,
                    value: value.to_owned(),
                    first,
                });
            }
            colors.push(color);
        }
        Self::from_colors(colors)
    }

    /// A palette from colours computed by the program (automatic palettes). The same rules
    /// hold: 1 to 64 colours; duplicates are refused.
    pub fn from_colors(colors: Vec<Rgb8>) -> Result<Self, PaletteError> {
        if colors.is_empty() {
            return Err(PaletteError::Empty);
        }
        if colors.len() > MAX_COLORS {
            return Err(PaletteError::TooMany(colors.len()));
        }
        for (index, color) in colors.iter().enumerate() {
            if let Some(first) = colors[..index].iter().position(|c| c == color) {
                return Err(PaletteError::Duplicate {
                    index,
                    value: color.hex(),
                    first,
                });
            }
        }
        Ok(Self { colors })
    }

    /// The colours in order.
    pub fn colors(&self) -> &[Rgb8] {
        &self.colors
    }

    /// Number of colours (1..=64).
    pub fn len(&self) -> usize {
        self.colors.len()
    }

    /// Always false: a palette has at least one colour. Present for clippy's `len` rule.
    pub fn is_empty(&self) -> bool {
        self.colors.is_empty()
    }

    /// `#rrggbb` strings in order.
    pub fn hex_list(&self) -> Vec<String> {
        self.colors.iter().map(|c| c.hex()).collect()
    }
}

fn parse_hex(value: &str) -> Option<Rgb8> {
    let digits = value.strip_prefix('#').unwrap_or(value);
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&digits[i..i + 2], 16).ok();
    Some(Rgb8([channel(0)?, channel(2)?, channel(4)?]))
}

/// sRGB in [0, 1] to OKLab (Björn Ottosson's matrices), the same arithmetic as the
/// quantisation graph in `tools/export_models.py`.
pub fn srgb_to_oklab(rgb: [f32; 3]) -> [f32; 3] {
    let linear = rgb.map(|c| {
        if c < 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).max(0.0).powf(2.4)
        }
    });
    let [r, g, b] = linear;
    let l = 0.412_221_47 * r + 0.536_332_55 * g + 0.051_445_995 * b;
    let m = 0.211_903_5 * r + 0.680_699_5 * g + 0.107_396_96 * b;
    let s = 0.088_302_46 * r + 0.281_718_85 * g + 0.629_978_7 * b;
    let (l, m, s) = (l.max(0.0).cbrt(), m.max(0.0).cbrt(), s.max(0.0).cbrt());
    [
        0.210_454_26 * l + 0.793_617_8 * m - 0.004_072_047 * s,
        1.977_998_5 * l - 2.428_592_2 * m + 0.450_593_7 * s,
        0.025_904_037 * l + 0.782_771_77 * m - 0.808_675_77 * s,
    ]
}

/// Euclidean distance of two OKLab colours (a just-noticeable difference is about 0.02).
pub fn oklab_distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
}

/// The index of the colour of `inks` (OKLab) nearest to `lab` (squared Euclidean distance;
/// the first of equally near colours; `0` when `inks` is empty).
pub fn nearest_oklab(inks: &[[f32; 3]], lab: [f32; 3]) -> usize {
    nearest_oklab_among(inks, lab, |_| true)
}

/// [`nearest_oklab`] among the inks `allowed` accepts (the first ink when it accepts none).
pub(crate) fn nearest_oklab_among(
    inks: &[[f32; 3]],
    lab: [f32; 3],
    allowed: impl Fn(usize) -> bool,
) -> usize {
    let mut best = 0;
    let mut best_distance = f32::INFINITY;
    for (index, ink) in inks.iter().enumerate().filter(|(index, _)| allowed(*index)) {
        let d = [ink[0] - lab[0], ink[1] - lab[1], ink[2] - lab[2]];
        let distance = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
        if distance < best_distance {
            best_distance = distance;
            best = index;
        }
    }
    best
}

/// The point of the segment from `a` to `b` nearest `p`, and its position along the segment
/// in [0, 1] (0 when the segment is a point): where an anti-aliased blend of `a` and `b`
/// would lie.
pub fn nearest_on_segment(p: [f32; 3], a: [f32; 3], b: [f32; 3]) -> ([f32; 3], f32) {
    let ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let length2 = ab[0] * ab[0] + ab[1] * ab[1] + ab[2] * ab[2];
    let t = if length2 > 0.0 {
        (((p[0] - a[0]) * ab[0] + (p[1] - a[1]) * ab[1] + (p[2] - a[2]) * ab[2]) / length2)
            .clamp(0.0, 1.0)
    } else {
        0.0
    };
    ([a[0] + ab[0] * t, a[1] + ab[1] * t, a[2] + ab[2] * t], t)
}

/// OKLab to sRGB in [0, 1] (the inverse of [`srgb_to_oklab`]), clamped to the sRGB gamut.
pub fn oklab_to_srgb(lab: [f32; 3]) -> [f32; 3] {
    let [l, a, b] = lab;
    let l_ = l + 0.396_337_78 * a + 0.215_803_76 * b;
    let m_ = l - 0.105_561_346 * a - 0.063_854_17 * b;
    let s_ = l - 0.089_484_18 * a - 1.291_485_5 * b;
    let (l3, m3, s3) = (l_ * l_ * l_, m_ * m_ * m_, s_ * s_ * s_);
    let linear = [
        4.076_741_7 * l3 - 3.307_711_6 * m3 + 0.230_969_94 * s3,
        -1.268_438 * l3 + 2.609_757_4 * m3 - 0.341_319_38 * s3,
        -0.004_196_086_3 * l3 - 0.703_418_6 * m3 + 1.707_614_7 * s3,
    ];
    linear.map(|c| {
        let c = c.clamp(0.0, 1.0);
        if c <= 0.003_130_8 {
            12.92 * c
        } else {
            1.055 * c.powf(1.0 / 2.4) - 0.055
        }
    })
}

impl Rgb8 {
    /// The nearest 8-bit colour to float sRGB in [0, 1] (values outside are clamped).
    pub fn from_unit(rgb: [f32; 3]) -> Self {
        Self(rgb.map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_hash_optional_and_any_case() {
        let palette = Palette::from_hex(&["FF0000", "#00ff00", "0000Ff"]).unwrap();
        assert_eq!(palette.hex_list(), vec!["#ff0000", "#00ff00", "#0000ff"]);
    }

    #[test]
    fn names_bad_value_and_index() {
        let error = Palette::from_hex(&["FF0000", "GG0000"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "palette[1]: \"GG0000\" is not a hex colour like \"FF8800\" or \"#ff8800\""
        );
        let error = Palette::from_hex(&["#abc"]).unwrap_err();
        assert!(error.to_string().contains("palette[0]: \"#abc\""));
    }

    #[test]
    fn refuses_duplicates_naming_both_positions() {
        let error = Palette::from_hex(&["ff0000", "00ff00", "#FF0000"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "palette[2]: \"#FF0000\" repeats palette[0]"
        );
    }

    #[test]
    fn refuses_empty_and_too_many() {
        let empty: [&str; 0] = [];
        assert_eq!(Palette::from_hex(&empty).unwrap_err(), PaletteError::Empty);
        let many: Vec<String> = (0..65).map(|i| format!("{i:06x}")).collect();
        assert_eq!(
            Palette::from_hex(&many).unwrap_err(),
            PaletteError::TooMany(65)
        );
    }

    #[test]
    fn oklab_of_white_and_black() {
        let white = srgb_to_oklab([1.0, 1.0, 1.0]);
        assert!((white[0] - 1.0).abs() < 1e-3 && white[1].abs() < 1e-3 && white[2].abs() < 1e-3);
        assert_eq!(srgb_to_oklab([0.0, 0.0, 0.0]), [0.0, 0.0, 0.0]);
    }

    #[test]
    fn oklab_round_trips_through_srgb() {
        for rgb in [
            [0.0, 0.0, 0.0],
            [1.0, 1.0, 1.0],
            [1.0, 0.0, 0.0],
            [0.2, 0.5, 0.9],
        ] {
            let back = oklab_to_srgb(srgb_to_oklab(rgb));
            for (a, b) in rgb.iter().zip(back) {
                assert!((a - b).abs() < 1e-3, "{rgb:?} came back as {back:?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(values in proptest::collection::vec(".{0,10}", 0..70)) {
            let _ = Palette::from_hex(&values);
        }
    }
}
