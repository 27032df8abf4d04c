//! Page forms: every `POST` from a page carries a CSRF token in the hidden field `csrf`, checked
//! here before the handler runs.
//!
//! - A logged-in visitor's forms carry the session's CSRF token (the same one the API takes as
//!   `X-CSRF-Token`).
//! - An anonymous visitor's forms (register, log in, password reset) carry a random token that is
//!   also in the `ffa_form` cookie (double submit): another site can make the browser send the
//!   cookie but cannot read it to put it in the form, so a forged login or registration fails.
//!
//! A missing or wrong token is a 403 page that says to reload the form; nothing is done.

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;

use crate::auth::same_secret;
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::{PageContext, render_error_page};

pub const FORM_COOKIE: &str = "ffa_form";
/// The hidden field of every form.
pub const CSRF_FIELD: &str = "csrf";
/// Largest form body read (forms here are a few short fields).
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// Tokens are 64 hex characters (see `auth::new_token`); anything else in the cookie is ignored.
pub fn plausible_form_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// A submitted page form: the page context (who, which language) and the fields, the CSRF token
/// already checked. Fields the form type does not know are ignored (the `csrf` field among them).
pub struct PageForm<T>(pub PageContext, pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for PageForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let page = <PageContext as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, state).await?;
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.trim_start().starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            let error = ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send the form as application/x-www-form-urlencoded");
            return Err(render_error_page(error, &page));
        }
        let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
            Ok(bytes) => bytes,
            Err(_) => {
                let error = ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", format!("a form may have at most {MAX_FORM_BYTES} bytes"));
                return Err(render_error_page(error, &page));
            }
        };
        let pairs: Vec<(String, String)> = match serde_urlencoded::from_bytes(&bytes) {
            Ok(pairs) => pairs,
            Err(error) => return Err(render_error_page(ApiError::invalid_parameter("form", format!("malformed form: {error}")), &page)),
        };
        let given = pairs.iter().find(|(name, _)| name == CSRF_FIELD).map(|(_, value)| value.as_str()).unwrap_or("");
        let expected = page.visitor.session_csrf_token.as_deref().or(page.form_cookie_token());
        let accepted = expected.is_some_and(|expected| !given.is_empty() && same_secret(given, expected));
        if !accepted {
            let error = ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "the form's security token is missing, wrong or expired (表单已过期); go back, reload the page and submit it again",
            );
            return Err(render_error_page(error, &page));
        }
        match serde_urlencoded::from_bytes::<T>(&bytes) {
            Ok(fields) => Ok(PageForm(page, fields)),
            Err(error) => Err(render_error_page(ApiError::invalid_parameter("form", format!("the form is incomplete: {error}")), &page)),
        }
    }
}

/// `next` after logging in: only a path of this site (no `//host`, no scheme), else `fallback`.
pub fn local_path_or(next: Option<&str>, fallback: &str) -> String {
    match next.map(str::trim) {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') && !path.chars().any(char::is_control) => path.to_string(),
        _ => fallback.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_next(next: Option<&str>, expect: &str) {
        assert_eq!(local_path_or(next, "/account"), expect, "{next:?}");
    }

    #[test]
    fn next_stays_on_this_site() {
        check_next(None, "/account");
        check_next(Some("/venues?q=a"), "/venues?q=a");
        check_next(Some("//evil.example/"), "/account");
        check_next(Some("https://evil.example/"), "/account");
        check_next(Some("/\\evil.example"), "/account");
        check_next(Some("javascript:alert(1)"), "/account");
        check_next(Some(""), "/account");
    }

    #[test]
    fn form_tokens_must_look_like_ours() {
        assert!(plausible_form_token(&"a".repeat(64)));
        assert!(!plausible_form_token("short"));
        assert!(!plausible_form_token(&"g".repeat(64)));
    }
}
