//! Venues (DESIGN §4): the parsed domain type and the raw input every edge (JSON, CSV, GeoJSON) fills.

use crate::geo::LatLng;
use crate::hours::WeeklyHours;
use crate::region::RegionCode;

/// Largest sports area accepted for one venue (the largest stadium complexes are ~1 km²).
pub const MAX_SPORTS_AREA_M2: f64 = 5_000_000.0;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_ADDRESS_CHARS: usize = 300;
pub const MAX_ID_LEN: usize = 64;

macro_rules! slug_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = ($slug:literal, $zh:literal, $en:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn slug(self) -> &'static str {
                match self { $($name::$variant => $slug),+ }
            }

            pub fn name_zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            pub fn name_en(self) -> &'static str {
                match self { $($name::$variant => $en),+ }
            }

            /// Accepts the slug, the Chinese or the English name (case-insensitive).
            pub fn parse(text: &str) -> Option<$name> {
                let text = text.trim();
                $name::ALL.iter().copied().find(|value| {
                    value.slug().eq_ignore_ascii_case(text) || value.name_zh() == text || value.name_en().eq_ignore_ascii_case(text)
                })
            }

            pub fn slugs() -> String {
                $name::ALL.iter().map(|value| value.slug()).collect::<Vec<_>>().join(", ")
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.slug())
            }
        }
    };
}

slug_enum!(
    /// Venue types of DESIGN §4.
    VenueType {
        Stadium = ("stadium", "体育场", "Stadium"),
        Gymnasium = ("gymnasium", "体育馆", "Gymnasium"),
        SwimmingPool = ("swimming_pool", "游泳馆（池）", "Swimming pool"),
        BallCourts = ("ball_courts", "球场", "Ball courts"),
        FitnessPath = ("fitness_path", "全民健身路径", "Outdoor fitness equipment"),
        PeoplesGym = ("peoples_gym", "百姓健身房", "People's gym"),
        SchoolVenue = ("school_venue", "学校体育场地（对外开放）", "School venue open to the public"),
        Greenway = ("greenway", "健身步道（绿道）", "Fitness trail / greenway"),
        FitnessPlaza = ("fitness_plaza", "全民健身广场", "Fitness plaza"),
        Other = ("other", "其他", "Other"),
    }
);

slug_enum!(
    /// Sports a venue offers.
    Sport {
        Basketball = ("basketball", "篮球", "Basketball"),
        Football = ("football", "足球", "Football"),
        Volleyball = ("volleyball", "排球", "Volleyball"),
        Badminton = ("badminton", "羽毛球", "Badminton"),
        TableTennis = ("table_tennis", "乒乓球", "Table tennis"),
        Tennis = ("tennis", "网球", "Tennis"),
        Swimming = ("swimming", "游泳", "Swimming"),
        Athletics = ("athletics", "田径", "Athletics"),
        Running = ("running", "跑步", "Running"),
        Walking = ("walking", "健步走", "Walking"),
        Cycling = ("cycling", "骑行", "Cycling"),
        Fitness = ("fitness", "健身", "Fitness"),
        Yoga = ("yoga", "瑜伽", "Yoga"),
        SquareDance = ("square_dance", "广场舞", "Square dance"),
        MartialArts = ("martial_arts", "武术", "Martial arts"),
        TaiChi = ("tai_chi", "太极拳", "Tai chi"),
        Skating = ("skating", "轮滑", "Skating"),
        Climbing = ("climbing", "攀岩", "Climbing"),
        Gateball = ("gateball", "门球", "Gateball"),
        Chess = ("chess", "棋牌", "Chess and cards"),
        Other = ("other", "其他", "Other"),
    }
);

slug_enum!(
    Setting {
        Indoor = ("indoor", "室内", "Indoor"),
        Outdoor = ("outdoor", "室外", "Outdoor"),
        Mixed = ("mixed", "室内外", "Indoor and outdoor"),
    }
);

slug_enum!(
    OwnerKind {
        Public = ("public", "公共", "Public"),
        School = ("school", "学校", "School"),
        Social = ("social", "社会", "Social (private or community)"),
    }
);

slug_enum!(
    VenueStatus {
        Open = ("open", "开放", "Open"),
        Renovating = ("renovating", "改造中", "Under renovation"),
        Closed = ("closed", "停用", "Closed"),
    }
);

slug_enum!(
    Accessibility {
        StepFree = ("step_free", "无障碍通道", "Step-free access"),
        Toilet = ("accessible_toilet", "无障碍卫生间", "Accessible toilet"),
        Parking = ("accessible_parking", "无障碍停车位", "Accessible parking"),
        Elevator = ("elevator", "无障碍电梯", "Elevator"),
    }
);

/// A venue id: 1–64 characters of `A–Z a–z 0–9 . _ -`, chosen by the source (the import file's id)
/// or generated. Stable across re-imports, so an import upserts by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct VenueId(String);

impl VenueId {
    pub fn parse(text: &str) -> Result<VenueId, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("must not be empty".into());
        }
        if text.len() > MAX_ID_LEN {
            return Err(format!("must be at most {MAX_ID_LEN} characters"));
        }
        if let Some(bad) = text.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
            return Err(format!("may contain only letters, digits, '.', '_' and '-', found {bad:?}"));
        }
        Ok(VenueId(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for VenueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A venue whose every field has been parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    pub id: VenueId,
    pub name: String,
    pub region: RegionCode,
    pub address: String,
    pub location: LatLng,
    pub venue_type: VenueType,
    pub sports: Vec<Sport>,
    pub sports_area_m2: f64,
    pub setting: Setting,
    pub owner_kind: OwnerKind,
    pub opening_hours: WeeklyHours,
    pub free_hours: WeeklyHours,
    pub low_fee_hours: WeeklyHours,
    pub accessibility: Vec<Accessibility>,
    pub status: VenueStatus,
    pub opened_year: Option<u16>,
    pub phone: String,
}

impl Venue {
    /// Does this venue's sports area count toward per-capita sports area at the end of `year`?
    pub fn counts_toward_area(&self, year: u16) -> bool {
        self.status != VenueStatus::Closed && self.opened_year.is_none_or(|opened| opened <= year)
    }
}

/// Raw venue fields as they come from JSON, CSV or GeoJSON properties. Lists are either
/// JSON arrays or `;`/`,`/`、`-separated text.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueInput {
    pub id: Option<String>,
    pub name: Option<String>,
    pub region_code: Option<String>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    #[serde(rename = "type")]
    pub venue_type: Option<String>,
    pub sports: Option<ListInput>,
    pub sports_area_m2: Option<f64>,
    pub setting: Option<String>,
    pub owner_kind: Option<String>,
    pub opening_hours: Option<String>,
    pub free_hours: Option<String>,
    pub low_fee_hours: Option<String>,
    pub accessibility: Option<ListInput>,
    pub status: Option<String>,
    pub opened_year: Option<i64>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
pub enum ListInput {
    Items(Vec<String>),
    Text(String),
}

impl ListInput {
    fn items(&self) -> Vec<String> {
        match self {
            ListInput::Items(items) => items.iter().map(|item| item.trim().to_string()).filter(|item| !item.is_empty()).collect(),
            ListInput::Text(text) => text.split([';', ',', '、', '；', '，']).map(|item| item.trim().to_string()).filter(|item| !item.is_empty()).collect(),
        }
    }
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> FieldError {
        FieldError { field, reason: reason.into() }
    }
}

impl VenueInput {
    /// Parses every field, collecting every problem (not only the first).
    /// `region_exists` tells whether a code is in the hierarchy.
    pub fn parse(&self, id: VenueId, region_exists: impl Fn(RegionCode) -> bool) -> Result<Venue, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = required_text(&mut errors, "name", self.name.as_deref(), MAX_NAME_CHARS);
        let address = optional_text(&mut errors, "address", self.address.as_deref(), MAX_ADDRESS_CHARS);
        let phone = optional_text(&mut errors, "phone", self.phone.as_deref(), 40);
        let region = match self.region_code.as_deref().map(str::trim).filter(|code| !code.is_empty()) {
            None => {
                errors.push(FieldError::new("region_code", "is required"));
                None
            }
            Some(text) => match RegionCode::parse(text) {
                Err(error) => {
                    errors.push(FieldError::new("region_code", error.to_string()));
                    None
                }
                Ok(code) if !region_exists(code) => {
                    errors.push(FieldError::new("region_code", format!("{text} is not in the region hierarchy")));
                    None
                }
                Ok(code) => Some(code),
            },
        };
        let location = match (self.lat, self.lng) {
            (None, _) => {
                errors.push(FieldError::new("lat", "is required"));
                None
            }
            (_, None) => {
                errors.push(FieldError::new("lng", "is required"));
                None
            }
            (Some(lat), Some(lng)) => match LatLng::new(lat, lng) {
                Ok(location) => Some(location),
                Err(error @ crate::geo::GeoError::LatitudeOutOfRange(_)) => {
                    errors.push(FieldError::new("lat", error.to_string()));
                    None
                }
                Err(error) => {
                    errors.push(FieldError::new("lng", error.to_string()));
                    None
                }
            },
        };
        let venue_type = required_enum(&mut errors, "type", self.venue_type.as_deref(), VenueType::parse, VenueType::slugs);
        let sports = parse_list(&mut errors, "sports", self.sports.as_ref(), Sport::parse, Sport::slugs);
        let sports_area_m2 = match self.sports_area_m2 {
            None => {
                errors.push(FieldError::new("sports_area_m2", "is required"));
                None
            }
            Some(area) if !area.is_finite() || area < 0.0 => {
                errors.push(FieldError::new("sports_area_m2", format!("must be a number ≥ 0, got {area}")));
                None
            }
            Some(area) if area > MAX_SPORTS_AREA_M2 => {
                errors.push(FieldError::new("sports_area_m2", format!("must be at most {MAX_SPORTS_AREA_M2} m², got {area}")));
                None
            }
            Some(area) => Some(area),
        };
        let setting = optional_enum(&mut errors, "setting", self.setting.as_deref(), Setting::parse, Setting::slugs, Setting::Outdoor);
        let owner_kind = optional_enum(&mut errors, "owner_kind", self.owner_kind.as_deref(), OwnerKind::parse, OwnerKind::slugs, OwnerKind::Public);
        let status = optional_enum(&mut errors, "status", self.status.as_deref(), VenueStatus::parse, VenueStatus::slugs, VenueStatus::Open);
        let opening_hours = parse_hours(&mut errors, "opening_hours", self.opening_hours.as_deref());
        let free_hours = parse_hours(&mut errors, "free_hours", self.free_hours.as_deref());
        let low_fee_hours = parse_hours(&mut errors, "low_fee_hours", self.low_fee_hours.as_deref());
        let accessibility = parse_list(&mut errors, "accessibility", self.accessibility.as_ref(), Accessibility::parse, Accessibility::slugs);
        let opened_year = match self.opened_year {
            None => None,
            Some(year) if (1900..=2100).contains(&year) => Some(year as u16),
            Some(year) => {
                errors.push(FieldError::new("opened_year", format!("must be between 1900 and 2100, got {year}")));
                None
            }
        };
        if let (Some(opening), Some(free)) = (&opening_hours, &free_hours)
            && free.intersect(opening) != *free
        {
            errors.push(FieldError::new("free_hours", "must lie within opening_hours"));
        }
        if let (Some(opening), Some(low_fee)) = (&opening_hours, &low_fee_hours)
            && low_fee.intersect(opening) != *low_fee
        {
            errors.push(FieldError::new("low_fee_hours", "must lie within opening_hours"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Venue {
            id,
            name: name.expect("no errors"),
            region: region.expect("no errors"),
            address,
            location: location.expect("no errors"),
            venue_type: venue_type.expect("no errors"),
            sports: sports.expect("no errors"),
            sports_area_m2: sports_area_m2.expect("no errors"),
            setting,
            owner_kind,
            opening_hours: opening_hours.expect("no errors"),
            free_hours: free_hours.expect("no errors"),
            low_fee_hours: low_fee_hours.expect("no errors"),
            accessibility: accessibility.expect("no errors"),
            status,
            opened_year,
            phone,
        })
    }
}

fn required_text(errors: &mut Vec<FieldError>, field: &'static str, value: Option<&str>, max_chars: usize) -> Option<String> {
    match value.map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::new(field, "is required"));
            None
        }
        Some(text) if text.chars().count() > max_chars => {
            errors.push(FieldError::new(field, format!("must be at most {max_chars} characters")));
            None
        }
        Some(text) if text.chars().any(char::is_control) => {
            errors.push(FieldError::new(field, "must not contain control characters"));
            None
        }
        Some(text) => Some(text.to_string()),
    }
}

fn optional_text(errors: &mut Vec<FieldError>, field: &'static str, value: Option<&str>, max_chars: usize) -> String {
    match value.map(str::trim) {
        None | Some("") => String::new(),
        Some(_) => required_text(errors, field, value, max_chars).unwrap_or_default(),
    }
}

fn required_enum<T>(errors: &mut Vec<FieldError>, field: &'static str, value: Option<&str>, parse: fn(&str) -> Option<T>, slugs: fn() -> String) -> Option<T> {
    match value.map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::new(field, format!("is required (one of: {})", slugs())));
            None
        }
        Some(text) => {
            let parsed = parse(text);
            if parsed.is_none() {
                errors.push(FieldError::new(field, format!("unknown value {text:?} (one of: {})", slugs())));
            }
            parsed
        }
    }
}

fn optional_enum<T>(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    value: Option<&str>,
    parse: fn(&str) -> Option<T>,
    slugs: fn() -> String,
    default: T,
) -> T
where
    T: Copy,
{
    match value.map(str::trim) {
        None | Some("") => default,
        Some(_) => required_enum(errors, field, value, parse, slugs).unwrap_or(default),
    }
}

fn parse_list<T: PartialEq>(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    value: Option<&ListInput>,
    parse: fn(&str) -> Option<T>,
    slugs: fn() -> String,
) -> Option<Vec<T>> {
    let Some(value) = value else { return Some(Vec::new()) };
    let mut out = Vec::new();
    for item in value.items() {
        match parse(&item) {
            Some(parsed) if !out.contains(&parsed) => out.push(parsed),
            Some(_) => {}
            None => {
                errors.push(FieldError::new(field, format!("unknown value {item:?} (one of: {})", slugs())));
                return None;
            }
        }
    }
    if out.len() > 32 {
        errors.push(FieldError::new(field, "at most 32 entries"));
        return None;
    }
    Some(out)
}

fn parse_hours(errors: &mut Vec<FieldError>, field: &'static str, value: Option<&str>) -> Option<WeeklyHours> {
    match WeeklyHours::parse(value.unwrap_or("")) {
        Ok(hours) => Some(hours),
        Err(error) => {
            errors.push(FieldError::new(field, error.to_string()));
            None
        }
    }
}

/// Compliance with the service norm for public venues (《公共体育场馆基本公共服务规范》), as far as
/// the weekly schedule can tell: ≥ 35 h a week free or low-fee, ≥ 8 h a day on weekends, and for
/// outdoor venues ≥ 12 h free every day. The 330-days-a-year rule needs closures (booking issue).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceNormCheck {
    pub free_or_low_fee_min_per_week: u32,
    pub meets_35h_per_week: bool,
    pub weekend_min_per_day_lowest: u32,
    pub meets_8h_weekend_days: bool,
    pub outdoor_free_min_per_day_lowest: Option<u32>,
    pub meets_outdoor_12h_free: Option<bool>,
    pub compliant: bool,
}

pub fn check_service_norm(venue: &Venue) -> ServiceNormCheck {
    let free_or_low_fee = venue.free_hours.union(&venue.low_fee_hours).intersect(&venue.opening_hours);
    let per_week = free_or_low_fee.minutes_per_week();
    let weekend_lowest = free_or_low_fee.minutes_on(5).min(free_or_low_fee.minutes_on(6));
    let outdoor_lowest = (venue.setting == Setting::Outdoor).then(|| (0..7).map(|day| venue.free_hours.minutes_on(day)).min().unwrap_or(0));
    let meets_35h = per_week >= 35 * 60;
    let meets_weekend = weekend_lowest >= 8 * 60;
    let meets_outdoor = outdoor_lowest.map(|minutes| minutes >= 12 * 60);
    ServiceNormCheck {
        free_or_low_fee_min_per_week: per_week,
        meets_35h_per_week: meets_35h,
        weekend_min_per_day_lowest: weekend_lowest,
        meets_8h_weekend_days: meets_weekend,
        outdoor_free_min_per_day_lowest: outdoor_lowest,
        meets_outdoor_12h_free: meets_outdoor,
        compliant: meets_35h && meets_weekend && meets_outdoor.unwrap_or(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> VenueInput {
        VenueInput {
            id: None,
            name: Some("西湖区文体中心".into()),
            region_code: Some("330106".into()),
            address: Some("杭州市西湖区文三路".into()),
            lat: Some(30.28),
            lng: Some(120.13),
            venue_type: Some("gymnasium".into()),
            sports: Some(ListInput::Text("basketball;羽毛球".into())),
            sports_area_m2: Some(3200.0),
            setting: Some("indoor".into()),
            owner_kind: Some("public".into()),
            opening_hours: Some("Mo-Su 06:00-22:00".into()),
            free_hours: Some("Mo-Fr 06:00-08:00".into()),
            low_fee_hours: Some("Mo-Su 08:00-22:00".into()),
            accessibility: None,
            status: None,
            opened_year: Some(2015),
            phone: None,
        }
    }

    fn parse(input: &VenueInput) -> Result<Venue, Vec<FieldError>> {
        input.parse(VenueId::parse("v1").unwrap(), |code| code.province_code() == "33")
    }

    #[test]
    fn parses_a_complete_venue() {
        let venue = parse(&input()).unwrap();
        assert_eq!(venue.sports, vec![Sport::Basketball, Sport::Badminton]);
        assert_eq!(venue.status, VenueStatus::Open);
        assert_eq!(venue.region.short(), "330106");
        assert!(venue.counts_toward_area(2015));
        assert!(!venue.counts_toward_area(2014));
    }

    fn check_errors(change: impl Fn(&mut VenueInput), expect: &[(&str, &str)]) {
        let mut raw = input();
        change(&mut raw);
        let errors = parse(&raw).unwrap_err();
        let actual: Vec<(&str, &str)> = errors.iter().map(|error| (error.field, error.reason.as_str())).collect();
        assert_eq!(actual, expect);
    }

    #[test]
    fn every_bad_field_is_reported() {
        check_errors(|raw| raw.name = Some("  ".into()), &[("name", "is required")]);
        check_errors(|raw| raw.region_code = Some("110101".into()), &[("region_code", "110101 is not in the region hierarchy")]);
        check_errors(|raw| raw.region_code = Some("33x".into()), &[("region_code", "region code must contain only digits, got \"33x\"")]);
        check_errors(|raw| raw.lat = Some(95.0), &[("lat", "latitude must be a number between -90 and 90, got 95")]);
        check_errors(|raw| raw.lng = None, &[("lng", "is required")]);
        check_errors(
            |raw| raw.venue_type = Some("castle".into()),
            &[(
                "type",
                "unknown value \"castle\" (one of: stadium, gymnasium, swimming_pool, ball_courts, fitness_path, peoples_gym, school_venue, greenway, fitness_plaza, other)",
            )],
        );
        check_errors(|raw| raw.sports_area_m2 = Some(-1.0), &[("sports_area_m2", "must be a number ≥ 0, got -1")]);
        check_errors(|raw| raw.free_hours = Some("Mo 05:00-07:00".into()), &[("free_hours", "must lie within opening_hours")]);
        check_errors(|raw| raw.opened_year = Some(1800), &[("opened_year", "must be between 1900 and 2100, got 1800")]);
        check_errors(
            |raw| {
                raw.name = None;
                raw.sports = Some(ListInput::Items(vec!["curling".into()]));
            },
            &[
                ("name", "is required"),
                (
                    "sports",
                    "unknown value \"curling\" (one of: basketball, football, volleyball, badminton, table_tennis, tennis, swimming, athletics, running, walking, cycling, fitness, yoga, square_dance, martial_arts, tai_chi, skating, climbing, gateball, chess, other)",
                ),
            ],
        );
    }

    #[test]
    fn enums_accept_slug_chinese_and_english() {
        assert_eq!(VenueType::parse("体育馆"), Some(VenueType::Gymnasium));
        assert_eq!(VenueType::parse("GYMNASIUM"), Some(VenueType::Gymnasium));
        assert_eq!(VenueType::parse("People's gym"), Some(VenueType::PeoplesGym));
        assert_eq!(Sport::parse("乒乓球"), Some(Sport::TableTennis));
        assert_eq!(Sport::parse("curling"), None);
    }

    #[test]
    fn venue_id_rules() {
        assert!(VenueId::parse("ZJ-HZ-0001").is_ok());
        assert_eq!(VenueId::parse(""), Err("must not be empty".into()));
        assert_eq!(VenueId::parse("a b"), Err("may contain only letters, digits, '.', '_' and '-', found ' '".into()));
        assert!(VenueId::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn service_norm() {
        let venue = parse(&input()).unwrap();
        let check = check_service_norm(&venue);
        assert_eq!(check.free_or_low_fee_min_per_week, 5 * 16 * 60 + 2 * 14 * 60);
        assert!(check.compliant);
        let mut raw = input();
        raw.low_fee_hours = Some("Mo-Fr 08:00-12:00".into());
        raw.setting = Some("outdoor".into());
        let check = check_service_norm(&parse(&raw).unwrap());
        assert_eq!(check.free_or_low_fee_min_per_week, 5 * 6 * 60);
        assert!(!check.meets_35h_per_week);
        assert!(!check.meets_8h_weekend_days);
        assert_eq!(check.meets_outdoor_12h_free, Some(false));
        assert!(!check.compliant);
    }
}
