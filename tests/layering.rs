//! The layering rules of ARCHITECTURE.md, held by tests. The pipeline is its own crate
//! (`pipeline/`), so it cannot name a layer of this crate above it (settings, the ONNX
//! engine, the job handler, the commands, downloads, output formats, delivery) at all: the
//! compiler refuses it. What is left to check: the pipeline's manifest names no crate of the
//! outside world (ONNX Runtime, HTTP, the async runtime, RunPod, configuration files); only
//! the edge names `crate::settings` (each component owns its settings types); only
//! `src/engine/` names `ort`; only the edge (`src/settings/`, `src/main.rs`, `src/commands/`)
//! reads the environment; only the binary's edge (`src/main.rs`, `src/commands/`) uses
//! `anyhow`; and no source file outside tests is over 800 lines.
//!
//! The checks read the source text, so they also catch names used without a `use` line.
//! Comment lines are ignored.

use std::fs;
use std::path::{Path, PathBuf};

/// The only crates the pipeline may depend on: image and geometry work, errors, logs. Adding
/// one is a design decision (ARCHITECTURE.md), made here on purpose.
const PIPELINE_DEPENDENCIES: &[&str] = &[
    "flate2",
    "image",
    "rayon",
    "serde",
    "serde_json",
    "serde_path_to_error",
    "thiserror",
    "tracing",
    "visioncortex",
];

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every occurrence of `word` in `line` as a whole identifier (not part of a longer one).
fn word_positions<'a>(line: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    line.match_indices(word).filter_map(move |(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        let bounded = !before.is_some_and(is_ident) && !after.is_some_and(is_ident);
        bounded.then_some(at)
    })
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push(path);
        }
    }
}

/// The dependency names of one table of a manifest (`dependencies`, `dev-dependencies`).
fn dependency_names(manifest: &toml::Table, table: &str) -> Vec<String> {
    manifest
        .get(table)
        .and_then(|t| t.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn the_pipeline_crate_depends_on_no_outside_runtime() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = fs::read_to_string(root.join("pipeline/Cargo.toml")).expect("pipeline manifest");
    let manifest: toml::Table = toml::from_str(&text).expect("pipeline manifest is TOML");
    let names = dependency_names(&manifest, "dependencies");
    assert!(names.contains(&"image".to_owned()), "{names:?}");
    let extra: Vec<&String> = names
        .iter()
        .filter(|n| !PIPELINE_DEPENDENCIES.contains(&n.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        "pipeline/Cargo.toml depends on {extra:?}: the pipeline knows nothing about ONNX \
         Runtime, HTTP, the async runtime, RunPod or configuration files (ARCHITECTURE.md, \
         invariants); put that code in the root crate"
    );
    for table in ["build-dependencies", "target"] {
        assert!(
            manifest.get(table).is_none(),
            "pipeline/Cargo.toml has a [{table}] table"
        );
    }
}

/// The code lines of `text` (not comments) that satisfy `hit`, as `(line number, line)`.
fn code_lines(text: &str, hit: impl Fn(&str) -> bool) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, raw)| !raw.trim().starts_with("//"))
        .filter(|(_, raw)| hit(raw.split(" //").next().unwrap_or(raw)))
        .map(|(index, raw)| (index + 1, raw.trim().to_owned()))
        .collect()
}

/// Every `.rs` file under `src/` and `pipeline/src/` outside `allowed` (paths relative to the crate root, a
/// folder ending in `/`) with the lines that satisfy `hit`.
fn offenders(allowed: &[&str], hit: impl Fn(&str) -> bool + Copy) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("pipeline/src"), &mut files);
    let mut report = Vec::new();
    for path in &files {
        let shown = path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string();
        if allowed
            .iter()
            .any(|a| shown == *a || (a.ends_with('/') && shown.starts_with(a)))
        {
            continue;
        }
        let text = fs::read_to_string(path).expect("readable source");
        for (line, source) in code_lines(&text, hit) {
            report.push(format!("{shown}:{line}: {source}"));
        }
    }
    report
}

fn names_ort(code: &str) -> bool {
    word_positions(code, "ort").any(|at| {
        let rest = code[at + 3..].trim_start();
        rest.starts_with("::") || rest.starts_with(';')
    })
}

fn reads_environment(code: &str) -> bool {
    ["env::var(", "env::var_os(", "env::vars(", "env::vars_os("]
        .iter()
        .any(|call| code.contains(call))
}

#[test]
fn only_the_engine_names_onnx_runtime() {
    let report = offenders(&["src/engine/"], names_ort);
    assert!(
        report.is_empty(),
        "only src/engine/ may name `ort` (ARCHITECTURE.md, invariants):\n{}",
        report.join("\n")
    );
}

#[test]
fn only_the_edge_reads_the_environment() {
    let report = offenders(
        &["src/settings/", "src/main.rs", "src/commands/"],
        reads_environment,
    );
    assert!(
        report.is_empty(),
        "only src/settings/, src/main.rs and src/commands/ may read the environment \
         (ARCHITECTURE.md, invariants); pass values down as typed settings:\n{}",
        report.join("\n")
    );
}

fn names_settings(code: &str) -> bool {
    code.contains("crate::settings") || code.contains("gemini3::settings")
}

#[test]
fn components_own_their_settings_types() {
    // The engine, the handler, delivery, downloads and the output formats own the types of
    // their settings; `settings` reads the configuration into them. Only the edge names it.
    let report = offenders(
        &[
            "src/settings/",
            "src/main.rs",
            "src/commands/",
            "src/lib.rs",
        ],
        names_settings,
    );
    assert!(
        report.is_empty(),
        "only src/settings/, src/main.rs and src/commands/ may name `crate::settings` \
         (ARCHITECTURE.md, invariants); a component owns its settings type:\n{}",
        report.join("\n")
    );
}

fn names_anyhow(code: &str) -> bool {
    word_positions(code, "anyhow").next().is_some()
}

#[test]
fn only_the_binary_edge_uses_anyhow() {
    let report = offenders(&["src/main.rs", "src/commands/"], names_anyhow);
    assert!(
        report.is_empty(),
        "anyhow only in src/main.rs and src/commands/; library code returns its thiserror \
         enum (ARCHITECTURE.md, errors):\n{}",
        report.join("\n")
    );
}

/// Largest source file, in lines: a file that long holds more than one idea. Unit-test
/// files (`tests.rs`, `*_tests.rs`) are exempt.
const MAX_LINES: usize = 800;

#[test]
fn no_source_file_is_over_800_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("pipeline/src"), &mut files);
    rust_files(&root.join("runpod/src"), &mut files);
    let mut report = Vec::new();
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "tests.rs" || name.ends_with("_tests.rs") {
            continue;
        }
        let lines = fs::read_to_string(path)
            .expect("readable source")
            .lines()
            .count();
        if lines > MAX_LINES {
            let shown = path.strip_prefix(root).unwrap_or(path).display();
            report.push(format!("{shown}: {lines} lines"));
        }
    }
    assert!(
        report.is_empty(),
        "source files over {MAX_LINES} lines (ARCHITECTURE.md: split by idea):\n{}",
        report.join("\n")
    );
}

// The checker itself: a rule test that cannot fail is no rule.

#[test]
fn the_other_rules_find_what_they_look_for() {
    assert!(names_ort("use ort::session::Session;"));
    assert!(names_ort("let t = ort::value::Tensor::new();"));
    assert!(!names_ort("let sort = short::f();"));
    assert!(!names_ort("fn sort() {}"));
    assert!(reads_environment("let v = std::env::var(\"X\");"));
    assert!(reads_environment(
        "let all: Vec<_> = std::env::vars().collect();"
    ));
    assert!(!reads_environment(
        "let env: &[(String, String)] = &start.env;"
    ));
    assert!(names_settings(
        "use crate::settings::{InputLimits, OutputLimits};"
    ));
    assert!(!names_settings("let settings = &self.settings;"));
    assert!(names_anyhow("fn run() -> anyhow::Result<()> {"));
    assert!(names_anyhow("use anyhow::Context;"));
    assert!(!names_anyhow("let not_anyhow_at_all = 1;"));
    let found = code_lines(
        "// std::env::var(\"X\")\nlet x = 1;\nstd::env::var(\"Y\");\n",
        reads_environment,
    );
    assert_eq!(found, vec![(3, "std::env::var(\"Y\");".to_owned())]);
}
