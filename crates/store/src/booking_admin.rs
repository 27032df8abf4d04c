//! The operator side of booking, next to `booking.rs`: slot generation's reads and writes (the slots
//! that already exist; creating the missing ones without crossing a closure).

use chrono::{Duration, NaiveDateTime};
use fitforall_core::booking::{MAX_SLOT_LENGTH_MIN, SlotSpec};
use sqlx::AssertSqlSafe;

use crate::booking::{LOCAL_TIME_FORMAT, Resource, local_text};
use crate::{Backend, BackendKind, Store, StoreError, StoreResult};

fn parse_local(text: &str) -> StoreResult<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, LOCAL_TIME_FORMAT).map_err(|_| StoreError::Corrupt(format!("local time {text:?}")))
}

/// Most slot times [`Store::slot_times_overlapping`] returns (62 days of 10-minute slots is 8,928).
pub const MAX_SLOT_TIME_ROWS: i64 = 100_000;

impl Store {
    /// Start and end of every slot of `resource` that overlaps `[from, to)`, in time order (at most
    /// [`MAX_SLOT_TIME_ROWS`]). Slot generation leaves out new slots that would overlap one of them, so
    /// that a change of slot length never sells the same time twice.
    pub async fn slot_times_overlapping(
        &self,
        resource: &Resource,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> StoreResult<Vec<(NaiveDateTime, NaiveDateTime)>> {
        // No slot is longer than a day: the lower bound keeps the index range short.
        let earliest_start = from - Duration::minutes(i64::from(MAX_SLOT_LENGTH_MIN));
        let rows: Vec<(String, String)> = dispatch!(self, |pool, begin| {
            sqlx::query_as(
                "SELECT starts_at, ends_at FROM slots
                 WHERE province_code = $1 AND resource_id = $2 AND starts_at < $3 AND starts_at >= $4 AND ends_at > $5
                 ORDER BY starts_at LIMIT $6",
            )
            .bind(&resource.province)
            .bind(resource.id.as_str())
            .bind(local_text(to))
            .bind(local_text(earliest_start))
            .bind(local_text(from))
            .bind(MAX_SLOT_TIME_ROWS)
            .fetch_all(pool)
            .await?
        });
        rows.iter().map(|(start, end)| Ok((parse_local(start)?, parse_local(end)?))).collect()
    }

    /// [`Store::ensure_slots`] with the new slots' ids given up front (`ids[i]` for `specs[i]`), so that
    /// the future is `Send` and can run in a handler or a spawned task (`ensure_slots` holds a
    /// `&mut dyn FnMut` across its awaits). Creates the slots of `specs` that do not exist yet (by
    /// resource and start) and never changes an existing one. Slots overlapping a closure of the
    /// resource are left out, the closures read in the same transaction with the resource row locked
    /// (PostgreSQL; SQLite serialises writers), so a closure recorded meanwhile is respected. Returns
    /// how many were created.
    pub async fn create_missing_slots(&self, resource: &Resource, specs: &[SlotSpec], ids: &[i64]) -> StoreResult<u64> {
        if ids.len() != specs.len() {
            return Err(StoreError::Conflict(format!("{} slot ids for {} slots", ids.len(), specs.len())));
        }
        let (Some(first_start), Some(last_end)) = (specs.iter().map(|spec| spec.start).min(), specs.iter().map(|spec| spec.end).max()) else {
            return Ok(0);
        };
        let lock = if self.kind() == BackendKind::Postgres { " FOR UPDATE" } else { "" };
        let created = dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let _: Option<(String,)> = sqlx::query_as(AssertSqlSafe(format!("SELECT id FROM resources WHERE province_code = $1 AND id = $2{lock}")))
                .bind(&resource.province)
                .bind(resource.id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let closures: Vec<(String, String)> =
                sqlx::query_as("SELECT starts_at, ends_at FROM closures WHERE province_code = $1 AND resource_id = $2 AND ends_at > $3 AND starts_at < $4")
                    .bind(&resource.province)
                    .bind(resource.id.as_str())
                    .bind(local_text(first_start))
                    .bind(local_text(last_end))
                    .fetch_all(&mut *tx)
                    .await?;
            let closures = closures.iter().map(|(from, to)| Ok((parse_local(from)?, parse_local(to)?))).collect::<StoreResult<Vec<_>>>()?;
            let rows: Vec<(i64, &SlotSpec)> =
                ids.iter().copied().zip(specs).filter(|(_, spec)| !closures.iter().any(|(from, to)| spec.start < *to && *from < spec.end)).collect();
            let created = insert_slots_in!(tx, resource, rows);
            tx.commit().await?;
            created
        });
        Ok(created)
    }
}
