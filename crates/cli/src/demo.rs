//! `fitforall demo`: a fresh demo database, served.

use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::Utc;
use fitforall_core::region::RegionTree;
use fitforall_server::reference::ZHEJIANG_CITIES_GEOJSON;
use fitforall_store::Store;
use rand::{Rng, SeedableRng};

use crate::settings::{FileSettings, Overrides};

pub const DEFAULT_DEMO_DATABASE: &str = "sqlite://fitforall-demo.db";

/// Removes the default demo SQLite file (and its WAL files) so every demo starts fresh.
fn remove_default_demo_file() -> anyhow::Result<()> {
    let path = DEFAULT_DEMO_DATABASE.trim_start_matches("sqlite://");
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{path}{suffix}");
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error).with_context(|| format!("cannot remove the old demo database {file}")),
        }
    }
    Ok(())
}

/// Fills an empty database with the demo data set. Refuses a database that already holds venues.
pub async fn build_demo_database(url: &str, seed: u64) -> anyhow::Result<(usize, usize)> {
    let store = Store::connect(url).await.with_context(|| format!("cannot open the database {}", fitforall_server::startup::redact(url)))?;
    fitforall_server::startup::seed_regions_if_empty(&store).await?;
    let (existing, _) = store.load_venues().await?;
    if !existing.is_empty() {
        bail!("the demo needs an empty database, but {} already has {} venues", fitforall_server::startup::redact(url), existing.len());
    }
    let (tree, _) = RegionTree::build(store.load_regions().await?)?;
    let data = crate::demo_data::generate(&tree, ZHEJIANG_CITIES_GEOJSON, seed).map_err(anyhow::Error::msg).context("cannot generate the demo data")?;
    let now = Utc::now();
    store.upsert_population(&data.population, now).await?;
    store.upsert_venues(&data.venues, now).await?;
    store.close().await;
    Ok((data.population.len(), data.venues.len()))
}

pub async fn run(file: &FileSettings, listen: Option<String>, database: Option<String>, seed: u64) -> anyhow::Result<ExitCode> {
    let url = match database {
        Some(url) => url,
        None => {
            remove_default_demo_file()?;
            DEFAULT_DEMO_DATABASE.to_string()
        }
    };
    println!("FitForAll 演示 DEMO — demo data set: the population and venues are generated (seed {seed}), not real figures.");
    use std::io::Write;
    std::io::stdout().flush().ok();
    let (population_rows, venues) = build_demo_database(&url, seed).await?;
    let admin_token: String = {
        let mut rng = rand::rngs::StdRng::from_os_rng();
        (0..32).map(|_| char::from_digit(rng.random_range(0..16), 16).expect("hex digit")).collect()
    };
    let mut config = crate::settings::server_config(file, Overrides { listen, database_url: Some(url), admin_token: Some(admin_token.clone()) })?;
    config.demo = true;
    println!("  demo data: {venues} venues across Zhejiang's 11 cities, {population_rows} county population figures (2022–2024)");
    println!("  a sample of venues against a full population: per-capita sports area comes out near 0.03 m², not the 2.8 m² Zhejiang reported for 2022");
    println!("  admin token for API writes (Authorization: Bearer …): {admin_token}");
    crate::serve(config).await
}
