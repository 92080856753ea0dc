//! The web page: its files, embedded in the binary, served with the headers that keep what
//! one user types from ever running in another's page.
//!
//! In scope: the table of the page's files (`assets/`), their types, caching and security
//! headers. Out of scope: what the page does (`assets/app.js` and its neighbours, plain
//! JavaScript with no build step), and every other route.
//!
//! The Content-Security-Policy allows scripts and styles from this server's own files only:
//! no inline script, no `eval`, no style attribute from markup; images also from `blob:` (a
//! preview of a sent image) and `data:`. So even text that slipped into the page as markup
//! could not run; the page never inserts text as markup in the first place.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// The page's policy (see the module's doc).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; manifest-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One file of the page.
struct Asset {
    /// Its path on the web listener.
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// An asset at `/<file>` from `assets/<file>`.
macro_rules! asset {
    ($file:literal, $content_type:expr) => {
        Asset {
            path: concat!("/", $file),
            content_type: $content_type,
            body: include_bytes!(concat!("assets/", $file)),
        }
    };
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// Every file of the page: `/` is `index.html`, every other is at its own name. A module
/// script must come with a JavaScript type (`nosniff` makes the browser check it), so each
/// file is listed with its type; a test holds this list to the folder.
const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("assets/index.html"),
    },
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("app.js", JAVASCRIPT),
    asset!("chat.js", JAVASCRIPT),
    asset!("commands.js", JAVASCRIPT),
    asset!("conn.js", JAVASCRIPT),
    asset!("files.js", JAVASCRIPT),
    asset!("history.js", JAVASCRIPT),
    asset!("replies.js", JAVASCRIPT),
    asset!("tabs.js", JAVASCRIPT),
    asset!("view.js", JAVASCRIPT),
    asset!("wire.js", JAVASCRIPT),
];

/// `GET` of one of the page's files, or 404.
pub async fn serve(uri: Uri) -> Response {
    let path = match uri.path() {
        "/index.html" => "/",
        path => path,
    };
    let Some(asset) = ASSETS.iter().find(|asset| asset.path == path) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    // The files change with the binary: a browser asks again, and gets 200 or reuses it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The headers every response of the web listener carries (a layer adds them).
pub fn secure(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_assets_folder_is_served_and_nothing_else() {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/src/server/web/assets");
        let mut on_disk: Vec<String> = std::fs::read_dir(folder)
            .expect("the assets folder")
            .map(|entry| entry.expect("an entry").file_name().into_string().unwrap())
            .map(|name| match name.as_str() {
                "index.html" => "/".to_owned(),
                _ => format!("/{name}"),
            })
            .collect();
        on_disk.sort();
        let mut served: Vec<&str> = ASSETS.iter().map(|asset| asset.path).collect();
        served.sort_unstable();
        assert_eq!(on_disk, served);
        for asset in ASSETS {
            let javascript = asset.path.ends_with(".js");
            assert_eq!(
                asset.content_type == JAVASCRIPT,
                javascript,
                "{}",
                asset.path
            );
        }
    }
}
