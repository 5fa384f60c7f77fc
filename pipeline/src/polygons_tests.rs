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
