//! Booking over HTTP against the real app (random port, fresh database) on SQLite and, when
//! FITFORALL_TEST_DATABASE_URL is set, PostgreSQL: the answers of `POST /api/v1/bookings`
//! (idempotency, full with alternatives, quotas, not open yet, bad input), cancellation, holds and
//! confirmation, iCalendar, the day sheet, and many clients on two app instances at once never
//! overbooking.

use chrono::{Duration, NaiveDate, Utc};
use fitforall_core::booking::{BookingRulesInput, ResourceId, SlotId, SlotRuleInput, generate_slots};
use fitforall_core::policy::{AccountId, Role};
use fitforall_core::venue::VenueId;
use fitforall_server::config::ServerConfig;
use fitforall_server::startup::Application;
use fitforall_server::state::AppState;
use fitforall_store::Resource;
use fitforall_store::testing::TestDatabase;
use serde_json::{Value, json};

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

/// China's local date today.
fn today() -> NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
}

/// A resident with an API token.
async fn resident(app: &TestApp, index: i64, role: Option<Role>) -> (AccountId, String) {
    let store = app.state.store();
    let id = AccountId::new(fitforall_server::auth::new_id());
    let account =
        fitforall_store::NewAccount { id, phone: format!("136{index:08}"), name: format!("居民 {index}"), password_hash: String::new(), home_region: None };
    store.create_account(&account, Utc::now()).await.unwrap();
    if let Some(role) = role {
        store.grant_role(fitforall_server::auth::new_id(), id, &role, None, Utc::now()).await.unwrap();
    }
    let (token, hash) = fitforall_server::auth::new_token();
    store.create_api_token(fitforall_server::auth::new_id(), &hash, id, "test", Utc::now()).await.unwrap();
    (id, token)
}

/// A resource of venue `base` with one daily slot rule, made now.
fn base_resource(id: &str, start: &str, end: &str, places: u32, price_fen: i64, rules: BookingRulesInput, real_name: bool) -> Resource {
    let rule = SlotRuleInput { weekdays: "1-7".into(), start: start.into(), end: end.into(), slot_length_min: 60, places, price_fen, reduced_price_fen: None };
    Resource {
        id: ResourceId::parse(id).unwrap(),
        venue: VenueId::parse("base").unwrap(),
        province: "33".into(),
        name: format!("{id} 号场"),
        kind: "court".into(),
        slot_rules: vec![rule.parse().unwrap()],
        booking_rules: rules.parse().unwrap(),
        real_name,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

/// A resource of venue `base` with slots 08:00–12:00 on the next days; returns its slots on day + 2.
async fn resource(app: &TestApp, id: &str, places: u32, price_fen: i64, rules: BookingRulesInput, real_name: bool) -> Vec<SlotId> {
    let resource = base_resource(id, "08:00", "12:00", places, price_fen, rules, real_name);
    let store = app.state.store();
    store.create_resource(&resource).await.unwrap();
    let specs = generate_slots(&resource.slot_rules, &[], today(), 5);
    store.ensure_slots(&resource, &specs, &mut fitforall_server::auth::new_id).await.unwrap();
    let day = today() + Duration::days(2);
    let slots = store.slots_between(&resource.id, day.and_hms_opt(0, 0, 0).unwrap(), day.and_hms_opt(23, 59, 0).unwrap()).await.unwrap();
    slots.iter().map(|slot| slot.id).collect()
}

/// Always open: the window opens at 00:00, 14 days ahead.
fn open_rules() -> BookingRulesInput {
    BookingRulesInput { opens_at: Some("00:00".into()), days_ahead: Some(14), ..BookingRulesInput::default() }
}

async fn book(app: &TestApp, token: &str, key: Option<&str>, body: Value) -> (u16, Value, bool) {
    let mut request = reqwest::Client::new().post(format!("{}/api/v1/bookings", app.base)).bearer_auth(token).json(&body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let replayed = response.headers().contains_key("idempotent-replayed");
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), replayed)
}

async fn call(app: &TestApp, method: reqwest::Method, token: &str, path: &str) -> (u16, String) {
    let response = reqwest::Client::new().request(method, format!("{}{path}", app.base)).bearer_auth(token).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn seed_venue(app: &TestApp) {
    let input: fitforall_core::venue::VenueInput = serde_json::from_value(
        json!({"id": "base", "name": "西湖体育馆", "region_code": "330106", "lat": 30.25, "lng": 120.15, "type": "gymnasium", "sports_area_m2": 3000}),
    )
    .unwrap();
    let tree = app.state.snapshot().regions.clone();
    let venue = input.parse(VenueId::parse("base").unwrap(), |code| tree.contains(code)).unwrap();
    app.state.store().upsert_venues(&[venue], Utc::now()).await.unwrap();
    app.state.refresh_if_stale().await.unwrap();
}

#[tokio::test]
async fn bookings_on_every_backend() {
    for database in TestDatabase::all().await {
        let label = database.label;
        let app = spawn_app(&database).await;
        seed_venue(&app).await;
        answers(&app, label).await;
        crowd_on_two_instances(&app, &database, label).await;
        eprintln!("{label}: bookings ok");
    }
}

async fn answers(app: &TestApp, label: &str) {
    let slots = resource(app, "court-a", 2, 0, open_rules(), false).await;
    let (_, alice) = resident(app, 1, None).await;
    let (_, bob) = resident(app, 2, None).await;
    let (_, carol) = resident(app, 3, None).await;
    let slot = slots[0].to_string();

    // Bad input: nothing booked, a clear 4xx.
    assert_eq!(book(app, &alice, None, json!({"slot_id": slot, "places": 1})).await.0, 422, "{label}: the key is required");
    assert_eq!(book(app, &alice, Some("k0"), json!({"slot_id": slot, "places": 0})).await.0, 400, "{label}");
    assert_eq!(book(app, &alice, Some("k0"), json!({"slot_id": slot, "places": 3})).await.0, 400, "{label}: above the slot's size");
    assert_eq!(book(app, &alice, Some("k0"), json!({"slot_id": "999", "places": 1})).await.0, 404, "{label}");
    assert_eq!(book(app, &alice, Some("k0"), json!({"slot_id": "abc", "places": 1})).await.0, 400, "{label}");
    assert_eq!(book(app, &alice, Some("k0"), json!({"slot": slot})).await.0, 400, "{label}: unknown field");
    let anonymous =
        reqwest::Client::new().post(format!("{}/api/v1/bookings", app.base)).header("idempotency-key", "x").json(&json!({"slot_id": slot, "places": 1}));
    assert_eq!(anonymous.send().await.unwrap().status().as_u16(), 401, "{label}");

    // A booking, its replay, and the key reused for something else.
    let (status, booking, replayed) = book(app, &alice, Some("alice-1"), json!({"slot_id": slot, "places": 1})).await;
    assert_eq!((status, booking["status"].as_str(), replayed), (201, Some("confirmed"), false), "{label}: {booking}");
    let (status, again, replayed) = book(app, &alice, Some("alice-1"), json!({"slot_id": slot, "places": 1})).await;
    assert_eq!((status, &again["id"], replayed), (201, &booking["id"], true), "{label}: a retry gives the same booking");
    let (status, body, _) = book(app, &alice, Some("alice-1"), json!({"slot_id": slot, "places": 2})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("idempotency_key_reused")), "{label}");

    // Full: the nearest slots with places are offered.
    assert_eq!(book(app, &bob, Some("bob-1"), json!({"slot_id": slot, "places": 1})).await.0, 201, "{label}");
    let (status, body, _) = book(app, &carol, Some("carol-1"), json!({"slot_id": slot, "places": 1})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("full")), "{label}: {body}");
    let offered: Vec<&str> = body["alternatives"].as_array().unwrap().iter().map(|offer| offer["slot_id"].as_str().unwrap()).collect();
    assert!(offered.contains(&slots[1].to_string().as_str()), "{label}: {body}");
    assert!(!offered.contains(&slot.as_str()), "{label}: not the full slot itself");

    // The day quota (2 a day per venue).
    assert_eq!(book(app, &alice, Some("alice-2"), json!({"slot_id": slots[1].to_string(), "places": 1})).await.0, 201, "{label}");
    let (status, body, _) = book(app, &alice, Some("alice-3"), json!({"slot_id": slots[2].to_string(), "places": 1})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("quota")), "{label}: {body}");

    // Cancelling frees the place; the bookings list and the calendar file.
    let id = booking["id"].as_str().unwrap();
    let (status, text) = call(app, reqwest::Method::POST, &alice, &format!("/api/v1/bookings/{id}/cancel")).await;
    assert_eq!(status, 200, "{label}: {text}");
    assert!(text.contains("\"status\":\"cancelled\""), "{label}: {text}");
    assert_eq!(call(app, reqwest::Method::POST, &alice, &format!("/api/v1/bookings/{id}/cancel")).await.0, 409, "{label}: only once");
    assert_eq!(call(app, reqwest::Method::POST, &bob, &format!("/api/v1/bookings/{id}/cancel")).await.0, 404, "{label}: not Bob's");
    assert_eq!(book(app, &carol, Some("carol-2"), json!({"slot_id": slot, "places": 1})).await.0, 201, "{label}: the freed place");
    let (status, text) = call(app, reqwest::Method::GET, &alice, "/api/v1/me/bookings").await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap().as_array().unwrap().len(), 2, "{label}: {text}");
    let (status, ics) = call(app, reqwest::Method::GET, &carol, &format!("/api/v1/bookings/{}/calendar.ics", booking_of(app, &carol).await)).await;
    assert!(status == 200 && ics.contains("BEGIN:VEVENT") && ics.contains("西湖体育馆"), "{label}: {ics}");

    // Not open yet: the opening time is given.
    let later =
        resource(app, "court-later", 4, 0, BookingRulesInput { opens_at: Some("00:00".into()), days_ahead: Some(1), ..BookingRulesInput::default() }, false)
            .await;
    let (status, body, _) = book(app, &alice, Some("later-1"), json!({"slot_id": later[0].to_string(), "places": 1})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("not_open_yet")), "{label}: {body}");
    assert_eq!(body["opens_at"].as_str(), Some(format!("{}T00:00:00", today() + Duration::days(1)).as_str()), "{label}");

    // A priced slot is held, then confirmed.
    let priced = resource(app, "court-priced", 4, 1500, open_rules(), false).await;
    let (status, held, _) = book(app, &bob, Some("bob-priced"), json!({"slot_id": priced[0].to_string(), "places": 2, "reduced": true})).await;
    assert_eq!((status, held["status"].as_str(), held["total_fen"].as_i64()), (201, Some("held"), Some(3000)), "{label}: {held}");
    assert!(held["expires_at"].is_string(), "{label}");
    let (status, text) = call(app, reqwest::Method::POST, &bob, &format!("/api/v1/bookings/{}/confirm", held["id"].as_str().unwrap())).await;
    assert!(status == 200 && text.contains("\"status\":\"confirmed\""), "{label}: {text}");

    // Real-name resources need an identity number.
    let named = resource(app, "court-named", 4, 0, open_rules(), true).await;
    let (status, body, _) = book(app, &bob, Some("bob-named"), json!({"slot_id": named[0].to_string(), "places": 1})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("identity_required")), "{label}: {body}");

    // The day sheet: the venue's operator yes, a resident no.
    let (_, operator) = resident(app, 9, Some(Role::VenueOperator { venue: VenueId::parse("base").unwrap() })).await;
    let day = today() + Duration::days(2);
    let (status, text) = call(app, reqwest::Method::GET, &operator, &format!("/api/v1/venues/base/bookings?date={day}")).await;
    assert_eq!(status, 200, "{label}: {text}");
    assert!(serde_json::from_str::<Value>(&text).unwrap().as_array().unwrap().len() >= 4, "{label}: {text}");
    assert_eq!(call(app, reqwest::Method::GET, &alice, &format!("/api/v1/venues/base/bookings?date={day}")).await.0, 403, "{label}");
    assert!(app.state.store().audit_slot_counts().await.unwrap().is_empty(), "{label}");
}

async fn booking_of(app: &TestApp, token: &str) -> String {
    let (_, text) = call(app, reqwest::Method::GET, token, "/api/v1/me/bookings").await;
    serde_json::from_str::<Value>(&text).unwrap()[0]["id"].as_str().unwrap().to_string()
}

/// 120 residents, 6 requests each, on two app instances sharing the database, for 3 slots of 10.
async fn crowd_on_two_instances(app: &TestApp, database: &TestDatabase, label: &str) {
    let second = spawn_app(database).await;
    let slots = resource(app, "court-crowd", 10, 0, BookingRulesInput { quota_per_day: Some(1), ..open_rules() }, false).await;
    let mut residents = Vec::new();
    for index in 0..120 {
        residents.push(resident(app, 1_000 + index, None).await.1);
    }
    let mut tasks = Vec::new();
    for (index, token) in residents.into_iter().enumerate() {
        let base = if index % 2 == 0 { app.base.clone() } else { second.base.clone() };
        let slots = slots.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut created = 0;
            for attempt in 0..6usize {
                let slot = slots[(index + attempt) % 3].to_string();
                let response = client
                    .post(format!("{base}/api/v1/bookings"))
                    .bearer_auth(&token)
                    .header("idempotency-key", format!("crowd-{index}-{}", attempt % 4))
                    .json(&json!({"slot_id": slot, "places": 1}))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                assert!(matches!(status, 201 | 403 | 409 | 422), "unexpected {status}: {}", response.text().await.unwrap());
                if status == 201 && !response.headers().contains_key("idempotent-replayed") {
                    created += 1;
                }
            }
            created
        }));
    }
    let mut created = 0;
    for task in tasks {
        created += task.await.unwrap();
    }
    assert_eq!(created, 30, "{label}: exactly the 30 places, no more");
    assert!(app.state.store().audit_slot_counts().await.unwrap().is_empty(), "{label}: the slots' counts match their bookings");
    for slot in &slots[..3] {
        let slot = app.state.store().slot(*slot).await.unwrap();
        assert_eq!(slot.taken, 10, "{label}: {slot:?} of {slots:?}");
    }
}

/// A slot of a new resource of venue `base` starting `in_min` minutes from now (China local time).
async fn slot_starting_soon(app: &TestApp, id: &str, in_min: i64) -> SlotId {
    // The test books the one slot made below (the rule only makes the resource valid).
    let resource = base_resource(id, "08:00", "09:00", 4, 0, open_rules(), false);
    let store = app.state.store();
    store.create_resource(&resource).await.unwrap();
    let now = fitforall_server::api::venues::local_now();
    let soon = now + Duration::minutes(in_min);
    // Whole minutes, as slots are.
    let start = soon.date().and_hms_opt(0, 0, 0).unwrap() + Duration::minutes((soon - soon.date().and_hms_opt(0, 0, 0).unwrap()).num_minutes());
    let spec = fitforall_core::booking::SlotSpec { start, end: start + Duration::minutes(60), capacity: 4, price_fen: 0, reduced_price_fen: 0 };
    store.ensure_slots(&resource, &[spec], &mut fitforall_server::auth::new_id).await.unwrap();
    store.slots_between(&resource.id, start, start + Duration::minutes(1)).await.unwrap()[0].id
}

async fn check_in_call(app: &TestApp, token: &str, venue: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new().post(format!("{}/api/v1/venues/{venue}/check-ins", app.base)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn check_in_over_http_on_every_backend() {
    for database in TestDatabase::all().await {
        let label = database.label;
        let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), database.url.clone());
        config.secret = Some("a test secret of at least thirty-two bytes".into());
        let app = Application::build(config).await.unwrap();
        let base = format!("http://{}", app.local_addr());
        let state = app.state.clone();
        let (_shutdown, receiver) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.serve(async move {
            let _ = receiver.await;
        }));
        let app = TestApp { base, state, _shutdown };
        seed_venue(&app).await;
        let slot = slot_starting_soon(&app, "court-soon", 5).await;
        let (_, alice) = resident(&app, 41, None).await;
        let (_, bob) = resident(&app, 42, None).await;
        let (_, operator) = resident(&app, 43, Some(Role::VenueOperator { venue: VenueId::parse("base").unwrap() })).await;
        let (status, booking, _) = book(&app, &alice, Some("soon-1"), json!({"slot_id": slot.to_string(), "places": 1})).await;
        assert_eq!(status, 201, "{label}: {booking}");
        let id = booking["id"].as_str().unwrap().to_string();

        // The resident's code; nobody else's.
        let (status, text) = call(&app, reqwest::Method::GET, &alice, &format!("/api/v1/bookings/{id}/check-in-code")).await;
        assert_eq!(status, 200, "{label}: {text}");
        let view: Value = serde_json::from_str(&text).unwrap();
        let code = view["code"].as_str().unwrap().to_string();
        assert!(code.starts_with(&format!("{id}-")), "{label}: {code}");
        assert_eq!(view["checked_in"], false, "{label}");
        assert_eq!(call(&app, reqwest::Method::GET, &bob, &format!("/api/v1/bookings/{id}/check-in-code")).await.0, 404, "{label}");

        // Only the venue's operator checks in, only with the genuine code.
        assert_eq!(check_in_call(&app, &bob, "base", json!({"code": code})).await.0, 403, "{label}");
        let forged = format!("{}{}", &code[..code.len() - 1], if code.ends_with('0') { '1' } else { '0' });
        let (status, body) = check_in_call(&app, &operator, "base", json!({"code": forged})).await;
        assert_eq!(status, 400, "{label}: {body}");
        assert!(body.to_string().contains("not valid"), "{label}: {body}");
        let (status, body) = check_in_call(&app, &operator, "base", json!({"code": "12345"})).await;
        assert_eq!(status, 400, "{label}: {body}");
        assert!(body.to_string().contains("expected a check-in code like"), "{label}: {body}");
        let (status, body) = check_in_call(&app, &operator, "base", json!({"code": code, "extra": 1})).await;
        assert_eq!(status, 400, "{label}: unknown fields: {body}");
        assert_eq!(check_in_call(&app, &operator, "no-such-venue", json!({"code": code})).await.0, 404, "{label}");
        let (status, body) = check_in_call(&app, &operator, "base", json!({"code": code})).await;
        assert_eq!(status, 200, "{label}: {body}");
        assert_eq!(body["status"], "checked_in", "{label}");
        let query = fitforall_store::AuditQuery { actor: None, action: Some("check_in".into()), region: None, from: None, to: None, limit: 10, offset: 0 };
        let entries = app.state.store().search_audit(&query).await.unwrap();
        assert_eq!(entries.len(), 1, "{label}: the check-in is audited");
        assert_eq!(entries[0].target, format!("booking {id}"), "{label}");
        assert!(entries[0].after_json.as_deref().is_some_and(|after| after.contains("checked_in")), "{label}: {:?}", entries[0].after_json);
        let (status, body) = check_in_call(&app, &operator, "base", json!({"code": code})).await;
        assert_eq!(status, 409, "{label}: {body}");
        assert!(body.to_string().contains("checked_in"), "{label}: {body}");
        let (_, text) = call(&app, reqwest::Method::GET, &alice, &format!("/api/v1/bookings/{id}/check-in-code")).await;
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["checked_in"], true, "{label}");

        // A booking whose check-in has not opened yet: 409 with the opening time.
        let later = slot_starting_soon(&app, "court-later", 120).await;
        let (_, booking, _) = book(&app, &bob, Some("later-1"), json!({"slot_id": later.to_string(), "places": 1})).await;
        let later_id = booking["id"].as_str().unwrap().to_string();
        let (_, text) = call(&app, reqwest::Method::GET, &bob, &format!("/api/v1/bookings/{later_id}/check-in-code")).await;
        let later_code = serde_json::from_str::<Value>(&text).unwrap()["code"].as_str().unwrap().to_string();
        let (status, body) = check_in_call(&app, &operator, "base", json!({"code": later_code})).await;
        assert_eq!(status, 409, "{label}: {body}");
        assert!(body.to_string().contains("check-in opens at"), "{label}: {body}");
        // Cancelled: no code any more.
        assert_eq!(call(&app, reqwest::Method::POST, &bob, &format!("/api/v1/bookings/{later_id}/cancel")).await.0, 200, "{label}");
        assert_eq!(call(&app, reqwest::Method::GET, &bob, &format!("/api/v1/bookings/{later_id}/check-in-code")).await.0, 409, "{label}");
        eprintln!("{label}: check-in ok");
    }
}

#[tokio::test]
async fn check_in_codes_need_the_server_secret() {
    let database = TestDatabase::sqlite();
    let app = spawn_app(&database).await;
    seed_venue(&app).await;
    let slot = slot_starting_soon(&app, "court-no-secret", 5).await;
    let (_, alice) = resident(&app, 51, None).await;
    let (_, booking, _) = book(&app, &alice, Some("ns-1"), json!({"slot_id": slot.to_string(), "places": 1})).await;
    let id = booking["id"].as_str().unwrap();
    let (status, text) = call(&app, reqwest::Method::GET, &alice, &format!("/api/v1/bookings/{id}/check-in-code")).await;
    assert_eq!(status, 503, "{text}");
}
