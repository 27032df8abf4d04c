//! FitForAll persistence. One narrow, domain-shaped interface; the backend (SQLite or PostgreSQL)
//! is chosen at run time from the database URL. Every query body is written once and compiled for
//! both typed pools by [`dispatch!`], so the two backends cannot drift apart.

use std::collections::HashMap;
use std::hash::Hash;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use fitforall_core::geo::LatLng;
use fitforall_core::hours::WeeklyHours;
use fitforall_core::indicator::PopulationRecord;
use fitforall_core::region::{Region, RegionCode};
use fitforall_core::venue::{Accessibility, OwnerKind, Setting, Sport, Venue, VenueId, VenueStatus, VenueType};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Row};

use crate::sqlite_writer::SqliteWriter;

pub mod testing;

/// Rows per multi-row INSERT (SQLite allows 32,766 bound parameters; 20 columns × 500 stays well below).
const INSERT_CHUNK_ROWS: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// From SQLite's batch writer (`sqlite_writer`), which does not go through sqlx.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite {
        pool: SqlitePool,
        /// One connection on a thread of its own, used only by the booking engine's batches (see
        /// `sqlite_writer`). SQLite has one writer anyway; a connection of its own keeps the pages of
        /// the hot indexes in its cache from one batch to the next. From the shared pool a batch would
        /// get a connection that other connections' commits had made stale (a connection drops its page
        /// cache when the database changed under it) and read every page again.
        batch_writer: SqliteWriter,
    },
    Postgres(PgPool),
}

/// Runs the same body against whichever pool the store holds. `$begin` is the statement that starts
/// a write transaction: `BEGIN IMMEDIATE` on SQLite (takes the write lock up front, so a
/// read-then-write transaction never fails with "database is locked"), `BEGIN` on PostgreSQL.
macro_rules! dispatch {
    ($store:expr, |$pool:ident, $begin:ident| $body:expr) => {
        match &$store.backend {
            Backend::Sqlite { pool: $pool, .. } => {
                #[allow(unused_variables)]
                let $begin = "BEGIN IMMEDIATE";
                $body
            }
            Backend::Postgres($pool) => {
                #[allow(unused_variables)]
                let $begin = "BEGIN";
                $body
            }
        }
    };
}

/// Inside a write transaction: inserts `rows` (`(slot id, &SlotSpec)`) as empty slots of `resource`,
/// skipping those whose (resource, start) exists already. Evaluates to the number created. Shared by
/// `Store::ensure_slots` and `Store::create_missing_slots`.
macro_rules! insert_slots_in {
    ($tx:ident, $resource:expr, $rows:expr) => {{
        let mut created = 0u64;
        for chunk in $rows.chunks(crate::INSERT_CHUNK_ROWS) {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO slots (id, province_code, resource_id, venue_id, starts_at, ends_at, capacity, taken, price_fen, reduced_price_fen) ",
            );
            insert.push_values(chunk, |mut row, (id, spec)| {
                row.push_bind(*id)
                    .push_bind(&$resource.province)
                    .push_bind($resource.id.as_str())
                    .push_bind($resource.venue.as_str())
                    .push_bind(crate::booking::local_text(spec.start))
                    .push_bind(crate::booking::local_text(spec.end))
                    .push_bind(i32::try_from(spec.capacity).unwrap_or(i32::MAX))
                    .push_bind(0i32)
                    .push_bind(spec.price_fen)
                    .push_bind(spec.reduced_price_fen);
            });
            insert.push(" ON CONFLICT (province_code, resource_id, starts_at) DO NOTHING");
            created += insert.build().execute(&mut *$tx).await?.rows_affected();
        }
        created
    }};
}

// After `dispatch!`: macro_rules! definitions are visible to modules declared below them.
mod accounts;
pub use accounts::*;
mod booking;
pub use booking::*;
mod booking_admin;
pub use booking_admin::*;
mod fitness;
mod sqlite_writer;
pub use fitness::*;

/// What an upsert did, row by row: re-importing the same data gives `unchanged == total`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertSummary {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// A venue with its bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVenue {
    pub venue: Venue,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) backend: Backend,
}

impl Store {
    /// Connects (creating a SQLite file when missing) and applies the migrations.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        Store::connect_with_durability(url, SqliteSynchronous::Full).await
    }

    /// Like `connect`, but a SQLite commit does not wait for the disk (`synchronous=OFF`): a crash
    /// of this process loses nothing, a crash of the machine may lose the last commits. Only for
    /// loading data that can be loaded again (a benchmark's fixture); close it before serving.
    /// PostgreSQL is opened as by `connect` (its durability is the server's setting).
    pub async fn connect_for_reloadable_bulk_load(url: &str) -> StoreResult<Store> {
        Store::connect_with_durability(url, SqliteSynchronous::Off).await
    }

    async fn connect_with_durability(url: &str, sqlite_synchronous: SqliteSynchronous) -> StoreResult<Store> {
        let backend = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(sqlite_synchronous)
                // 32 MiB of page cache per connection (SQLite's default is 2 MiB): the hot indexes of
                // a rush stay in memory instead of being read again through system calls.
                .pragma("cache_size", "-32768")
                // Checkpoint every 16 MiB of WAL (default 4 MiB): index pages written by successive
                // batches are copied back to the database file once instead of once per batch.
                .pragma("wal_autocheckpoint", "4096")
                // Statement journals (a multi-row INSERT inside a transaction keeps one, to undo just
                // that statement) and temporary B-trees in memory instead of temporary files: they
                // never need to survive a crash, and each page of them was a write system call.
                .pragma("temp_store", "memory")
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options.clone()).await?;
            sqlx::migrate!("migrations/sqlite").run(&pool).await?;
            let synchronous = match sqlite_synchronous {
                SqliteSynchronous::Off => "OFF",
                SqliteSynchronous::Normal => "NORMAL",
                SqliteSynchronous::Full => "FULL",
                SqliteSynchronous::Extra => "EXTRA",
            };
            let batch_writer = SqliteWriter::start(options.get_filename().to_path_buf(), synchronous)?;
            Backend::Sqlite { pool, batch_writer }
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect_with(options).await?;
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
            Backend::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        };
        Ok(Store { backend })
    }

    pub fn kind(&self) -> BackendKind {
        match self.backend {
            Backend::Sqlite { .. } => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    pub async fn ping(&self) -> StoreResult<()> {
        dispatch!(self, |pool, begin| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    pub async fn close(&self) {
        if let Backend::Sqlite { batch_writer, .. } = &self.backend {
            batch_writer.close().await;
        }
        dispatch!(self, |pool, begin| pool.close().await)
    }

    /// The change counter of a kind of reference data (`regions`, `population`, `venues`).
    pub async fn change_counter(&self, name: &'static str) -> StoreResult<i64> {
        let value: i64 =
            dispatch!(self, |pool, begin| sqlx::query_scalar("SELECT value FROM change_counters WHERE name = $1").bind(name).fetch_one(pool).await?);
        Ok(value)
    }

    // ----- regions -----

    pub async fn count_regions(&self) -> StoreResult<i64> {
        let count: i64 = dispatch!(self, |pool, begin| sqlx::query_scalar("SELECT COUNT(*) FROM regions").fetch_one(pool).await?);
        Ok(count)
    }

    pub async fn load_regions(&self) -> StoreResult<Vec<Region>> {
        let rows: Vec<(String, String)> = dispatch!(self, |pool, begin| sqlx::query_as("SELECT code, name FROM regions ORDER BY code").fetch_all(pool).await?);
        rows.into_iter()
            .map(|(code, name)| {
                let code = RegionCode::parse(&code).map_err(|error| StoreError::Corrupt(format!("region {code}: {error}")))?;
                Ok(Region { code, name })
            })
            .collect()
    }

    /// Inserts new regions and renames changed ones; never deletes (venues refer to regions).
    /// `parent_of` gives each region's parent in the tree the caller built.
    pub async fn upsert_regions(&self, regions: &[Region], parent_of: impl Fn(RegionCode) -> Option<RegionCode>) -> StoreResult<UpsertSummary> {
        let existing: HashMap<RegionCode, String> = self.load_regions().await?.into_iter().map(|region| (region.code, region.name)).collect();
        let (summary, changed) = classify_changes(regions, &existing, |region| (region.code, region.name.clone()));
        if changed.is_empty() {
            return Ok(summary);
        }
        dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            for chunk in changed.chunks(INSERT_CHUNK_ROWS) {
                let mut builder = sqlx::QueryBuilder::new("INSERT INTO regions (code, name, level, parent_code, province_code) ");
                builder.push_values(chunk, |mut row, region| {
                    row.push_bind(region.code.full())
                        .push_bind(region.name.clone())
                        .push_bind(region.level().as_str())
                        .push_bind(parent_of(region.code).map(RegionCode::full))
                        .push_bind(region.code.province_code());
                });
                builder.push(" ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, parent_code = excluded.parent_code");
                builder.build().execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE change_counters SET value = value + 1 WHERE name = 'regions'").execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(summary)
    }

    // ----- population -----

    pub async fn load_population(&self) -> StoreResult<Vec<PopulationRecord>> {
        let rows: Vec<(String, i32, i64)> = dispatch!(self, |pool, begin| {
            sqlx::query_as("SELECT region_code, year, population FROM population ORDER BY region_code, year").fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(code, year, population)| {
                let region = RegionCode::parse(&code).map_err(|error| StoreError::Corrupt(format!("population region {code}: {error}")))?;
                Ok(PopulationRecord { region, year: year as u16, population: population as u64 })
            })
            .collect()
    }

    /// Upserts by (region, year), in one transaction.
    pub async fn upsert_population(&self, records: &[PopulationRecord], now: DateTime<Utc>) -> StoreResult<UpsertSummary> {
        let existing: HashMap<(RegionCode, u16), u64> =
            self.load_population().await?.into_iter().map(|record| ((record.region, record.year), record.population)).collect();
        let (summary, changed) = classify_changes(records, &existing, |record| ((record.region, record.year), record.population));
        if changed.is_empty() {
            return Ok(summary);
        }
        dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            for chunk in changed.chunks(INSERT_CHUNK_ROWS) {
                let mut builder = sqlx::QueryBuilder::new("INSERT INTO population (province_code, region_code, year, population, updated_at) ");
                builder.push_values(chunk, |mut row, record| {
                    row.push_bind(record.region.province_code())
                        .push_bind(record.region.full())
                        .push_bind(i32::from(record.year))
                        .push_bind(record.population as i64)
                        .push_bind(now);
                });
                builder
                    .push(" ON CONFLICT (province_code, region_code, year) DO UPDATE SET population = excluded.population, updated_at = excluded.updated_at");
                builder.build().execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE change_counters SET value = value + 1 WHERE name = 'population'").execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(summary)
    }

    // ----- venues -----

    /// Every venue and the change counter they were read at (in one transaction, so they agree).
    pub async fn load_venues(&self) -> StoreResult<(Vec<Venue>, i64)> {
        let (rows, version) = dispatch!(self, |pool, begin| {
            let mut tx = pool.begin().await?;
            let version: i64 = sqlx::query_scalar("SELECT value FROM change_counters WHERE name = 'venues'").fetch_one(&mut *tx).await?;
            let rows = sqlx::query(AssertSqlSafe(format!("SELECT {VENUE_COLUMNS} FROM venues"))).fetch_all(&mut *tx).await?;
            let venues = rows.iter().map(venue_from_row).collect::<StoreResult<Vec<_>>>()?;
            tx.commit().await?;
            (venues, version)
        });
        Ok((rows.into_iter().map(|stored| stored.venue).collect(), version))
    }

    pub async fn get_venue(&self, id: &VenueId) -> StoreResult<StoredVenue> {
        let row = dispatch!(self, |pool, begin| {
            let row = sqlx::query(AssertSqlSafe(format!("SELECT {VENUE_COLUMNS} FROM venues WHERE id = $1"))).bind(id.as_str()).fetch_optional(pool).await?;
            row.as_ref().map(venue_from_row).transpose()?
        });
        row.ok_or_else(|| StoreError::NotFound(format!("venue {id}")))
    }

    /// Inserts a new venue; `Conflict` when the id is taken. Returns the new change counter.
    pub async fn insert_venue(&self, venue: &Venue, now: DateTime<Utc>) -> StoreResult<i64> {
        let version = dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let taken: Option<String> = sqlx::query_scalar("SELECT id FROM venues WHERE id = $1").bind(venue.id.as_str()).fetch_optional(&mut *tx).await?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!("venue {} already exists", venue.id)));
            }
            let mut builder = sqlx::QueryBuilder::new(format!("INSERT INTO venues ({VENUE_COLUMNS}) "));
            builder.push_values([venue], |row, venue| push_venue(row, venue, now));
            builder.build().execute(&mut *tx).await?;
            let version: i64 =
                sqlx::query_scalar("UPDATE change_counters SET value = value + 1 WHERE name = 'venues' RETURNING value").fetch_one(&mut *tx).await?;
            tx.commit().await?;
            version
        });
        Ok(version)
    }

    /// Replaces an existing venue (it may move to another province); `NotFound` when absent.
    pub async fn update_venue(&self, venue: &Venue, now: DateTime<Utc>) -> StoreResult<i64> {
        let version = dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let created: Option<DateTime<Utc>> =
                sqlx::query_scalar("SELECT created_at FROM venues WHERE id = $1").bind(venue.id.as_str()).fetch_optional(&mut *tx).await?;
            let Some(created_at) = created else {
                return Err(StoreError::NotFound(format!("venue {}", venue.id)));
            };
            sqlx::query("DELETE FROM venues WHERE id = $1").bind(venue.id.as_str()).execute(&mut *tx).await?;
            let mut builder = sqlx::QueryBuilder::new(format!("INSERT INTO venues ({VENUE_COLUMNS}) "));
            builder.push_values([venue], |row, venue| push_venue_with_created(row, venue, created_at, now));
            builder.build().execute(&mut *tx).await?;
            let version: i64 =
                sqlx::query_scalar("UPDATE change_counters SET value = value + 1 WHERE name = 'venues' RETURNING value").fetch_one(&mut *tx).await?;
            tx.commit().await?;
            version
        });
        Ok(version)
    }

    pub async fn delete_venue(&self, id: &VenueId) -> StoreResult<i64> {
        let version = dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let deleted = sqlx::query("DELETE FROM venues WHERE id = $1").bind(id.as_str()).execute(&mut *tx).await?.rows_affected();
            if deleted == 0 {
                return Err(StoreError::NotFound(format!("venue {id}")));
            }
            let version: i64 =
                sqlx::query_scalar("UPDATE change_counters SET value = value + 1 WHERE name = 'venues' RETURNING value").fetch_one(&mut *tx).await?;
            tx.commit().await?;
            version
        });
        Ok(version)
    }

    /// Inserts or replaces venues by id, all in one transaction; rows equal to what is stored are
    /// left alone (their `updated_at` does not move), so re-importing a file changes nothing.
    pub async fn upsert_venues(&self, venues: &[Venue], now: DateTime<Utc>) -> StoreResult<(UpsertSummary, i64)> {
        let result = dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let rows = sqlx::query(AssertSqlSafe(format!("SELECT {VENUE_COLUMNS} FROM venues"))).fetch_all(&mut *tx).await?;
            let mut existing = HashMap::with_capacity(rows.len());
            for row in &rows {
                let stored = venue_from_row(row)?;
                existing.insert(stored.venue.id.clone(), stored);
            }
            let mut summary = UpsertSummary::default();
            let mut writes: Vec<(&Venue, DateTime<Utc>)> = Vec::new();
            for venue in venues {
                match existing.get(&venue.id) {
                    None => {
                        summary.inserted += 1;
                        writes.push((venue, now));
                    }
                    Some(stored) if stored.venue != *venue => {
                        summary.updated += 1;
                        writes.push((venue, stored.created_at));
                    }
                    Some(_) => summary.unchanged += 1,
                }
            }
            let mut version: i64 = sqlx::query_scalar("SELECT value FROM change_counters WHERE name = 'venues'").fetch_one(&mut *tx).await?;
            if !writes.is_empty() {
                for chunk in writes.chunks(INSERT_CHUNK_ROWS) {
                    let mut delete = sqlx::QueryBuilder::new("DELETE FROM venues WHERE id IN (");
                    let mut ids = delete.separated(", ");
                    for (venue, _) in chunk {
                        ids.push_bind(venue.id.as_str().to_string());
                    }
                    delete.push(")");
                    delete.build().execute(&mut *tx).await?;
                    let mut insert = sqlx::QueryBuilder::new(format!("INSERT INTO venues ({VENUE_COLUMNS}) "));
                    insert.push_values(chunk, |row, (venue, created_at)| push_venue_with_created(row, venue, *created_at, now));
                    insert.build().execute(&mut *tx).await?;
                }
                version = sqlx::query_scalar("UPDATE change_counters SET value = value + 1 WHERE name = 'venues' RETURNING value").fetch_one(&mut *tx).await?;
            }
            tx.commit().await?;
            (summary, version)
        });
        Ok(result)
    }
}

/// Sorts items into inserted / updated / unchanged against what is stored (by key and value) and
/// returns the ones that must be written.
fn classify_changes<'a, T, K: Eq + Hash, V: PartialEq>(
    items: &'a [T],
    existing: &HashMap<K, V>,
    key_value: impl Fn(&T) -> (K, V),
) -> (UpsertSummary, Vec<&'a T>) {
    let mut summary = UpsertSummary::default();
    let mut changed = Vec::new();
    for item in items {
        let (key, value) = key_value(item);
        match existing.get(&key) {
            None => summary.inserted += 1,
            Some(stored) if *stored != value => summary.updated += 1,
            Some(_) => {
                summary.unchanged += 1;
                continue;
            }
        }
        changed.push(item);
    }
    (summary, changed)
}

const VENUE_COLUMNS: &str = "province_code, id, name, region_code, address, lat, lng, venue_type, sports, sports_area_m2, setting, owner_kind, \
     opening_hours, free_hours, low_fee_hours, accessibility, status, opened_year, phone, created_at, updated_at";

fn push_venue<DB>(row: sqlx::query_builder::Separated<'_, DB, &'static str>, venue: &Venue, now: DateTime<Utc>)
where
    DB: sqlx::Database,
    for<'a> String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> f64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> Option<i32>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> DateTime<Utc>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    push_venue_with_created(row, venue, now, now)
}

fn push_venue_with_created<DB>(
    mut row: sqlx::query_builder::Separated<'_, DB, &'static str>,
    venue: &Venue,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
) where
    DB: sqlx::Database,
    for<'a> String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> f64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> Option<i32>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> DateTime<Utc>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let join = |slugs: Vec<&str>| slugs.join(";");
    row.push_bind(venue.region.province_code())
        .push_bind(venue.id.as_str().to_string())
        .push_bind(venue.name.clone())
        .push_bind(venue.region.full())
        .push_bind(venue.address.clone())
        .push_bind(venue.location.lat())
        .push_bind(venue.location.lng())
        .push_bind(venue.venue_type.slug().to_string())
        .push_bind(join(venue.sports.iter().map(|sport| sport.slug()).collect()))
        .push_bind(venue.sports_area_m2)
        .push_bind(venue.setting.slug().to_string())
        .push_bind(venue.owner_kind.slug().to_string())
        .push_bind(venue.opening_hours.to_string())
        .push_bind(venue.free_hours.to_string())
        .push_bind(venue.low_fee_hours.to_string())
        .push_bind(join(venue.accessibility.iter().map(|feature| feature.slug()).collect()))
        .push_bind(venue.status.slug().to_string())
        .push_bind(venue.opened_year.map(i32::from))
        .push_bind(venue.phone.clone())
        .push_bind(created_at)
        .push_bind(updated_at);
}

fn venue_from_row<R>(row: &R) -> StoreResult<StoredVenue>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> f64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i32>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> DateTime<Utc>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let id_text: String = row.try_get("id")?;
    let corrupt = |field: &str, detail: String| StoreError::Corrupt(format!("venue {id_text}, {field}: {detail}"));
    let id = VenueId::parse(&id_text).map_err(|error| corrupt("id", error))?;
    let region_text: String = row.try_get("region_code")?;
    let region = RegionCode::parse(&region_text).map_err(|error| corrupt("region_code", error.to_string()))?;
    let location = LatLng::new(row.try_get("lat")?, row.try_get("lng")?).map_err(|error| corrupt("location", error.to_string()))?;
    let slug_list = |text: String| -> Vec<String> { text.split(';').filter(|item| !item.is_empty()).map(str::to_string).collect() };
    let hours = |field: &str| -> StoreResult<WeeklyHours> {
        let text: String = row.try_get(field)?;
        WeeklyHours::parse(&text).map_err(|error| corrupt(field, error.to_string()))
    };
    let venue_type_text: String = row.try_get("venue_type")?;
    let setting_text: String = row.try_get("setting")?;
    let owner_text: String = row.try_get("owner_kind")?;
    let status_text: String = row.try_get("status")?;
    let sports = slug_list(row.try_get("sports")?)
        .iter()
        .map(|slug| Sport::parse(slug).ok_or_else(|| corrupt("sports", slug.clone())))
        .collect::<StoreResult<Vec<_>>>()?;
    let accessibility = slug_list(row.try_get("accessibility")?)
        .iter()
        .map(|slug| Accessibility::parse(slug).ok_or_else(|| corrupt("accessibility", slug.clone())))
        .collect::<StoreResult<Vec<_>>>()?;
    let opened_year: Option<i32> = row.try_get("opened_year")?;
    let venue = Venue {
        name: row.try_get("name")?,
        address: row.try_get("address")?,
        region,
        location,
        venue_type: VenueType::parse(&venue_type_text).ok_or_else(|| corrupt("venue_type", venue_type_text.clone()))?,
        sports,
        sports_area_m2: row.try_get("sports_area_m2")?,
        setting: Setting::parse(&setting_text).ok_or_else(|| corrupt("setting", setting_text.clone()))?,
        owner_kind: OwnerKind::parse(&owner_text).ok_or_else(|| corrupt("owner_kind", owner_text.clone()))?,
        opening_hours: hours("opening_hours")?,
        free_hours: hours("free_hours")?,
        low_fee_hours: hours("low_fee_hours")?,
        accessibility,
        status: VenueStatus::parse(&status_text).ok_or_else(|| corrupt("status", status_text.clone()))?,
        opened_year: opened_year.map(|year| year as u16),
        phone: row.try_get("phone")?,
        id,
    };
    Ok(StoredVenue { venue, created_at: row.try_get("created_at")?, updated_at: row.try_get("updated_at")? })
}
