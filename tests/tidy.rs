//! Repository checks that keep the code and its documentation honest: every source file says
//! what it owns, the protocol crate stays free of dependencies, and the docs name every
//! command, code and flag.

use std::fs;
use std::path::{Path, PathBuf};

use chatd_proto::ProtocolError;
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

fn read(relative: &str) -> String {
    fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

#[test]
fn every_source_file_starts_with_a_module_doc() {
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "crates", "fuzz/fuzz_targets"] {
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
    for word in [
        "NICK", "MSG", "ALL", "WHO", "PING", "PONG", "QUIT", "BYE", "HELP", "END HELP", "END WHO",
        "HELLO", "JOIN", "OK NICK",
    ] {
        assert!(
            doc.contains(&format!("`{word}")),
            "protocol.md does not show `{word}`"
        );
    }
    for code in ProtocolError::ALL_CODES {
        assert!(doc.contains(code), "protocol.md does not list {code}");
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
