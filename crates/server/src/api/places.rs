//! `GET /api/v1/places`: where is "西湖"? Landmarks, regions and venues by name, with a point each,
//! for the "near a place" search (no online geocoder is reachable).

use axum::Json;
use axum::extract::State;
use fitforall_core::geo::LatLng;

use crate::error::{ApiError, ErrorBody};
use crate::params::Params;
use crate::state::AppState;

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PlaceView {
    pub name: String,
    pub name_en: String,
    /// landmark, region or venue.
    pub kind: String,
    pub lat: f64,
    pub lng: f64,
    pub region_code: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PlaceList {
    pub items: Vec<PlaceView>,
}

/// Places matching a name, best first: landmarks, then regions (at their label point or the centre
/// of their venues), then venues.
pub fn find_places(state: &AppState, query: &str, limit: usize) -> Vec<PlaceView> {
    let query = query.trim().to_lowercase();
    if query.is_empty() {
        return Vec::new();
    }
    let snapshot = state.snapshot();
    let mut items = Vec::new();
    let mut landmarks: Vec<_> =
        state.places().iter().filter(|place| place.name_zh.to_lowercase().contains(&query) || place.name_en.to_lowercase().contains(&query)).collect();
    landmarks.sort_by_key(|place| (place.name_zh.to_lowercase() != query && place.name_en.to_lowercase() != query, place.name_zh.len()));
    for place in landmarks {
        items.push(PlaceView {
            name: place.name_zh.clone(),
            name_en: place.name_en.clone(),
            kind: "landmark".into(),
            lat: place.location.lat(),
            lng: place.location.lng(),
            region_code: place.region.full(),
        });
    }
    let label_points = state.label_points();
    for region in snapshot.regions.search(&query, None, None, 10) {
        let point = label_points.iter().find(|(code, _)| *code == region.code).map(|(_, point)| *point).or_else(|| {
            let (mut lat, mut lng, mut n) = (0.0, 0.0, 0.0);
            for venue in snapshot.catalog.venues().filter(|venue| region.code.contains(venue.region)) {
                lat += venue.location.lat();
                lng += venue.location.lng();
                n += 1.0;
            }
            (n > 0.0).then(|| LatLng::new(lat / n, lng / n).ok()).flatten()
        });
        if let Some(point) = point {
            items.push(PlaceView {
                name: snapshot.regions.full_name(region.code),
                name_en: String::new(),
                kind: "region".into(),
                lat: point.lat(),
                lng: point.lng(),
                region_code: region.code.full(),
            });
        }
    }
    for venue in snapshot.catalog.venues().filter(|venue| venue.name.to_lowercase().contains(&query)).take(limit) {
        items.push(PlaceView {
            name: venue.name.clone(),
            name_en: String::new(),
            kind: "venue".into(),
            lat: venue.location.lat(),
            lng: venue.location.lng(),
            region_code: venue.region.full(),
        });
    }
    items.truncate(limit);
    items
}

/// Find a place by name.
#[utoipa::path(get, path = "/api/v1/places", tag = "venues",
    params(("q" = String, Query, description = "Name, e.g. 西湖 or West Lake"), ("limit" = Option<u32>, Query, description = "1–50, default 10")),
    responses((status = 200, body = PlaceList), (status = 400, body = ErrorBody)))]
pub async fn search(State(state): State<AppState>, params: Params) -> Result<Json<PlaceList>, ApiError> {
    params.allow_only(&["q", "limit"])?;
    let query = params.text("q").ok_or_else(|| ApiError::invalid_parameter("q", "is required"))?;
    let limit = params.integer_in("limit", 1, 50)?.unwrap_or(10) as usize;
    Ok(Json(PlaceList { items: find_places(&state, query, limit) }))
}
