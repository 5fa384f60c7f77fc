//! DXF through the `dxf` crate: every filled subpath as its exact entities (`CIRCLE`,
//! `ELLIPSE`, `LINE`, `ARC`) or a closed `LWPOLYLINE`, one layer per ink, millimetres, y up.
//!
//! - **Layers**: `ink-rrggbb` (lower-case hex, the id of the SVG's ink groups), in the order
//!   the inks are first painted; the DXF's mandatory layer `0` stays empty. A layer's colour
//!   is the nearest AutoCAD indexed colour; the exact colour is on every entity as 24-bit
//!   true colour (group code 420), with that nearest index as the fallback (62).
//! - **Geometry**: each subpath of a filled path is its own closed outline on its ink's
//!   layer, so a hole is a separate closed outline inside its outline. usvg hands every arc
//!   over as cubics; [`pieces`] finds the circular arcs among them again (kurbo's exact
//!   form, see there), so a subpath is lines, circular arcs and free-form curves, and is
//!   written as (the decision of issue 20: exact entities where the outline has no free-form
//!   curve, one closed entity where it has):
//!   - arcs of one circle making a full turn (`<circle>`, a hole of two arcs, whose centres
//!     may be a rounding apart: within the tolerance): a `CIRCLE`;
//!   - lines and circular arcs only, at least one arc (`<rect rx>`, an arc in path data):
//!     a `LINE` or an `ARC` per piece, in outline order, each ending exactly where the next
//!     starts (arcs take their centre and radius from their ends), so a cutter chains them
//!     into one closed cut;
//!   - lines only (polygons, pixel outlines): one closed `LWPOLYLINE` of its corners, exact
//!     (no flattening), one entity however many sides;
//!   - any free-form Bézier: a `CIRCLE` or full `ELLIPSE` when its flattened points lie
//!     within [`CONIC_SLACK`] of the radius plus the tolerance of one conic (`<ellipse>`,
//!     whose elliptic arcs are free-form cubics here), else one closed `LWPOLYLINE`, its
//!     curves flattened so that no point of the polyline is further than the tolerance from
//!     the curve and its circular arcs exact as bulges.
//!
//!   Polylines with fewer than three vertices (and no bulge) enclose nothing and are left
//!   out. Partial elliptic arcs are flattened (the pipeline writes none: its ellipses are
//!   whole). Strokes are not cut geometry and are not written.
//! - **Units**: `$INSUNITS` = 4 (millimetres), `$MEASUREMENT` = metric; a pixel is
//!   25.4 / dpi mm; the SVG's top-left corner is at (0, height) and its bottom-left at the
//!   origin, and `$EXTMIN`/`$EXTMAX` and the limits are the SVG's whole viewport.
//! - **Opacity**: a translucent fill keeps its opacity as the entity's transparency (440).
//! - Version AutoCAD 2010 (AC1024), ASCII.

use std::f64::consts::TAU;

use dxf::entities::{Arc, Circle, Ellipse, Entity, EntityType, Line, LwPolyline};
use dxf::enums::{AcadVersion, DrawingUnits, Units};
use dxf::tables::Layer;
use dxf::{Color, LwPolylineVertex};

use super::geometry::{flatten_cubic, Drawing, Paint, Point};
use super::pieces::{self, Piece};
use super::{
    EncodeLimits, Format, OutputError, OutputOptions, DXF_MIN_ENTITY_BYTES, DXF_MIN_VERTEX_BYTES,
};
use crate::pipeline::shapes;

/// A flattened subpath is a circle or an ellipse when all its points lie within this
/// fraction of the long semi-axis (plus the flattening tolerance) of the fitted conic: a
/// four-cubic circle is within 0.03 % of its radius, a traced outline of pixels is not.
const CONIC_SLACK: f64 = 1e-3;

/// The entities of one closed ring (millimetres, y up), by what it is made of:
///
/// - arcs of one circle (within `tolerance`) making a full turn: a `CIRCLE`;
/// - lines and circular arcs only, at least one arc: a `LINE` or `ARC` per piece, in ring
///   order, each ending where the next starts;
/// - lines only: one closed `LWPOLYLINE`, its vertices the corners (no flattening);
/// - any free-form curve: a `CIRCLE` or full `ELLIPSE` when its flattened points fit one
///   (the tracer's Bézier circles, usvg's elliptic arcs), else one closed `LWPOLYLINE`, the
///   curves flattened within `tolerance` and circular arcs exact as bulges.
fn entities(ring: &[Piece], tolerance: f64) -> Vec<EntityType> {
    if let Some((center, radius)) = one_circle(ring, tolerance) {
        return vec![circle(center, radius)];
    }
    let curves = ring.iter().any(|piece| matches!(piece, Piece::Curve(..)));
    let arcs = ring.iter().any(|piece| matches!(piece, Piece::Arc(_)));
    if curves {
        let points: Vec<Point> = flattened(ring, tolerance);
        if let Some(conic) = conic_entity(&points, tolerance) {
            return vec![conic];
        }
    } else if arcs {
        return ring.iter().map(line_or_arc).collect();
    }
    polyline(ring, tolerance).into_iter().collect()
}

/// The circle a ring of arcs only is: one full turn, or arcs turning one way a full turn in
/// all whose centres and radii agree within `tolerance` (the SVG writer's two half-circle
/// `A` commands, their ends rounded, have centres a rounding apart), as their mean.
fn one_circle(ring: &[Piece], tolerance: f64) -> Option<(Point, f64)> {
    let arcs: Vec<pieces::Arc> = ring
        .iter()
        .map(|piece| match piece {
            Piece::Arc(arc) => Some(*arc),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let sweep: f64 = arcs.iter().map(|arc| arc.sweep).sum();
    let same_way = arcs.iter().all(|arc| arc.sweep.signum() == sweep.signum());
    if arcs.is_empty() || !same_way || (sweep.abs() - TAU).abs() > pieces::SWEEP_SLACK {
        return None;
    }
    let n = arcs.len() as f64;
    let center = Point {
        x: arcs.iter().map(|arc| arc.center.x).sum::<f64>() / n,
        y: arcs.iter().map(|arc| arc.center.y).sum::<f64>() / n,
    };
    let radius = arcs.iter().map(|arc| arc.radius).sum::<f64>() / n;
    arcs.iter()
        .all(|arc| {
            (arc.center.x - center.x).hypot(arc.center.y - center.y) + (arc.radius - radius).abs()
                <= tolerance
        })
        .then_some((center, radius))
}

/// A `LINE` or an `ARC` (anticlockwise from its start angle to its end angle, in degrees);
/// a free-form curve is never asked for.
fn line_or_arc(piece: &Piece) -> EntityType {
    let point = |p: Point| dxf::Point::new(p.x, p.y, 0.0);
    match *piece {
        Piece::Arc(arc) => {
            let start = arc.start_angle();
            let (from, to) = if arc.sweep > 0.0 {
                (start, start + arc.sweep)
            } else {
                (start + arc.sweep, start)
            };
            let degrees = |angle: f64| angle.to_degrees().rem_euclid(360.0);
            EntityType::Arc(Arc {
                center: point(arc.center),
                radius: arc.radius,
                start_angle: degrees(from),
                end_angle: degrees(to),
                ..Default::default()
            })
        }
        Piece::Line(from, to) | Piece::Curve(from, _, _, to) => EntityType::Line(Line {
            p1: point(from),
            p2: point(to),
            ..Default::default()
        }),
    }
}

fn circle(center: Point, radius: f64) -> EntityType {
    EntityType::Circle(Circle {
        center: dxf::Point::new(center.x, center.y, 0.0),
        radius,
        ..Default::default()
    })
}

/// The ring's closed `LWPOLYLINE`: a vertex where each piece starts, circular arcs as the
/// bulge of their start vertex (tan of a quarter of the sweep, positive anticlockwise),
/// curves flattened within `tolerance`. `None` when it would enclose nothing (under three
/// vertices and no bulge).
fn polyline(ring: &[Piece], tolerance: f64) -> Option<EntityType> {
    let mut polyline = LwPolyline::default();
    polyline.set_is_closed(true);
    let vertex = |p: Point, bulge: f64| LwPolylineVertex {
        x: p.x,
        y: p.y,
        bulge,
        ..Default::default()
    };
    for piece in ring {
        match *piece {
            Piece::Line(from, _) => polyline.vertices.push(vertex(from, 0.0)),
            Piece::Arc(arc) => polyline
                .vertices
                .push(vertex(arc.from, (arc.sweep / 4.0).tan())),
            Piece::Curve(from, a, b, to) => {
                polyline.vertices.push(vertex(from, 0.0));
                let mut points = flatten_cubic(from, a, b, to, tolerance);
                points.pop();
                polyline
                    .vertices
                    .extend(points.into_iter().map(|p| vertex(p, 0.0)));
            }
        }
    }
    let bulges = polyline.vertices.iter().any(|v| v.bulge != 0.0);
    (polyline.vertices.len() >= 3 || (bulges && polyline.vertices.len() >= 2))
        .then_some(EntityType::LwPolyline(polyline))
}

/// The ring's points, every piece flattened within `tolerance`, the closing point left out.
fn flattened(ring: &[Piece], tolerance: f64) -> Vec<Point> {
    let mut points = Vec::new();
    for piece in ring {
        match *piece {
            Piece::Line(from, _) => points.push(from),
            Piece::Arc(arc) => {
                // Chords whose sagitta is at most the tolerance.
                let step = 2.0 * (1.0 - (tolerance / arc.radius).min(1.0)).acos();
                let n = (arc.sweep.abs() / step.max(1e-3)).ceil().clamp(1.0, 4096.0) as usize;
                let start = arc.start_angle();
                points.extend((0..n).map(|i| {
                    let angle = start + arc.sweep * i as f64 / n as f64;
                    Point {
                        x: arc.center.x + arc.radius * angle.cos(),
                        y: arc.center.y + arc.radius * angle.sin(),
                    }
                }));
            }
            Piece::Curve(from, a, b, to) => {
                points.push(from);
                let mut rest = flatten_cubic(from, a, b, to, tolerance);
                rest.pop();
                points.extend(rest);
            }
        }
    }
    points
}

/// The `CIRCLE` or `ELLIPSE` a closed ring of points (millimetres, y up) is, if it is one.
fn conic_entity(ring: &[Point], tolerance: f64) -> Option<EntityType> {
    if ring.len() < 12 {
        return None;
    }
    let points: Vec<shapes::Point> = ring.iter().map(|p| (p.x, p.y)).collect();
    let fits = |conic: &shapes::Conic| {
        let limit = CONIC_SLACK * conic.rx.max(conic.ry) + tolerance;
        shapes::deviation(&points, conic).is_some_and(|(worst, _)| worst <= limit)
    };
    if let Some(fitted) = shapes::fit_circle(&points).filter(fits) {
        return Some(circle(
            Point {
                x: fitted.center.0,
                y: fitted.center.1,
            },
            fitted.rx,
        ));
    }
    let ellipse = shapes::fit_ellipse(&points).filter(fits)?;
    let (c, s) = (ellipse.angle.cos(), ellipse.angle.sin());
    Some(EntityType::Ellipse(Ellipse {
        center: dxf::Point::new(ellipse.center.0, ellipse.center.1, 0.0),
        major_axis: dxf::Vector::new(ellipse.rx * c, ellipse.rx * s, 0.0),
        minor_axis_ratio: ellipse.ry / ellipse.rx,
        start_parameter: 0.0,
        end_parameter: TAU,
        ..Default::default()
    }))
}

/// The layer name of an ink: the id of its SVG group.
pub(crate) fn layer_name(color: [u8; 3]) -> String {
    crate::pipeline::svg::ink_id(color)
}

/// The DXF text of `drawing`.
pub(crate) fn write(
    drawing: &Drawing,
    options: &OutputOptions,
    limits: &EncodeLimits<'_>,
) -> Result<Vec<u8>, OutputError> {
    let mm_per_px = 25.4 / options.dxf_dpi;
    let height = drawing.height;
    let to_mm = |p: Point| Point {
        x: p.x * mm_per_px,
        y: (height - p.y) * mm_per_px,
    };
    let tolerance = options.dxf_tolerance_mm;

    let mut out = dxf::Drawing::new();
    fix_stamps(&mut out.header)?;
    out.header.version = AcadVersion::R2010;
    out.header.default_drawing_units = Units::Millimeters;
    out.header.drawing_units = DrawingUnits::Metric;
    let corner = dxf::Point::new(drawing.width * mm_per_px, height * mm_per_px, 0.0);
    out.header.minimum_drawing_extents = dxf::Point::origin();
    out.header.maximum_drawing_extents = corner.clone();
    out.header.minimum_drawing_limits = dxf::Point::origin();
    out.header.maximum_drawing_limits = corner;

    let mut layers: Vec<[u8; 3]> = Vec::new();
    // The least the entities held so far will write: stop building them once that passes the
    // limit (they take several times those bytes in memory).
    let mut at_least = 0usize;
    for shape in &drawing.shapes {
        limits.check_cancel(Format::Dxf)?;
        limits.check_size(Format::Dxf, at_least)?;
        if !matches!(shape.paint, Paint::Fill { .. }) {
            continue;
        }
        let name = layer_name(shape.color);
        let index = nearest_index(shape.color);
        if !layers.contains(&shape.color) {
            layers.push(shape.color);
            out.add_layer(Layer {
                name: name.clone(),
                color: Color::from_index(index),
                ..Default::default()
            });
        }
        for ring in pieces::rings(&shape.segments, to_mm) {
            for geometry in entities(&ring, tolerance) {
                let vertices = match &geometry {
                    EntityType::LwPolyline(polyline) => polyline.vertices.len(),
                    _ => 0,
                };
                at_least = at_least
                    .saturating_add(DXF_MIN_ENTITY_BYTES)
                    .saturating_add(vertices.saturating_mul(DXF_MIN_VERTEX_BYTES));
                let mut entity = Entity::new(geometry);
                entity.common.layer = name.clone();
                entity.common.color = Color::from_index(index);
                entity.common.color_24_bit = true_color(shape.color);
                // 0x020000AA, AA the alpha (255 opaque); the crate's default, 0, is invalid.
                let alpha = (shape.opacity.clamp(0.0, 1.0) * 255.0).round() as i32;
                entity.common.transparency = 0x0200_0000 | alpha;
                out.add_entity(entity);
            }
        }
    }
    limits.check_size(Format::Dxf, at_least)?;
    let mut writer = LimitedWriter {
        bytes: Vec::new(),
        limit: limits.max_bytes,
    };
    match out.save(&mut writer) {
        Ok(()) => Ok(writer.bytes),
        Err(_) if writer.bytes.len() > limits.max_bytes => Err(OutputError::OverLimit {
            format: Format::Dxf,
            limit: limits.max_bytes,
            at_least: writer.bytes.len(),
        }),
        Err(error) => Err(OutputError::Encode {
            format: Format::Dxf,
            message: error.to_string(),
        }),
    }
}

/// A `Vec` that refuses writes once it holds more than `limit` bytes.
struct LimitedWriter {
    bytes: Vec<u8>,
    limit: usize,
}

impl std::io::Write for LimitedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() > self.limit {
            return Err(std::io::Error::other("output limit passed"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The header variables that would make every file different (creation and update dates,
/// the drawing's GUIDs), set to fixed values, so that one SVG always gives the same bytes:
/// J2000 (2000-01-01 12:00) and nil GUIDs. They are read from a header of those values,
/// which spares naming the date and GUID crates' types.
fn fix_stamps(header: &mut dxf::Header) -> Result<(), OutputError> {
    const FIXED: &str = "  0\nSECTION\n  2\nHEADER\n\
        9\n$ACADVER\n  1\nAC1024\n\
        9\n$TDCREATE\n 40\n2451545.0\n  9\n$TDUCREATE\n 40\n2451545.0\n\
        9\n$TDUPDATE\n 40\n2451545.0\n  9\n$TDUUPDATE\n 40\n2451545.0\n\
        9\n$FINGERPRINTGUID\n  2\n{00000000-0000-0000-0000-000000000000}\n\
        9\n$VERSIONGUID\n  2\n{00000000-0000-0000-0000-000000000000}\n\
        0\nENDSEC\n  0\nEOF\n";
    let fixed = dxf::Drawing::load(&mut FIXED.as_bytes())
        .map_err(|error| OutputError::Encode {
            format: Format::Dxf,
            message: format!("the fixed header does not load: {error}"),
        })?
        .header;
    header.creation_date = fixed.creation_date;
    header.creation_date_universal = fixed.creation_date_universal;
    header.update_date = fixed.update_date;
    header.update_date_universal = fixed.update_date_universal;
    header.fingerprint_guid = fixed.fingerprint_guid;
    header.version_guid = fixed.version_guid;
    Ok(())
}

/// `0x00RRGGBB`, DXF's 24-bit colour.
pub(crate) fn true_color(color: [u8; 3]) -> i32 {
    (i32::from(color[0]) << 16) | (i32::from(color[1]) << 8) | i32::from(color[2])
}

/// AutoCAD's indexed colour (1 to 255) nearest to `color` in RGB; the table is the
/// standard one: 1–9 named colours, 10–249 24 hues × 5 values × full/half saturation,
/// 250–255 greys.
pub(crate) fn nearest_index(color: [u8; 3]) -> u8 {
    let distance = |rgb: [f64; 3]| {
        rgb.iter()
            .zip(color)
            .map(|(a, b)| (a - f64::from(b)).powi(2))
            .sum::<f64>()
    };
    (1..=255u8)
        .min_by(|&a, &b| distance(index_rgb(a)).total_cmp(&distance(index_rgb(b))))
        .unwrap_or(7)
}

/// The RGB of an AutoCAD colour index.
fn index_rgb(index: u8) -> [f64; 3] {
    match index {
        1 => [255.0, 0.0, 0.0],
        2 => [255.0, 255.0, 0.0],
        3 => [0.0, 255.0, 0.0],
        4 => [0.0, 255.0, 255.0],
        5 => [0.0, 0.0, 255.0],
        6 => [255.0, 0.0, 255.0],
        7 => [255.0, 255.0, 255.0],
        8 => [128.0, 128.0, 128.0],
        9 => [192.0, 192.0, 192.0],
        10..=249 => {
            let hue = f64::from(index / 10 - 1) * 15.0;
            let step = index % 10;
            let value = [1.0, 0.65, 0.5, 0.3, 0.15][usize::from(step / 2)];
            let saturation = if step.is_multiple_of(2) { 1.0 } else { 0.5 };
            hsv(hue, saturation, value)
        }
        250..=255 => {
            let grey = [51.0, 91.0, 132.0, 173.0, 214.0, 255.0][usize::from(index - 250)];
            [grey; 3]
        }
        0 => [0.0; 3],
    }
}

fn hsv(hue: f64, saturation: f64, value: f64) -> [f64; 3] {
    let c = value * saturation;
    let h = hue / 60.0;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = value - c;
    [r, g, b].map(|v| ((v + m) * 255.0).round())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_names_and_true_colours_are_the_hex_of_the_ink() {
        assert_eq!(layer_name([0x1e, 0x5a, 0xc8]), "ink-1e5ac8");
        assert_eq!(true_color([0x1e, 0x5a, 0xc8]), 0x1e5ac8);
    }

    #[test]
    fn nearest_indices_of_primaries_and_greys() {
        assert_eq!(nearest_index([255, 0, 0]), 1);
        assert_eq!(nearest_index([0, 0, 255]), 5);
        assert_eq!(nearest_index([250, 250, 250]), 7);
        assert_eq!(nearest_index([52, 50, 50]), 250);
    }
}
