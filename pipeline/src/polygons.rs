//! Straight-sided outlines for phase 4 (issue 20): a lone closed outline that is a polygon
//! within tolerance (a triangle, a hexagon, a rotated square, a star) is written as straight
//! segments between sharp corners, not as Béziers following the label map's rounded corners
//! and bulges.
//!
//! **Sides.** The outline's sub-pixel boundary points (edge midpoints, see [`super::shapes`])
//! are split by an iterative end-point fit (Douglas–Peucker, tolerance scaled to the grid);
//! short pieces are the label map's rounded corners and are dropped, neighbouring pieces that
//! turn by less than [`MIN_TURN`] are merged. Each side is a total-least-squares line through
//! its points away from the corners; corners are where adjacent lines meet. A short side
//! between two long ones (a corner the label map rounded, cut off as a chamfer) is dropped
//! when the polygon without it still fits.
//!
//! **Acceptance.** 3 to [`MAX_SIDES`] sides (stars, whose turns alternate, up to
//! [`MAX_STAR_SIDES`]); every corner turns by at least [`MIN_TURN`]; every point within
//! `tolerance + ½` grid pixels of the polygon plus [`SIDE_SLACK`] (points near a corner get
//! one more working pixel: the label map rounds sharp corners), the RMS distance within half
//! of `tolerance + ½`; each side straight (no bulge), and the area within
//! [`MAX_AREA_MISMATCH`] of the outline's. A polygon that is not regular (below) must have at
//! most [`MAX_IRREGULAR_SIDES`] sides turning by [`MIN_IRREGULAR_TURN`] or more. A circle
//! (tried first), an ellipse, a rounded rectangle or a smooth blob fails the straightness,
//! the turns or the side count.
//!
//! **Regular.** When all sides and all turns agree within [`REGULAR_SPREAD`] (stars: the
//! outer and the inner turns each), the polygon snaps to the exact regular polygon (star)
//! with the centre, radius (radii) and rotation fitted by least squares to the corners, if it
//! still passes.
//!
//! **Upright.** Sides within [`UPRIGHT_ANGLE`] of the page's axes become exactly horizontal
//! or vertical (a regular polygon or star is turned about its centre so that its side
//! nearest to an axis lies on it; another polygon's sides each keep their points' mean) when
//! the RMS distance rises by at most [`UPRIGHT_COST`] of the limit.

use super::shapes::{signed_area2, Point};

/// Fewest boundary points tried.
const MIN_POINTS: usize = 24;

/// Half a grid pixel: how far the staircase's midpoints lie from the edge they sample.
const STAIRCASE: f64 = 0.5;

/// Along a side, points may lie this much (grid pixels) beyond the limit: the label map's
/// own half-pixel steps where a sub-pixel edge crosses a grid line.
const SIDE_SLACK: f64 = 0.5;

/// A corner turns by at least this (radians, 20°).
pub const MIN_TURN: f64 = 20.0 * std::f64::consts::PI / 180.0;

/// Most sides of a convex or simple polygon.
pub const MAX_SIDES: usize = 12;

/// Most sides of a polygon that is not regular.
const MAX_IRREGULAR_SIDES: usize = 6;

/// Every turn of a polygon that is not regular is at least this (radians, 40°).
const MIN_IRREGULAR_TURN: f64 = 40.0 * std::f64::consts::PI / 180.0;

/// Most sides of a star (turns alternating in sign).
pub const MAX_STAR_SIDES: usize = 24;

/// The polygon's area may differ from the outline's by this fraction.
const MAX_AREA_MISMATCH: f64 = 0.06;

/// Sides within this fraction of their mean length, turns of their mean, snap to regular.
const REGULAR_SPREAD: f64 = 0.06;

/// A snap may raise the RMS distance by this fraction of the limit.
const SNAP_COST: f64 = 0.1;

/// Sides within this angle (radians, about 3°) of the page's axes are tried on them.
const UPRIGHT_ANGLE: f64 = 0.05;

/// Turning sides onto the page's axes may raise the RMS distance by this fraction of the
/// limit: the least-squares sides are each the optimum, so an exact axis can only cost, and
/// is taken only within the noise of their fit.
const UPRIGHT_COST: f64 = 0.02;

/// Straight sides: the middle third of a side may bulge from its ends by this fraction of
/// the limit.
const MAX_BULGE: f64 = 0.6;

/// The corners of a polygon that `points` (a closed outline's boundary points in order, grid
/// pixels) are within `tolerance` grid pixels (plus half a pixel of staircase) of, in the
/// outline's order; `scale` is grid pixels per working pixel. `None` when the outline is no
/// such polygon.
pub fn recognise_polygon(points: &[Point], tolerance: f64, scale: f64) -> Option<Vec<Point>> {
    recognise_polygon_with(points, tolerance, scale, true)
}

/// [`recognise_polygon`], its sides turned onto the page's axes (see the module's
/// **Upright**) only when `upright` is set.
pub fn recognise_polygon_with(
    points: &[Point],
    tolerance: f64,
    scale: f64,
    upright: bool,
) -> Option<Vec<Point>> {
    if points.len() < MIN_POINTS || !tolerance.is_finite() || tolerance < 0.0 || scale < 1.0 {
        return None;
    }
    if points.iter().any(|p| !p.0.is_finite() || !p.1.is_finite()) {
        return None;
    }
    let limit = tolerance + STAIRCASE;
    let count = points.len();
    // Douglas–Peucker on the closed outline, from its two most distant points.
    let far = |from: Point| -> usize {
        (0..count)
            .max_by(|&a, &b| dist2(points[a], from).total_cmp(&dist2(points[b], from)))
            .unwrap_or(0)
    };
    let first = far(points[0]);
    let second = far(points[first]);
    if first == second {
        return None;
    }
    let mut breaks = vec![first, second];
    split(points, first, second, limit, &mut breaks);
    split(points, second, first, limit, &mut breaks);
    breaks.sort_unstable();
    breaks.dedup();
    // Pieces long enough to be sides; the rest is corner rounding.
    let min_side = (4.0 * limit).max(3.0 * scale);
    let mut sides: Vec<(usize, usize)> = (0..breaks.len())
        .map(|i| (breaks[i], breaks[(i + 1) % breaks.len()]))
        .filter(|&(a, b)| dist2(points[a], points[b]).sqrt() >= min_side)
        .collect();
    if sides.len() < 3 {
        return None;
    }
    // Merge neighbours that hardly turn (a side split by noise).
    let lines: Vec<Line> = loop {
        let lines: Vec<Line> = sides
            .iter()
            .map(|&(a, b)| fit_side(points, a, b, scale))
            .collect::<Option<_>>()?;
        let n = sides.len();
        let weakest = (0..n)
            .map(|i| (i, turn(&lines[i], &lines[(i + 1) % n]).abs()))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        match weakest {
            Some((i, angle)) if angle < MIN_TURN && n > 3 => {
                let next = (i + 1) % n;
                sides[i].1 = sides[next].1;
                sides.remove(next);
            }
            Some((_, angle)) if angle < MIN_TURN => return None,
            _ => break lines,
        }
    };
    let area = signed_area2(points);
    let check = |corners: &[Point]| accept(points, corners, area, limit, scale);
    // Chamfers: a side under half as long as both neighbours is a rounded corner when the
    // polygon without it (its neighbours meeting) still fits.
    let (mut lines, mut sides) = (lines, sides);
    'chamfers: while lines.len() > 3 {
        let n = lines.len();
        let lengths: Vec<f64> = sides
            .iter()
            .map(|&(a, b)| dist2(points[a], points[b]).sqrt())
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| lengths[a].total_cmp(&lengths[b]));
        for i in order {
            let (prev, next) = ((i + n - 1) % n, (i + 1) % n);
            if lengths[i] > 0.5 * lengths[prev].min(lengths[next])
                || turn(&lines[prev], &lines[next]).abs() < MIN_TURN
            {
                continue;
            }
            let mut fewer = lines.clone();
            fewer.remove(i);
            if corners_of(&fewer).is_some_and(|c| check(&c).is_some()) {
                lines = fewer;
                sides.remove(i);
                continue 'chamfers;
            }
        }
        break;
    }
    let n = lines.len();
    let turns: Vec<f64> = (0..n)
        .map(|i| turn(&lines[i], &lines[(i + 1) % n]))
        .collect();
    let star =
        n % 2 == 0 && n >= 6 && (0..n).all(|i| turns[i].signum() != turns[(i + 1) % n].signum());
    if n > if star { MAX_STAR_SIDES } else { MAX_SIDES } {
        return None;
    }
    // Straight sides.
    for (side, line) in sides.iter().zip(&lines) {
        if bulge(points, *side, line, scale) > MAX_BULGE * limit {
            return None;
        }
    }
    let corners = corners_of(&lines)?;
    let raw = check(&corners);
    let snapped = if star {
        regular_star(&corners, &turns)
    } else {
        regular(&corners, &turns)
    };
    if let Some(snapped) = snapped {
        if let Some(snapped_rms) = check(&snapped) {
            if raw.is_none_or(|rms| snapped_rms <= rms + SNAP_COST * limit) {
                let turned = turned_upright(&snapped).filter(|_| upright);
                return Some(match turned.as_deref().and_then(check) {
                    Some(rms) if rms <= snapped_rms + UPRIGHT_COST * limit => turned?,
                    _ => snapped,
                });
            }
        }
    }
    // Not regular: only few sides with clear turns (a rounded rectangle's or a blob's
    // chamfered outline has many sides and shallow turns).
    if star || n > MAX_IRREGULAR_SIDES || turns.iter().any(|t| t.abs() < MIN_IRREGULAR_TURN) {
        return None;
    }
    let rms = raw?;
    let turned = corners_of(&upright_lines(&lines)).filter(|_| upright);
    Some(match turned.as_deref().and_then(check) {
        Some(turned_rms) if turned_rms <= rms + UPRIGHT_COST * limit => turned?,
        _ => corners,
    })
}

/// `lines` with each one within [`UPRIGHT_ANGLE`] of the page's axes turned onto it, about
/// its point (the mean of its side's points: the least-squares line of that direction).
fn upright_lines(lines: &[Line]) -> Vec<Line> {
    lines
        .iter()
        .map(|line| {
            let (x, y) = line.dir;
            let dir = if y.abs() <= UPRIGHT_ANGLE.sin() {
                (x.signum(), 0.0)
            } else if x.abs() <= UPRIGHT_ANGLE.sin() {
                (0.0, y.signum())
            } else {
                (x, y)
            };
            Line { dir, ..*line }
        })
        .collect()
}

/// The polygon `corners` turned about their mean so that its side nearest to the page's
/// axes lies on one, when that side is within [`UPRIGHT_ANGLE`] of it and not on it yet.
fn turned_upright(corners: &[Point]) -> Option<Vec<Point>> {
    let n = corners.len() as f64;
    let quarter = std::f64::consts::FRAC_PI_2;
    let offset = (0..corners.len())
        .map(|i| {
            let (a, b) = (corners[i], corners[(i + 1) % corners.len()]);
            let angle = (b.1 - a.1).atan2(b.0 - a.0);
            angle - (angle / quarter).round() * quarter
        })
        .min_by(|a, b| a.abs().total_cmp(&b.abs()))?;
    if offset.abs() > UPRIGHT_ANGLE || offset.abs() < 1e-12 {
        return None;
    }
    let center = corners
        .iter()
        .fold((0.0, 0.0), |s, p| (s.0 + p.0 / n, s.1 + p.1 / n));
    let (c, s) = ((-offset).cos(), (-offset).sin());
    Some(
        corners
            .iter()
            .map(|p| {
                let (dx, dy) = (p.0 - center.0, p.1 - center.1);
                (center.0 + dx * c - dy * s, center.1 + dx * s + dy * c)
            })
            .collect(),
    )
}

/// The corners where consecutive `lines` meet (corner `i` ends line `i - 1`).
fn corners_of(lines: &[Line]) -> Option<Vec<Point>> {
    let n = lines.len();
    (0..n)
        .map(|i| intersect(&lines[(i + n - 1) % n], &lines[i]))
        .collect()
}

/// `corners` moved out (positive `distance`) or in by `distance` along each side's normal,
/// the new corners where the moved sides meet; unchanged when two sides are parallel.
pub fn offset(corners: &[Point], distance: f64) -> Vec<Point> {
    let n = corners.len();
    let sign = signed_area2(corners).signum();
    let lines: Vec<Line> = (0..n)
        .map(|i| {
            let (a, b) = (corners[i], corners[(i + 1) % n]);
            let length = dist2(a, b).sqrt().max(1e-12);
            let dir = ((b.0 - a.0) / length, (b.1 - a.1) / length);
            let normal = (sign * dir.1, -sign * dir.0);
            Line {
                point: (a.0 + distance * normal.0, a.1 + distance * normal.1),
                dir,
            }
        })
        .collect();
    let moved: Option<Vec<Point>> = (0..n)
        .map(|i| intersect(&lines[(i + n - 1) % n], &lines[i]))
        .collect();
    moved.unwrap_or_else(|| corners.to_vec())
}

/// Whether every side of `corners` runs within half a degree of the page's axes (an upright
/// rectangle or staircase): the Bézier path already draws such an outline straight, on the
/// label map's pixel edges.
pub fn upright(corners: &[Point]) -> bool {
    let n = corners.len();
    (0..n).all(|i| {
        let (a, b) = (corners[i], corners[(i + 1) % n]);
        let angle = (b.1 - a.1)
            .atan2(b.0 - a.0)
            .rem_euclid(std::f64::consts::FRAC_PI_2);
        angle.min(std::f64::consts::FRAC_PI_2 - angle) < 0.5_f64.to_radians()
    })
}

/// A side's line: a point on it and its unit direction (along the outline).
#[derive(Debug, Clone, Copy)]
struct Line {
    point: Point,
    dir: Point,
}

fn dist2(a: Point, b: Point) -> f64 {
    (a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)
}

/// The indices from `a` to `b` (cyclic, both included).
fn span(count: usize, a: usize, b: usize) -> impl Iterator<Item = usize> {
    let length = (b + count - a) % count;
    (0..=length).map(move |k| (a + k) % count)
}

/// Distance of `p` from the line through `a` and `b` (from `a` when they coincide).
fn line_distance(p: Point, a: Point, b: Point) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length = (dx * dx + dy * dy).sqrt();
    if length < 1e-12 {
        return dist2(p, a).sqrt();
    }
    ((p.0 - a.0) * dy - (p.1 - a.1) * dx).abs() / length
}

/// Douglas–Peucker between indices `a` and `b` (cyclic): break points into `out`.
fn split(points: &[Point], a: usize, b: usize, tolerance: f64, out: &mut Vec<usize>) {
    let count = points.len();
    let worst = span(count, a, b)
        .map(|i| (i, line_distance(points[i], points[a], points[b])))
        .max_by(|x, y| x.1.total_cmp(&y.1));
    if let Some((i, d)) = worst {
        if d > tolerance && i != a && i != b && out.len() < 4 * MAX_STAR_SIDES {
            out.push(i);
            split(points, a, i, tolerance, out);
            split(points, i, b, tolerance, out);
        }
    }
}

/// The points of side `(a, b)` away from its ends: the label map rounds corners over about a
/// working pixel, so that much (at most a fifth of the side) is left out at each end.
fn inner(points: &[Point], (a, b): (usize, usize), scale: f64) -> Vec<Point> {
    let length = dist2(points[a], points[b]).sqrt();
    let trim = (1.5 * scale).min(0.2 * length);
    span(points.len(), a, b)
        .map(|i| points[i])
        .filter(|&p| dist2(p, points[a]).sqrt() >= trim && dist2(p, points[b]).sqrt() >= trim)
        .collect()
}

/// The total-least-squares line of a side's inner points, directed from `a` to `b`.
fn fit_side(points: &[Point], a: usize, b: usize, scale: f64) -> Option<Line> {
    let inside = inner(points, (a, b), scale);
    if inside.len() < 3 {
        return None;
    }
    let n = inside.len() as f64;
    let mean = inside
        .iter()
        .fold((0.0, 0.0), |s, p| (s.0 + p.0 / n, s.1 + p.1 / n));
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for p in &inside {
        let (dx, dy) = (p.0 - mean.0, p.1 - mean.1);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    let angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let mut dir = (angle.cos(), angle.sin());
    let chord = (points[b].0 - points[a].0, points[b].1 - points[a].1);
    if dir.0 * chord.0 + dir.1 * chord.1 < 0.0 {
        dir = (-dir.0, -dir.1);
    }
    (mean.0.is_finite() && mean.1.is_finite()).then_some(Line { point: mean, dir })
}

/// The signed turn (radians) from one side's direction to the next one's.
fn turn(from: &Line, to: &Line) -> f64 {
    let cross = from.dir.0 * to.dir.1 - from.dir.1 * to.dir.0;
    let dot = from.dir.0 * to.dir.0 + from.dir.1 * to.dir.1;
    cross.atan2(dot)
}

/// Where two lines meet; `None` when they are (nearly) parallel.
fn intersect(a: &Line, b: &Line) -> Option<Point> {
    let cross = a.dir.0 * b.dir.1 - a.dir.1 * b.dir.0;
    if cross.abs() < 1e-6 {
        return None;
    }
    let (dx, dy) = (b.point.0 - a.point.0, b.point.1 - a.point.1);
    let t = (dx * b.dir.1 - dy * b.dir.0) / cross;
    let p = (a.point.0 + t * a.dir.0, a.point.1 + t * a.dir.1);
    (p.0.is_finite() && p.1.is_finite()).then_some(p)
}

/// How far the middle third of a side's inner points lies off its line, against its outer
/// thirds (signed means): a circular arc bulges, a straight side does not.
fn bulge(points: &[Point], side: (usize, usize), line: &Line, scale: f64) -> f64 {
    let inside = inner(points, side, scale);
    let n = inside.len();
    if n < 6 {
        return 0.0;
    }
    let offset = |p: &Point| (p.0 - line.point.0) * line.dir.1 - (p.1 - line.point.1) * line.dir.0;
    let mean = |range: &[Point]| range.iter().map(offset).sum::<f64>() / range.len() as f64;
    let (third, rest) = (n / 3, n - n / 3);
    let middle = mean(&inside[third..rest]);
    let ends = 0.5 * (mean(&inside[..third]) + mean(&inside[rest..]));
    (middle - ends).abs()
}

/// Distance of `p` from the segment `a`–`b`.
fn segment_distance(p: Point, a: Point, b: Point) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length2 = dx * dx + dy * dy;
    let t = if length2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / length2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    dist2(p, (a.0 + t * dx, a.1 + t * dy)).sqrt()
}

/// The RMS distance of `points` from the polygon `corners` when every side is at least a few
/// pixels long, every corner sharp (the outline passes within `r (1 / sin(θ/2) − 1)` plus
/// about a grid pixel of it, `r` the larger of the limit and one working pixel: a rounded
/// rectangle is no rectangle), every point within the limit (near a corner: one more
/// working pixel), the RMS under half of it and the areas agree; `None` otherwise.
fn accept(points: &[Point], corners: &[Point], area: f64, limit: f64, scale: f64) -> Option<f64> {
    let n = corners.len();
    if n < 3 || corners.iter().any(|c| !c.0.is_finite() || !c.1.is_finite()) {
        return None;
    }
    let own = signed_area2(corners);
    if own.signum() != area.signum() || (own - area).abs() > MAX_AREA_MISMATCH * area.abs() {
        return None;
    }
    // Sides long enough to be sides (not a sliver's ends), corners sharp.
    let min_side = (4.0 * limit).max(3.0 * scale);
    let sharp = limit.max(scale);
    // The nearest staircase midpoint to a sharp vertex and the sides' fit: about a grid pixel.
    let corner_noise = STAIRCASE + 0.25 * scale.max(2.0);
    for k in 0..n {
        let (prev, here, next) = (corners[(k + n - 1) % n], corners[k], corners[(k + 1) % n]);
        if dist2(here, next).sqrt() < min_side {
            return None;
        }
        // The wedge's angle θ: a corner rounded with radius r keeps its boundary
        // r (1 / sin(θ/2) − 1) from the vertex.
        let (u, v) = (
            (prev.0 - here.0, prev.1 - here.1),
            (next.0 - here.0, next.1 - here.1),
        );
        let wedge = (u.0 * v.1 - u.1 * v.0).abs().atan2(u.0 * v.0 + u.1 * v.1);
        let gap = points
            .iter()
            .map(|&p| dist2(p, here))
            .fold(f64::INFINITY, f64::min)
            .sqrt();
        if gap > sharp * (1.0 / (0.5 * wedge).sin() - 1.0) + corner_noise {
            return None;
        }
    }
    let reach = 2.0 * scale + limit;
    let mut sum = 0.0;
    for &p in points {
        let d = (0..n)
            .map(|i| segment_distance(p, corners[i], corners[(i + 1) % n]))
            .fold(f64::INFINITY, f64::min);
        let near_corner = corners.iter().any(|&c| dist2(p, c).sqrt() <= reach);
        let allowed = if near_corner {
            limit + scale
        } else {
            limit + SIDE_SLACK
        };
        if d > allowed {
            return None;
        }
        sum += d * d;
    }
    let rms = (sum / points.len() as f64).sqrt();
    (rms <= 0.5 * limit).then_some(rms)
}

/// Whether `values` all lie within `spread` (a fraction) of their mean.
fn agree(values: &[f64], spread: f64) -> bool {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    mean.abs() > 1e-9
        && values
            .iter()
            .all(|v| (v - mean).abs() <= spread * mean.abs())
}

fn side_lengths(corners: &[Point]) -> Vec<f64> {
    let n = corners.len();
    (0..n)
        .map(|i| dist2(corners[i], corners[(i + 1) % n]).sqrt())
        .collect()
}

/// The exact regular polygon near `corners` (convex, turns all one way), if its sides and
/// turns agree: centre the corners' mean, radius their mean distance, rotation the circular
/// mean of their angles less their places (the least-squares fit to the corners).
fn regular(corners: &[Point], turns: &[f64]) -> Option<Vec<Point>> {
    let n = corners.len();
    if !agree(&side_lengths(corners), REGULAR_SPREAD) || !agree(turns, REGULAR_SPREAD) {
        return None;
    }
    let step = turns.iter().sum::<f64>().signum() * std::f64::consts::TAU / n as f64;
    let radii = vec![1.0; n];
    Some(fit_regular(corners, step, &radii))
}

/// The exact regular star near `corners` (turns alternating), if its sides agree and its
/// outer and inner turns each agree; the two radii fitted separately.
fn regular_star(corners: &[Point], turns: &[f64]) -> Option<Vec<Point>> {
    let n = corners.len();
    if !agree(&side_lengths(corners), REGULAR_SPREAD) {
        return None;
    }
    let even: Vec<f64> = turns.iter().step_by(2).copied().collect();
    let odd: Vec<f64> = turns.iter().skip(1).step_by(2).copied().collect();
    if !agree(&even, REGULAR_SPREAD) || !agree(&odd, REGULAR_SPREAD) {
        return None;
    }
    let total: f64 = turns.iter().sum();
    let step = total.signum() * std::f64::consts::TAU / n as f64;
    // Corner i ends side i - 1: its turn is turns[i - 1]. Outer corners turn the way round.
    let outer_first = turns[n - 1].signum() == total.signum();
    let radii: Vec<f64> = (0..n)
        .map(|i| {
            if (i % 2 == 0) == outer_first {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    Some(fit_regular(corners, step, &radii))
}

/// Corners `c + r_k (cos(φ + k·step), sin(φ + k·step))` fitted to `corners`: `c` their mean,
/// `r_k` the mean distance of the corners of `class[k]` (1.0 or 0.0), `φ` the circular mean.
fn fit_regular(corners: &[Point], step: f64, class: &[f64]) -> Vec<Point> {
    let n = corners.len() as f64;
    let center = corners
        .iter()
        .fold((0.0, 0.0), |s, p| (s.0 + p.0 / n, s.1 + p.1 / n));
    let mut radius = [(0.0, 0usize); 2];
    let (mut sin, mut cos) = (0.0, 0.0);
    for (k, p) in corners.iter().enumerate() {
        let (dx, dy) = (p.0 - center.0, p.1 - center.1);
        let r = (dx * dx + dy * dy).sqrt();
        let slot = usize::from(class[k] > 0.5);
        radius[slot].0 += r;
        radius[slot].1 += 1;
        let phase = dy.atan2(dx) - k as f64 * step;
        sin += r * phase.sin();
        cos += r * phase.cos();
    }
    let phi = sin.atan2(cos);
    let mean = |slot: usize| radius[slot].0 / radius[slot].1.max(1) as f64;
    corners
        .iter()
        .enumerate()
        .map(|(k, _)| {
            let r = mean(usize::from(class[k] > 0.5));
            let a = phi + k as f64 * step;
            (center.0 + r * a.cos(), center.1 + r * a.sin())
        })
        .collect()
}

#[cfg(test)]
#[path = "polygons_tests.rs"]
mod tests;
