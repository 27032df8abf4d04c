//! Black-box tests of the JSON API: the real app on a random port, a fresh database each.
//! Store-backed stories run on SQLite and, when FITFORALL_TEST_DATABASE_URL is set, PostgreSQL.

use chrono::Utc;
use fitforall_core::indicator::PopulationRecord;
use fitforall_core::region::RegionCode;
use fitforall_server::config::ServerConfig;
use fitforall_server::startup::Application;
use fitforall_server::state::AppState;
use fitforall_store::testing::TestDatabase;
use serde_json::{Value, json};

struct TestApp {
    base: String,
    state: AppState,
    client: reqwest::Client,
    /// An API token of a platform administrator.
    admin_token: String,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

async fn spawn_app(database: &TestDatabase) -> TestApp {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), database.url.clone());
    config.max_body_bytes = 64 * 1024;
    config.allow_scan_strategy = true;
    let app = Application::build(config).await.unwrap_or_else(|error| panic!("{}: {error}", database.label));
    let base = format!("http://{}", app.local_addr());
    let state = app.state.clone();
    let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(async move {
        let _ = receiver.await;
    }));
    // Several apps may share one database: each gets its own administrator.
    let phone = format!("137{:08}", fitforall_server::auth::new_id().rem_euclid(100_000_000));
    let admin_token = fitforall_server::testing::platform_admin_token(&state, &phone).await;
    TestApp { base, state, client: reqwest::Client::new(), admin_token, _shutdown: sender }
}

impl TestApp {
    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn send(&self, method: reqwest::Method, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

fn venue_body(id: &str, lat: f64, lng: f64, region: &str) -> Value {
    json!({
        "id": id, "name": format!("测试场馆 {id}"), "region_code": region, "address": "杭州市西湖区",
        "lat": lat, "lng": lng, "type": "gymnasium", "sports": ["badminton", "乒乓球"], "sports_area_m2": 2000.0,
        "setting": "indoor", "opening_hours": "Mo-Su 06:00-22:00", "free_hours": "Mo-Fr 06:00-08:00", "low_fee_hours": "Sa-Su 08:00-22:00"
    })
}

fn error_message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_else(|| panic!("not an error body: {body}"))
}

#[tokio::test]
async fn regions_hierarchy_search_and_errors() {
    let database = TestDatabase::sqlite();
    let app = spawn_app(&database).await;
    let (status, body) = app.get("/api/v1/regions/330100").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "杭州市");
    assert_eq!(body["code"], "330100000000");
    assert_eq!(body["level"], "city");
    assert_eq!(body["parents"][0]["name"], "浙江省");
    assert!(body["children"].as_array().unwrap().iter().any(|child| child["name"] == "西湖区"));
    for form in ["33", "330000", "330000000000"] {
        let (status, body) = app.get(&format!("/api/v1/regions/{form}")).await;
        assert_eq!((status, body["name"].as_str()), (200, Some("浙江省")), "form {form}");
    }
    let (status, body) = app.get("/api/v1/regions/330106002").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["parents"].as_array().unwrap().len(), 3);
    let (status, body) = app.get("/api/v1/regions/3399").await;
    assert_eq!((status, error_message(&body)), (404, "region 3399 does not exist"));
    let (status, body) = app.get("/api/v1/regions/33x").await;
    assert_eq!(status, 400);
    assert_eq!(error_message(&body), "parameter code: region code must contain only digits, got \"33x\"");
    let (status, body) = app.get("/api/v1/regions?q=%E8%A5%BF%E6%B9%96%E5%8C%BA&within=3301").await;
    assert_eq!(status, 200);
    assert_eq!(body["items"][0]["short_code"], "330106");
    let (status, body) = app.get("/api/v1/regions?q=x&level=village").await;
    assert_eq!((status, error_message(&body)), (400, "parameter level: expected province, city, county or street, got \"village\""));
}

async fn venue_crud_story(database: &TestDatabase) {
    let label = database.label;
    let app = spawn_app(database).await;
    let body = venue_body("hz-1", 30.2590, 120.1390, "330106");
    let (status, reply) = app.send(reqwest::Method::POST, "/api/v1/venues", None, &body).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (401, Some("unauthorized")), "{label}");
    let (status, reply) = app.send(reqwest::Method::POST, "/api/v1/venues", Some("wrong-token-wrong-token-xx"), &body).await;
    assert_eq!(status, 401, "{label}: {reply}");
    let (status, reply) = app.send(reqwest::Method::POST, "/api/v1/venues", Some(app.admin_token.as_str()), &body).await;
    assert_eq!(status, 201, "{label}: {reply}");
    assert_eq!(reply["region"]["name"], "西湖区");
    assert_eq!(reply["sports"], json!(["badminton", "table_tennis"]));
    let (status, reply) = app.send(reqwest::Method::POST, "/api/v1/venues", Some(app.admin_token.as_str()), &body).await;
    assert_eq!((status, error_message(&reply)), (409, "venue hz-1 already exists"), "{label}");

    let mut bad = venue_body("hz-bad", 95.0, 120.0, "330199");
    bad["type"] = json!("castle");
    let (status, reply) = app.send(reqwest::Method::POST, "/api/v1/venues", Some(app.admin_token.as_str()), &bad).await;
    assert_eq!(status, 400, "{label}");
    let fields: Vec<&str> = reply["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["region_code", "lat", "type"], "{label}: {reply}");
    let (status, reply) = app.send(reqwest::Method::POST, "/api/v1/venues", Some(app.admin_token.as_str()), &json!({"name": "x", "colour": "red"})).await;
    assert_eq!(status, 400, "{label}");
    assert!(error_message(&reply).contains("unknown field `colour`"), "{label}: {reply}");

    let mut changed = body.clone();
    changed["name"] = json!("西湖文体中心");
    let (status, reply) = app.send(reqwest::Method::PUT, "/api/v1/venues/hz-1", Some(app.admin_token.as_str()), &changed).await;
    assert_eq!((status, reply["name"].as_str()), (200, Some("西湖文体中心")), "{label}");
    let (status, reply) = app.get("/api/v1/venues/hz-1").await;
    assert_eq!((status, reply["name"].as_str()), (200, Some("西湖文体中心")), "{label}");
    let (status, _) = app.send(reqwest::Method::PUT, "/api/v1/venues/nope", Some(app.admin_token.as_str()), &venue_body("nope", 30.0, 120.0, "330106")).await;
    assert_eq!(status, 404, "{label}");
    let (status, _) = app.send(reqwest::Method::DELETE, "/api/v1/venues/hz-1", Some(app.admin_token.as_str()), &json!(null)).await;
    assert_eq!(status, 204, "{label}");
    let (status, reply) = app.get("/api/v1/venues/hz-1").await;
    assert_eq!((status, error_message(&reply)), (404, "venue hz-1 does not exist"), "{label}");

    // The stored rows survive a restart: a second app on the same database sees what the first wrote.
    let (status, _) = app.send(reqwest::Method::POST, "/api/v1/venues", Some(app.admin_token.as_str()), &venue_body("hz-2", 30.25, 120.15, "330106002")).await;
    assert_eq!(status, 201, "{label}");
    let second = spawn_app(database).await;
    let (status, reply) = second.get("/api/v1/venues/hz-2").await;
    assert_eq!(status, 200, "{label}: {reply}");
    // Another process's write reaches this one through the change counter.
    let (status, _) =
        second.send(reqwest::Method::POST, "/api/v1/venues", Some(second.admin_token.as_str()), &venue_body("hz-3", 30.25, 120.16, "330106")).await;
    assert_eq!(status, 201, "{label}");
    assert!(app.state.refresh_if_stale().await.unwrap(), "{label}");
    let (status, _) = app.get("/api/v1/venues/hz-3").await;
    assert_eq!(status, 200, "{label}");
    assert!(!app.state.refresh_if_stale().await.unwrap(), "{label}: nothing new");
}

#[tokio::test]
async fn venue_crud_on_every_backend() {
    for database in TestDatabase::all().await {
        venue_crud_story(&database).await;
    }
}

#[tokio::test]
async fn nearby_search_filters_geojson_and_bad_parameters() {
    let database = TestDatabase::sqlite();
    let app = spawn_app(&database).await;
    let points = [("near", 30.2440, 120.1510), ("mid", 30.2600, 120.1500), ("far", 30.2900, 120.1500), ("ningbo", 29.8700, 121.5500)];
    for (id, lat, lng) in points {
        let region = if id == "ningbo" { "330203" } else { "330106" };
        let (status, reply) = app.send(reqwest::Method::POST, "/api/v1/venues", Some(app.admin_token.as_str()), &venue_body(id, lat, lng, region)).await;
        assert_eq!(status, 201, "{reply}");
    }
    let (status, body) = app.get("/api/v1/venues?lat=30.2431&lng=120.1503&radius_m=3000").await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = body["items"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["near", "mid"]);
    assert!(body["items"][0]["distance_m"].as_f64().unwrap() < body["items"][1]["distance_m"].as_f64().unwrap());
    let (_, scan) = app.get("/api/v1/venues?lat=30.2431&lng=120.1503&radius_m=3000&strategy=scan").await;
    assert_eq!(scan["items"], body["items"]);
    let (_, body) = app.get("/api/v1/venues?region=3302").await;
    assert_eq!(body["total"], 1);
    let (_, body) = app.get("/api/v1/venues?free_at=2026-11-30T07:00&region=330106").await;
    assert_eq!(body["total"], 3, "Monday 07:00 is free");
    let (_, body) = app.get("/api/v1/venues?free_at=2026-11-29T07:00").await;
    assert_eq!(body["total"], 0, "Sunday 07:00 is not");
    let (_, body) = app.get("/api/v1/venues?q=ningbo&sport=badminton&type=gymnasium").await;
    assert_eq!(body["total"], 1);
    let (status, geojson) = app.get("/api/v1/venues.geojson?lat=30.2431&lng=120.1503&radius_m=3000").await;
    assert_eq!(status, 200);
    assert_eq!(geojson["type"], "FeatureCollection");
    assert_eq!(geojson["features"][0]["geometry"]["coordinates"], json!([120.1510, 30.2440]));
    assert_eq!(geojson["features"][0]["properties"]["id"], "near");

    let cases = [
        ("lat=91&lng=120", "parameter lat: latitude must be a number between -90 and 90, got 91"),
        ("lat=30&lng=-200", "parameter lng: longitude must be a number between -180 and 180, got -200"),
        ("lat=30&lng=120&radius_m=-5", "parameter radius_m: radius_m must be greater than 0, got -5"),
        ("lat=30&lng=120&radius_m=abc", "parameter radius_m: expected a number, got \"abc\""),
        ("lat=30", "parameter lng: is required with lat"),
        (
            "type=castle",
            "parameter type: unknown venue type \"castle\" (one of: stadium, gymnasium, swimming_pool, ball_courts, fitness_path, peoples_gym, school_venue, greenway, fitness_plaza, other)",
        ),
        (
            "sport=curling",
            "parameter sport: unknown sport \"curling\" (one of: basketball, football, volleyball, badminton, table_tennis, tennis, swimming, athletics, running, walking, cycling, fitness, yoga, square_dance, martial_arts, tai_chi, skating, climbing, gateball, chess, other)",
        ),
        ("limit=0", "parameter limit: expected a whole number from 1 to 500, got \"0\""),
        ("open_at=tomorrow", "parameter open_at: expected a local time (UTC+8) like 2026-12-01T09:00, got \"tomorrow\""),
        (
            "colour=red",
            "parameter colour: unknown parameter (known: q, region, type, sport, status, lat, lng, radius_m, open_at, open_now, free_at, free_now, limit, offset, strategy)",
        ),
    ];
    for (query, expect) in cases {
        let (status, body) = app.get(&format!("/api/v1/venues?{query}")).await;
        assert_eq!((status, error_message(&body)), (400, expect), "query {query}");
    }
    let (status, body) = app.get("/api/v1/venues?region=3399").await;
    assert_eq!((status, error_message(&body)), (404, "region 3399 does not exist"));
}

#[tokio::test]
async fn oversized_and_malformed_bodies() {
    let database = TestDatabase::sqlite();
    let app = spawn_app(&database).await;
    let mut huge = venue_body("big", 30.0, 120.0, "330106");
    huge["address"] = json!("很".repeat(40_000));
    let (status, body) = app.send(reqwest::Method::POST, "/api/v1/venues", Some(app.admin_token.as_str()), &huge).await;
    assert_eq!(status, 413, "{body}");
    let response = app
        .client
        .post(format!("{}/api/v1/venues", app.base))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_json");
    let response = app.client.post(format!("{}/api/v1/venues", app.base)).bearer_auth(&app.admin_token).body("{}").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 415);
    let (status, body) = app.get("/api/v1/nothing-here").await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
}

async fn per_capita_story(database: &TestDatabase) {
    let label = database.label;
    let app = spawn_app(database).await;
    let (status, body) = app.get("/api/v1/indicators/per-capita-sports-area?region=3301").await;
    assert_eq!(status, 404, "{label}");
    assert_eq!(error_message(&body), "no population data for region 3301 or any region below it; import population first");
    for (id, region) in [("a", "330106"), ("b", "330106002"), ("c", "330102")] {
        let (status, reply) = app.send(reqwest::Method::POST, "/api/v1/venues", Some(app.admin_token.as_str()), &venue_body(id, 30.25, 120.15, region)).await;
        assert_eq!(status, 201, "{label}: {reply}");
    }
    let code = |text: &str| RegionCode::parse(text).unwrap();
    let population = [
        PopulationRecord { region: code("330106"), year: 2023, population: 1_000 },
        PopulationRecord { region: code("330102"), year: 2023, population: 4_000 },
        PopulationRecord { region: code("330106"), year: 2022, population: 800 },
    ];
    app.state.store().upsert_population(&population, Utc::now()).await.unwrap();
    assert!(app.state.refresh_if_stale().await.unwrap());
    let (status, body) = app.get("/api/v1/indicators/per-capita-sports-area?region=330100").await;
    assert_eq!(status, 200, "{label}: {body}");
    assert_eq!(body["year"], 2023, "{label}: latest year with data");
    assert_eq!(body["sports_area_m2"], 6000.0);
    assert_eq!(body["population"]["population"], 5000);
    assert_eq!(body["population"]["source"], "sum_of_children");
    assert_eq!(body["value_m2_per_person"], 1.2);
    assert_eq!(body["venue_count"], 3);
    assert_eq!(body["indicator"]["id"], "per_capita_sports_area");
    let westlake = body["children"].as_array().unwrap().iter().find(|child| child["region"]["short_code"] == "330106").unwrap();
    assert_eq!((westlake["value_m2_per_person"].as_f64(), westlake["venue_count"].as_u64()), (Some(4.0), Some(2)));
    let (_, body) = app.get("/api/v1/indicators/per-capita-sports-area?region=330106&year=2022").await;
    assert_eq!(body["value_m2_per_person"], 5.0, "{label}");
    let (status, body) = app.get("/api/v1/indicators/per-capita-sports-area?region=330106&year=1800").await;
    assert_eq!((status, error_message(&body)), (400, "parameter year: expected a whole number from 1949 to 2100, got \"1800\""));
    let (status, _) = app.get("/api/v1/indicators/per-capita-sports-area").await;
    assert_eq!(status, 400);
    let (status, body) = app.get("/api/v1/regions/3301").await;
    assert_eq!((status, body["population"]["population"].as_u64(), body["venue_count"].as_u64()), (200, Some(5000), Some(3)), "{label}");
}

#[tokio::test]
async fn per_capita_sports_area_on_every_backend() {
    for database in TestDatabase::all().await {
        per_capita_story(&database).await;
    }
}

#[tokio::test]
async fn health_metrics_openapi_places() {
    let database = TestDatabase::sqlite();
    let app = spawn_app(&database).await;
    let (status, body) = app.get("/healthz").await;
    assert_eq!((status, body["status"].as_str(), body["backend"].as_str()), (200, Some("ok"), Some("sqlite")));
    let response = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("fitforall_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"), "{text}");
    assert!(text.contains("fitforall_regions "), "{text}");
    let (status, body) = app.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(body["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/api/v1/regions/{code}", "/api/v1/venues", "/api/v1/venues.geojson", "/api/v1/indicators/per-capita-sports-area"] {
        assert!(body["paths"][path].is_object(), "missing {path}");
    }
    let (status, body) = app.get("/api/v1/places?q=%E8%A5%BF%E6%B9%96").await;
    assert_eq!(status, 200);
    assert_eq!(body["items"][0]["kind"], "landmark");
    assert_eq!(body["items"][0]["name"], "西湖");
    let response = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(response.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn scan_strategy_is_refused_unless_enabled() {
    let database = TestDatabase::sqlite();
    let config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), database.url.clone());
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.serve(std::future::pending()));
    let response = reqwest::get(format!("{base}/api/v1/venues?lat=30.25&lng=120.15&strategy=scan")).await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_message(&body), "parameter strategy: scan is for benchmarks and is disabled on this server");
    let response = reqwest::get(format!("{base}/api/v1/venues?lat=30.25&lng=120.15&strategy=index")).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
}
