//! Unit tests of the job input schema: every bad input names its field and value.

use super::*;
use crate::pipeline::options::TraceMode;
use serde_json::json;

const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

fn error_of(input: Value) -> RequestError {
    parse(&input, 1 << 20).unwrap_err()
}

#[test]
fn parses_a_full_request() {
    let request = parse(
        &json!({"image": PNG_1X1, "palette": ["FF0000", "#00ff00"], "max_colors": 8,
                "steering": {"enabled": true, "seed": 7, "strength": 0.6},
                "trace": {"mode": "polygon", "filter_speckle": 2},
                "deadline_s": 60, "return_logs": true}),
        1 << 20,
    )
    .unwrap();
    assert!(
        matches!(request.source, ImageSource::Inline(ref bytes) if bytes.starts_with(b"\x89PNG"))
    );
    let options = request.options;
    assert_eq!(options.palette.unwrap().len(), 2);
    assert_eq!(options.max_colors, Some(8));
    assert_eq!(
        options.steering,
        Some(crate::pipeline::SteeringRequest {
            enabled: true,
            seed: Some(7),
            strength: Some(0.6)
        })
    );
    assert_eq!(options.trace.mode, Some(TraceMode::Polygon));
    assert_eq!(options.trace.filter_speckle, Some(2));
    assert_eq!(request.deadline, Some(Duration::from_secs(60)));
    assert!(request.return_logs);
}

#[test]
fn accepts_data_uris() {
    let request = parse(
        &json!({"image": format!("data:image/png;base64,{PNG_1X1}")}),
        1 << 20,
    )
    .unwrap();
    assert!(matches!(request.source, ImageSource::Inline(_)));
    let error = error_of(json!({"image": format!("data:text/html;base64,{PNG_1X1}")}));
    assert_eq!(error.field, "image");
    assert!(
        error.message.contains("\"text/html\" is not supported"),
        "{error}"
    );
}

#[test]
fn names_field_and_value_for_each_bad_input() {
    let cases = [
        (json!({}), "image", "neither image nor image_url"),
        (
            json!({"image": PNG_1X1, "image_url": "http://x"}),
            "image",
            "both image and image_url",
        ),
        (
            json!({"image": "@@@@"}),
            "image",
            "\"@@@@\" is not valid base64",
        ),
        (
            json!({"image": PNG_1X1, "palette": ["ff0000", "nothex"]}),
            "palette[1]",
            "\"nothex\"",
        ),
        (
            json!({"image": PNG_1X1, "max_colors": 65}),
            "max_colors",
            "65 is outside 1..=64",
        ),
        (
            json!({"image": PNG_1X1, "max_colors": "many"}),
            "max_colors",
            "invalid type: string \"many\"",
        ),
        (
            json!({"image": PNG_1X1, "deadline_s": 0}),
            "deadline_s",
            "0 is not a positive",
        ),
        (
            json!({"image": PNG_1X1, "deadline_s": -5}),
            "deadline_s",
            "-5 is not a positive",
        ),
        (
            json!({"image": PNG_1X1, "steering": {"seed": "x"}}),
            "steering.seed",
            "invalid type: string \"x\"",
        ),
        (
            json!({"image": PNG_1X1, "steering": {"strength": 2.0}}),
            "steering.strength",
            "2 is outside (0, 1]",
        ),
        (
            json!({"image": PNG_1X1, "trace": {"mode": "bezier"}}),
            "trace.mode",
            "\"bezier\" is not one of spline, polygon, pixel, auto",
        ),
        (
            json!({"image": PNG_1X1, "alpha": "soft"}),
            "alpha",
            "\"soft\" is not one of levels, threshold",
        ),
        (
            json!({"image": PNG_1X1, "colour": 1}),
            "colour",
            "unknown field `colour`",
        ),
        (json!({"image": 5}), "image", "invalid type: integer `5`"),
    ];
    for (input, field, fragment) in cases {
        let error = error_of(input.clone());
        assert_eq!(error.field, field, "{input}: {error}");
        assert!(error.message.contains(fragment), "{input}: {error}");
    }
    assert_eq!(
        error_of(json!("text")).to_string(),
        "input: \"text\" is not a JSON object"
    );
}

#[test]
fn options_are_the_pipelines_with_its_ranges_and_names() {
    let request = parse(
        &json!({"image": PNG_1X1, "layout": "cutout", "gap_filler": 2.0, "alpha": "threshold"}),
        1 << 20,
    )
    .unwrap();
    assert_eq!(
        request.options,
        crate::pipeline::JobOptions {
            layout: Some(crate::pipeline::options::Layout::Cutout),
            gap_filler: Some(2.0),
            alpha: Some(crate::pipeline::alpha::AlphaMode::Threshold),
            ..Default::default()
        }
    );
    let cases = [
        (
            json!({"image": PNG_1X1, "trace": {"filter_speckle": -1}}),
            "trace.filter_speckle",
            "-1 is outside 0..=1024",
        ),
        (
            json!({"image": PNG_1X1, "gap_filler": 21}),
            "gap_filler",
            "21 is outside 0..=20 output pixels",
        ),
        (
            json!({"image": PNG_1X1, "palette": ["ff0000", "FF0000"]}),
            "palette[1]",
            "\"FF0000\" repeats palette[0]",
        ),
        (
            json!({"image": PNG_1X1, "trace": {"speckle": 4}}),
            "trace.speckle",
            "unknown field `speckle`",
        ),
    ];
    for (input, field, fragment) in cases {
        let error = error_of(input.clone());
        assert_eq!(error.field, field, "{input}: {error}");
        assert!(error.message.contains(fragment), "{input}: {error}");
    }
    // An unknown key lists every key the job input knows: the handler's and the options'.
    let error = error_of(json!({"image": PNG_1X1, "colour": 1}));
    for key in [
        "`image`",
        "`formats`",
        "`return_logs`",
        "`palette`",
        "`gap_filler`",
    ] {
        assert!(error.message.contains(key), "{key}: {error}");
    }
}

#[test]
fn refuses_oversized_payload_before_decoding() {
    let big = "A".repeat(4000);
    let error = parse(&json!({"image": big}), 1000).unwrap_err();
    assert_eq!(error.field, "image");
    assert!(
        error.message.contains("over the limit of 1000 bytes"),
        "{error}"
    );
}

#[test]
fn deadline_hook_reads_only_valid_values() {
    assert_eq!(
        requested_deadline(&json!({"deadline_s": 2.5})),
        Some(Duration::from_millis(2500))
    );
    assert_eq!(requested_deadline(&json!({"deadline_s": -1})), None);
    assert_eq!(requested_deadline(&json!({})), None);
}

#[test]
fn formats_default_to_svg_and_keep_their_order() {
    let request = parse(&json!({"image": PNG_1X1}), 1 << 20).unwrap();
    assert_eq!(request.formats, vec![Format::Svg]);
    let request = parse(
        &json!({"image": PNG_1X1, "formats": ["pdf", "SVG", "png"]}),
        1 << 20,
    )
    .unwrap();
    assert_eq!(request.formats, vec![Format::Pdf, Format::Svg, Format::Png]);
}

#[test]
fn bad_formats_name_the_entry_and_value() {
    let cases = [
        (
            json!(["svg", "tiff"]),
            "formats[1]",
            "\"tiff\" is not a format; use svg, pdf, eps, dxf or png",
        ),
        (json!([]), "formats", "[] is empty"),
        (
            json!(["svg", "pdf", "svg"]),
            "formats[2]",
            "\"svg\" is listed twice",
        ),
        (json!(["svg", 3]), "formats[1]", "invalid type: integer `3`"),
        (json!("svg"), "formats", "invalid type: string \"svg\""),
    ];
    for (formats, field, fragment) in cases {
        let error = error_of(json!({"image": PNG_1X1, "formats": formats}));
        assert_eq!(error.field, field, "{formats}: {error}");
        assert!(error.message.contains(fragment), "{formats}: {error}");
    }
}

#[test]
fn parses_an_s3_config() {
    let bucket = parse_s3_config(&json!({"endpointUrl": "https://s3.example.com",
        "accessId": "AKID", "accessSecret": "s3cr3t-value", "bucketName": "outputs"}))
    .unwrap();
    assert_eq!(bucket.name(), "outputs");
    assert_eq!(bucket.origin(), BucketOrigin::Job);
    let bucket = parse_s3_config(&json!({"endpointUrl": "https://s3.example.com/outputs",
        "accessId": "AKID", "accessSecret": "s3cr3t-value"}))
    .unwrap();
    assert_eq!(bucket.name(), "outputs");
}

#[test]
fn bad_s3_configs_name_the_key_and_never_the_secret() {
    let full = |key: &str, value: Value| {
        let mut config = json!({"endpointUrl": "https://s3.example.com", "accessId": "AKID",
            "accessSecret": "s3cr3t-value", "bucketName": "outputs"});
        if value.is_null() {
            config.as_object_mut().unwrap().remove(key);
        } else {
            config[key] = value;
        }
        config
    };
    let cases = [
        (
            full("accessSecret", Value::Null),
            "s3Config.accessSecret",
            "is missing",
        ),
        (
            full("accessId", Value::Null),
            "s3Config.accessId",
            "is missing",
        ),
        (
            full("endpointUrl", Value::Null),
            "s3Config.endpointUrl",
            "is missing",
        ),
        (
            full("bucketName", Value::Null),
            "s3Config.endpointUrl",
            "names no bucket",
        ),
        (
            full("endpointUrl", json!("file:///etc/passwd")),
            "s3Config.endpointUrl",
            "has scheme \"file\"; only http and https",
        ),
        (
            full("endpointUrl", json!("s3://outputs")),
            "s3Config.endpointUrl",
            "has scheme \"s3\"",
        ),
        (
            full("accessId", json!(5)),
            "s3Config.accessId",
            "5 is not a string",
        ),
        (
            full("accessSecret", json!(5)),
            "s3Config.accessSecret",
            "is not a string",
        ),
        (
            full("region", json!("x")),
            "s3Config.region",
            "unknown key `region`",
        ),
        (
            json!("s3cr3t-value"),
            "s3Config",
            "is a string, not a JSON object",
        ),
    ];
    for (config, field, fragment) in cases {
        let error = parse_s3_config(&config).unwrap_err();
        assert_eq!(error.field, field, "{config}: {error}");
        assert!(error.message.contains(fragment), "{config}: {error}");
        assert!(!error.to_string().contains("s3cr3t-value"), "{error}");
    }
}

proptest::proptest! {
    #[test]
    fn decoder_never_panics(text in ".{0,200}") {
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        let _ = parse(&value, 1 << 20);
        let _ = parse(&json!({"image": value}), 1 << 20);
    }
}
