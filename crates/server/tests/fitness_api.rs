//! Fitness testing over HTTP against the real app (random port, fresh database) on SQLite and, when
//! FITFORALL_TEST_DATABASE_URL is set, PostgreSQL: stations, results scored as staff enter them
//! (graded, incomplete, bad input located and nothing stored), a resident's own results, and the
//! pass-rate indicator (crude rate from the stored results, suppression, never mixing versions).

use chrono::Utc;
use fitforall_core::policy::{AccountId, Role, StationId};
use fitforall_server::config::ServerConfig;
use fitforall_server::startup::Application;
use fitforall_server::state::AppState;
use fitforall_store::testing::TestDatabase;
use serde_json::{Value, json};

mod support;
use support::Browser;

struct TestApp {
    base: String,
    state: AppState,
    http: reqwest::Client,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

async fn spawn_app(database: &TestDatabase) -> TestApp {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), database.url.clone());
    config.secret = Some("a test secret that is long enough to key hashes".into());
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
    async fn call(&self, token: Option<&str>, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// An account with `role` (if any) and an API token of theirs.
    async fn account(&self, phone: &str, role: Option<Role>) -> (AccountId, String) {
        let store = self.state.store();
        let id = AccountId::new(fitforall_server::auth::new_id());
        let password_hash = fitforall_server::auth::hash_password(format!("password of {phone}")).await;
        let account = fitforall_store::NewAccount { id, phone: phone.into(), name: "测试".into(), password_hash, home_region: None };
        store.create_account(&account, Utc::now()).await.unwrap();
        if let Some(role) = role {
            store.grant_role(fitforall_server::auth::new_id(), id, &role, None, Utc::now()).await.unwrap();
        }
        let (token, hash) = fitforall_server::auth::new_token();
        store.create_api_token(fitforall_server::auth::new_id(), &hash, id, "test", Utc::now()).await.unwrap();
        (id, token)
    }
}

/// A boy in 初一 (grade 7) with every item of the student standard: strong or weak.
fn boy(person: &str, strong: bool) -> Value {
    let measurements = if strong {
        json!({"height_cm": "160.0", "weight_kg": "50.0", "vital_capacity_ml": "3400", "run_50m_s": "7.6", "sit_and_reach_cm": "12.0",
            "standing_long_jump_cm": "215", "pull_ups": "8", "run_1000m_s": "3'55\""})
    } else {
        json!({"height_cm": "160.0", "weight_kg": "80.0", "vital_capacity_ml": "1200", "run_50m_s": "12.5", "sit_and_reach_cm": "-8.0",
            "standing_long_jump_cm": "120", "pull_ups": "0", "run_1000m_s": "7:30"})
    };
    json!({"standard": "cnsphs-2014", "sex": "M", "grade": "初一", "test_date": "2026-05-10", "person_ref": person, "measurements": measurements})
}

async fn story(database: &TestDatabase) {
    let label = database.label;
    let app = spawn_app(database).await;
    let admin = fitforall_server::testing::platform_admin_token(&app.state, "13800000090").await;

    let (status, body) = app.call(None, reqwest::Method::GET, "/api/v1/fitness/standards", None).await;
    assert_eq!(status, 200, "{label}");
    let adult = body.as_array().unwrap().iter().find(|standard| standard["id"] == "cnpfms-2003-adult").unwrap();
    assert_eq!(adult["provisional"], true, "{label}: the adult standard is provisional");
    assert!(!adult["known_defects"].as_array().unwrap().is_empty(), "{label}: with its known defects");

    for (id, region) in [("xihu", "330106"), ("shangcheng", "330102")] {
        let station = json!({"id": id, "name": format!("{id} 国民体质监测站"), "region": region});
        let (status, body) = app.call(Some(&admin), reqwest::Method::POST, "/api/v1/stations", Some(station)).await;
        assert_eq!(status, 201, "{label}: {body}");
    }
    let bad_station = json!({"id": "x", "name": "", "region": "999999", "venue_id": "no-such-venue"});
    let (status, body) = app.call(Some(&admin), reqwest::Method::POST, "/api/v1/stations", Some(bad_station)).await;
    assert_eq!(status, 400, "{label}");
    let fields: Vec<&str> = body["error"]["details"].as_array().unwrap().iter().map(|detail| detail["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "region", "venue_id"], "{label}: {body}");
    // A station at a venue: its appointments are that venue's bookable sessions.
    let gym = json!({"id": "bj-gym", "name": "滨江体育馆", "region_code": "330108", "lat": 30.2, "lng": 120.2, "type": "gymnasium", "sports_area_m2": 900});
    assert_eq!(app.call(Some(&admin), reqwest::Method::POST, "/api/v1/venues", Some(gym)).await.0, 201, "{label}");
    let at_gym = json!({"id": "binjiang", "name": "滨江区国民体质监测站", "region": "330108", "venue_id": "bj-gym"});
    let (status, body) = app.call(Some(&admin), reqwest::Method::POST, "/api/v1/stations", Some(at_gym)).await;
    assert_eq!(status, 201, "{label}: {body}");
    assert_eq!(body["appointments_url"], "/venues/bj-gym/book", "{label}: {body}");
    let (status, body) = app.call(None, reqwest::Method::GET, "/api/v1/stations?region=3301", None).await;
    assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(3)), "{label}");

    let (_, xihu_staff) = app.account("13800000091", Some(Role::StationStaff { station: StationId::parse("xihu").unwrap() })).await;
    let (_, shangcheng_staff) = app.account("13800000092", Some(Role::StationStaff { station: StationId::parse("shangcheng").unwrap() })).await;
    let (resident_id, resident) = app.account("13800000093", None).await;

    // Staff of another station may not enter results here.
    let (status, _) = app.call(Some(&shangcheng_staff), reqwest::Method::POST, "/api/v1/stations/xihu/results", Some(boy("s-0", true))).await;
    assert_eq!(status, 403, "{label}");

    // Bad input: each problem located, nothing stored.
    let bad_cases = [
        (json!({"sex": "X"}), "sex"),
        (json!({"grade": "十七年级"}), "grade"),
        (json!({"test_date": "2999-01-01"}), "test_date"),
        (json!({"measurements": {"height_cm": "0"}}), "measurements.height_cm"),
        (json!({"measurements": {"run_50m_s": "-7.5"}}), "measurements.run_50m_s"),
        (json!({"measurements": {"vital_capacity_ml": "lots"}}), "measurements.vital_capacity_ml"),
        (json!({"measurements": {"bench_press_kg": "80"}}), "measurements.bench_press_kg"),
        (json!({"standard": "cnsphs"}), "standard"),
    ];
    for (change, field) in bad_cases {
        let mut body = boy("bad", true);
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let (status, answer) = app.call(Some(&xihu_staff), reqwest::Method::POST, "/api/v1/stations/xihu/results", Some(body)).await;
        assert_eq!(status, 400, "{label}: {field}: {answer}");
        let named = answer["error"]["details"].as_array().into_iter().flatten().any(|detail| detail["field"] == field);
        assert!(named, "{label}: the error names {field}: {answer}");
    }

    // An incomplete record: missing items are reported missing, with no total or grade.
    let mut incomplete = boy("s-incomplete", true);
    incomplete["measurements"].as_object_mut().unwrap().remove("pull_ups");
    let (status, body) = app.call(Some(&xihu_staff), reqwest::Method::POST, "/api/v1/stations/xihu/results", Some(incomplete)).await;
    assert_eq!(status, 201, "{label}: {body}");
    let card = &body["score_card"];
    assert_eq!((card["status"].as_str(), &card["total"]), (Some("incomplete"), &Value::Null), "{label}: {card}");
    let pull_ups = card["items"].as_array().unwrap().iter().find(|item| item["item"] == "pull_ups").unwrap();
    assert_eq!(pull_ups["score"], Value::Null, "{label}: missing, not 0");

    // Twelve graded boys in West Lake (strong and weak), and one of them the resident's own result.
    let mut passed = 0;
    for index in 0..12 {
        let mut body = boy(&format!("s-{index}"), index % 3 != 0);
        if index == 0 {
            body["account_id"] = json!(resident_id.to_string());
            body.as_object_mut().unwrap().remove("person_ref");
        }
        let (status, answer) = app.call(Some(&xihu_staff), reqwest::Method::POST, "/api/v1/stations/xihu/results", Some(body)).await;
        assert_eq!(status, 201, "{label}: {answer}");
        let card = &answer["score_card"];
        assert!(["excellent", "good", "pass", "fail"].contains(&card["status"].as_str().unwrap()), "{label}: {card}");
        let total: f64 = card["total"].as_str().unwrap().parse().unwrap();
        assert!((0.0..=120.0).contains(&total), "{label}: {total}");
        if card["pass"] == true {
            passed += 1;
        }
        assert!(card["items"].as_array().unwrap().iter().all(|item| !item["explanation"].as_str().unwrap().is_empty()), "{label}: explained");
    }
    assert!((1..12).contains(&passed), "{label}: strong ones pass and weak ones fail ({passed} passed)");
    // Three in Shangcheng: under 10, suppressed.
    for index in 0..3 {
        let (status, _) =
            app.call(Some(&shangcheng_staff), reqwest::Method::POST, "/api/v1/stations/shangcheng/results", Some(boy(&format!("c-{index}"), true))).await;
        assert_eq!(status, 201, "{label}");
    }

    let (status, body) = app.call(Some(&resident), reqwest::Method::GET, "/api/v1/me/fitness-results", None).await;
    assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(1)), "{label}: {body}");
    assert_eq!(body[0]["person_ref"], format!("account:{resident_id}"), "{label}");

    // The resident's report page: the result re-scored item by item, the rank among West Lake's
    // boys of grade 7 (12 people), the weakest items with advice (their result is a weak one).
    let mut browser = Browser::new(&app.base);
    assert_eq!(browser.log_in("13800000093", "password of 13800000093").await.status, 303, "{label}");
    let report = browser.get("/account/fitness").await;
    assert_eq!(report.status, 200, "{label}");
    report.assert_contains("我的体质测试报告");
    report.assert_contains("不及格");
    report.assert_contains("的 12 人中");
    report.assert_contains("最需加强的项目与锻炼建议");
    report.assert_contains("data-print");
    let report = browser.get("/account/fitness?lang=en").await;
    report.assert_contains("My fitness report");
    report.assert_contains("of the 12 people of the same sex and grade (or age group)");
    report.assert_contains("standing long jump");
    let anonymous = Browser::new(&app.base).get("/account/fitness").await;
    assert_eq!(anonymous.status, 303, "{label}: log in first");

    // The station's entry page: staff enter a result through the same operation as the API.
    let mut staff = Browser::new(&app.base);
    assert_eq!(staff.log_in("13800000091", "password of 13800000091").await.status, 303, "{label}");
    let form = staff.get("/stations/xihu/results").await;
    assert_eq!(form.status, 200, "{label}");
    form.assert_contains("name=\"m.run_50m_s\"");
    form.assert_contains("肺活量 · vital_capacity_ml");
    form.assert_contains("身高 · height_cm");
    let fields = [
        ("standard", "cnsphs-2014"),
        ("sex", "X"),
        ("grade", "初二"),
        ("test_date", "2026-05-12"),
        ("person_ref", "page-1"),
        ("m.height_cm", "150.0"),
        ("m.weight_kg", "40.0"),
    ];
    let refused = staff.submit("/stations/xihu/results", "/stations/xihu/results", &fields).await;
    assert_eq!(refused.status, 400, "{label}");
    refused.assert_contains("form-problem");
    refused.assert_contains("value=\"page-1\"");
    let mut fields = fields.to_vec();
    fields[1] = ("sex", "F");
    let saved = staff.submit("/stations/xihu/results", "/stations/xihu/results", &fields).await;
    assert_eq!(saved.status, 200, "{label}: {}", saved.body.chars().take(600).collect::<String>());
    saved.assert_contains("已保存 page-1 的成绩");
    saved.assert_contains("data-status=\"incomplete\"");
    let adult_form = staff.get("/stations/xihu/results?standard=cnpfms-2003-adult").await;
    adult_form.assert_contains("name=\"birth_date\"");
    assert_eq!(Browser::new(&app.base).get("/stations/xihu/results").await.status, 303, "{label}: log in first");
    let mut other = Browser::new(&app.base);
    other.log_in("13800000092", "password of 13800000092").await;
    assert_eq!(other.get("/stations/xihu/results").await.status, 403, "{label}: another station's staff");

    let (status, body) = app.call(None, reqwest::Method::GET, "/api/v1/indicators/fitness-pass-rate?region=3301&year=2026", None).await;
    assert_eq!(status, 200, "{label}: {body}");
    assert_eq!(body["crude"]["tested"], 15, "{label}: graded records only: {body}");
    assert_eq!(body["standard"]["id"], "cnsphs-2014", "{label}");
    let children = body["children"].as_array().unwrap();
    let west_lake = children.iter().find(|child| child["region"]["short_code"] == "330106").unwrap();
    assert_eq!(west_lake["crude"]["tested"], 12, "{label}");
    assert_eq!(west_lake["crude"]["passed"], passed, "{label}");
    let rate = west_lake["crude"]["rate"].as_f64().unwrap();
    assert!((rate - f64::from(passed) / 12.0).abs() < 1e-4, "{label}: {rate}");
    let shangcheng = children.iter().find(|child| child["region"]["short_code"] == "330102").unwrap();
    assert_eq!((shangcheng["crude"]["suppressed"].as_bool(), &shangcheng["crude"]["tested"]), (Some(true), &Value::Null), "{label}");

    // The day's appointments at a station with a venue: bookings of its test sessions (not of its
    // courts), each linking to the form for that account and day; a station without a venue says so.
    form.assert_contains("本站未关联场馆");
    let session = json!({"id": "bj-test", "name": "体质测试", "kind": "session",
        "slot_rules": [{"weekdays": "1-7", "start": "09:00", "end": "11:00", "slot_length_min": 30, "places": 6, "price_fen": 0}]});
    let court = json!({"id": "bj-court", "name": "羽毛球 1 号场", "kind": "court",
        "slot_rules": [{"weekdays": "1-7", "start": "09:00", "end": "11:00", "slot_length_min": 60, "places": 1, "price_fen": 0}]});
    for resource in [session, court] {
        let (status, body) = app.call(Some(&admin), reqwest::Method::POST, "/api/v1/venues/bj-gym/resources", Some(resource)).await;
        assert_eq!(status, 201, "{label}: {body}");
    }
    let today = fitforall_server::api::venues::local_now().date();
    fitforall_server::slot_generation::generate_all_slots(&app.state, today).await.unwrap();
    let day = today + chrono::Days::new(2);
    let mut booked = Vec::new();
    for resource in ["bj-test", "bj-court"] {
        let (status, body) = app.call(None, reqwest::Method::GET, &format!("/api/v1/resources/{resource}/slots?from={day}&days=1"), None).await;
        assert_eq!(status, 200, "{label}: {body}");
        let slot = fitforall_core::booking::SlotId::new(body["slots"][0]["id"].as_str().unwrap().parse().unwrap());
        let request = fitforall_store::BatchRequest {
            slot,
            account: resident_id,
            places: 1,
            reduced: false,
            idempotency_key: format!("appointment-{resource}"),
            request_hash: "hash".into(),
        };
        let made = app
            .state
            .store()
            .book_batch(&[request], fitforall_server::api::venues::local_now(), Utc::now(), move |_: &mut fitforall_store::BatchState| {
                let made = vec![fitforall_store::NewBooking {
                    id: fitforall_server::auth::new_id(),
                    slot,
                    account: resident_id,
                    places: 1,
                    status: fitforall_core::booking::BookingStatus::Confirmed,
                    total_fen: 0,
                    reduced: false,
                    expires_at: None,
                    idempotency_key: format!("appointment-{resource}"),
                    request_hash: "hash".into(),
                }];
                (made, ())
            })
            .await
            .unwrap()
            .0;
        booked.extend(made);
    }
    assert_eq!(booked.len(), 2, "{label}");
    app.account("13800000094", Some(Role::StationStaff { station: StationId::parse("binjiang").unwrap() })).await;
    let mut binjiang = Browser::new(&app.base);
    binjiang.log_in("13800000094", "password of 13800000094").await;
    let sheet = binjiang.get(&format!("/stations/binjiang/results?date={day}")).await;
    assert_eq!(sheet.status, 200, "{label}");
    sheet.assert_contains(&format!("测试预约 · {day}"));
    sheet.assert_contains(&format!("data-account=\"{resident_id}\""));
    sheet.assert_contains("体质测试");
    assert!(!sheet.body.contains("羽毛球 1 号场"), "{label}: only test sessions are appointments");
    let enter_url = format!("/stations/binjiang/results?standard=cnsphs-2014&amp;account_id={resident_id}&amp;test_date={day}#entry");
    sheet.assert_contains(&enter_url);
    let prefilled = binjiang.get(&format!("/stations/binjiang/results?standard=cnsphs-2014&account_id={resident_id}&test_date={day}")).await;
    prefilled.assert_contains(&format!("name=\"account_id\" value=\"{resident_id}\""));
    prefilled.assert_contains(&format!("name=\"test_date\" type=\"date\" value=\"{day}\""));
    let empty_day = binjiang.get(&format!("/stations/binjiang/results?date={}", day + chrono::Days::new(1))).await;
    empty_day.assert_contains("这一天没有测试预约。");

    // The region page shows the same figures, its children with suppressed cells, and the definition.
    let hangzhou = Browser::new(&app.base).get("/regions/3301").await;
    assert_eq!(hangzhou.status, 200, "{label}");
    hangzhou.assert_contains("国民体质测试达标率");
    hangzhou.assert_contains("2026 年测试 · 国家学生体质健康标准（2014年修订）");
    hangzhou.assert_contains("受测 15 人");
    hangzhou.assert_contains(&format!("{:.1} %", f64::from(passed) / 12.0 * 100.0));
    hangzhou.assert_contains("不足 10 人，不公布");
    hangzhou.assert_contains("/api/v1/indicators/fitness-pass-rate?region=3301&amp;year=2026&amp;standard=cnsphs-2014");
    let ningbo = Browser::new(&app.base).get("/regions/3302?lang=en").await;
    ningbo.assert_contains("No fitness test results in this region yet.");

    // An adult's result under the 2003 standard: now a request without a standard must choose.
    let adult = json!({"standard": "cnpfms-2003-adult", "sex": "女", "birth_date": "1990-03-07", "test_date": "2026-05-10", "person_ref": "a-1",
        "measurements": {"height_cm": "160.0", "weight_kg": "52.0"}});
    let (status, body) = app.call(Some(&xihu_staff), reqwest::Method::POST, "/api/v1/stations/xihu/results", Some(adult)).await;
    assert_eq!(status, 201, "{label}: {body}");
    assert_eq!((body["provisional"].as_bool(), body["cohort"].as_u64()), (Some(true), Some(36)), "{label}: {body}");
    let (status, body) = app.call(None, reqwest::Method::GET, "/api/v1/indicators/fitness-pass-rate?region=3301&year=2026", None).await;
    assert_eq!(status, 400, "{label}: {body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("cnpfms-2003-adult") && message.contains("cnsphs-2014") && message.contains("never mix"), "{label}: {message}");
    let (status, _) = app.call(None, reqwest::Method::GET, "/api/v1/indicators/fitness-pass-rate?region=3301&year=2026&standard=cnsphs-2014", None).await;
    assert_eq!(status, 200, "{label}");
    // Each standard in its own block on the region page, never mixed.
    let both = Browser::new(&app.base).get("/regions/3301").await;
    both.assert_contains("2026 年测试 · 国家学生体质健康标准（2014年修订）");
    both.assert_contains("暂行标准，结果仅供参考");
    let (status, _) = app.call(None, reqwest::Method::GET, "/api/v1/indicators/fitness-pass-rate?region=3302&year=2026", None).await;
    assert_eq!(status, 404, "{label}: Ningbo has no results");
    let (status, _) = app.call(None, reqwest::Method::GET, "/api/v1/indicators/fitness-pass-rate?region=3301", None).await;
    assert_eq!(status, 400, "{label}: the year is required");
}

#[tokio::test]
async fn fitness_testing_on_every_backend() {
    for database in TestDatabase::all().await {
        story(&database).await;
    }
}
