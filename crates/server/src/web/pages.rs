//! Home, venue search (list + map) and venue pages.

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use fitforall_core::catalog::LocalMoment;
use fitforall_core::hours::WeeklyHours;
use fitforall_core::region::RegionCode;
use fitforall_core::venue::{Sport, Venue, VenueId, VenueStatus, VenueType, check_service_norm};
use minijinja::{Value, context};
use serde::Serialize;

use crate::api::places::{PlaceView, find_places};
use crate::api::venues::{DEFAULT_RADIUS_M, VenueView, local_now, run_search};
use crate::error::ApiError;
use crate::params::Params;
use crate::state::AppState;
use crate::web::i18n::fill;
use crate::web::templates::script_json;
use crate::web::{Lang, PageContext, assets, group_digits, render_error_page};

/// Results per page unless `limit` says otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// Parameters of the web search that the API does not know.
const WEB_ONLY_PARAMS: [&str; 2] = ["lang", "near"];
/// Radius choices in the filter form, metres.
const RADIUS_CHOICES: [u32; 6] = [1_000, 2_000, 5_000, 10_000, 20_000, 50_000];
/// Sports offered as quick links on the home page.
const HOME_SPORTS: [Sport; 8] =
    [Sport::Badminton, Sport::Basketball, Sport::Swimming, Sport::TableTennis, Sport::Football, Sport::Fitness, Sport::Running, Sport::Tennis];
/// Example places on the home page and in the "nothing matched" message.
const EXAMPLE_PLACES: [&str; 3] = ["西湖", "杭州东站", "黄龙体育中心"];

pub fn map_outlines() -> Value {
    context! { cities => assets::url("maps/zhejiang-cities.geojson"), provinces => assets::url("maps/china-provinces.geojson") }
}

pub fn sport_name(lang: Lang, slug: &str) -> String {
    Sport::parse(slug).map(|sport| lang.pick(sport.name_zh(), sport.name_en()).to_string()).unwrap_or_else(|| slug.to_string())
}

pub fn distance_text(lang: Lang, metres: f64) -> String {
    if metres < 1_000.0 {
        fill(lang.text("distance_m"), &[("n", &format!("{}", (metres / 10.0).round() as u64 * 10))])
    } else {
        fill(lang.text("distance_km"), &[("n", &format!("{:.1}", metres / 1_000.0))])
    }
}

fn radius_text(lang: Lang, metres: f64) -> String {
    if metres < 1_000.0 {
        fill(lang.text("distance_m"), &[("n", &format!("{}", metres.round() as u64))])
    } else {
        let km = metres / 1_000.0;
        let text = if (km - km.round()).abs() < 1e-9 { format!("{}", km.round() as u64) } else { format!("{km:.1}") };
        fill(lang.text("distance_km"), &[("n", &text)])
    }
}

pub fn region_url(code: RegionCode) -> String {
    format!("/regions/{}", code.short())
}

pub fn venue_url(id: &str) -> String {
    format!("/venues/{id}")
}

/// A venue as a list row and a map point.
#[derive(Debug, Serialize)]
pub struct VenueItem {
    pub number: usize,
    pub id: String,
    pub url: String,
    pub name: String,
    pub type_name: String,
    pub address: String,
    pub region_name: String,
    pub distance: Option<String>,
    pub open_now: bool,
    pub free_now: bool,
    pub status_note: Option<String>,
    pub sports: Vec<String>,
    pub lat: f64,
    pub lng: f64,
}

impl VenueItem {
    pub fn new(lang: Lang, number: usize, view: &VenueView) -> VenueItem {
        let status_note = VenueStatus::parse(&view.status)
            .filter(|status| *status != VenueStatus::Open)
            .map(|status| lang.pick(status.name_zh(), status.name_en()).to_string());
        VenueItem {
            number,
            id: view.id.clone(),
            url: venue_url(&view.id),
            name: view.name.clone(),
            type_name: lang.pick(&view.type_name_zh, &view.type_name_en).to_string(),
            address: view.address.clone(),
            region_name: view.region.full_name.clone(),
            distance: view.distance_m.map(|metres| distance_text(lang, metres)),
            open_now: view.open_now,
            free_now: view.free_now,
            status_note,
            sports: view.sports.iter().map(|slug| sport_name(lang, slug)).collect(),
            lat: view.lat,
            lng: view.lng,
        }
    }
}

#[derive(Serialize)]
struct MapPoint<'a> {
    n: usize,
    name: &'a str,
    lat: f64,
    lng: f64,
    url: &'a str,
    kind: &'a str,
}

fn map_points(items: &[VenueItem]) -> Vec<MapPoint<'_>> {
    items.iter().map(|item| MapPoint { n: item.number, name: &item.name, lat: item.lat, lng: item.lng, url: &item.url, kind: &item.type_name }).collect()
}

/// Named landmarks drawn as grey labels: with no tiles, they are the map's street-level context.
fn map_landmarks(state: &AppState, lang: Lang) -> Vec<Value> {
    state
        .places()
        .iter()
        .map(|place| {
            let name = if lang == Lang::En && !place.name_en.is_empty() { &place.name_en } else { &place.name_zh };
            context! { name => name, lat => place.location.lat(), lng => place.location.lng() }
        })
        .collect()
}

fn map_text(lang: Lang) -> Value {
    context! { view_venue => lang.text("view_venue"), search_center => lang.text("search_center") }
}

// ---------------------------------------------------------------------------------------------
// Home

pub async fn home(State(state): State<AppState>, page: PageContext) -> Response {
    let lang = page.lang;
    let snapshot = state.snapshot();
    let sports: Vec<Value> = HOME_SPORTS
        .iter()
        .map(|sport| context! { name => lang.pick(sport.name_zh(), sport.name_en()), url => format!("/venues?sport={}", sport.slug()) })
        .collect();
    let examples: Vec<Value> = EXAMPLE_PLACES.iter().map(|name| context! { name => name, url => near_url(name) }).collect();
    let data = context! {
        venue_total => group_digits(snapshot.catalog.len() as u64),
        sports => sports,
        examples => examples,
    };
    page.render(StatusCode::OK, "home.html", lang.text("site_title"), data)
}

fn near_url(name: &str) -> String {
    format!("/venues?{}", serde_urlencoded::to_string([("near", name)]).unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Venue search

/// Where the search is centred, as the page explains it.
enum Center {
    None,
    Place(PlaceView),
    Point { lat: f64, lng: f64 },
    NotFound(String),
}

struct PreparedSearch {
    /// The API parameters (without `lang` and `near`, with `near` resolved to `lat`/`lng`).
    params: Params,
    center: Center,
}

fn has_value(pairs: &[(String, String)], name: &str) -> bool {
    pairs.iter().any(|(n, v)| n == name && !v.trim().is_empty())
}

/// Turns the page's query string into the API's parameters: `near` is resolved through the place
/// search (first hit), `lang` dropped, a radius without a centre ignored (the form always sends
/// one), and the page size defaults to [`DEFAULT_PAGE_SIZE`].
fn prepare_search(state: &AppState, query: &str) -> Result<PreparedSearch, ApiError> {
    // Same checks and messages as the API: length, syntax, repeated parameters.
    Params::parse(query)?;
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|error| ApiError::invalid_parameter("query", format!("malformed query string: {error}")))?;
    let near = pairs.iter().find(|(name, _)| name == "near").map(|(_, value)| value.trim().to_string()).filter(|value| !value.is_empty());
    pairs.retain(|(name, _)| !WEB_ONLY_PARAMS.contains(&name.as_str()));
    let center = match near {
        Some(near) => match find_places(state, &near, 1).into_iter().next() {
            Some(place) => {
                pairs.retain(|(name, _)| name != "lat" && name != "lng");
                pairs.push(("lat".into(), place.lat.to_string()));
                pairs.push(("lng".into(), place.lng.to_string()));
                Center::Place(place)
            }
            None => Center::NotFound(near),
        },
        None if has_value(&pairs, "lat") || has_value(&pairs, "lng") => {
            let number = |name: &str| pairs.iter().find(|(n, _)| n == name).and_then(|(_, v)| v.trim().parse::<f64>().ok()).unwrap_or(f64::NAN);
            Center::Point { lat: number("lat"), lng: number("lng") }
        }
        None => Center::None,
    };
    if matches!(center, Center::None | Center::NotFound(_)) {
        pairs.retain(|(name, _)| name != "radius_m" && name != "lat" && name != "lng");
    }
    if !has_value(&pairs, "limit") {
        pairs.retain(|(name, _)| name != "limit");
        pairs.push(("limit".into(), DEFAULT_PAGE_SIZE.to_string()));
    }
    let params = Params::parse(&serde_urlencoded::to_string(&pairs).unwrap_or_default())?;
    Ok(PreparedSearch { params, center })
}

/// The current query with `offset` replaced (and `lang` dropped: the cookie remembers it).
fn page_url(pairs: &[(String, String)], offset: usize) -> String {
    let mut out: Vec<(&str, String)> = pairs.iter().filter(|(n, _)| n != "offset" && n != "lang").map(|(n, v)| (n.as_str(), v.clone())).collect();
    if offset > 0 {
        out.push(("offset", offset.to_string()));
    }
    format!("/venues?{}", serde_urlencoded::to_string(out).unwrap_or_default())
}

pub async fn venues(State(state): State<AppState>, page: PageContext, uri: Uri) -> Response {
    match venues_page(&state, &page, uri.query().unwrap_or("")) {
        Ok(response) => response,
        Err(error) => render_error_page(error, &page),
    }
}

fn venues_page(state: &AppState, page: &PageContext, query: &str) -> Result<Response, ApiError> {
    let lang = page.lang;
    let prepared = prepare_search(state, query)?;
    let params = &prepared.params;
    let list = match prepared.center {
        Center::NotFound(_) => None,
        _ => Some(run_search(state, params)?),
    };
    let raw: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let value_of = |name: &str| raw.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    let snapshot = state.snapshot();

    let radius_m = params.number("radius_m").ok().flatten().unwrap_or(DEFAULT_RADIUS_M);
    let (center_note, center_point, not_found) = match &prepared.center {
        Center::None => (None, None, None),
        Center::Place(place) => {
            let name = if lang == Lang::En && !place.name_en.is_empty() { format!("{} ({})", place.name_en, place.name) } else { place.name.clone() };
            let note = fill(lang.text("near_used"), &[("place", &name), ("radius", &radius_text(lang, radius_m))]);
            (Some(note), Some(context! { lat => place.lat, lng => place.lng, radius_m => radius_m, label => name }), None)
        }
        Center::Point { lat, lng } => {
            let name = format!("{} ({lat:.4}, {lng:.4})", lang.text("near_point"));
            let note = fill(lang.text("near_used"), &[("place", &name), ("radius", &radius_text(lang, radius_m))]);
            (Some(note), Some(context! { lat => lat, lng => lng, radius_m => radius_m, label => lang.text("near_point") }), None)
        }
        Center::NotFound(text) => (None, None, Some(fill(lang.text("near_not_found"), &[("q", text)]))),
    };

    let (total, offset, limit, items) = match &list {
        Some(list) => (
            list.total,
            list.offset,
            list.limit,
            list.items.iter().enumerate().map(|(index, view)| VenueItem::new(lang, list.offset + index + 1, view)).collect(),
        ),
        None => (0, 0, DEFAULT_PAGE_SIZE, Vec::new()),
    };
    let shown_to = offset + items.len();
    let prev_url = (offset > 0).then(|| page_url(&raw, offset.saturating_sub(limit)));
    let next_url = (shown_to < total).then(|| page_url(&raw, offset + limit));

    let selected_sport = value_of("sport");
    let selected_type = value_of("type");
    let sports: Vec<Value> = Sport::ALL
        .iter()
        .map(|sport| context! { value => sport.slug(), name => lang.pick(sport.name_zh(), sport.name_en()), selected => Sport::parse(&selected_sport) == Some(*sport) })
        .collect();
    let types: Vec<Value> = VenueType::ALL
        .iter()
        .map(|kind| context! { value => kind.slug(), name => lang.pick(kind.name_zh(), kind.name_en()), selected => VenueType::parse(&selected_type) == Some(*kind) })
        .collect();
    let radius_selected = params.number("radius_m").ok().flatten().map(|r| r.round() as u32).unwrap_or(DEFAULT_RADIUS_M as u32);
    let mut radius_values: Vec<u32> = RADIUS_CHOICES.to_vec();
    if !radius_values.contains(&radius_selected) {
        radius_values.push(radius_selected);
        radius_values.sort_unstable();
    }
    let radii: Vec<Value> =
        radius_values.iter().map(|r| context! { value => r, name => radius_text(lang, f64::from(*r)), selected => *r == radius_selected }).collect();
    let region = params.text("region").and_then(|text| RegionCode::parse(text).ok()).and_then(|code| snapshot.regions.get(code).map(|r| (code, r)));
    let region_filter = region.map(|(code, _)| context! { code => code.short(), name => snapshot.regions.full_name(code), url => region_url(code) });
    let (hidden_lat, hidden_lng) = match &prepared.center {
        Center::Point { .. } => (value_of("lat"), value_of("lng")),
        _ => (String::new(), String::new()),
    };
    let is_on = |name: &str| params.boolean(name).ok().flatten().unwrap_or(false);
    let filters_active = [
        !selected_sport.is_empty(),
        !selected_type.is_empty(),
        params.text("q").is_some(),
        is_on("free_now"),
        is_on("open_now"),
        radius_selected != DEFAULT_RADIUS_M as u32,
    ]
    .iter()
    .filter(|active| **active)
    .count();

    let map = context! {
        kind => "venues",
        outlines => map_outlines(),
        venues => map_points(&items),
        center => center_point,
        landmarks => map_landmarks(state, lang),
        text => map_text(lang),
    };
    let examples: Vec<Value> = EXAMPLE_PLACES.iter().map(|name| context! { name => name, url => near_url(name) }).collect();
    let data = context! {
        form => context! {
            near => value_of("near"),
            q => value_of("q"),
            lat => hidden_lat,
            lng => hidden_lng,
            free_now => is_on("free_now"),
            open_now => is_on("open_now"),
            region => region_filter,
        },
        sports => sports,
        types => types,
        radii => radii,
        filters_active => filters_active,
        has_center => center_note.is_some(),
        center_note => center_note,
        not_found => not_found,
        examples => examples,
        total => total,
        total_text => group_digits(total as u64),
        range_from => if items.is_empty() { 0 } else { offset + 1 },
        range_to => shown_to,
        items => items,
        prev_url => prev_url,
        next_url => next_url,
        map_json => script_json(&map),
    };
    Ok(page.render(StatusCode::OK, "venues.html", lang.text("venues_title"), data))
}

// ---------------------------------------------------------------------------------------------
// One venue

fn hours_cell(lang: Lang, text: &str, empty_key: &str) -> String {
    if text.is_empty() { lang.text(empty_key).to_string() } else { text.to_string() }
}

fn hours_text(minutes: u32) -> String {
    let hours = f64::from(minutes) / 60.0;
    if (hours - hours.round()).abs() < 1e-9 { format!("{}", hours.round() as u64) } else { format!("{hours:.1}") }
}

fn hours_rows(lang: Lang, venue: &Venue, today: usize) -> Vec<Value> {
    let describe = |hours: &WeeklyHours| hours.describe_days();
    let (open, free, low) = (describe(&venue.opening_hours), describe(&venue.free_hours), describe(&venue.low_fee_hours));
    (0..7)
        .map(|day| {
            context! {
                day => lang.weekday(day),
                today => day == today,
                open => hours_cell(lang, &open[day].2, "hours_closed"),
                closed => open[day].2.is_empty(),
                free => hours_cell(lang, &free[day].2, "hours_dash"),
                low_fee => hours_cell(lang, &low[day].2, "hours_dash"),
            }
        })
        .collect()
}

fn norm_rows(lang: Lang, venue: &Venue) -> (bool, Vec<Value>) {
    let check = check_service_norm(venue);
    let actual = |key: &str, minutes: u32| fill(lang.text("norm_actual"), &[("v", &fill(lang.text(key), &[("h", &hours_text(minutes))]))]);
    let mut rows = vec![
        context! { label => lang.text("norm_35h"), met => check.meets_35h_per_week, actual => actual("norm_per_week", check.free_or_low_fee_min_per_week) },
        context! { label => lang.text("norm_8h"), met => check.meets_8h_weekend_days, actual => actual("norm_per_day", check.weekend_min_per_day_lowest) },
    ];
    if let (Some(met), Some(minutes)) = (check.meets_outdoor_12h_free, check.outdoor_free_min_per_day_lowest) {
        rows.push(context! { label => lang.text("norm_outdoor"), met => met, actual => actual("norm_per_day", minutes) });
    }
    (check.compliant, rows)
}

pub async fn venue(State(state): State<AppState>, page: PageContext, Path(id): Path<String>) -> Response {
    let lang = page.lang;
    let snapshot = state.snapshot();
    let venue = VenueId::parse(&id).ok().and_then(|id| snapshot.catalog.get(&id));
    let Some(venue) = venue else {
        return render_error_page(ApiError::not_found(format!("venue {id} does not exist")), &page);
    };
    let now = local_now();
    let moment = LocalMoment::from_naive(now);
    let view = VenueView::new(&snapshot.regions, venue, moment, None);
    let tree = &snapshot.regions;
    let mut chain: Vec<Value> = tree.ancestors(venue.region).iter().map(|region| context! { name => region.name, url => region_url(region.code) }).collect();
    if let Some(region) = tree.get(venue.region) {
        chain.push(context! { name => region.name, url => region_url(region.code) });
    }
    let names = |list: Vec<(&'static str, &'static str)>| -> Vec<String> { list.into_iter().map(|(zh, en)| lang.pick(zh, en).to_string()).collect() };
    let (compliant, norm) = norm_rows(lang, venue);

    // Up to five other venues within 3 km.
    let nearby_query = format!("lat={}&lng={}&radius_m=3000&limit=6", venue.location.lat(), venue.location.lng());
    let nearby: Vec<VenueItem> = Params::parse(&nearby_query)
        .ok()
        .and_then(|params| run_search(&state, &params).ok())
        .map(|list| list.items.iter().filter(|item| item.id != view.id).take(5).enumerate().map(|(i, item)| VenueItem::new(lang, i + 1, item)).collect())
        .unwrap_or_default();

    let map = context! {
        kind => "venue",
        outlines => map_outlines(),
        venues => vec![MapPoint { n: 0, name: &venue.name, lat: venue.location.lat(), lng: venue.location.lng(), url: &venue_url(venue.id.as_str()), kind: lang.pick(venue.venue_type.name_zh(), venue.venue_type.name_en()) }],
        nearby => map_points(&nearby),
        center => Option::<Value>::None,
        landmarks => map_landmarks(&state, lang),
        text => map_text(lang),
    };
    let data = context! {
        venue => context! {
            id => view.id,
            name => venue.name,
            type_name => lang.pick(venue.venue_type.name_zh(), venue.venue_type.name_en()),
            sports => names(venue.sports.iter().map(|s| (s.name_zh(), s.name_en())).collect()),
            area => format!("{} m²", group_digits(venue.sports_area_m2.round() as u64)),
            setting => lang.pick(venue.setting.name_zh(), venue.setting.name_en()),
            owner => lang.pick(venue.owner_kind.name_zh(), venue.owner_kind.name_en()),
            address => venue.address,
            phone => venue.phone,
            status => lang.pick(venue.status.name_zh(), venue.status.name_en()),
            is_open_status => venue.status == VenueStatus::Open,
            opened_year => venue.opened_year,
            accessibility => names(venue.accessibility.iter().map(|a| (a.name_zh(), a.name_en())).collect()),
            region_name => tree.full_name(venue.region),
            open_now => view.open_now,
            free_now => view.free_now,
            lat => format!("{:.5}", venue.location.lat()),
            lng => format!("{:.5}", venue.location.lng()),
            json_url => format!("/api/v1/venues/{}", view.id),
        },
        chain => chain,
        hours => hours_rows(lang, venue, moment.weekday),
        norm_compliant => compliant,
        norm => norm,
        nearby => nearby,
        map_json => script_json(&map),
        resources => crate::web::booking::resource_links(&state, &venue.id).await,
        can_manage => crate::web::operator::may_manage(&page.visitor.caller, &venue.id, venue.region),
    };
    page.render(StatusCode::OK, "venue.html", &venue.name, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_read_well() {
        assert_eq!(distance_text(Lang::Zh, 843.0), "840 米");
        assert_eq!(distance_text(Lang::En, 1_250.0), "1.2 km");
        assert_eq!(radius_text(Lang::Zh, 5_000.0), "5 公里");
        assert_eq!(radius_text(Lang::En, 2_500.0), "2.5 km");
        assert_eq!(hours_text(35 * 60), "35");
        assert_eq!(hours_text(90), "1.5");
    }

    #[test]
    fn page_urls_keep_filters() {
        let pairs = vec![("near".to_string(), "西湖".to_string()), ("offset".to_string(), "20".to_string()), ("lang".to_string(), "en".to_string())];
        assert_eq!(page_url(&pairs, 40), "/venues?near=%E8%A5%BF%E6%B9%96&offset=40");
        assert_eq!(page_url(&pairs, 0), "/venues?near=%E8%A5%BF%E6%B9%96");
    }
}
