//! Settings for `serve` and `demo`: flags, then environment variables (clap reads both), then a
//! TOML config file, then defaults.
//!
//! The booking rush engine is set in a `[booking]` table:
//!
//! ```toml
//! [booking]
//! mode = "batched"        # or "naive": one transaction per request (benchmarks only)
//! shards = 0              # workers; 0 = automatic (1 on SQLite, 4 on PostgreSQL)
//! batch_window_ms = 2     # how long a worker waits for more requests after the first of a batch
//! max_batch = 500         # most requests in one batch
//! ```
//!
//! `serve --booking-mode` (or `FITFORALL_BOOKING_MODE`) overrides `mode`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use fitforall_server::booking_engine::{BookingEngineConfig, BookingMode};
use fitforall_server::config::{DEFAULT_DATABASE_URL, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES, DEFAULT_REFRESH_INTERVAL_MS, ServerConfig};

/// The config file's shape. Every key is optional.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub refresh_interval_ms: Option<u64>,
    pub log_format: Option<String>,
    /// Keys the hashes of identity numbers (≥ 32 bytes). Prefer the FITFORALL_SECRET environment
    /// variable; never put it on the command line.
    pub secret: Option<String>,
    /// Mark the session cookie Secure (behind TLS).
    pub cookie_secure: Option<bool>,
    /// The booking rush engine (`[booking]`).
    #[serde(default)]
    pub booking: BookingSettings,
}

/// The `[booking]` table: how booking requests reach the store. Every key is optional.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingSettings {
    /// `batched` (default) or `naive` (one transaction per request, for benchmarks).
    pub mode: Option<String>,
    /// Shard workers; 0 or absent = automatic (1 on SQLite, 4 on PostgreSQL).
    pub shards: Option<usize>,
    /// How long a worker collects requests after the first of a batch, milliseconds.
    pub batch_window_ms: Option<u64>,
    /// Most requests in one batch.
    pub max_batch: Option<usize>,
}

/// Most shard workers accepted.
pub const MAX_BOOKING_SHARDS: usize = 64;
/// Longest batch window accepted, milliseconds (every booking waits up to this long).
pub const MAX_BATCH_WINDOW_MS: u64 = 1_000;

/// `batched` or `naive` (case and surrounding spaces ignored).
pub fn parse_booking_mode(text: &str) -> anyhow::Result<BookingMode> {
    match text.trim().to_ascii_lowercase().as_str() {
        "batched" => Ok(BookingMode::Batched),
        "naive" => Ok(BookingMode::Naive),
        _ => bail!("booking mode {text:?} is not \"batched\" or \"naive\""),
    }
}

/// The name `parse_booking_mode` reads.
pub fn booking_mode_name(mode: BookingMode) -> &'static str {
    match mode {
        BookingMode::Batched => "batched",
        BookingMode::Naive => "naive",
    }
}

/// The rush engine's settings: the `[booking]` table over the defaults, then `mode_override` (the
/// `--booking-mode` flag or `FITFORALL_BOOKING_MODE`) over its `mode`.
pub fn booking_config(file: &BookingSettings, mode_override: Option<&str>) -> anyhow::Result<BookingEngineConfig> {
    let mut config = BookingEngineConfig::default();
    if let Some(mode) = mode_override.or(file.mode.as_deref()) {
        config.mode = parse_booking_mode(mode)?;
    }
    if let Some(shards) = file.shards {
        if shards > MAX_BOOKING_SHARDS {
            bail!("booking.shards must be from 0 (automatic) to {MAX_BOOKING_SHARDS}, got {shards}");
        }
        config.shards = shards;
    }
    if let Some(window) = file.batch_window_ms {
        if window > MAX_BATCH_WINDOW_MS {
            bail!("booking.batch_window_ms must be from 0 to {MAX_BATCH_WINDOW_MS}, got {window}");
        }
        config.batch_window_ms = window;
    }
    if let Some(max_batch) = file.max_batch {
        if !(1..=fitforall_store::MAX_BATCH_REQUESTS).contains(&max_batch) {
            bail!("booking.max_batch must be from 1 to {}, got {max_batch}", fitforall_store::MAX_BATCH_REQUESTS);
        }
        config.max_batch = max_batch;
    }
    Ok(config)
}

/// The default config file, read when present and no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "fitforall.toml";

pub fn read_file_settings(explicit: Option<&Path>) -> anyhow::Result<FileSettings> {
    let path: PathBuf = match explicit {
        Some(path) => path.to_path_buf(),
        None if Path::new(DEFAULT_CONFIG_FILE).exists() => PathBuf::from(DEFAULT_CONFIG_FILE),
        None => return Ok(FileSettings::default()),
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {} is invalid", path.display()))
}

/// Values given on the command line or in the environment (None when neither).
pub struct Overrides {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    /// From FITFORALL_SECRET.
    pub secret: Option<String>,
}

pub fn server_config(file: &FileSettings, overrides: Overrides) -> anyhow::Result<ServerConfig> {
    let listen_text = overrides.listen.or_else(|| file.listen.clone()).unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let listen: SocketAddr = listen_text.parse().with_context(|| format!("listen address {listen_text:?} is not HOST:PORT, e.g. 127.0.0.1:8080"))?;
    let database_url = overrides.database_url.or_else(|| file.database_url.clone()).unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
    let mut config = ServerConfig::new(listen, database_url);
    config.max_body_bytes = file.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
    config.refresh_interval_ms = file.refresh_interval_ms.unwrap_or(DEFAULT_REFRESH_INTERVAL_MS);
    config.secret = overrides.secret.or_else(|| file.secret.clone()).filter(|secret| !secret.is_empty());
    if config.secret.as_ref().is_some_and(|secret| secret.len() < fitforall_server::auth::MIN_SECRET_BYTES) {
        bail!("the server secret must be at least {} bytes", fitforall_server::auth::MIN_SECRET_BYTES);
    }
    config.cookie_secure = file.cookie_secure.unwrap_or(false);
    config.booking = booking_config(&file.booking, None)?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_beats_defaults() {
        let file: FileSettings = toml::from_str("listen = \"0.0.0.0:9000\"\ndatabase_url = \"sqlite://file.db\"\nmax_body_bytes = 2048").unwrap();
        let config = server_config(&file, Overrides { listen: None, database_url: Some("sqlite://flag.db".into()), secret: None }).unwrap();
        assert_eq!(config.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(config.database_url, "sqlite://flag.db");
        assert_eq!(config.max_body_bytes, 2048);
        let config = server_config(&FileSettings::default(), Overrides { listen: None, database_url: None, secret: None }).unwrap();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
    }

    #[test]
    fn bad_settings_are_explained() {
        let error = toml::from_str::<FileSettings>("listen_addr = \"x\"").unwrap_err();
        assert!(error.to_string().contains("unknown field `listen_addr`"), "{error}");
        let error = server_config(&FileSettings::default(), Overrides { listen: Some("nowhere".into()), database_url: None, secret: None }).unwrap_err();
        assert_eq!(error.to_string(), "listen address \"nowhere\" is not HOST:PORT, e.g. 127.0.0.1:8080");
    }

    #[test]
    fn booking_table_and_mode_override() {
        let config = server_config(&FileSettings::default(), Overrides { listen: None, database_url: None, secret: None }).unwrap();
        assert_eq!(config.booking.mode, BookingMode::Batched);
        assert_eq!(config.booking.max_batch, BookingEngineConfig::default().max_batch);
        let file: FileSettings = toml::from_str("[booking]\nmode = \"naive\"\nshards = 2\nbatch_window_ms = 5\nmax_batch = 100").unwrap();
        let config = server_config(&file, Overrides { listen: None, database_url: None, secret: None }).unwrap();
        assert_eq!((config.booking.mode, config.booking.shards, config.booking.batch_window_ms, config.booking.max_batch), (BookingMode::Naive, 2, 5, 100));
        let overridden = booking_config(&file.booking, Some(" Batched ")).unwrap();
        assert_eq!((overridden.mode, overridden.shards), (BookingMode::Batched, 2), "the flag or environment beats the file's mode only");
        assert_eq!(parse_booking_mode(booking_mode_name(BookingMode::Naive)).unwrap(), BookingMode::Naive);
    }

    #[test]
    fn bad_booking_settings_are_explained() {
        let error = booking_config(&BookingSettings::default(), Some("fast")).unwrap_err();
        assert_eq!(error.to_string(), "booking mode \"fast\" is not \"batched\" or \"naive\"");
        let bad =
            |text: &str| server_config(&toml::from_str(text).unwrap(), Overrides { listen: None, database_url: None, secret: None }).unwrap_err().to_string();
        assert_eq!(bad("[booking]\nmax_batch = 0"), "booking.max_batch must be from 1 to 1000, got 0");
        assert_eq!(bad("[booking]\nshards = 65"), "booking.shards must be from 0 (automatic) to 64, got 65");
        assert_eq!(bad("[booking]\nbatch_window_ms = 5000"), "booking.batch_window_ms must be from 0 to 1000, got 5000");
        let error = toml::from_str::<FileSettings>("[booking]\nwindow = 3").unwrap_err();
        assert!(error.to_string().contains("unknown field `window`"), "{error}");
    }
}
