//! Administration over the API: role grants and revocations, and the audit log. Both decided by the
//! policy; every grant and revocation is itself audited.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use fitforall_core::policy::{AccountId, Action, Role};
use fitforall_core::region::RegionCode;
use fitforall_store::{AuditEntry, AuditQuery};

use crate::api::ApiJson;
use crate::api::accounts::{AccountView, account_view};
use crate::api::regions::parse_region;
use crate::caller::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::params::Params;
use crate::state::AppState;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    /// resident, venue_operator, station_staff, region_admin or platform_admin.
    pub role: String,
    /// Venue id, station id or region code; empty for roles without a scope.
    #[serde(default)]
    pub scope: String,
}

pub fn parse_account(text: &str) -> Result<AccountId, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(AccountId::new)
        .ok_or_else(|| ApiError::invalid_parameter("id", format!("expected an account id, got {text:?}")))
}

/// The region a grant of `role` is about: a venue operator's venue's region, a region admin's region.
fn scope_region(state: &AppState, role: &Role) -> Option<RegionCode> {
    match role {
        Role::VenueOperator { venue } => state.snapshot().catalog.get(venue).map(|venue| venue.region),
        Role::RegionAdmin { region } => Some(*region),
        Role::StationStaff { .. } | Role::Resident | Role::PlatformAdmin => None,
    }
}

fn parse_role(request: &RoleRequest) -> Result<Role, ApiError> {
    Role::parse(&request.role, &request.scope).map_err(|error| ApiError::invalid_body(vec![fitforall_core::venue::FieldError::new("role", error.to_string())]))
}

async fn audit_role_change(
    state: &AppState,
    caller: &Caller,
    action: &str,
    account: AccountId,
    role: &Role,
    region: Option<RegionCode>,
) -> Result<(), ApiError> {
    let change = serde_json::json!({ "account": account.to_string(), "role": role.slug(), "scope": role.scope() }).to_string();
    let (before_json, after_json) = if action == "grant_role" { (None, Some(change)) } else { (Some(change), None) };
    let entry = AuditEntry {
        id: crate::auth::new_id(),
        at: Utc::now(),
        actor: caller.account(),
        actor_label: caller.label(),
        action: action.to_string(),
        target: format!("account {account}"),
        region,
        before_json,
        after_json,
    };
    state.store().append_audit(&entry).await?;
    Ok(())
}

/// Grant a role to an account (platform administrators; region administrators below their region).
#[utoipa::path(post, path = "/api/v1/accounts/{id}/roles", tag = "accounts", params(("id" = String, Path, description = "Account id")), request_body = serde_json::Value,
    responses((status = 201, description = "Granted"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn grant_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<RoleRequest>,
) -> Result<Response, ApiError> {
    caller.require_login()?;
    let account = parse_account(&id)?;
    change_role(&state, &caller, account, &request, RoleChange::Grant).await?;
    Ok(StatusCode::CREATED.into_response())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    Grant,
    Revoke,
}

/// Grants or revokes a role (API and the users page): decided by the policy, then audited.
pub async fn change_role(state: &AppState, caller: &Caller, account: AccountId, request: &RoleRequest, change: RoleChange) -> Result<(), ApiError> {
    caller.require_login()?;
    let role = parse_role(request)?;
    let region = scope_region(state, &role);
    let by = caller.account().filter(|id| id.as_i64() > 0);
    match change {
        RoleChange::Grant => {
            caller.require(&Action::GrantRole { role: role.clone(), scope_region: region })?;
            state.store().grant_role(crate::auth::new_id(), account, &role, by, Utc::now()).await?;
            state.forget_token_callers();
            audit_role_change(state, caller, "grant_role", account, &role, region).await
        }
        RoleChange::Revoke => {
            caller.require(&Action::RevokeRole { role: role.clone(), scope_region: region })?;
            state.store().revoke_role(account, &role, by, Utc::now()).await?;
            state.forget_token_callers();
            audit_role_change(state, caller, "revoke_role", account, &role, region).await
        }
    }
}

/// Revoke a role from an account. The last platform administrator cannot be removed (409).
#[utoipa::path(delete, path = "/api/v1/accounts/{id}/roles", tag = "accounts", params(("id" = String, Path, description = "Account id")), request_body = serde_json::Value,
    responses((status = 204, description = "Revoked"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<RoleRequest>,
) -> Result<StatusCode, ApiError> {
    caller.require_login()?;
    let account = parse_account(&id)?;
    change_role(&state, &caller, account, &request, RoleChange::Revoke).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditView {
    pub id: String,
    pub at: String,
    pub actor: Option<String>,
    pub actor_label: String,
    pub action: String,
    pub target: String,
    pub region: Option<String>,
    /// JSON text of the state before and after the write.
    pub before: Option<String>,
    pub after: Option<String>,
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| format!("expected an RFC 3339 time like 2026-12-01T08:00:00+08:00, got {text:?}"))
}

/// Search the audit log, newest first. Region administrators must name a region inside theirs.
#[utoipa::path(get, path = "/api/v1/audit", tag = "accounts",
    params(
        ("region" = Option<String>, Query, description = "Entries about this region and below (required for region administrators)"),
        ("actor" = Option<String>, Query, description = "Account id of the actor"),
        ("action" = Option<String>, Query, description = "e.g. create_venue, grant_role"),
        ("from" = Option<String>, Query, description = "RFC 3339, inclusive"),
        ("to" = Option<String>, Query, description = "RFC 3339, exclusive"),
        ("limit" = Option<u32>, Query, description = "1–500, default 50"),
        ("offset" = Option<u32>, Query, description = "Entries to skip"),
    ),
    responses((status = 200, body = Vec<AuditView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn search_audit(State(state): State<AppState>, caller: Caller, params: Params) -> Result<Json<Vec<AuditView>>, ApiError> {
    params.allow_only(&AUDIT_PARAMETERS)?;
    Ok(Json(audit_search(&state, &caller, &params).await?))
}

/// The query parameters of an audit search.
pub const AUDIT_PARAMETERS: [&str; 7] = ["region", "actor", "action", "from", "to", "limit", "offset"];

/// An audit search from query parameters (API and the audit page), decided by the policy.
pub async fn audit_search(state: &AppState, caller: &Caller, params: &Params) -> Result<Vec<AuditView>, ApiError> {
    caller.require_login()?;
    let snapshot = state.snapshot();
    let region = match params.text("region") {
        Some(text) => Some(parse_region(&snapshot.regions, "region", text)?),
        None => None,
    };
    caller.require(&Action::ViewAuditLog { region })?;
    let query = AuditQuery {
        actor: params.parsed("actor", |text| text.parse::<i64>().map(AccountId::new).map_err(|_| format!("expected an account id, got {text:?}")))?,
        action: params.text("action").map(str::to_string),
        region,
        from: params.parsed("from", parse_time)?,
        to: params.parsed("to", parse_time)?,
        limit: params.integer_in("limit", 1, 500)?.unwrap_or(50) as i64,
        offset: params.integer_in("offset", 0, 10_000_000)?.unwrap_or(0) as i64,
    };
    let entries = state.store().search_audit(&query).await?;
    Ok(entries.into_iter().map(audit_view).collect())
}

/// An audit entry as the API shows it (audit search, personal-data export).
pub fn audit_view(entry: AuditEntry) -> AuditView {
    AuditView {
        id: entry.id.to_string(),
        at: entry.at.to_rfc3339(),
        actor: entry.actor.map(|actor| actor.to_string()),
        actor_label: entry.actor_label,
        action: entry.action,
        target: entry.target,
        region: entry.region.map(RegionCode::full),
        before: entry.before_json,
        after: entry.after_json,
    }
}

/// List accounts with their roles, by id. Platform administrators may list all; region
/// administrators must name a region inside theirs and see the accounts whose home region lies in it
/// (accounts without a home region are listed only without `region`). Phones and identity numbers
/// are masked.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts",
    params(
        ("region" = Option<String>, Query, description = "Accounts whose home region is this region or below (required for region administrators)"),
        ("limit" = Option<u32>, Query, description = "1–500, default 50"),
        ("offset" = Option<u32>, Query, description = "Accounts to skip"),
    ),
    responses((status = 200, body = Vec<AccountView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_accounts(State(state): State<AppState>, caller: Caller, params: Params) -> Result<Json<Vec<AccountView>>, ApiError> {
    params.allow_only(&ACCOUNT_LIST_PARAMETERS)?;
    Ok(Json(accounts_list(&state, &caller, &params).await?))
}

/// The query parameters of the accounts list.
pub const ACCOUNT_LIST_PARAMETERS: [&str; 3] = ["region", "limit", "offset"];

/// The accounts list from query parameters (API and the users page), decided by the policy
/// (`Action::ViewAccounts`). Does not check for unknown parameters: callers use `allow_only`.
pub async fn accounts_list(state: &AppState, caller: &Caller, params: &Params) -> Result<Vec<AccountView>, ApiError> {
    caller.require_login()?;
    let snapshot = state.snapshot();
    let region = match params.text("region") {
        Some(text) => Some(parse_region(&snapshot.regions, "region", text)?),
        None => None,
    };
    caller.require(&Action::ViewAccounts { region })?;
    let limit = params.integer_in("limit", 1, 500)?.unwrap_or(50) as i64;
    let offset = params.integer_in("offset", 0, 10_000_000)?.unwrap_or(0) as i64;
    let accounts = state.store().accounts_with_roles(region, limit, offset).await?;
    Ok(accounts.iter().map(|(account, roles)| account_view(account, roles)).collect())
}
