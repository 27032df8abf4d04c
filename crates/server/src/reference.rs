//! Reference data shipped inside the binary (copied from shared/data into data/): the region
//! hierarchy, map outlines and the place gazetteer.

use fitforall_core::geo::LatLng;
use fitforall_core::region::{Region, RegionCode, RegionTree};

use crate::import::{self, RowError};

pub const PROVINCES_CSV: &str = include_str!("../../../data/regions/provinces.csv");
pub const CITIES_CSV: &str = include_str!("../../../data/regions/cities.csv");
pub const AREAS_CSV: &str = include_str!("../../../data/regions/areas.csv");
pub const STREETS_CSV: &str = include_str!("../../../data/regions/streets.csv");
pub const ZHEJIANG_CITIES_GEOJSON: &str = include_str!("../../../data/maps/zhejiang-cities.geojson");
pub const CHINA_PROVINCES_GEOJSON: &str = include_str!("../../../data/maps/china-provinces.geojson");
pub const PLACES_CSV: &str = include_str!("../../../data/places.csv");

/// China's 2023 division codes, provinces first (so a code repeated at a lower level folds upward).
pub fn embedded_regions() -> Result<Vec<Region>, Vec<RowError>> {
    let mut regions = Vec::with_capacity(45_000);
    for text in [PROVINCES_CSV, CITIES_CSV, AREAS_CSV, STREETS_CSV] {
        let report = import::read_regions_csv(text.as_bytes());
        if !report.errors.is_empty() {
            return Err(report.errors);
        }
        regions.extend(report.rows);
    }
    Ok(regions)
}

/// A named point people search for ("西湖", "杭州东站").
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Place {
    pub name_zh: String,
    pub name_en: String,
    pub location: LatLng,
    pub region: RegionCode,
}

#[derive(serde::Deserialize)]
struct PlaceRow {
    name_zh: String,
    name_en: String,
    lat: f64,
    lng: f64,
    region_code: String,
}

pub fn embedded_places(tree: &RegionTree) -> Result<Vec<Place>, String> {
    let mut reader = csv::Reader::from_reader(PLACES_CSV.as_bytes());
    let mut places = Vec::new();
    for (index, row) in reader.deserialize::<PlaceRow>().enumerate() {
        let line = index + 2;
        let row = row.map_err(|error| format!("data/places.csv line {line}: {error}"))?;
        let location = LatLng::new(row.lat, row.lng).map_err(|error| format!("data/places.csv line {line}: {error}"))?;
        let region = RegionCode::parse(&row.region_code).map_err(|error| format!("data/places.csv line {line}: {error}"))?;
        if !tree.contains(region) {
            return Err(format!("data/places.csv line {line}: region {} is not in the hierarchy", row.region_code));
        }
        places.push(Place { name_zh: row.name_zh, name_en: row.name_en, location, region });
    }
    Ok(places)
}

/// Label points of provinces and Zhejiang's cities, from the map files' `cp` properties.
pub fn label_points() -> Vec<(RegionCode, LatLng)> {
    let mut points = Vec::new();
    for text in [CHINA_PROVINCES_GEOJSON, ZHEJIANG_CITIES_GEOJSON] {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else { continue };
        let Some(features) = value["features"].as_array() else { continue };
        for feature in features {
            let code = feature["id"].as_str().and_then(|id| RegionCode::parse(id).ok());
            let cp = feature["properties"]["cp"].as_array();
            if let (Some(code), Some(cp)) = (code, cp)
                && let (Some(lng), Some(lat)) = (cp.first().and_then(|v| v.as_f64()), cp.get(1).and_then(|v| v.as_f64()))
                && let Ok(location) = LatLng::new(lat, lng)
            {
                points.push((code, location));
            }
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_regions_build_a_tree() {
        let regions = embedded_regions().unwrap();
        let (tree, report) = RegionTree::build(regions).unwrap();
        assert!(tree.len() > 44_000, "{} regions", tree.len());
        // 东莞市, 中山市, 儋州市 have county-level entries equal to the city; 金门县 a street equal to the county.
        assert_eq!(report.folded_duplicates.len(), 4);
        let hangzhou = RegionCode::parse("3301").unwrap();
        assert_eq!(tree.get(hangzhou).unwrap().name, "杭州市");
        assert_eq!(tree.children(RegionCode::parse("33").unwrap()).len(), 11);
        let places = embedded_places(&tree).unwrap();
        assert!(places.iter().any(|place| place.name_zh == "西湖"));
        assert!(label_points().iter().any(|(code, _)| *code == hangzhou));
    }
}
