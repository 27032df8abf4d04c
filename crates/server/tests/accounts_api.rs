//! Accounts over HTTP (issue 3, first slice): register, log in with a session cookie and CSRF token,
//! lockout, identity numbers, API tokens, and venue writes decided by the policy. On SQLite and, when
//! FITFORALL_TEST_DATABASE_URL is set, PostgreSQL.

use chrono::Utc;
use fitforall_core::policy::{AccountId, Role};
use fitforall_core::region::RegionCode;
use fitforall_server::config::ServerConfig;
use fitforall_server::startup::Application;
use fitforall_server::state::AppState;
use fitforall_store::testing::TestDatabase;
use serde_json::{Value, json};

struct TestApp {
    base: String,
    state: AppState,
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
    TestApp { base, state, _shutdown: sender }
}

/// A client with its own cookie jar (a browser) and, once logged in, its CSRF token.
struct Client {
    http: reqwest::Client,
    base: String,
    csrf: Option<String>,
    bearer: Option<String>,
    /// The session cookie, as a browser would keep it.
    cookie: Option<String>,
}

impl Client {
    fn new(app: &TestApp) -> Client {
        Client { http: reqwest::Client::new(), base: app.base.clone(), csrf: None, bearer: None, cookie: None }
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
        if let Some(set_cookie) = response.headers().get("set-cookie").and_then(|value| value.to_str().ok()) {
            assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
            let pair = set_cookie.split(';').next().unwrap().to_string();
            self.cookie = if pair.ends_with('=') { None } else { Some(pair) };
        }
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn login(&mut self, phone: &str, password: &str) -> (u16, Value) {
        let (status, body) = self.call(reqwest::Method::POST, "/api/v1/sessions", Some(json!({"phone": phone, "password": password}))).await;
        if status == 200 {
            self.csrf = body["csrf_token"].as_str().map(str::to_string);
        }
        (status, body)
    }
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_else(|| panic!("not an error: {body}"))
}

/// A valid identity number: region 330106, born 1990-03-07, sequence 123, check digit 6.
const ID_NUMBER: &str = "330106199003071236";

async fn account_story(database: &TestDatabase) {
    let label = database.label;
    let app = spawn_app(database).await;
    let mut alice = Client::new(&app);

    let register = json!({"phone": "138 0000 1111", "password": "alice password", "name": "王小丽", "home_region": "330106"});
    let (status, body) = alice.call(reqwest::Method::POST, "/api/v1/accounts", Some(register.clone())).await;
    assert_eq!(status, 201, "{label}: {body}");
    assert_eq!(body["phone_masked"], "138****1111");
    assert_eq!(body["home_region"], "330106000000");
    let (status, body) = alice.call(reqwest::Method::POST, "/api/v1/accounts", Some(register)).await;
    assert_eq!((status, message(&body)), (409, "phone already registered"), "{label}");
    let (status, body) = alice.call(reqwest::Method::POST, "/api/v1/accounts", Some(json!({"phone": "12345", "password": "x", "name": ""}))).await;
    assert_eq!(status, 400, "{label}");
    assert_eq!(message(&body), "phone: a mainland mobile number has 11 digits, got 5");
    let (status, body) =
        alice.call(reqwest::Method::POST, "/api/v1/accounts", Some(json!({"phone": "13800002222", "password": "12345678", "name": "x"}))).await;
    assert_eq!((status, message(&body)), (400, "password: the password must not be only digits"), "{label}");

    // Not logged in yet.
    let (status, _) = alice.call(reqwest::Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 401, "{label}");
    let (status, body) = alice.login("13800001111", "wrong password").await;
    assert_eq!((status, message(&body)), (401, "wrong phone number or password"), "{label}");
    let (status, body) = alice.login("13900009999", "whatever password").await;
    assert_eq!((status, message(&body)), (401, "wrong phone number or password"), "{label}: unknown phone, same answer");
    let (status, body) = alice.login("13800001111", "alice password").await;
    assert_eq!(status, 200, "{label}: {body}");
    assert_eq!(body["account"]["name"], "王小丽");
    let (status, body) = alice.call(reqwest::Method::GET, "/api/v1/me", None).await;
    assert_eq!((status, body["name"].as_str()), (200, Some("王小丽")), "{label}");

    // CSRF: an unsafe method with the cookie but without the token is refused.
    let csrf = alice.csrf.take();
    let (status, body) = alice.call(reqwest::Method::POST, "/api/v1/me/tokens", Some(json!({"name": "script"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("csrf")), "{label}");
    alice.csrf = Some("forged".into());
    let (status, _) = alice.call(reqwest::Method::POST, "/api/v1/me/tokens", Some(json!({"name": "script"}))).await;
    assert_eq!(status, 403, "{label}");
    alice.csrf = csrf;

    // Identity number: every reason, then the masked form; another account cannot claim it.
    let (status, body) = alice.call(reqwest::Method::PUT, "/api/v1/me/identity", Some(json!({"id_number": "330106199003071235"}))).await;
    assert_eq!(status, 400, "{label}");
    assert!(message(&body).starts_with("id_number: "), "{label}: {body}");
    assert!(!message(&body).contains("expected"), "{label}: the expected digit is not revealed: {body}");
    let (status, body) = alice.call(reqwest::Method::PUT, "/api/v1/me/identity", Some(json!({"id_number": "330106199002301234"}))).await;
    assert_eq!(status, 400, "{label}: impossible date: {body}");
    let (status, body) = alice.call(reqwest::Method::PUT, "/api/v1/me/identity", Some(json!({"id_number": ID_NUMBER}))).await;
    assert_eq!(status, 200, "{label}: {body}");
    assert_eq!(body["identity"], json!({"masked": "330106********1236", "birth_date": "1990-03-07", "sex": "male"}));

    let mut bob = Client::new(&app);
    let (status, _) =
        bob.call(reqwest::Method::POST, "/api/v1/accounts", Some(json!({"phone": "13800003333", "password": "bob's password", "name": "李四"}))).await;
    assert_eq!(status, 201, "{label}");
    assert_eq!(bob.login("13800003333", "bob's password").await.0, 200, "{label}");
    let (status, body) = bob.call(reqwest::Method::PUT, "/api/v1/me/identity", Some(json!({"id_number": ID_NUMBER}))).await;
    assert_eq!(status, 409, "{label}");
    assert_eq!(message(&body), "identity number already belongs to another account");
    assert!(!body.to_string().contains("13800001111") && !body.to_string().contains("王小丽"), "{label}: does not reveal who");

    // API tokens: created once, usable as a bearer, revoked → 401; nobody else can revoke it.
    let (status, body) = alice.call(reqwest::Method::POST, "/api/v1/me/tokens", Some(json!({"name": "数据同步"}))).await;
    assert_eq!(status, 201, "{label}: {body}");
    let token = body["token"].as_str().unwrap().to_string();
    let token_id = body["id"].as_str().unwrap().to_string();
    let mut program = Client::new(&app);
    program.bearer = Some(token.clone());
    let (status, body) = program.call(reqwest::Method::GET, "/api/v1/me", None).await;
    assert_eq!((status, body["name"].as_str()), (200, Some("王小丽")), "{label}");
    let (status, body) = alice.call(reqwest::Method::GET, "/api/v1/me/tokens", None).await;
    assert_eq!(status, 200);
    assert!(!body.to_string().contains(&token), "{label}: the token is never shown again");
    let (status, _) = bob.call(reqwest::Method::DELETE, &format!("/api/v1/me/tokens/{token_id}"), None).await;
    assert_eq!(status, 404, "{label}: not bob's token");
    let (status, _) = alice.call(reqwest::Method::DELETE, &format!("/api/v1/me/tokens/{token_id}"), None).await;
    assert_eq!(status, 204, "{label}");
    let (status, _) = program.call(reqwest::Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 401, "{label}: revoked");

    // Log out ends the session.
    let (status, _) = alice.call(reqwest::Method::DELETE, "/api/v1/sessions/current", None).await;
    assert_eq!(status, 204, "{label}");
    let (status, _) = alice.call(reqwest::Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 401, "{label}");

    // Lockout after repeated failures: 429 with Retry-After, even with the right password.
    let mut mallory = Client::new(&app);
    for attempt in 1..=4 {
        let (status, _) = mallory.login("13800003333", "guess").await;
        assert_eq!(status, 401, "{label}: attempt {attempt}");
    }
    let (status, body) = mallory.login("13800003333", "guess").await;
    assert_eq!(status, 429, "{label}: fifth failure locks: {body}");
    let (status, _) = mallory.login("13800003333", "bob's password").await;
    assert_eq!(status, 429, "{label}: locked even with the right password");
    let bob_id = AccountId::new(bob.call(reqwest::Method::GET, "/api/v1/me", None).await.1["id"].as_str().unwrap().parse().unwrap());
    assert!(app.state.store().account_by_id(bob_id).await.unwrap().throttle.check(Utc::now().timestamp()).is_err(), "{label}: stored");
}

#[tokio::test]
async fn accounts_on_every_backend() {
    for database in TestDatabase::all().await {
        account_story(&database).await;
    }
}

fn venue(id: &str, region: &str) -> Value {
    json!({"id": id, "name": format!("场馆 {id}"), "region_code": region, "lat": 30.25, "lng": 120.15, "type": "ball_courts", "sports_area_m2": 600})
}

async fn venue_policy_story(database: &TestDatabase) {
    let label = database.label;
    let app = spawn_app(database).await;
    let store = app.state.store();
    // A Hangzhou region administrator and a plain resident, made through the store.
    let mut clients = Vec::new();
    for (phone, role) in [("13800000010", Some(Role::RegionAdmin { region: RegionCode::parse("3301").unwrap() })), ("13800000011", None)] {
        let mut client = Client::new(&app);
        let (status, body) =
            client.call(reqwest::Method::POST, "/api/v1/accounts", Some(json!({"phone": phone, "password": "long password", "name": "x"}))).await;
        assert_eq!(status, 201, "{label}: {body}");
        let id = AccountId::new(body["id"].as_str().unwrap().parse().unwrap());
        if let Some(role) = role {
            store.grant_role(fitforall_server::auth::new_id(), id, &role, None, Utc::now()).await.unwrap();
        }
        assert_eq!(client.login(phone, "long password").await.0, 200, "{label}");
        clients.push(client);
    }
    let (hangzhou_admin, resident) = clients.split_at_mut(1);
    let (hangzhou_admin, resident) = (&mut hangzhou_admin[0], &mut resident[0]);
    let (status, body) = hangzhou_admin.call(reqwest::Method::POST, "/api/v1/venues", Some(venue("hz", "330106"))).await;
    assert_eq!(status, 201, "{label}: {body}");
    let (status, body) = hangzhou_admin.call(reqwest::Method::POST, "/api/v1/venues", Some(venue("nb", "330203"))).await;
    assert_eq!(status, 403, "{label}: {body}");
    assert!(message(&body).contains("3301") && message(&body).contains("330203"), "{label}: {body}");
    let (status, _) = resident.call(reqwest::Method::POST, "/api/v1/venues", Some(venue("r", "330106"))).await;
    assert_eq!(status, 403, "{label}");
    let (status, _) = resident.call(reqwest::Method::DELETE, "/api/v1/venues/hz", None).await;
    assert_eq!(status, 403, "{label}");
    let (status, _) = hangzhou_admin.call(reqwest::Method::PUT, "/api/v1/venues/hz", Some(venue("hz", "330203"))).await;
    assert_eq!(status, 403, "{label}: cannot move a venue out of its region");
    let (status, _) = hangzhou_admin.call(reqwest::Method::DELETE, "/api/v1/venues/hz", None).await;
    assert_eq!(status, 204, "{label}");
    // Both writes are in the audit log with before and after, under the administrator's account.
    let entries = store
        .search_audit(&fitforall_store::AuditQuery {
            actor: None,
            action: None,
            region: RegionCode::parse("3301").ok(),
            from: None,
            to: None,
            limit: 10,
            offset: 0,
        })
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|entry| entry.action.as_str()).collect();
    assert_eq!(actions, ["delete_venue", "create_venue"], "{label}");
    assert!(entries[0].before_json.as_deref().unwrap().contains("场馆 hz"), "{label}");
    assert!(entries[1].after_json.is_some() && entries[1].before_json.is_none(), "{label}");
}

/// A program acting with an API token keeps no role after it is revoked: the server remembers token
/// callers briefly, and forgets them when it grants or revokes a role or revokes a token.
async fn token_callers_follow_role_changes_at_once(database: &TestDatabase) {
    let label = database.label;
    let app = spawn_app(database).await;
    let mut platform = Client::new(&app);
    platform.bearer = Some(fitforall_server::testing::platform_admin_token(&app.state, "13800000020").await);
    let mut owner = Client::new(&app);
    let (status, body) =
        owner.call(reqwest::Method::POST, "/api/v1/accounts", Some(json!({"phone": "13800000021", "password": "long password", "name": "x"}))).await;
    assert_eq!(status, 201, "{label}: {body}");
    let id = body["id"].as_str().unwrap().to_string();
    assert_eq!(owner.login("13800000021", "long password").await.0, 200, "{label}");
    let (status, body) = owner.call(reqwest::Method::POST, "/api/v1/me/tokens", Some(json!({"name": "sync"}))).await;
    assert_eq!(status, 201, "{label}: {body}");
    let mut program = Client::new(&app);
    program.bearer = body["token"].as_str().map(str::to_string);

    let hangzhou = json!({"role": "region_admin", "scope": "3301"});
    assert_eq!(program.call(reqwest::Method::POST, "/api/v1/venues", Some(venue("t1", "330106"))).await.0, 403, "{label}: a resident");
    let (status, body) = platform.call(reqwest::Method::POST, &format!("/api/v1/accounts/{id}/roles"), Some(hangzhou.clone())).await;
    assert!(status == 201 || status == 204, "{label}: {status} {body}");
    assert_eq!(program.call(reqwest::Method::POST, "/api/v1/venues", Some(venue("t1", "330106"))).await.0, 201, "{label}: granted at once");
    let (status, body) = platform.call(reqwest::Method::DELETE, &format!("/api/v1/accounts/{id}/roles"), Some(hangzhou)).await;
    assert_eq!(status, 204, "{label}: {body}");
    assert_eq!(program.call(reqwest::Method::POST, "/api/v1/venues", Some(venue("t2", "330106"))).await.0, 403, "{label}: revoked at once");
}

/// Many programs at once, each with a token the server has not seen (a booking rush): the lookups
/// are batched (`token_lookup`), and each request still acts as its own token's owner, with its
/// grants; a revoked token among them is refused.
async fn concurrent_token_callers_each_act_as_their_owner(database: &TestDatabase) {
    let label = database.label;
    let app = spawn_app(database).await;
    let store = app.state.store();
    let now = Utc::now();
    let mut tokens = Vec::new();
    for index in 0..60i64 {
        let id = AccountId::new(fitforall_server::auth::new_id());
        let account = fitforall_store::NewAccount {
            id,
            phone: format!("1390000{index:04}"),
            name: format!("居民{index}"),
            password_hash: String::new(),
            home_region: None,
        };
        store.create_account(&account, now).await.unwrap();
        if index % 3 == 0 {
            let role = Role::RegionAdmin { region: RegionCode::parse("3301").unwrap() };
            store.grant_role(fitforall_server::auth::new_id(), id, &role, None, now).await.unwrap();
        }
        let (token, token_hash) = fitforall_server::auth::new_token();
        let token_id = fitforall_server::auth::new_id();
        store.create_api_token(token_id, &token_hash, id, "rush", now).await.unwrap();
        let revoked = index == 7;
        if revoked {
            store.revoke_api_token(id, token_id, now).await.unwrap();
        }
        tokens.push((token, id, revoked, index % 3 == 0));
    }
    // Each program asks who it is, and tries a write that only a region administrator may make.
    let http = reqwest::Client::new();
    let mut calls = Vec::new();
    for (index, (token, _, _, _)) in tokens.iter().enumerate() {
        let me = http.get(format!("{}/api/v1/me", app.base)).bearer_auth(token);
        let write = http.post(format!("{}/api/v1/venues", app.base)).bearer_auth(token).json(&venue(&format!("rush-{index}"), "330106"));
        calls.push(tokio::spawn(async move {
            let me = me.send().await.unwrap();
            let me = (me.status().as_u16(), me.json::<Value>().await.unwrap());
            (me, write.send().await.unwrap().status().as_u16())
        }));
    }
    for ((_, id, revoked, admin), call) in tokens.iter().zip(calls) {
        let ((status, body), write_status) = call.await.unwrap();
        if *revoked {
            assert_eq!((status, write_status), (401, 401), "{label}: {body}");
            continue;
        }
        assert_eq!(status, 200, "{label}: {body}");
        assert_eq!(body["id"].as_str(), Some(id.to_string().as_str()), "{label}: {body}");
        assert_eq!(write_status, if *admin { 201 } else { 403 }, "{label}: account {id}, region administrator: {admin}");
    }
}

#[tokio::test]
async fn concurrent_token_callers_on_every_backend() {
    for database in TestDatabase::all().await {
        concurrent_token_callers_each_act_as_their_owner(&database).await;
    }
}

#[tokio::test]
async fn token_callers_follow_role_changes_on_every_backend() {
    for database in TestDatabase::all().await {
        token_callers_follow_role_changes_at_once(&database).await;
    }
}

#[tokio::test]
async fn venue_writes_follow_the_policy_on_every_backend() {
    for database in TestDatabase::all().await {
        venue_policy_story(&database).await;
    }
}
