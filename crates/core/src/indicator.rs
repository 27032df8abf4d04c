//! Population figures and the per-capita sports area indicator (DESIGN §8).

use std::collections::{BTreeSet, HashMap};

use crate::region::{RegionCode, RegionTree};
use crate::venue::Venue;

/// Largest population accepted for one region (China's total is ~1.41 billion).
pub const MAX_POPULATION: u64 = 2_000_000_000;
pub const MIN_YEAR: u16 = 1949;
pub const MAX_YEAR: u16 = 2100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PopulationRecord {
    pub region: RegionCode,
    pub year: u16,
    /// Year-end resident population (常住人口).
    pub population: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PopulationSource {
    /// The region's own imported figure.
    Own,
    /// No own figure: the sum of its children's figures (recursively). `children_missing` children
    /// had no figure at all, so the sum undercounts when it is not 0.
    SumOfChildren { children_with_data: usize, children_missing: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PopulationFigure {
    pub population: u64,
    pub source: PopulationSource,
}

/// Imported population figures by region and year.
#[derive(Debug, Clone, Default)]
pub struct PopulationTable {
    own: HashMap<(RegionCode, u16), u64>,
    years: BTreeSet<u16>,
}

impl PopulationTable {
    pub fn new(records: impl IntoIterator<Item = PopulationRecord>) -> PopulationTable {
        let mut table = PopulationTable::default();
        for record in records {
            table.own.insert((record.region, record.year), record.population);
            table.years.insert(record.year);
        }
        table
    }

    pub fn len(&self) -> usize {
        self.own.len()
    }

    pub fn is_empty(&self) -> bool {
        self.own.is_empty()
    }

    pub fn own(&self, region: RegionCode, year: u16) -> Option<u64> {
        self.own.get(&(region, year)).copied()
    }

    /// The rule: a region's own figure when it has one, otherwise the sum of its children's
    /// effective figures; `None` when neither it nor anything below it has a figure for the year.
    pub fn effective(&self, tree: &RegionTree, region: RegionCode, year: u16) -> Option<PopulationFigure> {
        if let Some(population) = self.own(region, year) {
            return Some(PopulationFigure { population, source: PopulationSource::Own });
        }
        let children = tree.children(region);
        let mut sum = 0u64;
        let mut children_with_data = 0;
        for child in children {
            if let Some(figure) = self.effective(tree, *child, year) {
                sum += figure.population;
                children_with_data += 1;
            }
        }
        if children_with_data == 0 {
            return None;
        }
        Some(PopulationFigure {
            population: sum,
            source: PopulationSource::SumOfChildren { children_with_data, children_missing: children.len() - children_with_data },
        })
    }

    /// The latest year for which the region has an effective figure.
    pub fn latest_year(&self, tree: &RegionTree, region: RegionCode) -> Option<u16> {
        self.years.iter().rev().copied().find(|year| self.effective(tree, region, *year).is_some())
    }
}

pub struct IndicatorDefinition {
    pub id: &'static str,
    pub version: &'static str,
    pub unit: &'static str,
    pub text_zh: &'static str,
    pub text_en: &'static str,
}

pub const PER_CAPITA_SPORTS_AREA: IndicatorDefinition = IndicatorDefinition {
    id: "per_capita_sports_area",
    version: "1",
    unit: "m²/person",
    text_zh: "人均体育场地面积 = 区域（含下级）内场馆体育场地面积之和 ÷ 年末常住人口。计入状态非停用、且开放年份不晚于统计年份（未填开放年份者计入）的场馆。无本级人口数据时，以下级人口之和代替。",
    text_en: "Per-capita sports area = sum of the sports area of the venues in the region and every region below it ÷ year-end resident population. Counts venues not closed whose opening year is not after the year (venues without an opening year count). A region without its own population figure gets the sum of its children's.",
};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PerCapitaArea {
    pub region: RegionCode,
    pub year: u16,
    pub sports_area_m2: f64,
    pub venue_count: usize,
    pub population: Option<PopulationFigure>,
    /// `None` when the population is unknown or zero.
    pub value_m2_per_person: Option<f64>,
}

/// The indicator for `region` and each of its direct children, in one pass over the venues.
pub fn per_capita_sports_area<'a>(
    tree: &RegionTree,
    venues: impl Iterator<Item = &'a Venue>,
    population: &PopulationTable,
    region: RegionCode,
    year: u16,
) -> (PerCapitaArea, Vec<PerCapitaArea>) {
    let children = tree.children(region);
    let mut child_sums: HashMap<RegionCode, (f64, usize)> = children.iter().map(|child| (*child, (0.0, 0))).collect();
    let mut total = (0.0, 0usize);
    for venue in venues {
        if !venue.counts_toward_area(year) || !region.contains(venue.region) {
            continue;
        }
        total.0 += venue.sports_area_m2;
        total.1 += 1;
        if let Some(child) = tree.child_towards(region, venue.region) {
            let entry = child_sums.entry(child).or_default();
            entry.0 += venue.sports_area_m2;
            entry.1 += 1;
        }
    }
    let build = |code: RegionCode, (area, count): (f64, usize)| {
        let figure = population.effective(tree, code, year);
        let value = figure.filter(|figure| figure.population > 0).map(|figure| area / figure.population as f64);
        PerCapitaArea { region: code, year, sports_area_m2: area, venue_count: count, population: figure, value_m2_per_person: value }
    };
    let children = children.iter().map(|child| build(*child, child_sums[child])).collect();
    (build(region, total), children)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::LatLng;
    use crate::hours::WeeklyHours;
    use crate::region::Region;
    use crate::venue::{OwnerKind, Setting, Sport, VenueId, VenueStatus, VenueType};

    fn code(text: &str) -> RegionCode {
        RegionCode::parse(text).unwrap()
    }

    fn tree() -> RegionTree {
        let raw = [("33", "浙江省"), ("3301", "杭州市"), ("330106", "西湖区"), ("330102", "上城区"), ("330106001", "北山街道"), ("3302", "宁波市")];
        RegionTree::build(raw.iter().map(|(c, n)| Region { code: code(c), name: n.to_string() }).collect()).unwrap().0
    }

    fn venue(id: &str, region: &str, area: f64, status: VenueStatus, opened_year: Option<u16>) -> Venue {
        Venue {
            id: VenueId::parse(id).unwrap(),
            name: id.into(),
            region: code(region),
            address: String::new(),
            location: LatLng::new(30.0, 120.0).unwrap(),
            venue_type: VenueType::Stadium,
            sports: vec![Sport::Athletics],
            sports_area_m2: area,
            setting: Setting::Outdoor,
            owner_kind: OwnerKind::Public,
            opening_hours: WeeklyHours::never(),
            free_hours: WeeklyHours::never(),
            low_fee_hours: WeeklyHours::never(),
            accessibility: Vec::new(),
            status,
            opened_year,
            phone: String::new(),
        }
    }

    fn record(region: &str, year: u16, population: u64) -> PopulationRecord {
        PopulationRecord { region: code(region), year, population }
    }

    #[test]
    fn effective_population_falls_back_to_children() {
        let tree = tree();
        let table =
            PopulationTable::new([record("330106", 2023, 1_000), record("330102", 2023, 500), record("3302", 2023, 2_000), record("3301", 2022, 1_400)]);
        let figure = |region: &str, year| table.effective(&tree, code(region), year);
        assert_eq!(
            figure("3301", 2023),
            Some(PopulationFigure { population: 1_500, source: PopulationSource::SumOfChildren { children_with_data: 2, children_missing: 0 } })
        );
        assert_eq!(figure("3301", 2022), Some(PopulationFigure { population: 1_400, source: PopulationSource::Own }));
        assert_eq!(
            figure("33", 2023),
            Some(PopulationFigure { population: 3_500, source: PopulationSource::SumOfChildren { children_with_data: 2, children_missing: 0 } })
        );
        assert_eq!(
            figure("33", 2022),
            Some(PopulationFigure { population: 1_400, source: PopulationSource::SumOfChildren { children_with_data: 1, children_missing: 1 } })
        );
        assert_eq!(figure("330106001", 2023), None);
        assert_eq!(table.latest_year(&tree, code("3302")), Some(2023));
        assert_eq!(table.latest_year(&tree, code("330106001")), None);
    }

    #[test]
    fn per_capita_area_for_region_and_children() {
        let tree = tree();
        let table = PopulationTable::new([record("330106", 2023, 1_000), record("330102", 2023, 500), record("3302", 2023, 0)]);
        let venues = [
            venue("a", "330106001", 1_000.0, VenueStatus::Open, None),
            venue("b", "330106", 500.0, VenueStatus::Renovating, Some(2020)),
            venue("c", "330102", 300.0, VenueStatus::Open, Some(2024)),
            venue("d", "330102", 200.0, VenueStatus::Closed, None),
            venue("e", "3302", 700.0, VenueStatus::Open, None),
        ];
        let (hangzhou, children) = per_capita_sports_area(&tree, venues.iter(), &table, code("3301"), 2023);
        assert_eq!((hangzhou.sports_area_m2, hangzhou.venue_count), (1_500.0, 2));
        assert_eq!(hangzhou.value_m2_per_person, Some(1.0));
        let child = |short: &str| children.iter().find(|c| c.region == code(short)).unwrap().clone();
        assert_eq!(child("330106").value_m2_per_person, Some(1.5));
        assert_eq!(child("330102").value_m2_per_person, Some(0.0));
        let (ningbo, _) = per_capita_sports_area(&tree, venues.iter(), &table, code("3302"), 2023);
        assert_eq!(ningbo.value_m2_per_person, None, "zero population gives no value");
        let (zhejiang, children) = per_capita_sports_area(&tree, venues.iter(), &table, code("33"), 2024);
        assert_eq!(zhejiang.sports_area_m2, 2_500.0);
        assert_eq!(zhejiang.population, None);
        assert_eq!(children.len(), 2);
    }
}
