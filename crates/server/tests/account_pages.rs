//! The account and administrator pages over HTTP, as a browser uses them: forms with CSRF tokens,
//! cookies, redirects. On SQLite and, when FITFORALL_TEST_DATABASE_URL is set, PostgreSQL.

use std::collections::BTreeMap;

mod support;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use support::{Browser, csrf_of};

use chrono::Utc;
use fitforall_core::policy::{AccountId, Role};
use fitforall_core::region::RegionCode;
use fitforall_server::config::ServerConfig;
use fitforall_server::outbox::{MessageSender, deliver_pending};
use fitforall_server::startup::Application;
use fitforall_store::OutboxMessage;
use fitforall_store::testing::TestDatabase;

struct TestApp {
    base: String,
    state: fitforall_server::state::AppState,
    sent: Arc<CapturingSender>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// Keeps the messages "sent" so that a test can read a reset code, as the resident reads the SMS.
#[derive(Default)]
struct CapturingSender {
    messages: Mutex<Vec<OutboxMessage>>,
}

impl MessageSender for CapturingSender {
    fn send<'a>(&'a self, message: &'a OutboxMessage) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            self.messages.lock().unwrap().push(message.clone());
            Ok(())
        })
    }
}

async fn spawn_app(database: &TestDatabase) -> TestApp {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), database.url.clone());
    config.secret = Some("a test secret that is long enough to key hashes".into());
    let sent = Arc::new(CapturingSender::default());
    let app = Application::build_with_sender(config, sent.clone()).await.unwrap_or_else(|error| panic!("{}: {error}", database.label));
    let base = format!("http://{}", app.local_addr());
    let state = app.state.clone();
    let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(async move {
        let _ = receiver.await;
    }));
    TestApp { base, state, sent, _shutdown: sender }
}

/// A valid resident identity number for `prefix` (6 digits) and `birth` (8 digits).
fn id_number(prefix: &str, birth: &str, sequence: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let body = format!("{prefix}{birth}{sequence}");
    let sum: u32 = body.chars().zip(WEIGHTS).map(|(digit, weight)| digit.to_digit(10).unwrap() * weight).sum();
    let check = "10X98765432".chars().nth((sum % 11) as usize).unwrap();
    format!("{body}{check}")
}

async fn make_account(app: &TestApp, phone: &str, password: &str, home: &str, role: Option<Role>) -> AccountId {
    let id = AccountId::new(fitforall_server::auth::new_id());
    let password_hash = fitforall_server::auth::hash_password(password.to_string()).await;
    let home_region = Some(RegionCode::parse(home).unwrap());
    let store = app.state.store();
    store
        .create_account(&fitforall_store::NewAccount { id, phone: phone.into(), name: format!("测试 {phone}"), password_hash, home_region }, Utc::now())
        .await
        .unwrap();
    if let Some(role) = role {
        store.grant_role(fitforall_server::auth::new_id(), id, &role, None, Utc::now()).await.unwrap();
    }
    id
}

#[tokio::test]
async fn account_pages_on_every_backend() {
    for database in TestDatabase::all().await {
        let app = spawn_app(&database).await;
        register_log_in_and_account(&app).await;
        forms_need_their_csrf_token(&app).await;
        admin_pages_follow_the_policy(&app).await;
        password_export_and_deletion(&app).await;
        eprintln!("{}: account pages ok", database.label);
    }
}

async fn register_log_in_and_account(app: &TestApp) {
    let mut browser = Browser::new(&app.base);
    let page = browser.get("/account").await;
    assert_eq!((page.status, page.location.as_str()), (303, "/login?next=%2Faccount"), "anonymous visitors are sent to log in");

    let form = [("phone", "13912340001"), ("name", "张三"), ("password", "a-good-password"), ("password_repeat", "a-good-password"), ("home_region", "330106")];
    let registered = browser.submit("/register", "/register", &form).await;
    assert_eq!((registered.status, registered.location.as_str()), (303, "/login?registered=1"), "{}", registered.body);
    let again = browser.submit("/register", "/register", &form).await;
    assert_eq!(again.status, 409, "the phone number is taken");
    again.assert_contains("form-problem");
    again.assert_contains("value=\"张三\"");
    let differ = browser
        .submit("/register", "/register", &[("phone", "13912340002"), ("name", "李四"), ("password", "a-good-password"), ("password_repeat", "other")])
        .await;
    assert_eq!(differ.status, 400);
    differ.assert_contains("再次输入密码");

    let wrong = browser.log_in("13912340001", "not-the-password").await;
    assert_eq!(wrong.status, 401);
    wrong.assert_contains("手机号或密码错误");
    let logged_in = browser
        .submit("/login?next=%2Faccount%2Ftokens", "/login", &[("phone", "13912340001"), ("password", "a-good-password"), ("next", "//evil.example/")])
        .await;
    assert_eq!((logged_in.status, logged_in.location.as_str()), (303, "/account"), "a foreign next page is ignored");
    assert!(browser.cookies.contains_key("ffa_session"));

    let account = browser.get("/account").await;
    assert_eq!(account.status, 200);
    account.assert_contains("张三");
    account.assert_contains("139****0001");
    account.assert_contains("浙江省");
    account.assert_contains("action=\"/logout\"");

    let bad = browser.submit("/account", "/account/identity", &[("id_number", "330106199001011234")]).await;
    assert_eq!(bad.status, 400);
    bad.assert_contains("check digit");
    let number = id_number("330106", "19900307", "123");
    let saved = browser.submit("/account", "/account/identity", &[("id_number", number.as_str())]).await;
    assert_eq!((saved.status, saved.location.as_str()), (303, "/account?saved=identity"));
    let account = browser.get("/account?saved=identity").await;
    account.assert_contains("330106********");
    account.assert_contains("1990-03-07");
    assert!(!account.body.contains(&number), "the full identity number is never shown");

    let created = browser.submit("/account/tokens", "/account/tokens", &[("name", "nightly sync")]).await;
    assert_eq!(created.status, 201);
    created.assert_contains("token-value");
    let listed = browser.get("/account/tokens").await;
    listed.assert_contains("nightly sync");
    assert!(!listed.body.contains("token-value"), "a token is shown once");
    let revoke_path = listed.body.split("action=\"/account/tokens/").nth(1).unwrap().split('"').next().unwrap().to_string();
    let revoked = browser.submit("/account/tokens", &format!("/account/tokens/{revoke_path}"), support::NO_FIELDS).await;
    assert_eq!((revoked.status, revoked.location.as_str()), (303, "/account/tokens"));
    browser.get("/account/tokens").await.assert_contains("已于");

    let logged_out = browser.submit("/account", "/logout", support::NO_FIELDS).await;
    assert_eq!((logged_out.status, logged_out.location.as_str()), (303, "/"));
    assert!(!browser.cookies.contains_key("ffa_session"));
    assert_eq!(browser.get("/account").await.status, 303);
}

async fn forms_need_their_csrf_token(app: &TestApp) {
    make_account(app, "13912340011", "another-password", "330106", None).await;
    let mut browser = Browser::new(&app.base);
    let no_token = browser.post("/login", &[("phone", "13912340011"), ("password", "another-password")]).await;
    assert_eq!(no_token.status, 403, "a login form without its token");
    no_token.assert_contains("表单已过期");
    browser.get("/login").await;
    let forged = browser.post("/login", &[("csrf", "0".repeat(64).as_str()), ("phone", "13912340011"), ("password", "another-password")]).await;
    assert_eq!(forged.status, 403, "a token that is not the cookie's");
    assert!(!browser.cookies.contains_key("ffa_session"));

    assert_eq!(browser.log_in("13912340011", "another-password").await.status, 303);
    let anonymous_token = browser.cookies["ffa_form"].clone();
    let session_token = csrf_of(&browser.get("/account").await.body);
    assert_ne!(anonymous_token, session_token);
    let forged = browser.post("/account/identity", &[("csrf", "f".repeat(64).as_str()), ("id_number", "x")]).await;
    assert_eq!(forged.status, 403);
    let wrong_kind = browser.post("/account/identity", &[("csrf", anonymous_token.as_str()), ("id_number", "x")]).await;
    assert_eq!(wrong_kind.status, 403, "a logged-in form needs the session's token");
    let not_a_form = browser.send(browser.http.post(format!("{}/account/identity", browser.base)).body("{}").header("content-type", "application/json")).await;
    assert_eq!(not_a_form.status, 415);

    let expired = Browser { cookies: BTreeMap::from([("ffa_session".to_string(), "1".repeat(64))]), ..Browser::new(&app.base) };
    let mut expired = expired;
    let page = expired.get("/").await;
    assert_eq!(page.status, 200, "an unknown session cookie is dropped, not an error");
    assert!(!expired.cookies.contains_key("ffa_session"), "and the cookie is cleared");
}

async fn admin_pages_follow_the_policy(app: &TestApp) {
    let hangzhou = RegionCode::parse("3301").unwrap();
    make_account(app, "13912340021", "hangzhou-admin-pw", "3301", Some(Role::RegionAdmin { region: hangzhou })).await;
    let target = make_account(app, "13912340022", "target-password", "330106", None).await;
    make_account(app, "13912340023", "ningbo-resident", "330203", None).await;
    let mut resident = Browser::new(&app.base);
    resident.log_in("13912340022", "target-password").await;
    assert_eq!(resident.get("/admin/users").await.status, 403);
    assert_eq!(resident.get("/admin/audit").await.status, 403);
    assert_eq!(Browser::new(&app.base).get("/admin/users").await.location, "/login?next=%2Fadmin%2Fusers");

    let mut admin = Browser::new(&app.base);
    admin.log_in("13912340021", "hangzhou-admin-pw").await;
    let users = admin.get("/admin/users").await;
    assert_eq!(users.status, 200);
    users.assert_contains(&format!("data-account=\"{target}\""));
    assert!(!users.body.contains("13912340023") && !users.body.contains("测试 13912340023"), "Ningbo's resident is not listed to Hangzhou");
    assert_eq!(admin.get("/admin/users?region=3302").await.status, 403);

    let granted = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{target}/roles"),
            &[("role", "region_admin"), ("scope", "330106"), ("change", "grant"), ("back", "/admin/users?region=3301")],
        )
        .await;
    assert_eq!((granted.status, granted.location.as_str()), (303, "/admin/users?region=3301&done=granted"), "{}", granted.body);
    let outside =
        admin.submit("/admin/users", &format!("/admin/users/{target}/roles"), &[("role", "region_admin"), ("scope", "3302"), ("change", "grant")]).await;
    assert_eq!(outside.status, 403, "no grants outside Hangzhou");
    let bad_role = admin.submit("/admin/users", &format!("/admin/users/{target}/roles"), &[("role", "emperor"), ("scope", ""), ("change", "grant")]).await;
    assert_eq!(bad_role.status, 400);
    bad_role.assert_contains("unknown role");

    let audit = admin.get("/admin/audit?action=grant_role").await;
    assert_eq!(audit.status, 200);
    audit.assert_contains("grant_role");
    audit.assert_contains(&format!("account {target}"));
    let bad_date = admin.get("/admin/audit?from=2026-02-30").await;
    assert_eq!(bad_date.status, 400);
    bad_date.assert_contains("expected a date like 2026-12-01");
    assert_eq!(admin.get("/admin/audit?region=3302").await.status, 403);
}

async fn password_export_and_deletion(app: &TestApp) {
    make_account(app, "13912340031", "first-password", "330106", None).await;
    let mut browser = Browser::new(&app.base);
    let mut other_device = Browser::new(&app.base);
    browser.log_in("13912340031", "first-password").await;
    other_device.log_in("13912340031", "first-password").await;

    let fields = [("current_password", "not-it"), ("new_password", "second-password"), ("password_repeat", "second-password")];
    let wrong = browser.submit("/account", "/account/password", &fields).await;
    assert_eq!(wrong.status, 400);
    wrong.assert_contains("当前密码");
    let differ = browser
        .submit("/account", "/account/password", &[("current_password", "first-password"), ("new_password", "second-password"), ("password_repeat", "x")])
        .await;
    assert_eq!(differ.status, 400);
    let fields = [("current_password", "first-password"), ("new_password", "second-password"), ("password_repeat", "second-password")];
    let changed = browser.submit("/account", "/account/password", &fields).await;
    assert_eq!((changed.status, changed.location.as_str()), (303, "/account?saved=password"), "{}", changed.body);
    assert_eq!(browser.get("/account").await.status, 200, "this login goes on");
    assert_eq!(other_device.get("/account").await.status, 303, "the other login has ended");
    assert_eq!(Browser::new(&app.base).log_in("13912340031", "first-password").await.status, 401);

    let mut forgetful = Browser::new(&app.base);
    let requested = forgetful.submit("/password-reset", "/password-reset", &[("phone", "13912340031")]).await;
    assert_eq!(requested.status, 200);
    requested.assert_contains("action=\"/password-reset/confirm\"");
    deliver_pending(&app.state).await.unwrap();
    let body = app.sent.messages.lock().unwrap().iter().rev().find(|message| message.recipient == "13912340031").map(|message| message.body.clone()).unwrap();
    let code: String = body.split(|c: char| !c.is_ascii_digit()).find(|run| run.len() == 8).unwrap().to_string();
    let fields = [("phone", "13912340031"), ("code", "00000000"), ("new_password", "third-password"), ("password_repeat", "third-password")];
    let wrong_code = forgetful.submit("/password-reset", "/password-reset/confirm", &fields).await;
    assert_eq!(wrong_code.status, 400);
    wrong_code.assert_contains("验证码错误或已过期");
    let fields = [("phone", "13912340031"), ("code", code.as_str()), ("new_password", "third-password"), ("password_repeat", "third-password")];
    let reset = forgetful.submit("/password-reset", "/password-reset/confirm", &fields).await;
    assert_eq!((reset.status, reset.location.as_str()), (303, "/login?reset=1"), "{}", reset.body);
    assert_eq!(browser.get("/account").await.status, 303, "a reset ends every login");
    assert_eq!(browser.log_in("13912340031", "third-password").await.status, 303);

    let export = browser.get("/account/export").await;
    assert_eq!(export.status, 200);
    let document: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    assert!(export.body.contains("13912340031"), "the export holds the resident's own phone number");
    assert!(document.is_object());

    let unconfirmed = browser.submit("/account", "/account/delete", &[("password", "third-password")]).await;
    assert_eq!(unconfirmed.status, 400, "the box must be ticked");
    let wrong = browser.submit("/account", "/account/delete", &[("password", "nope"), ("confirm", "yes")]).await;
    assert_eq!(wrong.status, 400);
    let deleted = browser.submit("/account", "/account/delete", &[("password", "third-password"), ("confirm", "yes")]).await;
    assert_eq!((deleted.status, deleted.location.as_str()), (303, "/login?deleted=1"), "{}", deleted.body);
    assert!(!browser.cookies.contains_key("ffa_session"));
    assert_eq!(Browser::new(&app.base).log_in("13912340031", "third-password").await.status, 401);
}
