use super::chains::{draw_region, fit_chains, Pen};
use super::map::{Chain, PlanarMap};
use super::NOTHING;
use crate::cancel::CancelToken;
use crate::fit;
use crate::options::{TraceMode, TraceOptions};

/// Collects closed polygons, cubics flattened.
#[derive(Default)]
struct Polygons {
    rings: Vec<Vec<fit::Point>>,
}

impl Pen for Polygons {
    fn move_to(&mut self, point: fit::Point) {
        self.rings.push(vec![point]);
    }
    fn line_to(&mut self, point: fit::Point) {
        self.rings.last_mut().unwrap().push(point);
    }
    fn cubic_to(&mut self, c1: fit::Point, c2: fit::Point, end: fit::Point) {
        let ring = self.rings.last_mut().unwrap();
        let start = *ring.last().unwrap();
        for i in 1..=16 {
            let t = f64::from(i) / 16.0;
            let mt = 1.0 - t;
            let (b0, b1, b2, b3) = (mt * mt * mt, 3.0 * t * mt * mt, 3.0 * t * t * mt, t * t * t);
            ring.push((
                start.0 * b0 + c1.0 * b1 + c2.0 * b2 + end.0 * b3,
                start.1 * b0 + c1.1 * b1 + c2.1 * b2 + end.1 * b3,
            ));
        }
    }
    fn close(&mut self) {}
    fn conic(&mut self, conic: &crate::shapes::Conic, clockwise: bool) {
        let steps = 256;
        let ring = (0..steps)
            .map(|step| {
                let t = std::f64::consts::TAU * f64::from(step) / f64::from(steps);
                conic.point(if clockwise { t } else { -t })
            })
            .collect();
        self.rings.push(ring);
    }
}

impl Polygons {
    /// Non-zero winding number of the point.
    fn winding(&self, point: fit::Point) -> i32 {
        let mut winding = 0;
        for ring in &self.rings {
            for index in 0..ring.len() {
                let a = ring[index];
                let b = ring[(index + 1) % ring.len()];
                let cross = (b.0 - a.0) * (point.1 - a.1) - (point.0 - a.0) * (b.1 - a.1);
                if a.1 <= point.1 && b.1 > point.1 && cross > 0.0 {
                    winding += 1;
                } else if a.1 > point.1 && b.1 <= point.1 && cross < 0.0 {
                    winding -= 1;
                }
            }
        }
        winding
    }

    fn signed_area(ring: &[fit::Point]) -> f64 {
        (0..ring.len())
            .map(|i| {
                let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
                a.0 * b.1 - b.0 * a.1
            })
            .sum::<f64>()
            / 2.0
    }
}

fn options(mode: TraceMode) -> TraceOptions {
    TraceOptions {
        mode,
        filter_speckle: 0,
        corner_threshold: 60.0,
        fit_tolerance: 0.4,
        path_precision: 2,
        alpha: crate::alpha::AlphaMode::Levels,
        alpha_levels: 8,
        supersample: 1,
        layout: Default::default(),
        gap_filler: 0.0,
        primitives: true,
    }
}

/// Every region drawn alone, per pixel centre: (pixels covered by two regions, drawn pixels
/// covered by none, pixels covered by a region other than their own).
fn coverage(keys: &[u16], width: usize, height: usize, mode: TraceMode) -> (usize, usize, usize) {
    let map = PlanarMap::build(keys, width, height);
    let fitted = fit_chains(
        &map,
        &options(mode),
        1,
        &map.right_is_top(&|key| (u32::from(key != NOTHING), key)),
        &CancelToken::new(),
    )
    .unwrap();
    let outlines = map.outlines();
    let regions: Vec<(u16, Polygons)> = outlines
        .iter()
        .map(|(key, list)| {
            let mut pen = Polygons::default();
            draw_region(list, &fitted, &mut pen);
            (*key, pen)
        })
        .collect();
    let (mut overlaps, mut gaps, mut wrong) = (0, 0, 0);
    for y in 0..height {
        for x in 0..width {
            let centre = (x as f64 + 0.5, y as f64 + 0.5);
            let covering: Vec<u16> = regions
                .iter()
                .filter(|(_, pen)| pen.winding(centre) != 0)
                .map(|(key, _)| *key)
                .collect();
            let own = keys[y * width + x];
            overlaps += usize::from(covering.len() > 1);
            gaps += usize::from(own != NOTHING && covering.is_empty());
            wrong += usize::from(covering.iter().any(|key| *key != own));
        }
    }
    (overlaps, gaps, wrong)
}

/// A deterministic blobby key grid: three inks, a translucent level, transparent corners,
/// holes and diagonal touches.
fn blobs(width: usize, height: usize) -> Vec<u16> {
    (0..width * height)
        .map(|i| {
            let (x, y) = ((i % width) as f64, (i / width) as f64);
            let r1 = ((x - 20.0).powi(2) + (y - 20.0).powi(2)).sqrt();
            let r2 = ((x - 38.0).powi(2) + (y - 30.0).powi(2)).sqrt();
            if x + y < 6.0 {
                NOTHING
            } else if (8.0..12.0).contains(&r1) {
                1
            } else if r2 < 9.0 {
                if r2 < 3.0 {
                    NOTHING
                } else {
                    2
                }
            } else if (x as usize / 4 + y as usize / 4).is_multiple_of(7) {
                8 << 8 | 3
            } else {
                0
            }
        })
        .collect()
}

#[test]
fn pixel_mode_tiles_every_pixel_exactly_once() {
    let (width, height) = (50, 44);
    let keys = blobs(width, height);
    assert_eq!(coverage(&keys, width, height, TraceMode::Pixel), (0, 0, 0));
}

#[test]
fn polygon_and_spline_shapes_never_overlap_and_leave_no_gap() {
    let (width, height) = (50, 44);
    let keys = blobs(width, height);
    for mode in [TraceMode::Polygon, TraceMode::Spline] {
        let (overlaps, gaps, wrong) = coverage(&keys, width, height, mode);
        // A shared chain can only move a pixel centre from one neighbour to the other; it can
        // never leave it covered twice or not at all.
        assert_eq!((overlaps, gaps), (0, 0), "{mode:?}");
        // Simplification moves a few pixel centres along slanted edges, not many.
        assert!(
            wrong < width * height / 20,
            "{mode:?}: {wrong} pixels moved"
        );
    }
}

#[test]
fn a_ring_has_an_outer_outline_and_a_reversed_hole() {
    let (width, height) = (12usize, 12usize);
    let keys: Vec<u16> = (0..width * height)
        .map(|i| {
            let (x, y) = (i % width, i / width);
            let outer = (2..10).contains(&x) && (2..10).contains(&y);
            let inner = (5..7).contains(&x) && (5..7).contains(&y);
            if outer && !inner {
                1
            } else {
                NOTHING
            }
        })
        .collect();
    let map = PlanarMap::build(&keys, width, height);
    assert_eq!(map.chains.len(), 2);
    assert!(map.chains.iter().all(|chain| chain.closed));
    let outlines = map.outlines();
    assert_eq!(outlines.len(), 1, "only the ring is a region");
    let fitted = fit_chains(
        &map,
        &options(TraceMode::Pixel),
        1,
        &vec![true; map.chains.len()],
        &CancelToken::new(),
    )
    .unwrap();
    let mut pen = Polygons::default();
    draw_region(&outlines[&1], &fitted, &mut pen);
    let mut areas: Vec<f64> = pen.rings.iter().map(|r| Polygons::signed_area(r)).collect();
    areas.sort_by(f64::total_cmp);
    // Screen coordinates: clockwise is a positive area. The hole runs the other way.
    assert_eq!(areas, vec![-4.0, 64.0]);
    assert_eq!(pen.winding((6.0, 6.0)), 0, "the centre is a hole");
    assert_eq!(pen.winding((3.0, 3.0)), 1);
}

#[test]
fn diagonal_touches_keep_separate_outlines() {
    // A 2×2 checkerboard: each key has two pixels that touch at the centre corner only.
    let keys = vec![1u16, 2, 2, 1];
    let map = PlanarMap::build(&keys, 2, 2);
    let outlines = map.outlines();
    assert_eq!(outlines[&1].len(), 2);
    assert_eq!(outlines[&2].len(), 2);
    assert_eq!(coverage(&keys, 2, 2, TraceMode::Pixel), (0, 0, 0));
}

#[test]
fn each_boundary_is_one_chain_between_junctions() {
    // Three vertical bands: two shared boundaries, each one chain used by both sides; the
    // outer edges are chains against nothing.
    let keys: Vec<u16> = (0..30).map(|i| ((i % 6) / 2) as u16).collect();
    let map = PlanarMap::build(&keys, 6, 5);
    let shared: Vec<&Chain> = map
        .chains
        .iter()
        .filter(|chain| chain.left != NOTHING && chain.right != NOTHING)
        .collect();
    assert_eq!(shared.len(), 2);
    for chain in shared {
        assert_eq!(chain.points.len(), 2, "{chain:?}");
        assert!(!chain.closed);
    }
}
