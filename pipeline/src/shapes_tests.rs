use super::*;

/// The boundary midpoints, in outline order, of the pixels whose centres lie inside
/// `inside` over a `size × size` grid (one component), as image tracing makes them.
fn digitise(size: i32, inside: impl Fn(f64, f64) -> bool) -> Vec<Point> {
    use visioncortex::{BinaryImage, PathI32, PathSimplifyMode};
    let mut image = BinaryImage::new_w_h(size as usize, size as usize);
    for y in 0..size {
        for x in 0..size {
            if inside(f64::from(x) + 0.5, f64::from(y) + 0.5) {
                image.set_pixel(x as usize, y as usize, true);
            }
        }
    }
    let path = PathI32::image_to_path(&image, true, PathSimplifyMode::None);
    let corners: Vec<(i32, i32)> = path.path.iter().map(|p| (p.x, p.y)).collect();
    edge_midpoints(&corners)
}

#[test]
fn a_digitised_circle_is_a_circle_with_its_centre_and_radius() {
    for (cx, cy, r) in [(40.3, 41.7, 30.2), (20.0, 20.0, 8.0), (60.5, 50.25, 45.0)] {
        let points = digitise(128, |x, y| (x - cx).powi(2) + (y - cy).powi(2) <= r * r);
        let conic = recognise(&points, 0.375).expect("a circle");
        assert!(conic.circle, "{conic:?}");
        assert!((conic.center.0 - cx).abs() < 0.1 && (conic.center.1 - cy).abs() < 0.1);
        // Digitising a small circle moves its staircase by up to ~0.15 px.
        assert!((conic.rx - r).abs() < 0.2, "{conic:?} vs {r}");
    }
}

#[test]
fn a_digitised_rotated_ellipse_is_that_ellipse() {
    let (cx, cy, a, b, angle) = (64.0f64, 60.0f64, 50.0f64, 22.0f64, 0.5f64);
    let points = digitise(128, |x, y| {
        let (dx, dy) = (x - cx, y - cy);
        let u = dx * angle.cos() + dy * angle.sin();
        let v = -dx * angle.sin() + dy * angle.cos();
        (u / a).powi(2) + (v / b).powi(2) <= 1.0
    });
    let conic = recognise(&points, 0.375).expect("an ellipse");
    assert!(!conic.circle);
    assert!((conic.center.0 - cx).abs() < 0.2 && (conic.center.1 - cy).abs() < 0.2);
    assert!(
        (conic.rx - a).abs() < 0.3 && (conic.ry - b).abs() < 0.3,
        "{conic:?}"
    );
    assert!((conic.angle - angle).abs() < 0.01, "{conic:?}");
}

#[test]
fn eggs_squircles_and_squares_are_not_conics() {
    let egg = digitise(128, |x, y| {
        let (dx, dy) = (x - 64.0, y - 64.0);
        let b = if dy < 0.0 { 30.0 } else { 45.0 };
        (dx / 35.0).powi(2) + (dy / b).powi(2) <= 1.0
    });
    assert_eq!(recognise(&egg, 0.375), None);
    let squircle = digitise(128, |x, y| {
        ((x - 64.0) / 40.0).powi(4) + ((y - 64.0) / 40.0).powi(4) <= 1.0
    });
    assert_eq!(recognise(&squircle, 0.375), None);
    let square = digitise(128, |x, y| {
        (x - 64.0).abs() < 30.0 && (y - 64.0).abs() < 30.0
    });
    assert_eq!(recognise(&square, 0.375), None);
}

#[test]
fn rectangles_sharp_rounded_and_rotated_are_recognised_and_squircles_are_not_circles() {
    let rect = |cx: f64, cy: f64, w: f64, h: f64, angle: f64, r: f64| {
        let shape = Rect {
            center: (cx, cy),
            width: w,
            height: h,
            angle,
            radius: r,
        };
        move |x: f64, y: f64| {
            let (dx, dy) = (x - cx, y - cy);
            let (u, v) = (
                dx * angle.cos() + dy * angle.sin(),
                -dx * angle.sin() + dy * angle.cos(),
            );
            let (qx, qy) = (u.abs() - (0.5 * w - r), v.abs() - (0.5 * h - r));
            let outside = (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt();
            let _ = shape;
            outside + qx.max(qy).min(0.0) - r <= 0.0
        }
    };
    for (cx, cy, w, h, angle, r) in [
        (60.0, 62.0, 70.0, 40.0, 0.0, 0.0),
        (64.0, 64.0, 60.0, 50.0, 0.4, 0.0),
        (60.3, 61.7, 80.0, 50.0, 0.0, 12.0),
        (64.0, 64.0, 70.0, 44.0, -0.3, 9.0),
    ] {
        let points = digitise(128, rect(cx, cy, w, h, angle, r));
        assert_eq!(recognise(&points, 0.375), None, "not a conic");
        let found = recognise_rect(&points, 0.375, 1.0).expect("a rectangle");
        let (fw, fh, fa) = if (found.angle - angle).abs() < 0.3 {
            (found.width, found.height, found.angle)
        } else {
            (
                found.height,
                found.width,
                found.angle + std::f64::consts::FRAC_PI_2,
            )
        };
        assert!(
            (found.center.0 - cx).abs() < 0.3 && (found.center.1 - cy).abs() < 0.3,
            "{found:?}"
        );
        assert!((fw - w).abs() < 0.5 && (fh - h).abs() < 0.5, "{found:?}");
        assert!((fa - angle).abs() < 0.02, "{found:?}");
        assert!((found.radius - r).abs() < 1.5, "{found:?} vs radius {r}");
    }
    let circle = digitise(128, |x, y| {
        (x - 64.0).powi(2) + (y - 64.0).powi(2) <= 40.0 * 40.0
    });
    assert_eq!(recognise_rect(&circle, 0.375, 1.0), None);
    let hexagon = digitise(128, |x, y| {
        let (dx, dy) = ((x - 64.0).abs(), (y - 64.0).abs());
        dy <= 40.0 * 0.866 && dx * 0.866 + dy * 0.5 <= 40.0 * 0.866
    });
    assert_eq!(recognise_rect(&hexagon, 0.375, 1.0), None);
}

#[test]
fn a_thin_strip_is_not_an_arc_of_a_huge_circle() {
    // One row of 40 pixels: its outline lies within half a pixel of many huge circles.
    let strip = digitise(64, |x, y| {
        (10.0..50.0).contains(&x) && (20.0..21.0).contains(&y)
    });
    assert_eq!(recognise(&strip, 0.375), None);
    let bent: Vec<Point> = (0..200)
        .map(|i| {
            let t = 0.3 * f64::from(i) / 200.0;
            (1000.0 * t.sin(), 1000.0 * (1.0 - t.cos()))
        })
        .collect();
    assert_eq!(recognise(&bent, 0.375), None);
}

#[test]
fn degenerate_inputs_are_none() {
    assert_eq!(recognise(&[], 1.0), None);
    let line: Vec<Point> = (0..40)
        .map(|i| (f64::from(i), 2.0 * f64::from(i)))
        .collect();
    assert_eq!(recognise(&line, 1.0), None);
    let same = vec![(3.0, 3.0); 40];
    assert_eq!(recognise(&same, 1.0), None);
    let mut nan = line.clone();
    nan[3].0 = f64::NAN;
    assert_eq!(recognise(&nan, 1.0), None);
    assert_eq!(recognise(&line, f64::NAN), None);
}

#[test]
fn scaling_keeps_circles_and_turns_them_into_ellipses_when_uneven() {
    let circle = Conic::circle((10.0, 20.0), 5.0);
    let same = circle.scaled(2.0, 2.0);
    assert!(same.circle && (same.rx - 10.0).abs() < 1e-12 && same.center == (20.0, 40.0));
    let stretched = circle.scaled(3.0, 1.0);
    assert!(!stretched.circle);
    assert!((stretched.rx - 15.0).abs() < 1e-9 && (stretched.ry - 5.0).abs() < 1e-9);
    assert!(stretched.angle.abs() < 1e-9);
    let ellipse = Conic {
        center: (0.0, 0.0),
        rx: 4.0,
        ry: 2.0,
        angle: std::f64::consts::FRAC_PI_2,
        circle: false,
    };
    let scaled = ellipse.scaled(1.0, 3.0);
    assert!((scaled.rx - 12.0).abs() < 1e-9 && (scaled.ry - 2.0).abs() < 1e-9);
    assert!((scaled.angle.abs() - std::f64::consts::FRAC_PI_2).abs() < 1e-9);
}

#[test]
fn a_rings_two_edges_share_their_centre_and_an_offset_pair_does_not() {
    // A ring (outer r 40, inner r 18, one centre) digitised: each edge's own fit puts its
    // centre a little apart; together they share one, each circle still within its limits.
    let (cx, cy) = (60.37, 58.81);
    let outer = digitise(128, |x, y| {
        (x - cx).powi(2) + (y - cy).powi(2) <= 40.0 * 40.0
    });
    let inner = digitise(128, |x, y| {
        (x - cx).powi(2) + (y - cy).powi(2) <= 18.0 * 18.0
    });
    let circles = [
        recognise(&outer, 0.375).expect("outer"),
        recognise(&inner, 0.375).expect("inner"),
    ];
    let shared = concentric(&[&outer, &inner], &circles, 0.375).expect("one centre");
    assert_eq!(shared.len(), 2);
    assert_eq!(shared[0].center, shared[1].center);
    assert!(shared.iter().all(|c| c.circle));
    let error = |c: &Conic| (c.center.0 - cx).hypot(c.center.1 - cy);
    assert!(error(&shared[0]) < 0.1, "{shared:?}");
    assert!((shared[0].rx - 40.0).abs() < 0.2 && (shared[1].rx - 18.0).abs() < 0.2);
    // The shared centre is no worse than the small circle's own.
    assert!(
        error(&shared[1]) <= error(&circles[1]) + 0.02,
        "{shared:?} {circles:?}"
    );

    // Circles a pixel and a half apart are two designs, not one ring.
    let apart = digitise(128, |x, y| {
        (x - cx - 1.5).powi(2) + (y - cy).powi(2) <= 18.0 * 18.0
    });
    let circles = [circles[0], recognise(&apart, 0.375).expect("apart")];
    assert!(concentric(&[&outer, &apart], &circles, 0.375).is_none());
    // An ellipse never shares.
    let ellipse = Conic {
        circle: false,
        ..circles[1]
    };
    assert!(concentric(&[&outer, &apart], &[circles[0], ellipse], 0.375).is_none());
}

/// The boundary midpoints of a hard-edged (aliased) shape as phase 4 sees it: pixels of a
/// `size × size` working image drawn when their centre is inside (no coverage), labels
/// re-made at `scale ×` by interpolating that binary image at each fine pixel's centre and
/// taking the nearer side (what `supersample::refine` does between two colours).
fn digitise_hard(size: i32, scale: i32, inside: impl Fn(f64, f64) -> bool) -> Vec<Point> {
    use visioncortex::{BinaryImage, PathI32, PathSimplifyMode};
    let n = size as usize;
    let mut coarse = vec![0.0f64; n * n];
    for y in 0..n {
        for x in 0..n {
            if inside(x as f64 + 0.5, y as f64 + 0.5) {
                coarse[y * n + x] = 1.0;
            }
        }
    }
    let tap = |p: f64| -> (usize, usize, f64) {
        if p <= 0.0 {
            return (0, 0, 0.0);
        }
        let i = p.floor() as usize;
        if i + 1 >= n {
            return (n - 1, n - 1, 0.0);
        }
        (i, i + 1, p - i as f64)
    };
    let fine = (size * scale) as usize;
    let mut image = BinaryImage::new_w_h(fine, fine);
    for fy in 0..fine {
        let (y0, y1, wy) = tap((fy as f64 + 0.5) / scale as f64 - 0.5);
        for fx in 0..fine {
            let (x0, x1, wx) = tap((fx as f64 + 0.5) / scale as f64 - 0.5);
            let value = coarse[y0 * n + x0] * (1.0 - wx) * (1.0 - wy)
                + coarse[y0 * n + x1] * wx * (1.0 - wy)
                + coarse[y1 * n + x0] * (1.0 - wx) * wy
                + coarse[y1 * n + x1] * wx * wy;
            if value > 0.5 {
                image.set_pixel(fx, fy, true);
            }
        }
    }
    let path = PathI32::image_to_path(&image, true, PathSimplifyMode::None);
    let corners: Vec<(i32, i32)> = path.path.iter().map(|p| (p.x, p.y)).collect();
    edge_midpoints(&corners)
}

#[test]
fn hard_edged_circles_ellipses_and_rings_are_recognised_at_4x() {
    // Aliased discs drawn at 48–128 px, labels re-made at 4x: the old limit (tolerance + half
    // a grid pixel) refuses them; half a working pixel of staircase is allowed.
    for size in [48, 64, 96, 128] {
        let (c, r) = (f64::from(size) / 2.0 + 0.3, 0.35 * f64::from(size));
        let circle = digitise_hard(size, 4, |x, y| (x - c).powi(2) + (y - c).powi(2) <= r * r);
        let found = recognise_hard(&circle, 1.5, 4.0).expect("a circle");
        assert!(found.circle, "{size}: {found:?}");
        assert!((found.center.0 / 4.0 - c).abs() < 0.1 && (found.center.1 / 4.0 - c).abs() < 0.1);
        assert!(
            (found.rx / 4.0 - r).abs() < 0.15,
            "{size}: {found:?} vs {r}"
        );
        // Soft-edged rules: refused at 96 and 128 px (the limit is half a grid pixel).
        if size >= 96 {
            assert_eq!(recognise(&circle, 1.5), None, "{size}");
        }
        let (a, b, angle) = (0.42 * f64::from(size), 0.2 * f64::from(size), 0.5f64);
        let ellipse = digitise_hard(size, 4, |x, y| {
            let (dx, dy) = (x - c, y - c);
            let u = dx * angle.cos() + dy * angle.sin();
            let v = -dx * angle.sin() + dy * angle.cos();
            (u / a).powi(2) + (v / b).powi(2) <= 1.0
        });
        let found = recognise_hard(&ellipse, 1.5, 4.0).expect("an ellipse");
        assert!(!found.circle, "{size}: {found:?}");
        assert!((found.rx / 4.0 - a).abs() < 0.25 && (found.ry / 4.0 - b).abs() < 0.25);
        assert!((found.angle - angle).abs() < 0.03, "{size}: {found:?}");
        // A ring: both edges circles, on one centre.
        let inner_r = 0.5 * r;
        let inner = digitise_hard(size, 4, |x, y| {
            (x - c).powi(2) + (y - c).powi(2) <= inner_r * inner_r
        });
        let circles = [
            recognise_hard(&circle, 1.5, 4.0).unwrap(),
            recognise_hard(&inner, 1.5, 4.0).expect("inner edge"),
        ];
        let shared = concentric_hard(&[&circle, &inner], &circles, 1.5, 4.0).expect("one centre");
        assert_eq!(shared[0].center, shared[1].center);
        assert!(
            (shared[1].rx / 4.0 - inner_r).abs() < 0.15,
            "{size}: {shared:?}"
        );
    }
}

#[test]
fn hard_edged_eggs_squircles_and_rounded_squares_stay_free_form() {
    for size in [48, 64, 96, 128] {
        let (c, r) = (f64::from(size) / 2.0 + 0.3, 0.35 * f64::from(size));
        // The shapes of `eggs_squircles_and_squares_are_not_conics` and
        // tests/primitives.rs, scaled to the image.
        let egg = digitise_hard(size, 4, |x, y| {
            let (dx, dy) = (x - c, y - c);
            let b = if dy < 0.0 { 0.8 * r } else { 1.2 * r };
            (dx / r).powi(2) + (dy / b).powi(2) <= 1.0
        });
        let squircle = digitise_hard(size, 4, |x, y| {
            ((x - c) / r).powi(4) + ((y - c) / r).powi(4) <= 1.0
        });
        // A rounded square, corners of half the half-side.
        let rounded = digitise_hard(size, 4, |x, y| {
            let (qx, qy) = ((x - c).abs() - 0.5 * r, (y - c).abs() - 0.5 * r);
            (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt() + qx.max(qy).min(0.0) <= 0.5 * r
        });
        for (name, points) in [("egg", egg), ("squircle", squircle), ("rounded", rounded)] {
            assert_eq!(recognise_hard(&points, 1.5, 4.0), None, "{size} px {name}");
        }
    }
}

#[test]
fn a_staircase_has_no_systematic_deviation_and_an_egg_has() {
    let (c, r) = (48.3, 33.6);
    let circle = digitise_hard(96, 4, |x, y| (x - c).powi(2) + (y - c).powi(2) <= r * r);
    let fitted = fit_circle(&circle).unwrap();
    let (worst, _) = deviation(&circle, &fitted).unwrap();
    let smooth = systematic(&circle, &fitted).unwrap();
    // The staircase reaches half a working pixel (2 grid px); its smooth part a fifth of that.
    assert!(worst > 2.0 && smooth < 0.5, "{worst} {smooth}");
    let egg = digitise_hard(96, 4, |x, y| {
        let (dx, dy) = (x - c, y - c);
        let b = if dy < 0.0 { 0.8 * r } else { 1.2 * r };
        (dx / r).powi(2) + (dy / b).powi(2) <= 1.0
    });
    let fitted = fit_circle(&egg).unwrap();
    assert!(systematic(&egg, &fitted).unwrap() > 4.0);
    // Too few points: no answer.
    assert_eq!(systematic(&egg[..20], &fitted), None);
}
