//! Booking over the API: make a booking (through the rush engine, with a required `Idempotency-Key`),
//! list, confirm and cancel one's own bookings, download a booking as an iCalendar file, and a
//! venue's day sheet for its operator.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use fitforall_core::booking::{BookingStatus, Refusal, SlotId, TransitionError, cancellation, hold_expired};
use fitforall_core::policy::{Action, Actor};
use fitforall_core::venue::VenueId;
use fitforall_store::{BatchRequest, Booking, Slot};
use sha2::{Digest, Sha256};

use crate::api::ApiJson;
use crate::api::accounts::field_error;
use crate::api::venues::local_now;
use crate::booking_engine::BookOutcome;
use crate::caller::Caller;
use crate::check_in::CheckInCodeView;
use crate::error::{ApiError, ErrorBody};
use crate::params::Params;
use crate::state::AppState;

/// The header that makes a booking request safe to retry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// Longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;
/// Alternatives offered when a slot is full.
pub const ALTERNATIVES_OFFERED: usize = 5;

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct BookingView {
    /// Booking id (a string: it does not fit a JavaScript number).
    pub id: String,
    pub slot_id: String,
    pub resource_id: String,
    pub venue_id: String,
    pub venue_name: Option<String>,
    /// China local time, `2026-12-08T19:00:00`.
    pub slot_start: String,
    pub places: u32,
    /// held, confirmed, checked_in, cancelled, cancelled_late, expired or no_show.
    pub status: String,
    pub total_fen: i64,
    pub reduced: bool,
    /// Until when a held booking waits for confirmation (local time).
    pub expires_at: Option<String>,
    /// Until when cancelling is free (local time).
    pub free_cancellation_until: Option<String>,
    pub created_at: String,
}

/// China local time as the API writes it: `2026-12-08T19:00:00`.
pub(crate) fn local(time: NaiveDateTime) -> String {
    time.format("%Y-%m-%dT%H:%M:%S").to_string()
}

pub fn booking_view(state: &AppState, booking: &Booking, cutoff_min: Option<u32>) -> BookingView {
    BookingView {
        id: booking.id.to_string(),
        slot_id: booking.slot.to_string(),
        resource_id: booking.resource.to_string(),
        venue_id: booking.venue.to_string(),
        venue_name: state.snapshot().catalog.get(&booking.venue).map(|venue| venue.name.clone()),
        slot_start: local(booking.slot_start),
        places: booking.places,
        status: booking.status.as_str().to_string(),
        total_fen: booking.total_fen,
        reduced: booking.reduced,
        expires_at: booking.expires_at.map(local),
        free_cancellation_until: cutoff_min
            .filter(|_| booking.status.holds_place())
            .map(|minutes| local(booking.slot_start - Duration::minutes(i64::from(minutes)))),
        created_at: booking.created_at.to_rfc3339(),
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SlotOffer {
    pub slot_id: String,
    pub start: String,
    pub end: String,
    pub left: u32,
    pub price_fen: i64,
}

fn slot_offer(slot: &Slot) -> SlotOffer {
    SlotOffer { slot_id: slot.id.to_string(), start: local(slot.start), end: local(slot.end), left: slot.left(), price_fen: slot.price_fen }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingRequest {
    /// The slot id, as a string (or a number).
    pub slot_id: serde_json::Value,
    pub places: i64,
    /// Ask for the reduced price (priority groups; checked at the venue).
    #[serde(default)]
    pub reduced: bool,
}

/// An answer that is not a booking: the usual error body plus what helps the resident next.
fn refusal_response(status: StatusCode, code: &'static str, message: String, extra: serde_json::Value) -> Response {
    let error = ApiError::new(status, code, message);
    let mut body = serde_json::to_value(error.body()).unwrap_or_default();
    if let (Some(object), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            object.insert(key.clone(), value.clone());
        }
    }
    (status, Json(body)).into_response()
}

pub fn parse_slot_id(value: &serde_json::Value) -> Result<SlotId, ApiError> {
    let id = match value {
        serde_json::Value::String(text) => text.trim().parse::<i64>().ok(),
        serde_json::Value::Number(number) => number.as_i64(),
        _ => None,
    };
    id.filter(|id| *id > 0).map(SlotId::new).ok_or_else(|| field_error("slot_id", format!("expected a slot id, got {value}")))
}

fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let unprocessable = |message: &str| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key", message.to_string());
    let Some(value) = headers.get(IDEMPOTENCY_KEY_HEADER) else {
        return Err(unprocessable("the Idempotency-Key header is required: a unique value per booking attempt (e.g. a UUID), sent again unchanged on a retry"));
    };
    let text = value.to_str().map_err(|_| unprocessable("the Idempotency-Key must be printable ASCII"))?.trim();
    if text.is_empty() || text.len() > MAX_IDEMPOTENCY_KEY_CHARS || !text.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(unprocessable("the Idempotency-Key must have 1 to 128 printable ASCII characters without spaces"));
    }
    Ok(text.to_string())
}

/// Book a slot. Requires `Idempotency-Key`; free slots are confirmed at once, priced ones held until
/// `expires_at`. 409 when full (with the nearest slots that have places) or not open yet (with the
/// opening time); 403 when a quota or ban applies; 422 for a missing key or a key reused with a
/// different body. A retry with the same key and body answers with the booking it made.
#[utoipa::path(post, path = "/api/v1/bookings", tag = "booking", request_body = serde_json::Value,
    params(("Idempotency-Key" = String, Header, description = "Unique per booking attempt; resend unchanged on retry")),
    responses((status = 201, body = BookingView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(request): ApiJson<BookingRequest>,
) -> Result<Response, ApiError> {
    caller.require(&Action::MakeBooking)?;
    let account = caller.account().expect("a caller allowed to book is logged in");
    let key = idempotency_key(&headers)?;
    let slot = parse_slot_id(&request.slot_id)?;
    let places = u32::try_from(request.places).ok().filter(|places| *places > 0).ok_or_else(|| field_error("places", "must be at least 1"))?;
    let request_hash = request_hash(slot, places, request.reduced);
    let outcome = state.booking().book(BatchRequest { slot, account, places, reduced: request.reduced, idempotency_key: key, request_hash }).await;
    booking_answer(&state, slot, outcome).await
}

/// The digest of a booking request's meaning: the same key with another digest is a different request.
pub fn request_hash(slot: SlotId, places: u32, reduced: bool) -> String {
    let canonical = format!("{}|{}|{}", slot.as_i64(), places, reduced);
    Sha256::digest(canonical.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect::<String>()
}

async fn booking_answer(state: &AppState, slot: SlotId, outcome: BookOutcome) -> Result<Response, ApiError> {
    match outcome {
        BookOutcome::Created { booking, cancel_cutoff_min } => {
            Ok((StatusCode::CREATED, Json(booking_view(state, &booking, Some(cancel_cutoff_min)))).into_response())
        }
        BookOutcome::Replayed(booking) => {
            let mut response = (StatusCode::CREATED, Json(view_with_rules(state, &booking).await)).into_response();
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
        BookOutcome::KeyReused => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different booking request; use a new key for a new request",
        )),
        BookOutcome::IdentityRequired => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "identity_required",
            "this venue books by real name: record your resident identity number first (PUT /api/v1/me/identity)",
        )),
        BookOutcome::Busy => {
            let mut error = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "too many booking requests are waiting; try again in a second");
            error.retry_after_s = Some(1);
            Err(error)
        }
        BookOutcome::Failed => Err(ApiError::internal()),
        BookOutcome::Refused(refusal) => Ok(refused(state, slot, refusal).await),
    }
}

/// The HTTP meaning of the core's refusal, for the API and the booking pages alike.
pub fn refusal_error(slot: SlotId, refusal: &Refusal) -> ApiError {
    let message = refusal.to_string();
    let (status, code) = match refusal {
        Refusal::UnknownSlot => return ApiError::not_found(format!("slot {slot} does not exist")),
        Refusal::PlacesOutOfRange { .. } => return field_error("places", message),
        Refusal::SlotStarted => (StatusCode::CONFLICT, "slot_started"),
        Refusal::AlreadyBooked => (StatusCode::CONFLICT, "already_booked"),
        Refusal::NotOpenYet { .. } => (StatusCode::CONFLICT, "not_open_yet"),
        Refusal::Full { .. } => (StatusCode::CONFLICT, "full"),
        Refusal::DayQuota { .. } | Refusal::WeekQuota { .. } => (StatusCode::FORBIDDEN, "quota"),
        Refusal::Banned { .. } => (StatusCode::FORBIDDEN, "banned"),
    };
    ApiError::new(status, code, message)
}

/// The refusal with what helps next: the opening time, the nearest slots with places, the ban's end.
async fn refused(state: &AppState, slot: SlotId, refusal: Refusal) -> Response {
    let error = refusal_error(slot, &refusal);
    let extra = match refusal {
        Refusal::NotOpenYet { opens_at } => serde_json::json!({ "opens_at": local(opens_at) }),
        Refusal::Full { left } => serde_json::json!({ "left": left, "alternatives": alternatives_to(state, slot).await }),
        Refusal::Banned { until } => serde_json::json!({ "banned_until": local(until) }),
        _ => return error.into_response(),
    };
    refusal_response(error.status, error.code, error.message, extra)
}

/// The nearest slots with places, for a full slot. In a rush most answers are "full": the offers of
/// a slot are remembered for [`ALTERNATIVES_TTL_MS`] so that thousands of refusals cost a few queries.
pub async fn alternatives_to(state: &AppState, slot: SlotId) -> Vec<SlotOffer> {
    let now = std::time::Instant::now();
    if let Some(offers) = state.cached_alternatives(slot, now) {
        return offers;
    }
    let alternatives = match state.store().slot(slot).await {
        Ok(full) => state.store().open_slots_near(&full.resource, full.start, local_now(), ALTERNATIVES_OFFERED).await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let offers: Vec<SlotOffer> = alternatives.iter().map(slot_offer).collect();
    state.remember_alternatives(slot, offers.clone(), now + std::time::Duration::from_millis(ALTERNATIVES_TTL_MS));
    offers
}

/// How long the offers for a full slot are reused.
pub const ALTERNATIVES_TTL_MS: u64 = 500;

pub async fn view_with_rules(state: &AppState, booking: &Booking) -> BookingView {
    views_with_rules(state, std::slice::from_ref(booking)).await.pop().expect("one view per booking")
}

/// Views of a list of bookings, reading each resource's rules (the cancellation cut-off) once.
pub async fn views_with_rules(state: &AppState, bookings: &[Booking]) -> Vec<BookingView> {
    let mut cutoffs: std::collections::HashMap<&fitforall_core::booking::ResourceId, Option<u32>> = std::collections::HashMap::new();
    let mut views = Vec::with_capacity(bookings.len());
    for booking in bookings {
        if !cutoffs.contains_key(&booking.resource) {
            let cutoff = state.store().resource(&booking.resource).await.ok().map(|resource| resource.booking_rules.cancel_cutoff_min);
            cutoffs.insert(&booking.resource, cutoff);
        }
        views.push(booking_view(state, booking, cutoffs[&booking.resource]));
    }
    views
}

fn own(caller: &Caller) -> Result<fitforall_core::policy::AccountId, ApiError> {
    caller.require_login()?;
    let account = caller.account().expect("logged in");
    caller.require(&Action::ManageOwnAccount { account })?;
    Ok(account)
}

/// The caller's bookings, the latest slot first.
#[utoipa::path(get, path = "/api/v1/me/bookings", tag = "booking",
    params(("limit" = Option<u32>, Query, description = "1–200, default 50"), ("offset" = Option<u32>, Query, description = "Bookings to skip")),
    responses((status = 200, body = Vec<BookingView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn mine(State(state): State<AppState>, caller: Caller, params: Params) -> Result<Json<Vec<BookingView>>, ApiError> {
    params.allow_only(&["limit", "offset"])?;
    let account = own(&caller)?;
    let limit = params.integer_in("limit", 1, 200)?.unwrap_or(50) as i64;
    let offset = params.integer_in("offset", 0, 1_000_000)?.unwrap_or(0) as i64;
    let bookings = state.store().bookings_of_account(account, limit, offset).await?;
    Ok(Json(views_with_rules(&state, &bookings).await))
}

fn parse_booking_id(text: &str) -> Result<i64, ApiError> {
    text.trim().parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| ApiError::invalid_parameter("id", format!("expected a booking id, got {text:?}")))
}

/// One of the caller's bookings.
#[utoipa::path(get, path = "/api/v1/bookings/{id}", tag = "booking", params(("id" = String, Path, description = "Booking id")),
    responses((status = 200, body = BookingView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn show(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<BookingView>, ApiError> {
    let account = own(&caller)?;
    let booking = state.store().booking(parse_booking_id(&id)?).await?;
    if booking.account != account {
        return Err(ApiError::not_found(format!("booking {id} does not exist")));
    }
    Ok(Json(view_with_rules(&state, &booking).await))
}

fn transition_error(error: TransitionError) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "booking_state", error.to_string())
}

/// Cancel one of the caller's bookings: free until the cut-off (`free_cancellation_until`), recorded as
/// late after it; its places are released at once.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/cancel", tag = "booking", params(("id" = String, Path, description = "Booking id")),
    responses((status = 200, body = BookingView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<BookingView>, ApiError> {
    let account = own(&caller)?;
    let id = parse_booking_id(&id)?;
    let now = local_now();
    let changed = state.store().change_booking(account, id, Utc::now(), |booking, rules| cancellation(booking.status, booking.slot_start, rules, now)).await?;
    let booking = changed.map_err(transition_error)?;
    Ok(Json(view_with_rules(&state, &booking).await))
}

/// Confirm a held booking (stands in for the payment step: no payment provider is connected).
#[utoipa::path(post, path = "/api/v1/bookings/{id}/confirm", tag = "booking", params(("id" = String, Path, description = "Booking id")),
    responses((status = 200, body = BookingView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn confirm(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<BookingView>, ApiError> {
    let account = own(&caller)?;
    let id = parse_booking_id(&id)?;
    let now = local_now();
    let changed = state
        .store()
        .change_booking(account, id, Utc::now(), |booking, _| {
            if booking.status != BookingStatus::Held {
                return Err(TransitionError::NotAllowed { from: booking.status, action: "confirmed" });
            }
            if hold_expired(booking.status, booking.expires_at, now) {
                return Err(TransitionError::NotAllowed { from: BookingStatus::Expired, action: "confirmed" });
            }
            Ok(BookingStatus::Confirmed)
        })
        .await?;
    let booking = changed.map_err(transition_error)?;
    Ok(Json(view_with_rules(&state, &booking).await))
}

/// The booking as an iCalendar event (for "add to calendar").
#[utoipa::path(get, path = "/api/v1/bookings/{id}/calendar.ics", tag = "booking", params(("id" = String, Path, description = "Booking id")),
    responses((status = 200, description = "text/calendar"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn calendar(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let account = own(&caller)?;
    let booking = state.store().booking(parse_booking_id(&id)?).await?;
    if booking.account != account {
        return Err(ApiError::not_found(format!("booking {id} does not exist")));
    }
    let slot = state.store().slot(booking.slot).await?;
    let venue = state.snapshot().catalog.get(&booking.venue).cloned();
    let body = ics(&booking, &slot, venue.as_ref().map(|venue| venue.name.as_str()), venue.as_ref().map(|venue| venue.address.as_str()));
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"booking-{}.ics\"", booking.id)) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Escapes text for an iCalendar property value (RFC 5545 §3.3.11).
fn ics_text(text: &str) -> String {
    text.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,").replace('\n', "\\n")
}

/// An RFC 5545 calendar with one event; times in China Standard Time (as UTC, so every calendar
/// application agrees).
pub fn ics(booking: &Booking, slot: &Slot, venue_name: Option<&str>, address: Option<&str>) -> String {
    let utc = |local: NaiveDateTime| (local - Duration::hours(8)).format("%Y%m%dT%H%M%SZ").to_string();
    let summary = format!("{} · {} 人", venue_name.unwrap_or(booking.venue.as_str()), booking.places);
    let lines = [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//FitForAll//booking//ZH".to_string(),
        "BEGIN:VEVENT".to_string(),
        format!("UID:booking-{}@fitforall", booking.id),
        format!("DTSTAMP:{}", booking.created_at.format("%Y%m%dT%H%M%SZ")),
        format!("DTSTART:{}", utc(slot.start)),
        format!("DTEND:{}", utc(slot.end)),
        format!("SUMMARY:{}", ics_text(&summary)),
        format!("LOCATION:{}", ics_text(address.unwrap_or(""))),
        format!("DESCRIPTION:{}", ics_text(&format!("预约 Booking {} ({})", booking.id, booking.status.as_str()))),
        "END:VEVENT".to_string(),
        "END:VCALENDAR".to_string(),
    ];
    lines.join("\r\n") + "\r\n"
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DaySheetRow {
    pub booking_id: String,
    pub slot_start: String,
    pub resource_id: String,
    pub account_id: String,
    pub places: u32,
    pub status: String,
}

/// A venue's bookings on one day (its operator, or an administrator of its region).
#[utoipa::path(get, path = "/api/v1/venues/{id}/bookings", tag = "booking",
    params(("id" = String, Path, description = "Venue id"), ("date" = String, Query, description = "YYYY-MM-DD (China local date)")),
    responses((status = 200, body = Vec<DaySheetRow>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn venue_day(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, params: Params) -> Result<Json<Vec<DaySheetRow>>, ApiError> {
    params.allow_only(&["date"])?;
    let venue_id = VenueId::parse(&id).map_err(|reason| ApiError::invalid_parameter("id", reason))?;
    let Some(region) = state.snapshot().catalog.get(&venue_id).map(|venue| venue.region) else {
        return Err(ApiError::not_found(format!("venue {id} does not exist")));
    };
    if matches!(caller.actor, Actor::Anonymous) {
        caller.require_login()?;
    }
    caller.require(&Action::ViewVenueUsage { venue: venue_id.clone(), region })?;
    let date = match params.text("date") {
        None => local_now().date(),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| ApiError::invalid_parameter("date", format!("expected a date like 2026-12-08, got {text:?}")))?,
    };
    let bookings = state.store().bookings_of_venue_day(&venue_id, date).await?;
    Ok(Json(
        bookings
            .iter()
            .map(|booking| DaySheetRow {
                booking_id: booking.id.to_string(),
                slot_start: local(booking.slot_start),
                resource_id: booking.resource.to_string(),
                account_id: booking.account.to_string(),
                places: booking.places,
                status: booking.status.as_str().to_string(),
            })
            .collect(),
    ))
}

/// The check-in code of one of the caller's bookings (show it as text or QR at the venue): only for a
/// confirmed booking (or one checked in already) until its check-in window closes, 15 minutes after
/// the start.
#[utoipa::path(get, path = "/api/v1/bookings/{id}/check-in-code", tag = "booking", params(("id" = String, Path, description = "Booking id")),
    responses((status = 200, body = CheckInCodeView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "the server has no secret configured")))]
pub async fn check_in_code(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<CheckInCodeView>, ApiError> {
    let account = own(&caller)?;
    let booking = state.store().booking(parse_booking_id(&id)?).await?;
    if booking.account != account {
        return Err(ApiError::not_found(format!("booking {id} does not exist")));
    }
    let hasher = state.identity_hasher().ok_or_else(crate::check_in::no_secret)?;
    match crate::check_in::code_view(hasher, &booking, local_now()) {
        Some(view) => Ok(Json(view)),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "booking_state",
            format!("the booking is {}: check-in codes are for confirmed bookings until 15 minutes after the start", booking.status.as_str()),
        )),
    }
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInRequest {
    /// The code the resident shows (`GET /api/v1/bookings/{id}/check-in-code`).
    pub code: String,
}

/// Check a resident in at the venue with the code they show, from 15 minutes before the start to 15
/// minutes after (the venue's operators). A confirmed booking not checked in by then becomes a
/// no-show; three within 30 days ban booking for 30 days.
#[utoipa::path(post, path = "/api/v1/venues/{id}/check-ins", tag = "booking", params(("id" = String, Path, description = "Venue id")),
    request_body = CheckInRequest,
    responses((status = 200, body = BookingView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "another venue's booking, not confirmed, or outside the check-in window"),
        (status = 400, body = ErrorBody, description = "a malformed or forged code"), (status = 503, body = ErrorBody)))]
pub async fn check_in_at_venue(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<CheckInRequest>,
) -> Result<Json<BookingView>, ApiError> {
    let venue_id = VenueId::parse(&id).map_err(|reason| ApiError::invalid_parameter("id", reason))?;
    if state.snapshot().catalog.get(&venue_id).is_none() {
        return Err(ApiError::not_found(format!("venue {id} does not exist")));
    }
    let booking = crate::check_in::check_in_with_code(&state, &caller, &venue_id, &request.code).await.map_err(crate::check_in::CheckInError::into_api)?;
    Ok(Json(view_with_rules(&state, &booking).await))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys() {
        let check = |value: Option<&str>, ok: bool| {
            let mut headers = HeaderMap::new();
            if let Some(value) = value {
                headers.insert(IDEMPOTENCY_KEY_HEADER, HeaderValue::from_str(value).unwrap());
            }
            assert_eq!(idempotency_key(&headers).is_ok(), ok, "{value:?}");
        };
        check(None, false);
        check(Some(""), false);
        check(Some("a b"), false);
        check(Some(&"k".repeat(129)), false);
        check(Some("0b7a5e2c-9d1f-4e0a-8c55-1f2e3d4c5b6a"), true);
    }

    #[test]
    fn ics_escapes_and_uses_utc() {
        let slot = Slot {
            id: SlotId::new(7),
            province: "33".into(),
            resource: fitforall_core::booking::ResourceId::parse("court-1").unwrap(),
            venue: VenueId::parse("v-1").unwrap(),
            start: NaiveDateTime::parse_from_str("2026-12-08 19:00", "%Y-%m-%d %H:%M").unwrap(),
            end: NaiveDateTime::parse_from_str("2026-12-08 20:00", "%Y-%m-%d %H:%M").unwrap(),
            capacity: 4,
            taken: 1,
            price_fen: 0,
            reduced_price_fen: 0,
        };
        let booking = Booking {
            id: 42,
            province: "33".into(),
            slot: slot.id,
            resource: slot.resource.clone(),
            venue: slot.venue.clone(),
            account: fitforall_core::policy::AccountId::new(1),
            slot_start: slot.start,
            places: 2,
            status: BookingStatus::Confirmed,
            total_fen: 0,
            reduced: false,
            expires_at: None,
            idempotency_key: "k".into(),
            request_hash: "h".into(),
            created_at: chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 1, 0, 0, 0).unwrap(),
            updated_at: chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 1, 0, 0, 0).unwrap(),
        };
        let text = ics(&booking, &slot, Some("西湖体育馆, 羽毛球"), Some("北山路; 1号"));
        assert!(text.contains("DTSTART:20261208T110000Z\r\n"), "{text}");
        assert!(text.contains("DTEND:20261208T120000Z\r\n"), "{text}");
        assert!(text.contains("SUMMARY:西湖体育馆\\, 羽毛球 · 2 人\r\n"), "{text}");
        assert!(text.contains("LOCATION:北山路\\; 1号\r\n"), "{text}");
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"));
    }
}
