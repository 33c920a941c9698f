//! The front end, embedded at build time (`build.rs`): each file as is and gzip-compressed, with
//! a content-hash ETag. Served gzip to browsers that accept it; revalidated by ETag, so a
//! dashboard on a phone over a marina's Wi-Fi downloads the code once per Halyard version.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// One embedded file.
pub struct Asset {
    /// Path under `/assets/` (`index.html` is also `/`).
    pub path: &'static str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The file.
    pub bytes: &'static [u8],
    /// The file, gzip-compressed.
    pub gzip: &'static [u8],
    /// Strong validator (a hash of the content).
    pub etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// An embedded file by path.
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// `/`.
pub async fn index(headers: HeaderMap) -> Response {
    send(find("index.html"), &headers)
}

/// `/assets/…`.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    send(find(&path), &headers)
}

fn send(asset: Option<&'static Asset>, headers: &HeaderMap) -> Response {
    let Some(a) = asset else { return (StatusCode::NOT_FOUND, "not found\n").into_response() };
    let etag = HeaderValue::from_static(a.etag);
    // Revalidate every time (cheap: a 304), so a new Halyard never runs with an old page.
    let cache = HeaderValue::from_static("no-cache");
    if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == a.etag.as_bytes()) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), (header::CACHE_CONTROL, cache)]).into_response();
    }
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().split(';').next() == Some("gzip")));
    let mut response = if gzip { a.gzip.into_response() } else { a.bytes.into_response() };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.content_type));
    h.insert(header::ETAG, etag);
    h.insert(header::CACHE_CONTROL, cache);
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn every_asset_is_embedded_with_its_gzip_twin() {
        for path in ["index.html", "app.js", "app.css", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css"] {
            let a = find(path).unwrap_or_else(|| panic!("{path} is not embedded"));
            let mut unzipped = Vec::new();
            flate2::read::GzDecoder::new(a.gzip).read_to_end(&mut unzipped).unwrap();
            assert_eq!(unzipped, a.bytes, "{path}");
            assert!(a.gzip.len() < a.bytes.len(), "{path}: gzip does not help");
        }
        // Every module the page imports is embedded.
        let app = std::str::from_utf8(find("app.js").unwrap().bytes).unwrap();
        for line in app.lines().filter(|l| l.starts_with("import")) {
            let target = line.split('"').nth(1).unwrap().trim_start_matches("./");
            assert!(find(target).is_some(), "app.js imports {target}, which is not embedded");
        }
    }
}
