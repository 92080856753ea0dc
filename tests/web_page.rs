//! The web page's browser tests (`tests/browser`: Playwright driving Debian's Chromium against
//! this build's `chatd` binary), run by `cargo test` like every other test.
//!
//! Out of scope: the tests themselves (the `specs` in `tests/browser`) and the page
//! (`src/server/web/assets`). This only runs `tests/browser/run.sh` (`npm ci` with the pinned
//! lock file, then `npx playwright test`) and fails with its output when it fails. It needs
//! Node with npm and Chromium (`apt-get install chromium npm`); without them it fails and
//! says so, since a skipped browser test would be a green light for an untested page.

use std::path::Path;
use std::process::Command;

#[test]
fn issue_17_the_web_page_passes_its_browser_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        Path::new(&chromium).exists(),
        "no Chromium at {chromium}: install it (apt-get install chromium) or set CHROMIUM"
    );
    let output = Command::new("bash")
        .arg(root.join("tests/browser/run.sh"))
        .env("CHATD_BIN", env!("CARGO_BIN_EXE_chatd"))
        .env("CHROMIUM", &chromium)
        .output()
        .expect("bash runs tests/browser/run.sh (it needs npm: apt-get install npm)");
    assert!(
        output.status.success(),
        "the browser tests failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
