//! Booking persistence: resources with their slot and booking rules, closures, generated slots, and
//! bookings. The decisions are `core::booking`'s: [`Store::book_batch`] loads (and on PostgreSQL
//! locks) the state a batch of requests needs, hands it to the caller's decision, and writes what was
//! decided in the same transaction. The four invariants of DESIGN §5 therefore hold across processes:
//! slots are locked (`FOR UPDATE`, `BEGIN IMMEDIATE` on SQLite) and `slots.taken <= capacity` is a
//! CHECK; acknowledged bookings are committed first; idempotency keys are unique per account and
//! province; quotas are counted under a lock on the person's account row.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, SubsecRound, Utc};
use fitforall_core::booking::{
    BookingRules, BookingRulesInput, BookingStatus, Closure, Ledger, PersonState, ResourceId, SlotId, SlotRule, SlotRuleInput, SlotSpec, SlotState,
    banned_until, no_show_due_before, no_show_lookback_days,
};
use fitforall_core::policy::AccountId;
use fitforall_core::venue::VenueId;

use crate::{Backend, BackendKind, INSERT_CHUNK_ROWS, Store, StoreError, StoreResult};

mod sqlite_batch;

/// The text form of local times in the booking tables.
pub const LOCAL_TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";
/// Most requests one batch may carry (bound parameters and transaction length stay small).
pub const MAX_BATCH_REQUESTS: usize = 1_000;
/// Most rows a list returns.
pub const MAX_BOOKING_ROWS: i64 = 1_000;

pub fn local_text(time: NaiveDateTime) -> String {
    time.format(LOCAL_TIME_FORMAT).to_string()
}

fn parse_local(text: &str) -> StoreResult<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, LOCAL_TIME_FORMAT).map_err(|_| StoreError::Corrupt(format!("local time {text:?}")))
}

/// What a resource is, for lists and icons.
pub const RESOURCE_KINDS: [&str; 5] = ["court", "lane", "field", "session", "room"];

/// A bookable resource of a venue.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub id: ResourceId,
    pub venue: VenueId,
    /// The venue's province (two digits): the row's distribution key.
    pub province: String,
    pub name: String,
    /// One of [`RESOURCE_KINDS`].
    pub kind: String,
    pub slot_rules: Vec<SlotRule>,
    pub booking_rules: BookingRules,
    /// Booking needs a recorded resident identity number (实名制).
    pub real_name: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A generated slot with its places taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub id: SlotId,
    pub province: String,
    pub resource: ResourceId,
    pub venue: VenueId,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub capacity: u32,
    pub taken: u32,
    pub price_fen: i64,
    pub reduced_price_fen: i64,
}

impl Slot {
    pub fn left(&self) -> u32 {
        self.capacity.saturating_sub(self.taken)
    }
}

/// A booking as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub id: i64,
    pub province: String,
    pub slot: SlotId,
    pub resource: ResourceId,
    pub venue: VenueId,
    pub account: AccountId,
    pub slot_start: NaiveDateTime,
    pub places: u32,
    pub status: BookingStatus,
    pub total_fen: i64,
    pub reduced: bool,
    pub expires_at: Option<NaiveDateTime>,
    pub idempotency_key: String,
    pub request_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One request of a batch, as the edge parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRequest {
    pub slot: SlotId,
    pub account: AccountId,
    pub places: u32,
    pub reduced: bool,
    pub idempotency_key: String,
    /// A digest of the request's body: the same key with a different body is refused.
    pub request_hash: String,
}

/// What a batch is decided against: the slots and persons (in a [`Ledger`]), each slot's resource
/// rules, and the bookings already made with the batch's idempotency keys.
#[derive(Debug, Default)]
pub struct BatchState {
    pub ledger: Ledger,
    pub rules: HashMap<SlotId, BookingRules>,
    pub resources: HashMap<SlotId, ResourceId>,
    /// Each loaded slot's province (the bookings' distribution key).
    pub provinces: HashMap<SlotId, String>,
    /// Slots of resources that need a recorded identity number (实名制).
    pub real_name_slots: HashSet<SlotId>,
    /// The batch's accounts that have recorded their identity number.
    pub verified_accounts: HashSet<AccountId>,
    pub existing: HashMap<(AccountId, String), Booking>,
}

/// A booking the decision made, to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBooking {
    pub id: i64,
    pub slot: SlotId,
    pub account: AccountId,
    pub places: u32,
    pub status: BookingStatus,
    pub total_fen: i64,
    pub reduced: bool,
    pub expires_at: Option<NaiveDateTime>,
    pub idempotency_key: String,
    pub request_hash: String,
}

type ResourceRow = (String, String, String, String, String, String, String, bool, DateTime<Utc>, DateTime<Utc>);
type SlotRow = (i64, String, String, String, String, String, i32, i32, i64, i64);
type BookingRow = (i64, String, i64, String, String, i64, String, i32, String, i64, bool, Option<String>, String, String, DateTime<Utc>, DateTime<Utc>);

const RESOURCE_COLUMNS: &str = "province_code, id, venue_id, name, kind, slot_rules, booking_rules, real_name, created_at, updated_at";
const SLOT_COLUMNS: &str = "id, province_code, resource_id, venue_id, starts_at, ends_at, capacity, taken, price_fen, reduced_price_fen";
const BOOKING_COLUMNS: &str = "id, province_code, slot_id, resource_id, venue_id, account_id, slot_start, places, status, total_fen, reduced, expires_at, idempotency_key, request_hash, created_at, updated_at";

fn resource_from_row(row: ResourceRow) -> StoreResult<Resource> {
    let (province, id, venue, name, kind, slot_rules, booking_rules, real_name, created_at, updated_at) = row;
    let corrupt = |what: String| StoreError::Corrupt(format!("resource {id}: {what}"));
    let inputs: Vec<SlotRuleInput> = serde_json::from_str(&slot_rules).map_err(|error| corrupt(format!("slot rules: {error}")))?;
    let slot_rules = inputs.iter().map(|input| input.parse().map_err(|errors| corrupt(format!("slot rule: {errors:?}")))).collect::<StoreResult<Vec<_>>>()?;
    let rules_input: BookingRulesInput = serde_json::from_str(&booking_rules).map_err(|error| corrupt(format!("booking rules: {error}")))?;
    let booking_rules = rules_input.parse().map_err(|errors| corrupt(format!("booking rules: {errors:?}")))?;
    Ok(Resource {
        id: ResourceId::parse(&id).map_err(|error| corrupt(error.clone()))?,
        venue: VenueId::parse(&venue).map_err(|error| corrupt(error.clone()))?,
        province,
        name,
        kind,
        slot_rules,
        booking_rules,
        real_name,
        created_at,
        updated_at,
    })
}

fn slot_from_row(row: SlotRow) -> StoreResult<Slot> {
    let (id, province, resource, venue, starts_at, ends_at, capacity, taken, price_fen, reduced_price_fen) = row;
    let corrupt = |what: String| StoreError::Corrupt(format!("slot {id}: {what}"));
    Ok(Slot {
        id: SlotId::new(id),
        province,
        resource: ResourceId::parse(&resource).map_err(&corrupt)?,
        venue: VenueId::parse(&venue).map_err(&corrupt)?,
        start: parse_local(&starts_at)?,
        end: parse_local(&ends_at)?,
        capacity: u32::try_from(capacity).map_err(|_| corrupt("capacity".into()))?,
        taken: u32::try_from(taken).map_err(|_| corrupt("taken".into()))?,
        price_fen,
        reduced_price_fen,
    })
}

fn booking_from_row(row: BookingRow) -> StoreResult<Booking> {
    let (
        id,
        province,
        slot,
        resource,
        venue,
        account,
        slot_start,
        places,
        status,
        total_fen,
        reduced,
        expires_at,
        idempotency_key,
        request_hash,
        created_at,
        updated_at,
    ) = row;
    let corrupt = |what: String| StoreError::Corrupt(format!("booking {id}: {what}"));
    Ok(Booking {
        id,
        province,
        slot: SlotId::new(slot),
        resource: ResourceId::parse(&resource).map_err(&corrupt)?,
        venue: VenueId::parse(&venue).map_err(&corrupt)?,
        account: AccountId::new(account),
        slot_start: parse_local(&slot_start)?,
        places: u32::try_from(places).map_err(|_| corrupt("places".into()))?,
        status: BookingStatus::parse(&status).ok_or_else(|| corrupt(format!("status {status:?}")))?,
        total_fen,
        reduced,
        expires_at: expires_at.as_deref().map(parse_local).transpose()?,
        idempotency_key,
        request_hash,
        created_at,
        updated_at,
    })
}

fn rules_json(resource: &Resource) -> StoreResult<(String, String)> {
    let inputs: Vec<SlotRuleInput> = resource.slot_rules.iter().map(SlotRule::input).collect();
    let slot_rules = serde_json::to_string(&inputs).map_err(|error| StoreError::Corrupt(error.to_string()))?;
    let booking_rules = serde_json::to_string(&resource.booking_rules.input()).map_err(|error| StoreError::Corrupt(error.to_string()))?;
    Ok((slot_rules, booking_rules))
}

/// How many entries a list bound into a batch statement is padded to: the next power of two, at
/// least 8. The batch statements then come in a few shapes instead of one per batch size, so the
/// prepared statement (which sqlx caches per statement text) is reused instead of being parsed and
/// planned again for every batch.
fn statement_list_len(len: usize) -> usize {
    if len == 0 { 0 } else { len.next_power_of_two().max(8) }
}

/// `items` padded to [`statement_list_len`] by repeating the last one (for `IN (…)` lists and `OR`
/// alternatives, where a repeated entry changes nothing).
pub(crate) fn padded<T>(items: &[T]) -> impl Iterator<Item = &T> {
    let last = items.len().saturating_sub(1);
    (0..statement_list_len(items.len())).map(move |index| &items[index.min(last)])
}

/// Binds `ids` (i64) as a comma-separated list, padded (see [`padded`]), inside the caller's `IN (…)`.
macro_rules! push_id_list {
    ($query:expr, $ids:expr) => {{
        let ids: Vec<i64> = $ids.into_iter().collect();
        let mut list = $query.separated(", ");
        for id in padded(&ids) {
            list.push_bind(*id);
        }
    }};
}

fn parse_booking_rules(resource: &ResourceId, json: &str) -> StoreResult<BookingRules> {
    let input: BookingRulesInput = serde_json::from_str(json).map_err(|error| StoreError::Corrupt(format!("booking rules of {resource}: {error}")))?;
    input.parse().map_err(|errors| StoreError::Corrupt(format!("booking rules of {resource}: {errors:?}")))
}

fn not_found_resource(id: &ResourceId) -> StoreError {
    StoreError::NotFound(format!("resource {id}"))
}

/// Places held per slot by the bookings an UPDATE … RETURNING released.
fn released_per_slot(rows: Vec<(i64, i32)>) -> BTreeMap<i64, i32> {
    let mut per_slot = BTreeMap::new();
    for (slot, places) in rows {
        *per_slot.entry(slot).or_insert(0) += places;
    }
    per_slot
}

/// Inside a write transaction: adds `places` (a map slot id → places, negative to give back) to each
/// slot's `taken` in one statement; when `guarded`, only where the result stays within capacity.
/// Evaluates to the number of slots updated (the caller compares it with the map's length).
macro_rules! change_taken_in {
    ($tx:ident, $places:expr, $guarded:expr) => {{
        let mut updated = 0u64;
        let entries: Vec<(i64, i64)> = $places.iter().map(|(slot, places)| (*slot, *places)).collect();
        for chunk in entries.chunks(INSERT_CHUNK_ROWS) {
            // Padded with (NULL, 0) rows, which join no slot (see `statement_list_len`).
            let rows: Vec<(Option<i64>, i64)> =
                chunk.iter().map(|(slot, places)| (Some(*slot), *places)).chain(std::iter::repeat((None, 0))).take(statement_list_len(chunk.len())).collect();
            let mut update = sqlx::QueryBuilder::new("UPDATE slots SET taken = slots.taken + v.column2 FROM (");
            update.push_values(rows, |mut row, (slot, places)| {
                row.push_bind(slot).push_bind(places);
            });
            update.push(") AS v WHERE slots.id = v.column1");
            if $guarded {
                update.push(" AND slots.taken + v.column2 <= slots.capacity");
            }
            updated += update.build().execute(&mut *$tx).await?.rows_affected();
        }
        updated
    }};
}

/// Inside a write transaction: marks the holds that have run out as expired (those of `slots`, or
/// all when `None`) and gives their places back. Evaluates to the number of holds expired.
macro_rules! expire_holds_in {
    ($tx:ident, $now_local:expr, $now:expr, $slots:expr) => {{
        let now_text = local_text($now_local);
        let mut update = sqlx::QueryBuilder::new("UPDATE bookings SET status = 'expired', expires_at = NULL, updated_at = ");
        update.push_bind($now).push(" WHERE status = 'held' AND expires_at <= ").push_bind(now_text);
        if let Some(slots) = $slots {
            update.push(" AND slot_id IN (");
            push_id_list!(update, slots);
            update.push(")");
        }
        update.push(" RETURNING slot_id, places");
        let rows: Vec<(i64, i32)> = update.build_query_as().fetch_all(&mut *$tx).await?;
        let expired = rows.len();
        let released: BTreeMap<i64, i64> = released_per_slot(rows).into_iter().map(|(slot, places)| (slot, -i64::from(places))).collect();
        change_taken_in!($tx, released, false);
        expired
    }};
}

/// Whose booking a change may touch: the resident's own, or any at the operator's venue.
enum BookingOwner<'v> {
    Account(AccountId),
    Venue(&'v VenueId),
}

impl BookingOwner<'_> {
    fn owns(&self, booking: &Booking) -> bool {
        match self {
            BookingOwner::Account(account) => booking.account == *account,
            BookingOwner::Venue(venue) => booking.venue == **venue,
        }
    }
}

impl Store {
    // ----- resources -----

    /// A new resource; `Conflict` when its id is taken (in any province).
    pub async fn create_resource(&self, resource: &Resource) -> StoreResult<()> {
        let (slot_rules, booking_rules) = rules_json(resource)?;
        dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let taken: Option<String> =
                sqlx::query_scalar("SELECT id FROM resources WHERE id = $1").bind(resource.id.as_str()).fetch_optional(&mut *tx).await?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!("resource id {} is taken", resource.id)));
            }
            sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO resources ({RESOURCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")))
                .bind(&resource.province)
                .bind(resource.id.as_str())
                .bind(resource.venue.as_str())
                .bind(&resource.name)
                .bind(&resource.kind)
                .bind(slot_rules)
                .bind(booking_rules)
                .bind(resource.real_name)
                .bind(resource.created_at)
                .bind(resource.updated_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Replaces a resource's name, kind and rules (its venue and province stay). Existing slots stay as
    /// they are; [`Store::ensure_slots`] adds the ones new rules create.
    pub async fn update_resource(&self, resource: &Resource) -> StoreResult<()> {
        let (slot_rules, booking_rules) = rules_json(resource)?;
        let updated = dispatch!(self, |pool, begin| {
            sqlx::query(
                "UPDATE resources SET name = $1, kind = $2, slot_rules = $3, booking_rules = $4, real_name = $5, updated_at = $6
                 WHERE province_code = $7 AND id = $8",
            )
            .bind(&resource.name)
            .bind(&resource.kind)
            .bind(slot_rules)
            .bind(booking_rules)
            .bind(resource.real_name)
            .bind(resource.updated_at)
            .bind(&resource.province)
            .bind(resource.id.as_str())
            .execute(pool)
            .await?
            .rows_affected()
        });
        if updated == 0 {
            return Err(not_found_resource(&resource.id));
        }
        Ok(())
    }

    pub async fn resource(&self, id: &ResourceId) -> StoreResult<Resource> {
        let row: Option<ResourceRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {RESOURCE_COLUMNS} FROM resources WHERE id = $1")))
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
        });
        resource_from_row(row.ok_or_else(|| not_found_resource(id))?)
    }

    pub async fn resources_of_venue(&self, venue: &VenueId) -> StoreResult<Vec<Resource>> {
        let rows: Vec<ResourceRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {RESOURCE_COLUMNS} FROM resources WHERE venue_id = $1 ORDER BY id")))
                .bind(venue.as_str())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(resource_from_row).collect()
    }

    /// Every resource (the slot-generation job walks them).
    pub async fn all_resources(&self) -> StoreResult<Vec<Resource>> {
        let rows: Vec<ResourceRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {RESOURCE_COLUMNS} FROM resources ORDER BY province_code, id"))).fetch_all(pool).await?
        });
        rows.into_iter().map(resource_from_row).collect()
    }

    // ----- closures and slots -----

    /// Records a closure and removes the resource's slots inside it that nobody ever booked. Returns the
    /// slots inside it that have bookings (they stay; their bookings are the operator's to handle).
    pub async fn add_closure(&self, resource: &Resource, id: i64, closure: &Closure, now: DateTime<Utc>) -> StoreResult<Vec<Slot>> {
        let (from, to) = (local_text(closure.from), local_text(closure.to));
        let rows: Vec<SlotRow> = dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            sqlx::query(
                "INSERT INTO closures (province_code, id, resource_id, starts_at, ends_at, reason, urgent, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&resource.province)
            .bind(id)
            .bind(resource.id.as_str())
            .bind(&from)
            .bind(&to)
            .bind(&closure.reason)
            .bind(closure.urgent)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM slots WHERE province_code = $1 AND resource_id = $2 AND starts_at < $3 AND ends_at > $4 AND taken = 0
                 AND NOT EXISTS (SELECT 1 FROM bookings WHERE bookings.slot_id = slots.id)",
            )
            .bind(&resource.province)
            .bind(resource.id.as_str())
            .bind(&to)
            .bind(&from)
            .execute(&mut *tx)
            .await?;
            let kept = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SLOT_COLUMNS} FROM slots WHERE province_code = $1 AND resource_id = $2 AND starts_at < $3 AND ends_at > $4 ORDER BY starts_at"
            )))
            .bind(&resource.province)
            .bind(resource.id.as_str())
            .bind(&to)
            .bind(&from)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            kept
        });
        rows.into_iter().map(slot_from_row).collect()
    }

    /// After a resource's rules changed: removes its slots starting after `after` that the new rules no
    /// longer give (`wanted`: start, end, capacity and prices as generated) and nobody ever booked.
    /// Returns the slots that differ from the rules but are kept because they have bookings, in start
    /// order (the operator contacts those people). New slots are generated afterwards as usual.
    pub async fn remove_slots_not_wanted(&self, resource: &Resource, after: NaiveDateTime, wanted: &[SlotSpec]) -> StoreResult<Vec<Slot>> {
        let wanted: HashSet<(NaiveDateTime, NaiveDateTime, u32, i64, i64)> =
            wanted.iter().map(|spec| (spec.start, spec.end, spec.capacity, spec.price_fen, spec.reduced_price_fen)).collect();
        let after = local_text(after);
        let kept = dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let rows: Vec<SlotRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SLOT_COLUMNS} FROM slots WHERE province_code = $1 AND resource_id = $2 AND starts_at > $3 ORDER BY starts_at"
            )))
            .bind(&resource.province)
            .bind(resource.id.as_str())
            .bind(&after)
            .fetch_all(&mut *tx)
            .await?;
            let mut kept = Vec::new();
            for slot in rows.into_iter().map(slot_from_row) {
                let slot = slot?;
                if wanted.contains(&(slot.start, slot.end, slot.capacity, slot.price_fen, slot.reduced_price_fen)) {
                    continue;
                }
                // Guarded: a slot booked meanwhile (places taken, or any booking ever) stays.
                let removed = sqlx::query(
                    "DELETE FROM slots WHERE province_code = $1 AND id = $2 AND taken = 0 AND NOT EXISTS (SELECT 1 FROM bookings WHERE bookings.slot_id = slots.id)",
                )
                .bind(&resource.province)
                .bind(slot.id.as_i64())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if removed == 0 {
                    kept.push(slot);
                }
            }
            tx.commit().await?;
            kept
        });
        Ok(kept)
    }

    pub async fn closures_of(&self, resource: &ResourceId) -> StoreResult<Vec<(i64, Closure)>> {
        let rows: Vec<(i64, String, String, String, bool)> = dispatch!(self, |pool, begin| {
            sqlx::query_as("SELECT id, starts_at, ends_at, reason, urgent FROM closures WHERE resource_id = $1 ORDER BY starts_at")
                .bind(resource.as_str())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(|(id, from, to, reason, urgent)| Ok((id, Closure { from: parse_local(&from)?, to: parse_local(&to)?, reason, urgent }))).collect()
    }

    /// Creates the slots of `specs` that do not exist yet (by resource and start); existing slots are
    /// never changed. `new_id` gives each new slot its id. Returns how many were created.
    pub async fn ensure_slots(&self, resource: &Resource, specs: &[SlotSpec], new_id: &mut (dyn FnMut() -> i64 + Send)) -> StoreResult<u64> {
        let rows: Vec<(i64, &SlotSpec)> = specs.iter().map(|spec| (new_id(), spec)).collect();
        let created = dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let created = insert_slots_in!(tx, resource, rows);
            tx.commit().await?;
            created
        });
        Ok(created)
    }

    /// The resource's slots starting in `[from, to)`, in time order.
    pub async fn slots_between(&self, resource: &ResourceId, from: NaiveDateTime, to: NaiveDateTime) -> StoreResult<Vec<Slot>> {
        let rows: Vec<SlotRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SLOT_COLUMNS} FROM slots WHERE resource_id = $1 AND starts_at >= $2 AND starts_at < $3 ORDER BY starts_at LIMIT 2000"
            )))
            .bind(resource.as_str())
            .bind(local_text(from))
            .bind(local_text(to))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(slot_from_row).collect()
    }

    pub async fn slot(&self, id: SlotId) -> StoreResult<Slot> {
        let row: Option<SlotRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {SLOT_COLUMNS} FROM slots WHERE id = $1"))).bind(id.as_i64()).fetch_optional(pool).await?
        });
        slot_from_row(row.ok_or_else(|| StoreError::NotFound(format!("slot {id}")))?)
    }

    /// Slots of the same resource with places left that start after `after`, nearest in time to
    /// `around` first (what a refused booking is offered instead).
    pub async fn open_slots_near(&self, resource: &ResourceId, around: NaiveDateTime, after: NaiveDateTime, limit: usize) -> StoreResult<Vec<Slot>> {
        let limit = limit.clamp(1, 20) as i64;
        let (later, earlier): (Vec<SlotRow>, Vec<SlotRow>) = dispatch!(self, |pool, begin| {
            let later = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SLOT_COLUMNS} FROM slots WHERE resource_id = $1 AND taken < capacity AND starts_at > $2 AND starts_at >= $3 ORDER BY starts_at LIMIT $4"
            )))
            .bind(resource.as_str())
            .bind(local_text(after))
            .bind(local_text(around))
            .bind(limit)
            .fetch_all(pool)
            .await?;
            let earlier = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SLOT_COLUMNS} FROM slots WHERE resource_id = $1 AND taken < capacity AND starts_at > $2 AND starts_at < $3 ORDER BY starts_at DESC LIMIT $4"
            )))
            .bind(resource.as_str())
            .bind(local_text(after))
            .bind(local_text(around))
            .bind(limit)
            .fetch_all(pool)
            .await?;
            (later, earlier)
        });
        let mut slots = later.into_iter().chain(earlier).map(slot_from_row).collect::<StoreResult<Vec<Slot>>>()?;
        slots.sort_by_key(|slot| ((slot.start - around).num_seconds().abs(), slot.start));
        slots.truncate(limit as usize);
        Ok(slots)
    }

    // ----- bookings -----

    /// Decides and commits a batch in one transaction: expires the due holds of its slots, locks and
    /// loads its slots (with their resources' rules) and its people (quota counts, bans), finds the
    /// bookings already made with its idempotency keys, calls `decide`, and writes the bookings it
    /// returns, adding their places to the slots with a guarded update. Nothing is written when any
    /// step fails (a slot would go over capacity: `Conflict`; a key raced in by another process:
    /// `Conflict`). `now` is local time (decisions), `now_utc` the records' timestamps. Returns the
    /// bookings written and what `decide` returned beside them.
    ///
    /// On SQLite the whole transaction, `decide` included, runs on the batch writer's thread (see
    /// `sqlite_writer`); hence `Send + 'static`.
    pub async fn book_batch<D: Send + 'static>(
        &self,
        requests: &[BatchRequest],
        now: NaiveDateTime,
        now_utc: DateTime<Utc>,
        decide: impl FnOnce(&mut BatchState) -> (Vec<NewBooking>, D) + Send + 'static,
    ) -> StoreResult<(Vec<Booking>, D)> {
        if requests.len() > MAX_BATCH_REQUESTS {
            return Err(StoreError::Conflict(format!("a batch has at most {MAX_BATCH_REQUESTS} requests")));
        }
        if requests.is_empty() {
            let (_, beside) = decide(&mut BatchState::default());
            return Ok((Vec::new(), beside));
        }
        // The bookings are answered from memory: stored timestamps keep microseconds on both backends.
        let now_utc = now_utc.trunc_subsecs(6);
        match &self.backend {
            Backend::Sqlite { batch_writer, .. } => {
                let requests = requests.to_vec();
                batch_writer.run(move |connection| sqlite_batch::book_batch(connection, &requests, now, now_utc, decide)).await
            }
            Backend::Postgres(pool) => book_batch_on_postgres(pool, requests, now, now_utc, decide).await,
        }
    }

    pub async fn booking(&self, id: i64) -> StoreResult<Booking> {
        let row: Option<BookingRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE id = $1"))).bind(id).fetch_optional(pool).await?
        });
        booking_from_row(row.ok_or_else(|| StoreError::NotFound(format!("booking {id}")))?)
    }

    /// An account's bookings, the latest slot first.
    pub async fn bookings_of_account(&self, account: AccountId, limit: i64, offset: i64) -> StoreResult<Vec<Booking>> {
        let rows: Vec<BookingRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {BOOKING_COLUMNS} FROM bookings WHERE account_id = $1 ORDER BY slot_start DESC, id DESC LIMIT $2 OFFSET $3"
            )))
            .bind(account.as_i64())
            .bind(limit.clamp(1, MAX_BOOKING_ROWS))
            .bind(offset.max(0))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(booking_from_row).collect()
    }

    /// A venue's bookings on a local day, in slot order (the operator's day sheet).
    pub async fn bookings_of_venue_day(&self, venue: &VenueId, date: NaiveDate) -> StoreResult<Vec<Booking>> {
        let rows: Vec<BookingRow> = dispatch!(self, |pool, begin| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {BOOKING_COLUMNS} FROM bookings WHERE slot_id IN (SELECT id FROM slots WHERE venue_id = $1 AND starts_at >= $2 AND starts_at < $3) \
                 ORDER BY slot_start, id LIMIT $4"
            )))
            .bind(venue.as_str())
            .bind(local_text(date.and_time(NaiveTime::MIN)))
            .bind(local_text((date + Duration::days(1)).and_time(NaiveTime::MIN)))
            .bind(MAX_BOOKING_ROWS)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(booking_from_row).collect()
    }

    /// Moves one of `account`'s bookings to the status `transition` decides (it sees the booking and
    /// its resource's rules), in one transaction with the booking row locked; gives the places back when
    /// the booking stops holding them. `NotFound` for someone else's booking. The outer `Err` is the
    /// store's, the inner one the transition's refusal.
    pub async fn change_booking<E>(
        &self,
        account: AccountId,
        id: i64,
        now_utc: DateTime<Utc>,
        transition: impl FnOnce(&Booking, &BookingRules) -> Result<BookingStatus, E>,
    ) -> StoreResult<Result<Booking, E>> {
        self.change_booking_of(BookingOwner::Account(account), id, now_utc, transition).await
    }

    /// `change_booking` for a booking at `venue` (its operator's side: check-in); `NotFound` for a
    /// booking elsewhere.
    pub async fn change_booking_at_venue<E>(
        &self,
        venue: &VenueId,
        id: i64,
        now_utc: DateTime<Utc>,
        transition: impl FnOnce(&Booking, &BookingRules) -> Result<BookingStatus, E>,
    ) -> StoreResult<Result<Booking, E>> {
        self.change_booking_of(BookingOwner::Venue(venue), id, now_utc, transition).await
    }

    async fn change_booking_of<E>(
        &self,
        owner: BookingOwner<'_>,
        id: i64,
        now_utc: DateTime<Utc>,
        transition: impl FnOnce(&Booking, &BookingRules) -> Result<BookingStatus, E>,
    ) -> StoreResult<Result<Booking, E>> {
        let lock = if self.kind() == BackendKind::Postgres { " FOR UPDATE" } else { "" };
        let outcome: Result<BookingRow, E> = dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let row: Option<BookingRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE id = $1{lock}")))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let booking = match row.map(booking_from_row).transpose()? {
                Some(booking) if owner.owns(&booking) => booking,
                _ => return Err(StoreError::NotFound(format!("booking {id}"))),
            };
            let rules_json: Option<String> = sqlx::query_scalar("SELECT booking_rules FROM resources WHERE province_code = $1 AND id = $2")
                .bind(&booking.province)
                .bind(booking.resource.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let rules = match rules_json {
                Some(json) => serde_json::from_str::<BookingRulesInput>(&json)
                    .ok()
                    .and_then(|input| input.parse().ok())
                    .ok_or_else(|| StoreError::Corrupt(format!("booking rules of {}", booking.resource)))?,
                None => BookingRules::default(),
            };
            match transition(&booking, &rules) {
                Err(refusal) => Err(refusal),
                Ok(status) => {
                    let expires_at = if status == BookingStatus::Held { booking.expires_at.map(local_text) } else { None };
                    let row: BookingRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "UPDATE bookings SET status = $1, expires_at = $2, updated_at = $3 WHERE province_code = $4 AND id = $5 RETURNING {BOOKING_COLUMNS}"
                    )))
                    .bind(status.as_str())
                    .bind(expires_at)
                    .bind(now_utc)
                    .bind(&booking.province)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                    if booking.status.holds_place() && !status.holds_place() {
                        sqlx::query("UPDATE slots SET taken = taken - $1 WHERE id = $2")
                            .bind(i32::try_from(booking.places).unwrap_or(i32::MAX))
                            .bind(booking.slot.as_i64())
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(row)
                }
            }
        });
        Ok(match outcome {
            Ok(row) => Ok(booking_from_row(row)?),
            Err(refusal) => Err(refusal),
        })
    }

    /// Expires every hold that has run out at `now` (local) and gives its places back; the background
    /// job calls it (batches also expire their own slots' holds first). Returns how many expired.
    pub async fn expire_holds(&self, now: NaiveDateTime, now_utc: DateTime<Utc>) -> StoreResult<usize> {
        let expired = dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let expired = expire_holds_in!(tx, now, now_utc, None::<std::iter::Empty<i64>>);
            tx.commit().await?;
            expired
        });
        Ok(expired)
    }

    /// Marks as no-shows the confirmed bookings of the slots that started before
    /// `no_show_due_before(now)` and not before `since` (their check-in has closed), and gives their
    /// places back; the background job calls it. Returns how many were marked. The slots are found by
    /// their start (`slots_start`), so the rush's bookings carry no index for this.
    pub async fn mark_no_shows(&self, now: NaiveDateTime, since: NaiveDateTime, now_utc: DateTime<Utc>) -> StoreResult<usize> {
        let due = local_text(no_show_due_before(now));
        let since = local_text(since);
        let marked = dispatch!(self, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let rows: Vec<(i64, i32)> = sqlx::query_as(
                "UPDATE bookings SET status = 'no_show', updated_at = $1 \
                 WHERE status = 'confirmed' AND slot_id IN (SELECT id FROM slots WHERE starts_at < $2 AND starts_at >= $3) \
                 RETURNING slot_id, places",
            )
            .bind(now_utc)
            .bind(&due)
            .bind(&since)
            .fetch_all(&mut *tx)
            .await?;
            let marked = rows.len();
            let released: BTreeMap<i64, i64> = released_per_slot(rows).into_iter().map(|(slot, places)| (slot, -i64::from(places))).collect();
            change_taken_in!(tx, released, false);
            tx.commit().await?;
            marked
        });
        Ok(marked)
    }

    /// Checks the booking invariants over the whole database: per slot, `taken` equals the places of
    /// the bookings holding one and is within capacity. Returns the slots that break them (tests and
    /// the rush benchmark call it; it reads every slot).
    pub async fn audit_slot_counts(&self) -> StoreResult<Vec<(SlotId, u32, u32, i64)>> {
        let rows: Vec<(i64, i32, i32, i64)> = dispatch!(self, |pool, begin| {
            sqlx::query_as(
                "SELECT s.id, s.capacity, s.taken, COALESCE(SUM(b.places), 0)
                 FROM slots s LEFT JOIN bookings b ON b.slot_id = s.id AND b.status IN ('held', 'confirmed', 'checked_in')
                 GROUP BY s.id, s.capacity, s.taken
                 HAVING s.taken > s.capacity OR s.taken <> COALESCE(SUM(b.places), 0)",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(id, capacity, taken, held)| (SlotId::new(id), capacity.max(0) as u32, taken.max(0) as u32, held)).collect())
    }
}

/// `Store::book_batch` on PostgreSQL: the slots and the people's account rows are locked (`FOR
/// UPDATE`, in id order), so that several processes can decide batches at once.
async fn book_batch_on_postgres<D>(
    pool: &sqlx::PgPool,
    requests: &[BatchRequest],
    now: NaiveDateTime,
    now_utc: DateTime<Utc>,
    decide: impl FnOnce(&mut BatchState) -> (Vec<NewBooking>, D),
) -> StoreResult<(Vec<Booking>, D)> {
    let (slot_ids, accounts) = batch_ids(requests);
    let mut tx = pool.begin().await?;
    expire_holds_in!(tx, now, now_utc, Some(slot_ids.iter().copied()));

    // The batch's slots as one row (a JSON array of rows), however many there are.
    let mut select = sqlx::QueryBuilder::new(format!(
        "SELECT CAST(json_agg(json_build_array({SLOT_COLUMNS})) AS TEXT) FROM (SELECT {SLOT_COLUMNS} FROM slots WHERE id IN ("
    ));
    push_id_list!(select, slot_ids.iter().copied());
    select.push(") ORDER BY id FOR UPDATE) AS batch_slots");
    let slots_json: Option<String> = select.build_query_scalar().fetch_one(&mut *tx).await?;
    let mut slot_rows: Vec<SlotRow> = match slots_json {
        Some(json) => serde_json::from_str(&json).map_err(|error| StoreError::Corrupt(format!("the batch's slots: {error}")))?,
        None => Vec::new(),
    };
    slot_rows.sort_unstable_by_key(|row| row.0);
    let slots: Vec<Slot> = slot_rows.into_iter().map(slot_from_row).collect::<StoreResult<_>>()?;

    // The rules of the slots' resources, once per resource (a batch holds few).
    let resource_ids: BTreeSet<&str> = slots.iter().map(|slot| slot.resource.as_str()).collect();
    let mut resource_rows: Vec<(String, String, bool)> = Vec::new();
    if !resource_ids.is_empty() {
        let mut select = sqlx::QueryBuilder::new("SELECT id, booking_rules, real_name FROM resources WHERE id IN (");
        let resource_ids: Vec<&str> = resource_ids.iter().copied().collect();
        let mut list = select.separated(", ");
        for id in padded(&resource_ids) {
            list.push_bind(id.to_string());
        }
        select.push(")");
        resource_rows = select.build_query_as().fetch_all(&mut *tx).await?;
    }
    let resource_rules = resource_rules_of_rows(resource_rows)?;

    // The people's rows are locked, so that their quotas are counted under a lock by one process at
    // a time. Whether they recorded their identity number matters only for real-name (实名制) slots.
    let mut lock_accounts = sqlx::QueryBuilder::new("SELECT id, id_number_hash IS NOT NULL FROM accounts WHERE id IN (");
    push_id_list!(lock_accounts, accounts.iter().copied());
    lock_accounts.push(") ORDER BY id FOR UPDATE");
    let identities: Vec<(i64, bool)> = lock_accounts.build_query_as().fetch_all(&mut *tx).await?;
    let verified_accounts = identities.into_iter().filter(|(_, verified)| *verified).map(|(id, _)| AccountId::new(id)).collect();
    let mut state = batch_state_of_slots(slots, &resource_rules, verified_accounts)?;

    // One read of the batch's people's bookings (see `BatchDates`). It walks `bookings_account_date`.
    let dates = BatchDates::of(&state.ledger, now);
    let mut history = sqlx::QueryBuilder::new(format!("SELECT {HISTORY_COLUMNS} FROM bookings WHERE status IN {HISTORY_STATUSES} AND slot_date >= "));
    history.push_bind(dates.read_from.to_string()).push(" AND slot_date <= ").push_bind(dates.read_to.to_string()).push(" AND account_id IN (");
    push_id_list!(history, accounts.iter().copied());
    history.push(")");
    let history_rows: Vec<HistoryRow> = history.build_query_as().fetch_all(&mut *tx).await?;
    for (account, person) in persons_of_history(history_rows, &accounts, &state.ledger, &dates, now)? {
        state.ledger.insert_person(account, person);
    }

    let mut existing = sqlx::QueryBuilder::new(format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE "));
    let mut alternatives = existing.separated(" OR ");
    for request in padded(requests) {
        alternatives.push("(account_id = ");
        alternatives.push_bind_unseparated(request.account.as_i64());
        alternatives.push_unseparated(" AND idempotency_key = ");
        alternatives.push_bind_unseparated(request.idempotency_key.as_str());
        alternatives.push_unseparated(")");
    }
    let rows: Vec<BookingRow> = existing.build_query_as().fetch_all(&mut *tx).await?;
    for row in rows {
        let booking = booking_from_row(row)?;
        state.existing.insert((booking.account, booking.idempotency_key.clone()), booking);
    }

    let (decided, beside) = decide(&mut state);
    let (inserted, added) = bookings_to_insert(&state, &decided, now_utc)?;
    for chunk in inserted.chunks(INSERT_CHUNK_ROWS / 2) {
        // What every booking of a slot shares (province, resource, venue, start, date) comes from the
        // slot's row, locked above, and the timestamps are bound once: a row binds ten values instead
        // of seventeen. Padded with rows of NULLs, which join no slot (see `statement_list_len`).
        let rows: Vec<Option<&Booking>> = chunk.iter().map(Some).chain(std::iter::repeat(None)).take(statement_list_len(chunk.len())).collect();
        let mut insert = sqlx::QueryBuilder::new(format!(
            "INSERT INTO bookings ({BOOKING_COLUMNS}, slot_date) SELECT v.column1, s.province_code, v.column2, s.resource_id, s.venue_id, v.column3, \
             s.starts_at, v.column4, v.column5, v.column6, v.column7, v.column8, v.column9, v.column10, "
        ));
        insert.push_bind(now_utc).push(", ").push_bind(now_utc).push(", substr(s.starts_at, 1, 10) FROM (");
        insert.push_values(rows, |mut row, booking| {
            row.push_bind(booking.map(|booking| booking.id))
                .push_bind(booking.map(|booking| booking.slot.as_i64()))
                .push_bind(booking.map(|booking| booking.account.as_i64()))
                .push_bind(booking.map(|booking| i32::try_from(booking.places).unwrap_or(i32::MAX)))
                .push_bind(booking.map(|booking| booking.status.as_str()))
                .push_bind(booking.map(|booking| booking.total_fen))
                .push_bind(booking.map(|booking| booking.reduced))
                .push_bind(booking.and_then(|booking| booking.expires_at.map(local_text)))
                .push_bind(booking.map(|booking| booking.idempotency_key.as_str()))
                .push_bind(booking.map(|booking| booking.request_hash.as_str()));
        });
        insert.push(") AS v JOIN slots s ON s.id = v.column2");
        let written = insert.build().execute(&mut *tx).await.map_err(|error| match &error {
            sqlx::Error::Database(database) if database.is_unique_violation() => key_raced_in(),
            _ => StoreError::Database(error),
        })?;
        // Each booking joined exactly its one slot (slot ids are unique).
        if written.rows_affected() != chunk.len() as u64 {
            return Err(StoreError::Corrupt(format!("a batch wrote {} bookings for {} decided", written.rows_affected(), chunk.len())));
        }
    }
    let wanted = added.len() as u64;
    let updated = change_taken_in!(tx, added, true);
    if updated != wanted {
        return Err(over_capacity(wanted - updated));
    }
    tx.commit().await?;
    Ok((inserted, beside))
}

/// `Conflict`: a unique idempotency key of the batch was written by another process first.
fn key_raced_in() -> StoreError {
    StoreError::Conflict("an idempotency key of the batch was used at the same moment by another request".into())
}

/// `Conflict`: the guarded update of `slots.taken` refused `slots` of the batch's slots.
fn over_capacity(slots: u64) -> StoreError {
    StoreError::Conflict(format!("{slots} of the batch's slots would go over capacity; nothing of the batch was written"))
}

/// The columns of a batch's people's bookings ([`HistoryRow`]) and the statuses read.
const HISTORY_COLUMNS: &str = "account_id, venue_id, slot_date, slot_id, slot_start, status";
const HISTORY_STATUSES: &str = "('held', 'confirmed', 'checked_in', 'no_show')";
type HistoryRow = (i64, String, String, i64, String, String);

/// The batch's distinct slot ids and account ids, each ascending (the order PostgreSQL locks rows in).
fn batch_ids(requests: &[BatchRequest]) -> (Vec<i64>, Vec<i64>) {
    let slot_ids: BTreeSet<i64> = requests.iter().map(|request| request.slot.as_i64()).collect();
    let accounts: BTreeSet<i64> = requests.iter().map(|request| request.account.as_i64()).collect();
    (slot_ids.into_iter().collect(), accounts.into_iter().collect())
}

/// The dates a batch reads its people's bookings over: active bookings in the whole ISO weeks around
/// the batch's slots' dates count against quotas (`quota`); no-shows since `lookback` (the default
/// rules' no-show window) ban. `read_from..=read_to` covers both.
struct BatchDates {
    quota: Option<(NaiveDate, NaiveDate)>,
    lookback: NaiveDateTime,
    read_from: NaiveDate,
    read_to: NaiveDate,
}

impl BatchDates {
    fn of(ledger: &Ledger, now: NaiveDateTime) -> BatchDates {
        let lookback = now - Duration::days(no_show_lookback_days(&BookingRules::default()));
        let first = ledger.slots().map(|slot| slot.start.date()).min();
        let last = ledger.slots().map(|slot| slot.start.date()).max();
        let quota = first.zip(last).map(|(first, last)| (first - Duration::days(7), last + Duration::days(7)));
        let read_from = quota.map_or(lookback.date(), |(from, _)| from.min(lookback.date()));
        let read_to = quota.map_or(now.date(), |(_, to)| to.max(now.date()));
        BatchDates { quota, lookback, read_from, read_to }
    }
}

/// The resources' rules by id, from rows of `id, booking_rules, real_name`.
fn resource_rules_of_rows(rows: Vec<(String, String, bool)>) -> StoreResult<HashMap<String, (BookingRules, bool)>> {
    let mut rules_by_id = HashMap::with_capacity(rows.len());
    for (id, json, real_name) in rows {
        let rules = parse_booking_rules(&ResourceId::parse(&id).map_err(|error| StoreError::Corrupt(format!("resource id {id:?}: {error}")))?, &json)?;
        rules_by_id.insert(id, (rules, real_name));
    }
    Ok(rules_by_id)
}

/// The batch's state with its slots (and their resources' rules) in the ledger; the people and the
/// existing bookings come next.
fn batch_state_of_slots(
    slots: Vec<Slot>,
    resource_rules: &HashMap<String, (BookingRules, bool)>,
    verified_accounts: HashSet<AccountId>,
) -> StoreResult<BatchState> {
    let mut state = BatchState { verified_accounts, ..BatchState::default() };
    for slot in slots {
        let Some((rules, real_name)) = resource_rules.get(slot.resource.as_str()) else {
            return Err(StoreError::Corrupt(format!("slot {} belongs to resource {}, which does not exist", slot.id, slot.resource)));
        };
        state.rules.insert(slot.id, rules.clone());
        state.resources.insert(slot.id, slot.resource.clone());
        state.provinces.insert(slot.id, slot.province.clone());
        if *real_name {
            state.real_name_slots.insert(slot.id);
        }
        state.ledger.insert_slot(SlotState {
            id: slot.id,
            venue: slot.venue,
            start: slot.start,
            end: slot.end,
            capacity: slot.capacity,
            taken: slot.taken,
            price_fen: slot.price_fen,
            reduced_price_fen: slot.reduced_price_fen,
        });
    }
    Ok(state)
}

/// The batch's people from their bookings ([`HistoryRow`]s): active bookings dated within the quota
/// dates count against their quotas, the ledger's slots they hold are marked, and no-shows since the
/// lookback ban them (under the default rules). Everyone of `accounts` is there, with or without
/// bookings.
fn persons_of_history(
    rows: Vec<HistoryRow>,
    accounts: &[i64],
    ledger: &Ledger,
    dates: &BatchDates,
    now: NaiveDateTime,
) -> StoreResult<HashMap<AccountId, PersonState>> {
    let mut persons: HashMap<AccountId, PersonState> = accounts.iter().map(|id| (AccountId::new(*id), PersonState::default())).collect();
    let mut no_show_starts: HashMap<AccountId, Vec<NaiveDateTime>> = HashMap::new();
    for (account, venue, date, slot, start, status) in rows {
        let account = AccountId::new(account);
        if status == BookingStatus::NoShow.as_str() {
            let start = parse_local(&start)?;
            if start >= dates.lookback {
                no_show_starts.entry(account).or_default().push(start);
            }
            continue;
        }
        let slot = SlotId::new(slot);
        let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(|_| StoreError::Corrupt(format!("slot date {date:?}")))?;
        let person = persons.entry(account).or_default();
        if ledger.slot(slot).is_some() {
            person.held_slots.insert(slot);
        }
        if dates.quota.is_some_and(|(from, to)| date >= from && date <= to) {
            let venue = VenueId::parse(&venue).map_err(|error| StoreError::Corrupt(format!("booking venue: {error}")))?;
            person.count(&venue, date);
        }
    }
    for (account, starts) in no_show_starts {
        persons.entry(account).or_default().banned_until = banned_until(&starts, &BookingRules::default(), now);
    }
    Ok(persons)
}

/// The bookings `decided` makes, as stored (their slot's province, resource, venue and start from the
/// batch's state), and the places they add per slot id. `Conflict` for a booking of a slot the batch
/// did not load.
fn bookings_to_insert(state: &BatchState, decided: &[NewBooking], now_utc: DateTime<Utc>) -> StoreResult<(Vec<Booking>, BTreeMap<i64, i64>)> {
    let mut added: BTreeMap<i64, i64> = BTreeMap::new();
    let mut inserted: Vec<Booking> = Vec::with_capacity(decided.len());
    for booking in decided {
        let (Some(slot), Some(resource)) = (state.ledger.slot(booking.slot), state.resources.get(&booking.slot)) else {
            return Err(StoreError::Conflict(format!("the decision booked slot {}, which the batch did not load", booking.slot)));
        };
        inserted.push(Booking {
            id: booking.id,
            province: slot_province(state, booking.slot),
            slot: booking.slot,
            resource: resource.clone(),
            venue: slot.venue.clone(),
            account: booking.account,
            slot_start: slot.start,
            places: booking.places,
            status: booking.status,
            total_fen: booking.total_fen,
            reduced: booking.reduced,
            expires_at: booking.expires_at,
            idempotency_key: booking.idempotency_key.clone(),
            request_hash: booking.request_hash.clone(),
            created_at: now_utc,
            updated_at: now_utc,
        });
        if booking.status.holds_place() {
            *added.entry(booking.slot.as_i64()).or_insert(0) += i64::from(booking.places);
        }
    }
    Ok((inserted, added))
}

fn slot_province(state: &BatchState, slot: SlotId) -> String {
    state.provinces.get(&slot).cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{padded, statement_list_len};

    #[test]
    fn batch_lists_are_padded_to_a_few_statement_shapes() {
        let check = |len: usize, expect: usize| assert_eq!(statement_list_len(len), expect, "{len} entries");
        check(0, 0); // nothing to bind: the callers do not build the statement
        check(1, 8);
        check(8, 8);
        check(9, 16);
        check(200, 256);
        check(256, 256);
        check(257, 512);
    }

    #[test]
    fn padding_repeats_the_last_entry() {
        let check = |items: &[i64], expect: &[i64]| assert_eq!(padded(items).copied().collect::<Vec<i64>>(), expect, "{items:?}");
        check(&[], &[]);
        check(&[7], &[7, 7, 7, 7, 7, 7, 7, 7]);
        check(&[1, 2, 3], &[1, 2, 3, 3, 3, 3, 3, 3]);
        check(&[1, 2, 3, 4, 5, 6, 7, 8, 9], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9, 9, 9, 9]);
    }
}
