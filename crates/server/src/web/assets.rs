//! Static files under `/static/…`, embedded in the binary: our CSS and JS, Leaflet 1.9.4 (vendored
//! with its licence) and the map outlines. URLs carry a content hash (`?v=…`), so they can be cached
//! for a year.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::reference;

pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const PNG: &str = "image/png";
const GEOJSON: &str = "application/geo+json";
const TEXT: &str = "text/plain; charset=utf-8";
const SVG: &str = "image/svg+xml";

macro_rules! asset {
    ($path:literal, $content_type:expr) => {
        Asset { path: $path, content_type: $content_type, bytes: include_bytes!(concat!("../../assets/", $path)) }
    };
}

pub static ASSETS: &[Asset] = &[
    asset!("css/site.css", CSS),
    asset!("js/site.js", JS),
    asset!("js/maps.js", JS),
    asset!("js/booking.js", JS),
    asset!("img/favicon.svg", SVG),
    asset!("vendor/leaflet/leaflet.js", JS),
    asset!("vendor/leaflet/leaflet.css", CSS),
    asset!("vendor/leaflet/LICENSE", TEXT),
    asset!("vendor/leaflet/images/layers.png", PNG),
    asset!("vendor/leaflet/images/layers-2x.png", PNG),
    asset!("vendor/leaflet/images/marker-icon.png", PNG),
    asset!("vendor/leaflet/images/marker-icon-2x.png", PNG),
    asset!("vendor/leaflet/images/marker-shadow.png", PNG),
    Asset { path: "maps/zhejiang-cities.geojson", content_type: GEOJSON, bytes: reference::ZHEJIANG_CITIES_GEOJSON.as_bytes() },
    Asset { path: "maps/china-provinces.geojson", content_type: GEOJSON, bytes: reference::CHINA_PROVINCES_GEOJSON.as_bytes() },
];

fn by_path() -> &'static HashMap<&'static str, (&'static Asset, String)> {
    static INDEX: OnceLock<HashMap<&'static str, (&'static Asset, String)>> = OnceLock::new();
    INDEX.get_or_init(|| ASSETS.iter().map(|asset| (asset.path, (asset, format!("{:08x}", fnv1a(asset.bytes) as u32)))).collect())
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

/// `/static/css/site.css?v=1a2b3c4d`. Panics on an unknown asset (a test renders every page).
pub fn url(path: &str) -> String {
    let (_, version) = by_path().get(path).unwrap_or_else(|| panic!("no static asset {path:?}"));
    format!("/static/{path}?v={version}")
}

pub async fn serve(Path(path): Path<String>) -> Response {
    match by_path().get(path.as_str()) {
        Some((asset, _)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
            ],
            asset.bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, HeaderValue::from_static(TEXT))], "no such static file").into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_carry_a_version() {
        let url = super::url("css/site.css");
        assert!(url.starts_with("/static/css/site.css?v="), "{url}");
        assert_eq!(url.len(), "/static/css/site.css?v=".len() + 8);
    }
}
