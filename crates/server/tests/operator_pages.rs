//! The operator pages as a browser uses them (forms with CSRF tokens, cookies, redirects): a venue
//! operator defines a resource, its slot rules and closures, edits it and reads the day sheet; field
//! problems come back next to the form; residents, other venues' operators and forms without a CSRF
//! token are refused. SQLite and, when FITFORALL_TEST_DATABASE_URL is set, PostgreSQL.

mod support;
use support::{Browser, csrf_of};

use chrono::{Duration, NaiveDate, Utc};
use fitforall_core::booking::ResourceId;
use fitforall_core::policy::{AccountId, Role};
use fitforall_core::region::RegionCode;
use fitforall_core::venue::VenueId;
use fitforall_server::booking_engine::BookOutcome;
use fitforall_server::config::ServerConfig;
use fitforall_server::startup::Application;
use fitforall_server::state::AppState;
use fitforall_store::testing::TestDatabase;
use fitforall_store::{AuditQuery, BatchRequest};
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
    fitforall_server::api::venues::local_now().date()
}

async fn sign_in(browser: &mut Browser, phone: &str) {
    let answer = browser.log_in(phone, PASSWORD).await;
    assert_eq!(answer.status, 303, "{phone} logs in: {}", answer.body);
}

const PASSWORD: &str = "an operator password";

fn owned(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
}

/// A resource form: one rule on every day from `start` to `end`, hourly, with `places` and a price in yuan.
fn resource_form(id: Option<&str>, name: &str, start: &str, end: &str, places: &str, price: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = id.map(|id| ("id".to_string(), id.to_string())).into_iter().collect();
    fields.extend(owned(&[("name", name), ("kind", "court")]));
    fields.extend((1..=7).map(|day| ("slot_rules[0].days".to_string(), day.to_string())));
    fields.extend(owned(&[
        ("slot_rules[0].start", start),
        ("slot_rules[0].end", end),
        ("slot_rules[0].slot_length_min", "60"),
        ("slot_rules[0].places", places),
        ("slot_rules[0].price", price),
        ("slot_rules[0].reduced_price", if price == "0" { "" } else { "2.5" }),
        // The optional second row, left empty (its length is prefilled).
        ("slot_rules[1].start", ""),
        ("slot_rules[1].end", ""),
        ("slot_rules[1].slot_length_min", "60"),
        ("slot_rules[1].places", ""),
        ("slot_rules[1].price", ""),
        ("booking_rules.opens_at", "00:00"),
        ("booking_rules.days_ahead", "7"),
        ("booking_rules.quota_per_day", "2"),
        ("booking_rules.quota_per_week", "4"),
        ("booking_rules.max_places_per_booking", "4"),
        ("booking_rules.hold_min", "10"),
        ("booking_rules.cancel_cutoff_min", "120"),
    ]));
    fields
}

async fn account(app: &TestApp, phone: &str, name: &str, role: Option<Role>) -> AccountId {
    let store = app.state.store();
    let id = AccountId::new(fitforall_server::auth::new_id());
    let password_hash = fitforall_server::auth::hash_password(PASSWORD.into()).await;
    let account = fitforall_store::NewAccount { id, phone: phone.into(), name: name.into(), password_hash, home_region: None };
    store.create_account(&account, Utc::now()).await.unwrap();
    if let Some(role) = role {
        store.grant_role(fitforall_server::auth::new_id(), id, &role, None, Utc::now()).await.unwrap();
    }
    id
}

async fn audit_count(app: &TestApp, action: &str) -> usize {
    let query = AuditQuery { actor: None, action: Some(action.into()), region: None, from: None, to: None, limit: 100, offset: 0 };
    app.state.store().search_audit(&query).await.unwrap().len()
}

#[tokio::test]
async fn operator_pages_on_every_backend() {
    for database in TestDatabase::all().await {
        story(&database).await;
    }
}

async fn story(database: &TestDatabase) {
    let label = database.label;
    let app = spawn_app(database).await;
    let store = app.state.store();
    let tree = app.state.snapshot().regions.clone();
    let mut venues = Vec::new();
    for id in ["hall", "other"] {
        let input: fitforall_core::venue::VenueInput = serde_json::from_value(
            json!({"id": id, "name": format!("运营场馆 {id}"), "region_code": "330106", "lat": 30.25, "lng": 120.15, "type": "ball_courts", "sports_area_m2": 800}),
        )
        .unwrap();
        venues.push(input.parse(VenueId::parse(id).unwrap(), |code| tree.contains(code)).unwrap());
    }
    store.upsert_venues(&venues, Utc::now()).await.unwrap();
    app.state.refresh_if_stale().await.unwrap();
    account(&app, "13911110001", "场馆运营者", Some(Role::VenueOperator { venue: VenueId::parse("hall").unwrap() })).await;
    account(&app, "13911110002", "别馆运营者", Some(Role::VenueOperator { venue: VenueId::parse("other").unwrap() })).await;
    account(&app, "13911110003", "杭州管理员", Some(Role::RegionAdmin { region: RegionCode::parse("3301").unwrap() })).await;
    let resident = account(&app, "13911110004", "居民甲某", None).await;

    // Anonymous visitors log in first, and come back here afterwards.
    let mut anonymous = Browser::new(&app.base);
    let answer = anonymous.get("/venues/hall/manage").await;
    assert_eq!((answer.status, answer.location.as_str()), (303, "/login?next=%2Fvenues%2Fhall%2Fmanage"), "{label}");
    assert!(!anonymous.get("/venues/hall").await.body.contains("/venues/hall/manage"), "{label}: no manage link for anonymous visitors");

    let mut operator = Browser::new(&app.base);
    sign_in(&mut operator, "13911110001").await;
    let page = operator.get("/venues/hall/manage").await;
    assert_eq!(page.status, 200, "{label}: {}", page.body);
    page.assert_contains("预约管理 · 运营场馆 hall");
    page.assert_contains("还没有可预约的场地");
    page.assert_contains("<details class=\"op-details\" open>");
    page.assert_contains("value=\"court\" selected");
    let english = operator.get("/venues/hall/manage?lang=en").await;
    english.assert_contains("Manage booking · 运营场馆 hall");
    english.assert_contains("Bookable resources");
    operator.get("/venues/hall/manage?lang=zh").await;

    // Creating through the form: the slots appear on the booking grid, prices in fen.
    let form = resource_form(Some("court-a"), "A 号场", "08:00", "10:00", "2", "5");
    let created = operator.submit("/venues/hall/manage", "/venues/hall/manage/resources", &form).await;
    assert_eq!((created.status, created.location.as_str()), (303, "/venues/hall/manage?done=created#r-court-a"), "{label}: {}", created.body);
    let page = operator.get("/venues/hall/manage?done=created").await;
    page.assert_contains("已创建，时段已按规则生成。");
    page.assert_contains("A 号场");
    page.assert_contains("每天");
    page.assert_contains("¥5");
    page.assert_contains("没有即将到来的停用。");
    let grid = operator.get("/venues/hall/book?resource=court-a").await;
    assert!(grid.body.contains("data-slot=\"") && grid.body.contains("A 号场"), "{label}: the slots are on the grid");
    let resource = store.resource(&ResourceId::parse("court-a").unwrap()).await.unwrap();
    assert_eq!((resource.slot_rules[0].price_fen, resource.slot_rules[0].reduced_price_fen, resource.slot_rules[0].places), (500, 250, 2), "{label}");
    assert_eq!(resource.booking_rules.opens_at.format("%H:%M").to_string(), "00:00", "{label}");

    // A bad rule: the problem next to the form, with readable labels, the values as typed, nothing made.
    let mut bad = resource_form(Some("bad-1"), "坏场地", "08:00", "10:00", "2", "0");
    bad.extend(owned(&[("slot_rules[1].days", "6"), ("slot_rules[1].start", "12:00"), ("slot_rules[1].end", "11:00"), ("slot_rules[1].price", "abc")]));
    bad.push(("slot_rules[1].places".into(), "4".into()));
    let refused = operator.submit("/venues/hall/manage", "/venues/hall/manage/resources", &bad).await;
    assert_eq!(refused.status, 400, "{label}: {}", refused.body);
    refused.assert_contains("请检查以下内容");
    refused.assert_contains("规则 2 · 结束");
    refused.assert_contains("规则 2 · 价格（元）");
    refused.assert_contains("value=\"bad-1\"");
    refused.assert_contains("value=\"abc\"");
    assert!(store.resource(&ResourceId::parse("bad-1").unwrap()).await.is_err(), "{label}: nothing created");
    let refused =
        operator.submit("/venues/hall/manage", "/venues/hall/manage/resources", &resource_form(Some("bad-2"), "坏场地", "08:00", "07:00", "2", "0")).await;
    assert_eq!(refused.status, 400, "{label}");
    refused.assert_contains("规则 1 · 结束");
    refused.assert_contains("must be after start");
    let taken = operator.submit("/venues/hall/manage", "/venues/hall/manage/resources", &form).await;
    assert_eq!(taken.status, 409, "{label}: the id is taken");
    taken.assert_contains("与已有数据冲突");

    // A booking made through the rush engine, tomorrow 08:00.
    let tomorrow = today() + Duration::days(1);
    let slots = store.slots_between(&resource.id, tomorrow.and_hms_opt(0, 0, 0).unwrap(), tomorrow.and_hms_opt(23, 0, 0).unwrap()).await.unwrap();
    assert_eq!(slots.len(), 2, "{label}: 08:00 and 09:00 tomorrow");
    let request = BatchRequest {
        slot: slots[0].id,
        account: resident,
        places: 1,
        reduced: false,
        idempotency_key: "operator-pages".into(),
        request_hash: fitforall_server::api::bookings::request_hash(slots[0].id, 1, false),
    };
    let booking = match app.state.booking().book(request).await {
        BookOutcome::Created { booking, .. } => booking,
        _ => panic!("{label}: the booking is made"),
    };

    // An urgent closure over tomorrow morning: the booked slot stays (and is reported), the other goes.
    let closure = owned(&[("from", &format!("{tomorrow}T08:00")), ("to", &format!("{tomorrow}T10:00")), ("reason", "暴雨停场"), ("urgent", "yes")]);
    let closed = operator.submit("/venues/hall/manage", "/venues/hall/manage/resources/court-a/closures", &closure).await;
    assert_eq!((closed.status, closed.location.as_str()), (303, "/venues/hall/manage?done=closure&kept=1#r-court-a"), "{label}: {}", closed.body);
    let page = operator.get("/venues/hall/manage?done=closure&kept=1").await;
    page.assert_contains("已添加停用时段。");
    page.assert_contains("1 个时段已有预约而保留");
    page.assert_contains("暴雨停场");
    page.assert_contains(&format!("{tomorrow} 08:00 – {tomorrow} 10:00"));
    let left = store.slots_between(&resource.id, tomorrow.and_hms_opt(0, 0, 0).unwrap(), tomorrow.and_hms_opt(23, 0, 0).unwrap()).await.unwrap();
    assert_eq!(left.iter().map(|slot| slot.id).collect::<Vec<_>>(), [slots[0].id], "{label}: only the booked slot stays");
    // Without `urgent`, less than 7 days' notice is refused next to the closure form.
    let mut short = closure.clone();
    short.retain(|(name, _)| name != "urgent");
    let refused = operator.submit("/venues/hall/manage", "/venues/hall/manage/resources/court-a/closures", &short).await;
    assert_eq!(refused.status, 400, "{label}: {}", refused.body);
    refused.assert_contains("开始时间");
    refused.assert_contains("value=\"暴雨停场\"");

    // Editing: a new name and a second rule; a bad number is shown with its label first.
    let mut edit = resource_form(None, "A 号场（新）", "08:00", "10:00", "x", "5");
    let refused = operator.submit("/venues/hall/manage", "/venues/hall/manage/resources/court-a", &edit).await;
    assert_eq!(refused.status, 400, "{label}: {}", refused.body);
    refused.assert_contains("规则 1 · 每段名额");
    refused.assert_contains("请填写整数");
    edit = resource_form(None, "A 号场（新）", "08:00", "10:00", "2", "5");
    edit.retain(|(name, _)| !name.starts_with("slot_rules[1]"));
    edit.extend(owned(&[
        ("slot_rules[1].days", "6"),
        ("slot_rules[1].days", "7"),
        ("slot_rules[1].start", "10:00"),
        ("slot_rules[1].end", "12:00"),
        ("slot_rules[1].slot_length_min", "60"),
        ("slot_rules[1].places", "4"),
        ("slot_rules[1].price", ""),
    ]));
    let updated = operator.submit("/venues/hall/manage", "/venues/hall/manage/resources/court-a", &edit).await;
    assert_eq!((updated.status, updated.location.as_str()), (303, "/venues/hall/manage?done=updated#r-court-a"), "{label}: {}", updated.body);
    let resource = store.resource(&ResourceId::parse("court-a").unwrap()).await.unwrap();
    assert_eq!((resource.name.as_str(), resource.slot_rules.len()), ("A 号场（新）", 2), "{label}");
    assert_eq!(resource.slot_rules[1].price_fen, 0, "{label}: an empty price is free");
    let page = operator.get("/venues/hall/manage").await;
    page.assert_contains("A 号场（新）");
    page.assert_contains("六–日");

    // The day sheet: tomorrow's booking with ids only, no personal data; a bad date is shown.
    let sheet = operator.get(&format!("/venues/hall/manage?date={tomorrow}")).await;
    assert_eq!(sheet.status, 200, "{label}");
    sheet.assert_contains(&booking.id.to_string());
    sheet.assert_contains(&resident.to_string());
    sheet.assert_contains("待确认");
    sheet.assert_contains("有效预约 1 条，共 1 人。");
    assert!(!sheet.body.contains("居民甲某") && !sheet.body.contains("13911110004"), "{label}: no personal data");
    let empty = operator.get("/venues/hall/manage").await;
    empty.assert_contains("这一天没有预约。");
    let bad_date = operator.get("/venues/hall/manage?date=tomorrow").await;
    assert_eq!(bad_date.status, 400, "{label}");
    bad_date.assert_contains("日期格式应为");

    // No CSRF token: 403 and nothing happens.
    let forged = operator.post("/venues/hall/manage/resources", &resource_form(Some("forged"), "伪造", "08:00", "10:00", "2", "0")).await;
    assert_eq!(forged.status, 403, "{label}");
    assert!(store.resource(&ResourceId::parse("forged").unwrap()).await.is_err(), "{label}");

    // A resident, and another venue's operator, are refused; the other operator manages their own.
    let mut resident_browser = Browser::new(&app.base);
    sign_in(&mut resident_browser, "13911110004").await;
    assert_eq!(resident_browser.get("/venues/hall/manage").await.status, 403, "{label}");
    assert!(!resident_browser.get("/venues/hall").await.body.contains("/venues/hall/manage"), "{label}: no manage link for residents");
    let csrf = csrf_of(&resident_browser.get("/account").await.body);
    let mut attempt = vec![("csrf".to_string(), csrf)];
    attempt.extend(resource_form(Some("resident-court"), "居民场地", "08:00", "10:00", "2", "0"));
    assert_eq!(resident_browser.post("/venues/hall/manage/resources", &attempt).await.status, 403, "{label}");
    let mut other = Browser::new(&app.base);
    sign_in(&mut other, "13911110002").await;
    let refused = other.get("/venues/hall/manage").await;
    assert_eq!(refused.status, 403, "{label}");
    refused.assert_contains("没有权限");
    let mine = other
        .submit("/venues/other/manage", "/venues/other/manage/resources", &resource_form(Some("other-court"), "别馆场地", "08:00", "10:00", "2", "0"))
        .await;
    assert_eq!(mine.status, 303, "{label}: {}", mine.body);
    let csrf = csrf_of(&other.get("/venues/other/manage").await.body);
    let mut attempt = vec![("csrf".to_string(), csrf)];
    attempt.extend(resource_form(None, "改名", "08:00", "10:00", "2", "0"));
    assert_eq!(other.post("/venues/hall/manage/resources/court-a", &attempt).await.status, 403, "{label}");
    // A resource of another venue under this venue's path is not found, even for its operator.
    let csrf = csrf_of(&operator.get("/venues/hall/manage").await.body);
    attempt[0].1 = csrf;
    assert_eq!(operator.post("/venues/hall/manage/resources/other-court", &attempt).await.status, 404, "{label}");
    assert_eq!(operator.post("/venues/other/manage/resources/other-court", &attempt).await.status, 403, "{label}");

    // A Hangzhou administrator sees the link on the venue page and may manage.
    let mut admin = Browser::new(&app.base);
    sign_in(&mut admin, "13911110003").await;
    admin.get("/venues/hall").await.assert_contains("href=\"/venues/hall/manage\"");
    assert_eq!(admin.get("/venues/hall/manage").await.status, 200, "{label}");

    // The forms went through the API's operations: each write is audited once.
    assert_eq!(audit_count(&app, "create_resource").await, 2, "{label}");
    assert_eq!(audit_count(&app, "update_resource").await, 1, "{label}");
    assert_eq!(audit_count(&app, "create_closure").await, 1, "{label}");
    assert!(store.audit_slot_counts().await.unwrap().is_empty(), "{label}");
    eprintln!("{label}: operator pages ok");
}
