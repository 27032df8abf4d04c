//! Bearer tokens looked up in batches. In a booking rush every request carries a token the process
//! has not seen yet (the `Caller` cache only helps a client's later requests), so one store query per
//! request would make the token lookups cost more than the bookings. Lookups wait in one queue; one
//! task takes whatever is queued (up to [`MAX_TOKEN_LOOKUP_BATCH`]), looks it all up with one
//! `Store::api_tokens` query and answers each. Nothing waits for a timer: a lookup alone is a batch
//! of one, and while a query runs the next batch queues up.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use fitforall_store::{MAX_TOKEN_LOOKUP_BATCH, Store, StoreResult, TokenHolder};
use tokio::sync::{mpsc, oneshot};

/// Lookups that may wait at once; beyond it callers wait to enqueue.
const TOKEN_LOOKUP_QUEUE_LIMIT: usize = 4_096;

struct Lookup {
    token_hash: String,
    now: DateTime<Utc>,
    answer: oneshot::Sender<StoreResult<Option<TokenHolder>>>,
}

#[derive(Clone)]
pub struct TokenLookups {
    store: Store,
    queue: mpsc::Sender<Lookup>,
}

impl TokenLookups {
    /// Starts the lookup task (on the current tokio runtime).
    pub fn start(store: Store) -> TokenLookups {
        let (queue, receiver) = mpsc::channel(TOKEN_LOOKUP_QUEUE_LIMIT);
        tokio::spawn(lookup_worker(store.clone(), receiver));
        TokenLookups { store, queue }
    }

    /// The holder of an unrevoked token with this hash, as `Store::api_token` (which records its use).
    pub async fn lookup(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<TokenHolder>> {
        let (answer, answered) = oneshot::channel();
        if self.queue.send(Lookup { token_hash: token_hash.to_string(), now, answer }).await.is_ok()
            && let Ok(result) = answered.await
        {
            return result;
        }
        // The worker is gone (the runtime is shutting down): look it up directly.
        self.store.api_token(token_hash, now).await
    }
}

async fn lookup_worker(store: Store, mut receiver: mpsc::Receiver<Lookup>) {
    let mut batch: Vec<Lookup> = Vec::with_capacity(MAX_TOKEN_LOOKUP_BATCH);
    while receiver.recv_many(&mut batch, MAX_TOKEN_LOOKUP_BATCH).await > 0 {
        assert!(batch.len() <= MAX_TOKEN_LOOKUP_BATCH, "a lookup batch stays within its limit");
        let now = batch.iter().map(|lookup| lookup.now).max().unwrap_or_else(Utc::now);
        let mut hashes: Vec<String> = batch.iter().map(|lookup| lookup.token_hash.clone()).collect();
        hashes.sort_unstable();
        hashes.dedup();
        match store.api_tokens(&hashes, now).await {
            Ok(found) => {
                let holders: HashMap<String, TokenHolder> = found.into_iter().collect();
                for lookup in batch.drain(..) {
                    let _ = lookup.answer.send(Ok(holders.get(&lookup.token_hash).cloned()));
                }
            }
            Err(error) => {
                // Each caller gets its own error from a lookup of its own (store errors are not Clone;
                // a failed batch is rare).
                tracing::warn!(%error, lookups = batch.len(), "a batch of token lookups failed; looking them up one by one");
                for lookup in batch.drain(..) {
                    let result = store.api_token(&lookup.token_hash, lookup.now).await;
                    let _ = lookup.answer.send(result);
                }
            }
        }
    }
}
