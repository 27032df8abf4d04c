//! Scoring one record against a standard: each item's score with the level and threshold that gave
//! it, the weighted standard score (or the sum), bonus points, the total, the grade and pass. An item
//! not tested is reported missing and the record incomplete: never a silent 0.

use std::fmt;

use super::decimal::{Dec, bmi};
use super::input::{Cohort, Sex};
use super::standard::*;

/// One person's results, aligned with `Standard::measures()` (height, weight, then the table items).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentRecord {
    pub sex: Sex,
    pub cohort: Cohort,
    pub values: Vec<Option<Dec>>,
}

impl StudentRecord {
    /// A record with nothing measured yet.
    pub fn new(standard: &Standard, sex: Sex, cohort: Cohort) -> StudentRecord {
        StudentRecord { sex, cohort, values: vec![None; standard.measures().len()] }
    }

    /// Sets a measurement by its column key (`run_50m_s`); the value is checked against its kind.
    pub fn set(&mut self, standard: &Standard, key: &str, value: Dec) -> Result<(), ScoreError> {
        let index = standard.measure_index(key).ok_or_else(|| ScoreError::UnknownMeasure(key.to_string()))?;
        standard.measures()[index].kind.check(value).map_err(|reason| ScoreError::BadValue { measure: key.to_string(), reason })?;
        self.values[index] = Some(value);
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    #[error("the standard does not cover {sex} {cohort}")]
    NotCovered { sex: Sex, cohort: Cohort },
    #[error("the record has {found} values, the standard {expected} measures")]
    WrongShape { found: usize, expected: usize },
    #[error("unknown measure {0}")]
    UnknownMeasure(String),
    #[error("{measure}: {reason}")]
    BadValue { measure: String, reason: super::input::ValueError },
}

/// Why an item scored what it scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The value reached this level's threshold (`cutoff` is what it was compared with; it differs
    /// from the threshold only for printed ranges).
    Level { threshold: Dec, cutoff: Dec, direction: Direction, line: u64 },
    /// Below the lowest level: 0.
    BelowLowest { lowest_score: u8, lowest_threshold: Dec, direction: Direction },
    /// BMI band (`value` is the BMI rounded to 0.1); `bands` indexes `Standard::bmi_bands()`.
    Bmi { band: BmiBand, bands: u32 },
    /// Weight-for-height band in the row of the person's height: `table` indexes
    /// `Standard::height_weight_tables()`, `row` its rows.
    WeightForHeight { band: WeightBand, table: u32, row: u32 },
    /// The height is outside the weight-for-height table: no score.
    HeightOutsideTable { height_cm: Dec },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemOutcome {
    Scored {
        score: u8,
        basis: Basis,
    },
    /// Not tested (or, for body composition, height or weight missing).
    Missing,
}

/// One applicable item of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemScore {
    /// Index into `Standard::items()`.
    pub item: usize,
    /// Weight in percent (weighted standards), else 0.
    pub weight_pct: u32,
    /// The measured value (BMI for the BMI item, the weight for weight-for-height).
    pub value: Option<Dec>,
    pub outcome: ItemOutcome,
}

impl ItemScore {
    pub fn score(&self) -> Option<u8> {
        match self.outcome {
            ItemOutcome::Scored { score, .. } => Some(score),
            ItemOutcome::Missing => None,
        }
    }

    /// The threshold of the level reached (item tables only).
    pub fn threshold(&self) -> Option<Dec> {
        match self.outcome {
            ItemOutcome::Scored { basis: Basis::Level { threshold, .. }, .. } => Some(threshold),
            _ => None,
        }
    }

    pub fn is_missing(&self) -> bool {
        self.outcome == ItemOutcome::Missing
    }

    /// Which level and which threshold, in words: "run_50m 8.4 s ≤ 8.5 s: level 85".
    pub fn explain(&self, standard: &Standard) -> String {
        let Some(item) = standard.items().get(self.item) else { return String::new() };
        let unit = &item.unit;
        let value = self.value.map(|v| v.to_string()).unwrap_or_default();
        match self.outcome {
            ItemOutcome::Missing => format!("{}: not tested, reported missing (not scored)", item.id),
            ItemOutcome::Scored { score, basis } => match basis {
                Basis::Level { threshold, cutoff, direction, .. } => {
                    let sign = if direction == Direction::HigherBetter { "≥" } else { "≤" };
                    let printed = if cutoff != threshold
                        && self.value.is_some_and(|v| if direction == Direction::HigherBetter { v < threshold } else { v > threshold })
                    {
                        let edge = if direction == Direction::HigherBetter {
                            threshold.saturating_sub(standard.items()[self.item].resolution())
                        } else {
                            threshold.saturating_add(item.resolution())
                        };
                        let beyond = if direction == Direction::HigherBetter { "above" } else { "below" };
                        format!(" ({beyond} the next level's printed limit {edge} {unit})")
                    } else {
                        String::new()
                    };
                    format!("{}: {value} {unit} {sign} {threshold} {unit}{printed}: level {score}", item.id)
                }
                Basis::BelowLowest { lowest_score, lowest_threshold, direction } => {
                    let sign = if direction == Direction::HigherBetter { "<" } else { ">" };
                    format!("{}: {value} {unit} {sign} {lowest_threshold} {unit}, the threshold of the lowest level {lowest_score}: 0", item.id)
                }
                Basis::Bmi { band, bands } => {
                    let Some(bands) = standard.bmi_bands().get(bands as usize) else { return String::new() };
                    format!(
                        "{}: BMI {} (weight / height², rounded half-up to 0.1) is {} (normal range {}–{}, obese from {}): {score}",
                        item.id,
                        self.value.map(|v| v.to_fixed(1)).unwrap_or_default(),
                        band.slug(),
                        bands.normal_min,
                        bands.normal_max,
                        bands.obese_min
                    )
                }
                Basis::WeightForHeight { band, table, row } => {
                    let Some(row) = standard.height_weight_tables().get(table as usize).and_then(|t| t.rows.get(row as usize)) else { return String::new() };
                    format!(
                        "{}: {value} kg at {}–{} cm is {} (below {} / below {} / up to {} / up to {} kg): {score}",
                        item.id,
                        row.height_min_cm,
                        row.height_max_cm,
                        band.slug(),
                        row.light_outer_below_kg,
                        row.light_inner_below_kg,
                        row.normal_max_kg,
                        row.heavy_inner_max_kg
                    )
                }
                Basis::HeightOutsideTable { height_cm } => format!("{}: height {height_cm} cm is outside the table: no score (0)", item.id),
            },
        }
    }
}

/// Bonus points earned on an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BonusScore {
    pub item: usize,
    /// How far beyond the best level's threshold, in the better direction.
    pub excess: Dec,
    pub points: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grade {
    Excellent,
    Good,
    Pass,
    Fail,
}

impl Grade {
    pub fn slug(self) -> &'static str {
        match self {
            Grade::Excellent => "excellent",
            Grade::Good => "good",
            Grade::Pass => "pass",
            Grade::Fail => "fail",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Grade::Excellent => "优秀",
            Grade::Good => "良好",
            Grade::Pass => "及格",
            Grade::Fail => "不及格",
        }
    }

    pub fn of(total: Dec, cutoffs: &Cutoffs) -> Grade {
        if total >= cutoffs.excellent_min {
            Grade::Excellent
        } else if total >= cutoffs.good_min {
            Grade::Good
        } else if total >= cutoffs.pass_min {
            Grade::Pass
        } else {
            Grade::Fail
        }
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

/// The record as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Composite {
    /// Every applicable item scored. `standard_score` is Σ weight% × score (exact, in hundredths) or the
    /// sum of scores; `total` = standard score + bonus.
    Graded { standard_score: Dec, bonus: Dec, total: Dec, grade: Grade, pass: bool },
    /// Some applicable items were not tested (`ScoreCard::missing_items`): no total, no grade.
    Incomplete { missing: usize, bonus: Dec },
    /// Everything scored, but an item scored 0 and the standard withholds the grade then
    /// (`ScoreCard::zero_items`).
    Withheld { standard_score: Dec, total: Dec },
}

impl Composite {
    pub fn grade(&self) -> Option<Grade> {
        match self {
            Composite::Graded { grade, .. } => Some(*grade),
            _ => None,
        }
    }

    pub fn total(&self) -> Option<Dec> {
        match self {
            Composite::Graded { total, .. } | Composite::Withheld { total, .. } => Some(*total),
            Composite::Incomplete { .. } => None,
        }
    }

    /// `excellent`, `good`, `pass`, `fail`, `incomplete`, `withheld`.
    pub fn slug(&self) -> &'static str {
        match self {
            Composite::Graded { grade, .. } => grade.slug(),
            Composite::Incomplete { .. } => "incomplete",
            Composite::Withheld { .. } => "withheld",
        }
    }
}

/// Everything scored for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreCard {
    /// The applicable items, in the plan's order.
    pub items: Vec<ItemScore>,
    /// BMI rounded to 0.1 half-up, when height and weight are known.
    pub bmi: Option<Dec>,
    pub bonus: Vec<BonusScore>,
    pub result: Composite,
}

impl Default for ScoreCard {
    fn default() -> ScoreCard {
        ScoreCard { items: Vec::new(), bmi: None, bonus: Vec::new(), result: Composite::Incomplete { missing: 0, bonus: Dec::ZERO } }
    }
}

impl ScoreCard {
    pub fn missing_items(&self) -> impl Iterator<Item = usize> + '_ {
        self.items.iter().filter(|item| item.is_missing()).map(|item| item.item)
    }

    pub fn zero_items(&self) -> impl Iterator<Item = usize> + '_ {
        self.items.iter().filter(|item| item.score() == Some(0)).map(|item| item.item)
    }

    pub fn item(&self, item: usize) -> Option<&ItemScore> {
        self.items.iter().find(|score| score.item == item)
    }
}

/// Scores a record; see `score_into` for the allocation-free form.
pub fn score_student(standard: &Standard, record: &StudentRecord) -> Result<ScoreCard, ScoreError> {
    let mut card = ScoreCard::default();
    score_into(standard, record, &mut card)?;
    Ok(card)
}

/// Scores a record into a reused card.
pub fn score_into(standard: &Standard, record: &StudentRecord, card: &mut ScoreCard) -> Result<(), ScoreError> {
    card.items.clear();
    card.bonus.clear();
    let mut sink = CardSink { items: &mut card.items, bonus: &mut card.bonus };
    let (bmi, result) = score_with(standard, record, &mut sink)?;
    card.bmi = bmi;
    card.result = result;
    Ok(())
}

/// One item's cell in a results file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemCell {
    /// The item is not scored for the record's sex and cohort.
    NotApplicable,
    /// Applicable but not tested.
    Missing,
    Score(u8),
}

/// A record's scores as a results file shows them: each item's cell (indexed like
/// `Standard::items()`), the BMI and the composite. The same scoring as `score_into` (one loop
/// serves both), without the reasons (levels, thresholds, bonus steps), for batch scoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreRow {
    pub cells: Vec<ItemCell>,
    /// BMI rounded to 0.1 half-up, when height and weight are known.
    pub bmi: Option<Dec>,
    pub result: Composite,
}

impl Default for ScoreRow {
    fn default() -> ScoreRow {
        ScoreRow { cells: Vec::new(), bmi: None, result: Composite::Incomplete { missing: 0, bonus: Dec::ZERO } }
    }
}

impl ScoreRow {
    /// The row of a score card (what `score_row_into` gives for the same record).
    pub fn of_card(standard: &Standard, card: &ScoreCard) -> ScoreRow {
        let mut cells = vec![ItemCell::NotApplicable; standard.items().len()];
        for item in &card.items {
            cells[item.item] = item.score().map_or(ItemCell::Missing, ItemCell::Score);
        }
        ScoreRow { cells, bmi: card.bmi, result: card.result }
    }
}

/// Scores a record into a reused row: what `score_into` computes, minus the reasons.
pub fn score_row_into(standard: &Standard, record: &StudentRecord, row: &mut ScoreRow) -> Result<(), ScoreError> {
    if row.cells.len() == standard.items.len() {
        row.cells.fill(ItemCell::NotApplicable);
    } else {
        row.cells.clear();
        row.cells.resize(standard.items.len(), ItemCell::NotApplicable);
    }
    let mut sink = CellSink { cells: &mut row.cells };
    let (bmi, result) = score_with(standard, record, &mut sink)?;
    row.bmi = bmi;
    row.result = result;
    Ok(())
}

/// Where the scoring loop puts each applicable item's result.
trait ItemSink {
    /// An applicable item not tested (or, for body composition, height or weight missing).
    fn missing(&mut self, plan_item: &PlanItem);
    /// A scored item; `basis` says why it scored what it scored, and is only called by sinks that
    /// keep it.
    fn scored(&mut self, plan_item: &PlanItem, value: Dec, score: u8, basis: impl FnOnce() -> Basis);
    fn bonus(&mut self, bonus: BonusScore);
}

struct CardSink<'c> {
    items: &'c mut Vec<ItemScore>,
    bonus: &'c mut Vec<BonusScore>,
}

impl ItemSink for CardSink<'_> {
    fn missing(&mut self, plan_item: &PlanItem) {
        self.items.push(ItemScore { item: plan_item.item, weight_pct: plan_item.weight_pct, value: None, outcome: ItemOutcome::Missing });
    }

    fn scored(&mut self, plan_item: &PlanItem, value: Dec, score: u8, basis: impl FnOnce() -> Basis) {
        let outcome = ItemOutcome::Scored { score, basis: basis() };
        self.items.push(ItemScore { item: plan_item.item, weight_pct: plan_item.weight_pct, value: Some(value), outcome });
    }

    fn bonus(&mut self, bonus: BonusScore) {
        self.bonus.push(bonus);
    }
}

struct CellSink<'c> {
    cells: &'c mut [ItemCell],
}

impl ItemSink for CellSink<'_> {
    #[inline]
    fn missing(&mut self, plan_item: &PlanItem) {
        if let Some(cell) = self.cells.get_mut(plan_item.item) {
            *cell = ItemCell::Missing;
        }
    }

    #[inline]
    fn scored(&mut self, plan_item: &PlanItem, _value: Dec, score: u8, _basis: impl FnOnce() -> Basis) {
        if let Some(cell) = self.cells.get_mut(plan_item.item) {
            *cell = ItemCell::Score(score);
        }
    }

    #[inline]
    fn bonus(&mut self, _bonus: BonusScore) {}
}

/// The scoring loop: every applicable item into the sink, then the BMI and the composite.
#[inline]
fn score_with<S: ItemSink>(standard: &Standard, record: &StudentRecord, sink: &mut S) -> Result<(Option<Dec>, Composite), ScoreError> {
    if record.values.len() != standard.measures.len() {
        return Err(ScoreError::WrongShape { found: record.values.len(), expected: standard.measures.len() });
    }
    let plan = standard.plan(record.sex, record.cohort).ok_or(ScoreError::NotCovered { sex: record.sex, cohort: record.cohort })?;
    let height = record.values[HEIGHT_MEASURE];
    let weight = record.values[WEIGHT_MEASURE];
    let body_mass_index = match (weight, height) {
        (Some(weight), Some(height)) => bmi(weight, height),
        _ => None,
    };
    let mut missing = 0usize;
    let mut zero = false;
    let mut weighted_hundredths: i64 = 0;
    let mut sum: i64 = 0;
    let mut bonus_points: u32 = 0;
    for plan_item in &plan.items {
        let score = match plan_item.source {
            Source::Table(table_index) => {
                let span = &plan_item.levels;
                match record.values.get(span.measure).copied().flatten() {
                    None => {
                        sink.missing(plan_item);
                        None
                    }
                    Some(value) => {
                        let levels = &standard.plan_levels;
                        let reached = levels.not_reached(span, value);
                        let score = levels.score(span, reached);
                        sink.scored(plan_item, value, score, || {
                            let table = &standard.tables[table_index];
                            match table.levels.get(reached) {
                                Some(level) => Basis::Level { threshold: level.threshold, cutoff: level.cutoff, direction: table.direction, line: level.line },
                                None => {
                                    let lowest = table.levels.last();
                                    Basis::BelowLowest {
                                        lowest_score: lowest.map_or(0, |l| l.score),
                                        lowest_threshold: lowest.map_or(Dec::ZERO, |l| l.threshold),
                                        direction: table.direction,
                                    }
                                }
                            }
                        });
                        if let Some(rule) = plan_item.bonus
                            && let Some(top_threshold) = span.top_threshold
                        {
                            let excess = match span.direction {
                                Direction::HigherBetter => value.saturating_sub(top_threshold),
                                Direction::LowerBetter => top_threshold.saturating_sub(value),
                            };
                            if excess.milli() > 0 {
                                let points = standard.bonus_rules[rule].points(excess);
                                bonus_points += points;
                                sink.bonus(BonusScore { item: plan_item.item, excess, points });
                            }
                        }
                        Some(score)
                    }
                }
            }
            Source::Bmi(index) => match body_mass_index {
                None => {
                    sink.missing(plan_item);
                    None
                }
                Some(value) => {
                    let bands = standard.bmi_bands[index];
                    let band = bands.band(value);
                    let score = match band {
                        BmiBand::Underweight => standard.bmi_scores[0],
                        BmiBand::Normal => standard.bmi_scores[1],
                        BmiBand::Overweight => standard.bmi_scores[2],
                        BmiBand::Obese => standard.bmi_scores[3],
                    };
                    sink.scored(plan_item, value, score, || Basis::Bmi { band, bands: index as u32 });
                    Some(score)
                }
            },
            Source::WeightForHeight(table_index) => match (height, weight) {
                (Some(height), Some(weight)) => {
                    let table = &standard.height_weight[table_index];
                    let (score, basis) = match (table.row_index(height), standard.height_weight_scores) {
                        (Some(row_index), Some(scores)) => {
                            let row = &table.rows[row_index];
                            let band = HeightWeightTable::band(row, weight);
                            let score = match band {
                                WeightBand::VeryLight => scores.light_outer,
                                WeightBand::Light => scores.light_inner,
                                WeightBand::Normal => scores.normal,
                                WeightBand::Heavy => scores.heavy_inner,
                                WeightBand::VeryHeavy => scores.heavy_outer,
                            };
                            (score, Basis::WeightForHeight { band, table: table_index as u32, row: row_index as u32 })
                        }
                        _ => (0, Basis::HeightOutsideTable { height_cm: height }),
                    };
                    sink.scored(plan_item, weight, score, || basis);
                    Some(score)
                }
                _ => {
                    sink.missing(plan_item);
                    None
                }
            },
        };
        match score {
            None => missing += 1,
            Some(score) => {
                zero |= score == 0;
                weighted_hundredths += i64::from(score) * i64::from(plan_item.weight_pct);
                sum += i64::from(score);
            }
        }
    }
    if let Some(cap) = standard.bonus_total_max {
        bonus_points = bonus_points.min(cap);
    }
    let bonus = Dec::from_int(i64::from(bonus_points));
    let standard_score = match standard.total_basis {
        TotalBasis::Weighted => Dec::from_milli(weighted_hundredths * 10),
        TotalBasis::Sum => Dec::from_int(sum),
    };
    let total = standard_score.saturating_add(bonus);
    let result = if missing > 0 {
        Composite::Incomplete { missing, bonus }
    } else if zero && standard.zero_score_withholds_grade {
        Composite::Withheld { standard_score, total }
    } else {
        let grade = Grade::of(total, &plan.cutoffs);
        Composite::Graded { standard_score, bonus, total, grade, pass: grade != Grade::Fail }
    };
    Ok((body_mass_index, result))
}
