//! A person's own data (issue 3): the export of everything held about their account, and deleting
//! the account.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use fitforall_core::policy::AccountId;
use fitforall_core::region::RegionCode;
use fitforall_store::{AuditEntry, MAX_EXPORT_ROWS, StoreError};

use crate::api::ApiJson;
use crate::api::accounts::{IdentityView, TokenView, check_own_password, cleared_session_cookie, own_account, tokens_of};
use crate::api::admin::{AuditView, audit_view};
use crate::caller::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The version of the export's shape; changes when fields are removed or change meaning.
pub const EXPORT_FORMAT: &str = "fitforall-personal-data/1";

/// Everything FitForAll holds about one account, as its owner downloads it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PersonalDataExport {
    /// `fitforall-personal-data/1`.
    pub format: String,
    /// RFC 3339.
    pub exported_at: String,
    pub account: ExportedAccount,
    /// Every role grant, revoked ones included, oldest first.
    pub roles: Vec<ExportedGrant>,
    /// Stored sessions (never their tokens), oldest first.
    pub sessions: Vec<ExportedSession>,
    /// API tokens, revoked ones included (never the tokens).
    pub api_tokens: Vec<TokenView>,
    /// Audit entries where the account is the actor or the target, newest first.
    pub audit_entries: Vec<AuditView>,
    /// Messages sent or waiting to be sent to the account's phone, newest first, without their text
    /// (a reset code in it may still work).
    pub messages: Vec<ExportedMessage>,
    /// Sections cut at their row limit (normally empty).
    pub truncated: Vec<String>,
    /// What the export does not hold yet, and why.
    pub notes: Vec<String>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ExportedAccount {
    pub id: String,
    /// In full: it is the owner's.
    pub phone: String,
    pub name: String,
    pub home_region: Option<ExportedRegion>,
    /// The masked number, birth date and sex; the full number is never stored.
    pub identity: Option<IdentityView>,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ExportedRegion {
    /// 12 digits.
    pub code: String,
    /// e.g. 浙江省 杭州市 西湖区.
    pub name: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ExportedGrant {
    pub role: String,
    pub scope: String,
    pub description: String,
    pub granted_at: String,
    pub revoked_at: Option<String>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ExportedSession {
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ExportedMessage {
    /// `sms`.
    pub channel: String,
    pub subject: String,
    pub created_at: String,
    /// `None` while not (yet) sent.
    pub sent_at: Option<String>,
}

/// Download everything held about the caller's account as a JSON file.
///
/// The account (full phone, masked identity number), role grants with their history, sessions and API
/// tokens (never the tokens), audit entries naming the account, and messages to its phone (without
/// their text). Bookings and fitness results join the export when those features land.
#[utoipa::path(get, path = "/api/v1/me/export", tag = "accounts",
    responses((status = 200, body = PersonalDataExport, description = "Sent as an attachment, fitforall-export-<id>.json"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn export(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let id = own_account(&caller)?;
    let export = export_of(&state, id).await?;
    let mut response = Json(export).into_response();
    let disposition = HeaderValue::from_str(&export_file_disposition(id)).expect("ASCII header value");
    response.headers_mut().insert(header::CONTENT_DISPOSITION, disposition);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `attachment; filename="fitforall-export-<id>.json"` (for the account page's download too).
pub fn export_file_disposition(id: AccountId) -> String {
    format!("attachment; filename=\"fitforall-export-{id}.json\"")
}

/// Everything held about `account` (API and the account page; the caller decides who may ask).
/// Bookings and fitness results join the export when those features land (see `notes`). Each section
/// holds at most `MAX_EXPORT_ROWS` rows; a cut section is named in `truncated`.
pub async fn export_of(state: &AppState, account: AccountId) -> Result<PersonalDataExport, ApiError> {
    let store = state.store();
    let stored = store.account_by_id(account).await?;
    let snapshot = state.snapshot();
    let mut truncated = Vec::new();
    let mut note_cut = |section: &str, rows: usize| {
        if rows as i64 >= MAX_EXPORT_ROWS {
            truncated.push(section.to_string());
        }
    };
    let grants = store.role_history(account, MAX_EXPORT_ROWS).await?;
    note_cut("roles", grants.len());
    let sessions = store.sessions_of(account, MAX_EXPORT_ROWS).await?;
    note_cut("sessions", sessions.len());
    let audit_entries: Vec<AuditEntry> = store.audit_of_account(account, MAX_EXPORT_ROWS).await?;
    note_cut("audit_entries", audit_entries.len());
    let messages = if stored.phone.is_empty() { Vec::new() } else { store.messages_to(&stored.phone, MAX_EXPORT_ROWS).await? };
    note_cut("messages", messages.len());
    let home_region = stored.home_region.map(|code: RegionCode| ExportedRegion { code: code.full(), name: snapshot.regions.full_name(code) });
    Ok(PersonalDataExport {
        format: EXPORT_FORMAT.to_string(),
        exported_at: Utc::now().to_rfc3339(),
        account: ExportedAccount {
            id: stored.id.to_string(),
            phone: stored.phone.clone(),
            name: stored.name.clone(),
            home_region,
            identity: stored.identity.as_ref().map(|identity| IdentityView {
                masked: identity.masked.clone(),
                birth_date: identity.birth_date.to_string(),
                sex: identity.sex.as_str().to_string(),
            }),
            status: stored.status.as_str().to_string(),
            created_at: stored.created_at.to_rfc3339(),
            updated_at: stored.updated_at.to_rfc3339(),
        },
        roles: grants
            .into_iter()
            .map(|grant| ExportedGrant {
                role: grant.role.slug().to_string(),
                scope: grant.role.scope(),
                description: grant.role.scope_description(),
                granted_at: grant.granted_at.to_rfc3339(),
                revoked_at: grant.revoked_at.map(|at| at.to_rfc3339()),
            })
            .collect(),
        sessions: sessions
            .into_iter()
            .map(|session| ExportedSession {
                created_at: session.created_at.to_rfc3339(),
                last_seen_at: session.last_seen_at.to_rfc3339(),
                expires_at: session.expires_at.to_rfc3339(),
            })
            .collect(),
        api_tokens: tokens_of(state, account).await?,
        audit_entries: audit_entries.into_iter().map(audit_view).collect(),
        messages: messages
            .into_iter()
            .map(|message| ExportedMessage {
                channel: message.channel,
                subject: message.subject,
                created_at: message.created_at.to_rfc3339(),
                sent_at: message.sent_at.map(|at| at.to_rfc3339()),
            })
            .collect(),
        truncated,
        notes: vec![
            "The full resident identity number is never stored: only a keyed hash, the masked form, birth date and sex.".to_string(),
            "Passwords, session tokens, API tokens and reset codes are stored only as hashes and are not exported.".to_string(),
            "Bookings and fitness results join this export when those features land.".to_string(),
        ],
    })
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccountRequest {
    pub password: String,
}

/// Delete the caller's account (password required).
///
/// The account is anonymised: phone, name, password and identity number are removed, the phone and
/// identity number are free to register again, sessions, API tokens, reset codes and messages to the
/// phone are deleted, roles are revoked. Clears the session cookie. The last platform administrator
/// cannot delete their account (409).
#[utoipa::path(delete, path = "/api/v1/me", tag = "accounts", request_body = serde_json::Value,
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn delete_me(State(state): State<AppState>, caller: Caller, ApiJson(request): ApiJson<DeleteAccountRequest>) -> Result<Response, ApiError> {
    delete_own_account(&state, &caller, request.password).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, cleared_session_cookie());
    Ok(response)
}

/// Deletes the caller's own account (API and the account page): the password must be right (400
/// `password`, counted as a failed login; 429 once locked), the last platform administrator is refused
/// (409). Audited as `delete_account` by the account itself, with no personal data in the entry.
pub async fn delete_own_account(state: &AppState, caller: &Caller, password: String) -> Result<(), ApiError> {
    let id = own_account(caller)?;
    let account = state.store().account_by_id(id).await?;
    check_own_password(state, &account, password, "password").await?;
    let now = Utc::now();
    match state.store().delete_account(id, now).await {
        Ok(()) => state.forget_token_callers(),
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "last_platform_admin",
                "the last platform administrator cannot delete their account; make another account a platform administrator first",
            ));
        }
        Err(other) => return Err(other.into()),
    }
    let entry = AuditEntry {
        id: crate::auth::new_id(),
        at: now,
        actor: Some(id),
        actor_label: caller.label(),
        action: "delete_account".to_string(),
        target: format!("account {id}"),
        region: None,
        before_json: None,
        after_json: None,
    };
    state.store().append_audit(&entry).await?;
    tracing::info!(account = %id, "account deleted at its owner's request");
    Ok(())
}
