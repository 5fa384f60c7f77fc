//! An outline's closed rings as exact pieces: straight lines, circular arcs and free-form
//! cubics, for writers that have exact forms of the first two (DXF's `LINE`, `ARC`, `CIRCLE`
//! and polyline bulges).
//!
//! usvg hands every arc over as cubics: `<circle>`, `<rect rx>` and the path data's `A`
//! commands become kurbo's arc approximation, one cubic per at most a quarter turn, each with
//! both handles along the circle's tangents and `4/3 · tan(θ/4) · r` long. A cubic whose
//! control points are that, within a few f32 roundings, is the arc it was made from; any
//! other cubic (the tracer's fitted curves, elliptic arcs) stays a free-form curve.

use std::f64::consts::{PI, TAU};

use super::geometry::{Point, Segment};

/// A circular arc from `from` to `to` about `center`; `sweep` is signed, positive
/// anticlockwise in the mapped frame (y up: counter-clockwise as DXF draws arcs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Arc {
    pub center: Point,
    pub radius: f64,
    pub from: Point,
    pub to: Point,
    pub sweep: f64,
}

impl Arc {
    /// The angle of `from` about the centre, in radians.
    pub fn start_angle(&self) -> f64 {
        (self.from.y - self.center.y).atan2(self.from.x - self.center.x)
    }
}

/// One piece of a closed ring, in ring order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Piece {
    Line(Point, Point),
    Arc(Arc),
    /// A free-form cubic: start, two control points, end.
    Curve(Point, Point, Point, Point),
}

/// The closed rings of an outline mapped by `map` (a similarity: uniform scale, turn,
/// mirror, shift), each as its pieces: a ring that does not end where it started is closed
/// by a line; lines of no length are dropped, and consecutive arcs of one circle (and the
/// last with the first) are merged. Rings without any piece that encloses something (fewer
/// than three distinct points and no arc) are left out.
pub(crate) fn rings(segments: &[Segment], map: impl Fn(Point) -> Point) -> Vec<Vec<Piece>> {
    let mut rings = Vec::new();
    let mut ring: Vec<Piece> = Vec::new();
    let mut start: Option<Point> = None;
    let mut current: Option<Point> = None;
    for segment in segments {
        match *segment {
            Segment::Move(p) => {
                finish(&mut ring, start, current, &mut rings);
                start = Some(map(p));
                current = start;
            }
            Segment::Line(p) => {
                let Some(from) = current else { continue };
                let to = map(p);
                if !near(from, to) {
                    ring.push(Piece::Line(from, to));
                }
                current = Some(to);
            }
            Segment::Cubic(a, b, p) => {
                let Some(from) = current else { continue };
                let (a, b, to) = (map(a), map(b), map(p));
                ring.push(match circular_arc(from, a, b, to) {
                    Some(arc) => Piece::Arc(arc),
                    None => Piece::Curve(from, a, b, to),
                });
                current = Some(to);
            }
            Segment::Close => {
                finish(&mut ring, start, current, &mut rings);
                current = start;
            }
        }
    }
    finish(&mut ring, start, current, &mut rings);
    rings
}

fn finish(
    ring: &mut Vec<Piece>,
    start: Option<Point>,
    current: Option<Point>,
    rings: &mut Vec<Vec<Piece>>,
) {
    let mut pieces = std::mem::take(ring);
    if let (Some(start), Some(current)) = (start, current) {
        if !pieces.is_empty() && !near(start, current) {
            pieces.push(Piece::Line(current, start));
        }
    }
    let pieces = merge_arcs(pieces);
    let arcs = pieces.iter().any(|p| matches!(p, Piece::Arc(_)));
    let corners = pieces.len()
        + pieces
            .iter()
            .filter(|p| matches!(p, Piece::Curve(..)))
            .count();
    if arcs || corners >= 3 {
        rings.push(pieces);
    }
}

/// Consecutive arcs of one circle turning the same way as one arc (the last and the first
/// too, when the ring starts inside an arc).
fn merge_arcs(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        if let (Some(Piece::Arc(last)), Piece::Arc(next)) = (out.last_mut(), piece) {
            if let Some(merged) = join(*last, next) {
                *last = merged;
                continue;
            }
        }
        out.push(piece);
    }
    if out.len() > 1 {
        if let (Some(&Piece::Arc(last)), Some(&Piece::Arc(first))) = (out.last(), out.first()) {
            if let Some(merged) = join(last, first) {
                out.pop();
                out[0] = Piece::Arc(merged);
            }
        }
    }
    out
}

/// `a` followed by `b` as one arc, when they are of one circle and turn the same way (and
/// together at most a full turn).
fn join(a: Arc, b: Arc) -> Option<Arc> {
    let eps = 10.0 * epsilon(&[a.center, a.from, a.to, b.to], a.radius);
    let same = a.sweep.signum() == b.sweep.signum()
        && distance(a.center, b.center) <= eps
        && (a.radius - b.radius).abs() <= eps
        && (a.sweep + b.sweep).abs() <= TAU + SWEEP_SLACK;
    same.then(|| {
        through(a.from, b.to, a.sweep + b.sweep).unwrap_or(Arc {
            to: b.to,
            sweep: a.sweep + b.sweep,
            ..a
        })
    })
}

/// The arc from `from` to `to` turning by `sweep` (not a full turn), its centre and radius
/// taken from the chord so that both ends lie on it exactly: the `ARC` entity's ends, made
/// from its centre, radius and angles, meet the next piece's.
fn through(from: Point, to: Point, sweep: f64) -> Option<Arc> {
    let chord = (to.x - from.x, to.y - from.y);
    let length = chord.0.hypot(chord.1);
    let half = sweep.abs() / 2.0;
    if length <= epsilon(&[from, to], 0.0) || half.sin() < 1e-6 {
        return None;
    }
    // From the chord's middle along its left normal (the centre of an anticlockwise arc of
    // under half a turn is on the left), negative past half a turn.
    let offset = sweep.signum() * length / 2.0 / half.tan() / length;
    Some(Arc {
        center: Point {
            x: (from.x + to.x) / 2.0 - chord.1 * offset,
            y: (from.y + to.y) / 2.0 + chord.0 * offset,
        },
        radius: length / (2.0 * half.sin()),
        from,
        to,
        sweep,
    })
}

/// Sweeps measured from f32 points add up to a full turn only within this (radians): a
/// circle's four quarters came to a hair over 2π.
pub(crate) const SWEEP_SLACK: f64 = 1e-3;

/// The f32 rounding usvg's coordinates carry, as a distance: a few units in the last place
/// of the largest coordinate or radius involved.
fn epsilon(points: &[Point], radius: f64) -> f64 {
    let scale = points
        .iter()
        .fold(radius.abs(), |m, p| m.max(p.x.abs()).max(p.y.abs()));
    scale * 2e-6 + 1e-12
}

fn distance(a: Point, b: Point) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

fn near(a: Point, b: Point) -> bool {
    (a.x - b.x).abs() < 1e-9 && (a.y - b.y).abs() < 1e-9
}

/// The circular arc the cubic `p0 p1 p2 p3` is kurbo's approximation of, if it is one: both
/// handles as long as `4/3 · tan(θ/4) · r` and turned from the chord by half the sweep θ
/// (at most half a turn), within a few f32 roundings.
pub(crate) fn circular_arc(p0: Point, p1: Point, p2: Point, p3: Point) -> Option<Arc> {
    let d0 = (p1.x - p0.x, p1.y - p0.y);
    let d3 = (p3.x - p2.x, p3.y - p2.y);
    let chord = (p3.x - p0.x, p3.y - p0.y);
    let (l0, l3, lc) = (d0.0.hypot(d0.1), d3.0.hypot(d3.1), chord.0.hypot(chord.1));
    let eps = epsilon(&[p0, p1, p2, p3], 0.0);
    if l0 <= eps || l3 <= eps || lc <= eps {
        return None;
    }
    let angle = |u: (f64, f64), v: (f64, f64)| (u.0 * v.1 - u.1 * v.0).atan2(u.0 * v.0 + u.1 * v.1);
    // The tangent turns by half the sweep up to the chord and by as much after it.
    let (a0, a3) = (angle(d0, chord), angle(chord, d3));
    let sweep = a0 + a3;
    if sweep.abs() < 1e-4 || sweep.abs() > PI + 1e-9 {
        return None;
    }
    let radius = lc / (2.0 * (sweep.abs() / 2.0).sin());
    let handle = 4.0 / 3.0 * (sweep.abs() / 4.0).tan() * radius;
    let eps = epsilon(&[p0, p1, p2, p3], radius);
    if (a0 - a3).abs() * radius > eps || (l0 - handle).abs() > eps || (l3 - handle).abs() > eps {
        return None;
    }
    // The centre is a radius from the start, to the left of the tangent for an
    // anticlockwise arc.
    let side = sweep.signum();
    let center = Point {
        x: p0.x - side * d0.1 / l0 * radius,
        y: p0.y + side * d0.0 / l0 * radius,
    };
    if (distance(center, p3) - radius).abs() > eps {
        return None;
    }
    through(p0, p3, sweep)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: f64, y: f64) -> Point {
        Point { x, y }
    }

    /// kurbo's cubic of the arc of radius `r` about `c` from angle `a` by `sweep`.
    fn kurbo_cubic(c: Point, r: f64, a: f64, sweep: f64) -> [Point; 4] {
        let k = 4.0 / 3.0 * (sweep / 4.0).tan();
        let at = |t: f64| p(c.x + r * t.cos(), c.y + r * t.sin());
        let (s, e) = (at(a), at(a + sweep));
        [
            s,
            p(s.x - k * r * a.sin(), s.y + k * r * a.cos()),
            p(
                e.x + k * r * (a + sweep).sin(),
                e.y - k * r * (a + sweep).cos(),
            ),
            e,
        ]
    }

    #[test]
    fn kurbo_arcs_are_recognised_with_their_centre_radius_and_sweep() {
        for (sweep, a) in [(PI / 2.0, 0.3), (-PI / 2.0, 1.0), (0.2, -2.0), (PI, 0.0)] {
            let [p0, p1, p2, p3] = kurbo_cubic(p(12.5, -3.0), 7.25, a, sweep);
            // As usvg holds them: f32.
            let f = |q: Point| p(f64::from(q.x as f32), f64::from(q.y as f32));
            let arc = circular_arc(f(p0), f(p1), f(p2), f(p3)).expect("an arc");
            assert!(distance(arc.center, p(12.5, -3.0)) < 1e-4, "{arc:?}");
            assert!((arc.radius - 7.25).abs() < 1e-4, "{arc:?}");
            assert!((arc.sweep - sweep).abs() < 1e-5, "{arc:?}");
            assert!((arc.start_angle() - a).abs() < 1e-5, "{arc:?}");
            // Both ends exactly on the circle.
            for end in [arc.from, arc.to] {
                assert!(
                    (distance(arc.center, end) - arc.radius).abs() < 1e-12,
                    "{arc:?}"
                );
            }
        }
    }

    #[test]
    fn free_form_cubics_are_not_arcs() {
        // Handles 10 % too long (a squircle's corner), asymmetric, or straight.
        let [p0, p1, p2, p3] = kurbo_cubic(p(0.0, 0.0), 10.0, 0.0, PI / 2.0);
        let longer = |q: Point, o: Point| p(o.x + 1.1 * (q.x - o.x), o.y + 1.1 * (q.y - o.y));
        assert!(circular_arc(p0, longer(p1, p0), longer(p2, p3), p3).is_none());
        assert!(circular_arc(p0, longer(p1, p0), p2, p3).is_none());
        assert!(circular_arc(p(0.0, 0.0), p(1.0, 0.0), p(2.0, 0.0), p(3.0, 0.0)).is_none());
    }

    #[test]
    fn a_circles_quarters_merge_into_one_full_turn() {
        let c = p(5.0, 5.0);
        let mut segments = vec![Segment::Move(p(8.0, 5.0))];
        for i in 0..4 {
            let [_, a, b, e] = kurbo_cubic(c, 3.0, f64::from(i) * PI / 2.0, PI / 2.0);
            segments.push(Segment::Cubic(a, b, e));
        }
        segments.push(Segment::Close);
        let rings = rings(&segments, |q| q);
        assert_eq!(rings.len(), 1);
        let [Piece::Arc(arc)] = rings[0][..] else {
            panic!("{:?}", rings[0]);
        };
        assert!(
            (arc.sweep.abs() - TAU).abs() < 1e-9 && (arc.radius - 3.0).abs() < 1e-9,
            "{arc:?}"
        );
    }

    #[test]
    fn a_rounded_rectangle_is_four_lines_and_four_quarter_arcs() {
        // As usvg builds `<rect x="0" y="0" width="20" height="10" rx="2">`, starting after
        // the first corner and closing with a line of no length.
        let r = 2.0;
        let corner = |c: Point, a: f64| {
            let [_, p1, p2, e] = kurbo_cubic(c, r, a, PI / 2.0);
            Segment::Cubic(p1, p2, e)
        };
        let segments = [
            Segment::Move(p(2.0, 0.0)),
            Segment::Line(p(18.0, 0.0)),
            corner(p(18.0, 2.0), -PI / 2.0),
            Segment::Line(p(20.0, 8.0)),
            corner(p(18.0, 8.0), 0.0),
            Segment::Line(p(2.0, 10.0)),
            corner(p(2.0, 8.0), PI / 2.0),
            Segment::Line(p(0.0, 2.0)),
            corner(p(2.0, 2.0), PI),
            Segment::Close,
        ];
        let rings = rings(&segments, |q| q);
        assert_eq!(rings.len(), 1);
        let lines = rings[0]
            .iter()
            .filter(|q| matches!(q, Piece::Line(..)))
            .count();
        let arcs: Vec<Arc> = rings[0]
            .iter()
            .filter_map(|q| match q {
                Piece::Arc(arc) => Some(*arc),
                _ => None,
            })
            .collect();
        assert_eq!((lines, arcs.len()), (4, 4), "{:?}", rings[0]);
        for arc in arcs {
            assert!((arc.radius - r).abs() < 1e-9 && (arc.sweep - PI / 2.0).abs() < 1e-9);
        }
    }
}
