//! The files over HTTP (issue 17): `PUT /upload/<token>` takes an upload's bytes,
//! `GET`/`HEAD /files/<token>[/<name>]` serves a kept file, and the sweep deletes what
//! expired.
//!
//! In scope: reading a body as it comes and holding it to its announced size, writing it
//! to its partial file, the answers of every way an upload fails (nothing is delivered and
//! nothing stays on disk), serving a file as a stream with the headers that make it a
//! download a browser never runs or shows inline, and the background sweep. Out of scope:
//! the quota, the tokens and the folder (`files`), and who gets the `FILE` line
//! (`registry::file_lines`).
//!
//! The disk is touched with `tokio::fs` (its blocking threads) or `spawn_blocking`, and the
//! registry only briefly: no worker of the core and no lock of the registry waits for it.
//!
//! An upload's answers: 201 with the download URL; 404 for an unknown, used or expired
//! upload URL; 410 when its sender left the chat, or the room or the person it was for is
//! gone; 413 for more bytes than announced (`Content-Length` says so, or they come), with
//! the connection closed; 400 for fewer; 507 when the disk could not take them.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::server::files::{FileLine, Files, Token, Undelivered, remove_file};
use crate::server::registry::Registry;

/// What the file routes reach.
pub struct FileRoutes {
    pub files: Files,
    pub registry: Arc<Registry>,
    /// Wakes the sweep when a file is kept: it may expire before the one the sweep waits for.
    kept: tokio::sync::Notify,
}

impl FileRoutes {
    pub fn new(files: Files, registry: Arc<Registry>) -> FileRoutes {
        FileRoutes {
            files,
            registry,
            kept: tokio::sync::Notify::new(),
        }
    }
}

/// What a download's policy allows: nothing, in a sandbox, should a browser ever render it.
const DOWNLOAD_POLICY: &str = "default-src 'none'; sandbox";

/// RFC 8187's `attr-char`, less a few it allows: what `filename*` keeps unencoded.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Bytes read from a file per chunk of a download.
const CHUNK: usize = 64 * 1024;

/// `PUT /upload/<token>`: the bytes of an upload. See the module's doc for the answers.
pub async fn upload(
    State(routes): State<Arc<FileRoutes>>,
    UrlPath(token): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(upload) = Token::parse(&token).and_then(|token| routes.files.start(token)) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "no upload at this URL: it was used or expired, or it never was",
        );
    };
    if !routes.registry.is_registered(upload.sender()) {
        return gone(&Undelivered::SenderGone);
    }
    let size = upload.size();
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<u64>().ok());
    match announced {
        // Before a byte is read: a client that waits for `100 Continue` sends none.
        Some(length) if length > size => return too_much(size),
        Some(length) if length < size => return too_little(length, size),
        _ => {}
    }
    let partial = PartialFile(upload.partial_path());
    if let Err(refusal) = receive(&partial.0, size, body).await {
        return refusal.answer();
    }
    let (sender, to, name) = (
        upload.sender(),
        upload.target().clone(),
        upload.name().to_owned(),
    );
    let files = routes.files.clone();
    let stored = match tokio::task::spawn_blocking(move || files.keep(upload)).await {
        Ok(Ok(stored)) => {
            routes.kept.notify_one();
            stored
        }
        Ok(Err(error)) => return Refusal::Disk(error).answer(),
        Err(_) => return Refusal::Disk(io::Error::other("the upload's task failed")).answer(),
    };
    let registry = Arc::clone(&routes.registry);
    let url = stored.url.clone();
    let delivered = tokio::task::spawn_blocking(move || {
        let file = FileLine {
            size,
            url: &url,
            name: &name,
        };
        registry.deliver_file(sender, &to, &file)
    })
    .await
    .unwrap_or(Err(Undelivered::SenderGone));
    if let Err(undelivered) = delivered {
        let files = routes.files.clone();
        let _ = tokio::task::spawn_blocking(move || files.discard(stored.token)).await;
        return gone(&undelivered);
    }
    routes.files.delivered(size);
    let mut response = (StatusCode::CREATED, format!("{}\n", stored.url)).into_response();
    if let Ok(location) = HeaderValue::from_str(&stored.url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// An upload's partial file, deleted when the upload ends however it ends (kept, refused,
/// or its request dropped): once kept, it has been renamed and there is nothing to delete.
struct PartialFile(PathBuf);

impl Drop for PartialFile {
    fn drop(&mut self) {
        // One unlink, on the web runtime: no worker of the core waits for it.
        remove_file(&self.0);
    }
}

/// Why an upload's bytes were not all taken.
enum Refusal {
    /// More than the `size` announced.
    TooMuch { size: u64 },
    /// The body ended after `got` bytes, or broke off there.
    TooLittle { got: u64, size: u64 },
    /// The disk refused them (full, or another error).
    Disk(io::Error),
}

impl Refusal {
    fn answer(self) -> Response {
        match self {
            Refusal::TooMuch { size } => too_much(size),
            Refusal::TooLittle { got, size } => too_little(got, size),
            Refusal::Disk(error) => {
                log::warn!("files: cannot store an upload: {error}");
                refuse(
                    StatusCode::INSUFFICIENT_STORAGE,
                    &format!("the server could not store the file ({error}); nothing was sent"),
                )
            }
        }
    }
}

/// Writes the body to `path`, exactly `size` bytes of it. When the disk fails, the rest of
/// the announced bytes are still read (and dropped), so the client gets to read the answer
/// rather than a connection reset in the middle of its sending.
async fn receive(path: &Path, size: u64, body: Body) -> Result<(), Refusal> {
    let mut file = tokio::fs::File::create(path).await.map_err(Refusal::Disk)?;
    let mut failed = None;
    let mut frames = body.into_data_stream();
    let mut got: u64 = 0;
    while let Some(chunk) = frames.next().await {
        let Ok(chunk) = chunk else {
            // The client went away, or sent a malformed body.
            return Err(Refusal::TooLittle { got, size });
        };
        got += chunk.len() as u64;
        if got > size {
            return Err(Refusal::TooMuch { size });
        }
        if failed.is_none() {
            failed = file.write_all(&chunk).await.err();
        }
    }
    if got < size {
        return Err(Refusal::TooLittle { got, size });
    }
    if let Some(error) = failed {
        return Err(Refusal::Disk(error));
    }
    file.flush().await.map_err(Refusal::Disk)?;
    file.sync_all().await.map_err(Refusal::Disk)
}

fn too_much(size: u64) -> Response {
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("more than the {size} bytes UPLOAD announced; nothing was sent"),
    )
}

fn too_little(got: u64, size: u64) -> Response {
    refuse(
        StatusCode::BAD_REQUEST,
        &format!("{got} of the {size} bytes UPLOAD announced; nothing was sent"),
    )
}

fn gone(undelivered: &Undelivered) -> Response {
    refuse(
        StatusCode::GONE,
        &format!("{undelivered}; nothing was sent"),
    )
}

/// An upload refused: the connection is closed after the answer, since a body it did not
/// read may follow.
fn refuse(status: StatusCode, text: &str) -> Response {
    let mut response = (status, format!("{text}\n")).into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// `GET /files/<token>`: the file.
pub async fn download(
    State(routes): State<Arc<FileRoutes>>,
    UrlPath(token): UrlPath<String>,
) -> Response {
    serve(&routes.files, &token).await
}

/// `GET /files/<token>/<name>`: the file; the name is for whoever saves it, the token alone
/// finds it.
pub async fn download_named(
    State(routes): State<Arc<FileRoutes>>,
    UrlPath((token, _name)): UrlPath<(String, String)>,
) -> Response {
    serve(&routes.files, &token).await
}

async fn serve(files: &Files, token: &str) -> Response {
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            "no file at this URL: it expired, or it never was\n",
        )
            .into_response()
    };
    let Some(download) = Token::parse(token).and_then(|token| files.download(token)) else {
        return not_found();
    };
    // Expired and deleted meanwhile, or deleted by hand.
    let Ok(file) = tokio::fs::File::open(&download.path).await else {
        return not_found();
    };
    let chunks = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut chunk = vec![0; CHUNK];
        match file.read(&mut chunk).await {
            Ok(0) => None,
            Ok(read) => {
                chunk.truncate(read);
                Some((Ok(Bytes::from(chunk)), Some(file)))
            }
            Err(error) => Some((Err(error), None)),
        }
    });
    let mut response = Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(download.size));
    if let Ok(disposition) = HeaderValue::from_str(&disposition(&download.name)) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOWNLOAD_POLICY),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    response
}

/// `attachment; filename="<ASCII stand-in>"; filename*=UTF-8''<name, percent-encoded>`:
/// always saved, never shown inline, under its own name where the client reads RFC 8187,
/// and a readable ASCII one where it does not.
fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if !matches!(c, '"' | '\\' | '%' | ';') => c,
            _ => '_',
        })
        .collect();
    let encoded = utf8_percent_encode(name, ATTR_CHAR);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The longest the sweep sleeps: a file a new upload made expires before the one the sweep
/// waits for only if the lifetime changed over a restart, and is deleted this late at worst.
/// Its bytes are free at its expiry whenever the sweep comes.
const SWEEP_AT_MOST: Duration = Duration::from_secs(60);
/// The least the sweep sleeps, so that files expiring one after the other cost a sweep per
/// tenth of a second at most.
const SWEEP_AT_LEAST: Duration = Duration::from_millis(100);

/// Deletes each file from the disk when it expires (at most [`SWEEP_AT_MOST`] later), and
/// forgets the uploads of senders gone. Runs until the runtime stops.
pub async fn sweep(routes: Arc<FileRoutes>) {
    loop {
        let mut due = tokio::time::Instant::now() + sweep_in(&routes.files);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(due) => break,
                // A new file may expire first; never later than the sweep already due.
                () = routes.kept.notified() => {
                    due = due.min(tokio::time::Instant::now() + sweep_in(&routes.files));
                }
            }
        }
        let routes = Arc::clone(&routes);
        let _ = tokio::task::spawn_blocking(move || {
            let gone: Vec<u64> = routes
                .files
                .waiting_senders()
                .into_iter()
                .filter(|&sender| !routes.registry.is_registered(sender))
                .collect();
            let expired = routes.files.sweep(SystemTime::now(), &gone);
            routes.files.delete(&expired);
        })
        .await;
    }
}

/// How long until the next sweep is due: at the next expiry, within the bounds.
fn sweep_in(files: &Files) -> Duration {
    let now = SystemTime::now();
    let due = files.next_expiry().map_or(SWEEP_AT_MOST, |at| {
        at.duration_since(now).unwrap_or(Duration::ZERO)
    });
    due.clamp(SWEEP_AT_LEAST, SWEEP_AT_MOST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_is_an_attachment_under_its_name_and_an_ascii_stand_in() {
        for (name, expected) in [
            (
                "a.txt",
                "attachment; filename=\"a.txt\"; filename*=UTF-8''a.txt",
            ),
            (
                "été \"x\".png",
                "attachment; filename=\"_t_ _x_.png\"; filename*=UTF-8''%C3%A9t%C3%A9%20%22x%22.png",
            ),
            (
                "a\\b;c%d\te",
                "attachment; filename=\"a_b_c_d_e\"; filename*=UTF-8''a%5Cb%3Bc%25d%09e",
            ),
        ] {
            assert_eq!(disposition(name), expected, "{name:?}");
            assert!(HeaderValue::from_str(&disposition(name)).is_ok());
        }
    }
}
