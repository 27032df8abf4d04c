//! Standards from CSV text: `StandardSet::load` takes `(file name, text)` pairs laid out as
//! `grades.csv` plus one folder per standard (`standard.csv`, `items.csv`, and optionally `bmi.csv`,
//! `height_weight.csv`, `weights.csv`, `bonus.csv`), validates everything, and compiles each standard
//! into per-(sex, grade or age) plans. Every problem is reported with its file and line; loading
//! fails if there is any.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use super::decimal::Dec;
use super::input::{Sex, ValueKind, normalize_header};
use super::standard::*;

/// A located problem in a standard's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandardLoadError {
    pub file: String,
    pub line: Option<u64>,
    pub problem: LoadProblem,
}

impl fmt::Display for StandardLoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.problem),
            None => write!(f, "{}: {}", self.file, self.problem),
        }
    }
}

impl std::error::Error for StandardLoadError {}

/// What is wrong (see `StandardLoadError` for where).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadProblem {
    #[error("missing file {0}")]
    MissingFile(&'static str),
    #[error("unexpected file in a standard folder (known: standard.csv, items.csv, bmi.csv, height_weight.csv, weights.csv, bonus.csv)")]
    UnknownFile,
    #[error("folder name is not a standard id (lower-case letters, digits, '-')")]
    InvalidId,
    #[error("standard {id} is defined twice (also in {other})")]
    DuplicateStandard { id: String, other: String },
    #[error("not valid CSV: {0}")]
    Csv(String),
    #[error("missing column {0}")]
    MissingColumn(String),
    #[error("column {column}: expected {expected}, got {value:?}")]
    BadValue { column: String, value: String, expected: &'static str },
    #[error("missing key {0}")]
    MissingKey(&'static str),
    #[error("unknown key {0:?}")]
    UnknownKey(String),
    #[error("standard {found:?} here, but the folder's standard.csv says {expected:?}")]
    WrongStandard { found: String, expected: String },
    #[error("{what}: minimum {min} is above maximum {max}")]
    RangeReversed { what: String, min: String, max: String },
    #[error("item {item}: {field} {found:?} differs from {first:?} on line {first_line}")]
    ItemInconsistent { item: String, field: &'static str, found: String, first: String, first_line: u64 },
    #[error("{table}: level {score} appears twice (first on line {first_line})")]
    DuplicateLevel { table: String, score: u8, first_line: u64 },
    #[error("{table}: level {score} has no {bound}")]
    MissingBound { table: String, score: u8, bound: &'static str },
    #[error("{table}: level {score}: threshold {threshold} differs from its {bound} {value}")]
    ThresholdNotBound { table: String, score: u8, threshold: Dec, bound: &'static str, value: Dec },
    #[error(
        "{table}: not monotone: level {score} needs {threshold} {unit}, level {better_score} (line {better_line}) needs {better_threshold} {unit}; a lower level must need a {need} value"
    )]
    NotMonotone { table: String, score: u8, threshold: Dec, better_score: u8, better_threshold: Dec, better_line: u64, unit: String, need: &'static str },
    #[error("{table}: level {score}: {bound} {found} should be {expected}, where level {other_score} (line {other_line}) starts: a gap or an overlap")]
    BoundsDoNotMeet { table: String, score: u8, bound: &'static str, found: String, expected: String, other_score: u8, other_line: u64 },
    #[error("{table}: no scored level")]
    NoLevels { table: String },
    #[error("{what} overlaps the one on line {other_line}")]
    Overlap { what: String, other_line: u64 },
    #[error("{what}: {detail}")]
    NotOrdered { what: String, detail: String },
    #[error(
        "{table}: height rows not contiguous: this row starts at {found} cm, the row on line {previous_line} ends at {previous_max} cm (expected {expected} cm)"
    )]
    HeightRowsNotContiguous { table: String, found: Dec, previous_max: Dec, previous_line: u64, expected: Dec },
    #[error("unknown item {0:?} (not in items.csv and not the standard's body-composition item)")]
    UnknownItem(String),
    #[error("weights for {sex} {cohort} add up to {sum} %, not 100 %")]
    WeightsNot100 { sex: Sex, cohort: String, sum: u32 },
    #[error("item {item} is weighted for {sex} {cohort} but has no table there")]
    NoTable { item: String, sex: Sex, cohort: String },
    #[error("item {item} appears twice in the weights for {sex} {cohort}")]
    DuplicateWeight { item: String, sex: Sex, cohort: String },
    #[error("{sex} {cohort} has item tables but no weights")]
    NoWeights { sex: Sex, cohort: String },
    #[error("no grade cut-offs cover {cohort} for standard {code}")]
    NoCutoffs { code: String, cohort: String },
    #[error("bonus for item {item} at {sex} {cohort}, where the item is not scored from a table")]
    BonusForUnscoredItem { item: String, sex: Sex, cohort: String },
    #[error("linear bonus {0:?} needs its maximum as \"max N\" in the note")]
    BonusWithoutMax(String),
    #[error("columns {0:?} and {1:?} are accepted for two measurements")]
    DuplicateAlias(String, String),
}

/// Every loaded standard, by id.
#[derive(Debug, Clone, Default)]
pub struct StandardSet {
    standards: Vec<Standard>,
}

impl StandardSet {
    /// Loads every standard found in the files (any other file, such as a README, is ignored).
    pub fn load<N: AsRef<str>, T: AsRef<str>>(files: &[(N, T)]) -> Result<StandardSet, Vec<StandardLoadError>> {
        let mut errors = Errors::default();
        let mut folders: BTreeMap<String, BTreeMap<String, (String, String)>> = BTreeMap::new();
        let mut grade_files = Vec::new();
        for (name, text) in files {
            let name = name.as_ref().replace('\\', "/");
            let (folder, base) = match name.rsplit_once('/') {
                Some((folder, base)) => (folder.to_string(), base.to_string()),
                None => (String::new(), name.clone()),
            };
            if base == "grades.csv" {
                grade_files.push((name.clone(), text.as_ref().to_string()));
            } else if base.ends_with(".csv") {
                folders.entry(folder).or_default().insert(base, (name.clone(), text.as_ref().to_string()));
            }
        }
        let mut cutoff_rows = Vec::new();
        for (name, text) in &grade_files {
            cutoff_rows.extend(parse_grades(name, text, &mut errors));
        }
        let mut standards: Vec<Standard> = Vec::new();
        let mut seen: HashMap<String, String> = HashMap::new();
        for (folder, files) in &folders {
            let folder_name = if folder.is_empty() { "." } else { folder.as_str() };
            let id_text = folder.rsplit('/').next().unwrap_or(folder);
            let Some(id) = StandardId::parse(id_text) else {
                errors.push(folder_name, None, LoadProblem::InvalidId);
                continue;
            };
            if let Some(other) = seen.insert(id.to_string(), folder_name.to_string()) {
                errors.push(folder_name, None, LoadProblem::DuplicateStandard { id: id.to_string(), other });
                continue;
            }
            let before = errors.list.len();
            if let Some(standard) = load_standard(id, folder_name, files, &cutoff_rows, &mut errors)
                && errors.list.len() == before
            {
                standards.push(standard);
            }
        }
        if errors.list.is_empty() { Ok(StandardSet { standards }) } else { Err(errors.list) }
    }

    pub fn get(&self, id: &str) -> Option<&Standard> {
        self.standards.iter().find(|standard| standard.id.as_str() == id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Standard> {
        self.standards.iter()
    }

    pub fn ids(&self) -> Vec<&str> {
        self.standards.iter().map(|standard| standard.id.as_str()).collect()
    }
}

#[derive(Default)]
struct Errors {
    list: Vec<StandardLoadError>,
}

impl Errors {
    fn push(&mut self, file: &str, line: Option<u64>, problem: LoadProblem) {
        let error = StandardLoadError { file: file.to_string(), line, problem };
        if !self.list.contains(&error) {
            self.list.push(error);
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// CSV sheets

struct Sheet<'a> {
    file: &'a str,
    columns: HashMap<String, usize>,
    headers: Vec<String>,
    rows: Vec<(u64, csv::StringRecord)>,
}

fn read_sheet<'a>(file: &'a str, text: &str, required: &[&str], errors: &mut Errors) -> Option<Sheet<'a>> {
    // '\n' alone ends a record so that line numbers stay right in CRLF files (csv counts a CRLF
    // record's line before its '\n'); the '\r' left at the end of a row is trimmed with the field.
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).terminator(csv::Terminator::Any(b'\n')).from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(headers) => headers.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_string()).collect(),
        Err(error) => {
            errors.push(file, Some(1), LoadProblem::Csv(error.to_string()));
            return None;
        }
    };
    let columns: HashMap<String, usize> = headers.iter().enumerate().map(|(i, h)| (h.clone(), i)).collect();
    let mut ok = true;
    for column in required {
        if !columns.contains_key(*column) {
            errors.push(file, Some(1), LoadProblem::MissingColumn(column.to_string()));
            ok = false;
        }
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record_line(reader.position().line(), record.as_slice().as_bytes());
                if record.iter().all(|field| field.trim().is_empty()) {
                    continue;
                }
                if record.len() != headers.len() {
                    errors.push(file, Some(line), LoadProblem::Csv(format!("{} fields, the header has {}", record.len(), headers.len())));
                    ok = false;
                    continue;
                }
                rows.push((line, record.clone()));
            }
            Err(error) => {
                let line = error.position().map(|p| p.line());
                errors.push(file, line, LoadProblem::Csv(error.to_string()));
                ok = false;
                break;
            }
        }
    }
    ok.then_some(Sheet { file, columns, headers, rows })
}

/// The line a record starts on, from the reader's line after reading it and the record's bytes: csv
/// reports a record's own position before any empty lines it skipped, but its line count after the
/// record is exact (the terminator and any newline inside quoted fields are the record's).
pub fn record_line(line_after: u64, fields: &[u8]) -> u64 {
    let inside = fields.iter().filter(|&&b| b == b'\n').count() as u64;
    line_after.saturating_sub(1 + inside).max(1)
}

/// One row of a sheet, with typed getters that report bad values at the row's line.
struct Row<'s, 'a> {
    sheet: &'s Sheet<'a>,
    line: u64,
    record: &'s csv::StringRecord,
}

impl<'s, 'a> Sheet<'a> {
    fn iter(&'s self) -> impl Iterator<Item = Row<'s, 'a>> {
        self.rows.iter().map(move |(line, record)| Row { sheet: self, line: *line, record })
    }

    fn has(&self, column: &str) -> bool {
        self.columns.contains_key(column)
    }
}

impl Row<'_, '_> {
    fn text(&self, column: &str) -> &str {
        self.sheet.columns.get(column).and_then(|&i| self.record.get(i)).map_or("", str::trim)
    }

    fn bad(&self, errors: &mut Errors, column: &str, expected: &'static str) {
        let value = self.text(column).to_string();
        errors.push(self.sheet.file, Some(self.line), LoadProblem::BadValue { column: column.to_string(), value, expected });
    }

    fn dec(&self, column: &str, errors: &mut Errors) -> Option<Dec> {
        let value = Dec::parse(self.text(column)).ok();
        if value.is_none() {
            self.bad(errors, column, "a number");
        }
        value
    }

    /// Empty → `Ok(None)`; a bad number is reported and gives `Err`.
    fn optional_dec(&self, column: &str, errors: &mut Errors) -> Result<Option<Dec>, ()> {
        if self.text(column).is_empty() {
            return Ok(None);
        }
        self.dec(column, errors).map(Some).ok_or(())
    }

    fn small(&self, column: &str, max: u8, errors: &mut Errors, expected: &'static str) -> Option<u8> {
        let value = self.text(column).parse::<u8>().ok().filter(|v| *v <= max);
        if value.is_none() {
            self.bad(errors, column, expected);
        }
        value
    }

    fn sex(&self, errors: &mut Errors) -> Option<Sex> {
        let sex = match self.text("sex") {
            "M" => Some(Sex::Male),
            "F" => Some(Sex::Female),
            _ => None,
        };
        if sex.is_none() {
            self.bad(errors, "sex", "M or F");
        }
        sex
    }

    fn check_code(&self, code: &str, errors: &mut Errors) -> bool {
        let found = self.text("standard");
        if found.eq_ignore_ascii_case(code) {
            return true;
        }
        errors.push(self.sheet.file, Some(self.line), LoadProblem::WrongStandard { found: found.to_string(), expected: code.to_string() });
        false
    }

    fn cohort(&self, kind: CohortKind, errors: &mut Errors) -> Option<(u8, u8)> {
        let (min_column, max_column) = cohort_columns(kind);
        let min = self.small(min_column, 130, errors, "a whole number 0-130");
        let max = self.small(max_column, 130, errors, "a whole number 0-130");
        let (min, max) = (min?, max?);
        if min > max {
            let what = format!("{}–{}", min_column, max_column);
            errors.push(self.sheet.file, Some(self.line), LoadProblem::RangeReversed { what, min: min.to_string(), max: max.to_string() });
            return None;
        }
        Some((min, max))
    }
}

fn cohort_columns(kind: CohortKind) -> (&'static str, &'static str) {
    match kind {
        CohortKind::Grade => ("grade_min", "grade_max"),
        CohortKind::Age => ("age_min", "age_max"),
    }
}

fn cohort_label(kind: CohortKind, min: u8, max: u8) -> String {
    if min == max { format!("{} {min}", kind.noun()) } else { format!("{} {min}–{max}", kind.noun()) }
}

// ---------------------------------------------------------------------------------------------------
// grades.csv

struct CutoffRow {
    file: String,
    code: String,
    /// `None`: the whole standard; else an inclusive range taken from the population text ("adults 20-39").
    range: Option<(u8, u8)>,
    cutoffs: Option<(Dec, Dec, Dec)>,
    line: u64,
}

fn parse_grades(file: &str, text: &str, errors: &mut Errors) -> Vec<CutoffRow> {
    let Some(sheet) = read_sheet(file, text, &["standard", "population", "excellent_min", "good_min", "pass_min"], errors) else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for row in sheet.iter() {
        let values = ["excellent_min", "good_min", "pass_min"].map(|column| Dec::parse(row.text(column)).ok());
        let cutoffs = match values {
            [Some(excellent), Some(good), Some(pass)] => Some((excellent, good, pass)),
            _ => None,
        };
        rows.push(CutoffRow {
            file: file.to_string(),
            code: row.text("standard").to_string(),
            range: trailing_range(row.text("population")),
            cutoffs,
            line: row.line,
        });
    }
    rows
}

/// The last `A-B` (or `A–B`) range of whole numbers in a text: "adults 20-39" → (20, 39).
fn trailing_range(text: &str) -> Option<(u8, u8)> {
    let normalized = text.replace(['–', '—', '~', '～'], "-");
    normalized.split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')').rev().find_map(|word| {
        let (a, b) = word.split_once('-')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    })
}

// ---------------------------------------------------------------------------------------------------
// One standard

struct Meta {
    code: String,
    name_zh: String,
    name_en: String,
    version: String,
    provisional: bool,
    bounds_rule: BoundsRule,
    zero_score_withholds_grade: bool,
    bonus_total_max: Option<u32>,
    bmi_scores: [u8; 4],
    known_defects: Vec<String>,
}

fn parse_meta(file: &str, text: &str, errors: &mut Errors) -> Option<Meta> {
    let sheet = read_sheet(file, text, &["key", "value"], errors)?;
    let mut values: HashMap<&str, (String, u64)> = HashMap::new();
    let mut known_defects = Vec::new();
    const KEYS: [&str; 12] = [
        "code",
        "name_zh",
        "name_en",
        "version",
        "status",
        "bounds",
        "zero_score_withholds_grade",
        "bonus_total_max",
        "bmi_score_normal",
        "bmi_score_underweight",
        "bmi_score_overweight",
        "bmi_score_obese",
    ];
    for row in sheet.iter() {
        let key = row.text("key");
        if key == "known_defect" {
            known_defects.push(row.text("value").to_string());
        } else if let Some(known) = KEYS.iter().find(|k| **k == key) {
            values.insert(known, (row.text("value").to_string(), row.line));
        } else {
            errors.push(file, Some(row.line), LoadProblem::UnknownKey(key.to_string()));
        }
    }
    let before = errors.list.len();
    let mut required = |key: &'static str| match values.get(key) {
        Some((value, _)) if !value.is_empty() => value.clone(),
        _ => {
            errors.push(file, None, LoadProblem::MissingKey(key));
            String::new()
        }
    };
    let code = required("code");
    let name_zh = required("name_zh");
    let name_en = required("name_en");
    let version = required("version");
    let status = required("status");
    let bounds = required("bounds");
    let mut bad = |key: &str, expected: &'static str| {
        let (value, line) = values.get(key).cloned().unwrap_or_default();
        errors.push(file, Some(line), LoadProblem::BadValue { column: key.to_string(), value, expected });
    };
    let provisional = match status.as_str() {
        "verified" => false,
        "provisional" => true,
        _ => {
            bad("status", "verified or provisional");
            false
        }
    };
    let bounds_rule = match bounds.as_str() {
        "thresholds" => BoundsRule::Thresholds,
        "printed_ranges" => BoundsRule::PrintedRanges,
        _ => {
            bad("bounds", "thresholds or printed_ranges");
            BoundsRule::Thresholds
        }
    };
    let zero_score_withholds_grade = match values.get("zero_score_withholds_grade").map(|(v, _)| v.as_str()) {
        None | Some("no") => false,
        Some("yes") => true,
        Some(_) => {
            bad("zero_score_withholds_grade", "yes or no");
            false
        }
    };
    let bonus_total_max = match values.get("bonus_total_max").map(|(v, _)| v.parse::<u32>()) {
        None => None,
        Some(Ok(max)) if max <= 100 => Some(max),
        Some(_) => {
            bad("bonus_total_max", "a whole number 0-100");
            None
        }
    };
    let mut bmi_scores = [0u8; 4];
    for (slot, key) in ["bmi_score_underweight", "bmi_score_normal", "bmi_score_overweight", "bmi_score_obese"].into_iter().enumerate() {
        match values.get(key).map(|(v, _)| v.parse::<u8>()) {
            None => {}
            Some(Ok(score)) if score <= 100 => bmi_scores[slot] = score,
            Some(_) => bad(key, "a whole number 0-100"),
        }
    }
    (errors.list.len() == before).then_some(Meta {
        code,
        name_zh,
        name_en,
        version,
        provisional,
        bounds_rule,
        zero_score_withholds_grade,
        bonus_total_max,
        bmi_scores,
        known_defects,
    })
}

struct RawLevel {
    score: u8,
    threshold: Option<Dec>,
    lower: Option<Dec>,
    upper: Option<Dec>,
    line: u64,
}

struct RawTable {
    item: usize,
    sex: Sex,
    min: u8,
    max: u8,
    levels: Vec<RawLevel>,
    first_line: u64,
}

struct RawItem {
    id: String,
    name_zh: String,
    unit: String,
    direction: Direction,
    line: u64,
    decimals: u8,
    negative: bool,
}

const KNOWN_FILES: [&str; 6] = ["standard.csv", "items.csv", "bmi.csv", "height_weight.csv", "weights.csv", "bonus.csv"];

fn load_standard(id: StandardId, folder: &str, files: &BTreeMap<String, (String, String)>, cutoff_rows: &[CutoffRow], errors: &mut Errors) -> Option<Standard> {
    for (base, (name, _)) in files {
        if !KNOWN_FILES.contains(&base.as_str()) {
            errors.push(name, None, LoadProblem::UnknownFile);
        }
    }
    let file = |base: &str| files.get(base).map(|(name, text)| (name.as_str(), text.as_str()));
    let Some((meta_file, meta_text)) = file("standard.csv") else {
        errors.push(folder, None, LoadProblem::MissingFile("standard.csv"));
        return None;
    };
    let Some((items_file, items_text)) = file("items.csv") else {
        errors.push(folder, None, LoadProblem::MissingFile("items.csv"));
        return None;
    };
    let errors_before = errors.list.len();
    let meta = parse_meta(meta_file, meta_text, errors)?;

    // items.csv
    let base_columns = ["standard", "sex", "item", "score", "lower_bound", "upper_bound", "unit", "direction"];
    let items_sheet = read_sheet(items_file, items_text, &base_columns, errors)?;
    let cohort_kind = if items_sheet.has("grade_min") {
        CohortKind::Grade
    } else if items_sheet.has("age_min") {
        CohortKind::Age
    } else {
        errors.push(items_file, Some(1), LoadProblem::MissingColumn("grade_min/grade_max or age_min/age_max".into()));
        return None;
    };
    let mut raw_items: Vec<RawItem> = Vec::new();
    let mut tables: Vec<RawTable> = Vec::new();
    let mut table_keys: HashMap<(Sex, u8, u8, usize), usize> = HashMap::new();
    for row in items_sheet.iter() {
        if !row.check_code(&meta.code, errors) {
            continue;
        }
        let sex = row.sex(errors);
        let cohort = row.cohort(cohort_kind, errors);
        let item_id = row.text("item");
        if item_id.is_empty() || !item_id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            row.bad(errors, "item", "an item id (a-z, 0-9, _)");
            continue;
        }
        let score = row.small("score", 100, errors, "a whole number 0-100");
        let direction = match row.text("direction") {
            "higher_better" => Some(Direction::HigherBetter),
            "lower_better" => Some(Direction::LowerBetter),
            _ => {
                row.bad(errors, "direction", "higher_better or lower_better");
                None
            }
        };
        let threshold = if items_sheet.has("threshold") { row.optional_dec("threshold", errors) } else { Ok(None) };
        let lower = row.optional_dec("lower_bound", errors);
        let upper = row.optional_dec("upper_bound", errors);
        let (Some(sex), Some((min, max)), Some(score), Some(direction), Ok(threshold), Ok(lower), Ok(upper)) =
            (sex, cohort, score, direction, threshold, lower, upper)
        else {
            continue;
        };
        let unit = row.text("unit");
        let item = match raw_items.iter().position(|item| item.id == item_id) {
            Some(index) => {
                let first = &raw_items[index];
                let mismatch = if first.unit != unit {
                    Some(("unit", unit.to_string(), first.unit.clone()))
                } else if first.direction != direction {
                    Some(("direction", direction.slug().to_string(), first.direction.slug().to_string()))
                } else {
                    None
                };
                if let Some((field, found, first_value)) = mismatch {
                    errors.push(
                        items_file,
                        Some(row.line),
                        LoadProblem::ItemInconsistent { item: item_id.to_string(), field, found, first: first_value, first_line: first.line },
                    );
                    continue;
                }
                index
            }
            None => {
                raw_items.push(RawItem {
                    id: item_id.to_string(),
                    name_zh: row.text("item_cn").to_string(),
                    unit: unit.to_string(),
                    direction,
                    line: row.line,
                    decimals: 0,
                    negative: false,
                });
                raw_items.len() - 1
            }
        };
        for value in [threshold, lower, upper].into_iter().flatten() {
            raw_items[item].decimals = raw_items[item].decimals.max(value.decimals());
            raw_items[item].negative |= value.is_negative();
        }
        let table = *table_keys.entry((sex, min, max, item)).or_insert_with(|| {
            tables.push(RawTable { item, sex, min, max, levels: Vec::new(), first_line: row.line });
            tables.len() - 1
        });
        tables[table].levels.push(RawLevel { score, threshold, lower, upper, line: row.line });
    }

    let has_bmi = files.contains_key("bmi.csv");
    let has_height_weight = files.contains_key("height_weight.csv");
    // Items: the body-composition item first, then the table items in file order.
    let mut items: Vec<ItemDef> = Vec::new();
    if has_bmi {
        items.push(ItemDef {
            id: "bmi".into(),
            name_zh: "体重指数(BMI)".into(),
            unit: "kg/m²".into(),
            direction: None,
            resolution_decimals: 1,
            kind: ItemKind::Bmi,
        });
    } else if has_height_weight {
        items.push(ItemDef {
            id: "height_weight".into(),
            name_zh: "身高标准体重".into(),
            unit: "kg".into(),
            direction: None,
            resolution_decimals: 1,
            kind: ItemKind::WeightForHeight,
        });
    }
    let body_items = items.len();
    let mut measures = vec![
        MeasureDef {
            key: "height_cm".into(),
            aliases: vec!["height".into(), "身高".into()],
            kind: ValueKind::Positive { max: Dec::from_int(300) },
            item: None,
        },
        MeasureDef {
            key: "weight_kg".into(),
            aliases: vec!["weight".into(), "体重".into()],
            kind: ValueKind::Positive { max: Dec::from_int(500) },
            item: None,
        },
    ];
    for raw in &raw_items {
        let measure = measures.len();
        let kind = match raw.unit.as_str() {
            "s" => ValueKind::Seconds,
            "reps" => ValueKind::Count,
            _ => ValueKind::Amount { negative_allowed: raw.negative },
        };
        let key = match raw.unit.as_str() {
            "reps" | "index" | "" => raw.id.clone(),
            unit => format!("{}_{}", raw.id, unit.to_ascii_lowercase()),
        };
        let name = normalize_header(&raw.name_zh);
        let mut aliases = vec![raw.id.clone()];
        if !name.is_empty() {
            aliases.push(name.clone());
            if let Some(short) = name.strip_prefix("1分钟").filter(|s| !s.is_empty()) {
                aliases.push(short.to_string());
            }
        }
        measures.push(MeasureDef { key, aliases, kind, item: Some(items.len()) });
        items.push(ItemDef {
            id: raw.id.clone(),
            name_zh: raw.name_zh.clone(),
            unit: raw.unit.clone(),
            direction: Some(raw.direction),
            resolution_decimals: raw.decimals,
            kind: ItemKind::Table { measure },
        });
    }
    check_aliases(items_file, &measures, errors);
    let item_of_raw = |raw: usize| body_items + raw;

    // Validate and compile the tables.
    let mut compiled: Vec<ItemTable> = Vec::new();
    for table in &mut tables {
        let raw = &raw_items[table.item];
        let label = format!("{} {} {}", raw.id, table.sex, cohort_label(cohort_kind, table.min, table.max));
        if let Some(levels) = compile_levels(items_file, &label, raw, meta.bounds_rule, &mut table.levels, errors) {
            compiled.push(ItemTable::new(
                item_of_raw(table.item),
                table.sex,
                (table.min, table.max),
                raw.direction,
                levels,
                items_file.to_string(),
                table.first_line,
            ));
        }
    }
    check_overlaps(items_file, &compiled, |t| (t.sex, t.item), |t| (t.cohort_min, t.cohort_max, t.first_line), |t| items[t.item].id.clone(), errors);

    let mut warnings = Vec::new();
    for table in &compiled {
        if table.sex == Sex::Female
            && let Some(male) =
                compiled.iter().find(|m| m.sex == Sex::Male && m.item == table.item && (m.cohort_min, m.cohort_max) == (table.cohort_min, table.cohort_max))
            && same_levels(male, table)
            && differs_elsewhere(&compiled, table.item)
        {
            warnings.push(StandardWarning {
                file: items_file.to_string(),
                line: table.first_line,
                message: format!(
                    "{} F {} has exactly the men's levels (line {}), while other women's tables of this item differ from the men's: a copying error?",
                    items[table.item].id,
                    cohort_label(cohort_kind, table.cohort_min, table.cohort_max),
                    male.first_line
                ),
            });
        }
    }

    // bmi.csv
    let mut bmi_bands = Vec::new();
    if let Some((file, text)) = file("bmi.csv") {
        let (min_column, max_column) = cohort_columns(cohort_kind);
        if let Some(sheet) = read_sheet(file, text, &["standard", "sex", min_column, max_column, "normal_min", "normal_max", "obese_min"], errors) {
            for row in sheet.iter() {
                if !row.check_code(&meta.code, errors) {
                    continue;
                }
                let (sex, cohort) = (row.sex(errors), row.cohort(cohort_kind, errors));
                let values = ["normal_min", "normal_max", "obese_min"].map(|column| row.dec(column, errors));
                let (Some(sex), Some((min, max)), [Some(normal_min), Some(normal_max), Some(obese_min)]) = (sex, cohort, values) else {
                    continue;
                };
                if !(normal_min < normal_max && normal_max < obese_min) {
                    let what = format!("BMI bands {sex} {}", cohort_label(cohort_kind, min, max));
                    let detail = format!("need normal_min {normal_min} < normal_max {normal_max} < obese_min {obese_min}");
                    errors.push(file, Some(row.line), LoadProblem::NotOrdered { what, detail });
                    continue;
                }
                bmi_bands.push(BmiBands { sex, cohort_min: min, cohort_max: max, normal_min, normal_max, obese_min, line: row.line });
            }
            check_overlaps(file, &bmi_bands, |b| (b.sex, 0), |b| (b.cohort_min, b.cohort_max, b.line), |_| "BMI bands".to_string(), errors);
        }
    }

    // height_weight.csv
    let mut height_weight = Vec::new();
    let mut height_weight_scores = None;
    if let Some((file, text)) = file("height_weight.csv") {
        let (min_column, max_column) = cohort_columns(cohort_kind);
        if let Some(sheet) = read_sheet(file, text, &["standard", "sex", min_column, max_column, "height_min_cm", "height_max_cm"], errors)
            && let Some((scores, columns)) = height_weight_columns(&sheet, errors)
        {
            height_weight_scores = Some(scores);
            height_weight = parse_height_weight(&sheet, &columns, &meta.code, cohort_kind, errors, &mut warnings);
        }
    }

    // weights.csv
    let mut weights = Vec::new();
    let total_basis = if let Some((file, text)) = file("weights.csv") {
        let (min_column, max_column) = cohort_columns(cohort_kind);
        if let Some(sheet) = read_sheet(file, text, &["standard", min_column, max_column, "item", "weight_pct"], errors) {
            for row in sheet.iter() {
                if !row.check_code(&meta.code, errors) {
                    continue;
                }
                let cohort = row.cohort(cohort_kind, errors);
                let weight = row.small("weight_pct", 100, errors, "a whole number 0-100");
                let Some(choices) = parse_weight_item(row.text("item")) else {
                    row.bad(errors, "item", "an item, or \"a (M) / b (F)\"");
                    continue;
                };
                let (Some((min, max)), Some(weight)) = (cohort, weight) else { continue };
                for (sexes, item_id) in choices {
                    match items.iter().position(|item| item.id == item_id) {
                        Some(item) => weights.push(WeightEntry { sexes, min, max, item, weight: u32::from(weight), line: row.line, file: file.to_string() }),
                        None => errors.push(file, Some(row.line), LoadProblem::UnknownItem(item_id)),
                    }
                }
            }
        }
        TotalBasis::Weighted
    } else {
        TotalBasis::Sum
    };

    // bonus.csv
    let mut bonus_rules = Vec::new();
    let mut bonus_file = "";
    if let Some((file, text)) = file("bonus.csv") {
        bonus_file = file;
        bonus_rules = parse_bonus(file, text, &meta.code, cohort_kind, &items, errors);
    }

    // Plans per sex and cohort value.
    let cutoffs: Vec<(Cutoffs, String)> = cutoff_rows
        .iter()
        .filter(|row| row.code.eq_ignore_ascii_case(&meta.code) || row.code.eq_ignore_ascii_case(id.as_str()))
        .filter_map(|row| match row.cutoffs {
            Some((excellent, good, pass)) => {
                if !(excellent > good && good > pass) {
                    let what = format!("grade cut-offs of {}", meta.code);
                    let detail = format!("need excellent_min {excellent} > good_min {good} > pass_min {pass}");
                    errors.push(&row.file, Some(row.line), LoadProblem::NotOrdered { what, detail });
                }
                let (min, max) = if cohort_kind == CohortKind::Age { row.range.unwrap_or((0, 130)) } else { (0, 130) };
                Some((Cutoffs { cohort_min: min, cohort_max: max, excellent_min: excellent, good_min: good, pass_min: pass, line: row.line }, row.file.clone()))
            }
            None => {
                let what = format!("grade cut-offs of {}", meta.code);
                errors.push(&row.file, Some(row.line), LoadProblem::NotOrdered { what, detail: "excellent_min, good_min and pass_min are all needed".into() });
                None
            }
        })
        .collect();
    for (index, (cutoff, file)) in cutoffs.iter().enumerate() {
        let same = |o: &Cutoffs| {
            (o.cohort_min, o.cohort_max, o.excellent_min, o.good_min, o.pass_min)
                == (cutoff.cohort_min, cutoff.cohort_max, cutoff.excellent_min, cutoff.good_min, cutoff.pass_min)
        };
        // The same row twice (a standards directory repeating the shipped grades.csv) is no conflict.
        if let Some((other, _)) = cutoffs[..index].iter().find(|(o, _)| !same(o) && o.cohort_min <= cutoff.cohort_max && cutoff.cohort_min <= o.cohort_max) {
            let what = format!("grade cut-offs of {} for {}", meta.code, cohort_label(cohort_kind, cutoff.cohort_min, cutoff.cohort_max));
            errors.push(file, Some(cutoff.line), LoadProblem::Overlap { what, other_line: other.line });
        }
    }

    // Plans are only compiled from tables that are all valid (no cascade of follow-up errors).
    if errors.list.len() > errors_before {
        return None;
    }
    let max_value = compiled.iter().map(|t| t.cohort_max).max().unwrap_or(0);
    let mut plans: Vec<Plan> = Vec::new();
    let mut plan_index = [vec![u16::MAX; usize::from(max_value) + 1], vec![u16::MAX; usize::from(max_value) + 1]];
    let grades_file = cutoff_rows.first().map_or("grades.csv".to_string(), |row| row.file.clone());
    for sex in Sex::ALL {
        for value in 0..=max_value {
            let covers = |min: u8, max: u8| min <= value && value <= max;
            let cohort = cohort_label(cohort_kind, value, value);
            let has_tables = compiled.iter().any(|t| t.sex == sex && covers(t.cohort_min, t.cohort_max));
            let mut plan_items: Vec<PlanItem> = Vec::new();
            let body_source = |item: usize| -> Option<Source> {
                match items[item].kind {
                    ItemKind::Bmi => bmi_bands.iter().position(|b| b.sex == sex && covers(b.cohort_min, b.cohort_max)).map(Source::Bmi),
                    ItemKind::WeightForHeight => {
                        height_weight.iter().position(|t: &HeightWeightTable| t.sex == sex && covers(t.cohort_min, t.cohort_max)).map(Source::WeightForHeight)
                    }
                    ItemKind::Table { .. } => {
                        compiled.iter().position(|t| t.sex == sex && t.item == item && covers(t.cohort_min, t.cohort_max)).map(Source::Table)
                    }
                }
            };
            match total_basis {
                TotalBasis::Weighted => {
                    let entries: Vec<&WeightEntry> = weights.iter().filter(|w| w.sexes.contains(&sex) && covers(w.min, w.max)).collect();
                    if entries.is_empty() {
                        if has_tables {
                            errors.push(file("weights.csv").map_or(folder, |(name, _)| name), None, LoadProblem::NoWeights { sex, cohort: cohort.clone() });
                        }
                        continue;
                    }
                    let sum: u32 = entries.iter().map(|w| w.weight).sum();
                    if sum != 100 {
                        errors.push(&entries[0].file, Some(entries[0].line), LoadProblem::WeightsNot100 { sex, cohort: cohort.clone(), sum });
                    }
                    for entry in entries {
                        if plan_items.iter().any(|p| p.item == entry.item) {
                            let item = items[entry.item].id.clone();
                            errors.push(&entry.file, Some(entry.line), LoadProblem::DuplicateWeight { item, sex, cohort: cohort.clone() });
                            continue;
                        }
                        match body_source(entry.item) {
                            Some(source) => {
                                plan_items.push(PlanItem { item: entry.item, source, weight_pct: entry.weight, bonus: None, levels: LevelSpan::NONE })
                            }
                            None => {
                                let item = items[entry.item].id.clone();
                                errors.push(&entry.file, Some(entry.line), LoadProblem::NoTable { item, sex, cohort: cohort.clone() });
                            }
                        }
                    }
                }
                TotalBasis::Sum => {
                    if !has_tables {
                        continue;
                    }
                    for (item, def) in items.iter().enumerate() {
                        if let Some(source) = body_source(item) {
                            plan_items.push(PlanItem { item, source, weight_pct: 0, bonus: None, levels: LevelSpan::NONE });
                        } else if def.kind == ItemKind::WeightForHeight || def.kind == ItemKind::Bmi {
                            let name = def.id.clone();
                            errors.push(folder, None, LoadProblem::NoTable { item: name, sex, cohort: cohort.clone() });
                        }
                    }
                }
            }
            for (index, rule) in bonus_rules.iter().enumerate() {
                if !(rule.sexes.contains(&sex) && covers(rule.cohort_min, rule.cohort_max)) {
                    continue;
                }
                match plan_items.iter_mut().find(|p| p.item == rule.item && matches!(p.source, Source::Table(_))) {
                    Some(plan_item) if plan_item.bonus.is_none() => plan_item.bonus = Some(index),
                    Some(plan_item) => {
                        let other = plan_item.bonus.map_or(0, |other| bonus_rules[other].line);
                        let what = format!("bonus for {} {sex} {cohort}", items[rule.item].id);
                        errors.push(bonus_file, Some(rule.line), LoadProblem::Overlap { what, other_line: other });
                    }
                    None => {
                        let item = items[rule.item].id.clone();
                        errors.push(bonus_file, Some(rule.line), LoadProblem::BonusForUnscoredItem { item, sex, cohort: cohort.clone() });
                    }
                }
            }
            let Some((cutoff, _)) = cutoffs.iter().find(|(c, _)| covers(c.cohort_min, c.cohort_max)) else {
                errors.push(&grades_file, None, LoadProblem::NoCutoffs { code: meta.code.clone(), cohort });
                continue;
            };
            plan_index[sex.index()][usize::from(value)] = plans.len() as u16;
            plans.push(Plan { items: plan_items, cutoffs: *cutoff });
        }
    }

    let plan_levels = lay_out_plans(&mut plans, &compiled, &items);
    Some(Standard {
        id,
        code: meta.code,
        name_zh: meta.name_zh,
        name_en: meta.name_en,
        version: meta.version,
        provisional: meta.provisional,
        known_defects: meta.known_defects,
        cohort_kind,
        bounds_rule: meta.bounds_rule,
        total_basis,
        zero_score_withholds_grade: meta.zero_score_withholds_grade,
        bonus_total_max: meta.bonus_total_max,
        bmi_scores: meta.bmi_scores,
        height_weight_scores,
        items,
        measures,
        tables: compiled,
        bmi_bands,
        height_weight,
        bonus_rules,
        plans,
        plan_levels,
        plan_index,
        warnings,
    })
}

struct WeightEntry {
    sexes: Vec<Sex>,
    min: u8,
    max: u8,
    item: usize,
    weight: u32,
    line: u64,
    file: String,
}

/// `run_50m` → both sexes; `pull_ups (M) / sit_ups_1min (F)` → one item per sex.
fn parse_weight_item(text: &str) -> Option<Vec<(Vec<Sex>, String)>> {
    let is_id = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if is_id(text) {
        return Some(vec![(Sex::ALL.to_vec(), text.to_string())]);
    }
    let mut choices = Vec::new();
    for part in text.split('/') {
        let part = part.trim();
        let (item, sex) = part.strip_suffix(')')?.rsplit_once('(')?;
        let sex = match sex.trim() {
            "M" => Sex::Male,
            "F" => Sex::Female,
            _ => return None,
        };
        let item = item.trim();
        if !is_id(item) || choices.iter().any(|(sexes, _): &(Vec<Sex>, String)| sexes.contains(&sex)) {
            return None;
        }
        choices.push((vec![sex], item.to_string()));
    }
    (!choices.is_empty()).then_some(choices)
}

/// Checks one table's levels and compiles them best first. `None` after reporting problems.
fn compile_levels(file: &str, label: &str, item: &RawItem, rule: BoundsRule, levels: &mut [RawLevel], errors: &mut Errors) -> Option<Vec<Level>> {
    let before = errors.list.len();
    levels.sort_by(|a, b| b.score.cmp(&a.score).then(a.line.cmp(&b.line)));
    for pair in levels.windows(2) {
        if pair[0].score == pair[1].score {
            errors.push(file, Some(pair[1].line), LoadProblem::DuplicateLevel { table: label.to_string(), score: pair[1].score, first_line: pair[0].line });
        }
    }
    if errors.list.len() > before {
        return None;
    }
    let higher = item.direction == Direction::HigherBetter;
    // The bound a level is reached at, and the open side that faces the better level.
    let (own_name, other_name) = if higher { ("lower_bound", "upper_bound") } else { ("upper_bound", "lower_bound") };
    let own = |level: &RawLevel| if higher { level.lower } else { level.upper };
    let other = |level: &RawLevel| if higher { level.upper } else { level.lower };
    let scored: Vec<&RawLevel> = levels.iter().filter(|level| level.score > 0).collect();
    if scored.is_empty() {
        errors.push(file, levels.first().map(|l| l.line), LoadProblem::NoLevels { table: label.to_string() });
        return None;
    }
    let mut thresholds = Vec::with_capacity(scored.len());
    for level in &scored {
        let Some(bound) = own(level) else {
            errors.push(file, Some(level.line), LoadProblem::MissingBound { table: label.to_string(), score: level.score, bound: own_name });
            continue;
        };
        if let Some(threshold) = level.threshold
            && threshold != bound
        {
            errors.push(
                file,
                Some(level.line),
                LoadProblem::ThresholdNotBound { table: label.to_string(), score: level.score, threshold, bound: own_name, value: bound },
            );
        }
        thresholds.push((level, bound));
    }
    if errors.list.len() > before {
        return None;
    }
    let text = |value: Option<Dec>| value.map_or_else(|| "empty".to_string(), |v| v.to_string());
    // The best level is open towards better values.
    if let Some(top) = scored.first()
        && other(top).is_some()
    {
        errors.push(
            file,
            Some(top.line),
            LoadProblem::BoundsDoNotMeet {
                table: label.to_string(),
                score: top.score,
                bound: other_name,
                found: text(other(top)),
                expected: "empty".into(),
                other_score: top.score,
                other_line: top.line,
            },
        );
    }
    for pair in thresholds.windows(2) {
        let ((better, better_value), (worse, worse_value)) = (pair[0], pair[1]);
        let monotone = if higher { worse_value < better_value } else { worse_value > better_value };
        if !monotone {
            errors.push(
                file,
                Some(worse.line),
                LoadProblem::NotMonotone {
                    table: label.to_string(),
                    score: worse.score,
                    threshold: worse_value,
                    better_score: better.score,
                    better_threshold: better_value,
                    better_line: better.line,
                    unit: item.unit.clone(),
                    need: if higher { "smaller" } else { "larger" },
                },
            );
        } else if other(worse) != Some(better_value) {
            errors.push(
                file,
                Some(worse.line),
                LoadProblem::BoundsDoNotMeet {
                    table: label.to_string(),
                    score: worse.score,
                    bound: other_name,
                    found: text(other(worse)),
                    expected: better_value.to_string(),
                    other_score: better.score,
                    other_line: better.line,
                },
            );
        }
    }
    if errors.list.len() > before {
        return None;
    }
    // The no-score row, if listed: open away from the levels, meeting the worst level.
    let (worst, worst_value) = thresholds[thresholds.len() - 1];
    for zero in levels.iter().filter(|level| level.score == 0) {
        let problem = if own(zero).is_some() || zero.threshold.is_some() {
            Some((own_name, text(own(zero)), "empty".to_string()))
        } else if other(zero) != Some(worst_value) {
            Some((other_name, text(other(zero)), worst_value.to_string()))
        } else {
            None
        };
        if let Some((bound, found, expected)) = problem {
            errors.push(
                file,
                Some(zero.line),
                LoadProblem::BoundsDoNotMeet { table: label.to_string(), score: 0, bound, found, expected, other_score: worst.score, other_line: worst.line },
            );
        }
    }
    if errors.list.len() > before {
        return None;
    }
    let step = Dec::step(item.decimals);
    let last = thresholds.len() - 1;
    Some(
        thresholds
            .iter()
            .enumerate()
            .map(|(index, (level, threshold))| {
                let cutoff = match rule {
                    BoundsRule::PrintedRanges if index < last => {
                        // Beyond the printed edge of the next worse level's range counts as this level.
                        let one = Dec::from_milli(1);
                        if higher { threshold.saturating_sub(step).saturating_add(one) } else { threshold.saturating_add(step).saturating_sub(one) }
                    }
                    _ => *threshold,
                };
                Level { score: level.score, threshold: *threshold, cutoff, line: level.line }
            })
            .collect(),
    )
}

/// Tables (or bands) of the same key must not share a cohort value.
fn check_overlaps<T, K: PartialEq>(
    file: &str,
    list: &[T],
    key: impl Fn(&T) -> K,
    range: impl Fn(&T) -> (u8, u8, u64),
    name: impl Fn(&T) -> String,
    errors: &mut Errors,
) {
    for (index, entry) in list.iter().enumerate() {
        let (min, max, line) = range(entry);
        if let Some(other) = list[..index].iter().find(|other| {
            let (other_min, other_max, _) = range(other);
            key(other) == key(entry) && other_min <= max && min <= other_max
        }) {
            errors.push(file, Some(line), LoadProblem::Overlap { what: name(entry), other_line: range(other).2 });
        }
    }
}

fn same_levels(a: &ItemTable, b: &ItemTable) -> bool {
    a.levels.len() == b.levels.len() && a.levels.iter().zip(&b.levels).all(|(x, y)| x.score == y.score && x.threshold == y.threshold)
}

/// Whether some cohort's women's table of the item differs from the men's (so sameness is suspect).
fn differs_elsewhere(tables: &[ItemTable], item: usize) -> bool {
    tables.iter().filter(|t| t.item == item && t.sex == Sex::Female).any(|female| {
        tables
            .iter()
            .find(|m| m.sex == Sex::Male && m.item == item && (m.cohort_min, m.cohort_max) == (female.cohort_min, female.cohort_max))
            .is_some_and(|male| !same_levels(male, female))
    })
}

fn check_aliases(file: &str, measures: &[MeasureDef], errors: &mut Errors) {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for measure in measures {
        for name in std::iter::once(&measure.key).chain(&measure.aliases) {
            let name = normalize_header(name);
            match seen.get(name.as_str()) {
                Some(other) if *other != measure.key => errors.push(file, None, LoadProblem::DuplicateAlias(name.clone(), other.to_string())),
                _ => {
                    seen.insert(name, &measure.key);
                }
            }
        }
    }
}

/// The four weight columns `w_<points>pt_light_below` ×2, `w_<points>pt_max_incl`,
/// `w_<points>pt_heavy_max_incl`, in this order.
fn height_weight_columns(sheet: &Sheet, errors: &mut Errors) -> Option<(HeightWeightScores, [String; 4])> {
    let parsed: Vec<(u8, &str, &String)> = sheet
        .headers
        .iter()
        .filter_map(|header| {
            let rest = header.strip_prefix("w_")?;
            let (points, kind) = rest.split_once("pt_")?;
            Some((points.parse().ok().filter(|p: &u8| *p <= 100)?, kind, header))
        })
        .collect();
    let kinds: Vec<&str> = parsed.iter().map(|(_, kind, _)| *kind).collect();
    if kinds != ["light_below", "light_below", "max_incl", "heavy_max_incl"] {
        let columns = "w_<points>pt_light_below (twice), w_<points>pt_max_incl, w_<points>pt_heavy_max_incl".to_string();
        errors.push(sheet.file, Some(1), LoadProblem::MissingColumn(columns));
        return None;
    }
    let scores =
        HeightWeightScores { light_outer: parsed[0].0, light_inner: parsed[1].0, normal: parsed[2].0, heavy_inner: parsed[3].0, heavy_outer: parsed[0].0 };
    let columns = [parsed[0].2.clone(), parsed[1].2.clone(), parsed[2].2.clone(), parsed[3].2.clone()];
    Some((scores, columns))
}

fn parse_height_weight(
    sheet: &Sheet,
    columns: &[String; 4],
    code: &str,
    kind: CohortKind,
    errors: &mut Errors,
    warnings: &mut Vec<StandardWarning>,
) -> Vec<HeightWeightTable> {
    let mut groups: BTreeMap<(Sex, u8, u8), Vec<HeightWeightRow>> = BTreeMap::new();
    let mut decimals: BTreeMap<(Sex, u8, u8), u8> = BTreeMap::new();
    for row in sheet.iter() {
        if !row.check_code(code, errors) {
            continue;
        }
        let (sex, cohort) = (row.sex(errors), row.cohort(kind, errors));
        let heights = ["height_min_cm", "height_max_cm"].map(|column| row.dec(column, errors));
        let weights = [0, 1, 2, 3].map(|i| row.dec(&columns[i], errors));
        let (Some(sex), Some((min, max)), [Some(height_min), Some(height_max)], [Some(a), Some(b), Some(c), Some(d)]) = (sex, cohort, heights, weights) else {
            continue;
        };
        let what = format!("weight for height {sex} {} at {height_min} cm", cohort_label(kind, min, max));
        if height_min > height_max {
            errors.push(sheet.file, Some(row.line), LoadProblem::RangeReversed { what, min: height_min.to_string(), max: height_max.to_string() });
            continue;
        }
        if !(a < b && b < c && c < d) {
            let detail = format!("the weights {a} < {b} < {c} < {d} kg must increase along the row");
            errors.push(sheet.file, Some(row.line), LoadProblem::NotOrdered { what, detail });
            continue;
        }
        let entry = decimals.entry((sex, min, max)).or_default();
        *entry = (*entry).max(height_min.decimals()).max(height_max.decimals());
        groups.entry((sex, min, max)).or_default().push(HeightWeightRow {
            height_min_cm: height_min,
            height_max_cm: height_max,
            light_outer_below_kg: a,
            light_inner_below_kg: b,
            normal_max_kg: c,
            heavy_inner_max_kg: d,
            line: row.line,
        });
    }
    let mut tables = Vec::new();
    for ((sex, min, max), mut rows) in groups {
        rows.sort_by_key(|row| row.height_min_cm);
        let step = Dec::step(decimals.get(&(sex, min, max)).copied().unwrap_or(0));
        let label = format!("weight for height {sex} {}", cohort_label(kind, min, max));
        let mut ok = true;
        for pair in rows.windows(2) {
            let expected = pair[0].height_max_cm.saturating_add(step);
            if pair[1].height_min_cm != expected {
                errors.push(
                    sheet.file,
                    Some(pair[1].line),
                    LoadProblem::HeightRowsNotContiguous {
                        table: label.clone(),
                        found: pair[1].height_min_cm,
                        previous_max: pair[0].height_max_cm,
                        previous_line: pair[0].line,
                        expected,
                    },
                );
                ok = false;
                continue;
            }
            let cuts = |row: &HeightWeightRow| [row.light_outer_below_kg, row.light_inner_below_kg, row.normal_max_kg, row.heavy_inner_max_kg];
            for (index, (previous, next)) in cuts(&pair[0]).into_iter().zip(cuts(&pair[1])).enumerate() {
                if next < previous {
                    warnings.push(StandardWarning {
                        file: sheet.file.to_string(),
                        line: pair[1].line,
                        message: format!(
                            "{label}: at {} cm {} is {next} kg, below {previous} kg at {} cm (line {}): weights should not fall as height rises",
                            pair[1].height_min_cm, columns[index], pair[0].height_min_cm, pair[0].line
                        ),
                    });
                }
            }
        }
        if ok {
            tables.push(HeightWeightTable { sex, cohort_min: min, cohort_max: max, rows, height_step_cm: step });
        }
    }
    let overlapping: Vec<(Sex, u8, u8, u64)> = tables.iter().map(|t| (t.sex, t.cohort_min, t.cohort_max, t.rows[0].line)).collect();
    check_overlaps(sheet.file, &overlapping, |t| t.0, |t| (t.1, t.2, t.3), |_| "weight-for-height table".to_string(), errors);
    tables
}

fn parse_bonus(file: &str, text: &str, code: &str, kind: CohortKind, items: &[ItemDef], errors: &mut Errors) -> Vec<BonusRule> {
    let (min_column, max_column) = cohort_columns(kind);
    let excess_column = "excess_needed_over_100pt_threshold";
    let Some(sheet) = read_sheet(file, text, &["standard", min_column, max_column, "sex", "item", "bonus_points", excess_column], errors) else {
        return Vec::new();
    };
    let mut rules: Vec<BonusRule> = Vec::new();
    for row in sheet.iter() {
        if !row.check_code(code, errors) {
            continue;
        }
        let cohort = row.cohort(kind, errors);
        let sexes = match row.text("sex") {
            "M" => vec![Sex::Male],
            "F" => vec![Sex::Female],
            "M/F" | "F/M" => Sex::ALL.to_vec(),
            _ => {
                row.bad(errors, "sex", "M, F or M/F");
                continue;
            }
        };
        let item_id = row.text("item");
        let Some(item) = items.iter().position(|item| item.id == item_id) else {
            errors.push(file, Some(row.line), LoadProblem::UnknownItem(item_id.to_string()));
            continue;
        };
        let Some((min, max)) = cohort else { continue };
        let points_text = row.text("bonus_points");
        if let Some((points, per)) = points_text.split_once(" per ") {
            let points = points.trim().parse::<u32>().ok();
            let per = per.split_whitespace().next().and_then(|n| Dec::parse(n).ok()).filter(|d| d.milli() > 0);
            let (Some(points), Some(per)) = (points, per) else {
                row.bad(errors, "bonus_points", "\"P per N <unit>\" or a whole number of points");
                continue;
            };
            let note = row.text("note");
            let max_points =
                note.split("max").nth(1).and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).find(|s| !s.is_empty())).and_then(|n| n.parse().ok());
            let Some(max_points) = max_points else {
                errors.push(file, Some(row.line), LoadProblem::BonusWithoutMax(points_text.to_string()));
                continue;
            };
            rules.push(BonusRule { item, sexes, cohort_min: min, cohort_max: max, kind: BonusKind::Linear { points, per, max: max_points }, line: row.line });
            continue;
        }
        let points = row.small("bonus_points", 100, errors, "\"P per N <unit>\" or a whole number of points");
        let excess = row.dec(excess_column, errors);
        let (Some(points), Some(excess)) = (points, excess) else { continue };
        let step = BonusStep { excess, points: u32::from(points), line: row.line };
        match rules.iter_mut().find(|r| r.item == item && r.sexes == sexes && (r.cohort_min, r.cohort_max) == (min, max)) {
            Some(BonusRule { kind: BonusKind::Steps(steps), .. }) => steps.push(step),
            Some(rule) => errors.push(file, Some(row.line), LoadProblem::Overlap { what: format!("bonus step for {item_id}"), other_line: rule.line }),
            None => rules.push(BonusRule { item, sexes, cohort_min: min, cohort_max: max, kind: BonusKind::Steps(vec![step]), line: row.line }),
        }
    }
    for rule in &mut rules {
        if let BonusKind::Steps(steps) = &mut rule.kind {
            steps.sort_by_key(|step| step.points);
            for pair in steps.windows(2) {
                if pair[1].points == pair[0].points || pair[1].excess <= pair[0].excess {
                    let what = format!("bonus steps for {}", items[rule.item].id);
                    let detail = format!(
                        "{} points need {} but {} points (line {}) need {}: each step needs more points and a larger excess",
                        pair[1].points, pair[1].excess, pair[0].points, pair[0].line, pair[0].excess
                    );
                    errors.push(file, Some(pair[1].line), LoadProblem::NotOrdered { what, detail });
                }
            }
        }
    }
    let keyed: Vec<(Sex, usize, u8, u8, u64)> =
        rules.iter().flat_map(|r| r.sexes.iter().map(move |s| (*s, r.item, r.cohort_min, r.cohort_max, r.line))).collect();
    check_overlaps(file, &keyed, |k| (k.0, k.1), |k| (k.2, k.3, k.4), |k| format!("bonus for {} {}", items[k.1].id, k.0), errors);
    rules
}
