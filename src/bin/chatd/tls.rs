//! `chatd tls self-signed --out DIR [--name HOST ...] [--force]` (issue 18): writes the
//! certificate `chatd::server::self_signed` makes (`DIR/cert.pem`) and its private key
//! (`DIR/key.pem`, readable by its owner only), then says how to use them.
//!
//! Out of scope: the certificate itself (the server library).

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::{Context, bail};
use chatd::config::SelfSignedArgs;
use chatd::server::self_signed::{VALID_DAYS, generate_now};

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
    let (names, cert, key) = generate_now(&args.names)
        .map_err(|e| anyhow::anyhow!("{e}: a --name must be a host name or an IP address"))?;
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
