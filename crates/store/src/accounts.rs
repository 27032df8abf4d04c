//! Accounts, roles and security (issue 3): accounts with their phone and identity claims, role grants,
//! sessions, API tokens, the audit log, the message outbox and password reset codes.
//!
//! Invariants that protect people are database constraints, not checks in this file:
//!
//! - one account per phone and per identity number: the claim tables `account_phones` and
//!   `account_identities` are keyed by the claimed value, and every write inserts the claim with no
//!   pre-check, so the primary key alone decides between concurrent registrations;
//! - one active grant of a role and scope per account: a partial unique index;
//! - a deleted account holds no phone, name, password or identity: a CHECK on `accounts`.
//!
//! Secrets never reach this module in the clear: the edge hashes session tokens, API tokens, reset
//! codes and identity numbers (a keyed HMAC) and passes the hex strings.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use fitforall_core::identity::Sex;
use fitforall_core::policy::{AccountId, Role};
use fitforall_core::region::RegionCode;
use fitforall_core::throttle::{FailureOutcome, LoginThrottle, ThrottlePolicy};

use sqlx::AssertSqlSafe;

use crate::{Backend, BackendKind, Store, StoreError, StoreResult};

/// The most audit entries or accounts one page returns.
pub const MAX_PAGE: i64 = 500;
/// The most rows of one kind a personal-data read returns (sessions, grants, audit entries, messages).
pub const MAX_EXPORT_ROWS: i64 = 10_000;
/// A message that failed this many times is not claimed again.
pub const MAX_MESSAGE_ATTEMPTS: i32 = 5;
/// How long a claimed message is reserved for its sender.
pub const MESSAGE_LEASE_S: i64 = 300;
/// How long a failed message waits before it is claimed again.
pub const MESSAGE_RETRY_S: i64 = 60;
/// The province code of rows that belong to no region.
pub const NO_PROVINCE: &str = "00";

const PHONE_TAKEN: &str = "phone already registered";
/// How often a token's `last_used_at` is brought up to date, at most.
pub const TOKEN_USE_RECORD_INTERVAL_S: i64 = 60;

/// The most API tokens [`Store::api_tokens`] looks up at once.
pub const MAX_TOKEN_LOOKUP_BATCH: usize = 256;

/// Most residents `Store::create_residents_with_tokens` writes in one call (one transaction).
pub const MAX_BULK_RESIDENTS: usize = 2_000;

/// A new account with one API token, for [`Store::create_residents_with_tokens`].
pub struct NewResidentWithToken {
    pub account: NewAccount,
    pub token_id: i64,
    /// The token's hash, as [`Store::create_api_token`] takes it.
    pub token_hash: String,
}

const IDENTITY_TAKEN: &str = "identity number already belongs to another account";
const LAST_PLATFORM_ADMIN: &str = "the last platform administrator cannot be removed";

/// A registration. `phone` is normalised by the caller; `password_hash` is the full PHC string.
#[derive(Clone)]
pub struct NewAccount {
    pub id: AccountId,
    pub phone: String,
    pub name: String,
    pub password_hash: String,
    pub home_region: Option<RegionCode>,
}

/// A resident identity number as stored: its keyed hash (hex), the masked form for display, and the
/// facts read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRecord {
    pub id_number_hash: String,
    pub masked: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Deleted,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Deleted => "deleted",
        }
    }
}

/// An account. A deleted account is anonymised: empty phone, name and password hash, no identity.
#[derive(Clone, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub phone: String,
    pub name: String,
    pub password_hash: String,
    pub identity: Option<IdentityRecord>,
    pub home_region: Option<RegionCode>,
    pub throttle: LoginThrottle,
    pub status: AccountStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("phone", &self.phone)
            .field("name", &self.name)
            .field("password_hash", &"<redacted>")
            .field("identity", &self.identity.as_ref().map(|identity| identity.masked.as_str()))
            .field("home_region", &self.home_region)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub account: AccountId,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// Who an API token acts for: its owner, its id and the owner's active grants, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHolder {
    pub account: AccountId,
    pub token_id: i64,
    pub roles: Vec<Role>,
}

/// An API token as its owner sees it (never the hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenInfo {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One audit entry: who did what to which target, when, with the state before and after (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: Option<AccountId>,
    /// The actor as shown in the log (name and role at the time), kept even if the account is deleted.
    pub actor_label: String,
    pub action: String,
    pub target: String,
    /// The region the target lies in; decides which region administrators see the entry.
    pub region: Option<RegionCode>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

/// Audit search: every given filter must hold. `region` selects the subtree; `from` is inclusive and
/// `to` exclusive; `limit` is capped at [`MAX_PAGE`]. Newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub actor: Option<AccountId>,
    pub action: Option<String>,
    pub region: Option<RegionCode>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: i64,
    pub offset: i64,
}

impl Default for AuditQuery {
    fn default() -> AuditQuery {
        AuditQuery { actor: None, action: None, region: None, from: None, to: None, limit: 50, offset: 0 }
    }
}

/// A message to send. `region` (the recipient's or the subject's) decides the row's province.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    pub region: Option<RegionCode>,
    /// `sms` today.
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

/// A message claimed for sending, with the attempts made before this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMessage {
    pub message: OutboxMessage,
    pub attempts: i32,
}

/// A session as its owner may see it (an export): never the token, its hash or the CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// One grant of a role, active or revoked: the grant history of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrantRecord {
    pub role: Role,
    pub granted_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A message as its recipient may see it (an export): never the body, which may hold a live reset code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRecord {
    pub id: i64,
    pub channel: String,
    pub subject: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub attempts: i32,
}

fn province_of(region: Option<RegionCode>) -> String {
    region.map(RegionCode::province_code).unwrap_or_else(|| NO_PROVINCE.to_string())
}

/// Maps a unique violation to `Conflict(message)`; every other error stays a database error.
fn unique_violation_as(message: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(database) if database.is_unique_violation() => StoreError::Conflict(message.to_string()),
        _ => StoreError::Database(error),
    }
}

/// Inside a write transaction (`$tx`, either backend): the province of an active account, or return
/// `NotFound` from the enclosing function. A macro because each `dispatch!` arm has its own
/// transaction type.
macro_rules! active_account_province {
    ($tx:ident, $account:expr) => {{
        let province: Option<String> = sqlx::query_scalar("SELECT province_code FROM accounts WHERE id = $1 AND status = 'active'")
            .bind($account.as_i64())
            .fetch_optional(&mut *$tx)
            .await?;
        match province {
            Some(province) => province,
            None => return Err(no_account($account)),
        }
    }};
}

fn no_account(id: AccountId) -> StoreError {
    StoreError::NotFound(format!("account {id}"))
}

fn parse_region(field: &str, text: Option<String>) -> StoreResult<Option<RegionCode>> {
    text.map(|text| RegionCode::parse(&text).map_err(|error| StoreError::Corrupt(format!("{field} {text}: {error}")))).transpose()
}

const ACCOUNT_COLUMNS: &str =
    "id, phone, name, password_hash, id_number_hash, id_masked, birth_date, sex, home_region, throttle, status, created_at, updated_at";

type AccountRow = (
    i64,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
);

fn account_from_row(row: AccountRow) -> StoreResult<Account> {
    let (id, phone, name, password_hash, id_hash, masked, birth_date, sex, home_region, throttle, status, created_at, updated_at) = row;
    let corrupt = |field: &str, detail: String| StoreError::Corrupt(format!("account {id}, {field}: {detail}"));
    let identity = match (id_hash, masked, birth_date, sex) {
        (Some(id_number_hash), Some(masked), Some(birth_date), Some(sex)) => Some(IdentityRecord {
            id_number_hash,
            masked,
            birth_date: NaiveDate::parse_from_str(&birth_date, "%Y-%m-%d").map_err(|error| corrupt("birth_date", error.to_string()))?,
            sex: match sex.as_str() {
                "male" => Sex::Male,
                "female" => Sex::Female,
                _ => return Err(corrupt("sex", sex)),
            },
        }),
        (None, None, None, None) => None,
        _ => return Err(corrupt("identity", "partly stored".to_string())),
    };
    let status = match status.as_str() {
        "active" => AccountStatus::Active,
        "deleted" => AccountStatus::Deleted,
        _ => return Err(corrupt("status", status)),
    };
    Ok(Account {
        id: AccountId::new(id),
        phone: phone.unwrap_or_default(),
        name,
        password_hash,
        identity,
        home_region: parse_region("home_region", home_region)?,
        throttle: serde_json::from_str(&throttle).map_err(|error| corrupt("throttle", error.to_string()))?,
        status,
        created_at,
        updated_at,
    })
}

fn role_from_row(account: i64, slug: &str, scope: &str) -> StoreResult<Role> {
    Role::parse(slug, scope).map_err(|error| StoreError::Corrupt(format!("role grant of account {account}: {error}")))
}

type AuditRow = (i64, DateTime<Utc>, Option<i64>, String, String, String, Option<String>, Option<String>, Option<String>);

fn audit_from_row(row: AuditRow) -> StoreResult<AuditEntry> {
    let (id, at, actor, actor_label, action, target, region, before_json, after_json) = row;
    Ok(AuditEntry {
        id,
        at,
        actor: actor.map(AccountId::new),
        actor_label,
        action,
        target,
        region: parse_region("audit region", region)?,
        before_json,
        after_json,
    })
}

type ApiTokenRow = (i64, String, DateTime<Utc>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

type MessageRow = (i64, String, Option<String>, String, String, String, String, i32);

/// Active platform administrators' grants; on PostgreSQL the rows are locked, so two concurrent
/// revocations cannot both see "another administrator remains" (SQLite's `BEGIN IMMEDIATE`
/// serialises writers already).
const ACTIVE_PLATFORM_ADMINS_SQLITE: &str = "SELECT account_id FROM role_grants WHERE role = 'platform_admin' AND revoked_at IS NULL";
const ACTIVE_PLATFORM_ADMINS_POSTGRES: &str = "SELECT account_id FROM role_grants WHERE role = 'platform_admin' AND revoked_at IS NULL FOR UPDATE";

impl Store {
    fn active_platform_admins_sql(&self) -> &'static str {
        match self.kind() {
            BackendKind::Sqlite => ACTIVE_PLATFORM_ADMINS_SQLITE,
            BackendKind::Postgres => ACTIVE_PLATFORM_ADMINS_POSTGRES,
        }
    }

    // ----- accounts -----

    /// Registers an account: the phone claim and the account row in one transaction. `Conflict` when
    /// the phone is taken (decided by the claim's primary key, so concurrent registrations of one phone
    /// cannot both succeed), and then nothing is written.
    pub async fn create_account(&self, account: &NewAccount, now: DateTime<Utc>) -> StoreResult<()> {
        let throttle = serde_json::to_string(&LoginThrottle::default()).map_err(|error| StoreError::Corrupt(error.to_string()))?;
        let province = province_of(account.home_region);
        dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            sqlx::query("INSERT INTO account_phones (phone, account_id) VALUES ($1, $2)")
                .bind(account.phone.as_str())
                .bind(account.id.as_i64())
                .execute(&mut *tx)
                .await
                .map_err(unique_violation_as(PHONE_TAKEN))?;
            sqlx::query(
                "INSERT INTO accounts (province_code, id, phone, name, password_hash, home_region, throttle, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $8)",
            )
            .bind(province.as_str())
            .bind(account.id.as_i64())
            .bind(account.phone.as_str())
            .bind(account.name.as_str())
            .bind(account.password_hash.as_str())
            .bind(account.home_region.map(RegionCode::full))
            .bind(throttle.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(unique_violation_as("account id already exists"))?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Many accounts with one API token each (named `token_name`) in one transaction: what
    /// `create_account` and then `create_api_token` write for each, a statement per table per
    /// `INSERT_CHUNK_ROWS / 10` residents instead of a transaction per row (a benchmark's fixture
    /// of tens of thousands of residents). At most [`MAX_BULK_RESIDENTS`] per call, else
    /// `Conflict`; a phone or id already taken is a `Conflict` and writes nothing.
    pub async fn create_residents_with_tokens(&self, residents: &[NewResidentWithToken], token_name: &str, now: DateTime<Utc>) -> StoreResult<()> {
        if residents.len() > MAX_BULK_RESIDENTS {
            return Err(StoreError::Conflict(format!("{} residents at once (at most {MAX_BULK_RESIDENTS})", residents.len())));
        }
        if residents.is_empty() {
            return Ok(());
        }
        let throttle = serde_json::to_string(&LoginThrottle::default()).map_err(|error| StoreError::Corrupt(error.to_string()))?;
        dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            // Ten binds per account row: a chunk stays far below both backends' limits.
            for chunk in residents.chunks(crate::INSERT_CHUNK_ROWS / 10) {
                let mut phones = sqlx::QueryBuilder::new("INSERT INTO account_phones (phone, account_id) ");
                phones.push_values(chunk, |mut row, resident| {
                    row.push_bind(resident.account.phone.as_str()).push_bind(resident.account.id.as_i64());
                });
                phones.build().execute(&mut *tx).await.map_err(unique_violation_as(PHONE_TAKEN))?;
                let mut accounts = sqlx::QueryBuilder::new(
                    "INSERT INTO accounts (province_code, id, phone, name, password_hash, home_region, throttle, status, created_at, updated_at) ",
                );
                accounts.push_values(chunk, |mut row, resident| {
                    let account = &resident.account;
                    row.push_bind(province_of(account.home_region))
                        .push_bind(account.id.as_i64())
                        .push_bind(account.phone.as_str())
                        .push_bind(account.name.as_str())
                        .push_bind(account.password_hash.as_str())
                        .push_bind(account.home_region.map(RegionCode::full))
                        .push_bind(throttle.as_str())
                        .push_bind("active")
                        .push_bind(now)
                        .push_bind(now);
                });
                accounts.build().execute(&mut *tx).await.map_err(unique_violation_as("account id already exists"))?;
                let mut tokens = sqlx::QueryBuilder::new("INSERT INTO api_tokens (province_code, id, token_hash, account_id, name, created_at) ");
                tokens.push_values(chunk, |mut row, resident| {
                    row.push_bind(province_of(resident.account.home_region))
                        .push_bind(resident.token_id)
                        .push_bind(resident.token_hash.as_str())
                        .push_bind(resident.account.id.as_i64())
                        .push_bind(token_name)
                        .push_bind(now);
                });
                tokens.build().execute(&mut *tx).await.map_err(unique_violation_as("API token already exists"))?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// An account by id, deleted ones included (anonymised).
    pub async fn account_by_id(&self, id: AccountId) -> StoreResult<Account> {
        let row: Option<AccountRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as(AssertSqlSafe(format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"))).bind(id.as_i64()).fetch_optional(pool).await?
        });
        account_from_row(row.ok_or_else(|| no_account(id))?)
    }

    /// The active account registered with `phone` (normalised by the caller).
    pub async fn account_by_phone(&self, phone: &str) -> StoreResult<Account> {
        let row: Option<AccountRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = (SELECT account_id FROM account_phones WHERE phone = $1) AND phone = $1 AND status = 'active'"
            )))
            .bind(phone)
            .fetch_optional(pool)
            .await?
        });
        account_from_row(row.ok_or_else(|| StoreError::NotFound("no account with this phone".to_string()))?)
    }

    /// Records (or replaces) the account's identity number. `Conflict` when another account holds it,
    /// without saying which; the claim's primary key decides.
    pub async fn set_identity(&self, id: AccountId, identity: &IdentityRecord, now: DateTime<Utc>) -> StoreResult<()> {
        dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let current: Option<(Option<String>,)> =
                sqlx::query_as("SELECT id_number_hash FROM accounts WHERE id = $1 AND status = 'active'").bind(id.as_i64()).fetch_optional(&mut *tx).await?;
            let Some((current,)) = current else {
                return Err(no_account(id));
            };
            if current.as_deref() != Some(identity.id_number_hash.as_str()) {
                if let Some(old) = &current {
                    sqlx::query("DELETE FROM account_identities WHERE id_number_hash = $1 AND account_id = $2")
                        .bind(old.as_str())
                        .bind(id.as_i64())
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("INSERT INTO account_identities (id_number_hash, account_id) VALUES ($1, $2)")
                    .bind(identity.id_number_hash.as_str())
                    .bind(id.as_i64())
                    .execute(&mut *tx)
                    .await
                    .map_err(unique_violation_as(IDENTITY_TAKEN))?;
            }
            sqlx::query("UPDATE accounts SET id_number_hash = $2, id_masked = $3, birth_date = $4, sex = $5, updated_at = $6 WHERE id = $1")
                .bind(id.as_i64())
                .bind(identity.id_number_hash.as_str())
                .bind(identity.masked.as_str())
                .bind(identity.birth_date.format("%Y-%m-%d").to_string())
                .bind(identity.sex.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn set_password_hash(&self, id: AccountId, password_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let updated = dispatch!(self, |pool, begin| {
            sqlx::query("UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE id = $1 AND status = 'active'")
                .bind(id.as_i64())
                .bind(password_hash)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if updated == 0 {
            return Err(no_account(id));
        }
        Ok(())
    }

    /// Stores the login throttle state (JSON). `updated_at` is left alone: a failed login is not an
    /// edit of the account.
    pub async fn save_throttle(&self, id: AccountId, throttle: &LoginThrottle, _now: DateTime<Utc>) -> StoreResult<()> {
        let json = serde_json::to_string(throttle).map_err(|error| StoreError::Corrupt(error.to_string()))?;
        let updated = dispatch!(self, |pool, begin| {
            sqlx::query("UPDATE accounts SET throttle = $2 WHERE id = $1 AND status = 'active'")
                .bind(id.as_i64())
                .bind(json.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        if updated == 0 {
            return Err(no_account(id));
        }
        Ok(())
    }

    /// Deletes an account at its owner's request: the row stays, anonymised (no phone, name, password
    /// or identity; status `deleted`), the phone and identity claims are released so they can register
    /// again, its sessions, API tokens, reset codes and the outbox messages addressed to its phone are
    /// removed and its grants revoked. `Conflict`
    /// when it is the last platform administrator; `NotFound` when absent or already deleted.
    pub async fn delete_account(&self, id: AccountId, now: DateTime<Utc>) -> StoreResult<()> {
        let admins_sql = self.active_platform_admins_sql();
        dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let phone: Option<Option<String>> =
                sqlx::query_scalar("SELECT phone FROM accounts WHERE id = $1 AND status = 'active'").bind(id.as_i64()).fetch_optional(&mut *tx).await?;
            let Some(phone) = phone else {
                return Err(no_account(id));
            };
            let admins: Vec<i64> = sqlx::query_scalar(admins_sql).fetch_all(&mut *tx).await?;
            if admins.contains(&id.as_i64()) && admins.iter().all(|admin| *admin == id.as_i64()) {
                return Err(StoreError::Conflict(LAST_PLATFORM_ADMIN.to_string()));
            }
            sqlx::query("UPDATE role_grants SET revoked_at = $2, revoked_by = $1 WHERE account_id = $1 AND revoked_at IS NULL")
                .bind(id.as_i64())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            for statement in [
                "DELETE FROM account_phones WHERE account_id = $1",
                "DELETE FROM account_identities WHERE account_id = $1",
                "DELETE FROM sessions WHERE account_id = $1",
                "DELETE FROM api_tokens WHERE account_id = $1",
                "DELETE FROM reset_codes WHERE account_id = $1",
            ] {
                sqlx::query(statement).bind(id.as_i64()).execute(&mut *tx).await?;
            }
            // Messages to the phone were this account's (one account per phone); they name the phone.
            sqlx::query("DELETE FROM outbox WHERE recipient = $1").bind(phone.as_deref().unwrap_or("")).execute(&mut *tx).await?;
            sqlx::query(
                "UPDATE accounts SET phone = NULL, name = '', password_hash = '', id_number_hash = NULL, id_masked = NULL, birth_date = NULL, \
                 sex = NULL, throttle = '{}', status = 'deleted', updated_at = $2 WHERE id = $1",
            )
            .bind(id.as_i64())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    // ----- roles -----

    /// Grants a role. `NotFound` when the account is absent or deleted; `Conflict` when the same role
    /// with the same scope is already active (a partial unique index decides).
    pub async fn grant_role(&self, grant_id: i64, account: AccountId, role: &Role, granted_by: Option<AccountId>, now: DateTime<Utc>) -> StoreResult<()> {
        dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let province = active_account_province!(tx, account);
            sqlx::query("INSERT INTO role_grants (province_code, id, account_id, role, scope, granted_by, granted_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(province.as_str())
                .bind(grant_id)
                .bind(account.as_i64())
                .bind(role.slug())
                .bind(role.scope())
                .bind(granted_by.map(AccountId::as_i64))
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(unique_violation_as("the account already holds this role"))?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Revokes an active grant. `NotFound` when there is none; `Conflict` when it is the last active
    /// platform administrator grant.
    pub async fn revoke_role(&self, account: AccountId, role: &Role, revoked_by: Option<AccountId>, now: DateTime<Utc>) -> StoreResult<()> {
        let admins_sql = self.active_platform_admins_sql();
        dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            if *role == Role::PlatformAdmin {
                let admins: Vec<i64> = sqlx::query_scalar(admins_sql).fetch_all(&mut *tx).await?;
                if admins.contains(&account.as_i64()) && admins.iter().all(|admin| *admin == account.as_i64()) {
                    return Err(StoreError::Conflict(LAST_PLATFORM_ADMIN.to_string()));
                }
            }
            let revoked = sqlx::query(
                "UPDATE role_grants SET revoked_at = $4, revoked_by = $5 WHERE account_id = $1 AND role = $2 AND scope = $3 AND revoked_at IS NULL",
            )
            .bind(account.as_i64())
            .bind(role.slug())
            .bind(role.scope())
            .bind(now)
            .bind(revoked_by.map(AccountId::as_i64))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if revoked == 0 {
                return Err(StoreError::NotFound(format!("account {account} does not hold {} for {}", role.slug(), role.scope_description())));
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The account's active grants, oldest first.
    pub async fn active_roles(&self, account: AccountId) -> StoreResult<Vec<Role>> {
        let rows: Vec<(String, String)> = dispatch!(self, |pool, begin| {
            sqlx::query_as("SELECT role, scope FROM role_grants WHERE account_id = $1 AND revoked_at IS NULL ORDER BY granted_at, id")
                .bind(account.as_i64())
                .fetch_all(pool)
                .await?
        });
        rows.iter().map(|(slug, scope)| role_from_row(account.as_i64(), slug, scope)).collect()
    }

    /// Active accounts with their active grants, by id, for the administration page. `region`: only
    /// accounts whose home region lies in that subtree (accounts without one are listed only without a
    /// filter). `limit` is capped at [`MAX_PAGE`].
    pub async fn accounts_with_roles(&self, region: Option<RegionCode>, limit: i64, offset: i64) -> StoreResult<Vec<(Account, Vec<Role>)>> {
        let limit = limit.clamp(0, MAX_PAGE);
        let (rows, grants): (Vec<AccountRow>, Vec<(i64, String, String)>) = dispatch!(self, |pool, begin| {
            let mut tx = pool.begin().await?;
            let mut query = sqlx::QueryBuilder::new(format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE status = 'active'"));
            if let Some(region) = region {
                query.push(" AND province_code = ").push_bind(region.province_code());
                query.push(" AND home_region LIKE ").push_bind(format!("{}%", region.short()));
            }
            query.push(" ORDER BY id LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset.max(0));
            let rows: Vec<AccountRow> = query.build_query_as().fetch_all(&mut *tx).await?;
            let mut grants = Vec::new();
            if !rows.is_empty() {
                let mut query = sqlx::QueryBuilder::new("SELECT account_id, role, scope FROM role_grants WHERE revoked_at IS NULL AND account_id IN (");
                let mut ids = query.separated(", ");
                for row in &rows {
                    ids.push_bind(row.0);
                }
                query.push(") ORDER BY granted_at, id");
                grants = query.build_query_as().fetch_all(&mut *tx).await?;
            }
            tx.commit().await?;
            (rows, grants)
        });
        let mut roles: HashMap<i64, Vec<Role>> = HashMap::new();
        for (account, slug, scope) in &grants {
            roles.entry(*account).or_default().push(role_from_row(*account, slug, scope)?);
        }
        rows.into_iter()
            .map(|row| {
                let account = account_from_row(row)?;
                let held = roles.remove(&account.id.as_i64()).unwrap_or_default();
                Ok((account, held))
            })
            .collect()
    }

    // ----- sessions -----

    /// Starts a session for an active account (`NotFound` otherwise).
    pub async fn create_session(
        &self,
        token_hash: &str,
        account: AccountId,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let province = active_account_province!(tx, account);
            sqlx::query(
                "INSERT INTO sessions (province_code, token_hash, account_id, csrf_token, created_at, last_seen_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $5, $6)",
            )
            .bind(province.as_str())
            .bind(token_hash)
            .bind(account.as_i64())
            .bind(csrf_token)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await
            .map_err(unique_violation_as("session token already in use"))?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The session with this token hash, unless it has expired at `now`.
    pub async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Session>> {
        let row: Option<(i64, String, DateTime<Utc>, DateTime<Utc>)> = dispatch!(self, |pool, begin| {
            sqlx::query_as("SELECT account_id, csrf_token, expires_at, last_seen_at FROM sessions WHERE token_hash = $1 AND expires_at > $2")
                .bind(token_hash)
                .bind(now)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(account, csrf_token, expires_at, last_seen_at)| Session { account: AccountId::new(account), csrf_token, expires_at, last_seen_at }))
    }

    /// Records activity and moves the expiry (sliding sessions). `NotFound` when the session is gone.
    pub async fn touch_session(&self, token_hash: &str, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<()> {
        let updated = dispatch!(self, |pool, begin| {
            sqlx::query("UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE token_hash = $1 AND expires_at > $2")
                .bind(token_hash)
                .bind(now)
                .bind(expires_at)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if updated == 0 {
            return Err(StoreError::NotFound("session".to_string()));
        }
        Ok(())
    }

    /// Logs out one session; returns whether it existed.
    pub async fn delete_session(&self, token_hash: &str) -> StoreResult<bool> {
        let deleted =
            dispatch!(self, |pool, begin| sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await?.rows_affected());
        Ok(deleted > 0)
    }

    /// Logs out every session of an account (after a password change or reset); returns how many.
    pub async fn delete_sessions_of(&self, account: AccountId) -> StoreResult<u64> {
        let deleted = dispatch!(self, |pool, begin| {
            sqlx::query("DELETE FROM sessions WHERE account_id = $1").bind(account.as_i64()).execute(pool).await?.rows_affected()
        });
        Ok(deleted)
    }

    /// Removes sessions expired at `now`; returns how many.
    pub async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let deleted = dispatch!(self, |pool, begin| sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(pool).await?.rows_affected());
        Ok(deleted)
    }

    // ----- API tokens -----

    /// Creates an API token for an active account (`NotFound` otherwise). The store keeps the hash only.
    pub async fn create_api_token(&self, id: i64, token_hash: &str, account: AccountId, name: &str, now: DateTime<Utc>) -> StoreResult<()> {
        dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let province = active_account_province!(tx, account);
            sqlx::query("INSERT INTO api_tokens (province_code, id, token_hash, account_id, name, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(province.as_str())
                .bind(id)
                .bind(token_hash)
                .bind(account.as_i64())
                .bind(name)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(unique_violation_as("API token already exists"))?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The owner, id and the owner's active grants (oldest first) of an unrevoked token with this
    /// hash; records `now` as its last use (see [`Store::api_tokens`]).
    pub async fn api_token(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<TokenHolder>> {
        let found = self.api_tokens(&[token_hash.to_string()], now).await?;
        Ok(found.into_iter().next().map(|(_, holder)| holder))
    }

    /// [`Store::api_token`] for up to [`MAX_TOKEN_LOOKUP_BATCH`] hashes at once, in one query (the
    /// `Caller` extractor batches the lookups of a rush): each unrevoked token found, with its hash.
    ///
    /// `last_used_at` is written at most once per [`TOKEN_USE_RECORD_INTERVAL_S`]: a program calling
    /// many times a second (a booking rush) must not cost a write per request.
    pub async fn api_tokens(&self, token_hashes: &[String], now: DateTime<Utc>) -> StoreResult<Vec<(String, TokenHolder)>> {
        /// Token hash, account, token id, its last use, and one active grant's role and scope: one
        /// row per grant (one row with NULL role and scope for an account without any).
        type TokenGrantRow = (String, i64, i64, Option<DateTime<Utc>>, Option<String>, Option<String>);
        if token_hashes.is_empty() {
            return Ok(Vec::new());
        }
        if token_hashes.len() > MAX_TOKEN_LOOKUP_BATCH {
            return Err(StoreError::Conflict(format!("{} token lookups at once (at most {MAX_TOKEN_LOOKUP_BATCH})", token_hashes.len())));
        }
        let stale_before = now - chrono::Duration::seconds(TOKEN_USE_RECORD_INTERVAL_S);
        let rows: Vec<TokenGrantRow> = dispatch!(self, |pool, begin| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT t.token_hash, t.account_id, t.id, t.last_used_at, g.role, g.scope FROM api_tokens t \
                 LEFT JOIN role_grants g ON g.account_id = t.account_id AND g.revoked_at IS NULL \
                 WHERE t.revoked_at IS NULL AND t.token_hash IN (",
            );
            let mut list = query.separated(", ");
            for hash in crate::booking::padded(token_hashes) {
                list.push_bind(hash.as_str());
            }
            query.push(") ORDER BY t.id, g.granted_at, g.id");
            query.build_query_as().fetch_all(pool).await?
        });
        let mut found: Vec<(String, TokenHolder)> = Vec::new();
        let mut stale: Vec<i64> = Vec::new();
        let mut hashes_seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (hash, account, id, last_used_at, slug, scope) in rows {
            let same_token = found.last().is_some_and(|(_, holder)| holder.token_id == id);
            if !same_token {
                if !hashes_seen.insert(hash.clone()) {
                    return Err(StoreError::Corrupt(format!("two unrevoked API tokens share the hash of token {id}")));
                }
                if last_used_at.is_none_or(|at| at < stale_before) {
                    stale.push(id);
                }
                found.push((hash, TokenHolder { account: AccountId::new(account), token_id: id, roles: Vec::new() }));
            }
            if let (Some(slug), Some(scope), Some((_, holder))) = (slug, scope, found.last_mut()) {
                holder.roles.push(role_from_row(account, &slug, &scope)?);
            }
        }
        if !stale.is_empty() {
            dispatch!(self, |pool, begin| {
                let mut query = sqlx::QueryBuilder::new("UPDATE api_tokens SET last_used_at = ");
                query.push_bind(now).push(" WHERE (last_used_at IS NULL OR last_used_at < ").push_bind(stale_before).push(") AND id IN (");
                let mut list = query.separated(", ");
                for id in crate::booking::padded(&stale) {
                    list.push_bind(*id);
                }
                query.push(")");
                query.build().execute(pool).await?;
            });
        }
        Ok(found)
    }

    /// The account's tokens, revoked ones included, oldest first.
    pub async fn list_api_tokens(&self, account: AccountId) -> StoreResult<Vec<ApiTokenInfo>> {
        let rows: Vec<ApiTokenRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as("SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens WHERE account_id = $1 ORDER BY created_at, id")
                .bind(account.as_i64())
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(id, name, created_at, last_used_at, revoked_at)| ApiTokenInfo { id, name, created_at, last_used_at, revoked_at }).collect())
    }

    /// Revokes one of the owner's own tokens; `NotFound` for another account's token or one already revoked.
    pub async fn revoke_api_token(&self, owner: AccountId, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        let revoked = dispatch!(self, |pool, begin| {
            sqlx::query("UPDATE api_tokens SET revoked_at = $3 WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL")
                .bind(owner.as_i64())
                .bind(id)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if revoked == 0 {
            return Err(StoreError::NotFound(format!("API token {id}")));
        }
        Ok(())
    }

    /// Revokes every token of the account still in force (a password reset: whoever knew the old
    /// password may have made one). Returns how many.
    pub async fn revoke_api_tokens_of(&self, owner: AccountId, now: DateTime<Utc>) -> StoreResult<u64> {
        let revoked = dispatch!(self, |pool, begin| {
            sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL")
                .bind(owner.as_i64())
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(revoked)
    }

    // ----- audit -----

    /// Appends one audit entry (its own transaction).
    pub async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        dispatch!(self, |pool, begin| {
            sqlx::query(
                "INSERT INTO audit_log (province_code, id, at, actor_id, actor_label, action, target, region_code, before_json, after_json) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(province_of(entry.region))
            .bind(entry.id)
            .bind(entry.at)
            .bind(entry.actor.map(AccountId::as_i64))
            .bind(entry.actor_label.as_str())
            .bind(entry.action.as_str())
            .bind(entry.target.as_str())
            .bind(entry.region.map(RegionCode::full))
            .bind(entry.before_json.as_deref())
            .bind(entry.after_json.as_deref())
            .execute(pool)
            .await
            .map_err(unique_violation_as("audit entry id already used"))?;
        });
        Ok(())
    }

    /// Audit entries matching every filter of `query`, newest first.
    pub async fn search_audit(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEntry>> {
        let rows: Vec<AuditRow> = dispatch!(self, |pool, begin| {
            let mut sql = sqlx::QueryBuilder::new(
                "SELECT id, at, actor_id, actor_label, action, target, region_code, before_json, after_json FROM audit_log WHERE 1 = 1",
            );
            if let Some(actor) = query.actor {
                sql.push(" AND actor_id = ").push_bind(actor.as_i64());
            }
            if let Some(action) = &query.action {
                sql.push(" AND action = ").push_bind(action.clone());
            }
            if let Some(region) = query.region {
                sql.push(" AND province_code = ").push_bind(region.province_code());
                sql.push(" AND region_code LIKE ").push_bind(format!("{}%", region.short()));
            }
            if let Some(from) = query.from {
                sql.push(" AND at >= ").push_bind(from);
            }
            if let Some(to) = query.to {
                sql.push(" AND at < ").push_bind(to);
            }
            sql.push(" ORDER BY at DESC, id DESC LIMIT ").push_bind(query.limit.clamp(0, MAX_PAGE)).push(" OFFSET ").push_bind(query.offset.max(0));
            sql.build_query_as().fetch_all(pool).await?
        });
        rows.into_iter().map(audit_from_row).collect()
    }

    // ----- outbox -----

    pub async fn enqueue_message(&self, message: &OutboxMessage, now: DateTime<Utc>) -> StoreResult<()> {
        dispatch!(self, |pool, begin| {
            sqlx::query(
                "INSERT INTO outbox (province_code, id, region_code, channel, recipient, subject, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(province_of(message.region))
            .bind(message.id)
            .bind(message.region.map(RegionCode::full))
            .bind(message.channel.as_str())
            .bind(message.recipient.as_str())
            .bind(message.subject.as_str())
            .bind(message.body.as_str())
            .bind(now)
            .execute(pool)
            .await
            .map_err(unique_violation_as("message id already used"))?;
        });
        Ok(())
    }

    /// Claims up to `limit` unsent messages, oldest first: not sent, fewer than
    /// [`MAX_MESSAGE_ATTEMPTS`] failures, not claimed by another sender (or its lease ran out) and not
    /// waiting for a retry. Each is reserved for [`MESSAGE_LEASE_S`]; report the outcome with
    /// [`Store::mark_message_sent`] or [`Store::mark_message_failed`].
    pub async fn claim_messages(&self, limit: i64, now: DateTime<Utc>) -> StoreResult<Vec<ClaimedMessage>> {
        let lease_until = now + chrono::Duration::seconds(MESSAGE_LEASE_S);
        let select = match self.kind() {
            BackendKind::Sqlite => {
                "SELECT id, province_code, region_code, channel, recipient, subject, body, attempts FROM outbox \
                 WHERE sent_at IS NULL AND attempts < $1 AND (claimed_until IS NULL OR claimed_until <= $2) ORDER BY created_at, id LIMIT $3"
            }
            BackendKind::Postgres => {
                "SELECT id, province_code, region_code, channel, recipient, subject, body, attempts FROM outbox \
                 WHERE sent_at IS NULL AND attempts < $1 AND (claimed_until IS NULL OR claimed_until <= $2) ORDER BY created_at, id LIMIT $3 \
                 FOR UPDATE SKIP LOCKED"
            }
        };
        let rows: Vec<MessageRow> = dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let rows: Vec<MessageRow> = sqlx::query_as(select).bind(MAX_MESSAGE_ATTEMPTS).bind(now).bind(limit.clamp(0, MAX_PAGE)).fetch_all(&mut *tx).await?;
            for row in &rows {
                sqlx::query("UPDATE outbox SET claimed_until = $3 WHERE province_code = $1 AND id = $2")
                    .bind(row.1.as_str())
                    .bind(row.0)
                    .bind(lease_until)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            rows
        });
        rows.into_iter()
            .map(|(id, _province, region, channel, recipient, subject, body, attempts)| {
                Ok(ClaimedMessage {
                    message: OutboxMessage { id, region: parse_region("outbox region", region)?, channel, recipient, subject, body },
                    attempts,
                })
            })
            .collect()
    }

    /// `NotFound` when the message is unknown or already marked sent.
    pub async fn mark_message_sent(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        let updated = dispatch!(self, |pool, begin| {
            sqlx::query("UPDATE outbox SET sent_at = $2, claimed_until = NULL WHERE id = $1 AND sent_at IS NULL")
                .bind(id)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if updated == 0 {
            return Err(StoreError::NotFound(format!("unsent message {id}")));
        }
        Ok(())
    }

    /// Counts a failed attempt; the message is claimable again after [`MESSAGE_RETRY_S`] until it has
    /// failed [`MAX_MESSAGE_ATTEMPTS`] times. The error text is cut to 1,000 characters.
    pub async fn mark_message_failed(&self, id: i64, error: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let error: String = error.chars().take(1_000).collect();
        let retry_at = now + chrono::Duration::seconds(MESSAGE_RETRY_S);
        let updated = dispatch!(self, |pool, begin| {
            sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $2, claimed_until = $3 WHERE id = $1 AND sent_at IS NULL")
                .bind(id)
                .bind(error.as_str())
                .bind(retry_at)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if updated == 0 {
            return Err(StoreError::NotFound(format!("unsent message {id}")));
        }
        Ok(())
    }

    // ----- password reset codes -----

    /// Stores a reset code (by hash) for an active account (`NotFound` otherwise).
    pub async fn create_reset_code(&self, code_hash: &str, account: AccountId, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<()> {
        dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let province = active_account_province!(tx, account);
            sqlx::query("INSERT INTO reset_codes (province_code, code_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(province.as_str())
                .bind(code_hash)
                .bind(account.as_i64())
                .bind(now)
                .bind(expires_at)
                .execute(&mut *tx)
                .await
                .map_err(unique_violation_as("reset code already exists"))?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Uses a reset code: `NotFound` when unknown, used or expired. Using one also spends the account's
    /// other outstanding codes. A single UPDATE decides, so two concurrent uses cannot both succeed.
    pub async fn consume_reset_code(&self, code_hash: &str, now: DateTime<Utc>) -> StoreResult<AccountId> {
        let account: Option<i64> = dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let account: Option<i64> =
                sqlx::query_scalar("UPDATE reset_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING account_id")
                    .bind(code_hash)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(account) = account {
                sqlx::query("UPDATE reset_codes SET used_at = $2 WHERE account_id = $1 AND used_at IS NULL").bind(account).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            account
        });
        account.map(AccountId::new).ok_or_else(|| StoreError::NotFound("reset code is unknown, used or expired".to_string()))
    }
}

type GrantHistoryRow = (String, String, DateTime<Utc>, Option<DateTime<Utc>>);

type OutboxRecordRow = (i64, String, String, DateTime<Utc>, Option<DateTime<Utc>>, i32);

/// The account's throttle, its row locked until the transaction ends (PostgreSQL; SQLite's
/// `BEGIN IMMEDIATE` serialises writers already).
const THROTTLE_FOR_UPDATE_SQLITE: &str = "SELECT throttle FROM accounts WHERE id = $1 AND status = 'active'";
const THROTTLE_FOR_UPDATE_POSTGRES: &str = "SELECT throttle FROM accounts WHERE id = $1 AND status = 'active' FOR UPDATE";

/// Personal data (issue 3): what an export reads, and the writes of the password flows.
impl Store {
    /// Counts a failed login (or a wrong password or reset code) against the account's throttle in one
    /// transaction with the row locked, so concurrent failures are all counted (a read-then-save would
    /// lose some). `NotFound` when the account is absent or deleted.
    pub async fn record_failed_login(&self, id: AccountId, policy: &ThrottlePolicy, now: DateTime<Utc>) -> StoreResult<FailureOutcome> {
        let select = match self.kind() {
            BackendKind::Sqlite => THROTTLE_FOR_UPDATE_SQLITE,
            BackendKind::Postgres => THROTTLE_FOR_UPDATE_POSTGRES,
        };
        let outcome = dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let stored: Option<String> = sqlx::query_scalar(select).bind(id.as_i64()).fetch_optional(&mut *tx).await?;
            let Some(stored) = stored else {
                return Err(no_account(id));
            };
            let mut throttle: LoginThrottle = serde_json::from_str(&stored).map_err(|error| StoreError::Corrupt(format!("account {id}, throttle: {error}")))?;
            let outcome = throttle.record_failure(now.timestamp(), policy);
            let json = serde_json::to_string(&throttle).map_err(|error| StoreError::Corrupt(error.to_string()))?;
            sqlx::query("UPDATE accounts SET throttle = $2 WHERE id = $1").bind(id.as_i64()).bind(json.as_str()).execute(&mut *tx).await?;
            tx.commit().await?;
            outcome
        });
        Ok(outcome)
    }

    /// Logs out every session of an account but `keep_token_hash` (the one that changed the password);
    /// `None` logs out all of them. Returns how many ended.
    pub async fn delete_sessions_of_except(&self, account: AccountId, keep_token_hash: Option<&str>) -> StoreResult<u64> {
        let deleted = dispatch!(self, |pool, begin| {
            sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND ($2 IS NULL OR token_hash <> $2)")
                .bind(account.as_i64())
                .bind(keep_token_hash)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted)
    }

    /// The account's stored sessions (expired ones not yet cleaned up included), oldest first, at most
    /// `limit` (capped at [`MAX_EXPORT_ROWS`], like every personal-data read).
    pub async fn sessions_of(&self, account: AccountId, limit: i64) -> StoreResult<Vec<SessionInfo>> {
        let rows: Vec<(DateTime<Utc>, DateTime<Utc>, DateTime<Utc>)> = dispatch!(self, |pool, begin| {
            sqlx::query_as("SELECT created_at, last_seen_at, expires_at FROM sessions WHERE account_id = $1 ORDER BY created_at, token_hash LIMIT $2")
                .bind(account.as_i64())
                .bind(limit.clamp(0, MAX_EXPORT_ROWS))
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(created_at, last_seen_at, expires_at)| SessionInfo { created_at, last_seen_at, expires_at }).collect())
    }

    /// Every grant the account ever had, revoked ones included, oldest first, at most `limit`.
    pub async fn role_history(&self, account: AccountId, limit: i64) -> StoreResult<Vec<RoleGrantRecord>> {
        let rows: Vec<GrantHistoryRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as("SELECT role, scope, granted_at, revoked_at FROM role_grants WHERE account_id = $1 ORDER BY granted_at, id LIMIT $2")
                .bind(account.as_i64())
                .bind(limit.clamp(0, MAX_EXPORT_ROWS))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(slug, scope, granted_at, revoked_at)| Ok(RoleGrantRecord { role: role_from_row(account.as_i64(), &slug, &scope)?, granted_at, revoked_at }))
            .collect()
    }

    /// Audit entries where the account is the actor or the target (`account <id>`), newest first, at
    /// most `limit`.
    pub async fn audit_of_account(&self, account: AccountId, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let rows: Vec<AuditRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as(
                "SELECT id, at, actor_id, actor_label, action, target, region_code, before_json, after_json FROM audit_log \
                 WHERE actor_id = $1 OR target = $2 ORDER BY at DESC, id DESC LIMIT $3",
            )
            .bind(account.as_i64())
            .bind(format!("account {account}"))
            .bind(limit.clamp(0, MAX_EXPORT_ROWS))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(audit_from_row).collect()
    }

    /// Messages addressed to `recipient`, newest first, at most `limit`, without their bodies.
    pub async fn messages_to(&self, recipient: &str, limit: i64) -> StoreResult<Vec<OutboxRecord>> {
        let rows: Vec<OutboxRecordRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as(
                "SELECT id, channel, subject, created_at, sent_at, attempts FROM outbox WHERE recipient = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
            )
            .bind(recipient)
            .bind(limit.clamp(0, MAX_EXPORT_ROWS))
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, channel, subject, created_at, sent_at, attempts)| OutboxRecord { id, channel, subject, created_at, sent_at, attempts })
            .collect())
    }

    /// Reset codes created for the account since `since` (used or not): the per-account limit on
    /// reset messages.
    pub async fn count_reset_codes_since(&self, account: AccountId, since: DateTime<Utc>) -> StoreResult<i64> {
        let count: i64 = dispatch!(self, |pool, begin| {
            sqlx::query_scalar("SELECT COUNT(*) FROM reset_codes WHERE account_id = $1 AND created_at >= $2")
                .bind(account.as_i64())
                .bind(since)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    /// A password reset in one transaction: the account's earlier unused codes are spent (only the
    /// newest code works), the new code is stored by hash and the message carrying it is enqueued, so
    /// there is never a code without its message or a message without its code. `NotFound` when the
    /// account is absent or deleted; `Conflict` when the code hash or message id is already used.
    pub async fn create_reset_code_with_message(
        &self,
        code_hash: &str,
        account: AccountId,
        expires_at: DateTime<Utc>,
        message: &OutboxMessage,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let province = active_account_province!(tx, account);
            sqlx::query("UPDATE reset_codes SET used_at = $2 WHERE account_id = $1 AND used_at IS NULL")
                .bind(account.as_i64())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO reset_codes (province_code, code_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(province.as_str())
                .bind(code_hash)
                .bind(account.as_i64())
                .bind(now)
                .bind(expires_at)
                .execute(&mut *tx)
                .await
                .map_err(unique_violation_as("reset code already exists"))?;
            sqlx::query(
                "INSERT INTO outbox (province_code, id, region_code, channel, recipient, subject, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(province_of(message.region))
            .bind(message.id)
            .bind(message.region.map(RegionCode::full))
            .bind(message.channel.as_str())
            .bind(message.recipient.as_str())
            .bind(message.subject.as_str())
            .bind(message.body.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(unique_violation_as("message id already used"))?;
            tx.commit().await?;
        });
        Ok(())
    }
}
