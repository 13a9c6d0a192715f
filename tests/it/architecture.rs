//! The layout rules of the README's Architecture section, checked on the source: the library's
//! top-level modules depend on each other without cycles, the binary stays thin, and no file
//! grows past what a reader can hold.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lines of code (before a file's unit tests) above which a file must be split.
const MAX_CODE_LINES: usize = 900;
/// The binary's entry point only parses arguments and dispatches.
const MAX_MAIN_LINES: usize = 200;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A file's code: the part before its unit tests, without comments.
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read source");
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifier at the start of `text`.
fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The top-level modules that `code` names through `crate::` paths.
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for part in group.split(',') {
                named.insert(ident(part.trim()).to_owned());
            }
        } else {
            named.insert(ident(rest).to_owned());
        }
    }
    named
}

/// Files that only tests compile (`#[cfg(test)] mod testing;` / `mod tests;`): what they use is
/// a dev-dependency, not part of the layering.
fn is_test_support(file: &Path) -> bool {
    file.file_stem()
        .is_some_and(|stem| stem == "testing" || stem == "tests")
}

/// Top-level module name -> the modules its code names.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = src();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&root) {
        let relative = file.strip_prefix(&root).expect("under src");
        let first = relative.components().next().expect("a component");
        let name = first.as_os_str().to_string_lossy();
        let module = name.trim_end_matches(".rs").to_owned();
        if ["lib", "main", "bin"].contains(&module.as_str()) || is_test_support(&file) {
            continue;
        }
        graph
            .entry(module)
            .or_default()
            .extend(named_modules(&code_of(&file)));
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for (module, deps) in &mut graph {
        deps.retain(|dep| dep != module && modules.contains(dep));
    }
    graph
}

/// A cycle in `graph`, as the path of modules that closes it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == module) {
            let mut cycle = path[start..].to_vec();
            cycle.push(module.to_owned());
            return Some(cycle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for dep in &graph[module] {
            if let Some(cycle) = visit(dep, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(module, graph, &mut Vec::new(), &mut done))
}

#[test]
fn library_modules_depend_on_each_other_without_cycles() {
    let graph = module_graph();
    assert!(graph.contains_key("store"), "{graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("module cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let graph: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a")]
        .into_iter()
        .map(|(m, d)| (m.to_owned(), BTreeSet::from([d.to_owned()])))
        .collect();
    assert_eq!(
        find_cycle(&graph).expect("a cycle"),
        ["a", "b", "c", "a"].map(String::from)
    );
    assert_eq!(
        named_modules("use crate::{store::Store, id};\nlet x = crate::views::open();"),
        BTreeSet::from(["id", "store", "views"].map(String::from))
    );
}

#[test]
fn no_source_file_outgrows_a_reader() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates");
    let crate_sources = ["mule-qr", "mule-receiver"].map(|name| crates.join(name).join("src"));
    let too_long: Vec<String> = [src()]
        .iter()
        .chain(&crate_sources)
        .flat_map(|dir| rust_files(dir))
        .filter_map(|file| {
            let lines = code_of(&file).lines().count();
            (lines > MAX_CODE_LINES).then(|| format!("{} ({lines} lines)", file.display()))
        })
        .collect();
    assert!(too_long.is_empty(), "split these: {too_long:?}");
}

#[test]
fn the_binary_only_wires_things_together() {
    let main = src().join("bin/mule/main.rs");
    let lines = std::fs::read_to_string(&main)
        .expect("src/bin/mule/main.rs")
        .lines()
        .count();
    assert!(
        lines <= MAX_MAIN_LINES,
        "{} has {lines} lines",
        main.display()
    );
}
