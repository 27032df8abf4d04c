//! The booking store on SQLite and (when FITFORALL_TEST_DATABASE_URL is set) PostgreSQL: resources,
//! closures, slot generation, batches decided by the core ledger, idempotency, cancellation, expiry,
//! and concurrent batches over many connections never overbooking.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use fitforall_core::booking::{BookRequest, BookingRules, BookingStatus, Closure, ResourceId, SlotRuleInput, cancellation, generate_slots};
use fitforall_core::policy::AccountId;
use fitforall_core::venue::VenueId;
use fitforall_store::testing::TestDatabase;
use fitforall_store::{BackendKind, BatchRequest, BatchState, NewAccount, NewBooking, Resource, Store, StoreError};

static NEXT_ID: AtomicI64 = AtomicI64::new(1_000);

fn next_id() -> i64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

fn resource(id: &str, places: u32, price_fen: i64) -> Resource {
    let rule =
        SlotRuleInput { weekdays: "1-7".into(), start: "08:00".into(), end: "12:00".into(), slot_length_min: 60, places, price_fen, reduced_price_fen: None };
    Resource {
        id: ResourceId::parse(id).unwrap(),
        venue: VenueId::parse("v-booking").unwrap(),
        province: "33".into(),
        name: format!("{id} 号场"),
        kind: "court".into(),
        slot_rules: vec![rule.parse().unwrap()],
        booking_rules: BookingRules::default(),
        real_name: false,
        created_at: Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap(),
        updated_at: Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap(),
    }
}

/// The decision the rush engine makes, in its simplest form: each request through the ledger,
/// existing idempotency keys answered from their booking.
fn decide_all(requests: &[BatchRequest], now: NaiveDateTime) -> impl FnOnce(&mut BatchState) -> (Vec<NewBooking>, ()) + Send + 'static {
    let requests = requests.to_vec();
    move |state: &mut BatchState| {
        let mut made = Vec::new();
        for request in &requests {
            if state.existing.contains_key(&(request.account, request.idempotency_key.clone())) {
                continue;
            }
            let rules = state.rules.get(&request.slot).cloned().unwrap_or_default();
            let book = BookRequest { account: request.account, slot: request.slot, places: request.places, reduced: request.reduced };
            if let Ok(accepted) = state.ledger.book(&rules, &book, now) {
                made.push(NewBooking {
                    id: next_id(),
                    slot: request.slot,
                    account: request.account,
                    places: request.places,
                    status: accepted.status,
                    total_fen: accepted.total_fen,
                    reduced: request.reduced,
                    expires_at: accepted.expires_at,
                    idempotency_key: request.idempotency_key.clone(),
                    request_hash: request.request_hash.clone(),
                });
            }
        }
        (made, ())
    }
}

fn request(slot: fitforall_core::booking::SlotId, account: i64, places: u32, key: &str) -> BatchRequest {
    BatchRequest { slot, account: AccountId::new(account), places, reduced: false, idempotency_key: key.into(), request_hash: format!("hash-{key}") }
}

async fn accounts(store: &Store, count: i64) {
    for id in 1..=count {
        let account =
            NewAccount { id: AccountId::new(id), phone: format!("1380000{id:04}"), name: format!("居民 {id}"), password_hash: "x".into(), home_region: None };
        store.create_account(&account, Utc::now()).await.unwrap();
    }
}

async fn story(database: &TestDatabase) {
    let label = database.label;
    let store = Store::connect(&database.url).await.unwrap();
    let utc = Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
    accounts(&store, 40).await;

    let court = resource("court-1", 2, 0);
    store.create_resource(&court).await.unwrap();
    assert!(matches!(store.create_resource(&court).await, Err(StoreError::Conflict(_))), "{label}: ids are unique");
    assert_eq!(store.resource(&court.id).await.unwrap(), court, "{label}: rules round-trip");
    let specs = generate_slots(&court.slot_rules, &[], NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(), 8);
    assert_eq!(specs.len(), 32);
    assert_eq!(store.ensure_slots(&court, &specs, &mut next_id).await.unwrap(), 32, "{label}");
    assert_eq!(store.ensure_slots(&court, &specs, &mut next_id).await.unwrap(), 0, "{label}: existing slots are kept");
    let slots = store.slots_between(&court.id, at("2026-12-08 00:00"), at("2026-12-09 00:00")).await.unwrap();
    assert_eq!(slots.len(), 4, "{label}");
    let first = slots[0].id;

    // Before the window opens nothing is booked; at 08:00 seven days ahead it opens.
    let early = [request(first, 1, 1, "k-early")];
    let made = store.book_batch(&early, at("2026-12-01 07:59"), utc, decide_all(&early, at("2026-12-01 07:59"))).await.unwrap().0;
    assert!(made.is_empty(), "{label}");
    let now = at("2026-12-01 08:00");
    let batch = [request(first, 1, 1, "k1"), request(first, 2, 1, "k2"), request(first, 3, 1, "k3")];
    let made = store.book_batch(&batch, now, utc, decide_all(&batch, now)).await.unwrap().0;
    assert_eq!(made.len(), 2, "{label}: two places, three people");
    assert!(made.iter().all(|booking| booking.status == BookingStatus::Confirmed), "{label}: free slots confirm at once");
    assert_eq!(store.slot(first).await.unwrap().taken, 2, "{label}");

    // The same key again: the batch sees the booking it made and makes no other.
    let retry = [request(first, 1, 1, "k1")];
    let made = store
        .book_batch(&retry, now, utc, |state: &mut BatchState| {
            assert!(state.existing.contains_key(&(AccountId::new(1), "k1".to_string())));
            (Vec::new(), ())
        })
        .await
        .unwrap()
        .0;
    assert!(made.is_empty(), "{label}");

    // A decision that would overbook (bypassing the ledger) is refused by the guard and nothing is written.
    let rogue = [request(first, 4, 1, "k-rogue")];
    let result = store
        .book_batch(&rogue, now, utc, move |_: &mut BatchState| {
            let rogue = vec![NewBooking {
                id: next_id(),
                slot: first,
                account: AccountId::new(4),
                places: 1,
                status: BookingStatus::Confirmed,
                total_fen: 0,
                reduced: false,
                expires_at: None,
                idempotency_key: "k-rogue".into(),
                request_hash: "h".into(),
            }];
            (rogue, ())
        })
        .await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{label}: {result:?}");
    assert_eq!(store.bookings_of_account(AccountId::new(4), 10, 0).await.unwrap().len(), 0, "{label}: rolled back");
    assert!(store.audit_slot_counts().await.unwrap().is_empty(), "{label}");

    // On SQLite the decision runs on the batch writer's thread: one that panics there fails its batch
    // (written: nothing) and the writer goes on with the next. (On PostgreSQL it would panic the caller.)
    if store.kind() == BackendKind::Sqlite {
        let doomed = [request(first, 5, 1, "k-doomed")];
        let result = store.book_batch(&doomed, now, utc, |_: &mut BatchState| -> (Vec<NewBooking>, ()) { panic!("a decision went wrong") }).await;
        assert!(matches!(result, Err(StoreError::Unavailable(_))), "{label}: {result:?}");
        assert_eq!(store.bookings_of_account(AccountId::new(5), 10, 0).await.unwrap().len(), 0, "{label}: nothing written");
        let retry = [request(first, 5, 1, "k-after")];
        let made = store.book_batch(&retry, now, utc, decide_all(&retry, now)).await.unwrap().0;
        assert!(made.is_empty(), "{label}: the slot is full, and the writer still answers");
    }

    // Cancelling gives the place back; someone else's booking is not found.
    let mine = store.bookings_of_account(AccountId::new(1), 10, 0).await.unwrap();
    let booking_id = mine[0].id;
    let refused = store.change_booking(AccountId::new(2), booking_id, utc, |_, _| Ok::<_, ()>(BookingStatus::Cancelled)).await;
    assert!(matches!(refused, Err(StoreError::NotFound(_))), "{label}");
    let cancelled = store
        .change_booking(AccountId::new(1), booking_id, utc, |booking, rules| cancellation(booking.status, booking.slot_start, rules, now))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled, "{label}");
    assert_eq!(store.slot(first).await.unwrap().taken, 1, "{label}");
    let again =
        store.change_booking(AccountId::new(1), booking_id, utc, |booking, rules| cancellation(booking.status, booking.slot_start, rules, now)).await.unwrap();
    assert!(again.is_err(), "{label}: a cancelled booking cannot be cancelled again");

    // A priced slot is held and expires: lazily at the next batch, or by the job.
    let paid = resource("court-paid", 3, 2000);
    store.create_resource(&paid).await.unwrap();
    let specs = generate_slots(&paid.slot_rules, &[], NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(), 1);
    store.ensure_slots(&paid, &specs, &mut next_id).await.unwrap();
    let paid_slot = store.slots_between(&paid.id, at("2026-12-08 00:00"), at("2026-12-09 00:00")).await.unwrap()[0].id;
    let batch = [request(paid_slot, 5, 3, "p1")];
    let made = store.book_batch(&batch, now, utc, decide_all(&batch, now)).await.unwrap().0;
    assert_eq!((made[0].status, made[0].total_fen, made[0].expires_at), (BookingStatus::Held, 6000, Some(at("2026-12-01 08:10"))), "{label}");
    let later = at("2026-12-01 08:11");
    let batch = [request(paid_slot, 6, 1, "p2")];
    let made = store.book_batch(&batch, later, utc, decide_all(&batch, later)).await.unwrap().0;
    assert_eq!(made.len(), 1, "{label}: the expired hold's places came back first");
    assert_eq!(store.booking(store.bookings_of_account(AccountId::new(5), 1, 0).await.unwrap()[0].id).await.unwrap().status, BookingStatus::Expired, "{label}");
    assert_eq!(store.expire_holds(at("2026-12-01 08:30"), utc).await.unwrap(), 1, "{label}: the job expires the rest");
    assert_eq!(store.slot(paid_slot).await.unwrap().taken, 0, "{label}");

    // Nearest open slots, and a closure removing unbooked slots.
    let near = store.open_slots_near(&court.id, at("2026-12-08 08:00"), now, 3).await.unwrap();
    assert_eq!(near.iter().map(|slot| slot.start).collect::<Vec<_>>(), [at("2026-12-08 08:00"), at("2026-12-08 09:00"), at("2026-12-08 10:00")], "{label}");
    let closure = Closure { from: at("2026-12-08 08:00"), to: at("2026-12-08 10:00"), reason: "维修".into(), urgent: true };
    let kept = store.add_closure(&court, next_id(), &closure, utc).await.unwrap();
    assert_eq!(kept.iter().map(|slot| slot.id).collect::<Vec<_>>(), [first], "{label}: the booked slot stays");
    assert_eq!(store.slots_between(&court.id, at("2026-12-08 00:00"), at("2026-12-09 00:00")).await.unwrap().len(), 3, "{label}");
    assert_eq!(store.closures_of(&court.id).await.unwrap().len(), 1, "{label}");

    // Many batches at once over many connections on the same slots: never over capacity, quotas hold.
    // More at once than SQLite's batch writer queues (64): the others wait for a place, none fails.
    let crowded = resource("court-crowded", 5, 0);
    store.create_resource(&crowded).await.unwrap();
    let specs = generate_slots(&crowded.slot_rules, &[], NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(), 1);
    store.ensure_slots(&crowded, &specs, &mut next_id).await.unwrap();
    let crowded_slots: Vec<_> =
        store.slots_between(&crowded.id, at("2026-12-08 00:00"), at("2026-12-09 00:00")).await.unwrap().iter().map(|slot| slot.id).collect();
    let mut tasks = Vec::new();
    for task in 0..80i64 {
        let store = store.clone();
        let crowded_slots = crowded_slots.clone();
        tasks.push(tokio::spawn(async move {
            let mut made = 0;
            for round in 0..2i64 {
                let requests: Vec<BatchRequest> = (0..4i64)
                    .map(|index| {
                        let account = 10 + (task * 4 + index + round) % 30;
                        request(crowded_slots[((task + round + index) % 4) as usize], account, 1, &format!("c-{task}-{round}-{index}"))
                    })
                    .collect();
                loop {
                    match store.book_batch(&requests, now, utc, decide_all(&requests, now)).await {
                        Ok((bookings, ())) => {
                            made += bookings.len();
                            break;
                        }
                        Err(StoreError::Conflict(_)) => continue,
                        Err(error) => panic!("{error}"),
                    }
                }
            }
            made
        }));
    }
    let mut made = 0;
    for task in tasks {
        made += task.await.unwrap();
    }
    assert_eq!(made, 20, "{label}: every place of the four slots of 5, no more");
    assert!(store.audit_slot_counts().await.unwrap().is_empty(), "{label}: taken matches the bookings");
    let mut per_day: HashMap<AccountId, usize> = HashMap::new();
    for account in 10..40 {
        let bookings = store.bookings_of_account(AccountId::new(account), 100, 0).await.unwrap();
        per_day.insert(AccountId::new(account), bookings.iter().filter(|booking| booking.resource == crowded.id).count());
    }
    assert!(per_day.values().all(|count| *count <= 2), "{label}: the day quota holds under concurrency: {per_day:?}");
}

#[tokio::test]
async fn booking_store_on_every_backend() {
    for database in TestDatabase::all().await {
        story(&database).await;
    }
}

/// Check-in at the venue and the no-show job: a checked-in booking stays, a confirmed one whose
/// check-in has closed becomes a no-show and gives its place back, and three no-shows ban booking.
async fn check_in_and_no_shows(database: &TestDatabase) {
    use fitforall_core::booking::{Refusal, TransitionError, check_in};
    let label = database.label;
    let store = Store::connect(&database.url).await.unwrap();
    let utc = Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap();
    accounts(&store, 5).await;
    let court = resource("court-check-in", 3, 0);
    store.create_resource(&court).await.unwrap();
    let specs = generate_slots(&court.slot_rules, &[], NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(), 8);
    store.ensure_slots(&court, &specs, &mut next_id).await.unwrap();
    let slot_at = |slots: &[fitforall_store::Slot], start: &str| slots.iter().find(|slot| slot.start == at(start)).unwrap().id;
    let slots = store.slots_between(&court.id, at("2026-12-01 00:00"), at("2026-12-09 00:00")).await.unwrap();
    let booked_at = at("2026-11-30 10:00");
    let batch = vec![
        request(slot_at(&slots, "2026-12-01 08:00"), 1, 1, "ci-1"),
        request(slot_at(&slots, "2026-12-01 08:00"), 2, 1, "ci-2"),
        request(slot_at(&slots, "2026-12-01 09:00"), 3, 1, "ci-3"),
        request(slot_at(&slots, "2026-12-01 08:00"), 4, 1, "ci-4a"),
        request(slot_at(&slots, "2026-12-02 08:00"), 4, 1, "ci-4b"),
        request(slot_at(&slots, "2026-12-03 08:00"), 4, 1, "ci-4c"),
    ];
    let made = store.book_batch(&batch, booked_at, utc, decide_all(&batch, booked_at)).await.unwrap().0;
    assert_eq!(made.len(), 6, "{label}");
    assert!(made.iter().all(|booking| booking.status == BookingStatus::Confirmed), "{label}: free slots confirm at once");
    let id_of = |key: &str| made.iter().find(|booking| booking.idempotency_key == key).unwrap().id;

    // Only the venue's own bookings can be checked in from it; the window is the core's.
    let elsewhere = VenueId::parse("v-elsewhere").unwrap();
    let refused = store.change_booking_at_venue(&elsewhere, id_of("ci-1"), utc, |b, _| check_in(b.status, b.slot_start, at("2026-12-01 07:50"))).await;
    assert!(matches!(refused, Err(StoreError::NotFound(_))), "{label}: {refused:?}");
    let early = store.change_booking_at_venue(&court.venue, id_of("ci-1"), utc, |b, _| check_in(b.status, b.slot_start, at("2026-12-01 07:44"))).await.unwrap();
    assert_eq!(early, Err(TransitionError::CheckInNotOpen { opens_at: at("2026-12-01 07:45") }), "{label}");
    let checked =
        store.change_booking_at_venue(&court.venue, id_of("ci-1"), utc, |b, _| check_in(b.status, b.slot_start, at("2026-12-01 07:50"))).await.unwrap();
    assert_eq!(checked.map(|b| b.status), Ok(BookingStatus::CheckedIn), "{label}");
    let again = store.change_booking_at_venue(&court.venue, id_of("ci-1"), utc, |b, _| check_in(b.status, b.slot_start, at("2026-12-01 07:55"))).await.unwrap();
    assert_eq!(again, Err(TransitionError::NotAllowed { from: BookingStatus::CheckedIn, action: "checked in" }), "{label}");

    // Check-in for 08:00 closes at 08:15: nothing is due then, the two others at 08:16.
    let since = at("2026-11-30 00:00");
    assert_eq!(store.mark_no_shows(at("2026-12-01 08:15"), since, utc).await.unwrap(), 0, "{label}");
    assert_eq!(store.mark_no_shows(at("2026-12-01 08:16"), since, utc).await.unwrap(), 2, "{label}");
    assert_eq!(store.mark_no_shows(at("2026-12-01 08:16"), since, utc).await.unwrap(), 0, "{label}: marked once");
    let status = |id| {
        let store = store.clone();
        async move { store.booking(id).await.unwrap().status }
    };
    assert_eq!(status(id_of("ci-1")).await, BookingStatus::CheckedIn, "{label}");
    assert_eq!(status(id_of("ci-2")).await, BookingStatus::NoShow, "{label}");
    assert_eq!(status(id_of("ci-4a")).await, BookingStatus::NoShow, "{label}");
    assert_eq!(status(id_of("ci-3")).await, BookingStatus::Confirmed, "{label}: 09:00 is not due");
    assert_eq!(store.slot(slot_at(&slots, "2026-12-01 08:00")).await.unwrap().taken, 1, "{label}: the no-shows' places are released");
    // Slots that started before `since` are left alone (the job looks back a bounded time).
    assert_eq!(store.mark_no_shows(at("2026-12-03 09:00"), at("2026-12-02 00:00"), utc).await.unwrap(), 2, "{label}: 12-02 and 12-03, not 12-01 09:00");
    assert_eq!(status(id_of("ci-3")).await, BookingStatus::Confirmed, "{label}");
    assert!(store.audit_slot_counts().await.unwrap().is_empty(), "{label}");

    // Account 4 did not show up three times within 30 days: booking is suspended for 30 days.
    let now = at("2026-12-03 10:00");
    let late = vec![request(slot_at(&slots, "2026-12-05 09:00"), 4, 1, "ci-4d")];
    let rules = court.booking_rules.clone();
    let book = BookRequest { account: AccountId::new(4), slot: late[0].slot, places: 1, reduced: false };
    let (made, refusal) =
        store.book_batch(&late, now, utc, move |state: &mut BatchState| (Vec::new(), state.ledger.book(&rules, &book, now).err())).await.unwrap();
    assert!(made.is_empty(), "{label}");
    assert_eq!(refusal, Some(Refusal::Banned { until: at("2026-12-03 08:00") + chrono::Duration::days(30) }), "{label}");
}

#[tokio::test]
async fn check_in_and_no_shows_on_every_backend() {
    for database in TestDatabase::all().await {
        check_in_and_no_shows(&database).await;
    }
}
