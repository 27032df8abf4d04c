//! The operator side of booking (issue 4): a venue's bookable resources (courts, lanes, fields,
//! sessions) with their slot rules and booking rules, the slots they generate, and closures. Reading
//! is public; writing is decided by the policy (`Action::ManageBookableResources`: a platform
//! administrator, a region administrator of the venue's region, the venue's operator) and audited.
//!
//! Each operation is a `pub async fn` (`create_resource`, `update_resource`, `add_closure`, …) that the
//! JSON handlers here and the operator pages call alike. Ids travel as strings (slot and closure ids
//! are 63-bit integers, which JavaScript numbers would round). Times are China local time (UTC+8)
//! written `2026-12-08T08:00`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use fitforall_core::booking::{BookingRules, BookingRulesInput, Closure, ResourceId, SlotRule, SlotRuleInput, check_rules};
use fitforall_core::policy::Action;
use fitforall_core::region::RegionCode;
use fitforall_core::venue::{FieldError, VenueId};
use fitforall_store::{AuditEntry, RESOURCE_KINDS, Resource, Slot};

use crate::api::ApiJson;
use crate::api::venues::local_now;
use crate::caller::Caller;
use crate::error::{ApiError, ErrorBody, ErrorDetail};
use crate::params::Params;
use crate::state::AppState;

/// Longest resource name, characters.
pub const MAX_RESOURCE_NAME_CHARS: usize = 60;
/// Most bookable resources one venue may have.
pub const MAX_RESOURCES_PER_VENUE: usize = 200;
/// Longest span of the slot list, days.
pub const MAX_SLOT_LIST_DAYS: u64 = 14;
pub const DEFAULT_SLOT_LIST_DAYS: u64 = 7;
/// Longest closure, days.
pub const MAX_CLOSURE_DAYS: i64 = 366;
/// Most closures of one resource that have not ended yet.
pub const MAX_OPEN_CLOSURES_PER_RESOURCE: usize = 200;
/// Most closures one list shows (the latest, with `include_past`).
pub const MAX_CLOSURE_ROWS: usize = 1_000;
/// Longest closure reason, characters (as `Closure::parse` checks).
pub const MAX_CLOSURE_REASON_CHARS: usize = 200;
/// Local times in the API: `2026-12-08T08:00`.
pub const LOCAL_MINUTE_FORMAT: &str = "%Y-%m-%dT%H:%M";

// ----- bodies -----

/// A resource as it arrives (`POST /api/v1/venues/{id}/resources`, `PUT /api/v1/resources/{id}`, the
/// operator form). Missing fields are reported as field errors, not as malformed JSON.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ResourceInput {
    /// Letters, digits, `.`, `_`, `-`, at most 64 characters; required when creating, optional when
    /// replacing (then it must equal the id in the path). Unique across the platform.
    pub id: Option<String>,
    /// 1–60 characters, e.g. "1 号羽毛球场".
    pub name: Option<String>,
    /// court, lane, field, session or room.
    pub kind: Option<String>,
    /// At least one rule; rules must not overlap.
    #[schema(value_type = Vec<SlotRuleSchema>)]
    pub slot_rules: Vec<SlotRuleInput>,
    /// Every field optional; the defaults fill the rest (the window opens at 08:00 for the next 7 days).
    #[schema(value_type = Option<BookingRulesSchema>)]
    pub booking_rules: Option<BookingRulesInput>,
    /// Booking needs a recorded resident identity number (实名制). Default false.
    pub real_name: bool,
}

/// A slot rule in a request (documentation of `SlotRuleInput`).
#[derive(Debug, utoipa::ToSchema)]
pub struct SlotRuleSchema {
    /// Days of the week: `1-5`, `6,7` (1 = Monday … 7 = Sunday) or `mon-fri`, `sat,sun`.
    pub weekdays: String,
    /// Local time of the first slot's start, `08:00`.
    pub start: String,
    /// Local time of the last slot's end, after `start` (slots do not run past midnight).
    pub end: String,
    /// 10–1440 minutes, dividing the time from start to end.
    pub slot_length_min: u32,
    /// Places per slot, 1–10000.
    pub places: u32,
    /// Price per place in fen (1/100 yuan), 0–1000000; default 0 (free).
    pub price_fen: Option<i64>,
    /// Price for priority groups (the elderly, students, the disabled), 0 to the full price; default the full price.
    pub reduced_price_fen: Option<i64>,
}

/// Booking rules in a request (documentation of `BookingRulesInput`); every field optional.
#[derive(Debug, utoipa::ToSchema)]
pub struct BookingRulesSchema {
    /// When the window opens each day, local time; default `08:00`.
    pub opens_at: Option<String>,
    /// Days ahead the window reaches, 0–60; default 7.
    pub days_ahead: Option<u32>,
    /// Minutes an unpaid hold lasts, 1–1440; default 10.
    pub hold_min: Option<u32>,
    /// Cancelling is free until this many minutes before the start, 0–10080; default 120.
    pub cancel_cutoff_min: Option<u32>,
    /// Bookings per person per day at this venue, 1–100; default 2.
    pub quota_per_day: Option<u32>,
    /// Bookings per person per ISO week at this venue, 1–700, at least `quota_per_day`; default 4.
    pub quota_per_week: Option<u32>,
    /// Places one booking may take, 1–100; default 4.
    pub max_places_per_booking: Option<u32>,
}

/// A closure as it arrives (`POST /api/v1/resources/{id}/closures`, the operator form).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClosureInput {
    /// Local time the closure starts, `2026-12-08T08:00`: at least 7 days ahead unless `urgent`.
    pub from: Option<String>,
    /// Local time it ends, after `from`, at most 366 days later.
    pub to: Option<String>,
    /// 1–200 characters, shown to residents (维修, 赛事, 暴雨…).
    pub reason: Option<String>,
    /// Announced at short notice (weather, damage). Default false.
    pub urgent: bool,
}

// ----- views -----

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SlotRuleView {
    /// Canonical form, `1-5,7` (1 = Monday).
    pub weekdays: String,
    pub start: String,
    pub end: String,
    pub slot_length_min: u32,
    pub places: u32,
    pub price_fen: i64,
    pub reduced_price_fen: i64,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BookingRulesView {
    pub opens_at: String,
    pub days_ahead: u32,
    pub hold_min: u32,
    pub cancel_cutoff_min: u32,
    pub quota_per_day: u32,
    pub quota_per_week: u32,
    pub max_places_per_booking: u32,
    /// No-shows within `no_show_window_days` that ban booking for `ban_days` (platform-wide, fixed).
    pub no_show_limit: u32,
    pub no_show_window_days: u32,
    pub ban_days: u32,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ResourceView {
    pub id: String,
    pub venue: String,
    pub name: String,
    /// court, lane, field, session or room.
    pub kind: String,
    pub slot_rules: Vec<SlotRuleView>,
    pub booking_rules: BookingRulesView,
    pub real_name: bool,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
    /// Only in the answer to an update: the coming slots that the new rules no longer give but that
    /// stay because they have bookings (the operator contacts those people). Every other such slot was
    /// removed, and the slots of the new rules were generated.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept_slots: Vec<SlotView>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ResourceList {
    pub venue: String,
    pub items: Vec<ResourceView>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SlotView {
    /// A 63-bit integer as a string.
    pub id: String,
    /// Local time, `2026-12-08T08:00`.
    pub start: String,
    pub end: String,
    pub capacity: u32,
    /// Places held by bookings (held, confirmed or checked in).
    pub taken: u32,
    pub left: u32,
    pub price_fen: i64,
    pub reduced_price_fen: i64,
    /// When booking this slot opens (local time): `days_ahead` days before, at `opens_at`.
    pub opens_at: String,
    /// The window is open now and the slot has not started.
    pub booking_open: bool,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SlotList {
    pub resource: String,
    pub venue: String,
    /// First day listed, `2026-12-08`.
    pub from: String,
    pub days: u32,
    /// The server's local time the list was made at (what `booking_open` refers to).
    pub now: String,
    pub slots: Vec<SlotView>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ClosureView {
    /// A 63-bit integer as a string.
    pub id: String,
    pub resource: String,
    /// Local time, `2026-12-08T08:00`.
    pub from: String,
    pub to: String,
    pub reason: String,
    /// Announced less than 7 days ahead.
    pub urgent: bool,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ClosureAdded {
    pub closure: ClosureView,
    /// Slots inside the closure that stay because they have bookings: the operator contacts those
    /// people. Every other slot inside it was removed.
    pub kept_slots: Vec<SlotView>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ClosureList {
    pub resource: String,
    pub items: Vec<ClosureView>,
}

fn local_minute(time: NaiveDateTime) -> String {
    time.format(LOCAL_MINUTE_FORMAT).to_string()
}

pub fn resource_view(resource: &Resource) -> ResourceView {
    let rules = &resource.booking_rules;
    ResourceView {
        id: resource.id.to_string(),
        venue: resource.venue.to_string(),
        name: resource.name.clone(),
        kind: resource.kind.clone(),
        slot_rules: resource.slot_rules.iter().map(slot_rule_view).collect(),
        booking_rules: BookingRulesView {
            opens_at: rules.opens_at.format("%H:%M").to_string(),
            days_ahead: rules.days_ahead,
            hold_min: rules.hold_min,
            cancel_cutoff_min: rules.cancel_cutoff_min,
            quota_per_day: rules.quota_per_day,
            quota_per_week: rules.quota_per_week,
            max_places_per_booking: rules.max_places_per_booking,
            no_show_limit: rules.no_show_limit,
            no_show_window_days: rules.no_show_window_days,
            ban_days: rules.ban_days,
        },
        real_name: resource.real_name,
        kept_slots: Vec::new(),
        created_at: resource.created_at.to_rfc3339(),
        updated_at: resource.updated_at.to_rfc3339(),
    }
}

fn slot_rule_view(rule: &SlotRule) -> SlotRuleView {
    SlotRuleView {
        weekdays: rule.weekdays.canonical(),
        start: rule.start.format("%H:%M").to_string(),
        end: rule.end.format("%H:%M").to_string(),
        slot_length_min: rule.slot_length_min,
        places: rule.places,
        price_fen: rule.price_fen,
        reduced_price_fen: rule.reduced_price_fen,
    }
}

/// A slot as residents and operators see it at local time `now`, under the resource's `rules`.
pub fn slot_view(slot: &Slot, rules: &BookingRules, now: NaiveDateTime) -> SlotView {
    let opens_at = rules.opening_for(slot.start.date());
    SlotView {
        id: slot.id.to_string(),
        start: local_minute(slot.start),
        end: local_minute(slot.end),
        capacity: slot.capacity,
        taken: slot.taken,
        left: slot.left(),
        price_fen: slot.price_fen,
        reduced_price_fen: slot.reduced_price_fen,
        opens_at: local_minute(opens_at),
        booking_open: opens_at <= now && now < slot.start,
    }
}

fn closure_view(resource: &ResourceId, id: i64, closure: &Closure) -> ClosureView {
    ClosureView {
        id: id.to_string(),
        resource: resource.to_string(),
        from: local_minute(closure.from),
        to: local_minute(closure.to),
        reason: closure.reason.clone(),
        urgent: closure.urgent,
    }
}

// ----- parsing -----

/// 400 listing every located problem (field names like `slot_rules[2].start`).
pub fn invalid_fields(details: Vec<ErrorDetail>) -> ApiError {
    let message = details.iter().map(|detail| format!("{}: {}", detail.field, detail.reason)).collect::<Vec<_>>().join("; ");
    ApiError { status: StatusCode::BAD_REQUEST, code: "invalid_body", message, details, retry_after_s: None }
}

pub(crate) fn detail(field: impl Into<String>, reason: impl Into<String>) -> ErrorDetail {
    ErrorDetail { field: field.into(), reason: reason.into() }
}

fn prefixed(prefix: &str, errors: Vec<FieldError>) -> impl Iterator<Item = ErrorDetail> + '_ {
    errors.into_iter().map(move |error| detail(format!("{prefix}.{}", error.field), error.reason))
}

pub fn parse_venue_id(text: &str) -> Result<VenueId, ApiError> {
    VenueId::parse(text).map_err(|reason| ApiError::invalid_parameter("id", reason))
}

pub fn parse_resource_id(text: &str) -> Result<ResourceId, ApiError> {
    ResourceId::parse(text).map_err(|reason| ApiError::invalid_parameter("id", reason))
}

/// The fields of a resource, parsed: everything but its id, venue and timestamps.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceFields {
    pub name: String,
    pub kind: String,
    pub slot_rules: Vec<SlotRule>,
    pub booking_rules: BookingRules,
    pub real_name: bool,
}

impl ResourceInput {
    /// Every field checked, every problem reported (the id is the caller's: it differs between
    /// creating and replacing).
    pub fn parse_fields(&self) -> Result<ResourceFields, Vec<ErrorDetail>> {
        let mut problems = Vec::new();
        let name = match self.name.as_deref().map(str::trim) {
            None | Some("") => {
                problems.push(detail("name", "is required"));
                None
            }
            Some(name) if name.chars().count() > MAX_RESOURCE_NAME_CHARS => {
                problems.push(detail("name", format!("must be at most {MAX_RESOURCE_NAME_CHARS} characters")));
                None
            }
            Some(name) if name.chars().any(char::is_control) => {
                problems.push(detail("name", "must not contain control characters"));
                None
            }
            Some(name) => Some(name.to_string()),
        };
        let kind = match self.kind.as_deref().map(str::trim) {
            None | Some("") => {
                problems.push(detail("kind", format!("is required (one of: {})", RESOURCE_KINDS.join(", "))));
                None
            }
            Some(kind) if RESOURCE_KINDS.contains(&kind) => Some(kind.to_string()),
            Some(kind) => {
                problems.push(detail("kind", format!("unknown kind {kind:?} (one of: {})", RESOURCE_KINDS.join(", "))));
                None
            }
        };
        let mut slot_rules = Vec::with_capacity(self.slot_rules.len());
        if self.slot_rules.is_empty() {
            problems.push(detail("slot_rules", "give at least one rule"));
        }
        for (index, input) in self.slot_rules.iter().enumerate() {
            match input.parse() {
                Ok(rule) => slot_rules.push(rule),
                Err(errors) => problems.extend(prefixed(&format!("slot_rules[{index}]"), errors)),
            }
        }
        if slot_rules.len() == self.slot_rules.len()
            && let Err(reason) = check_rules(&slot_rules)
        {
            problems.push(detail("slot_rules", reason));
        }
        let booking_rules = match self.booking_rules.clone().unwrap_or_default().parse() {
            Ok(rules) => Some(rules),
            Err(errors) => {
                problems.extend(prefixed("booking_rules", errors));
                None
            }
        };
        match (name, kind, booking_rules) {
            (Some(name), Some(kind), Some(booking_rules)) if problems.is_empty() => {
                Ok(ResourceFields { name, kind, slot_rules, booking_rules, real_name: self.real_name })
            }
            _ => Err(problems),
        }
    }
}

fn parse_local_minute(field: &str, text: Option<&str>, problems: &mut Vec<ErrorDetail>) -> Option<NaiveDateTime> {
    let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else {
        problems.push(detail(field, "is required"));
        return None;
    };
    let parsed = NaiveDateTime::parse_from_str(text, LOCAL_MINUTE_FORMAT).or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"));
    match parsed {
        Ok(time) => Some(time),
        Err(_) => {
            problems.push(detail(field, format!("expected a local time (UTC+8) like 2026-12-08T08:00, got {text:?}")));
            None
        }
    }
}

impl ClosureInput {
    /// A closure announced at local time `now`: times, reason, [`CLOSURE_NOTICE_DAYS`] of notice unless
    /// urgent, at most [`MAX_CLOSURE_DAYS`] long, not over already.
    pub fn parse(&self, now: NaiveDateTime) -> Result<Closure, Vec<ErrorDetail>> {
        let mut problems = Vec::new();
        let from = parse_local_minute("from", self.from.as_deref(), &mut problems);
        let to = parse_local_minute("to", self.to.as_deref(), &mut problems);
        let reason = self.reason.as_deref().unwrap_or("").trim();
        if reason.is_empty() || reason.chars().count() > MAX_CLOSURE_REASON_CHARS {
            problems.push(detail("reason", format!("must have 1 to {MAX_CLOSURE_REASON_CHARS} characters")));
        } else if reason.chars().any(char::is_control) {
            problems.push(detail("reason", "must not contain control characters"));
        }
        let (Some(from), Some(to)) = (from, to) else {
            return Err(problems);
        };
        if to > from && to - from > Duration::days(MAX_CLOSURE_DAYS) {
            problems.push(detail("to", format!("a closure lasts at most {MAX_CLOSURE_DAYS} days")));
        }
        if to > from && to <= now {
            problems.push(detail("to", "the closure is already over"));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Closure::parse(from, to, reason, self.urgent, now).map_err(|error| vec![detail(error.field, error.reason)])
    }
}

// ----- facts for the policy -----

/// The venue's current region (from the catalog), or for a resource whose venue is gone its province.
fn resource_region(state: &AppState, resource: &Resource) -> Result<RegionCode, ApiError> {
    if let Some(venue) = state.snapshot().catalog.get(&resource.venue) {
        return Ok(venue.region);
    }
    RegionCode::parse(&resource.province).map_err(|error| {
        tracing::error!(resource = %resource.id, %error, "resource with a bad province code");
        ApiError::internal()
    })
}

/// The resource a write refers to: 401 first for a caller who is not logged in (anonymous callers
/// learn nothing about which ids exist), then 404, then the policy's answer.
async fn writable_resource(state: &AppState, caller: &Caller, id: &ResourceId) -> Result<(Resource, RegionCode), ApiError> {
    caller.require_login()?;
    let resource = state.store().resource(id).await?;
    let region = resource_region(state, &resource)?;
    caller.require(&Action::ManageBookableResources { venue: resource.venue.clone(), region })?;
    Ok((resource, region))
}

pub(crate) async fn audit(
    state: &AppState,
    caller: &Caller,
    action: &str,
    target: String,
    region: RegionCode,
    before: Option<String>,
    after: Option<String>,
) -> Result<(), ApiError> {
    let entry = AuditEntry {
        id: crate::auth::new_id(),
        at: Utc::now(),
        actor: caller.account(),
        actor_label: caller.label(),
        action: action.to_string(),
        target,
        region: Some(region),
        before_json: before,
        after_json: after,
    };
    state.store().append_audit(&entry).await?;
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> Option<String> {
    serde_json::to_string(value).ok()
}

/// Generates the resource's slots after a write; a failure is logged (the background job retries).
async fn generate_after_write(state: &AppState, resource: &Resource) {
    match crate::slot_generation::generate_slots_for(state, resource, local_now().date()).await {
        Ok(created) => tracing::info!(resource = %resource.id, created, "slots generated"),
        Err(error) => tracing::warn!(resource = %resource.id, error = %error.message, "slots not generated; the background job will retry"),
    }
}

// ----- operations (API and pages) -----

/// The bookable resources of a venue, by id. 404 for an unknown venue.
pub async fn venue_resources(state: &AppState, venue: &VenueId) -> Result<ResourceList, ApiError> {
    if state.snapshot().catalog.get(venue).is_none() {
        return Err(ApiError::not_found(format!("venue {venue} does not exist")));
    }
    let resources = state.store().resources_of_venue(venue).await?;
    Ok(ResourceList { venue: venue.to_string(), items: resources.iter().map(resource_view).collect() })
}

/// Creates a resource of `venue` (decided by the policy, audited as `create_resource`) and generates
/// its slots.
pub async fn create_resource(state: &AppState, caller: &Caller, venue: &VenueId, input: &ResourceInput) -> Result<ResourceView, ApiError> {
    caller.require_login()?;
    let region = state.snapshot().catalog.get(venue).map(|venue| venue.region).ok_or_else(|| ApiError::not_found(format!("venue {venue} does not exist")))?;
    caller.require(&Action::ManageBookableResources { venue: venue.clone(), region })?;
    let id = match input.id.as_deref().map(str::trim) {
        None | Some("") => Err(detail("id", "is required")),
        Some(text) => ResourceId::parse(text).map_err(|reason| detail("id", reason)),
    };
    let fields = input.parse_fields();
    let (id, fields) = match (id, fields) {
        (Ok(id), Ok(fields)) => (id, fields),
        (id, fields) => {
            let mut problems: Vec<ErrorDetail> = id.err().into_iter().collect();
            problems.extend(fields.err().unwrap_or_default());
            return Err(invalid_fields(problems));
        }
    };
    let existing = state.store().resources_of_venue(venue).await?;
    if existing.len() >= MAX_RESOURCES_PER_VENUE {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("venue {venue} already has {MAX_RESOURCES_PER_VENUE} resources, the most allowed"),
        ));
    }
    let now = Utc::now();
    let resource = Resource {
        id,
        venue: venue.clone(),
        province: region.province_code(),
        name: fields.name,
        kind: fields.kind,
        slot_rules: fields.slot_rules,
        booking_rules: fields.booking_rules,
        real_name: fields.real_name,
        created_at: now,
        updated_at: now,
    };
    state.store().create_resource(&resource).await?;
    tracing::info!(resource = %resource.id, venue = %venue, by = %caller.label(), "resource created");
    let view = resource_view(&resource);
    audit(state, caller, "create_resource", format!("resource {}", resource.id), region, None, to_json(&view)).await?;
    generate_after_write(state, &resource).await;
    Ok(view)
}

/// Replaces a resource's name, kind and rules (decided by the policy, audited as `update_resource`)
/// and generates the slots the new rules add. Existing slots keep their times, places and prices.
pub async fn update_resource(state: &AppState, caller: &Caller, id: &ResourceId, input: &ResourceInput) -> Result<ResourceView, ApiError> {
    let (current, region) = writable_resource(state, caller, id).await?;
    let mut problems = Vec::new();
    if input.id.as_deref().map(str::trim).is_some_and(|body_id| !body_id.is_empty() && body_id != id.as_str()) {
        problems.push(detail("id", "differs from the id in the path"));
    }
    let fields = match input.parse_fields() {
        Ok(fields) if problems.is_empty() => fields,
        Ok(_) => return Err(invalid_fields(problems)),
        Err(errors) => {
            problems.extend(errors);
            return Err(invalid_fields(problems));
        }
    };
    let resource = Resource {
        name: fields.name,
        kind: fields.kind,
        slot_rules: fields.slot_rules,
        booking_rules: fields.booking_rules,
        real_name: fields.real_name,
        updated_at: Utc::now(),
        ..current.clone()
    };
    state.store().update_resource(&resource).await?;
    tracing::info!(resource = %resource.id, by = %caller.label(), "resource updated");
    let mut view = resource_view(&resource);
    audit(state, caller, "update_resource", format!("resource {}", resource.id), region, to_json(&resource_view(&current)), to_json(&view)).await?;
    // The coming slots follow the new rules: those the rules no longer give go unless booked. (Closures
    // are left out of the comparison: their slots were removed, or kept and reported, when closed.)
    let now = local_now();
    let wanted = crate::slot_generation::slots_to_create(&resource, &[], now.date(), &[]);
    let kept = state.store().remove_slots_not_wanted(&resource, now, &wanted).await?;
    if !kept.is_empty() {
        tracing::info!(resource = %resource.id, kept = kept.len(), "slots that the new rules no longer give were kept: they have bookings");
    }
    view.kept_slots = kept.iter().map(|slot| slot_view(slot, &resource.booking_rules, now)).collect();
    generate_after_write(state, &resource).await;
    Ok(view)
}

/// The slots of a resource on `days` days from `from` (local dates), at local time `now`.
pub async fn slot_list(state: &AppState, id: &ResourceId, from: NaiveDate, days: u32, now: NaiveDateTime) -> Result<SlotList, ApiError> {
    let resource = state.store().resource(id).await?;
    let days = days.clamp(1, MAX_SLOT_LIST_DAYS as u32);
    let start = from.and_time(chrono::NaiveTime::MIN);
    let Some(end) = from.checked_add_days(chrono::Days::new(u64::from(days))).map(|date| date.and_time(chrono::NaiveTime::MIN)) else {
        return Err(ApiError::invalid_parameter("from", "is too far in the future"));
    };
    let slots = state.store().slots_between(id, start, end).await?;
    Ok(SlotList {
        resource: resource.id.to_string(),
        venue: resource.venue.to_string(),
        from: from.to_string(),
        days,
        now: local_minute(now),
        slots: slots.iter().map(|slot| slot_view(slot, &resource.booking_rules, now)).collect(),
    })
}

/// Closes a resource for a while (decided by the policy, audited as `create_closure`): records the
/// closure and removes its unbooked slots; slots with bookings stay and are returned.
pub async fn add_closure(state: &AppState, caller: &Caller, id: &ResourceId, input: &ClosureInput) -> Result<ClosureAdded, ApiError> {
    let (resource, region) = writable_resource(state, caller, id).await?;
    let now = local_now();
    let closure = input.parse(now).map_err(invalid_fields)?;
    let open = state.store().closures_of(id).await?.iter().filter(|(_, closure)| closure.to > now).count();
    if open >= MAX_OPEN_CLOSURES_PER_RESOURCE {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("resource {id} already has {MAX_OPEN_CLOSURES_PER_RESOURCE} closures that have not ended, the most allowed"),
        ));
    }
    let closure_id = crate::auth::new_id();
    let kept = state.store().add_closure(&resource, closure_id, &closure, Utc::now()).await?;
    tracing::info!(resource = %id, closure = closure_id, kept = kept.len(), by = %caller.label(), "closure added");
    let added = ClosureAdded {
        closure: closure_view(id, closure_id, &closure),
        kept_slots: kept.iter().map(|slot| slot_view(slot, &resource.booking_rules, now)).collect(),
    };
    audit(state, caller, "create_closure", format!("resource {id}"), region, None, to_json(&added)).await?;
    Ok(added)
}

/// The closures of a resource that have not ended at local time `now`, by start; with
/// `include_past` also the ended ones (at most [`MAX_CLOSURE_ROWS`], the latest).
pub async fn closure_list(state: &AppState, id: &ResourceId, include_past: bool, now: NaiveDateTime) -> Result<ClosureList, ApiError> {
    let resource = state.store().resource(id).await?;
    let closures = state.store().closures_of(&resource.id).await?;
    let mut items: Vec<ClosureView> =
        closures.iter().filter(|(_, closure)| include_past || closure.to > now).map(|(closure_id, closure)| closure_view(id, *closure_id, closure)).collect();
    if items.len() > MAX_CLOSURE_ROWS {
        items.drain(..items.len() - MAX_CLOSURE_ROWS);
    }
    Ok(ClosureList { resource: id.to_string(), items })
}

// ----- handlers -----

/// The bookable resources of a venue (courts, lanes, fields, sessions), with their slot and booking rules.
#[utoipa::path(get, path = "/api/v1/venues/{id}/resources", tag = "booking",
    params(("id" = String, Path, description = "Venue id")),
    responses((status = 200, body = ResourceList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_for_venue(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<ResourceList>, ApiError> {
    let venue = parse_venue_id(&id)?;
    Ok(Json(venue_resources(&state, &venue).await?))
}

/// Create a bookable resource of a venue; its slots are generated at once for the booking window.
/// Requires a session (with X-CSRF-Token) or an API token of a platform administrator, a region
/// administrator of the venue's region, or the venue's operator. Every field problem is listed.
#[utoipa::path(post, path = "/api/v1/venues/{id}/resources", tag = "booking", security(("bearer_token" = [])),
    params(("id" = String, Path, description = "Venue id")),
    request_body = ResourceInput,
    responses((status = 201, body = ResourceView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "The id is taken, or the venue has the most resources allowed")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ResourceInput>,
) -> Result<Response, ApiError> {
    caller.require_login()?;
    let venue = parse_venue_id(&id)?;
    let view = create_resource(&state, &caller, &venue, &input).await?;
    let location = format!("/api/v1/resources/{}", view.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(view)).into_response())
}

/// One bookable resource.
#[utoipa::path(get, path = "/api/v1/resources/{id}", tag = "booking",
    params(("id" = String, Path, description = "Resource id")),
    responses((status = 200, body = ResourceView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn show(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<ResourceView>, ApiError> {
    let id = parse_resource_id(&id)?;
    Ok(Json(resource_view(&state.store().resource(&id).await?)))
}

/// Replace a resource's name, kind, slot rules and booking rules (the body of the create call; `id`
/// may be left out). Slots the new rules add are generated; existing slots keep their times, places
/// and prices, and new slots never overlap existing ones.
#[utoipa::path(put, path = "/api/v1/resources/{id}", tag = "booking", security(("bearer_token" = [])),
    params(("id" = String, Path, description = "Resource id")),
    request_body = ResourceInput,
    responses((status = 200, body = ResourceView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ResourceInput>,
) -> Result<Json<ResourceView>, ApiError> {
    caller.require_login()?;
    let id = parse_resource_id(&id)?;
    Ok(Json(update_resource(&state, &caller, &id, &input).await?))
}

/// The query parameters of the slot list.
pub const SLOT_LIST_PARAMETERS: [&str; 2] = ["from", "days"];

/// The slots of a resource day by day, with places left and when booking opens.
#[utoipa::path(get, path = "/api/v1/resources/{id}/slots", tag = "booking",
    params(
        ("id" = String, Path, description = "Resource id"),
        ("from" = Option<String>, Query, description = "First local date, 2026-12-08; default today (UTC+8)"),
        ("days" = Option<u32>, Query, description = "Days listed, 1–14, default 7"),
    ),
    responses((status = 200, body = SlotList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_slots(State(state): State<AppState>, Path(id): Path<String>, params: Params) -> Result<Json<SlotList>, ApiError> {
    params.allow_only(&SLOT_LIST_PARAMETERS)?;
    let id = parse_resource_id(&id)?;
    let now = local_now();
    let from = params
        .parsed("from", |text| NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| format!("expected a date like 2026-12-08, got {text:?}")))?
        .unwrap_or(now.date());
    let days = params.integer_in("days", 1, MAX_SLOT_LIST_DAYS)?.unwrap_or(DEFAULT_SLOT_LIST_DAYS) as u32;
    Ok(Json(slot_list(&state, &id, from, days, now).await?))
}

/// Close a resource for a while (maintenance, an event, weather): announced at least 7 days ahead
/// unless `urgent`. Its slots inside the closure are removed unless they have bookings; those are
/// returned in `kept_slots`. Same callers as updating the resource.
#[utoipa::path(post, path = "/api/v1/resources/{id}/closures", tag = "booking", security(("bearer_token" = [])),
    params(("id" = String, Path, description = "Resource id")),
    request_body = ClosureInput,
    responses((status = 201, body = ClosureAdded), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "The resource has the most open closures allowed")))]
pub async fn create_closure(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ClosureInput>,
) -> Result<Response, ApiError> {
    caller.require_login()?;
    let id = parse_resource_id(&id)?;
    let added = add_closure(&state, &caller, &id, &input).await?;
    Ok((StatusCode::CREATED, Json(added)).into_response())
}

/// The query parameters of the closure list.
pub const CLOSURE_LIST_PARAMETERS: [&str; 1] = ["include_past"];

/// The closures of a resource that have not ended (with `include_past=true`, also the ended ones).
#[utoipa::path(get, path = "/api/v1/resources/{id}/closures", tag = "booking",
    params(
        ("id" = String, Path, description = "Resource id"),
        ("include_past" = Option<bool>, Query, description = "Also closures that have ended (the latest 1,000)"),
    ),
    responses((status = 200, body = ClosureList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_closures(State(state): State<AppState>, Path(id): Path<String>, params: Params) -> Result<Json<ClosureList>, ApiError> {
    params.allow_only(&CLOSURE_LIST_PARAMETERS)?;
    let id = parse_resource_id(&id)?;
    let include_past = params.boolean("include_past")?.unwrap_or(false);
    Ok(Json(closure_list(&state, &id, include_past, local_now()).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(weekdays: &str, start: &str, end: &str) -> SlotRuleInput {
        SlotRuleInput { weekdays: weekdays.into(), start: start.into(), end: end.into(), slot_length_min: 60, places: 4, price_fen: 0, reduced_price_fen: None }
    }

    fn fields_of(problems: &[ErrorDetail]) -> Vec<&str> {
        problems.iter().map(|problem| problem.field.as_str()).collect()
    }

    #[test]
    fn resource_input_reports_every_field() {
        let input = ResourceInput {
            name: Some("1 号场".into()),
            kind: Some("court".into()),
            slot_rules: vec![rule("1-5", "08:00", "12:00")],
            ..ResourceInput::default()
        };
        let fields = input.parse_fields().unwrap();
        assert_eq!((fields.name.as_str(), fields.kind.as_str(), fields.slot_rules.len()), ("1 号场", "court", 1));
        assert_eq!(fields.booking_rules, BookingRules::default());

        let bad = ResourceInput {
            name: Some("x".repeat(61)),
            kind: Some("castle".into()),
            slot_rules: vec![rule("0", "08:00", "12:00"), rule("1-5", "12:00", "08:00")],
            booking_rules: Some(BookingRulesInput { days_ahead: Some(61), ..BookingRulesInput::default() }),
            ..ResourceInput::default()
        };
        let problems = bad.parse_fields().unwrap_err();
        assert_eq!(fields_of(&problems), ["name", "kind", "slot_rules[0].weekdays", "slot_rules[1].end", "booking_rules.days_ahead"]);

        let overlapping = ResourceInput { slot_rules: vec![rule("1-5", "08:00", "12:00"), rule("5-7", "11:00", "13:00")], ..input.clone() };
        let problems = overlapping.parse_fields().unwrap_err();
        assert_eq!(fields_of(&problems), ["slot_rules"]);
        assert_eq!(problems[0].reason, "rule 1 and rule 2 overlap on day(s) 5");

        let empty = ResourceInput::default();
        assert_eq!(fields_of(&empty.parse_fields().unwrap_err()), ["name", "kind", "slot_rules"]);
    }

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, LOCAL_MINUTE_FORMAT).unwrap()
    }

    fn closure(from: &str, to: &str, reason: &str, urgent: bool) -> ClosureInput {
        ClosureInput { from: Some(from.into()), to: Some(to.into()), reason: Some(reason.into()), urgent }
    }

    #[test]
    fn closure_input_is_checked() {
        let now = at("2026-12-01T10:00");
        assert!(closure("2026-12-08T10:00", "2026-12-08T12:00", "赛事", false).parse(now).is_ok());
        let problems = closure("2026-12-05T10:00", "2026-12-05T12:00", "赛事", false).parse(now).unwrap_err();
        assert_eq!(fields_of(&problems), ["from"]);
        assert!(closure("2026-12-05T10:00", "2026-12-05T12:00", "暴雨", true).parse(now).is_ok());
        let problems = closure("tomorrow", "2026-12-05", "", false).parse(now).unwrap_err();
        assert_eq!(fields_of(&problems), ["from", "to", "reason"]);
        let problems = closure("2026-12-09T10:00", "2028-12-09T10:00", "翻修", false).parse(now).unwrap_err();
        assert_eq!((fields_of(&problems), problems[0].reason.as_str()), (vec!["to"], "a closure lasts at most 366 days"));
        let problems = closure("2026-11-09T10:00", "2026-11-10T10:00", "过去", true).parse(now).unwrap_err();
        assert_eq!((fields_of(&problems), problems[0].reason.as_str()), (vec!["to"], "the closure is already over"));
        let problems = closure("2026-12-09T10:00", "2026-12-09T09:00", "反了", false).parse(now).unwrap_err();
        assert_eq!((fields_of(&problems), problems[0].reason.as_str()), (vec!["to"], "must be after from"));
        assert_eq!(fitforall_core::booking::CLOSURE_NOTICE_DAYS, 7);
    }
}
