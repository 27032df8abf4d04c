//! `fitforall import fitness-results FILE --standard ID --test-date YYYY-MM-DD --region CODE`: a CSV of
//! fitness test records (the layout `fitforall score` reads) scored by `core::fitness` and stored as
//! results, so that the pass-rate indicator and reports count them.
//!
//! The file is read twice: the first pass checks every row (nothing is kept but the report and the
//! ids seen), the second scores the rows again and writes them in chunks of
//! `MAX_RESULTS_PER_WRITE`, each chunk one transaction. Memory stays bounded by a chunk whatever the
//! file size; a crash between chunks leaves the earlier ones, and re-running the same import
//! completes it (stored rows come back `unchanged`).

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{Datelike, NaiveDate, Utc};
use fitforall_core::fitness::input::normalize_header;
use fitforall_core::fitness::{
    Cohort, CohortKind, Columns, Composite, FieldError, HeaderError, SchoolGrade, Sex, Standard, StudentRecord, score_student, shipped,
};
use fitforall_core::policy::StationId;
use fitforall_core::region::RegionCode;
use fitforall_server::api::fitness::{ResultFacts, new_result};
use fitforall_server::import::{MAX_REPORTED_ERRORS, RowError, RowLocation};
use fitforall_store::{MAX_RESULTS_PER_WRITE, NewFitnessResult, StoreError, UpsertSummary};
use indicatif::ProgressBar;

use crate::settings::FileSettings;

/// Errors printed in full; the rest are counted.
const MAX_PRINTED_ERRORS: usize = 200;
/// Longest person reference (the store's `person_ref`).
const MAX_PERSON_REF_CHARS: usize = 64;
/// Earliest test year accepted (as the API's).
const MIN_TEST_YEAR: i32 = 2000;

/// Header names of the columns this command reads itself (`Columns` reads the rest).
const TEST_NAMES: [&str; 2] = ["test_date", "测试日期"];
const AGE_NAMES: [&str; 2] = ["age", "年龄"];
const BIRTH_NAMES: [&str; 3] = ["birth_date", "出生日期", "生日"];

#[derive(clap::Args)]
pub struct FitnessResultsArgs {
    /// CSV of test records: id (学号/编号), sex (性别), grade (年级) — or birth_date (出生日期) for
    /// standards by age —, height_cm, weight_kg and the item columns (canonical or Chinese headers,
    /// any order; the layout `fitforall score` reads).
    file: PathBuf,
    /// The standard to score against: cnsphs-2014 (students, by grade) or cnpfms-2003-adult (by age,
    /// provisional).
    #[arg(long)]
    standard: String,
    /// The test date of every row, YYYY-MM-DD, not in the future (China time). A test_date column in
    /// the file must agree with it.
    #[arg(long, value_name = "YYYY-MM-DD")]
    test_date: String,
    /// The region of every row (any code form: 330106, 330106000000, …); must exist.
    #[arg(long, value_name = "CODE")]
    region: String,
    /// The testing station the records come from; must exist.
    #[arg(long, value_name = "ID")]
    station: Option<String>,
    /// Import the valid rows even when some rows are invalid (they are still reported).
    #[arg(long)]
    skip_invalid: bool,
    /// sqlite://PATH or postgres://… (default: the config file's, else sqlite://fitforall.db).
    #[arg(long, env = "FITFORALL_DATABASE_URL")]
    database: Option<String>,
}

/// What every row shares.
struct Facts {
    region: RegionCode,
    station: Option<StationId>,
    test_date: NaiveDate,
}

/// Where the values of a row are: the header resolved once.
struct Layout<'a> {
    standard: &'a Standard,
    columns: Columns,
    /// The file's header texts.
    headers: Vec<String>,
    id: usize,
    /// The file's own test-date column, checked against `--test-date`.
    test: Option<usize>,
    /// For standards by age: the birth-date column; `--test-date` is appended to every row as an
    /// extra field after the file's columns, so that `Columns` computes the age on that date.
    birth: Option<usize>,
    test_date_text: String,
}

impl Layout<'_> {
    /// The header of an input column (the appended test date is reported at the birth date).
    fn column_name(&self, column: usize) -> &str {
        match self.headers.get(column) {
            Some(name) => name,
            None => self.birth.and_then(|birth| self.headers.get(birth)).map_or("", String::as_str),
        }
    }
}

/// What the rows of a file came to.
#[derive(Default)]
struct Report {
    rows_read: u64,
    valid: u64,
    graded: u64,
    incomplete: u64,
    withheld: u64,
    errors: Vec<RowError>,
    errors_truncated: bool,
}

impl Report {
    fn error(&mut self, line: u64, column: &str, reason: impl Into<String>) {
        if self.errors.len() >= MAX_REPORTED_ERRORS {
            self.errors_truncated = true;
            return;
        }
        self.errors.push(RowError { location: RowLocation::Line(line), column: column.to_string(), reason: reason.into() });
    }

    fn invalid(&self) -> u64 {
        self.rows_read - self.valid
    }
}

/// The length of the file at `path` if it does not end with '\n' (see `RowReader::unterminated_end`).
fn unterminated_end(path: &Path) -> anyhow::Result<Option<u64>> {
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let length = file.metadata()?.len();
    if length == 0 {
        return Ok(None);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok((last[0] != b'\n').then_some(length))
}

/// One pass over the rows of the file.
struct RowReader<'a> {
    layout: &'a Layout<'a>,
    facts: &'a Facts,
    reader: csv::Reader<Box<dyn Read>>,
    row: csv::ByteRecord,
    padded: csv::ByteRecord,
    record: StudentRecord,
    problems: Vec<FieldError>,
    /// Person reference → line of its first row.
    seen: HashMap<String, u64>,
    report: Report,
    /// The file's length when its last byte is not '\n': the record that ends there has no
    /// terminator, so the reader's line count after it is its own last line, not the next one.
    unterminated_end: Option<u64>,
}

impl<'a> RowReader<'a> {
    fn new(layout: &'a Layout<'a>, facts: &'a Facts, path: &Path, message: &str) -> anyhow::Result<(RowReader<'a>, csv::ByteRecord, ProgressBar)> {
        let (input, bar) = crate::import::open_with_progress(path, message)?;
        let mut reader = crate::score::csv_reader(input);
        let headers = reader.byte_headers().with_context(|| format!("cannot read the header of {}", path.display()))?.clone();
        let record = StudentRecord::new(layout.standard, Sex::Male, Cohort::Grade(SchoolGrade::new(1).context("grade 1")?));
        let reader = RowReader {
            layout,
            facts,
            reader,
            row: csv::ByteRecord::new(),
            padded: csv::ByteRecord::new(),
            record,
            problems: Vec::new(),
            seen: HashMap::new(),
            report: Report::default(),
            unterminated_end: unterminated_end(path)?,
        };
        Ok((reader, headers, bar))
    }

    /// Reads rows until `max` results are in `out` or the file ends (returns false then). Results are
    /// only built when `out` is given; the counts and errors go to the report either way.
    fn fill(&mut self, mut out: Option<&mut Vec<NewFitnessResult>>, max: usize) -> anyhow::Result<bool> {
        loop {
            if out.as_ref().is_some_and(|out| out.len() >= max) {
                return Ok(true);
            }
            let mut row = std::mem::take(&mut self.row);
            let more = self.reader.read_byte_record(&mut row).context("cannot read the file as CSV")?;
            if !more {
                self.row = row;
                return Ok(false);
            }
            let after = self.reader.position();
            let line_after = after.line() + u64::from(Some(after.byte()) == self.unterminated_end);
            let line = fitforall_core::fitness::record_line(line_after, row.as_slice());
            let result = self.check(&row, line, out.is_some());
            self.row = row;
            if let (Some(result), Some(out)) = (result, out.as_deref_mut()) {
                out.push(result);
            }
        }
    }

    /// Checks and scores one row; every problem goes to the report.
    fn check(&mut self, row: &csv::ByteRecord, line: u64, build: bool) -> Option<NewFitnessResult> {
        let layout = self.layout;
        if (0..row.len()).all(|index| field(row, index).iter().all(|byte| byte.is_ascii_whitespace())) {
            return None; // a blank line
        }
        self.report.rows_read += 1;
        if row.len() > layout.headers.len() {
            self.report.error(line, "", format!("{} fields, the header has {}", row.len(), layout.headers.len()));
            return None;
        }
        self.padded.clear();
        for index in 0..layout.headers.len() {
            self.padded.push_field(field(row, index));
        }
        if layout.birth.is_some() {
            self.padded.push_field(layout.test_date_text.as_bytes());
        }
        let mut problems: Vec<(usize, String)> = Vec::new();
        self.problems.clear();
        if !layout.columns.parse_row(layout.standard, &self.padded, &mut self.record, &mut self.problems) {
            problems.extend(self.problems.iter().map(|problem| (problem.column, problem.problem.to_string())));
        }
        match std::str::from_utf8(trim(field(row, layout.id))) {
            Err(_) => problems.push((layout.id, "not UTF-8 text".into())),
            Ok("") => problems.push((layout.id, "required: the person's reference (e.g. a student number)".into())),
            Ok(id) if id.chars().count() > MAX_PERSON_REF_CHARS => problems.push((layout.id, format!("at most {MAX_PERSON_REF_CHARS} characters"))),
            Ok(id) => match self.seen.get(id) {
                Some(first) => problems.push((layout.id, format!("duplicate id {id} (first on line {first})"))),
                None => {
                    self.seen.insert(id.to_string(), line);
                }
            },
        }
        if let Some(column) = layout.test {
            let bytes = trim(field(row, column));
            if !bytes.is_empty() {
                match parse_date(bytes) {
                    None => problems.push((column, "expected a date YYYY-MM-DD".into())),
                    Some(date) if date != self.facts.test_date => {
                        problems.push((column, format!("{date} differs from --test-date {}; import one test date at a time", self.facts.test_date)))
                    }
                    Some(_) => {}
                }
            }
        }
        problems.sort_by_key(|(column, _)| *column);
        if !problems.is_empty() {
            for (column, reason) in problems {
                let name = layout.column_name(column).to_string();
                self.report.error(line, &name, reason);
            }
            return None;
        }
        let card = match score_student(layout.standard, &self.record) {
            Ok(card) => card,
            Err(error) => {
                self.report.error(line, "", error.to_string());
                return None;
            }
        };
        self.report.valid += 1;
        match card.result {
            Composite::Graded { .. } => self.report.graded += 1,
            Composite::Incomplete { .. } => self.report.incomplete += 1,
            Composite::Withheld { .. } => self.report.withheld += 1,
        }
        if !build {
            return None;
        }
        let person_ref = std::str::from_utf8(trim(field(row, layout.id))).unwrap_or_default().to_string();
        let facts = ResultFacts {
            id: fitforall_server::auth::new_id(),
            account: None,
            person_ref,
            region: self.facts.region,
            station: self.facts.station.clone(),
            test_date: self.facts.test_date,
            source: "import",
            entered_by: None,
        };
        Some(new_result(layout.standard, &self.record, &card, facts))
    }
}

/// A field without the '\r' a CRLF line leaves on its last field.
fn field(row: &csv::ByteRecord, index: usize) -> &[u8] {
    let bytes = row.get(index).unwrap_or(b"");
    if index + 1 == row.len() { bytes.strip_suffix(b"\r").unwrap_or(bytes) } else { bytes }
}

fn trim(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

fn parse_date(bytes: &[u8]) -> Option<NaiveDate> {
    let text = std::str::from_utf8(bytes).ok()?;
    ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d"].iter().find_map(|format| NaiveDate::parse_from_str(text, format).ok())
}

/// The columns of `headers` whose name is one of `names`.
fn find_columns(normalized: &[String], names: &[&str]) -> Vec<usize> {
    let names: Vec<String> = names.iter().map(|name| normalize_header(name)).collect();
    normalized.iter().enumerate().filter(|(_, header)| names.contains(header)).map(|(index, _)| index).collect()
}

/// Resolves the header for the standard; file-level problems as errors on line 1.
fn resolve_layout<'a>(standard: &'a Standard, header_row: &csv::ByteRecord, test_date: NaiveDate) -> Result<Layout<'a>, Vec<RowError>> {
    let headers: Vec<String> = header_row.iter().enumerate().map(|(index, header)| crate::score::header_text(header, index, header_row.len())).collect();
    let normalized: Vec<String> = headers.iter().map(|header| normalize_header(header)).collect();
    let mut errors = Vec::new();
    let mut error = |column: &str, reason: String| errors.push(RowError { location: RowLocation::Line(1), column: column.to_string(), reason });
    let both = |found: &[usize], meaning: &str| format!("columns {:?} and {:?} both mean {meaning}", headers[found[0]], headers[found[1]]);
    // The columns `Columns` must not see: the test date (and the age) come from --test-date.
    let mut hidden = Vec::new();
    let tests = find_columns(&normalized, &TEST_NAMES);
    if tests.len() > 1 {
        error(&headers[tests[1]], both(&tests, "test date"));
    }
    hidden.extend(&tests);
    let birth = match standard.cohort_kind {
        CohortKind::Grade => None,
        CohortKind::Age => {
            let births = find_columns(&normalized, &BIRTH_NAMES);
            if births.is_empty() {
                error("birth_date", format!("missing column (birth_date or 出生日期, YYYY-MM-DD: {} is by age on --test-date)", standard.id));
            } else if births.len() > 1 {
                error(&headers[births[1]], both(&births, "birth date"));
            }
            let ages = find_columns(&normalized, &AGE_NAMES);
            for &age in &ages {
                println!("note: column {} is not read; the age is computed from the birth date on --test-date", headers[age]);
            }
            hidden.extend(ages);
            births.first().copied()
        }
    };
    let mut refs: Vec<&str> = headers.iter().enumerate().map(|(index, header)| if hidden.contains(&index) { "" } else { header.as_str() }).collect();
    if birth.is_some() {
        refs.push(TEST_NAMES[0]);
    }
    let columns = match Columns::resolve(standard, &refs) {
        Ok(columns) => Some(columns),
        Err(problems) => {
            for problem in problems {
                match problem {
                    // The birth date's absence is reported above.
                    HeaderError::Missing(name) if name.starts_with("age") => {}
                    HeaderError::Missing(name) => error(name, "missing column".into()),
                    problem @ HeaderError::Duplicate { .. } => error("", problem.to_string()),
                }
            }
            None
        }
    };
    let id = columns.as_ref().and_then(|columns| columns.id);
    if id.is_none() {
        error("id", "missing column (id, 学号, 编号, 学籍号 or 考号: the person's reference)".into());
    }
    match (columns, id, errors.is_empty()) {
        (Some(columns), Some(id), true) => {
            Ok(Layout { standard, columns, headers, id, test: tests.first().copied(), birth, test_date_text: test_date.format("%Y-%m-%d").to_string() })
        }
        _ => Err(errors),
    }
}

fn print_errors(path: &Path, errors: &[RowError], truncated: bool) {
    for error in errors.iter().take(MAX_PRINTED_ERRORS) {
        eprintln!("{}: {error}", path.display());
    }
    if errors.len() > MAX_PRINTED_ERRORS || truncated {
        eprintln!("{}: … more errors not shown", path.display());
    }
}

fn parse_test_date(text: &str) -> anyhow::Result<NaiveDate> {
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| anyhow::anyhow!("--test-date: expected YYYY-MM-DD, got {text:?}"))?;
    let today = fitforall_server::api::venues::local_now().date();
    if date > today {
        bail!("--test-date {date} is in the future (today is {today} in China, UTC+8)");
    }
    if date.year() < MIN_TEST_YEAR {
        bail!("--test-date {date} is before {MIN_TEST_YEAR}");
    }
    Ok(date)
}

pub async fn run(args: FitnessResultsArgs, file: &FileSettings) -> anyhow::Result<ExitCode> {
    let standards = shipped::load().map_err(|errors| anyhow::anyhow!("the shipped standards do not load ({} problems)", errors.len()))?;
    let Some(standard) = standards.get(args.standard.trim()) else {
        bail!("--standard: unknown standard {:?} (known: {})", args.standard, standards.ids().join(", "));
    };
    let test_date = parse_test_date(&args.test_date)?;
    let region = RegionCode::parse(args.region.trim()).map_err(|error| anyhow::anyhow!("--region {:?}: {error}", args.region))?;
    let station =
        args.station.as_deref().map(|text| StationId::parse(text.trim()).map_err(|error| anyhow::anyhow!("--station {text:?}: {error}"))).transpose()?;
    if standard.provisional {
        println!("note: {} ({}) is PROVISIONAL; its results are marked provisional wherever they are shown", standard.id, standard.name_en);
    }

    // The header, before touching the database.
    let path = &args.file;
    let header_row = {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        crate::score::csv_reader(file).byte_headers().with_context(|| format!("cannot read the header of {}", path.display()))?.clone()
    };
    let layout = match resolve_layout(standard, &header_row, test_date) {
        Ok(layout) => layout,
        Err(errors) => {
            print_errors(path, &errors, false);
            println!("nothing imported: the file itself is not usable (see the errors above)");
            return Ok(ExitCode::FAILURE);
        }
    };

    let store = crate::import::open_store(args.database, file).await?;
    let tree = crate::import::load_tree(&store).await?;
    if !tree.contains(region) {
        bail!("--region: region {} does not exist", args.region.trim());
    }
    if let Some(station) = &station {
        match store.station(station).await {
            Ok(_) => {}
            Err(StoreError::NotFound(_)) => bail!("--station: station {station} does not exist"),
            Err(error) => return Err(error.into()),
        }
    }
    let facts = Facts { region, station, test_date };

    // Pass 1: check every row.
    let (mut reader, _, bar) = RowReader::new(&layout, &facts, path, "checking")?;
    while reader.fill(None, 0)? {}
    bar.finish_and_clear();
    let checked = reader.report;
    print_errors(path, &checked.errors, checked.errors_truncated);
    println!("{}: {} rows read, {} valid, {} invalid", path.display(), checked.rows_read, checked.valid, checked.invalid());
    if checked.invalid() > 0 && !args.skip_invalid {
        println!("nothing imported: fix the rows above, or pass --skip-invalid to import the {} valid rows", checked.valid);
        return Ok(ExitCode::FAILURE);
    }

    // Pass 2: score again and write, a chunk per transaction.
    let (mut reader, headers_again, bar) = RowReader::new(&layout, &facts, path, "importing")?;
    if headers_again != header_row {
        bail!("{} changed while it was imported (its header differs); nothing was written", path.display());
    }
    let now = Utc::now();
    let mut total = UpsertSummary::default();
    let mut chunk = Vec::with_capacity(MAX_RESULTS_PER_WRITE.min(checked.valid as usize));
    loop {
        chunk.clear();
        let more = reader.fill(Some(&mut chunk), MAX_RESULTS_PER_WRITE)?;
        if reader.report.invalid() > checked.invalid() {
            bar.finish_and_clear();
            bail!(
                "{} changed while it was imported (new invalid rows); {} results were written before that, re-run the import",
                path.display(),
                total.inserted + total.updated + total.unchanged
            );
        }
        if !chunk.is_empty() {
            let summary = store.save_fitness_results(&chunk, now).await.context("storing the results")?;
            total.inserted += summary.inserted;
            total.updated += summary.updated;
            total.unchanged += summary.unchanged;
        }
        if !more {
            break;
        }
    }
    bar.finish_and_clear();
    println!("imported: {} inserted, {} updated, {} unchanged", total.inserted, total.updated, total.unchanged);
    crate::import::audit_import(&store, "import_fitness_results", path, Some(region), total).await?;
    let written = reader.report;
    println!(
        "{} graded (counted in pass rates), {} incomplete (an item not tested), {} withheld (an item scored 0); incomplete and withheld records are \
         stored but not counted in pass rates",
        written.graded, written.incomplete, written.withheld
    );
    Ok(ExitCode::SUCCESS)
}
