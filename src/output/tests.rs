//! Unit tests of the format names and the encoders' error paths; the render-back checks are
//! in tests/formats.rs.

use super::*;

const SQUARES: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30" viewBox="0 0 40 30">
<g id="ink-1e5ac8" data-color="#1e5ac8"><path d="M2 2h20v20h-20z M6 6v12h12v-12z" fill="#1e5ac8" fill-rule="evenodd"/></g>
<path d="M20 10h18v18h-18z" fill="#f58c1e" fill-opacity="0.5"/>
</svg>"##;

#[test]
fn names_parse_case_insensitively_and_round_trip() {
    for format in Format::ALL {
        assert_eq!(format.to_string().parse::<Format>().unwrap(), format);
        assert_eq!(
            format.name().to_uppercase().parse::<Format>().unwrap(),
            format
        );
        assert_eq!(format.extension(), format.name());
    }
    assert_eq!(
        Format::from_path(Path::new("out/Logo.PDF")),
        Some(Format::Pdf)
    );
    assert_eq!(Format::from_path(Path::new("logo.tiff")), None);
    assert_eq!(Format::from_path(Path::new("logo")), None);
    assert!(Format::Png.is_binary() && Format::Pdf.is_binary());
    assert!(!Format::Eps.is_binary() && !Format::Dxf.is_binary() && !Format::Svg.is_binary());
    assert_eq!(Format::Dxf.media_type(), "image/vnd.dxf");
}

#[test]
fn an_unknown_name_is_named_with_the_valid_ones() {
    let error = "tiff".parse::<Format>().unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown output format \"tiff\" (valid: svg, pdf, eps, dxf, png)"
    );
    let error = serde_json::from_str::<Format>("\"ai\"").unwrap_err();
    assert!(error.to_string().contains("\"ai\""), "{error}");
    assert_eq!(
        serde_json::from_str::<Format>("\"PDF\"").unwrap(),
        Format::Pdf
    );
    assert_eq!(serde_json::to_string(&Format::Eps).unwrap(), "\"eps\"");
}

#[test]
fn broken_svgs_and_bad_options_are_errors_for_every_format() {
    for format in Format::ALL {
        for svg in [
            "",
            "not xml",
            "<svg",
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"0\" height=\"5\"/>",
        ] {
            let error = encode(svg, format, &OutputOptions::default()).unwrap_err();
            assert!(
                matches!(error, OutputError::Svg(_)),
                "{format} {svg:?}: {error}"
            );
        }
        let bad = OutputOptions {
            dxf_dpi: 0.0,
            ..Default::default()
        };
        let error = encode(SQUARES, format, &bad).unwrap_err();
        assert!(error.to_string().contains("dxf_dpi = 0"), "{error}");
    }
}

#[test]
fn a_png_over_the_pixel_limit_is_refused() {
    let options = OutputOptions {
        png_max_pixels: 1000,
        ..Default::default()
    };
    let error = encode(SQUARES, Format::Png, &options).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the PNG would be 40×30 pixels, over the limit of 1000"
    );
}

#[test]
fn gradients_and_images_are_refused_by_eps_and_dxf_naming_them() {
    let gradient = r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">
<linearGradient id="g"><stop offset="0" stop-color="#000"/><stop offset="1" stop-color="#fff"/></linearGradient>
<rect id="r" width="10" height="10" fill="url(#g)"/></svg>"##;
    for format in [Format::Eps, Format::Dxf] {
        let error = encode(gradient, format, &OutputOptions::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{format} output cannot carry a gradient or pattern fill (id \"r\")")
        );
    }
    // PDF carries gradients.
    assert!(encode(gradient, Format::Pdf, &OutputOptions::default()).is_ok());
}

#[test]
fn eps_has_the_exact_colours_the_fill_rule_and_a_flipped_y() {
    let eps = String::from_utf8(encode(SQUARES, Format::Eps, &OutputOptions::default()).unwrap())
        .unwrap();
    assert!(eps.starts_with("%!PS-Adobe-3.0 EPSF-3.0\n"), "{eps}");
    assert!(eps.contains("%%BoundingBox: 0 0 30 23\n"), "{eps}");
    assert!(eps.contains("%%HiResBoundingBox: 0 0.5 30 23\n"), "{eps}");
    assert!(eps.contains("[0.75 0 0 -0.75 0 23] concat"), "{eps}");
    // #1e5ac8 exactly; #f58c1e at half opacity over white (250, 197.5, 142.5), and over
    // the blue square where it overlaps it, clipped to the translucent square:
    // (137.5, 115, 115).
    assert!(eps.contains("0.1176 0.3529 0.7843 rg"), "{eps}");
    assert!(eps.contains("0.9804 0.7745 0.5588 rg"), "{eps}");
    assert!(
        eps.contains("clip newpath\n0.5392 0.451 0.451 rg\n2 2 m\n"),
        "{eps}"
    );
    // The blue square (even-odd, with its hole) twice: painted, and repainted under the clip.
    assert_eq!(eps.matches("\nf*\n").count(), 2, "{eps}");
    assert_eq!(eps.matches("\nf\n").count(), 1, "{eps}");
    assert!(eps.ends_with("%%EOF\n"));
}

#[test]
fn extreme_svgs_give_bytes_or_errors() {
    let svgs = [
        // Larger than the PNG limit; fine as vectors.
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"><path d="M0 0h99999v99999z" fill="#010203"/></svg>"##,
        // Enormous and tiny coordinates, an empty path, a lone move, a zero-area sliver.
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><path d="M0 0L1e30 1e30L-1e30 1e30z" fill="#ff0000" fill-opacity="0.5"/><path d="" fill="#00ff00"/><path d="M5 5" fill="#00ff00"/><path d="M1 1h0.000001v0z" fill="#0000ff" fill-opacity="0.3"/></svg>"##,
        // A translucent stroke over a translucent fill, in a translucent group.
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><g opacity="0.5"><path d="M2 2h16v16h-16z" fill="#102030"/><path d="M4 4C10 0 10 20 16 16" fill="none" stroke="#abcdef" stroke-width="3" stroke-opacity="0.5"/></g></svg>"##,
    ];
    for svg in svgs {
        for format in Format::ALL {
            match encode(svg, format, &OutputOptions::default()) {
                Ok(bytes) => assert!(!bytes.is_empty(), "{format}"),
                Err(error) => assert!(
                    matches!(error, OutputError::TooLarge { .. }) && format == Format::Png,
                    "{format}: {error}"
                ),
            }
        }
    }
}

#[test]
fn a_cancelled_job_stops_every_encoder() {
    let cancel = crate::cancel::CancelToken::new();
    cancel.cancel();
    let limits = EncodeLimits {
        max_bytes: usize::MAX,
        cancel: Some(&cancel),
    };
    for format in Format::ALL {
        let error =
            encode_limited(SQUARES, format, &OutputOptions::default(), &limits).unwrap_err();
        assert!(
            matches!(error, OutputError::Cancelled { format: f } if f == format),
            "{format}: {error:?}"
        );
    }
}

#[test]
fn outputs_stop_at_their_byte_limit_and_name_the_format() {
    for format in [
        Format::Svg,
        Format::Pdf,
        Format::Eps,
        Format::Dxf,
        Format::Png,
    ] {
        let full = encode(SQUARES, format, &OutputOptions::default()).unwrap();
        let limits = EncodeLimits {
            max_bytes: full.len() - 1,
            cancel: None,
        };
        let error =
            encode_limited(SQUARES, format, &OutputOptions::default(), &limits).unwrap_err();
        match error {
            OutputError::OverLimit {
                format: f,
                limit,
                at_least,
            } => {
                assert_eq!(f, format);
                assert_eq!(limit, full.len() - 1);
                assert!(at_least > limit, "{format}: {at_least}");
            }
            other => panic!("{format}: {other:?}"),
        }
        let exact = EncodeLimits {
            max_bytes: full.len(),
            cancel: None,
        };
        assert_eq!(
            encode_limited(SQUARES, format, &OutputOptions::default(), &exact).unwrap(),
            full,
            "{format}: the limit changes nothing below it"
        );
    }
}

#[test]
fn path_counts_give_a_lower_bound_before_parsing() {
    // 1000 one-pixel squares: at least 1000 DXF entities.
    let mut d = String::new();
    for index in 0..1000 {
        d.push_str(&format!("M{} 0h1v1h-1z", index * 2));
    }
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="2000" height="1"><path fill="#000000" d="{d}"/></svg>"##
    );
    let stats = SvgStats::of(&svg);
    assert_eq!(stats.subpaths, 1000);
    assert_eq!(stats.segments, 3000);
    let dxf = encode(&svg, Format::Dxf, &OutputOptions::default()).unwrap();
    assert!(stats.min_output_bytes(Format::Dxf) <= dxf.len());
    let eps = encode(&svg, Format::Eps, &OutputOptions::default()).unwrap();
    assert!(stats.min_output_bytes(Format::Eps) <= eps.len());
    let limits = EncodeLimits {
        max_bytes: stats.min_output_bytes(Format::Dxf) - 1,
        cancel: None,
    };
    assert!(matches!(
        encode_limited(&svg, Format::Dxf, &OutputOptions::default(), &limits),
        Err(OutputError::OverLimit {
            format: Format::Dxf,
            ..
        })
    ));
}

/// A rounded rectangle, a circle, a rectangle with one corner an arc of a path, a circle of
/// two half-circle arcs, and a circle of a benchmark SVG (geo011) off the page.
const ARCS: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="60" height="40" viewBox="0 0 60 40">
<g id="ink-1e5ac8" data-color="#1e5ac8"><rect x="2" y="3" width="30" height="20" rx="4" fill="#1e5ac8"/></g>
<g id="ink-f58c1e" data-color="#f58c1e"><circle cx="45" cy="12" r="8" fill="#f58c1e"/>
<path d="M36 26h14a6 6 0 0 1 6 6v6h-20z" fill="#f58c1e"/>
<path d="M20 30a5 5 0 0 1 0 10a5 5 0 0 1 0-10z" fill="#f58c1e"/>
<circle cx="369.6" cy="92" r="74.3" fill="#f58c1e"/></g>
</svg>"##;

#[test]
fn every_dxf_entity_writes_at_least_its_lower_bound_and_the_limit_holds() {
    let dxf = encode(ARCS, Format::Dxf, &OutputOptions::default()).unwrap();
    let text = String::from_utf8(dxf.clone())
        .unwrap()
        .replace("\r\n", "\n");
    let start = text.find("ENTITIES").unwrap();
    let entities = &text[start..start + text[start..].find("ENDSEC").unwrap()];
    let mut kinds = Vec::new();
    for chunk in entities.split("\n  0\n").skip(1) {
        let Some(kind) = chunk.lines().next() else {
            continue;
        };
        assert!(
            chunk.len() + 5 >= DXF_MIN_ENTITY_BYTES,
            "{kind}: {} bytes",
            chunk.len() + 5
        );
        kinds.push(kind.to_owned());
    }
    kinds.sort();
    let count = |kind: &str| kinds.iter().filter(|k| *k == kind).count();
    // The rounded rectangle: 4 lines and 4 arcs; the circle; the path: 4 lines and an arc;
    // two half circles: one circle; a circle whose quarters' sweeps (from f32 points) add up
    // to a hair over a full turn: one circle.
    assert_eq!(
        (count("LINE"), count("ARC"), count("CIRCLE"), kinds.len()),
        (8, 5, 3, 16),
        "{kinds:?}"
    );
    for max_bytes in [dxf.len() - 1, dxf.len() / 2] {
        let limits = EncodeLimits {
            max_bytes,
            cancel: None,
        };
        assert!(matches!(
            encode_limited(ARCS, Format::Dxf, &OutputOptions::default(), &limits),
            Err(OutputError::OverLimit {
                format: Format::Dxf,
                ..
            })
        ));
    }
}

#[test]
fn eps_draws_arcs_as_their_exact_cubics_not_flattened() {
    // usvg's arcs (kurbo: one cubic per quarter turn at most, handles 4/3·tan(θ/4)·r along
    // the tangents) go to PostScript as they are: a `c` per quarter circle, no polyline; PDF
    // gets the same cubics from svg2pdf.
    let eps =
        String::from_utf8(encode(ARCS, Format::Eps, &OutputOptions::default()).unwrap()).unwrap();
    let curves: Vec<Vec<f64>> = eps
        .lines()
        .filter(|line| line.ends_with(" c"))
        .map(|line| {
            line.split(' ')
                .filter_map(|n| n.parse().ok())
                .collect::<Vec<f64>>()
        })
        .collect();
    // The circles' four quarters each (three circles), the rounded rectangle's four
    // corners, the path's arc.
    assert_eq!(curves.len(), 17, "{eps}");
    let lines = eps.lines().filter(|line| line.ends_with(" l")).count();
    assert!(lines <= 8, "{lines} lines");
    // The circle's quarters end on it, a quarter turn apart: (53, 12), (45, 20), (37, 12),
    // (45, 4) in SVG pixels (the CTM flips y).
    let ends: Vec<(f64, f64)> = curves.iter().map(|c| (c[4], c[5])).collect();
    for (x, y) in [(45.0, 20.0), (37.0, 12.0), (45.0, 4.0), (53.0, 12.0)] {
        assert!(
            ends.iter()
                .any(|e| (e.0 - x).abs() < 1e-3 && (e.1 - y).abs() < 1e-3),
            "({x}, {y}) in {ends:?}"
        );
    }
}
