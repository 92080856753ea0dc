//! Repository checks that keep the code and its documentation honest: every source file says
//! what it owns, the protocol crate stays free of dependencies, and the docs name every
//! command, code and flag.

mod imports;

use std::fs;
use std::path::{Path, PathBuf};

use chatd_proto::{COMMAND_WORDS, Capability, ErrorCode, StatName};
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
        "END STATS",
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
    for name in StatName::KNOWN {
        assert!(
            doc.contains(&format!("| `{name}` |")),
            "protocol.md does not explain STATS {name}"
        );
    }
}

#[test]
fn readme_documents_every_flag_and_the_test_command() {
    let readme = read("README.md");
    for arg in chatd::config::Args::command().get_arguments() {
        if let Some(long) = arg.get_long() {
            assert!(
                readme.contains(&format!("--{long}")),
                "README does not document --{long}"
            );
        }
    }
    assert!(readme.contains("cargo test"));
    assert!(
        read(".ci/run").contains("cargo test"),
        ".ci/run must run the README's tests"
    );
}

/// The text of the README's section `heading` (a `## ` line), up to the next `## ` heading.
fn readme_section(readme: &str, heading: &str) -> String {
    let start = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README has no {heading:?}"));
    let body = &readme[start + heading.len() + 2..];
    let end = body.find("\n## ").unwrap_or(body.len());
    body[..end].to_owned()
}

#[test]
fn issue_12_the_quick_start_runs_the_server_with_the_default_pool() {
    let quick_start = readme_section(&read("README.md"), "## Quick start");
    assert!(
        quick_start
            .lines()
            .any(|line| line == "    cargo run --release"),
        "the quick start must show `cargo run --release` on a line of its own:\n{quick_start}"
    );
    // The Performance section advises the default, one worker per core.
    assert!(!quick_start.contains("--workers"), "{quick_start}");
}

/// `rust-version` of the workspace's manifest.
fn rust_version() -> String {
    let manifest = read("Cargo.toml");
    let line = manifest
        .lines()
        .find(|line| line.starts_with("rust-version = "))
        .expect("Cargo.toml sets rust-version");
    line["rust-version = ".len()..].trim_matches('"').to_owned()
}

#[test]
fn issue_12_the_readme_gives_the_minimum_rust_version_of_the_manifest() {
    let readme = read("README.md");
    let version = rust_version();
    let said = format!("Rust {version} or newer");
    for section in ["## Quick start", "## Running it for real"] {
        assert!(
            readme_section(&readme, section).contains(&said),
            "README's {section:?} must say {said:?}"
        );
    }
}

#[test]
fn issue_12_the_readme_shows_the_systemd_unit_as_it_is_and_ci_verifies_it() {
    let unit = read("deploy/chatd.service");
    let shown: String = unit
        .lines()
        .map(|line| {
            if line.is_empty() {
                "\n".to_owned()
            } else {
                format!("    {line}\n")
            }
        })
        .collect();
    let running = readme_section(&read("README.md"), "## Running it for real");
    assert!(
        running.contains(&shown),
        "README's \"Running it for real\" must show deploy/chatd.service as it is"
    );
    for directive in [
        "ExecStart=/usr/local/bin/chatd --config /etc/chatd/chatd.toml",
        "KillSignal=SIGTERM",
        "DynamicUser=yes",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(unit.contains(directive), "the unit lacks {directive:?}");
    }
    assert!(read(".ci/run").contains("systemd-analyze verify"));
}

/// The number the unit gives `key` (`TimeoutStopSec=15`).
fn unit_number(unit: &str, key: &str) -> f64 {
    let prefix = format!("{key}=");
    unit.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("the unit has no {key}"))
        .parse()
        .unwrap_or_else(|e| panic!("{key}: {e}"))
}

#[test]
fn issue_12_the_systemd_unit_fits_the_default_settings() {
    use chatd::config::{DEFAULT_DRAIN_TIMEOUT_SECS, DEFAULT_MAX_CLIENTS};
    let unit = read("deploy/chatd.service");
    // systemd must not kill the drain of a graceful stop.
    assert!(unit_number(&unit, "TimeoutStopSec") >= 2.0 * DEFAULT_DRAIN_TIMEOUT_SECS);
    // A descriptor and a writer thread per client, plus the server's own (about 20 of each
    // and a worker per core).
    let needed = (DEFAULT_MAX_CLIENTS + 200) as f64;
    assert!(unit_number(&unit, "LimitNOFILE") >= needed);
    assert!(unit_number(&unit, "TasksMax") >= needed);
}
