//! Fitness testing persistence (issue 5): testing stations and scored results. Scoring is the core's
//! (`core::fitness`); the store keeps what was measured, the score card (JSON, as the edge rendered
//! it) and the composite in columns, and counts people tested and passed for the pass-rate indicator.

use chrono::{DateTime, NaiveDate, Utc};
use fitforall_core::policy::{AccountId, StationId};
use fitforall_core::region::RegionCode;
use fitforall_core::venue::VenueId;

use crate::{Backend, Store, StoreError, StoreResult, UpsertSummary};

/// At most this many results in one write (an import is chunked by its caller).
pub const MAX_RESULTS_PER_WRITE: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Station {
    pub id: StationId,
    pub name: String,
    pub region: RegionCode,
    pub address: String,
    /// Where it tests: appointments are bookings of this venue's sessions.
    pub venue: Option<VenueId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A scored result to store. `person_ref` is unique per standard and test date (a student number,
/// or `account:<id>`): storing the same person, standard and date again replaces the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFitnessResult {
    pub id: i64,
    pub standard_id: String,
    pub account: Option<AccountId>,
    pub person_ref: String,
    pub region: RegionCode,
    pub station: Option<StationId>,
    pub test_date: NaiveDate,
    /// `M` or `F`.
    pub sex: String,
    /// `grade` or `age`.
    pub cohort_kind: String,
    pub cohort: u8,
    pub measurements_json: String,
    pub score_card_json: String,
    pub total_milli: Option<i32>,
    pub grade: Option<String>,
    pub passed: Option<bool>,
    /// `station` or `import`.
    pub source: String,
    pub entered_by: Option<AccountId>,
}

/// A stored result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitnessResult {
    pub result: NewFitnessResult,
    pub created_at: DateTime<Utc>,
}

/// People with a composite grade and those among them who passed, per region, sex and cohort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassRateRow {
    pub region: RegionCode,
    pub sex: String,
    pub cohort_kind: String,
    pub cohort: u8,
    pub tested: u64,
    pub passed: u64,
}

type StationRow = (String, String, String, String, Option<String>, DateTime<Utc>, DateTime<Utc>);
#[derive(sqlx::FromRow)]
struct ResultRow {
    id: i64,
    standard_id: String,
    account_id: Option<i64>,
    person_ref: String,
    region_code: String,
    station_id: Option<String>,
    test_date: String,
    sex: String,
    cohort_kind: String,
    cohort: i32,
    measurements: String,
    score_card: String,
    total_milli: Option<i32>,
    grade: Option<String>,
    passed: Option<bool>,
    source: String,
    entered_by: Option<i64>,
    created_at: DateTime<Utc>,
}

const RESULT_COLUMNS: &str = "id, standard_id, account_id, person_ref, region_code, station_id, test_date, sex, cohort_kind, cohort, measurements, score_card, total_milli, grade, passed, source, entered_by, created_at";

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(what)
}

fn station_from_row(row: StationRow) -> StoreResult<Station> {
    let (id, name, region, address, venue, created_at, updated_at) = row;
    Ok(Station {
        id: StationId::parse(&id).map_err(|error| corrupt(format!("station id {id:?}: {error}")))?,
        name,
        region: RegionCode::parse(&region).map_err(|error| corrupt(format!("station {id} region: {error}")))?,
        address,
        venue: venue.map(|venue| VenueId::parse(&venue)).transpose().map_err(|error| corrupt(format!("station {id} venue: {error}")))?,
        created_at,
        updated_at,
    })
}

fn result_from_row(row: ResultRow) -> StoreResult<FitnessResult> {
    let id = row.id;
    let bad = |what: &str| corrupt(format!("fitness result {id}: {what}"));
    Ok(FitnessResult {
        result: NewFitnessResult {
            id,
            standard_id: row.standard_id,
            account: row.account_id.map(AccountId::new),
            person_ref: row.person_ref,
            region: RegionCode::parse(&row.region_code).map_err(|_| bad("region"))?,
            station: row.station_id.map(|station| StationId::parse(&station)).transpose().map_err(|_| bad("station"))?,
            test_date: NaiveDate::parse_from_str(&row.test_date, "%Y-%m-%d").map_err(|_| bad("test date"))?,
            sex: row.sex,
            cohort_kind: row.cohort_kind,
            cohort: u8::try_from(row.cohort).map_err(|_| bad("cohort"))?,
            measurements_json: row.measurements,
            score_card_json: row.score_card,
            total_milli: row.total_milli,
            grade: row.grade,
            passed: row.passed,
            source: row.source,
            entered_by: row.entered_by.map(AccountId::new),
        },
        created_at: row.created_at,
    })
}

impl Store {
    /// A new station; `Conflict` when its id is taken.
    pub async fn create_station(&self, station: &Station) -> StoreResult<()> {
        dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let taken: Option<String> = sqlx::query_scalar("SELECT id FROM stations WHERE id = $1").bind(station.id.as_str()).fetch_optional(&mut *tx).await?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!("station id {} is taken", station.id)));
            }
            sqlx::query("INSERT INTO stations (province_code, id, name, region_code, address, venue_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(station.region.province_code())
                .bind(station.id.as_str())
                .bind(&station.name)
                .bind(station.region.full())
                .bind(&station.address)
                .bind(station.venue.as_ref().map(|venue| venue.as_str().to_string()))
                .bind(station.created_at)
                .bind(station.updated_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Sets (or clears) the venue where a station tests; `NotFound` for an unknown station.
    pub async fn set_station_venue(&self, id: &StationId, venue: Option<&VenueId>, now: DateTime<Utc>) -> StoreResult<()> {
        let changed = dispatch!(self, |pool, begin| {
            sqlx::query("UPDATE stations SET venue_id = $2, updated_at = $3 WHERE id = $1")
                .bind(id.as_str())
                .bind(venue.map(|venue| venue.as_str().to_string()))
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if changed == 0 {
            return Err(StoreError::NotFound(format!("station {id}")));
        }
        Ok(())
    }

    pub async fn station(&self, id: &StationId) -> StoreResult<Station> {
        let row: Option<StationRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as("SELECT id, name, region_code, address, venue_id, created_at, updated_at FROM stations WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
        });
        station_from_row(row.ok_or_else(|| StoreError::NotFound(format!("station {id}")))?)
    }

    /// Stations in `region`'s subtree (every station when `None`), by id.
    pub async fn stations(&self, region: Option<RegionCode>) -> StoreResult<Vec<Station>> {
        let prefix = region.map_or(String::new(), RegionCode::short);
        let rows: Vec<StationRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as("SELECT id, name, region_code, address, venue_id, created_at, updated_at FROM stations WHERE region_code LIKE $1 ORDER BY id")
                .bind(format!("{prefix}%"))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(station_from_row).collect()
    }

    /// Stores results in one transaction, replacing an earlier result of the same person, standard
    /// and test date (re-importing a file changes nothing: `unchanged`).
    pub async fn save_fitness_results(&self, results: &[NewFitnessResult], now: DateTime<Utc>) -> StoreResult<UpsertSummary> {
        if results.len() > MAX_RESULTS_PER_WRITE {
            return Err(StoreError::Conflict(format!("at most {MAX_RESULTS_PER_WRITE} results in one write; {} given", results.len())));
        }
        let mut summary = UpsertSummary::default();
        dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            for result in results {
                let existing: Option<ResultRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {RESULT_COLUMNS} FROM fitness_results WHERE province_code = $1 AND standard_id = $2 AND person_ref = $3 AND test_date = $4"
                )))
                .bind(result.region.province_code())
                .bind(&result.standard_id)
                .bind(&result.person_ref)
                .bind(result.test_date.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                let replace_id = match existing {
                    Some(row) => {
                        let stored = result_from_row(row)?;
                        if same_result(&stored.result, result) {
                            summary.unchanged += 1;
                            continue;
                        }
                        summary.updated += 1;
                        sqlx::query("DELETE FROM fitness_results WHERE province_code = $1 AND id = $2")
                            .bind(result.region.province_code())
                            .bind(stored.result.id)
                            .execute(&mut *tx)
                            .await?;
                        Some(stored.result.id)
                    }
                    None => {
                        summary.inserted += 1;
                        None
                    }
                };
                let mut insert = sqlx::QueryBuilder::new(format!("INSERT INTO fitness_results (province_code, test_year, {RESULT_COLUMNS}) "));
                insert.push_values(std::iter::once(result), |mut row, result| {
                    row.push_bind(result.region.province_code())
                        .push_bind(chrono::Datelike::year(&result.test_date))
                        .push_bind(replace_id.unwrap_or(result.id))
                        .push_bind(result.standard_id.clone())
                        .push_bind(result.account.map(AccountId::as_i64))
                        .push_bind(result.person_ref.clone())
                        .push_bind(result.region.full())
                        .push_bind(result.station.as_ref().map(|station| station.as_str().to_string()))
                        .push_bind(result.test_date.to_string())
                        .push_bind(result.sex.clone())
                        .push_bind(result.cohort_kind.clone())
                        .push_bind(i32::from(result.cohort))
                        .push_bind(result.measurements_json.clone())
                        .push_bind(result.score_card_json.clone())
                        .push_bind(result.total_milli)
                        .push_bind(result.grade.clone())
                        .push_bind(result.passed)
                        .push_bind(result.source.clone())
                        .push_bind(result.entered_by.map(AccountId::as_i64))
                        .push_bind(now);
                });
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(summary)
    }

    /// An account's results, newest test first.
    pub async fn fitness_results_of_account(&self, account: AccountId) -> StoreResult<Vec<FitnessResult>> {
        let rows: Vec<ResultRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {RESULT_COLUMNS} FROM fitness_results WHERE account_id = $1 ORDER BY test_date DESC, id")))
                .bind(account.as_i64())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(result_from_row).collect()
    }

    /// The standards that have results in `region`'s subtree in `year`, by id.
    pub async fn fitness_standards_with_results(&self, region: RegionCode, year: i32) -> StoreResult<Vec<String>> {
        let rows: Vec<String> = dispatch!(self, |pool, begin| {
            sqlx::query_scalar("SELECT DISTINCT standard_id FROM fitness_results WHERE test_year = $1 AND region_code LIKE $2 ORDER BY standard_id")
                .bind(year)
                .bind(format!("{}%", region.short()))
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// The latest test year with results under `standard_id` in `region`'s subtree (walks
    /// `fitness_results_rate` backwards from the latest year, stopping at the first match).
    pub async fn fitness_latest_year(&self, standard_id: &str, region: RegionCode) -> StoreResult<Option<i32>> {
        let year: Option<i32> = dispatch!(self, |pool, begin| {
            sqlx::query_scalar(
                "SELECT test_year FROM fitness_results WHERE standard_id = $1 AND region_code LIKE $2 ORDER BY standard_id DESC, test_year DESC LIMIT 1",
            )
            .bind(standard_id)
            .bind(format!("{}%", region.short()))
            .fetch_optional(pool)
            .await?
        });
        Ok(year)
    }

    /// People graded (complete records) and passed, per region, sex and cohort, for one standard and
    /// year in `region`'s subtree. Incomplete records are not counted.
    pub async fn pass_rate_counts(&self, standard_id: &str, year: i32, region: RegionCode) -> StoreResult<Vec<PassRateRow>> {
        let rows: Vec<(String, String, String, i32, i64, i64)> = dispatch!(self, |pool, begin| {
            sqlx::query_as(
                "SELECT region_code, sex, cohort_kind, cohort, COUNT(*), SUM(CASE WHEN passed THEN 1 ELSE 0 END)
                 FROM fitness_results WHERE standard_id = $1 AND test_year = $2 AND region_code LIKE $3 AND grade IS NOT NULL
                 GROUP BY region_code, sex, cohort_kind, cohort ORDER BY region_code, sex, cohort_kind, cohort",
            )
            .bind(standard_id)
            .bind(year)
            .bind(format!("{}%", region.short()))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(region, sex, cohort_kind, cohort, tested, passed)| {
                Ok(PassRateRow {
                    region: RegionCode::parse(&region).map_err(|error| corrupt(format!("fitness result region {region:?}: {error}")))?,
                    sex,
                    cohort_kind,
                    cohort: u8::try_from(cohort).map_err(|_| corrupt(format!("cohort {cohort}")))?,
                    tested: u64::try_from(tested).unwrap_or(0),
                    passed: u64::try_from(passed).unwrap_or(0),
                })
            })
            .collect()
    }
}

/// Where one total stands among graded results of the same standard, year and sex, with a cohort
/// (grade or age) in `cohorts` (inclusive), in a region subtree: how many are lower, how many equal
/// (the person included), how many in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankCounts {
    pub below: u64,
    pub equal: u64,
    pub total: u64,
}

impl Store {
    pub async fn fitness_rank(&self, peer: &NewFitnessResult, cohorts: (u8, u8), region: RegionCode) -> StoreResult<RankCounts> {
        let Some(total_milli) = peer.total_milli else {
            return Ok(RankCounts { below: 0, equal: 0, total: 0 });
        };
        let year = chrono::Datelike::year(&peer.test_date);
        let (below, equal, total): (i64, i64, i64) = dispatch!(self, |pool, begin| {
            sqlx::query_as(
                "SELECT COALESCE(SUM(CASE WHEN total_milli < $1 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN total_milli = $1 THEN 1 ELSE 0 END), 0), COUNT(*)
                 FROM fitness_results WHERE standard_id = $2 AND test_year = $3 AND region_code LIKE $4 AND sex = $5 AND cohort_kind = $6 AND cohort >= $7
                 AND cohort <= $8 AND grade IS NOT NULL",
            )
            .bind(total_milli)
            .bind(&peer.standard_id)
            .bind(year)
            .bind(format!("{}%", region.short()))
            .bind(&peer.sex)
            .bind(&peer.cohort_kind)
            .bind(i32::from(cohorts.0))
            .bind(i32::from(cohorts.1))
            .fetch_one(pool)
            .await?
        });
        Ok(RankCounts { below: below.max(0) as u64, equal: equal.max(0) as u64, total: total.max(0) as u64 })
    }
}

/// Equal in everything a re-import could change (ids and who entered it aside).
fn same_result(stored: &NewFitnessResult, new: &NewFitnessResult) -> bool {
    NewFitnessResult { id: new.id, entered_by: new.entered_by, ..stored.clone() } == *new
}
