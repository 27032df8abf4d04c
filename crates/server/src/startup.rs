//! Builds the application: store, reference data, router, background refresh; and serves it with
//! graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use fitforall_core::region::RegionTree;
use fitforall_store::Store;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::config::ServerConfig;
use crate::outbox::{LogSender, MessageSender};
use crate::state::{AppState, StateError};
use crate::{api, metrics, outbox, reference, web};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database {url}: {source}")]
    Database { url: String, source: fitforall_store::StoreError },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot listen on {address}: {source}")]
    Listen { address: SocketAddr, source: std::io::Error },
}

/// Loads the embedded region hierarchy into an empty database. Returns how many regions were added.
pub async fn seed_regions_if_empty(store: &Store) -> Result<usize, StateError> {
    if store.count_regions().await? > 0 {
        return Ok(0);
    }
    let regions = reference::embedded_regions().map_err(|errors| StateError::Reference(format!("{} errors, first: {}", errors.len(), errors[0])))?;
    let (tree, _) = RegionTree::build(regions.clone()).map_err(|error| StateError::Reference(error.to_string()))?;
    let regions: Vec<_> = tree.iter().cloned().collect();
    let summary = store.upsert_regions(&regions, |code| tree.parent(code)).await?;
    tracing::info!(inserted = summary.inserted, "region hierarchy seeded from the embedded 2023 division codes");
    Ok(summary.inserted)
}

/// How long shutdown waits for the outbox round in progress.
pub const OUTBOX_STOP_TIMEOUT_S: u64 = 15;

/// A running application: its state and bound listener, ready to serve.
pub struct Application {
    pub state: AppState,
    listener: TcpListener,
}

impl Application {
    /// Opens the store (migrating it), seeds regions when empty, loads the snapshot and binds the
    /// listener (port 0 picks a free port).
    ///
    /// Outbox messages go to the log (`outbox::LogSender`, for development and demos).
    pub async fn build(config: ServerConfig) -> Result<Application, StartupError> {
        if !config.demo {
            tracing::warn!("no message sender configured: outbox messages, password-reset codes included, are written to the log and not delivered");
        }
        Application::build_with_sender(config, Arc::new(LogSender)).await
    }

    /// [`Application::build`] with the sender that delivers outbox messages (an SMS gateway, a test's list).
    pub async fn build_with_sender(config: ServerConfig, message_sender: Arc<dyn MessageSender>) -> Result<Application, StartupError> {
        let store = Store::connect(&config.database_url).await.map_err(|source| StartupError::Database { url: redact(&config.database_url), source })?;
        seed_regions_if_empty(&store).await?;
        let listener = TcpListener::bind(config.listen).await.map_err(|source| StartupError::Listen { address: config.listen, source })?;
        let state = AppState::load_with_sender(store, config, message_sender).await?;
        Ok(Application { state, listener })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and the outbox round in
    /// progress. The outbox sender runs alongside (see `outbox`).
    pub async fn serve(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let refresher = tokio::spawn(refresh_loop(self.state.clone()));
        let (stop_outbox, outbox_stopped) = tokio::sync::watch::channel(false);
        let hold_expiry = tokio::spawn(crate::booking_engine::expiry_loop(
            self.state.store().clone(),
            self.state.config().booking.expiry_interval_ms,
            outbox_stopped.clone(),
        ));
        let no_shows =
            tokio::spawn(crate::check_in::no_show_loop(self.state.store().clone(), self.state.config().booking.no_show_interval_ms, outbox_stopped.clone()));
        let slot_generator = tokio::spawn(crate::slot_generation::generation_loop(self.state.clone(), outbox_stopped.clone()));
        let outbox_sender = tokio::spawn(outbox::delivery_loop(self.state.clone(), outbox_stopped));
        let router = router(self.state.clone());
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(self.listener, service).with_graceful_shutdown(shutdown).await;
        refresher.abort();
        let _ = stop_outbox.send(true);
        let _ = hold_expiry.await;
        let _ = no_shows.await;
        // Slot generation stops between two resources; a resource in progress is one transaction.
        let slot_generator_abort = slot_generator.abort_handle();
        if tokio::time::timeout(Duration::from_secs(OUTBOX_STOP_TIMEOUT_S), slot_generator).await.is_err() {
            tracing::warn!("slot generation did not stop in {OUTBOX_STOP_TIMEOUT_S} s; stopped");
            slot_generator_abort.abort();
        }
        let outbox_abort = outbox_sender.abort_handle();
        if tokio::time::timeout(Duration::from_secs(OUTBOX_STOP_TIMEOUT_S), outbox_sender).await.is_err() {
            tracing::warn!("the outbox sender did not finish its round in {OUTBOX_STOP_TIMEOUT_S} s; stopped");
            outbox_abort.abort();
        }
        self.state.store().close().await;
        result
    }
}

/// The whole router. Not generic over the database: the store hides the backend.
pub fn router(state: AppState) -> Router {
    let max_body = state.config().max_body_bytes;
    Router::new()
        .merge(api::router())
        .merge(web::router())
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::handler))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::record))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(max_body))
        .layer(SetResponseHeaderLayer::if_not_present(HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(HeaderName::from_static("x-frame-options"), HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(HeaderName::from_static("referrer-policy"), HeaderValue::from_static("same-origin")))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

#[derive(serde::Serialize)]
struct Health {
    status: &'static str,
    database: &'static str,
    backend: &'static str,
    regions: usize,
    venues: usize,
    demo_data: bool,
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let snapshot = state.snapshot();
    let database_ok = state.store().ping().await.is_ok();
    let health = Health {
        status: if database_ok { "ok" } else { "degraded" },
        database: if database_ok { "ok" } else { "unreachable" },
        backend: state.store().kind().name(),
        regions: snapshot.regions.len(),
        venues: snapshot.catalog.len(),
        demo_data: state.config().demo,
    };
    let status = if database_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(health))
}

async fn refresh_loop(state: AppState) {
    let interval = Duration::from_millis(state.config().refresh_interval_ms.max(100));
    loop {
        tokio::time::sleep(interval).await;
        if let Err(error) = state.refresh_if_stale().await {
            tracing::warn!(%error, "could not refresh reference data");
        }
    }
}

/// Hides a password in a database URL for logs and errors.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_string() };
    let rest = &url[scheme_end + 3..];
    let Some(at) = rest.find('@') else { return url.to_string() };
    let user_info = &rest[..at];
    match user_info.split_once(':') {
        Some((user, _)) => format!("{}://{user}:***@{}", &url[..scheme_end], &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(super::redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite://x.db"), "sqlite://x.db");
    }
}
