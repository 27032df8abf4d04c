//! Account pages: register, log in, log out, password reset, my account (identity number, password,
//! export, deletion) and my API tokens. Each form calls the same function as the JSON API
//! (`api::accounts`), so the rules, limits and audit are the same; only the answer differs (a page
//! or a redirect instead of JSON).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fitforall_core::policy::{AccountId, Role};
use fitforall_core::region::RegionCode;
use minijinja::{Value, context};

use crate::api::accounts::{
    self, AccountView, LoginRequest, RegisterRequest, issue_token, open_session, own_account, record_identity, register_account, session_cookie, tokens_of,
    view_of,
};
use crate::api::passwords::{change_password, confirm_password_reset, request_password_reset};
use crate::api::personal_data::{delete_own_account, export_file_disposition, export_of};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::forms::{PageForm, local_path_or};
use crate::web::i18n::fill;
use crate::web::{Lang, PageContext, render_error_page};

/// Where a login goes when the form names no `next` page.
const AFTER_LOGIN: &str = "/account";

/// A form error for people: a sentence in the page's language for the kind of error, and the
/// located problems (field and reason) from the API's error.
#[derive(Debug, serde::Serialize)]
pub struct Problem {
    pub summary: String,
    pub detail: String,
    pub fields: Vec<ProblemField>,
}

#[derive(Debug, serde::Serialize)]
pub struct ProblemField {
    pub field: String,
    pub label: String,
    pub reason: String,
}

/// The localised label of a form field, for error lists.
fn field_label(lang: Lang, field: &str) -> String {
    let key = match field {
        "phone" => "field_phone",
        "password" => "field_password",
        "new_password" => "field_new_password",
        "current_password" => "field_current_password",
        "password_repeat" => "field_password_repeat",
        "name" => "field_name",
        "home_region" => "field_home_region",
        "id_number" => "field_id_number",
        "code" => "field_code",
        "role" => "field_role",
        "scope" => "field_scope",
        _ => return field.to_string(),
    };
    lang.text(key).to_string()
}

pub fn problem(lang: Lang, error: &ApiError) -> Problem {
    let key = match (error.status, error.code) {
        (_, "wrong_credentials") => "problem_wrong_credentials",
        (_, "too_many_requests") => "problem_too_many",
        (_, "invalid_code") => "problem_invalid_code",
        (StatusCode::CONFLICT, _) => "problem_conflict",
        (StatusCode::FORBIDDEN, _) => "problem_forbidden",
        (StatusCode::UNAUTHORIZED, _) => "problem_unauthorized",
        (StatusCode::SERVICE_UNAVAILABLE, _) => "problem_unavailable",
        (status, _) if status.is_client_error() => "problem_invalid",
        _ => "problem_server",
    };
    Problem {
        summary: lang.text(key).to_string(),
        detail: error.message.clone(),
        fields: error
            .details
            .iter()
            .map(|detail| ProblemField { field: detail.field.clone(), label: field_label(lang, &detail.field), reason: detail.reason.clone() })
            .collect(),
    }
}

/// The page for someone who must log in first: a redirect to the login form, back here afterwards.
pub fn to_login(page: &PageContext) -> Response {
    page.redirect(&page.login_url())
}

fn role_name(lang: Lang, role: &Role) -> String {
    lang.pick(role.name_zh(), role.name_en()).to_string()
}

/// A region's full name for display ("浙江省杭州市西湖区"), or the code when it is unknown.
fn region_display(state: &AppState, code: &str) -> String {
    RegionCode::parse(code).ok().map(|region| state.snapshot().regions.full_name(region)).unwrap_or_else(|| code.to_string())
}

// ---------------------------------------------------------------------------------------------
// Register

#[derive(Debug, Default, serde::Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_repeat: String,
    #[serde(default)]
    pub home_region: String,
}

/// Zhejiang's cities and counties for the home-region choice, grouped by city.
fn home_region_choices(state: &AppState) -> Value {
    let snapshot = state.snapshot();
    let regions = &snapshot.regions;
    let Ok(zhejiang) = RegionCode::parse("33") else {
        return Value::from(Vec::<Value>::new());
    };
    let groups: Vec<Value> = regions
        .children(zhejiang)
        .iter()
        .map(|city| {
            let name = regions.get(*city).map(|region| region.name.clone()).unwrap_or_default();
            let counties: Vec<Value> = regions
                .children(*city)
                .iter()
                .map(|county| context! { code => county.short(), name => regions.get(*county).map(|region| region.name.clone()).unwrap_or_default() })
                .collect();
            context! { code => city.short(), name => name, counties => counties }
        })
        .collect();
    Value::from(groups)
}

fn render_register(state: &AppState, mut page: PageContext, status: StatusCode, form: &RegisterForm, problem: Option<Problem>) -> Response {
    let csrf = page.csrf_token();
    let data = context! {
        csrf => csrf,
        phone => form.phone,
        name => form.name,
        home_region => form.home_region,
        regions => home_region_choices(state),
        problem => problem,
    };
    let title = page.lang.text("register_title");
    page.render(status, "register.html", title, data)
}

pub async fn register_page(State(state): State<AppState>, page: PageContext) -> Response {
    render_register(&state, page, StatusCode::OK, &RegisterForm::default(), None)
}

pub async fn register_submit(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    PageForm(page, form): PageForm<RegisterForm>,
) -> Response {
    if form.password != form.password_repeat {
        let error = accounts::field_error("password_repeat", "the two passwords differ");
        let problem = problem(page.lang, &error);
        return render_register(&state, page, StatusCode::BAD_REQUEST, &form, Some(problem));
    }
    let request = RegisterRequest {
        phone: form.phone.clone(),
        password: form.password.clone(),
        name: form.name.clone(),
        home_region: Some(form.home_region.clone()).filter(|text| !text.trim().is_empty()),
    };
    match register_account(&state, client.ip(), request).await {
        Ok(_) => page.redirect("/login?registered=1"),
        Err(error) => {
            let problem = problem(page.lang, &error);
            render_register(&state, page, error.status, &form, Some(problem))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Log in and out

#[derive(Debug, Default, serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub next: String,
}

fn render_login(mut page: PageContext, status: StatusCode, phone: &str, next: &str, problem: Option<Problem>) -> Response {
    let csrf = page.csrf_token();
    let notice = match (page.query_value("registered"), page.query_value("reset"), page.query_value("deleted")) {
        (Some(_), _, _) => Some(page.lang.text("login_notice_registered")),
        (_, Some(_), _) => Some(page.lang.text("login_notice_reset")),
        (_, _, Some(_)) => Some(page.lang.text("login_notice_deleted")),
        _ => None,
    };
    let data = context! { csrf => csrf, phone => phone, next => next, problem => problem, notice => notice };
    let title = page.lang.text("login_title");
    page.render(status, "login.html", title, data)
}

pub async fn login_page(page: PageContext) -> Response {
    if page.visitor.signed_in() {
        return page.redirect(&local_path_or(page.query_value("next"), AFTER_LOGIN));
    }
    let next = local_path_or(page.query_value("next"), "");
    render_login(page, StatusCode::OK, "", &next, None)
}

pub async fn login_submit(State(state): State<AppState>, ConnectInfo(client): ConnectInfo<SocketAddr>, PageForm(page, form): PageForm<LoginForm>) -> Response {
    let next = local_path_or(Some(&form.next), AFTER_LOGIN);
    match open_session(&state, client.ip(), LoginRequest { phone: form.phone.clone(), password: form.password }).await {
        Ok(opened) => {
            let mut response = page.redirect(&next);
            response.headers_mut().append(header::SET_COOKIE, session_cookie(&state, &opened.token));
            response
        }
        Err(error) => {
            let problem = problem(page.lang, &error);
            let mut response = render_login(page, error.status, &form.phone, &form.next, Some(problem));
            if let Some(value) = error.retry_after_s.and_then(|seconds| HeaderValue::from_str(&seconds.to_string()).ok()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct EmptyForm {}

pub async fn logout_submit(State(state): State<AppState>, PageForm(page, _): PageForm<EmptyForm>) -> Response {
    if let crate::caller::Credential::Session { token_hash } = &page.visitor.caller.credential
        && let Err(error) = state.store().delete_session(token_hash).await
    {
        return render_error_page(error.into(), &page);
    }
    let mut response = page.redirect("/");
    response.headers_mut().append(header::SET_COOKIE, accounts::cleared_session_cookie());
    response
}

// ---------------------------------------------------------------------------------------------
// Password reset

#[derive(Debug, Default, serde::Deserialize)]
pub struct ResetRequestForm {
    #[serde(default)]
    pub phone: String,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ResetConfirmForm {
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub new_password: String,
    #[serde(default)]
    pub password_repeat: String,
}

/// `step` is `request` (ask for a code) or `confirm` (enter it with the new password).
fn render_reset(mut page: PageContext, status: StatusCode, step: &str, phone: &str, problem: Option<Problem>) -> Response {
    let csrf = page.csrf_token();
    let data = context! { csrf => csrf, step => step, phone => phone, problem => problem };
    let title = page.lang.text("reset_title");
    page.render(status, "password_reset.html", title, data)
}

pub async fn reset_page(page: PageContext) -> Response {
    render_reset(page, StatusCode::OK, "request", "", None)
}

pub async fn reset_request_submit(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    PageForm(page, form): PageForm<ResetRequestForm>,
) -> Response {
    match request_password_reset(&state, client.ip(), &form.phone).await {
        Ok(()) => render_reset(page, StatusCode::OK, "confirm", &form.phone, None),
        Err(error) => {
            let problem = problem(page.lang, &error);
            render_reset(page, error.status, "request", &form.phone, Some(problem))
        }
    }
}

pub async fn reset_confirm_submit(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    PageForm(page, form): PageForm<ResetConfirmForm>,
) -> Response {
    if form.new_password != form.password_repeat {
        let problem = problem(page.lang, &accounts::field_error("password_repeat", "the two passwords differ"));
        return render_reset(page, StatusCode::BAD_REQUEST, "confirm", &form.phone, Some(problem));
    }
    match confirm_password_reset(&state, client.ip(), &form.phone, &form.code, form.new_password).await {
        Ok(()) => page.redirect("/login?reset=1"),
        Err(error) => {
            let problem = problem(page.lang, &error);
            render_reset(page, error.status, "confirm", &form.phone, Some(problem))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// My account

/// Which form of the account page an error or a success message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AccountSection {
    Identity,
    Password,
    Delete,
}

impl AccountSection {
    fn name(self) -> &'static str {
        match self {
            AccountSection::Identity => "identity",
            AccountSection::Password => "password",
            AccountSection::Delete => "delete",
        }
    }
}

fn account_data(state: &AppState, lang: Lang, view: &AccountView, roles: &[Role]) -> Value {
    let sex = view.identity.as_ref().map(|identity| match identity.sex.as_str() {
        "male" => lang.text("sex_male"),
        _ => lang.text("sex_female"),
    });
    let role_rows: Vec<Value> = roles.iter().map(|role| context! { name => role_name(lang, role), scope => role_scope_display(state, lang, role) }).collect();
    context! {
        id => view.id,
        name => view.name,
        phone_masked => view.phone_masked,
        home_region => view.home_region.as_deref().map(|code| region_display(state, code)),
        identity => view.identity.as_ref().map(|identity| context! { masked => identity.masked, birth_date => identity.birth_date, sex => sex }),
        roles => role_rows,
        created_at => view.created_at.get(..10).unwrap_or(&view.created_at),
    }
}

/// A role's scope for people: a region's name, a venue's name, a station id.
pub fn role_scope_display(state: &AppState, lang: Lang, role: &Role) -> String {
    match role {
        Role::Resident => lang.text("scope_own").to_string(),
        Role::PlatformAdmin => lang.text("scope_platform").to_string(),
        Role::RegionAdmin { region } => state.snapshot().regions.full_name(*region),
        Role::VenueOperator { venue } => {
            state.snapshot().catalog.get(venue).map(|found| format!("{} ({venue})", found.name)).unwrap_or_else(|| venue.to_string())
        }
        Role::StationStaff { station } => fill(lang.text("scope_station"), &[("id", station.as_str())]),
    }
}

async fn render_account(state: &AppState, page: PageContext, status: StatusCode, section: Option<AccountSection>, problem: Option<Problem>) -> Response {
    let Ok(id) = own_account(&page.visitor.caller) else {
        return to_login(&page);
    };
    let view = match view_of(state, id).await {
        Ok(view) => view,
        Err(error) => return render_error_page(error, &page),
    };
    let roles = match state.store().active_roles(id).await {
        Ok(roles) => roles,
        Err(error) => return render_error_page(error.into(), &page),
    };
    let saved = page.query_value("saved").map(|what| match what {
        "identity" => page.lang.text("account_saved_identity"),
        "password" => page.lang.text("account_saved_password"),
        _ => page.lang.text("account_saved"),
    });
    let data = context! {
        account => account_data(state, page.lang, &view, &roles),
        section => section.map(AccountSection::name),
        problem => problem,
        saved => saved,
        secret_configured => state.identity_hasher().is_some(),
    };
    let title = page.lang.text("account_title");
    page.render(status, "account.html", title, data)
}

pub async fn account_page(State(state): State<AppState>, page: PageContext) -> Response {
    render_account(&state, page, StatusCode::OK, None, None).await
}

/// Runs a form of the account page: log-in check, then `action`; on success back to the page with
/// `?saved=`, on failure the page again with the error next to the form.
async fn account_form<F>(state: &AppState, page: PageContext, section: AccountSection, action: F) -> Response
where
    F: AsyncFnOnce(AccountId) -> Result<(), ApiError>,
{
    let Ok(id) = own_account(&page.visitor.caller) else {
        return to_login(&page);
    };
    match action(id).await {
        Ok(()) => page.redirect(&format!("/account?saved={}", section.name())),
        Err(error) => {
            let problem = problem(page.lang, &error);
            render_account(state, page, error.status, Some(section), Some(problem)).await
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct IdentityForm {
    #[serde(default)]
    pub id_number: String,
}

pub async fn identity_submit(State(state): State<AppState>, PageForm(page, form): PageForm<IdentityForm>) -> Response {
    account_form(&state, page, AccountSection::Identity, async |id| record_identity(&state, id, &form.id_number).await).await
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub current_password: String,
    #[serde(default)]
    pub new_password: String,
    #[serde(default)]
    pub password_repeat: String,
}

pub async fn password_submit(State(state): State<AppState>, PageForm(page, form): PageForm<PasswordForm>) -> Response {
    let caller = page.visitor.caller.clone();
    account_form(&state, page, AccountSection::Password, async |_| {
        if form.new_password != form.password_repeat {
            return Err(accounts::field_error("password_repeat", "the two passwords differ"));
        }
        change_password(&state, &caller, form.current_password, form.new_password).await
    })
    .await
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub confirm: String,
}

pub async fn delete_submit(State(state): State<AppState>, PageForm(page, form): PageForm<DeleteForm>) -> Response {
    if own_account(&page.visitor.caller).is_err() {
        return to_login(&page);
    }
    let caller = page.visitor.caller.clone();
    let outcome = if form.confirm != "yes" {
        Err(accounts::field_error("confirm", "tick the box to confirm that the account is to be deleted"))
    } else {
        delete_own_account(&state, &caller, form.password).await
    };
    match outcome {
        Ok(()) => {
            let mut response = page.redirect("/login?deleted=1");
            response.headers_mut().append(header::SET_COOKIE, accounts::cleared_session_cookie());
            response
        }
        Err(error) => {
            let problem = problem(page.lang, &error);
            render_account(&state, page, error.status, Some(AccountSection::Delete), Some(problem)).await
        }
    }
}

/// The JSON export as a download (the same document as `GET /api/v1/me/export`).
pub async fn export_download(State(state): State<AppState>, page: PageContext) -> Response {
    let Ok(id) = own_account(&page.visitor.caller) else {
        return to_login(&page);
    };
    let document = match export_of(&state, id).await {
        Ok(document) => document,
        Err(error) => return render_error_page(error, &page),
    };
    let body = match serde_json::to_string_pretty(&document) {
        Ok(body) => body,
        Err(_) => return render_error_page(ApiError::internal(), &page),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&export_file_disposition(id)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

// ---------------------------------------------------------------------------------------------
// My API tokens

async fn render_tokens(state: &AppState, page: PageContext, status: StatusCode, created: Option<Value>, problem: Option<Problem>) -> Response {
    let Ok(id) = own_account(&page.visitor.caller) else {
        return to_login(&page);
    };
    let tokens = match tokens_of(state, id).await {
        Ok(tokens) => tokens,
        Err(error) => return render_error_page(error, &page),
    };
    let rows: Vec<Value> = tokens
        .iter()
        .map(|token| {
            context! {
                id => token.id,
                name => token.name,
                created_at => short_time(&token.created_at),
                last_used_at => token.last_used_at.as_deref().map(short_time),
                revoked_at => token.revoked_at.as_deref().map(short_time),
            }
        })
        .collect();
    let data = context! { tokens => rows, created => created, problem => problem, max_tokens => accounts::MAX_API_TOKENS };
    let title = page.lang.text("tokens_title");
    page.render(status, "tokens.html", title, data)
}

/// `2026-12-01T00:00:00+00:00` → `2026-12-01 08:00` (China time; the page says so).
fn short_time(text: &str) -> String {
    let local = crate::web::china_time(text);
    local.get(..16).map(str::to_string).unwrap_or(local)
}

pub async fn tokens_page(State(state): State<AppState>, page: PageContext) -> Response {
    render_tokens(&state, page, StatusCode::OK, None, None).await
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct NewTokenForm {
    #[serde(default)]
    pub name: String,
}

/// Creates a token and shows it on the answer page, once (never in a URL).
pub async fn token_create_submit(State(state): State<AppState>, PageForm(page, form): PageForm<NewTokenForm>) -> Response {
    let Ok(id) = own_account(&page.visitor.caller) else {
        return to_login(&page);
    };
    match issue_token(&state, id, &form.name).await {
        Ok(created) => {
            let created = context! { name => created.name, token => created.token };
            let mut response = render_tokens(&state, page, StatusCode::CREATED, Some(created), None).await;
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            let problem = problem(page.lang, &error);
            render_tokens(&state, page, error.status, None, Some(problem)).await
        }
    }
}

pub async fn token_revoke_submit(State(state): State<AppState>, Path(token_id): Path<String>, PageForm(page, _): PageForm<EmptyForm>) -> Response {
    let Ok(id) = own_account(&page.visitor.caller) else {
        return to_login(&page);
    };
    let Ok(token_id) = token_id.parse::<i64>() else {
        return render_error_page(ApiError::invalid_parameter("id", format!("expected a token id, got {token_id:?}")), &page);
    };
    match crate::api::accounts::revoke_own_token(&state, id, token_id).await {
        Ok(()) => page.redirect("/account/tokens"),
        Err(error) => render_error_page(error.into(), &page),
    }
}
