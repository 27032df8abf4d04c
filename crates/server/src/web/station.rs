//! The result-entry page of a testing station (`/stations/{id}/results`, issue 5): staff of the
//! station (or a platform administrator) enter one person's measurements; the page calls
//! `api::fitness::record_result` (same policy, checks, scoring and audit as the API), shows the score
//! card it stored, and offers an empty form for the next person. Refused fields are listed next to
//! the form, which keeps what was typed. Above the form: the day's appointments (bookings of the
//! station's venue's test sessions), each linking to the form for that account and day.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use fitforall_core::policy::{Action, StationId};
use minijinja::{Value, context};

use crate::api::fitness::{ResultInput, ResultView, record_result};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::account::{Problem, problem, to_login};
use crate::web::booking::status_text;
use crate::web::forms::PageForm;
use crate::web::i18n::fill;
use crate::web::{PageContext, render_error_page};

/// Form fields holding a measurement are named `m.<key>` (`m.height_cm`).
const MEASUREMENT_PREFIX: &str = "m.";
/// The standard a new form starts with.
const DEFAULT_STANDARD: &str = "cnsphs-2014";

/// The station the caller may enter results at: log in first; 400 for a malformed id, the policy's
/// 403, 404 for an unknown station.
async fn check_access(state: &AppState, page: &PageContext, id: &str) -> Result<fitforall_store::Station, Box<Response>> {
    if !page.visitor.signed_in() {
        return Err(Box::new(to_login(page)));
    }
    let checked = async {
        let station = StationId::parse(id).map_err(|reason| ApiError::invalid_parameter("id", reason))?;
        page.visitor.caller.require(&Action::RecordFitnessResult { station: station.clone() })?;
        Ok::<_, ApiError>(state.store().station(&station).await?)
    };
    checked.await.map_err(|error| Box::new(render_error_page(error, page)))
}

/// Most appointments listed for one day.
const MAX_APPOINTMENTS_SHOWN: usize = 200;

/// The day's appointments at the station: the bookings of its venue's test sessions (resources of
/// kind `session`) that hold a place, each with a link that opens the form for that account and day.
/// Account ids only, as on the operator's day sheet. `None` when the station names no venue.
async fn appointments(
    state: &AppState,
    page: &PageContext,
    station: &fitforall_store::Station,
    date: NaiveDate,
    standard: &str,
) -> Result<Option<Value>, ApiError> {
    let Some(venue) = station.venue.as_ref() else {
        return Ok(None);
    };
    let sessions: BTreeMap<String, String> = state
        .store()
        .resources_of_venue(venue)
        .await?
        .into_iter()
        .filter(|resource| resource.kind == "session")
        .map(|resource| (resource.id.to_string(), resource.name))
        .collect();
    let bookings = state.store().bookings_of_venue_day(venue, date).await?;
    let rows: Vec<Value> = bookings
        .iter()
        .filter(|booking| booking.status.holds_place())
        .filter_map(|booking| {
            let session = sessions.get(booking.resource.as_str())?;
            Some(context! {
                time => booking.slot_start.format("%H:%M").to_string(),
                session => session,
                account_id => booking.account.to_string(),
                places => booking.places,
                status => booking.status.as_str(),
                status_text => status_text(page.lang, booking.status),
                enter_url => format!("/stations/{}/results?standard={standard}&account_id={}&test_date={date}#entry", station.id, booking.account),
            })
        })
        .take(MAX_APPOINTMENTS_SHOWN)
        .collect();
    Ok(Some(context! {
        title => fill(page.lang.text("station_day_title"), &[("date", &date.to_string())]),
        date => date.to_string(),
        rows => rows,
    }))
}

/// The day whose appointments are shown: `?date=`, else the form's test date, else today.
fn appointment_day(page: &PageContext, fields: &BTreeMap<String, String>) -> NaiveDate {
    [page.query_value("date"), fields.get("test_date").map(String::as_str)]
        .into_iter()
        .flatten()
        .find_map(|text| NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok())
        .unwrap_or_else(|| crate::api::venues::local_now().date())
}

async fn render(
    state: &AppState,
    page: PageContext,
    station: &fitforall_store::Station,
    status: StatusCode,
    fields: &BTreeMap<String, String>,
    saved: Option<ResultView>,
    problem: Option<Problem>,
) -> Response {
    let standard_id = fields.get("standard").map(String::as_str).filter(|id| state.standards().get(id).is_some()).unwrap_or(DEFAULT_STANDARD);
    let standards: Vec<minijinja::Value> = state
        .standards()
        .iter()
        .map(|standard| context! { id => standard.id.as_str(), name => page.lang.pick(&standard.name_zh, &standard.name_en), provisional => standard.provisional })
        .collect();
    let measures: Vec<minijinja::Value> = state
        .standards()
        .get(standard_id)
        .map(|standard| {
            standard
                .measures()
                .iter()
                .map(|measure| {
                    let name = format!("{MEASUREMENT_PREFIX}{}", measure.key);
                    let label = measure_label(page.lang, standard, measure);
                    context! { key => measure.key.clone(), label => label, name => name.clone(), value => fields.get(&name).cloned().unwrap_or_default() }
                })
                .collect()
        })
        .unwrap_or_default();
    let day = appointment_day(&page, fields);
    let appointments = match appointments(state, &page, station, day, standard_id).await {
        Ok(appointments) => appointments,
        Err(error) => return render_error_page(error, &page),
    };
    let by_age = state.standards().get(standard_id).is_some_and(|standard| standard.cohort_kind == fitforall_core::fitness::CohortKind::Age);
    let value = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let data = context! {
        station => context! {
            id => station.id.to_string(),
            name => station.name.clone(),
            region => station.region.short(),
            appointments_url => station.venue.as_ref().map(|venue| format!("/venues/{venue}/book")),
        },
        standards => standards,
        standard => standard_id,
        by_age => by_age,
        measures => measures,
        sex => value("sex"),
        grade => value("grade"),
        birth_date => value("birth_date"),
        test_date => fields.get("test_date").cloned().unwrap_or_else(|| crate::api::venues::local_now().date().to_string()),
        person_ref => value("person_ref"),
        account_id => value("account_id"),
        saved_status => saved.as_ref().and_then(|view| view.score_card["status"].as_str()).map(|status| crate::web::fitness::status_text(page.lang, status)),
        saved => saved,
        problem => problem,
        appointments => appointments,
    };
    let title = page.lang.text("station_entry_title");
    page.render(status, "station_entry.html", title, data)
}

pub async fn entry_page(State(state): State<AppState>, Path(id): Path<String>, page: PageContext) -> Response {
    let station = match check_access(&state, &page, &id).await {
        Ok(station) => station,
        Err(response) => return *response,
    };
    // An appointment's link opens the form for its account and day.
    let fields: BTreeMap<String, String> = ["standard", "account_id", "test_date"]
        .into_iter()
        .filter_map(|name| Some((name.to_string(), page.query_value(name)?.trim().to_string())))
        .filter(|(_, value)| !value.is_empty())
        .collect();
    render(&state, page, &station, StatusCode::OK, &fields, None, None).await
}

pub async fn entry_submit(State(state): State<AppState>, Path(id): Path<String>, PageForm(page, fields): PageForm<BTreeMap<String, String>>) -> Response {
    let station = match check_access(&state, &page, &id).await {
        Ok(station) => station,
        Err(response) => return *response,
    };
    let text = |name: &str| fields.get(name).map(|value| value.trim().to_string()).filter(|value| !value.is_empty());
    let input = ResultInput {
        standard: text("standard").unwrap_or_default(),
        sex: text("sex").unwrap_or_default(),
        grade: text("grade"),
        birth_date: text("birth_date"),
        test_date: text("test_date").unwrap_or_default(),
        account_id: text("account_id"),
        person_ref: text("person_ref"),
        region: None,
        measurements: fields
            .iter()
            .filter_map(|(name, value)| Some((name.strip_prefix(MEASUREMENT_PREFIX)?.to_string(), value.trim().to_string())))
            .filter(|(_, value)| !value.is_empty())
            .collect(),
    };
    match record_result(&state, &page.visitor.caller, &station.id, &input).await {
        Ok(saved) => {
            // The next person: the same standard and date, everything else empty.
            let next: BTreeMap<String, String> =
                ["standard", "test_date"].into_iter().filter_map(|name| Some((name.to_string(), fields.get(name)?.clone()))).collect();
            render(&state, page, &station, StatusCode::OK, &next, Some(saved), None).await
        }
        Err(error) => {
            let shown = problem(page.lang, &error);
            render(&state, page, &station, error.status, &fields, None, Some(shown)).await
        }
    }
}

/// A measurement's form label: its item's name (or the Chinese header it is read under: 身高, 体重)
/// with the column key, which is also what a results file calls it.
fn measure_label(lang: crate::web::Lang, standard: &fitforall_core::fitness::Standard, measure: &fitforall_core::fitness::MeasureDef) -> String {
    let name = match (lang, measure.item) {
        (_, Some(item)) => crate::web::fitness::item_name(lang, &standard.items()[item]),
        (crate::web::Lang::Zh, None) => measure.aliases.iter().find(|alias| !alias.is_ascii()).cloned().unwrap_or_default(),
        (crate::web::Lang::En, None) => measure.aliases.first().cloned().unwrap_or_default(),
    };
    if name.is_empty() { measure.key.clone() } else { format!("{name} · {}", measure.key) }
}
