//! Black-box tests of the web pages: the real app on a random port with a fresh SQLite database,
//! a few venues and population figures, pages fetched over HTTP.

use chrono::Utc;
use fitforall_core::indicator::PopulationRecord;
use fitforall_core::region::RegionCode;
use fitforall_core::venue::{VenueId, VenueInput};
use fitforall_server::config::ServerConfig;
use fitforall_server::startup::Application;
use fitforall_server::state::AppState;
use fitforall_store::testing::TestDatabase;
use serde_json::json;

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'";
const DEMO_BANNER: &str = "演示数据 · Demo data: generated, not real";

struct TestApp {
    base: String,
    state: AppState,
    client: reqwest::Client,
    _database: TestDatabase,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or("")
    }

    #[track_caller]
    fn assert_contains(&self, text: &str) {
        assert!(self.body.contains(text), "page does not contain {text:?}:\n{}", self.body.chars().take(4000).collect::<String>());
    }
}

async fn spawn_app(demo: bool) -> TestApp {
    let database = TestDatabase::sqlite();
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), database.url.clone());
    config.demo = demo;
    let app = Application::build(config).await.expect("the app builds");
    let base = format!("http://{}", app.local_addr());
    let state = app.state.clone();
    let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(async move {
        let _ = receiver.await;
    }));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let app = TestApp { base, state, client, _database: database, _shutdown: sender };
    app.seed().await;
    app
}

impl TestApp {
    async fn seed(&self) {
        let venues = [
            json!({"id": "v-westlake", "name": "西湖文体中心", "region_code": "330106", "address": "杭州市西湖区北山街 1 号",
                "lat": 30.2590, "lng": 120.1450, "type": "gymnasium", "sports": ["badminton", "乒乓球"], "sports_area_m2": 120000.0,
                "setting": "indoor", "owner_kind": "public", "opening_hours": "Mo-Su 06:00-22:00", "free_hours": "Mo-Fr 06:00-08:00",
                "low_fee_hours": "Mo-Su 08:00-22:00", "accessibility": ["step_free"], "opened_year": 2015, "phone": "0571-88888888"}),
            json!({"id": "v-park", "name": "湖滨健身路径", "region_code": "330102", "address": "杭州市上城区湖滨路",
                "lat": 30.2580, "lng": 120.1640, "type": "fitness_path", "sports": ["fitness"], "sports_area_m2": 40000.0,
                "setting": "outdoor", "opening_hours": "24/7", "free_hours": "24/7"}),
            json!({"id": "v-evil", "name": "Evil </script><script>alert(1)</script>", "region_code": "330106", "address": "<b>bold</b>",
                "lat": 30.2700, "lng": 120.1300, "type": "ball_courts", "sports": ["basketball"], "sports_area_m2": 1000.0,
                "setting": "outdoor", "opening_hours": "Mo-Fr 08:00-18:00"}),
            json!({"id": "v-ningbo", "name": "宁波体育馆", "region_code": "330203", "address": "宁波市海曙区",
                "lat": 29.87, "lng": 121.55, "type": "stadium", "sports": ["football"], "sports_area_m2": 50000.0, "setting": "outdoor",
                "opening_hours": "Mo-Su 06:00-21:00"}),
        ];
        let snapshot = self.state.snapshot();
        for body in venues {
            let input: VenueInput = serde_json::from_value(body).unwrap();
            let id = VenueId::parse(input.id.as_deref().unwrap()).unwrap();
            let venue = input.parse(id, |code| snapshot.regions.contains(code)).unwrap_or_else(|errors| panic!("{errors:?}"));
            self.state.save_venue(venue, true, Utc::now()).await.unwrap();
        }
        let record = |code: &str, population| PopulationRecord { region: RegionCode::parse(code).unwrap(), year: 2024, population };
        let population = [record("330106", 1_200_000), record("330102", 1_400_000), record("330203", 800_000)];
        self.state.store().upsert_population(&population, Utc::now()).await.unwrap();
        self.state.refresh_if_stale().await.unwrap();
    }

    async fn get_with(&self, path: &str, cookie: Option<&str>) -> Page {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        Page { status, headers, body }
    }

    async fn get(&self, path: &str) -> Page {
        self.get_with(path, None).await
    }
}

#[tokio::test]
async fn home_is_chinese_by_default_english_on_request_and_remembered() {
    let app = spawn_app(false).await;
    let page = app.get("/").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(page.header("content-security-policy"), CSP);
    page.assert_contains(r#"<html lang="zh-CN">"#);
    page.assert_contains("FitForAll");
    page.assert_contains("在哪里运动？");
    page.assert_contains(r#"action="/venues""#);
    page.assert_contains(r#"href="/regions/33""#);
    page.assert_contains(r#"href="/api/docs""#);
    page.assert_contains(r#"href="/?lang=en""#);
    assert!(!page.body.contains(DEMO_BANNER), "no demo banner without demo data");
    assert!(!page.body.contains("style=\""), "no inline styles");
    assert!(!page.body.contains("<script>"), "no inline scripts");
    assert!(page.header("set-cookie").is_empty());

    let english = app.get("/?lang=en").await;
    assert_eq!(english.status, 200);
    english.assert_contains(r#"<html lang="en">"#);
    english.assert_contains("Where do you want to exercise?");
    english.assert_contains(r#"href="/?lang=zh""#);
    let cookie = english.header("set-cookie");
    assert!(cookie.starts_with("lang=en;") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");

    let remembered = app.get_with("/venues", Some("lang=en")).await;
    remembered.assert_contains(r#"<html lang="en">"#);
    remembered.assert_contains("Find a venue");
    let back = app.get_with("/?lang=zh", Some("lang=en")).await;
    back.assert_contains(r#"<html lang="zh-CN">"#);
    assert!(back.header("set-cookie").starts_with("lang=zh;"));
}

#[tokio::test]
async fn venue_search_near_a_place_with_list_and_map_data() {
    let app = spawn_app(false).await;
    let page = app.get("/venues?near=%E8%A5%BF%E6%B9%96").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_contains("以「西湖」为中心 5 公里范围内");
    page.assert_contains("西湖文体中心");
    page.assert_contains("湖滨健身路径");
    assert!(!page.body.contains("宁波体育馆"), "Ningbo is not near West Lake");
    page.assert_contains(r#"class="distance""#);
    page.assert_contains(r#"href="/venues/v-westlake""#);
    page.assert_contains(r#"<script type="application/json" id="map-data">"#);
    page.assert_contains("/static/maps/zhejiang-cities.geojson?v=");
    page.assert_contains("/static/vendor/leaflet/leaflet.js?v=");
    // A name with markup is escaped in the HTML and cannot close the JSON script element.
    page.assert_contains("Evil &lt;/script&gt;");
    page.assert_contains(r#"Evil \u003c/script\u003e"#);
    assert!(!page.body.contains("<script>alert(1)"));
    assert!(!page.body.contains("<b>bold</b>"));

    let english = app.get("/venues?near=West%20Lake&lang=en").await;
    english.assert_contains("Within 5 km of “West Lake (西湖)”, nearest first");
    english.assert_contains("venues found");

    let nothing = app.get("/venues?near=zzzz-nowhere").await;
    assert_eq!(nothing.status, 200);
    nothing.assert_contains("没有找到与「zzzz-nowhere」匹配的地点、区域或场馆。");

    let filtered = app.get("/venues?sport=badminton&free_now=&open_now=&radius_m=5000&q=").await;
    assert_eq!(filtered.status, 200, "the form's empty fields and a radius without a centre are accepted");
    filtered.assert_contains("西湖文体中心");
    assert!(!filtered.body.contains("湖滨健身路径"));

    let region = app.get("/venues?region=330106").await;
    region.assert_contains("共找到 2 个场馆");
    region.assert_contains(r#"href="/regions/330106""#);

    let paged = app.get("/venues?near=%E8%A5%BF%E6%B9%96&limit=1").await;
    paged.assert_contains("第 1–1 个");
    paged.assert_contains("offset=1");
    let second = app.get("/venues?near=%E8%A5%BF%E6%B9%96&limit=1&offset=1").await;
    second.assert_contains(r#"rel="prev""#);
}

#[tokio::test]
async fn bad_parameters_render_the_error_page_with_400() {
    let app = spawn_app(false).await;
    let page = app.get("/venues?lat=999&lng=120").await;
    assert_eq!(page.status, 400);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(page.header("content-security-policy"), CSP);
    page.assert_contains("请求有误");
    page.assert_contains("Bad request");
    page.assert_contains("parameter lat:");
    for path in ["/venues?colour=red", "/venues?sport=curling", "/venues?limit=0", "/venues?open_now=maybe", "/venues?a=1&a=2", "/regions/abc"] {
        let page = app.get(path).await;
        assert_eq!(page.status, 400, "{path}");
        page.assert_contains("请求有误");
    }
    let english = app.get("/venues?lat=999&lng=120&lang=en").await;
    english.assert_contains("Bad request");
    english.assert_contains("请求有误");
}

#[tokio::test]
async fn venue_page_shows_every_field_hours_and_the_service_norm() {
    let app = spawn_app(false).await;
    let page = app.get("/venues/v-westlake").await;
    assert_eq!(page.status, 200);
    for text in [
        "<h1>西湖文体中心</h1>",
        "体育馆",
        "羽毛球",
        "乒乓球",
        "120,000 m²",
        "室内",
        "公共",
        "杭州市西湖区北山街 1 号",
        "0571-88888888",
        "无障碍通道",
        "2015",
        "周一",
        "周日",
        "06:00–22:00",
        "06:00–08:00",
        "08:00–22:00",
        "每周免费或低收费开放不少于 35 小时",
        "✓",
        r#"href="/regions/33""#,
        r#"href="/regions/3301""#,
        r#"href="/regions/330106""#,
        "/api/v1/venues/v-westlake",
    ] {
        page.assert_contains(text);
    }
    assert_eq!(page.body.matches("<tr").count(), 8, "a header row and seven days");

    let outdoor = app.get("/venues/v-evil?lang=en").await;
    outdoor.assert_contains("Outdoor areas free at least 12 hours every day");
    outdoor.assert_contains("Does not meet the norm");
    outdoor.assert_contains("✗");
    outdoor.assert_contains("Monday");

    for path in ["/venues/no-such-venue", "/venues/bad%20id"] {
        let missing = app.get(path).await;
        assert_eq!(missing.status, 404, "{path}");
        missing.assert_contains("页面不存在");
        missing.assert_contains("Page not found");
    }
}

#[tokio::test]
async fn region_pages_show_the_indicator_children_and_choropleth() {
    let app = spawn_app(false).await;
    let page = app.get("/regions/3301").await;
    assert_eq!(page.status, 200);
    page.assert_contains("<h1 class=\"page-title\">杭州市</h1>");
    page.assert_contains(r#"href="/regions/33""#);
    page.assert_contains("人均体育场地面积");
    // (120,000 + 40,000 + 1,000) m² / 2,600,000 people
    page.assert_contains(r#"<span class="stat-value per-capita-value">0.062</span>"#);
    page.assert_contains("2,600,000 人");
    page.assert_contains("下级区域人口之和");
    page.assert_contains("西湖区");
    page.assert_contains(r#"href="/regions/330106""#);
    page.assert_contains(r#"<svg class="bar""#);
    page.assert_contains(r#""mode":"zhejiang""#);
    page.assert_contains(r#""highlight":"330100""#);
    page.assert_contains(r#"href="/venues?region=3301""#);
    page.assert_contains("人均体育场地面积 = ");

    for form in ["330100", "330100000000"] {
        assert_eq!(app.get(&format!("/regions/{form}")).await.status, 200, "{form}");
    }
    let english = app.get("/regions/33?lang=en").await;
    english.assert_contains("Per-capita sports area");
    english.assert_contains("Per-capita sports area = sum of the sports area");

    let no_population = app.get("/regions/11").await;
    assert_eq!(no_population.status, 200);
    no_population.assert_contains("暂无人口数据，无法计算人均体育场地面积。");
    no_population.assert_contains(r#""mode":"china""#);
    no_population.assert_contains(r#""highlight":"110000""#);

    let national = app.get("/regions").await;
    assert_eq!(national.status, 200);
    national.assert_contains("全国各省全民健身指标");
    national.assert_contains(r#"href="/regions/33""#);

    let missing = app.get("/regions/99").await;
    assert_eq!(missing.status, 404);
    missing.assert_contains("页面不存在");
}

#[tokio::test]
async fn demo_banner_on_every_page_when_the_data_is_the_demo_set() {
    let app = spawn_app(true).await;
    for path in ["/", "/venues", "/venues/v-westlake", "/regions/33", "/regions", "/api/docs", "/no-such-page", "/venues?lat=999&lng=1"] {
        let page = app.get(path).await;
        page.assert_contains(DEMO_BANNER);
    }
}

#[tokio::test]
async fn api_docs_page_is_generated_from_the_openapi_document() {
    let app = spawn_app(false).await;
    let page = app.get("/api/docs").await;
    assert_eq!(page.status, 200);
    for text in ["/api/v1/venues", "/api/v1/regions/{code}", "radius_m", "Search venues.", "VenueList", r#"href="/api/v1/openapi.json""#, "DELETE"] {
        page.assert_contains(text);
    }
}

#[tokio::test]
async fn unknown_paths_get_a_page_but_the_api_keeps_json() {
    let app = spawn_app(false).await;
    let page = app.get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    page.assert_contains("页面不存在");
    let api = app.get("/api/v1/no-such-endpoint").await;
    assert_eq!(api.status, 404);
    assert!(api.header("content-type").starts_with("application/json"));
    let body: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["message"], "no API endpoint at /api/v1/no-such-endpoint; see /api/v1/openapi.json");
    let post = app.client.post(format!("{}/api/v2/x", app.base)).send().await.unwrap();
    assert_eq!(post.status().as_u16(), 404);
    assert_eq!(app.get("/api/v1/venues/v-westlake").await.status, 200, "API routes still answer");
}

#[tokio::test]
async fn static_assets_are_embedded_with_types_and_long_caching() {
    let app = spawn_app(false).await;
    let home = app.get("/").await;
    let start = home.body.find("/static/css/site.css?v=").expect("versioned CSS link");
    let css_url: String = home.body[start..].chars().take_while(|c| *c != '"').collect();
    for (path, content_type) in [
        (css_url.as_str(), "text/css; charset=utf-8"),
        ("/static/js/site.js", "text/javascript; charset=utf-8"),
        ("/static/js/maps.js", "text/javascript; charset=utf-8"),
        ("/static/vendor/leaflet/leaflet.js", "text/javascript; charset=utf-8"),
        ("/static/vendor/leaflet/leaflet.css", "text/css; charset=utf-8"),
        ("/static/vendor/leaflet/LICENSE", "text/plain; charset=utf-8"),
        ("/static/vendor/leaflet/images/marker-icon.png", "image/png"),
        ("/static/img/favicon.svg", "image/svg+xml"),
        ("/static/maps/zhejiang-cities.geojson", "application/geo+json"),
        ("/static/maps/china-provinces.geojson", "application/geo+json"),
    ] {
        let asset = app.get(path).await;
        assert_eq!(asset.status, 200, "{path}");
        assert_eq!(asset.header("content-type"), content_type, "{path}");
        assert!(asset.header("cache-control").contains("max-age=31536000"), "{path}");
    }
    let cities: serde_json::Value = serde_json::from_str(&app.get("/static/maps/zhejiang-cities.geojson").await.body).unwrap();
    assert_eq!(cities["features"].as_array().unwrap().len(), 11);
    assert!(app.get("/static/vendor/leaflet/LICENSE").await.body.contains("BSD 2-Clause License"));
    assert_eq!(app.get("/static/nope.js").await.status, 404);
}
