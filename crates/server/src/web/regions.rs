//! Region pages: the national overview (`/regions`) and one region (`/regions/{code}`, any code
//! form) with its per-capita sports area, children and a choropleth map.
//!
//! Map: for Zhejiang and everything below it, Zhejiang's 11 city outlines coloured by the cities'
//! values; elsewhere the province outlines of China, coloured where a province has a value.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use fitforall_core::indicator::{PopulationSource, per_capita_sports_area};
use fitforall_core::region::{RegionCode, RegionLevel};
use minijinja::{Value, context};
use serde::Serialize;

use crate::api::indicators::{PerCapitaAreaResponse, compute};
use crate::api::regions::{parse_region, region_detail};
use crate::api::venues::{local_now, run_search};
use crate::params::Params;
use crate::state::{AppState, Snapshot};
use crate::web::i18n::fill;
use crate::web::pages::{VenueItem, map_outlines, region_url};
use crate::web::templates::script_json;
use crate::web::{Lang, PageContext, group_digits, render_error_page};

/// Sequential greens, lightest = smallest per-capita area.
pub const PALETTE: [&str; 5] = ["#e5f5e0", "#a1d99b", "#74c476", "#31a354", "#006d2c"];
pub const NO_DATA_COLOR: &str = "#d4d4d0";
/// The province whose cities have outlines.
const ZHEJIANG: &str = "33";
/// Venues listed on a region page (the rest behind a link).
const VENUES_SHOWN: usize = 10;

pub fn level_name(lang: Lang, level: RegionLevel) -> &'static str {
    lang.text(match level {
        RegionLevel::Province => "level_province",
        RegionLevel::City => "level_city",
        RegionLevel::County => "level_county",
        RegionLevel::Street => "level_street",
    })
}

/// Value classes of a choropleth: equal intervals between the minimum and maximum, rounded to a
/// granularity a tenth of the range's order of magnitude (so tiny and large values both read well).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classes {
    pub lower: f64,
    pub step: f64,
    pub count: usize,
    pub decimals: usize,
}

impl Classes {
    pub fn new(values: &[f64]) -> Option<Classes> {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let min = finite.iter().copied().reduce(f64::min)?;
        let max = finite.iter().copied().reduce(f64::max)?;
        let spread = if max - min > 1e-12 { max - min } else { max.abs().max(1e-6) };
        let granularity = 10f64.powf(spread.log10().floor() - 1.0);
        let decimals = (-granularity.log10()).round().max(0.0) as usize;
        let lower = (min / granularity + 1e-9).floor() * granularity;
        let upper = (max / granularity - 1e-9).ceil() * granularity;
        if max - min <= 1e-12 || upper - lower < granularity / 2.0 {
            return Some(Classes { lower: min, step: granularity, count: 1, decimals });
        }
        let count = PALETTE.len().min(finite.len().max(1));
        Some(Classes { lower, step: (upper - lower) / count as f64, count, decimals })
    }

    pub fn index(&self, value: f64) -> usize {
        (((value - self.lower) / self.step + 1e-9).floor().max(0.0) as usize).min(self.count - 1)
    }

    /// Colour of class `index` spread over the whole palette.
    pub fn color(&self, index: usize) -> &'static str {
        if self.count == 1 {
            return PALETTE[PALETTE.len() / 2];
        }
        PALETTE[index * (PALETTE.len() - 1) / (self.count - 1)]
    }

    pub fn legend(&self) -> Vec<(String, &'static str)> {
        let decimals = self.decimals;
        (0..self.count)
            .map(|index| {
                let from = self.lower + self.step * index as f64;
                let to = from + self.step;
                let label = if self.count == 1 { format!("{from:.decimals$}") } else { format!("{from:.decimals$} – {to:.decimals$}") };
                (label, self.color(index))
            })
            .collect()
    }
}

/// m² per person: three decimals below 1 (the demo's small values), two up to 10, then one.
pub fn value_text(value: Option<f64>) -> Option<String> {
    value.map(|v| {
        if v.abs() < 1.0 {
            format!("{v:.3}")
        } else if v.abs() < 10.0 {
            format!("{v:.2}")
        } else {
            format!("{v:.1}")
        }
    })
}

/// The first six digits of the full code: the `id` of the map features (`330100`, `330000`).
fn feature_id(code: RegionCode) -> String {
    code.full()[..6].to_string()
}

/// One row of the children table.
#[derive(Debug, Serialize)]
struct ChildRow {
    name: String,
    url: String,
    value: Option<String>,
    bar_percent: f64,
    population: Option<String>,
    venue_count: usize,
}

#[derive(Serialize)]
struct MapFeature {
    name: String,
    value: Option<String>,
    color: &'static str,
    url: String,
}

/// Per-capita area of a region's children from the indicator when population exists, otherwise
/// areas and venue counts only (for the current year).
fn child_values(snapshot: &Snapshot, region: RegionCode, indicator: Option<&PerCapitaAreaResponse>) -> Vec<(RegionCode, Option<f64>, Option<u64>, usize)> {
    match indicator {
        Some(indicator) => indicator
            .children
            .iter()
            .filter_map(|row| {
                let code = RegionCode::parse(&row.region.code).ok()?;
                Some((code, row.value_m2_per_person, row.population.as_ref().map(|p| p.population), row.venue_count))
            })
            .collect(),
        None => {
            let year = chrono::Datelike::year(&local_now()) as u16;
            let (_, children) = per_capita_sports_area(&snapshot.regions, snapshot.catalog.venues(), &snapshot.population, region, year);
            children.iter().map(|child| (child.region, None, None, child.venue_count)).collect()
        }
    }
}

fn child_rows(lang: Lang, snapshot: &Snapshot, values: &[(RegionCode, Option<f64>, Option<u64>, usize)]) -> Vec<ChildRow> {
    let max = values.iter().filter_map(|(_, v, _, _)| *v).fold(0.0, f64::max);
    values
        .iter()
        .map(|(code, value, population, venue_count)| ChildRow {
            name: snapshot.regions.get(*code).map(|r| r.name.clone()).unwrap_or_else(|| code.short()),
            url: region_url(*code),
            value: value_text(*value),
            bar_percent: match value {
                Some(v) if max > 0.0 => ((v / max) * 1000.0).round() / 10.0,
                _ => 0.0,
            },
            population: population.map(|p| fill(lang.text("population_unit"), &[("n", &group_digits(p))])),
            venue_count: *venue_count,
        })
        .collect()
}

/// The choropleth: which outlines, each feature's value and colour, the legend, the highlight.
fn choropleth(lang: Lang, state: &AppState, snapshot: &Snapshot, current: Option<RegionCode>) -> Value {
    let tree = &snapshot.regions;
    let demo = state.config().demo;
    let zhejiang = RegionCode::parse(ZHEJIANG).expect("valid code");
    let in_zhejiang = current.is_some_and(|code| zhejiang.contains(code));
    let (mode, title, codes, highlight): (&str, &str, Vec<RegionCode>, Option<RegionCode>) = if in_zhejiang {
        let code = current.expect("checked");
        let highlight = (code.level() != RegionLevel::Province).then(|| RegionCode::parse(&code.full()[..4]).expect("city prefix"));
        ("zhejiang", lang.text("map_zhejiang_title"), tree.children(zhejiang).to_vec(), highlight)
    } else {
        let highlight = current.map(|code| code.province());
        ("china", lang.text("map_china_title"), tree.roots().to_vec(), highlight)
    };
    let values: Vec<(RegionCode, Option<f64>)> = if in_zhejiang {
        match compute(snapshot, zhejiang, None, demo) {
            Ok(indicator) => indicator.children.iter().filter_map(|row| Some((RegionCode::parse(&row.region.code).ok()?, row.value_m2_per_person))).collect(),
            Err(_) => codes.iter().map(|code| (*code, None)).collect(),
        }
    } else {
        codes.iter().map(|code| (*code, compute(snapshot, *code, None, demo).ok().and_then(|indicator| indicator.total.value_m2_per_person))).collect()
    };
    let numbers: Vec<f64> = values.iter().filter_map(|(_, v)| *v).collect();
    let classes = Classes::new(&numbers);
    let features: BTreeMap<String, MapFeature> = values
        .iter()
        .map(|(code, value)| {
            let color = match (value, &classes) {
                (Some(v), Some(classes)) => classes.color(classes.index(*v)),
                _ => NO_DATA_COLOR,
            };
            let name = tree.get(*code).map(|r| r.name.clone()).unwrap_or_default();
            (feature_id(*code), MapFeature { name, value: value_text(*value), color, url: region_url(*code) })
        })
        .collect();
    let legend: Vec<Value> =
        classes.as_ref().map(|c| c.legend()).unwrap_or_default().into_iter().map(|(label, color)| context! { label => label, color => color }).collect();
    let outlines = map_outlines();
    let map = context! {
        kind => "choropleth",
        mode => mode,
        outlines => outlines,
        features => features,
        highlight => highlight.map(feature_id),
        no_data_color => NO_DATA_COLOR,
        text => context! { no_data => lang.text("no_data"), unit => lang.text("unit_per_person"), open_region => lang.text("open_region") },
    };
    context! { title => title, legend => legend, no_data_color => NO_DATA_COLOR, json => script_json(&map) }
}

pub async fn national(State(state): State<AppState>, page: PageContext) -> Response {
    let lang = page.lang;
    let snapshot = state.snapshot();
    let demo = state.config().demo;
    let tree = &snapshot.regions;
    let values: Vec<(RegionCode, Option<f64>, Option<u64>, usize)> = tree
        .roots()
        .iter()
        .map(|code| match compute(&snapshot, *code, None, demo) {
            Ok(indicator) => {
                (*code, indicator.total.value_m2_per_person, indicator.total.population.as_ref().map(|p| p.population), indicator.total.venue_count)
            }
            Err(_) => (*code, None, None, region_detail(&snapshot, *code).venue_count),
        })
        .collect();
    // Provinces with a figure first, then the others, each in code order.
    let mut values = values;
    values.sort_by_key(|(code, value, _, _)| (value.is_none(), *code));
    let rows = child_rows(lang, &snapshot, &values);
    let data = context! {
        national => true,
        region => context! { name => lang.text("national_title") },
        chain => Vec::<Value>::new(),
        children => rows,
        map => choropleth(lang, &state, &snapshot, None),
        venue_count => group_digits(snapshot.catalog.len() as u64),
        definition => lang.pick(fitforall_core::indicator::PER_CAPITA_SPORTS_AREA.text_zh, fitforall_core::indicator::PER_CAPITA_SPORTS_AREA.text_en),
    };
    page.render(StatusCode::OK, "region.html", lang.text("national_title"), data)
}

pub async fn region(State(state): State<AppState>, page: PageContext, Path(code): Path<String>) -> Response {
    let lang = page.lang;
    let snapshot = state.snapshot();
    let code = match parse_region(&snapshot.regions, "code", &code) {
        Ok(code) => code,
        Err(error) => return render_error_page(error, &page),
    };
    let tree = &snapshot.regions;
    let detail = region_detail(&snapshot, code);
    let indicator = compute(&snapshot, code, None, state.config().demo).ok();
    let values = child_values(&snapshot, code, indicator.as_ref());
    let rows = child_rows(lang, &snapshot, &values);

    let population = detail.population.as_ref().map(|p| {
        let (source, missing) = match snapshot.population.effective(tree, code, p.year).map(|f| f.source) {
            Some(PopulationSource::SumOfChildren { children_missing, .. }) => (lang.text("population_sum"), children_missing),
            _ => (lang.text("population_own"), 0),
        };
        context! {
            value => fill(lang.text("population_unit"), &[("n", &group_digits(p.population))]),
            year => fill(lang.text("population_year"), &[("year", &p.year.to_string())]),
            source => source,
            missing => (missing > 0).then(|| fill(lang.text("population_missing"), &[("n", &missing.to_string())])),
        }
    });
    let per_capita = indicator.as_ref().map(|indicator| {
        context! {
            value => value_text(indicator.total.value_m2_per_person),
            year => fill(lang.text("indicator_year"), &[("year", &indicator.year.to_string())]),
            area => format!("{} m²", group_digits(indicator.total.sports_area_m2.round() as u64)),
        }
    });
    let pass_rates = pass_rate_blocks(&state, lang, code).await;
    let chain: Vec<Value> = detail.parents.iter().map(|parent| context! { name => parent.name, url => format!("/regions/{}", parent.short_code) }).collect();

    let venue_params = Params::parse(&format!("region={}&limit={VENUES_SHOWN}", code.short())).expect("valid query");
    let venues: Vec<VenueItem> = run_search(&state, &venue_params)
        .map(|list| list.items.iter().enumerate().map(|(i, view)| VenueItem::new(lang, i + 1, view)).collect())
        .unwrap_or_default();
    let region = tree.get(code).expect("parsed codes are in the tree");
    let data = context! {
        national => false,
        region => context! {
            name => region.name,
            full_name => detail.region.full_name,
            level => level_name(lang, region.level()),
            code => code.full(),
            short_code => code.short(),
        },
        chain => chain,
        population => population,
        per_capita => per_capita,
        venue_count => group_digits(detail.venue_count as u64),
        venue_count_raw => detail.venue_count,
        venues => venues,
        venues_url => format!("/venues?region={}", code.short()),
        children => rows,
        map => choropleth(lang, &state, &snapshot, Some(code)),
        pass_rates => pass_rates,
        pass_rate_definition => lang.pick(crate::api::fitness::PASS_RATE_TEXT_ZH, crate::api::fitness::PASS_RATE_TEXT_EN),
        definition => lang.pick(fitforall_core::indicator::PER_CAPITA_SPORTS_AREA.text_zh, fitforall_core::indicator::PER_CAPITA_SPORTS_AREA.text_en),
    };
    page.render(StatusCode::OK, "region.html", &region.name, data)
}

/// A share as a percentage with one decimal ("88.8 %").
fn percent_text(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

fn reported_rate_text(lang: Lang, rate: &crate::api::fitness::RateView, min_reported_n: u64) -> Value {
    match (rate.rate, rate.tested) {
        (Some(value), Some(tested)) if !rate.suppressed => context! {
            value => percent_text(value),
            tested => group_digits(tested),
            tested_text => fill(lang.text("pass_rate_tested"), &[("n", &group_digits(tested))]),
        },
        _ => context! { suppressed => fill(lang.text("pass_rate_suppressed"), &[("n", &min_reported_n.to_string())]) },
    }
}

/// The region's fitness pass rate under each loaded standard, for that standard's latest test year
/// with results here (one block per standard: rates never mix standard versions). A store failure
/// leaves the section out (logged) rather than failing the whole page.
async fn pass_rate_blocks(state: &AppState, lang: Lang, code: RegionCode) -> Vec<Value> {
    let mut blocks = Vec::new();
    for standard in state.standards().iter() {
        let year = match state.store().fitness_latest_year(standard.id.as_str(), code).await {
            Ok(Some(year)) => year,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(%error, standard = standard.id.as_str(), "the region page's pass rate could not be read");
                continue;
            }
        };
        let Ok(year) = u16::try_from(year) else { continue };
        let response = match crate::api::fitness::pass_rate_response(state, code, year, standard).await {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(?error, standard = standard.id.as_str(), "the region page's pass rate could not be computed");
                continue;
            }
        };
        let min_reported_n = response.min_reported_n;
        let children: Vec<Value> = response
            .children
            .iter()
            .map(|child| {
                context! {
                    name => child.region.name,
                    url => format!("/regions/{}", child.region.short_code),
                    rate => reported_rate_text(lang, &child.crude, min_reported_n),
                }
            })
            .collect();
        let standard_name = lang.pick(&standard.name_zh, &standard.name_en);
        blocks.push(context! {
            heading => fill(lang.text("pass_rate_year"), &[("year", &year.to_string()), ("standard", standard_name)]),
            provisional => standard.provisional,
            known_defects => standard.known_defects,
            crude => reported_rate_text(lang, &response.total.crude, min_reported_n),
            standardised => response.total.standardised_rate.map(percent_text),
            standardised_note => response.total.standardised_note,
            children => children,
            demo_data => response.demo_data,
            api_url => format!("/api/v1/indicators/fitness-pass-rate?region={}&year={year}&standard={}", code.short(), standard.id.as_str()),
        });
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_the_values() {
        let classes = Classes::new(&[1.23, 2.0, 3.47]).unwrap();
        assert_eq!((classes.count, classes.decimals), (3, 1));
        assert!((classes.lower - 1.2).abs() < 1e-9);
        assert_eq!(classes.index(1.23), 0);
        assert_eq!(classes.index(3.47), 2);
        assert_eq!(classes.color(0), PALETTE[0]);
        assert_eq!(classes.color(2), PALETTE[4]);
        assert_eq!(classes.legend()[0].0, "1.2 – 2.0");
        let small = Classes::new(&[0.012, 0.05, 0.034, 0.1, 0.021, 0.04]).unwrap();
        assert_eq!((small.count, small.decimals), (5, 3));
        assert_eq!(small.legend()[0].0, "0.012 – 0.030");
        assert_eq!(small.index(0.1), 4);
        assert_eq!(small.index(0.012), 0);
        let single = Classes::new(&[2.5, 2.5]).unwrap();
        assert_eq!((single.count, single.index(2.5)), (1, 0));
        assert!(Classes::new(&[]).is_none());
        let many = Classes::new(&[1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]).unwrap();
        assert_eq!(many.count, 5);
        assert_eq!(many.index(4.0), 4);
    }

    #[test]
    fn values_keep_three_significant_digits() {
        assert_eq!(value_text(Some(0.0345)), Some("0.035".into()));
        assert_eq!(value_text(Some(2.8456)), Some("2.85".into()));
        assert_eq!(value_text(Some(12.34)), Some("12.3".into()));
        assert_eq!(value_text(None), None);
    }

    #[test]
    fn feature_ids_are_six_digits() {
        assert_eq!(feature_id(RegionCode::parse("3301").unwrap()), "330100");
        assert_eq!(feature_id(RegionCode::parse("33").unwrap()), "330000");
    }
}
