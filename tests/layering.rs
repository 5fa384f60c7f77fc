//! The layering rules of ARCHITECTURE.md, held by tests: nothing in `src/pipeline/` reaches a
//! layer above it (settings, the ONNX engine, the job handler, the commands, downloads, output
//! formats, delivery) or a crate of the outside world (ONNX Runtime, HTTP, the async runtime,
//! RunPod); only `src/engine/` names `ort`; only the edge (`src/settings/`, `src/main.rs`,
//! `src/commands/`) reads the environment; only the binary's edge (`src/main.rs`,
//! `src/commands/`) uses `anyhow`; and no source file outside tests is over 800 lines.
//!
//! The check reads the source text, so it also catches names used without a `use` line
//! (`crate::settings::InputLimits` in a signature) and names inside grouped imports
//! (`use crate::{engine, pipeline};`). Comment lines are ignored.

use std::fs;
use std::path::{Path, PathBuf};

/// Modules of this crate the pipeline must not name.
const FORBIDDEN_MODULES: &[&str] = &[
    "settings", "engine", "handler", "commands", "download", "output", "delivery",
];
/// Crates the pipeline must not name.
const FORBIDDEN_CRATES: &[&str] = &["ort", "reqwest", "axum", "tokio", "runpod"];

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

/// The path segment before position `at` (`crate` in `crate::settings`), if `at` follows `::`.
fn parent_segment(line: &str, at: usize) -> Option<&str> {
    let head = line[..at].trim_end().strip_suffix("::")?.trim_end();
    let start = head
        .char_indices()
        .rev()
        .find(|&(_, c)| !is_ident(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    Some(&head[start..])
}

/// The violations in one file's text: `(line number, what was named, the line)`.
fn violations(text: &str) -> Vec<(usize, String, String)> {
    let mut found = Vec::new();
    // Depth of braces inside a `crate::{ … }` group, across lines.
    let mut group_depth = 0usize;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with("//") {
            continue;
        }
        let code = line.split(" //").next().unwrap_or(line);
        let mut named = Vec::new();
        for &krate in FORBIDDEN_CRATES {
            for at in word_positions(code, krate) {
                let rest = code[at + krate.len()..].trim_start();
                // `ort` only as a path (`ort::`, `use ort;`); the other names are distinctive.
                let as_path = rest.starts_with("::") || rest.starts_with(';');
                if krate != "ort" || as_path {
                    named.push(krate.to_owned());
                }
            }
        }
        let in_group_at_start = group_depth > 0;
        if let Some(open) = code.find("crate::{") {
            group_depth += 1;
            group_depth += code[open + 8..].matches('{').count();
            group_depth = group_depth.saturating_sub(code[open..].matches('}').count());
        } else if in_group_at_start {
            group_depth += code.matches('{').count();
            group_depth = group_depth.saturating_sub(code.matches('}').count());
        }
        for &module in FORBIDDEN_MODULES {
            for at in word_positions(code, module) {
                let parent = parent_segment(code, at);
                let via_crate = matches!(parent, Some("crate") | Some("gemini3"));
                // `super::super::settings` from a pipeline submodule is the crate root too.
                let via_super =
                    parent == Some("super") && code[..at].trim_end().ends_with("super::super::");
                let in_group = (in_group_at_start || code.contains("crate::{"))
                    && !code[at + module.len()..].trim_start().starts_with('(')
                    && parent.is_none();
                if via_crate || via_super || in_group {
                    named.push(format!("crate::{module}"));
                }
            }
        }
        for what in named {
            found.push((index + 1, what, raw.to_owned()));
        }
    }
    found
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

#[test]
fn pipeline_names_no_layer_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src/pipeline"), &mut files);
    assert!(
        files.len() >= 10,
        "src/pipeline should hold the pipeline's modules, found {files:?}"
    );
    let mut report = Vec::new();
    for path in &files {
        let text = fs::read_to_string(path).expect("readable source");
        let shown = path.strip_prefix(root).unwrap_or(path).display();
        for (line, what, source) in violations(&text) {
            report.push(format!("{shown}:{line}: names `{what}`: {}", source.trim()));
        }
    }
    assert!(
        report.is_empty(),
        "src/pipeline/ must not name a layer above it or an outside runtime \
         (ARCHITECTURE.md, invariants):\n{}",
        report.join("\n")
    );
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

/// Every `.rs` file under `src/` outside `allowed` (paths relative to the crate root, a
/// folder ending in `/`) with the lines that satisfy `hit`.
fn offenders(allowed: &[&str], hit: impl Fn(&str) -> bool + Copy) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
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
    assert!(names_anyhow("fn run() -> anyhow::Result<()> {"));
    assert!(names_anyhow("use anyhow::Context;"));
    assert!(!names_anyhow("let not_anyhow_at_all = 1;"));
    let found = code_lines(
        "// std::env::var(\"X\")\nlet x = 1;\nstd::env::var(\"Y\");\n",
        reads_environment,
    );
    assert_eq!(found, vec![(3, "std::env::var(\"Y\");".to_owned())]);
}

#[test]
fn the_check_finds_imports_and_paths_of_layers_above() {
    let cases = [
        "use crate::settings::{TraceMode, TraceSettings};",
        "use crate::engine::PhaseModels;",
        "impl From<&crate::settings::InputLimits> for DecodeLimits {",
        "fn f(h: &crate::handler::VectorizeHandler) {}",
        "use crate::commands;",
        "let x = crate::download::fetch(url);",
        "use ort::session::Session;",
        "let c = reqwest::Client::new();",
        "use axum::Router;",
        "tokio::task::spawn_blocking(f);",
        "use runpod::Handler;",
        "use super::super::engine::Provider;",
        "    let s = ort::value::Tensor::from_array(a); // trailing comment",
        "use crate::output::Format;",
        "crate::delivery::deliver(&outputs);",
    ];
    for case in cases {
        assert_eq!(violations(case).len(), 1, "should be flagged: {case}");
    }
}

#[test]
fn the_check_finds_names_inside_grouped_imports() {
    let text = "use crate::{\n    cancel::CancelToken,\n    engine::PhaseModels,\n};\n";
    let found = violations(text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, 3);
    assert_eq!(found[0].1, "crate::engine");
    let one_line = violations("use crate::{cancel, settings};");
    assert_eq!(one_line.len(), 1, "{one_line:?}");
}

#[test]
fn the_check_ignores_comments_and_lookalike_names() {
    let text = "\
//! `crate::engine` implements these traits with ONNX Runtime.
/// Not on tokio threads: see `crate::handler`.
// use crate::settings::TraceMode;
use crate::cancel::CancelToken;
use crate::pipeline::palette::Palette;
use std::slice::sort::something;
let settings = &self.settings;
let engine_time = support::run(x);
fn short_sort::f() {}
let transport = 1;
";
    let found = violations(text);
    assert!(found.is_empty(), "{found:?}");
}
