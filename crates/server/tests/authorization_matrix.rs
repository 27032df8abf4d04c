//! The authorization matrix: every route × every kind of caller → the expected status, from one
//! table for the API and one for the pages. API routes are read from the OpenAPI document and page
//! routes from `web::page_route_list`, so a new route without a row fails here.

use std::collections::BTreeSet;

use chrono::Utc;
use fitforall_core::identity::check_digit;
use fitforall_core::indicator::PopulationRecord;
use fitforall_core::policy::{AccountId, Role};
use fitforall_core::region::RegionCode;
use fitforall_server::config::ServerConfig;
use fitforall_server::startup::Application;
use fitforall_store::testing::TestDatabase;
use serde_json::{Value, json};

/// The last caller is a program: a platform administrator's API token (`Authorization: Bearer`).
const ACTORS: [&str; 6] = ["anonymous", "resident", "hangzhou_admin", "ningbo_admin", "platform_admin", "platform_api_token"];

/// One caller: how it authenticates, and what it made along the way (for routes that need an id).
struct Actor {
    name: &'static str,
    cookie: Option<String>,
    csrf: Option<String>,
    bearer: Option<String>,
    last_token_id: Option<String>,
    /// The booking the actor made last (API or page), for the rows about one booking.
    last_booking_id: Option<String>,
}

/// The slot every actor books (20 places, window always open), made before each backend's run.
static BOOKING_SLOT: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

fn booking_slot() -> String {
    BOOKING_SLOT.lock().unwrap().clone()
}

struct Row {
    method: &'static str,
    path: &'static str,
    /// Expected status per actor, in the order of [`ACTORS`].
    expect: [u16; 6],
}

/// The table. Ordered: rows that need something an earlier row made come after it; logging out is last.
const ROWS: &[Row] = &[
    Row { method: "get", path: "/api/v1/regions", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/api/v1/regions/{code}", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/api/v1/places", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/api/v1/venues", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/api/v1/venues.geojson", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/api/v1/venues/{id}", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "post", path: "/api/v1/venues", expect: [401, 403, 201, 403, 201, 201] },
    Row { method: "put", path: "/api/v1/venues/{id}", expect: [401, 403, 200, 403, 200, 200] },
    Row { method: "delete", path: "/api/v1/venues/{id}", expect: [401, 403, 204, 403, 204, 204] },
    // Bookable resources of the venue `base` (330106, Hangzhou); `base-court` is made before the run.
    Row { method: "get", path: "/api/v1/venues/{id}/resources", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "post", path: "/api/v1/venues/{id}/resources", expect: [401, 403, 201, 403, 201, 201] },
    Row { method: "get", path: "/api/v1/resources/{id}", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "put", path: "/api/v1/resources/{id}", expect: [401, 403, 200, 403, 200, 200] },
    Row { method: "get", path: "/api/v1/resources/{id}/slots", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "post", path: "/api/v1/resources/{id}/closures", expect: [401, 403, 201, 403, 201, 201] },
    Row { method: "get", path: "/api/v1/resources/{id}/closures", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/api/v1/indicators/per-capita-sports-area", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/api/v1/openapi.json", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/api/v1/fitness/standards", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/api/v1/stations", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "post", path: "/api/v1/stations", expect: [401, 403, 201, 403, 201, 201] },
    // Results are entered by the station's staff (or a platform administrator), not by region administrators.
    Row { method: "post", path: "/api/v1/stations/{id}/results", expect: [401, 403, 403, 403, 201, 201] },
    Row { method: "get", path: "/api/v1/me/fitness-results", expect: [401, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/api/v1/indicators/fitness-pass-rate", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "post", path: "/api/v1/accounts", expect: [201, 201, 201, 201, 201, 201] },
    Row { method: "post", path: "/api/v1/sessions", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/api/v1/me", expect: [401, 200, 200, 200, 200, 200] },
    Row { method: "put", path: "/api/v1/me/identity", expect: [401, 200, 200, 200, 200, 200] },
    Row { method: "post", path: "/api/v1/me/tokens", expect: [401, 201, 201, 201, 201, 201] },
    Row { method: "get", path: "/api/v1/me/tokens", expect: [401, 200, 200, 200, 200, 200] },
    Row { method: "delete", path: "/api/v1/me/tokens/{id}", expect: [401, 204, 204, 204, 204, 204] },
    // Booking: everyone logged in books one place; 409 on confirm means authorization passed (a free
    // booking is confirmed already). The day sheet is the venue's administrators'.
    Row { method: "post", path: "/api/v1/bookings", expect: [401, 201, 201, 201, 201, 201] },
    Row { method: "get", path: "/api/v1/bookings/{id}", expect: [401, 200, 200, 200, 200, 200] },
    Row { method: "post", path: "/api/v1/bookings/{id}/confirm", expect: [401, 409, 409, 409, 409, 409] },
    Row { method: "get", path: "/api/v1/bookings/{id}/calendar.ics", expect: [401, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/api/v1/bookings/{id}/check-in-code", expect: [401, 200, 200, 200, 200, 200] },
    // Checking in is the venue's operators' (and platform administrators'); a made-up code is 400.
    Row { method: "post", path: "/api/v1/venues/{id}/check-ins", expect: [401, 403, 403, 403, 400, 400] },
    Row { method: "get", path: "/api/v1/me/bookings", expect: [401, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/api/v1/venues/{id}/bookings", expect: [401, 403, 200, 403, 200, 200] },
    Row { method: "post", path: "/api/v1/bookings/{id}/cancel", expect: [401, 200, 200, 200, 200, 200] },
    Row { method: "post", path: "/api/v1/accounts/{id}/roles", expect: [401, 403, 201, 403, 201, 201] },
    Row { method: "get", path: "/api/v1/audit", expect: [401, 403, 200, 403, 200, 200] },
    Row { method: "delete", path: "/api/v1/accounts/{id}/roles", expect: [401, 403, 204, 403, 204, 204] },
    Row { method: "get", path: "/api/v1/accounts", expect: [401, 403, 200, 403, 200, 200] },
    Row { method: "get", path: "/api/v1/me/export", expect: [401, 200, 200, 200, 200, 200] },
    Row { method: "put", path: "/api/v1/me/password", expect: [401, 204, 204, 204, 204, 204] },
    // Public: the same answer for everyone (a wrong code is 400 whoever asks).
    Row { method: "post", path: "/api/v1/password-resets", expect: [202, 202, 202, 202, 202, 202] },
    Row { method: "post", path: "/api/v1/password-resets/confirm", expect: [400, 400, 400, 400, 400, 400] },
    // With a wrong password, so the accounts stay for the rows after: 400 means authorization passed.
    Row { method: "delete", path: "/api/v1/me", expect: [401, 400, 400, 400, 400, 400] },
    Row { method: "delete", path: "/api/v1/sessions/current", expect: [401, 204, 204, 204, 204, 401] },
];

/// The page table: the same callers in the same order; a browser answer (303 = sent elsewhere,
/// usually to log in). Pages ignore bearer tokens, so the API-token caller is a browser without
/// cookies: its GETs are anonymous and its forms fail the CSRF check (403). Logging out is last.
const PAGE_ROWS: &[Row] = &[
    Row { method: "get", path: "/", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/venues", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/venues/{id}", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/regions", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/regions/{code}", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/api/docs", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "get", path: "/static/{*path}", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "any", path: "/{*path}", expect: [404, 404, 404, 404, 404, 404] },
    Row { method: "get", path: "/register", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "post", path: "/register", expect: [303, 303, 303, 303, 303, 403] },
    Row { method: "get", path: "/login", expect: [200, 303, 303, 303, 303, 200] },
    // An unknown phone: 401 shows the form was taken (and counts against nobody's lockout).
    Row { method: "post", path: "/login", expect: [401, 401, 401, 401, 401, 403] },
    Row { method: "get", path: "/password-reset", expect: [200, 200, 200, 200, 200, 200] },
    Row { method: "post", path: "/password-reset", expect: [200, 200, 200, 200, 200, 403] },
    Row { method: "post", path: "/password-reset/confirm", expect: [400, 400, 400, 400, 400, 403] },
    Row { method: "get", path: "/account", expect: [303, 200, 200, 200, 200, 303] },
    // A wrong check digit / current password: 400 means the form reached the rule checks.
    Row { method: "post", path: "/account/identity", expect: [303, 400, 400, 400, 400, 403] },
    Row { method: "post", path: "/account/password", expect: [303, 400, 400, 400, 400, 403] },
    Row { method: "get", path: "/account/export", expect: [303, 200, 200, 200, 200, 303] },
    Row { method: "get", path: "/account/tokens", expect: [303, 200, 200, 200, 200, 303] },
    Row { method: "post", path: "/account/tokens", expect: [303, 201, 201, 201, 201, 403] },
    Row { method: "post", path: "/account/tokens/{id}/revoke", expect: [303, 303, 303, 303, 303, 403] },
    Row { method: "get", path: "/venues/{id}/book", expect: [200, 200, 200, 200, 200, 200] },
    // Operator pages of the venue `base` (330106, Hangzhou): its administrators; forms redirect back.
    Row { method: "get", path: "/venues/{id}/manage", expect: [303, 403, 200, 403, 200, 303] },
    Row { method: "post", path: "/venues/{id}/manage/resources", expect: [303, 403, 303, 403, 303, 403] },
    Row { method: "post", path: "/venues/{id}/manage/resources/{rid}", expect: [303, 403, 303, 403, 303, 403] },
    Row { method: "post", path: "/venues/{id}/manage/resources/{rid}/closures", expect: [303, 403, 303, 403, 303, 403] },
    Row { method: "post", path: "/venues/{id}/manage/check-in", expect: [303, 403, 403, 403, 400, 403] },
    Row { method: "post", path: "/bookings", expect: [303, 303, 303, 303, 303, 403] },
    Row { method: "get", path: "/account/bookings", expect: [303, 200, 200, 200, 200, 303] },
    Row { method: "get", path: "/account/fitness", expect: [303, 200, 200, 200, 200, 303] },
    // The result-entry page of station `base-station`: its staff or a platform administrator.
    Row { method: "get", path: "/stations/{id}/results", expect: [303, 403, 403, 403, 200, 303] },
    Row { method: "post", path: "/stations/{id}/results", expect: [303, 403, 403, 403, 200, 403] },
    Row { method: "post", path: "/account/bookings/{id}/confirm", expect: [303, 409, 409, 409, 409, 403] },
    Row { method: "post", path: "/account/bookings/{id}/cancel", expect: [303, 303, 303, 303, 303, 403] },
    Row { method: "get", path: "/admin", expect: [303, 303, 303, 303, 303, 303] },
    Row { method: "get", path: "/admin/users", expect: [303, 403, 200, 200, 200, 303] },
    Row { method: "post", path: "/admin/users/{id}/roles", expect: [303, 403, 303, 403, 303, 403] },
    Row { method: "get", path: "/admin/audit", expect: [303, 403, 200, 200, 200, 303] },
    Row { method: "post", path: "/account/delete", expect: [303, 400, 400, 400, 400, 403] },
    Row { method: "post", path: "/logout", expect: [303, 303, 303, 303, 303, 403] },
];

/// The concrete page request of a row for an actor: path and form fields (the CSRF field is added
/// by [`send_page`]).
fn page_request_for(row: &Row, actor: &Actor, index: usize, target: AccountId) -> (String, Vec<(&'static str, String)>) {
    let district = DISTRICTS[index].to_string();
    match (row.method, row.path) {
        ("get", "/venues/{id}") => ("/venues/base".into(), vec![]),
        ("get", "/regions/{code}") => ("/regions/3301".into(), vec![]),
        ("get", "/static/{*path}") => ("/static/css/site.css".into(), vec![]),
        ("any", "/{*path}") => ("/no-such-page".into(), vec![]),
        ("post", "/register") => (
            "/register".into(),
            vec![
                ("phone", format!("1350000000{index}")),
                ("name", "页面用户".into()),
                ("password", "page password".into()),
                ("password_repeat", "page password".into()),
            ],
        ),
        ("post", "/login") => ("/login".into(), vec![("phone", "13500000099".into()), ("password", "page password".into())]),
        ("post", "/password-reset") => ("/password-reset".into(), vec![("phone", format!("1370000000{index}"))]),
        ("post", "/password-reset/confirm") => (
            "/password-reset/confirm".into(),
            vec![
                ("phone", format!("1370000000{index}")),
                ("code", "00000000".into()),
                ("new_password", "page password".into()),
                ("password_repeat", "page password".into()),
            ],
        ),
        ("post", "/account/identity") => ("/account/identity".into(), vec![("id_number", "330106199001011234".into())]),
        ("post", "/account/password") => (
            "/account/password".into(),
            vec![("current_password", "not the password".into()), ("new_password", "page password".into()), ("password_repeat", "page password".into())],
        ),
        ("post", "/account/tokens") => ("/account/tokens".into(), vec![("name", "page matrix".into())]),
        ("get", "/venues/{id}/book") => ("/venues/base/book?resource=matrix-pool".into(), vec![]),
        ("get", "/venues/{id}/manage") => ("/venues/base/manage".into(), vec![]),
        ("post", "/venues/{id}/manage/resources") => ("/venues/base/manage/resources".into(), page_resource_fields(Some(format!("page-r-{index}")))),
        ("post", "/venues/{id}/manage/resources/{rid}") => ("/venues/base/manage/resources/base-court".into(), page_resource_fields(None)),
        ("post", "/venues/{id}/manage/resources/{rid}/closures") => {
            let day = (Utc::now() + chrono::Duration::days(31)).format("%Y-%m-%d");
            let fields = vec![("from", format!("{day}T08:00")), ("to", format!("{day}T10:00")), ("reason", "页面矩阵".into())];
            ("/venues/base/manage/resources/base-court/closures".into(), fields)
        }
        ("post", "/venues/{id}/manage/check-in") => ("/venues/base/manage/check-in".into(), vec![("code", "1-000000000000".into())]),
        ("get", "/stations/{id}/results") => ("/stations/base-station/results".into(), vec![]),
        ("post", "/stations/{id}/results") => (
            "/stations/base-station/results".into(),
            vec![
                ("standard", "cnsphs-2014".into()),
                ("sex", "F".into()),
                ("grade", "3".into()),
                ("test_date", "2026-05-10".into()),
                ("person_ref", format!("page-{index}")),
                ("m.height_cm", "130.0".into()),
                ("m.weight_kg", "28.0".into()),
            ],
        ),
        ("post", "/bookings") => {
            ("/bookings".into(), vec![("slot_id", booking_slot()), ("places", "1".into()), ("key", format!("page-{index}")), ("venue", "base".into())])
        }
        ("post", "/account/bookings/{id}/confirm") => (format!("/account/bookings/{}/confirm", actor.last_booking_id.as_deref().unwrap_or("1")), vec![]),
        ("post", "/account/bookings/{id}/cancel") => (format!("/account/bookings/{}/cancel", actor.last_booking_id.as_deref().unwrap_or("1")), vec![]),
        ("post", "/account/tokens/{id}/revoke") => (format!("/account/tokens/{}/revoke", actor.last_token_id.as_deref().unwrap_or("1")), vec![]),
        ("post", "/admin/users/{id}/roles") => {
            (format!("/admin/users/{target}/roles"), vec![("role", "region_admin".into()), ("scope", district), ("change", "grant".into())])
        }
        ("post", "/account/delete") => ("/account/delete".into(), vec![("password", "not the password".into()), ("confirm", "yes".into())]),
        (_, path) => (path.to_string(), vec![]),
    }
}

/// A browser request: the actor's session cookie, or for anonymous callers a form cookie; forms
/// carry the matching CSRF field. Redirects are not followed.
async fn send_page(http: &reqwest::Client, base: &str, actor: &Actor, method: &str, path: &str, fields: Vec<(&'static str, String)>) -> (u16, String) {
    let method = if method == "any" { "get" } else { method };
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let is_post = method == reqwest::Method::POST;
    let mut request = http.request(method, format!("{base}{path}"));
    let csrf = match (&actor.cookie, &actor.csrf, actor.name) {
        (Some(cookie), Some(csrf), _) => {
            request = request.header("cookie", cookie);
            Some(csrf.clone())
        }
        (_, _, "platform_api_token") => {
            request = request.bearer_auth(actor.bearer.as_deref().unwrap_or(""));
            None
        }
        _ => {
            request = request.header("cookie", format!("ffa_form={ANONYMOUS_FORM_TOKEN}"));
            Some(ANONYMOUS_FORM_TOKEN.to_string())
        }
    };
    if is_post {
        let mut form = fields;
        if let Some(csrf) = csrf {
            form.push(("csrf", csrf));
        }
        request = request.form(&form);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    // A redirect's body is empty: report where it goes instead (the page rows read booking ids from it).
    if let Some(location) = response.headers().get("location").and_then(|value| value.to_str().ok()).filter(|_| (300..400).contains(&status)) {
        return (status, location.to_string());
    }
    (status, response.text().await.unwrap())
}

/// The double-submit token the anonymous browser holds in its `ffa_form` cookie.
const ANONYMOUS_FORM_TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn venue_body(id: &str) -> Value {
    json!({"id": id, "name": format!("矩阵场馆 {id}"), "region_code": "330106", "lat": 30.25, "lng": 120.15, "type": "ball_courts", "sports_area_m2": 500})
}

fn resource_body(id: &str) -> Value {
    json!({"id": id, "name": format!("矩阵场地 {id}"), "kind": "court",
        "slot_rules": [{"weekdays": "1-7", "start": "08:00", "end": "10:00", "slot_length_min": 60, "places": 2}]})
}

/// The operator page's resource form: `resource_body`'s fields (with `id` when creating).
fn page_resource_fields(id: Option<String>) -> Vec<(&'static str, String)> {
    let mut fields: Vec<(&'static str, String)> = id.into_iter().map(|id| ("id", id)).collect();
    fields.extend([("name", "矩阵场地 base-court".to_string()), ("kind", "court".into())]);
    fields.extend((1..=7).map(|day| ("slot_rules[0].days", day.to_string())));
    fields.extend([
        ("slot_rules[0].start", "08:00".to_string()),
        ("slot_rules[0].end", "10:00".into()),
        ("slot_rules[0].slot_length_min", "60".into()),
        ("slot_rules[0].places", "2".into()),
        ("slot_rules[0].price", "0".into()),
    ]);
    fields
}

/// A valid identity number per actor (region 330106, a different sequence each).
fn id_number(index: usize) -> String {
    let first17 = format!("3301061990030710{index}");
    let bytes: [u8; 17] = first17.as_bytes().try_into().unwrap();
    format!("{first17}{}", check_digit(&bytes))
}

/// The concrete request a row makes for an actor: path and body.
/// Hangzhou districts, one per actor: the region-administrator role each actor grants (and revokes).
const DISTRICTS: [&str; 6] = ["330102", "330105", "330106", "330108", "330109", "330110"];

fn request_for(row: &Row, actor: &Actor, index: usize, target: AccountId) -> (String, Option<Value>) {
    let own_venue = format!("m-{}", actor.name.replace('_', "-"));
    match (row.method, row.path) {
        ("get", "/api/v1/regions") => ("/api/v1/regions?q=%E8%A5%BF%E6%B9%96".into(), None),
        ("get", "/api/v1/regions/{code}") => ("/api/v1/regions/3301".into(), None),
        ("get", "/api/v1/places") => ("/api/v1/places?q=%E8%A5%BF%E6%B9%96".into(), None),
        ("get", "/api/v1/venues") => ("/api/v1/venues?lat=30.25&lng=120.15".into(), None),
        ("get", "/api/v1/venues.geojson") => ("/api/v1/venues.geojson?region=3301".into(), None),
        ("get", "/api/v1/venues/{id}") => ("/api/v1/venues/base".into(), None),
        ("post", "/api/v1/venues") => ("/api/v1/venues".into(), Some(venue_body(&own_venue))),
        ("put", "/api/v1/venues/{id}") => ("/api/v1/venues/base".into(), Some(venue_body("base"))),
        // Each actor deletes a venue of its own, made through the store before the run.
        ("delete", "/api/v1/venues/{id}") => (format!("/api/v1/venues/del-{index}"), None),
        ("get", "/api/v1/venues/{id}/resources") => ("/api/v1/venues/base/resources".into(), None),
        ("post", "/api/v1/venues/{id}/resources") => ("/api/v1/venues/base/resources".into(), Some(resource_body(&format!("r-{own_venue}")))),
        ("get", "/api/v1/resources/{id}") => ("/api/v1/resources/base-court".into(), None),
        ("put", "/api/v1/resources/{id}") => ("/api/v1/resources/base-court".into(), Some(resource_body("base-court"))),
        ("get", "/api/v1/resources/{id}/slots") => ("/api/v1/resources/base-court/slots?days=2".into(), None),
        ("post", "/api/v1/resources/{id}/closures") => {
            let day = (Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d");
            ("/api/v1/resources/base-court/closures".into(), Some(json!({"from": format!("{day}T08:00"), "to": format!("{day}T10:00"), "reason": "矩阵"})))
        }
        ("get", "/api/v1/resources/{id}/closures") => ("/api/v1/resources/base-court/closures".into(), None),
        ("get", "/api/v1/indicators/per-capita-sports-area") => ("/api/v1/indicators/per-capita-sports-area?region=3301".into(), None),
        ("get", "/api/v1/openapi.json") => ("/api/v1/openapi.json".into(), None),
        ("post", "/api/v1/stations") => ("/api/v1/stations".into(), Some(json!({"id": format!("st-{own_venue}"), "name": "测试站", "region": "330106"}))),
        ("post", "/api/v1/stations/{id}/results") => (
            "/api/v1/stations/base-station/results".into(),
            Some(json!({"standard": "cnsphs-2014", "sex": "男", "grade": "初一", "test_date": "2026-05-10", "person_ref": format!("m-{index}"),
                "measurements": {"height_cm": "160.0", "weight_kg": "50.0"}})),
        ),
        ("get", "/api/v1/indicators/fitness-pass-rate") => ("/api/v1/indicators/fitness-pass-rate?region=3301&year=2026&standard=cnsphs-2014".into(), None),
        ("post", "/api/v1/accounts") => {
            ("/api/v1/accounts".into(), Some(json!({"phone": format!("1390000000{index}"), "password": "matrix password", "name": "新用户"})))
        }
        ("post", "/api/v1/sessions") => ("/api/v1/sessions".into(), Some(json!({"phone": format!("1390000000{index}"), "password": "matrix password"}))),
        ("put", "/api/v1/me/identity") => ("/api/v1/me/identity".into(), Some(json!({"id_number": id_number(index)}))),
        ("post", "/api/v1/me/tokens") => ("/api/v1/me/tokens".into(), Some(json!({"name": "matrix"}))),
        ("post", "/api/v1/bookings") => ("/api/v1/bookings".into(), Some(json!({"slot_id": booking_slot(), "places": 1}))),
        ("get", "/api/v1/bookings/{id}") => (format!("/api/v1/bookings/{}", actor.last_booking_id.as_deref().unwrap_or("1")), None),
        ("post", "/api/v1/bookings/{id}/confirm") => (format!("/api/v1/bookings/{}/confirm", actor.last_booking_id.as_deref().unwrap_or("1")), None),
        ("post", "/api/v1/bookings/{id}/cancel") => (format!("/api/v1/bookings/{}/cancel", actor.last_booking_id.as_deref().unwrap_or("1")), None),
        ("get", "/api/v1/bookings/{id}/check-in-code") => (format!("/api/v1/bookings/{}/check-in-code", actor.last_booking_id.as_deref().unwrap_or("1")), None),
        ("post", "/api/v1/venues/{id}/check-ins") => ("/api/v1/venues/base/check-ins".into(), Some(json!({"code": "1-000000000000"}))),
        ("get", "/api/v1/bookings/{id}/calendar.ics") => (format!("/api/v1/bookings/{}/calendar.ics", actor.last_booking_id.as_deref().unwrap_or("1")), None),
        ("get", "/api/v1/venues/{id}/bookings") => ("/api/v1/venues/base/bookings".into(), None),
        ("delete", "/api/v1/me/tokens/{id}") => (format!("/api/v1/me/tokens/{}", actor.last_token_id.as_deref().unwrap_or("1")), None),
        ("post" | "delete", "/api/v1/accounts/{id}/roles") => {
            (format!("/api/v1/accounts/{target}/roles"), Some(json!({"role": "region_admin", "scope": DISTRICTS[index]})))
        }
        ("get", "/api/v1/audit") => ("/api/v1/audit?region=3301".into(), None),
        ("get", "/api/v1/accounts") => ("/api/v1/accounts?region=3301".into(), None),
        ("get", "/api/v1/me/export") => ("/api/v1/me/export".into(), None),
        ("put", "/api/v1/me/password") => {
            ("/api/v1/me/password".into(), Some(json!({"current_password": "matrix password", "new_password": "matrix password, changed"})))
        }
        ("post", "/api/v1/password-resets") => ("/api/v1/password-resets".into(), Some(json!({"phone": format!("1370000000{index}")}))),
        ("post", "/api/v1/password-resets/confirm") => (
            "/api/v1/password-resets/confirm".into(),
            Some(json!({"phone": format!("1370000000{index}"), "code": "00000000", "new_password": "matrix password, reset"})),
        ),
        ("delete", "/api/v1/me") => ("/api/v1/me".into(), Some(json!({"password": "not the password"}))),
        (_, path) => (path.to_string(), None),
    }
}

async fn send(http: &reqwest::Client, base: &str, actor: &Actor, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut request = http.request(method, format!("{base}{path}"));
    if path == "/api/v1/bookings" {
        request = request.header("idempotency-key", format!("matrix-{}", actor.name));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    if let Some(cookie) = &actor.cookie {
        request = request.header("cookie", cookie);
    }
    if let Some(csrf) = &actor.csrf {
        request = request.header("x-csrf-token", csrf);
    }
    if let Some(token) = &actor.bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn every_route_for_every_caller_on_every_backend() {
    for database in TestDatabase::all().await {
        matrix(&database).await;
    }
}

async fn matrix(database: &TestDatabase) {
    let label = database.label;
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), database.url.clone());
    config.secret = Some("matrix secret, long enough to key the identity hashes".into());
    config.resets_per_ip_per_hour = 100;
    config.login_per_ip_per_minute = 1_000;
    config.registrations_per_ip_per_hour = 100;
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let state = app.state.clone();
    tokio::spawn(app.serve(std::future::pending()));
    let store = state.store();
    let now = Utc::now();
    let http = reqwest::Client::new();

    // Every route in the OpenAPI document has a row, and every row a route.
    let document = serde_json::to_value(fitforall_server::api::openapi_document()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    documented.insert(("get".into(), "/api/v1/openapi.json".into()));
    let table: BTreeSet<(String, String)> = ROWS.iter().map(|row| (row.method.to_string(), row.path.to_string())).collect();
    assert_eq!(table, documented, "the matrix table and the routes differ: add a row for every new route");
    let page_table: BTreeSet<(String, String)> = PAGE_ROWS.iter().map(|row| (row.method.to_string(), row.path.to_string())).collect();
    let page_routes: BTreeSet<(String, String)> =
        fitforall_server::web::page_route_list().into_iter().map(|(method, path)| (method.to_string(), path.to_string())).collect();
    assert_eq!(page_table, page_routes, "the page table and the page routes differ: add a row for every new page route");

    // The world: a venue to read and update, one venue per actor to delete, population for the indicator.
    let base_venue: fitforall_core::venue::VenueInput = serde_json::from_value(venue_body("base")).unwrap();
    let tree = state.snapshot().regions.clone();
    let parse = |input: &fitforall_core::venue::VenueInput, id: &str| {
        input.parse(fitforall_core::venue::VenueId::parse(id).unwrap(), |code| tree.contains(code)).unwrap()
    };
    let mut venues = vec![parse(&base_venue, "base")];
    for index in 0..ACTORS.len() {
        venues.push(parse(&base_venue, &format!("del-{index}")));
    }
    store.upsert_venues(&venues, now).await.unwrap();
    let population = PopulationRecord { region: RegionCode::parse("330106").unwrap(), year: 2024, population: 1_000_000 };
    store.upsert_population(&[population], now).await.unwrap();
    state.refresh_if_stale().await.unwrap();
    // A bookable resource of `base` to read, update and close.
    let resource_input = fitforall_server::api::resources::ResourceInput { id: None, ..serde_json::from_value(resource_body("base-court")).unwrap() };
    let fields = resource_input.parse_fields().unwrap();
    let resource = fitforall_store::Resource {
        id: fitforall_core::booking::ResourceId::parse("base-court").unwrap(),
        venue: fitforall_core::venue::VenueId::parse("base").unwrap(),
        province: "33".into(),
        name: fields.name,
        kind: fields.kind,
        slot_rules: fields.slot_rules,
        booking_rules: fields.booking_rules,
        real_name: false,
        created_at: now,
        updated_at: now,
    };
    store.create_resource(&resource).await.unwrap();
    let station = fitforall_store::Station {
        id: fitforall_core::policy::StationId::parse("base-station").unwrap(),
        name: "矩阵测试站".into(),
        region: RegionCode::parse("330106").unwrap(),
        address: String::new(),
        venue: None,
        created_at: now,
        updated_at: now,
    };
    store.create_station(&station).await.unwrap();
    // The resource everybody books: 20 places, the window always open.
    let pool_rule = fitforall_core::booking::SlotRuleInput {
        weekdays: "1-7".into(),
        start: "08:00".into(),
        end: "10:00".into(),
        slot_length_min: 60,
        places: 20,
        price_fen: 0,
        reduced_price_fen: None,
    };
    let pool = fitforall_store::Resource {
        id: fitforall_core::booking::ResourceId::parse("matrix-pool").unwrap(),
        slot_rules: vec![pool_rule.parse().unwrap()],
        booking_rules: fitforall_core::booking::BookingRulesInput { opens_at: Some("00:00".into()), days_ahead: Some(14), ..Default::default() }
            .parse()
            .unwrap(),
        name: "矩阵泳池".into(),
        ..resource.clone()
    };
    store.create_resource(&pool).await.unwrap();
    let tomorrow = (Utc::now() + chrono::Duration::hours(32)).date_naive();
    let specs = fitforall_core::booking::generate_slots(&pool.slot_rules, &[], tomorrow, 1);
    store.ensure_slots(&pool, &specs, &mut fitforall_server::auth::new_id).await.unwrap();
    let pool_slots = store.slots_between(&pool.id, tomorrow.and_hms_opt(0, 0, 0).unwrap(), tomorrow.and_hms_opt(23, 0, 0).unwrap()).await.unwrap();
    *BOOKING_SLOT.lock().unwrap() = pool_slots[0].id.to_string();

    // The callers: accounts with their grants, logged in with a session; and a program with an API token.
    let roles: [Option<Role>; 6] = [
        None,
        None,
        Some(Role::RegionAdmin { region: RegionCode::parse("3301").unwrap() }),
        Some(Role::RegionAdmin { region: RegionCode::parse("3302").unwrap() }),
        Some(Role::PlatformAdmin),
        Some(Role::PlatformAdmin),
    ];
    let mut actors = Vec::new();
    for (index, name) in ACTORS.iter().enumerate() {
        let mut actor = Actor { name, cookie: None, csrf: None, bearer: None, last_token_id: None, last_booking_id: None };
        match *name {
            "anonymous" => {}
            _ => {
                let phone = format!("1370000000{index}");
                let id = AccountId::new(fitforall_server::auth::new_id());
                let password_hash = fitforall_server::auth::hash_password("matrix password".into()).await;
                let account = fitforall_store::NewAccount { id, phone: phone.clone(), name: name.to_string(), password_hash, home_region: None };
                store.create_account(&account, now).await.unwrap();
                if let Some(role) = &roles[index] {
                    store.grant_role(fitforall_server::auth::new_id(), id, role, None, now).await.unwrap();
                }
                if *name == "platform_api_token" {
                    let (token, token_hash) = fitforall_server::auth::new_token();
                    store.create_api_token(fitforall_server::auth::new_id(), &token_hash, id, "matrix", now).await.unwrap();
                    actor.bearer = Some(token);
                    actors.push(actor);
                    continue;
                }
                let response = http.post(format!("{base}/api/v1/sessions")).json(&json!({"phone": phone, "password": "matrix password"})).send().await.unwrap();
                assert_eq!(response.status().as_u16(), 200, "{name} logs in");
                let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
                let body: Value = response.json().await.unwrap();
                actor.cookie = Some(cookie);
                actor.csrf = body["csrf_token"].as_str().map(str::to_string);
            }
        }
        actors.push(actor);
    }

    // The account roles are granted to and revoked from.
    let target = AccountId::new(fitforall_server::auth::new_id());
    let account = fitforall_store::NewAccount { id: target, phone: "13600000000".into(), name: "target".into(), password_hash: "x".into(), home_region: None };
    store.create_account(&account, now).await.unwrap();

    let mut failures = Vec::new();
    for row in ROWS {
        for (index, actor) in actors.iter_mut().enumerate() {
            let (path, body) = request_for(row, actor, index, target);
            let (status, reply) = send(&http, &base, actor, row.method, &path, body).await;
            if row.path == "/api/v1/me/tokens" && row.method == "post" && status == 201 {
                actor.last_token_id = reply["id"].as_str().map(str::to_string);
            }
            if row.path == "/api/v1/bookings" && status == 201 {
                actor.last_booking_id = reply["id"].as_str().map(str::to_string);
            }
            if status != row.expect[index] {
                failures.push(format!(
                    "{label}: {} {} as {}: expected {}, got {status}: {reply}",
                    row.method.to_uppercase(),
                    row.path,
                    actor.name,
                    row.expect[index]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    // Each allowed grant and revocation is in the audit log.
    for action in ["grant_role", "revoke_role"] {
        let query = fitforall_store::AuditQuery { actor: None, action: Some(action.into()), region: None, from: None, to: None, limit: 50, offset: 0 };
        assert_eq!(store.search_audit(&query).await.unwrap().len(), 3, "{label}: {action}");
    }
    assert!(store.active_roles(target).await.unwrap().is_empty(), "{label}: every grant was revoked again");

    // The pages, as browsers: the account actors log in again (the API rows changed their password
    // and logged them out).
    for (index, actor) in actors.iter_mut().enumerate() {
        actor.last_token_id = None;
        if actor.cookie.is_none() {
            continue;
        }
        let phone = format!("1370000000{index}");
        let response =
            http.post(format!("{base}/api/v1/sessions")).json(&json!({"phone": phone, "password": "matrix password, changed"})).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{label}: {} logs in again", actor.name);
        actor.cookie = Some(response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string());
        let body: Value = response.json().await.unwrap();
        actor.csrf = body["csrf_token"].as_str().map(str::to_string);
    }
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut failures = Vec::new();
    for row in PAGE_ROWS {
        for (index, actor) in actors.iter_mut().enumerate() {
            let (path, fields) = page_request_for(row, actor, index, target);
            let (status, body) = send_page(&browser, &base, actor, row.method, &path, fields).await;
            if row.path == "/account/tokens" && row.method == "post" && status == 201 {
                actor.last_token_id = body.split("action=\"/account/tokens/").nth(1).and_then(|rest| rest.split('/').next()).map(str::to_string);
            }
            if row.path == "/bookings" && status == 303 {
                actor.last_booking_id = body.split("booked=").nth(1).map(str::to_string);
            }
            if status != row.expect[index] {
                let excerpt: String = body.chars().take(300).collect();
                failures.push(format!(
                    "{label}: page {} {} as {}: expected {}, got {status}: {excerpt}",
                    row.method.to_uppercase(),
                    row.path,
                    actor.name,
                    row.expect[index]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} page mismatches:\n{}", failures.len(), failures.join("\n"));
    let granted = store.active_roles(target).await.unwrap();
    assert_eq!(granted.len(), 2, "{label}: the Hangzhou and the platform administrator granted through the page: {granted:?}");
}
