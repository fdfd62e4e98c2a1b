//! The house is one-way: every `crate::` path in `src/` points down the layers of
//! ARCHITECTURE.md. A module may use modules of lower layers only (never a sibling of its own
//! layer), and the modules that keep, compute or draw never reach the I/O layer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Layer of each top-level module, lowest first (ARCHITECTURE.md, "Layers").
const LAYERS: &[(&str, u8)] = &[
    // vocabulary
    ("text", 0),
    ("fmt", 0),
    ("logging", 1),
    ("terminal", 0),
    ("safe_fs", 0),
    ("expo", 1),
    ("keymap", 1),
    ("theme", 1),
    ("obs", 2),
    ("config", 3),
    // I/O
    ("client", 4),
    ("source", 5),
    // state
    ("store", 6),
    // engine
    ("derive", 7),
    ("actions", 7),
    ("checklist", 8),
    // view math, app, ui
    ("view", 9),
    ("app", 10),
    ("ui", 11),
    // front ends and their helper
    ("demo", 12),
    ("front", 13),
];

/// Modules that keep, compute or draw: they read observations from `obs`, never from the code
/// that fetches them.
const NO_IO: &[&str] = &["store", "derive", "view", "app", "ui"];
const IO: &[&str] = &["client", "source"];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ is readable") {
        let p = e.expect("a directory entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/source/fleet/poll.rs` → `source`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

/// Every top-level module a line's code names through `crate::` (grouped `crate::{a, b::c}`
/// included). Comments are skipped; a `crate::` inside a string literal would be counted, which
/// errs on the side of a failing check.
fn named_modules(line: &str) -> Vec<String> {
    let code = line.trim_start();
    if code.starts_with("//") {
        return Vec::new();
    }
    let code = code.split(" //").next().unwrap_or(code);
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

/// (file:line, from, to) for every `crate::` path that runs up, sideways, or from a module
/// that keeps, computes or draws into the I/O layer.
fn violations(src: &Path) -> (Vec<String>, BTreeMap<(String, String), usize>) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    let mut arrows = BTreeMap::new();
    for f in files {
        let Some(from) = module_of(src, &f) else {
            continue;
        };
        if from == "main" || from == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("a source file is UTF-8");
        for (n, line) in text.lines().enumerate() {
            for to in named_modules(line) {
                if to == from {
                    continue;
                }
                *arrows.entry((from.clone(), to.clone())).or_default() += 1;
                let at = format!("{}:{}", f.display(), n + 1);
                match (layer(&from), layer(&to)) {
                    (None, _) => bad.push(format!("{at}: module {from} has no layer in LAYERS")),
                    (_, None) => bad.push(format!("{at}: {from} uses {to}, which has no layer")),
                    (Some(a), Some(b)) if b >= a => bad.push(format!(
                        "{at}: {from} (layer {a}) uses {to} (layer {b}): imports must point down"
                    )),
                    _ if NO_IO.contains(&from.as_str()) && IO.contains(&to.as_str()) => bad.push(
                        format!("{at}: {from} uses {to}: take the types from obs instead"),
                    ),
                    _ => {}
                }
            }
        }
    }
    (bad, arrows)
}

#[test]
fn every_import_points_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (bad, arrows) = violations(&src);
    println!(
        "{} arrows between modules, all pointing down:",
        arrows.len()
    );
    for ((from, to), n) in &arrows {
        println!("  {from} -> {to} ({n})");
    }
    assert!(
        bad.is_empty(),
        "{} imports run the wrong way:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn the_check_sees_grouped_paths_and_skips_comments() {
    assert_eq!(
        named_modules("use crate::{app::model::Model, ui};"),
        vec!["app".to_owned(), "ui".to_owned()]
    );
    assert_eq!(
        named_modules("    let x = crate::ui::render(m); // crate::app"),
        vec!["ui"]
    );
    assert!(named_modules("/// see [`crate::derive::quantile`]").is_empty());
    assert_eq!(layer("app"), Some(10));
    assert!(layer("ui") > layer("app"));
}

/// The check fails on a tree with an upward import: a `store` file that names `source`.
#[test]
fn an_upward_import_in_a_scratch_tree_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("store")).expect("mkdir");
    std::fs::write(
        src.join("store/mod.rs"),
        "use crate::source::Collector;\nuse crate::obs::Point;\n",
    )
    .expect("write");
    std::fs::write(src.join("obs.rs"), "use crate::app::Model;\n").expect("write");
    let (bad, _) = violations(&src);
    assert_eq!(bad.len(), 2, "{bad:#?}");
    assert!(
        bad.iter().any(|b| b.contains("store uses source")),
        "{bad:#?}"
    );
    assert!(bad
        .iter()
        .any(|b| b.contains("obs (layer 2) uses app (layer 10)")));
}
