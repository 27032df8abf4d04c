//! Input rows (CSV byte records) into `StudentRecord`s for a standard: the header is resolved once
//! (canonical names and the usual Chinese headers, any order, extra columns ignored), then each row
//! is parsed straight from its bytes, every bad field reported with its column.

use std::fmt;

use chrono::NaiveDate;

use super::decimal::{Dec, trim};
use super::input::{AgeYears, AllowedValues, Cohort, SchoolGrade, Sex, ValueError, ValueKind, normalize_header};
use super::scoring::StudentRecord;
use super::standard::{CohortKind, Standard};

const ID_NAMES: [&str; 5] = ["id", "学号", "编号", "学籍号", "考号"];
const SEX_NAMES: [&str; 2] = ["sex", "性别"];
const GRADE_NAMES: [&str; 2] = ["grade", "年级"];
const AGE_NAMES: [&str; 2] = ["age", "年龄"];
const BIRTH_NAMES: [&str; 3] = ["birth_date", "出生日期", "生日"];
const TEST_NAMES: [&str; 2] = ["test_date", "测试日期"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CohortColumns {
    Grade(usize),
    Age(usize),
    Dates { birth: usize, test: usize },
}

/// The fields of one input row as bytes, however it was split (a `csv::ByteRecord`, or `score`'s
/// own split of a chunk).
pub trait RowFields {
    fn field_count(&self) -> usize;
    /// The field at `index`, empty past the last one (a short row leaves its last columns empty).
    fn field(&self, index: usize) -> &[u8];
}

impl RowFields for csv::ByteRecord {
    fn field_count(&self) -> usize {
        self.len()
    }

    fn field(&self, index: usize) -> &[u8] {
        self.get(index).unwrap_or(b"")
    }
}

/// Where each value of a record is in the input rows.
#[derive(Debug, Clone)]
pub struct Columns {
    pub headers: Vec<String>,
    pub id: Option<usize>,
    sex: usize,
    cohort: CohortColumns,
    /// Input column of each measure of the standard.
    measures: Vec<Option<usize>>,
    /// What each measure's values are, in the standard's order (`parse_row`).
    measure_kinds: Vec<(ValueKind, AllowedValues)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("missing column {0}")]
    Missing(&'static str),
    #[error("columns {first:?} and {second:?} both mean {meaning}")]
    Duplicate { meaning: String, first: String, second: String },
}

/// Why a field of a row was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblem {
    UnknownSex,
    UnknownGrade,
    BadAge,
    BadDate,
    TestBeforeBirth,
    NotCovered { kind: CohortKind, value: u8 },
    Value(ValueError),
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldProblem::UnknownSex => f.write_str("unknown sex (expected M/F or 男/女)"),
            FieldProblem::UnknownGrade => f.write_str("unknown grade (expected 1-16, 一年级…六年级, 初一…初三, 七年级…九年级, 高一…高三, 大一…大四)"),
            FieldProblem::BadAge => f.write_str("expected an age in whole years"),
            FieldProblem::BadDate => f.write_str("expected a date YYYY-MM-DD"),
            FieldProblem::TestBeforeBirth => f.write_str("test date before the birth date"),
            FieldProblem::NotCovered { kind, value } => write!(f, "{} {value} is not covered by the standard for this sex", kind.noun()),
            FieldProblem::Value(error) => write!(f, "{error}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    /// Index of the input column.
    pub column: usize,
    pub problem: FieldProblem,
}

impl Columns {
    /// Resolves a header row for a standard.
    pub fn resolve(standard: &Standard, headers: &[&str]) -> Result<Columns, Vec<HeaderError>> {
        let normalized: Vec<String> = headers.iter().map(|h| normalize_header(h)).collect();
        let mut errors = Vec::new();
        let mut find = |names: &[&str], meaning: &str| -> Option<usize> {
            let names: Vec<String> = names.iter().map(|n| normalize_header(n)).collect();
            let found: Vec<usize> = normalized.iter().enumerate().filter(|(_, h)| names.contains(h)).map(|(i, _)| i).collect();
            if found.len() > 1 {
                errors.push(HeaderError::Duplicate {
                    meaning: meaning.to_string(),
                    first: headers[found[0]].to_string(),
                    second: headers[found[1]].to_string(),
                });
            }
            found.first().copied()
        };
        let id = find(&ID_NAMES, "id");
        let sex = find(&SEX_NAMES, "sex");
        let cohort = match standard.cohort_kind {
            CohortKind::Grade => find(&GRADE_NAMES, "grade").map(CohortColumns::Grade),
            CohortKind::Age => match find(&AGE_NAMES, "age") {
                Some(age) => Some(CohortColumns::Age(age)),
                None => match (find(&BIRTH_NAMES, "birth date"), find(&TEST_NAMES, "test date")) {
                    (Some(birth), Some(test)) => Some(CohortColumns::Dates { birth, test }),
                    _ => None,
                },
            },
        };
        let measures: Vec<Option<usize>> = standard
            .measures()
            .iter()
            .map(|measure| {
                let names: Vec<&str> = std::iter::once(measure.key.as_str()).chain(measure.aliases.iter().map(String::as_str)).collect();
                find(&names, &measure.key)
            })
            .collect();
        if sex.is_none() {
            errors.push(HeaderError::Missing("sex"));
        }
        if cohort.is_none() {
            errors.push(HeaderError::Missing(match standard.cohort_kind {
                CohortKind::Grade => "grade",
                CohortKind::Age => "age (or birth_date and test_date)",
            }));
        }
        match (sex, cohort, errors.is_empty()) {
            (Some(sex), Some(cohort), true) => Ok(Columns {
                headers: headers.iter().map(|h| h.to_string()).collect(),
                id,
                sex,
                cohort,
                measures,
                measure_kinds: standard.measures().iter().map(|measure| (measure.kind, measure.kind.allowed())).collect(),
            }),
            _ => Err(errors),
        }
    }

    /// The input column of a measure, if present.
    pub fn measure_column(&self, measure: usize) -> Option<usize> {
        self.measures.get(measure).copied().flatten()
    }

    /// Parses one row into `record` (reused; its values are replaced). Returns false, with every
    /// problem appended to `errors`, if the row cannot be scored.
    pub fn parse_row<R: RowFields + ?Sized>(&self, standard: &Standard, row: &R, record: &mut StudentRecord, errors: &mut Vec<FieldError>) -> bool {
        let before = errors.len();
        let field = |column: usize| row.field(column);
        let sex = Sex::parse_bytes(field(self.sex));
        if sex.is_none() {
            errors.push(FieldError { column: self.sex, problem: FieldProblem::UnknownSex });
        }
        let (cohort, cohort_column) = match self.cohort {
            CohortColumns::Grade(column) => {
                let grade = SchoolGrade::parse_bytes(field(column)).map(Cohort::Grade);
                if grade.is_none() {
                    errors.push(FieldError { column, problem: FieldProblem::UnknownGrade });
                }
                (grade, column)
            }
            CohortColumns::Age(column) => {
                let age = AgeYears::parse_bytes(field(column)).map(Cohort::Age);
                if age.is_none() {
                    errors.push(FieldError { column, problem: FieldProblem::BadAge });
                }
                (age, column)
            }
            CohortColumns::Dates { birth, test } => {
                let birth_date = parse_date(field(birth));
                let test_date = parse_date(field(test));
                if birth_date.is_none() {
                    errors.push(FieldError { column: birth, problem: FieldProblem::BadDate });
                }
                if test_date.is_none() {
                    errors.push(FieldError { column: test, problem: FieldProblem::BadDate });
                }
                let age = match (birth_date, test_date) {
                    (Some(b), Some(t)) => {
                        let age = AgeYears::on(b, t).map(Cohort::Age);
                        if age.is_none() {
                            errors.push(FieldError { column: test, problem: FieldProblem::TestBeforeBirth });
                        }
                        age
                    }
                    _ => None,
                };
                (age, birth)
            }
        };
        if let (Some(sex), Some(cohort)) = (sex, cohort) {
            if standard.covers(sex, cohort) {
                record.sex = sex;
                record.cohort = cohort;
            } else {
                errors.push(FieldError { column: cohort_column, problem: FieldProblem::NotCovered { kind: standard.cohort_kind, value: cohort.value() } });
            }
        }
        record.values.resize(standard.measures().len(), None);
        for ((value, &(kind, allowed)), column) in record.values.iter_mut().zip(&self.measure_kinds).zip(&self.measures) {
            *value = None;
            let Some(column) = *column else { continue };
            let bytes = field(column);
            if bytes.is_empty() {
                continue;
            }
            // A plain number (most fields) is read in one pass, with nothing to trim; an allowed
            // value needs no more (`check` is only asked why not).
            let parsed = match Dec::parse_plain(bytes) {
                Some(plain) if allowed.allows(plain) => Ok(plain),
                Some(plain) => kind.check(plain).map(|()| plain),
                None => {
                    let bytes = trim(bytes);
                    if bytes.is_empty() {
                        continue;
                    }
                    kind.parse_bytes(bytes)
                }
            };
            match parsed {
                Ok(parsed) => *value = Some(parsed),
                Err(error) => errors.push(FieldError { column, problem: FieldProblem::Value(error) }),
            }
        }
        errors.len() == before
    }
}

fn parse_date(bytes: &[u8]) -> Option<NaiveDate> {
    let text = std::str::from_utf8(trim(bytes)).ok()?;
    ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d"].iter().find_map(|format| NaiveDate::parse_from_str(text, format).ok())
}
