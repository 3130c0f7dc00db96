//! The arrows that must never exist (README "Layout"): core knows no HTTP and no dialect; no
//! dialect knows another; the console, the CLI and the dialects reach storage only through core;
//! and the rooms of core import each other in no circle. Read from the source, so a new file is
//! checked without being listed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The file's code without comments and without its `#[cfg(test)] mod tests` (tests may reach
/// further).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
    code.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The words that follow `prefix` (`crate::core::` → `codes`, `apps`, ...).
fn after(text: &str, prefix: &str) -> BTreeSet<String> {
    text.match_indices(prefix)
        .map(|(at, _)| {
            text[at + prefix.len()..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn core_knows_no_http_and_no_dialect() {
    for path in sources(&root().join("src/core")) {
        let text = code(&path);
        for banned in ["actix", "crate::http", "leancloud::", "bmob::", "jpush::", "mincloud::"] {
            assert!(!text.contains(banned), "{} mentions {banned}", path.display());
        }
    }
}

#[test]
fn only_core_and_delivery_reach_storage() {
    let mut paths = sources(&root().join("src/http"));
    paths.push(root().join("src/main.rs"));
    for extra in ["src/import_cmd.rs", "src/import"] {
        let p = root().join(extra);
        if p.is_dir() {
            paths.extend(sources(&p));
        } else if p.exists() {
            paths.push(p);
        }
    }
    for path in paths {
        let text = code(&path);
        for banned in ["crate::store", "phonebase::store"] {
            assert!(!text.contains(banned), "{} reaches storage ({banned}); go through core", path.display());
        }
    }
}

#[test]
fn no_dialect_knows_another() {
    let http = root().join("src/http");
    let dialects: Vec<String> = std::fs::read_dir(&http)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|d| d != "kit")
        .collect();
    for dialect in &dialects {
        for path in sources(&http.join(dialect)) {
            let text = code(&path);
            for other in dialects.iter().filter(|o| *o != dialect) {
                for banned in
                    [format!("crate::http::{other}"), format!("super::{other}::"), format!("super::super::{other}")]
                {
                    assert!(!text.contains(&banned), "{} imports the {other} dialect", path.display());
                }
            }
        }
    }
}

#[test]
fn the_rooms_of_core_import_each_other_in_no_circle() {
    let core = root().join("src/core");
    // room → rooms it imports; a room is a top-level file or folder of src/core.
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in sources(&core) {
        let rel = path.strip_prefix(&core).unwrap();
        let mut parts = rel.iter().map(|p| p.to_string_lossy().into_owned());
        let first = parts.next().unwrap();
        if first == "mod.rs" {
            continue;
        }
        let room = first.trim_end_matches(".rs").to_string();
        let text = code(&path);
        let mut deps = after(&text, "crate::core::");
        // `super::` means core itself in a top-level file or in a room's own mod.rs.
        if rel.components().count() == 1 || (rel.components().count() == 2 && rel.ends_with("mod.rs")) {
            deps.extend(after(&text, "super::"));
        }
        deps.retain(|d| *d != room && (core.join(format!("{d}.rs")).exists() || core.join(d).is_dir()));
        edges.entry(room).or_default().extend(deps);
    }
    fn reaches(edges: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str, seen: &mut BTreeSet<String>) -> bool {
        for next in edges.get(from).into_iter().flatten() {
            if next == to || (seen.insert(next.clone()) && reaches(edges, next, to, seen)) {
                return true;
            }
        }
        false
    }
    let mut circles = Vec::new();
    for (room, deps) in &edges {
        for dep in deps {
            if reaches(&edges, dep, room, &mut BTreeSet::new()) {
                circles.push(format!("{room} -> {dep} -> ... -> {room}"));
            }
        }
    }
    assert!(circles.is_empty(), "core rooms import each other in a circle: {circles:#?}\n{edges:#?}");
    assert!(edges.len() >= 10, "the walk found the rooms: {edges:?}");
}
