//! The node's flash images for the "Add a node" page: ESP Web Tools fetches `manifest.json` and
//! the parts it names from `/firmware/…`, then writes them over Web Serial and provisions the
//! node's Wi-Fi with Improv.
//!
//! The images are not in the binary (about 2 MB, and built with a different compiler):
//! `scripts/firmware.sh --install DATA_DIR` puts them in `<data_dir>/firmware`, the Debian
//! package in `/usr/share/halyard/firmware`; the first folder holding a manifest wins, so a
//! newer image in the data directory overrides the packaged one.

use std::path::{Path, PathBuf};

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json as JsonBody;
use serde_json::{json, Value as Json};

use super::Web;

/// Where the packaged images are installed.
pub const PACKAGED: &str = "/usr/share/halyard/firmware";

/// The folders searched, in order.
pub fn folders(data_dir: &Path) -> Vec<PathBuf> {
    vec![data_dir.join("firmware"), PathBuf::from(PACKAGED)]
}

/// The first folder with a manifest.
fn found(web: &Web) -> Option<&Path> {
    web.firmware.iter().map(PathBuf::as_path).find(|d| d.join("manifest.json").is_file())
}

/// A file name the page may ask for: one plain name in the folder, nothing that climbs out.
fn plain(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `/api/firmware`: what the page can offer — the manifest with each part's size, or where to
/// put the images.
pub async fn status(State(web): State<std::sync::Arc<Web>>) -> JsonBody<Json> {
    let searched: Vec<String> = web.firmware.iter().map(|d| d.display().to_string()).collect();
    let Some(folder) = found(&web) else {
        return JsonBody(json!({ "available": false, "searched": searched }));
    };
    let manifest = std::fs::read(folder.join("manifest.json"))
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice::<Json>(&b).map_err(|e| e.to_string()));
    let manifest = match manifest {
        Ok(m) => m,
        Err(e) => {
            return JsonBody(
                json!({ "available": false, "searched": searched, "error": format!("manifest.json: {e}") }),
            )
        }
    };
    // Every part the manifest names must be there, or the browser would fail half-way through a flash.
    let mut builds = Vec::new();
    let mut missing = Vec::new();
    for build in manifest["builds"].as_array().into_iter().flatten() {
        let mut bytes = 0u64;
        for part in build["parts"].as_array().into_iter().flatten() {
            let path = part["path"].as_str().unwrap_or_default();
            match std::fs::metadata(folder.join(path)) {
                Ok(m) if plain(path) && m.is_file() => bytes += m.len(),
                _ => missing.push(path.to_owned()),
            }
        }
        builds.push(json!({ "chip": build["chipFamily"], "bytes": bytes }));
    }
    JsonBody(json!({
        "available": missing.is_empty() && !builds.is_empty(),
        "folder": folder.display().to_string(),
        "searched": searched,
        "name": manifest["name"],
        "version": manifest["version"],
        "builds": builds,
        "missing": missing,
    }))
}

/// `/firmware/{file}`: the manifest and the parts.
pub async fn file(State(web): State<std::sync::Arc<Web>>, UrlPath(name): UrlPath<String>) -> Response {
    let Some(folder) = found(&web).filter(|_| plain(&name)) else {
        return (StatusCode::NOT_FOUND, "no such firmware file\n").into_response();
    };
    let path = folder.join(&name);
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let kind = if name.ends_with(".json") { "application/json" } else { "application/octet-stream" };
            let mut response = bytes.into_response();
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            // A rebuilt image replaces the file under the same name.
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (StatusCode::NOT_FOUND, "no such firmware file\n").into_response()
        }
        Err(e) => {
            tracing::warn!("web: cannot read {}: {e}", path.display());
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot read the firmware file\n").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn only_plain_names_in_the_folder_are_served() {
        for ok in ["manifest.json", "halyard-node-esp32c3.bin", "otadata.bin"] {
            assert!(plain(ok), "{ok}");
        }
        for bad in ["", "..", ".hidden", "../halyard.toml", "a/b.bin", "a\\b", "%2e%2e", "x\0y"] {
            assert!(!plain(bad), "{bad:?}");
        }
    }
}
