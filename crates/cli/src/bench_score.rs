//! `fitforall bench score [--records N] [--keep FILE]`: the batch scorer against merely reading the
//! same file.
//!
//! Generates N plausible student records once (seeded; values drawn around the standard's own
//! thresholds for each sex and grade, some timed runs written as m'ss" or m:ss, 1 % of records with an
//! item not tested, 0.05 % bad rows), then in the same run measures (a) parse-only: the csv crate's
//! reader set up as `score::csv_reader`, reading every record into a reused `ByteRecord` on one
//! thread; (a') split-only: `score`'s own chunking and record splitting (which replaced that reader
//! in `score`) on one thread; (b) `fitforall score` end to end in a child process (so its peak memory
//! is its own, polled from /proc/<pid>/status and reported by the child itself). Prints records/s for
//! each, the ratios and the peak memory.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use fitforall_core::fitness::decimal::write_u64;
use fitforall_core::fitness::{Cohort, Dec, Direction, SchoolGrade, Sex, Standard};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::score::{csv_reader, load_standards, peak_memory_kib, split_only};

#[derive(Args, Debug, Clone)]
pub struct ScoreBenchArgs {
    /// Generated student records.
    #[arg(long, default_value_t = 10_000_000, value_parser = clap::value_parser!(u64).range(1..=200_000_000))]
    pub records: u64,
    /// Keep the generated input here (reused as is if it exists) instead of a temporary file.
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// Seed of the generated records.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
}

const COLUMNS: [&str; 15] = [
    "id",
    "sex",
    "grade",
    "height_cm",
    "weight_kg",
    "vital_capacity_ml",
    "run_50m_s",
    "sit_and_reach_cm",
    "standing_long_jump_cm",
    "pull_ups",
    "sit_ups_1min",
    "run_800m_s",
    "run_1000m_s",
    "rope_skip_1min",
    "shuttle_run_50m_x8_s",
];

const CHINESE_GRADES: [&str; 16] =
    ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "初一", "初二", "初三", "高一", "高二", "高三", "大一", "大二", "大三", "大四"];

pub fn run(args: ScoreBenchArgs) -> anyhow::Result<ExitCode> {
    let standards = load_standards(None)?;
    let standard = standards.get("cnsphs-2014").context("the shipped student standard")?;
    let directory = tempfile::tempdir().context("creating a temporary directory")?;
    let input = args.keep.clone().unwrap_or_else(|| directory.path().join("records.csv"));
    let output = directory.path().join("scored.csv");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("bench score: {} records, seed {}, {} cores, load average {}", args.records, args.seed, cores, load_average());

    if args.keep.as_ref().is_some_and(|path| path.exists()) {
        println!("input: reusing {}", input.display());
    } else {
        let started = Instant::now();
        generate(standard, &input, args.records, args.seed)?;
        println!("generated {} in {:.1} s", input.display(), started.elapsed().as_secs_f64());
    }
    let size = std::fs::metadata(&input)?.len();
    println!("input size: {:.1} MiB", size as f64 / 1024.0 / 1024.0);

    // Warm the page cache the same way for both parts: one untimed read of the file.
    let mut warm = File::open(&input)?;
    std::io::copy(&mut warm, &mut std::io::sink())?;

    let (parse_records, parse_time) = parse_only(&input)?;
    println!("parse-only: {parse_records} records in {:.2} s", parse_time.as_secs_f64());
    let started = Instant::now();
    let (split_records, split_fields) = split_only(&input)?;
    let split_time = started.elapsed();
    std::hint::black_box(split_fields);
    println!("split-only (score's own chunks and record splitter): {split_records} records in {:.2} s", split_time.as_secs_f64());

    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let started = Instant::now();
    let mut child = Command::new(&exe)
        .args(["score", "--standard", "cnsphs-2014"])
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting fitforall score")?;
    let pid = child.id().to_string();
    let mut polled_kib = 0u64;
    let status = loop {
        if let Some(kib) = peak_memory_kib(&pid) {
            polled_kib = polled_kib.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let score_time = started.elapsed();
    let mut report = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_string(&mut report)?;
    }
    if !status.success() {
        bail!("fitforall score failed ({status}):\n{report}");
    }
    print!("{}", report.lines().map(|line| format!("  score: {line}\n")).collect::<String>());
    let number_after = |prefix: &str| report.split(prefix).nth(1).and_then(|rest| rest.split_whitespace().next()).and_then(|n| n.parse::<u64>().ok());
    let scored = number_after("scored ").context("the score summary")?;
    let bad = number_after("rows, ").context("the score summary")?;
    let child_kib = number_after("peak memory: ").unwrap_or(0).max(polled_kib);
    if scored + bad != args.records || parse_records != args.records || split_records != args.records {
        bail!("record counts differ: generated {}, parsed {parse_records}, split {split_records}, scored {scored} + {bad} bad", args.records);
    }
    let output_size = std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0);

    let parse_rate = parse_records as f64 / parse_time.as_secs_f64();
    let score_rate = args.records as f64 / score_time.as_secs_f64();
    let ratio = score_rate / parse_rate;
    let split_rate = split_records as f64 / split_time.as_secs_f64();
    println!();
    println!("| part | records | seconds | records/s |");
    println!("|---|---:|---:|---:|");
    println!("| parse-only (same CSV reader setup, 1 reader thread) | {parse_records} | {:.2} | {:.0} |", parse_time.as_secs_f64(), parse_rate);
    println!("| split-only (score's own chunks and record splitter, 1 thread) | {split_records} | {:.2} | {:.0} |", split_time.as_secs_f64(), split_rate);
    println!("| score end to end (child process, {cores} cores) | {} | {:.2} | {:.0} |", args.records, score_time.as_secs_f64(), score_rate);
    println!();
    println!("scoring / parse-only: {:.1} %", ratio * 100.0);
    println!(
        "scoring / split-only: {:.1} % (score no longer parses with the csv crate's reader: this is its own parse step alone)",
        score_rate / split_rate * 100.0
    );
    println!("score peak memory (VmHWM of the child): {:.1} MiB; output {:.1} MiB", child_kib as f64 / 1024.0, output_size as f64 / 1024.0 / 1024.0);
    println!("bench process peak memory (generation + parse-only): {:.1} MiB", peak_memory_kib("self").unwrap_or(0) as f64 / 1024.0);
    let ratio_met = ratio >= 0.5;
    let rate_met = score_rate >= 1_000_000.0;
    println!(
        "goals: scoring >= 50 % of parse-only: {}; >= 1,000,000 records/s: {}",
        if ratio_met { "met" } else { "NOT met" },
        if rate_met { "met" } else { "NOT met" }
    );
    Ok(ExitCode::SUCCESS)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_else(|_| "unknown".into())
}

/// Reads every record of the file with the csv crate set up as `score::csv_reader` (the CSV reader of
/// the parse-only baseline), into a reused `ByteRecord` on one thread.
pub fn parse_only(path: &Path) -> anyhow::Result<(u64, Duration)> {
    let started = Instant::now();
    let mut reader = csv_reader(File::open(path)?);
    reader.byte_headers()?;
    let mut record = csv::ByteRecord::new();
    let mut count = 0u64;
    let mut fields = 0u64;
    while reader.read_byte_record(&mut record)? {
        count += 1;
        fields += record.len() as u64;
    }
    std::hint::black_box(fields);
    Ok((count, started.elapsed()))
}

/// Writes `records` plausible student records.
pub fn generate(standard: &Standard, path: &Path, records: u64, seed: u64) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).with_context(|| format!("creating {}", path.display()))?);
    out.write_all(COLUMNS.join(",").as_bytes())?;
    out.write_all(b"\n")?;
    let column_of: Vec<Option<usize>> = standard.measures().iter().map(|m| COLUMNS.iter().position(|c| *c == m.key)).collect();
    let progress = ProgressBar::new(records);
    progress.set_style(ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({elapsed})").expect("valid template").progress_chars("=> "));
    progress.set_message("generating");
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut line: Vec<u8> = Vec::with_capacity(256);
    let mut cells: Vec<Vec<u8>> = vec![Vec::new(); COLUMNS.len()];
    for id in 0..records {
        line.clear();
        cells.iter_mut().for_each(Vec::clear);
        let sex = if rng.random_bool(0.5) { Sex::Male } else { Sex::Female };
        let grade = rng.random_range(1..=16u8);
        let cohort = Cohort::Grade(SchoolGrade::new(grade).context("grade")?);
        write_u64(&mut cells[0], 100_000_000 + id);
        cells[1].extend_from_slice(match (sex, rng.random_bool(0.1)) {
            (Sex::Male, false) => b"M",
            (Sex::Female, false) => b"F",
            (Sex::Male, true) => "男".as_bytes(),
            (Sex::Female, true) => "女".as_bytes(),
        });
        if rng.random_bool(0.1) {
            cells[2].extend_from_slice(CHINESE_GRADES[usize::from(grade - 1)].as_bytes());
        } else {
            write_u64(&mut cells[2], u64::from(grade));
        }
        // Height and weight: a growth curve by grade, BMI mostly normal.
        let height_cm = 115.0 + 4.2 * f64::from(grade.min(12)) + normal(&mut rng) * 7.0 + if sex == Sex::Male && grade > 8 { 6.0 } else { 0.0 };
        let bmi = 14.0 + 0.45 * f64::from(grade.min(14)) + normal(&mut rng).abs() * 2.5 - 1.0;
        let weight_kg = bmi * (height_cm / 100.0).powi(2);
        Dec::from_milli((height_cm * 10.0).round() as i64 * 100).write_fixed(1, &mut cells[3]);
        Dec::from_milli((weight_kg * 10.0).round() as i64 * 100).write_fixed(1, &mut cells[4]);
        let skipped = if rng.random_bool(0.01) { Some(rng.random_range(0..8usize)) } else { None };
        let mut applicable = 0usize;
        for (measure, def) in standard.measures().iter().enumerate().skip(2) {
            let (Some(column), Some(item)) = (column_of[measure], def.item) else { continue };
            let Some(table) = standard.table_for(item, sex, cohort) else { continue };
            applicable += 1;
            if skipped == Some(applicable) {
                continue;
            }
            // A level drawn uniformly (or below the lowest), then a value on the item's resolution that
            // scores exactly that level.
            let levels = &table.levels;
            let step = standard.items()[item].resolution().milli();
            let index = rng.random_range(0..=levels.len());
            let higher = table.direction == Direction::HigherBetter;
            let value = if index == levels.len() {
                let lowest = levels[levels.len() - 1].threshold.milli();
                let distance = rng.random_range(1..=5) * step;
                if higher { lowest - distance } else { lowest + distance }
            } else {
                let threshold = levels[index].threshold.milli();
                let better = index.checked_sub(1).map(|b| levels[b].threshold.milli());
                let room = match (higher, better) {
                    (true, Some(b)) => (b - step - threshold) / step,
                    (false, Some(b)) => (threshold - b - step) / step,
                    (_, None) => 5,
                };
                let offset = rng.random_range(0..=room.max(0)) * step;
                if higher { threshold + offset } else { threshold - offset }
            };
            let value = Dec::from_milli(value.max(0));
            let cell = &mut cells[column];
            if def.key == "run_800m_s" || def.key == "run_1000m_s" {
                let seconds = value.milli() / 1000;
                match rng.random_range(0..3) {
                    0 => {
                        write_u64(cell, (seconds / 60) as u64);
                        cell.push(b'\'');
                        if seconds % 60 < 10 {
                            cell.push(b'0');
                        }
                        write_u64(cell, (seconds % 60) as u64);
                        cell.push(b'"');
                    }
                    1 => {
                        write_u64(cell, (seconds / 60) as u64);
                        cell.push(b':');
                        if seconds % 60 < 10 {
                            cell.push(b'0');
                        }
                        write_u64(cell, (seconds % 60) as u64);
                    }
                    _ => write_u64(cell, seconds as u64),
                }
            } else {
                value.write_exact(cell);
            }
        }
        if rng.random_bool(0.0005) {
            let column = rng.random_range(1..COLUMNS.len());
            cells[column].clear();
            cells[column].extend_from_slice(if column == 1 { b"X" } else { b"n/a" });
        }
        for (index, cell) in cells.iter().enumerate() {
            if index > 0 {
                line.push(b',');
            }
            crate::score::write_field(&mut line, cell);
        }
        line.push(b'\n');
        out.write_all(&line)?;
        if id % 65_536 == 0 {
            progress.set_position(id);
        }
    }
    out.flush()?;
    // On disk before anything is timed: its writeback would otherwise run during the timed parts.
    out.get_ref().sync_all().with_context(|| format!("syncing {}", path.display()))?;
    progress.finish_and_clear();
    Ok(())
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}
