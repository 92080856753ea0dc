//! A password in memory ([`Password`]) and its slow salted hash: Argon2id in the PHC string
//! format (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), the form the account book stores.
//!
//! In scope: hashing with a fresh random salt, checking a password against a stored hash in
//! constant time, and the dummy hash a login for an unknown account is checked against.
//! Out of scope: where hashes are kept (`book`), who may try how often (`throttle`), and on
//! which thread hashing runs (`pool`: never a worker, never under a lock).
//!
//! The parameters are OWASP's first recommendation for Argon2id: 19 MiB of memory, 2 passes,
//! 1 lane ([`MEMORY_KIB`], [`PASSES`], [`LANES`]). The memory is what makes a guess costly on
//! a graphics card; one lane, because the verification threads already use the cores side
//! by side. A hash stores its parameters, so raising them later leaves the old hashes
//! valid: each is checked with the parameters it was made with.

use std::fmt;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Memory per hash, in KiB: 19 MiB (OWASP's first choice for Argon2id).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Passes over the memory: OWASP's 2 with 19 MiB.
pub const PASSES: u32 = 2;
/// Lanes: 1, since the verification threads already run hashes side by side.
pub const LANES: u32 = 1;

/// A hash of a password nobody knows, with the parameters above: a login for an account
/// that does not exist is checked against it, so it takes as long as one that does and its
/// timing does not tell which nicks are registered.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$/PgjWT/dmAMvXql7DlhN9w$2mjpn0WXAKdSebsFi6oK+pGNN1u5rBasXXxU2xXOQuw";

/// A password as a client sent it. Its `Debug` prints `***`, so no log line or panic message
/// can show it, and its bytes are overwritten with zeros when it is dropped.
pub struct Password(String);

impl Password {
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl From<String> for Password {
    fn from(text: String) -> Password {
        Password(text)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        // Best effort: copies made on the way here (the line buffer, the parsed command) are
        // out of reach, but the one that lived longest, queued for a verification thread,
        // does not linger in freed memory.
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        // Keeps the compiler from dropping the zeroing as a write nobody reads.
        std::hint::black_box(&bytes);
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .expect("the constant parameters are within Argon2's limits");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string of `password` with a fresh random salt from the system's generator.
pub fn hash(password: &Password) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    let hashed = argon2().hash_password(password.as_bytes(), &salt)?;
    Ok(hashed.to_string())
}

/// Whether `password` is the one `phc` was made from. The hash is computed with the
/// parameters stored in `phc` and compared in constant time by the `password-hash` crate. A
/// stored string that does not parse matches nothing.
pub fn verify(password: &Password, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Takes as long as [`verify`] against a real account's hash, and always fails.
pub fn verify_nobody(password: &Password) -> bool {
    verify(password, DUMMY_HASH);
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(text: &str) -> Password {
        Password::from(text.to_owned())
    }

    #[test]
    fn a_hash_checks_its_password_only_and_each_has_its_own_salt() {
        let first = hash(&password("correct horse")).unwrap();
        let second = hash(&password("correct horse")).unwrap();
        assert!(
            first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{first}"
        );
        assert_ne!(first, second, "a fresh salt each time");
        assert!(verify(&password("correct horse"), &first));
        assert!(verify(&password("correct horse"), &second));
        assert!(!verify(&password("correct horsE"), &first));
        assert!(!verify(&password(""), &first));
        assert!(!verify(&password("correct horse"), "not a hash"));
    }

    #[test]
    fn the_dummy_hash_has_the_parameters_of_real_ones() {
        // Otherwise a login for an unknown nick would take another time than a real one.
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let real = hash(&password("whatever1")).unwrap();
        let real = PasswordHash::new(&real).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert_eq!(
            dummy.salt.map(|salt| salt.len()),
            real.salt.map(|salt| salt.len())
        );
        assert!(!verify_nobody(&password("whatever1")));
    }

    #[test]
    fn a_password_never_shows_in_debug() {
        let secret = password("hunter22");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(***)");
    }
}
