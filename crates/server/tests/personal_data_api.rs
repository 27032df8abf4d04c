//! Personal data and account security over HTTP (issue 3): password change, password reset by SMS
//! code through the outbox, the data export, account deletion, and the administrators' account list.
//! Black-box: the real application on port 0, a fresh database per backend (SQLite, and PostgreSQL
//! when FITFORALL_TEST_DATABASE_URL is set), messages caught by a capturing sender.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use fitforall_core::identity::ResidentIdNumber;
use fitforall_core::policy::{AccountId, Role};
use fitforall_core::region::RegionCode;
use fitforall_server::config::ServerConfig;
use fitforall_server::outbox::{MessageSender, deliver_pending};
use fitforall_server::startup::Application;
use fitforall_server::state::AppState;
use fitforall_store::OutboxMessage;
use fitforall_store::testing::TestDatabase;
use serde_json::{Value, json};

const SECRET: &str = "a test secret that is long enough to key hashes";
/// A valid identity number: region 330106, born 1990-03-07, sequence 123, check digit 6.
const ID_NUMBER: &str = "330106199003071236";

/// Keeps every message it is given; fails while `failing` is set.
#[derive(Default)]
struct CapturingSender {
    messages: Mutex<Vec<OutboxMessage>>,
    failing: std::sync::atomic::AtomicBool,
}

impl MessageSender for CapturingSender {
    fn send<'a>(&'a self, message: &'a OutboxMessage) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
                return Err("gateway unavailable".to_string());
            }
            self.messages.lock().unwrap().push(message.clone());
            Ok(())
        })
    }
}

impl CapturingSender {
    fn messages(&self) -> Vec<OutboxMessage> {
        self.messages.lock().unwrap().clone()
    }
}

struct TestApp {
    base: String,
    state: AppState,
    sender: Arc<CapturingSender>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// `adjust` changes the config; by default the background sender waits an hour between rounds, so
/// the tests deliver with `deliver_pending` when they choose.
async fn spawn_app(database: &TestDatabase, adjust: impl FnOnce(&mut ServerConfig)) -> TestApp {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), database.url.clone());
    config.secret = Some(SECRET.into());
    config.resets_per_ip_per_hour = 1_000;
    config.outbox_poll_ms = 3_600_000;
    adjust(&mut config);
    let sender = Arc::new(CapturingSender::default());
    let app = Application::build_with_sender(config, sender.clone()).await.unwrap_or_else(|error| panic!("{}: {error}", database.label));
    let base = format!("http://{}", app.local_addr());
    let state = app.state.clone();
    let (shutdown, receiver) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(async move {
        let _ = receiver.await;
    }));
    TestApp { base, state, sender, _shutdown: shutdown }
}

/// A client with its own cookie, CSRF token and bearer token, and the headers of the last answer.
struct Client {
    http: reqwest::Client,
    base: String,
    csrf: Option<String>,
    bearer: Option<String>,
    cookie: Option<String>,
    last_headers: reqwest::header::HeaderMap,
}

impl Client {
    fn new(app: &TestApp) -> Client {
        Client { http: reqwest::Client::new(), base: app.base.clone(), csrf: None, bearer: None, cookie: None, last_headers: Default::default() }
    }

    fn with_bearer(app: &TestApp, token: &str) -> Client {
        Client { bearer: Some(token.to_string()), ..Client::new(app) }
    }

    async fn call(&mut self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        self.last_headers = response.headers().clone();
        if let Some(set_cookie) = response.headers().get("set-cookie").and_then(|value| value.to_str().ok()) {
            let pair = set_cookie.split(';').next().unwrap().to_string();
            self.cookie = if pair.ends_with('=') { None } else { Some(pair) };
        }
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn get(&mut self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&mut self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn put(&mut self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    async fn delete(&mut self, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call(reqwest::Method::DELETE, path, body).await
    }

    async fn login(&mut self, phone: &str, password: &str) -> (u16, Value) {
        let (status, body) = self.post("/api/v1/sessions", json!({"phone": phone, "password": password})).await;
        if status == 200 {
            self.csrf = body["csrf_token"].as_str().map(str::to_string);
        }
        (status, body)
    }

    fn header(&self, name: &str) -> Option<String> {
        self.last_headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_string)
    }
}

/// Registers an account through the API and returns its id.
async fn register(app: &TestApp, phone: &str, password: &str, home_region: Option<&str>) -> AccountId {
    let mut client = Client::new(app);
    let (status, body) = client.post("/api/v1/accounts", json!({"phone": phone, "password": password, "name": "测试居民", "home_region": home_region})).await;
    assert_eq!(status, 201, "register {phone}: {body}");
    AccountId::new(body["id"].as_str().unwrap().parse().unwrap())
}

async fn logged_in(app: &TestApp, phone: &str, password: &str) -> Client {
    let mut client = Client::new(app);
    let (status, body) = client.login(phone, password).await;
    assert_eq!(status, 200, "log in {phone}: {body}");
    client
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error: {body}"))
}

/// The fields a 400 names.
fn fields(body: &Value) -> Vec<String> {
    body["error"]["details"]
        .as_array()
        .map(|details| details.iter().map(|detail| detail["field"].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

/// The first run of exactly eight digits in a message: the reset code.
fn code_in(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut start = 0;
    while start < chars.len() {
        if !chars[start].is_ascii_digit() {
            start += 1;
            continue;
        }
        let end = (start..chars.len()).find(|index| !chars[*index].is_ascii_digit()).unwrap_or(chars.len());
        if end - start == 8 {
            return chars[start..end].iter().collect();
        }
        start = end;
    }
    panic!("no 8-digit code in {text:?}")
}

/// Another valid-looking code (same length, different digits).
fn other_code(code: &str, step: u64) -> String {
    let number: u64 = code.parse().unwrap();
    format!("{:08}", (number + step) % 100_000_000)
}

async fn password_change_story(database: &TestDatabase) {
    let label = database.label;
    let app = spawn_app(database, |_| {}).await;
    register(&app, "13800001111", "alice password", None).await;
    let mut laptop = logged_in(&app, "13800001111", "alice password").await;
    let mut phone = logged_in(&app, "13800001111", "alice password").await;
    let (status, body) = laptop.post("/api/v1/me/tokens", json!({"name": "script"})).await;
    assert_eq!(status, 201, "{label}: {body}");
    let mut program = Client::with_bearer(&app, body["token"].as_str().unwrap());

    // Bad input: every 400 names its field; nothing is changed.
    let (status, body) = laptop.put("/api/v1/me/password", json!({"current_password": "wrong password", "new_password": "a new password"})).await;
    assert_eq!((status, fields(&body)), (400, vec!["current_password".to_string()]), "{label}: {body}");
    let (status, body) = laptop.put("/api/v1/me/password", json!({"current_password": "alice password", "new_password": "short"})).await;
    assert_eq!((status, fields(&body)), (400, vec!["new_password".to_string()]), "{label}: {body}");
    let (status, body) = laptop.put("/api/v1/me/password", json!({"current_password": "alice password", "new_password": "x13800001111x"})).await;
    assert_eq!((status, fields(&body)), (400, vec!["new_password".to_string()]), "{label}: contains the phone: {body}");
    let (status, body) = laptop.put("/api/v1/me/password", json!({"current_password": "alice password", "new_password": "alice password"})).await;
    assert_eq!((status, fields(&body)), (400, vec!["new_password".to_string()]), "{label}: unchanged: {body}");
    let (status, body) = laptop.put("/api/v1/me/password", json!({"current_password": "alice password"})).await;
    assert_eq!(status, 400, "{label}: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("new_password"), "{label}: {body}");
    let (status, _) = laptop.put("/api/v1/me/password", json!({"current_password": "alice password", "new_password": 5})).await;
    assert_eq!(status, 400, "{label}");

    // The change: the other session ends, this one and the API token stay; the old password stops working.
    let (status, body) = laptop.put("/api/v1/me/password", json!({"current_password": "alice password", "new_password": "alice new password"})).await;
    assert_eq!(status, 204, "{label}: {body}");
    assert_eq!(laptop.get("/api/v1/me").await.0, 200, "{label}: the changing session stays");
    assert_eq!(phone.get("/api/v1/me").await.0, 401, "{label}: other sessions end");
    assert_eq!(program.get("/api/v1/me").await.0, 200, "{label}: API tokens stay");
    assert_eq!(Client::new(&app).login("13800001111", "alice password").await.0, 401, "{label}: old password");
    assert_eq!(Client::new(&app).login("13800001111", "alice new password").await.0, 200, "{label}: new password");

    // With an API token: every session ends.
    let mut session = logged_in(&app, "13800001111", "alice new password").await;
    let (status, body) = program.put("/api/v1/me/password", json!({"current_password": "alice new password", "new_password": "alice third password"})).await;
    assert_eq!(status, 204, "{label}: {body}");
    assert_eq!(session.get("/api/v1/me").await.0, 401, "{label}");
    assert_eq!(Client::new(&app).login("13800001111", "alice third password").await.0, 200, "{label}");

    // Nobody else: anonymous 401.
    let (status, _) = Client::new(&app).put("/api/v1/me/password", json!({"current_password": "x", "new_password": "a new password"})).await;
    assert_eq!(status, 401, "{label}");

    // Wrong current passwords count as failed logins: the fifth locks the account, logins included.
    register(&app, "13800002222", "bob's password", None).await;
    let mut bob = logged_in(&app, "13800002222", "bob's password").await;
    for attempt in 1..=4 {
        let (status, body) = bob.put("/api/v1/me/password", json!({"current_password": "guess", "new_password": "a new password"})).await;
        assert_eq!(status, 400, "{label}: attempt {attempt}: {body}");
    }
    let (status, body) = bob.put("/api/v1/me/password", json!({"current_password": "guess", "new_password": "a new password"})).await;
    assert_eq!((status, error_code(&body)), (429, "too_many_requests"), "{label}: {body}");
    assert!(bob.header("retry-after").is_some_and(|seconds| seconds.parse::<i64>().unwrap() > 0), "{label}");
    let (status, _) = bob.put("/api/v1/me/password", json!({"current_password": "bob's password", "new_password": "a new password"})).await;
    assert_eq!(status, 429, "{label}: locked even with the right password");
    assert_eq!(Client::new(&app).login("13800002222", "bob's password").await.0, 429, "{label}: logins too");
}

#[tokio::test]
async fn password_change_on_every_backend() {
    for database in TestDatabase::all().await {
        password_change_story(&database).await;
    }
}

async fn password_reset_story(database: &TestDatabase) {
    let label = database.label;
    let app = spawn_app(database, |_| {}).await;
    let store = app.state.store();
    let carol = register(&app, "13800005555", "carol password", Some("330106")).await;
    let mut carol_session = logged_in(&app, "13800005555", "carol password").await;
    let mut anonymous = Client::new(&app);

    // The same answer whether or not the phone has an account, and not faster for unknown phones.
    let started = Instant::now();
    let (status, known) = anonymous.post("/api/v1/password-resets", json!({"phone": "138 0000 5555"})).await;
    assert_eq!(status, 202, "{label}: {known}");
    assert!(started.elapsed() >= Duration::from_millis(200), "{label}");
    let started = Instant::now();
    let (status, unknown) = anonymous.post("/api/v1/password-resets", json!({"phone": "13900009999"})).await;
    assert_eq!((status, &unknown), (202, &known), "{label}: the same answer");
    assert!(started.elapsed() >= Duration::from_millis(200), "{label}");
    let (status, body) = anonymous.post("/api/v1/password-resets", json!({"phone": "12345"})).await;
    assert_eq!((status, fields(&body)), (400, vec!["phone".to_string()]), "{label}: {body}");
    let (status, body) = anonymous.post("/api/v1/password-resets", json!({"telephone": "13800005555"})).await;
    assert_eq!(status, 400, "{label}: {body}");

    // One message, to carol's phone only: Chinese first, then English, with the code and the expiry.
    assert_eq!(deliver_pending(&app.state).await.unwrap(), 1, "{label}");
    assert_eq!(deliver_pending(&app.state).await.unwrap(), 0, "{label}: sent once");
    let messages = app.sender.messages();
    assert_eq!(messages.len(), 1, "{label}");
    let message = &messages[0];
    assert_eq!((message.channel.as_str(), message.recipient.as_str()), ("sms", "13800005555"), "{label}");
    assert_eq!(message.region, RegionCode::parse("330106").ok(), "{label}");
    assert!(message.body.starts_with("【全民健身】您的密码重置验证码是 "), "{label}: {}", message.body);
    assert!(message.body.contains("15 分钟内有效") && message.body.contains("valid for 15 minutes"), "{label}: {}", message.body);
    let code = code_in(&message.body);

    // Wrong inputs: the code is not spent by any of them.
    let confirm = |phone: &str, code: &str, password: &str| json!({"phone": phone, "code": code, "new_password": password});
    let (status, body) = anonymous.post("/api/v1/password-resets/confirm", confirm("13800005555", &other_code(&code, 1), "carol new password")).await;
    assert_eq!((status, error_code(&body), fields(&body)), (400, "invalid_code", vec!["code".to_string()]), "{label}: {body}");
    let wrong_code_answer = body.clone();
    let (status, body) = anonymous.post("/api/v1/password-resets/confirm", confirm("13900009999", &code, "carol new password")).await;
    assert_eq!((status, &body), (400, &wrong_code_answer), "{label}: an unknown phone gets the wrong-code answer");
    let (status, body) = anonymous.post("/api/v1/password-resets/confirm", confirm("13800005555", "12ab", "carol new password")).await;
    assert_eq!((status, fields(&body)), (400, vec!["code".to_string()]), "{label}: {body}");
    let (status, body) = anonymous.post("/api/v1/password-resets/confirm", confirm("13800005555", &code, "1234567890")).await;
    assert_eq!((status, fields(&body)), (400, vec!["new_password".to_string()]), "{label}: {body}");
    let (status, body) = anonymous.post("/api/v1/password-resets/confirm", confirm("555", &code, "carol new password")).await;
    assert_eq!((status, fields(&body)), (400, vec!["phone".to_string()]), "{label}: {body}");
    let (status, body) = anonymous.post("/api/v1/password-resets/confirm", json!({"phone": "13800005555", "code": code})).await;
    assert_eq!(status, 400, "{label}: {body}");

    // An API token made before the reset, already used (so this process remembers who it acts as).
    let (token, token_hash) = fitforall_server::auth::new_token();
    store.create_api_token(fitforall_server::auth::new_id(), &token_hash, carol, "before the reset", Utc::now()).await.unwrap();
    let with_token = || reqwest::Client::new().get(format!("{}/api/v1/me", app.base)).bearer_auth(&token).send();
    assert_eq!(with_token().await.unwrap().status().as_u16(), 200, "{label}: the token works before");

    // The right code: the password changes, every session ends, API tokens are revoked, the code is used up.
    let spaced = format!("{} {}", &code[..4], &code[4..]);
    let (status, body) = anonymous.post("/api/v1/password-resets/confirm", confirm("138-0000-5555", &spaced, "carol new password")).await;
    assert_eq!(status, 204, "{label}: {body}");
    assert_eq!(carol_session.get("/api/v1/me").await.0, 401, "{label}: sessions ended");
    assert_eq!(with_token().await.unwrap().status().as_u16(), 401, "{label}: API tokens revoked");
    assert_eq!(Client::new(&app).login("13800005555", "carol password").await.0, 401, "{label}: old password");
    assert_eq!(Client::new(&app).login("13800005555", "carol new password").await.0, 200, "{label}: new password");
    let (status, body) = anonymous.post("/api/v1/password-resets/confirm", confirm("13800005555", &code, "carol third password")).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_code"), "{label}: used: {body}");

    // An expired code (made through the store, fifteen minutes old) is refused.
    let now = Utc::now();
    let expired_hash = fitforall_server::auth::token_hash("13800005555:11112222");
    store.create_reset_code(&expired_hash, carol, now - chrono::Duration::seconds(1), now - chrono::Duration::minutes(15)).await.unwrap();
    let (status, body) = anonymous.post("/api/v1/password-resets/confirm", confirm("13800005555", "11112222", "carol third password")).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_code"), "{label}: expired: {body}");

    // At most three codes per account per hour (two so far): the fourth request is answered alike, sends nothing.
    for _ in 0..2 {
        let (status, body) = anonymous.post("/api/v1/password-resets", json!({"phone": "13800005555"})).await;
        assert_eq!((status, &body), (202, &known), "{label}");
    }
    assert_eq!(deliver_pending(&app.state).await.unwrap(), 1, "{label}: only the third code is sent");

    // Guessing: wrong codes count as failed logins; the fifth locks the account (429 with Retry-After),
    // and then even the right code and the right password are refused.
    register(&app, "13800006666", "dave password", None).await;
    let (status, _) = anonymous.post("/api/v1/password-resets", json!({"phone": "13800006666"})).await;
    assert_eq!(status, 202, "{label}");
    assert_eq!(deliver_pending(&app.state).await.unwrap(), 1, "{label}");
    let dave_code = code_in(&app.sender.messages().last().unwrap().body);
    for attempt in 1..=4 {
        let (status, body) =
            anonymous.post("/api/v1/password-resets/confirm", confirm("13800006666", &other_code(&dave_code, attempt), "dave new password")).await;
        assert_eq!((status, error_code(&body)), (400, "invalid_code"), "{label}: attempt {attempt}");
    }
    let (status, body) = anonymous.post("/api/v1/password-resets/confirm", confirm("13800006666", &other_code(&dave_code, 5), "dave new password")).await;
    assert_eq!((status, error_code(&body)), (429, "too_many_requests"), "{label}: {body}");
    assert!(anonymous.header("retry-after").is_some_and(|seconds| seconds.parse::<i64>().unwrap() >= 60), "{label}");
    let (status, _) = anonymous.post("/api/v1/password-resets/confirm", confirm("13800006666", &dave_code, "dave new password")).await;
    assert_eq!(status, 429, "{label}: locked, even with the right code");
    assert_eq!(Client::new(&app).login("13800006666", "dave password").await.0, 429, "{label}");
}

#[tokio::test]
async fn password_reset_on_every_backend() {
    for database in TestDatabase::all().await {
        password_reset_story(&database).await;
    }
}

async fn reset_limits_and_delivery_story(database: &TestDatabase) {
    let label = database.label;
    // Per client address: requests and confirmations share the limit.
    let app = spawn_app(database, |config| config.resets_per_ip_per_hour = 3).await;
    register(&app, "13800007777", "erin password", None).await;
    let mut client = Client::new(&app);
    for _ in 0..2 {
        assert_eq!(client.post("/api/v1/password-resets", json!({"phone": "13800007777"})).await.0, 202, "{label}");
    }
    let confirm = json!({"phone": "13800007777", "code": "00000000", "new_password": "erin new password"});
    assert_eq!(client.post("/api/v1/password-resets/confirm", confirm.clone()).await.0, 400, "{label}");
    let (status, body) = client.post("/api/v1/password-resets", json!({"phone": "13800007777"})).await;
    assert_eq!((status, error_code(&body)), (429, "too_many_requests"), "{label}: {body}");
    assert!(client.header("retry-after").is_some(), "{label}");
    assert_eq!(client.post("/api/v1/password-resets/confirm", confirm).await.0, 429, "{label}");

    // A failing sender: the message is kept and retried later, not lost and not marked sent.
    app.sender.failing.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(deliver_pending(&app.state).await.unwrap(), 0, "{label}");
    assert!(app.sender.messages().is_empty(), "{label}");
    let retry = app.state.store().claim_messages(10, Utc::now() + chrono::Duration::minutes(2)).await.unwrap();
    assert_eq!(retry.iter().map(|claimed| claimed.attempts).collect::<Vec<_>>(), vec![1, 1], "{label}: both failed once, waiting for a retry");

    // The background sender delivers on its own.
    let app = spawn_app(database, |config| config.outbox_poll_ms = 50).await;
    register(&app, "13800008888", "finn password", None).await;
    assert_eq!(Client::new(&app).post("/api/v1/password-resets", json!({"phone": "13800008888"})).await.0, 202, "{label}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.sender.messages().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.sender.messages().len(), 1, "{label}: delivered by the background task");
}

#[tokio::test]
async fn reset_limits_and_delivery_on_every_backend() {
    for database in TestDatabase::all().await {
        reset_limits_and_delivery_story(&database).await;
    }
}

async fn export_story(database: &TestDatabase) {
    let label = database.label;
    let app = spawn_app(database, |_| {}).await;
    let id = register(&app, "13800003333", "gina password", Some("330106")).await;
    let mut gina = logged_in(&app, "13800003333", "gina password").await;
    let (status, body) = gina.put("/api/v1/me/identity", json!({"id_number": ID_NUMBER})).await;
    assert_eq!(status, 200, "{label}: {body}");
    let (status, body) = gina.post("/api/v1/me/tokens", json!({"name": "同步脚本"})).await;
    assert_eq!(status, 201, "{label}: {body}");
    let api_token = body["token"].as_str().unwrap().to_string();
    let mut admin = Client::with_bearer(&app, &fitforall_server::testing::platform_admin_token(&app.state, "13800009999").await);
    let role = json!({"role": "region_admin", "scope": "330106"});
    assert_eq!(admin.post(&format!("/api/v1/accounts/{id}/roles"), role.clone()).await.0, 201, "{label}");
    assert_eq!(admin.delete(&format!("/api/v1/accounts/{id}/roles"), Some(role)).await.0, 204, "{label}");
    assert_eq!(Client::new(&app).post("/api/v1/password-resets", json!({"phone": "13800003333"})).await.0, 202, "{label}");
    deliver_pending(&app.state).await.unwrap();
    let reset_code = code_in(&app.sender.messages()[0].body);

    let (status, export) = gina.get("/api/v1/me/export").await;
    assert_eq!(status, 200, "{label}: {export}");
    assert_eq!(gina.header("content-disposition").as_deref(), Some(format!("attachment; filename=\"fitforall-export-{id}.json\"").as_str()), "{label}");
    assert_eq!(gina.header("cache-control").as_deref(), Some("no-store"), "{label}");
    assert!(gina.header("content-type").unwrap().starts_with("application/json"), "{label}");
    assert_eq!(export["format"], "fitforall-personal-data/1", "{label}");
    assert!(export["exported_at"].as_str().is_some_and(|at| chrono::DateTime::parse_from_rfc3339(at).is_ok()), "{label}");
    let account = &export["account"];
    assert_eq!(
        (account["id"].as_str(), account["phone"].as_str(), account["name"].as_str()),
        (Some(id.to_string().as_str()), Some("13800003333"), Some("测试居民"))
    );
    assert_eq!(account["home_region"]["code"], "330106000000", "{label}");
    assert!(account["home_region"]["name"].as_str().unwrap().contains("西湖区"), "{label}: {account}");
    assert_eq!(account["identity"], json!({"masked": "330106********1236", "birth_date": "1990-03-07", "sex": "male"}), "{label}");
    let roles = export["roles"].as_array().unwrap();
    assert_eq!(roles.len(), 1, "{label}: {roles:?}");
    assert_eq!((roles[0]["role"].as_str(), roles[0]["scope"].as_str()), (Some("region_admin"), Some("330106000000")), "{label}");
    assert!(roles[0]["granted_at"].is_string() && roles[0]["revoked_at"].is_string(), "{label}: the history keeps the revocation");
    let sessions = export["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{label}");
    let mut session_fields: Vec<String> = sessions[0].as_object().unwrap().keys().cloned().collect();
    session_fields.sort();
    assert_eq!(session_fields, ["created_at", "expires_at", "last_seen_at"], "{label}: times only");
    assert_eq!(export["api_tokens"][0]["name"], "同步脚本", "{label}");
    let actions: Vec<&str> = export["audit_entries"].as_array().unwrap().iter().map(|entry| entry["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["revoke_role", "grant_role"], "{label}");
    let messages = export["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{label}");
    assert_eq!(messages[0]["subject"], "密码重置验证码 / Password reset code", "{label}");
    assert!(messages[0]["sent_at"].is_string() && messages[0].get("body").is_none(), "{label}: no message text");
    assert!(export["notes"].to_string().contains("Bookings and fitness results"), "{label}");

    // Never the full identity number, its hash, the password hash, any token or hash, or the reset code.
    let text = export.to_string();
    let number = ResidentIdNumber::parse(ID_NUMBER, chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(), |_| true).unwrap();
    let identity_hash = fitforall_server::auth::IdentityHasher::new(SECRET.as_bytes()).unwrap().hash(&number);
    let stored = app.state.store().account_by_id(id).await.unwrap();
    let session_token = gina.cookie.as_deref().unwrap().split_once('=').unwrap().1.to_string();
    let secrets = [
        ID_NUMBER.to_string(),
        identity_hash,
        stored.password_hash.clone(),
        "argon2".to_string(),
        session_token.clone(),
        fitforall_server::auth::token_hash(&session_token),
        gina.csrf.clone().unwrap(),
        api_token.clone(),
        fitforall_server::auth::token_hash(&api_token),
        reset_code,
    ];
    for secret in secrets {
        assert!(!text.contains(&secret), "{label}: the export holds {secret}");
    }

    // An API token may export too; nobody else.
    assert_eq!(Client::with_bearer(&app, &api_token).get("/api/v1/me/export").await.0, 200, "{label}");
    assert_eq!(Client::new(&app).get("/api/v1/me/export").await.0, 401, "{label}");
}

#[tokio::test]
async fn export_on_every_backend() {
    for database in TestDatabase::all().await {
        export_story(&database).await;
    }
}

async fn deletion_story(database: &TestDatabase) {
    let label = database.label;
    let app = spawn_app(database, |_| {}).await;
    let store = app.state.store();
    let id = register(&app, "13800004444", "hana password", Some("330106")).await;
    let mut hana = logged_in(&app, "13800004444", "hana password").await;
    assert_eq!(hana.put("/api/v1/me/identity", json!({"id_number": ID_NUMBER})).await.0, 200, "{label}");

    let (status, body) = hana.delete("/api/v1/me", Some(json!({"password": "wrong password"}))).await;
    assert_eq!((status, fields(&body)), (400, vec!["password".to_string()]), "{label}: {body}");
    let (status, body) = hana.delete("/api/v1/me", Some(json!({"password": ""}))).await;
    assert_eq!((status, fields(&body)), (400, vec!["password".to_string()]), "{label}: {body}");
    let (status, body) = hana.delete("/api/v1/me", Some(json!({}))).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_json"), "{label}: {body}");
    let (status, _) = Client::new(&app).delete("/api/v1/me", Some(json!({"password": "hana password"}))).await;
    assert_eq!(status, 401, "{label}");

    let (status, body) = hana.delete("/api/v1/me", Some(json!({"password": "hana password"}))).await;
    assert_eq!(status, 204, "{label}: {body}");
    assert!(hana.header("set-cookie").is_some_and(|cookie| cookie.starts_with("ffa_session=;") && cookie.contains("Max-Age=0")), "{label}");
    assert!(hana.cookie.is_none(), "{label}: cookie cleared");
    let (status, _) = Client::new(&app).login("13800004444", "hana password").await;
    assert_eq!(status, 401, "{label}: cannot log in any more");
    let stored = store.account_by_id(id).await.unwrap();
    assert_eq!((stored.phone.as_str(), stored.name.as_str(), stored.identity.is_none()), ("", "", true), "{label}: anonymised");
    // Audited without personal data.
    let query = fitforall_store::AuditQuery { action: Some("delete_account".into()), ..fitforall_store::AuditQuery::default() };
    let entries = store.search_audit(&query).await.unwrap();
    assert_eq!(entries.len(), 1, "{label}");
    assert_eq!((entries[0].actor, entries[0].target.clone()), (Some(id), format!("account {id}")), "{label}");
    assert_eq!((entries[0].before_json.as_deref(), entries[0].after_json.as_deref()), (None, None), "{label}");
    // The phone and the identity number are free again.
    register(&app, "13800004444", "a new owner's password", None).await;
    let mut newcomer = logged_in(&app, "13800004444", "a new owner's password").await;
    assert_eq!(newcomer.put("/api/v1/me/identity", json!({"id_number": ID_NUMBER})).await.0, 200, "{label}");

    // The last platform administrator cannot leave; once there is another, they can.
    let root = register(&app, "13800004445", "root password", None).await;
    store.grant_role(fitforall_server::auth::new_id(), root, &Role::PlatformAdmin, None, Utc::now()).await.unwrap();
    let mut root_client = logged_in(&app, "13800004445", "root password").await;
    let (status, body) = root_client.delete("/api/v1/me", Some(json!({"password": "root password"}))).await;
    assert_eq!((status, error_code(&body)), (409, "last_platform_admin"), "{label}: {body}");
    assert_eq!(root_client.get("/api/v1/me").await.0, 200, "{label}: still there");
    let second = register(&app, "13800004446", "second password", None).await;
    store.grant_role(fitforall_server::auth::new_id(), second, &Role::PlatformAdmin, Some(root), Utc::now()).await.unwrap();
    assert_eq!(root_client.delete("/api/v1/me", Some(json!({"password": "root password"}))).await.0, 204, "{label}");
}

#[tokio::test]
async fn deletion_on_every_backend() {
    for database in TestDatabase::all().await {
        deletion_story(&database).await;
    }
}

async fn accounts_list_story(database: &TestDatabase) {
    let label = database.label;
    let app = spawn_app(database, |_| {}).await;
    let store = app.state.store();
    let now = Utc::now();
    let root = register(&app, "13800000001", "root password", None).await;
    store.grant_role(fitforall_server::auth::new_id(), root, &Role::PlatformAdmin, None, now).await.unwrap();
    let hz_admin = register(&app, "13800000002", "hz admin password", Some("330106")).await;
    store
        .grant_role(fitforall_server::auth::new_id(), hz_admin, &Role::RegionAdmin { region: RegionCode::parse("3301").unwrap() }, Some(root), now)
        .await
        .unwrap();
    let hz_resident = register(&app, "13800000003", "resident password", Some("330108")).await;
    let nb_resident = register(&app, "13800000004", "resident password", Some("330203")).await;
    let mut resident = logged_in(&app, "13800000003", "resident password").await;
    assert_eq!(resident.put("/api/v1/me/identity", json!({"id_number": ID_NUMBER})).await.0, 200, "{label}");
    let mut root_client = logged_in(&app, "13800000001", "root password").await;
    let mut hz_client = logged_in(&app, "13800000002", "hz admin password").await;
    let ids = |body: &Value| -> Vec<String> { body.as_array().unwrap().iter().map(|account| account["id"].as_str().unwrap().to_string()).collect() };
    let sorted = |mut ids: Vec<AccountId>| -> Vec<String> {
        ids.sort_by_key(|id| id.as_i64());
        ids.iter().map(AccountId::to_string).collect()
    };

    // A platform administrator sees everyone; phones and identity numbers masked.
    let (status, body) = root_client.get("/api/v1/accounts").await;
    assert_eq!(status, 200, "{label}: {body}");
    assert_eq!(ids(&body), sorted(vec![root, hz_admin, hz_resident, nb_resident]), "{label}");
    let text = body.to_string();
    assert!(!text.contains("13800000003") && text.contains("138****0003"), "{label}: {text}");
    assert!(!text.contains(ID_NUMBER) && text.contains("330106********1236"), "{label}");
    assert!(text.contains("platform_admin") && text.contains("region_admin"), "{label}");
    let (status, body) = root_client.get("/api/v1/accounts?region=33&limit=1&offset=1").await;
    assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(1)), "{label}: {body}");

    // A Hangzhou administrator: Hangzhou only, and must say so.
    let (status, body) = hz_client.get("/api/v1/accounts?region=3301").await;
    assert_eq!(status, 200, "{label}: {body}");
    assert_eq!(ids(&body), sorted(vec![hz_admin, hz_resident]), "{label}");
    let (status, body) = hz_client.get("/api/v1/accounts?region=3302").await;
    assert_eq!(status, 403, "{label}: {body}");
    let (status, body) = hz_client.get("/api/v1/accounts").await;
    assert_eq!(status, 403, "{label}: {body}");
    assert_eq!(resident.get("/api/v1/accounts?region=3301").await.0, 403, "{label}");
    assert_eq!(Client::new(&app).get("/api/v1/accounts").await.0, 401, "{label}");

    // Bad parameters name themselves.
    for (query, field) in [("limit=0", "limit"), ("limit=501", "limit"), ("offset=-1", "offset"), ("region=abc", "region"), ("name=x", "name")] {
        let (status, body) = root_client.get(&format!("/api/v1/accounts?{query}")).await;
        assert_eq!((status, fields(&body)), (400, vec![field.to_string()]), "{label}: {query}: {body}");
    }
}

#[tokio::test]
async fn accounts_list_on_every_backend() {
    for database in TestDatabase::all().await {
        accounts_list_story(&database).await;
    }
}

/// Every `$ref` in the OpenAPI document names a schema it holds (the export's and the reset answer's
/// included), so the documentation page can render every new route.
#[test]
fn openapi_references_resolve() {
    let document = serde_json::to_value(fitforall_server::api::openapi_document()).unwrap();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let mut references = Vec::new();
    let mut stack = vec![&document];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    references.push(reference.clone());
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    for reference in &references {
        let name = reference.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected reference {reference}"));
        assert!(schemas.contains_key(name), "{reference} is not in the document");
    }
    for name in ["PersonalDataExport", "ExportedAccount", "ExportedGrant", "ExportedMessage", "ResetAccepted", "AccountView"] {
        assert!(references.iter().any(|reference| reference.ends_with(&format!("/{name}"))), "{name} is not used");
    }
}
