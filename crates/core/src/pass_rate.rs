//! The fitness pass rate (DESIGN §8): people graded pass or better ÷ people tested, within one
//! standard version, for a region subtree, by sex and age group or school grade; crude and
//! directly standardised.
//!
//! Counts come in per (region, sex, stratum); this module adds them up for the requested region and
//! for each of its children, suppresses every figure resting on fewer than [`MIN_REPORTED_N`] people,
//! and standardises each child to the requested region's composition: the standard population is the
//! people tested in the requested region, by sex and stratum (no census table by sex and age is held
//! yet). A child's standardised rate is Σ weight(stratum) × child's rate(stratum); it is withheld when
//! a stratum of the standard population has no one tested in the child, since it would then rest on
//! a guess. The requested region's own standardised rate equals its crude rate by construction.

use std::collections::BTreeMap;

use crate::fitness::{Cohort, Sex};
use crate::region::RegionCode;

/// Figures resting on fewer people are suppressed (DESIGN §8).
pub const MIN_REPORTED_N: u64 = 10;

/// The comparison group inside a sex: a school grade (student standards) or a five-year age band
/// (adult standards: 20–24, 25–29, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stratum {
    Grade(u8),
    AgeBand { from_years: u8 },
}

impl Stratum {
    pub fn of(cohort: Cohort) -> Stratum {
        match cohort {
            Cohort::Grade(grade) => Stratum::Grade(grade.get()),
            Cohort::Age(age) => Stratum::AgeBand { from_years: age.get() / 5 * 5 },
        }
    }

    /// `grade 7`, `age 20-24`.
    pub fn label(self) -> String {
        match self {
            Stratum::Grade(grade) => format!("grade {grade}"),
            Stratum::AgeBand { from_years } => format!("age {from_years}-{}", from_years.saturating_add(4)),
        }
    }
}

/// People tested and passed, of one region, sex and stratum (records with a composite grade only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassCount {
    pub region: RegionCode,
    pub sex: Sex,
    pub stratum: Stratum,
    pub tested: u64,
    pub passed: u64,
}

/// A rate with its n; `rate` is `None` when n is under [`MIN_REPORTED_N`] (then `tested` and `passed`
/// are withheld too) or zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportedRate {
    pub tested: Option<u64>,
    pub passed: Option<u64>,
    pub rate: Option<f64>,
    pub suppressed: bool,
}

impl ReportedRate {
    fn of(tested: u64, passed: u64) -> ReportedRate {
        if tested < MIN_REPORTED_N {
            return ReportedRate { tested: None, passed: None, rate: None, suppressed: true };
        }
        ReportedRate { tested: Some(tested), passed: Some(passed), rate: Some(passed as f64 / tested as f64), suppressed: false }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CellRate {
    pub sex: Sex,
    pub stratum: Stratum,
    pub rate: ReportedRate,
}

/// Why a standardised rate is not given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotStandardised {
    /// Fewer than [`MIN_REPORTED_N`] people: nothing is reported.
    Suppressed,
    /// A stratum of the standard population has no one tested here.
    MissingStratum { sex: Sex, stratum: Stratum },
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegionRate {
    pub region: RegionCode,
    pub crude: ReportedRate,
    pub standardised: Result<f64, NotStandardised>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PassRateReport {
    pub total: RegionRate,
    /// By sex and stratum, in the requested region.
    pub cells: Vec<CellRate>,
    /// Each child region holding results, in code order.
    pub children: Vec<RegionRate>,
}

type Tally = BTreeMap<(Sex, Stratum), (u64, u64)>;

fn add(tally: &mut Tally, count: &PassCount) {
    let entry = tally.entry((count.sex, count.stratum)).or_insert((0, 0));
    entry.0 += count.tested;
    entry.1 += count.passed.min(count.tested);
}

fn totals(tally: &Tally) -> (u64, u64) {
    tally.values().fold((0, 0), |(tested, passed), (t, p)| (tested + t, passed + p))
}

/// Direct standardisation of `tally` to the composition of `standard`.
fn standardise(tally: &Tally, standard: &Tally) -> Result<f64, NotStandardised> {
    let (standard_tested, _) = totals(standard);
    if totals(tally).0 < MIN_REPORTED_N || standard_tested == 0 {
        return Err(NotStandardised::Suppressed);
    }
    let mut rate = 0.0;
    for ((sex, stratum), (weight_n, _)) in standard {
        if *weight_n == 0 {
            continue;
        }
        let Some((tested, passed)) = tally.get(&(*sex, *stratum)).filter(|(tested, _)| *tested > 0) else {
            return Err(NotStandardised::MissingStratum { sex: *sex, stratum: *stratum });
        };
        rate += (*weight_n as f64 / standard_tested as f64) * (*passed as f64 / *tested as f64);
    }
    Ok(rate)
}

/// The report for `region` from `counts` (which must all lie in its subtree: others are ignored).
/// `child_of(code)` names the child of `region` that holds `code` (`None` for `region` itself).
pub fn pass_rate_report(region: RegionCode, counts: &[PassCount], child_of: impl Fn(RegionCode) -> Option<RegionCode>) -> PassRateReport {
    let mut whole = Tally::new();
    let mut per_child: BTreeMap<RegionCode, Tally> = BTreeMap::new();
    for count in counts.iter().filter(|count| region.contains(count.region)) {
        add(&mut whole, count);
        if let Some(child) = child_of(count.region).filter(|child| *child != region) {
            add(per_child.entry(child).or_default(), count);
        }
    }
    let (tested, passed) = totals(&whole);
    let total = RegionRate { region, crude: ReportedRate::of(tested, passed), standardised: standardise(&whole, &whole) };
    let cells =
        whole.iter().map(|((sex, stratum), (tested, passed))| CellRate { sex: *sex, stratum: *stratum, rate: ReportedRate::of(*tested, *passed) }).collect();
    let children = per_child
        .iter()
        .map(|(child, tally)| {
            let (tested, passed) = totals(tally);
            RegionRate { region: *child, crude: ReportedRate::of(tested, passed), standardised: standardise(tally, &whole) }
        })
        .collect();
    PassRateReport { total, cells, children }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> RegionCode {
        RegionCode::parse(text).unwrap()
    }

    fn count(region: &str, sex: Sex, grade: u8, tested: u64, passed: u64) -> PassCount {
        PassCount { region: code(region), sex, stratum: Stratum::Grade(grade), tested, passed }
    }

    /// Children of Hangzhou (3301) by their county prefix.
    fn county_of(region: RegionCode) -> Option<RegionCode> {
        RegionCode::parse(&region.short().chars().take(6).collect::<String>()).ok()
    }

    fn check_reported(tested: u64, passed: u64, expect: Option<f64>) {
        assert_eq!(ReportedRate::of(tested, passed).rate, expect, "{passed}/{tested}");
    }

    #[test]
    fn rates_under_ten_people_are_suppressed() {
        check_reported(0, 0, None);
        check_reported(9, 9, None);
        check_reported(10, 9, Some(0.9));
        check_reported(200, 150, Some(0.75));
        let suppressed = ReportedRate::of(9, 3);
        assert_eq!((suppressed.tested, suppressed.passed, suppressed.suppressed), (None, None, true));
    }

    #[test]
    fn strata_follow_grades_and_five_year_age_bands() {
        use crate::fitness::{AgeYears, SchoolGrade};
        let age = |years| Stratum::of(Cohort::Age(AgeYears::new(years).unwrap()));
        assert_eq!(age(20), Stratum::AgeBand { from_years: 20 });
        assert_eq!(age(24), Stratum::AgeBand { from_years: 20 });
        assert_eq!(age(25), Stratum::AgeBand { from_years: 25 });
        assert_eq!(age(59).label(), "age 55-59");
        assert_eq!(Stratum::of(Cohort::Grade(SchoolGrade::new(13).unwrap())).label(), "grade 13");
    }

    #[test]
    fn crude_and_standardised_rates_of_a_region_and_its_children() {
        // West Lake (330106) tests mostly grade-1 children, who pass more; Shangcheng (330102)
        // mostly grade-7 ones. Their crude rates differ by composition; standardised to Hangzhou's
        // composition, the difference that remains is their own.
        let counts = [
            count("330106001", Sex::Male, 1, 90, 81),
            count("330106002", Sex::Male, 7, 10, 6),
            count("330102", Sex::Male, 1, 10, 9),
            count("330102", Sex::Male, 7, 90, 54),
            count("330203", Sex::Male, 7, 500, 0),
        ];
        let report = pass_rate_report(code("3301"), &counts, county_of);
        assert_eq!(report.total.crude.tested, Some(200));
        assert_eq!(report.total.crude.passed, Some(150));
        assert_eq!(report.total.crude.rate, Some(0.75), "Ningbo's results are not Hangzhou's");
        assert!((report.total.standardised.clone().unwrap() - 0.75).abs() < 1e-12, "the standard population is the region itself");
        let cells: Vec<(Stratum, Option<u64>)> = report.cells.iter().map(|cell| (cell.stratum, cell.rate.tested)).collect();
        assert_eq!(cells, [(Stratum::Grade(1), Some(100)), (Stratum::Grade(7), Some(100))]);
        let children: Vec<(String, Option<f64>)> = report.children.iter().map(|child| (child.region.short(), child.crude.rate)).collect();
        assert_eq!(children, [("330102".to_string(), Some(0.63)), ("330106".to_string(), Some(0.87))]);
        // Both children pass 90 % of grade 1 and 60 % of grade 7; Hangzhou is half and half.
        for child in &report.children {
            assert!((child.standardised.clone().unwrap() - 0.75).abs() < 1e-12, "{:?}", child);
        }
    }

    #[test]
    fn a_child_missing_a_stratum_is_not_standardised() {
        let counts = [count("330106", Sex::Male, 1, 50, 40), count("330102", Sex::Male, 1, 20, 10), count("330102", Sex::Female, 7, 20, 10)];
        let report = pass_rate_report(code("3301"), &counts, county_of);
        let west_lake = report.children.iter().find(|child| child.region == code("330106")).unwrap();
        assert_eq!(west_lake.standardised, Err(NotStandardised::MissingStratum { sex: Sex::Female, stratum: Stratum::Grade(7) }));
        let small = pass_rate_report(code("3301"), &[count("330106", Sex::Male, 1, 9, 9)], county_of);
        assert_eq!(small.total.standardised, Err(NotStandardised::Suppressed));
        assert!(small.children[0].crude.suppressed);
    }
}
