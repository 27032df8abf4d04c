//! `Store::book_batch` on SQLite: the whole transaction as one call on the batch writer's thread
//! (`crate::sqlite_writer`), with each statement prepared once per connection and run per slot, per
//! person or per booking. It reads and writes what `book_batch_on_postgres` does, through the same
//! helpers (`batch_state_of_slots`, `persons_of_history`, `bookings_to_insert`); only the statements
//! differ. SQLite has one writer at a time, so nothing is locked row by row: `BEGIN IMMEDIATE` takes
//! the write lock up front, and `slots.taken <= capacity` stays a CHECK besides the guarded update.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params, params_from_iter};

use super::{
    BOOKING_COLUMNS, BatchDates, BatchRequest, BatchState, Booking, BookingRow, HISTORY_COLUMNS, HISTORY_STATUSES, HistoryRow, NewBooking, SLOT_COLUMNS,
    SlotRow, batch_ids, batch_state_of_slots, booking_from_row, bookings_to_insert, key_raced_in, local_text, over_capacity, padded, persons_of_history,
    resource_rules_of_rows, slot_from_row, statement_list_len,
};
use crate::{StoreError, StoreResult};
use fitforall_core::policy::AccountId;

/// sqlx's text form of a UTC timestamp on SQLite (RFC 3339, `+00:00`), so that rows written here and
/// through sqlx read back alike.
fn utc_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn utc_from_text(text: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(error)))
}

/// `count` entries of an `IN (…)` list, padded (see `padded`): `?, ?, …`.
fn question_marks(count: usize) -> String {
    vec!["?"; statement_list_len(count)].join(", ")
}

fn slot_row(row: &Row<'_>) -> rusqlite::Result<SlotRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?, row.get(8)?, row.get(9)?))
}

fn booking_row(row: &Row<'_>) -> rusqlite::Result<BookingRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        row.get(10)?,
        row.get(11)?,
        row.get(12)?,
        row.get(13)?,
        utc_from_text(&row.get::<_, String>(14)?)?,
        utc_from_text(&row.get::<_, String>(15)?)?,
    ))
}

fn history_row(row: &Row<'_>) -> rusqlite::Result<HistoryRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
}

pub(super) fn book_batch<D>(
    connection: &mut Connection,
    requests: &[BatchRequest],
    now: NaiveDateTime,
    now_utc: DateTime<Utc>,
    decide: impl FnOnce(&mut BatchState) -> (Vec<NewBooking>, D),
) -> StoreResult<(Vec<Booking>, D)> {
    let (slot_ids, accounts) = batch_ids(requests);
    let now_utc_text = utc_text(now_utc);
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;

    // The due holds of the batch's slots expire, and their places go back.
    {
        let mut arguments = vec![Value::Text(now_utc_text.clone()), Value::Text(local_text(now))];
        arguments.extend(padded(&slot_ids).map(|slot| Value::Integer(*slot)));
        let mut expire = transaction.prepare_cached(&format!(
            "UPDATE bookings SET status = 'expired', expires_at = NULL, updated_at = ? WHERE status = 'held' AND expires_at <= ? AND slot_id IN ({}) \
             RETURNING slot_id, places",
            question_marks(slot_ids.len())
        ))?;
        let mut released: BTreeMap<i64, i64> = BTreeMap::new();
        for row in expire.query_map(params_from_iter(arguments), |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))? {
            let (slot, places) = row?;
            *released.entry(slot).or_insert(0) += places;
        }
        let mut give_back = transaction.prepare_cached("UPDATE slots SET taken = taken - ?1 WHERE id = ?2")?;
        for (slot, places) in released {
            give_back.execute(params![places, slot])?;
        }
    }

    // The slots, and the rules of their resources (a batch holds few).
    let mut slots = Vec::with_capacity(slot_ids.len());
    {
        let mut select = transaction.prepare_cached(&format!("SELECT {SLOT_COLUMNS} FROM slots WHERE id IN ({})", question_marks(slot_ids.len())))?;
        for row in select.query_map(params_from_iter(padded(&slot_ids)), slot_row)? {
            slots.push(slot_from_row(row?)?);
        }
    }
    let resource_ids: BTreeSet<&str> = slots.iter().map(|slot| slot.resource.as_str()).collect();
    let mut resource_rows = Vec::with_capacity(resource_ids.len());
    {
        let mut select = transaction.prepare_cached("SELECT id, booking_rules, real_name FROM resources WHERE id = ?1")?;
        for id in &resource_ids {
            for row in select.query_map(params![id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))? {
                resource_rows.push(row?);
            }
        }
    }
    let resource_rules = resource_rules_of_rows(resource_rows)?;

    // Whether the people recorded their identity number matters only for real-name (实名制) slots.
    let mut verified_accounts = HashSet::new();
    if resource_rules.values().any(|(_, real_name)| *real_name) {
        let mut select = transaction.prepare_cached("SELECT id_number_hash IS NOT NULL FROM accounts WHERE id = ?1")?;
        for account in &accounts {
            if select.query_row(params![account], |row| row.get::<_, bool>(0)).optional()? == Some(true) {
                verified_accounts.insert(AccountId::new(*account));
            }
        }
    }
    let mut state = batch_state_of_slots(slots, &resource_rules, verified_accounts)?;

    // The people's bookings (see `BatchDates`), through `bookings_account_date`.
    let dates = BatchDates::of(&state.ledger, now);
    let mut history_rows = Vec::new();
    {
        let mut arguments = vec![Value::Text(dates.read_from.to_string()), Value::Text(dates.read_to.to_string())];
        arguments.extend(padded(&accounts).map(|account| Value::Integer(*account)));
        let mut select = transaction.prepare_cached(&format!(
            "SELECT {HISTORY_COLUMNS} FROM bookings WHERE status IN {HISTORY_STATUSES} AND slot_date >= ? AND slot_date <= ? AND account_id IN ({})",
            question_marks(accounts.len())
        ))?;
        for row in select.query_map(params_from_iter(arguments), history_row)? {
            history_rows.push(row?);
        }
    }
    for (account, person) in persons_of_history(history_rows, &accounts, &state.ledger, &dates, now)? {
        state.ledger.insert_person(account, person);
    }

    // The bookings already made with the batch's idempotency keys (in any province).
    {
        let alternatives = vec!["(account_id = ? AND idempotency_key = ?)"; statement_list_len(requests.len())].join(" OR ");
        let mut select = transaction.prepare_cached(&format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE {alternatives}"))?;
        let arguments = padded(requests).flat_map(|request| [Value::Integer(request.account.as_i64()), Value::Text(request.idempotency_key.clone())]);
        for row in select.query_map(params_from_iter(arguments), booking_row)? {
            let booking = booking_from_row(row?)?;
            state.existing.insert((booking.account, booking.idempotency_key.clone()), booking);
        }
    }

    let (decided, beside) = decide(&mut state);
    let (inserted, added) = bookings_to_insert(&state, &decided, now_utc)?;
    {
        let mut insert = transaction.prepare_cached(&format!(
            "INSERT INTO bookings ({BOOKING_COLUMNS}, slot_date) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16)"
        ))?;
        // A slot's start and date as text, once per slot rather than per booking.
        let mut slot_texts: HashMap<i64, (String, String)> = HashMap::new();
        for booking in &inserted {
            let (start_text, date_text) =
                &*slot_texts.entry(booking.slot.as_i64()).or_insert_with(|| (local_text(booking.slot_start), booking.slot_start.date().to_string()));
            let written = insert.execute(params![
                booking.id,
                booking.province,
                booking.slot.as_i64(),
                booking.resource.as_str(),
                booking.venue.as_str(),
                booking.account.as_i64(),
                start_text,
                booking.places,
                booking.status.as_str(),
                booking.total_fen,
                booking.reduced,
                booking.expires_at.map(local_text),
                booking.idempotency_key,
                booking.request_hash,
                now_utc_text,
                date_text,
            ]);
            match written {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(failure, _)) if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => {
                    return Err(key_raced_in());
                }
                Err(error) => return Err(StoreError::Sqlite(error)),
            }
        }
    }
    {
        let mut take = transaction.prepare_cached("UPDATE slots SET taken = taken + ?1 WHERE id = ?2 AND taken + ?1 <= capacity")?;
        let mut refused = 0u64;
        for (slot, places) in &added {
            if take.execute(params![places, slot])? != 1 {
                refused += 1;
            }
        }
        if refused > 0 {
            return Err(over_capacity(refused));
        }
    }
    transaction.commit()?;
    Ok((inserted, beside))
}
