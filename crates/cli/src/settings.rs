//! Settings for `serve` and `demo`: flags, then environment variables (clap reads both), then a
//! TOML config file, then defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
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
}
