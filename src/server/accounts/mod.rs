//! Accounts (issue 16): so far the pure parts, a password's hash and the login throttle.
//!
//! In reading order:
//! - `throttle`: failures per account and per address group: 3 answered at once, then waits of
//!   1, 2, 4 and 8 s before the answer, and after 10 failures in 10 minutes every attempt
//!   refused for 10 minutes, without hashing;
//! - `password`: Argon2id (m = 19 MiB, t = 2, p = 1) in PHC strings, checked in constant time.
//!
//! Out of scope: where accounts are kept and which threads hash (to come in this module), the
//! wire (the session).

// Until the server calls it (the wiring of issue 16), nothing outside this module does.
#![allow(dead_code)]

mod password;
mod throttle;
