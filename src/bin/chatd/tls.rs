//! `chatd tls self-signed --out DIR [--name HOST ...] [--force]` (issue 18): writes a
//! self-signed certificate (`DIR/cert.pem`) and its private key (`DIR/key.pem`, readable by
//! its owner only) that serve both as the server's `--tls-cert`/`--tls-key` and as the
//! clients' `--ca`, then says how to use them.
//!
//! The certificate is an end-entity one (not a CA: webpki refuses a CA certificate as a
//! server's), for `localhost`, `127.0.0.1`, `::1` and every `--name`, with the key usages
//! and the `serverAuth` purpose a server certificate needs, valid from today for
//! [`VALID_DAYS`]. rustls's verifier accepts such a certificate as its own trust anchor, so
//! no separate CA file is needed (`tests/it/tls_self_signed.rs` holds it to that).
//!
//! Out of scope: reading or serving certificates (the server's `tls` module).

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use chatd::config::SelfSignedArgs;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};

/// How long the certificate is valid, from the day it is made.
pub const VALID_DAYS: i64 = 90;

/// The names every certificate is valid for, so that a server on this machine is reached
/// by any of them.
const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

pub fn self_signed(args: &SelfSignedArgs) -> anyhow::Result<()> {
    let dir = &args.out;
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    if !args.force {
        for path in [&cert_path, &key_path] {
            if path.exists() {
                bail!(
                    "{} is there already: give --force to replace it",
                    path.display()
                );
            }
        }
    }
    let mut names: Vec<String> = LOCAL_NAMES.iter().map(|&name| name.to_owned()).collect();
    for name in &args.names {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let (cert, key) = generate(&names, days_since_epoch(SystemTime::now()))?;
    fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    // The key first, with its mode set as it is made: it is never readable by others.
    write_file(&key_path, &key, 0o600, args.force)?;
    write_file(&cert_path, &cert, 0o644, args.force)?;
    let mut out = std::io::stdout().lock();
    let (cert_shown, key_shown) = (cert_path.display(), key_path.display());
    writeln!(
        out,
        "wrote {cert_shown} and {key_shown} (valid {VALID_DAYS} days, for {})\n\
         run the server with:\n  chatd --tls-cert {cert_shown} --tls-key {key_shown}\n\
         connect with:\n  chat --tls --ca {cert_shown} --addr localhost:6697\n  \
         openssl s_client -CAfile {cert_shown} -connect localhost:6697",
        names.join(", ")
    )?;
    Ok(())
}

/// A self-signed server certificate for `names` (DNS names or IP addresses), valid from the
/// day numbered `today` (days since 1970-01-01) for [`VALID_DAYS`]: its PEM, and its key's.
pub fn generate(names: &[String], today: i64) -> anyhow::Result<(String, String)> {
    let mut params = CertificateParams::new(names.to_vec())
        .map_err(|e| anyhow::anyhow!("{e}: a --name must be a host name or an IP address"))?;
    let mut subject = DistinguishedName::new();
    subject.push(
        DnType::CommonName,
        format!("chatd self-signed {}", names[0]),
    );
    params.distinguished_name = subject;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let (year, month, day) = civil(today);
    params.not_before = date_time_ymd(year, month, day);
    let (year, month, day) = civil(today + VALID_DAYS);
    params.not_after = date_time_ymd(year, month, day);
    let key = KeyPair::generate().context("cannot make a key")?;
    let cert = params
        .self_signed(&key)
        .context("cannot sign the certificate")?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Writes `text` to a new file at `path` with `mode`, or over the old one with `replace`.
fn write_file(path: &Path, text: &str, mode: u32, replace: bool) -> anyhow::Result<()> {
    if replace {
        match fs::remove_file(path) {
            Err(error) if error.kind() != ErrorKind::NotFound => {
                return Err(error).with_context(|| format!("cannot replace {}", path.display()));
            }
            _ => {}
        }
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn days_since_epoch(now: SystemTime) -> i64 {
    let seconds = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    i64::try_from(seconds / 86_400).unwrap_or(0)
}

/// The year, month and day of the day numbered `day` since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), which rcgen takes without a date library of our own.
fn civil(day: i64) -> (i32, u8, u8) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        i32::try_from(y).expect("a year of this era"),
        u8::try_from(m).expect("a month is 1 to 12"),
        u8::try_from(d).expect("a day is 1 to 31"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_since_the_epoch_become_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(59), (1970, 3, 1));
        assert_eq!(civil(11_016), (2000, 2, 29));
        assert_eq!(civil(20_000), (2024, 10, 4));
        assert_eq!(civil(20_000 + VALID_DAYS), (2025, 1, 2));
    }
}
