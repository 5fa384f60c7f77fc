//! Whole shapes' parameters refined against the coverage the input carries.
//!
//! A recognised shape is first fitted to the sub-pixel label map's boundary, which lies on the
//! fine grid (a quarter or half of a working pixel apart) and, against transparency, a little
//! inside the edge (`supersample::EDGE_INSET`). The working image's alpha says more: an edge
//! pixel's alpha is the share of it the shape covers. So the parameters are refined by least
//! squares (Gauss–Newton, Levenberg damping) so that a model coverage, `clamp(½ − d)` with `d`
//! the signed distance of a working pixel's centre from the outline in working pixels, matches
//! the alpha of the working pixels within `BAND` of the outline. Used only for shapes wholly
//! against transparency, where alpha is the coverage; a refinement that does not lower the
//! misfit, or moves the shape by a working pixel or more, is dropped.

use super::{Conic, Point, Rect};

/// Working pixels either side of the outline whose alpha is compared.
const BAND: f64 = 1.5;

/// Gauss–Newton iterations.
const ITERATIONS: usize = 8;

/// Working pixels beyond half a pixel from the outline within which a sample still counts
/// as unclamped for the Jacobian: more than any parameter step moves an outline (1e-3 of a
/// working pixel; 1e-4 rad turns a point 1000 grid pixels out by 0.1).
const ACTIVE_MARGIN: f64 = 0.25;

/// Fewer pixels in the band than this and the shape is left as it is.
const MIN_SAMPLES: usize = 12;

/// The alpha of the working image, and how its pixels sit on the grid shapes are fitted in.
#[derive(Debug, Clone, Copy)]
pub struct Coverage<'a> {
    /// Alpha per working pixel, row-major, `[0, 1]`.
    pub alpha: &'a [f32],
    /// Working width.
    pub width: usize,
    /// Working height.
    pub height: usize,
    /// Grid pixels per working pixel.
    pub scale: f64,
}

/// A circle or an ellipse refined; `hole`: the shape is a hole (covered outside it).
/// `usable(x, y)` says whether a working pixel may be compared (not another shape's).
pub fn refine_conic(
    conic: &Conic,
    coverage: &Coverage<'_>,
    hole: bool,
    usable: &dyn Fn(usize, usize) -> bool,
) -> Option<Conic> {
    let circle = conic.circle;
    let start: Vec<f64> = if circle {
        vec![conic.center.0, conic.center.1, conic.rx]
    } else {
        vec![
            conic.center.0,
            conic.center.1,
            conic.rx,
            conic.ry,
            conic.angle,
        ]
    };
    let make = |p: &[f64]| -> Conic {
        if circle {
            Conic::circle((p[0], p[1]), p[2])
        } else {
            Conic {
                center: (p[0], p[1]),
                rx: p[2],
                ry: p[3],
                angle: p[4],
                circle: false,
            }
        }
    };
    let bounds = square(conic.center, conic.rx.max(conic.ry));
    let signed = Outline(|p: &[f64]| -> Box<dyn Fn(Point) -> f64> {
        let conic = make(p);
        let turn = turn(conic.angle, !conic.circle);
        Box::new(move |q| signed_conic_turned(&conic, turn, q))
    });
    let found = fit(&start, bounds, coverage, hole, usable, &signed, Some(4))?;
    let refined = make(&found);
    (refined.rx > 0.0 && refined.ry > 0.0).then_some(refined)
}

/// A (rounded) rectangle refined, its corner radius kept at zero when it is sharp.
pub fn refine_rect(
    rect: &Rect,
    coverage: &Coverage<'_>,
    usable: &dyn Fn(usize, usize) -> bool,
) -> Option<Rect> {
    let rounded = rect.radius > 0.0;
    let mut start = vec![
        rect.center.0,
        rect.center.1,
        rect.width,
        rect.height,
        rect.angle,
    ];
    if rounded {
        start.push(rect.radius);
    }
    let make = |p: &[f64]| Rect {
        center: (p[0], p[1]),
        width: p[2],
        height: p[3],
        angle: p[4],
        radius: if rounded { p[5] } else { 0.0 },
    };
    let bounds = square(rect.center, 0.5 * rect.width.hypot(rect.height));
    let signed = Outline(|p: &[f64]| -> Box<dyn Fn(Point) -> f64> {
        let rect = make(p);
        let turn = turn(rect.angle, true);
        Box::new(move |q| signed_rect_turned(&rect, turn, q))
    });
    let found = fit(&start, bounds, coverage, false, usable, &signed, Some(4))?;
    let refined = make(&found);
    let valid = refined.width > 0.0
        && refined.height > 0.0
        && refined.radius >= 0.0
        && refined.radius <= 0.5 * refined.width.min(refined.height);
    valid.then_some(refined)
}

/// A straight-sided polygon (corners in order, grid coordinates) refined, corner by corner.
pub fn refine_polygon(
    corners: &[Point],
    coverage: &Coverage<'_>,
    usable: &dyn Fn(usize, usize) -> bool,
) -> Option<Vec<Point>> {
    if corners.len() < 3 {
        return None;
    }
    let start: Vec<f64> = corners.iter().flat_map(|&(x, y)| [x, y]).collect();
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &(x, y) in corners {
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    let found = fit(
        &start,
        (x0, y0, x1, y1),
        coverage,
        false,
        usable,
        &PolygonOutline,
        None,
    )?;
    Some(found.chunks(2).map(|c| (c[0], c[1])).collect())
}

/// Signed distance (grid pixels, positive outside) of `q` from a closed polygon whose
/// corners are `flat` (x, y pairs); inside by the even-odd rule.
pub(crate) fn signed_polygon(flat: &[f64], q: Point) -> f64 {
    let n = flat.len() / 2;
    let mut nearest = f64::INFINITY;
    let mut inside = false;
    for i in 0..n {
        let (distance, crosses) = side(corner(flat, i), corner(flat, i + 1), q);
        nearest = nearest.min(distance);
        inside ^= crosses;
    }
    signed_from(nearest, inside)
}

/// Corner `i` (modulo their number) of a polygon's flat corner list.
fn corner(flat: &[f64], i: usize) -> Point {
    let i = i % (flat.len() / 2);
    (flat[2 * i], flat[2 * i + 1])
}

/// The squared distance of `q` from the side `a`–`b`, and whether a ray from `q` towards +x
/// crosses it (the even-odd rule's count).
fn side(a: Point, b: Point, q: Point) -> (f64, bool) {
    let (ex, ey) = (b.0 - a.0, b.1 - a.1);
    let length2 = ex * ex + ey * ey;
    let t = if length2 > 0.0 {
        (((q.0 - a.0) * ex + (q.1 - a.1) * ey) / length2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (dx, dy) = (q.0 - a.0 - t * ex, q.1 - a.1 - t * ey);
    let crosses = (a.1 > q.1) != (b.1 > q.1) && q.0 < a.0 + (q.1 - a.1) / (b.1 - a.1) * ex;
    (dx * dx + dy * dy, crosses)
}

fn signed_from(nearest: f64, inside: bool) -> f64 {
    let nearest = nearest.sqrt();
    if inside {
        -nearest
    } else {
        nearest
    }
}

/// A shape's signed distance as a function of its parameters, for [`fit`].
trait Signed {
    /// The outline of `p` as a function of the point: its signed distance (grid pixels,
    /// positive outside). What depends on `p` alone (an angle's sine and cosine) is worked
    /// out once.
    fn at<'a>(&'a self, p: &[f64]) -> Box<dyn Fn(Point) -> f64 + 'a>;

    /// The signed distances at each of `points` with one parameter moved at a time (the
    /// Jacobian's central differences): parameter `k` at `forward[k]` into
    /// `ahead[i * n + k]`, at `back[k]` into `behind[i * n + k]`, the others as in `p`
    /// (`n` parameters). Exactly [`Signed::at`] of each.
    fn moved(
        &self,
        p: &[f64],
        points: &[Point],
        (forward, back): (&[f64], &[f64]),
        ahead: &mut [f64],
        behind: &mut [f64],
    ) {
        let n = p.len();
        let mut moved = p.to_vec();
        for k in 0..n {
            for (value, out) in [(forward[k], &mut *ahead), (back[k], &mut *behind)] {
                moved[k] = value;
                let at = self.at(&moved);
                for (i, q) in points.iter().enumerate() {
                    out[i * n + k] = at(*q);
                }
            }
            moved[k] = p[k];
        }
    }
}

/// A signed distance built from the parameters by a closure.
struct Outline<F>(F);

impl<F: Fn(&[f64]) -> Box<dyn Fn(Point) -> f64>> Signed for Outline<F> {
    fn at<'a>(&'a self, p: &[f64]) -> Box<dyn Fn(Point) -> f64 + 'a> {
        (self.0)(p)
    }
}

/// A polygon's corners (x, y pairs). Moving a corner moves its two sides only, so the
/// other sides' nearest distance and crossings are taken once per point (a minimum and a
/// parity are exact in any order: the same values as [`signed_polygon`] of the moved
/// corners, at a cost linear in the corners where it was quadratic).
struct PolygonOutline;

impl Signed for PolygonOutline {
    fn at<'a>(&'a self, p: &[f64]) -> Box<dyn Fn(Point) -> f64 + 'a> {
        let flat = p.to_vec();
        Box::new(move |q| signed_polygon(&flat, q))
    }

    fn moved(
        &self,
        p: &[f64],
        points: &[Point],
        moves: (&[f64], &[f64]),
        ahead: &mut [f64],
        behind: &mut [f64],
    ) {
        let n = p.len();
        for (i, q) in points.iter().enumerate() {
            let row = i * n..(i + 1) * n;
            moved_corners(p, *q, moves, &mut ahead[row.clone()], &mut behind[row]);
        }
    }
}

/// [`PolygonOutline::moved`] at one point `q`, into `ahead` and `behind` by parameter.
fn moved_corners(
    p: &[f64],
    q: Point,
    (forward, back): (&[f64], &[f64]),
    ahead: &mut [f64],
    behind: &mut [f64],
) {
    let n = p.len() / 2;
    let sides: Vec<(f64, bool)> = (0..n)
        .map(|i| side(corner(p, i), corner(p, i + 1), q))
        .collect();
    // Minima of the sides before `i` and from `i` on; side `i` runs from corner `i`.
    let mut before = vec![f64::INFINITY; n + 1];
    let mut after = vec![f64::INFINITY; n + 1];
    for i in 0..n {
        before[i + 1] = before[i].min(sides[i].0);
    }
    for i in (0..n).rev() {
        after[i] = after[i + 1].min(sides[i].0);
    }
    let parity = sides.iter().fold(false, |inside, side| inside ^ side.1);
    for k in 0..p.len() {
        let j = k / 2;
        let (incoming, outgoing) = ((j + n - 1) % n, j);
        let others = if j == 0 {
            sides[1..n - 1]
                .iter()
                .fold(f64::INFINITY, |nearest, side| nearest.min(side.0))
        } else {
            before[j - 1].min(after[j + 1])
        };
        let others_inside = parity ^ sides[incoming].1 ^ sides[outgoing].1;
        for (value, out) in [(forward[k], &mut ahead[k]), (back[k], &mut behind[k])] {
            let mut moved = corner(p, j);
            if k % 2 == 0 {
                moved.0 = value;
            } else {
                moved.1 = value;
            }
            let (d_in, c_in) = side(corner(p, j + n - 1), moved, q);
            let (d_out, c_out) = side(moved, corner(p, j + 1), q);
            *out = signed_from(others.min(d_in).min(d_out), others_inside ^ c_in ^ c_out);
        }
    }
}

/// The box `(x0, y0, x1, y1)` of the square `reach` either side of `center`.
fn square(center: Point, reach: f64) -> (f64, f64, f64, f64) {
    (
        center.0 - reach,
        center.1 - reach,
        center.0 + reach,
        center.1 + reach,
    )
}

/// Signed distance (grid pixels, positive outside) of `q` from a conic's outline; first
/// order for an ellipse, which is exact enough within a pixel or two of it.
pub(crate) fn signed_conic(conic: &Conic, q: Point) -> f64 {
    signed_conic_turned(conic, turn(conic.angle, !conic.circle), q)
}

/// The cosine and sine of `angle`, when `wanted` (a circle needs none).
fn turn(angle: f64, wanted: bool) -> (f64, f64) {
    if wanted {
        (angle.cos(), angle.sin())
    } else {
        (1.0, 0.0)
    }
}

/// [`signed_conic`] with the angle's cosine and sine given.
fn signed_conic_turned(conic: &Conic, (c, s): (f64, f64), q: Point) -> f64 {
    let (dx, dy) = (q.0 - conic.center.0, q.1 - conic.center.1);
    if conic.circle {
        return dx.hypot(dy) - conic.rx;
    }
    let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
    let (a2, b2) = (conic.rx * conic.rx, conic.ry * conic.ry);
    let value = u * u / a2 + v * v / b2 - 1.0;
    let gradient = (2.0 * u / a2).hypot(2.0 * v / b2);
    if gradient > 0.0 {
        value / gradient
    } else {
        -conic.rx.min(conic.ry)
    }
}

/// Signed distance (grid pixels, positive outside) of `q` from a rectangle's outline.
pub(crate) fn signed_rect(rect: &Rect, q: Point) -> f64 {
    signed_rect_turned(rect, turn(rect.angle, true), q)
}

/// [`signed_rect`] with the angle's cosine and sine given.
fn signed_rect_turned(rect: &Rect, (c, s): (f64, f64), q: Point) -> f64 {
    let (dx, dy) = (q.0 - rect.center.0, q.1 - rect.center.1);
    let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
    let (qx, qy) = (
        u.abs() - (0.5 * rect.width - rect.radius),
        v.abs() - (0.5 * rect.height - rect.radius),
    );
    let outside = qx.max(0.0).hypot(qy.max(0.0));
    let inside = qx.max(qy).min(0.0);
    outside + inside - rect.radius
}

/// Least-squares parameters for the model coverage `clamp(½ ∓ d)` against the alpha of the
/// working pixels in `bounds` (grid coordinates) within `BAND` of the starting outline.
fn fit(
    start: &[f64],
    bounds: (f64, f64, f64, f64),
    coverage: &Coverage<'_>,
    hole: bool,
    usable: &dyn Fn(usize, usize) -> bool,
    outline: &dyn Signed,
    angle: Option<usize>,
) -> Option<Vec<f64>> {
    let scale = coverage.scale;
    if scale <= 0.0 || !start.iter().all(|v| v.is_finite()) {
        return None;
    }
    let band = BAND * scale;
    let margin = band + scale;
    let to_pixel = |v: f64, limit: usize| ((v / scale).floor().max(0.0) as usize).min(limit);
    let (x0, y0) = (
        to_pixel(bounds.0 - margin, coverage.width),
        to_pixel(bounds.1 - margin, coverage.height),
    );
    let (x1, y1) = (
        to_pixel(bounds.2 + margin, coverage.width.saturating_sub(1)),
        to_pixel(bounds.3 + margin, coverage.height.saturating_sub(1)),
    );
    // The samples: working pixel centres (grid coordinates) and their alpha.
    let mut samples: Vec<(Point, f64)> = Vec::new();
    let signed = outline.at(start);
    for y in y0..=y1.min(coverage.height.saturating_sub(1)) {
        for x in x0..=x1.min(coverage.width.saturating_sub(1)) {
            let centre = ((x as f64 + 0.5) * scale, (y as f64 + 0.5) * scale);
            if signed(centre).abs() < band && usable(x, y) {
                let alpha = f64::from(coverage.alpha[y * coverage.width + x]);
                samples.push((centre, alpha));
            }
        }
    }
    if samples.len() < MIN_SAMPLES.max(start.len() * 2) {
        return None;
    }
    let sign = if hole { -1.0 } else { 1.0 };
    let from_distance = |distance: f64, alpha: f64| -> f64 {
        (0.5 - sign * distance / scale).clamp(0.0, 1.0) - alpha
    };
    let residuals = |p: &[f64], out: &mut Vec<f64>| {
        let signed = outline.at(p);
        out.clear();
        out.extend(
            samples
                .iter()
                .map(|(centre, alpha)| from_distance(signed(*centre), *alpha)),
        );
    };
    let cost = |r: &[f64]| r.iter().map(|v| v * v).sum::<f64>();
    let n = start.len();
    let mut params = start.to_vec();
    let mut r = Vec::new();
    residuals(&params, &mut r);
    let first = cost(&r);
    let mut current = first;
    let mut lambda = 1e-3;
    let mut plus = Vec::new();
    let mut active: Vec<usize> = Vec::new();
    for _ in 0..ITERATIONS {
        // The Jacobian by central differences: a small step in grid pixels (radians for
        // the angle, when there is one). Only samples whose model coverage is not clamped
        // (within half a working pixel of the outline, and a margin wider than any step
        // moves it) can change: the rest keep a zero row, exactly what their differences
        // would give, at a third of the work.
        let signed = outline.at(&params);
        active.clear();
        active.extend((0..samples.len()).filter(|&i| {
            let distance = signed(samples[i].0).abs() / scale;
            distance < 0.5 + ACTIVE_MARGIN
        }));
        let mut jacobian = vec![0.0; samples.len() * n];
        let steps: Vec<f64> = (0..n)
            .map(|k| if Some(k) == angle { 1e-4 } else { 1e-3 * scale })
            .collect();
        let forward: Vec<f64> = params.iter().zip(&steps).map(|(p, s)| p + s).collect();
        let back: Vec<f64> = forward
            .iter()
            .zip(&steps)
            .map(|(f, s)| f - 2.0 * s)
            .collect();
        let points: Vec<Point> = active.iter().map(|&i| samples[i].0).collect();
        let (mut ahead, mut behind) = (vec![0.0; points.len() * n], vec![0.0; points.len() * n]);
        outline.moved(&params, &points, (&forward, &back), &mut ahead, &mut behind);
        for (row, &i) in active.iter().enumerate() {
            let alpha = samples[i].1;
            for k in 0..n {
                let (a, b) = (
                    from_distance(ahead[row * n + k], alpha),
                    from_distance(behind[row * n + k], alpha),
                );
                jacobian[i * n + k] = (a - b) / (2.0 * steps[k]);
            }
        }
        let mut normal = vec![0.0; n * n];
        let mut gradient = vec![0.0; n];
        for (i, residual) in r.iter().enumerate() {
            let row = &jacobian[i * n..(i + 1) * n];
            for a in 0..n {
                gradient[a] += row[a] * residual;
                for b in 0..n {
                    normal[a * n + b] += row[a] * row[b];
                }
            }
        }
        let mut improved = false;
        for _ in 0..6 {
            let mut damped = normal.clone();
            for a in 0..n {
                damped[a * n + a] += lambda * normal[a * n + a].max(1e-9);
            }
            let Some(step) = solve(&mut damped, &gradient, n) else {
                lambda *= 10.0;
                continue;
            };
            let trial: Vec<f64> = params.iter().zip(&step).map(|(p, s)| p - s).collect();
            residuals(&trial, &mut plus);
            let trial_cost = cost(&plus);
            if trial_cost < current {
                params = trial;
                std::mem::swap(&mut r, &mut plus);
                current = trial_cost;
                lambda = (lambda * 0.3).max(1e-7);
                improved = true;
                break;
            }
            lambda *= 10.0;
        }
        if !improved {
            break;
        }
    }
    // Moves of a working pixel or more are not a refinement: keep the label map's fit.
    let moved_too_far = params
        .iter()
        .zip(start)
        .enumerate()
        .any(|(k, (p, s))| Some(k) != angle && (p - s).abs() >= scale);
    (current < first && !moved_too_far && params.iter().all(|v| v.is_finite())).then_some(params)
}

/// Solves `a x = b` (`n × n`, row-major) by Gaussian elimination with partial pivoting.
fn solve(a: &mut [f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut x = b.to_vec();
    for col in 0..n {
        let pivot =
            (col..n).max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))?;
        if a[pivot * n + col].abs() < 1e-12 {
            return None;
        }
        if pivot != col {
            for k in 0..n {
                a.swap(pivot * n + k, col * n + k);
            }
            x.swap(pivot, col);
        }
        for row in col + 1..n {
            let factor = a[row * n + col] / a[col * n + col];
            for k in col..n {
                a[row * n + k] -= factor * a[col * n + k];
            }
            x[row] -= factor * x[col];
        }
    }
    for col in (0..n).rev() {
        let mut value = x[col];
        for k in col + 1..n {
            value -= a[col * n + k] * x[k];
        }
        x[col] = value / a[col * n + col];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Alpha of a `side × side` working image covering a disc (centre, radius in working
    /// pixels), by 16 × 16 supersampling.
    fn disc(side: usize, cx: f64, cy: f64, r: f64) -> Vec<f32> {
        let mut alpha = vec![0f32; side * side];
        for y in 0..side {
            for x in 0..side {
                let mut inside = 0;
                for j in 0..16 {
                    for i in 0..16 {
                        let px = x as f64 + (i as f64 + 0.5) / 16.0;
                        let py = y as f64 + (j as f64 + 0.5) / 16.0;
                        if (px - cx).hypot(py - cy) < r {
                            inside += 1;
                        }
                    }
                }
                alpha[y * side + x] = inside as f32 / 256.0;
            }
        }
        alpha
    }

    #[test]
    fn a_circle_off_by_a_few_tenths_of_a_pixel_is_brought_to_the_coverage() {
        // The true disc: centre (20.3, 19.6), radius 11.35 working px; grid at 4×.
        let alpha = disc(40, 20.3, 19.6, 11.35);
        let coverage = Coverage {
            alpha: &alpha,
            width: 40,
            height: 40,
            scale: 4.0,
        };
        let start = Conic::circle((4.0 * 20.1, 4.0 * 19.8), 4.0 * 11.0);
        let refined = refine_conic(&start, &coverage, false, &|_, _| true).expect("refined");
        assert!((refined.center.0 / 4.0 - 20.3).abs() < 0.03, "{refined:?}");
        assert!((refined.center.1 / 4.0 - 19.6).abs() < 0.03, "{refined:?}");
        assert!((refined.rx / 4.0 - 11.35).abs() < 0.03, "{refined:?}");
    }

    #[test]
    fn a_hole_is_covered_outside() {
        // A disc of transparency in an opaque field: the hole's edge at radius 8.
        let alpha: Vec<f32> = disc(30, 15.0, 15.0, 8.0).iter().map(|a| 1.0 - a).collect();
        let coverage = Coverage {
            alpha: &alpha,
            width: 30,
            height: 30,
            scale: 2.0,
        };
        let start = Conic::circle((30.0, 30.0), 2.0 * 8.3);
        let refined = refine_conic(&start, &coverage, true, &|_, _| true).expect("refined");
        assert!((refined.rx / 2.0 - 8.0).abs() < 0.03, "{refined:?}");
    }

    #[test]
    fn a_polygons_moved_corners_give_exactly_the_distances_of_the_moved_polygon() {
        let mut bits = crate::xorshift::xorshift(0x853c_49e6_748f_ea9bu64);
        let mut random = move || (bits() >> 11) as f64 / (1u64 << 53) as f64;
        let plain = Outline(|p: &[f64]| -> Box<dyn Fn(Point) -> f64> {
            let flat = p.to_vec();
            Box::new(move |q| signed_polygon(&flat, q))
        });
        for case in 0..200 {
            let corners = 3 + case % 7;
            let p: Vec<f64> = (0..2 * corners).map(|_| 40.0 * random()).collect();
            let forward: Vec<f64> = p.iter().map(|v| v + 0.01).collect();
            let back: Vec<f64> = forward.iter().map(|v| v - 0.02).collect();
            let points: Vec<Point> = (0..20)
                .map(|_| (50.0 * random() - 5.0, 50.0 * random() - 5.0))
                .collect();
            let size = points.len() * p.len();
            let (mut a1, mut b1) = (vec![0.0; size], vec![0.0; size]);
            let (mut a2, mut b2) = (vec![0.0; size], vec![0.0; size]);
            plain.moved(&p, &points, (&forward, &back), &mut a1, &mut b1);
            PolygonOutline.moved(&p, &points, (&forward, &back), &mut a2, &mut b2);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a1), bits(&a2), "case {case}");
            assert_eq!(bits(&b1), bits(&b2), "case {case}");
        }
    }

    #[test]
    fn a_triangle_is_brought_to_the_coverage() {
        // A triangle drawn by 16 × 16 supersampling, started 0.3 px off at each corner.
        let truth = [(6.2, 5.7), (25.4, 9.1), (12.3, 24.8)];
        let flat: Vec<f64> = truth.iter().flat_map(|&(x, y)| [x, y]).collect();
        let side = 32;
        let mut alpha = vec![0f32; side * side];
        for y in 0..side {
            for x in 0..side {
                let mut inside = 0;
                for j in 0..16 {
                    for i in 0..16 {
                        let q = (
                            x as f64 + (i as f64 + 0.5) / 16.0,
                            y as f64 + (j as f64 + 0.5) / 16.0,
                        );
                        if signed_polygon(&flat, q) < 0.0 {
                            inside += 1;
                        }
                    }
                }
                alpha[y * side + x] = inside as f32 / 256.0;
            }
        }
        let coverage = Coverage {
            alpha: &alpha,
            width: side,
            height: side,
            scale: 1.0,
        };
        let start = [(6.5, 5.5), (25.1, 9.4), (12.0, 25.0)];
        let refined = refine_polygon(&start, &coverage, &|_, _| true).expect("refined");
        for (found, true_corner) in refined.iter().zip(&truth) {
            let error = (found.0 - true_corner.0).hypot(found.1 - true_corner.1);
            assert!(error < 0.1, "{refined:?}");
        }
    }

    #[test]
    fn a_rectangle_is_brought_to_the_coverage_and_a_far_start_is_refused() {
        // An upright 14.4 × 9.2 rectangle centred at (16.2, 12.7), sharp corners.
        let (side, cx, cy, w, h) = (32usize, 16.2, 12.7, 14.4, 9.2);
        let mut alpha = vec![0f32; side * side];
        for y in 0..side {
            for x in 0..side {
                let cover =
                    |lo: f64, hi: f64, p: f64| (hi.min(p + 1.0) - lo.max(p)).clamp(0.0, 1.0);
                let a = cover(cx - w / 2.0, cx + w / 2.0, x as f64)
                    * cover(cy - h / 2.0, cy + h / 2.0, y as f64);
                alpha[y * side + x] = a as f32;
            }
        }
        let coverage = Coverage {
            alpha: &alpha,
            width: side,
            height: side,
            scale: 1.0,
        };
        let start = Rect {
            center: (16.0, 12.5),
            width: 14.0,
            height: 9.0,
            angle: 0.0,
            radius: 0.0,
        };
        let refined = refine_rect(&start, &coverage, &|_, _| true).expect("refined");
        assert!((refined.center.0 - cx).abs() < 0.02, "{refined:?}");
        assert!((refined.center.1 - cy).abs() < 0.02, "{refined:?}");
        assert!((refined.width - w).abs() < 0.03, "{refined:?}");
        assert!((refined.height - h).abs() < 0.03, "{refined:?}");
        // Nothing there: no refinement.
        let empty = vec![0f32; side * side];
        let nothing = Coverage {
            alpha: &empty,
            ..coverage
        };
        assert!(refine_rect(&start, &nothing, &|_, _| true).is_none());
    }
}
