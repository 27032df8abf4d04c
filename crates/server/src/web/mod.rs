//! Server-rendered web pages (zh-CN default, English switch). Owned by the web pages work.

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
