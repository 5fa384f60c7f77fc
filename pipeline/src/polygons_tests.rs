use super::*;

/// Boundary points every unit along the closed polygon `corners`, pushed off it by a
/// deterministic wobble of up to `noise` (a staircase stand-in).
fn sample(corners: &[Point], noise: f64) -> Vec<Point> {
    let n = corners.len();
    let mut out = Vec::new();
    for i in 0..n {
        let (a, b) = (corners[i], corners[(i + 1) % n]);
        let length = dist2(a, b).sqrt();
        let steps = length.ceil() as usize;
        for s in 0..steps {
            let t = s as f64 / steps as f64;
            let wobble = noise * ((out.len() as f64) * 2.39).sin();
            let normal = ((b.1 - a.1) / length, -(b.0 - a.0) / length);
            out.push((
                a.0 + t * (b.0 - a.0) + wobble * normal.0,
                a.1 + t * (b.1 - a.1) + wobble * normal.1,
            ));
        }
    }
    out
}

fn regular_corners(n: usize, center: Point, r: f64, rotation: f64) -> Vec<Point> {
    (0..n)
        .map(|k| {
            let a = rotation + k as f64 * std::f64::consts::TAU / n as f64;
            (center.0 + r * a.cos(), center.1 + r * a.sin())
        })
        .collect()
}

fn nearest(corners: &[Point], p: Point) -> f64 {
    corners
        .iter()
        .map(|c| dist2(*c, p).sqrt())
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn regular_polygons_come_back_with_their_corners() {
    for n in [3, 4, 5, 6, 8] {
        let truth = regular_corners(n, (200.0, 180.0), 120.0, 0.3);
        let found = recognise_polygon(&sample(&truth, 0.4), 1.5, 4.0)
            .unwrap_or_else(|| panic!("{n}-gon not recognised"));
        assert_eq!(found.len(), n, "{n}-gon");
        for c in &truth {
            assert!(nearest(&found, *c) < 1.0, "{n}-gon corner {c:?}: {found:?}");
        }
    }
}

#[test]
fn a_star_has_alternating_corners() {
    let truth: Vec<Point> = (0..10)
        .map(|k| {
            let r = if k % 2 == 0 { 150.0 } else { 60.0 };
            let a = -std::f64::consts::FRAC_PI_2 + k as f64 * std::f64::consts::PI / 5.0;
            (200.0 + r * a.cos(), 200.0 + r * a.sin())
        })
        .collect();
    let found = recognise_polygon(&sample(&truth, 0.4), 1.5, 4.0).expect("a star");
    assert_eq!(found.len(), 10);
    for c in &truth {
        assert!(nearest(&found, *c) < 1.0, "corner {c:?}: {found:?}");
    }
}

#[test]
fn a_circle_an_ellipse_and_a_bean_are_no_polygons() {
    let circle: Vec<Point> = (0..600)
        .map(|k| {
            let a = k as f64 * std::f64::consts::TAU / 600.0;
            (200.0 + 95.0 * a.cos(), 200.0 + 95.0 * a.sin())
        })
        .collect();
    assert!(recognise_polygon(&circle, 1.5, 4.0).is_none());
    let ellipse: Vec<Point> = (0..600)
        .map(|k| {
            let a = k as f64 * std::f64::consts::TAU / 600.0;
            (200.0 + 150.0 * a.cos(), 200.0 + 60.0 * a.sin())
        })
        .collect();
    assert!(recognise_polygon(&ellipse, 1.5, 4.0).is_none());
    let bean: Vec<Point> = (0..800)
        .map(|k| {
            let a = k as f64 * std::f64::consts::TAU / 800.0;
            let r = 100.0 * (1.0 + 0.25 * (2.0 * a).cos() - 0.1 * a.sin());
            (200.0 + 1.3 * r * a.cos(), 200.0 + r * a.sin())
        })
        .collect();
    assert!(recognise_polygon(&bean, 1.5, 4.0).is_none());
}

#[test]
fn degenerate_inputs_give_none() {
    assert!(recognise_polygon(&[], 1.0, 1.0).is_none());
    let line: Vec<Point> = (0..50).map(|k| (k as f64, 0.0)).collect();
    assert!(recognise_polygon(&line, 1.0, 1.0).is_none());
    let nan = vec![(f64::NAN, 0.0); 40];
    assert!(recognise_polygon(&nan, 1.0, 1.0).is_none());
}

#[test]
fn offset_moves_sides_out() {
    let square = vec![(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)];
    assert!(upright(&square));
    assert!(!upright(&[(0.0, 0.0), (10.0, 1.0), (9.0, 11.0)]));
    let grown = offset(&square, 1.0);
    assert!((grown[0].0 + 1.0).abs() < 1e-9 && (grown[0].1 + 1.0).abs() < 1e-9);
    assert!((grown[2].0 - 11.0).abs() < 1e-9 && (grown[2].1 - 11.0).abs() < 1e-9);
}

/// Every side of `corners` exactly horizontal or vertical (or neither: its angle).
fn side_angles(corners: &[Point]) -> Vec<f64> {
    let n = corners.len();
    (0..n)
        .map(|i| {
            let (a, b) = (corners[i], corners[(i + 1) % n]);
            (b.1 - a.1).atan2(b.0 - a.0).to_degrees()
        })
        .collect()
}

fn on_an_axis(angle: f64) -> bool {
    let off = angle.rem_euclid(90.0);
    off.min(90.0 - off) < 1e-9
}

#[test]
fn nearly_upright_sides_snap_onto_the_axes_and_tilted_ones_do_not() {
    // A trapezoid whose top and bottom are level and whose left side is upright, traced with
    // a wobble: those three come back exactly level / upright, the slanted side does not.
    let truth = [(60.0, 60.0), (300.0, 60.0), (240.0, 260.0), (60.0, 260.0)];
    let found = recognise_polygon(&sample(&truth, 0.45), 1.5, 4.0).expect("a trapezoid");
    let angles = side_angles(&found);
    assert_eq!(
        angles.iter().filter(|a| on_an_axis(**a)).count(),
        3,
        "{angles:?}"
    );
    for c in &truth {
        assert!(nearest(&found, *c) < 1.0, "corner {c:?}: {found:?}");
    }
    // Turned by 10° it is no longer near the axes: nothing snaps.
    let (s, c) = (10f64.to_radians().sin(), 10f64.to_radians().cos());
    let turned: Vec<Point> = truth
        .iter()
        .map(|p| {
            (
                200.0 + (p.0 - 180.0) * c - (p.1 - 160.0) * s,
                200.0 + (p.0 - 180.0) * s + (p.1 - 160.0) * c,
            )
        })
        .collect();
    let found = recognise_polygon(&sample(&turned, 0.45), 1.5, 4.0).expect("turned");
    assert!(
        side_angles(&found).iter().all(|a| !on_an_axis(*a)),
        "{found:?}"
    );
}

#[test]
fn a_regular_polygon_a_hair_off_the_axes_is_turned_onto_them_only_when_that_is_noise() {
    // A hexagon with level top and bottom, traced with a wobble: its fitted rotation is a
    // hair off; it comes back with exactly level sides, corners in place.
    let truth = regular_corners(6, (200.0, 200.0), 120.0, 0.0);
    let found = recognise_polygon(&sample(&truth, 0.45), 1.5, 4.0).expect("a hexagon");
    assert_eq!(found.len(), 6);
    let angles = side_angles(&found);
    assert_eq!(
        angles.iter().filter(|a| on_an_axis(**a)).count(),
        2,
        "{angles:?}"
    );
    for c in &truth {
        assert!(nearest(&found, *c) < 1.0, "corner {c:?}: {found:?}");
    }
    // Really turned by 0.5° (a corner 1 px off) or 20°, it keeps its rotation.
    for degrees in [0.5f64, 20.0] {
        let turned = regular_corners(6, (200.0, 200.0), 120.0, degrees.to_radians());
        let found = recognise_polygon(&sample(&turned, 0.3), 1.5, 4.0).expect("turned");
        assert!(
            side_angles(&found).iter().all(|a| !on_an_axis(*a)),
            "{degrees}: {found:?}"
        );
    }
}
