//! `fitforall bench …` (owned by the benchmark work).

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Nearby venue search: spatial index vs full scan, in-process and over HTTP.
    Search,
}

pub async fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Search => anyhow::bail!("not implemented yet"),
    }
}
