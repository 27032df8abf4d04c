//! The demo data set for Zhejiang (浙江, province 33): a plausible resident population for every county
//! (2022–2024) and about 600 venues across the 11 cities. It is DEMO data, not official figures, and it
//! is deterministic: the same seed gives the same data.
//!
//! Besides the region tree and the city outlines, it reads the tables in `data/demo/` (see the README
//! there): the county seats venues are scattered around, the county population weights and the venue
//! hotspots around West Lake.

use std::collections::{BTreeMap, HashSet};

use fitforall_core::geo::{Area, EARTH_RADIUS_M, LatLng, Polygon};
use fitforall_core::hours::WeeklyHours;
use fitforall_core::indicator::PopulationRecord;
use fitforall_core::region::{Region, RegionCode, RegionLevel, RegionTree};
use fitforall_core::venue::{Accessibility, OwnerKind, Setting, Sport, Venue, VenueId, VenueStatus, VenueType};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

const COUNTY_SEATS_FILE: &str = "data/demo/zhejiang-county-seats.csv";
const COUNTY_SEATS_CSV: &str = include_str!("../../../data/demo/zhejiang-county-seats.csv");
const COUNTY_POPULATION_FILE: &str = "data/demo/zhejiang-county-population.csv";
const COUNTY_POPULATION_CSV: &str = include_str!("../../../data/demo/zhejiang-county-population.csv");
const HOTSPOTS_FILE: &str = "data/demo/venue-hotspots.csv";
const HOTSPOTS_CSV: &str = include_str!("../../../data/demo/venue-hotspots.csv");

/// The year the city totals are for; the demo also gives the year before and the year after.
const BASE_YEAR: u16 = 2023;
/// Every county gets at least this many venues around its seat.
const MIN_VENUES_PER_COUNTY: usize = 2;
/// Venues lie within this distance of the seat of an urban district (区) …
const DISTRICT_SCATTER_M: f64 = 4_000.0;
/// … or of a county (县) or county-level city (市).
const COUNTY_SCATTER_M: f64 = 3_000.0;
/// Random points tried before falling back to the scatter centre or the city's label point.
const SCATTER_ATTEMPTS: usize = 100;
/// Names tried before numbering a duplicate.
const NAME_ATTEMPTS: usize = 40;

/// The generated data set.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoData {
    pub population: Vec<PopulationRecord>,
    pub venues: Vec<Venue>,
}

/// Generates the demo data set for Zhejiang.
///
/// `tree` is the full region hierarchy (China, 2023 codes; Zhejiang's cities 3301..3311 each with their
/// counties/districts and streets). `zhejiang_cities_geojson` is the text of
/// `data/maps/zhejiang-cities.geojson`.
pub fn generate(tree: &RegionTree, zhejiang_cities_geojson: &str, seed: u64) -> Result<DemoData, String> {
    let outlines = parse_city_features(zhejiang_cities_geojson)?;
    let cities = CITIES.iter().map(|profile| resolve_city(tree, &outlines, profile)).collect::<Result<Vec<_>, _>>()?;
    let weights = read_county_population(tree)?;
    let seats = read_county_seats(tree)?;
    let hotspots = read_hotspots()?;
    let mut rng = StdRng::seed_from_u64(seed);
    let population = generate_population(&mut rng, &cities, &weights)?;
    let venues = generate_venues(&mut rng, tree, &cities, &weights, &seats, &hotspots)?;
    Ok(DemoData { population, venues })
}

/// The city outlines parsed from `zhejiang-cities.geojson` (Polygon and MultiPolygon features whose
/// `id` is the city's code, e.g. "330100", and whose `properties.name` is its name).
#[cfg(test)]
fn city_outlines(zhejiang_cities_geojson: &str) -> Result<Vec<(RegionCode, String, Area)>, String> {
    Ok(parse_city_features(zhejiang_cities_geojson)?.into_iter().map(|city| (city.code, city.name, city.area)).collect())
}

// ---------------------------------------------------------------------------------------------------
// Cities

/// What the demo knows about each of Zhejiang's 11 cities.
struct CityProfile {
    code: &'static str,
    /// Approximate year-end resident population in [`BASE_YEAR`].
    population: u64,
    /// Venues scattered around the county seats (hotspot venues come on top).
    venues: usize,
    /// Yearly population growth of its counties in percent: each county draws a value in this range.
    growth_percent: (f64, f64),
    phone_area_code: &'static str,
    /// Local numbers: their first digit and their length.
    phone_first_digit: &'static str,
    phone_digits: usize,
}

const fn city(
    code: &'static str,
    population: u64,
    venues: usize,
    growth_percent: (f64, f64),
    phone_area_code: &'static str,
    phone_first_digit: &'static str,
    phone_digits: usize,
) -> CityProfile {
    CityProfile { code, population, venues, growth_percent, phone_area_code, phone_first_digit, phone_digits }
}

static CITIES: [CityProfile; 11] = [
    city("3301", 12_522_000, 120, (0.6, 1.6), "0571", "8", 8), // 杭州
    city("3302", 9_697_000, 75, (0.3, 1.0), "0574", "8", 8),   // 宁波
    city("3303", 9_760_000, 72, (0.1, 0.8), "0577", "8", 8),   // 温州
    city("3304", 5_584_000, 42, (0.3, 1.1), "0573", "8", 8),   // 嘉兴
    city("3305", 3_413_000, 28, (0.2, 0.8), "0572", "2", 7),   // 湖州
    city("3306", 5_364_000, 42, (0.2, 0.8), "0575", "8", 8),   // 绍兴
    city("3307", 7_141_000, 56, (0.1, 0.8), "0579", "8", 8),   // 金华
    city("3308", 2_291_000, 24, (0.05, 0.5), "0570", "3", 7),  // 衢州
    city("3309", 1_170_000, 22, (0.05, 0.6), "0580", "2", 7),  // 舟山
    city("3310", 6_681_000, 50, (0.1, 0.6), "0576", "8", 8),   // 台州
    city("3311", 2_520_000, 29, (0.05, 0.5), "0578", "2", 7),  // 丽水
];

/// A city outline from the GeoJSON.
struct CityFeature {
    code: RegionCode,
    name: String,
    area: Area,
    /// `properties.cp`, the label point.
    label: Option<LatLng>,
}

/// A city of [`CITIES`] found in the tree and the outlines.
struct DemoCity<'a> {
    profile: &'static CityProfile,
    region: &'a Region,
    counties: Vec<&'a Region>,
    outline: &'a CityFeature,
}

fn resolve_city<'a>(tree: &'a RegionTree, outlines: &'a [CityFeature], profile: &'static CityProfile) -> Result<DemoCity<'a>, String> {
    let code = RegionCode::parse(profile.code).map_err(|error| format!("demo city code {}: {error}", profile.code))?;
    let region = tree.get(code).ok_or_else(|| format!("demo data: city {} is not in the region tree", profile.code))?;
    let counties: Vec<&Region> = tree.children(code).iter().filter_map(|child| tree.get(*child)).filter(|child| child.level() == RegionLevel::County).collect();
    if counties.is_empty() {
        return Err(format!("demo data: city {} ({}) has no counties in the region tree", profile.code, region.name));
    }
    let outline = outlines
        .iter()
        .find(|outline| outline.code == code)
        .ok_or_else(|| format!("demo data: the city outlines have no feature with id {} ({})", code.short(), region.name))?;
    Ok(DemoCity { profile, region, counties, outline })
}

#[derive(serde::Deserialize)]
struct FeatureCollection {
    features: Vec<Feature>,
}

#[derive(serde::Deserialize)]
struct Feature {
    id: Option<FeatureId>,
    properties: FeatureProperties,
    geometry: Geometry,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum FeatureId {
    Text(String),
    Number(u64),
}

#[derive(serde::Deserialize)]
struct FeatureProperties {
    name: String,
    cp: Option<Vec<f64>>,
}

#[derive(serde::Deserialize)]
#[serde(tag = "type", content = "coordinates")]
enum Geometry {
    Polygon(Vec<Vec<Vec<f64>>>),
    MultiPolygon(Vec<Vec<Vec<Vec<f64>>>>),
}

fn parse_city_features(geojson: &str) -> Result<Vec<CityFeature>, String> {
    let collection: FeatureCollection =
        serde_json::from_str(geojson).map_err(|error| format!("city outlines: not a GeoJSON FeatureCollection of Polygons and MultiPolygons: {error}"))?;
    collection
        .features
        .into_iter()
        .enumerate()
        .map(|(index, feature)| {
            let name = feature.properties.name;
            let id = match feature.id {
                Some(FeatureId::Text(text)) => text,
                Some(FeatureId::Number(number)) => number.to_string(),
                None => return Err(format!("city outlines: feature {index} ({name}) has no id")),
            };
            let code = RegionCode::parse(&id).map_err(|error| format!("city outlines: feature {index} ({name}): id {id:?}: {error}"))?;
            let rings_of = |polygon: Vec<Vec<Vec<f64>>>| -> Result<Polygon, String> {
                let rings = polygon
                    .into_iter()
                    .map(|ring| {
                        ring.into_iter()
                            .map(|position| position_pair(&position).ok_or_else(|| format!("city outlines: feature {id}: a position has fewer than 2 numbers")))
                            .collect()
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Polygon { rings })
            };
            let polygons = match feature.geometry {
                Geometry::Polygon(polygon) => vec![rings_of(polygon)?],
                Geometry::MultiPolygon(polygons) => polygons.into_iter().map(rings_of).collect::<Result<_, _>>()?,
            };
            let label = feature.properties.cp.as_deref().and_then(position_pair).and_then(|[lng, lat]| LatLng::new(lat, lng).ok());
            Ok(CityFeature { code, name, area: Area { polygons }, label })
        })
        .collect()
}

fn position_pair(position: &[f64]) -> Option<[f64; 2]> {
    match position {
        [lng, lat, ..] => Some([*lng, *lat]),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------------
// Data files

#[derive(serde::Deserialize)]
struct CountySeatRow {
    code: String,
    name: String,
    lat: f64,
    lng: f64,
}

#[derive(serde::Deserialize)]
struct CountyPopulationRow {
    code: String,
    name: String,
    population: u64,
}

#[derive(serde::Deserialize)]
struct HotspotRow {
    name: String,
    region_code: String,
    lat: f64,
    lng: f64,
    radius_km: f64,
    venues: usize,
}

/// A busy place that gets extra venues around it.
struct Hotspot {
    name: String,
    region: RegionCode,
    centre: LatLng,
    radius_m: f64,
    venues: usize,
}

fn read_csv<T: serde::de::DeserializeOwned>(text: &str, file: &str) -> Result<Vec<T>, String> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .enumerate()
        .map(|(index, row)| row.map_err(|error| format!("{file}: row {}: {error}", index + 1)))
        .collect()
}

/// Parses a county code of a data file and checks it is in the tree under the name the file gives.
fn county_code(tree: &RegionTree, file: &str, code: &str, name: &str) -> Result<RegionCode, String> {
    let parsed = RegionCode::parse(code).map_err(|error| format!("{file}: {code}: {error}"))?;
    match tree.get(parsed) {
        Some(region) if region.name == name => Ok(parsed),
        Some(region) => Err(format!("{file}: {code} is named {name} there but {} in the region tree", region.name)),
        None => Err(format!("{file}: {code} ({name}) is not in the region tree")),
    }
}

fn read_county_seats(tree: &RegionTree) -> Result<BTreeMap<RegionCode, LatLng>, String> {
    read_csv::<CountySeatRow>(COUNTY_SEATS_CSV, COUNTY_SEATS_FILE)?
        .into_iter()
        .map(|row| {
            let code = county_code(tree, COUNTY_SEATS_FILE, &row.code, &row.name)?;
            let seat = LatLng::new(row.lat, row.lng).map_err(|error| format!("{COUNTY_SEATS_FILE}: {}: {error}", row.code))?;
            Ok((code, seat))
        })
        .collect()
}

fn read_county_population(tree: &RegionTree) -> Result<BTreeMap<RegionCode, u64>, String> {
    read_csv::<CountyPopulationRow>(COUNTY_POPULATION_CSV, COUNTY_POPULATION_FILE)?
        .into_iter()
        .map(|row| Ok((county_code(tree, COUNTY_POPULATION_FILE, &row.code, &row.name)?, row.population)))
        .collect()
}

fn read_hotspots() -> Result<Vec<Hotspot>, String> {
    read_csv::<HotspotRow>(HOTSPOTS_CSV, HOTSPOTS_FILE)?
        .into_iter()
        .map(|row| {
            let problem = |reason: String| format!("{HOTSPOTS_FILE}: {}: {reason}", row.name);
            let region = RegionCode::parse(&row.region_code).map_err(|error| problem(error.to_string()))?;
            let centre = LatLng::new(row.lat, row.lng).map_err(|error| problem(error.to_string()))?;
            if !(row.radius_km.is_finite() && row.radius_km > 0.0) {
                return Err(problem(format!("radius_km must be a positive number, got {}", row.radius_km)));
            }
            Ok(Hotspot { name: row.name.clone(), region, centre, radius_m: row.radius_km * 1000.0, venues: row.venues })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------
// Population

fn generate_population(rng: &mut StdRng, cities: &[DemoCity], weights: &BTreeMap<RegionCode, u64>) -> Result<Vec<PopulationRecord>, String> {
    let mut records = Vec::new();
    for city in cities {
        let county_weights = county_weights(city, weights)?;
        let total: u64 = county_weights.iter().sum();
        if total == 0 {
            return Err(format!("{COUNTY_POPULATION_FILE}: the counties of {} sum to 0", city.region.name));
        }
        let (low, high) = city.profile.growth_percent;
        for (county, weight) in city.counties.iter().zip(county_weights) {
            let base = (city.profile.population as f64 * weight as f64 / total as f64).round();
            let growth_before = 1.0 + rng.random_range(low..=high) / 100.0;
            let growth_after = 1.0 + rng.random_range(low..=high) / 100.0;
            for (year, population) in [(BASE_YEAR - 1, base / growth_before), (BASE_YEAR, base), (BASE_YEAR + 1, base * growth_after)] {
                records.push(PopulationRecord { region: county.code, year, population: population.round() as u64 });
            }
        }
    }
    Ok(records)
}

/// The population weight of each of the city's counties, in the order of `city.counties`.
fn county_weights(city: &DemoCity, weights: &BTreeMap<RegionCode, u64>) -> Result<Vec<u64>, String> {
    city.counties
        .iter()
        .map(|county| {
            weights.get(&county.code).copied().ok_or_else(|| format!("{COUNTY_POPULATION_FILE}: no row for county {} ({})", county.code.short(), county.name))
        })
        .collect()
}

/// Splits `total` into shares proportional to `weights`, each at least `minimum` (largest remainder;
/// ties go to the earlier entry). When `total` is too small every share is `minimum`.
fn allocate(total: usize, weights: &[u64], minimum: usize) -> Vec<usize> {
    let mut shares = vec![minimum; weights.len()];
    let rest = total.saturating_sub(minimum * weights.len());
    let sum: u64 = weights.iter().sum();
    if rest == 0 || sum == 0 {
        return shares;
    }
    let exact: Vec<f64> = weights.iter().map(|weight| rest as f64 * *weight as f64 / sum as f64).collect();
    let mut assigned = 0;
    for (share, exact) in shares.iter_mut().zip(&exact) {
        *share += exact.floor() as usize;
        assigned += exact.floor() as usize;
    }
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| exact[*b].fract().total_cmp(&exact[*a].fract()).then(a.cmp(b)));
    for index in order.into_iter().take(rest.saturating_sub(assigned)) {
        shares[index] += 1;
    }
    shares
}

// ---------------------------------------------------------------------------------------------------
// Venue kinds

/// How a venue's name starts.
#[derive(Debug, Clone, Copy)]
enum NamePrefix {
    /// The county's name: 西湖区.
    County,
    /// The county's name without 区/县/市: 西湖.
    CountyStem,
    /// The street's name: 北山街道 (the county's when it has no streets).
    Street,
    /// The street's name without 街道: 北山.
    StreetStem,
    /// A park: 北山公园, 人民公园 …
    Park,
    /// A residential community: 翠苑社区.
    Community,
    /// A school: 西湖第三中学, 北山小学 …
    School,
}

/// Weekly hours in [`WeeklyHours::parse`] syntax: free and low-fee hours lie within the opening hours.
struct HoursOption {
    opening: &'static str,
    free: &'static str,
    low_fee: &'static str,
}

const fn hours(opening: &'static str, free: &'static str, low_fee: &'static str) -> HoursOption {
    HoursOption { opening, free, low_fee }
}

/// One kind of venue: a type with a naming scheme, sports, area, owners and hours that fit together.
struct VenueKind {
    venue_type: VenueType,
    /// Relative frequency among all venues.
    weight: u32,
    /// Name prefix and the rest of the name, e.g. (Park, "篮球场") → 北山公园篮球场.
    names: &'static [(NamePrefix, &'static str)],
    sports: &'static [Sport],
    /// Each offered with probability one half.
    extra_sports: &'static [Sport],
    setting: Setting,
    area_m2: (f64, f64),
    owners: &'static [(OwnerKind, u32)],
    hours: &'static [HoursOption],
    opened_years: (u16, u16),
}

const PUBLIC: &[(OwnerKind, u32)] = &[(OwnerKind::Public, 1)];
const SCHOOL: &[(OwnerKind, u32)] = &[(OwnerKind::School, 1)];
const SOCIAL: &[(OwnerKind, u32)] = &[(OwnerKind::Social, 1)];

const OUTDOOR_FREE: &[HoursOption] =
    &[hours("24/7", "24/7", ""), hours("Mo-Su 05:00-22:00", "Mo-Su 05:00-22:00", ""), hours("Mo-Su 05:30-21:30", "Mo-Su 05:30-21:30", "")];
const PLAZA_FREE: &[HoursOption] =
    &[hours("24/7", "24/7", ""), hours("Mo-Su 05:00-22:00", "Mo-Su 05:00-22:00", ""), hours("Mo-Su 05:30-22:30", "Mo-Su 05:30-22:30", "")];
const COURTS_FREE: &[HoursOption] =
    &[hours("Mo-Su 06:00-22:00", "Mo-Su 06:00-22:00", ""), hours("Mo-Su 05:30-21:30", "Mo-Su 05:30-21:30", ""), hours("24/7", "24/7", "")];
/// Free by day, a low fee for the floodlit evening.
const FOOTBALL_CAGE: &[HoursOption] = &[
    hours("Mo-Su 06:00-22:00", "Mo-Su 06:00-17:00", "Mo-Su 17:00-22:00"),
    hours("Mo-Su 07:00-21:30", "Mo-Fr 07:00-16:00", "Mo-Fr 16:00-21:30; Sa-Su 07:00-21:30"),
];
const TENNIS: &[HoursOption] =
    &[hours("Mo-Su 07:00-22:00", "Mo-Fr 07:00-09:00", "Mo-Fr 09:00-22:00; Sa-Su 07:00-22:00"), hours("Mo-Su 06:30-21:30", "", "Mo-Su 06:30-21:30")];
const INDOOR_COURTS: &[HoursOption] = &[
    hours("Mo-Su 09:00-22:00", "", "Mo-Fr 09:00-17:00"),
    hours("Mo-Fr 08:30-22:00; Sa-Su 08:00-22:00", "Mo-Fr 08:30-10:30", "Mo-Fr 10:30-17:00"),
    hours("Mo-Su 08:00-21:30", "", "Mo-Su 08:00-21:30"),
];
const PEOPLES_GYM: &[HoursOption] = &[
    hours("Mo-Su 06:00-21:00", "Mo-Su 06:00-21:00", ""),
    hours("Mo-Fr 06:00-21:00; Sa-Su 08:00-21:00", "Mo-Fr 06:00-21:00; Sa-Su 08:00-21:00", ""),
    hours("Tu-Su 07:00-21:00", "Tu-Su 07:00-21:00", ""),
    hours("Mo-Su 06:30-21:30", "Mo-Su 06:30-09:00", "Mo-Su 09:00-21:30"),
];
/// Free on weekday mornings (and lunchtimes), a low fee otherwise.
const GYMNASIUM: &[HoursOption] = &[
    hours("Mo-Su 06:00-22:00", "Mo-Fr 06:00-08:00", "Mo-Fr 08:00-22:00; Sa-Su 06:00-22:00"),
    hours("Mo-Su 06:30-21:30", "Mo-Fr 06:30-08:30,12:00-13:30", "Mo-Fr 08:30-12:00,13:30-21:30; Sa-Su 06:30-21:30"),
    hours("Tu-Su 08:00-21:00", "Tu-Fr 08:00-10:00", "Tu-Fr 10:00-21:00; Sa-Su 08:00-21:00"),
];
const STADIUM: &[HoursOption] = &[
    hours("Mo-Su 05:30-21:30", "Mo-Su 05:30-21:30", ""),
    hours("Mo-Su 05:00-09:00,16:00-22:00", "Mo-Su 05:00-09:00,16:00-22:00", ""),
    hours("Mo-Su 06:00-21:00", "Mo-Su 06:00-08:30,17:00-21:00", "Mo-Su 08:30-17:00"),
];
/// Pools are never free: a low fee whenever open.
const POOL: &[HoursOption] = &[
    hours("Mo-Su 09:00-21:00", "", "Mo-Su 09:00-21:00"),
    hours("Mo 13:00-21:30; Tu-Su 08:30-21:30", "", "Mo 13:00-21:30; Tu-Su 08:30-21:30"),
    hours("Mo-Fr 12:00-21:00; Sa-Su 09:00-21:00", "", "Mo-Fr 12:00-21:00; Sa-Su 09:00-21:00"),
    hours("Mo-Su 06:00-08:00,12:00-21:00", "", "Mo-Su 06:00-08:00,12:00-21:00"),
];
/// Schools open to the public outside class hours: early mornings, evenings and weekends.
const SCHOOL_OUTDOOR: &[HoursOption] = &[
    hours("Mo-Fr 06:00-07:00,17:30-21:00; Sa-Su 06:00-20:00", "Mo-Fr 06:00-07:00,17:30-21:00; Sa-Su 06:00-20:00", ""),
    hours("Mo-Fr 17:00-20:30; Sa-Su 07:00-19:00", "Mo-Fr 17:00-20:30; Sa-Su 07:00-19:00", ""),
    hours("Mo-Fr 18:00-21:00; Sa-Su 08:00-11:30,14:00-18:00", "Mo-Fr 18:00-21:00; Sa-Su 08:00-11:30,14:00-18:00", ""),
];
const SCHOOL_INDOOR: &[HoursOption] = &[
    hours("Mo-Fr 18:00-21:00; Sa-Su 08:00-21:00", "Sa-Su 08:00-12:00", "Mo-Fr 18:00-21:00; Sa-Su 12:00-21:00"),
    hours("Mo-Fr 17:30-21:00; Sa-Su 09:00-17:00", "", "Mo-Fr 17:30-21:00; Sa-Su 09:00-17:00"),
];
const CLIMBING: &[HoursOption] = &[hours("Mo-Fr 12:00-22:00; Sa-Su 09:00-22:00", "", "Mo-Fr 12:00-18:00"), hours("Tu-Su 10:00-22:00", "", "Tu-Fr 10:00-17:00")];
const CHESS: &[HoursOption] =
    &[hours("Mo-Su 08:30-11:30,13:30-17:30", "Mo-Su 08:30-11:30,13:30-17:30", ""), hours("Tu-Su 08:00-20:00", "Tu-Su 08:00-20:00", "")];
const MARTIAL_ARTS: &[HoursOption] = &[hours("Mo-Fr 16:00-21:00; Sa-Su 08:30-20:00", "", "Sa-Su 08:30-11:30")];

/// Every kind of demo venue, with its relative frequency.
const KINDS: &[VenueKind] = {
    use NamePrefix::*;
    use Sport::*;
    &[
        VenueKind {
            venue_type: VenueType::Stadium,
            weight: 3,
            names: &[(County, "体育场"), (County, "体育中心体育场"), (Street, "全民健身中心体育场")],
            sports: &[Athletics, Running, Football],
            extra_sports: &[Walking],
            setting: Setting::Outdoor,
            area_m2: (8_000.0, 40_000.0),
            owners: PUBLIC,
            hours: STADIUM,
            opened_years: (1995, 2020),
        },
        VenueKind {
            venue_type: VenueType::Gymnasium,
            weight: 5,
            names: &[(County, "体育馆"), (County, "全民健身中心"), (County, "体育中心体育馆"), (Street, "文体中心"), (StreetStem, "体育馆")],
            sports: &[Basketball, Badminton],
            extra_sports: &[TableTennis, Volleyball, Fitness, MartialArts],
            setting: Setting::Indoor,
            area_m2: (2_000.0, 12_000.0),
            owners: &[(OwnerKind::Public, 9), (OwnerKind::Social, 1)],
            hours: GYMNASIUM,
            opened_years: (1995, 2023),
        },
        VenueKind {
            venue_type: VenueType::SwimmingPool,
            weight: 4,
            names: &[(County, "游泳馆"), (County, "全民健身中心游泳馆"), (StreetStem, "游泳馆"), (StreetStem, "游泳健身中心")],
            sports: &[Swimming],
            extra_sports: &[Fitness],
            setting: Setting::Indoor,
            area_m2: (800.0, 3_000.0),
            owners: &[(OwnerKind::Public, 6), (OwnerKind::Social, 4)],
            hours: POOL,
            opened_years: (2000, 2024),
        },
        VenueKind {
            venue_type: VenueType::BallCourts,
            weight: 7,
            names: &[(Park, "篮球场"), (Community, "篮球场")],
            sports: &[Basketball],
            extra_sports: &[],
            setting: Setting::Outdoor,
            area_m2: (600.0, 2_000.0),
            owners: PUBLIC,
            hours: COURTS_FREE,
            opened_years: (2005, 2024),
        },
        VenueKind {
            venue_type: VenueType::BallCourts,
            weight: 3,
            names: &[(Street, "社区运动场"), (Park, "多功能运动场"), (Community, "多功能运动场")],
            sports: &[Basketball],
            extra_sports: &[Volleyball, Badminton, Football],
            setting: Setting::Outdoor,
            area_m2: (800.0, 4_000.0),
            owners: PUBLIC,
            hours: COURTS_FREE,
            opened_years: (2005, 2024),
        },
        VenueKind {
            venue_type: VenueType::BallCourts,
            weight: 3,
            names: &[(Park, "笼式足球场"), (StreetStem, "足球公园")],
            sports: &[Football],
            extra_sports: &[],
            setting: Setting::Outdoor,
            area_m2: (800.0, 3_000.0),
            owners: &[(OwnerKind::Public, 7), (OwnerKind::Social, 3)],
            hours: FOOTBALL_CAGE,
            opened_years: (2012, 2024),
        },
        VenueKind {
            venue_type: VenueType::BallCourts,
            weight: 2,
            names: &[(Park, "网球场"), (CountyStem, "网球中心")],
            sports: &[Tennis],
            extra_sports: &[],
            setting: Setting::Outdoor,
            area_m2: (700.0, 4_000.0),
            owners: &[(OwnerKind::Public, 6), (OwnerKind::Social, 4)],
            hours: TENNIS,
            opened_years: (2000, 2024),
        },
        VenueKind {
            venue_type: VenueType::BallCourts,
            weight: 3,
            names: &[(StreetStem, "羽毛球馆"), (Community, "羽毛球馆")],
            sports: &[Badminton],
            extra_sports: &[TableTennis],
            setting: Setting::Indoor,
            area_m2: (600.0, 2_500.0),
            owners: &[(OwnerKind::Social, 8), (OwnerKind::Public, 2)],
            hours: INDOOR_COURTS,
            opened_years: (2008, 2024),
        },
        VenueKind {
            venue_type: VenueType::BallCourts,
            weight: 1,
            names: &[(StreetStem, "乒乓球馆"), (Community, "乒乓球室")],
            sports: &[TableTennis],
            extra_sports: &[],
            setting: Setting::Indoor,
            area_m2: (600.0, 1_200.0),
            owners: &[(OwnerKind::Social, 6), (OwnerKind::Public, 4)],
            hours: INDOOR_COURTS,
            opened_years: (2005, 2024),
        },
        VenueKind {
            venue_type: VenueType::BallCourts,
            weight: 1,
            names: &[(Park, "门球场")],
            sports: &[Gateball],
            extra_sports: &[],
            setting: Setting::Outdoor,
            area_m2: (600.0, 1_200.0),
            owners: PUBLIC,
            hours: COURTS_FREE,
            opened_years: (1998, 2020),
        },
        VenueKind {
            venue_type: VenueType::FitnessPath,
            weight: 24,
            names: &[(Community, "全民健身路径"), (Park, "全民健身路径"), (Community, "健身点"), (Street, "全民健身点")],
            sports: &[Fitness],
            extra_sports: &[Walking, TableTennis, TaiChi],
            setting: Setting::Outdoor,
            area_m2: (200.0, 800.0),
            owners: &[(OwnerKind::Public, 7), (OwnerKind::Social, 3)],
            hours: OUTDOOR_FREE,
            opened_years: (2005, 2024),
        },
        VenueKind {
            venue_type: VenueType::PeoplesGym,
            weight: 14,
            names: &[(Street, "百姓健身房"), (Community, "百姓健身房")],
            sports: &[Fitness],
            extra_sports: &[Yoga, TableTennis, Badminton],
            setting: Setting::Indoor,
            area_m2: (150.0, 600.0),
            owners: &[(OwnerKind::Social, 5), (OwnerKind::Public, 5)],
            hours: PEOPLES_GYM,
            opened_years: (2016, 2024),
        },
        VenueKind {
            venue_type: VenueType::SchoolVenue,
            weight: 7,
            names: &[(School, "体育场（对外开放）"), (School, "运动场（对外开放）")],
            sports: &[Athletics, Running, Football],
            extra_sports: &[Basketball],
            setting: Setting::Outdoor,
            area_m2: (3_000.0, 12_000.0),
            owners: SCHOOL,
            hours: SCHOOL_OUTDOOR,
            opened_years: (1995, 2022),
        },
        VenueKind {
            venue_type: VenueType::SchoolVenue,
            weight: 3,
            names: &[(School, "体育馆（对外开放）")],
            sports: &[Basketball, Badminton],
            extra_sports: &[Volleyball, TableTennis],
            setting: Setting::Indoor,
            area_m2: (1_200.0, 4_000.0),
            owners: SCHOOL,
            hours: SCHOOL_INDOOR,
            opened_years: (1995, 2022),
        },
        VenueKind {
            venue_type: VenueType::Greenway,
            weight: 8,
            names: &[(CountyStem, "环城绿道"), (StreetStem, "滨河绿道"), (Park, "健身步道"), (CountyStem, "登山健身步道"), (StreetStem, "健身步道")],
            sports: &[Walking, Running],
            extra_sports: &[Cycling],
            setting: Setting::Outdoor,
            area_m2: (2_000.0, 20_000.0),
            owners: PUBLIC,
            hours: OUTDOOR_FREE,
            opened_years: (2012, 2024),
        },
        VenueKind {
            venue_type: VenueType::FitnessPlaza,
            weight: 9,
            names: &[(Street, "全民健身广场"), (StreetStem, "文化广场"), (County, "全民健身广场"), (Community, "健身广场")],
            sports: &[SquareDance, Fitness],
            extra_sports: &[TaiChi, Walking, Basketball],
            setting: Setting::Outdoor,
            area_m2: (1_000.0, 6_000.0),
            owners: PUBLIC,
            hours: PLAZA_FREE,
            opened_years: (2005, 2024),
        },
        VenueKind {
            venue_type: VenueType::Other,
            weight: 1,
            names: &[(Park, "轮滑场")],
            sports: &[Skating],
            extra_sports: &[],
            setting: Setting::Outdoor,
            area_m2: (500.0, 2_000.0),
            owners: PUBLIC,
            hours: COURTS_FREE,
            opened_years: (2010, 2024),
        },
        VenueKind {
            venue_type: VenueType::Other,
            weight: 1,
            names: &[(CountyStem, "攀岩馆"), (StreetStem, "攀岩中心")],
            sports: &[Climbing],
            extra_sports: &[Fitness],
            setting: Setting::Indoor,
            area_m2: (200.0, 1_500.0),
            owners: SOCIAL,
            hours: CLIMBING,
            opened_years: (2015, 2024),
        },
        VenueKind {
            venue_type: VenueType::Other,
            weight: 1,
            names: &[(County, "棋类活动中心"), (Street, "老年活动中心")],
            sports: &[Chess],
            extra_sports: &[TableTennis, TaiChi],
            setting: Setting::Indoor,
            area_m2: (200.0, 800.0),
            owners: PUBLIC,
            hours: CHESS,
            opened_years: (1995, 2020),
        },
        VenueKind {
            venue_type: VenueType::Other,
            weight: 1,
            names: &[(StreetStem, "武术馆")],
            sports: &[MartialArts],
            extra_sports: &[TaiChi],
            setting: Setting::Indoor,
            area_m2: (200.0, 1_000.0),
            owners: SOCIAL,
            hours: MARTIAL_ARTS,
            opened_years: (2005, 2024),
        },
    ]
};

const STATUSES: [(VenueStatus, u32); 3] = [(VenueStatus::Open, 92), (VenueStatus::Renovating, 5), (VenueStatus::Closed, 3)];
/// Share of venues whose opening year is unknown.
const UNKNOWN_OPENED_YEAR: f64 = 0.1;

const PARK_WORDS: [&str; 18] =
    ["人民", "中山", "滨江", "滨河", "湿地", "森林", "文化", "城市", "中央", "儿童", "东湖", "西山", "南山", "北湖", "江滨", "青少年", "运动", "望江"];
const COMMUNITY_WORDS: [&str; 60] = [
    "朝晖", "和平", "新华", "文晖", "东园", "西园", "南苑", "北苑", "翠苑", "景华", "春江", "金桥", "银湖", "紫荆", "桂花", "梅园", "竹园", "兰苑", "锦绣",
    "幸福", "阳光", "和谐", "明珠", "华庭", "滨河", "青年", "红星", "胜利", "光明", "长庆", "东湖", "南塘", "北门", "西门", "城东", "城西", "城南", "城北",
    "文化", "建设", "解放", "振兴", "新安", "安居", "康乐", "福星", "永安", "太平", "丰收", "望江", "江滨", "湖畔", "绿城", "金色", "碧水", "清泉", "桃源",
    "芙蓉", "月湖", "采荷",
];
const SCHOOL_NUMBERS: [&str; 9] = ["一", "二", "三", "四", "五", "六", "七", "八", "九"];
const ROADS: [&str; 36] = [
    "人民路",
    "解放路",
    "中山路",
    "新华路",
    "建设路",
    "文化路",
    "体育场路",
    "环城北路",
    "环城南路",
    "环城东路",
    "环城西路",
    "学院路",
    "府前路",
    "青年路",
    "和平路",
    "胜利路",
    "健康路",
    "江滨大道",
    "滨河路",
    "公园路",
    "长安路",
    "复兴路",
    "东风路",
    "振兴路",
    "世纪大道",
    "光明路",
    "迎宾大道",
    "望江路",
    "湖滨路",
    "朝阳路",
    "兴业街",
    "县前街",
    "北大街",
    "南大街",
    "育才路",
    "文体路",
];

fn pick<'a, const N: usize>(rng: &mut StdRng, items: &'a [&'a str; N]) -> &'a str {
    items[rng.random_range(0..N)]
}

fn weighted_pick<T: Copy>(rng: &mut StdRng, items: &[(T, u32)], what: &str) -> Result<T, String> {
    items.choose_weighted(rng, |(_, weight)| *weight).map(|(item, _)| *item).map_err(|error| format!("demo {what}: {error}"))
}

/// A region name without its level suffix: 北山街道 → 北山, 景宁畲族自治县 → 景宁, 义乌市 → 义乌.
fn stem(name: &str) -> &str {
    let stripped = ["畲族自治县", "自治县", "街道", "区", "县", "市", "镇", "乡"].iter().find_map(|suffix| name.strip_suffix(suffix)).unwrap_or(name);
    if stripped.chars().count() >= 2 { stripped } else { name }
}

// ---------------------------------------------------------------------------------------------------
// Venues

/// Where a batch of venues goes: around a county seat or a hotspot.
struct Site<'a> {
    city: &'a DemoCity<'a>,
    county: &'a Region,
    /// The streets the venues are filed under (empty: filed under the county).
    streets: Vec<&'a Region>,
    centre: LatLng,
    radius_m: f64,
}

/// The streets (街道, the urban sub-districts around the seat) of a county.
fn urban_streets(tree: &RegionTree, county: RegionCode) -> Vec<&Region> {
    tree.children(county).iter().filter_map(|code| tree.get(*code)).filter(|street| street.name.ends_with("街道")).collect()
}

fn generate_venues(
    rng: &mut StdRng,
    tree: &RegionTree,
    cities: &[DemoCity],
    weights: &BTreeMap<RegionCode, u64>,
    seats: &BTreeMap<RegionCode, LatLng>,
    hotspots: &[Hotspot],
) -> Result<Vec<Venue>, String> {
    let mut batches = Vec::new();
    for city in cities {
        let shares = allocate(city.profile.venues, &county_weights(city, weights)?, MIN_VENUES_PER_COUNTY);
        for (county, count) in city.counties.iter().zip(shares) {
            let centre = *seats.get(&county.code).ok_or_else(|| format!("{COUNTY_SEATS_FILE}: no row for county {} ({})", county.code.short(), county.name))?;
            let radius_m = if county.name.ends_with('区') { DISTRICT_SCATTER_M } else { COUNTY_SCATTER_M };
            batches.push((Site { city, county, streets: urban_streets(tree, county.code), centre, radius_m }, count));
        }
    }
    for hotspot in hotspots {
        let problem = |reason: &str| format!("{HOTSPOTS_FILE}: {}: region {} {reason}", hotspot.name, hotspot.region.short());
        let region = tree.get(hotspot.region).ok_or_else(|| problem("is not in the region tree"))?;
        let city = cities.iter().find(|city| city.region.code.contains(hotspot.region)).ok_or_else(|| problem("is not in one of Zhejiang's 11 cities"))?;
        let (county, streets) = match region.level() {
            RegionLevel::County => (region, urban_streets(tree, region.code)),
            RegionLevel::Street => (tree.parent(region.code).and_then(|code| tree.get(code)).ok_or_else(|| problem("has no county"))?, vec![region]),
            RegionLevel::Province | RegionLevel::City => return Err(problem("must be a county or a street")),
        };
        batches.push((Site { city, county, streets, centre: hotspot.centre, radius_m: hotspot.radius_m }, hotspot.venues));
    }

    let mut used_names: BTreeMap<RegionCode, HashSet<String>> = BTreeMap::new();
    let mut venues = Vec::new();
    for (site, count) in &batches {
        let used = used_names.entry(site.county.code).or_default();
        for _ in 0..*count {
            let id = VenueId::parse(&format!("demo-{:04}", venues.len() + 1))?;
            venues.push(generate_venue(rng, site, used, id)?);
        }
    }
    Ok(venues)
}

fn generate_venue(rng: &mut StdRng, site: &Site, used_names: &mut HashSet<String>, id: VenueId) -> Result<Venue, String> {
    let kind = KINDS.choose_weighted(rng, |kind| kind.weight).map_err(|error| format!("demo venue kinds: {error}"))?;
    let (street, name) = pick_name(rng, kind, site, used_names)?;
    let region = street.unwrap_or(site.county);
    let location = scatter(rng, site)?;
    let mut sports = kind.sports.to_vec();
    sports.extend(kind.extra_sports.iter().filter(|_| rng.random_bool(0.5)));
    let (min_area, max_area) = kind.area_m2;
    let sports_area_m2 = (rng.random_range(min_area..=max_area) / 10.0).round() * 10.0;
    let owner_kind = weighted_pick(rng, kind.owners, "owners")?;
    let option = kind.hours.choose(rng).ok_or_else(|| format!("demo venue kind {} has no hours", kind.venue_type.slug()))?;
    let parse_hours = |text: &str| WeeklyHours::parse(text).map_err(|error| format!("demo hours {text:?}: {error}"));
    let accessibility = accessibility(rng, kind.setting);
    let status = weighted_pick(rng, &STATUSES, "statuses")?;
    let opened_year = if rng.random_bool(UNKNOWN_OPENED_YEAR) { None } else { Some(rng.random_range(kind.opened_years.0..=kind.opened_years.1)) };
    let address = address(rng, site.city.region, site.county, street);
    let phone = phone(rng, site.city.profile);
    Ok(Venue {
        id,
        name,
        region: region.code,
        address,
        location,
        venue_type: kind.venue_type,
        sports,
        sports_area_m2,
        setting: kind.setting,
        owner_kind,
        opening_hours: parse_hours(option.opening)?,
        free_hours: parse_hours(option.free)?,
        low_fee_hours: parse_hours(option.low_fee)?,
        accessibility,
        status,
        opened_year,
        phone,
    })
}

/// A name not yet used in the county, and the street the venue is filed under.
fn pick_name<'a>(rng: &mut StdRng, kind: &VenueKind, site: &Site<'a>, used: &mut HashSet<String>) -> Result<(Option<&'a Region>, String), String> {
    let mut last = None;
    for _ in 0..NAME_ATTEMPTS {
        let street = site.streets.choose(rng).copied();
        let (prefix, rest) = kind.names.choose(rng).ok_or_else(|| format!("demo venue kind {} has no names", kind.venue_type.slug()))?;
        let name = format!("{}{rest}", name_prefix(rng, *prefix, site.county, street));
        if used.insert(name.clone()) {
            return Ok((street, name));
        }
        last = Some((street, name));
    }
    // Every attempt gave a name already used (only in a small county with many venues): number it.
    let (street, base) = last.ok_or("demo data: no name attempts")?;
    let name = (2..).map(|number| format!("{base}{number}号")).find(|name| !used.contains(name)).ok_or("demo data: no free name")?;
    used.insert(name.clone());
    Ok((street, name))
}

fn name_prefix(rng: &mut StdRng, prefix: NamePrefix, county: &Region, street: Option<&Region>) -> String {
    let street_name = street.map_or(county.name.as_str(), |street| street.name.as_str());
    let street_stem = stem(street_name);
    let county_stem = stem(&county.name);
    match prefix {
        NamePrefix::County => county.name.clone(),
        NamePrefix::CountyStem => county_stem.to_string(),
        NamePrefix::Street => street_name.to_string(),
        NamePrefix::StreetStem => street_stem.to_string(),
        NamePrefix::Park => match rng.random_range(0..3) {
            0 => format!("{street_stem}公园"),
            1 => format!("{street_stem}体育公园"),
            _ => format!("{}公园", pick(rng, &PARK_WORDS)),
        },
        NamePrefix::Community => format!("{}社区", pick(rng, &COMMUNITY_WORDS)),
        NamePrefix::School => match rng.random_range(0..9) {
            0 | 1 => format!("{county_stem}第{}中学", pick(rng, &SCHOOL_NUMBERS)),
            2 => format!("{county_stem}实验中学"),
            3 => format!("{county_stem}实验小学"),
            4 => format!("{county_stem}高级中学"),
            5 => format!("{street_stem}中学"),
            6 => format!("{street_stem}小学"),
            7 => format!("{street_stem}实验学校"),
            _ => format!("{county_stem}职业技术学校"),
        },
    }
}

/// A random point within the site's radius and inside the city outline; when a hundred tries all
/// fall outside (the sea, another city), the site's centre or else the city's label point.
fn scatter(rng: &mut StdRng, site: &Site) -> Result<LatLng, String> {
    let outline = &site.city.outline;
    let round = |degrees: f64| (degrees * 1e6).round() / 1e6;
    for _ in 0..SCATTER_ATTEMPTS {
        let distance = site.radius_m * rng.random::<f64>().sqrt();
        let bearing = rng.random_range(0.0..std::f64::consts::TAU);
        let dlat = (distance * bearing.cos() / EARTH_RADIUS_M).to_degrees();
        let dlng = (distance * bearing.sin() / (EARTH_RADIUS_M * site.centre.lat().to_radians().cos())).to_degrees();
        if let Ok(point) = LatLng::new(round(site.centre.lat() + dlat), round(site.centre.lng() + dlng))
            && outline.area.contains(point)
        {
            return Ok(point);
        }
    }
    [Some(site.centre), outline.label]
        .into_iter()
        .flatten()
        .find(|point| outline.area.contains(*point))
        .ok_or_else(|| format!("demo data: no point near {} ({:?}) lies inside the outline of {}", site.county.name, site.centre, outline.name))
}

fn accessibility(rng: &mut StdRng, setting: Setting) -> Vec<Accessibility> {
    let chances = match setting {
        Setting::Indoor | Setting::Mixed => [0.85, 0.6, 0.5, 0.3],
        Setting::Outdoor => [0.6, 0.25, 0.3, 0.0],
    };
    let features = [Accessibility::StepFree, Accessibility::Toilet, Accessibility::Parking, Accessibility::Elevator];
    features.into_iter().zip(chances).filter(|(_, chance)| rng.random_bool(*chance)).map(|(feature, _)| feature).collect()
}

/// 杭州市西湖区北山街道体育场路128号; a county-level city (义乌市) is written without its prefecture.
fn address(rng: &mut StdRng, city: &Region, county: &Region, street: Option<&Region>) -> String {
    let city_part = if county.name.ends_with('市') { "" } else { city.name.as_str() };
    let street_part = street.map_or("", |street| street.name.as_str());
    let road = if rng.random_bool(0.25) {
        format!("{}路", stem(street.map_or(county.name.as_str(), |street| street.name.as_str())))
    } else {
        pick(rng, &ROADS).to_string()
    };
    let number = rng.random_range(1..=800);
    format!("{city_part}{}{street_part}{road}{number}号", county.name)
}

fn phone(rng: &mut StdRng, profile: &CityProfile) -> String {
    let rest: String = (1..profile.phone_digits).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect();
    format!("{}-{}{rest}", profile.phone_area_code, profile.phone_first_digit)
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use super::*;

    const CITIES_GEOJSON: &str = include_str!("../../../data/maps/zhejiang-cities.geojson");
    /// The `demo` command's default seed.
    const SEED: u64 = 2026;
    const WEST_LAKE: (f64, f64) = (30.2431, 120.1503);

    static TREE: LazyLock<RegionTree> = LazyLock::new(|| {
        let files = [
            include_str!("../../../data/regions/provinces.csv"),
            include_str!("../../../data/regions/cities.csv"),
            include_str!("../../../data/regions/areas.csv"),
            include_str!("../../../data/regions/streets.csv"),
        ];
        let mut regions = Vec::new();
        for text in files {
            for record in csv::Reader::from_reader(text.as_bytes()).records() {
                let record = record.unwrap();
                regions.push(Region { code: RegionCode::parse(&record[0]).unwrap(), name: record[1].to_string() });
            }
        }
        RegionTree::build(regions).unwrap().0
    });
    static DATA: LazyLock<DemoData> = LazyLock::new(|| generate(&TREE, CITIES_GEOJSON, SEED).unwrap());
    static OUTLINES: LazyLock<Vec<(RegionCode, String, Area)>> = LazyLock::new(|| city_outlines(CITIES_GEOJSON).unwrap());

    fn code(text: &str) -> RegionCode {
        RegionCode::parse(text).unwrap()
    }

    fn city_codes() -> Vec<RegionCode> {
        CITIES.iter().map(|city| code(city.code)).collect()
    }

    fn counties() -> Vec<RegionCode> {
        city_codes().into_iter().flat_map(|city| TREE.children(city).to_vec()).collect()
    }

    fn outline(city: RegionCode) -> &'static Area {
        &OUTLINES.iter().find(|(code, _, _)| *code == city).unwrap().2
    }

    fn point(lat: f64, lng: f64) -> LatLng {
        LatLng::new(lat, lng).unwrap()
    }

    #[test]
    fn demo_data_city_outlines_match_the_tree() {
        assert_eq!(OUTLINES.len(), 11);
        for ((code, name, area), expect) in OUTLINES.iter().zip(city_codes()) {
            assert_eq!(*code, expect);
            assert_eq!(name, &TREE.get(expect).unwrap().name);
            assert!(!area.polygons.is_empty());
        }
        // 舟山 is a MultiPolygon of islands; 普陀山 lies on one of them.
        assert!(outline(code("3309")).polygons.len() > 100);
        assert!(outline(code("3309")).contains(point(30.0040, 122.3890)));
        assert!(!outline(code("3301")).contains(point(29.8713, 121.5543)), "天一广场 is in Ningbo");
    }

    #[test]
    fn demo_data_city_outlines_reject_bad_input() {
        let feature = |id: &str, geometry: &str| {
            format!(r#"{{"type":"FeatureCollection","features":[{{"type":"Feature",{id}"properties":{{"name":"杭州市"}},"geometry":{geometry}}}]}}"#)
        };
        let square = r#"{"type":"Polygon","coordinates":[[[120,30],[121,30],[121,31],[120,30]]]}"#;
        let cases = [
            ("not json".to_string(), "not a GeoJSON FeatureCollection"),
            (feature("", square), "feature 0 (杭州市) has no id"),
            (feature(r#""id":"abc","#, square), "id \"abc\": region code must contain only digits"),
            (feature(r#""id":"330100","#, r#"{"type":"Point","coordinates":[120,30]}"#), "unknown variant `Point`"),
            (feature(r#""id":"330100","#, r#"{"type":"Polygon","coordinates":[[[120],[121,30],[121,31]]]}"#), "fewer than 2 numbers"),
        ];
        for (input, expect) in cases {
            let error = city_outlines(&input).unwrap_err();
            assert!(error.contains(expect), "{input}: {error}");
        }
        let parsed = city_outlines(&feature(r#""id":330100,"#, square)).unwrap();
        assert_eq!(parsed[0].0, code("3301"));
        assert!(parsed[0].2.contains(point(30.2, 120.5)));
    }

    #[test]
    fn demo_data_county_seats_cover_every_county_inside_its_city() {
        let seats = read_county_seats(&TREE).unwrap();
        let counties = counties();
        assert_eq!(counties.len(), 90);
        for county in &counties {
            let seat = seats.get(county).unwrap_or_else(|| panic!("{COUNTY_SEATS_FILE} has no row for {}", TREE.full_name(*county)));
            let city = TREE.parent(*county).unwrap();
            assert!(outline(city).contains(*seat), "seat of {} {seat:?} is outside its city", TREE.full_name(*county));
        }
        assert_eq!(seats.len(), counties.len(), "{COUNTY_SEATS_FILE} has rows for regions that are not Zhejiang counties");
        let weights = read_county_population(&TREE).unwrap();
        assert!(counties.iter().all(|county| weights.contains_key(county)));
        assert_eq!(weights.len(), counties.len());
    }

    #[test]
    fn demo_data_population_covers_every_county_for_three_years() {
        let population = &DATA.population;
        let counties = counties();
        assert_eq!(population.len(), counties.len() * 3);
        for county in &counties {
            let years: Vec<u64> = [2022, 2023, 2024]
                .iter()
                .map(|year| population.iter().find(|record| record.region == *county && record.year == *year).unwrap().population)
                .collect();
            assert!(years[0] < years[1] && years[1] < years[2], "{}: {years:?} should grow", TREE.full_name(*county));
            assert!(years[1] > 50_000, "{}: {years:?}", TREE.full_name(*county));
        }
        let total = |within: RegionCode, year: u16| -> u64 {
            population.iter().filter(|record| record.year == year && within.contains(record.region)).map(|record| record.population).sum()
        };
        let province = total(code("33"), 2023);
        assert!((60_000_000..=70_000_000).contains(&province), "Zhejiang 2023: {province}");
        for city in &CITIES {
            let actual = total(code(city.code), 2023) as f64;
            assert!((actual / city.population as f64 - 1.0).abs() < 0.001, "{}: {actual} vs {}", city.code, city.population);
        }
        // Hangzhou's urban districts are bigger than its rural counties.
        assert!(total(code("330109"), 2023) > 4 * total(code("330127"), 2023));
    }

    #[test]
    fn demo_data_has_enough_venues_in_every_city() {
        let venues = &DATA.venues;
        assert!(venues.len() >= 500, "{} venues", venues.len());
        for city in city_codes() {
            let count = venues.iter().filter(|venue| city.contains(venue.region)).count();
            assert!(count >= 20, "{}: {count} venues", TREE.full_name(city));
        }
        let in_hangzhou = venues.iter().filter(|venue| code("3301").contains(venue.region)).count();
        let in_zhoushan = venues.iter().filter(|venue| code("3309").contains(venue.region)).count();
        assert!(in_hangzhou > 3 * in_zhoushan);
    }

    #[test]
    fn demo_data_venues_lie_in_their_city_and_region() {
        for venue in &DATA.venues {
            let city = city_codes()
                .into_iter()
                .find(|city| city.contains(venue.region))
                .unwrap_or_else(|| panic!("{}: region {:?} is not in a Zhejiang city", venue.id, venue.region));
            assert!(TREE.contains(venue.region), "{}: {:?}", venue.id, venue.region);
            assert!(matches!(venue.region.level(), RegionLevel::County | RegionLevel::Street), "{}", venue.id);
            assert!(outline(city).contains(venue.location), "{} {} at {:?} is outside {}", venue.id, venue.name, venue.location, TREE.full_name(city));
            let profile = CITIES.iter().find(|profile| code(profile.code) == city).unwrap();
            assert!(venue.phone.starts_with(&format!("{}-", profile.phone_area_code)), "{}: {}", venue.id, venue.phone);
            assert_eq!(venue.phone.len(), 5 + profile.phone_digits, "{}: {}", venue.id, venue.phone);
            let county = TREE.get(venue.region.parent_by_digits().filter(|_| venue.region.level() == RegionLevel::Street).unwrap_or(venue.region)).unwrap();
            assert!(venue.address.contains(&county.name), "{}: {}", venue.id, venue.address);
        }
    }

    #[test]
    fn demo_data_ids_are_sequential_and_names_unique_within_a_county() {
        let mut names = HashSet::new();
        for (index, venue) in DATA.venues.iter().enumerate() {
            assert_eq!(venue.id.as_str(), format!("demo-{:04}", index + 1));
            let county = if venue.region.level() == RegionLevel::Street { venue.region.parent_by_digits().unwrap() } else { venue.region };
            assert!(names.insert((county, venue.name.clone())), "{} is used twice in {}", venue.name, TREE.full_name(county));
            assert!(!venue.name.ends_with("号"), "{}: every name attempt collided", venue.name);
        }
    }

    #[test]
    fn demo_data_is_deterministic_per_seed() {
        assert_eq!(*DATA, generate(&TREE, CITIES_GEOJSON, SEED).unwrap());
        let other = generate(&TREE, CITIES_GEOJSON, SEED + 1).unwrap();
        assert_ne!(DATA.venues, other.venues);
        assert_ne!(DATA.population, other.population);
        assert_eq!(DATA.venues.len(), other.venues.len());
    }

    #[test]
    fn demo_data_venue_fields_fit_the_type() {
        // (type, smallest and largest sports area)
        let areas = [
            (VenueType::FitnessPath, 200.0, 800.0),
            (VenueType::BallCourts, 600.0, 4_000.0),
            (VenueType::PeoplesGym, 150.0, 600.0),
            (VenueType::Gymnasium, 2_000.0, 12_000.0),
            (VenueType::Stadium, 8_000.0, 40_000.0),
            (VenueType::SwimmingPool, 800.0, 3_000.0),
            (VenueType::Greenway, 2_000.0, 20_000.0),
            (VenueType::SchoolVenue, 1_200.0, 12_000.0),
            (VenueType::FitnessPlaza, 1_000.0, 6_000.0),
            (VenueType::Other, 200.0, 2_000.0),
        ];
        for venue in &DATA.venues {
            let (_, min, max) = areas.iter().find(|(venue_type, _, _)| *venue_type == venue.venue_type).unwrap();
            assert!((*min..=*max).contains(&venue.sports_area_m2), "{}: {} m²", venue.name, venue.sports_area_m2);
            assert!(!venue.sports.is_empty());
            assert_eq!(venue.owner_kind == OwnerKind::School, venue.venue_type == VenueType::SchoolVenue, "{}", venue.name);
            if venue.venue_type == VenueType::SwimmingPool {
                assert!(venue.free_hours.is_never() && venue.low_fee_hours == venue.opening_hours, "{}", venue.name);
            }
            if matches!(venue.venue_type, VenueType::FitnessPath | VenueType::Greenway) {
                assert_eq!(venue.free_hours, venue.opening_hours, "{}", venue.name);
            }
            assert!(venue.opened_year.is_none_or(|year| (1995..=2024).contains(&year)));
        }
        for venue_type in VenueType::ALL {
            assert!(DATA.venues.iter().any(|venue| venue.venue_type == *venue_type), "no {}", venue_type.slug());
        }
        let count = |venue_type| DATA.venues.iter().filter(|venue| venue.venue_type == venue_type).count();
        assert!(count(VenueType::FitnessPath) > count(VenueType::Stadium) + count(VenueType::Gymnasium) + count(VenueType::SwimmingPool));
        let open = DATA.venues.iter().filter(|venue| venue.status == VenueStatus::Open).count();
        assert!(open * 10 > DATA.venues.len() * 8 && open < DATA.venues.len());
    }

    #[test]
    fn demo_data_hours_options_are_consistent() {
        for kind in KINDS {
            assert!(!kind.names.is_empty() && !kind.hours.is_empty() && !kind.sports.is_empty(), "{}", kind.venue_type.slug());
            for option in kind.hours {
                let opening = WeeklyHours::parse(option.opening).unwrap();
                let free = WeeklyHours::parse(option.free).unwrap();
                let low_fee = WeeklyHours::parse(option.low_fee).unwrap();
                assert!(!opening.is_never(), "{}", option.opening);
                assert_eq!(free.intersect(&opening), free, "free {} not within {}", option.free, option.opening);
                assert_eq!(low_fee.intersect(&opening), low_fee, "low fee {} not within {}", option.low_fee, option.opening);
                assert!(free.intersect(&low_fee).is_never(), "free {} overlaps low fee {}", option.free, option.low_fee);
            }
        }
        for venue in &DATA.venues {
            assert_eq!(venue.free_hours.intersect(&venue.opening_hours), venue.free_hours, "{}", venue.name);
            assert_eq!(venue.low_fee_hours.intersect(&venue.opening_hours), venue.low_fee_hours, "{}", venue.name);
        }
    }

    #[test]
    fn demo_data_some_venues_are_free_at_every_hour() {
        for weekday in 0..7 {
            for hour in 0..24u16 {
                let minute = hour * 60 + 30;
                let free = DATA.venues.iter().filter(|venue| venue.status == VenueStatus::Open && venue.free_hours.contains(weekday, minute)).count();
                assert!(free >= 20, "day {weekday} {hour}:30: only {free} venues free");
            }
        }
    }

    #[test]
    fn demo_data_has_40_venues_near_west_lake() {
        let west_lake = point(WEST_LAKE.0, WEST_LAKE.1);
        for seed in [SEED, 0, 1, 42] {
            let data = if seed == SEED { DATA.clone() } else { generate(&TREE, CITIES_GEOJSON, seed).unwrap() };
            let near = data.venues.iter().filter(|venue| venue.location.distance_m(west_lake) <= 5_000.0).count();
            assert!(near >= 40, "seed {seed}: {near} venues within 5 km of West Lake");
        }
    }

    #[test]
    fn demo_data_generate_reports_missing_inputs() {
        let without_zhejiang = RegionTree::build(vec![Region { code: code("11"), name: "北京市".into() }]).unwrap().0;
        let error = generate(&without_zhejiang, CITIES_GEOJSON, SEED).unwrap_err();
        assert!(error.contains("city 3301 is not in the region tree"), "{error}");
        let mut collection: serde_json::Value = serde_json::from_str(CITIES_GEOJSON).unwrap();
        collection["features"].as_array_mut().unwrap().retain(|feature| feature["id"] != "331100");
        let error = generate(&TREE, &collection.to_string(), SEED).unwrap_err();
        assert!(error.contains("no feature with id 3311 (丽水市)"), "{error}");
    }

    #[test]
    fn demo_data_allocate_splits_by_weight_with_a_minimum() {
        let cases: [(usize, &[u64], usize, &[usize]); 5] =
            [(10, &[1, 1], 2, &[5, 5]), (10, &[3, 1], 2, &[7, 3]), (11, &[1, 1, 1], 2, &[4, 4, 3]), (3, &[5, 5], 2, &[2, 2]), (7, &[0, 0], 1, &[1, 1])];
        for (total, weights, minimum, expect) in cases {
            assert_eq!(allocate(total, weights, minimum), expect, "{total} over {weights:?}");
        }
    }

    #[test]
    fn demo_data_stem_strips_level_suffixes() {
        for (name, expect) in
            [("北山街道", "北山"), ("西湖区", "西湖"), ("义乌市", "义乌"), ("景宁畲族自治县", "景宁"), ("千岛湖镇", "千岛湖"), ("城区", "城区")]
        {
            assert_eq!(stem(name), expect);
        }
    }

    #[test]
    fn demo_data_places_are_in_their_county() {
        let places = fitforall_server::reference::embedded_places(&TREE).unwrap();
        assert!(places.len() >= 60, "{} places", places.len());
        let mut names = HashSet::new();
        for place in &places {
            assert!(names.insert(place.name_zh.as_str()), "{} twice", place.name_zh);
            assert!(!place.name_en.trim().is_empty(), "{}", place.name_zh);
            assert_eq!(place.region.level(), RegionLevel::County, "{}", place.name_zh);
            let city = TREE.parent(place.region).unwrap();
            assert!(outline(city).contains(place.location), "{} is outside {}", place.name_zh, TREE.full_name(city));
        }
        for required in ["西湖", "武林广场", "杭州东站", "黄龙体育中心", "杭州奥体中心", "西溪湿地", "钱江新城", "滨江", "萧山国际机场", "浙江大学紫金港校区"]
        {
            assert!(names.contains(required), "{required} is missing");
        }
        let west_lake = places.iter().find(|place| place.name_zh == "西湖").unwrap();
        assert_eq!((west_lake.location.lat(), west_lake.location.lng()), WEST_LAKE);
        for city in city_codes() {
            let count = places.iter().filter(|place| city.contains(place.region)).count();
            assert!(count >= 3, "{}: {count} places", TREE.full_name(city));
        }
    }
}
