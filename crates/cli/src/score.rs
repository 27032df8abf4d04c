//! `fitforall score --standard ID INPUT.csv -o OUTPUT.csv`: scores a file of test records against a
//! standard, streaming in constant memory on all cores.
//!
//! A reader thread parses the CSV into batches of reused `ByteRecord`s; N workers parse the fields
//! (straight from bytes), score them with the core and format the output rows into the batch's own
//! buffer; the writer (this thread) writes batches in input order. Batches come from a fixed pool
//! that the writer refills, so at most `pool` batches exist whatever the file size. Bad rows go to
//! `OUTPUT.errors.csv` (line, column, reason) and the rest is scored.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use fitforall_core::fitness::decimal::write_u64;
use fitforall_core::fitness::{Columns, Composite, FieldError, ScoreCard, Standard, StandardSet, StudentRecord, TotalBasis, record_line, score_into, shipped};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Args, Debug, Clone)]
pub struct ScoreArgs {
    /// The standard: cnsphs-2014 (students, grades 1–16) or cnpfms-2003-adult (provisional).
    #[arg(long, default_value = "cnsphs-2014")]
    pub standard: String,
    /// Input CSV: id, sex, grade (or age / birth_date + test_date), height_cm, weight_kg and the item
    /// columns (canonical or Chinese headers, any order).
    pub input: PathBuf,
    /// Output CSV: the input columns plus score_<item>, bmi, standard_score, bonus, total, grade, pass.
    /// Bad rows go to OUTPUT.errors.csv.
    #[arg(short = 'o', long)]
    pub output: PathBuf,
    /// Load more standards from a directory in the layout of data/standards (grades.csv plus one
    /// folder per standard).
    #[arg(long)]
    pub standards_dir: Option<PathBuf>,
    /// Scoring threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub threads: Option<u64>,
    /// Records per batch handed to a worker.
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch_records: u64,
}

/// The CSV reader setup used by `score` and by the parse-only part of `bench score`: '\n' ends a
/// record (so line numbers are right in CRLF files; the '\r' is dropped from the last field), rows
/// may have fewer fields than the header.
pub fn csv_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new().has_headers(true).flexible(true).terminator(csv::Terminator::Any(b'\n')).buffer_capacity(1 << 20).from_reader(input)
}

/// The errors file next to an output file: `out.csv` → `out.errors.csv`.
pub fn errors_path(output: &Path) -> PathBuf {
    let stem = output.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "output".into());
    let name = if output.extension().is_some() {
        format!("{stem}.errors.csv")
    } else {
        format!("{}.errors.csv", output.file_name().map(|n| n.to_string_lossy()).unwrap_or_default())
    };
    output.with_file_name(name)
}

/// The shipped standards plus those in `dir`.
pub fn load_standards(dir: Option<&Path>) -> anyhow::Result<StandardSet> {
    let mut files: Vec<(String, String)> = shipped::FILES.iter().map(|(name, text)| (name.to_string(), text.to_string())).collect();
    if let Some(dir) = dir {
        let mut found = 0;
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            let paths: Vec<PathBuf> = if path.is_dir() {
                std::fs::read_dir(&path)?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "csv")).collect()
            } else if path.file_name().is_some_and(|n| n == "grades.csv") {
                vec![path]
            } else {
                Vec::new()
            };
            for path in paths {
                let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                files.push((path.display().to_string(), text));
                found += 1;
            }
        }
        if found == 0 {
            bail!("{}: no standard files (expected grades.csv and one folder of CSV files per standard)", dir.display());
        }
    }
    StandardSet::load(&files).map_err(|errors| {
        let list: Vec<String> = errors.iter().take(50).map(|e| format!("  {e}")).collect();
        let more = if errors.len() > 50 { format!("\n  … and {} more", errors.len() - 50) } else { String::new() };
        anyhow::anyhow!("the standards do not load ({} problems):\n{}{more}", errors.len(), list.join("\n"))
    })
}

pub fn run(args: ScoreArgs) -> anyhow::Result<ExitCode> {
    let standards = load_standards(args.standards_dir.as_deref())?;
    let Some(standard) = standards.get(&args.standard) else {
        bail!("unknown standard {:?} (known: {})", args.standard, standards.ids().join(", "));
    };
    if standard.provisional {
        eprintln!("note: {} ({}) is PROVISIONAL; results are marked provisional. Known defects:", standard.id, standard.name_en);
        for defect in &standard.known_defects {
            eprintln!("  - {defect}");
        }
        for warning in standard.warnings() {
            eprintln!("  - found at load: {warning}");
        }
    }
    let started = Instant::now();
    let summary = score_file(standard, &args)?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "scored {} rows, {} rows with errors ({} problems) in {:.2} s ({:.0} records/s); standard {} version {}{}",
        summary.scored,
        summary.bad_rows,
        summary.problems,
        seconds,
        (summary.scored + summary.bad_rows) as f64 / seconds.max(1e-9),
        standard.id,
        standard.version,
        if standard.provisional { " (PROVISIONAL)" } else { "" }
    );
    println!("output: {}", args.output.display());
    println!("errors: {}", errors_path(&args.output).display());
    if let Some(kib) = peak_memory_kib("self") {
        println!("peak memory: {kib} KiB (VmHWM)");
    }
    Ok(ExitCode::SUCCESS)
}

/// VmHWM of a process (`self` or a pid) in KiB, from /proc.
pub fn peak_memory_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| line.strip_prefix("VmHWM:")).and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    pub scored: u64,
    pub bad_rows: u64,
    pub problems: u64,
}

struct Batch {
    seq: u64,
    rows: Vec<csv::ByteRecord>,
    lines: Vec<u64>,
    len: usize,
    out: Vec<u8>,
    errors: Vec<u8>,
    summary: Summary,
}

/// What a worker needs to format a row.
struct Layout {
    columns: Columns,
    input_columns: usize,
    provisional: bool,
    decimals: u8,
}

pub fn score_file(standard: &Standard, args: &ScoreArgs) -> anyhow::Result<Summary> {
    let input = File::open(&args.input).with_context(|| format!("opening {}", args.input.display()))?;
    let size = input.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = csv_reader(input);
    let headers = reader.byte_headers().with_context(|| format!("reading the header of {}", args.input.display()))?.clone();
    let header_texts: Vec<String> = headers.iter().enumerate().map(|(i, h)| header_text(h, i, headers.len())).collect();
    let header_refs: Vec<&str> = header_texts.iter().map(String::as_str).collect();
    let columns = Columns::resolve(standard, &header_refs).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        anyhow::anyhow!("{}: {}", args.input.display(), list.join("; "))
    })?;
    let layout = Arc::new(Layout {
        columns,
        input_columns: header_texts.len(),
        provisional: standard.provisional,
        decimals: if standard.total_basis == TotalBasis::Weighted { 2 } else { 0 },
    });

    let output_path = &args.output;
    let errors_path = errors_path(output_path);
    let mut output = BufWriter::with_capacity(1 << 20, File::create(output_path).with_context(|| format!("creating {}", output_path.display()))?);
    let mut errors_out = BufWriter::with_capacity(1 << 16, File::create(&errors_path).with_context(|| format!("creating {}", errors_path.display()))?);
    let mut header_line = Vec::new();
    for (index, header) in header_texts.iter().enumerate() {
        if index > 0 {
            header_line.push(b',');
        }
        write_field(&mut header_line, header.as_bytes());
    }
    for item in standard.items() {
        header_line.extend_from_slice(if header_texts.is_empty() { b"score_" } else { b",score_" });
        header_line.extend_from_slice(item.id.as_bytes());
    }
    header_line.extend_from_slice(b",bmi,standard_score,bonus,total,grade,pass");
    if standard.provisional {
        header_line.extend_from_slice(b",provisional");
    }
    header_line.push(b'\n');
    output.write_all(&header_line)?;
    errors_out.write_all(b"line,column,reason\n")?;

    let threads = args.threads.map_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()), |n| n as usize);
    let batch_records = args.batch_records as usize;
    let pool_size = threads * 2 + 2;
    let progress = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(size);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})").expect("valid template").progress_chars("=> "),
        );
        bar.set_message("scoring");
        bar
    } else {
        ProgressBar::hidden()
    };

    let (pool_tx, pool_rx) = sync_channel::<Batch>(pool_size);
    for _ in 0..pool_size {
        pool_tx.send(Batch { seq: 0, rows: Vec::new(), lines: Vec::new(), len: 0, out: Vec::new(), errors: Vec::new(), summary: Summary::default() })?;
    }
    let (work_tx, work_rx) = sync_channel::<Batch>(pool_size);
    let (done_tx, done_rx) = sync_channel::<Batch>(pool_size);
    let work_rx = Arc::new(Mutex::new(work_rx));

    let total = std::thread::scope(|scope| -> anyhow::Result<Summary> {
        let reader_progress = progress.clone();
        let reader_thread = scope.spawn(move || read_batches(reader, pool_rx, work_tx, batch_records, &reader_progress));
        for _ in 0..threads {
            let work_rx = Arc::clone(&work_rx);
            let done_tx = done_tx.clone();
            let layout = Arc::clone(&layout);
            scope.spawn(move || score_batches(standard, &layout, &work_rx, &done_tx));
        }
        drop(done_tx);
        let mut pending: BTreeMap<u64, Batch> = BTreeMap::new();
        let mut next = 0u64;
        let mut total = Summary::default();
        let mut write_error = None;
        for batch in done_rx.iter() {
            pending.insert(batch.seq, batch);
            while let Some(mut batch) = pending.remove(&next) {
                if write_error.is_none()
                    && let Err(error) = output.write_all(&batch.out).and_then(|_| errors_out.write_all(&batch.errors))
                {
                    write_error = Some(error);
                }
                total.scored += batch.summary.scored;
                total.bad_rows += batch.summary.bad_rows;
                total.problems += batch.summary.problems;
                batch.out.clear();
                batch.errors.clear();
                batch.summary = Summary::default();
                next += 1;
                // The reader may have finished and dropped the pool: nothing to refill then.
                let _ = pool_tx.send(batch);
            }
        }
        drop(pool_tx);
        let read = reader_thread.join().map_err(|_| anyhow::anyhow!("the reader thread panicked"))?;
        read?;
        if let Some(error) = write_error {
            return Err(error).context("writing the output");
        }
        if !pending.is_empty() {
            bail!("internal error: {} batches were never written", pending.len());
        }
        Ok(total)
    })?;
    output.flush()?;
    errors_out.flush()?;
    progress.finish_and_clear();
    Ok(total)
}

/// A header as text: lossy UTF-8, without a byte-order mark (first) or the '\r' of a CRLF (last).
fn header_text(bytes: &[u8], index: usize, count: usize) -> String {
    let mut bytes = bytes;
    if index == 0 {
        bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    }
    if index + 1 == count {
        bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    }
    String::from_utf8_lossy(bytes).trim().to_string()
}

fn read_batches<R: Read>(
    mut reader: csv::Reader<R>,
    pool: Receiver<Batch>,
    work: SyncSender<Batch>,
    batch_records: usize,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    let mut seq = 0u64;
    loop {
        let Ok(mut batch) = pool.recv() else { return Ok(()) };
        batch.seq = seq;
        batch.len = 0;
        let mut end = false;
        while batch.len < batch_records {
            if batch.rows.len() == batch.len {
                batch.rows.push(csv::ByteRecord::new());
                batch.lines.push(0);
            }
            let row = &mut batch.rows[batch.len];
            match reader.read_byte_record(row) {
                Ok(true) => {
                    // The line after the record; workers turn it into the record's first line
                    // (`record_line`) only for rows with errors.
                    batch.lines[batch.len] = reader.position().line();
                    batch.len += 1;
                }
                Ok(false) => {
                    end = true;
                    break;
                }
                Err(error) => return Err(error).context("reading the input"),
            }
        }
        progress.set_position(reader.position().byte());
        seq += 1;
        if work.send(batch).is_err() || end {
            return Ok(());
        }
    }
}

fn score_batches(standard: &Standard, layout: &Layout, work: &Mutex<Receiver<Batch>>, done: &SyncSender<Batch>) {
    let mut record = StudentRecord::new(standard, fitforall_core::fitness::Sex::Male, fitforall_core::fitness::Cohort::Grade(grade_one()));
    let mut card = ScoreCard::default();
    let mut problems: Vec<FieldError> = Vec::new();
    let mut cells: Vec<u8> = vec![NO_CELL; standard.items().len()];
    loop {
        let batch = match work.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(mut batch) = batch else { return };
        let Batch { rows, lines, len, out, errors, summary, .. } = &mut batch;
        for (row, line) in rows[..*len].iter().zip(&lines[..*len]) {
            score_row(standard, layout, row, *line, &mut record, &mut card, &mut problems, &mut cells, out, errors, summary);
        }
        if done.send(batch).is_err() {
            return;
        }
    }
}

fn grade_one() -> fitforall_core::fitness::SchoolGrade {
    fitforall_core::fitness::SchoolGrade::new(1).unwrap_or_else(|| unreachable!("1 is a school grade"))
}

/// Score cells beyond any score (scores are 0–100).
const NO_CELL: u8 = u8::MAX;
const MISSING_CELL: u8 = u8::MAX - 1;

/// The fields of a row without the '\r' a CRLF line leaves on its last field.
fn field(row: &csv::ByteRecord, index: usize) -> &[u8] {
    let bytes = row.get(index).unwrap_or(b"");
    if index + 1 == row.len() { bytes.strip_suffix(b"\r").unwrap_or(bytes) } else { bytes }
}

#[allow(clippy::too_many_arguments)]
fn score_row(
    standard: &Standard,
    layout: &Layout,
    row: &csv::ByteRecord,
    line_after: u64,
    record: &mut StudentRecord,
    card: &mut ScoreCard,
    problems: &mut Vec<FieldError>,
    cells: &mut [u8],
    out: &mut Vec<u8>,
    errors: &mut Vec<u8>,
    summary: &mut Summary,
) {
    if (0..row.len()).all(|i| field(row, i).iter().all(|b| *b == b' ' || *b == b'\t')) {
        return; // a blank line
    }
    problems.clear();
    let line = || record_line(line_after, row.as_slice());
    if row.len() > layout.input_columns {
        let reason = format!("{} fields, the header has {}", row.len(), layout.input_columns);
        write_error(errors, line(), b"", reason.as_bytes());
        summary.bad_rows += 1;
        summary.problems += 1;
        return;
    }
    if !layout.columns.parse_row(standard, row, record, problems) {
        for problem in problems.iter() {
            let column = layout.columns.headers.get(problem.column).map_or("", String::as_str);
            write_error(errors, line(), column.as_bytes(), problem.problem.to_string().as_bytes());
        }
        summary.bad_rows += 1;
        summary.problems += problems.len() as u64;
        return;
    }
    if let Err(error) = score_into(standard, record, card) {
        write_error(errors, line(), b"", error.to_string().as_bytes());
        summary.bad_rows += 1;
        summary.problems += 1;
        return;
    }
    summary.scored += 1;
    for index in 0..layout.input_columns {
        if index > 0 {
            out.push(b',');
        }
        write_field(out, field(row, index));
    }
    // Each item's score cell: its score, "missing", or empty when the item does not apply.
    cells.fill(NO_CELL);
    for item in &card.items {
        if let Some(cell) = cells.get_mut(item.item) {
            *cell = item.score().unwrap_or(MISSING_CELL);
        }
    }
    for &cell in cells.iter() {
        out.push(b',');
        match cell {
            NO_CELL => {}
            MISSING_CELL => out.extend_from_slice(b"missing"),
            score => write_u64(out, u64::from(score)),
        }
    }
    out.push(b',');
    if let Some(bmi) = card.bmi {
        bmi.write_fixed(1, out);
    }
    let decimals = layout.decimals;
    match card.result {
        Composite::Graded { standard_score, bonus, total, grade, pass } => {
            out.push(b',');
            standard_score.write_fixed(decimals, out);
            out.push(b',');
            bonus.write_exact(out);
            out.push(b',');
            total.write_fixed(decimals, out);
            out.push(b',');
            out.extend_from_slice(grade.slug().as_bytes());
            out.extend_from_slice(if pass { b",true" } else { b",false" });
        }
        Composite::Incomplete { bonus, .. } => {
            out.extend_from_slice(b",,");
            bonus.write_exact(out);
            out.extend_from_slice(b",,incomplete,");
        }
        Composite::Withheld { standard_score, total } => {
            out.push(b',');
            standard_score.write_fixed(decimals, out);
            out.push(b',');
            total.saturating_sub(standard_score).write_exact(out);
            out.push(b',');
            total.write_fixed(decimals, out);
            out.extend_from_slice(b",withheld,");
        }
    }
    if layout.provisional {
        out.extend_from_slice(b",yes");
    }
    out.push(b'\n');
}

fn write_error(errors: &mut Vec<u8>, line: u64, column: &[u8], reason: &[u8]) {
    write_u64(errors, line);
    errors.push(b',');
    write_field(errors, column);
    errors.push(b',');
    write_field(errors, reason);
    errors.push(b'\n');
}

/// Appends a CSV field, quoted only when it must be.
pub fn write_field(out: &mut Vec<u8>, field: &[u8]) {
    if field.iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for &b in field {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_field(input: &str, expect: &str) {
        let mut out = Vec::new();
        write_field(&mut out, input.as_bytes());
        assert_eq!(String::from_utf8(out).unwrap(), expect, "{input:?}");
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        check_field("abc", "abc");
        check_field("", "");
        check_field("a,b", "\"a,b\"");
        check_field("3'40\"", "\"3'40\"\"\"");
        check_field("two\nlines", "\"two\nlines\"");
        check_field("男", "男");
    }

    fn check_errors_path(output: &str, expect: &str) {
        assert_eq!(errors_path(Path::new(output)), PathBuf::from(expect), "{output}");
    }

    #[test]
    fn errors_file_names() {
        check_errors_path("out.csv", "out.errors.csv");
        check_errors_path("/tmp/x/scores.csv", "/tmp/x/scores.errors.csv");
        check_errors_path("scores", "scores.errors.csv");
        check_errors_path("a.b.csv", "a.b.errors.csv");
    }
}
