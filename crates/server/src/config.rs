//! Server settings. The binary merges defaults, a config file, environment variables and flags
//! into one of these; the server never reads the environment itself.

use std::net::SocketAddr;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub database_url: String,
    /// Largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// How often to check the database for changes made by other processes.
    pub refresh_interval_ms: u64,
    /// Show the demo banner on every page and in `/healthz`.
    pub demo: bool,
    /// Accept `strategy=scan` on venue searches (a full scan, ~100× the cost of the index): for
    /// benchmarks only, never on a public server.
    pub allow_scan_strategy: bool,
    /// Server secret (≥ 32 bytes): keys the hashes of identity numbers. Without it, identity numbers
    /// cannot be recorded (503), everything else works.
    pub secret: Option<String>,
    /// Mark the session cookie `Secure` (set it when serving behind TLS).
    pub cookie_secure: bool,
    /// Login attempts per client IP per minute, and registrations per client IP per hour.
    pub login_per_ip_per_minute: u32,
    pub registrations_per_ip_per_hour: u32,
    /// Password-reset requests plus reset confirmations per client IP per hour (each confirmation
    /// counts, so reset codes cannot be guessed quickly from one address).
    pub resets_per_ip_per_hour: u32,
    /// How often the outbox sender looks for messages to send (at least 50 ms).
    pub outbox_poll_ms: u64,
    /// How often the background job generates the slots of every bookable resource ahead of its
    /// booking window (at least 1,000 ms; it also runs at start and after each resource write).
    pub slot_generation_interval_ms: u64,
    /// The booking rush engine: batching, shards, back-pressure, hold expiry.
    pub booking: crate::booking_engine::BookingEngineConfig,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://fitforall.db";
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
pub const DEFAULT_REFRESH_INTERVAL_MS: u64 = 2_000;
pub const DEFAULT_OUTBOX_POLL_MS: u64 = 1_000;
pub const DEFAULT_SLOT_GENERATION_INTERVAL_MS: u64 = 3_600_000;
pub const DEFAULT_RESETS_PER_IP_PER_HOUR: u32 = 10;

impl ServerConfig {
    pub fn new(listen: SocketAddr, database_url: impl Into<String>) -> ServerConfig {
        ServerConfig {
            listen,
            database_url: database_url.into(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            refresh_interval_ms: DEFAULT_REFRESH_INTERVAL_MS,
            demo: false,
            allow_scan_strategy: false,
            secret: None,
            cookie_secure: false,
            login_per_ip_per_minute: 20,
            registrations_per_ip_per_hour: 20,
            resets_per_ip_per_hour: DEFAULT_RESETS_PER_IP_PER_HOUR,
            outbox_poll_ms: DEFAULT_OUTBOX_POLL_MS,
            slot_generation_interval_ms: DEFAULT_SLOT_GENERATION_INTERVAL_MS,
            booking: crate::booking_engine::BookingEngineConfig::default(),
        }
    }
}
