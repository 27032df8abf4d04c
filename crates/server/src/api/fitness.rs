//! Fitness testing (issue 5): the standards, testing stations, results entered at a station (scored
//! by `core::fitness` as they are stored), a resident's own results, and the pass-rate indicator.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, Utc};
use fitforall_core::fitness::{AgeYears, Cohort, CohortKind, Composite, Dec, SchoolGrade, ScoreCard, Sex, Standard, StudentRecord, score_student};
use fitforall_core::pass_rate::{MIN_REPORTED_N, NotStandardised, PassCount, ReportedRate, Stratum, pass_rate_report};
use fitforall_core::policy::{AccountId, Action, StationId};
use fitforall_core::region::RegionCode;
use fitforall_store::{NewFitnessResult, Station};
use std::collections::BTreeMap;

use crate::api::ApiJson;
use crate::api::regions::{RegionSummary, parse_region};
use crate::api::resources::{audit, detail, invalid_fields};
use crate::caller::Caller;
use crate::error::{ApiError, ErrorBody, ErrorDetail};
use crate::params::Params;
use crate::state::AppState;

/// Most measurements in one result.
const MAX_MEASUREMENTS: usize = 32;
/// Years a pass rate may be asked for.
const MIN_YEAR: u64 = 2000;
const MAX_YEAR: u64 = 2100;

// ----- standards -----

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct StandardView {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub version: String,
    /// Results under a provisional standard are marked so wherever they are shown.
    pub provisional: bool,
    pub known_defects: Vec<String>,
    /// grade (school grade 1–16) or age (years on the test date).
    pub cohort: String,
    /// The measurement keys a result may carry.
    pub measurements: Vec<String>,
}

fn standard_view(standard: &Standard) -> StandardView {
    StandardView {
        id: standard.id.as_str().to_string(),
        name_zh: standard.name_zh.clone(),
        name_en: standard.name_en.clone(),
        version: standard.version.clone(),
        provisional: standard.provisional,
        known_defects: standard.known_defects.clone(),
        cohort: cohort_kind_slug(standard.cohort_kind).into(),
        measurements: standard.measures().iter().map(|measure| measure.key.clone()).collect(),
    }
}

fn cohort_kind_slug(kind: CohortKind) -> &'static str {
    match kind {
        CohortKind::Grade => "grade",
        CohortKind::Age => "age",
    }
}

/// The fitness standards results are scored against.
#[utoipa::path(get, path = "/api/v1/fitness/standards", tag = "fitness", responses((status = 200, body = [StandardView])))]
pub async fn list_standards(State(state): State<AppState>) -> Json<Vec<StandardView>> {
    Json(state.standards().iter().map(standard_view).collect())
}

fn find_standard<'a>(state: &'a AppState, field: &str, text: &str) -> Result<&'a Standard, ApiError> {
    let known: Vec<&str> = state.standards().iter().map(|standard| standard.id.as_str()).collect();
    state.standards().get(text.trim()).ok_or_else(|| {
        let versions: Vec<&str> = known.iter().copied().filter(|id| id.starts_with(&format!("{}-", text.trim()))).collect();
        if versions.is_empty() {
            ApiError::invalid_parameter(field, format!("unknown standard {text:?} (known: {})", known.join(", ")))
        } else {
            ApiError::invalid_parameter(
                field,
                format!("{text:?} is not a standard id; its versions are {}; results of different versions are never mixed: name one", versions.join(", ")),
            )
        }
    })
}

// ----- stations -----

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StationInput {
    pub id: String,
    pub name: String,
    /// Region code (any form) of the station.
    pub region: String,
    #[serde(default)]
    pub address: String,
    /// The venue where the station tests: its bookable sessions are the station's appointments.
    #[serde(default)]
    pub venue_id: Option<String>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct StationView {
    pub id: String,
    pub name: String,
    pub region: String,
    pub address: String,
    pub venue_id: Option<String>,
    /// Where residents book a test: the venue's booking page (its sessions go through the booking
    /// engine like every slot); null when the station has no venue.
    pub appointments_url: Option<String>,
}

pub fn station_view(station: &Station) -> StationView {
    StationView {
        id: station.id.to_string(),
        name: station.name.clone(),
        region: station.region.short(),
        address: station.address.clone(),
        venue_id: station.venue.as_ref().map(ToString::to_string),
        appointments_url: station.venue.as_ref().map(|venue| format!("/venues/{venue}/book")),
    }
}

/// Testing stations, optionally in a region's subtree.
#[utoipa::path(get, path = "/api/v1/stations", tag = "fitness", params(("region" = Option<String>, Query, description = "Region code in any form")),
    responses((status = 200, body = [StationView]), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_stations(State(state): State<AppState>, params: Params) -> Result<Json<Vec<StationView>>, ApiError> {
    params.allow_only(&["region"])?;
    let region = params.text("region").map(|text| parse_region(&state.snapshot().regions, "region", text)).transpose()?;
    Ok(Json(state.store().stations(region).await?.iter().map(station_view).collect()))
}

/// Create a testing station. A platform administrator or a region administrator of its region.
#[utoipa::path(post, path = "/api/v1/stations", tag = "fitness", security(("bearer_token" = [])), request_body = StationInput,
    responses((status = 201, body = StationView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The id is taken")))]
pub async fn create_station(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<StationInput>) -> Result<Response, ApiError> {
    caller.require_login()?;
    let snapshot = state.snapshot();
    let mut problems = Vec::new();
    let id = StationId::parse(input.id.trim()).map_err(|reason| problems.push(detail("id", reason))).ok();
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        problems.push(detail("name", "1 to 100 characters"));
    }
    let region = match RegionCode::parse(input.region.trim()) {
        Ok(code) if snapshot.regions.contains(code) => Some(code),
        Ok(_) => {
            problems.push(detail("region", format!("region {} does not exist", input.region.trim())));
            None
        }
        Err(error) => {
            problems.push(detail("region", error.to_string()));
            None
        }
    };
    if input.address.chars().count() > 200 {
        problems.push(detail("address", "at most 200 characters"));
    }
    let venue = match input.venue_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match fitforall_core::venue::VenueId::parse(text) {
            Ok(venue) if snapshot.catalog.get(&venue).is_some() => Some(venue),
            Ok(_) => {
                problems.push(detail("venue_id", format!("venue {text} does not exist")));
                None
            }
            Err(reason) => {
                problems.push(detail("venue_id", reason));
                None
            }
        },
    };
    let (Some(id), Some(region), true) = (id, region, problems.is_empty()) else {
        return Err(invalid_fields(problems));
    };
    caller.require(&Action::ManageStations { region })?;
    let now = Utc::now();
    let station = Station { id, name, region, address: input.address.trim().to_string(), venue, created_at: now, updated_at: now };
    state.store().create_station(&station).await?;
    let view = station_view(&station);
    audit(&state, &caller, "create_station", format!("station {}", station.id), region, None, serde_json::to_string(&view).ok()).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/v1/stations/{}", station.id))], Json(view)).into_response())
}

// ----- results -----

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultInput {
    /// A standard id, e.g. cnsphs-2014.
    pub standard: String,
    /// M/F or 男/女.
    pub sex: String,
    /// School grade (1–16 or 一年级…大四) for student standards.
    #[serde(default)]
    pub grade: Option<String>,
    /// YYYY-MM-DD, for standards by age (age on the test date).
    #[serde(default)]
    pub birth_date: Option<String>,
    /// YYYY-MM-DD, not in the future.
    pub test_date: String,
    /// The person's account, when they have one (their results then appear on their report).
    #[serde(default)]
    pub account_id: Option<String>,
    /// A reference unique within the standard and test date (e.g. a student number); default
    /// `account:<id>`.
    #[serde(default)]
    pub person_ref: Option<String>,
    /// Where the person lives or studies (default: the station's region).
    #[serde(default)]
    pub region: Option<String>,
    /// Measurement key → value as text (timed runs also as 3'40" or 3:40): height_cm, weight_kg, …
    pub measurements: BTreeMap<String, String>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ItemScoreView {
    pub item: String,
    pub name_zh: String,
    pub unit: String,
    pub value: Option<String>,
    /// null when the item was not tested (missing, never a silent 0).
    pub score: Option<u8>,
    pub weight_pct: u32,
    pub explanation: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ScoreCardView {
    pub items: Vec<ItemScoreView>,
    pub bmi: Option<String>,
    /// excellent, good, pass, fail, incomplete (an item missing) or withheld (an item scored 0 where
    /// the standard withholds the grade).
    pub status: String,
    pub standard_score: Option<String>,
    pub bonus: Option<String>,
    pub total: Option<String>,
    pub pass: Option<bool>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ResultView {
    pub id: String,
    pub standard: String,
    pub provisional: bool,
    pub person_ref: String,
    pub region: String,
    pub station: Option<String>,
    pub test_date: String,
    pub sex: String,
    /// grade or age.
    pub cohort_kind: String,
    pub cohort: u8,
    pub measurements: BTreeMap<String, String>,
    pub score_card: serde_json::Value,
}

fn score_card_view(standard: &Standard, card: &ScoreCard) -> ScoreCardView {
    let items = card
        .items
        .iter()
        .map(|item| {
            let def = &standard.items()[item.item];
            ItemScoreView {
                item: def.id.clone(),
                name_zh: def.name_zh.clone(),
                unit: def.unit.clone(),
                value: item.value.map(|value| value.to_string()),
                score: item.score(),
                weight_pct: item.weight_pct,
                explanation: item.explain(standard),
            }
        })
        .collect();
    let (standard_score, bonus, total, pass) = match card.result {
        Composite::Graded { standard_score, bonus, total, pass, .. } => (Some(standard_score), Some(bonus), Some(total), Some(pass)),
        Composite::Incomplete { bonus, .. } => (None, Some(bonus), None, None),
        Composite::Withheld { standard_score, total } => (Some(standard_score), None, Some(total), None),
    };
    ScoreCardView {
        items,
        bmi: card.bmi.map(|bmi| bmi.to_string()),
        status: card.result.slug().to_string(),
        standard_score: standard_score.map(|value| value.to_string()),
        bonus: bonus.map(|value| value.to_string()),
        total: total.map(|value| value.to_string()),
        pass,
    }
}

fn parse_date(field: &str, text: &str, problems: &mut Vec<ErrorDetail>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| problems.push(detail(field, format!("expected YYYY-MM-DD, got {text:?}")))).ok()
}

/// Scores and stores a result entered at `station` (staff of the station, or a platform
/// administrator); audited as `record_fitness_result`.
pub async fn record_result(state: &AppState, caller: &Caller, station: &StationId, input: &ResultInput) -> Result<ResultView, ApiError> {
    caller.require_login()?;
    caller.require(&Action::RecordFitnessResult { station: station.clone() })?;
    let station = state.store().station(station).await?;
    let standard = find_standard(state, "standard", &input.standard)?;
    let today = crate::api::venues::local_now().date();
    let mut problems = Vec::new();
    let sex = Sex::parse(input.sex.trim()).ok_or_else(|| detail("sex", format!("expected M, F, 男 or 女, got {:?}", input.sex)));
    let sex = sex.map_err(|problem| problems.push(problem)).ok();
    let test_date = parse_date("test_date", &input.test_date, &mut problems);
    if let Some(date) = test_date.filter(|date| *date > today || date.year() < MIN_YEAR as i32) {
        problems.push(detail("test_date", format!("{date} is in the future or before {MIN_YEAR}")));
    }
    let cohort = match standard.cohort_kind {
        CohortKind::Grade => match input.grade.as_deref().map(str::trim) {
            None | Some("") => {
                problems.push(detail("grade", format!("is required by {}", standard.id)));
                None
            }
            Some(text) => SchoolGrade::parse(text).map(Cohort::Grade).or_else(|| {
                problems.push(detail("grade", format!("expected 1 to 16 or 一年级…大四, got {text:?}")));
                None
            }),
        },
        CohortKind::Age => match input.birth_date.as_deref() {
            None => {
                problems.push(detail("birth_date", format!("is required by {}", standard.id)));
                None
            }
            Some(text) => match (parse_date("birth_date", text, &mut problems), test_date) {
                (Some(birth), Some(test)) => AgeYears::on(birth, test).map(Cohort::Age).or_else(|| {
                    problems.push(detail("birth_date", "gives no age on the test date"));
                    None
                }),
                _ => None,
            },
        },
    };
    let account = match input.account_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match text.parse::<i64>() {
            Ok(id) if id > 0 => Some(AccountId::new(id)),
            _ => {
                problems.push(detail("account_id", format!("expected an account id, got {text:?}")));
                None
            }
        },
    };
    let person_ref = match (input.person_ref.as_deref().map(str::trim), account) {
        (Some(text), _) if !text.is_empty() => text.to_string(),
        (_, Some(account)) => format!("account:{account}"),
        _ => {
            problems.push(detail("person_ref", "is required without an account_id"));
            String::new()
        }
    };
    if person_ref.chars().count() > 64 {
        problems.push(detail("person_ref", "at most 64 characters"));
    }
    let region = match input.region.as_deref().map(str::trim) {
        None | Some("") => Some(station.region),
        Some(text) => match RegionCode::parse(text) {
            Ok(code) if state.snapshot().regions.contains(code) => Some(code),
            _ => {
                problems.push(detail("region", format!("region {text:?} does not exist")));
                None
            }
        },
    };
    if input.measurements.len() > MAX_MEASUREMENTS {
        problems.push(detail("measurements", format!("at most {MAX_MEASUREMENTS}")));
    }
    let (Some(sex), Some(cohort), Some(test_date), Some(region)) = (sex, cohort, test_date, region) else {
        return Err(invalid_fields(problems));
    };
    if !standard.covers(sex, cohort) {
        problems.push(detail("grade", format!("{} does not cover {sex} {cohort}", standard.id)));
    }
    let mut record = StudentRecord::new(standard, sex, cohort);
    for (key, text) in &input.measurements {
        let Some(index) = standard.measure_index(key) else {
            problems.push(detail(format!("measurements.{key}"), format!("{} measures no {key:?}", standard.id)));
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        match standard.measures()[index].kind.parse_bytes(text.trim().as_bytes()) {
            Ok(value) => {
                if let Err(error) = record.set(standard, key, value) {
                    problems.push(detail(format!("measurements.{key}"), error.to_string()));
                }
            }
            Err(reason) => problems.push(detail(format!("measurements.{key}"), reason.to_string())),
        }
    }
    if let Some(account) = account
        && state.store().account_by_id(account).await.is_err()
    {
        problems.push(detail("account_id", format!("account {account} does not exist")));
    }
    if !problems.is_empty() {
        return Err(invalid_fields(problems));
    }
    let card = score_student(standard, &record).map_err(|error| invalid_fields(vec![detail("grade", error.to_string())]))?;
    let facts = ResultFacts {
        id: crate::auth::new_id(),
        account,
        person_ref,
        region,
        station: Some(station.id.clone()),
        test_date,
        source: "station",
        entered_by: caller.account(),
    };
    let result = new_result(standard, &record, &card, facts);
    let card_status = card.result.slug();
    state.store().save_fitness_results(std::slice::from_ref(&result), Utc::now()).await?;
    let view = result_view(state, &result);
    let summary =
        serde_json::json!({"standard": result.standard_id, "person_ref": result.person_ref, "test_date": result.test_date.to_string(), "status": card_status});
    audit(state, caller, "record_fitness_result", format!("station {} result {}", station.id, result.id), station.region, None, Some(summary.to_string()))
        .await?;
    Ok(view)
}

/// Who and where a scored result is about, besides the record itself.
pub struct ResultFacts {
    pub id: i64,
    pub account: Option<AccountId>,
    pub person_ref: String,
    pub region: RegionCode,
    pub station: Option<StationId>,
    pub test_date: NaiveDate,
    /// `station` or `import`.
    pub source: &'static str,
    pub entered_by: Option<AccountId>,
}

/// The stored form of a scored record: its measurements, the rendered score card and the composite
/// (the API, imports and the demo all store results through this).
pub fn new_result(standard: &Standard, record: &StudentRecord, card: &ScoreCard, facts: ResultFacts) -> NewFitnessResult {
    let measurements: BTreeMap<String, String> =
        record.values.iter().zip(standard.measures()).filter_map(|(value, measure)| value.map(|value: Dec| (measure.key.clone(), value.to_string()))).collect();
    NewFitnessResult {
        id: facts.id,
        standard_id: standard.id.as_str().to_string(),
        account: facts.account,
        person_ref: facts.person_ref,
        region: facts.region,
        station: facts.station,
        test_date: facts.test_date,
        sex: record.sex.code().to_string(),
        cohort_kind: cohort_kind_slug(standard.cohort_kind).to_string(),
        cohort: record.cohort.value(),
        measurements_json: serde_json::to_string(&measurements).unwrap_or_default(),
        score_card_json: serde_json::to_string(&score_card_view(standard, card)).unwrap_or_default(),
        total_milli: card.result.total().map(|total| i32::try_from(total.milli()).unwrap_or(i32::MAX)),
        grade: card.result.grade().map(|grade| grade.slug().to_string()),
        passed: match card.result {
            Composite::Graded { pass, .. } => Some(pass),
            _ => None,
        },
        source: facts.source.to_string(),
        entered_by: facts.entered_by,
    }
}

fn result_view(state: &AppState, result: &NewFitnessResult) -> ResultView {
    ResultView {
        id: result.id.to_string(),
        standard: result.standard_id.clone(),
        provisional: state.standards().get(&result.standard_id).is_none_or(|standard| standard.provisional),
        person_ref: result.person_ref.clone(),
        region: result.region.short(),
        station: result.station.as_ref().map(ToString::to_string),
        test_date: result.test_date.to_string(),
        sex: result.sex.clone(),
        cohort_kind: result.cohort_kind.clone(),
        cohort: result.cohort,
        measurements: serde_json::from_str(&result.measurements_json).unwrap_or_default(),
        score_card: serde_json::from_str(&result.score_card_json).unwrap_or(serde_json::Value::Null),
    }
}

/// Enter a result at a testing station: scored against the standard at once (item scores with their
/// level and threshold, standard score, bonus, total, grade; an item not tested is missing and the
/// record incomplete). The same person, standard and test date again replaces the result.
#[utoipa::path(post, path = "/api/v1/stations/{id}/results", tag = "fitness", security(("bearer_token" = [])),
    params(("id" = String, Path, description = "Station id")), request_body = ResultInput,
    responses((status = 201, body = ResultView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn create_result(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ResultInput>,
) -> Result<Response, ApiError> {
    caller.require_login()?;
    let station = StationId::parse(&id).map_err(|reason| ApiError::invalid_parameter("id", reason))?;
    let view = record_result(&state, &caller, &station, &input).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// The caller's own fitness results, newest first.
#[utoipa::path(get, path = "/api/v1/me/fitness-results", tag = "fitness", security(("bearer_token" = [])),
    responses((status = 200, body = [ResultView]), (status = 401, body = ErrorBody)))]
pub async fn my_results(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ResultView>>, ApiError> {
    caller.require_login()?;
    let account = caller.account().ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "log in"))?;
    caller.require(&Action::ManageOwnAccount { account })?;
    let results = state.store().fitness_results_of_account(account).await?;
    Ok(Json(results.iter().map(|stored| result_view(&state, &stored.result)).collect()))
}

// ----- pass rate -----

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RateView {
    /// null when suppressed (fewer than `min_reported_n` people).
    pub tested: Option<u64>,
    pub passed: Option<u64>,
    pub rate: Option<f64>,
    pub suppressed: bool,
}

fn rate_view(rate: &ReportedRate) -> RateView {
    RateView { tested: rate.tested, passed: rate.passed, rate: rate.rate.map(|rate| (rate * 10_000.0).round() / 10_000.0), suppressed: rate.suppressed }
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CellView {
    pub sex: String,
    /// `grade 7`, `age 20-24`.
    pub group: String,
    #[serde(flatten)]
    pub rate: RateView,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RegionRateView {
    pub region: RegionSummary,
    pub crude: RateView,
    pub standardised_rate: Option<f64>,
    /// Why there is no standardised rate.
    pub standardised_note: Option<String>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PassRateResponse {
    pub indicator: crate::api::indicators::DefinitionView,
    pub standard: StandardView,
    pub year: u16,
    /// platform: results recorded on this platform (observed, not a sample survey).
    pub source: String,
    pub demo_data: bool,
    pub min_reported_n: u64,
    #[serde(flatten)]
    pub total: RegionRateView,
    pub cells: Vec<CellView>,
    pub children: Vec<RegionRateView>,
}

pub const PASS_RATE_TEXT_ZH: &str = "体质测试达标率 = 综合评定为及格及以上的人数 ÷ 测试人数（仅计各项齐全的记录），同一标准版本内计算；标化率按所查地区受测人群的性别×年级（或年龄组）构成直接标化；不足 10 人的单元不公布。";
pub const PASS_RATE_TEXT_EN: &str = "Fitness pass rate = people graded pass or better ÷ people tested (complete records only), within one standard version; the standardised rate is directly standardised to the sex × grade (or age group) composition of the people tested in the requested region; cells under 10 people are suppressed.";

fn region_rate_view(state: &AppState, region: RegionCode, crude: &ReportedRate, standardised: &Result<f64, NotStandardised>) -> Option<RegionRateView> {
    let snapshot = state.snapshot();
    let summary = RegionSummary::new(&snapshot.regions, snapshot.regions.get(region)?);
    let (standardised_rate, standardised_note) = match standardised {
        Ok(rate) => (Some((rate * 10_000.0).round() / 10_000.0), None),
        Err(NotStandardised::Suppressed) => (None, Some(format!("fewer than {MIN_REPORTED_N} people tested"))),
        Err(NotStandardised::MissingStratum { sex, stratum }) => (None, Some(format!("no one of {sex} {} was tested here", stratum.label()))),
    };
    Some(RegionRateView { region: summary, crude: rate_view(crude), standardised_rate, standardised_note })
}

/// Fitness pass rate of a region and of each of its children, by sex and grade or age group.
///
/// Rates never mix standard versions: without `standard`, the region's results for the year must all
/// be under one standard, else 400 lists them.
#[utoipa::path(get, path = "/api/v1/indicators/fitness-pass-rate", tag = "indicators",
    params(
        ("region" = String, Query, description = "Region code in any form"),
        ("year" = u16, Query, description = "Test year"),
        ("standard" = Option<String>, Query, description = "Standard id with its version, e.g. cnsphs-2014"),
    ),
    responses((status = 200, body = PassRateResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn pass_rate(State(state): State<AppState>, params: Params) -> Result<Json<PassRateResponse>, ApiError> {
    params.allow_only(&["region", "year", "standard"])?;
    let snapshot = state.snapshot();
    let region_text = params.text("region").ok_or_else(|| ApiError::invalid_parameter("region", "is required"))?;
    let region = parse_region(&snapshot.regions, "region", region_text)?;
    let year = params.integer_in("year", MIN_YEAR, MAX_YEAR)?.ok_or_else(|| ApiError::invalid_parameter("year", "is required"))? as u16;
    let standard = match params.text("standard") {
        Some(text) => find_standard(&state, "standard", text)?,
        None => {
            let present = state.store().fitness_standards_with_results(region, i32::from(year)).await?;
            match present.as_slice() {
                [] => return Err(ApiError::not_found(format!("no fitness results in {} for {year}", region.short()))),
                [only] => find_standard(&state, "standard", only)?,
                several => {
                    return Err(ApiError::invalid_parameter(
                        "standard",
                        format!("results in {} for {year} are under {}; pass rates never mix standard versions: name one", region.short(), several.join(", ")),
                    ));
                }
            }
        }
    };
    Ok(Json(pass_rate_response(&state, region, year, standard).await?))
}

/// The fitness pass rate of `region` (and its children, by sex and cohort) in `year` under one standard.
pub async fn pass_rate_response(state: &AppState, region: RegionCode, year: u16, standard: &Standard) -> Result<PassRateResponse, ApiError> {
    let snapshot = state.snapshot();
    let rows = state.store().pass_rate_counts(standard.id.as_str(), i32::from(year), region).await?;
    let mut counts = Vec::with_capacity(rows.len());
    for row in rows {
        let (Some(sex), Some(cohort)) = (Sex::parse(&row.sex), stored_cohort(&row.cohort_kind, row.cohort)) else {
            tracing::warn!(
                sex = row.sex,
                cohort_kind = row.cohort_kind,
                cohort = row.cohort,
                "a stored fitness result has an unreadable sex or cohort; skipped"
            );
            continue;
        };
        counts.push(PassCount { region: row.region, sex, stratum: Stratum::of(cohort), tested: row.tested, passed: row.passed });
    }
    let report = pass_rate_report(region, &counts, |code| snapshot.regions.child_towards(region, code));
    let total = region_rate_view(state, region, &report.total.crude, &report.total.standardised).ok_or_else(ApiError::internal)?;
    Ok(PassRateResponse {
        indicator: crate::api::indicators::DefinitionView {
            id: "fitness-pass-rate".into(),
            version: "1".into(),
            unit: "share of people tested".into(),
            text_zh: PASS_RATE_TEXT_ZH.into(),
            text_en: PASS_RATE_TEXT_EN.into(),
        },
        standard: standard_view(standard),
        year,
        source: "platform".into(),
        demo_data: state.config().demo,
        min_reported_n: MIN_REPORTED_N,
        total,
        cells: report
            .cells
            .iter()
            .map(|cell| CellView { sex: cell.sex.code().to_string(), group: cell.stratum.label(), rate: rate_view(&cell.rate) })
            .collect(),
        children: report.children.iter().filter_map(|child| region_rate_view(state, child.region, &child.crude, &child.standardised)).collect(),
    })
}

/// The cohort of a stored result (`cohort_kind`, `cohort`).
pub fn stored_cohort(kind: &str, value: u8) -> Option<Cohort> {
    match kind {
        "grade" => SchoolGrade::new(value).map(Cohort::Grade),
        "age" => AgeYears::new(value).map(Cohort::Age),
        _ => None,
    }
}
