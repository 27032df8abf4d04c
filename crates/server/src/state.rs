//! Shared application state: the store, and an in-memory snapshot of the reference data
//! (region tree, population, venue catalog) that every read is answered from.
//!
//! Snapshots are immutable and swapped whole. A process's own writes update its snapshot at once;
//! writes by other processes are noticed through the store's change counters, checked every
//! `refresh_interval_ms` (so a second process sees them within that interval).

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use fitforall_core::catalog::VenueCatalog;
use fitforall_core::indicator::PopulationTable;
use fitforall_core::region::RegionTree;
use fitforall_core::venue::{Venue, VenueId};
use fitforall_store::{Store, StoreError, StoreResult};

use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::outbox::{LogSender, MessageSender};
use crate::reference::{self, Place};

/// Full slots whose offers are remembered at once.
pub const MAX_CACHED_ALTERNATIVES: usize = 10_000;

/// Client addresses tracked by each rate limiter (older ones are forgotten first).
const MAX_TRACKED_CLIENTS: usize = 100_000;

pub struct Snapshot {
    pub regions: Arc<RegionTree>,
    pub regions_version: i64,
    pub population: Arc<PopulationTable>,
    pub population_version: i64,
    pub catalog: Arc<VenueCatalog>,
}

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: ServerConfig,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Serialises this process's venue writes so that snapshot updates apply in order.
    venue_writes: tokio::sync::Mutex<()>,
    metrics: Metrics,
    places: Vec<Place>,
    /// Label points of provinces and Zhejiang's cities (from the map files), parsed once.
    label_points: Vec<(fitforall_core::region::RegionCode, fitforall_core::geo::LatLng)>,
    identity_hasher: Option<crate::auth::IdentityHasher>,
    login_limiter: std::sync::Mutex<fitforall_core::throttle::RateLimiter<std::net::IpAddr>>,
    registration_limiter: std::sync::Mutex<fitforall_core::throttle::RateLimiter<std::net::IpAddr>>,
    /// Password-reset requests and confirmations per client address.
    reset_limiter: std::sync::Mutex<fitforall_core::throttle::RateLimiter<std::net::IpAddr>>,
    /// Delivers outbox messages (see `outbox`); `LogSender` unless one is given.
    message_sender: Arc<dyn MessageSender>,
    booking: crate::booking_engine::BookingEngine,
    token_lookups: crate::token_lookup::TokenLookups,
    /// Offers for full slots, briefly (see `api::bookings::alternatives_to`).
    #[allow(clippy::type_complexity)]
    alternatives: std::sync::Mutex<std::collections::HashMap<fitforall_core::booking::SlotId, (Vec<crate::api::bookings::SlotOffer>, std::time::Instant)>>,
    /// Who each recently seen API token acts as (see [`AppState::cached_token_caller`]).
    /// The fitness standards results are scored against (`core::fitness::shipped`).
    standards: fitforall_core::fitness::StandardSet,
    token_callers: std::sync::Mutex<std::collections::HashMap<String, (crate::caller::Caller, std::time::Instant)>>,
}

/// At most this many API tokens are remembered; beyond it the cache starts afresh.
const MAX_CACHED_TOKEN_CALLERS: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the region hierarchy in the database is inconsistent: {0}")]
    Regions(String),
    #[error("the embedded reference data is broken: {0}")]
    Reference(String),
}

impl AppState {
    /// Loads the snapshot from the store. The region hierarchy must already be there (see
    /// `startup::seed_regions_if_empty`). Outbox messages go to the log ([`LogSender`]).
    pub async fn load(store: Store, config: ServerConfig) -> Result<AppState, StateError> {
        AppState::load_with_sender(store, config, Arc::new(LogSender)).await
    }

    /// [`AppState::load`] with the sender that delivers outbox messages (an SMS gateway, a test's list).
    pub async fn load_with_sender(store: Store, config: ServerConfig, message_sender: Arc<dyn MessageSender>) -> Result<AppState, StateError> {
        let snapshot = load_snapshot(&store).await?;
        let places = reference::embedded_places(&snapshot.regions).map_err(StateError::Reference)?;
        let standards = fitforall_core::fitness::shipped::load()
            .map_err(|errors| StateError::Reference(format!("fitness standards: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))))?;
        let identity_hasher = match config.secret.as_deref() {
            None => None,
            Some(secret) => Some(crate::auth::IdentityHasher::new(secret.as_bytes()).map_err(|error| StateError::Reference(error.to_string()))?),
        };
        let login_per_minute = config.login_per_ip_per_minute.max(1);
        let registrations_per_hour = config.registrations_per_ip_per_hour.max(1);
        let resets_per_hour = config.resets_per_ip_per_hour.max(1);
        let store_for_booking = store.clone();
        let booking_config = config.booking.clone();
        let metrics = Metrics::new();
        metrics.set_reference_sizes(snapshot.regions.len(), snapshot.catalog.len());
        Ok(AppState {
            inner: Arc::new(Inner {
                store,
                config,
                snapshot: RwLock::new(Arc::new(snapshot)),
                venue_writes: tokio::sync::Mutex::new(()),
                metrics,
                places,
                label_points: reference::label_points(),
                identity_hasher,
                login_limiter: std::sync::Mutex::new(fitforall_core::throttle::RateLimiter::new(login_per_minute, 60, MAX_TRACKED_CLIENTS)),
                registration_limiter: std::sync::Mutex::new(fitforall_core::throttle::RateLimiter::new(registrations_per_hour, 3_600, MAX_TRACKED_CLIENTS)),
                reset_limiter: std::sync::Mutex::new(fitforall_core::throttle::RateLimiter::new(resets_per_hour, 3_600, MAX_TRACKED_CLIENTS)),
                message_sender,
                token_lookups: crate::token_lookup::TokenLookups::start(store_for_booking.clone()),
                booking: crate::booking_engine::BookingEngine::start(store_for_booking, booking_config),
                alternatives: std::sync::Mutex::new(std::collections::HashMap::new()),
                token_callers: std::sync::Mutex::new(std::collections::HashMap::new()),
                standards,
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn places(&self) -> &[Place] {
        &self.inner.places
    }

    pub fn identity_hasher(&self) -> Option<&crate::auth::IdentityHasher> {
        self.inner.identity_hasher.as_ref()
    }

    /// Counts a login attempt from `ip`; `Err(seconds)` when over the per-IP limit.
    pub fn allow_login_from(&self, ip: std::net::IpAddr, now_unix_s: i64) -> Result<(), i64> {
        self.inner.login_limiter.lock().expect("limiter lock poisoned").allow(&ip, now_unix_s).map_err(|retry| retry.seconds)
    }

    pub fn allow_registration_from(&self, ip: std::net::IpAddr, now_unix_s: i64) -> Result<(), i64> {
        self.inner.registration_limiter.lock().expect("limiter lock poisoned").allow(&ip, now_unix_s).map_err(|retry| retry.seconds)
    }

    /// Counts a password-reset request or confirmation from `ip`; `Err(seconds)` when over the limit.
    pub fn allow_reset_from(&self, ip: std::net::IpAddr, now_unix_s: i64) -> Result<(), i64> {
        self.inner.reset_limiter.lock().expect("limiter lock poisoned").allow(&ip, now_unix_s).map_err(|retry| retry.seconds)
    }

    /// Bearer token lookups, batched (see `token_lookup`).
    pub fn token_lookups(&self) -> &crate::token_lookup::TokenLookups {
        &self.inner.token_lookups
    }

    /// The booking rush engine.
    pub fn booking(&self) -> &crate::booking_engine::BookingEngine {
        &self.inner.booking
    }

    /// The remembered offers for a full slot, while fresh.
    pub fn cached_alternatives(&self, slot: fitforall_core::booking::SlotId, now: std::time::Instant) -> Option<Vec<crate::api::bookings::SlotOffer>> {
        let cache = self.inner.alternatives.lock().expect("cache lock poisoned");
        cache.get(&slot).filter(|(_, fresh_until)| now < *fresh_until).map(|(offers, _)| offers.clone())
    }

    /// Remembers the offers for a full slot until `fresh_until` (at most [`MAX_CACHED_ALTERNATIVES`] slots).
    pub fn remember_alternatives(&self, slot: fitforall_core::booking::SlotId, offers: Vec<crate::api::bookings::SlotOffer>, fresh_until: std::time::Instant) {
        let mut cache = self.inner.alternatives.lock().expect("cache lock poisoned");
        if cache.len() >= MAX_CACHED_ALTERNATIVES {
            let now = std::time::Instant::now();
            cache.retain(|_, (_, until)| now < *until);
            if cache.len() >= MAX_CACHED_ALTERNATIVES {
                cache.clear();
            }
        }
        cache.insert(slot, (offers, fresh_until));
    }

    /// The sender of outbox messages.
    /// The caller behind an API token (by its hash) when it was looked up less than
    /// `refresh_interval_ms` ago: a program calling many times a second (a booking rush) costs the
    /// store no query per request. This process forgets every entry when it revokes a token or
    /// changes roles or accounts ([`AppState::forget_token_callers`]); another process's such change
    /// is seen within `refresh_interval_ms`, as for every other write.
    pub fn cached_token_caller(&self, token_hash: &str, now: std::time::Instant) -> Option<crate::caller::Caller> {
        let ttl = std::time::Duration::from_millis(self.inner.config.refresh_interval_ms);
        let cache = self.inner.token_callers.lock().expect("cache lock poisoned");
        let (caller, seen_at) = cache.get(token_hash)?;
        (now.saturating_duration_since(*seen_at) < ttl).then(|| caller.clone())
    }

    pub fn remember_token_caller(&self, token_hash: String, caller: crate::caller::Caller, now: std::time::Instant) {
        let mut cache = self.inner.token_callers.lock().expect("cache lock poisoned");
        if cache.len() >= MAX_CACHED_TOKEN_CALLERS {
            cache.clear();
        }
        cache.insert(token_hash, (caller, now));
    }

    /// Called after this process revokes a token, changes a role or deletes an account.
    pub fn forget_token_callers(&self) {
        self.inner.token_callers.lock().expect("cache lock poisoned").clear();
    }

    pub fn standards(&self) -> &fitforall_core::fitness::StandardSet {
        &self.inner.standards
    }

    pub fn message_sender(&self) -> &dyn MessageSender {
        self.inner.message_sender.as_ref()
    }

    pub fn label_points(&self) -> &[(fitforall_core::region::RegionCode, fitforall_core::geo::LatLng)] {
        &self.inner.label_points
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.snapshot.read().expect("snapshot lock poisoned").clone()
    }

    fn replace_snapshot(&self, snapshot: Snapshot) {
        self.inner.metrics.set_reference_sizes(snapshot.regions.len(), snapshot.catalog.len());
        *self.inner.snapshot.write().expect("snapshot lock poisoned") = Arc::new(snapshot);
    }

    /// Reloads whatever another process changed. Returns true when something was reloaded.
    pub async fn refresh_if_stale(&self) -> Result<bool, StateError> {
        let current = self.snapshot();
        let store = self.store();
        let regions_version = store.change_counter("regions").await?;
        let population_version = store.change_counter("population").await?;
        let venues_version = store.change_counter("venues").await?;
        if regions_version == current.regions_version && population_version == current.population_version && venues_version == current.catalog.version() {
            return Ok(false);
        }
        let _guard = self.inner.venue_writes.lock().await;
        let snapshot = load_snapshot(store).await?;
        tracing::info!(regions = snapshot.regions.len(), venues = snapshot.catalog.len(), "reference data reloaded");
        self.replace_snapshot(snapshot);
        Ok(true)
    }

    /// Writes a venue (insert or replace) and updates the catalog.
    pub async fn save_venue(&self, venue: Venue, is_new: bool, now: DateTime<Utc>) -> StoreResult<()> {
        let _guard = self.inner.venue_writes.lock().await;
        let version = if is_new { self.store().insert_venue(&venue, now).await? } else { self.store().update_venue(&venue, now).await? };
        self.apply_catalog_change(version, |catalog| catalog.with_upserted(venue, version)).await
    }

    pub async fn delete_venue(&self, id: &VenueId) -> StoreResult<()> {
        let _guard = self.inner.venue_writes.lock().await;
        let version = self.store().delete_venue(id).await?;
        self.apply_catalog_change(version, |catalog| catalog.with_removed(id, version)).await
    }

    /// Applies a change incrementally when ours was the only write since the snapshot; reloads all
    /// venues when another process wrote in between.
    async fn apply_catalog_change(&self, version: i64, change: impl FnOnce(&VenueCatalog) -> VenueCatalog) -> StoreResult<()> {
        let current = self.snapshot();
        let catalog = if version == current.catalog.version() + 1 {
            change(&current.catalog)
        } else {
            let (venues, version) = self.store().load_venues().await?;
            VenueCatalog::new(venues, version)
        };
        self.replace_snapshot(Snapshot {
            regions: current.regions.clone(),
            regions_version: current.regions_version,
            population: current.population.clone(),
            population_version: current.population_version,
            catalog: Arc::new(catalog),
        });
        Ok(())
    }
}

async fn load_snapshot(store: &Store) -> Result<Snapshot, StateError> {
    let regions_version = store.change_counter("regions").await?;
    let regions = store.load_regions().await?;
    let (tree, _) = RegionTree::build(regions).map_err(|error| StateError::Regions(error.to_string()))?;
    let population_version = store.change_counter("population").await?;
    let population = PopulationTable::new(store.load_population().await?);
    let (venues, venues_version) = store.load_venues().await?;
    Ok(Snapshot {
        regions: Arc::new(tree),
        regions_version,
        population: Arc::new(population),
        population_version,
        catalog: Arc::new(VenueCatalog::new(venues, venues_version)),
    })
}
