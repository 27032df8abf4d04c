//! Administrator pages: accounts with their roles (grant and revoke), and the audit log search.
//! Both call the API's functions (`api::admin`), so the policy decides exactly as for the API: a
//! Hangzhou administrator sees and changes Hangzhou only; every change is audited.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Days, NaiveDate};
use fitforall_core::policy::{Actor, Role};
use fitforall_core::region::RegionCode;
use minijinja::{Value, context};

use crate::api::admin::{RoleChange, RoleRequest, accounts_list, audit_search, change_role, parse_account};
use crate::error::ApiError;
use crate::params::Params;
use crate::state::AppState;
use crate::web::account::{Problem, problem, role_scope_display};
use crate::web::forms::PageForm;
use crate::web::{Lang, PageContext, render_error_page};

/// Rows per page of both lists.
pub const ADMIN_PAGE_SIZE: u32 = 50;
/// China's time zone: the audit page's dates are local days.
const CHINA_OFFSET: &str = "+08:00";

/// The region a region administrator works in (their first grant), for the default filter.
fn own_region(page: &PageContext) -> Option<RegionCode> {
    match &page.visitor.caller.actor {
        Actor::Account { roles, .. } if !roles.contains(&Role::PlatformAdmin) => roles.iter().find_map(|role| match role {
            Role::RegionAdmin { region } => Some(*region),
            _ => None,
        }),
        _ => None,
    }
}

/// Anonymous visitors go to the login page; the others get the policy's answer from the call.
fn require_signed_in(page: &PageContext) -> Option<Response> {
    if page.visitor.signed_in() {
        return None;
    }
    Some(crate::web::account::to_login(page))
}

fn offset_of(page: &PageContext) -> u32 {
    page.query_value("offset").and_then(|text| text.parse::<u32>().ok()).unwrap_or(0).min(10_000_000)
}

/// The region filter: the query's, else the administrator's own region ("" for all).
fn region_filter(page: &PageContext) -> String {
    match page.query_value("region").map(str::trim) {
        Some(text) => text.to_string(),
        None => own_region(page).map(|region| region.short().to_string()).unwrap_or_default(),
    }
}

fn role_choices(lang: Lang) -> Vec<Value> {
    let examples = [
        (Role::VenueOperator { venue: fitforall_core::venue::VenueId::parse("venue").expect("valid id") }, "scope_hint_venue"),
        (Role::StationStaff { station: fitforall_core::policy::StationId::parse("station").expect("valid id") }, "scope_hint_station"),
        (Role::RegionAdmin { region: RegionCode::parse("33").expect("valid code") }, "scope_hint_region"),
        (Role::PlatformAdmin, "scope_hint_none"),
    ];
    examples.iter().map(|(role, hint)| context! { slug => role.slug(), name => lang.pick(role.name_zh(), role.name_en()), hint => lang.text(hint) }).collect()
}

// ---------------------------------------------------------------------------------------------
// Users and roles

async fn render_users(state: &AppState, page: PageContext, status: StatusCode, problem: Option<Problem>) -> Response {
    if let Some(response) = require_signed_in(&page) {
        return response;
    }
    let region = region_filter(&page);
    let offset = offset_of(&page);
    let mut pairs = vec![("limit".to_string(), ADMIN_PAGE_SIZE.to_string()), ("offset".to_string(), offset.to_string())];
    if !region.is_empty() {
        pairs.push(("region".to_string(), region.clone()));
    }
    let accounts = match accounts_list(state, &page.visitor.caller, &Params::from_pairs(pairs)).await {
        Ok(accounts) => accounts,
        Err(error) => return render_error_page(error, &page),
    };
    let lang = page.lang;
    let rows: Vec<Value> = accounts
        .iter()
        .map(|account| {
            let roles: Vec<Value> = account
                .roles
                .iter()
                .filter_map(|view| Role::parse(&view.role, &view.scope).ok())
                .map(|role| {
                    context! {
                        slug => role.slug(),
                        scope => role.scope(),
                        name => lang.pick(role.name_zh(), role.name_en()),
                        scope_display => role_scope_display(state, lang, &role),
                    }
                })
                .collect();
            context! {
                id => account.id,
                name => account.name,
                phone_masked => account.phone_masked,
                home_region => account.home_region.as_deref().and_then(|code| RegionCode::parse(code).ok()).map(|code| state.snapshot().regions.full_name(code)),
                identity => account.identity.as_ref().map(|identity| identity.masked.clone()),
                roles => roles,
            }
        })
        .collect();
    let page_link = |offset: u32| {
        format!("/admin/users?{}", serde_urlencoded::to_string([("region", region.as_str()), ("offset", &offset.to_string())]).unwrap_or_default())
    };
    let data = context! {
        accounts => rows,
        region => region,
        region_name => RegionCode::parse(&region).ok().map(|code| state.snapshot().regions.full_name(code)),
        role_choices => role_choices(lang),
        problem => problem,
        done => page.query_value("done").map(|what| if what == "revoked" { lang.text("admin_role_revoked") } else { lang.text("admin_role_granted") }),
        previous_url => (offset > 0).then(|| page_link(offset.saturating_sub(ADMIN_PAGE_SIZE))),
        next_url => (accounts.len() as u32 == ADMIN_PAGE_SIZE).then(|| page_link(offset + ADMIN_PAGE_SIZE)),
        back => page.path_and_query(),
    };
    let title = lang.text("admin_users_title");
    page.render(status, "admin_users.html", title, data)
}

pub async fn users_page(State(state): State<AppState>, page: PageContext) -> Response {
    render_users(&state, page, StatusCode::OK, None).await
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub scope: String,
    /// `grant` or `revoke`.
    #[serde(default)]
    pub change: String,
    /// The list page to return to (its region filter and offset).
    #[serde(default)]
    pub back: String,
}

pub async fn role_submit(State(state): State<AppState>, Path(id): Path<String>, PageForm(page, form): PageForm<RoleForm>) -> Response {
    if let Some(response) = require_signed_in(&page) {
        return response;
    }
    let change = match form.change.as_str() {
        "grant" => RoleChange::Grant,
        "revoke" => RoleChange::Revoke,
        other => return render_error_page(ApiError::invalid_parameter("change", format!("expected grant or revoke, got {other:?}")), &page),
    };
    let account = match parse_account(&id) {
        Ok(account) => account,
        Err(error) => return render_error_page(error, &page),
    };
    let request = RoleRequest { role: form.role.clone(), scope: form.scope.clone() };
    match change_role(&state, &page.visitor.caller, account, &request, change).await {
        Ok(()) => {
            let back = crate::web::forms::local_path_or(Some(&form.back), "/admin/users");
            let back = if back.starts_with("/admin/users") { back } else { "/admin/users".to_string() };
            let separator = if back.contains('?') { '&' } else { '?' };
            let done = if change == RoleChange::Grant { "granted" } else { "revoked" };
            page.redirect(&format!("{back}{separator}done={done}"))
        }
        Err(error) if matches!(error.status, StatusCode::BAD_REQUEST | StatusCode::CONFLICT | StatusCode::NOT_FOUND) => {
            let problem = problem(page.lang, &error);
            render_users(&state, page, error.status, Some(problem)).await
        }
        Err(error) => render_error_page(error, &page),
    }
}

// ---------------------------------------------------------------------------------------------
// Audit log

/// A local date (`2026-12-01`) as the RFC 3339 start of that day in China, `days_after` later.
fn day_start(field: &str, text: &str, days_after: u64) -> Result<String, ApiError> {
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::invalid_parameter(field, format!("expected a date like 2026-12-01, got {text:?}")))?;
    let date = date.checked_add_days(Days::new(days_after)).ok_or_else(|| ApiError::invalid_parameter(field, "date out of range"))?;
    Ok(format!("{date}T00:00:00{CHINA_OFFSET}"))
}

/// The audit page's filters as API parameters: dates become day bounds (`to` includes its day).
fn audit_params(page: &PageContext, region: &str) -> Result<Params, ApiError> {
    let mut pairs = vec![("limit".to_string(), ADMIN_PAGE_SIZE.to_string()), ("offset".to_string(), offset_of(page).to_string())];
    if !region.is_empty() {
        pairs.push(("region".to_string(), region.to_string()));
    }
    for name in ["actor", "action"] {
        if let Some(value) = page.query_value(name).map(str::trim).filter(|value| !value.is_empty()) {
            pairs.push((name.to_string(), value.to_string()));
        }
    }
    if let Some(from) = page.query_value("from").filter(|value| !value.trim().is_empty()) {
        pairs.push(("from".to_string(), day_start("from", from, 0)?));
    }
    if let Some(to) = page.query_value("to").filter(|value| !value.trim().is_empty()) {
        pairs.push(("to".to_string(), day_start("to", to, 1)?));
    }
    Ok(Params::from_pairs(pairs))
}

pub async fn audit_page(State(state): State<AppState>, page: PageContext) -> Response {
    if let Some(response) = require_signed_in(&page) {
        return response;
    }
    let lang = page.lang;
    let region = region_filter(&page);
    let searched = audit_params(&page, &region);
    let (entries, problem, status) = match searched {
        Err(error) => (Vec::new(), Some(problem(lang, &error)), error.status),
        Ok(params) => match audit_search(&state, &page.visitor.caller, &params).await {
            Ok(entries) => (entries, None, StatusCode::OK),
            Err(error) if error.status == StatusCode::BAD_REQUEST => (Vec::new(), Some(problem(lang, &error)), error.status),
            Err(error) => return render_error_page(error, &page),
        },
    };
    let rows: Vec<Value> = entries
        .iter()
        .map(|entry| {
            context! {
                at => crate::web::china_time(&entry.at),
                actor_label => entry.actor_label,
                action => entry.action,
                target => entry.target,
                region => entry.region.as_deref().and_then(|code| RegionCode::parse(code).ok()).map(|code| state.snapshot().regions.full_name(code)),
                before => entry.before,
                after => entry.after,
            }
        })
        .collect();
    let offset = offset_of(&page);
    let filters = context! {
        region => region,
        actor => page.query_value("actor").unwrap_or(""),
        action => page.query_value("action").unwrap_or(""),
        from => page.query_value("from").unwrap_or(""),
        to => page.query_value("to").unwrap_or(""),
    };
    let link = |offset: u32| {
        let mut pairs: Vec<(&str, String)> =
            ["actor", "action", "from", "to"].iter().map(|name| (*name, page.query_value(name).unwrap_or("").to_string())).collect();
        pairs.push(("region", region.clone()));
        pairs.push(("offset", offset.to_string()));
        format!("/admin/audit?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
    };
    let data = context! {
        entries => rows,
        filters => filters,
        problem => problem,
        previous_url => (offset > 0).then(|| link(offset.saturating_sub(ADMIN_PAGE_SIZE))),
        next_url => (entries.len() as u32 == ADMIN_PAGE_SIZE).then(|| link(offset + ADMIN_PAGE_SIZE)),
    };
    let title = lang.text("admin_audit_title");
    page.render(status, "admin_audit.html", title, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_day(text: &str, days_after: u64, expect: Result<&str, &str>) {
        let got = day_start("from", text, days_after).map_err(|error| error.message);
        assert_eq!(got.as_deref().map_err(String::as_str), expect, "{text}");
    }

    #[test]
    fn dates_become_china_day_bounds() {
        check_day("2026-12-01", 0, Ok("2026-12-01T00:00:00+08:00"));
        check_day("2026-12-31", 1, Ok("2027-01-01T00:00:00+08:00"));
        check_day(" 2026-02-28 ", 1, Ok("2026-03-01T00:00:00+08:00"));
        check_day("2026-02-30", 0, Err("parameter from: expected a date like 2026-12-01, got \"2026-02-30\""));
        check_day("yesterday", 0, Err("parameter from: expected a date like 2026-12-01, got \"yesterday\""));
    }
}
