//! Tests generated from the shipped tables (every item, level and direction at, just inside and
//! just outside its threshold; every BMI band boundary), worked totals, property tests, load-time
//! validation on a small fixture, and the record parser with Chinese headers.

use proptest::prelude::*;

use super::*;

fn shipped_set() -> &'static StandardSet {
    static SET: std::sync::OnceLock<StandardSet> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        shipped::load().unwrap_or_else(|errors| panic!("shipped standards: {}", errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")))
    })
}

fn student() -> &'static Standard {
    shipped_set().get("cnsphs-2014").expect("cnsphs-2014")
}

fn adult() -> &'static Standard {
    shipped_set().get("cnpfms-2003-adult").expect("cnpfms-2003-adult")
}

fn file_text(name: &str) -> &'static str {
    shipped::FILES.iter().find(|(file, _)| file.ends_with(name)).map(|(_, text)| *text).expect("shipped file")
}

#[test]
fn shipped_standards_load_with_their_status_and_defects() {
    let set = shipped_set();
    assert_eq!(set.ids(), ["cnpfms-2003-adult", "cnsphs-2014"]);
    let student = set.get("cnsphs-2014").unwrap();
    assert!(!student.provisional);
    assert_eq!((student.version.as_str(), student.total_basis, student.cohort_kind), ("2014", TotalBasis::Weighted, CohortKind::Grade));
    assert!(student.warnings().is_empty(), "{:?}", student.warnings());
    assert_eq!(student.max_total(), Dec::from_int(120));
    for sex in Sex::ALL {
        assert_eq!(student.cohort_values(sex).collect::<Vec<_>>(), (1..=16).collect::<Vec<u8>>());
    }
    let adult = set.get("cnpfms-2003-adult").unwrap();
    assert!(adult.provisional);
    assert_eq!(adult.known_defects.len(), 5);
    assert!(adult.known_defects.iter().any(|d| d.contains("women 35–39 sit-and-reach")));
    let warnings: Vec<String> = adult.warnings().iter().map(|w| format!("{}:{}", w.file, w.line)).collect();
    assert_eq!(
        warnings,
        [
            "data/standards/cnpfms-2003-adult/items.csv:428",
            "data/standards/cnpfms-2003-adult/height_weight.csv:45",
            "data/standards/cnpfms-2003-adult/height_weight.csv:126",
        ]
    );
    assert_eq!(adult.cohort_values(Sex::Female).collect::<Vec<_>>(), (20..=59).collect::<Vec<u8>>());
}

/// A reference reading of an items.csv, independent of the loader: per table the (score, threshold)
/// pairs and the direction.
struct RefTable {
    sex: Sex,
    min: u8,
    max: u8,
    item: String,
    higher: bool,
    levels: Vec<(u8, Dec)>,
}

fn reference_tables(text: &str) -> Vec<RefTable> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (min_column, max_column) = match column("grade_min") {
        Some(min) => (min, column("grade_max").unwrap()),
        None => (column("age_min").unwrap(), column("age_max").unwrap()),
    };
    let [sex, item, score, lower, upper, direction] = ["sex", "item", "score", "lower_bound", "upper_bound", "direction"].map(|n| column(n).unwrap());
    let mut tables: Vec<RefTable> = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        let field = |i: usize| record.get(i).unwrap().trim();
        let higher = field(direction) == "higher_better";
        let score: u8 = field(score).parse().unwrap();
        let threshold_text = if higher { field(lower) } else { field(upper) };
        let sex = Sex::parse(field(sex)).unwrap();
        let (min, max): (u8, u8) = (field(min_column).parse().unwrap(), field(max_column).parse().unwrap());
        let key = (sex, min, max, field(item).to_string());
        let index = match tables.iter().position(|t| (t.sex, t.min, t.max, t.item.clone()) == key) {
            Some(index) => index,
            None => {
                tables.push(RefTable { sex, min, max, item: key.3, higher, levels: Vec::new() });
                tables.len() - 1
            }
        };
        if score > 0 {
            tables[index].levels.push((score, Dec::parse(threshold_text).unwrap()));
        }
    }
    tables
}

/// The score the README defines: the highest level whose threshold ≤ value (≥ for timed items), else 0.
fn reference_score(table: &RefTable, value: Dec) -> (u8, Option<Dec>) {
    table
        .levels
        .iter()
        .filter(|(_, threshold)| if table.higher { *threshold <= value } else { *threshold >= value })
        .max_by_key(|(score, _)| *score)
        .map_or((0, None), |(score, threshold)| (*score, Some(*threshold)))
}

fn cohort_of(standard: &Standard, value: u8) -> Cohort {
    match standard.cohort_kind {
        CohortKind::Grade => Cohort::Grade(SchoolGrade::new(value).unwrap()),
        CohortKind::Age => Cohort::Age(AgeYears::new(value).unwrap()),
    }
}

/// Scores one item alone (every other item missing) and returns its score and threshold.
fn score_one(standard: &Standard, sex: Sex, cohort: Cohort, item: &str, value: Dec) -> Option<(Option<u8>, Option<Dec>)> {
    let item_index = standard.item_index(item).unwrap();
    let ItemKind::Table { measure } = standard.items()[item_index].kind else { panic!("{item} is not a table item") };
    standard.measures()[measure].kind.check(value).ok()?;
    let mut record = StudentRecord::new(standard, sex, cohort);
    record.values[measure] = Some(value);
    let card = score_student(standard, &record).unwrap();
    assert!(matches!(card.result, Composite::Incomplete { .. }), "{item} alone is an incomplete record");
    let scored = card.item(item_index).unwrap();
    Some((scored.score(), scored.threshold()))
}

fn check_every_threshold(standard: &Standard, items_file: &str) -> usize {
    let mut cases = 0;
    for table in reference_tables(file_text(items_file)) {
        let item = standard.item_index(&table.item).unwrap();
        let step = standard.items()[item].resolution();
        for cohort_value in [table.min, table.max] {
            let cohort = cohort_of(standard, cohort_value);
            for (score, threshold) in &table.levels {
                let (inside, outside) = if table.higher {
                    (threshold.saturating_add(step), threshold.saturating_sub(step))
                } else {
                    (threshold.saturating_sub(step), threshold.saturating_add(step))
                };
                for value in [*threshold, inside, outside] {
                    let Some((actual, actual_threshold)) = score_one(standard, table.sex, cohort, &table.item, value) else { continue };
                    let (expected, expected_threshold) = reference_score(&table, value);
                    let label = format!("{} {} {} {cohort}: value {value} (level {score} at {threshold})", standard.id, table.item, table.sex);
                    assert_eq!(actual, Some(expected), "{label}");
                    assert_eq!(actual_threshold, expected_threshold, "{label}: threshold explained");
                    if value == *threshold {
                        assert_eq!(expected, *score, "{label}: the threshold itself reaches its level");
                    }
                    cases += 1;
                }
            }
        }
    }
    cases
}

#[test]
fn every_student_item_level_at_threshold_just_inside_and_just_outside() {
    let cases = check_every_threshold(student(), "cnsphs-2014/items.csv");
    assert!(cases > 15_000, "{cases} cases");
}

#[test]
fn every_adult_item_level_at_threshold_just_inside_and_just_outside() {
    let cases = check_every_threshold(adult(), "cnpfms-2003-adult/items.csv");
    assert!(cases > 3_000, "{cases} cases");
}

#[test]
fn item_resolutions_come_from_the_data() {
    let student = student();
    let decimals = |id: &str| student.items()[student.item_index(id).unwrap()].resolution_decimals;
    assert_eq!(
        ["run_50m", "sit_and_reach", "vital_capacity", "rope_skip_1min", "pull_ups", "run_800m", "standing_long_jump"].map(decimals),
        [1, 1, 0, 0, 0, 0, 0]
    );
    let adult = adult();
    let decimals = |id: &str| adult.items()[adult.item_index(id).unwrap()].resolution_decimals;
    assert_eq!(["choice_reaction_time", "grip_strength", "single_leg_stand_eyes_closed", "vital_capacity"].map(decimals), [2, 1, 0, 0]);
}

fn check_adult(sex: &str, age: u8, item: &str, value: &str, expect: u8) {
    let adult = adult();
    let (score, _) = score_one(adult, Sex::parse(sex).unwrap(), Cohort::Age(AgeYears::new(age).unwrap()), item, Dec::parse(value).unwrap()).unwrap();
    assert_eq!(score, Some(expect), "{sex} {age} {item} {value}");
}

#[test]
fn adult_printed_ranges_between_levels() {
    // M 20–24 single-leg stand: 0 "<3", 1 "3-5", 2 "6-17", 3 "18-41", 4 "42-98", 5 ">98".
    check_adult("M", 22, "single_leg_stand_eyes_closed", "98", 4);
    check_adult("M", 22, "single_leg_stand_eyes_closed", "98.5", 5);
    check_adult("M", 22, "single_leg_stand_eyes_closed", "98.1", 5);
    check_adult("M", 22, "single_leg_stand_eyes_closed", "99", 5);
    check_adult("M", 22, "single_leg_stand_eyes_closed", "41.5", 4);
    check_adult("M", 22, "single_leg_stand_eyes_closed", "41", 3);
    check_adult("M", 22, "single_leg_stand_eyes_closed", "5.5", 2);
    check_adult("M", 22, "single_leg_stand_eyes_closed", "3", 1);
    check_adult("M", 22, "single_leg_stand_eyes_closed", "2.5", 0);
    // M 20–24 choice reaction time (lower is better): 5 ≤0.39, 4 0.40–0.43, 3 0.44–0.49, 1 0.61–0.69, 0 >0.69.
    check_adult("M", 22, "choice_reaction_time", "0.39", 5);
    check_adult("M", 22, "choice_reaction_time", "0.395", 5);
    check_adult("M", 22, "choice_reaction_time", "0.399", 5);
    check_adult("M", 22, "choice_reaction_time", "0.4", 4);
    check_adult("M", 22, "choice_reaction_time", "0.43", 4);
    check_adult("M", 22, "choice_reaction_time", "0.435", 4);
    check_adult("M", 22, "choice_reaction_time", "0.44", 3);
    check_adult("M", 22, "choice_reaction_time", "0.69", 1);
    check_adult("M", 22, "choice_reaction_time", "0.695", 0);
    // M 20–24 grip strength at 0.1 kg: 1 29.6–36.9, 2 37.0–43.5.
    check_adult("M", 22, "grip_strength", "36.9", 1);
    check_adult("M", 22, "grip_strength", "36.95", 2);
    check_adult("M", 22, "grip_strength", "29.6", 1);
    check_adult("M", 22, "grip_strength", "29.55", 0);
    // Age bands: 24 and 25 use different tables.
    check_adult("M", 24, "vital_capacity", "2848", 2);
    check_adult("M", 25, "vital_capacity", "2848", 1);
}

fn student_record(standard: &Standard, sex: &str, grade: u8, values: &[(&str, &str)]) -> StudentRecord {
    let mut record = StudentRecord::new(standard, Sex::parse(sex).unwrap(), Cohort::Grade(SchoolGrade::new(grade).unwrap()));
    for (key, value) in values {
        let measure = standard.measure_index(key).unwrap_or_else(|| panic!("measure {key}"));
        record.values[measure] = Some(standard.measures()[measure].kind.parse_bytes(value.as_bytes()).unwrap());
    }
    record
}

fn check_bmi_score(sex: &str, grade: u8, weight_kg: &str, height_cm: &str, expect: &str) {
    let standard = student();
    let record = student_record(standard, sex, grade, &[("weight_kg", weight_kg), ("height_cm", height_cm)]);
    let card = score_student(standard, &record).unwrap();
    let item = card.item(standard.item_index("bmi").unwrap()).unwrap();
    let actual = format!("{} {}", card.bmi.unwrap().to_fixed(1), item.score().unwrap());
    assert_eq!(actual, expect, "{sex} grade {grade}: {weight_kg} kg at {height_cm} cm");
}

#[test]
fn bmi_half_up_at_band_boundaries() {
    // M grade 1: normal 13.5–18.1, obese from 20.4. At 200 cm, BMI = weight / 4.
    check_bmi_score("M", 1, "72.6", "200", "18.2 80"); // exactly 18.15 → 18.2: overweight
    check_bmi_score("M", 1, "72.599", "200", "18.1 100"); // 18.14975 → 18.1: normal
    check_bmi_score("M", 1, "53.8", "200", "13.5 100"); // exactly 13.45 → 13.5: normal
    check_bmi_score("M", 1, "53.799", "200", "13.4 80"); // 13.44975 → 13.4: underweight
    check_bmi_score("M", 1, "81.4", "200", "20.4 60"); // exactly 20.35 → 20.4: obese
    check_bmi_score("M", 1, "81.399", "200", "20.3 80");
    // F grade 13 (大一): normal 17.2–23.9, obese from 28.0.
    check_bmi_score("F", 13, "23.95", "100", "24.0 80");
    check_bmi_score("F", 13, "23.949", "100", "23.9 100");
    check_bmi_score("F", 13, "27.95", "100", "28.0 60");
    check_bmi_score("F", 13, "17.15", "100", "17.2 100");
    check_bmi_score("F", 13, "17.149", "100", "17.1 80");
}

#[test]
fn every_bmi_band_boundary_of_the_shipped_table() {
    let standard = student();
    let tenth = Dec::from_milli(100);
    let mut reader = csv::Reader::from_reader(file_text("cnsphs-2014/bmi.csv").as_bytes());
    let mut cases = 0;
    for record in reader.records() {
        let record = record.unwrap();
        let sex = record.get(1).unwrap();
        let (min, max): (u8, u8) = (record.get(2).unwrap().parse().unwrap(), record.get(3).unwrap().parse().unwrap());
        let [normal_min, normal_max, obese_min] = [5, 6, 7].map(|i| Dec::parse(record.get(i).unwrap()).unwrap());
        let half = Dec::from_milli(50);
        // (BMI as weight at 100 cm, expected score): the edges, one step outside, and the half-up case.
        let cases_here = [
            (normal_min, 100),
            (normal_min.saturating_sub(tenth), 80),
            (normal_min.saturating_sub(half), 100),
            (normal_max, 100),
            (normal_max.saturating_add(tenth), 80),
            (normal_max.saturating_add(half), 80),
            (normal_max.saturating_add(half).saturating_sub(Dec::from_milli(1)), 100),
            (obese_min, 60),
            (obese_min.saturating_sub(tenth), if obese_min.saturating_sub(tenth) > normal_max { 80 } else { 100 }),
            (obese_min.saturating_sub(half), 60),
        ];
        for grade in [min, max] {
            for (weight, expect) in cases_here {
                let record = student_record(standard, sex, grade, &[("weight_kg", &weight.to_string()), ("height_cm", "100")]);
                let card = score_student(standard, &record).unwrap();
                let score = card.item(0).unwrap().score();
                assert_eq!(score, Some(expect), "{sex} grade {grade}: BMI {weight}");
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 28 * 2 * 10);
}

fn check_total(sex: &str, grade: u8, values: &[(&str, &str)], expect: &str) {
    let standard = student();
    let record = student_record(standard, sex, grade, values);
    let card = score_student(standard, &record).unwrap();
    let items: Vec<String> = card.items.iter().map(|i| i.score().map_or("missing".to_string(), |s| s.to_string())).collect();
    let actual = match card.result {
        Composite::Graded { standard_score, bonus, total, grade, pass } => {
            format!("{} | {} + {} = {} {grade} pass={pass}", items.join(" "), standard_score.to_fixed(2), bonus, total.to_fixed(2))
        }
        Composite::Incomplete { missing, bonus } => format!("{} | incomplete ({missing} missing) bonus {bonus}", items.join(" ")),
        Composite::Withheld { total, .. } => format!("{} | withheld {total}", items.join(" ")),
    };
    assert_eq!(actual, expect);
}

const G1: [(&str, &str); 2] = [("height_cm", "120"), ("weight_kg", "22")]; // BMI 15.3: normal
const G7: [(&str, &str); 2] = [("height_cm", "160"), ("weight_kg", "50")]; // BMI 19.5: normal

fn with<'a>(base: &[(&'a str, &'a str)], more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    base.iter().chain(more).copied().collect()
}

#[test]
fn weighted_totals_bonus_and_grades() {
    let all_100 = [("vital_capacity_ml", "1700"), ("run_50m_s", "10.2"), ("sit_and_reach_cm", "16.1"), ("rope_skip_1min", "109")];
    check_total("M", 1, &with(&G1, &all_100), "100 100 100 100 100 | 100.00 + 0 = 100.00 excellent pass=true");
    let rope_139 = [("vital_capacity_ml", "1700"), ("run_50m_s", "10.2"), ("sit_and_reach_cm", "16.1"), ("rope_skip_1min", "139")];
    check_total("M", 1, &with(&G1, &rope_139), "100 100 100 100 100 | 100.00 + 15 = 115.00 excellent pass=true");
    let rope_140 = [("vital_capacity_ml", "1700"), ("run_50m_s", "10.2"), ("sit_and_reach_cm", "16.1"), ("rope_skip_1min", "140")];
    check_total("M", 1, &with(&G1, &rope_140), "100 100 100 100 100 | 100.00 + 15 = 115.00 excellent pass=true");
    let rope_300 = [("vital_capacity_ml", "1700"), ("run_50m_s", "10.2"), ("sit_and_reach_cm", "16.1"), ("rope_skip_1min", "300")];
    check_total("M", 1, &with(&G1, &rope_300), "100 100 100 100 100 | 100.00 + 20 = 120.00 excellent pass=true");
    let all_60 = [("vital_capacity_ml", "700"), ("run_50m_s", "12.6"), ("sit_and_reach_cm", "0.0"), ("rope_skip_1min", "17")];
    check_total("M", 1, &with(&G1, &all_60), "100 60 60 60 60 | 66.00 + 0 = 66.00 pass pass=true");
    let vital_699 = [("vital_capacity_ml", "699"), ("run_50m_s", "12.6"), ("sit_and_reach_cm", "0.0"), ("rope_skip_1min", "17")];
    check_total("M", 1, &with(&G1, &vital_699), "100 50 60 60 60 | 64.50 + 0 = 64.50 pass pass=true");
    let slow = [("vital_capacity_ml", "700"), ("run_50m_s", "12.65"), ("sit_and_reach_cm", "0.0"), ("rope_skip_1min", "17")];
    check_total("M", 1, &with(&G1, &slow), "100 60 50 60 60 | 64.00 + 0 = 64.00 pass pass=true");
    let low = [("vital_capacity_ml", "100"), ("run_50m_s", "20"), ("sit_and_reach_cm", "-10"), ("rope_skip_1min", "0")];
    check_total("M", 1, &with(&G1, &low), "100 0 0 0 0 | 15.00 + 0 = 15.00 fail pass=false");
    let missing_rope = [("vital_capacity_ml", "1700"), ("run_50m_s", "10.2"), ("sit_and_reach_cm", "16.1")];
    check_total("M", 1, &with(&G1, &missing_rope), "100 100 100 100 missing | incomplete (1 missing) bonus 0");
    check_total("M", 1, &missing_rope, "missing 100 100 100 missing | incomplete (2 missing) bonus 0");

    let g7_100 = [
        ("vital_capacity_ml", "3640"),
        ("run_50m_s", "7.8"),
        ("sit_and_reach_cm", "17.6"),
        ("standing_long_jump_cm", "225"),
        ("pull_ups", "23"),
        ("run_1000m_s", "200"),
    ];
    check_total("M", 7, &with(&G7, &g7_100), "100 100 100 100 100 100 100 | 100.00 + 20 = 120.00 excellent pass=true");
    let g7_bonus = [
        ("vital_capacity_ml", "3640"),
        ("run_50m_s", "7.8"),
        ("sit_and_reach_cm", "17.6"),
        ("standing_long_jump_cm", "225"),
        ("pull_ups", "16"),
        ("run_1000m_s", "3'47\""),
    ];
    check_total("M", 7, &with(&G7, &g7_bonus), "100 100 100 100 100 100 100 | 100.00 + 5 = 105.00 excellent pass=true");
    let g7_90 = [
        ("vital_capacity_ml", "3400"),
        ("run_50m_s", "8.0"),
        ("sit_and_reach_cm", "14.2"),
        ("standing_long_jump_cm", "211"),
        ("pull_ups", "11"),
        ("run_1000m_s", "4:15"),
    ];
    check_total("M", 7, &with(&G7, &g7_90), "100 90 90 90 90 90 90 | 91.50 + 0 = 91.50 excellent pass=true");
    check_total("M", 7, &with(&[("height_cm", "160"), ("weight_kg", "60")], &g7_90), "80 90 90 90 90 90 90 | 88.50 + 0 = 88.50 good pass=true");
    // 4'15.5" is slower than 255 s: the 1000 m falls to level 85 (262 s).
    let g7_slower = [
        ("vital_capacity_ml", "3400"),
        ("run_50m_s", "8.0"),
        ("sit_and_reach_cm", "14.2"),
        ("standing_long_jump_cm", "211"),
        ("pull_ups", "11"),
        ("run_1000m_s", "4'15.5\""),
    ];
    check_total("M", 7, &with(&G7, &g7_slower), "100 90 90 90 90 90 85 | 90.50 + 0 = 90.50 excellent pass=true");
}

#[test]
fn explanations_name_the_level_and_threshold() {
    let standard = student();
    let record = student_record(standard, "M", 7, &[("run_1000m_s", "4:15"), ("pull_ups", "0"), ("height_cm", "160"), ("weight_kg", "50")]);
    let card = score_student(standard, &record).unwrap();
    let explain = |id: &str| card.item(standard.item_index(id).unwrap()).unwrap().explain(standard);
    assert_eq!(explain("run_1000m"), "run_1000m: 255 s ≤ 255 s: level 90");
    assert_eq!(explain("pull_ups"), "pull_ups: 0 reps < 1 reps, the threshold of the lowest level 30: 0");
    assert_eq!(explain("bmi"), "bmi: BMI 19.5 (weight / height², rounded half-up to 0.1) is normal (normal range 15.5–22.1, obese from 25): 100");
    assert_eq!(explain("run_50m"), "run_50m: not tested, reported missing (not scored)");
    let adult = adult();
    let mut record = StudentRecord::new(adult, Sex::Male, Cohort::Age(AgeYears::new(22).unwrap()));
    record.set(adult, "single_leg_stand_eyes_closed_s", Dec::parse("98.5").unwrap()).unwrap();
    let card = score_student(adult, &record).unwrap();
    let item = card.item(adult.item_index("single_leg_stand_eyes_closed").unwrap()).unwrap();
    assert_eq!(item.explain(adult), "single_leg_stand_eyes_closed: 98.5 s ≥ 99 s (above the next level's printed limit 98 s): level 5");
}

#[test]
fn adult_sum_weight_for_height_and_withheld_grades() {
    let adult = adult();
    let complete = |age: u8, values: &[(&str, &str)]| {
        let mut record = StudentRecord::new(adult, Sex::Male, Cohort::Age(AgeYears::new(age).unwrap()));
        for (key, value) in values {
            let measure = adult.measure_index(key).unwrap();
            record.values[measure] = Some(adult.measures()[measure].kind.parse_bytes(value.as_bytes()).unwrap());
        }
        score_student(adult, &record).unwrap()
    };
    // M 45: no push-ups or vertical jump; every item at level 3, weight for height normal (5).
    let m45 = [
        ("height_cm", "170"),
        ("weight_kg", "65"),
        ("vital_capacity_ml", "3200"),
        ("step_index", "55"),
        ("grip_strength_kg", "42"),
        ("sit_and_reach_cm", "6"),
        ("single_leg_stand_eyes_closed_s", "12"),
        ("choice_reaction_time_s", "0.5"),
    ];
    let card = complete(45, &m45);
    let scores: Vec<String> = card.items.iter().map(|i| format!("{}={}", adult.items()[i.item].id, i.score().unwrap())).collect();
    assert_eq!(card.items.len(), 7, "{scores:?}");
    assert_eq!(card.items[0].score(), Some(5), "{}", card.items[0].explain(adult));
    let sum: u32 = card.items.iter().map(|i| u32::from(i.score().unwrap())).sum();
    match card.result {
        Composite::Graded { total, grade, .. } => {
            assert_eq!(total, Dec::from_int(i64::from(sum)));
            let cutoffs = adult.cutoffs_for(Sex::Male, Cohort::Age(AgeYears::new(45).unwrap())).unwrap();
            assert_eq!((cutoffs.excellent_min, cutoffs.good_min, cutoffs.pass_min), (Dec::from_int(27), Dec::from_int(24), Dec::from_int(18)));
            assert_eq!(grade, Grade::of(total, &cutoffs));
        }
        other => panic!("{other:?} {scores:?}"),
    }
    // A zero withholds the grade.
    let mut weak = m45;
    weak[7] = ("choice_reaction_time_s", "2.0");
    assert!(matches!(complete(45, &weak).result, Composite::Withheld { .. }));
    // Out of the height table: no score, grade withheld.
    let mut tall = m45;
    tall[0] = ("height_cm", "230");
    let card = complete(45, &tall);
    assert_eq!(card.items[0].explain(adult), "height_weight: height 230 cm is outside the table: no score (0)");
    assert!(matches!(card.result, Composite::Withheld { .. }));
    // Age 20–39 cut-offs differ from 40–59.
    let cutoffs = adult.cutoffs_for(Sex::Female, Cohort::Age(AgeYears::new(39).unwrap())).unwrap();
    assert_eq!(cutoffs.excellent_min, Dec::from_int(34));
    assert!(!adult.covers(Sex::Female, Cohort::Age(AgeYears::new(60).unwrap())));
    assert!(!adult.covers(Sex::Female, Cohort::Grade(SchoolGrade::new(5).unwrap())));
}

#[test]
fn records_that_do_not_fit_are_errors_not_panics() {
    let standard = student();
    let record = StudentRecord { sex: Sex::Male, cohort: Cohort::Grade(SchoolGrade::new(1).unwrap()), values: vec![None; 3] };
    assert_eq!(score_student(standard, &record).unwrap_err().to_string(), "the record has 3 values, the standard 12 measures");
    let record = StudentRecord::new(standard, Sex::Male, Cohort::Age(AgeYears::new(30).unwrap()));
    assert_eq!(score_student(standard, &record).unwrap_err().to_string(), "the standard does not cover M age 30");
    let mut record = StudentRecord::new(standard, Sex::Male, Cohort::Grade(SchoolGrade::new(1).unwrap()));
    assert_eq!(record.set(standard, "pull_ups", Dec::parse("2.5").unwrap()).unwrap_err().to_string(), "pull_ups: expected a whole number");
    assert_eq!(record.set(standard, "nope", Dec::ZERO).unwrap_err().to_string(), "unknown measure nope");
}

// ---------------------------------------------------------------------------------------------------
// Properties

/// A random complete student record: sex, grade, and for every measure a value around its tables.
fn arbitrary_record() -> impl Strategy<Value = (Sex, u8, Vec<i64>, usize, i64)> {
    (prop::bool::ANY, 1u8..=16, prop::collection::vec(0i64..=1_000_000, 12), 0usize..12, 1i64..=200)
        .prop_map(|(male, grade, raw, improve, steps)| (if male { Sex::Male } else { Sex::Female }, grade, raw, improve, steps))
}

fn build(standard: &Standard, sex: Sex, grade: u8, raw: &[i64]) -> StudentRecord {
    let cohort = Cohort::Grade(SchoolGrade::new(grade).unwrap());
    let mut record = StudentRecord::new(standard, sex, cohort);
    record.values[HEIGHT] = Some(Dec::from_milli(100_000 + raw[0] % 100_000)); // 100–200 cm
    record.values[WEIGHT] = Some(Dec::from_milli(15_000 + raw[1] % 80_000)); // 15–95 kg
    for (measure, def) in standard.measures().iter().enumerate().skip(2) {
        let Some(table) = def.item.and_then(|item| standard.table_for(item, sex, cohort)) else { continue };
        let (best, worst) = (table.levels[0].threshold.milli(), table.levels[table.levels.len() - 1].threshold.milli());
        let span = (best - worst).abs().max(1000);
        let (low, high) = (best.min(worst) - span / 2, best.max(worst) + span / 2);
        let step = standard.items()[def.item.unwrap()].resolution().milli();
        let mut value = low + raw[measure] % (high - low + 1);
        value -= value.rem_euclid(step);
        if !matches!(def.kind, ValueKind::Amount { negative_allowed: true }) {
            value = value.max(0);
        }
        record.values[measure] = Some(Dec::from_milli(value));
    }
    record
}

const HEIGHT: usize = standard::HEIGHT_MEASURE;
const WEIGHT: usize = standard::WEIGHT_MEASURE;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn a_better_performance_never_lowers_a_score_or_the_total((sex, grade, raw, improve, steps) in arbitrary_record()) {
        let standard = student();
        let record = build(standard, sex, grade, &raw);
        let card = score_student(standard, &record).unwrap();
        let total = card.result.total().unwrap();
        prop_assert!(total >= Dec::ZERO && total <= Dec::from_int(120), "total {}", total);
        prop_assert!(card.result.grade().is_some());
        let measure = 2 + improve % (standard.measures().len() - 2);
        let Some(value) = record.values[measure] else { return Ok(()) };
        let def = &standard.measures()[measure];
        let item = def.item.unwrap();
        let step = standard.items()[item].resolution().milli() * steps;
        let better = match standard.items()[item].direction.unwrap() {
            Direction::HigherBetter => value.milli() + step,
            Direction::LowerBetter => (value.milli() - step).max(0),
        };
        let mut improved = record.clone();
        improved.values[measure] = Some(Dec::from_milli(better));
        let improved_card = score_student(standard, &improved).unwrap();
        let before = card.item(item).and_then(ItemScore::score).unwrap();
        let after = improved_card.item(item).and_then(ItemScore::score).unwrap();
        prop_assert!(after >= before, "{}: {} → {} scored {} → {}", def.key, value, better, before, after);
        let improved_total = improved_card.result.total().unwrap();
        prop_assert!(improved_total >= total, "total {} → {}", total, improved_total);
        prop_assert!(improved_total <= Dec::from_int(120));
    }

    #[test]
    fn adult_totals_stay_within_the_standard((male, age, raw) in (prop::bool::ANY, 20u8..=59, prop::collection::vec(0i64..=1_000_000, 11))) {
        let adult = adult();
        let sex = if male { Sex::Male } else { Sex::Female };
        let cohort = Cohort::Age(AgeYears::new(age).unwrap());
        let mut record = StudentRecord::new(adult, sex, cohort);
        record.values[HEIGHT] = Some(Dec::from_milli(140_000 + raw[0] % 60_000));
        record.values[WEIGHT] = Some(Dec::from_milli(35_000 + raw[1] % 70_000));
        for (value, raw) in record.values.iter_mut().zip(&raw).skip(2) {
            *value = Some(Dec::from_milli(raw * 10 % 5_000_000));
        }
        let card = score_student(adult, &record).unwrap();
        let total = card.result.total().unwrap();
        prop_assert!(total >= Dec::ZERO && total <= adult.max_total());
    }
}

/// A random record for either shipped standard, any sex and cohort value (covered or not), values
/// around and beyond the tables, some not tested.
fn any_record() -> impl Strategy<Value = (bool, bool, u8, Vec<i64>, u32)> {
    (prop::bool::ANY, prop::bool::ANY, 0u8..=70, prop::collection::vec(-2_000_000i64..=6_000_000, 16), prop::num::u32::ANY)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5_000))]

    /// `score_row_into` (batch scoring) gives exactly the cells, BMI and composite of the score card,
    /// and each scored table item's level is the one its table gives (the laid-out levels are the
    /// tables').
    #[test]
    fn the_batch_row_agrees_with_the_score_card((is_adult, male, cohort_value, raw, untested) in any_record()) {
        let standard = if is_adult { adult() } else { student() };
        let sex = if male { Sex::Male } else { Sex::Female };
        let cohort = if is_adult {
            Cohort::Age(AgeYears::new(cohort_value).unwrap())
        } else {
            Cohort::Grade(SchoolGrade::new(cohort_value % 17).unwrap_or(SchoolGrade::new(1).unwrap()))
        };
        // Half the records have every value, the others miss each one with a chance of 1/8.
        let tested = |index: usize| untested & (1 << 31) != 0 || (untested >> index) & 7 != 0;
        let mut record = StudentRecord::new(standard, sex, cohort);
        for (index, value) in record.values.iter_mut().enumerate() {
            if tested(index) {
                *value = Some(Dec::from_milli(match index {
                    HEIGHT => 100_000 + raw[index].rem_euclid(100_000),
                    WEIGHT => 15_000 + raw[index].rem_euclid(90_000),
                    _ => raw[index] / 10 * 10,
                }));
            }
        }
        let mut row = ScoreRow::default();
        match score_student(standard, &record) {
            Err(error) => {
                prop_assert_eq!(score_row_into(standard, &record, &mut row), Err(error));
            }
            Ok(card) => {
                prop_assert_eq!(score_row_into(standard, &record, &mut row), Ok(()));
                prop_assert_eq!(&row, &ScoreRow::of_card(standard, &card));
                for item in &card.items {
                    let (Some(value), ItemOutcome::Scored { score, basis }) = (item.value, item.outcome) else { continue };
                    let Some(table) = standard.table_for(item.item, sex, cohort) else { continue };
                    let level = table.level_for(value);
                    prop_assert_eq!(score, level.map_or(0, |level| level.score));
                    if let (Some(level), Basis::Level { threshold, line, .. }) = (level, basis) {
                        prop_assert_eq!((threshold, line), (level.threshold, level.line));
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Load-time validation on a small fixture

const FX_STANDARD: &str = "key,value\ncode,FX-1\nname_zh,测试\nname_en,Fixture\nversion,1\nstatus,verified\nbounds,thresholds\n";
const FX_ITEMS: &str = "\
standard,sex,grade_min,grade_max,item,item_cn,score,threshold,lower_bound,upper_bound,unit,direction
FX-1,M,1,2,jump,跳远,100,150,150,,cm,higher_better
FX-1,M,1,2,jump,跳远,60,120,120,150,cm,higher_better
FX-1,M,1,2,jump,跳远,0,,,120,cm,higher_better
FX-1,M,1,2,run,跑,100,9.0,,9.0,s,lower_better
FX-1,M,1,2,run,跑,60,11.0,9.0,11.0,s,lower_better
FX-1,M,1,2,run,跑,0,,11.0,,s,lower_better
FX-1,F,1,2,jump,跳远,100,140,140,,cm,higher_better
FX-1,F,1,2,jump,跳远,60,110,110,140,cm,higher_better
FX-1,F,1,2,run,跑,100,9.5,,9.5,s,lower_better
FX-1,F,1,2,run,跑,60,11.5,9.5,11.5,s,lower_better
";
const FX_WEIGHTS: &str = "standard,grade_min,grade_max,item,weight_pct\nFX-1,1,2,jump,50\nFX-1,1,2,run,50\n";
const FX_GRADES: &str = "standard,population,excellent_min,good_min,pass_min\nFX-1,fixture pupils,90.0,80.0,60.0\n";

fn fixture() -> Vec<(String, String)> {
    [("grades.csv", FX_GRADES), ("fx/standard.csv", FX_STANDARD), ("fx/items.csv", FX_ITEMS), ("fx/weights.csv", FX_WEIGHTS)]
        .map(|(name, text)| (name.to_string(), text.to_string()))
        .to_vec()
}

/// Applies one edit (`file`, `from` → `to`; an empty `from` appends, `to` of "-" removes the file) and
/// returns the load errors, one per line.
fn check_load(file: &str, from: &str, to: &str, expect: &str) {
    let mut files = fixture();
    if to == "-" {
        files.retain(|(name, _)| name != file);
    } else if let Some(entry) = files.iter_mut().find(|(name, _)| name == file) {
        assert!(from.is_empty() || entry.1.contains(from), "{from:?} not in {file}");
        entry.1 = if from.is_empty() { format!("{}{to}", entry.1) } else { entry.1.replacen(from, to, 1) };
    } else {
        files.push((file.to_string(), to.to_string()));
    }
    let actual = match StandardSet::load(&files) {
        Ok(set) => format!("ok: {}", set.ids().join(",")),
        Err(errors) => errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"),
    };
    assert_eq!(actual, expect, "{file}: {from:?} → {to:?}");
}

#[test]
fn the_fixture_loads_and_scores() {
    check_load("fx/items.csv", "", "", "ok: fx");
    let set = StandardSet::load(&fixture()).unwrap();
    let fx = set.get("fx").unwrap();
    let mut record = StudentRecord::new(fx, Sex::Female, Cohort::Grade(SchoolGrade::new(2).unwrap()));
    record.set(fx, "jump_cm", Dec::from_int(140)).unwrap();
    record.set(fx, "run_s", Dec::parse("11.5").unwrap()).unwrap();
    let card = score_student(fx, &record).unwrap();
    assert_eq!(card.result.total(), Some(Dec::from_int(80)));
    assert_eq!(card.result.slug(), "good");
}

/// Thresholds beyond ±2,147,483 units are compared as `i64` (the scoring loop's `i32` cutoffs
/// would not hold them), with the same results.
#[test]
fn thresholds_beyond_the_narrow_cutoffs_score_the_same() {
    let mut files = fixture();
    let items = &mut files.iter_mut().find(|(name, _)| name == "fx/items.csv").unwrap().1;
    *items = items
        .replace("FX-1,M,1,2,jump,跳远,100,150,150,,", "FX-1,M,1,2,jump,跳远,100,3000000,3000000,,")
        .replace("FX-1,M,1,2,jump,跳远,60,120,120,150,", "FX-1,M,1,2,jump,跳远,60,2000000,2000000,3000000,")
        .replace("FX-1,M,1,2,jump,跳远,0,,,120,", "FX-1,M,1,2,jump,跳远,0,,,2000000,");
    let wide_set = StandardSet::load(&files).unwrap();
    let wide = wide_set.get("fx").unwrap();
    let narrow_set = StandardSet::load(&fixture()).unwrap();
    let narrow = narrow_set.get("fx").unwrap();
    let spans_without_buckets =
        |standard: &Standard| standard.plans.iter().flat_map(|plan| &plan.items).filter(|item| item.levels.len > 0 && item.levels.buckets_len == 0).count();
    assert_eq!(spans_without_buckets(wide), 2, "the jump table of boys in grades 1–2, in the plans of both grades, is counted");
    assert_eq!(spans_without_buckets(narrow), 0);
    let score = |standard: &Standard, sex: Sex, jump: &str, run: &str| {
        let mut record = StudentRecord::new(standard, sex, Cohort::Grade(SchoolGrade::new(1).unwrap()));
        record.set(standard, "jump_cm", Dec::parse(jump).unwrap()).unwrap();
        record.set(standard, "run_s", Dec::parse(run).unwrap()).unwrap();
        let card = score_student(standard, &record).unwrap();
        let mut row = ScoreRow::default();
        score_row_into(standard, &record, &mut row).unwrap();
        assert_eq!(row, ScoreRow::of_card(standard, &card));
        card.items.iter().map(|item| item.score().unwrap().to_string()).collect::<Vec<_>>().join(" ")
    };
    for (jump, expect) in [("3000000", "100"), ("2999999.999", "60"), ("2000000", "60"), ("1999999", "0"), ("999999999999", "100"), ("0", "0")] {
        assert_eq!(score(wide, Sex::Male, jump, "9.0"), format!("{expect} 100"), "{jump}");
    }
    for (run, expect) in [("9.0", "100"), ("9.001", "60"), ("11.0", "60"), ("11.001", "0"), ("0", "100"), ("999999999999", "0")] {
        assert_eq!(score(wide, Sex::Male, "3000000", run), format!("100 {expect}"), "{run}");
        assert_eq!(score(narrow, Sex::Male, "150", run), format!("100 {expect}"), "{run}");
    }
}

#[test]
fn load_errors_name_file_and_line() {
    check_load(
        "fx/items.csv",
        "FX-1,M,1,2,jump,跳远,60,120,120,150",
        "FX-1,M,1,2,jump,跳远,60,160,160,150",
        "fx/items.csv:3: jump M grade 1–2: not monotone: level 60 needs 160 cm, level 100 (line 2) needs 150 cm; a lower level must need a smaller value",
    );
    check_load(
        "fx/items.csv",
        "FX-1,M,1,2,run,跑,60,11.0,9.0,11.0",
        "FX-1,M,1,2,run,跑,60,8.5,9.0,8.5",
        "fx/items.csv:6: run M grade 1–2: not monotone: level 60 needs 8.5 s, level 100 (line 5) needs 9 s; a lower level must need a larger value",
    );
    check_load(
        "fx/items.csv",
        "FX-1,M,1,2,jump,跳远,60,120,120,150",
        "FX-1,M,1,2,jump,跳远,60,120,120,149",
        "fx/items.csv:3: jump M grade 1–2: level 60: upper_bound 149 should be 150, where level 100 (line 2) starts: a gap or an overlap",
    );
    check_load(
        "fx/items.csv",
        "FX-1,M,1,2,jump,跳远,0,,,120",
        "FX-1,M,1,2,jump,跳远,0,,,119",
        "fx/items.csv:4: jump M grade 1–2: level 0: upper_bound 119 should be 120, where level 60 (line 3) starts: a gap or an overlap",
    );
    check_load(
        "fx/items.csv",
        "FX-1,M,1,2,jump,跳远,60,120,120,150",
        "FX-1,M,1,2,jump,跳远,60,121,120,150",
        "fx/items.csv:3: jump M grade 1–2: level 60: threshold 121 differs from its lower_bound 120",
    );
    check_load(
        "fx/items.csv",
        "FX-1,M,1,2,jump,跳远,60,120,120,150",
        "FX-1,M,1,2,jump,跳远,100,120,120,150",
        "fx/items.csv:3: jump M grade 1–2: level 100 appears twice (first on line 2)",
    );
    check_load(
        "fx/items.csv",
        "FX-1,F,1,2,run,跑,60,11.5,9.5,11.5",
        "FX-1,F,1,2,run,跑,60,11.5x,9.5,11.5",
        "fx/items.csv:11: column threshold: expected a number, got \"11.5x\"",
    );
    check_load(
        "fx/items.csv",
        "FX-1,F,1,2,run,跑,60,11.5,9.5,11.5,s,lower_better",
        "FX-1,F,1,2,run,跑,60,11.5,9.5,11.5,s,faster",
        "fx/items.csv:11: column direction: expected higher_better or lower_better, got \"faster\"",
    );
    check_load(
        "fx/items.csv",
        "FX-1,F,1,2,run,跑,60,11.5,9.5,11.5,s",
        "FX-1,F,1,2,run,跑,60,11.5,9.5,11.5,min",
        "fx/items.csv:11: item run: unit \"min\" differs from \"s\" on line 5",
    );
    check_load(
        "fx/items.csv",
        "FX-1,F,1,2,run,跑,60",
        "FX-2,F,1,2,run,跑,60",
        "fx/items.csv:11: standard \"FX-2\" here, but the folder's standard.csv says \"FX-1\"",
    );
    check_load("fx/items.csv", "FX-1,F,1,2,run,跑,60", "FX-1,F,2,1,run,跑,60", "fx/items.csv:11: grade_min–grade_max: minimum 2 is above maximum 1");
    check_load("fx/items.csv", "", "FX-1,M,2,3,jump,跳远,100,150,150,,cm,higher_better\n", "fx/items.csv:12: jump overlaps the one on line 2");
    check_load("fx/items.csv", "", "FX-1,M,3,3,jump,跳远,100,150,150,,cm,higher_better\n", "fx/weights.csv: M grade 3 has item tables but no weights");
    check_load(
        "fx/items.csv",
        "FX-1,F,1,2,run,跑,100,9.5,,9.5,s,lower_better\nFX-1,F,1,2,run,跑,60,11.5,9.5,11.5,s,lower_better\n",
        "",
        "fx/weights.csv:3: item run is weighted for F grade 1 but has no table there\nfx/weights.csv:3: item run is weighted for F grade 2 but has no table there",
    );
    check_load(
        "fx/items.csv",
        "FX-1,F,1,2,run,跑,60,11.5,9.5,11.5,s,lower_better",
        "FX-1,F,1,2,run,跑,60,11.5,9.5",
        "fx/items.csv:11: not valid CSV: 9 fields, the header has 12",
    );
    check_load(
        "fx/weights.csv",
        "FX-1,1,2,jump,50",
        "FX-1,1,2,jump,40",
        "fx/weights.csv:2: weights for M grade 1 add up to 90 %, not 100 %\nfx/weights.csv:2: weights for M grade 2 add up to 90 %, not 100 %\nfx/weights.csv:2: weights for F grade 1 add up to 90 %, not 100 %\nfx/weights.csv:2: weights for F grade 2 add up to 90 %, not 100 %",
    );
    check_load(
        "fx/weights.csv",
        "FX-1,1,2,run,50",
        "FX-1,1,2,swim,50",
        "fx/weights.csv:3: unknown item \"swim\" (not in items.csv and not the standard's body-composition item)",
    );
    check_load(
        "fx/weights.csv",
        "FX-1,1,2,run,50",
        "FX-1,1,2,run (M) / jump (F),50",
        "fx/weights.csv:3: item jump appears twice in the weights for F grade 1\nfx/weights.csv:3: item jump appears twice in the weights for F grade 2",
    );
    check_load(
        "grades.csv",
        "FX-1,fixture pupils,90.0,80.0,60.0",
        "FX-1,fixture pupils,90.0,60.0,80.0",
        "grades.csv:2: grade cut-offs of FX-1: need excellent_min 90 > good_min 60 > pass_min 80",
    );
    check_load(
        "grades.csv",
        "FX-1,",
        "FX-9,",
        "grades.csv: no grade cut-offs cover grade 1 for standard FX-1\ngrades.csv: no grade cut-offs cover grade 2 for standard FX-1",
    );
    check_load("fx/standard.csv", "status,verified", "status,draft", "fx/standard.csv:6: column status: expected verified or provisional, got \"draft\"");
    check_load("fx/standard.csv", "code,FX-1\n", "", "fx/standard.csv: missing key code");
    check_load("fx/standard.csv", "", "colour,blue\n", "fx/standard.csv:8: unknown key \"colour\"");
    check_load("fx/standard.csv", "", "-", "fx: missing file standard.csv");
    check_load(
        "fx/notes.csv",
        "",
        "a,b\n",
        "fx/notes.csv: unexpected file in a standard folder (known: standard.csv, items.csv, bmi.csv, height_weight.csv, weights.csv, bonus.csv)",
    );
    check_load("Fx Bad/items.csv", "", "a,b\n", "Fx Bad: folder name is not a standard id (lower-case letters, digits, '-')");
    check_load(
        "fx/bmi.csv",
        "",
        "standard,sex,grade_min,grade_max,normal_min,normal_max,obese_min\nFX-1,M,1,2,13.5,18.1,20.4\nFX-1,F,1,2,13.3,17.3,17.3\n",
        "fx/bmi.csv:3: BMI bands F grade 1–2: need normal_min 13.3 < normal_max 17.3 < obese_min 17.3",
    );
    check_load(
        "fx/bonus.csv",
        "",
        "standard,grade_min,grade_max,sex,item,bonus_points,excess_needed_over_100pt_threshold,note\nFX-1,1,2,M,jump,1,5,\nFX-1,1,2,M,jump,2,4,\n",
        "fx/bonus.csv:3: bonus steps for jump: 2 points need 4 but 1 points (line 2) need 5: each step needs more points and a larger excess",
    );
    check_load(
        "fx/bonus.csv",
        "",
        "standard,grade_min,grade_max,sex,item,bonus_points,excess_needed_over_100pt_threshold,note\nFX-1,1,2,M/F,jump,1 per 2 cm,2 cm per point,\n",
        "fx/bonus.csv:2: linear bonus \"1 per 2 cm\" needs its maximum as \"max N\" in the note",
    );
}

#[test]
fn a_new_standard_is_data_a_bonus_rule_and_bmi_included() {
    let mut files = fixture();
    files.push((
        "fx/bonus.csv".into(),
        "standard,grade_min,grade_max,sex,item,bonus_points,excess_needed_over_100pt_threshold,note\nFX-1,1,2,M/F,jump,1 per 2 cm,2 cm per point,max 5\n"
            .into(),
    ));
    files.push((
        "fx/bmi.csv".into(),
        "standard,sex,grade_min,grade_max,normal_min,normal_max,obese_min\nFX-1,M,1,2,13.5,18.1,20.4\nFX-1,F,1,2,13.3,17.3,19.3\n".into(),
    ));
    files.iter_mut().find(|(name, _)| name == "fx/weights.csv").unwrap().1 =
        "standard,grade_min,grade_max,item,weight_pct\nFX-1,1,2,bmi,20\nFX-1,1,2,jump,40\nFX-1,1,2,run,40\n".into();
    files
        .iter_mut()
        .find(|(name, _)| name == "fx/standard.csv")
        .unwrap()
        .1
        .push_str("bmi_score_normal,100\nbmi_score_underweight,80\nbmi_score_overweight,80\nbmi_score_obese,60\n");
    let set = StandardSet::load(&files).unwrap_or_else(|e| panic!("{e:?}"));
    let fx = set.get("fx").unwrap();
    let mut record = StudentRecord::new(fx, Sex::Male, Cohort::Grade(SchoolGrade::new(1).unwrap()));
    for (key, value) in [("height_cm", "120"), ("weight_kg", "22"), ("jump_cm", "157"), ("run_s", "9")] {
        record.set(fx, key, Dec::parse(value).unwrap()).unwrap();
    }
    let card = score_student(fx, &record).unwrap();
    assert_eq!(
        card.result,
        Composite::Graded { standard_score: Dec::from_int(100), bonus: Dec::from_int(3), total: Dec::from_int(103), grade: Grade::Excellent, pass: true }
    );
    assert_eq!(fx.max_total(), Dec::from_int(105));
}

// ---------------------------------------------------------------------------------------------------
// Records from CSV rows

fn parse_rows(standard: &Standard, csv_text: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(csv_text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let columns = match Columns::resolve(standard, &header_refs) {
        Ok(columns) => columns,
        Err(errors) => return vec![errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")],
    };
    let mut record = StudentRecord::new(standard, Sex::Male, Cohort::Grade(SchoolGrade::new(1).unwrap()));
    let mut out = Vec::new();
    for row in reader.byte_records() {
        let row = row.unwrap();
        let mut errors = Vec::new();
        if columns.parse_row(standard, &row, &mut record, &mut errors) {
            let card = score_student(standard, &record).unwrap();
            out.push(format!("{} {} {}", record.sex, record.cohort, card.result.total().map_or("incomplete".to_string(), |t| t.to_fixed(2))));
        } else {
            out.push(errors.iter().map(|e| format!("{}: {}", columns.headers[e.column], e.problem)).collect::<Vec<_>>().join("; "));
        }
    }
    out
}

#[test]
fn chinese_headers_and_bad_fields() {
    let standard = student();
    let text = "\
学号,性别,年级,身高(cm),体重（kg）,肺活量,50米跑,坐位体前屈,一分钟跳绳,备注
s1,男,一年级,120,22,1700,10.2,16.1,109,ok
s2,女,高一,160,50,,,,,only body
s3,X,一年级,120,22,1700,10.2,16.1,109,
s4,男,七年级,0,22,1700,abc,16.1,109,
s5,男,大五,120,-22,1700,-10.2,16.1,10.5,
";
    assert_eq!(
        parse_rows(standard, text),
        [
            "M grade 1 100.00",
            "F grade 10 incomplete",
            "性别: unknown sex (expected M/F or 男/女)",
            "身高(cm): must be greater than 0; 50米跑: expected a time in seconds or m'ss\" / m:ss",
            "年级: unknown grade (expected 1-16, 一年级…六年级, 初一…初三, 七年级…九年级, 高一…高三, 大一…大四); 体重（kg）: must be greater than 0; 50米跑: must not be negative; 一分钟跳绳: expected a whole number",
        ]
    );
    assert_eq!(parse_rows(standard, "id,sex,height_cm\n1,M,120\n"), ["missing column grade"]);
    assert_eq!(parse_rows(standard, "id,sex,grade,年级\n1,M,1,1\n"), ["columns \"grade\" and \"年级\" both mean grade"]);
    let adult = adult();
    let text = "id,sex,birth_date,test_date,闭眼单脚站立\na,F,1990-06-15,2025-06-14,12\nb,F,2010-01-01,2025-01-01,12\nc,M,1990-06-15,1989-01-01,3\n";
    assert_eq!(
        parse_rows(adult, text),
        ["F age 34 incomplete", "birth_date: age 15 is not covered by the standard for this sex", "test_date: test date before the birth date"]
    );
}

#[test]
fn load_errors_count_empty_lines_and_crlf() {
    let with_blank_lines = FX_ITEMS.replacen("\nFX-1,M,1,2,jump,跳远,60,120,120,150", "\n\n\nFX-1,M,1,2,jump,跳远,60,160,160,150", 1);
    for (items, line) in [(with_blank_lines.clone(), 5), (with_blank_lines.replace('\n', "\r\n"), 5)] {
        let mut files = fixture();
        files.iter_mut().find(|(name, _)| name == "fx/items.csv").unwrap().1 = items;
        let errors = StandardSet::load(&files).unwrap_err();
        assert_eq!(errors[0].line, Some(line), "{}", errors[0]);
    }
}

/// Every value a span's buckets are asked about reaches what counting its cutoffs gives: each
/// cutoff and the values around it, each bucket's edges, the clamps, and far beyond them.
fn check_buckets_agree_with_counting(standard: &Standard) -> usize {
    let levels = &standard.plan_levels;
    let mut spans = 0;
    for span in standard.plans.iter().flat_map(|plan| &plan.items).map(|item| &item.levels).filter(|span| span.buckets_len > 0) {
        spans += 1;
        let cutoffs = &levels.cutoffs[span.start as usize..(span.start + span.len) as usize];
        let width = 1i64 << span.bucket_shift;
        let mut probes: Vec<i64> = vec![i64::MIN / 2, -1, 0, 1, i64::MAX / 2];
        for &cutoff in cutoffs {
            for delta in [-width - 1, -width, -width + 1, -3, -2, -1, 0, 1, 2, 3, width - 1, width, width + 1] {
                probes.push(cutoff + delta);
            }
        }
        for bucket in 0..i64::from(span.buckets_len) {
            let first = (i64::from(span.first_bucket) + bucket) << span.bucket_shift;
            for directed in [first - 1, first, first + 1, first + width - 1] {
                probes.push(if span.direction == Direction::LowerBetter { -directed } else { directed });
            }
        }
        for milli in probes {
            let value = Dec::from_milli(milli);
            assert_eq!(levels.not_reached(span, value), levels.not_reached_counted(span, value), "{} span at {}: value {value}", standard.id, span.start);
        }
    }
    spans
}

#[test]
fn level_buckets_agree_with_counting_cutoffs() {
    let set = shipped_set();
    for id in set.ids() {
        let spans = check_buckets_agree_with_counting(set.get(id).unwrap());
        assert!(spans > 0, "{id} has no span with buckets");
    }
    let fixture_set = StandardSet::load(&fixture()).unwrap();
    assert!(check_buckets_agree_with_counting(fixture_set.get("fx").unwrap()) > 0);
}

/// A span whose smallest step is tiny against its range would need too many buckets: it counts
/// its cutoffs instead, with the same scores.
#[test]
fn a_span_needing_too_many_buckets_counts_its_cutoffs() {
    let mut files = fixture();
    let items = &mut files.iter_mut().find(|(name, _)| name == "fx/items.csv").unwrap().1;
    *items = items
        .replace("FX-1,M,1,2,jump,跳远,100,150,150,,", "FX-1,M,1,2,jump,跳远,100,150000,150000,,")
        .replace("FX-1,M,1,2,jump,跳远,60,120,120,150,", "FX-1,M,1,2,jump,跳远,80,121,121,150000,cm,higher_better\nFX-1,M,1,2,jump,跳远,60,120,120,121,");
    let set = StandardSet::load(&files).unwrap();
    let fx = set.get("fx").unwrap();
    let without_buckets: Vec<&standard::LevelSpan> =
        fx.plans.iter().flat_map(|plan| &plan.items).map(|item| &item.levels).filter(|span| span.len > 0 && span.buckets_len == 0).collect();
    assert_eq!(without_buckets.len(), 2, "the jump table of boys in grades 1–2, in the plans of both grades");
    for span in without_buckets {
        for (jump, expect) in [("150000", 0), ("149999.999", 1), ("121", 1), ("120.999", 2), ("120", 2), ("119.999", 3)] {
            assert_eq!(fx.plan_levels.not_reached(span, Dec::parse(jump).unwrap()), expect, "{jump}");
        }
    }
    assert!(check_buckets_agree_with_counting(fx) > 0, "the other spans keep their buckets");
}
