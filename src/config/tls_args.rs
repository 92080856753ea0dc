//! The command line of `chatd tls` (clap): making TLS certificates for `--tls-cert` and
//! `--tls-key`. Its own file because nothing of the server's settings is in it. Out of scope:
//! making the certificate (the `chatd` binary's `tls` module).

use std::path::PathBuf;

/// `chatd tls ...`.
#[derive(Debug, clap::Subcommand)]
pub enum TlsCommand {
    /// Write a self-signed certificate and its key (cert.pem, key.pem) for a test or a
    /// private server; the clients then trust it with `chat --tls --ca DIR/cert.pem`
    SelfSigned(SelfSignedArgs),
}

/// `chatd tls self-signed`: where to write, and the names the certificate is for.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The certificate is valid for 90 days, for localhost, 127.0.0.1, ::1 and every \
                  --name. The key file is readable by its owner only."
)]
pub struct SelfSignedArgs {
    /// The folder to write cert.pem and key.pem in (made if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Another name the certificate is valid for: a host name or an IP address (repeat it
    /// for more)
    #[arg(long = "name", value_name = "HOST")]
    pub names: Vec<String>,
    /// Replace cert.pem and key.pem if they are there
    #[arg(long)]
    pub force: bool,
}
