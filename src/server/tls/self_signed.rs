//! `chatd tls self-signed`'s certificate (issue 18): a self-signed server certificate and
//! its key, as PEM, that serve both as the server's `--tls-cert`/`--tls-key` and as the
//! clients' `--ca`.
//!
//! The certificate is an end-entity one (not a CA: webpki refuses a CA certificate as a
//! server's), for [`LOCAL_NAMES`] and the names asked, with the key usages and the
//! `serverAuth` purpose a server certificate needs, valid from the day it is made for
//! [`VALID_DAYS`]. rustls's verifier accepts such a certificate as its own trust anchor, so
//! no separate CA file is needed (`tests/it/tls_self_signed.rs` holds it to that). Out of
//! scope: writing the files and telling what to do next (the `chatd` binary), serving
//! (the rest of `tls`).

use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};

/// How long the certificate is valid, from the day it is made.
pub const VALID_DAYS: i64 = 90;

/// The names every certificate is valid for, so that a server on this machine is reached
/// by any of them.
pub const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A certificate made now for [`LOCAL_NAMES`] and `more` (host names or IP addresses):
/// the names it is for, its PEM, and its key's.
pub fn generate_now(more: &[String]) -> Result<(Vec<String>, String, String), rcgen::Error> {
    let mut names: Vec<String> = LOCAL_NAMES.iter().map(|&name| name.to_owned()).collect();
    for name in more {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let (cert, key) = generate(&names, days_since_epoch(SystemTime::now()))?;
    Ok((names, cert, key))
}

/// A self-signed server certificate for `names` (DNS names or IP addresses), valid from the
/// day numbered `today` (days since 1970-01-01) for [`VALID_DAYS`]: its PEM, and its key's.
pub fn generate(names: &[String], today: i64) -> Result<(String, String), rcgen::Error> {
    let mut params = CertificateParams::new(names.to_vec())?;
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
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
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
