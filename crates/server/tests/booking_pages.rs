//! The booking pages as a browser uses them (forms with CSRF tokens, cookies, redirects): the venue's
//! grid, booking from it (a resent form books once), my bookings, confirm and cancel. SQLite and, when
//! FITFORALL_TEST_DATABASE_URL is set, PostgreSQL.

mod support;
use support::{Browser, input_after};

use chrono::{Duration, NaiveDate, Utc};
use fitforall_core::booking::{BookingRulesInput, BookingStatus, ResourceId, SlotId, SlotRuleInput, generate_slots};
use fitforall_core::policy::AccountId;
use fitforall_core::venue::VenueId;
use fitforall_server::config::ServerConfig;
use fitforall_server::startup::Application;
use fitforall_server::state::AppState;
use fitforall_store::testing::TestDatabase;
use fitforall_store::{BatchRequest, BatchState, NewBooking, Resource};
use serde_json::json;

struct TestApp {
    base: String,
    state: AppState,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

async fn spawn_app(database: &TestDatabase) -> TestApp {
    let config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), database.url.clone());
    let app = Application::build(config).await.unwrap_or_else(|error| panic!("{}: {error}", database.label));
    let base = format!("http://{}", app.local_addr());
    let state = app.state.clone();
    let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(async move {
        let _ = receiver.await;
    }));
    TestApp { base, state, _shutdown: sender }
}

fn today() -> NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
}

async fn setup(app: &TestApp) -> (String, Vec<String>) {
    let input: fitforall_core::venue::VenueInput = serde_json::from_value(
        json!({"id": "pool", "name": "西湖游泳馆", "region_code": "330106", "lat": 30.25, "lng": 120.15, "type": "swimming_pool", "sports_area_m2": 1200}),
    )
    .unwrap();
    let tree = app.state.snapshot().regions.clone();
    let venue = input.parse(VenueId::parse("pool").unwrap(), |code| tree.contains(code)).unwrap();
    let store = app.state.store();
    store.upsert_venues(&[venue], Utc::now()).await.unwrap();
    app.state.refresh_if_stale().await.unwrap();
    let rule = SlotRuleInput {
        weekdays: "1-7".into(),
        start: "18:00".into(),
        end: "20:00".into(),
        slot_length_min: 60,
        places: 1,
        price_fen: 500,
        reduced_price_fen: Some(250),
    };
    let resource = Resource {
        id: ResourceId::parse("lane-1").unwrap(),
        venue: VenueId::parse("pool").unwrap(),
        province: "33".into(),
        name: "1 号泳道".into(),
        kind: "lane".into(),
        slot_rules: vec![rule.parse().unwrap()],
        booking_rules: BookingRulesInput { opens_at: Some("00:00".into()), days_ahead: Some(14), ..BookingRulesInput::default() }.parse().unwrap(),
        real_name: false,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    };
    store.create_resource(&resource).await.unwrap();
    store.ensure_slots(&resource, &generate_slots(&resource.slot_rules, &[], today(), 8), &mut fitforall_server::auth::new_id).await.unwrap();
    let id = AccountId::new(fitforall_server::auth::new_id());
    let password_hash = fitforall_server::auth::hash_password("a booking password".into()).await;
    let account = fitforall_store::NewAccount { id, phone: "13912349999".into(), name: "游泳者".into(), password_hash, home_region: None };
    store.create_account(&account, Utc::now()).await.unwrap();
    let day = today() + Duration::days(1);
    let slots = store.slots_between(&resource.id, day.and_hms_opt(0, 0, 0).unwrap(), day.and_hms_opt(23, 0, 0).unwrap()).await.unwrap();
    ("13912349999".into(), slots.iter().map(|slot| slot.id.to_string()).collect())
}

#[tokio::test]
async fn booking_pages_on_every_backend() {
    for database in TestDatabase::all().await {
        let label = database.label;
        let app = spawn_app(&database).await;
        let (phone, slots) = setup(&app).await;
        let mut browser = Browser::new(&app.base);

        let venue = browser.get("/venues/pool").await;
        assert!(venue.body.contains("/venues/pool/book?resource=lane-1"), "{label}: the venue page links to booking");
        let grid = browser.get("/venues/pool/book").await;
        assert_eq!(grid.status, 200, "{label}");
        assert!(grid.body.contains("slot-grid") && grid.body.contains("1 号泳道"), "{label}");
        assert!(!grid.body.contains("action=\"/bookings\""), "{label}: no booking forms before logging in");

        let login = browser.get("/login").await;
        let csrf = input_after(&login.body, 0, "csrf");
        assert_eq!(
            browser.post("/login", &[("csrf", csrf.as_str()), ("phone", phone.as_str()), ("password", "a booking password")]).await.status,
            303,
            "{label}"
        );
        let grid = browser.get("/venues/pool/book?resource=lane-1").await;
        let cell = grid.body.find(&format!("data-slot=\"{}\"", slots[0])).unwrap_or_else(|| panic!("{label}: the slot is in the grid"));
        let (csrf, key) = (input_after(&grid.body, cell, "csrf"), input_after(&grid.body, cell, "key"));
        let form = [("csrf", csrf.as_str()), ("slot_id", slots[0].as_str()), ("places", "1"), ("key", key.as_str()), ("venue", "pool")];
        let booked = browser.post("/bookings", &form).await;
        assert_eq!(booked.status, 303, "{label}: {}", booked.body);
        let resent = browser.post("/bookings", &form).await;
        assert_eq!((resent.status, &resent.location), (303, &booked.location), "{label}: the same form books once");
        assert!(browser.post("/bookings", &[("slot_id", slots[0].as_str()), ("key", "x"), ("venue", "pool")]).await.status == 403, "{label}: CSRF");

        let mine = browser.get(&booked.location).await;
        assert_eq!(mine.status, 200, "{label}");
        assert!(mine.body.contains("西湖游泳馆") && mine.body.contains("待确认") && mine.body.contains("calendar.ics"), "{label}: {}", mine.body);
        assert_eq!(mine.body.matches("class=\"panel booking-row").count(), 1, "{label}: one booking");

        // The slot (one place) is now full for the grid; a second person's attempt gets the offers.
        let full = browser.get("/venues/pool/book?resource=lane-1").await;
        let cell = full.body.find(&format!("data-slot=\"{}\"", slots[0])).unwrap();
        assert!(full.body[cell - 40..cell].contains("slot-full"), "{label}");

        let booking_id = booked.location.rsplit('=').next().unwrap().to_string();
        let confirm_csrf = input_after(&mine.body, 0, "csrf");
        let confirmed = browser.post(&format!("/account/bookings/{booking_id}/confirm"), &[("csrf", confirm_csrf.as_str())]).await;
        assert_eq!((confirmed.status, confirmed.location.as_str()), (303, "/account/bookings?done=confirm"), "{label}");
        let cancelled = browser.post(&format!("/account/bookings/{booking_id}/cancel"), &[("csrf", confirm_csrf.as_str())]).await;
        assert_eq!((cancelled.status, cancelled.location.as_str()), (303, "/account/bookings?done=cancel"), "{label}");
        let again = browser.post(&format!("/account/bookings/{booking_id}/cancel"), &[("csrf", confirm_csrf.as_str())]).await;
        assert_eq!(again.status, 409, "{label}: a cancelled booking cannot be cancelled again");
        assert!(app.state.store().audit_slot_counts().await.unwrap().is_empty(), "{label}");
        assert!(!again.body.contains("booking-no-shows"), "{label}: no no-show notice without no-shows");

        // Two confirmed bookings not checked in: after check-in closed they are no-shows, and my
        // bookings says how many count towards a ban.
        let store = app.state.store();
        let account = store.account_by_phone(&phone).await.unwrap().id;
        let requests: Vec<BatchRequest> = slots[..2]
            .iter()
            .enumerate()
            .map(|(index, slot)| BatchRequest {
                slot: SlotId::new(slot.parse().unwrap()),
                account,
                places: 1,
                reduced: false,
                idempotency_key: format!("no-show-{index}"),
                request_hash: "hash".into(),
            })
            .collect();
        let made: Vec<NewBooking> = requests
            .iter()
            .map(|request| NewBooking {
                id: fitforall_server::auth::new_id(),
                slot: request.slot,
                account,
                places: 1,
                status: BookingStatus::Confirmed,
                total_fen: 500,
                reduced: false,
                expires_at: None,
                idempotency_key: request.idempotency_key.clone(),
                request_hash: request.request_hash.clone(),
            })
            .collect();
        let now = fitforall_server::api::venues::local_now();
        store.book_batch(&requests, now, Utc::now(), move |_: &mut BatchState| (made, ())).await.unwrap();
        let marked = store.mark_no_shows(now + Duration::days(2), now - Duration::days(1), Utc::now()).await.unwrap();
        assert_eq!(marked, 2, "{label}");
        let mine = browser.get("/account/bookings").await;
        assert!(mine.body.contains("booking-no-shows") && mine.body.contains("未到场 2 次"), "{label}: {}", mine.body);
        assert_eq!(mine.body.matches("未到场</span>").count(), 2, "{label}: both rows say 未到场");
        eprintln!("{label}: booking pages ok");
    }
}
