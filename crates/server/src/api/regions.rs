//! `GET /api/v1/regions` (name search) and `GET /api/v1/regions/{code}`.

use axum::Json;
use axum::extract::{Path, State};
use fitforall_core::indicator::PopulationSource;
use fitforall_core::region::{Region, RegionCode, RegionLevel, RegionTree};

use crate::error::ApiError;
use crate::params::Params;
use crate::state::AppState;

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RegionSummary {
    /// Full 12-digit statistical code.
    pub code: String,
    /// Significant digits (2/4/6/9): every code below starts with them.
    pub short_code: String,
    pub name: String,
    /// province, city, county or street.
    pub level: String,
    /// Names from the province down, e.g. "浙江省 杭州市 西湖区".
    pub full_name: String,
}

impl RegionSummary {
    pub fn new(tree: &RegionTree, region: &Region) -> RegionSummary {
        RegionSummary {
            code: region.code.full(),
            short_code: region.code.short(),
            name: region.name.clone(),
            level: region.level().as_str().to_string(),
            full_name: tree.full_name(region.code),
        }
    }
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PopulationView {
    pub year: u16,
    pub population: u64,
    /// `own` (imported for this region) or `sum_of_children` (no own figure: the sum of the children's).
    pub source: String,
    /// With `sum_of_children`: children without any figure (the sum undercounts when > 0).
    pub children_missing: usize,
}

impl PopulationView {
    pub fn new(year: u16, figure: fitforall_core::indicator::PopulationFigure) -> PopulationView {
        let (source, children_missing) = match figure.source {
            PopulationSource::Own => ("own", 0),
            PopulationSource::SumOfChildren { children_missing, .. } => ("sum_of_children", children_missing),
        };
        PopulationView { year, population: figure.population, source: source.to_string(), children_missing }
    }
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RegionDetail {
    #[serde(flatten)]
    pub region: RegionSummary,
    /// From the province down to the direct parent.
    pub parents: Vec<RegionSummary>,
    pub children: Vec<RegionSummary>,
    /// The latest year with a figure; see the rule in the `population` description.
    pub population: Option<PopulationView>,
    /// Venues (not closed) in this region and every region below it.
    pub venue_count: usize,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RegionSearchResult {
    pub items: Vec<RegionSummary>,
}

pub fn parse_region(tree: &RegionTree, name: &str, text: &str) -> Result<RegionCode, ApiError> {
    let code = RegionCode::parse(text).map_err(|error| ApiError::invalid_parameter(name, error.to_string()))?;
    if !tree.contains(code) {
        return Err(ApiError::not_found(format!("region {text} does not exist")));
    }
    Ok(code)
}

/// Search regions by name.
///
/// Exact name matches first, then names starting with the query, then names containing it;
/// higher levels first within each group.
#[utoipa::path(get, path = "/api/v1/regions", tag = "regions",
    params(
        ("q" = String, Query, description = "Part of a region name, e.g. 西湖"),
        ("level" = Option<String>, Query, description = "province, city, county or street"),
        ("within" = Option<String>, Query, description = "Only regions inside this region code"),
        ("limit" = Option<u32>, Query, description = "1–100, default 20"),
    ),
    responses((status = 200, body = RegionSearchResult), (status = 400, body = crate::error::ErrorBody)))]
pub async fn search(State(state): State<AppState>, params: Params) -> Result<Json<RegionSearchResult>, ApiError> {
    params.allow_only(&["q", "level", "within", "limit"])?;
    let snapshot = state.snapshot();
    let tree = &snapshot.regions;
    let query = params.text("q").ok_or_else(|| ApiError::invalid_parameter("q", "is required"))?;
    let level =
        params.parsed("level", |text| RegionLevel::from_str_exact(text).ok_or_else(|| format!("expected province, city, county or street, got {text:?}")))?;
    let within = match params.text("within") {
        Some(text) => Some(parse_region(tree, "within", text)?),
        None => None,
    };
    let limit = params.integer_in("limit", 1, 100)?.unwrap_or(20) as usize;
    let items = tree.search(query, level, within, limit).into_iter().map(|region| RegionSummary::new(tree, region)).collect();
    Ok(Json(RegionSearchResult { items }))
}

/// One region with its parent chain, children, latest population and venue count.
///
/// Population rule: a region's own imported figure for the year when it has one; otherwise the sum of
/// its children's figures (applied recursively), with `source = sum_of_children` and the number of
/// children that had no figure.
#[utoipa::path(get, path = "/api/v1/regions/{code}", tag = "regions",
    params(("code" = String, Path, description = "Region code in any form: 2/4/6/9/12 digits (33, 3301, 330100, 330106, 330106001, 330106001000)")),
    responses((status = 200, body = RegionDetail), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show(State(state): State<AppState>, Path(code): Path<String>, params: Params) -> Result<Json<RegionDetail>, ApiError> {
    params.allow_only(&[])?;
    let snapshot = state.snapshot();
    let code = parse_region(&snapshot.regions, "code", &code)?;
    Ok(Json(region_detail(&snapshot, code)))
}

pub fn region_detail(snapshot: &crate::state::Snapshot, code: RegionCode) -> RegionDetail {
    let tree = &snapshot.regions;
    let region = tree.get(code).expect("checked by the caller");
    let parents = tree.ancestors(code).into_iter().map(|parent| RegionSummary::new(tree, parent)).collect();
    let children = tree.children(code).iter().map(|child| RegionSummary::new(tree, tree.get(*child).expect("children are in the tree"))).collect();
    let population = snapshot
        .population
        .latest_year(tree, code)
        .and_then(|year| snapshot.population.effective(tree, code, year).map(|figure| PopulationView::new(year, figure)));
    let venue_count =
        snapshot.catalog.venues().filter(|venue| code.contains(venue.region) && venue.status != fitforall_core::venue::VenueStatus::Closed).count();
    RegionDetail { region: RegionSummary::new(tree, region), parents, children, population, venue_count }
}
