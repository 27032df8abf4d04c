//! The fitness store on SQLite and (when FITFORALL_TEST_DATABASE_URL is set) PostgreSQL: stations,
//! results replaced per person, standard and date, and the counts behind the pass-rate indicator.

use chrono::{NaiveDate, TimeZone, Utc};
use fitforall_core::policy::{AccountId, StationId};
use fitforall_core::region::RegionCode;
use fitforall_store::testing::TestDatabase;
use fitforall_store::{NewFitnessResult, PassRateRow, Station, Store, StoreError, UpsertSummary};

fn region(code: &str) -> RegionCode {
    RegionCode::parse(code).unwrap()
}

fn result(id: i64, person: &str, area: &str, standard: &str, date: &str, grade: Option<&str>, passed: Option<bool>) -> NewFitnessResult {
    NewFitnessResult {
        id,
        standard_id: standard.into(),
        account: None,
        person_ref: person.into(),
        region: region(area),
        station: None,
        test_date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
        sex: "M".into(),
        cohort_kind: "grade".into(),
        cohort: 7,
        measurements_json: r#"{"height_cm":"160.0"}"#.into(),
        score_card_json: "{}".into(),
        total_milli: grade.map(|_| 70_000),
        grade: grade.map(str::to_string),
        passed,
        source: "import".into(),
        entered_by: None,
    }
}

async fn story(database: &TestDatabase) {
    let label = database.label;
    let store = Store::connect(&database.url).await.unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap();

    let station = Station {
        id: StationId::parse("xihu-station").unwrap(),
        name: "西湖区国民体质监测站".into(),
        region: region("330106"),
        address: "杭州市西湖区".into(),
        venue: Some(fitforall_core::venue::VenueId::parse("xihu-gym").unwrap()),
        created_at: now,
        updated_at: now,
    };
    store.create_station(&station).await.unwrap();
    assert!(matches!(store.create_station(&station).await, Err(StoreError::Conflict(_))), "{label}: ids are unique");
    assert_eq!(store.station(&station.id).await.unwrap(), station, "{label}: round-trip");
    assert_eq!(store.stations(Some(region("3301"))).await.unwrap().len(), 1, "{label}");
    assert!(store.stations(Some(region("3302"))).await.unwrap().is_empty(), "{label}: Ningbo has none");
    assert!(matches!(store.station(&StationId::parse("nowhere").unwrap()).await, Err(StoreError::NotFound(_))), "{label}");
    store.set_station_venue(&station.id, None, now).await.unwrap();
    assert_eq!(store.station(&station.id).await.unwrap().venue, None, "{label}: the venue is cleared");
    let nowhere = StationId::parse("nowhere").unwrap();
    assert!(matches!(store.set_station_venue(&nowhere, None, now).await, Err(StoreError::NotFound(_))), "{label}");

    let mut owned = result(1, "account:77", "330106001", "cnsphs-2014", "2026-05-10", Some("good"), Some(true));
    owned.account = Some(AccountId::new(77));
    owned.station = Some(station.id.clone());
    owned.source = "station".into();
    let batch = vec![
        owned.clone(),
        result(2, "s-2", "330106001", "cnsphs-2014", "2026-05-10", Some("fail"), Some(false)),
        result(3, "s-3", "330102", "cnsphs-2014", "2026-05-11", Some("pass"), Some(true)),
        result(4, "s-4", "330102", "cnsphs-2014", "2026-05-11", None, None),
        result(5, "s-5", "330203", "cnsphs-2014", "2026-05-11", Some("pass"), Some(true)),
        result(6, "s-6", "330106", "cnpfms-2003-adult", "2026-05-11", Some("pass"), Some(true)),
        result(7, "s-7", "330106", "cnsphs-2014", "2025-05-11", Some("pass"), Some(true)),
    ];
    let summary = store.save_fitness_results(&batch, now).await.unwrap();
    assert_eq!(summary, UpsertSummary { inserted: 7, updated: 0, unchanged: 0 }, "{label}");
    // The same file again changes nothing; a corrected result replaces the earlier one.
    let again: Vec<NewFitnessResult> = batch.iter().map(|result| NewFitnessResult { id: result.id + 100, ..result.clone() }).collect();
    assert_eq!(store.save_fitness_results(&again, now).await.unwrap(), UpsertSummary { inserted: 0, updated: 0, unchanged: 7 }, "{label}");
    let corrected = NewFitnessResult { grade: Some("pass".into()), passed: Some(true), id: 200, ..batch[1].clone() };
    assert_eq!(store.save_fitness_results(&[corrected], now).await.unwrap(), UpsertSummary { inserted: 0, updated: 1, unchanged: 0 }, "{label}");

    let mine = store.fitness_results_of_account(AccountId::new(77)).await.unwrap();
    assert_eq!(mine.len(), 1, "{label}");
    assert_eq!(mine[0].result, owned, "{label}: round-trip");

    assert_eq!(store.fitness_standards_with_results(region("3301"), 2026).await.unwrap(), ["cnpfms-2003-adult", "cnsphs-2014"], "{label}");
    // The latest year with results, per standard and subtree.
    assert_eq!(store.fitness_latest_year("cnsphs-2014", region("3301")).await.unwrap(), Some(2026), "{label}");
    assert_eq!(store.fitness_latest_year("cnsphs-2014", region("330106")).await.unwrap(), Some(2026), "{label}");
    assert_eq!(store.fitness_latest_year("cnsphs-2014", region("330106001")).await.unwrap(), Some(2026), "{label}");
    assert_eq!(store.fitness_latest_year("cnpfms-2003-adult", region("3302")).await.unwrap(), None, "{label}: nothing in Ningbo");
    assert_eq!(store.fitness_latest_year("cnsphs-2014", region("3302")).await.unwrap(), Some(2026), "{label}");
    assert_eq!(store.fitness_latest_year("cnsphs-2014", region("44")).await.unwrap(), None, "{label}");
    let counts = store.pass_rate_counts("cnsphs-2014", 2026, region("3301")).await.unwrap();
    let row =
        |code: &str, tested: u64, passed: u64| PassRateRow { region: region(code), sex: "M".into(), cohort_kind: "grade".into(), cohort: 7, tested, passed };
    // Incomplete records (no grade) are not counted; Ningbo, 2025 and the adult standard are elsewhere.
    assert_eq!(counts, [row("330102", 1, 1), row("330106001", 2, 2)], "{label}");

    // Rank among graded peers (same standard, year, sex, grade) in Hangzhou: three graded boys of
    // grade 7 in 2026 (totals 70, 70, 70 points): none below, all three equal.
    let rank = store.fitness_rank(&owned, (7, 7), region("3301")).await.unwrap();
    assert_eq!(rank, fitforall_store::RankCounts { below: 0, equal: 3, total: 3 }, "{label}");
    let lower = NewFitnessResult { total_milli: Some(50_000), person_ref: "s-8".into(), id: 300, ..batch[1].clone() };
    store.save_fitness_results(&[lower], now).await.unwrap();
    let rank = store.fitness_rank(&owned, (7, 7), region("3301")).await.unwrap();
    assert_eq!(rank, fitforall_store::RankCounts { below: 1, equal: 3, total: 4 }, "{label}");
    assert_eq!(store.fitness_rank(&owned, (7, 7), region("3302")).await.unwrap().total, 1, "{label}: Ningbo's own boy only");
    assert_eq!(store.fitness_rank(&owned, (8, 9), region("3301")).await.unwrap().total, 0, "{label}: other grades");
}

#[tokio::test]
async fn fitness_store_on_every_backend() {
    for database in TestDatabase::all().await {
        story(&database).await;
    }
}
