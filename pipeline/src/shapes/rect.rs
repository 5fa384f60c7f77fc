//! Rectangles, sharp or rounded, among whole shapes ([`recognise_rect`]): the hull's
//! minimum-area box, sides at the mean of their straight parts, the corner radius from the
//! area the corners cut off.

use super::*;

/// A rectangle, its corners rounded by `radius` (0: sharp), rotated by `angle` about its
/// centre, in some coordinate system (grid or output pixels).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Centre.
    pub center: Point,
    /// Side along `angle`.
    pub width: f64,
    /// Side across `angle`.
    pub height: f64,
    /// Direction of the `width` side, radians, in `(-π/4, π/4]` once recognised.
    pub angle: f64,
    /// Corner radius, at most half the shorter side.
    pub radius: f64,
}

impl Rect {
    /// Distance of `p` from the outline (exact for a rounded or sharp rectangle).
    pub fn distance(&self, p: Point) -> f64 {
        let (dx, dy) = (p.0 - self.center.0, p.1 - self.center.1);
        let (c, s) = (self.angle.cos(), self.angle.sin());
        let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
        let (qx, qy) = (
            u.abs() - (0.5 * self.width - self.radius),
            v.abs() - (0.5 * self.height - self.radius),
        );
        let outside = (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt();
        let inside = qx.max(qy).min(0.0);
        (outside + inside - self.radius).abs()
    }

    /// The rectangle after scaling by `sx`, `sy`: `None` unless the two agree within 0.2 %
    /// (a rotated rectangle would become a parallelogram).
    pub fn scaled(&self, sx: f64, sy: f64) -> Option<Rect> {
        if (sx - sy).abs() > 2e-3 * sx.max(sy) {
            return None;
        }
        let scale = 0.5 * (sx + sy);
        Some(Rect {
            center: (self.center.0 * sx, self.center.1 * sy),
            width: self.width * scale,
            height: self.height * scale,
            angle: self.angle,
            radius: self.radius * scale,
        })
    }

    fn is_finite(&self) -> bool {
        [
            self.center.0,
            self.center.1,
            self.width,
            self.height,
            self.angle,
            self.radius,
        ]
        .iter()
        .all(|v| v.is_finite())
            && self.width > 0.0
            && self.height > 0.0
            && self.radius >= 0.0
    }
}

/// The convex hull of `points` (Andrew's monotone chain), anticlockwise in y-up terms.
fn hull(points: &[Point]) -> Vec<Point> {
    let mut sorted: Vec<Point> = points.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    sorted.dedup();
    if sorted.len() < 3 {
        return sorted;
    }
    let cross =
        |o: Point, a: Point, b: Point| (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0);
    let mut lower: Vec<Point> = Vec::new();
    for p in &sorted {
        while lower.len() >= 2 && cross(lower[lower.len() - 2], lower[lower.len() - 1], *p) <= 0.0 {
            lower.pop();
        }
        lower.push(*p);
    }
    let mut upper: Vec<Point> = Vec::new();
    for p in sorted.iter().rev() {
        while upper.len() >= 2 && cross(upper[upper.len() - 2], upper[upper.len() - 1], *p) <= 0.0 {
            upper.pop();
        }
        upper.push(*p);
    }
    lower.pop();
    upper.pop();
    lower.extend(upper);
    lower
}

/// The bounding box of `points` in the frame turned by `angle`: centre (page coordinates)
/// and the two sides.
fn box_at(points: &[Point], angle: f64) -> (Point, f64, f64) {
    let (c, s) = (angle.cos(), angle.sin());
    let (mut lo_u, mut hi_u, mut lo_v, mut hi_v) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in points {
        let (u, v) = (p.0 * c + p.1 * s, -p.0 * s + p.1 * c);
        lo_u = lo_u.min(u);
        hi_u = hi_u.max(u);
        lo_v = lo_v.min(v);
        hi_v = hi_v.max(v);
    }
    let (u, v) = (0.5 * (lo_u + hi_u), 0.5 * (lo_v + hi_v));
    ((u * c - v * s, u * s + v * c), hi_u - lo_u, hi_v - lo_v)
}

/// The rectangle (sharp or with rounded corners, possibly rotated) that `points` (a closed
/// outline's boundary points in order, grid pixels) are within `tolerance` (plus half a pixel
/// of staircase) of, if any. Orientation from the minimum-area bounding box of the hull; each
/// side placed at the mean of the points along its straight part; the corner radius from the
/// area the corners cut off (`(4 − π) r²`); a radius under `sharp` (grid pixels: sub-pixel
/// labels round a sharp corner by about half a working pixel) or under the limit is a sharp
/// corner.
pub fn recognise_rect(points: &[Point], tolerance: f64, sharp: f64) -> Option<Rect> {
    if points.len() < MIN_POINTS || !tolerance.is_finite() || tolerance < 0.0 {
        return None;
    }
    if points.iter().any(|p| !p.0.is_finite() || !p.1.is_finite()) {
        return None;
    }
    let limit = tolerance + STAIRCASE;
    let hull = hull(points);
    if hull.len() < 3 {
        return None;
    }
    let mut best: Option<(f64, f64)> = None;
    for index in 0..hull.len() {
        let (a, b) = (hull[index], hull[(index + 1) % hull.len()]);
        let angle = (b.1 - a.1).atan2(b.0 - a.0);
        let (_, w, h) = box_at(points, angle);
        if best.is_none_or(|(area, _)| w * h < area) {
            best = Some((w * h, angle));
        }
    }
    let (_, mut angle) = best?;
    // Fold the angle into (−π/4, π/4]: the same box, sides swapped.
    let quarter = std::f64::consts::FRAC_PI_2;
    while angle > 0.5 * quarter {
        angle -= quarter;
    }
    while angle <= -0.5 * quarter {
        angle += quarter;
    }
    let (center, width, height) = box_at(points, angle);
    if width.min(height) < 4.0 * limit {
        return None;
    }
    // Each side at the mean of the points on its straight part (away from the corners).
    let (c, s) = (angle.cos(), angle.sin());
    let (hw, hh) = (0.5 * width, 0.5 * height);
    let margin = 0.3 * hw.min(hh);
    let mut sums = [(0.0, 0usize); 4];
    for p in points {
        let (dx, dy) = (p.0 - center.0, p.1 - center.1);
        let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
        let side = if v.abs() < hh - margin {
            if u < 0.0 {
                0
            } else {
                1
            }
        } else if u.abs() < hw - margin {
            if v < 0.0 {
                2
            } else {
                3
            }
        } else {
            continue;
        };
        let value = if side < 2 { u } else { v };
        sums[side].0 += value;
        sums[side].1 += 1;
    }
    if sums.iter().any(|(_, n)| *n == 0) {
        return None;
    }
    let mean = |side: usize| sums[side].0 / sums[side].1 as f64;
    let (left, right, top, bottom) = (mean(0), mean(1), mean(2), mean(3));
    let (mu, mv) = (0.5 * (left + right), 0.5 * (top + bottom));
    let width = right - left;
    let height = bottom - top;
    let center = (center.0 + mu * c - mv * s, center.1 + mu * s + mv * c);
    let area = 0.5 * signed_area2(points).abs();
    let cut = (width * height - area).max(0.0);
    let mut radius = (cut / (4.0 - std::f64::consts::PI)).sqrt();
    if radius < limit.max(sharp) {
        radius = 0.0;
    }
    let rect = Rect {
        center,
        width,
        height,
        angle,
        radius: radius.min(0.5 * width.min(height)),
    };
    let error = |rect: &Rect| -> Option<f64> {
        if !rect.is_finite() || rect.width.min(rect.height) < 4.0 * limit {
            return None;
        }
        let mut worst: f64 = 0.0;
        let mut sum = 0.0;
        for p in points {
            let d = rect.distance(*p);
            worst = worst.max(d);
            sum += d * d;
        }
        let rms = (sum / points.len() as f64).sqrt();
        (worst <= limit && rms <= 0.5 * limit).then_some(rms)
    };
    let rms = error(&rect)?;
    // Nearly upright: snap, when it costs next to nothing.
    if rect.angle != 0.0 && rect.angle.abs() <= SNAP_ANGLE {
        let upright = Rect { angle: 0.0, ..rect };
        if error(&upright).is_some_and(|snapped| snapped <= rms + SNAP_COST * limit) {
            return Some(upright);
        }
    }
    Some(rect)
}
