//! Curve fitting for `spline` mode: a closed outline (a polygon of grid points) in, as few
//! cubic Bézier segments as keep within a tolerance of it out, with sharp corners kept sharp.
//!
//! The method is Schneider's ("An Algorithm for Automatically Fitting Digitized Curves",
//! Graphics Gems, 1990): between two corners, fit one cubic by least squares with its end
//! tangents fixed, re-parameterise by Newton steps when the fit is close, and otherwise split at
//! the worst point and recurse with a shared tangent there, so the curve stays smooth across
//! the split. Corners are vertices where the outline turns by more than the corner threshold,
//! measured over chords about a working pixel long, so the small steps of a sampled edge do
//! not count as corners while a real corner does; straight edges then come out as single
//! straight segments and corners stay sharp (what users miss in VTracer's output).

/// A point in grid coordinates.
pub type Point = (f64, f64);

/// One cubic segment: start, two control points, end.
pub type Cubic = [Point; 4];

/// How an outline is fitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    /// Largest distance (grid pixels) between the outline and the fitted curve.
    pub tolerance: f64,
    /// A turn sharper than this (radians) is a corner.
    pub corner_threshold: f64,
    /// Chord length (grid pixels) over which the turn at a vertex is measured.
    pub corner_reach: f64,
}

/// Fits a closed outline. `points` lists the vertices once (the first is not repeated at the
/// end). The cubics are returned in order, each starting where the previous ended, the last
/// ending at the first's start.
pub fn fit_closed(points: &[Point], options: &FitOptions) -> Vec<Cubic> {
    fit_closed_with(points, options, &|_| 1.0)
}

/// [`fit_closed`] with the tolerance multiplied, at each point of the outline, by
/// `slack(point)` (taken as at least 1): image tracing gives more slack where a misplaced
/// edge costs little (hidden under a later shape, or between near colours).
pub fn fit_closed_with(
    points: &[Point],
    options: &FitOptions,
    slack: &dyn Fn(Point) -> f64,
) -> Vec<Cubic> {
    let budget = Budget {
        tolerance: options.tolerance,
        slack,
    };
    let mut points: Vec<Point> = points.to_vec();
    points.dedup();
    while points.len() > 1 && points.first() == points.last() {
        points.pop();
    }
    let count = points.len();
    if count < 3 {
        return Vec::new();
    }
    let corners: Vec<usize> = (0..count)
        .filter(|&index| {
            turn(&points, index, options.corner_reach, true) > options.corner_threshold
        })
        .collect();
    // Dense samples: the vertices plus points along long edges, so the least-squares fit sees
    // the whole edge and not only its ends.
    let spacing = (options.corner_reach * 0.5).max(0.5);
    let mut cubics = Vec::new();
    let start = corners.first().copied().unwrap_or(0);
    let mut runs: Vec<(usize, usize)> = Vec::new();
    if corners.len() < 2 {
        runs.push((start, start + count));
    } else {
        for pair in corners.windows(2) {
            runs.push((pair[0], pair[1]));
        }
        runs.push((corners[corners.len() - 1], corners[0] + count));
    }
    let closed_smooth = corners.is_empty();
    for (from, to) in runs {
        let mut samples: Vec<Point> = Vec::with_capacity(2 * (to - from) + 1);
        for index in from..to {
            let a = points[index % count];
            let b = points[(index + 1) % count];
            samples.push(a);
            let length = distance(a, b);
            let extra = (length / spacing).floor() as usize;
            for step in 1..extra {
                let t = step as f64 / extra as f64;
                samples.push((a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t));
            }
        }
        samples.push(points[to % count]);
        let samples = smooth_run(&samples, options.corner_reach, closed_smooth);
        let (t1, t2) = if closed_smooth {
            // No corner anywhere: the loop is smooth at its start too.
            let tangent = central_tangent(&samples, 0, options.corner_reach);
            (tangent, scale(tangent, -1.0))
        } else {
            (
                end_tangent(&samples, true, options.corner_reach),
                end_tangent(&samples, false, options.corner_reach),
            )
        };
        let last = samples.len() - 1;
        fit_cubic(&samples, 0, last, t1, t2, &budget, &mut cubics, 0);
    }
    cubics
}

/// Fits an open run of points (`cutout` chains) with both ends pinned: the first cubic
/// starts exactly at `points[0]` and the last ends exactly at the last point, so chains that
/// meet at a junction still meet after fitting. Interior vertices that turn by more than the
/// corner threshold stay sharp; the ends are corners by definition.
pub fn fit_open(points: &[Point], options: &FitOptions) -> Vec<Cubic> {
    let mut points: Vec<Point> = points.to_vec();
    points.dedup();
    let count = points.len();
    if count < 2 {
        return Vec::new();
    }
    let mut corners: Vec<usize> = vec![0];
    corners.extend((1..count - 1).filter(|&index| {
        turn(&points, index, options.corner_reach, false) > options.corner_threshold
    }));
    corners.push(count - 1);
    let spacing = (options.corner_reach * 0.5).max(0.5);
    let mut cubics = Vec::new();
    for pair in corners.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        let mut samples: Vec<Point> = Vec::with_capacity(2 * (to - from) + 1);
        for index in from..to {
            let (a, b) = (points[index], points[index + 1]);
            samples.push(a);
            let extra = (distance(a, b) / spacing).floor() as usize;
            for step in 1..extra {
                let t = step as f64 / extra as f64;
                samples.push((a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t));
            }
        }
        samples.push(points[to]);
        let samples = smooth_run(&samples, options.corner_reach, false);
        let t1 = end_tangent(&samples, true, options.corner_reach);
        let t2 = end_tangent(&samples, false, options.corner_reach);
        let last = samples.len() - 1;
        let budget = Budget {
            tolerance: options.tolerance,
            slack: &|_| 1.0,
        };
        fit_cubic(&samples, 0, last, t1, t2, &budget, &mut cubics, 0);
    }
    cubics
}

/// Smoothing of a run between corners, as a share of the corner reach (which is three
/// working pixels): the samples are averaged over a window this long (two working pixels).
/// The steps of a sampled edge (whole grid pixels, or whole working pixels where the fine
/// grid follows a working pixel's staircase) are noise the curves need not follow: without
/// it the fitter, held within less than half a step, kept one cubic per step of every
/// slanted edge. Corners end runs, so they stay sharp.
const SMOOTH_WINDOW: f64 = 2.0 / 3.0;

/// Spacing of the resampled run, as a share of the corner reach (half a working pixel).
const SMOOTH_SPACING: f64 = 1.0 / 6.0;

/// Runs shorter than this many corner reaches are left as traced (short sides of small
/// shapes are detail, not steps).
const SMOOTH_MIN_LENGTH: f64 = 2.0;

/// Closed outlines without corners narrower than this many corner reaches are left as
/// traced.
const SMOOTH_MIN_SIZE: f64 = 3.0;

/// Farthest a smoothed sample moves, as a share of the corner reach (a quarter of a working
/// pixel): enough to take a pixel step's corner (a third of a pixel off a 45° edge) most of
/// the way to the edge, while a small feature the corner test cannot see (the tip of a star
/// a few pixels wide) keeps its shape.
const SMOOTH_MAX_SHIFT: f64 = 1.0 / 12.0;

/// The run `samples` resampled evenly along its length and box-filtered over
/// [`SMOOTH_WINDOW`]. The ends stay where they are (the window shrinks near them, so the
/// filter stays centred); a `closed` run (its first and last sample the same point, no
/// corner anywhere) wraps around instead.
fn smooth_run(samples: &[Point], reach: f64, closed: bool) -> Vec<Point> {
    let spacing = reach * SMOOTH_SPACING;
    let count = samples.len();
    if count < 3 || spacing <= 0.0 {
        return samples.to_vec();
    }
    let total: f64 = samples
        .windows(2)
        .map(|pair| distance(pair[0], pair[1]))
        .sum();
    let steps = (total / spacing).round() as usize;
    if steps < 4 || total < reach * SMOOTH_MIN_LENGTH {
        return samples.to_vec();
    }
    if closed {
        // A small shape (a star a few pixels wide, its tips too small for the corner test)
        // is all detail: left as traced.
        let (mut low, mut high) = (samples[0], samples[0]);
        for p in samples {
            low = (low.0.min(p.0), low.1.min(p.1));
            high = (high.0.max(p.0), high.1.max(p.1));
        }
        if (high.0 - low.0).min(high.1 - low.1) < reach * SMOOTH_MIN_SIZE {
            return samples.to_vec();
        }
    }
    // Even resampling: `steps + 1` points, the first and last exactly the run's ends.
    let mut even: Vec<Point> = Vec::with_capacity(steps + 1);
    even.push(samples[0]);
    let mut segment = 0;
    let mut walked = 0.0;
    let mut length = distance(samples[0], samples[1]);
    for step in 1..steps {
        let at = total * step as f64 / steps as f64;
        while walked + length < at && segment + 2 < count {
            walked += length;
            segment += 1;
            length = distance(samples[segment], samples[segment + 1]);
        }
        let t = if length > 0.0 {
            ((at - walked) / length).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (a, b) = (samples[segment], samples[segment + 1]);
        even.push((a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t));
    }
    even.push(samples[count - 1]);
    let half = ((reach * SMOOTH_WINDOW / spacing) / 2.0).round() as usize;
    if half == 0 {
        return even;
    }
    let last = even.len() - 1;
    let mut smoothed = even.clone();
    let limit = reach * SMOOTH_MAX_SHIFT;
    let clamp = |from: Point, to: Point| -> Point {
        let shift = distance(from, to);
        if shift > limit {
            add(from, scale(sub(to, from), limit / shift))
        } else {
            to
        }
    };
    if closed {
        // `even[0]` and `even[last]` are one point: filter the `last` distinct points.
        let n = last;
        for (index, out) in smoothed.iter_mut().enumerate().take(n) {
            let mut sum = (0.0, 0.0);
            for offset in 0..=2 * half {
                let p = even[(index + n + offset - half) % n];
                sum = add(sum, p);
            }
            *out = clamp(even[index], scale(sum, 1.0 / (2 * half + 1) as f64));
        }
        smoothed[last] = smoothed[0];
    } else {
        for (index, out) in smoothed.iter_mut().enumerate().take(last).skip(1) {
            let reach = half.min(index).min(last - index);
            let mut sum = (0.0, 0.0);
            for p in &even[index - reach..=index + reach] {
                sum = add(sum, *p);
            }
            *out = clamp(even[index], scale(sum, 1.0 / (2 * reach + 1) as f64));
        }
    }
    smoothed
}

/// How far a fitted curve may stray: `tolerance` times `slack` at each sample.
struct Budget<'a> {
    tolerance: f64,
    slack: &'a dyn Fn(Point) -> f64,
}

/// Recursion depth after which a stubborn span is split without further fitting.
const MAX_DEPTH: u32 = 24;

#[allow(clippy::too_many_arguments)]
fn fit_cubic(
    points: &[Point],
    first: usize,
    last: usize,
    t1: Point,
    t2: Point,
    budget: &Budget<'_>,
    out: &mut Vec<Cubic>,
    depth: u32,
) {
    let (p0, p3) = (points[first], points[last]);
    let span = distance(p0, p3);
    if last - first == 1 || depth >= MAX_DEPTH {
        let d = span / 3.0;
        out.push([p0, add(p0, scale(t1, d)), add(p3, scale(t2, d)), p3]);
        return;
    }
    let mut u = chord_parameters(points, first, last);
    let mut cubic = generate(points, first, last, &u, t1, t2);
    let (mut error, mut split) = max_error(points, first, last, &cubic, &u, budget.slack);
    let tolerance2 = budget.tolerance * budget.tolerance;
    if error <= tolerance2 {
        out.push(cubic);
        return;
    }
    if error <= tolerance2 * 16.0 {
        for _ in 0..4 {
            reparameterise(points, first, last, &cubic, &mut u);
            cubic = generate(points, first, last, &u, t1, t2);
            (error, split) = max_error(points, first, last, &cubic, &u, budget.slack);
            if error <= tolerance2 {
                out.push(cubic);
                return;
            }
        }
    }
    let tangent = {
        let before = points[split - 1];
        let after = points[split + 1];
        normalise(sub(before, after)).unwrap_or(t2)
    };
    fit_cubic(points, first, split, t1, tangent, budget, out, depth + 1);
    fit_cubic(
        points,
        split,
        last,
        scale(tangent, -1.0),
        t2,
        budget,
        out,
        depth + 1,
    );
}

/// Least-squares control points for fixed end tangents (Schneider's `GenerateBezier`).
fn generate(points: &[Point], first: usize, last: usize, u: &[f64], t1: Point, t2: Point) -> Cubic {
    let (p0, p3) = (points[first], points[last]);
    let mut c = [[0.0f64; 2]; 2];
    let mut x = [0.0f64; 2];
    for (offset, &t) in u.iter().enumerate() {
        let point = points[first + offset];
        let mt = 1.0 - t;
        let b0 = mt * mt * mt;
        let b1 = 3.0 * t * mt * mt;
        let b2 = 3.0 * t * t * mt;
        let b3 = t * t * t;
        let a1 = scale(t1, b1);
        let a2 = scale(t2, b2);
        c[0][0] += dot(a1, a1);
        c[0][1] += dot(a1, a2);
        c[1][1] += dot(a2, a2);
        let rest = sub(point, add(scale(p0, b0 + b1), scale(p3, b2 + b3)));
        x[0] += dot(a1, rest);
        x[1] += dot(a2, rest);
    }
    c[1][0] = c[0][1];
    let det = c[0][0] * c[1][1] - c[1][0] * c[0][1];
    let (mut alpha1, mut alpha2) = if det.abs() > 1e-12 {
        (
            (x[0] * c[1][1] - x[1] * c[0][1]) / det,
            (c[0][0] * x[1] - c[1][0] * x[0]) / det,
        )
    } else {
        (0.0, 0.0)
    };
    let span = distance(p0, p3);
    let epsilon = 1e-6 * span;
    if alpha1 < epsilon || alpha2 < epsilon || alpha1 > span * 2.0 || alpha2 > span * 2.0 {
        alpha1 = span / 3.0;
        alpha2 = span / 3.0;
    }
    [
        p0,
        add(p0, scale(t1, alpha1)),
        add(p3, scale(t2, alpha2)),
        p3,
    ]
}

/// Largest squared distance from a sample to the curve at its parameter, over the sample's
/// squared slack, and its index (never an end).
fn max_error(
    points: &[Point],
    first: usize,
    last: usize,
    cubic: &Cubic,
    u: &[f64],
    slack: &dyn Fn(Point) -> f64,
) -> (f64, usize) {
    let mut worst = (0.0, (first + last) / 2);
    for index in first + 1..last {
        let allowed = slack(points[index]).max(1.0);
        let error =
            squared(sub(evaluate(cubic, u[index - first]), points[index])) / (allowed * allowed);
        if error > worst.0 {
            worst = (error, index);
        }
    }
    worst
}

/// One Newton–Raphson step per sample towards the parameter of its closest curve point.
fn reparameterise(points: &[Point], first: usize, last: usize, cubic: &Cubic, u: &mut [f64]) {
    for (offset, t) in u.iter_mut().enumerate().take(last - first).skip(1) {
        let point = points[first + offset];
        let q = evaluate(cubic, *t);
        let q1 = derivative(cubic, *t);
        let q2 = second_derivative(cubic, *t);
        let diff = sub(q, point);
        let numerator = dot(diff, q1);
        let denominator = dot(q1, q1) + dot(diff, q2);
        if denominator.abs() > 1e-12 {
            *t = (*t - numerator / denominator).clamp(0.0, 1.0);
        }
    }
}

fn chord_parameters(points: &[Point], first: usize, last: usize) -> Vec<f64> {
    let mut u = Vec::with_capacity(last - first + 1);
    u.push(0.0);
    for index in first + 1..=last {
        let previous = u[u.len() - 1];
        u.push(previous + distance(points[index - 1], points[index]));
    }
    let total = u[u.len() - 1];
    if total > 0.0 {
        for value in &mut u {
            *value /= total;
        }
    }
    u
}

/// The turn (radians, 0 = straight on) at vertex `index`, between the chords to the vertices
/// about `reach` away on either side: a closed polygon wraps around, an open polyline stops
/// at its ends.
fn turn(points: &[Point], index: usize, reach: f64, closed: bool) -> f64 {
    let count = points.len();
    let here = points[index];
    let walk = |forward: bool| -> Point {
        let mut travelled = 0.0;
        let mut previous = here;
        for step in 1..count {
            let next = match (closed, forward) {
                (true, true) => (index + step) % count,
                (true, false) => (index + count - step) % count,
                (false, true) if index + step < count => index + step,
                (false, false) if step <= index => index - step,
                _ => break,
            };
            travelled += distance(previous, points[next]);
            previous = points[next];
            if travelled >= reach {
                break;
            }
        }
        previous
    };
    let (Some(into), Some(out)) = (
        normalise(sub(here, walk(false))),
        normalise(sub(walk(true), here)),
    ) else {
        return 0.0;
    };
    dot(into, out).clamp(-1.0, 1.0).acos()
}

/// The unit tangent at one end of an open run of samples, along the chord to the sample
/// about `reach` away: pointing into the run at the start, out of it (backwards) at the end.
fn end_tangent(samples: &[Point], start: bool, reach: f64) -> Point {
    let count = samples.len();
    let (from, pick): (Point, Box<dyn Fn(usize) -> Point>) = if start {
        (samples[0], Box::new(|i| samples[i]))
    } else {
        (
            samples[count - 1],
            Box::new(move |i| samples[count - 1 - i]),
        )
    };
    let mut chosen = pick(1);
    for index in 1..count {
        chosen = pick(index);
        if distance(from, chosen) >= reach {
            break;
        }
    }
    normalise(sub(chosen, from)).unwrap_or((1.0, 0.0))
}

/// The unit tangent at sample `index` of a closed run (its first and last sample are the
/// same point), along the chord between the samples about `reach` before and after it.
fn central_tangent(samples: &[Point], index: usize, reach: f64) -> Point {
    let count = samples.len() - 1;
    let here = samples[index];
    let mut after = samples[(index + 1) % count];
    for step in 1..count {
        after = samples[(index + step) % count];
        if distance(here, after) >= reach {
            break;
        }
    }
    let mut before = samples[(index + count - 1) % count];
    for step in 1..count {
        before = samples[(index + count - step) % count];
        if distance(here, before) >= reach {
            break;
        }
    }
    normalise(sub(after, before)).unwrap_or((1.0, 0.0))
}

fn evaluate(c: &Cubic, t: f64) -> Point {
    let mt = 1.0 - t;
    let (b0, b1, b2, b3) = (mt * mt * mt, 3.0 * t * mt * mt, 3.0 * t * t * mt, t * t * t);
    (
        c[0].0 * b0 + c[1].0 * b1 + c[2].0 * b2 + c[3].0 * b3,
        c[0].1 * b0 + c[1].1 * b1 + c[2].1 * b2 + c[3].1 * b3,
    )
}

fn derivative(c: &Cubic, t: f64) -> Point {
    let mt = 1.0 - t;
    let d0 = scale(sub(c[1], c[0]), 3.0 * mt * mt);
    let d1 = scale(sub(c[2], c[1]), 6.0 * mt * t);
    let d2 = scale(sub(c[3], c[2]), 3.0 * t * t);
    add(add(d0, d1), d2)
}

fn second_derivative(c: &Cubic, t: f64) -> Point {
    let a = sub(add(c[2], c[0]), scale(c[1], 2.0));
    let b = sub(add(c[3], c[1]), scale(c[2], 2.0));
    add(scale(a, 6.0 * (1.0 - t)), scale(b, 6.0 * t))
}

fn add(a: Point, b: Point) -> Point {
    (a.0 + b.0, a.1 + b.1)
}

fn sub(a: Point, b: Point) -> Point {
    (a.0 - b.0, a.1 - b.1)
}

fn scale(a: Point, factor: f64) -> Point {
    (a.0 * factor, a.1 * factor)
}

fn dot(a: Point, b: Point) -> f64 {
    a.0 * b.0 + a.1 * b.1
}

fn squared(a: Point) -> f64 {
    dot(a, a)
}

fn distance(a: Point, b: Point) -> f64 {
    squared(sub(a, b)).sqrt()
}

fn normalise(a: Point) -> Option<Point> {
    let length = squared(a).sqrt();
    (length > 1e-12).then(|| scale(a, 1.0 / length))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> FitOptions {
        FitOptions {
            tolerance: 0.25,
            corner_threshold: 60f64.to_radians(),
            corner_reach: 1.5,
        }
    }

    /// Largest distance from any of `points` to the fitted curve (sampled densely).
    fn deviation(points: &[Point], cubics: &[Cubic]) -> f64 {
        let curve: Vec<Point> = cubics
            .iter()
            .flat_map(|c| (0..=1024).map(move |i| evaluate(c, f64::from(i) / 1024.0)))
            .collect();
        points
            .iter()
            .map(|p| {
                curve
                    .iter()
                    .map(|q| distance(*p, *q))
                    .fold(f64::INFINITY, f64::min)
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn a_square_is_four_straight_segments_with_sharp_corners() {
        let mut points = Vec::new();
        for i in 0..10 {
            points.push((f64::from(i), 0.0));
        }
        for i in 0..10 {
            points.push((10.0, f64::from(i)));
        }
        for i in 0..10 {
            points.push((10.0 - f64::from(i), 10.0));
        }
        for i in 0..10 {
            points.push((0.0, 10.0 - f64::from(i)));
        }
        let cubics = fit_closed(&points, &options());
        assert_eq!(cubics.len(), 4);
        let ends: Vec<Point> = cubics.iter().map(|c| c[3]).collect();
        for corner in [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)] {
            assert!(ends.contains(&corner), "{corner:?} missing from {ends:?}");
        }
        assert!(deviation(&points, &cubics) < 0.02);
    }

    #[test]
    fn a_circle_is_a_few_smooth_cubics_within_tolerance() {
        let points: Vec<Point> = (0..200)
            .map(|i| {
                let a = f64::from(i) / 200.0 * std::f64::consts::TAU;
                (50.0 + 40.0 * a.cos(), 50.0 + 40.0 * a.sin())
            })
            .collect();
        let cubics = fit_closed(&points, &options());
        assert!(
            (4..=12).contains(&cubics.len()),
            "{} cubics for a circle",
            cubics.len()
        );
        assert!(deviation(&points, &cubics) <= 0.25 + 0.02);
        // Closed and continuous.
        for pair in cubics.windows(2) {
            assert_eq!(pair[0][3], pair[1][0]);
        }
        assert_eq!(cubics[cubics.len() - 1][3], cubics[0][0]);
    }

    #[test]
    fn an_open_run_keeps_its_ends_exactly() {
        // A quarter circle from (10, 0) to (0, 10), then a straight leg to (0, 20).
        let mut points: Vec<Point> = (0..=40)
            .map(|i| {
                let a = f64::from(i) / 40.0 * std::f64::consts::FRAC_PI_2;
                (10.0 * a.cos(), 10.0 * a.sin())
            })
            .collect();
        points.push((0.0, 20.0));
        let cubics = fit_open(&points, &options());
        assert_eq!(cubics[0][0], points[0]);
        assert_eq!(cubics[cubics.len() - 1][3], (0.0, 20.0));
        for pair in cubics.windows(2) {
            assert_eq!(pair[0][3], pair[1][0]);
        }
        assert!(deviation(&points, &cubics) <= 0.25 + 0.02);
    }

    #[test]
    fn a_slanted_staircase_is_one_straight_run_not_a_cubic_per_step() {
        // A triangle whose hypotenuse is a staircase of 2-pixel steps (a fine grid at twice
        // the working resolution following a working pixel's staircase), with corner reach
        // 6 (three working pixels).
        let options = FitOptions {
            tolerance: 0.8,
            corner_threshold: 60f64.to_radians(),
            corner_reach: 6.0,
        };
        let mut points: Vec<Point> = vec![(0.0, 0.0), (40.0, 0.0)];
        for step in 0..20 {
            let x = 40.0 - 2.0 * f64::from(step);
            let y = 2.0 * f64::from(step);
            points.push((x, y + 2.0));
            points.push((x - 2.0, y + 2.0));
        }
        let cubics = fit_closed(&points, &options);
        assert!(
            cubics.len() <= 8,
            "{} cubics for a triangle with a stepped side",
            cubics.len()
        );
        // The stepped side comes out within a step's half-diagonal of the true diagonal.
        for cubic in &cubics {
            for i in 0..=16 {
                let (x, y) = evaluate(cubic, f64::from(i) / 16.0);
                if x > 4.0 && y > 4.0 {
                    let off = (x + y - 40.0).abs() / 2f64.sqrt();
                    assert!(off < 1.5, "({x:.2}, {y:.2}) is {off:.2} off the diagonal");
                }
            }
        }
        // The right-angle corner stays sharp.
        assert!(cubics
            .iter()
            .any(|c| c[3] == (0.0, 0.0) || c[0] == (0.0, 0.0)));
    }

    #[test]
    fn small_shapes_and_short_runs_are_not_smoothed() {
        // A closed outline 5 grid pixels wide with corner reach 3 (a small star's outline):
        // left exactly as traced.
        let star: Vec<Point> = (0..=20)
            .map(|i| {
                let a = f64::from(i) / 20.0 * std::f64::consts::TAU;
                let r = if i % 2 == 0 { 2.5 } else { 1.2 };
                (r * a.cos(), r * a.sin())
            })
            .collect();
        assert_eq!(smooth_run(&star, 3.0, true), star);
        // A short open run: unchanged too.
        let run = vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (2.0, 1.0), (2.0, 2.0)];
        assert_eq!(smooth_run(&run, 3.0, false), run);
        // A long staircase moves towards its diagonal, by at most a quarter pixel.
        let stairs: Vec<Point> = (0..40)
            .flat_map(|i| {
                let i = f64::from(i);
                [(i, i), (i + 1.0, i)]
            })
            .collect();
        let smoothed = smooth_run(&stairs, 3.0, false);
        let off = |p: &Point| (p.0 - p.1 - 0.5).abs() / 2f64.sqrt();
        let worst = |points: &[Point]| {
            points[4..points.len() - 4]
                .iter()
                .map(off)
                .fold(0.0, f64::max)
        };
        assert!(
            worst(&smoothed) < worst(&stairs) - 0.2,
            "{} vs {}",
            worst(&smoothed),
            worst(&stairs)
        );
    }

    #[test]
    fn degenerate_outlines_give_nothing() {
        assert!(fit_closed(&[(0.0, 0.0), (1.0, 0.0)], &options()).is_empty());
        assert!(fit_closed(&[(0.0, 0.0); 5], &options()).is_empty());
    }

    #[test]
    fn slack_loosens_the_fit_where_it_is_given_only() {
        // A wavy circle: waves of 0.5 px, more than the tolerance (0.25), far less than 6 times it.
        let points: Vec<Point> = (0..400)
            .map(|i| {
                let a = f64::from(i) / 400.0 * std::f64::consts::TAU;
                let r = 40.0 + 0.5 * (a * 24.0).sin();
                (50.0 + r * a.cos(), 50.0 + r * a.sin())
            })
            .collect();
        let tight = fit_closed(&points, &options());
        // Slack below 1 counts as 1: the same fit.
        assert_eq!(fit_closed_with(&points, &options(), &|_| 0.5), tight);
        let loose = fit_closed_with(&points, &options(), &|_| 6.0);
        assert!(
            loose.len() * 2 <= tight.len(),
            "{} vs {}",
            loose.len(),
            tight.len()
        );
        assert!(deviation(&points, &loose) <= 6.0 * 0.25 + 0.02);
        // Slack on the left half only: the right half keeps the tight fit's detail.
        let half = fit_closed_with(&points, &options(), &|p| if p.0 < 50.0 { 6.0 } else { 1.0 });
        assert!(half.len() > loose.len() && half.len() < tight.len());
        let right: Vec<Point> = points.iter().copied().filter(|p| p.0 > 55.0).collect();
        assert!(deviation(&right, &half) <= 0.25 + 0.02);
    }
}
