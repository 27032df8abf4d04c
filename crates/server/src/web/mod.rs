//! Server-rendered web pages (zh-CN default, English switch), rendered from the in-memory snapshot
//! with the same functions as the JSON API.
//!
//! Every page goes through [`PageContext::render`]: the base layout gets the language, its string
//! table, the demo flag and the language switch link; the response gets the Content-Security-Policy
//! (no inline scripts or styles: page data for the maps travels as JSON in
//! `<script type="application/json">`, read by `/static/js/maps.js`).

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use minijinja::{Value, context};

use crate::caller::{Caller, Credential, SESSION_COOKIE, cookie_value, session_caller};
use crate::error::ApiError;
use crate::state::AppState;
use fitforall_core::policy::{Actor, Role};

pub mod account;
pub mod admin;
pub mod api_docs;
pub mod assets;
pub mod booking;
pub mod fitness;
pub mod forms;
pub mod i18n;
pub mod operator;
pub mod pages;
pub mod regions;
pub mod station;
pub mod templates;

pub use i18n::Lang;

/// The policy sent with every page.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'";

/// How long the language cookie lives.
const LANG_COOKIE_MAX_AGE_S: u32 = 365 * 24 * 3600;

pub fn router() -> Router<AppState> {
    page_routes().router
}

/// Every page route as (method, path pattern), for the authorization matrix test: a route added to
/// the router is listed here by construction, so it cannot miss its row.
pub fn page_route_list() -> Vec<(&'static str, &'static str)> {
    page_routes().listed
}

/// The router, built while listing what it routes.
struct PageRoutes {
    router: Router<AppState>,
    listed: Vec<(&'static str, &'static str)>,
}

impl PageRoutes {
    fn get<H: Handler<T, AppState>, T: 'static>(mut self, path: &'static str, handler: H) -> PageRoutes {
        self.router = self.router.route(path, get(handler));
        self.listed.push(("get", path));
        self
    }

    fn post<H: Handler<T, AppState>, T: 'static>(mut self, path: &'static str, handler: H) -> PageRoutes {
        self.router = self.router.route(path, post(handler));
        self.listed.push(("post", path));
        self
    }

    fn any<H: Handler<T, AppState>, T: 'static>(mut self, path: &'static str, handler: H) -> PageRoutes {
        self.router = self.router.route(path, any(handler));
        self.listed.push(("any", path));
        self
    }
}

fn page_routes() -> PageRoutes {
    PageRoutes { router: Router::new(), listed: Vec::new() }
        .get("/", pages::home)
        .get("/venues", pages::venues)
        .get("/venues/{id}", pages::venue)
        .get("/regions", regions::national)
        .get("/regions/{code}", regions::region)
        .get("/api/docs", api_docs::page)
        .get("/register", account::register_page)
        .post("/register", account::register_submit)
        .get("/login", account::login_page)
        .post("/login", account::login_submit)
        .post("/logout", account::logout_submit)
        .get("/password-reset", account::reset_page)
        .post("/password-reset", account::reset_request_submit)
        .post("/password-reset/confirm", account::reset_confirm_submit)
        .get("/account", account::account_page)
        .post("/account/identity", account::identity_submit)
        .post("/account/password", account::password_submit)
        .post("/account/delete", account::delete_submit)
        .get("/account/export", account::export_download)
        .get("/account/tokens", account::tokens_page)
        .post("/account/tokens", account::token_create_submit)
        .post("/account/tokens/{id}/revoke", account::token_revoke_submit)
        .get("/venues/{id}/book", booking::grid_page)
        .get("/venues/{id}/manage", operator::manage_page)
        .post("/venues/{id}/manage/resources", operator::create_submit)
        .post("/venues/{id}/manage/resources/{rid}", operator::update_submit)
        .post("/venues/{id}/manage/resources/{rid}/closures", operator::closure_submit)
        .post("/venues/{id}/manage/check-in", operator::check_in_submit)
        .post("/bookings", booking::book_submit)
        .get("/account/bookings", booking::my_bookings)
        .get("/account/fitness", fitness::report_page)
        .get("/stations/{id}/results", station::entry_page)
        .post("/stations/{id}/results", station::entry_submit)
        .post("/account/bookings/{id}/cancel", booking::cancel_submit)
        .post("/account/bookings/{id}/confirm", booking::confirm_submit)
        .get("/admin", async || axum::response::Redirect::to("/admin/users"))
        .get("/admin/users", admin::users_page)
        .post("/admin/users/{id}/roles", admin::role_submit)
        .get("/admin/audit", admin::audit_page)
        .get("/static/{*path}", assets::serve)
        // The API router's fallback cannot be merged with another fallback, so unknown paths are
        // caught by this route instead: a page for the web, the API's JSON error under /api/.
        .any("/{*path}", not_found)
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
    /// Who is looking (anonymous unless a live session cookie came with the request).
    pub visitor: Visitor,
    /// The anonymous form token from the `ffa_form` cookie, or a new one to set.
    form_token: Option<String>,
    set_form_cookie: bool,
    /// A session cookie came but its session is gone: remove it.
    clear_session_cookie: bool,
}

/// The person behind a page request.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub caller: Caller,
    /// The session's CSRF token: every form of a logged-in visitor carries it.
    pub session_csrf_token: Option<String>,
}

impl Visitor {
    pub fn anonymous() -> Visitor {
        Visitor { caller: Caller { actor: Actor::Anonymous, credential: Credential::None }, session_csrf_token: None }
    }

    pub fn signed_in(&self) -> bool {
        self.session_csrf_token.is_some()
    }

    /// Holds a platform or region administrator role.
    pub fn is_admin(&self) -> bool {
        match &self.caller.actor {
            Actor::Account { roles, .. } => roles.iter().any(|role| matches!(role, Role::PlatformAdmin | Role::RegionAdmin { .. })),
            Actor::Anonymous => false,
        }
    }
}

impl FromRequestParts<AppState> for PageContext {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let mut page = PageContext::new(&parts.uri, &parts.headers, state.config().demo);
        let Some(token) = cookie_value(&parts.headers, SESSION_COOKIE) else {
            return Ok(page);
        };
        match session_caller(state, token, chrono::Utc::now()).await {
            Ok(Some((caller, session))) => page.visitor = Visitor { caller, session_csrf_token: Some(session.csrf_token) },
            Ok(None) => page.clear_session_cookie = true,
            Err(error) => return Err(render_error_page(error, &page)),
        }
        Ok(page)
    }
}

impl PageContext {
    pub fn new(uri: &Uri, headers: &HeaderMap, demo: bool) -> PageContext {
        let query: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
        let from_query = query.iter().find(|(name, _)| name == "lang").and_then(|(_, value)| Lang::parse(value));
        let lang = from_query.or_else(|| cookie_lang(headers)).unwrap_or_default();
        let form_token = cookie_value(headers, forms::FORM_COOKIE).filter(|token| forms::plausible_form_token(token)).map(str::to_string);
        PageContext {
            lang,
            set_cookie: from_query.is_some(),
            demo,
            path: uri.path().to_string(),
            query,
            visitor: Visitor::anonymous(),
            form_token,
            set_form_cookie: false,
            clear_session_cookie: false,
        }
    }

    /// The value of query parameter `name`, if given.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The CSRF token this page's forms carry: the session's, or for anonymous visitors the
    /// double-submit token of the `ffa_form` cookie (created, and set with the response, if absent).
    pub fn csrf_token(&mut self) -> String {
        if let Some(token) = &self.visitor.session_csrf_token {
            return token.clone();
        }
        if let Some(token) = &self.form_token {
            return token.clone();
        }
        let (token, _) = crate::auth::new_token();
        self.form_token = Some(token.clone());
        self.set_form_cookie = true;
        token
    }

    /// The anonymous form token that came with the request (for checking a submitted form).
    pub(crate) fn form_cookie_token(&self) -> Option<&str> {
        if self.set_form_cookie {
            return None;
        }
        self.form_token.as_deref()
    }

    /// The login page, coming back here afterwards (not to the account forms themselves).
    pub fn login_url(&self) -> String {
        if ["/login", "/register", "/logout"].contains(&self.path.as_str()) || self.path.starts_with("/password-reset") {
            return "/login".to_string();
        }
        format!("/login?{}", serde_urlencoded::to_string([("next", self.path_and_query())]).unwrap_or_default())
    }

    /// This path with its query, for `?next=` after logging in.
    pub fn path_and_query(&self) -> String {
        let pairs: Vec<(&str, &str)> = self.query.iter().filter(|(name, _)| name != "lang").map(|(n, v)| (n.as_str(), v.as_str())).collect();
        if pairs.is_empty() {
            return self.path.clone();
        }
        format!("{}?{}", self.path, serde_urlencoded::to_string(pairs).unwrap_or_default())
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
        let csrf = self.visitor.session_csrf_token.clone().or_else(|| self.form_token.clone()).unwrap_or_default();
        let base = context! {
            csrf => csrf,
            signed_in => self.visitor.signed_in(),
            is_admin => self.visitor.is_admin(),
            login_url => self.login_url(),
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
            headers.append(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("ASCII cookie"));
        }
        self.add_cookies(headers);
        response
    }

    /// The form and session cookies this request needs set or cleared (also on redirects).
    pub fn add_cookies(&self, headers: &mut HeaderMap) {
        if let (true, Some(token)) = (self.set_form_cookie, &self.form_token) {
            let cookie = format!("{}={token}; Path=/; HttpOnly; SameSite=Lax", forms::FORM_COOKIE);
            headers.append(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("ASCII cookie"));
        }
        if self.clear_session_cookie {
            headers.append(header::SET_COOKIE, crate::api::accounts::cleared_session_cookie());
        }
    }

    /// A 303 redirect to a path of this site (after a form), with the cookies this request needs.
    pub fn redirect(&self, location: &str) -> Response {
        let mut response = (StatusCode::SEE_OTHER, ()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::LOCATION, HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/")));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        self.add_cookies(headers);
        response
    }
}

fn cookie_lang(headers: &HeaderMap) -> Option<Lang> {
    crate::caller::cookie_value(headers, "lang").and_then(Lang::parse)
}

/// A friendly bilingual error page with the error's status: the heading in the page's language and
/// in the other one, the API's message as the detail.
pub fn render_error_page(error: ApiError, page: &PageContext) -> Response {
    let lang = page.lang;
    let (title_key, text_key) = match error.status {
        StatusCode::NOT_FOUND => ("error_404_title", "error_404_text"),
        StatusCode::UNAUTHORIZED => ("error_401_title", "error_401_text"),
        StatusCode::FORBIDDEN if error.code == "csrf" => ("error_csrf_title", "error_csrf_text"),
        StatusCode::FORBIDDEN => ("error_403_title", "error_403_text"),
        StatusCode::TOO_MANY_REQUESTS => ("error_429_title", "error_429_text"),
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

/// An RFC 3339 time as China Standard Time for pages: `2026-12-01 08:00:05` (the text itself when it
/// does not parse).
pub fn china_time(text: &str) -> String {
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset");
    chrono::DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&china).format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_else(|_| text.to_string())
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
