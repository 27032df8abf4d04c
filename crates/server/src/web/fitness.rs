//! A resident's fitness report (`/account/fitness`, issue 5): each result re-scored from its stored
//! measurements by `core::fitness` (item scores with the level and threshold that gave them, grade),
//! the rank among people of the same sex and grade or age in the county, the weakest components
//! with an exercise prescription each, and the history across years. Printable (the page's print
//! style hides the navigation).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use fitforall_core::fitness::{Cohort, Dec, Sex, StudentRecord, prescription, score_student};
use fitforall_core::pass_rate::{MIN_REPORTED_N, Stratum};
use fitforall_core::region::{RegionCode, RegionLevel};
use fitforall_store::FitnessResult;
use minijinja::context;
use std::collections::BTreeMap;

use crate::state::AppState;
use crate::web::account::to_login;
use crate::web::i18n::{Lang, fill};
use crate::web::{PageContext, render_error_page};

/// Weakest components listed per result.
const WEAKEST_LISTED: usize = 2;

/// The county holding `region` (peers are compared within it), or the region itself above that level.
fn peer_region(region: RegionCode) -> RegionCode {
    match region.level() {
        RegionLevel::Street => region.parent_by_digits().unwrap_or(region),
        _ => region,
    }
}

pub(crate) fn status_text(lang: Lang, status: &str) -> &'static str {
    lang.text(match status {
        "excellent" => "fitness_grade_excellent",
        "good" => "fitness_grade_good",
        "pass" => "fitness_grade_pass",
        "fail" => "fitness_grade_fail",
        "withheld" => "fitness_grade_withheld",
        _ => "fitness_grade_incomplete",
    })
}

async fn result_view(state: &AppState, lang: Lang, stored: &FitnessResult) -> Option<minijinja::Value> {
    let result = &stored.result;
    let standard = state.standards().get(&result.standard_id)?;
    let sex = Sex::parse(&result.sex)?;
    let cohort = crate::api::fitness::stored_cohort(&result.cohort_kind, result.cohort)?;
    let measurements: BTreeMap<String, String> = serde_json::from_str(&result.measurements_json).unwrap_or_default();
    let mut record = StudentRecord::new(standard, sex, cohort);
    for (key, text) in &measurements {
        if let Ok(value) = Dec::parse(text) {
            let _ = record.set(standard, key, value);
        }
    }
    let card = score_student(standard, &record).ok()?;
    let items: Vec<minijinja::Value> = card
        .items
        .iter()
        .map(|item| {
            let def = &standard.items()[item.item];
            context! {
                name => item_name(lang, def),
                value => item.value.map(|value| format!("{value} {}", def.unit)),
                score => item.score(),
                explanation => item.explain(standard),
            }
        })
        .collect();
    let weakest: Vec<minijinja::Value> = prescription::weakest_items(standard, &card, WEAKEST_LISTED)
        .into_iter()
        .map(|item| {
            let def = &standard.items()[item];
            let advice = prescription::for_item(&def.id);
            context! {
                name => item_name(lang, def),
                score => card.item(item).and_then(|score| score.score()),
                component => advice.map(|advice| lang.pick(advice.component_zh, advice.component_en).to_string()),
                advice => advice.map(|advice| lang.pick(advice.advice_zh, advice.advice_en).to_string()),
            }
        })
        .collect();
    let peers = peer_region(result.region);
    // Peers: the same grade, or the same five-year age band (20–24, …).
    let cohorts = match Stratum::of(cohort) {
        Stratum::Grade(grade) => (grade, grade),
        Stratum::AgeBand { from_years } => (from_years, from_years.saturating_add(4)),
    };
    let rank = match state.store().fitness_rank(result, cohorts, peers).await {
        Ok(rank) if rank.total >= MIN_REPORTED_N => {
            let percent = (rank.below as f64 + rank.equal as f64 / 2.0) / rank.total as f64 * 100.0;
            let place = state.snapshot().regions.get(peers).map_or_else(|| peers.short(), |region| region.name.clone());
            Some(fill(lang.text("fitness_rank"), &[("percent", &format!("{percent:.0}")), ("n", &rank.total.to_string()), ("region", &place)]))
        }
        Ok(_) => Some(fill(lang.text("fitness_rank_few"), &[("n", &MIN_REPORTED_N.to_string())])),
        Err(error) => {
            tracing::warn!(%error, "fitness rank unavailable");
            None
        }
    };
    let status = card.result.slug();
    Some(context! {
        id => result.id.to_string(),
        standard => lang.pick(&standard.name_zh, &standard.name_en).to_string(),
        standard_id => standard.id.as_str().to_string(),
        provisional => standard.provisional,
        known_defects => standard.known_defects.clone(),
        test_date => result.test_date.to_string(),
        cohort => match cohort {
            Cohort::Grade(grade) => fill(lang.text("fitness_cohort_grade"), &[("grade", &grade.to_string())]),
            Cohort::Age(age) => fill(lang.text("fitness_cohort_age"), &[("age", &age.to_string())]),
        },
        status => status,
        status_text => status_text(lang, status),
        total => card.result.total().map(|total| total.to_string()),
        bmi => card.bmi.map(|bmi| bmi.to_string()),
        items => items,
        weakest => weakest,
        rank => rank,
    })
}

pub async fn report_page(State(state): State<AppState>, page: PageContext) -> Response {
    let Some(account) = page.visitor.caller.account() else {
        return to_login(&page);
    };
    let lang = page.lang;
    let results = match state.store().fitness_results_of_account(account).await {
        Ok(results) => results,
        Err(error) => return render_error_page(error.into(), &page),
    };
    let mut views = Vec::with_capacity(results.len());
    for stored in &results {
        if let Some(view) = result_view(&state, lang, stored).await {
            views.push(view);
        }
    }
    let title = lang.text("fitness_report_title");
    page.render(StatusCode::OK, "fitness_report.html", title, context! { results => views })
}

/// An item's name: the table's Chinese name, or in English its id read as words (`sit_and_reach` →
/// "sit and reach"; the shipped tables name items in Chinese only).
pub fn item_name(lang: Lang, def: &fitforall_core::fitness::ItemDef) -> String {
    match lang {
        Lang::Zh => def.name_zh.clone(),
        Lang::En => def.id.replace('_', " "),
    }
}
