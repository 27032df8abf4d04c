//! Passwords (issue 3): changing one's password with the current one, and resetting a forgotten one
//! with a code sent by SMS through the outbox.
//!
//! Guessing is limited everywhere: a wrong current password and a wrong reset code count as failed
//! logins in the account's `LoginThrottle` (5 lock the account, also for logins and further codes),
//! and reset requests and confirmations share a per-client-address limit (`resets_per_ip_per_hour`).
//! A reset request gets the same 202 after at least [`RESET_REQUEST_MIN_DURATION_MS`] whether or not
//! the phone has an account; a confirmation for a phone without an account gets the same 400 as a
//! wrong code.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, FixedOffset, Utc};
use fitforall_core::phone::PhoneNumber;
use fitforall_store::{Account, OutboxMessage, StoreError};

use crate::api::ApiJson;
use crate::api::accounts::{account_locked, check_own_password, count_failed_attempt, field_error, own_account, parse_phone};
use crate::auth::{self, RESET_CODE_DIGITS, check_password_rule, hash_password, new_reset_code, token_hash};
use crate::caller::{Caller, Credential};
use crate::error::{ApiError, ErrorBody, ErrorDetail};
use crate::state::AppState;

/// How long a reset code works.
pub const RESET_CODE_VALID_MINUTES: i64 = 15;
/// Codes sent to one account per hour; further requests get the same 202 and send nothing (so nobody
/// can flood a phone with messages, or pay for them, from many addresses).
pub const RESET_CODES_PER_ACCOUNT_PER_HOUR: i64 = 3;
/// Every reset request takes at least this long, so the answer time does not tell whether the phone
/// has an account (a code is written and a message enqueued only when it has).
pub const RESET_REQUEST_MIN_DURATION_MS: u64 = 200;
/// Attempts at a fresh code when a generated one collides with a stored hash (practically never).
const RESET_CODE_ATTEMPTS: usize = 3;

fn whole_minutes(seconds: i64) -> i64 {
    ((seconds + 59) / 60).max(1)
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// Change the caller's password. Needs the current one (a wrong one counts as a failed login). Ends
/// every other session of the account; the session making the change stays. API tokens stay.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "accounts", request_body = serde_json::Value,
    responses((status = 204, description = "Changed"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn update_password(State(state): State<AppState>, caller: Caller, ApiJson(request): ApiJson<ChangePasswordRequest>) -> Result<StatusCode, ApiError> {
    change_password(&state, &caller, request.current_password, request.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's own password (API and the account page): the new one must pass the password
/// rule (400 `new_password`) and differ from the current one; a wrong current password is a 400
/// `current_password` counted in the account's throttle (429 once locked). Afterwards every other
/// session of the account ends; the caller's session, when that is how they came, stays.
pub async fn change_password(state: &AppState, caller: &Caller, current_password: String, new_password: String) -> Result<(), ApiError> {
    let id = own_account(caller)?;
    let account = state.store().account_by_id(id).await?;
    check_password_rule(&new_password, &account.phone).map_err(|error| field_error("new_password", error.to_string()))?;
    let unchanged = new_password == current_password;
    check_own_password(state, &account, current_password, "current_password").await?;
    if unchanged {
        return Err(field_error("new_password", "must differ from the current password"));
    }
    let password_hash = hash_password(new_password).await;
    state.store().set_password_hash(id, &password_hash, Utc::now()).await?;
    let keep = match &caller.credential {
        Credential::Session { token_hash } => Some(token_hash.as_str()),
        Credential::None | Credential::ApiToken { .. } => None,
    };
    let sessions_ended = state.store().delete_sessions_of_except(id, keep).await?;
    tracing::info!(account = %id, sessions_ended, "password changed");
    Ok(())
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub phone: String,
}

/// Ask for a password-reset code by SMS.
///
/// Always 202 with the same body, whether or not the phone has an account. For an account, an
/// 8-digit code valid for 15 minutes is sent (at most 3 per account per hour; a new code replaces
/// the earlier ones). Requests and confirmations per client address are limited (429).
#[utoipa::path(post, path = "/api/v1/password-resets", tag = "accounts", request_body = serde_json::Value,
    responses((status = 202, body = ResetAccepted), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn start_password_reset(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<ResetRequest>,
) -> Result<(StatusCode, axum::Json<ResetAccepted>), ApiError> {
    request_password_reset(&state, client.ip(), &request.phone).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(ResetAccepted::new())))
}

/// The answer to every accepted reset request.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ResetAccepted {
    pub message: String,
}

impl ResetAccepted {
    pub fn new() -> ResetAccepted {
        ResetAccepted {
            message: format!(
                "如果该手机号已注册，验证码将通过短信发送，{RESET_CODE_VALID_MINUTES} 分钟内有效。 \
                 If this phone number has an account, a code is on its way by SMS; it is valid for {RESET_CODE_VALID_MINUTES} minutes."
            ),
        }
    }
}

impl Default for ResetAccepted {
    fn default() -> ResetAccepted {
        ResetAccepted::new()
    }
}

/// Starts a password reset (API and the forgotten-password page). `Ok` whether or not the phone has
/// an account, after at least [`RESET_REQUEST_MIN_DURATION_MS`]; 429 over the per-address limit; 400
/// `phone` for something that is not a mainland mobile number. For an active account: a code stored
/// by hash and its SMS enqueued in one transaction.
pub async fn request_password_reset(state: &AppState, client: IpAddr, phone: &str) -> Result<(), ApiError> {
    let started = tokio::time::Instant::now();
    let now = Utc::now();
    if let Err(retry_after_s) = state.allow_reset_from(client, now.timestamp()) {
        return Err(ApiError::too_many_requests(
            retry_after_s,
            format!("too many password resets from this address; try again in {} minutes", whole_minutes(retry_after_s)),
        ));
    }
    let phone = parse_phone(phone)?;
    let outcome = issue_reset_code(state, &phone, now).await;
    tokio::time::sleep_until(started + std::time::Duration::from_millis(RESET_REQUEST_MIN_DURATION_MS)).await;
    outcome
}

/// What the store keeps of a reset code: an HMAC keyed by the server secret when there is one (a
/// leaked table then cannot be searched offline: 8 digits are few), else SHA-256 of `phone:code`.
fn reset_code_hash(state: &AppState, phone: &PhoneNumber, code: &str) -> String {
    let text = format!("{}:{code}", phone.as_str());
    match state.identity_hasher() {
        Some(hasher) => hasher.keyed_digest("reset-code", &text),
        None => token_hash(&text),
    }
}

async fn issue_reset_code(state: &AppState, phone: &PhoneNumber, now: DateTime<Utc>) -> Result<(), ApiError> {
    let account = match state.store().account_by_phone(phone.as_str()).await {
        Ok(account) => account,
        Err(StoreError::NotFound(_)) => {
            // The same in-process work as for an account; the rest is covered by the minimum duration.
            let _ = reset_code_hash(state, phone, &new_reset_code());
            return Ok(());
        }
        Err(other) => return Err(other.into()),
    };
    let recent = state.store().count_reset_codes_since(account.id, now - Duration::hours(1)).await?;
    if recent >= RESET_CODES_PER_ACCOUNT_PER_HOUR {
        tracing::warn!(account = %account.id, recent, "password reset not sent: the account's hourly limit is reached");
        return Ok(());
    }
    let expires_at = now + Duration::minutes(RESET_CODE_VALID_MINUTES);
    for _ in 0..RESET_CODE_ATTEMPTS {
        let code = new_reset_code();
        let code_hash = reset_code_hash(state, phone, &code);
        let message = reset_message(&account, phone, &code, expires_at);
        match state.store().create_reset_code_with_message(&code_hash, account.id, expires_at, &message, now).await {
            Ok(()) => {
                tracing::info!(account = %account.id, message_id = message.id, "password reset code issued");
                return Ok(());
            }
            // Deleted in the meantime: the same answer as for a phone without an account.
            Err(StoreError::NotFound(_)) => return Ok(()),
            Err(StoreError::Conflict(_)) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    tracing::error!(account = %account.id, "no unused reset code after {RESET_CODE_ATTEMPTS} attempts");
    Err(ApiError::internal())
}

/// The SMS carrying a reset code: Chinese first, then English, with the code and when it expires
/// (Beijing time).
fn reset_message(account: &Account, phone: &PhoneNumber, code: &str, expires_at: DateTime<Utc>) -> OutboxMessage {
    let beijing = FixedOffset::east_opt(8 * 3_600).expect("UTC+8 is a valid offset");
    let until = expires_at.with_timezone(&beijing).format("%H:%M");
    OutboxMessage {
        id: auth::new_id(),
        region: account.home_region,
        channel: "sms".to_string(),
        recipient: phone.as_str().to_string(),
        subject: "密码重置验证码 / Password reset code".to_string(),
        body: format!(
            "【全民健身】您的密码重置验证码是 {code}，{RESET_CODE_VALID_MINUTES} 分钟内有效（北京时间 {until} 前）。请勿告诉他人；如非本人操作，请忽略本短信。\n\
             [FitForAll] Your password reset code is {code}. It is valid for {RESET_CODE_VALID_MINUTES} minutes (until {until} Beijing time). \
             Do not share it; if you did not ask for it, ignore this message."
        ),
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmation {
    pub phone: String,
    pub code: String,
    pub new_password: String,
}

/// Set a new password with the code from the SMS.
///
/// 204 on success: the code is used up, every session of the account ends. A wrong, expired or used
/// code is a 400 `invalid_code`; wrong codes count as failed logins (429 with Retry-After once the
/// account is locked) and against the per-address limit.
#[utoipa::path(post, path = "/api/v1/password-resets/confirm", tag = "accounts", request_body = serde_json::Value,
    responses((status = 204, description = "Password set"), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn finish_password_reset(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<ResetConfirmation>,
) -> Result<StatusCode, ApiError> {
    confirm_password_reset(&state, client.ip(), &request.phone, &request.code, request.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The 400 for a wrong, expired or used code, and for a phone without an account (the same answer).
pub fn invalid_code() -> ApiError {
    let reason = "the code is wrong, has expired or was already used; ask for a new code".to_string();
    ApiError {
        details: vec![ErrorDetail { field: "code".to_string(), reason: reason.clone() }],
        ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_code", format!("code: {reason}"))
    }
}

/// Finishes a password reset (API and the reset page): per-address limit (429), field checks (400
/// `phone`, `code`, `new_password`), the account's lockout (429), then the code is used up (400
/// `invalid_code` when wrong, expired or used, counted as a failed login), the new password is set,
/// every session of the account ends, its API tokens are revoked and its failed-login count is cleared.
pub async fn confirm_password_reset(state: &AppState, client: IpAddr, phone: &str, code: &str, new_password: String) -> Result<(), ApiError> {
    let now = Utc::now();
    if let Err(retry_after_s) = state.allow_reset_from(client, now.timestamp()) {
        return Err(ApiError::too_many_requests(
            retry_after_s,
            format!("too many password resets from this address; try again in {} minutes", whole_minutes(retry_after_s)),
        ));
    }
    let phone = parse_phone(phone)?;
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != RESET_CODE_DIGITS || !code.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(field_error("code", format!("expected the {RESET_CODE_DIGITS}-digit code from the message")));
    }
    check_password_rule(&new_password, phone.as_str()).map_err(|error| field_error("new_password", error.to_string()))?;
    let account = match state.store().account_by_phone(phone.as_str()).await {
        Ok(account) => account,
        Err(StoreError::NotFound(_)) => return Err(invalid_code()),
        Err(other) => return Err(other.into()),
    };
    if let Err(locked) = account.throttle.check(now.timestamp()) {
        return Err(account_locked(locked.retry_after_s));
    }
    let owner = match state.store().consume_reset_code(&reset_code_hash(state, &phone, &code), now).await {
        Ok(owner) => owner,
        Err(StoreError::NotFound(_)) => {
            count_failed_attempt(state, account.id, now).await?;
            return Err(invalid_code());
        }
        Err(other) => return Err(other.into()),
    };
    if owner != account.id {
        tracing::error!(account = %account.id, %owner, "a reset code for this phone belonged to another account");
        return Err(invalid_code());
    }
    let password_hash = hash_password(new_password).await;
    let now = Utc::now();
    state.store().set_password_hash(account.id, &password_hash, now).await?;
    let sessions_ended = state.store().delete_sessions_of(account.id).await?;
    // API tokens too: a reset is how an account is taken back, and a token made with the old password
    // would outlive it. (Changing the password while logged in keeps them: the owner is there.)
    let tokens_revoked = state.store().revoke_api_tokens_of(account.id, now).await?;
    state.forget_token_callers();
    state.store().save_throttle(account.id, &fitforall_core::throttle::LoginThrottle::default(), now).await?;
    tracing::info!(account = %account.id, sessions_ended, tokens_revoked, "password reset with a code");
    Ok(())
}
