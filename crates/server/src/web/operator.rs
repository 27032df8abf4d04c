//! Operator pages (issue 4): a venue's bookable resources with their slot rules and booking rules,
//! closures, and the day sheet of the venue's bookings.
//!
//! `GET /venues/{id}/manage` is for whoever `Action::ManageBookableResources` allows (a platform
//! administrator, a region administrator of the venue's region, the venue's operator); anonymous
//! visitors are sent to log in, everyone else gets the policy's refusal as a 403 page. The forms go
//! through `PageForm` (CSRF) and call the same operations as the JSON API (`api::resources`:
//! `create_resource`, `update_resource`, `add_closure`), so the rules, the policy and the audit entries
//! cannot differ; a refused form comes back as typed, with the problem next to it and the API's field
//! names (`slot_rules[0].end`) shown as labels ("规则 1 · 结束"). Prices are typed in yuan and sent in fen.
//! The day sheet (`Store::bookings_of_venue_day`, decided by `Action::ViewVenueUsage` like
//! `GET /api/v1/venues/{id}/bookings`) shows account ids only, never personal data.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use fitforall_core::booking::{BookingRules, BookingRulesInput, BookingStatus, ResourceId, SlotRuleInput, Weekdays};
use fitforall_core::policy::Action;
use fitforall_core::region::RegionCode;
use fitforall_core::venue::VenueId;
use fitforall_store::RESOURCE_KINDS;
use minijinja::{Value, context};

use crate::api::resources::{
    BookingRulesView, ClosureInput, ResourceInput, ResourceView, SlotRuleView, add_closure, closure_list, create_resource, invalid_fields, parse_resource_id,
    parse_venue_id, update_resource, venue_resources,
};
use crate::api::venues::local_now;
use crate::caller::Caller;
use crate::error::{ApiError, ErrorDetail};
use crate::state::AppState;
use crate::web::account::{Problem, problem, to_login};
use crate::web::booking::status_text;
use crate::web::forms::PageForm;
use crate::web::i18n::fill;
use crate::web::{Lang, PageContext, render_error_page};

/// Slot-rule rows a form may send (`slot_rules[0]` … `slot_rules[19]`); rows beyond are ignored.
pub const MAX_RULE_ROWS: usize = 20;
/// Days the day sheet may move from today, either way.
pub const MAX_DAY_SHEET_OFFSET_DAYS: i64 = 366;

// ---------------------------------------------------------------------------------------------
// Form values (what the page shows in a form: the stored values, or what was typed)

/// A resource's form as text, so that a refused form comes back exactly as typed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ResourceFormView {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub real_name: bool,
    pub rules: Vec<RuleRow>,
    pub booking: BookingRow,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RuleRow {
    /// The row's index in the form (`slot_rules[{index}].start`).
    pub index: usize,
    /// Monday first.
    pub days: [bool; 7],
    pub start: String,
    pub end: String,
    pub slot_length_min: String,
    pub places: String,
    /// Yuan.
    pub price: String,
    /// Yuan; empty for the full price.
    pub reduced_price: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BookingRow {
    pub opens_at: String,
    pub days_ahead: String,
    pub hold_min: String,
    pub cancel_cutoff_min: String,
    pub quota_per_day: String,
    pub quota_per_week: String,
    pub max_places_per_booking: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ClosureFormView {
    pub from: String,
    pub to: String,
    pub reason: String,
    pub urgent: bool,
}

/// `500` fen → `5`, `1250` → `12.50`.
pub fn fen_to_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    if fen.is_multiple_of(100) { format!("{sign}{}", fen / 100) } else { format!("{sign}{}.{:02}", fen / 100, fen % 100) }
}

/// An amount in yuan (`5`, `12.5`, `12.50`, `¥3`) in fen; `Ok(None)` when empty.
fn yuan_to_fen(text: &str) -> Result<Option<i64>, ()> {
    let text = text.trim().trim_start_matches(['¥', '￥']).trim();
    if text.is_empty() {
        return Ok(None);
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) || fraction.len() > 2 || whole.len() > 12 {
        return Err(());
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| ())? };
    let fraction: i64 = if fraction.is_empty() { 0 } else { format!("{fraction:0<2}").parse().map_err(|_| ())? };
    Ok(Some(whole * 100 + fraction))
}

fn days_of(weekdays: &str) -> [bool; 7] {
    let bits = Weekdays::parse(weekdays).map(Weekdays::bits).unwrap_or(0);
    std::array::from_fn(|day| bits & (1 << day) != 0)
}

fn empty_rule_row(index: usize) -> RuleRow {
    RuleRow { index, slot_length_min: "60".into(), ..RuleRow::default() }
}

fn rule_row(index: usize, rule: &SlotRuleView) -> RuleRow {
    RuleRow {
        index,
        days: days_of(&rule.weekdays),
        start: rule.start.clone(),
        end: rule.end.clone(),
        slot_length_min: rule.slot_length_min.to_string(),
        places: rule.places.to_string(),
        price: fen_to_yuan(rule.price_fen),
        reduced_price: if rule.reduced_price_fen == rule.price_fen { String::new() } else { fen_to_yuan(rule.reduced_price_fen) },
    }
}

fn booking_row(rules: &BookingRulesView) -> BookingRow {
    BookingRow {
        opens_at: rules.opens_at.clone(),
        days_ahead: rules.days_ahead.to_string(),
        hold_min: rules.hold_min.to_string(),
        cancel_cutoff_min: rules.cancel_cutoff_min.to_string(),
        quota_per_day: rules.quota_per_day.to_string(),
        quota_per_week: rules.quota_per_week.to_string(),
        max_places_per_booking: rules.max_places_per_booking.to_string(),
    }
}

/// The empty form for a new resource: one rule row, another optional one, the default booking rules.
fn new_resource_form() -> ResourceFormView {
    let defaults = BookingRules::default();
    ResourceFormView {
        kind: RESOURCE_KINDS[0].to_string(),
        rules: vec![RuleRow { price: "0".into(), ..empty_rule_row(0) }, empty_rule_row(1)],
        booking: BookingRow {
            opens_at: defaults.opens_at.format("%H:%M").to_string(),
            days_ahead: defaults.days_ahead.to_string(),
            hold_min: defaults.hold_min.to_string(),
            cancel_cutoff_min: defaults.cancel_cutoff_min.to_string(),
            quota_per_day: defaults.quota_per_day.to_string(),
            quota_per_week: defaults.quota_per_week.to_string(),
            max_places_per_booking: defaults.max_places_per_booking.to_string(),
        },
        ..ResourceFormView::default()
    }
}

/// The edit form of a stored resource: its rules and one empty row for another rule.
fn edit_form(resource: &ResourceView) -> ResourceFormView {
    let mut rules: Vec<RuleRow> = resource.slot_rules.iter().enumerate().map(|(index, rule)| rule_row(index, rule)).collect();
    if rules.len() < MAX_RULE_ROWS {
        rules.push(empty_rule_row(rules.len()));
    }
    ResourceFormView {
        id: resource.id.clone(),
        name: resource.name.clone(),
        kind: resource.kind.clone(),
        real_name: resource.real_name,
        rules,
        booking: booking_row(&resource.booking_rules),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading a submitted form

/// A submitted form's fields in order (check boxes may repeat a name).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.0.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.as_str()).unwrap_or("")
    }

    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0.iter().filter(move |(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    fn checked(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }

    /// The slot-rule rows the form sent, by index.
    fn rule_indices(&self) -> Vec<usize> {
        let mut indices: Vec<usize> = self
            .0
            .iter()
            .filter_map(|(key, _)| key.strip_prefix("slot_rules[")?.split_once("].")?.0.parse::<usize>().ok())
            .filter(|index| *index < MAX_RULE_ROWS)
            .collect();
        indices.sort_unstable();
        indices.dedup();
        indices
    }
}

/// A resource form read: the values as typed, the API input, the problems found before the API
/// could be asked (numbers and amounts that do not parse), and which form row each API rule came from.
struct ParsedResourceForm {
    view: ResourceFormView,
    input: ResourceInput,
    problems: Vec<ErrorDetail>,
    /// `rows[k]` is the form row of `input.slot_rules[k]`.
    rows: Vec<usize>,
    /// The form creates a resource (its id is checked too).
    with_id: bool,
}

fn problem_detail(field: String, reason: &str) -> ErrorDetail {
    ErrorDetail { field, reason: reason.to_string() }
}

fn read_resource_form(lang: Lang, fields: &Fields, with_id: bool) -> ParsedResourceForm {
    let mut problems = Vec::new();
    let mut view = ResourceFormView {
        id: if with_id { fields.get("id").trim().to_string() } else { String::new() },
        name: fields.get("name").to_string(),
        kind: fields.get("kind").trim().to_string(),
        real_name: fields.checked("real_name"),
        ..ResourceFormView::default()
    };
    let mut slot_rules = Vec::new();
    let mut rows = Vec::new();
    for index in fields.rule_indices() {
        let key = |name: &str| format!("slot_rules[{index}].{name}");
        let mut days = [false; 7];
        for value in fields.all(&key("days")) {
            if let Ok(day @ 1..=7) = value.trim().parse::<usize>() {
                days[day - 1] = true;
            }
        }
        let row = RuleRow {
            index,
            days,
            start: fields.get(&key("start")).trim().to_string(),
            end: fields.get(&key("end")).trim().to_string(),
            slot_length_min: fields.get(&key("slot_length_min")).trim().to_string(),
            places: fields.get(&key("places")).trim().to_string(),
            price: fields.get(&key("price")).trim().to_string(),
            reduced_price: fields.get(&key("reduced_price")).trim().to_string(),
        };
        // A row without days and times is an unused one (its length may be prefilled).
        let used = days.contains(&true) || !row.start.is_empty() || !row.end.is_empty();
        if used {
            // Problems are named by the API's index (`slot_rules[k]`), renamed to the form's row later.
            let api = |name: &str| format!("slot_rules[{}].{name}", slot_rules.len());
            if !days.contains(&true) {
                problems.push(problem_detail(api("weekdays"), lang.text("operator_problem_days")));
            }
            let mut whole = |name: &str, text: &str| -> u32 {
                if text.is_empty() {
                    problems.push(problem_detail(api(name), lang.text("operator_problem_required")));
                    return 0;
                }
                text.parse::<u32>().unwrap_or_else(|_| {
                    problems.push(problem_detail(api(name), lang.text("operator_problem_number")));
                    0
                })
            };
            let slot_length_min = whole("slot_length_min", &row.slot_length_min);
            let places = whole("places", &row.places);
            let price_fen = yuan_to_fen(&row.price).unwrap_or_else(|()| {
                problems.push(problem_detail(api("price_fen"), lang.text("operator_problem_yuan")));
                None
            });
            let reduced_price_fen = yuan_to_fen(&row.reduced_price).unwrap_or_else(|()| {
                problems.push(problem_detail(api("reduced_price_fen"), lang.text("operator_problem_yuan")));
                None
            });
            let weekdays = (1..=7).filter(|day| days[day - 1]).map(|day| day.to_string()).collect::<Vec<_>>().join(",");
            slot_rules.push(SlotRuleInput {
                weekdays,
                start: row.start.clone(),
                end: row.end.clone(),
                slot_length_min,
                places,
                price_fen: price_fen.unwrap_or(0),
                reduced_price_fen,
            });
            rows.push(index);
        }
        view.rules.push(row);
    }
    // Always room for one more rule.
    let used_rows = rows.len();
    let next = view.rules.last().map_or(0, |row| row.index + 1);
    if view.rules.len() == used_rows && next < MAX_RULE_ROWS {
        view.rules.push(empty_rule_row(next));
    }
    let booking_text = |name: &str| fields.get(&format!("booking_rules.{name}")).trim().to_string();
    view.booking = BookingRow {
        opens_at: booking_text("opens_at"),
        days_ahead: booking_text("days_ahead"),
        hold_min: booking_text("hold_min"),
        cancel_cutoff_min: booking_text("cancel_cutoff_min"),
        quota_per_day: booking_text("quota_per_day"),
        quota_per_week: booking_text("quota_per_week"),
        max_places_per_booking: booking_text("max_places_per_booking"),
    };
    let mut optional = |name: &str, text: &str| -> Option<u32> {
        if text.is_empty() {
            return None;
        }
        text.parse::<u32>().map_err(|_| problems.push(problem_detail(format!("booking_rules.{name}"), lang.text("operator_problem_number")))).ok()
    };
    let booking = &view.booking;
    let booking_rules = BookingRulesInput {
        opens_at: (!booking.opens_at.is_empty()).then(|| booking.opens_at.clone()),
        days_ahead: optional("days_ahead", &booking.days_ahead),
        hold_min: optional("hold_min", &booking.hold_min),
        cancel_cutoff_min: optional("cancel_cutoff_min", &booking.cancel_cutoff_min),
        quota_per_day: optional("quota_per_day", &booking.quota_per_day),
        quota_per_week: optional("quota_per_week", &booking.quota_per_week),
        max_places_per_booking: optional("max_places_per_booking", &booking.max_places_per_booking),
    };
    let input = ResourceInput {
        id: with_id.then(|| view.id.clone()),
        name: Some(view.name.clone()),
        kind: Some(view.kind.clone()),
        slot_rules,
        booking_rules: Some(booking_rules),
        real_name: view.real_name,
    };
    ParsedResourceForm { view, input, problems, rows, with_id }
}

impl ParsedResourceForm {
    /// The page's own problems with those the API's checks find in the rest of the form (so one
    /// round trip shows everything), as the API's 400.
    fn local_error(&self) -> ApiError {
        let mut details = Vec::new();
        if self.with_id {
            match self.view.id.as_str() {
                "" => details.push(problem_detail("id".into(), "is required")),
                text => details.extend(parse_resource_id(text).err().into_iter().flat_map(|error| error.details)),
            }
        }
        details.extend(self.problems.iter().cloned());
        let known: Vec<String> = details.iter().map(|detail| detail.field.clone()).collect();
        if let Err(more) = self.input.parse_fields() {
            details.extend(more.into_iter().filter(|detail| !known.contains(&detail.field)));
        }
        invalid_fields(details)
    }

    /// The error with the API's rule indices renamed to the form's rows.
    fn located(&self, mut error: ApiError) -> ApiError {
        for detail in &mut error.details {
            let Some((index, rest)) = detail.field.strip_prefix("slot_rules[").and_then(|rest| rest.split_once(']')) else {
                continue;
            };
            if let Some(row) = index.parse::<usize>().ok().and_then(|index| self.rows.get(index)) {
                detail.field = format!("slot_rules[{row}]{rest}");
            }
        }
        error
    }
}

// ---------------------------------------------------------------------------------------------
// Labels and texts

/// The label of a field the API names (`slot_rules[0].end` → "规则 1 · 结束").
pub fn field_label(lang: Lang, field: &str) -> String {
    if let Some((index, rest)) = field.strip_prefix("slot_rules[").and_then(|rest| rest.split_once(']'))
        && let Ok(index) = index.parse::<usize>()
    {
        let rule = fill(lang.text("operator_rule_n"), &[("n", &(index + 1).to_string())]);
        return match rest.strip_prefix('.') {
            Some(name) => format!("{rule} · {}", simple_label(lang, name)),
            None => rule,
        };
    }
    simple_label(lang, field.strip_prefix("booking_rules.").unwrap_or(field))
}

fn simple_label(lang: Lang, name: &str) -> String {
    let key = match name {
        "id" => "operator_field_id",
        "name" => "operator_field_name",
        "kind" => "operator_field_kind",
        "slot_rules" => "operator_slot_rules",
        "booking_rules" => "operator_booking_rules",
        "weekdays" => "operator_field_weekdays",
        "start" => "operator_field_start",
        "end" => "operator_field_end",
        "slot_length_min" => "operator_field_slot_length_min",
        "places" => "operator_field_places",
        "price_fen" => "operator_field_price_fen",
        "reduced_price_fen" => "operator_field_reduced_price_fen",
        "opens_at" => "operator_field_opens_at",
        "days_ahead" => "operator_field_days_ahead",
        "hold_min" => "operator_field_hold_min",
        "cancel_cutoff_min" => "operator_field_cancel_cutoff_min",
        "quota_per_day" => "operator_field_quota_per_day",
        "quota_per_week" => "operator_field_quota_per_week",
        "max_places_per_booking" => "operator_field_max_places_per_booking",
        "from" => "operator_field_from",
        "to" => "operator_field_to",
        "reason" => "operator_field_reason",
        "date" => "operator_field_date",
        "code" => "booking_check_in_code",
        _ => return name.to_string(),
    };
    lang.text(key).to_string()
}

/// `problem()` with this page's field labels.
fn operator_problem(lang: Lang, error: &ApiError) -> Problem {
    let mut problem = problem(lang, error);
    for field in &mut problem.fields {
        field.label = field_label(lang, &field.field);
    }
    problem
}

fn kind_name(lang: Lang, kind: &str) -> String {
    match kind {
        "court" | "lane" | "field" | "session" | "room" => lang.text(&format!("operator_kind_{kind}")).to_string(),
        other => other.to_string(),
    }
}

fn short_weekdays(lang: Lang) -> Vec<&'static str> {
    lang.text("operator_weekdays_short").split(',').collect()
}

/// `1-5,7` → "一至五、日" / "Mon–Fri, Sun"; every day → "每天".
pub fn weekdays_text(lang: Lang, canonical: &str) -> String {
    if canonical == "1-7" {
        return lang.text("operator_every_day").to_string();
    }
    let names = short_weekdays(lang);
    let name = |text: &str| text.parse::<usize>().ok().and_then(|day| names.get(day.wrapping_sub(1))).copied().unwrap_or("?");
    canonical
        .split(',')
        .map(|part| match part.split_once('-') {
            Some((first, last)) => format!("{}–{}", name(first), name(last)),
            None => name(part).to_string(),
        })
        .collect::<Vec<_>>()
        .join(lang.text("list_sep"))
}

fn price_text(lang: Lang, fen: i64) -> String {
    if fen == 0 {
        return lang.text("booking_free").to_string();
    }
    fill(lang.text("booking_price"), &[("yuan", &fen_to_yuan(fen))])
}

fn rules_summary(lang: Lang, rules: &BookingRulesView) -> String {
    fill(
        lang.text("operator_rules_summary"),
        &[
            ("opens", &rules.opens_at),
            ("days", &rules.days_ahead.to_string()),
            ("per_day", &rules.quota_per_day.to_string()),
            ("per_week", &rules.quota_per_week.to_string()),
            ("places", &rules.max_places_per_booking.to_string()),
            ("hold", &rules.hold_min.to_string()),
            ("cutoff", &rules.cancel_cutoff_min.to_string()),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// Access

/// Whether `caller` may manage the resources of `venue` (in `region`): for the venue page's
/// "manage booking" link, which is a hint only (the operator page asks the policy itself).
pub fn may_manage(caller: &Caller, venue: &VenueId, region: RegionCode) -> bool {
    caller.require(&Action::ManageBookableResources { venue: venue.clone(), region }).is_ok()
}

/// The venue `text` names, if the caller may manage its resources: 400 for a malformed id, 404 for an
/// unknown venue, then the policy's answer.
fn manageable_venue(state: &AppState, caller: &Caller, text: &str) -> Result<(VenueId, String, RegionCode), ApiError> {
    let id = parse_venue_id(text)?;
    let snapshot = state.snapshot();
    let venue = snapshot.catalog.get(&id).ok_or_else(|| ApiError::not_found(format!("venue {id} does not exist")))?;
    caller.require(&Action::ManageBookableResources { venue: id.clone(), region: venue.region })?;
    Ok((id, venue.name.clone(), venue.region))
}

/// Anonymous visitors log in first; callers the policy refuses get its 403 page.
fn check_access(state: &AppState, page: &PageContext, venue: &str) -> Result<(VenueId, String, RegionCode), Box<Response>> {
    if !page.visitor.signed_in() {
        return Err(Box::new(to_login(page)));
    }
    manageable_venue(state, &page.visitor.caller, venue).map_err(|error| Box::new(render_error_page(error, page)))
}

// ---------------------------------------------------------------------------------------------
// The page

/// Which form a refused submission came from.
enum Target {
    Create,
    Resource(String),
    Closure(String),
    CheckIn,
}

/// A refused form: where it was, what was wrong, and what was typed.
struct Failed {
    target: Target,
    problem: Problem,
    resource_form: Option<ResourceFormView>,
    closure_form: Option<ClosureFormView>,
}

#[derive(Debug, serde::Serialize)]
struct RuleLine {
    weekdays: String,
    times: String,
    slot_length_min: u32,
    places: u32,
    price: String,
    reduced_price: Option<String>,
}

#[derive(Debug, serde::Serialize)]
struct ClosureLine {
    from: String,
    to: String,
    reason: String,
    urgent: bool,
}

#[derive(Debug, serde::Serialize)]
struct ResourcePanel {
    id: String,
    name: String,
    kind_name: String,
    real_name: bool,
    rules: Vec<RuleLine>,
    rules_summary: String,
    book_url: String,
    action: String,
    form: ResourceFormView,
    form_open: bool,
    form_problem: Option<Problem>,
    closures: Vec<ClosureLine>,
    closure_action: String,
    closure_form: ClosureFormView,
    closure_open: bool,
    closure_problem: Option<Problem>,
}

#[derive(Debug, serde::Serialize)]
struct DayRow {
    time: String,
    resource: String,
    places: u32,
    status: &'static str,
    status_text: &'static str,
    booking_id: String,
    account_id: String,
}

fn done_text(page: &PageContext) -> Option<String> {
    let lang = page.lang;
    let mut text = match page.query_value("done")? {
        "created" => lang.text("operator_done_created").to_string(),
        "updated" => lang.text("operator_done_updated").to_string(),
        "closure" => lang.text("operator_done_closure").to_string(),
        "checked_in" => lang.text("operator_done_checked_in").to_string(),
        _ => return None,
    };
    if let Some(kept) = page.query_value("kept").and_then(|kept| kept.parse::<u32>().ok()).filter(|kept| *kept > 0) {
        text.push(' ');
        text.push_str(&fill(lang.text("operator_done_kept"), &[("n", &kept.to_string())]));
    }
    Some(text)
}

/// The day sheet: the day of `?date=` (default today), its bookings, links to the days around it.
async fn day_sheet(state: &AppState, page: &PageContext, venue: &VenueId, names: &BTreeMap<String, String>) -> Result<(Value, Option<StatusCode>), ApiError> {
    let lang = page.lang;
    let today = local_now().date();
    let asked = page.query_value("date").map(str::trim).filter(|text| !text.is_empty());
    let parsed = asked.map(|text| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .filter(|date| (*date - today).num_days().abs() <= MAX_DAY_SHEET_OFFSET_DAYS)
            .ok_or_else(|| ApiError::invalid_parameter("date", lang.text("operator_problem_date")))
    });
    let (date, problem, status) = match parsed {
        None => (today, None, None),
        Some(Ok(date)) => (date, None, None),
        Some(Err(error)) => (today, Some(operator_problem(lang, &error)), Some(error.status)),
    };
    let bookings = state.store().bookings_of_venue_day(venue, date).await?;
    let holding = |status: BookingStatus| matches!(status, BookingStatus::Held | BookingStatus::Confirmed | BookingStatus::CheckedIn);
    let rows: Vec<DayRow> = bookings
        .iter()
        .map(|booking| DayRow {
            time: booking.slot_start.format("%H:%M").to_string(),
            resource: names.get(booking.resource.as_str()).cloned().unwrap_or_else(|| booking.resource.to_string()),
            places: booking.places,
            status: booking.status.as_str(),
            status_text: status_text(lang, booking.status),
            booking_id: booking.id.to_string(),
            account_id: booking.account.to_string(),
        })
        .collect();
    let places: u32 = bookings.iter().filter(|booking| holding(booking.status)).map(|booking| booking.places).sum();
    let holding_count = bookings.iter().filter(|booking| holding(booking.status)).count();
    let link = |date: NaiveDate| format!("/venues/{venue}/manage?date={date}#day");
    let sheet = context! {
        date => date.to_string(),
        weekday => lang.weekday(chrono::Datelike::weekday(&date).num_days_from_monday() as usize),
        is_today => date == today,
        today_url => format!("/venues/{venue}/manage#day"),
        previous_url => link(date - Duration::days(1)),
        next_url => link(date + Duration::days(1)),
        rows => rows,
        count_text => fill(lang.text("operator_day_count"), &[("n", &holding_count.to_string()), ("places", &places.to_string())]),
        problem => problem,
    };
    Ok((sheet, status))
}

async fn render_manage(state: &AppState, page: PageContext, venue_text: &str, status: StatusCode, mut failed: Option<Failed>) -> Response {
    let (venue, venue_name, region) = match check_access(state, &page, venue_text) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let lang = page.lang;
    let now = local_now();
    let resources = match venue_resources(state, &venue).await {
        Ok(list) => list.items,
        Err(error) => return render_error_page(error, &page),
    };
    let mut panels = Vec::with_capacity(resources.len());
    for resource in &resources {
        let listed = match parse_resource_id(&resource.id) {
            Ok(id) => closure_list(state, &id, false, now).await,
            Err(error) => Err(error),
        };
        let closures = match listed {
            Ok(list) => list.items,
            Err(error) => return render_error_page(error, &page),
        };
        let edit = take_if(&mut failed, |target| matches!(target, Target::Resource(id) if *id == resource.id));
        let closure = take_if(&mut failed, |target| matches!(target, Target::Closure(id) if *id == resource.id));
        let (form, form_problem) = match edit {
            Some(failed) => (failed.resource_form.unwrap_or_else(|| edit_form(resource)), Some(failed.problem)),
            None => (edit_form(resource), None),
        };
        let (closure_form, closure_problem) = match closure {
            Some(failed) => (failed.closure_form.unwrap_or_default(), Some(failed.problem)),
            None => (ClosureFormView::default(), None),
        };
        panels.push(ResourcePanel {
            id: resource.id.clone(),
            name: resource.name.clone(),
            kind_name: kind_name(lang, &resource.kind),
            real_name: resource.real_name,
            rules: resource
                .slot_rules
                .iter()
                .map(|rule| RuleLine {
                    weekdays: weekdays_text(lang, &rule.weekdays),
                    times: format!("{}–{}", rule.start, rule.end),
                    slot_length_min: rule.slot_length_min,
                    places: rule.places,
                    price: price_text(lang, rule.price_fen),
                    reduced_price: (rule.reduced_price_fen != rule.price_fen).then(|| price_text(lang, rule.reduced_price_fen)),
                })
                .collect(),
            rules_summary: rules_summary(lang, &resource.booking_rules),
            book_url: format!("/venues/{venue}/book?resource={}", resource.id),
            action: format!("/venues/{venue}/manage/resources/{}", resource.id),
            form,
            form_open: form_problem.is_some(),
            form_problem,
            closures: closures
                .iter()
                .map(|closure| ClosureLine {
                    from: closure.from.replace('T', " "),
                    to: closure.to.replace('T', " "),
                    reason: closure.reason.clone(),
                    urgent: closure.urgent,
                })
                .collect(),
            closure_action: format!("/venues/{venue}/manage/resources/{}/closures", resource.id),
            closure_form,
            closure_open: closure_problem.is_some(),
            closure_problem,
        });
    }
    let (create_form, create_problem) = match take_if(&mut failed, |target| matches!(target, Target::Create)) {
        Some(failed) => (failed.resource_form.unwrap_or_else(new_resource_form), Some(failed.problem)),
        None => (new_resource_form(), None),
    };
    // The day sheet is decided like the API's (`ViewVenueUsage`); today the same people may see it.
    let may_view_day = page.visitor.caller.require(&Action::ViewVenueUsage { venue: venue.clone(), region }).is_ok();
    let names: BTreeMap<String, String> = resources.iter().map(|resource| (resource.id.clone(), resource.name.clone())).collect();
    let (day, day_status) = if may_view_day {
        match day_sheet(state, &page, &venue, &names).await {
            Ok((sheet, status)) => (sheet, status),
            Err(error) => return render_error_page(error, &page),
        }
    } else {
        (Value::from(()), None)
    };
    let status = if status == StatusCode::OK { day_status.unwrap_or(status) } else { status };
    // Checking people in is the venue's operators' (`CheckInBooking`), with the code the resident shows.
    let check_in_problem = take_if(&mut failed, |target| matches!(target, Target::CheckIn)).map(|failed| failed.problem);
    let check_in = if page.visitor.caller.require(&Action::CheckInBooking { venue: venue.clone() }).is_ok() {
        context! { action => format!("/venues/{venue}/manage/check-in"), problem => check_in_problem }
    } else {
        Value::from(())
    };
    let days: Vec<Value> = short_weekdays(lang).iter().enumerate().map(|(index, name)| context! { value => index + 1, name => name }).collect();
    let kinds: Vec<Value> = RESOURCE_KINDS.iter().map(|kind| context! { value => kind, name => kind_name(lang, kind) }).collect();
    let data = context! {
        venue => context! { id => venue.as_str(), name => venue_name, url => format!("/venues/{venue}") },
        resources => Value::from_serialize(&panels),
        create_action => format!("/venues/{venue}/manage/resources"),
        create_form => Value::from_serialize(&create_form),
        create_open => create_problem.is_some() || resources.is_empty(),
        create_problem => create_problem,
        day => day,
        check_in => check_in,
        done => done_text(&page),
        days => days,
        kinds => kinds,
    };
    let title = fill(lang.text("operator_title"), &[("venue", &venue_name)]);
    page.render(status, "operator_venue.html", &title, data)
}

/// The refused form, if it is the one `wanted` picks.
fn take_if(failed: &mut Option<Failed>, wanted: impl Fn(&Target) -> bool) -> Option<Failed> {
    if failed.as_ref().is_some_and(|failed| wanted(&failed.target)) { failed.take() } else { None }
}

pub async fn manage_page(State(state): State<AppState>, Path(venue): Path<String>, page: PageContext) -> Response {
    render_manage(&state, page, &venue, StatusCode::OK, None).await
}

/// A refused form: field problems and conflicts come back on the page, next to the form; anything
/// else is an error page (or the login page).
async fn refused(state: &AppState, page: PageContext, venue: &str, error: ApiError, failed: impl FnOnce(Problem) -> Failed) -> Response {
    match error.status {
        StatusCode::UNAUTHORIZED => to_login(&page),
        StatusCode::BAD_REQUEST | StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => {
            let problem = operator_problem(page.lang, &error);
            render_manage(state, page, venue, error.status, Some(failed(problem))).await
        }
        _ => render_error_page(error, &page),
    }
}

/// `POST /venues/{id}/manage/resources`: creates a resource (`api::resources::create_resource`).
pub async fn create_submit(State(state): State<AppState>, Path(venue): Path<String>, PageForm(page, pairs): PageForm<Vec<(String, String)>>) -> Response {
    let venue_id = match check_access(&state, &page, &venue) {
        Ok((id, _, _)) => id,
        Err(response) => return *response,
    };
    let form = read_resource_form(page.lang, &Fields(pairs), true);
    let result = if form.problems.is_empty() {
        create_resource(&state, &page.visitor.caller, &venue_id, &form.input).await.map_err(|error| form.located(error))
    } else {
        Err(form.located(form.local_error()))
    };
    match result {
        Ok(view) => page.redirect(&format!("/venues/{venue_id}/manage?done=created#r-{}", view.id)),
        Err(error) => {
            let view = form.view;
            refused(&state, page, &venue, error, |problem| Failed { target: Target::Create, problem, resource_form: Some(view), closure_form: None }).await
        }
    }
}

/// `POST /venues/{id}/manage/check-in`: checks a resident in with the code they show
/// (`check_in::check_in_with_code`, as the API does).
pub async fn check_in_submit(State(state): State<AppState>, Path(venue): Path<String>, PageForm(page, pairs): PageForm<Vec<(String, String)>>) -> Response {
    let venue_id = match check_access(&state, &page, &venue) {
        Ok((id, _, _)) => id,
        Err(response) => return *response,
    };
    let code = pairs.iter().find(|(name, _)| name == "code").map_or("", |(_, value)| value.as_str());
    let error = match crate::check_in::check_in_with_code(&state, &page.visitor.caller, &venue_id, code).await {
        Ok(_) => return page.redirect(&format!("/venues/{venue_id}/manage?done=checked_in#day")),
        Err(error) => check_in_refusal(page.lang, error),
    };
    refused(&state, page, &venue, error, |problem| Failed { target: Target::CheckIn, problem, resource_form: None, closure_form: None }).await
}

/// A refused check-in, worded for the operator at the desk in the page's language.
fn check_in_refusal(lang: Lang, error: crate::check_in::CheckInError) -> ApiError {
    use crate::check_in::CheckInError;
    use fitforall_core::booking::TransitionError;
    let time = |at: NaiveDateTime| at.format("%m-%d %H:%M").to_string();
    let (code, message) = match &error {
        CheckInError::Api(_) => return error.into_api(),
        CheckInError::Code(problem) => {
            use crate::check_in::CodeProblem;
            let reason = match problem {
                CodeProblem::Empty => lang.text("check_in_code_empty"),
                CodeProblem::TooLong => lang.text("check_in_code_too_long"),
                CodeProblem::Malformed(_) => lang.text("check_in_code_malformed"),
                CodeProblem::NotValid => lang.text("check_in_code_not_valid"),
            };
            return ApiError::invalid_body(vec![fitforall_core::venue::FieldError::new("code", reason)]);
        }
        CheckInError::OtherVenue(venue) => ("other_venue", fill(lang.text("operator_check_in_other_venue"), &[("venue", venue.as_str())])),
        CheckInError::Refused(TransitionError::NotAllowed { from: BookingStatus::CheckedIn, .. }) => {
            ("booking_state", lang.text("operator_check_in_already").to_string())
        }
        CheckInError::Refused(TransitionError::NotAllowed { from, .. }) => {
            ("booking_state", fill(lang.text("operator_check_in_state"), &[("status", status_text(lang, *from))]))
        }
        CheckInError::Refused(TransitionError::CheckInNotOpen { opens_at }) => {
            ("booking_state", fill(lang.text("operator_check_in_not_open"), &[("at", &time(*opens_at))]))
        }
        CheckInError::Refused(TransitionError::CheckInClosed { closed_at }) => {
            ("booking_state", fill(lang.text("operator_check_in_closed"), &[("at", &time(*closed_at))]))
        }
        CheckInError::Refused(TransitionError::SlotStarted) => return error.into_api(),
    };
    ApiError::new(StatusCode::CONFLICT, code, message)
}

/// The resource `rid` of venue `venue_id` (404 when it belongs to another venue).
async fn resource_of(state: &AppState, venue_id: &VenueId, rid: &str) -> Result<ResourceId, ApiError> {
    let id = parse_resource_id(rid)?;
    let resource = state.store().resource(&id).await?;
    if resource.venue != *venue_id {
        return Err(ApiError::not_found(format!("venue {venue_id} has no resource {id}")));
    }
    Ok(id)
}

/// `POST /venues/{id}/manage/resources/{rid}`: replaces a resource's name, kind and rules
/// (`api::resources::update_resource`).
pub async fn update_submit(
    State(state): State<AppState>,
    Path((venue, rid)): Path<(String, String)>,
    PageForm(page, pairs): PageForm<Vec<(String, String)>>,
) -> Response {
    let venue_id = match check_access(&state, &page, &venue) {
        Ok((id, _, _)) => id,
        Err(response) => return *response,
    };
    let id = match resource_of(&state, &venue_id, &rid).await {
        Ok(id) => id,
        Err(error) => return render_error_page(error, &page),
    };
    let form = read_resource_form(page.lang, &Fields(pairs), false);
    let result = if form.problems.is_empty() {
        update_resource(&state, &page.visitor.caller, &id, &form.input).await.map_err(|error| form.located(error))
    } else {
        Err(form.located(form.local_error()))
    };
    match result {
        Ok(view) => {
            let kept = if view.kept_slots.is_empty() { String::new() } else { format!("&kept={}", view.kept_slots.len()) };
            page.redirect(&format!("/venues/{venue_id}/manage?done=updated{kept}#r-{id}"))
        }
        Err(error) => {
            let mut view = form.view;
            view.id = id.to_string();
            let target = Target::Resource(id.to_string());
            refused(&state, page, &venue, error, |problem| Failed { target, problem, resource_form: Some(view), closure_form: None }).await
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ClosureForm {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub urgent: String,
}

/// `POST /venues/{id}/manage/resources/{rid}/closures`: closes a resource for a while
/// (`api::resources::add_closure`); the slots with bookings that stay are counted in the notice.
pub async fn closure_submit(
    State(state): State<AppState>,
    Path((venue, rid)): Path<(String, String)>,
    PageForm(page, form): PageForm<ClosureForm>,
) -> Response {
    let venue_id = match check_access(&state, &page, &venue) {
        Ok((id, _, _)) => id,
        Err(response) => return *response,
    };
    let id = match resource_of(&state, &venue_id, &rid).await {
        Ok(id) => id,
        Err(error) => return render_error_page(error, &page),
    };
    let typed =
        ClosureFormView { from: form.from.trim().to_string(), to: form.to.trim().to_string(), reason: form.reason.clone(), urgent: !form.urgent.is_empty() };
    let input = ClosureInput { from: Some(typed.from.clone()), to: Some(typed.to.clone()), reason: Some(typed.reason.clone()), urgent: typed.urgent };
    match add_closure(&state, &page.visitor.caller, &id, &input).await {
        Ok(added) => page.redirect(&format!("/venues/{venue_id}/manage?done=closure&kept={}#r-{id}", added.kept_slots.len())),
        Err(error) => {
            let target = Target::Closure(id.to_string());
            refused(&state, page, &venue, error, |problem| Failed { target, problem, resource_form: None, closure_form: Some(typed) }).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_and_fen() {
        assert_eq!(yuan_to_fen(""), Ok(None));
        assert_eq!(yuan_to_fen("5"), Ok(Some(500)));
        assert_eq!(yuan_to_fen(" 12.5 "), Ok(Some(1250)));
        assert_eq!(yuan_to_fen("¥0.05"), Ok(Some(5)));
        assert_eq!(yuan_to_fen(".5"), Ok(Some(50)));
        assert_eq!(yuan_to_fen("1.234"), Err(()));
        assert_eq!(yuan_to_fen("-1"), Err(()));
        assert_eq!(yuan_to_fen("."), Err(()));
        assert_eq!(yuan_to_fen("五"), Err(()));
        assert_eq!(fen_to_yuan(0), "0");
        assert_eq!(fen_to_yuan(500), "5");
        assert_eq!(fen_to_yuan(1250), "12.50");
        assert_eq!(fen_to_yuan(5), "0.05");
    }

    #[test]
    fn labels_name_rules_by_row() {
        assert_eq!(field_label(Lang::Zh, "slot_rules[0].end"), "规则 1 · 结束");
        assert_eq!(field_label(Lang::En, "slot_rules[1].price_fen"), "Rule 2 · Price (yuan)");
        assert_eq!(field_label(Lang::En, "slot_rules"), "Slot rules");
        assert_eq!(field_label(Lang::Zh, "booking_rules.days_ahead"), "开放未来几天");
        assert_eq!(field_label(Lang::En, "something_else"), "something_else");
        assert_eq!(weekdays_text(Lang::Zh, "1-5,7"), "一–五、日");
        assert_eq!(weekdays_text(Lang::En, "6,7"), "Sat, Sun");
        assert_eq!(weekdays_text(Lang::En, "1-7"), "every day");
    }

    fn pairs(list: &[(&str, &str)]) -> Fields {
        Fields(list.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect())
    }

    #[test]
    fn forms_become_api_input_with_rows_located() {
        let fields = pairs(&[
            ("csrf", "x"),
            ("id", " court-9 "),
            ("name", "9 号场"),
            ("kind", "court"),
            // An unused first row (only its prefilled length), then a used one with a bad price.
            ("slot_rules[0].slot_length_min", "60"),
            ("slot_rules[0].start", ""),
            ("slot_rules[1].days", "6"),
            ("slot_rules[1].days", "7"),
            ("slot_rules[1].start", "08:00"),
            ("slot_rules[1].end", "07:00"),
            ("slot_rules[1].slot_length_min", "60"),
            ("slot_rules[1].places", "4"),
            ("slot_rules[1].price", "abc"),
            ("booking_rules.days_ahead", "3"),
            ("booking_rules.hold_min", ""),
            ("real_name", "yes"),
        ]);
        let form = read_resource_form(Lang::En, &fields, true);
        assert_eq!(form.input.id.as_deref(), Some("court-9"));
        assert_eq!(form.rows, [1]);
        assert_eq!(form.input.slot_rules[0].weekdays, "6,7");
        assert!(form.input.real_name);
        let rules = form.input.booking_rules.clone().unwrap();
        assert_eq!((rules.days_ahead, rules.hold_min), (Some(3), None));
        let error = form.located(form.local_error());
        let fields: Vec<&str> = error.details.iter().map(|detail| detail.field.as_str()).collect();
        assert_eq!(fields, ["slot_rules[1].price_fen", "slot_rules[1].end"]);
        assert_eq!(form.view.rules.len(), 2);
        assert!(form.view.rules[1].days[5] && form.view.rules[1].days[6] && !form.view.rules[1].days[0]);

        // A bad id is reported with the page's own problems; a form whose rows are all used gets a new empty one.
        let fields = pairs(&[("id", "bad one"), ("name", "x"), ("kind", "court"), ("slot_rules[0].days", "1"), ("slot_rules[0].places", "many")]);
        let form = read_resource_form(Lang::Zh, &fields, true);
        let error = form.located(form.local_error());
        let fields: Vec<&str> = error.details.iter().map(|detail| detail.field.as_str()).collect();
        assert_eq!(fields, ["id", "slot_rules[0].slot_length_min", "slot_rules[0].places", "slot_rules[0].start", "slot_rules[0].end"]);
        assert_eq!(form.view.rules.iter().map(|row| row.index).collect::<Vec<_>>(), [0, 1]);
    }
}
