//! The rush engine: booking requests are not one transaction each. Requests go to a shard (by slot
//! id) whose worker collects them for up to `batch_window_ms` (or `max_batch` requests), decides the
//! whole batch in memory with `core::booking::Ledger` against the state `Store::book_batch` loads and
//! locks, commits it in one transaction, and only then answers each request. One hot slot therefore
//! costs one transaction per batch instead of one per request, and nothing is acknowledged before
//! it is durable.
//!
//! `BookingMode::Naive` (benchmarks only) sends each request straight to the store as a batch of one:
//! the one-transaction-per-request path the rush benchmark compares against.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};
use fitforall_core::booking::{BookRequest, Refusal};
use fitforall_core::policy::AccountId;
use fitforall_store::{BatchRequest, BatchState, Booking, NewBooking, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// How booking requests reach the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingMode {
    /// Collected per shard and committed in batches (the default).
    Batched,
    /// One transaction per request (for the benchmark's comparison).
    Naive,
}

#[derive(Debug, Clone)]
pub struct BookingEngineConfig {
    pub mode: BookingMode,
    /// Workers, each owning the slots whose id falls to it. SQLite has one writer anyway: 1 there.
    pub shards: usize,
    /// How long a worker waits for more requests after the first of a batch.
    pub batch_window_ms: u64,
    /// Most requests in one batch.
    pub max_batch: usize,
    /// Requests waiting per shard; beyond it the answer is 503 with Retry-After (back-pressure).
    pub queue_limit: usize,
    /// How often holds that ran out are expired (they are also expired lazily by each batch).
    pub expiry_interval_ms: u64,
    /// How often confirmed bookings whose check-in has closed are marked no-shows (`check_in`).
    pub no_show_interval_ms: u64,
}

impl Default for BookingEngineConfig {
    fn default() -> BookingEngineConfig {
        BookingEngineConfig {
            mode: BookingMode::Batched,
            shards: 0,
            batch_window_ms: 2,
            max_batch: 500,
            queue_limit: 20_000,
            expiry_interval_ms: 30_000,
            no_show_interval_ms: 60_000,
        }
    }
}

/// What happened to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookOutcome {
    /// A new booking, committed, with its resource's free-cancellation cut-off (minutes before the start).
    Created { booking: Booking, cancel_cutoff_min: u32 },
    /// The same `Idempotency-Key` and body as an earlier request: its booking, nothing new.
    Replayed(Booking),
    /// The key was used before with a different body.
    KeyReused,
    /// The resource needs a recorded identity number and the account has none.
    IdentityRequired,
    /// The rules said no.
    Refused(Refusal),
    /// Too many requests are waiting: try again shortly.
    Busy,
    /// The store failed; logged.
    Failed,
}

struct Job {
    request: BatchRequest,
    reply: oneshot::Sender<BookOutcome>,
}

#[derive(Clone)]
pub struct BookingEngine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    store: Store,
    config: BookingEngineConfig,
    shards: Vec<mpsc::Sender<Job>>,
}

/// China local time now (decisions are made in local time).
fn local_now() -> NaiveDateTime {
    crate::api::venues::local_now()
}

impl BookingEngine {
    /// Starts the shard workers (on the current tokio runtime). They stop when the engine is dropped.
    pub fn start(store: Store, mut config: BookingEngineConfig) -> BookingEngine {
        if config.shards == 0 {
            config.shards = match store.kind() {
                fitforall_store::BackendKind::Sqlite => 1,
                fitforall_store::BackendKind::Postgres => 4,
            };
        }
        config.max_batch = config.max_batch.clamp(1, fitforall_store::MAX_BATCH_REQUESTS);
        let mut shards = Vec::with_capacity(config.shards);
        for _ in 0..config.shards {
            let (sender, receiver) = mpsc::channel(config.queue_limit.max(1));
            tokio::spawn(shard_worker(store.clone(), config.clone(), receiver));
            shards.push(sender);
        }
        BookingEngine { inner: Arc::new(EngineInner { store, config, shards }) }
    }

    pub fn config(&self) -> &BookingEngineConfig {
        &self.inner.config
    }

    /// Decides one request; answers after its booking (if any) is committed.
    pub async fn book(&self, request: BatchRequest) -> BookOutcome {
        if self.inner.config.mode == BookingMode::Naive {
            // Boxed: the store's batch future is many kilobytes, and inline it would make every
            // caller's future (each HTTP request's, each rush task's) that large to move around.
            return Box::pin(decide_batch(&self.inner.store, vec![request])).await.pop().unwrap_or(BookOutcome::Failed);
        }
        let shard = (request.slot.as_i64().unsigned_abs() % self.inner.shards.len() as u64) as usize;
        let (reply, answer) = oneshot::channel();
        if self.inner.shards[shard].try_send(Job { request, reply }).is_err() {
            return BookOutcome::Busy;
        }
        answer.await.unwrap_or(BookOutcome::Failed)
    }
}

/// Whether a batch being collected stops waiting for more requests: it takes every request already
/// queued (up to `max_batch`) in any case, and then waits (until the window closes) only while it is
/// smaller than the batch before it. A burst therefore fills its first batch during the window, and
/// while the burst goes on each next batch goes as soon as it has as many requests as the last one
/// instead of sitting out the window; a trickle makes batches of one without waiting.
pub fn batch_is_ready(collected: usize, max_batch: usize, previous_batch: usize) -> bool {
    collected >= max_batch || (previous_batch > 0 && collected >= previous_batch)
}

async fn shard_worker(store: Store, config: BookingEngineConfig, mut receiver: mpsc::Receiver<Job>) {
    let window = Duration::from_millis(config.batch_window_ms);
    let mut previous_batch = 0;
    while let Some(first) = receiver.recv().await {
        let mut jobs = vec![first];
        let deadline = tokio::time::Instant::now() + window;
        while jobs.len() < config.max_batch {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) if batch_is_ready(jobs.len(), config.max_batch, previous_batch) => break,
                Err(mpsc::error::TryRecvError::Empty) => match tokio::time::timeout_at(deadline, receiver.recv()).await {
                    Ok(Some(job)) => jobs.push(job),
                    Ok(None) | Err(_) => break,
                },
            }
        }
        previous_batch = jobs.len();
        let started = Instant::now();
        let (requests, replies): (Vec<BatchRequest>, Vec<oneshot::Sender<BookOutcome>>) = jobs.into_iter().map(|job| (job.request, job.reply)).unzip();
        let size = requests.len();
        let outcomes = decide_batch(&store, requests).await;
        tracing::debug!(size, elapsed_ms = started.elapsed().as_millis() as u64, "booking batch committed");
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            let _ = reply.send(outcome);
        }
    }
}

/// Decides and commits `requests` as one batch; when the batch as a whole fails with a conflict (a
/// key raced in by another process), each request is retried alone so one cannot sink the others.
async fn decide_batch(store: &Store, requests: Vec<BatchRequest>) -> Vec<BookOutcome> {
    match decide_once(store, &requests).await {
        Ok(outcomes) => outcomes,
        Err(StoreError::Conflict(reason)) if requests.len() > 1 => {
            tracing::info!(reason, size = requests.len(), "booking batch conflicted; deciding its requests one by one");
            let mut outcomes = Vec::with_capacity(requests.len());
            for request in requests {
                outcomes.push(decide_alone(store, request).await);
            }
            outcomes
        }
        Err(error) => {
            tracing::error!(%error, "booking batch failed");
            vec![BookOutcome::Failed; requests.len()]
        }
    }
}

async fn decide_alone(store: &Store, request: BatchRequest) -> BookOutcome {
    for _ in 0..3 {
        match decide_once(store, std::slice::from_ref(&request)).await {
            Ok(mut outcomes) => return outcomes.pop().unwrap_or(BookOutcome::Failed),
            Err(StoreError::Conflict(_)) => continue,
            Err(error) => {
                tracing::error!(%error, "booking failed");
                return BookOutcome::Failed;
            }
        }
    }
    BookOutcome::Failed
}

/// Where each request's answer comes from once the transaction has committed.
enum Pending {
    Made { id: i64, cancel_cutoff_min: u32 },
    Replayed(Booking),
    SameAs(usize),
    Done(BookOutcome),
}

async fn decide_once(store: &Store, requests: &[BatchRequest]) -> Result<Vec<BookOutcome>, StoreError> {
    let now = local_now();
    let now_utc = Utc::now();
    // The decision runs where the store runs the transaction (on SQLite, its writer's thread): it owns
    // its copy of the requests and hands back each request's pending answer beside the bookings.
    let owned: Vec<BatchRequest> = requests.to_vec();
    let (inserted, pending) = store
        .book_batch(requests, now, now_utc, move |state: &mut BatchState| {
            let requests = owned.as_slice();
            let mut pending: Vec<Pending> = Vec::with_capacity(requests.len());
            let mut made: Vec<NewBooking> = Vec::new();
            let mut first_with_key: HashMap<(AccountId, &str), usize> = HashMap::new();
            for (index, request) in requests.iter().enumerate() {
                let key = (request.account, request.idempotency_key.as_str());
                if let Some(earlier) = state.existing.get(&(request.account, request.idempotency_key.clone())) {
                    pending.push(if earlier.request_hash == request.request_hash {
                        Pending::Replayed(earlier.clone())
                    } else {
                        Pending::Done(BookOutcome::KeyReused)
                    });
                    continue;
                }
                if let Some(first) = first_with_key.get(&key) {
                    let same_body = requests[*first].request_hash == request.request_hash;
                    pending.push(if same_body { Pending::SameAs(*first) } else { Pending::Done(BookOutcome::KeyReused) });
                    continue;
                }
                first_with_key.insert(key, index);
                if state.real_name_slots.contains(&request.slot) && !state.verified_accounts.contains(&request.account) {
                    pending.push(Pending::Done(BookOutcome::IdentityRequired));
                    continue;
                }
                let rules = state.rules.get(&request.slot).cloned().unwrap_or_default();
                let book = BookRequest { account: request.account, slot: request.slot, places: request.places, reduced: request.reduced };
                match state.ledger.book(&rules, &book, now) {
                    Err(refusal) => pending.push(Pending::Done(BookOutcome::Refused(refusal))),
                    Ok(accepted) => {
                        let id = crate::auth::new_time_ordered_id(now_utc);
                        made.push(NewBooking {
                            id,
                            slot: request.slot,
                            account: request.account,
                            places: request.places,
                            status: accepted.status,
                            total_fen: accepted.total_fen,
                            reduced: request.reduced,
                            expires_at: accepted.expires_at,
                            idempotency_key: request.idempotency_key.clone(),
                            request_hash: request.request_hash.clone(),
                        });
                        pending.push(Pending::Made { id, cancel_cutoff_min: rules.cancel_cutoff_min });
                    }
                }
            }
            (made, pending)
        })
        .await?;
    let by_id: HashMap<i64, Booking> = inserted.into_iter().map(|booking| (booking.id, booking)).collect();
    let mut outcomes: Vec<BookOutcome> = Vec::with_capacity(pending.len());
    for item in pending {
        let outcome = match item {
            Pending::Made { id, cancel_cutoff_min } => {
                by_id.get(&id).cloned().map(|booking| BookOutcome::Created { booking, cancel_cutoff_min }).unwrap_or(BookOutcome::Failed)
            }
            Pending::Replayed(booking) => BookOutcome::Replayed(booking),
            Pending::SameAs(first) => match &outcomes[first] {
                BookOutcome::Created { booking, .. } | BookOutcome::Replayed(booking) => BookOutcome::Replayed(booking.clone()),
                other => other.clone(),
            },
            Pending::Done(outcome) => outcome,
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// A background job's clock: a round every `interval` (the first at once) until `stop` turns true or
/// its sender is dropped.
pub(crate) struct JobTicks {
    ticker: tokio::time::Interval,
    stop: tokio::sync::watch::Receiver<bool>,
}

impl JobTicks {
    pub(crate) fn new(interval: Duration, stop: tokio::sync::watch::Receiver<bool>) -> JobTicks {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        JobTicks { ticker, stop }
    }

    /// Waits for the next round; `false` when the job is to stop.
    pub(crate) async fn next(&mut self) -> bool {
        tokio::select! {
            _ = self.ticker.tick() => {}
            _ = self.stop.changed() => return false,
        }
        !*self.stop.borrow()
    }
}

/// Expires holds that ran out, every `expiry_interval_ms`, until `stop` turns true.
pub async fn expiry_loop(store: Store, interval_ms: u64, stop: tokio::sync::watch::Receiver<bool>) {
    let mut ticks = JobTicks::new(Duration::from_millis(interval_ms.max(100)), stop);
    while ticks.next().await {
        match store.expire_holds(local_now(), Utc::now()).await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "expired unconfirmed holds"),
            Err(error) => tracing::warn!(%error, "expiring holds failed; will retry"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::batch_is_ready;

    #[test]
    fn a_batch_waits_only_while_it_is_smaller_than_the_last_one() {
        // (collected, max_batch, previous_batch) → ready
        let check = |collected, max_batch, previous_batch, expect| {
            assert_eq!(batch_is_ready(collected, max_batch, previous_batch), expect, "collected {collected}, max {max_batch}, previous {previous_batch}")
        };
        check(1, 500, 0, false); // the first batch of a process waits out its window
        check(499, 500, 0, false);
        check(500, 500, 0, true); // full
        check(1, 500, 1, true); // a trickle: batches of one, no waiting
        check(255, 500, 256, false); // a burst goes on: wait for as many as last time …
        check(256, 500, 256, true); // … and not longer
        check(300, 500, 256, true);
        check(500, 500, 600, true); // max_batch lowered since
    }
}
