//! `fitforall score --standard ID INPUT.csv -o OUTPUT.csv`: scores a file of test records against a
//! standard, streaming in constant memory on all cores.
//!
//! A reader thread only reads: it cuts the input into chunks of whole records (`chunks`: a cut falls
//! exactly where the CSV reader ends a record, quotes included), each with its first line number; N
//! workers split their chunk into records themselves (`records`: the fields and line numbers the CSV
//! reader would give), parse the fields (straight from bytes), score them with the core
//! (`score_row_into`: the scores without the reasons) and format the output rows into the batch's own
//! buffer, the input part of a row as the record's own bytes (a slice of the chunk) when nothing in it
//! was or needs quoting; the writer (this thread) writes batches in input order. Batches come from a
//! fixed pool that the writer refills, so at most `pool` batches exist whatever the file size. Bad
//! rows go to `OUTPUT.errors.csv` (line, column, reason) and the rest is scored.

mod chunks;
mod output;
mod records;

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
use fitforall_core::fitness::decimal::{digit, write_u64};
use fitforall_core::fitness::{
    Columns, Composite, Dec, FieldError, ItemCell, RowFields, ScoreRow, Standard, StandardSet, StudentRecord, TotalBasis, score_row_into, shipped,
};
use indicatif::{ProgressBar, ProgressStyle};

use self::chunks::ChunkReader;
use self::output::OutputFile;
use self::records::{ChunkRecord, ChunkRecords, RecordScratch};

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
    /// Most records per batch handed to a worker (a batch is also cut near 1 MiB of input).
    #[arg(long, default_value_t = DEFAULT_BATCH_RECORDS as u64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch_records: u64,
}

/// The CSV reader setup used by `score` and by the parse-only part of `bench score`: '\n' ends a
/// record (so line numbers are right in CRLF files; the '\r' is dropped from the last field), rows
/// may have fewer fields than the header.
pub fn csv_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv_builder().has_headers(true).buffer_capacity(1 << 20).from_reader(input)
}

/// The reader settings of `csv_reader` that decide what a record is: `chunks` cuts the input by
/// them, and `records` sets csv_core up the same way (its tests compare both with this reader).
pub(crate) fn csv_builder() -> csv::ReaderBuilder {
    let mut builder = csv::ReaderBuilder::new();
    builder.flexible(true).terminator(csv::Terminator::Any(b'\n'));
    builder
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
    /// A chunk of whole records as they are in the file (`chunks`), in `input[start..input_len]`; the
    /// vector's length is its usable size (it only grows).
    input: Vec<u8>,
    input_len: usize,
    start: usize,
    /// The line number at `input[start]`.
    first_line: u64,
    out: OutputBuffer,
    errors: Vec<u8>,
    summary: Summary,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            seq: 0,
            input: Vec::new(),
            input_len: 0,
            start: 0,
            first_line: 1,
            out: OutputBuffer::default(),
            errors: Vec::new(),
            summary: Summary::default(),
        }
    }
}

/// What a worker needs to format a row.
struct Layout {
    columns: Columns,
    input_columns: usize,
    provisional: bool,
    decimals: u8,
    /// The most bytes the score part of a row can take (`write_scores`).
    scores_max_bytes: usize,
}

/// A batch's output rows. The vector only grows (its bytes past `length` are scratch space), so a row
/// is formatted into a slice (`RowWriter`) without zeroing or per-byte capacity checks.
#[derive(Default)]
struct OutputBuffer {
    bytes: Vec<u8>,
    length: usize,
}

impl OutputBuffer {
    fn written(&self) -> &[u8] {
        &self.bytes[..self.length]
    }

    fn clear(&mut self) {
        self.length = 0;
    }

    /// Room for a row of at most `max_bytes`; `RowWriter::finish` keeps what was written.
    fn row(&mut self, max_bytes: usize) -> RowWriter<'_> {
        if self.bytes.len() < self.length + max_bytes {
            self.bytes.resize(self.length + max_bytes, 0);
        }
        RowWriter { bytes: &mut self.bytes[self.length..], at: 0, length: &mut self.length }
    }
}

/// Writes one row into its room in an `OutputBuffer`.
struct RowWriter<'o> {
    bytes: &'o mut [u8],
    at: usize,
    length: &'o mut usize,
}

impl RowWriter<'_> {
    #[inline]
    fn byte(&mut self, byte: u8) {
        self.bytes[self.at] = byte;
        self.at += 1;
    }

    #[inline]
    fn text(&mut self, text: &[u8]) {
        self.bytes[self.at..self.at + text.len()].copy_from_slice(text);
        self.at += text.len();
    }

    /// The first `length` bytes of `text`, written as all eight at once.
    #[inline]
    fn short_text(&mut self, text: &[u8; 8], length: usize) {
        self.bytes[self.at..self.at + 8].copy_from_slice(text);
        self.at += length;
    }

    #[inline]
    fn fixed(&mut self, value: Dec, decimals: u8) {
        self.at += value.write_fixed_to(decimals, &mut self.bytes[self.at..]);
    }

    #[inline]
    fn exact(&mut self, value: Dec) {
        self.at += value.write_exact_to(&mut self.bytes[self.at..]);
    }

    /// A CSV field, quoted only when it must be (as `write_field`).
    fn field(&mut self, field: &[u8]) {
        if !needs_quoting(field) {
            self.text(field);
            return;
        }
        for b in quoted_field_bytes(field) {
            self.byte(b);
        }
    }

    fn finish(self) {
        *self.length += self.at;
    }
}

pub fn score_file(standard: &Standard, args: &ScoreArgs) -> anyhow::Result<Summary> {
    let input = File::open(&args.input).with_context(|| format!("opening {}", args.input.display()))?;
    let size = input.metadata().map(|m| m.len()).unwrap_or(0);
    let batch_records = args.batch_records as usize;
    // The first chunk holds the header (a chunk holds at least one record): it is read here, and the
    // rest of the chunk is the first batch.
    let mut chunks = ChunkReader::new(input, CHUNK_BYTES, batch_records);
    let mut first = Batch::new();
    let first_chunk = chunks.next_chunk(&mut first.input).with_context(|| format!("reading the header of {}", args.input.display()))?;
    first.input_len = first_chunk.map_or(0, |chunk| chunk.len);
    let mut header_reader = csv_reader(&first.input[..first.input_len]);
    let headers = header_reader.byte_headers().with_context(|| format!("reading the header of {}", args.input.display()))?.clone();
    first.start = header_reader.position().byte() as usize;
    first.first_line = header_reader.position().line();
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
        // Eight bytes per item cell, then the BMI, standard score, bonus and total (a comma and a
        // number each), the grade and pass, the provisional mark and the newline.
        scores_max_bytes: standard.items().len() * 8 + 4 * (1 + Dec::MAX_TEXT_BYTES) + 32,
    });

    let output_path = &args.output;
    let errors_path = errors_path(output_path);
    // Past the page cache where the system allows it (`output`).
    let mut output = OutputFile::create(output_path, true).with_context(|| format!("creating {}", output_path.display()))?;
    tracing::debug!(direct = output.is_direct(), "output file {}", output_path.display());
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

    progress.set_position(first_chunk.map_or(0, |chunk| chunk.end_offset));

    let (pool_tx, pool_rx) = sync_channel::<Batch>(pool_size);
    for _ in 1..pool_size {
        pool_tx.send(Batch::new())?;
    }
    let (work_tx, work_rx) = sync_channel::<Batch>(pool_size);
    work_tx.send(first)?;
    let (done_tx, done_rx) = sync_channel::<Batch>(pool_size);
    let work_rx = Arc::new(Mutex::new(work_rx));

    let total = std::thread::scope(|scope| -> anyhow::Result<Summary> {
        let reader_progress = progress.clone();
        let reader_thread = scope.spawn(move || read_chunks(chunks, pool_rx, work_tx, &reader_progress));
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
                    && let Err(error) = output.write_all(batch.out.written()).and_then(|_| errors_out.write_all(&batch.errors))
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
    output.finish().context("writing the output")?;
    errors_out.flush()?;
    progress.finish_and_clear();
    Ok(total)
}

/// A header as text: lossy UTF-8, without a byte-order mark (first) or the '\r' of a CRLF (last).
pub(crate) fn header_text(bytes: &[u8], index: usize, count: usize) -> String {
    let mut bytes = bytes;
    if index == 0 {
        bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    }
    if index + 1 == count {
        bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    }
    String::from_utf8_lossy(bytes).trim().to_string()
}

/// The chunk size aimed at (a batch is also cut after `--batch-records` records).
const CHUNK_BYTES: usize = 1 << 20;
/// Large enough that handing batches between threads costs little (each hand-off may wake a thread:
/// at 2,048 records a batch, `score` on 10 M records switched threads ~18,000 times and took ~18 %
/// longer; see BENCHMARKS.md), small enough that a batch's output stays within a few MiB.
const DEFAULT_BATCH_RECORDS: usize = 16_384;

/// Reads every record of a file as `score` does, but on one thread and without scoring: cut into
/// chunks (`chunks`), each split into records (`records`). `bench score`'s second parse-only
/// baseline. Returns the records after the header and the fields seen.
pub fn split_only(path: &Path) -> anyhow::Result<(u64, u64)> {
    let mut chunks = ChunkReader::new(File::open(path).with_context(|| format!("opening {}", path.display()))?, CHUNK_BYTES, DEFAULT_BATCH_RECORDS);
    let mut buffer = Vec::new();
    let mut scratch = RecordScratch::default();
    let (mut records, mut fields) = (0u64, 0u64);
    while let Some(chunk) = chunks.next_chunk(&mut buffer)? {
        let mut split = ChunkRecords::new(&buffer[..chunk.len], chunk.first_line, &mut scratch);
        while let Some(record) = split.next_record() {
            records += 1;
            fields += record.field_count() as u64;
        }
    }
    Ok((records.saturating_sub(1), fields))
}

fn read_chunks<R: Read>(mut chunks: ChunkReader<R>, pool: Receiver<Batch>, work: SyncSender<Batch>, progress: &ProgressBar) -> anyhow::Result<()> {
    // The first chunk was batch 0.
    let mut seq = 1u64;
    loop {
        let Ok(mut batch) = pool.recv() else { return Ok(()) };
        let Some(chunk) = chunks.next_chunk(&mut batch.input).context("reading the input")? else { return Ok(()) };
        batch.seq = seq;
        batch.input_len = chunk.len;
        batch.start = 0;
        batch.first_line = chunk.first_line;
        progress.set_position(chunk.end_offset);
        seq += 1;
        if work.send(batch).is_err() {
            return Ok(());
        }
    }
}

fn score_batches(standard: &Standard, layout: &Layout, work: &Mutex<Receiver<Batch>>, done: &SyncSender<Batch>) {
    let mut record = StudentRecord::new(standard, fitforall_core::fitness::Sex::Male, fitforall_core::fitness::Cohort::Grade(grade_one()));
    let mut scores = ScoreRow::default();
    let mut problems: Vec<FieldError> = Vec::new();
    let mut scratch = RecordScratch::default();
    loop {
        let batch = match work.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(mut batch) = batch else { return };
        let Batch { input, input_len, start, first_line, out, errors, summary, .. } = &mut batch;
        let mut records = ChunkRecords::new(&input[*start..*input_len], *first_line, &mut scratch);
        while let Some(row) = records.next_record() {
            score_input_row(standard, layout, &row, &mut record, &mut scores, &mut problems, out, errors, summary);
        }
        if done.send(batch).is_err() {
            return;
        }
    }
}

fn grade_one() -> fitforall_core::fitness::SchoolGrade {
    fitforall_core::fitness::SchoolGrade::new(1).unwrap_or_else(|| unreachable!("1 is a school grade"))
}

/// The fields of a row without the '\r' a CRLF line leaves on its last field.
fn field<'r>(row: &'r ChunkRecord<'_>, index: usize) -> &'r [u8] {
    let bytes = row.field(index);
    if index + 1 == row.field_count() { bytes.strip_suffix(b"\r").unwrap_or(bytes) } else { bytes }
}

#[allow(clippy::too_many_arguments)]
fn score_input_row(
    standard: &Standard,
    layout: &Layout,
    row: &ChunkRecord,
    record: &mut StudentRecord,
    scores: &mut ScoreRow,
    problems: &mut Vec<FieldError>,
    out: &mut OutputBuffer,
    errors: &mut Vec<u8>,
    summary: &mut Summary,
) {
    if (0..row.field_count()).all(|i| field(row, i).iter().all(|b| *b == b' ' || *b == b'\t')) {
        return; // a blank line
    }
    problems.clear();
    let line = row.first_line;
    if row.field_count() > layout.input_columns {
        let reason = format!("{} fields, the header has {}", row.field_count(), layout.input_columns);
        write_error(errors, line, b"", reason.as_bytes());
        summary.bad_rows += 1;
        summary.problems += 1;
        return;
    }
    if !layout.columns.parse_row(standard, row, record, problems) {
        for problem in problems.iter() {
            let column = layout.columns.headers.get(problem.column).map_or("", String::as_str);
            write_error(errors, line, column.as_bytes(), problem.problem.to_string().as_bytes());
        }
        summary.bad_rows += 1;
        summary.problems += problems.len() as u64;
        return;
    }
    if let Err(error) = score_row_into(standard, record, scores) {
        write_error(errors, line, b"", error.to_string().as_bytes());
        summary.bad_rows += 1;
        summary.problems += 1;
        return;
    }
    summary.scored += 1;
    let verbatim = row.verbatim;
    let input_max_bytes = match verbatim {
        Some(body) => body.len() + layout.input_columns,
        // Every byte of the fields (at most the record's raw bytes) doubled at worst (quotes), two quotes
        // and a comma per field.
        None => 2 * row.raw.len() + 3 * row.field_count() + layout.input_columns,
    };
    let mut writer = out.row(input_max_bytes + layout.scores_max_bytes);
    write_input_part(&mut writer, row, verbatim, layout.input_columns);
    write_scores(&mut writer, scores, layout);
    writer.finish();
}

/// The input part of an output row: the record's fields, each quoted only when it must be, padded
/// with empty fields to the header's width. When the CSV reader unquoted nothing in the record (no
/// '"' in it) and no field needs quoting ('\r' or '\n' would; a ',' is a separator then), that is
/// exactly the record's own bytes (`verbatim`), copied at once.
fn write_input_part(writer: &mut RowWriter, row: &ChunkRecord, verbatim: Option<&[u8]>, input_columns: usize) {
    if let Some(body) = verbatim {
        writer.text(body);
        for _ in row.field_count()..input_columns {
            writer.byte(b',');
        }
        return;
    }
    for index in 0..input_columns {
        if index > 0 {
            writer.byte(b',');
        }
        writer.field(field(row, index));
    }
}

/// The score part of an output row: each item's cell (its score, "missing", or empty when the item
/// does not apply), the BMI and the composite.
fn write_scores(writer: &mut RowWriter, scores: &ScoreRow, layout: &Layout) {
    for cell in &scores.cells {
        // A table lookup rather than a branch per kind of cell: which items apply varies row by row.
        let (text, length) = &CELL_TEXTS[match *cell {
            ItemCell::Score(score) => usize::from(score),
            ItemCell::NotApplicable => NOT_APPLICABLE_CELL,
            ItemCell::Missing => MISSING_CELL,
        }];
        writer.short_text(text, usize::from(*length));
    }
    writer.byte(b',');
    if let Some(bmi) = scores.bmi {
        writer.fixed(bmi, 1);
    }
    let decimals = layout.decimals;
    match scores.result {
        Composite::Graded { standard_score, bonus, total, grade, pass } => {
            writer.byte(b',');
            writer.fixed(standard_score, decimals);
            writer.byte(b',');
            writer.exact(bonus);
            writer.byte(b',');
            writer.fixed(total, decimals);
            writer.byte(b',');
            writer.text(grade.slug().as_bytes());
            writer.text(if pass { b",true" } else { b",false" });
        }
        Composite::Incomplete { bonus, .. } => {
            writer.text(b",,");
            writer.exact(bonus);
            writer.text(b",,incomplete,");
        }
        Composite::Withheld { standard_score, total } => {
            writer.byte(b',');
            writer.fixed(standard_score, decimals);
            writer.byte(b',');
            writer.exact(total.saturating_sub(standard_score));
            writer.byte(b',');
            writer.fixed(total, decimals);
            writer.text(b",withheld,");
        }
    }
    if layout.provisional {
        writer.text(b",yes");
    }
    writer.byte(b'\n');
}

/// Each item cell's text with its comma, in eight bytes, and how many of them are used: ",0" …
/// ",255" at the score, then "," (the item does not apply) and ",missing".
static CELL_TEXTS: [([u8; 8], u8); 258] = cell_texts();
const NOT_APPLICABLE_CELL: usize = 256;
const MISSING_CELL: usize = 257;

const fn cell_texts() -> [([u8; 8], u8); 258] {
    let mut texts = [([0u8; 8], 0u8); 258];
    let mut score = 0;
    while score < 256 {
        texts[score] = if score < 10 {
            ([b',', digit(score), 0, 0, 0, 0, 0, 0], 2)
        } else if score < 100 {
            ([b',', digit(score / 10), digit(score), 0, 0, 0, 0, 0], 3)
        } else {
            ([b',', digit(score / 100), digit(score / 10), digit(score), 0, 0, 0, 0], 4)
        };
        score += 1;
    }
    texts[NOT_APPLICABLE_CELL] = ([b',', 0, 0, 0, 0, 0, 0, 0], 1);
    texts[MISSING_CELL] = (*b",missing", 8);
    texts
}

fn write_error(errors: &mut Vec<u8>, line: u64, column: &[u8], reason: &[u8]) {
    write_u64(errors, line);
    errors.push(b',');
    write_field(errors, column);
    errors.push(b',');
    write_field(errors, reason);
    errors.push(b'\n');
}

/// Whether a CSV field must be quoted (it holds a comma, a quote or a line break).
fn needs_quoting(field: &[u8]) -> bool {
    field.iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
}

/// A field's bytes quoted: in double quotes, each quote doubled.
fn quoted_field_bytes(field: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let body = field.iter().flat_map(|&b| std::iter::repeat_n(b, if b == b'"' { 2 } else { 1 }));
    std::iter::once(b'"').chain(body).chain(std::iter::once(b'"'))
}

/// Appends a CSV field, quoted only when it must be.
pub fn write_field(out: &mut Vec<u8>, field: &[u8]) {
    if needs_quoting(field) {
        out.extend(quoted_field_bytes(field));
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
