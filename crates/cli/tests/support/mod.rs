//! What the CLI tests share: running the built binary on a test database, its output, input files.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use fitforall_store::testing::TestDatabase;

/// Runs `fitforall ARGS` with `database` as its database.
pub fn fitforall(database: &TestDatabase, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fitforall"))
        .args(args)
        .env("FITFORALL_DATABASE_URL", &database.url)
        .env("FITFORALL_LOG", "warn")
        .output()
        .expect("run fitforall")
}

/// Standard output and standard error together.
pub fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Writes `contents` to `directory/name` and returns its path.
pub fn write(directory: &Path, name: &str, contents: &str) -> String {
    let path = directory.join(name);
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

/// The audit log's entries with `action`, newest first (at most 50).
pub async fn audit_entries(store: &fitforall_store::Store, action: &str) -> Vec<fitforall_store::AuditEntry> {
    let query = fitforall_store::AuditQuery { actor: None, action: Some(action.into()), region: None, from: None, to: None, limit: 50, offset: 0 };
    store.search_audit(&query).await.unwrap()
}
