//! Reading import files (CSV, GeoJSON) into domain rows. Every bad row is reported with its
//! location, column and reason; callers decide whether anything is written (nothing, unless told to
//! skip invalid rows). Duplicate ids within a file are errors.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;

use fitforall_core::indicator::{MAX_POPULATION, MAX_YEAR, MIN_YEAR, PopulationRecord};
use fitforall_core::region::{Region, RegionCode, RegionTree};
use fitforall_core::venue::{ListInput, Venue, VenueId, VenueInput};

/// Stop collecting errors after this many (the report would be unreadable anyway).
pub const MAX_REPORTED_ERRORS: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowLocation {
    /// 1-based line of a CSV file (the header is line 1).
    Line(u64),
    /// 1-based feature number of a GeoJSON FeatureCollection.
    Feature(usize),
    /// The file as a whole.
    File,
}

impl fmt::Display for RowLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowLocation::Line(line) => write!(f, "line {line}"),
            RowLocation::Feature(number) => write!(f, "feature {number}"),
            RowLocation::File => write!(f, "file"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub location: RowLocation,
    pub column: String,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column.is_empty() {
            write!(f, "{}: {}", self.location, self.reason)
        } else {
            write!(f, "{}, column {}: {}", self.location, self.column, self.reason)
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportReport<T> {
    /// Valid rows, in file order.
    pub rows: Vec<T>,
    pub errors: Vec<RowError>,
    /// Data rows seen (valid or not).
    pub rows_read: usize,
    /// True when errors beyond [`MAX_REPORTED_ERRORS`] were not listed.
    pub errors_truncated: bool,
}

impl<T> Default for ImportReport<T> {
    fn default() -> Self {
        ImportReport { rows: Vec::new(), errors: Vec::new(), rows_read: 0, errors_truncated: false }
    }
}

impl<T> ImportReport<T> {
    fn error(&mut self, location: RowLocation, column: &str, reason: impl Into<String>) {
        if self.errors.len() >= MAX_REPORTED_ERRORS {
            self.errors_truncated = true;
            return;
        }
        self.errors.push(RowError { location, column: column.to_string(), reason: reason.into() });
    }

    /// Rows with at least one error.
    pub fn invalid_rows(&self) -> usize {
        self.rows_read - self.rows.len()
    }
}

/// A CSV file's header checked against the columns a kind of row knows.
struct Columns {
    index: HashMap<String, usize>,
}

impl Columns {
    fn read<R: Read, T>(reader: &mut csv::Reader<R>, required: &[&str], optional: &[&str], report: &mut ImportReport<T>) -> Option<Columns> {
        let headers = match reader.headers() {
            Ok(headers) => headers.clone(),
            Err(error) => {
                report.error(RowLocation::Line(1), "", format!("cannot read the header: {error}"));
                return None;
            }
        };
        let mut index = HashMap::new();
        let mut ok = true;
        for (position, name) in headers.iter().enumerate() {
            let name = name.trim().trim_start_matches('\u{feff}').to_string();
            if !required.contains(&name.as_str()) && !optional.contains(&name.as_str()) {
                let known: Vec<&str> = required.iter().chain(optional).copied().collect();
                report.error(RowLocation::Line(1), &name, format!("unknown column (known columns: {})", known.join(", ")));
                ok = false;
            }
            if index.insert(name.clone(), position).is_some() {
                report.error(RowLocation::Line(1), &name, "column appears twice");
                ok = false;
            }
        }
        for name in required {
            if !index.contains_key(*name) {
                report.error(RowLocation::Line(1), name, "missing column");
                ok = false;
            }
        }
        ok.then_some(Columns { index })
    }

    fn get<'r>(&self, record: &'r csv::StringRecord, name: &str) -> Option<&'r str> {
        self.index.get(name).and_then(|position| record.get(*position)).map(str::trim)
    }
}

fn records<R: Read, T>(reader: &mut csv::Reader<R>, report: &mut ImportReport<T>, mut each: impl FnMut(u64, &csv::StringRecord, &mut ImportReport<T>)) {
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                report.rows_read += 1;
                let line = record.position().map(|position| position.line()).unwrap_or(0);
                each(line, &record, report);
            }
            Err(error) => {
                report.rows_read += 1;
                let line = error.position().map(|position| position.line()).unwrap_or(0);
                report.error(RowLocation::Line(line), "", format!("malformed CSV: {error}"));
                if !matches!(error.kind(), csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }) {
                    break;
                }
            }
        }
    }
}

fn csv_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new().flexible(false).from_reader(input)
}

/// `code,name[,…]`: any of the shared/data/regions files, or a plain two-column file. Other columns
/// of those files (parent codes) are ignored: the parent follows from the code.
pub fn read_regions_csv<R: Read>(input: R) -> ImportReport<Region> {
    let mut report = ImportReport::default();
    let mut reader = csv_reader(input);
    let optional = ["provinceCode", "cityCode", "areaCode", "parent_code", "level"];
    let Some(columns) = Columns::read(&mut reader, &["code", "name"], &optional, &mut report) else { return report };
    let mut seen: HashMap<RegionCode, u64> = HashMap::new();
    records(&mut reader, &mut report, |line, record, report| {
        let location = RowLocation::Line(line);
        let code_text = columns.get(record, "code").unwrap_or("");
        let name = columns.get(record, "name").unwrap_or("");
        let code = match RegionCode::parse(code_text) {
            Ok(code) => code,
            Err(error) => return report.error(location, "code", error.to_string()),
        };
        if name.is_empty() {
            return report.error(location, "name", "is required");
        }
        if let Some(first) = seen.insert(code, line) {
            return report.error(location, "code", format!("duplicate code {code_text} (first on line {first})"));
        }
        report.rows.push(Region { code, name: name.to_string() });
    });
    report
}

/// `region_code,year,population`: year-end resident population of a region.
pub fn read_population_csv<R: Read>(input: R, tree: &RegionTree) -> ImportReport<PopulationRecord> {
    let mut report = ImportReport::default();
    let mut reader = csv_reader(input);
    let Some(columns) = Columns::read(&mut reader, &["region_code", "year", "population"], &["name"], &mut report) else { return report };
    let mut seen: HashMap<(RegionCode, u16), u64> = HashMap::new();
    records(&mut reader, &mut report, |line, record, report| {
        let location = RowLocation::Line(line);
        let errors_before = report.errors.len();
        let code_text = columns.get(record, "region_code").unwrap_or("");
        let region = match RegionCode::parse(code_text) {
            Ok(code) if tree.contains(code) => Some(code),
            Ok(_) => {
                report.error(location, "region_code", format!("{code_text} is not in the region hierarchy"));
                None
            }
            Err(error) => {
                report.error(location, "region_code", error.to_string());
                None
            }
        };
        let year_text = columns.get(record, "year").unwrap_or("");
        let year = match year_text.parse::<u16>() {
            Ok(year) if (MIN_YEAR..=MAX_YEAR).contains(&year) => Some(year),
            _ => {
                report.error(location, "year", format!("expected a year between {MIN_YEAR} and {MAX_YEAR}, got {year_text:?}"));
                None
            }
        };
        let population_text = columns.get(record, "population").unwrap_or("");
        let population = match population_text.parse::<u64>() {
            Ok(population) if population <= MAX_POPULATION => Some(population),
            Ok(_) => {
                report.error(location, "population", format!("must be at most {MAX_POPULATION}, got {population_text}"));
                None
            }
            Err(_) => {
                report.error(location, "population", format!("expected a whole number ≥ 0, got {population_text:?}"));
                None
            }
        };
        if report.errors.len() > errors_before {
            return;
        }
        let (region, year, population) = (region.expect("checked"), year.expect("checked"), population.expect("checked"));
        if let Some(first) = seen.insert((region, year), line) {
            return report.error(location, "region_code", format!("duplicate region {code_text} and year {year} (first on line {first})"));
        }
        report.rows.push(PopulationRecord { region, year, population });
    });
    report
}

pub const VENUE_REQUIRED_COLUMNS: [&str; 7] = ["id", "name", "region_code", "lat", "lng", "type", "sports_area_m2"];
pub const VENUE_OPTIONAL_COLUMNS: [&str; 11] =
    ["address", "sports", "setting", "owner_kind", "opening_hours", "free_hours", "low_fee_hours", "accessibility", "status", "opened_year", "phone"];

/// Venues as CSV, one row per venue, columns named as the API's fields (`type` for the venue type;
/// lists separated by `;`).
pub fn read_venues_csv<R: Read>(input: R, tree: &RegionTree) -> ImportReport<Venue> {
    let mut report = ImportReport::default();
    let mut reader = csv_reader(input);
    let Some(columns) = Columns::read(&mut reader, &VENUE_REQUIRED_COLUMNS, &VENUE_OPTIONAL_COLUMNS, &mut report) else { return report };
    let mut seen = HashMap::new();
    records(&mut reader, &mut report, |line, record, report| {
        let location = RowLocation::Line(line);
        let text = |name: &str| columns.get(record, name).filter(|value| !value.is_empty()).map(str::to_string);
        let mut number_errors = Vec::new();
        let mut number = |name: &'static str| -> Option<f64> {
            let value = text(name)?;
            match value.parse::<f64>() {
                Ok(number) if number.is_finite() => Some(number),
                _ => {
                    number_errors.push((name, format!("expected a number, got {value:?}")));
                    None
                }
            }
        };
        let lat = number("lat");
        let lng = number("lng");
        let sports_area_m2 = number("sports_area_m2");
        let opened_year = match text("opened_year") {
            None => None,
            Some(value) => match value.parse::<i64>() {
                Ok(year) => Some(year),
                Err(_) => {
                    number_errors.push(("opened_year", format!("expected a year, got {value:?}")));
                    None
                }
            },
        };
        let input = VenueInput {
            id: text("id"),
            name: text("name"),
            region_code: text("region_code"),
            address: text("address"),
            lat,
            lng,
            venue_type: text("type"),
            sports: text("sports").map(ListInput::Text),
            sports_area_m2,
            setting: text("setting"),
            owner_kind: text("owner_kind"),
            opening_hours: text("opening_hours"),
            free_hours: text("free_hours"),
            low_fee_hours: text("low_fee_hours"),
            accessibility: text("accessibility").map(ListInput::Text),
            status: text("status"),
            opened_year,
            phone: text("phone"),
        };
        let number_error_fields: Vec<&str> = number_errors.iter().map(|(field, _)| *field).collect();
        for (field, reason) in &number_errors {
            report.error(location, field, reason.clone());
        }
        let venue = parse_venue(&input, tree, location, report, &number_error_fields);
        accept_venue(venue, location, &mut seen, report);
    });
    report
}

/// Venues as a GeoJSON FeatureCollection of Points; properties as the CSV columns (lists may be
/// arrays); the id from `properties.id` or the feature's `id`.
pub fn read_venues_geojson(text: &str, tree: &RegionTree) -> ImportReport<Venue> {
    let mut report = ImportReport::default();
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => {
            report.error(RowLocation::File, "", format!("not valid JSON: {error}"));
            return report;
        }
    };
    if value["type"] != "FeatureCollection" {
        report.error(RowLocation::File, "type", "expected a GeoJSON FeatureCollection");
        return report;
    }
    let Some(features) = value["features"].as_array() else {
        report.error(RowLocation::File, "features", "expected an array of features");
        return report;
    };
    let mut seen = HashMap::new();
    for (index, feature) in features.iter().enumerate() {
        report.rows_read += 1;
        let location = RowLocation::Feature(index + 1);
        let geometry = &feature["geometry"];
        let coordinates = geometry["coordinates"].as_array();
        let (lng, lat) = match (geometry["type"].as_str(), coordinates) {
            (Some("Point"), Some(position)) if position.len() >= 2 => (position[0].as_f64(), position[1].as_f64()),
            _ => {
                report.error(location, "geometry", "expected a Point geometry with [longitude, latitude]");
                continue;
            }
        };
        let mut properties = feature["properties"].clone();
        let Some(map) = properties.as_object_mut() else {
            report.error(location, "properties", "expected an object");
            continue;
        };
        if !map.contains_key("id") {
            match &feature["id"] {
                serde_json::Value::String(id) => {
                    map.insert("id".into(), id.clone().into());
                }
                serde_json::Value::Number(id) => {
                    map.insert("id".into(), id.to_string().into());
                }
                _ => {}
            }
        }
        map.insert("lat".into(), lat.into());
        map.insert("lng".into(), lng.into());
        let input: VenueInput = match serde_json::from_value(properties) {
            Ok(input) => input,
            Err(error) => {
                report.error(location, "properties", error.to_string());
                continue;
            }
        };
        let venue = parse_venue(&input, tree, location, &mut report, &[]);
        accept_venue(venue, location, &mut seen, &mut report);
    }
    report
}

fn parse_venue(input: &VenueInput, tree: &RegionTree, location: RowLocation, report: &mut ImportReport<Venue>, already_reported: &[&str]) -> Option<Venue> {
    let id = match input.id.as_deref().map(VenueId::parse) {
        None => {
            report.error(location, "id", "is required");
            None
        }
        Some(Err(reason)) => {
            report.error(location, "id", reason);
            None
        }
        Some(Ok(id)) => Some(id),
    };
    let placeholder = VenueId::parse("pending").expect("valid");
    match input.parse(id.clone().unwrap_or(placeholder), |code| tree.contains(code)) {
        Ok(venue) if id.is_some() && already_reported.is_empty() => Some(venue),
        Ok(_) => None,
        Err(errors) => {
            for error in errors {
                if already_reported.contains(&error.field) {
                    continue;
                }
                report.error(location, error.field, error.reason);
            }
            None
        }
    }
}

fn accept_venue(venue: Option<Venue>, location: RowLocation, seen: &mut HashMap<VenueId, RowLocation>, report: &mut ImportReport<Venue>) {
    let Some(venue) = venue else { return };
    if let Some(first) = seen.insert(venue.id.clone(), location) {
        return report.error(location, "id", format!("duplicate id {} (first on {first})", venue.id));
    }
    report.rows.push(venue);
}

#[cfg(test)]
mod tests {
    use super::*;
    use fitforall_core::region::Region;

    fn tree() -> RegionTree {
        let raw = [("33", "浙江省"), ("3301", "杭州市"), ("330106", "西湖区")];
        RegionTree::build(raw.iter().map(|(c, n)| Region { code: RegionCode::parse(c).unwrap(), name: n.to_string() }).collect()).unwrap().0
    }

    fn errors<T>(report: &ImportReport<T>) -> Vec<String> {
        report.errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn regions_csv() {
        let report = read_regions_csv("code,name,cityCode\n330106,\"西湖区\",3301\n33x,坏,\n330106,重复,\n3302,,\n".as_bytes());
        assert_eq!(report.rows.len(), 1);
        assert_eq!(
            errors(&report),
            [
                "line 3, column code: region code must contain only digits, got \"33x\"",
                "line 4, column code: duplicate code 330106 (first on line 2)",
                "line 5, column name: is required"
            ]
        );
    }

    #[test]
    fn population_csv() {
        let text = "region_code,year,population\n330106,2023,1160000\n330199,2023,5\n3301,20x3,5\n3301,2023,-4\n330106,2023,7\n";
        let report = read_population_csv(text.as_bytes(), &tree());
        assert_eq!(report.rows.len(), 1);
        assert_eq!(report.invalid_rows(), 4);
        assert_eq!(
            errors(&report),
            [
                "line 3, column region_code: 330199 is not in the region hierarchy",
                "line 4, column year: expected a year between 1949 and 2100, got \"20x3\"",
                "line 5, column population: expected a whole number ≥ 0, got \"-4\"",
                "line 6, column region_code: duplicate region 330106 and year 2023 (first on line 2)",
            ]
        );
        let report = read_population_csv("region,year\n".as_bytes(), &tree());
        assert_eq!(
            errors(&report),
            [
                "line 1, column region: unknown column (known columns: region_code, year, population, name)",
                "line 1, column region_code: missing column",
                "line 1, column population: missing column"
            ]
        );
    }

    const VENUE_HEADER: &str = "id,name,region_code,lat,lng,type,sports_area_m2,sports,opening_hours,free_hours\n";

    #[test]
    fn venues_csv_reports_each_bad_row() {
        let text = format!(
            "{VENUE_HEADER}\
             v1,西湖体育馆,330106,30.26,120.13,gymnasium,3000,basketball;badminton,Mo-Su 06:00-22:00,Mo-Fr 06:00-08:00\n\
             v2,坏坐标,330106,abc,120.13,gymnasium,3000,,,\n\
             v3,未知类型,330106,30.26,120.13,castle,10,,,\n\
             v1,重复,330106,30.26,120.13,gymnasium,3000,,,\n\
             v4,不存在的区,330199,30.26,120.13,gymnasium,3000,,,\n\
             v5,short row\n"
        );
        let report = read_venues_csv(text.as_bytes(), &tree());
        assert_eq!(report.rows.len(), 1);
        assert_eq!(report.rows_read, 6);
        assert_eq!(
            errors(&report),
            [
                "line 3, column lat: expected a number, got \"abc\"",
                "line 4, column type: unknown value \"castle\" (one of: stadium, gymnasium, swimming_pool, ball_courts, fitness_path, peoples_gym, school_venue, greenway, fitness_plaza, other)",
                "line 5, column id: duplicate id v1 (first on line 2)",
                "line 6, column region_code: 330199 is not in the region hierarchy",
                "line 7: malformed CSV: CSV error: record 6 (line: 7, byte: 394): found record with 2 fields, but the previous record has 10 fields",
            ]
        );
    }

    #[test]
    fn venues_geojson() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","id":"g1","geometry":{"type":"Point","coordinates":[120.13,30.26]},
             "properties":{"name":"西湖健身路径","region_code":"330106","type":"fitness_path","sports_area_m2":300,"sports":["fitness"]}},
            {"type":"Feature","geometry":{"type":"LineString","coordinates":[]},"properties":{}},
            {"type":"Feature","geometry":{"type":"Point","coordinates":[120.13,95]},"properties":{"id":"g3","name":"x","region_code":"330106","type":"other","sports_area_m2":1}},
            {"type":"Feature","geometry":{"type":"Point","coordinates":[120.13,30]},"properties":{"id":"g4","colour":"red"}}
        ]}"#;
        let report = read_venues_geojson(text, &tree());
        assert_eq!(report.rows.len(), 1);
        assert_eq!(report.rows[0].id.as_str(), "g1");
        assert_eq!(
            errors(&report),
            [
                "feature 2, column geometry: expected a Point geometry with [longitude, latitude]",
                "feature 3, column lat: latitude must be a number between -90 and 90, got 95",
                "feature 4, column properties: unknown field `colour`, expected one of `id`, `name`, `region_code`, `address`, `lat`, `lng`, `type`, `sports`, `sports_area_m2`, `setting`, `owner_kind`, `opening_hours`, `free_hours`, `low_fee_hours`, `accessibility`, `status`, `opened_year`, `phone`",
            ]
        );
        assert_eq!(errors(&read_venues_geojson("{", &tree())), ["file: not valid JSON: EOF while parsing an object at line 1 column 1"]);
    }
}
