//! Accounts (issue 3, first slice): register, log in and out (session cookie + CSRF token), the
//! caller's own account, their resident identity number, and their API tokens.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use fitforall_core::identity::ResidentIdNumber;
use fitforall_core::phone::PhoneNumber;
use fitforall_core::policy::{AccountId, Action, Role};
use fitforall_core::region::RegionCode;
use fitforall_core::throttle::{FailureOutcome, LoginThrottle, ThrottlePolicy};
use fitforall_store::{Account, IdentityRecord, NewAccount, StoreError};

use crate::api::ApiJson;
use crate::api::venues::local_now;
use crate::auth::{self, check_password_rule, hash_password, new_token, verify_password};
use crate::caller::{Caller, Credential, SESSION_COOKIE};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// How long a login lasts.
pub const SESSION_DAYS: i64 = 14;
/// Tokens one account may hold (a limit on everything).
pub const MAX_API_TOKENS: usize = 20;

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RoleView {
    /// resident, venue_operator, station_staff, region_admin or platform_admin.
    pub role: String,
    /// The venue id, station id or 12-digit region code the role is limited to ("" for none).
    pub scope: String,
    pub description: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct IdentityView {
    /// e.g. 330106********123X; the full number is never stored.
    pub masked: String,
    pub birth_date: String,
    /// male or female.
    pub sex: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AccountView {
    /// Account id (a string: it does not fit a JavaScript number).
    pub id: String,
    pub phone_masked: String,
    pub name: String,
    pub home_region: Option<String>,
    pub identity: Option<IdentityView>,
    pub roles: Vec<RoleView>,
    pub created_at: String,
}

/// An account as the API shows it: phone and identity number masked.
pub fn account_view(account: &Account, roles: &[Role]) -> AccountView {
    let phone_masked = PhoneNumber::parse(&account.phone).map(|phone| phone.masked()).unwrap_or_default();
    AccountView {
        id: account.id.to_string(),
        phone_masked,
        name: account.name.clone(),
        home_region: account.home_region.map(RegionCode::full),
        identity: account.identity.as_ref().map(|identity| IdentityView {
            masked: identity.masked.clone(),
            birth_date: identity.birth_date.to_string(),
            sex: identity.sex.as_str().to_string(),
        }),
        roles: roles.iter().map(|role| RoleView { role: role.slug().to_string(), scope: role.scope(), description: role.scope_description() }).collect(),
        created_at: account.created_at.to_rfc3339(),
    }
}

pub async fn view_of(state: &AppState, id: AccountId) -> Result<AccountView, ApiError> {
    let account = state.store().account_by_id(id).await?;
    let roles = state.store().active_roles(id).await?;
    Ok(account_view(&account, &roles))
}

fn too_many(retry_after_s: i64, message: String) -> ApiError {
    ApiError::too_many_requests(retry_after_s, message)
}

/// Whole minutes, rounded up, at least 1.
fn minutes(seconds: i64) -> i64 {
    ((seconds + 59) / 60).max(1)
}

/// The 429 for an account locked after repeated wrong passwords or reset codes.
pub fn account_locked(retry_after_s: i64) -> ApiError {
    too_many(retry_after_s, format!("this account is locked after repeated failed attempts; try again in {} minutes", minutes(retry_after_s)))
}

/// Counts a wrong password or reset code against the account's login throttle (one locked
/// transaction, so concurrent failures are all counted). `Err(429)` when the account is locked now.
pub async fn count_failed_attempt(state: &AppState, account: AccountId, now: chrono::DateTime<Utc>) -> Result<(), ApiError> {
    match state.store().record_failed_login(account, &ThrottlePolicy::default(), now).await? {
        FailureOutcome::Counted { .. } => Ok(()),
        FailureOutcome::LockedOut(locked) => {
            tracing::warn!(%account, retry_after_s = locked.retry_after_s, "account locked after repeated failed attempts");
            Err(account_locked(locked.retry_after_s))
        }
        FailureOutcome::AlreadyLocked(locked) => Err(account_locked(locked.retry_after_s)),
    }
}

/// Checks the password of one's own account before a sensitive change (password change, deletion):
/// refused while the account is locked (429); a wrong password is counted like a failed login, so
/// this cannot be used to guess, and answered with a 400 naming `field`; a right one forgets earlier
/// failures.
pub async fn check_own_password(state: &AppState, account: &Account, password: String, field: &'static str) -> Result<(), ApiError> {
    let now = Utc::now();
    if let Err(locked) = account.throttle.check(now.timestamp()) {
        return Err(account_locked(locked.retry_after_s));
    }
    if password.is_empty() {
        return Err(field_error(field, "enter your password"));
    }
    if !verify_password(password, account.password_hash.clone()).await {
        count_failed_attempt(state, account.id, now).await?;
        return Err(field_error(field, "wrong password"));
    }
    if account.throttle != LoginThrottle::default() {
        state.store().save_throttle(account.id, &LoginThrottle::default(), now).await?;
    }
    Ok(())
}

pub fn parse_phone(text: &str) -> Result<PhoneNumber, ApiError> {
    PhoneNumber::parse(text).map_err(|error| ApiError::invalid_body(vec![fitforall_core::venue::FieldError::new("phone", error.to_string())]))
}

pub fn field_error(field: &'static str, reason: impl Into<String>) -> ApiError {
    ApiError::invalid_body(vec![fitforall_core::venue::FieldError::new(field, reason)])
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub phone: String,
    pub password: String,
    pub name: String,
    pub home_region: Option<String>,
}

/// Register a resident account.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = serde_json::Value,
    responses((status = 201, body = AccountView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> Result<Response, ApiError> {
    let id = register_account(&state, client.ip(), request).await?;
    Ok((StatusCode::CREATED, Json(view_of(&state, id).await?)).into_response())
}

/// Registration, for the API and the register page: rate limit per client address, field checks,
/// password hashing off the async threads, the claim on the phone number (409 when taken).
pub async fn register_account(state: &AppState, client: IpAddr, request: RegisterRequest) -> Result<AccountId, ApiError> {
    let now = Utc::now();
    if let Err(retry_after_s) = state.allow_registration_from(client, now.timestamp()) {
        return Err(too_many(retry_after_s, format!("too many registrations from this address; try again in {} minutes", minutes(retry_after_s))));
    }
    let phone = parse_phone(&request.phone)?;
    let name = request.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 50 || name.chars().any(char::is_control) {
        return Err(field_error("name", "must have 1 to 50 characters and no control characters"));
    }
    check_password_rule(&request.password, phone.as_str()).map_err(|error| field_error("password", error.to_string()))?;
    let home_region = match request.home_region.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        None => None,
        Some(text) => {
            let code = RegionCode::parse(text).map_err(|error| field_error("home_region", error.to_string()))?;
            if !state.snapshot().regions.contains(code) {
                return Err(field_error("home_region", format!("{text} is not in the region hierarchy")));
            }
            Some(code)
        }
    };
    let id = AccountId::new(auth::new_id());
    let password_hash = hash_password(request.password).await;
    state.store().create_account(&NewAccount { id, phone: phone.as_str().to_string(), name, password_hash, home_region }, now).await?;
    tracing::info!(account = %id, "account registered");
    Ok(id)
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub phone: String,
    pub password: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub account: AccountView,
    /// Send it as `X-CSRF-Token` with every POST, PUT and DELETE made with the session cookie.
    pub csrf_token: String,
    pub expires_at: String,
}

/// Log in: sets the session cookie (HttpOnly, SameSite=Lax) and returns the CSRF token.
///
/// Repeated failures lock the account for a while (429 with Retry-After); attempts per client address
/// are limited too. A wrong phone number and a wrong password get the same answer.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "accounts", request_body = serde_json::Value,
    responses((status = 200, body = LoginResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let opened = open_session(&state, client.ip(), request).await?;
    let body =
        LoginResponse { account: account_view(&opened.account, &opened.roles), csrf_token: opened.csrf_token, expires_at: opened.expires_at.to_rfc3339() };
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, &opened.token));
    Ok(response)
}

/// A session just opened: the cookie value (`token`) is given to the client once; only its hash is kept.
pub struct OpenedSession {
    pub account: Account,
    pub roles: Vec<Role>,
    pub token: String,
    pub csrf_token: String,
    pub expires_at: chrono::DateTime<Utc>,
}

/// Log in, for the API and the login page: per-address limit, per-account lockout (429 with
/// Retry-After), the same 401 for a wrong phone number and a wrong password.
pub async fn open_session(state: &AppState, client: IpAddr, request: LoginRequest) -> Result<OpenedSession, ApiError> {
    let now = Utc::now();
    if let Err(retry_after_s) = state.allow_login_from(client, now.timestamp()) {
        return Err(too_many(retry_after_s, format!("too many login attempts from this address; try again in {retry_after_s} seconds")));
    }
    let wrong = || ApiError::new(StatusCode::UNAUTHORIZED, "wrong_credentials", "wrong phone number or password");
    let phone = parse_phone(&request.phone)?;
    let account = match state.store().account_by_phone(phone.as_str()).await {
        Ok(account) => account,
        Err(StoreError::NotFound(_)) => {
            auth::verify_against_nothing(request.password).await;
            return Err(wrong());
        }
        Err(other) => return Err(other.into()),
    };
    let policy = ThrottlePolicy::default();
    let locked_message = |retry_after_s: i64| format!("this account is locked after repeated failed logins; try again in {} minutes", minutes(retry_after_s));
    if let Err(locked) = account.throttle.check(now.timestamp()) {
        return Err(too_many(locked.retry_after_s, locked_message(locked.retry_after_s)));
    }
    let mut throttle = account.throttle.clone();
    if !verify_password(request.password, account.password_hash.clone()).await {
        match state.store().record_failed_login(account.id, &policy, now).await? {
            FailureOutcome::Counted { .. } => return Err(wrong()),
            FailureOutcome::LockedOut(locked) => {
                tracing::warn!(account = %account.id, retry_after_s = locked.retry_after_s, "account locked after repeated failed logins");
                return Err(too_many(locked.retry_after_s, locked_message(locked.retry_after_s)));
            }
            FailureOutcome::AlreadyLocked(locked) => return Err(too_many(locked.retry_after_s, locked_message(locked.retry_after_s))),
        }
    }
    if throttle != LoginThrottle::default() {
        throttle.record_success();
        state.store().save_throttle(account.id, &throttle, now).await?;
    }
    let (token, token_hash) = new_token();
    let (csrf_token, _) = new_token();
    let expires_at = now + Duration::days(SESSION_DAYS);
    state.store().create_session(&token_hash, account.id, &csrf_token, expires_at, now).await?;
    let roles = state.store().active_roles(account.id).await?;
    Ok(OpenedSession { account, roles, token, csrf_token, expires_at })
}

/// The `Set-Cookie` value of a new session (HttpOnly, SameSite=Lax, Secure when configured).
pub fn session_cookie(state: &AppState, token: &str) -> HeaderValue {
    let secure = if state.config().cookie_secure { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", SESSION_DAYS * 86_400);
    HeaderValue::from_str(&cookie).expect("ASCII cookie")
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn cleared_session_cookie() -> HeaderValue {
    HeaderValue::from_static("ffa_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// Log out: ends the session (CSRF token required) and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "accounts",
    responses((status = 204, description = "Logged out"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let Credential::Session { token_hash } = &caller.credential else {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "no session to end"));
    };
    state.store().delete_session(token_hash).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, cleared_session_cookie());
    Ok(response)
}

/// The caller's own account id, for the "me" endpoints and pages.
pub fn own_account(caller: &Caller) -> Result<AccountId, ApiError> {
    caller.require_login()?;
    let id = caller.account().expect("logged in");
    caller.require(&Action::ManageOwnAccount { account: id })?;
    Ok(id)
}

/// The caller's own account.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, body = AccountView), (status = 401, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<AccountView>, ApiError> {
    let id = own_account(&caller)?;
    Ok(Json(view_of(&state, id).await?))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityRequest {
    pub id_number: String,
}

/// Record the caller's resident identity number (居民身份证号).
///
/// Checked fully (18 characters, a region prefix in the hierarchy, a real birth date not in the
/// future, the ISO 7064 MOD 11-2 check digit); stored only as a keyed hash plus a masked form. One
/// account per identity number: 409 when another account holds it (which one is not said).
#[utoipa::path(put, path = "/api/v1/me/identity", tag = "accounts", request_body = serde_json::Value,
    responses((status = 200, body = AccountView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn set_identity(State(state): State<AppState>, caller: Caller, ApiJson(request): ApiJson<IdentityRequest>) -> Result<Json<AccountView>, ApiError> {
    let id = own_account(&caller)?;
    record_identity(&state, id, &request.id_number).await?;
    Ok(Json(view_of(&state, id).await?))
}

/// Checks and records a resident identity number for `id` (API and account page).
pub async fn record_identity(state: &AppState, id: AccountId, id_number: &str) -> Result<(), ApiError> {
    let Some(hasher) = state.identity_hasher() else {
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "no_secret", "identity numbers cannot be recorded: the server has no secret configured"));
    };
    let snapshot = state.snapshot();
    let today = local_now().date();
    let number =
        ResidentIdNumber::parse(id_number, today, |code| snapshot.regions.contains(code)).map_err(|error| field_error("id_number", error.to_string()))?;
    let record = IdentityRecord { id_number_hash: hasher.hash(&number), masked: number.masked(), birth_date: number.birth_date(), sex: number.sex() };
    state.store().set_identity(id, &record, Utc::now()).await?;
    Ok(())
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    pub name: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct NewTokenView {
    pub id: String,
    pub name: String,
    /// Shown once: only its hash is kept.
    pub token: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// Create an API token for programs (`Authorization: Bearer …`). The token is shown once.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "accounts", request_body = serde_json::Value,
    responses((status = 201, body = NewTokenView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_token(State(state): State<AppState>, caller: Caller, ApiJson(request): ApiJson<NewTokenRequest>) -> Result<Response, ApiError> {
    let id = own_account(&caller)?;
    Ok((StatusCode::CREATED, Json(issue_token(&state, id, &request.name).await?)).into_response())
}

/// Creates an API token for `id` (API and tokens page); the token is in the answer, once.
pub async fn issue_token(state: &AppState, id: AccountId, name: &str) -> Result<NewTokenView, ApiError> {
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(field_error("name", "must have 1 to 60 characters"));
    }
    let active = state.store().list_api_tokens(id).await?.iter().filter(|token| token.revoked_at.is_none()).count();
    if active >= MAX_API_TOKENS {
        return Err(ApiError::new(StatusCode::CONFLICT, "too_many_tokens", format!("at most {MAX_API_TOKENS} active tokens; revoke one first")));
    }
    let (token, token_hash) = new_token();
    let token_id = auth::new_id();
    state.store().create_api_token(token_id, &token_hash, id, &name, Utc::now()).await?;
    Ok(NewTokenView { id: token_id.to_string(), name, token })
}

/// The caller's API tokens (never the tokens themselves).
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "accounts", responses((status = 200, body = Vec<TokenView>), (status = 401, body = ErrorBody)))]
pub async fn list_tokens(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<TokenView>>, ApiError> {
    let id = own_account(&caller)?;
    Ok(Json(tokens_of(&state, id).await?))
}

/// The API tokens of `id`, newest first as the store lists them.
pub async fn tokens_of(state: &AppState, id: AccountId) -> Result<Vec<TokenView>, ApiError> {
    let tokens = state.store().list_api_tokens(id).await?;
    Ok(tokens
        .into_iter()
        .map(|token| TokenView {
            id: token.id.to_string(),
            name: token.name,
            created_at: token.created_at.to_rfc3339(),
            last_used_at: token.last_used_at.map(|at| at.to_rfc3339()),
            revoked_at: token.revoked_at.map(|at| at.to_rfc3339()),
        })
        .collect())
}

/// Revoke one of the caller's API tokens.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", tag = "accounts", params(("id" = String, Path, description = "Token id")),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(State(state): State<AppState>, caller: Caller, Path(token_id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = own_account(&caller)?;
    let token_id: i64 = token_id.parse().map_err(|_| ApiError::invalid_parameter("id", format!("expected a token id, got {token_id:?}")))?;
    revoke_own_token(&state, id, token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes one of `owner`'s tokens (API and the tokens page); this process stops accepting it at once.
pub async fn revoke_own_token(state: &AppState, owner: AccountId, token_id: i64) -> Result<(), StoreError> {
    state.store().revoke_api_token(owner, token_id, Utc::now()).await?;
    state.forget_token_callers();
    Ok(())
}
