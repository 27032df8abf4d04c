//! `fitforall bench rush` as a user runs it, small: 200 residents for 5 slots of 10 places, over
//! HTTP (server processes of the binary) and in-process, batched and naive. Every run must sell
//! exactly the 50 places, persist what it acknowledged and overbook nothing. On SQLite, and on
//! PostgreSQL with two server processes (and the in-process runs twice) when
//! FITFORALL_TEST_DATABASE_URL is set.

use std::process::{Command, Output};

use fitforall_store::testing::TestDatabase;

fn rush(extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fitforall"))
        .args(["bench", "rush", "--users", "200", "--slots", "5", "--places", "10", "--concurrency", "64"])
        .args(extra)
        .env("FITFORALL_LOG", "warn")
        .env_remove("FITFORALL_CONFIG")
        .output()
        .expect("run fitforall")
}

/// The `result key=value …` lines, as maps.
fn results(stdout: &str) -> Vec<std::collections::HashMap<String, String>> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("result "))
        .map(|line| line.split(' ').filter_map(|pair| pair.split_once('=')).map(|(key, value)| (key.to_string(), value.to_string())).collect())
        .collect()
}

/// `in_process_repeats`: the `--repeat` given (each in-process mode runs that many times).
fn check(output: &Output, label: &str, processes: &str, in_process_repeats: usize) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let all = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{label}: {all}");
    let runs = results(&stdout);
    assert_eq!(runs.len(), 2 + 2 * in_process_repeats, "{label}: HTTP and in-process, batched and naive: {all}");
    for run in &runs {
        let field = |key: &str| run.get(key).map(String::as_str).unwrap_or_else(|| panic!("{label}: no {key} in {run:?}"));
        assert_eq!(field("overbooked"), "0", "{label}: {run:?}");
        assert_eq!(field("audit_mismatches"), "0", "{label}: {run:?}");
        assert_eq!(field("acknowledged"), field("persisted"), "{label}: every acknowledged booking is in the database: {run:?}");
        assert_eq!(field("acknowledged"), "50", "{label}: 200 residents for 50 places sell them all: {run:?}");
        assert_eq!(field("requests"), "200", "{label}: {run:?}");
        assert_eq!(field("ok"), "true", "{label}: {run:?}");
        if field("part") == "http" {
            assert_eq!(field("processes"), processes, "{label}: {run:?}");
            assert_eq!(field("run"), "1", "{label}: {run:?}");
        }
    }
    let in_process_runs =
        |mode: &str| -> Vec<String> { runs.iter().filter(|run| run["part"] == "in_process" && run["mode"] == mode).map(|run| run["run"].clone()).collect() };
    let numbers: Vec<String> = (1..=in_process_repeats).map(|run| run.to_string()).collect();
    assert_eq!(in_process_runs("batched"), numbers, "{label}: each in-process repeat on its own fresh copy");
    assert_eq!(in_process_runs("naive"), numbers, "{label}");
    if in_process_repeats > 1 {
        assert!(stdout.contains(&format!("(the median of {in_process_repeats} runs: ")), "{label}: {stdout}");
    }
    assert!(stdout.contains("batched ÷ naive, HTTP"), "{label}: {stdout}");
    assert!(stdout.contains("batched ÷ naive, in-process"), "{label}: {stdout}");
    assert!(stdout.contains("overbooking: none"), "{label}: {stdout}");
}

#[test]
fn small_rush_on_sqlite_overbooks_nothing() {
    let output = rush(&["--seed", "7"]);
    check(&output, "sqlite", "1", 1);
}

#[tokio::test]
async fn small_rush_on_postgres_with_two_processes() {
    let Some(database) = TestDatabase::postgres().await else { return };
    let url = database.url.clone();
    let output = tokio::task::spawn_blocking(move || rush(&["--database", &url, "--processes", "2", "--repeat", "2"])).await.unwrap();
    check(&output, "postgres", "2", 2);
}

#[test]
fn repeated_in_process_runs_each_get_a_fresh_copy_and_a_median() {
    let output = rush(&["--seed", "7", "--repeat", "3"]);
    check(&output, "sqlite, three in-process runs per mode", "1", 3);
}

#[test]
fn a_database_that_is_not_empty_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", directory.path().join("used.db").display());
    assert!(rush(&["--database", &url, "--skip-http"]).status.success());
    let output = rush(&["--database", &url, "--skip-http"]);
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("needs an EMPTY database"), "{text}");
}
