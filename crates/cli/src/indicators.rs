//! `fitforall indicators per-capita-area --region CODE [--year Y]`.

use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::{Subcommand, ValueEnum};
use fitforall_server::api::indicators::{PerCapitaAreaRow, compute};
use fitforall_server::config::ServerConfig;
use fitforall_server::state::AppState;
use fitforall_store::Store;

use crate::settings::FileSettings;

#[derive(Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
}

#[derive(Subcommand)]
pub enum IndicatorCommand {
    /// Per-capita sports area of a region and each of its children.
    PerCapitaArea {
        /// Region code in any form (33, 3301, 330106, …).
        #[arg(long)]
        region: String,
        /// Default: the latest year with population data.
        #[arg(long)]
        year: Option<u16>,
        #[arg(long, env = "FITFORALL_DATABASE_URL")]
        database: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
    },
}

fn format_row(row: &PerCapitaAreaRow) -> [String; 6] {
    [
        row.region.short_code.clone(),
        row.region.name.clone(),
        row.venue_count.to_string(),
        format!("{:.0}", row.sports_area_m2),
        row.population.as_ref().map(|p| format!("{}{}", p.population, if p.source == "own" { "" } else { "*" })).unwrap_or_else(|| "—".into()),
        row.value_m2_per_person.map(|v| format!("{v:.4}")).unwrap_or_else(|| "—".into()),
    ]
}

pub async fn run(command: IndicatorCommand, file: &FileSettings) -> anyhow::Result<ExitCode> {
    let IndicatorCommand::PerCapitaArea { region, year, database, format } = command;
    let url = crate::database_url(database, file);
    let store = Store::connect(&url).await.with_context(|| format!("cannot open the database {}", fitforall_server::startup::redact(&url)))?;
    fitforall_server::startup::seed_regions_if_empty(&store).await?;
    let state = AppState::load(store, ServerConfig::new("127.0.0.1:0".parse().expect("valid"), url)).await?;
    let snapshot = state.snapshot();
    let code = fitforall_server::api::regions::parse_region(&snapshot.regions, "region", &region).map_err(|error| anyhow!(error.message))?;
    let result = compute(&snapshot, code, year, false).map_err(|error| anyhow!(error.message))?;
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&result)?),
        OutputFormat::Csv => {
            let mut writer = csv::Writer::from_writer(std::io::stdout());
            writer.write_record(["region_code", "name", "venues", "sports_area_m2", "population", "m2_per_person"])?;
            writer.write_record(format_row(&result.total))?;
            for child in &result.children {
                writer.write_record(format_row(child))?;
            }
            writer.flush()?;
        }
        OutputFormat::Table => {
            println!("人均体育场地面积 Per-capita sports area — {} ({}), {}", result.total.region.full_name, result.total.region.short_code, result.year);
            println!("{}", result.indicator.text_en);
            println!();
            println!("{:<10} {:<16} {:>7} {:>14} {:>12} {:>10}", "code", "name", "venues", "area_m2", "population", "m2/person");
            let print = |row: &PerCapitaAreaRow| {
                let [code, name, venues, area, population, value] = format_row(row);
                println!("{code:<10} {name:<16} {venues:>7} {area:>14} {population:>12} {value:>10}");
            };
            print(&result.total);
            for child in &result.children {
                print(child);
            }
            println!();
            println!("* population is the sum of the region's children (no own figure)");
        }
    }
    state.store().close().await;
    Ok(ExitCode::SUCCESS)
}
