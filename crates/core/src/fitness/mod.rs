//! Fitness testing (issue 5, DESIGN §6): standards are data, scoring is exact.
//!
//! - `decimal` — `Dec`, exact fixed-point values parsed from decimal text, and the BMI rounded to 0.1
//!   half-up with integer arithmetic.
//! - `input` — sex, school grade (1–16 and the Chinese forms), age on the test date, timed results
//!   (`3'40"`, `3:40`), measurement kinds.
//! - `standard` — `Standard` and its tables, compiled into per-(sex, grade or age) plans.
//! - `loader` — `StandardSet::load((file name, text) pairs)`: parse, validate (every problem with file
//!   and line), compile. No file is read here; `shipped` embeds the standards in `data/standards`.
//! - `scoring` — `score_student`: item scores with their level and threshold, weighted standard
//!   score or sum, bonus, total, grade, pass; missing items make the record incomplete.
//! - `records` — CSV rows (byte records) into `StudentRecord`s, every bad field located.

pub mod decimal;
pub mod input;
pub mod loader;
pub mod prescription;
pub mod records;
pub mod scoring;
pub mod shipped;
pub mod standard;

#[cfg(test)]
mod tests;

pub use decimal::{Dec, DecError, bmi};
pub use input::{AgeYears, Cohort, SchoolGrade, Sex, ValueError, ValueKind};
pub use loader::{LoadProblem, StandardLoadError, StandardSet, record_line};
pub use records::{Columns, FieldError, FieldProblem, HeaderError, RowFields};
pub use scoring::{
    Basis, BonusScore, Composite, Grade, ItemCell, ItemOutcome, ItemScore, ScoreCard, ScoreError, ScoreRow, StudentRecord, score_into, score_row_into,
    score_student,
};
pub use standard::{BoundsRule, CohortKind, Direction, ItemDef, ItemKind, MeasureDef, Standard, StandardId, StandardWarning, TotalBasis};
