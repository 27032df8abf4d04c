//! Slot generation: the slots of every bookable resource exist before its booking window reaches
//! them. For a resource, the slots of today through today + `days_ahead` + 1 are generated from its
//! slot rules minus its closures (`core::booking::generate_slots`) and stored with
//! `Store::create_missing_slots` (`ensure_slots` with the ids given up front), which creates the
//! missing ones and never changes an existing slot. A new slot that would overlap an existing one of
//! the same resource (after the slot length changed) is left out, so the same time is never sold twice.
//!
//! It runs after every resource write, and in the background (started by `Application::serve`) at
//! start and then every `slot_generation_interval_ms` for every resource. Several processes may run it
//! at once: creating a slot is idempotent (unique by resource and start).

use std::time::Duration;

use chrono::{Days, NaiveDate, NaiveTime};
use fitforall_core::booking::{Closure, MAX_DAYS_AHEAD, SlotSpec, generate_slots};
use fitforall_store::Resource;

use crate::api::venues::local_now;
use crate::error::ApiError;
use crate::state::AppState;

/// Days generated beyond the booking window: the window moves on at `opens_at` each day, and the
/// job runs only every `slot_generation_interval_ms`.
pub const EXTRA_DAYS_GENERATED: u32 = 1;
/// Shortest interval between two background rounds.
pub const MIN_SLOT_GENERATION_INTERVAL_MS: u64 = 1_000;

/// What one round over every resource did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenerationRound {
    pub resources: usize,
    pub slots_created: u64,
    /// Resources whose generation failed (logged; the next round tries again).
    pub failed: usize,
}

/// The slots `resource`'s rules give on today … today + `days_ahead` + 1, minus its closures and
/// minus those overlapping `existing` slots (start, end; in start order).
pub fn slots_to_create(
    resource: &Resource,
    closures: &[Closure],
    today: NaiveDate,
    existing: &[(chrono::NaiveDateTime, chrono::NaiveDateTime)],
) -> Vec<SlotSpec> {
    let days = resource.booking_rules.days_ahead + 1 + EXTRA_DAYS_GENERATED;
    let mut specs = Vec::new();
    let mut offset = 0;
    // `generate_slots` covers at most MAX_DAYS_AHEAD days per call; the window may be one or two longer.
    while offset < days {
        let chunk = (days - offset).min(MAX_DAYS_AHEAD);
        let Some(from) = today.checked_add_days(Days::new(u64::from(offset))) else { break };
        specs.extend(generate_slots(&resource.slot_rules, closures, from, chunk));
        offset += chunk;
    }
    // The latest end among existing slots starting before each position: a spec overlaps an existing
    // slot exactly when some existing slot starting before the spec's end ends after its start.
    let mut latest_end: Vec<chrono::NaiveDateTime> = Vec::with_capacity(existing.len());
    for (index, (_, end)) in existing.iter().enumerate() {
        latest_end.push(if index == 0 { *end } else { latest_end[index - 1].max(*end) });
    }
    specs.retain(|spec| {
        let starting_before_end = existing.partition_point(|(start, _)| *start < spec.end);
        starting_before_end == 0 || latest_end[starting_before_end - 1] <= spec.start
    });
    specs
}

/// Generates and stores the slots of one resource from `today` (local date) to today +
/// `days_ahead` + 1. Returns how many slots were created.
pub async fn generate_slots_for(state: &AppState, resource: &Resource, today: NaiveDate) -> Result<u64, ApiError> {
    let store = state.store();
    let days = u64::from(resource.booking_rules.days_ahead + 1 + EXTRA_DAYS_GENERATED);
    let from = today.and_time(NaiveTime::MIN);
    let Some(to) = today.checked_add_days(Days::new(days)).map(|date| date.and_time(NaiveTime::MIN)) else {
        return Ok(0);
    };
    let closures: Vec<Closure> = store.closures_of(&resource.id).await?.into_iter().map(|(_, closure)| closure).filter(|closure| closure.to > from).collect();
    let existing = store.slot_times_overlapping(resource, from, to).await?;
    let specs = slots_to_create(resource, &closures, today, &existing);
    if specs.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = specs.iter().map(|_| crate::auth::new_id()).collect();
    Ok(store.create_missing_slots(resource, &specs, &ids).await?)
}

/// Generates the slots of every resource (`Store::all_resources`) for `today`. A failure for one
/// resource is logged and the others go on; `Err` only when the resources cannot be listed.
pub async fn generate_all_slots(state: &AppState, today: NaiveDate) -> Result<GenerationRound, ApiError> {
    generate_round(state, today, None).await
}

async fn generate_round(state: &AppState, today: NaiveDate, stop: Option<&tokio::sync::watch::Receiver<bool>>) -> Result<GenerationRound, ApiError> {
    let resources = state.store().all_resources().await?;
    let mut round = GenerationRound::default();
    for resource in &resources {
        if stop.is_some_and(|stop| *stop.borrow()) {
            break;
        }
        round.resources += 1;
        match generate_slots_for(state, resource, today).await {
            Ok(created) => round.slots_created += created,
            Err(error) => {
                round.failed += 1;
                tracing::warn!(resource = %resource.id, error = %error.message, "could not generate slots");
            }
        }
    }
    Ok(round)
}

/// The background job: a round at start and then every `slot_generation_interval_ms` until `stop`
/// turns true or its sender is dropped. A round stops between two resources when asked to.
pub async fn generation_loop(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let interval = Duration::from_millis(state.config().slot_generation_interval_ms.max(MIN_SLOT_GENERATION_INTERVAL_MS));
    loop {
        if *stop.borrow() {
            return;
        }
        match generate_round(&state, local_now().date(), Some(&stop)).await {
            Ok(round) if round.slots_created > 0 || round.failed > 0 => {
                tracing::info!(resources = round.resources, created = round.slots_created, failed = round.failed, "slot generation round");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error.message, "could not list the resources to generate slots for"),
        }
        tokio::select! {
            changed = stop.changed() => if changed.is_err() || *stop.borrow() { return },
            () = tokio::time::sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDateTime, TimeZone, Utc};
    use fitforall_core::booking::{BookingRules, BookingRulesInput, ResourceId, SlotRuleInput};
    use fitforall_core::venue::VenueId;

    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn resource(slot_length_min: u32, rules: BookingRules) -> Resource {
        let rule = SlotRuleInput {
            weekdays: "1-7".into(),
            start: "08:00".into(),
            end: "10:00".into(),
            slot_length_min,
            places: 2,
            price_fen: 0,
            reduced_price_fen: None,
        };
        Resource {
            id: ResourceId::parse("court-1").unwrap(),
            venue: VenueId::parse("v-1").unwrap(),
            province: "33".into(),
            name: "1 号场".into(),
            kind: "court".into(),
            slot_rules: vec![rule.parse().unwrap()],
            booking_rules: rules,
            real_name: false,
            created_at: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
            updated_at: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn the_window_and_one_day_more_are_generated() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let specs = slots_to_create(&resource(60, BookingRules::default()), &[], today, &[]);
        // Days ahead 7: today … today + 8, nine days of two slots.
        assert_eq!(specs.len(), 18);
        assert_eq!((specs[0].start, specs[17].start), (at("2026-12-01 08:00"), at("2026-12-09 09:00")));
        // The longest window (60 days) is generated in full, past generate_slots's per-call limit.
        let longest = BookingRulesInput { days_ahead: Some(MAX_DAYS_AHEAD), ..BookingRulesInput::default() }.parse().unwrap();
        let specs = slots_to_create(&resource(60, longest), &[], today, &[]);
        assert_eq!(specs.len(), 2 * 62);
        assert_eq!(specs.last().unwrap().start, at("2027-01-31 09:00"));
    }

    #[test]
    fn new_slots_never_overlap_existing_ones() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        // The slots were an hour long; the rule now makes half-hour slots.
        let existing = [(at("2026-12-01 08:00"), at("2026-12-01 09:00")), (at("2026-12-02 09:00"), at("2026-12-02 10:00"))];
        let specs = slots_to_create(&resource(30, BookingRules::default()), &[], today, &existing);
        let first_days: Vec<String> =
            specs.iter().filter(|spec| spec.start < at("2026-12-03 00:00")).map(|spec| spec.start.format("%d %H:%M").to_string()).collect();
        assert_eq!(first_days, ["01 09:00", "01 09:30", "02 08:00", "02 08:30"]);
        assert_eq!(specs.len(), 9 * 4 - 4);
        // Closures leave their slots out.
        let closure = Closure { from: at("2026-12-03 08:00"), to: at("2026-12-04 00:00"), reason: "维修".into(), urgent: true };
        let specs = slots_to_create(&resource(60, BookingRules::default()), &[closure], today, &[]);
        assert!(specs.iter().all(|spec| spec.start.date() != NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()));
        assert_eq!(specs.len(), 16);
    }
}
