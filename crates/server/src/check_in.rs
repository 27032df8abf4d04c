//! Check-in and no-shows (DESIGN §5). A resident shows a signed check-in code (text and QR) for a
//! confirmed booking; the venue's operator scans or types it from 15 minutes before the start to 15
//! minutes after (`core::booking::check_in`). The code is the booking id and a MAC of the booking (its
//! id, account and slot) keyed by the server secret: it cannot be made up or moved to another booking,
//! and nothing is stored for it. A confirmed booking not checked in when check-in closes becomes a
//! no-show (`no_show_loop`), its places are released, and no-shows count towards the booking ban.

use std::time::Duration;

use axum::http::StatusCode;
use chrono::{NaiveDateTime, Utc};
use fitforall_core::booking::{BookingStatus, TransitionError, check_in, check_in_window};
use fitforall_core::policy::{Action, Actor};
use fitforall_core::venue::VenueId;
use fitforall_store::{Booking, Store, StoreError};

use crate::api::accounts::field_error;
use crate::api::bookings::local;
use crate::api::venues::local_now;
use crate::auth::{IdentityHasher, same_secret};
use crate::caller::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Hex digits of the MAC in a code (48 bits: guessing one takes ~10^14 tries, each a request).
pub const CODE_MAC_HEX_DIGITS: usize = 12;
/// Longest code text accepted (a booking id has at most 19 digits).
pub const MAX_CODE_CHARS: usize = 40;
/// How far back the no-show job looks after it starts (it may have been stopped for a while) …
pub const NO_SHOW_CATCH_UP_HOURS: i64 = 7 * 24;
/// … and on each round after that.
pub const NO_SHOW_LOOKBACK_HOURS: i64 = 6;

/// A check-in code as typed or scanned: `<booking id>-<MAC>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInCode {
    booking_id: i64,
    mac: String,
}

/// What is wrong with a code as typed or scanned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeProblem {
    #[error("enter the check-in code the resident shows")]
    Empty,
    #[error("a check-in code has at most {MAX_CODE_CHARS} characters")]
    TooLong,
    #[error("expected a check-in code like 1234567890-0123456789ab, got {0:?}")]
    Malformed(String),
    /// Well formed, but no booking has it: unknown, or not signed by this server.
    #[error("this check-in code is not valid")]
    NotValid,
}

impl CheckInCode {
    pub fn parse(text: &str) -> Result<CheckInCode, CodeProblem> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CodeProblem::Empty);
        }
        if text.chars().count() > MAX_CODE_CHARS {
            return Err(CodeProblem::TooLong);
        }
        let malformed = || CodeProblem::Malformed(text.to_string());
        let (id, mac) = text.split_once('-').ok_or_else(malformed)?;
        let booking_id = id.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(malformed)?;
        if mac.len() != CODE_MAC_HEX_DIGITS || !mac.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed());
        }
        Ok(CheckInCode { booking_id, mac: mac.to_ascii_lowercase() })
    }

    pub fn booking_id(&self) -> i64 {
        self.booking_id
    }
}

fn mac_of(hasher: &IdentityHasher, booking: &Booking) -> String {
    let digest = hasher.keyed_digest("check-in code v1", &format!("{}:{}:{}", booking.id, booking.account, booking.slot));
    digest[..CODE_MAC_HEX_DIGITS].to_string()
}

/// The code a resident shows for `booking`.
pub fn code_of(hasher: &IdentityHasher, booking: &Booking) -> String {
    format!("{}-{}", booking.id, mac_of(hasher, booking))
}

/// Whether `code` was made for `booking` with this server's secret.
pub fn is_code_of(hasher: &IdentityHasher, code: &CheckInCode, booking: &Booking) -> bool {
    code.booking_id == booking.id && same_secret(&code.mac, &mac_of(hasher, booking))
}

/// What a resident needs to check in with a booking, while it can be used: confirmed (or already
/// checked in) and the check-in window not closed at `now`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CheckInCodeView {
    pub booking_id: String,
    /// Text form of the code (the QR code holds the same text).
    pub code: String,
    /// Check-in window, China local time.
    pub opens_at: String,
    pub closes_at: String,
    pub checked_in: bool,
}

/// The check-in code of one's own booking; `None` when the booking has none (not confirmed, or its
/// window has closed).
pub fn code_view(hasher: &IdentityHasher, booking: &Booking, now: NaiveDateTime) -> Option<CheckInCodeView> {
    let (opens_at, closes_at) = check_in_window(booking.slot_start);
    if !matches!(booking.status, BookingStatus::Confirmed | BookingStatus::CheckedIn) || now > closes_at {
        return None;
    }
    Some(CheckInCodeView {
        booking_id: booking.id.to_string(),
        code: code_of(hasher, booking),
        opens_at: local(opens_at),
        closes_at: local(closes_at),
        checked_in: booking.status == BookingStatus::CheckedIn,
    })
}

pub fn no_secret() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "no_secret", "check-in codes need the server secret, and the server has none configured")
}

/// Why a check-in did not happen.
#[derive(Debug)]
pub enum CheckInError {
    /// Not allowed, no secret, the store: as the API answers it.
    Api(ApiError),
    /// A malformed, unknown or forged code (400, on the field `code`).
    Code(CodeProblem),
    /// The booking is at another venue (409).
    OtherVenue(VenueId),
    /// The core's refusal: not confirmed, or outside the check-in window (409).
    Refused(TransitionError),
}

impl From<ApiError> for CheckInError {
    fn from(error: ApiError) -> CheckInError {
        CheckInError::Api(error)
    }
}

impl From<fitforall_store::StoreError> for CheckInError {
    fn from(error: fitforall_store::StoreError) -> CheckInError {
        CheckInError::Api(error.into())
    }
}

impl CheckInError {
    /// The API's answer (English messages; the pages word the refusals themselves).
    pub fn into_api(self) -> ApiError {
        match self {
            CheckInError::Api(error) => error,
            CheckInError::Code(problem) => field_error("code", problem.to_string()),
            CheckInError::OtherVenue(venue) => ApiError::new(StatusCode::CONFLICT, "other_venue", format!("this booking is for venue {venue}")),
            CheckInError::Refused(refusal) => ApiError::new(StatusCode::CONFLICT, "booking_state", refusal.to_string()),
        }
    }
}

/// The operator of `venue` checks a resident in with the code they show (API and operator page).
/// 401/403 for someone else, 400 for a code that is malformed or not this server's, 409 when the
/// booking is at another venue, not confirmed, or outside its check-in window.
pub async fn check_in_with_code(state: &AppState, caller: &Caller, venue: &VenueId, code_text: &str) -> Result<Booking, CheckInError> {
    if matches!(caller.actor, Actor::Anonymous) {
        caller.require_login()?;
    }
    caller.require(&Action::CheckInBooking { venue: venue.clone() })?;
    let hasher = state.identity_hasher().ok_or_else(no_secret)?;
    let code = CheckInCode::parse(code_text).map_err(CheckInError::Code)?;
    // An unknown booking and a wrong MAC answer alike: a code reveals nothing unless it is genuine.
    let not_valid = || CheckInError::Code(CodeProblem::NotValid);
    let booking = match state.store().booking(code.booking_id()).await {
        Ok(booking) => booking,
        Err(StoreError::NotFound(_)) => return Err(not_valid()),
        Err(error) => return Err(error.into()),
    };
    if !is_code_of(hasher, &code, &booking) {
        return Err(not_valid());
    }
    if booking.venue != *venue {
        return Err(CheckInError::OtherVenue(booking.venue));
    }
    let now = local_now();
    let changed = state.store().change_booking_at_venue(venue, booking.id, Utc::now(), |booking, _| check_in(booking.status, booking.slot_start, now)).await?;
    let checked_in = changed.map_err(CheckInError::Refused)?;
    // Who checked whom in, and when, is in the audit log (in the venue's region).
    if let Some(region) = state.snapshot().catalog.get(venue).map(|venue| venue.region) {
        let status = |status: BookingStatus| Some(serde_json::json!({ "status": status.as_str() }).to_string());
        crate::api::resources::audit(
            state,
            caller,
            "check_in",
            format!("booking {}", checked_in.id),
            region,
            status(booking.status),
            status(checked_in.status),
        )
        .await?;
    }
    Ok(checked_in)
}

/// Marks no-shows every `interval_ms` (first looking back `NO_SHOW_CATCH_UP_HOURS`, then
/// `NO_SHOW_LOOKBACK_HOURS`), until `stop` turns true.
pub async fn no_show_loop(store: Store, interval_ms: u64, stop: tokio::sync::watch::Receiver<bool>) {
    let mut ticks = crate::booking_engine::JobTicks::new(Duration::from_millis(interval_ms.max(1_000)), stop);
    let mut lookback_hours = NO_SHOW_CATCH_UP_HOURS;
    while ticks.next().await {
        let now = local_now();
        match store.mark_no_shows(now, now - chrono::Duration::hours(lookback_hours), Utc::now()).await {
            Ok(marked) => {
                lookback_hours = NO_SHOW_LOOKBACK_HOURS;
                if marked > 0 {
                    tracing::info!(marked, "marked no-shows and released their places");
                }
            }
            Err(error) => tracing::warn!(%error, "marking no-shows failed; will retry"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CheckInCode;

    fn check(input: &str, expect: &str) {
        let actual = match CheckInCode::parse(input) {
            Ok(code) => format!("{} {}", code.booking_id, code.mac),
            Err(reason) => format!("error: {reason}"),
        };
        assert_eq!(actual, expect, "{input:?}");
    }

    #[test]
    fn codes_parse() {
        check("1234567890-0123456789ab", "1234567890 0123456789ab");
        check("  42-ABCDEF012345 \n", "42 abcdef012345");
        check("", "error: enter the check-in code the resident shows");
        check("42", r#"error: expected a check-in code like 1234567890-0123456789ab, got "42""#);
        check("42-0123456789a", r#"error: expected a check-in code like 1234567890-0123456789ab, got "42-0123456789a""#);
        check("42-0123456789ag", r#"error: expected a check-in code like 1234567890-0123456789ab, got "42-0123456789ag""#);
        check("0-0123456789ab", r#"error: expected a check-in code like 1234567890-0123456789ab, got "0-0123456789ab""#);
        check("-5-0123456789ab", r#"error: expected a check-in code like 1234567890-0123456789ab, got "-5-0123456789ab""#);
        check(&"9".repeat(41), "error: a check-in code has at most 40 characters");
    }
}
