//! What every test client checks in the lines it reads, whatever carries them (TCP, TLS,
//! WebSocket): an `ERR` with its code and a text, and the `PING`/`PONG` barrier. A leaf: the
//! clients call it, it knows none of them.

use std::sync::atomic::{AtomicU64, Ordering};

/// Asserts that `line` is `ERR <code> <some text>`.
pub fn assert_err(line: &str, code: &str) {
    let prefix = format!("ERR {code} ");
    assert!(
        line.starts_with(&prefix) && line.len() > prefix.len(),
        "expected ERR {code} with a text, got {line:?}"
    );
}

/// A `PING` with a token no other barrier of the process uses, and its `PONG`.
pub struct Barrier {
    pub ping: String,
    pong: String,
}

impl Barrier {
    pub fn new() -> Barrier {
        static TOKENS: AtomicU64 = AtomicU64::new(1);
        let token = format!("barrier-{}", TOKENS.fetch_add(1, Ordering::Relaxed));
        Barrier {
            ping: format!("PING {token}"),
            pong: format!("PONG {token}"),
        }
    }

    /// Every line `recv` gives before the `PONG`, once `ping` was sent.
    pub fn lines_before(&self, mut recv: impl FnMut() -> String) -> Vec<String> {
        let mut before = Vec::new();
        loop {
            let line = recv();
            if line == self.pong {
                return before;
            }
            before.push(line);
        }
    }
}
