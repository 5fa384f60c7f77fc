//! Each chain simplified and fitted once, and drawn forwards or reversed.

use visioncortex::{PathI32, PointI32};

use super::map::{Chain, PlanarMap, Use};
use crate::cancel::CancelToken;
use crate::fit;
use crate::options::{TraceMode, TraceOptions};
use crate::shapes::{self, Conic};

/// Chord length, in working pixels, over which corners are judged (as in image tracing).
const CORNER_REACH: f64 = 3.0;

/// The geometry of one fitted chain, in grid coordinates, from its first point to its last.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fitted {
    /// Straight segments through these points (first and last included).
    Polyline(Vec<fit::Point>),
    /// Cubic segments, each starting where the previous ended.
    Cubics(Vec<fit::Cubic>),
    /// A closed chain that is a circle or an ellipse, walked clockwise on screen when
    /// `clockwise` (drawn whole with [`Pen::conic`]; both neighbours write the same arcs).
    Conic { conic: Conic, clockwise: bool },
}

impl Fitted {
    /// The first point of the chain walked in the given direction.
    pub fn start(&self, reversed: bool) -> fit::Point {
        match (self, reversed) {
            (Fitted::Polyline(points), false) => points[0],
            (Fitted::Polyline(points), true) => points[points.len() - 1],
            (Fitted::Cubics(cubics), false) => cubics[0][0],
            (Fitted::Cubics(cubics), true) => cubics[cubics.len() - 1][3],
            (Fitted::Conic { conic, .. }, _) => conic.point(0.0),
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
    /// A whole closed circle or ellipse as its own subpath (move, arcs, close).
    fn conic(&mut self, conic: &Conic, clockwise: bool);
}

/// Points on a conic from parameter 0 round to 2π (the last one is the first), in the
/// direction given: what [`draw`] writes for a conic met inside a longer outline, which
/// the planar map never makes (a conic chain is closed, an outline of its own).
fn conic_points(conic: &Conic, clockwise: bool) -> Vec<fit::Point> {
    const STEPS: usize = 64;
    (1..=STEPS)
        .map(|step| {
            let t = std::f64::consts::TAU * step as f64 / STEPS as f64;
            // The parameter runs clockwise on screen (y down) for a positive angle.
            conic.point(if clockwise { t } else { -t })
        })
        .collect()
}

/// Draws a whole closed chain: its conic as arcs, anything else from its start, closed.
pub(crate) fn draw_closed(fitted: &Fitted, reversed: bool, pen: &mut dyn Pen) {
    if let Fitted::Conic { conic, clockwise } = fitted {
        pen.conic(conic, *clockwise != reversed);
        return;
    }
    pen.move_to(fitted.start(reversed));
    draw(fitted, reversed, pen);
    pen.close();
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
        Fitted::Conic { conic, clockwise } => {
            for point in conic_points(conic, *clockwise != reversed) {
                pen.line_to(point);
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
        if let ([only], Fitted::Conic { .. }) = (outline.as_slice(), &fitted[first.chain]) {
            draw_closed(&fitted[only.chain], only.reversed, pen);
            continue;
        }
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
            let conic = std::panic::catch_unwind(|| closed_conic(chain, options, scale))
                .ok()
                .flatten();
            if let Some(fitted) = conic {
                return Some(fitted);
            }
            let fitted =
                std::panic::catch_unwind(|| fit_chain(chain, options.mode, top, &fit_options))
                    .unwrap_or_else(|_| fit_chain(chain, TraceMode::Polygon, top, &fit_options));
            Some(fitted)
        })
        .collect()
}

/// A closed chain (no junction on it) that is a circle or an ellipse within the fit
/// tolerance, in `spline` mode with whole shapes on.
fn closed_conic(chain: &Chain, options: &TraceOptions, scale: usize) -> Option<Fitted> {
    if !chain.closed
        || !options.primitives
        || !matches!(options.mode, TraceMode::Spline | TraceMode::Auto)
    {
        return None;
    }
    let points = shapes::edge_midpoints(&chain.points);
    let conic = shapes::recognise(&points, options.fit_tolerance * scale as f64)
        .filter(|c| shapes::large_enough(c, scale as f64))?;
    let corners: Vec<fit::Point> = chain
        .points
        .iter()
        .map(|(x, y)| (f64::from(*x), f64::from(*y)))
        .collect();
    Some(Fitted::Conic {
        conic,
        clockwise: shapes::signed_area2(&corners) > 0.0,
    })
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
