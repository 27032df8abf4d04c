//! The `fitforall` binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod admin;
mod bench;
mod bench_rush;
mod bench_score;
mod demo;
mod demo_data;
mod demo_fitness;
mod import;
mod import_fitness;
mod indicators;
mod score;
mod settings;

#[derive(Parser)]
#[command(
    name = "fitforall",
    version,
    about = "FitForAll 全民健身: public venues, fitness testing and indicators for a region's public fitness service system"
)]
struct Cli {
    /// Config file (TOML); default ./fitforall.toml when present.
    #[arg(long, global = true, env = "FITFORALL_CONFIG")]
    config: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long, global = true, env = "FITFORALL_LOG_FORMAT")]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web pages and the API.
    Serve {
        /// sqlite://PATH (default sqlite://fitforall.db, created and migrated) or postgres://…
        #[arg(long, env = "FITFORALL_DATABASE_URL")]
        database: Option<String>,
        /// HOST:PORT (default 127.0.0.1:8080; port 0 picks a free one).
        #[arg(long, env = "FITFORALL_LISTEN")]
        listen: Option<String>,
        /// How bookings reach the database: batched (default) or naive (one transaction per
        /// request, for benchmarks). Overrides `mode` in the config file's [booking] table.
        #[arg(long, env = "FITFORALL_BOOKING_MODE")]
        booking_mode: Option<String>,
    },
    /// Build a fresh demo database (all regions, demo population, ~600 Zhejiang venues) and serve it.
    Demo {
        #[arg(long, env = "FITFORALL_LISTEN")]
        listen: Option<String>,
        /// Default sqlite://fitforall-demo.db (replaced on every start). Another database must be empty.
        #[arg(long)]
        database: Option<String>,
        /// Seed of the generated data set.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
    /// Import reference data or fitness results from a file. A file with errors imports nothing unless
    /// --skip-invalid.
    Import {
        #[command(subcommand)]
        what: import::ImportKind,
    },
    /// Compute indicators.
    Indicators {
        #[command(subcommand)]
        which: indicators::IndicatorCommand,
    },
    /// Accounts from the command line (bootstrap the first platform administrator).
    Admin {
        #[command(subcommand)]
        which: admin::AdminCommand,
    },
    /// Score a CSV of fitness test records against a standard (streaming, all cores); bad rows go to
    /// OUTPUT.errors.csv.
    Score(score::ScoreArgs),
    /// Benchmarks (results go to BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        which: bench::BenchCommand,
    },
}

fn init_logging(format: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FITFORALL_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    if format == Some("json") {
        builder.json().init();
    } else {
        builder.compact().init();
    }
}

/// What a program that stopped reading our output (`fitforall score … | head -1`) gets: `println!`
/// panics on the broken pipe (Rust ignores SIGPIPE), which would print a panic message and a
/// backtrace. Exit quietly instead, with the status of a process killed by SIGPIPE (128 + 13), as
/// command-line tools do; every other panic is reported as before.
fn exit_quietly_on_broken_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied()).unwrap_or("");
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        report(info);
    }));
}

fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
    let cli = Cli::parse();
    let file = match settings::read_file_settings(cli.config.as_deref()) {
        Ok(file) => file,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    init_logging(cli.log_format.as_deref().or(file.log_format.as_deref()));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve { database, listen, booking_mode } => {
                let secret = std::env::var("FITFORALL_SECRET").ok();
                let mut config = settings::server_config(&file, settings::Overrides { listen, database_url: database, secret })?;
                config.booking = settings::booking_config(&file.booking, booking_mode.as_deref())?;
                serve(config).await
            }
            Command::Demo { listen, database, seed } => demo::run(&file, listen, database, seed).await,
            Command::Import { what } => import::run(what, &file).await,
            Command::Indicators { which } => indicators::run(which, &file).await,
            Command::Admin { which } => admin::run(which, &file).await,
            Command::Score(args) => score::run(args),
            Command::Bench { which } => bench::run(which).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Builds the application, prints where it listens, serves until Ctrl-C or SIGTERM.
pub async fn serve(config: fitforall_server::config::ServerConfig) -> anyhow::Result<ExitCode> {
    let database = fitforall_server::startup::redact(&config.database_url);
    let application = fitforall_server::startup::Application::build(config).await?;
    let snapshot = application.state.snapshot();
    println!("  database: {database} ({} regions, {} venues)", snapshot.regions.len(), snapshot.catalog.len());
    let booking = application.state.booking().config();
    println!(
        "  booking: {} ({} shards, batch window {} ms, at most {} per batch)",
        settings::booking_mode_name(booking.mode),
        booking.shards,
        booking.batch_window_ms,
        booking.max_batch
    );
    println!("FitForAll listening on http://{}", application.local_addr());
    use std::io::Write;
    std::io::stdout().flush().ok();
    application.serve(fitforall_server::startup::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// The database URL for commands that only need the store: flag, env, config file, default.
pub fn database_url(flag: Option<String>, file: &settings::FileSettings) -> String {
    flag.or_else(|| file.database_url.clone()).unwrap_or_else(|| fitforall_server::config::DEFAULT_DATABASE_URL.to_string())
}
