//! A fitness standard as data: its items with score levels and direction, body-composition tables
//! (BMI bands or weight-for-height), weights, bonus rules and grade cut-offs, compiled at load into
//! per-(sex, grade or age) plans of fixed-point thresholds. The loader (`loader.rs`) builds it from
//! CSV text; nothing here reads a file.

use std::fmt;

use super::decimal::Dec;
use super::input::{Cohort, Sex, ValueKind};

/// The folder name of a standard: `cnsphs-2014`, `cnpfms-2003-adult`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StandardId(String);

impl StandardId {
    /// Lower-case ASCII letters, digits and `-`, 1–64 characters.
    pub fn parse(text: &str) -> Option<StandardId> {
        let ok = !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| StandardId(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StandardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Score = the highest level whose threshold ≤ value.
    HigherBetter,
    /// Timed items: the highest level whose threshold ≥ value ("at most the threshold").
    LowerBetter,
}

impl Direction {
    pub fn slug(self) -> &'static str {
        match self {
            Direction::HigherBetter => "higher_better",
            Direction::LowerBetter => "lower_better",
        }
    }
}

/// How the level bounds of a standard's tables are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundsRule {
    /// Each level's threshold is compared exactly: `value ≥ threshold` (or `≤` for timed items).
    Thresholds,
    /// The bounds transcribe printed ranges such as "42-98" and ">98" at the item's resolution (1, 0.1,
    /// 0.01): a value recorded more finely that lies beyond a level's printed range towards the better
    /// side belongs to the better level (98.5 scores as ">98"). The worst scored level keeps its exact
    /// bound against the no-score row ("<3").
    PrintedRanges,
}

/// Whether records are banded by school grade or by age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CohortKind {
    Grade,
    Age,
}

impl CohortKind {
    pub fn noun(self) -> &'static str {
        match self {
            CohortKind::Grade => "grade",
            CohortKind::Age => "age",
        }
    }
}

/// How the item scores make the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotalBasis {
    /// Σ weight% × item score (weights.csv), plus bonus points.
    Weighted,
    /// Σ item scores.
    Sum,
}

/// Where an item's score comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// A level table of one measurement.
    Table { measure: usize },
    /// BMI from height and weight, scored by bands (bmi.csv).
    Bmi,
    /// Weight for height (height_weight.csv).
    WeightForHeight,
}

#[derive(Debug, Clone)]
pub struct ItemDef {
    /// `run_50m`, `bmi`, `height_weight`.
    pub id: String,
    /// `50米跑` (from the tables' `item_cn`).
    pub name_zh: String,
    /// `s`, `cm`, `mL`, `reps`, `kg/m²`.
    pub unit: String,
    pub direction: Option<Direction>,
    /// Decimal places of the item's thresholds (1 for 8.5 s, 0 for 1700 mL).
    pub resolution_decimals: u8,
    pub kind: ItemKind,
}

impl ItemDef {
    /// One step at the item's resolution: 0.1 s, 1 mL, …
    pub fn resolution(&self) -> Dec {
        Dec::step(self.resolution_decimals)
    }
}

/// A column a record may carry: height, weight, and one per table item.
#[derive(Debug, Clone)]
pub struct MeasureDef {
    /// The canonical column name: `height_cm`, `run_50m_s`, `vital_capacity_ml`, `pull_ups`.
    pub key: String,
    /// Normalized headers also accepted (`normalize_header`): `身高`, `50米跑`, `1分钟跳绳`, `跳绳`, …
    pub aliases: Vec<String>,
    pub kind: ValueKind,
    pub item: Option<usize>,
}

/// One score level of an item table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub score: u8,
    /// The threshold as written in the standard.
    pub threshold: Dec,
    /// What a value is compared with (`≥` for higher-better, `≤` for lower-better): the threshold
    /// itself, or under `BoundsRule::PrintedRanges` the edge of the neighbouring printed range.
    pub cutoff: Dec,
    pub line: u64,
}

/// The levels of one item for one sex and cohort range, best level first (score 0 not listed: a
/// value that reaches no level scores 0).
#[derive(Debug, Clone)]
pub struct ItemTable {
    pub item: usize,
    pub sex: Sex,
    pub cohort_min: u8,
    pub cohort_max: u8,
    pub direction: Direction,
    pub levels: Vec<Level>,
    pub file: String,
    pub first_line: u64,
    /// The levels' cutoffs in thousandths, best first, for the scoring loop.
    pub(crate) cutoffs: Vec<i64>,
}

impl ItemTable {
    pub(crate) fn new(item: usize, sex: Sex, cohort: (u8, u8), direction: Direction, levels: Vec<Level>, file: String, first_line: u64) -> ItemTable {
        let cutoffs = levels.iter().map(|level| level.cutoff.milli()).collect();
        ItemTable { item, sex, cohort_min: cohort.0, cohort_max: cohort.1, direction, levels, file, first_line, cutoffs }
    }

    /// The level a value reaches, best first; `None` scores 0.
    #[inline]
    pub fn level_for(&self, value: Dec) -> Option<&Level> {
        // Cutoffs are strictly monotone (checked at load), so the levels not reached are exactly
        // those before the first one reached: count them without branching.
        let value = value.milli();
        let not_reached = match self.direction {
            Direction::HigherBetter => self.cutoffs.iter().map(|&cutoff| usize::from(value < cutoff)).sum::<usize>(),
            Direction::LowerBetter => self.cutoffs.iter().map(|&cutoff| usize::from(value > cutoff)).sum::<usize>(),
        };
        self.levels.get(not_reached)
    }

    /// The best level's threshold (the "100-point threshold" the bonus counts from).
    pub fn top(&self) -> Option<&Level> {
        self.levels.first()
    }
}

/// BMI bands of one sex and cohort range: normal_min ≤ BMI ≤ normal_max is normal, below is
/// underweight, above normal and below obese_min overweight, from obese_min obese.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BmiBands {
    pub sex: Sex,
    pub cohort_min: u8,
    pub cohort_max: u8,
    pub normal_min: Dec,
    pub normal_max: Dec,
    pub obese_min: Dec,
    pub line: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BmiBand {
    Underweight,
    Normal,
    Overweight,
    Obese,
}

impl BmiBand {
    pub fn slug(self) -> &'static str {
        match self {
            BmiBand::Underweight => "underweight",
            BmiBand::Normal => "normal",
            BmiBand::Overweight => "overweight",
            BmiBand::Obese => "obese",
        }
    }
}

impl BmiBands {
    pub fn band(&self, bmi: Dec) -> BmiBand {
        if bmi < self.normal_min {
            BmiBand::Underweight
        } else if bmi <= self.normal_max {
            BmiBand::Normal
        } else if bmi < self.obese_min {
            BmiBand::Overweight
        } else {
            BmiBand::Obese
        }
    }
}

/// One 1-cm (or finer) height row of a weight-for-height table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeightWeightRow {
    pub height_min_cm: Dec,
    pub height_max_cm: Dec,
    /// Below → `scores.light_outer`.
    pub light_outer_below_kg: Dec,
    /// Below → `scores.light_inner`.
    pub light_inner_below_kg: Dec,
    /// Up to and including → `scores.normal`.
    pub normal_max_kg: Dec,
    /// Up to and including → `scores.heavy_inner`; heavier → `scores.heavy_outer`.
    pub heavy_inner_max_kg: Dec,
    pub line: u64,
}

/// The points of the weight-for-height bands, read from the column names (`w_1pt_light_below`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeightWeightScores {
    pub light_outer: u8,
    pub light_inner: u8,
    pub normal: u8,
    pub heavy_inner: u8,
    pub heavy_outer: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightBand {
    VeryLight,
    Light,
    Normal,
    Heavy,
    VeryHeavy,
}

impl WeightBand {
    pub fn slug(self) -> &'static str {
        match self {
            WeightBand::VeryLight => "very light",
            WeightBand::Light => "light",
            WeightBand::Normal => "normal",
            WeightBand::Heavy => "heavy",
            WeightBand::VeryHeavy => "very heavy",
        }
    }
}

#[derive(Debug, Clone)]
pub struct HeightWeightTable {
    pub sex: Sex,
    pub cohort_min: u8,
    pub cohort_max: u8,
    /// Ascending by height; contiguous (each row starts one resolution step after the previous ends).
    pub rows: Vec<HeightWeightRow>,
    /// One height resolution step (0.1 cm for rows 144.0–144.9).
    pub height_step_cm: Dec,
}

impl HeightWeightTable {
    /// The row a height falls in: `height_min ≤ h < next row's height_min` (the last row up to
    /// `height_max` + one step, exclusive).
    pub fn row(&self, height_cm: Dec) -> Option<&HeightWeightRow> {
        self.row_index(height_cm).map(|index| &self.rows[index])
    }

    pub fn row_index(&self, height_cm: Dec) -> Option<usize> {
        let index = self.rows.partition_point(|row| row.height_min_cm <= height_cm).checked_sub(1)?;
        (height_cm < self.rows[index].height_max_cm.saturating_add(self.height_step_cm)).then_some(index)
    }

    pub fn band(row: &HeightWeightRow, weight_kg: Dec) -> WeightBand {
        if weight_kg < row.light_outer_below_kg {
            WeightBand::VeryLight
        } else if weight_kg < row.light_inner_below_kg {
            WeightBand::Light
        } else if weight_kg <= row.normal_max_kg {
            WeightBand::Normal
        } else if weight_kg <= row.heavy_inner_max_kg {
            WeightBand::Heavy
        } else {
            WeightBand::VeryHeavy
        }
    }
}

/// Extra points for results beyond the best level (附加分).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BonusKind {
    /// `points` once the excess over the best threshold reaches `excess` (ascending by both).
    Steps(Vec<BonusStep>),
    /// `points` per whole `per` of excess, at most `max`.
    Linear { points: u32, per: Dec, max: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BonusStep {
    pub excess: Dec,
    pub points: u32,
    pub line: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BonusRule {
    pub item: usize,
    pub sexes: Vec<Sex>,
    pub cohort_min: u8,
    pub cohort_max: u8,
    pub kind: BonusKind,
    pub line: u64,
}

impl BonusRule {
    /// Points for an excess (value beyond the best threshold, in the better direction).
    pub fn points(&self, excess: Dec) -> u32 {
        if excess.milli() <= 0 {
            return 0;
        }
        match &self.kind {
            BonusKind::Steps(steps) => steps.iter().rev().find(|step| excess >= step.excess).map_or(0, |step| step.points),
            BonusKind::Linear { points, per, max } => {
                let whole = excess.milli() / per.milli().max(1);
                u32::try_from(whole).unwrap_or(u32::MAX).saturating_mul(*points).min(*max)
            }
        }
    }

    pub fn max_points(&self) -> u32 {
        match &self.kind {
            BonusKind::Steps(steps) => steps.last().map_or(0, |step| step.points),
            BonusKind::Linear { max, .. } => *max,
        }
    }
}

/// Composite grade cut-offs (≥) for a cohort range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoffs {
    pub cohort_min: u8,
    pub cohort_max: u8,
    pub excellent_min: Dec,
    pub good_min: Dec,
    pub pass_min: Dec,
    pub line: u64,
}

/// A problem in the data that does not stop loading (plausibility), located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandardWarning {
    pub file: String,
    pub line: u64,
    pub message: String,
}

impl fmt::Display for StandardWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Where a plan item's score comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Table(usize),
    Bmi(usize),
    WeightForHeight(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlanItem {
    pub item: usize,
    pub source: Source,
    /// Weight in percent (weighted standards); 0 for summed standards.
    pub weight_pct: u32,
    pub bonus: Option<usize>,
    /// For a table item: its levels laid out in `Standard::plan_levels` (filled by `lay_out_plans`).
    pub levels: LevelSpan,
}

/// A table item's levels as the scoring loop reads them: `len` cutoffs (thousandths, best first)
/// and their scores from `start` in `Standard::plan_levels`, plus what the loop needs besides, so
/// that scoring a record touches its plan and one bucket per item, never the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LevelSpan {
    pub start: u32,
    pub len: u32,
    /// Where the span's scores start in `PlanLevels::scores` (`len` of them and a 0).
    pub scores_start: u32,
    /// The measure the item's value is in (`usize::MAX`: not a table item).
    pub measure: usize,
    pub direction: Direction,
    /// The best level's threshold, which bonus points count from.
    pub top_threshold: Option<Dec>,
    /// The span's buckets in `PlanLevels::buckets` (`buckets_len` 0: its cutoffs are counted one by
    /// one instead, see `PlanLevels::not_reached`).
    pub buckets_start: u32,
    pub buckets_len: u32,
    /// Where the span's directed cutoffs start in `PlanLevels::directed_cutoffs` (at a sentinel
    /// that no value reaches, followed by the cutoffs best first).
    pub directed_start: u32,
    /// A directed value `v` (negated for lower-better items, so that "reached" is always
    /// `v ≥ cutoff`), clamped to `[directed_low, directed_high]`, falls in the bucket
    /// `(v >> bucket_shift) - first_bucket`.
    pub bucket_shift: u32,
    pub first_bucket: i32,
    /// One below the worst level's directed cutoff (reaches nothing), and the best level's (reaches
    /// everything): clamping a value to these keeps what it reaches.
    pub directed_low: i32,
    pub directed_high: i32,
}

impl LevelSpan {
    pub(crate) const NONE: LevelSpan = LevelSpan {
        start: 0,
        len: 0,
        scores_start: 0,
        measure: usize::MAX,
        direction: Direction::HigherBetter,
        top_threshold: None,
        buckets_start: 0,
        buckets_len: 0,
        directed_start: 0,
        bucket_shift: 0,
        first_bucket: 0,
        directed_low: 0,
        directed_high: 0,
    };
}

/// The most buckets a span may have; a span that would need more (a step between two cutoffs tiny
/// against their range) counts its cutoffs one by one. The shipped standards need at most 132.
const MAX_BUCKETS_PER_SPAN: i64 = 4096;

/// Every plan's table levels, one plan after another (see `LevelSpan`).
#[derive(Debug, Clone, Default)]
pub(crate) struct PlanLevels {
    /// Cutoffs in thousandths, best level first.
    pub cutoffs: Vec<i64>,
    /// Each span's scores, best level first, then a 0 (reaching no level).
    pub scores: Vec<u8>,
    /// Each span's buckets, one span after another: how many levels the lowest value of the bucket
    /// does not reach. A bucket is no wider than the smallest step between two cutoffs of its span,
    /// so it holds at most one cutoff: a value in it reaches one level more from that cutoff on,
    /// which is the directed cutoff right after the bucket's count (behind the span's sentinel).
    /// One byte each, and the cutoffs four, so that the tables stay in the first-level cache.
    pub buckets: Vec<u8>,
    /// Each span's directed cutoffs as `i32`, behind a sentinel (`i32::MAX`).
    pub directed_cutoffs: Vec<i32>,
}

impl PlanLevels {
    /// How many levels of a span a value does not reach: the index of the level it reaches (the
    /// span's length when it reaches none and scores 0). A lookup of the value's bucket and one
    /// comparison, without a branch on the value.
    #[inline(always)]
    pub(crate) fn not_reached(&self, span: &LevelSpan, value: Dec) -> usize {
        if span.buckets_len == 0 {
            return self.not_reached_counted(span, value);
        }
        // Clamping the value first keeps it from overflowing when negated; any value beyond the
        // bound reaches what the bound does, as every directed cutoff lies within ±2^31.
        const BOUND: i64 = 1 << 40;
        let value = value.milli().clamp(-BOUND, BOUND);
        let directed = if span.direction == Direction::LowerBetter { -value } else { value };
        let directed = directed.clamp(i64::from(span.directed_low), i64::from(span.directed_high)) as i32;
        let index = ((directed >> span.bucket_shift) - span.first_bucket) as usize;
        let not_reached = usize::from(self.buckets[span.buckets_start as usize + index]);
        not_reached - usize::from(directed >= self.directed_cutoffs[span.directed_start as usize + not_reached])
    }

    /// `not_reached` by counting the span's cutoffs (the `i64` ones): for a span without buckets,
    /// and as the reference the buckets are tested against.
    #[inline(never)]
    pub(crate) fn not_reached_counted(&self, span: &LevelSpan, value: Dec) -> usize {
        let cutoffs = &self.cutoffs[span.start as usize..(span.start + span.len) as usize];
        let value = value.milli();
        match span.direction {
            Direction::HigherBetter => cutoffs.iter().map(|&cutoff| usize::from(value < cutoff)).sum::<usize>(),
            Direction::LowerBetter => cutoffs.iter().map(|&cutoff| usize::from(value > cutoff)).sum::<usize>(),
        }
    }

    /// The score of the level at `index` of a span (at most its length: 0).
    #[inline]
    pub(crate) fn score(&self, span: &LevelSpan, index: usize) -> u8 {
        self.scores[span.scores_start as usize + index.min(span.len as usize)]
    }

    /// Lays out the buckets of a span whose cutoffs are laid out already; leaves the span without
    /// buckets when a cutoff does not fit an `i32` with room to spare, it has more levels than a
    /// byte counts, or it would need too many.
    fn add_buckets(&mut self, span: &mut LevelSpan) {
        let cutoffs = &self.cutoffs[span.start as usize..(span.start + span.len) as usize];
        let sign = if span.direction == Direction::LowerBetter { -1 } else { 1 };
        // Directed, best first: strictly decreasing (cutoffs are strictly monotone, checked at load).
        let directed: Vec<i64> = cutoffs.iter().map(|&cutoff| sign * cutoff).collect();
        let (Some(&high), Some(&worst)) = (directed.first(), directed.last()) else { return };
        let fits = |cutoff: &i64| i64::from(i32::MIN) < *cutoff && *cutoff < i64::from(i32::MAX);
        if !directed.iter().all(fits) || directed.windows(2).any(|pair| pair[0] <= pair[1]) || directed.len() > usize::from(u8::MAX) {
            return;
        }
        let low = worst - 1;
        let smallest_step = directed.windows(2).map(|pair| pair[0] - pair[1]).min().unwrap_or(i64::MAX);
        // The widest power of two not wider than the smallest step (at most 2^31).
        let shift = (63 - smallest_step.leading_zeros()).min(31);
        let first_bucket = low >> shift;
        let count = (high >> shift) - first_bucket + 1;
        if count > MAX_BUCKETS_PER_SPAN {
            return;
        }
        span.buckets_start = self.buckets.len() as u32;
        span.directed_start = self.directed_cutoffs.len() as u32;
        span.buckets_len = count as u32;
        span.bucket_shift = shift;
        span.first_bucket = first_bucket as i32;
        span.directed_low = low as i32;
        span.directed_high = high as i32;
        self.directed_cutoffs.push(i32::MAX);
        self.directed_cutoffs.extend(directed.iter().map(|&cutoff| cutoff as i32));
        for bucket in 0..count {
            let lowest = ((first_bucket + bucket) << shift).max(low);
            let not_reached = directed.iter().filter(|&&cutoff| lowest < cutoff).count();
            self.buckets.push(not_reached as u8);
        }
    }
}

/// Fills each table item's `LevelSpan` and lays the levels out plan by plan (a table shared by
/// several plans is copied into each: a few tens of KiB for the shipped standards).
pub(crate) fn lay_out_plans(plans: &mut [Plan], tables: &[ItemTable], items: &[ItemDef]) -> PlanLevels {
    let mut laid = PlanLevels::default();
    for plan in plans.iter_mut() {
        for plan_item in plan.items.iter_mut() {
            let (Source::Table(table), ItemKind::Table { measure }) = (plan_item.source, items[plan_item.item].kind) else {
                plan_item.levels = LevelSpan::NONE;
                continue;
            };
            let table = &tables[table];
            let mut span = LevelSpan {
                start: laid.cutoffs.len() as u32,
                len: table.levels.len() as u32,
                measure,
                direction: table.direction,
                top_threshold: table.top().map(|level| level.threshold),
                ..LevelSpan::NONE
            };
            laid.cutoffs.extend(table.levels.iter().map(|level| level.cutoff.milli()));
            span.scores_start = laid.scores.len() as u32;
            laid.scores.extend(table.levels.iter().map(|level| level.score));
            laid.scores.push(0);
            laid.add_buckets(&mut span);
            plan_item.levels = span;
        }
    }
    laid
}

/// What is scored for one sex and one grade or age.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub items: Vec<PlanItem>,
    pub cutoffs: Cutoffs,
}

/// Measure slots every standard has, before its table items.
pub const HEIGHT_MEASURE: usize = 0;
pub const WEIGHT_MEASURE: usize = 1;

/// A loaded, validated and compiled standard.
#[derive(Debug, Clone)]
pub struct Standard {
    pub id: StandardId,
    /// The code in the files' `standard` column and in grades.csv: `CNSPHS-2014`.
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// The revision of the standard (`2014`); another revision is another standard id.
    pub version: String,
    /// Results must be marked provisional wherever they are shown.
    pub provisional: bool,
    /// Known defects of the data, for display next to results.
    pub known_defects: Vec<String>,
    pub cohort_kind: CohortKind,
    pub bounds_rule: BoundsRule,
    pub total_basis: TotalBasis,
    /// An applicable item scoring 0 withholds the composite grade.
    pub zero_score_withholds_grade: bool,
    /// The cap on the sum of bonus points (none: only each rule's own maximum).
    pub bonus_total_max: Option<u32>,
    /// Points for BMI bands: underweight, normal, overweight, obese.
    pub bmi_scores: [u8; 4],
    pub height_weight_scores: Option<HeightWeightScores>,
    pub(crate) items: Vec<ItemDef>,
    pub(crate) measures: Vec<MeasureDef>,
    pub(crate) tables: Vec<ItemTable>,
    pub(crate) bmi_bands: Vec<BmiBands>,
    pub(crate) height_weight: Vec<HeightWeightTable>,
    pub(crate) bonus_rules: Vec<BonusRule>,
    pub(crate) plans: Vec<Plan>,
    pub(crate) plan_levels: PlanLevels,
    /// Plan index per sex and cohort value (`u16::MAX`: not covered).
    pub(crate) plan_index: [Vec<u16>; 2],
    pub(crate) warnings: Vec<StandardWarning>,
}

impl Standard {
    /// Every item the standard scores, in a fixed order (the body-composition item first).
    pub fn items(&self) -> &[ItemDef] {
        &self.items
    }

    pub fn item_index(&self, id: &str) -> Option<usize> {
        self.items.iter().position(|item| item.id == id)
    }

    /// The values a record carries: height, weight, then one per table item.
    pub fn measures(&self) -> &[MeasureDef] {
        &self.measures
    }

    pub fn measure_index(&self, key: &str) -> Option<usize> {
        self.measures.iter().position(|measure| measure.key == key)
    }

    pub fn tables(&self) -> &[ItemTable] {
        &self.tables
    }

    pub fn bmi_bands(&self) -> &[BmiBands] {
        &self.bmi_bands
    }

    pub fn height_weight_tables(&self) -> &[HeightWeightTable] {
        &self.height_weight
    }

    pub fn bonus_rules(&self) -> &[BonusRule] {
        &self.bonus_rules
    }

    /// Plausibility problems found at load (the data still loaded).
    pub fn warnings(&self) -> &[StandardWarning] {
        &self.warnings
    }

    /// The cohort values (grades or ages) the standard scores for a sex.
    pub fn cohort_values(&self, sex: Sex) -> impl Iterator<Item = u8> + '_ {
        self.plan_index[sex.index()].iter().enumerate().filter(|(_, plan)| **plan != u16::MAX).map(|(value, _)| value as u8)
    }

    pub(crate) fn plan(&self, sex: Sex, cohort: Cohort) -> Option<&Plan> {
        let matches_kind = matches!((self.cohort_kind, cohort), (CohortKind::Grade, Cohort::Grade(_)) | (CohortKind::Age, Cohort::Age(_)));
        if !matches_kind {
            return None;
        }
        let index = *self.plan_index[sex.index()].get(usize::from(cohort.value()))?;
        self.plans.get(usize::from(index))
    }

    /// Whether the standard scores this sex and cohort.
    pub fn covers(&self, sex: Sex, cohort: Cohort) -> bool {
        self.plan(sex, cohort).is_some()
    }

    /// The items scored for a sex and cohort with their weights in percent (0 for summed
    /// standards); `None` when not covered.
    pub fn applicable_items(&self, sex: Sex, cohort: Cohort) -> Option<Vec<(usize, u32)>> {
        self.plan(sex, cohort).map(|plan| plan.items.iter().map(|item| (item.item, item.weight_pct)).collect())
    }

    /// The level table used for an item, sex and cohort.
    pub fn table_for(&self, item: usize, sex: Sex, cohort: Cohort) -> Option<&ItemTable> {
        let plan = self.plan(sex, cohort)?;
        plan.items.iter().find(|p| p.item == item).and_then(|p| match p.source {
            Source::Table(table) => self.tables.get(table),
            _ => None,
        })
    }

    /// The grade cut-offs for a sex and cohort.
    pub fn cutoffs_for(&self, sex: Sex, cohort: Cohort) -> Option<Cutoffs> {
        self.plan(sex, cohort).map(|plan| plan.cutoffs)
    }

    /// The best score item `item` can get in any table of this standard (100 for the student items,
    /// 5 for the adult ones); 0 for an unknown item.
    pub fn best_score(&self, item: usize) -> u8 {
        match self.items.get(item).map(|def| def.kind) {
            Some(ItemKind::Table { .. }) => {
                self.tables.iter().filter(|table| table.item == item).filter_map(|table| table.top().map(|level| level.score)).max().unwrap_or(0)
            }
            Some(ItemKind::Bmi) => self.bmi_scores.iter().copied().max().unwrap_or(0),
            Some(ItemKind::WeightForHeight) => self.height_weight_scores.map_or(0, |s| s.normal.max(s.light_inner).max(s.heavy_inner)),
            None => 0,
        }
    }

    /// The largest total any record can reach under this standard.
    pub fn max_total(&self) -> Dec {
        let best = self
            .plans
            .iter()
            .map(|plan| {
                let mut items = 0i64;
                let mut bonus = 0u32;
                for item in &plan.items {
                    let best_score = match item.source {
                        Source::Table(table) => self.tables[table].levels.first().map_or(0, |level| i64::from(level.score)),
                        Source::Bmi(_) => i64::from(self.bmi_scores.iter().copied().max().unwrap_or(0)),
                        Source::WeightForHeight(_) => self.height_weight_scores.map_or(0, |s| i64::from(s.normal.max(s.light_inner).max(s.heavy_inner))),
                    };
                    items += match self.total_basis {
                        TotalBasis::Weighted => best_score * i64::from(item.weight_pct) * 10,
                        TotalBasis::Sum => best_score * Dec::SCALE,
                    };
                    bonus += item.bonus.map_or(0, |rule| self.bonus_rules[rule].max_points());
                }
                let bonus = self.bonus_total_max.map_or(bonus, |cap| bonus.min(cap));
                items + i64::from(bonus) * Dec::SCALE
            })
            .max()
            .unwrap_or(0);
        Dec::from_milli(best)
    }
}
