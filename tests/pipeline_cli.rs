//! `gemini3 vectorize` as a user runs it: one file with metadata and preview, and a folder
//! with a broken file in it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn gemini3() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gemini3"));
    command
        .env("GEMINI3_ROOT", root())
        .env("GEMINI3__HARDWARE__DEVICE", "cpu")
        .env("GEMINI3__HARDWARE__WARMUP", "false")
        .env_remove("GEMINI3_PROFILE")
        .env_remove("GPU_MODEL");
    command
}

fn copy_logo(to: &Path) {
    std::fs::copy(root().join("tests/fixtures/logo.png"), to).unwrap();
}

#[test]
fn vectorizes_one_file_with_metadata_and_preview() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("logo.png");
    copy_logo(&input);
    let svg = dir.path().join("out/logo.svg");
    let metadata = dir.path().join("logo.json");
    let preview = dir.path().join("preview.png");
    let output = gemini3()
        .arg("vectorize")
        .arg(&input)
        .arg("-o")
        .arg(&svg)
        .args(["--palette", "f58c1e,#1E2878,28aa50,faf5e6"])
        .arg("--metadata")
        .arg(&metadata)
        .arg("--preview")
        .arg(&preview)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    roxmltree::Document::parse(&text).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&metadata).unwrap()).unwrap();
    assert_eq!(
        json["palette"],
        serde_json::json!(["#f58c1e", "#1e2878", "#28aa50", "#faf5e6"])
    );
    assert_eq!(json["width"], 160);
    assert_eq!(json["svg_bytes"], text.len());
    let rendered = image::open(&preview).unwrap();
    assert_eq!((rendered.width(), rendered.height()), (160, 120));
}

#[test]
fn a_bad_palette_flag_names_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("logo.png");
    copy_logo(&input);
    let output = gemini3()
        .arg("vectorize")
        .arg(&input)
        .args(["--palette", "ff0000,nothex"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("palette[1]: \"nothex\""), "{stderr}");
}

#[test]
fn folder_mode_continues_past_a_broken_file_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("images");
    std::fs::create_dir(&input).unwrap();
    copy_logo(&input.join("a.png"));
    std::fs::write(input.join("b-broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    copy_logo(&input.join("c.PNG"));
    std::fs::write(input.join("notes.txt"), b"not an image").unwrap();
    let out = dir.path().join("svg");
    let output = gemini3()
        .arg("vectorize")
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(out.join("a.svg").is_file(), "{stderr}");
    assert!(out.join("c.svg").is_file(), "{stderr}");
    assert!(!out.join("b-broken.svg").exists());
    assert!(!out.join("notes.svg").exists());
    assert!(stderr.contains("b-broken.png"), "{stderr}");
    assert!(stderr.contains("2 of 3 images converted"), "{stderr}");
}

#[test]
fn a_folder_without_images_is_an_error_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("empty");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("notes.txt"), b"not an image").unwrap();
    let out = dir.path().join("svg");
    let output = gemini3()
        .arg("vectorize")
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no images to convert"), "{stderr}");
    assert!(stderr.contains(&input.display().to_string()), "{stderr}");
    assert!(stderr.contains(".png"), "{stderr}");
    assert!(!out.exists(), "nothing to convert, so no output folder");
}

#[test]
fn logs_into_a_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("logo.png");
    copy_logo(&input);
    // `info` so that there are log lines to look at (the sessions being built).
    let output = gemini3()
        .env("RUST_LOG", "info")
        .arg("vectorize")
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("INFO"), "expected log lines: {stderr}");
    assert!(
        !stderr.contains("\x1b["),
        "escape codes in piped stderr: {stderr:?}"
    );
}
