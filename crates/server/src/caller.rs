//! Who is calling: the session cookie (pages and browser calls, with a CSRF token on every unsafe
//! method), a bearer API token (programs: made by an account's owner, acting with that account's
//! roles), or nobody.
//! Handlers take a [`Caller`] and ask `core::policy::authorize`; they never decide access themselves.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use chrono::{DateTime, Utc};
use fitforall_core::policy::{AccountId, Action, Actor, Denied, Role, authorize};
use fitforall_store::Session;

use crate::auth::{same_secret, token_hash};
use crate::error::ApiError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "ffa_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    None,
    Session { token_hash: String },
    ApiToken { token_id: i64 },
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub credential: Credential,
}

impl Caller {
    pub fn account(&self) -> Option<AccountId> {
        match &self.actor {
            Actor::Account { id, .. } => Some(*id),
            Actor::Anonymous => None,
        }
    }

    /// `authorize` with the HTTP meaning of a refusal: 401 when not logged in, 403 otherwise.
    pub fn require(&self, action: &Action) -> Result<(), ApiError> {
        authorize(&self.actor, action).map_err(|denied| match denied {
            Denied::NotLoggedIn => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "log in, or send Authorization: Bearer <token>"),
            Denied::Forbidden { reason } => ApiError::new(StatusCode::FORBIDDEN, "forbidden", reason),
        })
    }

    /// 401 unless someone is logged in.
    pub fn require_login(&self) -> Result<(), ApiError> {
        match self.actor {
            Actor::Anonymous => Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "log in, or send Authorization: Bearer <token>")),
            Actor::Account { .. } => Ok(()),
        }
    }

    /// A label for the audit log.
    pub fn label(&self) -> String {
        match (&self.credential, self.account()) {
            (Credential::ApiToken { token_id }, Some(id)) => format!("account {id} (API token {token_id})"),
            (_, Some(id)) => format!("account {id}"),
            (_, None) => "anonymous".to_string(),
        }
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

async fn account_actor(state: &AppState, id: AccountId) -> Result<Actor, ApiError> {
    let roles: Vec<Role> = state.store().active_roles(id).await?;
    Ok(Actor::Account { id, roles })
}

/// The caller behind a session cookie value, with the session (its CSRF token is what forms and
/// `X-CSRF-Token` must carry); `None` when the session is unknown or expired.
pub async fn session_caller(state: &AppState, token: &str, now: DateTime<Utc>) -> Result<Option<(Caller, Session)>, ApiError> {
    let hash = token_hash(token);
    let Some(session) = state.store().session(&hash, now).await? else {
        return Ok(None);
    };
    let caller = Caller { actor: account_actor(state, session.account).await?, credential: Credential::Session { token_hash: hash } };
    Ok(Some((caller, session)))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let now = Utc::now();
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value.to_str().ok().and_then(|value| value.strip_prefix("Bearer ")).map(str::trim);
            let Some(token) = token.filter(|token| !token.is_empty()) else {
                return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "send Authorization: Bearer <token>"));
            };
            let hash = token_hash(token);
            if let Some(caller) = state.cached_token_caller(&hash, std::time::Instant::now()) {
                return Ok(caller);
            }
            let Some(holder) = state.token_lookups().lookup(&hash, now).await? else {
                return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "the token is unknown or revoked"));
            };
            let caller =
                Caller { actor: Actor::Account { id: holder.account, roles: holder.roles }, credential: Credential::ApiToken { token_id: holder.token_id } };
            state.remember_token_caller(hash, caller.clone(), std::time::Instant::now());
            return Ok(caller);
        }
        if let Some(token) = cookie_value(&parts.headers, SESSION_COOKIE) {
            let Some((caller, session)) = session_caller(state, token, now).await? else {
                return Err(ApiError::new(StatusCode::UNAUTHORIZED, "session_expired", "the session has expired; log in again"));
            };
            let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
            if unsafe_method {
                let given = parts.headers.get(CSRF_HEADER).and_then(|value| value.to_str().ok()).unwrap_or("");
                if !same_secret(given, &session.csrf_token) {
                    return Err(ApiError::new(StatusCode::FORBIDDEN, "csrf", "missing or wrong CSRF token (send the X-CSRF-Token header given at login)"));
                }
            }
            return Ok(caller);
        }
        Ok(Caller { actor: Actor::Anonymous, credential: Credential::None })
    }
}
