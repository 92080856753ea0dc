//! The import graph between the source files of one crate, and its cycles.
//!
//! A file depends on another when it names an item of the other's module: in a `use`, or in
//! a path in code (`crate::server::ConnId`, `super::outbox::Line`, `writer::spawn` after
//! `mod writer;`). A `mod` declaration alone is not a dependency: it only says where a file
//! sits. A path resolves to the file of its longest module prefix, so naming a re-export
//! counts as depending on the module that re-exports it. Paths inside macro calls are not
//! seen (their tokens are not parsed).
//!
//! Out of scope: dependencies between crates (Cargo forbids cycles there).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// A module path inside a crate, `[]` for the crate root.
type ModPath = Vec<String>;

/// Every file module of the library crate rooted at `src/lib.rs`, with the files it depends on.
pub struct ImportGraph {
    files: BTreeMap<ModPath, PathBuf>,
    edges: BTreeMap<ModPath, BTreeSet<ModPath>>,
}

impl ImportGraph {
    /// Reads the library under `src` (binaries in `src/bin` and `src/main.rs` are crates of
    /// their own and are left out).
    pub fn of_library(src: &Path) -> ImportGraph {
        let mut files = BTreeMap::new();
        collect(src, src, &mut files);
        let mut edges = BTreeMap::new();
        for (module, file) in &files {
            let text = fs::read_to_string(file).unwrap();
            let syntax =
                syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let mut finder = Finder {
                files: &files,
                scope: module.clone(),
                children: Vec::new(),
                found: BTreeSet::new(),
            };
            finder.items(&syntax.items);
            finder.found.remove(module);
            edges.insert(module.clone(), finder.found);
        }
        ImportGraph { files, edges }
    }

    /// Every set of files that depend on each other in a circle: for each file of the set,
    /// its name and the names of the files of the set it depends on.
    pub fn cycles(&self) -> Vec<Vec<(PathBuf, Vec<PathBuf>)>> {
        let mut cycles = Vec::new();
        for component in strongly_connected(&self.edges) {
            if component.len() > 1 {
                let within = |m: &ModPath| {
                    self.edges[m]
                        .iter()
                        .filter(|to| component.contains(to))
                        .map(|to| self.files[to].clone())
                        .collect()
                };
                cycles.push(
                    component
                        .iter()
                        .map(|m| (self.files[m].clone(), within(m)))
                        .collect(),
                );
            }
        }
        cycles
    }
}

/// Maps each `.rs` file under `dir` to its module path.
fn collect(src: &Path, dir: &Path, files: &mut BTreeMap<ModPath, PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let relative = path.strip_prefix(src).unwrap();
        if relative == Path::new("bin") || relative == Path::new("main.rs") {
            continue;
        }
        if path.is_dir() {
            collect(src, &path, files);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let mut module: ModPath = relative
            .with_extension("")
            .iter()
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
            module.pop();
        }
        files.insert(module, path);
    }
}

/// Walks one file's syntax, resolving the paths it names to file modules.
struct Finder<'a> {
    files: &'a BTreeMap<ModPath, PathBuf>,
    /// The module the walk is in: the file's, plus any inline `mod name { }` around it.
    scope: ModPath,
    /// Modules declared in `scope` (`mod name;` or inline), which a path may start with.
    children: Vec<String>,
    found: BTreeSet<ModPath>,
}

impl Finder<'_> {
    fn items(&mut self, items: &[syn::Item]) {
        let outer = std::mem::replace(
            &mut self.children,
            items
                .iter()
                .filter_map(|item| match item {
                    syn::Item::Mod(m) => Some(m.ident.to_string()),
                    _ => None,
                })
                .collect(),
        );
        for item in items {
            match item {
                syn::Item::Use(item) => self.use_tree(&mut Vec::new(), &item.tree),
                syn::Item::Mod(m) => {
                    if let Some((_, inner)) = &m.content {
                        self.scope.push(m.ident.to_string());
                        self.items(inner);
                        self.scope.pop();
                    }
                }
                other => self.visit_item(other),
            }
        }
        self.children = outer;
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.named(prefix, &n.ident.to_string()),
            syn::UseTree::Rename(r) => self.named(prefix, &r.ident.to_string()),
            syn::UseTree::Glob(_) => self.resolve(prefix),
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }

    fn named(&mut self, prefix: &[String], last: &str) {
        let mut path = prefix.to_vec();
        // `use super::outbox::{self, Line}`: `self` names the module itself.
        if last != "self" {
            path.push(last.to_owned());
        }
        self.resolve(&path);
    }

    /// Adds the file module that `path`, as written in `scope`, lands in.
    fn resolve(&mut self, path: &[String]) {
        let Some(first) = path.first() else { return };
        let mut absolute = match first.as_str() {
            "crate" => Vec::new(),
            "self" => self.scope.clone(),
            "super" => self.scope.clone(),
            name if self.children.iter().any(|c| c == name) => self.scope.clone(),
            // Another crate, a prelude name, or a local item: not a file of this crate.
            _ => return,
        };
        let mut rest = path;
        while let Some(segment) = rest.first() {
            match segment.as_str() {
                "crate" | "self" => {}
                "super" => {
                    absolute.pop();
                }
                _ => break,
            }
            rest = &rest[1..];
        }
        absolute.extend(rest.iter().cloned());
        while !absolute.is_empty() && !self.files.contains_key(&absolute) {
            absolute.pop();
        }
        if self.files.contains_key(&absolute) {
            self.found.insert(absolute);
        }
    }
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 {
            self.resolve(&segments);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        // A module inside a function or block: walk it with its own scope.
        if let Some((_, inner)) = &m.content {
            self.scope.push(m.ident.to_string());
            self.items(inner);
            self.scope.pop();
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }
}

/// Tarjan's strongly connected components, each sorted.
fn strongly_connected(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<ModPath, BTreeSet<ModPath>>,
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on_stack: BTreeSet<&'a ModPath>,
        components: Vec<Vec<ModPath>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, node: &'a ModPath) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in &self.edges[node] {
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    component.push(top.clone());
                    if top == node {
                        break;
                    }
                }
                component.sort();
                self.components.push(component);
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for node in edges.keys() {
        if !walk.index.contains_key(node) {
            walk.visit(node);
        }
    }
    walk.components
}
