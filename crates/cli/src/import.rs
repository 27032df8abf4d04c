//! `fitforall import regions|population|venues FILE`; `import fitness-results` is in `import_fitness.rs`.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use clap::{Subcommand, ValueEnum};
use fitforall_core::region::{RegionCode, RegionTree};
use fitforall_server::import::{self, ImportReport};
use fitforall_store::{AuditEntry, Store, UpsertSummary};
use indicatif::{ProgressBar, ProgressStyle};

use crate::settings::FileSettings;

/// Files larger than this get a progress bar.
const PROGRESS_BAR_BYTES: u64 = 256 * 1024;
/// Errors printed in full; the rest are counted.
const MAX_PRINTED_ERRORS: usize = 200;

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The file to import.
    file: PathBuf,
    #[arg(long, env = "FITFORALL_DATABASE_URL")]
    database: Option<String>,
    /// Import the valid rows even when some rows are invalid (they are still reported).
    #[arg(long)]
    skip_invalid: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum VenueFormat {
    Csv,
    Geojson,
}

#[derive(Subcommand)]
pub enum ImportKind {
    /// Regions: CSV with columns code,name (the files of shared/data/regions work as they are).
    Regions(ImportArgs),
    /// Population: CSV with columns region_code,year,population (year-end residents).
    Population(ImportArgs),
    /// Venues: CSV (columns as the API's fields) or GeoJSON (a FeatureCollection of Points).
    Venues {
        #[command(flatten)]
        args: ImportArgs,
        /// Default: by extension (.geojson/.json → GeoJSON, else CSV).
        #[arg(long, value_enum)]
        format: Option<VenueFormat>,
    },
    /// Fitness test results: a CSV of test records (the layout `fitforall score` reads) scored against
    /// --standard and stored for the pass-rate indicator and reports.
    ///
    /// Every row is checked before anything is written (all-or-nothing unless --skip-invalid). The
    /// results are then written in chunks of 10,000, one transaction each: a crash mid-write leaves
    /// the earlier chunks stored, and re-running the same import completes it (stored rows come back
    /// unchanged). A row is replaced per person (id), standard and test date. Records with an item
    /// not tested are stored as incomplete and not counted in pass rates.
    FitnessResults(crate::import_fitness::FitnessResultsArgs),
}

/// Opens `path` for reading; a file of `PROGRESS_BAR_BYTES` or more shows a progress bar (returned,
/// hidden otherwise) labelled `message` and the path.
pub(crate) fn open_with_progress(path: &Path, message: &str) -> anyhow::Result<(Box<dyn Read>, ProgressBar)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = file.metadata().map(|meta| meta.len()).unwrap_or(0);
    if size < PROGRESS_BAR_BYTES {
        return Ok((Box::new(file), ProgressBar::hidden()));
    }
    let bar = ProgressBar::new(size);
    bar.set_style(ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")?.progress_chars("=> "));
    bar.set_message(format!("{message} {}", path.display()));
    Ok((Box::new(bar.wrap_read(file)), bar))
}

fn open_reading(path: &Path) -> anyhow::Result<Box<dyn Read>> {
    Ok(open_with_progress(path, "reading")?.0)
}

fn report_errors<T>(path: &Path, report: &ImportReport<T>) {
    for error in report.errors.iter().take(MAX_PRINTED_ERRORS) {
        eprintln!("{}: {error}", path.display());
    }
    if report.errors.len() > MAX_PRINTED_ERRORS || report.errors_truncated {
        eprintln!("{}: … more errors not shown", path.display());
    }
}

/// Prints the report; returns false when nothing may be written.
fn check_report<T>(path: &Path, report: &ImportReport<T>, skip_invalid: bool) -> bool {
    report_errors(path, report);
    let invalid = report.invalid_rows();
    let file_level_error =
        report.errors.iter().any(|error| matches!(error.location, import::RowLocation::File) || error.location == import::RowLocation::Line(1));
    println!("{}: {} rows read, {} valid, {} invalid", path.display(), report.rows_read, report.rows.len(), invalid);
    if file_level_error {
        println!("nothing imported: the file itself is not usable (see the errors above)");
        return false;
    }
    if !report.errors.is_empty() && !skip_invalid {
        println!("nothing imported: fix the rows above, or pass --skip-invalid to import the {} valid rows", report.rows.len());
        return false;
    }
    true
}

fn print_summary(summary: UpsertSummary) {
    println!("imported: {} inserted, {} updated, {} unchanged", summary.inserted, summary.updated, summary.unchanged);
}

/// Records an import that wrote to the database in the audit log, as `admin create` records its
/// accounts: the CLI as the actor, the file as the target, what changed as the entry's after.
/// `region` decides which region administrators see the entry (none: platform administrators only).
pub(crate) async fn audit_import(store: &Store, action: &str, path: &Path, region: Option<RegionCode>, summary: UpsertSummary) -> anyhow::Result<()> {
    let after = serde_json::json!({
        "file": path.display().to_string(),
        "inserted": summary.inserted,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
    });
    store
        .append_audit(&AuditEntry {
            id: fitforall_server::auth::new_id(),
            at: Utc::now(),
            actor: None,
            actor_label: "cli".into(),
            action: action.into(),
            target: format!("file {}", path.display()),
            region,
            before_json: None,
            after_json: Some(after.to_string()),
        })
        .await
        .context("the import was written, but recording it in the audit log failed")
}

pub(crate) async fn open_store(database: Option<String>, file: &FileSettings) -> anyhow::Result<Store> {
    let url = crate::database_url(database, file);
    let store = Store::connect(&url).await.with_context(|| format!("cannot open the database {}", fitforall_server::startup::redact(&url)))?;
    fitforall_server::startup::seed_regions_if_empty(&store).await?;
    Ok(store)
}

pub(crate) async fn load_tree(store: &Store) -> anyhow::Result<RegionTree> {
    let (tree, _) = RegionTree::build(store.load_regions().await?)?;
    Ok(tree)
}

pub async fn run(kind: ImportKind, file: &FileSettings) -> anyhow::Result<ExitCode> {
    match kind {
        ImportKind::FitnessResults(args) => return crate::import_fitness::run(args, file).await,
        ImportKind::Regions(args) => {
            let report = import::read_regions_csv(open_reading(&args.file)?);
            if !check_report(&args.file, &report, args.skip_invalid) {
                return Ok(ExitCode::FAILURE);
            }
            let store = open_store(args.database, file).await?;
            let mut all = store.load_regions().await?;
            all.extend(report.rows.iter().cloned());
            all.sort_by_key(|region| (region.level(), region.code));
            let (tree, _) = RegionTree::build(all).context("the imported regions do not fit the hierarchy")?;
            let summary = store.upsert_regions(&report.rows, |code| tree.parent(code)).await?;
            print_summary(summary);
            audit_import(&store, "import_regions", &args.file, None, summary).await?;
        }
        ImportKind::Population(args) => {
            let store = open_store(args.database, file).await?;
            let tree = load_tree(&store).await?;
            let report = import::read_population_csv(open_reading(&args.file)?, &tree);
            if !check_report(&args.file, &report, args.skip_invalid) {
                return Ok(ExitCode::FAILURE);
            }
            let summary = store.upsert_population(&report.rows, Utc::now()).await?;
            print_summary(summary);
            audit_import(&store, "import_population", &args.file, None, summary).await?;
        }
        ImportKind::Venues { args, format } => {
            let store = open_store(args.database, file).await?;
            let tree = load_tree(&store).await?;
            let is_geojson = match format {
                Some(VenueFormat::Geojson) => true,
                Some(VenueFormat::Csv) => false,
                None => args.file.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("geojson") || ext.eq_ignore_ascii_case("json")),
            };
            let report = if is_geojson {
                let mut text = String::new();
                open_reading(&args.file)?.read_to_string(&mut text).with_context(|| format!("cannot read {} as UTF-8 text", args.file.display()))?;
                import::read_venues_geojson(&text, &tree)
            } else {
                import::read_venues_csv(open_reading(&args.file)?, &tree)
            };
            if !check_report(&args.file, &report, args.skip_invalid) {
                return Ok(ExitCode::FAILURE);
            }
            let (summary, _) = store.upsert_venues(&report.rows, Utc::now()).await?;
            print_summary(summary);
            audit_import(&store, "import_venues", &args.file, None, summary).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
