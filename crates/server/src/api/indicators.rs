//! `GET /api/v1/indicators/per-capita-sports-area`.

use axum::Json;
use axum::extract::State;
use fitforall_core::indicator::{MAX_YEAR, MIN_YEAR, PER_CAPITA_SPORTS_AREA, PerCapitaArea, per_capita_sports_area};
use fitforall_core::region::RegionCode;

use crate::api::regions::{PopulationView, RegionSummary, parse_region};
use crate::error::{ApiError, ErrorBody};
use crate::params::Params;
use crate::state::{AppState, Snapshot};

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DefinitionView {
    pub id: String,
    pub version: String,
    pub unit: String,
    pub text_zh: String,
    pub text_en: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PerCapitaAreaRow {
    pub region: RegionSummary,
    /// m² per person; null when the population is unknown or zero.
    pub value_m2_per_person: Option<f64>,
    /// Numerator: Σ sports area of counted venues.
    pub sports_area_m2: f64,
    /// Denominator: year-end resident population (see `population.source`).
    pub population: Option<PopulationView>,
    pub venue_count: usize,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PerCapitaAreaResponse {
    pub indicator: DefinitionView,
    pub year: u16,
    /// platform: computed from the venues and population held by this platform.
    pub source: String,
    pub demo_data: bool,
    #[serde(flatten)]
    pub total: PerCapitaAreaRow,
    pub children: Vec<PerCapitaAreaRow>,
}

fn row(snapshot: &Snapshot, value: &PerCapitaArea) -> PerCapitaAreaRow {
    let tree = &snapshot.regions;
    PerCapitaAreaRow {
        region: RegionSummary::new(tree, tree.get(value.region).expect("region in tree")),
        value_m2_per_person: value.value_m2_per_person.map(|v| (v * 10_000.0).round() / 10_000.0),
        sports_area_m2: (value.sports_area_m2 * 100.0).round() / 100.0,
        population: value.population.map(|figure| PopulationView::new(value.year, figure)),
        venue_count: value.venue_count,
    }
}

/// Computes the indicator for a region and its children; `year` defaults to the latest year with
/// population data for the region.
pub fn compute(snapshot: &Snapshot, region: RegionCode, year: Option<u16>, demo: bool) -> Result<PerCapitaAreaResponse, ApiError> {
    let tree = &snapshot.regions;
    let year = match year {
        Some(year) => year,
        None => snapshot
            .population
            .latest_year(tree, region)
            .ok_or_else(|| ApiError::not_found(format!("no population data for region {} or any region below it; import population first", region.short())))?,
    };
    let (total, children) = per_capita_sports_area(tree, snapshot.catalog.venues(), &snapshot.population, region, year);
    Ok(PerCapitaAreaResponse {
        indicator: DefinitionView {
            id: PER_CAPITA_SPORTS_AREA.id.into(),
            version: PER_CAPITA_SPORTS_AREA.version.into(),
            unit: PER_CAPITA_SPORTS_AREA.unit.into(),
            text_zh: PER_CAPITA_SPORTS_AREA.text_zh.into(),
            text_en: PER_CAPITA_SPORTS_AREA.text_en.into(),
        },
        year,
        source: "platform".into(),
        demo_data: demo,
        total: row(snapshot, &total),
        children: children.iter().map(|child| row(snapshot, child)).collect(),
    })
}

/// Per-capita sports area of a region and of each of its children.
///
/// value = Σ sports area (m²) of the venues in the region subtree that are not closed and opened no
/// later than the year ÷ year-end resident population. Population: the region's own figure, or the
/// sum of its children's when it has none.
#[utoipa::path(get, path = "/api/v1/indicators/per-capita-sports-area", tag = "indicators",
    params(
        ("region" = String, Query, description = "Region code in any form"),
        ("year" = Option<u16>, Query, description = "Default: the latest year with population data for the region"),
    ),
    responses((status = 200, body = PerCapitaAreaResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn per_capita_sports_area_handler(State(state): State<AppState>, params: Params) -> Result<Json<PerCapitaAreaResponse>, ApiError> {
    params.allow_only(&["region", "year"])?;
    let snapshot = state.snapshot();
    let region_text = params.text("region").ok_or_else(|| ApiError::invalid_parameter("region", "is required"))?;
    let region = parse_region(&snapshot.regions, "region", region_text)?;
    let year = params.integer_in("year", u64::from(MIN_YEAR), u64::from(MAX_YEAR))?.map(|year| year as u16);
    Ok(Json(compute(&snapshot, region, year, state.config().demo)?))
}
