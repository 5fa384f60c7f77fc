use super::*;

fn fill(data: &str, opacity: Option<f64>) -> SvgPath {
    SvgPath::new(data.to_owned(), Paint::Fill { opacity })
}

fn group(color: [u8; 3], role: InkRole, paths: Vec<SvgPath>) -> InkGroup {
    InkGroup {
        color,
        role,
        area: 0.25,
        paths,
    }
}

#[test]
fn number_formatting_is_compact() {
    let writer = PathWriter::new(1, 1, 1, 1, 2);
    let mut out = String::new();
    for value in [1.0, -0.0, 2.5, 7.12345, -0.004, 0.25, -0.5] {
        writer.number(writer.round(value), &mut out);
        out.push(' ');
    }
    assert_eq!(out, "1 0 2.5 7.12 0 .25 -.5 ");
    assert_eq!(decimal(2.0, 0), "2");
    assert_eq!(decimal(-0.0001, 3), "0");
    assert_eq!(format_opacity(1.0 / 3.0), "0.333");
    let mut data = PathData::new();
    writer.move_to((1.0, 2.0), &mut data);
    writer.cubic_to((2.0, 2.0), (3.0, 2.0), (4.0, 2.0), &mut data);
    writer.cubic_to((4.0, 3.0), (5.0, 4.0), (3.0, 5.0), &mut data);
    writer.line_to((1.0, 2.0), &mut data);
    writer.close(&mut data);
    writer.move_to((0.5, 0.0), &mut data);
    assert_eq!(data.into_string(), "m1 2h3c0 1 1 2-1 3l-2-3zm-.5-2");
}

#[test]
fn groups_are_written_in_order_with_unique_ids_and_their_colour_on_every_path() {
    let red = [0xff, 0, 0];
    let blue = [0x1e, 0x5a, 0xc8];
    let grey = [0x28, 0x28, 0x28];
    let groups = vec![
        // The red ink is translucent below and opaque above: `-soft` and plain ids.
        group(
            red,
            InkRole::Translucent,
            vec![fill("m0 0h1v1z", Some(0.25))],
        ),
        // A shadow-only ink keeps the plain id.
        group(
            grey,
            InkRole::Translucent,
            vec![fill("m0 0h2v2z", Some(0.5))],
        ),
        group(blue, InkRole::Opaque, vec![fill("", None)]),
        group(red, InkRole::Opaque, vec![fill("m0 0h3v3z", None)]),
        group(blue, InkRole::Opaque, vec![fill("m1 1h3v3z", None)]),
        group(red, InkRole::Opaque, vec![fill("m2 2h3v3z", None)]),
    ];
    let written = write_document(10, 20, &groups, usize::MAX).unwrap();
    let ids: Vec<&str> = written.layers.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "ink-ff0000-soft",
            "ink-282828",
            "ink-ff0000",
            "ink-1e5ac8",
            "ink-ff0000-2"
        ]
    );
    assert_eq!(written.paths(), 5);
    assert_eq!(
        written.svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"10\" height=\"20\" viewBox=\"0 0 10 20\">\n\
         <g id=\"ink-ff0000-soft\" data-color=\"#ff0000\" data-role=\"translucent\">\n\
         <path d=\"m0 0h1v1z\" fill=\"#ff0000\" fill-opacity=\"0.25\"/>\n\
         </g>\n\
         <g id=\"ink-282828\" data-color=\"#282828\" data-role=\"translucent\">\n\
         <path d=\"m0 0h2v2z\" fill=\"#282828\" fill-opacity=\"0.5\"/>\n\
         </g>\n\
         <g id=\"ink-ff0000\" data-color=\"#ff0000\">\n\
         <path d=\"m0 0h3v3z\" fill=\"#ff0000\"/>\n\
         </g>\n\
         <g id=\"ink-1e5ac8\" data-color=\"#1e5ac8\">\n\
         <path d=\"m1 1h3v3z\" fill=\"#1e5ac8\"/>\n\
         </g>\n\
         <g id=\"ink-ff0000-2\" data-color=\"#ff0000\">\n\
         <path d=\"m2 2h3v3z\" fill=\"#ff0000\"/>\n\
         </g>\n\
         </svg>\n"
    );
    assert_eq!(written.layers[0].role, InkRole::Translucent);
    assert_eq!(written.layers[0].color, "#ff0000");
    assert_eq!(written.layers[0].area, 0.25);
}

#[test]
fn the_flat_writer_writes_the_same_paths_in_the_same_order_without_groups() {
    let groups = vec![
        group(
            [0, 0, 0],
            InkRole::Translucent,
            vec![fill("m0 0h1v1z", Some(0.5))],
        ),
        group([9, 9, 9], InkRole::Opaque, vec![fill("m0 0h2v2z", None)]),
        group([0, 0, 0], InkRole::Opaque, vec![fill("m0 0h3v3z", None)]),
    ];
    let grouped = write_document(3, 3, &groups, usize::MAX).unwrap();
    let flat = write_flat(3, 3, &groups, usize::MAX).unwrap();
    assert!(!flat.svg.contains("<g"));
    let paths = |svg: &str| -> Vec<String> {
        svg.lines()
            .filter(|line| !line.starts_with("<g ") && *line != "</g>")
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(paths(&grouped.svg), paths(&flat.svg));
    assert_eq!(grouped.layers, flat.layers);
    assert_eq!(grouped.svg.matches("<g ").count(), 3);
}

#[test]
fn gap_filler_strokes_are_written_in_their_group_colour() {
    let groups = vec![InkGroup {
        color: [0, 0, 0],
        role: InkRole::GapFiller,
        area: 0.0,
        paths: vec![SvgPath::new(
            "m0 0h4".to_owned(),
            Paint::Stroke { width: 0.5 },
        )],
    }];
    let written = write_document(4, 4, &groups, usize::MAX).unwrap();
    assert!(written.svg.contains(
        "<g id=\"ink-000000-gap\" data-color=\"#000000\" data-role=\"gap-filler\">\n<path d=\"m0 0h4\" fill=\"none\" stroke=\"#000000\" stroke-width=\"0.5\""
    ), "{}", written.svg);
    assert_eq!(written.layers[0].role, InkRole::GapFiller);
}

#[test]
fn the_writer_stops_past_the_byte_limit() {
    let groups = vec![group(
        [0, 0, 0],
        InkRole::Opaque,
        vec![fill("m0 0h1v1z", None); 10],
    )];
    let unlimited = write_document(1, 1, &groups, usize::MAX).unwrap();
    assert_eq!(unlimited.paths(), 10);
    let limit = unlimited.svg.len() / 2;
    assert_eq!(
        write_document(1, 1, &groups, limit),
        Err(TooLarge { limit })
    );
}

#[test]
fn exact_shapes_are_rounded_in_the_art_s_scale_and_beziers_at_the_path_precision() {
    use crate::shapes::Conic;
    // A 96 px document traced on a 4x grid, path precision 1: exact shapes get 0.01.
    let writer = PathWriter::new(384, 384, 96, 96, 1);
    let circle = writer.shape(&Conic::circle((299.468, 91.537), 72.6554));
    assert_eq!((circle.center, circle.rx), ((74.87, 22.88), 18.16));
    assert_eq!(writer.point((299.468, 91.537)), (74.9, 22.9));
    // A polygon's corners at 0.01, then a path from a point at 0.1: the move between them is
    // written exactly, so the second subpath starts where its own rounding put it.
    let mut data = PathData::new();
    let corners = [(4.04, 4.0), (100.04, 4.0), (100.04, 100.08)];
    writer.exact().polygon(&corners, &mut data);
    writer.move_to(writer.point((200.0, 200.0)), &mut data);
    writer.line_to(writer.point((240.0, 200.0)), &mut data);
    assert_eq!(data.into_string(), "m1.01 1h24v24.02zm48.99 49h10");
    // Exact shapes are never coarser than the path precision, and a large document keeps 0.1.
    assert_eq!(
        PathWriter::new(2048, 2048, 1024, 1024, 1)
            .shape(&Conic::circle((100.0, 100.0), 33.333))
            .rx,
        16.7
    );
    assert_eq!(
        PathWriter::new(96, 96, 96, 96, 3)
            .shape(&Conic::circle((1.0, 1.0), 3.33333))
            .rx,
        3.333
    );
}
