//! Repository checks that keep the code and its documentation honest: every source file says
//! what it owns, the protocol crate stays free of dependencies, and the docs name every
//! command, code and flag.

mod imports;

use std::fs;
use std::path::{Path, PathBuf};

use chatd_proto::{COMMAND_WORDS, Capability, ErrorCode};
use clap::CommandFactory;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Where the workspace's Rust sources are.
const SOURCE_DIRS: [&str; 5] = ["src", "tests", "benches", "crates", "fuzz/fuzz_targets"];

fn read(relative: &str) -> String {
    fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

#[test]
fn every_source_file_starts_with_a_module_doc() {
    let mut files = Vec::new();
    for dir in SOURCE_DIRS {
        rust_files(&root().join(dir), &mut files);
    }
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} lacks a //! header",
            file.display()
        );
    }
}

/// Every library in the workspace, by the folder that holds its `src`.
const LIBRARIES: [&str; 6] = [
    ".",
    "crates/proto",
    "crates/proto-props",
    "crates/client",
    "crates/bench",
    "crates/testkit",
];

#[test]
fn no_import_cycle_between_files() {
    let mut cycles = Vec::new();
    for library in LIBRARIES {
        let name = |file: &PathBuf| file.strip_prefix(root()).unwrap().display().to_string();
        for cycle in imports::ImportGraph::of_library(&root().join(library).join("src")).cycles() {
            let edges: Vec<String> = cycle
                .iter()
                .map(|(file, to)| {
                    let to: Vec<String> = to.iter().map(name).collect();
                    format!("  {} uses {}", name(file), to.join(", "))
                })
                .collect();
            cycles.push(format!("a cycle:\n{}", edges.join("\n")));
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

/// A file past this many lines does more than one job; split it by job.
const MAX_FILE_LINES: usize = 700;

#[test]
fn no_source_file_is_over_the_line_limit() {
    let mut files = Vec::new();
    for dir in SOURCE_DIRS {
        rust_files(&root().join(dir), &mut files);
    }
    let long: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let lines = fs::read_to_string(file).unwrap().lines().count();
            (lines > MAX_FILE_LINES).then(|| format!("{} ({lines})", file.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "over {MAX_FILE_LINES} lines: {}",
        long.join(", ")
    );
}

#[test]
fn the_protocol_crate_has_no_dependencies() {
    // No dependency means no I/O, logging or locking crate can reach the protocol: the build
    // keeps it pure, as long as its manifest stays empty of them.
    let manifest = read("crates/proto/Cargo.toml");
    for table in manifest.lines().filter(|line| line.starts_with('[')) {
        assert!(
            !table.contains("dependencies"),
            "crates/proto/Cargo.toml has a {table} table"
        );
    }
}

#[test]
fn protocol_md_documents_every_command_and_error_code() {
    let doc = read("protocol.md");
    // Every command word of the table, and the words of server lines (a vocabulary of their
    // own, listed here).
    let commands = COMMAND_WORDS.iter().map(|row| row.name);
    let server_words = [
        "BYE",
        "END HELP",
        "END WHO",
        "END ROOMS",
        "HELLO",
        "OK NICK",
        "OK CAP",
        "OK AWAY",
        "OWNER",
        "ROOM",
    ];
    for word in commands.chain(server_words) {
        assert!(
            doc.contains(&format!("`{word} ")) || doc.contains(&format!("`{word}`")),
            "protocol.md does not show `{word}`"
        );
    }
    for cap in Capability::ALL {
        assert!(
            doc.contains(&format!("`CAP {cap}`")),
            "protocol.md does not show `CAP {cap}`"
        );
    }
    for code in ErrorCode::KNOWN {
        assert!(
            doc.contains(code.as_str()),
            "protocol.md does not list {code}"
        );
    }
}

#[test]
fn readme_documents_every_flag_and_the_two_commands() {
    let readme = read("README.md");
    for arg in chatd::config::Args::command().get_arguments() {
        if let Some(long) = arg.get_long() {
            assert!(
                readme.contains(&format!("--{long}")),
                "README does not document --{long}"
            );
        }
    }
    assert!(readme.contains("cargo run --release -- --workers 4"));
    assert!(readme.contains("cargo test"));
    assert!(
        read(".ci/run").contains("cargo test"),
        ".ci/run must run the README's tests"
    );
}
