//! Server-rendered web pages (zh-CN default, English switch), rendered from the in-memory snapshot
//! with the same functions as the JSON API.
//!
//! Every page goes through [`PageContext::render`]: the base layout gets the language, its string
//! table, the demo flag and the language switch link; the response gets the Content-Security-Policy
//! (no inline scripts or styles: page data for the maps travels as JSON in
//! `<script type="application/json">`, read by `/static/js/maps.js`).

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use minijinja::{Value, context};

use crate::error::ApiError;
use crate::state::AppState;

pub mod api_docs;
pub mod assets;
pub mod i18n;
pub mod pages;
pub mod regions;
pub mod templates;

pub use i18n::Lang;

/// The policy sent with every page.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'";

/// How long the language cookie lives.
const LANG_COOKIE_MAX_AGE_S: u32 = 365 * 24 * 3600;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/venues", get(pages::venues))
        .route("/venues/{id}", get(pages::venue))
        .route("/regions", get(regions::national))
        .route("/regions/{code}", get(regions::region))
        .route("/api/docs", get(api_docs::page))
        .route("/static/{*path}", get(assets::serve))
        // The API router's fallback cannot be merged with another fallback, so unknown paths are
        // caught by this route instead: a page for the web, the API's JSON error under /api/.
        .route("/{*path}", any(not_found))
}

/// What every page needs to know about its request.
#[derive(Debug, Clone)]
pub struct PageContext {
    pub lang: Lang,
    /// `?lang=` was given: remember it in the cookie.
    set_cookie: bool,
    pub demo: bool,
    path: String,
    query: Vec<(String, String)>,
}

impl FromRequestParts<AppState> for PageContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(PageContext::new(&parts.uri, &parts.headers, state.config().demo))
    }
}

impl PageContext {
    pub fn new(uri: &Uri, headers: &HeaderMap, demo: bool) -> PageContext {
        let query: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
        let from_query = query.iter().find(|(name, _)| name == "lang").and_then(|(_, value)| Lang::parse(value));
        let lang = from_query.or_else(|| cookie_lang(headers)).unwrap_or_default();
        PageContext { lang, set_cookie: from_query.is_some(), demo, path: uri.path().to_string(), query }
    }

    /// The current URL with `lang` set to the other language.
    pub fn switch_url(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = self.query.iter().filter(|(name, _)| name != "lang").map(|(n, v)| (n.as_str(), v.as_str())).collect();
        pairs.push(("lang", self.lang.other().param()));
        format!("{}?{}", self.path, serde_urlencoded::to_string(pairs).unwrap_or_default())
    }

    /// Renders `template` inside the base layout; `page` holds the template's own variables.
    pub fn render(&self, status: StatusCode, template: &str, title: &str, page: Value) -> Response {
        let section = self.path.split('/').nth(1).unwrap_or("").to_string();
        let base = context! {
            lang => self.lang.param(),
            html_lang => self.lang.html_lang(),
            t => self.lang.table(),
            demo => self.demo,
            switch_url => self.switch_url(),
            title => title,
            section => section,
        };
        let env = templates::environment();
        let rendered = env.get_template(template).and_then(|template| template.render(context! { ..page, ..base }));
        match rendered {
            Ok(html) => self.html_response(status, html),
            Err(error) => {
                tracing::error!(template, error = format!("{error:#}"), "template rendering failed");
                let mut response = (StatusCode::INTERNAL_SERVER_ERROR, "internal error; it has been logged").into_response();
                response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
                response
            }
        }
    }

    fn html_response(&self, status: StatusCode, html: String) -> Response {
        let mut response = (status, html).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(header::VARY, HeaderValue::from_static("Cookie"));
        if self.set_cookie {
            let cookie = format!("lang={}; Path=/; Max-Age={LANG_COOKIE_MAX_AGE_S}; SameSite=Lax", self.lang.param());
            headers.insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("ASCII cookie"));
        }
        response
    }
}

fn cookie_lang(headers: &HeaderMap) -> Option<Lang> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "lang")
        .and_then(|(_, value)| Lang::parse(value))
}

/// A friendly bilingual error page with the error's status: the heading in the page's language and
/// in the other one, the API's message as the detail.
pub fn render_error_page(error: ApiError, page: &PageContext) -> Response {
    let lang = page.lang;
    let (title_key, text_key) = match error.status {
        StatusCode::NOT_FOUND => ("error_404_title", "error_404_text"),
        StatusCode::BAD_REQUEST => ("error_400_title", "error_400_text"),
        _ => ("error_other_title", "error_other_text"),
    };
    let data = context! {
        status => error.status.as_u16(),
        code => error.code,
        heading => lang.text(title_key),
        heading_other => lang.other().text(title_key),
        explanation => lang.text(text_key),
        message => error.message,
        details => error.details.iter().map(|detail| context! { field => detail.field, reason => detail.reason }).collect::<Vec<_>>(),
    };
    page.render(error.status, "error.html", lang.text(title_key), data)
}

/// Unknown paths: the 404 page, or the API's JSON error under `/api/`.
async fn not_found(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    if uri.path() == "/api" || uri.path().starts_with("/api/") {
        return crate::api::api_not_found(&uri).into_response();
    }
    let page = PageContext::new(&uri, &headers, state.config().demo);
    render_error_page(ApiError::not_found(format!("no page at {}", uri.path())), &page)
}

/// Formats `1234567` as `1,234,567`.
pub fn group_digits(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_from_query_then_cookie() {
        let mut headers = HeaderMap::new();
        let page = PageContext::new(&"/venues?q=a&lang=en".parse().unwrap(), &headers, false);
        assert_eq!(page.lang, Lang::En);
        assert!(page.set_cookie);
        assert_eq!(page.switch_url(), "/venues?q=a&lang=zh");
        headers.insert(header::COOKIE, HeaderValue::from_static("a=b; lang=en"));
        let page = PageContext::new(&"/".parse().unwrap(), &headers, false);
        assert_eq!(page.lang, Lang::En);
        assert!(!page.set_cookie);
        let page = PageContext::new(&"/?lang=xx".parse().unwrap(), &HeaderMap::new(), false);
        assert_eq!(page.lang, Lang::Zh);
        assert_eq!(page.switch_url(), "/?lang=en");
    }

    #[test]
    fn groups_digits() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(65_770_000), "65,770,000");
    }
}
