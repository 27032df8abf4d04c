//! One store story, run on SQLite and (when FITFORALL_TEST_DATABASE_URL is set) PostgreSQL.

use chrono::{TimeZone, Utc};
use fitforall_core::geo::LatLng;
use fitforall_core::hours::WeeklyHours;
use fitforall_core::indicator::PopulationRecord;
use fitforall_core::region::{Region, RegionCode, RegionTree};
use fitforall_core::venue::{Accessibility, OwnerKind, Setting, Sport, Venue, VenueId, VenueStatus, VenueType};
use fitforall_store::testing::TestDatabase;
use fitforall_store::{Store, StoreError, UpsertSummary};

fn code(text: &str) -> RegionCode {
    RegionCode::parse(text).unwrap()
}

fn regions() -> Vec<Region> {
    [("33", "浙江省"), ("3301", "杭州市"), ("330106", "西湖区"), ("330106001", "北山街道"), ("44", "广东省"), ("4419", "东莞市")]
        .iter()
        .map(|(c, n)| Region { code: code(c), name: n.to_string() })
        .collect()
}

fn venue(id: &str, region: &str) -> Venue {
    Venue {
        id: VenueId::parse(id).unwrap(),
        name: format!("测试场馆 {id}"),
        region: code(region),
        address: "杭州市西湖区北山路".into(),
        location: LatLng::new(30.2590, 120.1390).unwrap(),
        venue_type: VenueType::Gymnasium,
        sports: vec![Sport::Badminton, Sport::TableTennis],
        sports_area_m2: 1234.5,
        setting: Setting::Indoor,
        owner_kind: OwnerKind::Public,
        opening_hours: WeeklyHours::parse("Mo-Fr 06:00-22:00; Sa-Su 08:00-21:00").unwrap(),
        free_hours: WeeklyHours::parse("Mo-Fr 06:00-08:00").unwrap(),
        low_fee_hours: WeeklyHours::parse("Sa-Su 08:00-21:00").unwrap(),
        accessibility: vec![Accessibility::StepFree],
        status: VenueStatus::Open,
        opened_year: Some(2018),
        phone: "0571-00000000".into(),
    }
}

async fn story(database: &TestDatabase) {
    let label = database.label;
    let store = Store::connect(&database.url).await.unwrap_or_else(|error| panic!("{label}: {error}"));
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();

    // Regions: insert, then the same again changes nothing, then a rename.
    let (tree, _) = RegionTree::build(regions()).unwrap();
    let summary = store.upsert_regions(&regions(), |c| tree.parent(c)).await.unwrap();
    assert_eq!(summary, UpsertSummary { inserted: 6, updated: 0, unchanged: 0 }, "{label}");
    let summary = store.upsert_regions(&regions(), |c| tree.parent(c)).await.unwrap();
    assert_eq!(summary, UpsertSummary { inserted: 0, updated: 0, unchanged: 6 }, "{label}");
    let mut renamed = regions();
    renamed[2].name = "西湖区（新）".into();
    assert_eq!(store.upsert_regions(&renamed, |c| tree.parent(c)).await.unwrap().updated, 1, "{label}");
    assert_eq!(store.load_regions().await.unwrap().len(), 6, "{label}");
    assert_eq!(store.count_regions().await.unwrap(), 6, "{label}");

    // Population: upsert by (region, year).
    let records = [
        PopulationRecord { region: code("330106"), year: 2023, population: 1_150_000 },
        PopulationRecord { region: code("3301"), year: 2023, population: 12_522_000 },
    ];
    assert_eq!(store.upsert_population(&records, now).await.unwrap().inserted, 2, "{label}");
    assert_eq!(store.upsert_population(&records, now).await.unwrap().unchanged, 2, "{label}");
    let changed = [PopulationRecord { region: code("330106"), year: 2023, population: 1_160_000 }];
    assert_eq!(store.upsert_population(&changed, now).await.unwrap().updated, 1, "{label}");
    let loaded = store.load_population().await.unwrap();
    assert!(loaded.contains(&changed[0]), "{label}");

    // Venues: insert, conflict, read back equal, update, delete, not found.
    let version_before = store.change_counter("venues").await.unwrap();
    let first = venue("hz-1", "330106001");
    let version = store.insert_venue(&first, now).await.unwrap();
    assert_eq!(version, version_before + 1, "{label}");
    assert!(matches!(store.insert_venue(&first, now).await, Err(StoreError::Conflict(_))), "{label}");
    let stored = store.get_venue(&first.id).await.unwrap();
    assert_eq!(stored.venue, first, "{label}: round trip");
    assert_eq!(stored.created_at, now, "{label}");
    let mut moved = first.clone();
    moved.region = code("4419");
    moved.name = "东莞体育馆".into();
    let later = now + chrono::Duration::minutes(5);
    store.update_venue(&moved, later).await.unwrap();
    let stored = store.get_venue(&first.id).await.unwrap();
    assert_eq!((stored.venue.region, stored.created_at, stored.updated_at), (code("4419"), now, later), "{label}: moved to another province");
    assert!(matches!(store.update_venue(&venue("nope", "33"), now).await, Err(StoreError::NotFound(_))), "{label}");
    store.delete_venue(&first.id).await.unwrap();
    assert!(matches!(store.get_venue(&first.id).await, Err(StoreError::NotFound(_))), "{label}");
    assert!(matches!(store.delete_venue(&first.id).await, Err(StoreError::NotFound(_))), "{label}");

    // Bulk upsert: the second run of the same data changes nothing, not even the counter.
    let batch: Vec<Venue> = (0..1_200).map(|i| venue(&format!("bulk-{i:04}"), if i % 2 == 0 { "330106" } else { "330106001" })).collect();
    let (summary, version) = store.upsert_venues(&batch, now).await.unwrap();
    assert_eq!(summary, UpsertSummary { inserted: 1_200, updated: 0, unchanged: 0 }, "{label}");
    let (summary, version_again) = store.upsert_venues(&batch, later).await.unwrap();
    assert_eq!(summary, UpsertSummary { inserted: 0, updated: 0, unchanged: 1_200 }, "{label}");
    assert_eq!(version_again, version, "{label}: nothing written, counter unchanged");
    let mut edited = batch.clone();
    edited[7].sports_area_m2 = 99.0;
    let (summary, _) = store.upsert_venues(&edited, later).await.unwrap();
    assert_eq!(summary, UpsertSummary { inserted: 0, updated: 1, unchanged: 1_199 }, "{label}");
    let stored = store.get_venue(&edited[7].id).await.unwrap();
    assert_eq!((stored.venue.sports_area_m2, stored.created_at, stored.updated_at), (99.0, now, later), "{label}");
    let (all, counter) = store.load_venues().await.unwrap();
    assert_eq!(all.len(), 1_200, "{label}");
    assert_eq!(counter, store.change_counter("venues").await.unwrap(), "{label}");

    // The database itself refuses a venue in a region that does not exist.
    let orphan = venue("orphan", "330105");
    assert!(matches!(store.insert_venue(&orphan, now).await, Err(StoreError::Database(_))), "{label}: foreign key");
    store.ping().await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn store_story_on_every_backend() {
    for database in TestDatabase::all().await {
        story(&database).await;
    }
}

#[tokio::test]
async fn unsupported_url_is_a_clear_error() {
    let error = Store::connect("mysql://localhost/x").await.unwrap_err();
    assert_eq!(error.to_string(), "unsupported database URL \"mysql://localhost/x\": use sqlite://PATH or postgres://…");
}
