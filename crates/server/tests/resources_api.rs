//! The operator side of booking over HTTP: bookable resources with their slot and booking rules, the
//! slots generated for the booking window, closures, who may manage them, and their audit entries.
//! The real app on a random port; SQLite and, when FITFORALL_TEST_DATABASE_URL is set, PostgreSQL.

use chrono::{Days, NaiveDate, Utc};
use fitforall_core::booking::{BookingStatus, SlotId};
use fitforall_core::policy::{AccountId, Role};
use fitforall_core::region::RegionCode;
use fitforall_core::venue::VenueId;
use fitforall_server::config::ServerConfig;
use fitforall_server::startup::Application;
use fitforall_server::state::AppState;
use fitforall_store::testing::TestDatabase;
use fitforall_store::{AuditQuery, BatchRequest, BatchState, NewBooking};
use reqwest::Method;
use serde_json::{Value, json};

struct TestApp {
    base: String,
    state: AppState,
    http: reqwest::Client,
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
    TestApp { base, state, http: reqwest::Client::new(), _shutdown: sender }
}

impl TestApp {
    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None, None).await
    }

    /// An account with `roles` and an API token of theirs.
    async fn token_with_roles(&self, roles: &[Role]) -> (AccountId, String) {
        let store = self.state.store();
        let now = Utc::now();
        let id = AccountId::new(fitforall_server::auth::new_id());
        let phone = format!("136{:08}", fitforall_server::auth::new_id().rem_euclid(100_000_000));
        let account = fitforall_store::NewAccount { id, phone, name: "资源测试".into(), password_hash: String::new(), home_region: None };
        store.create_account(&account, now).await.unwrap();
        for role in roles {
            store.grant_role(fitforall_server::auth::new_id(), id, role, None, now).await.unwrap();
        }
        let (token, token_hash) = fitforall_server::auth::new_token();
        store.create_api_token(fitforall_server::auth::new_id(), &token_hash, id, "resources test", now).await.unwrap();
        (id, token)
    }
}

fn venue_body(id: &str, region: &str, lat: f64, lng: f64) -> Value {
    json!({"id": id, "name": format!("预约场馆 {id}"), "region_code": region, "lat": lat, "lng": lng, "type": "ball_courts", "sports": ["badminton"], "sports_area_m2": 800})
}

fn resource_body(id: &str) -> Value {
    json!({
        "id": id, "name": format!("{id} 号场"), "kind": "court",
        "slot_rules": [{"weekdays": "1-7", "start": "08:00", "end": "12:00", "slot_length_min": 60, "places": 4, "price_fen": 0}],
    })
}

fn fields(reply: &Value) -> Vec<String> {
    reply["error"]["details"]
        .as_array()
        .unwrap_or_else(|| panic!("not a field error: {reply}"))
        .iter()
        .map(|detail| detail["field"].as_str().unwrap().to_string())
        .collect()
}

/// PUTs `body` again (no change): the answer reports no kept slots.
async fn reply_has_no_kept_slots(app: &TestApp, token: Option<&str>, body: &Value) -> bool {
    let (status, reply) = app.call(Method::PUT, "/api/v1/resources/court-1", token, Some(body.clone())).await;
    status == 200 && reply.get("kept_slots").is_none()
}

fn day(today: NaiveDate, offset: u64) -> NaiveDate {
    today.checked_add_days(Days::new(offset)).unwrap()
}

fn starts(reply: &Value) -> Vec<String> {
    reply["slots"].as_array().unwrap().iter().map(|slot| slot["start"].as_str().unwrap()[11..].to_string()).collect()
}

async fn audit_count(app: &TestApp, action: &str) -> usize {
    let query = AuditQuery { actor: None, action: Some(action.into()), region: None, from: None, to: None, limit: 100, offset: 0 };
    app.state.store().search_audit(&query).await.unwrap().len()
}

async fn story(database: &TestDatabase) {
    let label = database.label;
    let app = spawn_app(database).await;
    let admin_phone = format!("137{:08}", fitforall_server::auth::new_id().rem_euclid(100_000_000));
    let admin = fitforall_server::testing::platform_admin_token(&app.state, &admin_phone).await;
    let admin = Some(admin.as_str());
    let today = fitforall_server::api::venues::local_now().date();
    for (id, region, lat, lng) in [("hz-hall", "330106", 30.25, 120.15), ("nb-hall", "330203", 29.87, 121.55)] {
        let (status, reply) = app.call(Method::POST, "/api/v1/venues", admin, Some(venue_body(id, region, lat, lng))).await;
        assert_eq!(status, 201, "{label}: {reply}");
    }

    // Creating: anonymous callers are refused before anything else; the administrator creates.
    let (status, reply) = app.call(Method::POST, "/api/v1/venues/hz-hall/resources", None, Some(resource_body("court-1"))).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (401, Some("unauthorized")), "{label}");
    let (status, reply) = app.call(Method::POST, "/api/v1/venues/hz-hall/resources", admin, Some(resource_body("court-1"))).await;
    assert_eq!(status, 201, "{label}: {reply}");
    assert_eq!((reply["id"].as_str(), reply["venue"].as_str(), reply["kind"].as_str()), (Some("court-1"), Some("hz-hall"), Some("court")), "{label}");
    assert_eq!(reply["slot_rules"][0]["weekdays"], "1-7", "{label}");
    assert_eq!(reply["slot_rules"][0]["reduced_price_fen"], 0, "{label}");
    assert_eq!(reply["booking_rules"]["opens_at"], "08:00", "{label}: the defaults fill the booking rules");
    assert_eq!(reply["booking_rules"]["days_ahead"], 7, "{label}");
    assert_eq!(reply["real_name"], false, "{label}");
    let (status, reply) = app.call(Method::POST, "/api/v1/venues/hz-hall/resources", admin, Some(resource_body("court-1"))).await;
    assert_eq!((status, reply["error"]["message"].as_str()), (409, Some("resource id court-1 is taken")), "{label}");
    let (status, reply) = app.call(Method::POST, "/api/v1/venues/no-such-hall/resources", admin, Some(resource_body("court-x"))).await;
    assert_eq!((status, reply["error"]["message"].as_str()), (404, Some("venue no-such-hall does not exist")), "{label}");

    // Bad bodies: every problem, each named by its field.
    let mut bad = resource_body("court-bad");
    bad["kind"] = json!("castle");
    bad["slot_rules"] = json!([
        {"weekdays": "8", "start": "08:00", "end": "12:00", "slot_length_min": 60, "places": 4},
        {"weekdays": "1-5", "start": "12:00", "end": "08:00", "slot_length_min": 60, "places": 4},
    ]);
    bad["booking_rules"] = json!({"days_ahead": 99, "quota_per_day": 5, "quota_per_week": 3, "opens_at": "8 am"});
    let (status, reply) = app.call(Method::POST, "/api/v1/venues/hz-hall/resources", admin, Some(bad)).await;
    assert_eq!(status, 400, "{label}: {reply}");
    assert_eq!(
        fields(&reply),
        ["kind", "slot_rules[0].weekdays", "slot_rules[1].end", "booking_rules.days_ahead", "booking_rules.opens_at", "booking_rules.quota_per_week"],
        "{label}: {reply}"
    );
    let mut overlapping = resource_body("court-bad");
    overlapping["slot_rules"] = json!([
        {"weekdays": "1-5", "start": "08:00", "end": "12:00", "slot_length_min": 60, "places": 4},
        {"weekdays": "5-7", "start": "11:00", "end": "13:00", "slot_length_min": 60, "places": 4},
    ]);
    let (status, reply) = app.call(Method::POST, "/api/v1/venues/hz-hall/resources", admin, Some(overlapping)).await;
    assert_eq!((status, reply["error"]["message"].as_str()), (400, Some("slot_rules: rule 1 and rule 2 overlap on day(s) 5")), "{label}");
    let (status, reply) = app.call(Method::POST, "/api/v1/venues/hz-hall/resources", admin, Some(json!({"id": "bad id"}))).await;
    assert_eq!((status, fields(&reply)), (400, vec!["id".to_string(), "name".into(), "kind".into(), "slot_rules".into()]), "{label}: {reply}");
    let (status, reply) = app.call(Method::POST, "/api/v1/venues/hz-hall/resources", admin, Some(json!({"id": "c", "colour": "red"}))).await;
    assert_eq!(status, 400, "{label}: {reply}");
    assert!(reply["error"]["message"].as_str().unwrap().contains("unknown field `colour`"), "{label}: {reply}");

    // Reading is public.
    let (status, reply) = app.get("/api/v1/venues/hz-hall/resources").await;
    assert_eq!((status, reply["items"].as_array().map(Vec::len)), (200, Some(1)), "{label}: {reply}");
    let (status, reply) = app.get("/api/v1/venues/no-such-hall/resources").await;
    assert_eq!(status, 404, "{label}: {reply}");
    let (status, reply) = app.get("/api/v1/resources/court-1").await;
    assert_eq!((status, reply["name"].as_str()), (200, Some("court-1 号场")), "{label}: {reply}");
    let (status, _) = app.get("/api/v1/resources/no-such-court").await;
    assert_eq!(status, 404, "{label}");

    // Slots were generated at once for the window and one day more: today … today + 8.
    let (status, reply) = app.get(&format!("/api/v1/resources/court-1/slots?from={}&days=2", day(today, 1))).await;
    assert_eq!(status, 200, "{label}: {reply}");
    assert_eq!(starts(&reply), ["08:00", "09:00", "10:00", "11:00", "08:00", "09:00", "10:00", "11:00"], "{label}");
    let first = &reply["slots"][0];
    assert!(first["id"].is_string(), "{label}: slot ids are strings: {first}");
    assert_eq!((first["capacity"].as_u64(), first["taken"].as_u64(), first["left"].as_u64()), (Some(4), Some(0), Some(4)), "{label}");
    assert_eq!(first["booking_open"], true, "{label}: tomorrow is inside the 7-day window");
    let (status, reply) = app.get(&format!("/api/v1/resources/court-1/slots?from={}&days=1", day(today, 8))).await;
    assert_eq!((status, reply["slots"].as_array().map(Vec::len)), (200, Some(4)), "{label}: {reply}");
    assert_eq!(reply["slots"][0]["opens_at"], format!("{}T08:00", day(today, 1)), "{label}");
    assert_eq!(reply["slots"][0]["booking_open"], false, "{label}: the window reaches that day tomorrow at 08:00");
    let (status, reply) = app.get(&format!("/api/v1/resources/court-1/slots?from={}", day(today, 9))).await;
    assert_eq!((status, reply["days"].as_u64(), reply["slots"].as_array().map(Vec::len)), (200, Some(7), Some(0)), "{label}: {reply}");
    let (status, reply) = app.get("/api/v1/resources/court-1/slots?days=15").await;
    assert_eq!((status, fields(&reply)), (400, vec!["days".to_string()]), "{label}");
    let (status, reply) = app.get("/api/v1/resources/court-1/slots?from=12/08/2026").await;
    assert_eq!((status, fields(&reply)), (400, vec!["from".to_string()]), "{label}");
    let (status, reply) = app.get("/api/v1/resources/court-1/slots?day=1").await;
    assert_eq!((status, fields(&reply)), (400, vec!["day".to_string()]), "{label}");
    let (status, reply) = app.get("/api/v1/resources/court-1/slots").await;
    assert_eq!((status, reply["from"].as_str()), (200, Some(today.to_string().as_str())), "{label}: from defaults to today");

    // Closures: short notice needs the urgent flag; unbooked slots inside go, booked ones stay.
    let tomorrow = day(today, 1);
    let closure = json!({"from": format!("{tomorrow}T08:00"), "to": format!("{tomorrow}T10:00"), "reason": "场地维修"});
    let (status, reply) = app.call(Method::POST, "/api/v1/resources/court-1/closures", admin, Some(closure.clone())).await;
    assert_eq!((status, fields(&reply)), (400, vec!["from".to_string()]), "{label}: {reply}");
    let mut urgent = closure.clone();
    urgent["urgent"] = json!(true);
    let (status, reply) = app.call(Method::POST, "/api/v1/resources/court-1/closures", None, Some(urgent.clone())).await;
    assert_eq!(status, 401, "{label}: {reply}");
    let (status, reply) = app.call(Method::POST, "/api/v1/resources/court-1/closures", admin, Some(urgent)).await;
    assert_eq!(status, 201, "{label}: {reply}");
    assert_eq!((reply["closure"]["urgent"].as_bool(), reply["kept_slots"].as_array().map(Vec::len)), (Some(true), Some(0)), "{label}: {reply}");
    assert!(reply["closure"]["id"].is_string(), "{label}");
    let (_, reply) = app.get(&format!("/api/v1/resources/court-1/slots?from={tomorrow}&days=1")).await;
    assert_eq!(starts(&reply), ["10:00", "11:00"], "{label}: the closed slots are gone");
    // The next generation round does not bring them back.
    let round = fitforall_server::slot_generation::generate_all_slots(&app.state, today).await.unwrap();
    assert_eq!(round.failed, 0, "{label}");
    let (_, reply) = app.get(&format!("/api/v1/resources/court-1/slots?from={tomorrow}&days=1")).await;
    assert_eq!(starts(&reply), ["10:00", "11:00"], "{label}: closures hold for later generation");

    // A booked slot stays inside a closure and is reported.
    let day_after = day(today, 2);
    let (_, reply) = app.get(&format!("/api/v1/resources/court-1/slots?from={day_after}&days=1")).await;
    let booked_slot = SlotId::new(reply["slots"][0]["id"].as_str().unwrap().parse().unwrap());
    let (resident, _) = app.token_with_roles(&[]).await;
    let requests = [BatchRequest {
        slot: booked_slot,
        account: resident,
        places: 1,
        reduced: false,
        idempotency_key: "resources-test".into(),
        request_hash: "hash".into(),
    }];
    let now = fitforall_server::api::venues::local_now();
    let made = app
        .state
        .store()
        .book_batch(&requests, now, Utc::now(), move |_: &mut BatchState| {
            let made = vec![NewBooking {
                id: fitforall_server::auth::new_id(),
                slot: booked_slot,
                account: resident,
                places: 1,
                status: BookingStatus::Confirmed,
                total_fen: 0,
                reduced: false,
                expires_at: None,
                idempotency_key: "resources-test".into(),
                request_hash: "hash".into(),
            }];
            (made, ())
        })
        .await
        .unwrap()
        .0;
    assert_eq!(made.len(), 1, "{label}");
    let closure = json!({"from": format!("{day_after}T08:00"), "to": format!("{day_after}T10:00"), "reason": "暴雨", "urgent": true});
    let (status, reply) = app.call(Method::POST, "/api/v1/resources/court-1/closures", admin, Some(closure)).await;
    assert_eq!(status, 201, "{label}: {reply}");
    let kept = reply["kept_slots"].as_array().unwrap();
    assert_eq!(kept.len(), 1, "{label}: {reply}");
    assert_eq!((kept[0]["id"].as_str(), kept[0]["taken"].as_u64()), (Some(booked_slot.to_string().as_str()), Some(1)), "{label}");
    let (_, reply) = app.get(&format!("/api/v1/resources/court-1/slots?from={day_after}&days=1")).await;
    assert_eq!(starts(&reply), ["08:00", "10:00", "11:00"], "{label}");
    let (status, reply) = app.get("/api/v1/resources/court-1/closures").await;
    assert_eq!((status, reply["items"].as_array().map(Vec::len)), (200, Some(2)), "{label}: {reply}");
    let bad_closure = json!({"from": "soon", "to": format!("{day_after}T10:00"), "reason": ""});
    let (status, reply) = app.call(Method::POST, "/api/v1/resources/court-1/closures", admin, Some(bad_closure)).await;
    assert_eq!((status, fields(&reply)), (400, vec!["from".to_string(), "reason".into()]), "{label}: {reply}");

    // Replacing: a second rule adds its slots; the id in the body must match the path.
    let mut changed = resource_body("court-1");
    changed["name"] = json!("一号场");
    changed["slot_rules"] = json!([
        {"weekdays": "1-7", "start": "08:00", "end": "12:00", "slot_length_min": 60, "places": 4},
        {"weekdays": "1-7", "start": "13:00", "end": "15:00", "slot_length_min": 60, "places": 2, "price_fen": 1500, "reduced_price_fen": 500},
    ]);
    changed["booking_rules"] = json!({"days_ahead": 3, "opens_at": "07:30"});
    let (status, reply) = app.call(Method::PUT, "/api/v1/resources/court-1", admin, Some(changed.clone())).await;
    assert_eq!((status, reply["name"].as_str()), (200, Some("一号场")), "{label}: {reply}");
    assert_eq!(reply["booking_rules"]["opens_at"], "07:30", "{label}");
    let (_, reply) = app.get(&format!("/api/v1/resources/court-1/slots?from={}&days=1", day(today, 3))).await;
    assert_eq!(starts(&reply), ["08:00", "09:00", "10:00", "11:00", "13:00", "14:00"], "{label}");
    assert_eq!((reply["slots"][4]["price_fen"].as_i64(), reply["slots"][4]["reduced_price_fen"].as_i64()), (Some(1500), Some(500)), "{label}");
    assert_eq!(reply["slots"][4]["opens_at"], format!("{}T07:30", today), "{label}: the new booking rules apply");
    let mut other_id = changed.clone();
    other_id["id"] = json!("court-2");
    let (status, reply) = app.call(Method::PUT, "/api/v1/resources/court-1", admin, Some(other_id)).await;
    assert_eq!((status, fields(&reply)), (400, vec!["id".to_string()]), "{label}: {reply}");
    let (status, _) = app.call(Method::PUT, "/api/v1/resources/no-such-court", admin, Some(changed.clone())).await;
    assert_eq!(status, 404, "{label}");
    let (status, _) = app.call(Method::PUT, "/api/v1/resources/court-1", None, Some(changed.clone())).await;
    assert_eq!(status, 401, "{label}");
    assert!(reply_has_no_kept_slots(&app, admin, &changed).await, "{label}: nothing kept when nothing booked differs");

    // Changing the hours: the coming slots the new rules no longer give are removed, unless booked
    // (then kept and reported); the new rules' slots are generated around them.
    let mut hours = changed.clone();
    hours["slot_rules"] = json!([{"weekdays": "1-7", "start": "09:00", "end": "11:00", "slot_length_min": 30, "places": 4}]);
    let (status, reply) = app.call(Method::PUT, "/api/v1/resources/court-1", admin, Some(hours)).await;
    assert_eq!(status, 200, "{label}: {reply}");
    let kept: Vec<&str> =
        reply["kept_slots"].as_array().unwrap_or_else(|| panic!("{label}: {reply}")).iter().map(|slot| slot["id"].as_str().unwrap()).collect();
    assert_eq!(kept, [booked_slot.to_string().as_str()], "{label}: the booked 08:00 slot stays");
    let (_, reply) = app.get(&format!("/api/v1/resources/court-1/slots?from={day_after}&days=1")).await;
    assert_eq!(starts(&reply), ["08:00", "10:00", "10:30"], "{label}: 09:00–10:00 is closed; the old hourly slots are gone");
    let (_, reply) = app.get(&format!("/api/v1/resources/court-1/slots?from={}&days=1", day(today, 3))).await;
    assert_eq!(starts(&reply), ["09:00", "09:30", "10:00", "10:30"], "{label}: the 13:00 rule's slots are gone");
    assert!(app.state.store().audit_slot_counts().await.unwrap().is_empty(), "{label}");

    // Who may manage: the region administrator of Hangzhou for the Hangzhou venue only, the operator of
    // a venue for that venue only, a resident nowhere.
    let (status, reply) = app.call(Method::POST, "/api/v1/venues/nb-hall/resources", admin, Some(resource_body("nb-court"))).await;
    assert_eq!(status, 201, "{label}: {reply}");
    let (_, hangzhou) = app.token_with_roles(&[Role::RegionAdmin { region: RegionCode::parse("3301").unwrap() }]).await;
    let (_, operator) = app.token_with_roles(&[Role::VenueOperator { venue: VenueId::parse("hz-hall").unwrap() }]).await;
    let (_, resident_token) = app.token_with_roles(&[]).await;
    let later = day(today, 20);
    let closure = json!({"from": format!("{later}T08:00"), "to": format!("{later}T12:00"), "reason": "赛事"});
    for (who, token, hangzhou_status, ningbo_status) in
        [("hangzhou admin", &hangzhou, 201, 403), ("operator", &operator, 201, 403), ("resident", &resident_token, 403, 403)]
    {
        let token = Some(token.as_str());
        let id = format!("court-{}", who.replace(' ', "-"));
        let (status, reply) = app.call(Method::POST, "/api/v1/venues/hz-hall/resources", token, Some(resource_body(&id))).await;
        assert_eq!(status, hangzhou_status, "{label}: {who} creates at the Hangzhou venue: {reply}");
        let (status, reply) = app.call(Method::POST, "/api/v1/venues/nb-hall/resources", token, Some(resource_body(&format!("{id}-nb")))).await;
        assert_eq!(status, ningbo_status, "{label}: {who} creates at the Ningbo venue: {reply}");
        let update_status = if hangzhou_status == 201 { 200 } else { 403 };
        let (status, reply) = app.call(Method::PUT, "/api/v1/resources/court-1", token, Some(changed.clone())).await;
        assert_eq!(status, update_status, "{label}: {who} updates a Hangzhou resource: {reply}");
        let (status, reply) = app.call(Method::PUT, "/api/v1/resources/nb-court", token, Some(resource_body("nb-court"))).await;
        assert_eq!(status, 403, "{label}: {who} updates a Ningbo resource: {reply}");
        let (status, reply) = app.call(Method::POST, "/api/v1/resources/court-1/closures", token, Some(closure.clone())).await;
        assert_eq!(status, hangzhou_status, "{label}: {who} closes a Hangzhou resource: {reply}");
        let (status, reply) = app.call(Method::POST, "/api/v1/resources/nb-court/closures", token, Some(closure.clone())).await;
        assert_eq!(status, ningbo_status, "{label}: {who} closes a Ningbo resource: {reply}");
    }
    let (status, reply) = app.call(Method::POST, "/api/v1/venues/hz-hall/resources", Some(&resident_token), Some(resource_body("court-r"))).await;
    assert_eq!(
        reply["error"]["message"],
        "only an operator of venue hz-hall, a region administrator of 330106 or of a region containing it, or a platform administrator, may manage the bookable resources of venue hz-hall",
        "{label}: {status}"
    );

    // Every write is in the audit log, with the venue's region.
    assert_eq!(audit_count(&app, "create_resource").await, 4, "{label}: court-1, nb-court, and the Hangzhou admin's and operator's");
    assert_eq!(audit_count(&app, "update_resource").await, 5, "{label}: three above, the unchanged one and the new hours");
    assert_eq!(audit_count(&app, "create_closure").await, 4, "{label}");
    let query = AuditQuery {
        actor: None,
        action: Some("update_resource".into()),
        region: Some(RegionCode::parse("330106").unwrap()),
        from: None,
        to: None,
        limit: 10,
        offset: 0,
    };
    let entries = app.state.store().search_audit(&query).await.unwrap();
    assert_eq!(entries.len(), 5, "{label}");
    assert_eq!(entries[0].target, "resource court-1", "{label}");
    assert!(entries[0].before_json.as_deref().is_some_and(|before| before.contains("court-1")), "{label}");
    assert!(entries[0].after_json.as_deref().is_some_and(|after| after.contains("一号场")), "{label}");

    // The background job runs at start in a new process and finds nothing missing.
    let round = fitforall_server::slot_generation::generate_all_slots(&app.state, today).await.unwrap();
    assert_eq!((round.resources, round.slots_created, round.failed), (4, 0, 0), "{label}");
    assert!(app.state.store().audit_slot_counts().await.unwrap().is_empty(), "{label}");
}

#[tokio::test]
async fn resources_slots_and_closures_on_every_backend() {
    for database in TestDatabase::all().await {
        story(&database).await;
    }
}

#[tokio::test]
async fn the_background_job_generates_slots_for_resources_made_elsewhere() {
    let database = TestDatabase::sqlite();
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), database.url.clone());
    config.slot_generation_interval_ms = 1_000;
    let app = Application::build(config).await.unwrap();
    let state = app.state.clone();
    // A resource written straight to the store (an import, another process) has no slots yet.
    let input: fitforall_core::venue::VenueInput = serde_json::from_value(venue_body("job-hall", "330106", 30.25, 120.15)).unwrap();
    let tree = state.snapshot().regions.clone();
    let venue = input.parse(VenueId::parse("job-hall").unwrap(), |code| tree.contains(code)).unwrap();
    state.store().upsert_venues(&[venue], Utc::now()).await.unwrap();
    let rule = fitforall_core::booking::SlotRuleInput {
        weekdays: "1-7".into(),
        start: "09:00".into(),
        end: "10:00".into(),
        slot_length_min: 30,
        places: 1,
        price_fen: 0,
        reduced_price_fen: None,
    };
    let resource = fitforall_store::Resource {
        id: fitforall_core::booking::ResourceId::parse("job-court").unwrap(),
        venue: VenueId::parse("job-hall").unwrap(),
        province: "33".into(),
        name: "后台生成".into(),
        kind: "court".into(),
        slot_rules: vec![rule.parse().unwrap()],
        booking_rules: fitforall_core::booking::BookingRules::default(),
        real_name: false,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    };
    state.store().create_resource(&resource).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(async move {
        let _ = stopped.await;
    }));
    let today = fitforall_server::api::venues::local_now().date();
    let window = (today.and_hms_opt(0, 0, 0).unwrap(), day(today, 9).and_hms_opt(0, 0, 0).unwrap());
    let mut slots = Vec::new();
    for _ in 0..100 {
        slots = state.store().slots_between(&resource.id, window.0, window.1).await.unwrap();
        if slots.len() == 18 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(slots.len(), 18, "nine days of two half-hour slots");
    let _ = stop.send(());
    tokio::time::timeout(std::time::Duration::from_secs(20), server).await.expect("the server stops, slot generation included").unwrap().unwrap();
}
