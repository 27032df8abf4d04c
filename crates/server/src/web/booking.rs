//! Booking pages for residents: a resource's week grid of slots with places left (refreshed by
//! `/static/js/booking.js` from the slots API while the page is open, so the 08:00 opening shows
//! without a reload), the booking form, and "my bookings" with cancel, confirm and add-to-calendar.
//! Forms go through `PageForm` (CSRF) and the same rush engine as `POST /api/v1/bookings`; each grid
//! form carries its own idempotency key, so a double click or a resent form never books twice.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use fitforall_core::booking::{BookingStatus, Refusal, ResourceId, TransitionError, cancellation, hold_expired};
use fitforall_core::venue::VenueId;
use fitforall_store::{BatchRequest, Resource, Slot};
use minijinja::{Value, context};

use crate::api::bookings::{alternatives_to, local, parse_slot_id, request_hash};
use crate::api::venues::local_now;
use crate::booking_engine::BookOutcome;
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::account::{Problem, problem, to_login};
use crate::web::forms::PageForm;
use crate::web::i18n::fill;
use crate::web::{Lang, PageContext, render_error_page};

/// Days a grid shows.
pub const GRID_DAYS: i64 = 7;

fn price_text(lang: Lang, fen: i64) -> String {
    if fen == 0 {
        return lang.text("booking_free").to_string();
    }
    fill(lang.text("booking_price"), &[("yuan", &format!("{:.2}", fen as f64 / 100.0))])
}

/// The resources of a venue with their booking links (for the venue page).
pub async fn resource_links(state: &AppState, venue: &VenueId) -> Vec<Value> {
    let resources = state.store().resources_of_venue(venue).await.unwrap_or_default();
    resources
        .iter()
        .map(|resource| context! { id => resource.id.as_str(), name => resource.name, url => format!("/venues/{venue}/book?resource={}", resource.id) })
        .collect()
}

fn weekday(lang: Lang, date: NaiveDate) -> &'static str {
    use chrono::Datelike;
    lang.weekday(date.weekday().num_days_from_monday() as usize)
}

/// The grid: one column per day, one row per start time; each cell a slot (or nothing).
fn grid(lang: Lang, resource: &Resource, slots: &[Slot], from: NaiveDate, now: NaiveDateTime, new_key: &mut dyn FnMut() -> String) -> Value {
    let days: Vec<NaiveDate> = (0..GRID_DAYS).filter_map(|offset| from.checked_add_days(chrono::Days::new(offset as u64))).collect();
    let mut times: Vec<chrono::NaiveTime> = slots.iter().map(|slot| slot.start.time()).collect();
    times.sort();
    times.dedup();
    let rows: Vec<Value> = times
        .iter()
        .map(|time| {
            let cells: Vec<Value> = days
                .iter()
                .map(|day| {
                    let Some(slot) = slots.iter().find(|slot| slot.start.date() == *day && slot.start.time() == *time) else {
                        return context! { empty => true };
                    };
                    let opens_at = resource.booking_rules.opening_for(slot.start.date());
                    let state = if now >= slot.start {
                        "past"
                    } else if now < opens_at {
                        "not_open"
                    } else if slot.left() == 0 {
                        "full"
                    } else {
                        "open"
                    };
                    context! {
                        empty => false,
                        slot_id => slot.id.to_string(),
                        left => slot.left(),
                        capacity => slot.capacity,
                        state => state,
                        opens_at => local(opens_at),
                        opens_text => fill(lang.text("booking_opens_at"), &[("at", &opens_at.format("%m-%d %H:%M").to_string())]),
                        price => price_text(lang, slot.price_fen),
                        key => new_key(),
                        label => format!("{} {} {}", day.format("%m-%d"), weekday(lang, *day), time.format("%H:%M")),
                    }
                })
                .collect();
            context! { time => time.format("%H:%M").to_string(), cells => cells }
        })
        .collect();
    let heads: Vec<Value> = days.iter().map(|day| context! { date => day.format("%m-%d").to_string(), weekday => weekday(lang, *day) }).collect();
    context! { heads => heads, rows => rows }
}

async fn render_grid(state: &AppState, mut page: PageContext, venue_id: &str, status: StatusCode, problem: Option<Problem>, offers: Value) -> Response {
    let lang = page.lang;
    let snapshot = state.snapshot();
    let Some(venue) = VenueId::parse(venue_id).ok().and_then(|id| snapshot.catalog.get(&id).cloned()) else {
        return render_error_page(ApiError::not_found(format!("venue {venue_id} does not exist")), &page);
    };
    let resources = match state.store().resources_of_venue(&venue.id).await {
        Ok(resources) => resources,
        Err(error) => return render_error_page(error.into(), &page),
    };
    let chosen = page.query_value("resource").and_then(|id| ResourceId::parse(id).ok());
    let resource = match chosen {
        Some(id) => resources.iter().find(|resource| resource.id == id),
        None => resources.first(),
    };
    let now = local_now();
    let from = page
        .query_value("from")
        .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .filter(|date| *date >= now.date() - Duration::days(1) && *date <= now.date() + Duration::days(60))
        .unwrap_or(now.date());
    let mut key_counter = 0u32;
    let base_key = crate::auth::new_token().0;
    let mut new_key = || {
        key_counter += 1;
        format!("{}-{key_counter}", &base_key[..24])
    };
    let (grid_data, resource_data) = match resource {
        None => (Value::from(()), Value::from(())),
        Some(resource) => {
            let until = (from + Duration::days(GRID_DAYS)).and_hms_opt(0, 0, 0).expect("midnight exists");
            let slots = match state.store().slots_between(&resource.id, from.and_hms_opt(0, 0, 0).expect("midnight exists"), until).await {
                Ok(slots) => slots,
                Err(error) => return render_error_page(error.into(), &page),
            };
            let rules = &resource.booking_rules;
            (
                grid(lang, resource, &slots, from, now, &mut new_key),
                context! {
                    id => resource.id.as_str(),
                    name => resource.name,
                    real_name => resource.real_name,
                    rules_text => fill(lang.text("booking_rules_text"), &[
                        ("opens", &rules.opens_at.format("%H:%M").to_string()),
                        ("days", &rules.days_ahead.to_string()),
                        ("per_day", &rules.quota_per_day.to_string()),
                        ("per_week", &rules.quota_per_week.to_string()),
                        ("cutoff", &(rules.cancel_cutoff_min / 60).to_string()),
                    ]),
                    slots_api => format!("/api/v1/resources/{}/slots?from={from}&days={GRID_DAYS}", resource.id),
                },
            )
        }
    };
    let csrf = page.csrf_token();
    let tabs: Vec<Value> = resources
        .iter()
        .map(|other| context! { name => other.name, url => format!("/venues/{}/book?resource={}", venue.id, other.id), current => resource.is_some_and(|chosen| chosen.id == other.id) })
        .collect();
    let resource_param = resource.map(|resource| resource.id.to_string()).unwrap_or_default();
    let week_url = |date: NaiveDate| format!("/venues/{}/book?resource={resource_param}&from={date}", venue.id);
    let data = context! {
        venue => context! { id => venue.id.as_str(), name => venue.name, url => format!("/venues/{}", venue.id) },
        tabs => tabs,
        resource => resource_data,
        grid => grid_data,
        csrf => csrf,
        signed_in => page.visitor.signed_in(),
        login_url => page.login_url(),
        problem => problem,
        offers => offers,
        previous_url => (from > now.date()).then(|| week_url((from - Duration::days(GRID_DAYS)).max(now.date()))),
        next_url => week_url(from + Duration::days(GRID_DAYS)),
        back => page.path_and_query(),
    };
    let title = fill(lang.text("booking_title"), &[("venue", &venue.name)]);
    page.render(status, "booking_grid.html", &title, data)
}

pub async fn grid_page(State(state): State<AppState>, Path(venue): Path<String>, page: PageContext) -> Response {
    render_grid(&state, page, &venue, StatusCode::OK, None, Value::from(())).await
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct BookForm {
    #[serde(default)]
    pub slot_id: String,
    #[serde(default)]
    pub places: String,
    #[serde(default)]
    pub reduced: String,
    /// The idempotency key the grid put in this form.
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub venue: String,
}

/// Books from the grid: on success to "my bookings"; on refusal the grid again with the reason and,
/// when full, the nearest slots with places.
pub async fn book_submit(State(state): State<AppState>, PageForm(page, form): PageForm<BookForm>) -> Response {
    let Some(account) = page.visitor.caller.account() else {
        return to_login(&page);
    };
    let lang = page.lang;
    let venue = form.venue.clone();
    let fail = |error: ApiError| (error.status, Some(problem(lang, &error)));
    let slot = match parse_slot_id(&serde_json::Value::String(form.slot_id.clone())) {
        Ok(slot) => slot,
        Err(error) => {
            let (status, problem) = fail(error);
            return render_grid(&state, page, &venue, status, problem, Value::from(())).await;
        }
    };
    let places = form.places.trim().parse::<u32>().ok().filter(|places| *places > 0).unwrap_or(1);
    let reduced = form.reduced == "yes";
    let key = if form.key.trim().is_empty() || form.key.len() > 128 { crate::auth::new_token().0 } else { form.key.trim().to_string() };
    let request = BatchRequest { slot, account, places, reduced, idempotency_key: key, request_hash: request_hash(slot, places, reduced) };
    let outcome = state.booking().book(request).await;
    let error = match outcome {
        BookOutcome::Created { booking, .. } | BookOutcome::Replayed(booking) => return page.redirect(&format!("/account/bookings?booked={}", booking.id)),
        BookOutcome::KeyReused => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", "this form was already used for another booking; reload the page")
        }
        BookOutcome::IdentityRequired => ApiError::new(StatusCode::FORBIDDEN, "identity_required", lang.text("booking_identity_required")),
        BookOutcome::Busy => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", lang.text("booking_busy")),
        BookOutcome::Failed => ApiError::internal(),
        BookOutcome::Refused(Refusal::Full { .. }) => {
            let offers = alternatives_to(&state, slot).await;
            let offers = Value::from_serialize(&offers);
            let error = ApiError::new(StatusCode::CONFLICT, "full", lang.text("booking_full"));
            return render_grid(&state, page, &venue, StatusCode::CONFLICT, Some(problem(lang, &error)), offers).await;
        }
        BookOutcome::Refused(refusal) => refusal_error(lang, slot, &refusal),
    };
    let (status, problem) = fail(error);
    render_grid(&state, page, &venue, status, problem, Value::from(())).await
}

/// The API's refusal, with the opening time in the page's language.
fn refusal_error(lang: Lang, slot: fitforall_core::booking::SlotId, refusal: &Refusal) -> ApiError {
    let mut error = crate::api::bookings::refusal_error(slot, refusal);
    if let Refusal::NotOpenYet { opens_at } = refusal {
        error.message = fill(lang.text("booking_opens_at"), &[("at", &opens_at.format("%m-%d %H:%M").to_string())]);
    }
    error
}

// ---------------------------------------------------------------------------------------------
// My bookings

/// A booking status in words.
pub fn status_text(lang: Lang, status: BookingStatus) -> &'static str {
    lang.text(match status {
        BookingStatus::Held => "booking_status_held",
        BookingStatus::Confirmed => "booking_status_confirmed",
        BookingStatus::CheckedIn => "booking_status_checked_in",
        BookingStatus::Cancelled => "booking_status_cancelled",
        BookingStatus::CancelledLate => "booking_status_cancelled_late",
        BookingStatus::Expired => "booking_status_expired",
        BookingStatus::NoShow => "booking_status_no_show",
    })
}

async fn render_mine(state: &AppState, page: PageContext, status: StatusCode, problem: Option<Problem>) -> Response {
    let Some(account) = page.visitor.caller.account() else {
        return to_login(&page);
    };
    let lang = page.lang;
    let bookings = match state.store().bookings_of_account(account, 100, 0).await {
        Ok(bookings) => bookings,
        Err(error) => return render_error_page(error.into(), &page),
    };
    let now = local_now();
    let hasher = state.identity_hasher();
    let views = crate::api::bookings::views_with_rules(state, &bookings).await;
    let mut rows = Vec::with_capacity(bookings.len());
    for (booking, view) in bookings.iter().zip(views) {
        let cancellable = matches!(booking.status, BookingStatus::Held | BookingStatus::Confirmed) && now < booking.slot_start;
        let late = view.free_cancellation_until.as_deref().is_some_and(|until| local(now).as_str() > until);
        let check_in = hasher.and_then(|hasher| crate::check_in::code_view(hasher, booking, now)).map(|code| {
            let short = |text: &str| text.get(11..16).unwrap_or(text).to_string();
            context! {
                qr => check_in_qr_svg(&code.code),
                window => fill(lang.text("booking_check_in_window"), &[("opens", &short(&code.opens_at)), ("closes", &short(&code.closes_at))]),
                code => code.code,
                checked_in => code.checked_in,
            }
        });
        rows.push(context! {
            id => view.id,
            venue => view.venue_name.clone().unwrap_or(view.venue_id.clone()),
            venue_url => format!("/venues/{}", view.venue_id),
            when => booking.slot_start.format("%Y-%m-%d %H:%M").to_string(),
            places => view.places,
            status => booking.status.as_str(),
            status_text => status_text(lang, booking.status),
            price => price_text(lang, view.total_fen),
            expires_at => booking.expires_at.map(|at| at.format("%H:%M").to_string()),
            confirmable => booking.status == BookingStatus::Held && !hold_expired(booking.status, booking.expires_at, now),
            cancellable => cancellable,
            late => late,
            ics_url => format!("/api/v1/bookings/{}/calendar.ics", view.id),
            past => booking.slot_start < now,
            check_in => check_in,
        });
    }
    let booked = page.query_value("booked").map(str::to_string);
    let no_shows = no_show_notice(lang, &bookings, now);
    let data = context! { bookings => rows, problem => problem, booked => booked, done => page.query_value("done").map(str::to_string), no_shows => no_shows };
    let title = lang.text("my_bookings_title");
    page.render(status, "my_bookings.html", title, data)
}

/// A warning about the person's no-shows among `bookings` (their latest): the ban when one runs, else
/// how many no-shows count towards one. The booking decision itself reads every recent no-show.
fn no_show_notice(lang: Lang, bookings: &[fitforall_store::Booking], now: NaiveDateTime) -> Option<String> {
    let rules = fitforall_core::booking::BookingRules::default();
    let starts: Vec<NaiveDateTime> = bookings.iter().filter(|booking| booking.status == BookingStatus::NoShow).map(|booking| booking.slot_start).collect();
    let (limit, days, ban) = (rules.no_show_limit.to_string(), rules.no_show_window_days.to_string(), rules.ban_days.to_string());
    if let Some(until) = fitforall_core::booking::banned_until(&starts, &rules, now) {
        let until = until.format("%Y-%m-%d %H:%M").to_string();
        return Some(fill(lang.text("booking_banned_notice"), &[("limit", &limit), ("days", &days), ("until", &until)]));
    }
    let window_start = now - Duration::days(i64::from(rules.no_show_window_days));
    let recent = starts.iter().filter(|start| **start > window_start).count();
    if recent == 0 {
        return None;
    }
    Some(fill(lang.text("booking_no_shows_notice"), &[("n", &recent.to_string()), ("limit", &limit), ("days", &days), ("ban", &ban)]))
}

/// The check-in code as a QR code (inline SVG); empty when it cannot be encoded (it always can: a code
/// is at most 40 characters).
fn check_in_qr_svg(code: &str) -> String {
    match qrcode::QrCode::new(code.as_bytes()) {
        Ok(qr) => qr.render::<qrcode::render::svg::Color>().min_dimensions(160, 160).quiet_zone(true).build(),
        Err(_) => String::new(),
    }
}

pub async fn my_bookings(State(state): State<AppState>, page: PageContext) -> Response {
    render_mine(&state, page, StatusCode::OK, None).await
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct EmptyForm {}

async fn change(state: &AppState, page: PageContext, id: &str, action: &'static str) -> Response {
    let Some(account) = page.visitor.caller.account() else {
        return to_login(&page);
    };
    let Ok(id) = id.parse::<i64>() else {
        return render_error_page(ApiError::invalid_parameter("id", format!("expected a booking id, got {id:?}")), &page);
    };
    let now = local_now();
    let changed = state
        .store()
        .change_booking(account, id, Utc::now(), |booking, rules| match action {
            "cancel" => cancellation(booking.status, booking.slot_start, rules, now),
            _ if booking.status != BookingStatus::Held || hold_expired(booking.status, booking.expires_at, now) => {
                Err(TransitionError::NotAllowed { from: booking.status, action: "confirmed" })
            }
            _ => Ok(BookingStatus::Confirmed),
        })
        .await;
    match changed {
        Ok(Ok(_)) => page.redirect(&format!("/account/bookings?done={action}")),
        Ok(Err(refusal)) => {
            let error = ApiError::new(StatusCode::CONFLICT, "booking_state", refusal.to_string());
            let problem = problem(page.lang, &error);
            render_mine(state, page, StatusCode::CONFLICT, Some(problem)).await
        }
        Err(error) => render_error_page(error.into(), &page),
    }
}

pub async fn cancel_submit(State(state): State<AppState>, Path(id): Path<String>, PageForm(page, _): PageForm<EmptyForm>) -> Response {
    change(&state, page, &id, "cancel").await
}

pub async fn confirm_submit(State(state): State<AppState>, Path(id): Path<String>, PageForm(page, _): PageForm<EmptyForm>) -> Response {
    change(&state, page, &id, "confirm").await
}
