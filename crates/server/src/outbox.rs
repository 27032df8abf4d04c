//! Delivery of the outbox: messages written to the store's `outbox` table (password-reset codes
//! today, booking notices later) are sent by a background task through a pluggable [`MessageSender`].
//!
//! Writing a message and sending it are separate steps. The message is written in the same
//! transaction as the change it reports (a reset code and the SMS carrying it), so neither exists
//! without the other; delivery happens afterwards, every `outbox_poll_ms`, in rounds of at most
//! [`BATCH_MESSAGES`]. A round claims messages with `Store::claim_messages` (a lease, so several
//! server processes never send the same message), sends each one and marks it sent or failed; a
//! failed message is retried after `MESSAGE_RETRY_S` until it has failed `MAX_MESSAGE_ATTEMPTS` times.
//! A message may be sent twice if a process dies between sending and marking it sent (at least once).
//!
//! [`LogSender`], the default, is for development and demos only: it delivers nothing, it writes each
//! message, body included, to the log at INFO level. Reset codes are in those bodies, so anyone who can
//! read the log can reset any account that asks for a code. A public deployment plugs in a sender for
//! a real SMS gateway (`Application::build_with_sender`).

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use chrono::Utc;
use fitforall_store::{MESSAGE_LEASE_S, OutboxMessage, StoreError};

use crate::state::AppState;

/// The most messages one delivery round claims.
pub const BATCH_MESSAGES: i64 = 50;
/// One send that takes longer than this counts as failed.
pub const SEND_TIMEOUT_S: u64 = 10;
/// A round stops sending after this long, well inside the claim's lease, so that no message is sent
/// while its lease has run out and another process may have claimed it; the rest are claimed again
/// once their lease ends.
pub const ROUND_BUDGET_S: u64 = (MESSAGE_LEASE_S as u64) / 2;

/// Sends one message (an SMS gateway, a mail server, a test's list). `Err` carries a reason for the
/// store's `last_error`; the message is retried later.
pub trait MessageSender: Send + Sync + 'static {
    fn send<'a>(&'a self, message: &'a OutboxMessage) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

/// The default sender, for development and demos: writes the message to the log and delivers nothing.
/// Anyone who can read the log can read the reset codes in it; never use it on a public server.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogSender;

impl MessageSender for LogSender {
    fn send<'a>(&'a self, message: &'a OutboxMessage) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            tracing::info!(
                message_id = message.id,
                channel = %message.channel,
                recipient = %message.recipient,
                subject = %message.subject,
                body = %message.body,
                "outbox message (LogSender: logged, not delivered)"
            );
            Ok(())
        })
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Round {
    claimed: usize,
    sent: usize,
}

/// One delivery round: claims up to [`BATCH_MESSAGES`] messages, sends each, marks it sent or failed.
/// Returns how many were sent. Errors are the store's (claiming); a failure to mark one message is
/// logged and the round goes on.
pub async fn deliver_pending(state: &AppState) -> Result<usize, StoreError> {
    Ok(deliver_round(state).await?.sent)
}

async fn deliver_round(state: &AppState) -> Result<Round, StoreError> {
    let started = Instant::now();
    let claimed = state.store().claim_messages(BATCH_MESSAGES, Utc::now()).await?;
    let mut round = Round { claimed: claimed.len(), sent: 0 };
    for claim in &claimed {
        if started.elapsed() > Duration::from_secs(ROUND_BUDGET_S) {
            tracing::warn!(left = claimed.len() - round.sent, "outbox round over its time budget; the rest are sent once their lease ends");
            break;
        }
        let message = &claim.message;
        let outcome = match tokio::time::timeout(Duration::from_secs(SEND_TIMEOUT_S), state.message_sender().send(message)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("no answer within {SEND_TIMEOUT_S} s")),
        };
        let now = Utc::now();
        match outcome {
            Ok(()) => match state.store().mark_message_sent(message.id, now).await {
                Ok(()) => round.sent += 1,
                Err(error) => tracing::error!(message_id = message.id, %error, "message sent but not marked sent; it may be sent again"),
            },
            Err(reason) => {
                tracing::warn!(message_id = message.id, attempts = claim.attempts + 1, %reason, "message not sent; it will be retried");
                if let Err(error) = state.store().mark_message_failed(message.id, &reason, now).await {
                    tracing::error!(message_id = message.id, %error, "could not record a failed send");
                }
            }
        }
    }
    Ok(round)
}

/// The background sender: a round every `outbox_poll_ms` (at once again after a full batch) until
/// `stop` turns true or its sender is dropped. A round in progress is finished first.
pub async fn delivery_loop(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let interval = Duration::from_millis(state.config().outbox_poll_ms.max(50));
    let mut full_batch = false;
    loop {
        if *stop.borrow() {
            return;
        }
        if !full_batch {
            tokio::select! {
                changed = stop.changed() => if changed.is_err() || *stop.borrow() { return },
                () = tokio::time::sleep(interval) => {}
            }
        }
        full_batch = match deliver_round(&state).await {
            Ok(round) => round.claimed as i64 >= BATCH_MESSAGES,
            Err(error) => {
                tracing::warn!(%error, "could not claim outbox messages");
                false
            }
        };
    }
}
