//! Whole shapes refined against the coverage the working image carries at their edges
//! (`shapes::refine`): which outlines qualify (wholly against transparency, or an island on
//! one colour all round), the coverage each is compared with (alpha, or the mix of the two
//! colours) and which working pixels may be compared.

use super::layer::LayerJob;
use super::{Working, TRANSPARENT_KEY};
use crate::fit;
use crate::shapes::{self, Conic};

/// An island's two colours closer than this (sRGB distance) say too little about coverage.
const MIN_MIX_CONTRAST: f64 = 0.1;

impl LayerJob<'_> {
    /// A straight-sided polygon refined from the coverage at its edge (see [`Self::refine`]).
    pub(super) fn refined_polygon(
        &self,
        corners: &[fit::Point],
        points: &[fit::Point],
    ) -> Option<Vec<fit::Point>> {
        let n = corners.len() as f64;
        let center = corners
            .iter()
            .fold((0.0, 0.0), |acc, c| (acc.0 + c.0 / n, acc.1 + c.1 / n));
        let reach = corners
            .iter()
            .map(|c| (c.0 - center.0).hypot(c.1 - center.1))
            .fold(0.0, f64::max);
        let flat: Vec<f64> = corners.iter().flat_map(|&(x, y)| [x, y]).collect();
        let signed = |q| shapes::refine::signed_polygon(&flat, q);
        self.refine(
            points,
            (center, reach),
            &signed,
            false,
            |coverage, usable| shapes::refine_polygon(corners, coverage, usable),
        )
    }

    /// A circle or an ellipse refined from the coverage at its edge (see [`Self::refine`]);
    /// `hole`: the edge of a hole.
    pub(super) fn refined_conic(
        &self,
        conic: &Conic,
        points: &[fit::Point],
        hole: bool,
    ) -> Option<Conic> {
        let reach = conic.rx.max(conic.ry);
        let signed = |q| shapes::refine::signed_conic(conic, q);
        self.refine(
            points,
            (conic.center, reach),
            &signed,
            hole,
            |coverage, usable| shapes::refine_conic(conic, coverage, hole, usable),
        )
    }

    /// A rectangle refined from the coverage at its edge (see [`Self::refine`]).
    pub(super) fn refined_rect(
        &self,
        rect: &shapes::Rect,
        points: &[fit::Point],
    ) -> Option<shapes::Rect> {
        let reach = 0.5 * rect.width.hypot(rect.height);
        let signed = |q| shapes::refine::signed_rect(rect, q);
        self.refine(
            points,
            (rect.center, reach),
            &signed,
            false,
            |coverage, usable| shapes::refine_rect(rect, coverage, usable),
        )
    }

    /// Runs `refine` with the coverage an outline's edge carries: the working image's alpha
    /// when the outline runs wholly against transparency (compared only where no other opaque
    /// colour is), else, for an island on one colour all round, the colour mix ([`Self::mix`];
    /// `around`: the shape's centre and reach, `signed`: its signed distance, `hole`: a hole's
    /// edge). None when neither applies.
    fn refine<T>(
        &self,
        points: &[fit::Point],
        around: (fit::Point, f64),
        signed: &dyn Fn(fit::Point) -> f64,
        hole: bool,
        refine: impl Fn(&shapes::Coverage<'_>, &dyn Fn(usize, usize) -> bool) -> Option<T>,
    ) -> Option<T> {
        let grid = self.grid;
        let working = grid.coverage.as_ref()?;
        if let Some(own) = self.transparent_edge_key(points) {
            let usable =
                |x: usize, y: usize| self.block_all(x, y, |k| k == own || !grid.is_opaque(k));
            return refine(&self.coverage(working, &working.alpha), &usable);
        }
        let (mix, usable) = self.mix(points, around.0, around.1, signed, hole)?;
        refine(&self.coverage(working, &mix), &usable)
    }

    /// `values` (one per working pixel) as the coverage of the grid's working pixels.
    pub(super) fn coverage<'c>(
        &self,
        working: &'c Working,
        values: &'c [f32],
    ) -> shapes::Coverage<'c> {
        shapes::Coverage {
            alpha: values,
            width: working.width,
            height: working.height,
            scale: self.grid.scale as f64,
        }
    }

    /// For an outline wholly against transparency (and whole shapes on), the key of the
    /// shape: the drawn side of its first edge.
    pub(super) fn transparent_edge_key(&self, points: &[fit::Point]) -> Option<u16> {
        if !self.primitives_on() || !self.against_nothing(points) {
            return None;
        }
        let (a, b) = self.edge_keys(*points.first()?);
        Some(if a == TRANSPARENT_KEY { b } else { a })
    }

    /// The keys of the two grid pixels either side of a unit-edge midpoint.
    pub(super) fn edge_keys(&self, (x, y): fit::Point) -> (u16, u16) {
        let grid = self.grid;
        let key = |x: f64, y: f64| -> u16 {
            if x < 0.0 || y < 0.0 || x >= grid.width as f64 || y >= grid.height as f64 {
                return TRANSPARENT_KEY;
            }
            grid.keys[y as usize * grid.width + x as usize]
        };
        if x.fract() == 0.0 {
            (key(x - 0.5, y), key(x + 0.5, y))
        } else {
            (key(x, y - 0.5), key(x, y + 0.5))
        }
    }

    /// Whether every grid pixel of working pixel `(x, y)` passes `test`.
    pub(super) fn block_all(&self, x: usize, y: usize, test: impl Fn(u16) -> bool) -> bool {
        let grid = self.grid;
        let scale = grid.scale;
        (y * scale..(y + 1) * scale).all(|fy| {
            let row = fy * grid.width;
            grid.keys[row + x * scale..row + (x + 1) * scale]
                .iter()
                .all(|&k| test(k))
        })
    }

    /// An island's coverage at its edge, from colour: each working pixel's straight colour
    /// projected on the segment from the colour around the shape to the shape's own (their
    /// means over the working pixels 1.5–2.5 px out and in, by `signed`, the starting
    /// outline's signed distance in grid pixels; out and in swapped with `own_outside`, for a
    /// hole's edge), where renderers blend the two. The values
    /// cover the shape's box (`center` ± `reach` and a margin); also which working pixels
    /// may be compared (only the two keys in them).
    #[allow(clippy::type_complexity)]
    pub(super) fn mix(
        &self,
        points: &[fit::Point],
        center: fit::Point,
        reach: f64,
        signed: &dyn Fn(fit::Point) -> f64,
        own_outside: bool,
    ) -> Option<(Vec<f32>, Box<dyn Fn(usize, usize) -> bool + '_>)> {
        let grid = self.grid;
        let working = grid.coverage.as_ref()?;
        if !self.primitives_on() || !self.island(points) {
            return None;
        }
        let first = *points.first()?;
        let (a, b) = self.edge_keys(first);
        // Of the two grid pixels either side of the first edge, the shape's own is the one
        // inside the outline (outside it, for a hole's edge).
        let (pa, pb) = if first.0.fract() == 0.0 {
            ((first.0 - 0.5, first.1), (first.0 + 0.5, first.1))
        } else {
            ((first.0, first.1 - 0.5), (first.0, first.1 + 0.5))
        };
        let a_inside = signed(pa) < signed(pb);
        let (own, other) = if a_inside != own_outside {
            (a, b)
        } else {
            (b, a)
        };
        if !grid.is_opaque(own) || !grid.is_opaque(other) {
            return None;
        }
        let scale = grid.scale as f64;
        let usable = move |x: usize, y: usize| self.block_all(x, y, |k| k == own || k == other);
        let margin = (reach + 4.0 * scale) / scale;
        let range = |c: f64, limit: usize| {
            let lo = (c / scale - margin).floor().max(0.0) as usize;
            let hi = ((c / scale + margin).ceil().max(0.0) as usize).min(limit);
            lo..hi
        };
        let (xs, ys) = (
            range(center.0, working.width),
            range(center.1, working.height),
        );
        let colour = |i: usize| -> [f64; 3] {
            let c = &working.straight[3 * i..3 * i + 3];
            [f64::from(c[0]), f64::from(c[1]), f64::from(c[2])]
        };
        let mut sums = [[0f64; 4]; 2];
        for y in ys.clone() {
            for x in xs.clone() {
                let d = signed(((x as f64 + 0.5) * scale, (y as f64 + 0.5) * scale)) / scale;
                // Side 0: the shape's own colour; 1: the colour around it.
                let d = if own_outside { -d } else { d };
                let side = if (1.5..2.5).contains(&d) {
                    1
                } else if (-2.5..-1.5).contains(&d) {
                    0
                } else {
                    continue;
                };
                if !usable(x, y) {
                    continue;
                }
                let c = colour(y * working.width + x);
                for k in 0..3 {
                    sums[side][k] += c[k];
                }
                sums[side][3] += 1.0;
            }
        }
        if sums[0][3] < 4.0 || sums[1][3] < 4.0 {
            return None;
        }
        let inside: Vec<f64> = (0..3).map(|k| sums[0][k] / sums[0][3]).collect();
        let outside: Vec<f64> = (0..3).map(|k| sums[1][k] / sums[1][3]).collect();
        let axis: Vec<f64> = (0..3).map(|k| inside[k] - outside[k]).collect();
        let length2: f64 = axis.iter().map(|v| v * v).sum();
        if length2 < MIN_MIX_CONTRAST * MIN_MIX_CONTRAST {
            return None;
        }
        let mut mix = vec![0f32; working.width * working.height];
        for y in ys {
            for x in xs.clone() {
                let i = y * working.width + x;
                let c = colour(i);
                let t: f64 = (0..3).map(|k| (c[k] - outside[k]) * axis[k]).sum::<f64>() / length2;
                mix[i] = t.clamp(-0.25, 1.25) as f32;
            }
        }
        Some((mix, Box::new(usable)))
    }

    /// Whether an outline (its unit-edge midpoints) is an island: it stays off the grid's
    /// border and one colour lies all round it (a badge on a white ground).
    pub(super) fn island(&self, points: &[fit::Point]) -> bool {
        let grid = self.grid;
        let (width, height) = (grid.width as f64, grid.height as f64);
        let key = |x: f64, y: f64| grid.keys[y as usize * grid.width + x as usize];
        // The two keys seen on every edge: the shape's own and the one around it.
        let mut seen: [Option<u16>; 2] = [None; 2];
        for &(x, y) in points {
            let ((ax, ay), (bx, by)) = if x.fract() == 0.0 {
                ((x - 0.5, y), (x + 0.5, y))
            } else {
                ((x, y - 0.5), (x, y + 0.5))
            };
            if ax < 0.0 || ay < 0.0 || bx >= width || by >= height {
                return false;
            }
            for k in [key(ax, ay), key(bx, by)] {
                match seen {
                    [Some(a), _] if a == k => {}
                    [_, Some(b)] if b == k => {}
                    [None, _] => seen[0] = Some(k),
                    [_, None] => seen[1] = Some(k),
                    _ => return false,
                }
            }
        }
        seen[1].is_some()
    }

    /// Whether an outline (its unit-edge midpoints) runs wholly against transparency. Such a
    /// whole shape grows by `EDGE_INSET` working pixels (above 1×): fine pixels next to
    /// transparency need that much more coverage to be drawn (see `supersample`), which the
    /// curve fitter's polygon, keeping the staircase's outer corners, about made up for and an
    /// unbiased least-squares fit does not (a 128 px icon's circle came out 0.2 px small).
    pub(super) fn against_nothing(&self, points: &[fit::Point]) -> bool {
        let grid = self.grid;
        let key = |x: f64, y: f64| -> u16 {
            if x < 0.0 || y < 0.0 || x >= grid.width as f64 || y >= grid.height as f64 {
                return TRANSPARENT_KEY;
            }
            grid.keys[y as usize * grid.width + x as usize]
        };
        // Each midpoint sits on a unit edge between two pixels: one of them must be nothing.
        points.iter().all(|&(x, y)| {
            let (a, b) = if x.fract() == 0.0 {
                (key(x - 0.5, y), key(x + 0.5, y))
            } else {
                (key(x, y - 0.5), key(x, y + 0.5))
            };
            a == TRANSPARENT_KEY || b == TRANSPARENT_KEY
        })
    }
}
