//! Venue search, GeoJSON, and create/replace/delete (decided by the policy, audited).

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDateTime, Utc};
use fitforall_core::catalog::{LocalMoment, MAX_PAGE_SIZE, Near, SearchStrategy, VenueQuery};
use fitforall_core::geo::{GeoError, LatLng, RadiusM};
use fitforall_core::policy::Action;
use fitforall_core::region::RegionTree;
use fitforall_core::venue::{ServiceNormCheck, Sport, Venue, VenueId, VenueInput, VenueStatus, VenueType, check_service_norm};

use crate::api::ApiJson;
use crate::api::regions::{RegionSummary, parse_region};
use crate::caller::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::params::Params;
use crate::state::AppState;

/// Default radius when `lat`/`lng` are given without `radius_m`.
pub const DEFAULT_RADIUS_M: f64 = 5_000.0;

/// China Standard Time: UTC+8 all year (no daylight saving), so a fixed offset is exact.
pub fn local_now() -> NaiveDateTime {
    (Utc::now() + chrono::Duration::hours(8)).naive_utc()
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct VenueView {
    pub id: String,
    pub name: String,
    pub region: RegionSummary,
    pub address: String,
    pub lat: f64,
    pub lng: f64,
    /// Venue type slug (stadium, gymnasium, swimming_pool, ball_courts, fitness_path, peoples_gym, school_venue, greenway, fitness_plaza, other).
    #[serde(rename = "type")]
    pub venue_type: String,
    pub type_name_zh: String,
    pub type_name_en: String,
    pub sports: Vec<String>,
    /// Counts toward per-capita sports area.
    pub sports_area_m2: f64,
    /// indoor, outdoor or mixed.
    pub setting: String,
    /// public, school or social.
    pub owner_kind: String,
    /// Weekly hours, local time (UTC+8), e.g. "Mo-Fr 06:00-22:00; Sa-Su 08:00-21:00".
    pub opening_hours: String,
    pub free_hours: String,
    pub low_fee_hours: String,
    pub accessibility: Vec<String>,
    /// open, renovating or closed.
    pub status: String,
    pub opened_year: Option<u16>,
    pub phone: String,
    /// Open at the query's moment (now unless `open_at`/`free_at` set another).
    pub open_now: bool,
    pub free_now: bool,
    /// Distance from the search centre, with `lat`/`lng`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    /// Free or low-fee opening per the service norm for public venues, as far as the weekly schedule tells.
    #[schema(value_type = Object)]
    pub service_norm: ServiceNormCheck,
}

impl VenueView {
    pub fn new(tree: &RegionTree, venue: &Venue, moment: LocalMoment, distance_m: Option<f64>) -> VenueView {
        let region = tree.get(venue.region).map(|region| RegionSummary::new(tree, region)).unwrap_or_else(|| RegionSummary {
            code: venue.region.full(),
            short_code: venue.region.short(),
            name: String::new(),
            level: venue.region.level().as_str().to_string(),
            full_name: String::new(),
        });
        VenueView {
            id: venue.id.to_string(),
            name: venue.name.clone(),
            region,
            address: venue.address.clone(),
            lat: venue.location.lat(),
            lng: venue.location.lng(),
            venue_type: venue.venue_type.slug().to_string(),
            type_name_zh: venue.venue_type.name_zh().to_string(),
            type_name_en: venue.venue_type.name_en().to_string(),
            sports: venue.sports.iter().map(|sport| sport.slug().to_string()).collect(),
            sports_area_m2: venue.sports_area_m2,
            setting: venue.setting.slug().to_string(),
            owner_kind: venue.owner_kind.slug().to_string(),
            opening_hours: venue.opening_hours.to_string(),
            free_hours: venue.free_hours.to_string(),
            low_fee_hours: venue.low_fee_hours.to_string(),
            accessibility: venue.accessibility.iter().map(|feature| feature.slug().to_string()).collect(),
            status: venue.status.slug().to_string(),
            opened_year: venue.opened_year,
            phone: venue.phone.clone(),
            open_now: venue.opening_hours.contains(moment.weekday, moment.minute_of_day),
            free_now: venue.free_hours.contains(moment.weekday, moment.minute_of_day),
            distance_m: distance_m.map(|d| (d * 10.0).round() / 10.0),
            service_norm: check_service_norm(venue),
        }
    }
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct VenueList {
    /// Matches before paging.
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
    pub items: Vec<VenueView>,
}

/// Parameters of the venue search, shared by the API and the web pages.
pub const SEARCH_PARAMS: [&str; 15] =
    ["q", "region", "type", "sport", "status", "lat", "lng", "radius_m", "open_at", "open_now", "free_at", "free_now", "limit", "offset", "strategy"];

/// A parsed venue search: the core query, the moment `open_now`/`free_now` refer to, and the strategy.
pub struct VenueSearch {
    pub query: VenueQuery,
    pub moment: LocalMoment,
    pub strategy: SearchStrategy,
}

fn parse_local_time(text: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| format!("expected a local time (UTC+8) like 2026-12-01T09:00, got {text:?}"))
}

impl VenueSearch {
    pub fn from_params(params: &Params, tree: &RegionTree, now: NaiveDateTime, allow_scan: bool) -> Result<VenueSearch, ApiError> {
        let mut query = VenueQuery { text: params.text("q").map(str::to_string), ..VenueQuery::default() };
        if let Some(text) = params.text("region") {
            query.region = Some(parse_region(tree, "region", text)?);
        }
        query.venue_type =
            params.parsed("type", |text| VenueType::parse(text).ok_or_else(|| format!("unknown venue type {text:?} (one of: {})", VenueType::slugs())))?;
        query.sport = params.parsed("sport", |text| Sport::parse(text).ok_or_else(|| format!("unknown sport {text:?} (one of: {})", Sport::slugs())))?;
        query.status =
            params.parsed("status", |text| VenueStatus::parse(text).ok_or_else(|| format!("unknown status {text:?} (one of: {})", VenueStatus::slugs())))?;
        let lat = params.number("lat")?;
        let lng = params.number("lng")?;
        let radius_m = params.number("radius_m")?;
        query.near = match (lat, lng) {
            (None, None) if radius_m.is_some() => return Err(ApiError::invalid_parameter("radius_m", "needs lat and lng")),
            (None, None) => None,
            (Some(_), None) => return Err(ApiError::invalid_parameter("lng", "is required with lat")),
            (None, Some(_)) => return Err(ApiError::invalid_parameter("lat", "is required with lng")),
            (Some(lat), Some(lng)) => {
                let center = LatLng::new(lat, lng).map_err(|error| match error {
                    GeoError::LatitudeOutOfRange(_) => ApiError::invalid_parameter("lat", error.to_string()),
                    _ => ApiError::invalid_parameter("lng", error.to_string()),
                })?;
                let radius = RadiusM::new(radius_m.unwrap_or(DEFAULT_RADIUS_M)).map_err(|error| ApiError::invalid_parameter("radius_m", error.to_string()))?;
                Some(Near { center, radius })
            }
        };
        let open_at = params.parsed("open_at", parse_local_time)?;
        let free_at = params.parsed("free_at", parse_local_time)?;
        let now_moment = LocalMoment::from_naive(now);
        if params.boolean("open_now")?.unwrap_or(false) {
            query.open_at = Some(now_moment);
        }
        if let Some(at) = open_at {
            query.open_at = Some(LocalMoment::from_naive(at));
        }
        if params.boolean("free_now")?.unwrap_or(false) {
            query.free_at = Some(now_moment);
        }
        if let Some(at) = free_at {
            query.free_at = Some(LocalMoment::from_naive(at));
        }
        let moment = free_at.or(open_at).map(LocalMoment::from_naive).unwrap_or(now_moment);
        query.limit = params.integer_in("limit", 1, MAX_PAGE_SIZE as u64)?.unwrap_or(50) as usize;
        query.offset = params.integer_in("offset", 0, 10_000_000)?.unwrap_or(0) as usize;
        let strategy = params
            .parsed("strategy", |text| match text {
                "index" => Ok(SearchStrategy::Index),
                "scan" if allow_scan => Ok(SearchStrategy::Scan),
                "scan" => Err("scan is for benchmarks and is disabled on this server".to_string()),
                _ => Err(format!("expected index or scan, got {text:?}")),
            })?
            .unwrap_or(SearchStrategy::Index);
        Ok(VenueSearch { query, moment, strategy })
    }
}

/// Runs a search on the current snapshot.
pub fn run_search(state: &AppState, params: &Params) -> Result<VenueList, ApiError> {
    params.allow_only(&SEARCH_PARAMS)?;
    let snapshot = state.snapshot();
    let search = VenueSearch::from_params(params, &snapshot.regions, local_now(), state.config().allow_scan_strategy)?;
    let result = snapshot.catalog.search(&search.query, search.strategy);
    let items = result.hits.iter().map(|hit| VenueView::new(&snapshot.regions, snapshot.catalog.at(hit.position), search.moment, hit.distance_m)).collect();
    Ok(VenueList { total: result.total, limit: search.query.limit, offset: search.query.offset, items })
}

/// Search venues.
///
/// Filters combine (AND). With `lat` and `lng` the results are the venues within `radius_m`
/// (default 5,000 m, at most 500,000 m), nearest first, found through a spatial index; otherwise they
/// are sorted by name. Closed venues are left out unless `status=closed`. Times are local (UTC+8).
#[utoipa::path(get, path = "/api/v1/venues", tag = "venues",
    params(
        ("q" = Option<String>, Query, description = "Text in the name or address"),
        ("region" = Option<String>, Query, description = "Region code (any form); venues in it and below it"),
        ("type" = Option<String>, Query, description = "Venue type slug"),
        ("sport" = Option<String>, Query, description = "Sport slug, e.g. badminton"),
        ("status" = Option<String>, Query, description = "open, renovating or closed"),
        ("lat" = Option<f64>, Query, description = "Latitude of the search centre, -90..90"),
        ("lng" = Option<f64>, Query, description = "Longitude of the search centre, -180..180"),
        ("radius_m" = Option<f64>, Query, description = "Search radius in metres, > 0, ≤ 500000; default 5000"),
        ("open_at" = Option<String>, Query, description = "Open at this local time, e.g. 2026-12-01T09:00"),
        ("open_now" = Option<bool>, Query, description = "Open now"),
        ("free_at" = Option<String>, Query, description = "Free of charge at this local time"),
        ("free_now" = Option<bool>, Query, description = "Free of charge now"),
        ("limit" = Option<u32>, Query, description = "Page size, 1–500, default 50"),
        ("offset" = Option<u32>, Query, description = "Results to skip"),
        ("strategy" = Option<String>, Query, description = "index (default), or scan: the same answer by a full scan, accepted only when the server enables it for benchmarks"),
    ),
    responses((status = 200, body = VenueList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, params: Params) -> Result<Json<VenueList>, ApiError> {
    Ok(Json(run_search(&state, &params)?))
}

/// The same search as GeoJSON: a FeatureCollection of Points with the venue fields as properties.
#[utoipa::path(get, path = "/api/v1/venues.geojson", tag = "venues",
    params(("q" = Option<String>, Query, description = "All parameters of GET /api/v1/venues")),
    responses((status = 200, description = "application/geo+json FeatureCollection"), (status = 400, body = ErrorBody)))]
pub async fn list_geojson(State(state): State<AppState>, params: Params) -> Result<Response, ApiError> {
    let list = run_search(&state, &params)?;
    let features: Vec<serde_json::Value> = list
        .items
        .into_iter()
        .map(|view| {
            let coordinates = [view.lng, view.lat];
            let id = view.id.clone();
            serde_json::json!({"type": "Feature", "id": id, "geometry": {"type": "Point", "coordinates": coordinates}, "properties": view})
        })
        .collect();
    let body = serde_json::json!({"type": "FeatureCollection", "total": list.total, "features": features});
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], body.to_string()).into_response())
}

fn parse_id(text: &str) -> Result<VenueId, ApiError> {
    VenueId::parse(text).map_err(|reason| ApiError::invalid_parameter("id", reason))
}

/// One venue.
#[utoipa::path(get, path = "/api/v1/venues/{id}", tag = "venues",
    params(("id" = String, Path, description = "Venue id")),
    responses((status = 200, body = VenueView), (status = 404, body = ErrorBody)))]
pub async fn show(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<VenueView>, ApiError> {
    let id = parse_id(&id)?;
    let snapshot = state.snapshot();
    let venue = snapshot.catalog.get(&id).ok_or_else(|| ApiError::not_found(format!("venue {id} does not exist")))?;
    Ok(Json(VenueView::new(&snapshot.regions, venue, LocalMoment::from_naive(local_now()), None)))
}

static GENERATED_IDS: AtomicU64 = AtomicU64::new(0);

fn generated_id() -> VenueId {
    let micros = Utc::now().timestamp_micros();
    let sequence = GENERATED_IDS.fetch_add(1, Ordering::Relaxed);
    VenueId::parse(&format!("v-{micros:x}-{sequence}")).expect("valid characters")
}

fn parse_input(state: &AppState, input: &VenueInput, id: VenueId) -> Result<Venue, ApiError> {
    let snapshot = state.snapshot();
    input.parse(id, |code| snapshot.regions.contains(code)).map_err(ApiError::invalid_body)
}

/// Create a venue. Requires a session (with X-CSRF-Token) or an API token of an account allowed to (platform administrator; region administrator of the region; the venue's operator may update it).
#[utoipa::path(post, path = "/api/v1/venues", tag = "venues", security(("bearer_token" = [])),
    request_body = serde_json::Value,
    responses((status = 201, body = VenueView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn create(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<VenueInput>) -> Result<Response, ApiError> {
    caller.require_login()?;
    let id = match input.id.as_deref() {
        Some(text) => parse_id(text)?,
        None => generated_id(),
    };
    let venue = parse_input(&state, &input, id)?;
    caller.require(&Action::CreateVenue { region: venue.region })?;
    state.save_venue(venue.clone(), true, Utc::now()).await?;
    tracing::info!(venue = %venue.id, by = %caller.label(), "venue created");
    let snapshot = state.snapshot();
    let view = VenueView::new(&snapshot.regions, &venue, LocalMoment::from_naive(local_now()), None);
    audit_venue_write(&state, &caller, "create_venue", &venue, None, Some(&view)).await?;
    let location = format!("/api/v1/venues/{}", venue.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(view)).into_response())
}

/// Replace a venue (every field). Requires a session (with X-CSRF-Token) or an API token of an account allowed to (platform administrator; region administrator of the region; the venue's operator may update it).
#[utoipa::path(put, path = "/api/v1/venues/{id}", tag = "venues", security(("bearer_token" = [])),
    params(("id" = String, Path, description = "Venue id")),
    request_body = serde_json::Value,
    responses((status = 200, body = VenueView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<VenueInput>,
) -> Result<Json<VenueView>, ApiError> {
    let id = parse_id(&id)?;
    if input.id.as_deref().is_some_and(|body_id| body_id.trim() != id.as_str()) {
        return Err(ApiError::invalid_body(vec![fitforall_core::venue::FieldError::new("id", "differs from the id in the path")]));
    }
    let snapshot = state.snapshot();
    let current = existing_venue(&caller, &snapshot, &id)?;
    let before = VenueView::new(&snapshot.regions, &current, LocalMoment::from_naive(local_now()), None);
    let venue = parse_input(&state, &input, id)?;
    let new_region = (venue.region != current.region).then_some(venue.region);
    caller.require(&Action::UpdateVenue { venue: venue.id.clone(), region: current.region, new_region })?;
    state.save_venue(venue.clone(), false, Utc::now()).await?;
    tracing::info!(venue = %venue.id, by = %caller.label(), "venue replaced");
    let snapshot = state.snapshot();
    let view = VenueView::new(&snapshot.regions, &venue, LocalMoment::from_naive(local_now()), None);
    audit_venue_write(&state, &caller, "update_venue", &venue, Some(&before), Some(&view)).await?;
    Ok(Json(view))
}

/// Delete a venue. Requires a session (with X-CSRF-Token) or an API token of an account allowed to (platform administrator; region administrator of the region; the venue's operator may update it).
#[utoipa::path(delete, path = "/api/v1/venues/{id}", tag = "venues", security(("bearer_token" = [])),
    params(("id" = String, Path, description = "Venue id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let snapshot = state.snapshot();
    let current = existing_venue(&caller, &snapshot, &id)?;
    caller.require(&Action::DeleteVenue { venue: id.clone(), region: current.region })?;
    let before = VenueView::new(&snapshot.regions, &current, LocalMoment::from_naive(local_now()), None);
    state.delete_venue(&id).await?;
    tracing::info!(venue = %id, by = %caller.label(), "venue deleted");
    audit_venue_write(&state, &caller, "delete_venue", &current, Some(&before), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The venue a write refers to: 401 first for a caller who is not logged in (so that anonymous
/// callers learn nothing about which ids exist), then 404.
fn existing_venue(caller: &Caller, snapshot: &crate::state::Snapshot, id: &VenueId) -> Result<Venue, ApiError> {
    caller.require_login()?;
    snapshot.catalog.get(id).cloned().ok_or_else(|| ApiError::not_found(format!("venue {id} does not exist")))
}

/// Every venue write by an operator or administrator goes to the audit log with before and after.
async fn audit_venue_write(
    state: &AppState,
    caller: &Caller,
    action: &str,
    venue: &Venue,
    before: Option<&VenueView>,
    after: Option<&VenueView>,
) -> Result<(), ApiError> {
    let to_json = |view: Option<&VenueView>| view.map(|view| serde_json::to_string(view).expect("plain data"));
    let entry = fitforall_store::AuditEntry {
        id: crate::auth::new_id(),
        at: Utc::now(),
        actor: caller.account(),
        actor_label: caller.label(),
        action: action.to_string(),
        target: format!("venue {}", venue.id),
        region: Some(venue.region),
        before_json: to_json(before),
        after_json: to_json(after),
    };
    state.store().append_audit(&entry).await?;
    Ok(())
}
