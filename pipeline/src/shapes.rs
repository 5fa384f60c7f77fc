//! Whole-shape recognition for phase 4: a closed outline that is a circle or an ellipse
//! within tolerance is written as exactly that (`<circle>`, `<ellipse>`, or exact arcs `A`);
//! one that is a rectangle, sharp or rounded, as a `<rect>` ([`recognise_rect`]).
//!
//! **Boundary points.** The fit uses the midpoints of the outline's unit pixel edges (on the
//! label grid, which is supersampled up to 4× from the interpolated image): each lies halfway
//! between a pixel inside and one outside, so on average on the sub-pixel edge, within half a
//! grid pixel of it.
//!
//! **Fits.** A circle by geometric least squares (Kåsa's algebraic fit as the start, then
//! Gauss–Newton on the radial distances); an ellipse by a gradient-weighted algebraic conic
//! fit (`A + C = 1`, re-weighted by `1 / |∇Q|²` so that it minimises Sampson's approximation of
//! the geometric distance), in coordinates centred and scaled for conditioning.
//!
//! **Acceptance.** A fit is kept only if every boundary point lies within `tolerance + ½`
//! grid pixels of it (half a pixel is the staircase of the boundary itself) and the RMS
//! distance is under half of that: an egg, a squircle or a rounded square deviates
//! systematically and is left to the curve fitter. Outlines of a hard-edged (aliased) upload
//! are judged against half of its pixel instead, their smooth deviation against the same
//! limit ([`recognise_hard`]). Degenerate inputs (too few points,
//! collinear points, NaN, a conic that is not an ellipse, axes more than
//! [`MAX_AXIS_RATIO`] apart) give `None`, never a panic.

/// A point in grid coordinates (y down).
pub type Point = (f64, f64);

/// Image tracing writes no conic whose shorter semi-axis is under this many working pixels:
/// specks (a coat of arms' dots on a 512 px flag) cost more bytes as elements than as a few
/// curves in their layer's path, and are no geometry anyone edits.
pub const MIN_SEMI_AXIS: f64 = 2.0;

/// Whether `conic` (grid pixels, `scale` grid pixels per working pixel) is large enough to be
/// written as a whole shape ([`MIN_SEMI_AXIS`]).
pub fn large_enough(conic: &Conic, scale: f64) -> bool {
    conic.rx.min(conic.ry) >= MIN_SEMI_AXIS * scale
}

/// Outlines with fewer boundary points are not tried.
const MIN_POINTS: usize = 12;

/// Ellipses flatter than this (long over short semi-axis) are not recognised.
pub const MAX_AXIS_RATIO: f64 = 20.0;

/// The outline's area may differ from the conic's by this fraction.
const MAX_AREA_MISMATCH: f64 = 0.15;

/// Half a grid pixel: how far the midpoints of a pixel staircase lie from the edge it samples.
const STAIRCASE: f64 = 0.5;

/// A circle or an ellipse, in some coordinate system (grid or output pixels).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conic {
    /// Centre.
    pub center: Point,
    /// Semi-axis along `angle`.
    pub rx: f64,
    /// Semi-axis across `angle`.
    pub ry: f64,
    /// Direction of the `rx` axis, radians, in `(-π/2, π/2]`; 0 for a circle.
    pub angle: f64,
    /// Written as a circle (`rx == ry`).
    pub circle: bool,
}

impl Conic {
    /// A circle.
    pub fn circle(center: Point, r: f64) -> Self {
        Self {
            center,
            rx: r,
            ry: r,
            angle: 0.0,
            circle: true,
        }
    }

    /// The conic after scaling x by `sx` and y by `sy` (both positive). A circle stays a
    /// circle when the two scales agree within 0.1 %; otherwise it becomes an ellipse.
    pub fn scaled(&self, sx: f64, sy: f64) -> Conic {
        let center = (self.center.0 * sx, self.center.1 * sy);
        if (sx - sy).abs() <= 1e-3 * sx.max(sy) {
            let s = 0.5 * (sx + sy);
            return Conic {
                center,
                rx: self.rx * s,
                ry: self.ry * s,
                ..*self
            };
        }
        // The image of the unit circle under M = S · R(angle) · diag(rx, ry): its semi-axes
        // are M's singular values, their directions M's left singular vectors.
        let (c, s) = (self.angle.cos(), self.angle.sin());
        let m = [
            [sx * c * self.rx, -sx * s * self.ry],
            [sy * s * self.rx, sy * c * self.ry],
        ];
        // M Mᵀ = [[p, q], [q, r]].
        let p = m[0][0] * m[0][0] + m[0][1] * m[0][1];
        let q = m[0][0] * m[1][0] + m[0][1] * m[1][1];
        let r = m[1][0] * m[1][0] + m[1][1] * m[1][1];
        let mean = 0.5 * (p + r);
        let spread = (0.25 * (p - r) * (p - r) + q * q).sqrt();
        let (big, small) = ((mean + spread).max(0.0), (mean - spread).max(0.0));
        let angle = 0.5 * (2.0 * q).atan2(p - r);
        Conic {
            center,
            rx: big.sqrt(),
            ry: small.sqrt(),
            angle: normalise_angle(angle),
            circle: false,
        }
    }

    /// The point at parameter `t` (radians from the `rx` axis).
    pub fn point(&self, t: f64) -> Point {
        let (c, s) = (self.angle.cos(), self.angle.sin());
        let (u, v) = (self.rx * t.cos(), self.ry * t.sin());
        (self.center.0 + u * c - v * s, self.center.1 + u * s + v * c)
    }

    /// Approximate distance of `p` from the curve: exact for a circle, Sampson's first-order
    /// distance for an ellipse.
    pub fn distance(&self, p: Point) -> f64 {
        let (dx, dy) = (p.0 - self.center.0, p.1 - self.center.1);
        if self.circle {
            return ((dx * dx + dy * dy).sqrt() - self.rx).abs();
        }
        let (c, s) = (self.angle.cos(), self.angle.sin());
        let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
        let (a2, b2) = (self.rx * self.rx, self.ry * self.ry);
        let q = u * u / a2 + v * v / b2 - 1.0;
        let (gu, gv) = (2.0 * u / a2, 2.0 * v / b2);
        let gradient = (gu * gu + gv * gv).sqrt();
        if gradient > 0.0 {
            q.abs() / gradient
        } else {
            self.rx.min(self.ry)
        }
    }

    fn is_finite(&self) -> bool {
        self.center.0.is_finite()
            && self.center.1.is_finite()
            && self.rx.is_finite()
            && self.ry.is_finite()
            && self.angle.is_finite()
            && self.rx > 0.0
            && self.ry > 0.0
    }
}

/// The angle folded into `(-π/2, π/2]` (an axis has no direction).
fn normalise_angle(angle: f64) -> f64 {
    let half = std::f64::consts::FRAC_PI_2;
    let mut a = angle % std::f64::consts::PI;
    if a > half {
        a -= std::f64::consts::PI;
    } else if a <= -half {
        a += std::f64::consts::PI;
    }
    a
}

/// The midpoints of the unit edges of a closed pixel outline given by its corner points
/// (consecutive points differ along one axis only, as visioncortex's walker gives them; other
/// steps are sampled at unit spacing along their chord).
pub fn edge_midpoints(corners: &[(i32, i32)]) -> Vec<Point> {
    let mut out = Vec::new();
    let count = corners.len();
    for index in 0..count {
        let (x0, y0) = corners[index];
        let (x1, y1) = corners[(index + 1) % count];
        let (dx, dy) = (f64::from(x1 - x0), f64::from(y1 - y0));
        let steps = dx.abs().max(dy.abs()).ceil() as usize;
        for step in 0..steps {
            let t = (step as f64 + 0.5) / steps as f64;
            out.push((f64::from(x0) + dx * t, f64::from(y0) + dy * t));
        }
    }
    out
}

/// The circle or ellipse that `points` (an outline's boundary points in order, grid pixels) are within
/// `tolerance` (grid pixels, plus half a pixel of staircase) of, if any; a circle is preferred.
pub fn recognise(points: &[Point], tolerance: f64) -> Option<Conic> {
    recognise_hard(points, tolerance, 0.0)
}

/// [`recognise`] for an outline whose edges were hard at a coarser pixel, `source` grid
/// pixels wide (an aliased upload's working pixel, or an upload pixel that phase 2 enlarged):
/// each boundary point is then only known within half a source pixel along the normal, and
/// the stair steps (or the upscaler's wobble) lie up to that far on either side of the edge.
/// The points may then lie within `tolerance` + ½ source pixel of the conic (RMS under half
/// that), but the smooth part of their deviation ([`systematic`]: its harmonics up to
/// [`HARMONICS`] around the centre, which an egg, a squircle or a rounded square has and a
/// staircase has not) must keep [`recognise`]'s own limit. `source` at most one grid pixel:
/// [`recognise`].
pub fn recognise_hard(points: &[Point], tolerance: f64, source: f64) -> Option<Conic> {
    if points.len() < MIN_POINTS || !tolerance.is_finite() || tolerance < 0.0 {
        return None;
    }
    if points.iter().any(|p| !p.0.is_finite() || !p.1.is_finite()) {
        return None;
    }
    let limit = Limits::new(tolerance, source).point;
    let error = |conic: &Conic| accept(points, conic, tolerance, source);
    if let Some(circle) = fit_circle(points) {
        if error(&circle).is_some() {
            return Some(circle);
        }
    }
    let ellipse = fit_ellipse(points)?;
    let rms = error(&ellipse)?;
    // Axes within a few degrees of the page's snap to them when that costs next to nothing
    // (the fitted angle of a near-circle or a small ellipse is mostly noise).
    let snapped = snap_axes(&ellipse);
    match error(&snapped) {
        Some(snapped_rms) if snapped_rms <= rms + SNAP_COST * limit => Some(snapped),
        _ => Some(ellipse),
    }
}

/// The limits a fit is judged by (grid pixels): `point` for each point's distance (RMS under
/// half of it), and, for hard edges, `smooth` for the smooth part of the deviation.
struct Limits {
    point: f64,
    smooth: Option<f64>,
}

impl Limits {
    fn new(tolerance: f64, source: f64) -> Self {
        let strict = tolerance + STAIRCASE;
        if source.is_finite() && source > 2.0 * STAIRCASE {
            Self {
                point: tolerance + 0.5 * source,
                smooth: Some(strict),
            }
        } else {
            Self {
                point: strict,
                smooth: None,
            }
        }
    }
}

/// The RMS distance of `points` from `conic` when it passes [`recognise_hard`]'s limits.
fn accept(points: &[Point], conic: &Conic, tolerance: f64, source: f64) -> Option<f64> {
    let limits = Limits::new(tolerance, source);
    // The curve must also be larger than its own tolerance.
    if !conic.is_finite() || conic.rx.min(conic.ry) < 2.0 * limits.point {
        return None;
    }
    let (worst, rms) = deviation(points, conic)?;
    if worst > limits.point || rms > 0.5 * limits.point {
        return None;
    }
    if let Some(smooth) = limits.smooth {
        if systematic(points, conic)? > smooth {
            return None;
        }
    }
    Some(rms)
}

/// The largest and the RMS distance of `points` (a closed outline, in order) from `conic`;
/// `None` when the conic is no whole outline of them: flatter than [`MAX_AXIS_RATIO`], or
/// enclosing an area more than [`MAX_AREA_MISMATCH`] off theirs (a thin straight strip lies
/// close to a huge circle, along a short arc of it).
pub fn deviation(points: &[Point], conic: &Conic) -> Option<(f64, f64)> {
    if points.is_empty()
        || !conic.is_finite()
        || conic.rx.max(conic.ry) > conic.rx.min(conic.ry) * MAX_AXIS_RATIO
    {
        return None;
    }
    let area = 0.5 * signed_area2(points).abs();
    let conic_area = std::f64::consts::PI * conic.rx * conic.ry;
    let mismatch = (area - conic_area).abs();
    if mismatch.is_nan() || mismatch > MAX_AREA_MISMATCH * conic_area {
        return None;
    }
    let mut worst: f64 = 0.0;
    let mut sum = 0.0;
    for p in points {
        let d = conic.distance(*p);
        worst = worst.max(d);
        sum += d * d;
    }
    let rms = (sum / points.len() as f64).sqrt();
    (worst.is_finite() && rms.is_finite()).then_some((worst, rms))
}

/// Harmonics of the radial deviation (around the conic's centre) that count as systematic in
/// [`recognise_hard`]: an egg's are the 2nd and 3rd, a squircle's or a rounded square's the
/// 4th; a staircase's deviation changes sign every few steps, far above these.
pub const HARMONICS: usize = 6;

/// The largest value, over `points`, of the smooth part of their signed distance from
/// `conic`: the least-squares series `a₀ + Σ aₖ cos kθ + bₖ sin kθ`, `k ≤` [`HARMONICS`], in
/// the angle `θ` round the conic (its parametric angle for an ellipse). `None` when the
/// points do not determine it.
pub fn systematic(points: &[Point], conic: &Conic) -> Option<f64> {
    const N: usize = 2 * HARMONICS + 1;
    if points.len() < 2 * N || !conic.is_finite() {
        return None;
    }
    let (c, s) = (conic.angle.cos(), conic.angle.sin());
    let samples: Vec<(f64, f64)> = points
        .iter()
        .map(|p| {
            let (dx, dy) = (p.0 - conic.center.0, p.1 - conic.center.1);
            let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
            let theta = (v / conic.ry).atan2(u / conic.rx);
            let inside = (u / conic.rx).powi(2) + (v / conic.ry).powi(2) < 1.0;
            let d = conic.distance(*p);
            (theta, if inside { -d } else { d })
        })
        .collect();
    let row = |theta: f64| -> [f64; N] {
        let mut row = [1.0; N];
        for k in 1..=HARMONICS {
            let angle = k as f64 * theta;
            row[2 * k - 1] = angle.cos();
            row[2 * k] = angle.sin();
        }
        row
    };
    let mut normal = [[0.0; N]; N];
    let mut rhs = [0.0; N];
    for (theta, d) in &samples {
        let r = row(*theta);
        for i in 0..N {
            for j in 0..N {
                normal[i][j] += r[i] * r[j];
            }
            rhs[i] += r[i] * d;
        }
    }
    let coefficients = solve::<N>(normal, rhs)?;
    let worst = samples
        .iter()
        .map(|(theta, _)| {
            row(*theta)
                .iter()
                .zip(&coefficients)
                .map(|(a, b)| a * b)
                .sum::<f64>()
                .abs()
        })
        .fold(0.0, f64::max);
    worst.is_finite().then_some(worst)
}

/// How much RMS distance (times the limit) snapping an ellipse's axes, or circles to one
/// centre, may add.
const SNAP_COST: f64 = 0.02;

/// Largest rotation (radians, about 3°) snapped to the page's axes.
const SNAP_ANGLE: f64 = 0.05;

/// The ellipse with its axes on the page's when they are within [`SNAP_ANGLE`] of them.
fn snap_axes(ellipse: &Conic) -> Conic {
    let half = std::f64::consts::FRAC_PI_2;
    let mut snapped = *ellipse;
    if ellipse.angle.abs() <= SNAP_ANGLE {
        snapped.angle = 0.0;
    } else if half - ellipse.angle.abs() <= SNAP_ANGLE {
        snapped.angle = 0.0;
        std::mem::swap(&mut snapped.rx, &mut snapped.ry);
    }
    snapped
}

/// Circles of one outline and its holes (a ring's two edges) on one centre: `circles[k]`
/// recognised separately on `sets[k]` (grid pixels, `tolerance` as for [`recognise`]). When
/// all are circles with centres within the limit of each other, the centre shared by all of
/// them (least squares over every point, each circle its own radius) is taken if every
/// circle still passes [`recognise`]'s limits and the RMS distance over all points rises by
/// at most [`SNAP_COST`] of the limit (the separate fits are each the least-squares optimum:
/// sharing a centre can only cost, and is worth it only within their noise). `None`: keep
/// the separate circles.
pub fn concentric(sets: &[&[Point]], circles: &[Conic], tolerance: f64) -> Option<Vec<Conic>> {
    concentric_hard(sets, circles, tolerance, 0.0)
}

/// [`concentric`] with [`recognise_hard`]'s limits for edges hard at `source` grid pixels.
pub fn concentric_hard(
    sets: &[&[Point]],
    circles: &[Conic],
    tolerance: f64,
    source: f64,
) -> Option<Vec<Conic>> {
    let limit = Limits::new(tolerance, source).point;
    if sets.len() < 2 || sets.len() != circles.len() || circles.iter().any(|c| !c.circle) {
        return None;
    }
    let total: usize = sets.iter().map(|s| s.len()).sum();
    let mean = |f: fn(&Conic) -> f64| {
        sets.iter()
            .zip(circles)
            .map(|(s, c)| f(c) * s.len() as f64)
            .sum::<f64>()
            / total as f64
    };
    let mut center = (mean(|c| c.center.0), mean(|c| c.center.1));
    let apart = |c: &Conic| (c.center.0 - center.0).hypot(c.center.1 - center.1);
    if total == 0 || circles.iter().any(|c| apart(c) > limit) {
        return None;
    }
    // Gauss–Newton on the centre, each radius the mean distance of its points (their
    // least-squares radius about that centre).
    let radii = |center: Point| -> Vec<f64> {
        sets.iter()
            .map(|s| {
                s.iter()
                    .map(|p| (p.0 - center.0).hypot(p.1 - center.1))
                    .sum::<f64>()
                    / s.len().max(1) as f64
            })
            .collect()
    };
    for _ in 0..20 {
        let r = radii(center);
        let (mut normal, mut rhs) = ([[0.0; 2]; 2], [0.0; 2]);
        for (set, radius) in sets.iter().zip(&r) {
            // The mean unit vector of the set: d r_k / d c = −mean(u).
            let n = set.len().max(1) as f64;
            let unit = |p: &Point| {
                let (dx, dy) = (p.0 - center.0, p.1 - center.1);
                let d = dx.hypot(dy).max(1e-12);
                (dx / d, dy / d)
            };
            let mu = set
                .iter()
                .map(unit)
                .fold((0.0, 0.0), |a, u| (a.0 + u.0 / n, a.1 + u.1 / n));
            for p in set.iter() {
                let u = unit(p);
                let row = [mu.0 - u.0, mu.1 - u.1];
                let residual = (p.0 - center.0).hypot(p.1 - center.1) - radius;
                for i in 0..2 {
                    for j in 0..2 {
                        normal[i][j] += row[i] * row[j];
                    }
                    rhs[i] -= row[i] * residual;
                }
            }
        }
        let Some([dx, dy]) = solve::<2>(normal, rhs) else {
            break;
        };
        center = (center.0 + dx, center.1 + dy);
        if dx.abs() + dy.abs() < 1e-12 {
            break;
        }
    }
    let snapped: Vec<Conic> = radii(center)
        .into_iter()
        .map(|r| Conic::circle(center, r))
        .collect();
    let mut sums = (0.0, 0.0);
    for ((set, own), shared) in sets.iter().zip(circles).zip(&snapped) {
        let rms = accept(set, shared, tolerance, source)?;
        let (_, own_rms) = deviation(set, own)?;
        let n = set.len() as f64;
        sums = (sums.0 + rms * rms * n, sums.1 + own_rms * own_rms * n);
    }
    let (shared, own) = (
        (sums.0 / total as f64).sqrt(),
        (sums.1 / total as f64).sqrt(),
    );
    (shared <= own + SNAP_COST * limit).then_some(snapped)
}

/// Centre and scale that map `points` to mean 0 and RMS distance 1 from it.
fn normalisation(points: &[Point]) -> Option<(Point, f64)> {
    let n = points.len() as f64;
    let mean = points
        .iter()
        .fold((0.0, 0.0), |acc, p| (acc.0 + p.0 / n, acc.1 + p.1 / n));
    let spread = (points
        .iter()
        .map(|p| (p.0 - mean.0).powi(2) + (p.1 - mean.1).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    (spread.is_finite() && spread > 1e-9).then_some((mean, spread))
}

/// The geometric least-squares circle through `points`.
pub fn fit_circle(points: &[Point]) -> Option<Conic> {
    let (mean, spread) = normalisation(points)?;
    let local: Vec<Point> = points
        .iter()
        .map(|p| ((p.0 - mean.0) / spread, (p.1 - mean.1) / spread))
        .collect();
    // Kåsa: x² + y² + D x + E y + F = 0 by linear least squares.
    let mut normal = [[0.0; 3]; 3];
    let mut rhs = [0.0; 3];
    for (x, y) in &local {
        let row = [*x, *y, 1.0];
        let target = -(x * x + y * y);
        for i in 0..3 {
            for j in 0..3 {
                normal[i][j] += row[i] * row[j];
            }
            rhs[i] += row[i] * target;
        }
    }
    let [d, e, f] = solve::<3>(normal, rhs)?;
    let (mut a, mut b) = (-d / 2.0, -e / 2.0);
    let mut r = (a * a + b * b - f).max(0.0).sqrt();
    // Gauss–Newton on the radial residuals |p − c| − r.
    for _ in 0..20 {
        let mut normal = [[0.0; 3]; 3];
        let mut rhs = [0.0; 3];
        for (x, y) in &local {
            let (dx, dy) = (x - a, y - b);
            let distance = (dx * dx + dy * dy).sqrt();
            if distance < 1e-12 {
                continue;
            }
            let row = [-dx / distance, -dy / distance, -1.0];
            let residual = distance - r;
            for i in 0..3 {
                for j in 0..3 {
                    normal[i][j] += row[i] * row[j];
                }
                rhs[i] -= row[i] * residual;
            }
        }
        let Some([da, db, dr]) = solve::<3>(normal, rhs) else {
            break;
        };
        a += da;
        b += db;
        r += dr;
        if da.abs() + db.abs() + dr.abs() < 1e-12 {
            break;
        }
    }
    let circle = Conic::circle((a * spread + mean.0, b * spread + mean.1), r.abs() * spread);
    circle.is_finite().then_some(circle)
}

/// The ellipse through `points` by gradient-weighted algebraic least squares.
pub fn fit_ellipse(points: &[Point]) -> Option<Conic> {
    let (mean, spread) = normalisation(points)?;
    let local: Vec<Point> = points
        .iter()
        .map(|p| ((p.0 - mean.0) / spread, (p.1 - mean.1) / spread))
        .collect();
    // A x² + B xy + C y² + D x + E y + F = 0 with C = 1 − A:
    // A (x² − y²) + B xy + D x + E y + F = −y².
    let mut coefficients: Option<[f64; 5]> = None;
    for _ in 0..6 {
        let mut normal = [[0.0; 5]; 5];
        let mut rhs = [0.0; 5];
        for (x, y) in &local {
            let weight = match coefficients {
                None => 1.0,
                Some([a, b, d, e, _]) => {
                    let c = 1.0 - a;
                    let gx = 2.0 * a * x + b * y + d;
                    let gy = b * x + 2.0 * c * y + e;
                    let g2 = gx * gx + gy * gy;
                    if g2 > 1e-12 {
                        1.0 / g2
                    } else {
                        1e12
                    }
                }
            };
            let row = [x * x - y * y, x * y, *x, *y, 1.0];
            let target = -(y * y);
            for i in 0..5 {
                for j in 0..5 {
                    normal[i][j] += weight * row[i] * row[j];
                }
                rhs[i] += weight * row[i] * target;
            }
        }
        coefficients = Some(solve::<5>(normal, rhs)?);
    }
    let [a, b, d, e, f] = coefficients?;
    let c = 1.0 - a;
    let discriminant = 4.0 * a * c - b * b;
    if discriminant <= 1e-12 {
        return None;
    }
    // Centre: the gradient vanishes there.
    let x0 = (b * e - 2.0 * c * d) / discriminant;
    let y0 = (b * d - 2.0 * a * e) / discriminant;
    let f0 = a * x0 * x0 + b * x0 * y0 + c * y0 * y0 + d * x0 + e * y0 + f;
    // Eigen-decomposition of [[a, b/2], [b/2, c]].
    let mean_eigen = 0.5 * (a + c);
    let spread_eigen = (0.25 * (a - c) * (a - c) + 0.25 * b * b).sqrt();
    let (l1, l2) = (mean_eigen - spread_eigen, mean_eigen + spread_eigen);
    // Eigenvector of the smaller eigenvalue: the long axis.
    let angle = 0.5 * b.atan2(a - c) + std::f64::consts::FRAC_PI_2;
    let (r1, r2) = (-f0 / l1, -f0 / l2);
    if r1.is_nan() || r2.is_nan() || r1 <= 0.0 || r2 <= 0.0 {
        return None;
    }
    let ellipse = Conic {
        center: (x0 * spread + mean.0, y0 * spread + mean.1),
        rx: r1.sqrt() * spread,
        ry: r2.sqrt() * spread,
        angle: normalise_angle(angle),
        circle: false,
    };
    ellipse.is_finite().then_some(ellipse)
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting; `None` when singular.
fn solve<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> Option<[f64; N]> {
    let scale = a
        .iter()
        .flatten()
        .fold(0.0f64, |acc, value| acc.max(value.abs()));
    if scale <= 0.0 || !scale.is_finite() {
        return None;
    }
    for column in 0..N {
        let pivot =
            (column..N).max_by(|i, j| a[*i][column].abs().total_cmp(&a[*j][column].abs()))?;
        if a[pivot][column].abs() <= scale * 1e-13 {
            return None;
        }
        a.swap(column, pivot);
        b.swap(column, pivot);
        let pivot_row = a[column];
        for row in column + 1..N {
            let factor = a[row][column] / pivot_row[column];
            for (value, above) in a[row].iter_mut().zip(&pivot_row).skip(column) {
                *value -= factor * above;
            }
            b[row] -= factor * b[column];
        }
    }
    let mut x = [0.0; N];
    for row in (0..N).rev() {
        let mut sum = b[row];
        for k in row + 1..N {
            sum -= a[row][k] * x[k];
        }
        x[row] = sum / a[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Twice the signed area of a closed polygon (positive: clockwise on screen, y down).
pub fn signed_area2(points: &[Point]) -> f64 {
    let count = points.len();
    (0..count)
        .map(|i| {
            let (a, b) = (points[i], points[(i + 1) % count]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum()
}

mod rect;
pub(crate) mod refine;
pub use rect::{recognise_rect, Rect};
pub(crate) use refine::{refine_conic, refine_polygon, refine_rect, Coverage};

#[cfg(test)]
#[path = "shapes_tests.rs"]
mod tests;
