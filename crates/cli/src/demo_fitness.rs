//! Demo fitness results (issue 5), generated and scored by `core::fitness` like real ones: students
//! of grades 1–12 in Hangzhou's central districts tested in May 2026 at the demo station, adults in
//! West Lake, and two years of results for the demo resident (13800000003), so that the pass-rate
//! indicator and the resident's report have something to show. Every result says it is demo data
//! through the station it was entered at.

use anyhow::Context;
use chrono::NaiveDate;
use fitforall_core::fitness::{AgeYears, Cohort, Dec, ItemKind, SchoolGrade, Sex, Standard, StandardSet, StudentRecord, score_student, shipped};
use fitforall_core::policy::{AccountId, StationId};
use fitforall_core::region::RegionCode;
use fitforall_server::api::fitness::{ResultFacts, new_result};
use fitforall_store::{NewFitnessResult, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Students per district, and adults in West Lake.
const STUDENTS_PER_DISTRICT: usize = 240;
const ADULTS: usize = 120;
const DISTRICTS: [&str; 6] = ["330102", "330105", "330106", "330108", "330109", "330110"];

/// One person's measurements: height and weight from a simple growth curve, and for every item a
/// value exactly at a level's threshold, the level drawn with most people between 60 and 90 points.
fn measure(standard: &Standard, sex: Sex, cohort: Cohort, rng: &mut StdRng, fitness: f64) -> anyhow::Result<StudentRecord> {
    let mut record = StudentRecord::new(standard, sex, cohort);
    let years = match cohort {
        Cohort::Grade(grade) => f64::from(grade.get().min(12)),
        Cohort::Age(_) => 12.0,
    };
    let height_cm = 115.0 + 4.2 * years + rng.random_range(-8.0..8.0) + if sex == Sex::Male && years > 8.0 { 6.0 } else { 0.0 };
    let bmi = 14.5 + 0.45 * years.min(12.0) + rng.random_range(-1.5..4.0);
    let weight_kg = bmi * (height_cm / 100.0).powi(2);
    record.set(standard, "height_cm", Dec::from_milli((height_cm * 10.0).round() as i64 * 100))?;
    record.set(standard, "weight_kg", Dec::from_milli((weight_kg * 10.0).round() as i64 * 100))?;
    let items = standard.applicable_items(sex, cohort).context("the standard covers the demo person")?;
    for (item, _) in items {
        let ItemKind::Table { measure } = standard.items()[item].kind else { continue };
        let Some(table) = standard.table_for(item, sex, cohort) else { continue };
        let scored: Vec<_> = table.levels.iter().filter(|level| level.score > 0).collect();
        if scored.is_empty() {
            continue;
        }
        // Levels are best first: a fitter person draws nearer the top.
        let position = ((1.0 - fitness) * scored.len() as f64 + rng.random_range(-2.0..2.0)).clamp(0.0, (scored.len() - 1) as f64) as usize;
        record.set(standard, &standard.measures()[measure].key, scored[position].threshold)?;
    }
    Ok(record)
}

/// Scores `record` and gives its stored form, as a station's entry would.
fn scored_result(standard: &Standard, record: &StudentRecord, facts: ResultFacts) -> anyhow::Result<NewFitnessResult> {
    let card = score_student(standard, record)?;
    Ok(new_result(standard, record, &card, facts))
}

fn facts(id: i64, person_ref: String, account: Option<AccountId>, region: RegionCode, station: &StationId, test_date: NaiveDate) -> ResultFacts {
    ResultFacts { id, account, person_ref, region, station: Some(station.clone()), test_date, source: "import", entered_by: None }
}

fn standard<'a>(standards: &'a StandardSet, id: &str) -> anyhow::Result<&'a Standard> {
    standards.get(id).with_context(|| format!("the shipped standard {id}"))
}

/// Generates and stores the demo results; returns a line for the demo notice.
pub async fn create_demo_fitness_results(url: &str, seed: u64, station: &StationId) -> anyhow::Result<String> {
    let standards = shipped::load().map_err(|errors| anyhow::anyhow!("the shipped standards do not load: {errors:?}"))?;
    let students = standard(&standards, "cnsphs-2014")?;
    let adults = standard(&standards, "cnpfms-2003-adult")?;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x05ee_df17);
    let store = Store::connect(url).await?;
    let mut results = Vec::new();
    let mut next_id = 1_000_000_000i64;
    for district in DISTRICTS {
        let region = RegionCode::parse(district)?;
        for index in 0..STUDENTS_PER_DISTRICT {
            let sex = if rng.random_bool(0.5) { Sex::Male } else { Sex::Female };
            let grade = SchoolGrade::new(rng.random_range(1..=12)).context("grade")?;
            let fitness = rng.random_range(0.15..0.95);
            let record = measure(students, sex, Cohort::Grade(grade), &mut rng, fitness)?;
            let date = NaiveDate::from_ymd_opt(2026, 5, rng.random_range(6..=28)).context("date")?;
            next_id += 1;
            let facts = facts(next_id, format!("demo-{district}-{index}"), None, region, station, date);
            results.push(scored_result(students, &record, facts)?);
        }
    }
    let xihu = RegionCode::parse("330106")?;
    for index in 0..ADULTS {
        let sex = if rng.random_bool(0.5) { Sex::Male } else { Sex::Female };
        let age = AgeYears::new(rng.random_range(30..=39)).context("age")?;
        let fitness = rng.random_range(0.2..0.9);
        let record = measure(adults, sex, Cohort::Age(age), &mut rng, fitness)?;
        next_id += 1;
        let date = NaiveDate::from_ymd_opt(2026, 6, 6).context("date")?;
        results.push(scored_result(adults, &record, facts(next_id, format!("demo-adult-{index}"), None, xihu, station, date))?);
    }
    // The demo resident, a man of 35 and then 36: a weaker year and a better one.
    let resident = store.account_by_phone("13800000003").await?;
    for (year, age, fitness) in [(2025, 35, 0.35), (2026, 36, 0.6)] {
        let record = measure(adults, Sex::Male, Cohort::Age(AgeYears::new(age).context("age")?), &mut rng, fitness)?;
        next_id += 1;
        let date = NaiveDate::from_ymd_opt(year, 6, 6).context("date")?;
        results.push(scored_result(adults, &record, facts(next_id, format!("account:{}", resident.id), Some(resident.id), xihu, station, date))?);
    }
    let now = chrono::Utc::now();
    let mut saved = 0;
    for chunk in results.chunks(fitforall_store::MAX_RESULTS_PER_WRITE) {
        saved += store.save_fitness_results(chunk, now).await?.inserted;
    }
    store.close().await;
    Ok(format!(
        "{saved} demo fitness results (students of grades 1–12 in six Hangzhou districts, adults and the demo resident in 西湖区): /account/fitness as the resident, /api/v1/indicators/fitness-pass-rate?region=3301&year=2026&standard=cnsphs-2014"
    ))
}
