//! The one HTTP error type: JSON for the API (`{"error": {"code", "message", "details"}}`), a page
//! for the web (see `web::render_error_page`). Internals are logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fitforall_core::venue::FieldError;
use fitforall_store::StoreError;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<ErrorDetail>,
    /// Sent as `Retry-After` (429 answers).
    pub retry_after_s: Option<i64>,
}

/// One located problem: a request parameter or body field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub field: String,
    pub reason: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorContent,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorContent {
    /// Stable machine-readable code, e.g. `not_found`, `invalid_parameter`.
    pub code: String,
    /// What is wrong, for people.
    pub message: String,
    pub details: Vec<ErrorDetail>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), details: Vec::new(), retry_after_s: None }
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(retry_after_s: i64, message: impl Into<String>) -> ApiError {
        ApiError { retry_after_s: Some(retry_after_s.max(1)), ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message) }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn invalid_parameter(name: &str, reason: impl Into<String>) -> ApiError {
        let reason = reason.into();
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_parameter",
            message: format!("parameter {name}: {reason}"),
            details: vec![ErrorDetail { field: name.to_string(), reason }],
            retry_after_s: None,
        }
    }

    pub fn invalid_body(field_errors: Vec<FieldError>) -> ApiError {
        let message = field_errors.iter().map(|error| format!("{}: {}", error.field, error.reason)).collect::<Vec<_>>().join("; ");
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_body",
            message,
            details: field_errors.into_iter().map(|error| ErrorDetail { field: error.field.to_string(), reason: error.reason }).collect(),
            retry_after_s: None,
        }
    }

    pub fn internal() -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; it has been logged")
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody { error: ErrorContent { code: self.code.to_string(), message: self.message.clone(), details: self.details.clone() } }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after_s.and_then(|seconds| axum::http::HeaderValue::from_str(&seconds.to_string()).ok());
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(value) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} does not exist")),
            StoreError::Conflict(what) => ApiError::new(StatusCode::CONFLICT, "conflict", what),
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::internal()
            }
        }
    }
}
