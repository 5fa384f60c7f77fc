//! Each chain simplified and fitted once, and drawn forwards or reversed.

use visioncortex::{PathI32, PointI32};

use super::map::{Chain, PlanarMap, Use};
use crate::cancel::CancelToken;
use crate::pipeline::fit;
use crate::pipeline::options::{TraceMode, TraceOptions};

/// Chord length, in working pixels, over which corners are judged (as in image tracing).
const CORNER_REACH: f64 = 3.0;

/// The geometry of one fitted chain, in grid coordinates, from its first point to its last.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fitted {
    /// Straight segments through these points (first and last included).
    Polyline(Vec<fit::Point>),
    /// Cubic segments, each starting where the previous ended.
    Cubics(Vec<fit::Cubic>),
}

impl Fitted {
    /// The first point of the chain walked in the given direction.
    pub fn start(&self, reversed: bool) -> fit::Point {
        match (self, reversed) {
            (Fitted::Polyline(points), false) => points[0],
            (Fitted::Polyline(points), true) => points[points.len() - 1],
            (Fitted::Cubics(cubics), false) => cubics[0][0],
            (Fitted::Cubics(cubics), true) => cubics[cubics.len() - 1][3],
        }
    }
}

/// How one chain is drawn.
pub(crate) trait Pen {
    /// Starts a subpath.
    fn move_to(&mut self, point: fit::Point);
    /// A straight segment.
    fn line_to(&mut self, point: fit::Point);
    /// A cubic segment.
    fn cubic_to(&mut self, c1: fit::Point, c2: fit::Point, end: fit::Point);
    /// Closes the subpath.
    fn close(&mut self);
}

/// Draws `fitted` from its current start (without the move to it).
pub(crate) fn draw(fitted: &Fitted, reversed: bool, pen: &mut dyn Pen) {
    match fitted {
        Fitted::Polyline(points) => {
            if reversed {
                for point in points.iter().rev().skip(1) {
                    pen.line_to(*point);
                }
            } else {
                for point in points.iter().skip(1) {
                    pen.line_to(*point);
                }
            }
        }
        Fitted::Cubics(cubics) => {
            if reversed {
                for cubic in cubics.iter().rev() {
                    pen.cubic_to(cubic[2], cubic[1], cubic[0]);
                }
            } else {
                for cubic in cubics {
                    pen.cubic_to(cubic[1], cubic[2], cubic[3]);
                }
            }
        }
    }
}

/// Draws one region's outlines (closed subpaths).
pub(crate) fn draw_region(outlines: &[Vec<Use>], fitted: &[Fitted], pen: &mut dyn Pen) {
    for outline in outlines {
        let Some(first) = outline.first() else {
            continue;
        };
        pen.move_to(fitted[first.chain].start(first.reversed));
        for item in outline {
            draw(&fitted[item.chain], item.reversed, pen);
        }
        pen.close();
    }
}

/// Fits every chain once (in parallel); `right_is_top[chain]` says whether the chain's right
/// side keeps its staircase corners (see [`PlanarMap::right_is_top`]). `None` when `cancel`
/// fires. A chain whose curve fit panics keeps its simplified polygon.
pub(crate) fn fit_chains(
    map: &PlanarMap,
    options: &TraceOptions,
    scale: usize,
    right_is_top: &[bool],
    cancel: &CancelToken,
) -> Option<Vec<Fitted>> {
    use rayon::prelude::*;
    let fit_options = fit::FitOptions {
        tolerance: options.fit_tolerance * scale as f64,
        corner_threshold: options.corner_threshold.to_radians(),
        corner_reach: CORNER_REACH * scale as f64,
    };
    map.chains
        .par_iter()
        .zip(right_is_top)
        .map(|(chain, top)| {
            if cancel.is_cancelled() {
                return None;
            }
            let top = *top;
            let fitted =
                std::panic::catch_unwind(|| fit_chain(chain, options.mode, top, &fit_options))
                    .unwrap_or_else(|_| fit_chain(chain, TraceMode::Polygon, top, &fit_options));
            Some(fitted)
        })
        .collect()
}

/// Simplifies and fits one chain; its ends stay where they are.
fn fit_chain(
    chain: &Chain,
    mode: TraceMode,
    right_is_top: bool,
    options: &fit::FitOptions,
) -> Fitted {
    let as_f64 = |points: &[(i32, i32)]| -> Vec<fit::Point> {
        points
            .iter()
            .map(|(x, y)| (f64::from(*x), f64::from(*y)))
            .collect()
    };
    if mode == TraceMode::Pixel {
        return Fitted::Polyline(as_f64(&chain.points));
    }
    let path = PathI32 {
        path: chain
            .points
            .iter()
            .map(|(x, y)| PointI32::new(*x, *y))
            .collect(),
    };
    // The lattice points are the chain's corners, as visioncortex's walker gives them.
    let simplified = path.simplify(right_is_top);
    let points: Vec<(i32, i32)> = simplified.path.iter().map(|p| (p.x, p.y)).collect();
    let points = if points.len() < 2 {
        chain.points.clone()
    } else {
        points
    };
    let points = as_f64(&points);
    if mode == TraceMode::Polygon {
        return Fitted::Polyline(points);
    }
    if chain.closed {
        let open = &points[..points.len() - 1];
        let cubics = fit::fit_closed(open, options);
        if cubics.is_empty() {
            return Fitted::Polyline(points);
        }
        // `fit_closed` may start anywhere on the loop; that is fine for a closed chain.
        return Fitted::Cubics(cubics);
    }
    if points.len() == 2 {
        return Fitted::Polyline(points);
    }
    let cubics = fit::fit_open(&points, options);
    if cubics.is_empty() {
        Fitted::Polyline(points)
    } else {
        Fitted::Cubics(cubics)
    }
}
