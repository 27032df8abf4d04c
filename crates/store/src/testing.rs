//! Fresh databases for tests: a SQLite file in a temporary directory always, and a new PostgreSQL
//! database when `FITFORALL_TEST_DATABASE_URL` points at a server (CI sets it). Each call gives a
//! database of its own, so tests run in parallel without seeing each other's rows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Connection;

/// The environment variable naming a PostgreSQL server URL for tests.
pub const TEST_DATABASE_URL_VAR: &str = "FITFORALL_TEST_DATABASE_URL";

/// A database for one test. Keeps its temporary directory alive as long as it lives.
pub struct TestDatabase {
    pub url: String,
    pub label: &'static str,
    _directory: Option<TempDirectory>,
}

/// A temporary directory removed on drop (a tiny stand-in to keep `tempfile` out of non-test builds).
struct TempDirectory(std::path::PathBuf);

impl Drop for TempDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_suffix() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), nanos % 1_000_000_000)
}

impl TestDatabase {
    pub fn sqlite() -> TestDatabase {
        let directory = std::env::temp_dir().join(format!("fitforall_test_{}", unique_suffix()));
        std::fs::create_dir_all(&directory).expect("create a temporary directory");
        let url = format!("sqlite://{}", directory.join("test.db").display());
        TestDatabase { url, label: "sqlite", _directory: Some(TempDirectory(directory)) }
    }

    /// A new, empty PostgreSQL database, or `None` when the environment names no server.
    pub async fn postgres() -> Option<TestDatabase> {
        let server_url = std::env::var(TEST_DATABASE_URL_VAR).ok().filter(|url| !url.is_empty())?;
        let name = format!("fitforall_test_{}", unique_suffix());
        let mut connection = sqlx::PgConnection::connect(&server_url).await.unwrap_or_else(|error| panic!("{TEST_DATABASE_URL_VAR}={server_url}: {error}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut connection).await.expect("create a test database");
        connection.close().await.ok();
        let url = replace_database_name(&server_url, &name);
        Some(TestDatabase { url, label: "postgres", _directory: None })
    }

    /// SQLite always, plus PostgreSQL when configured: run every store story on each.
    pub async fn all() -> Vec<TestDatabase> {
        let mut databases = vec![TestDatabase::sqlite()];
        if let Some(postgres) = TestDatabase::postgres().await {
            databases.push(postgres);
        }
        databases
    }
}

fn replace_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_database_name() {
        let check = |url: &str, expect: &str| assert_eq!(super::replace_database_name(url, "x"), expect);
        check("postgres://u@127.0.0.1:5999/postgres", "postgres://u@127.0.0.1:5999/x");
        check("postgres://u@127.0.0.1:5999", "postgres://u@127.0.0.1:5999/x");
        check("postgres://u@h:1/db?sslmode=disable", "postgres://u@h:1/x?sslmode=disable");
    }
}
