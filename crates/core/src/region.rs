//! China's statistical division codes (统计用区划代码) and the region hierarchy.
//!
//! Every code is normalised here, once, to its full 12-digit form
//! (province 2 + city 2 + county 2 + township/street 3 + village 3 digits).
//! The short forms people type (2/4/6/9 digits) and the 6-digit GB/T 2260 forms
//! (`330000`, `330100`) are all accepted by [`RegionCode::parse`].

use std::collections::HashMap;
use std::fmt;

/// The four levels FitForAll knows. Villages (村级, the last three digits) are not modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    Province,
    City,
    County,
    Street,
}

impl RegionLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RegionLevel::Province => "province",
            RegionLevel::City => "city",
            RegionLevel::County => "county",
            RegionLevel::Street => "street",
        }
    }

    pub fn from_str_exact(text: &str) -> Option<RegionLevel> {
        match text {
            "province" => Some(RegionLevel::Province),
            "city" => Some(RegionLevel::City),
            "county" => Some(RegionLevel::County),
            "street" => Some(RegionLevel::Street),
            _ => None,
        }
    }

    /// Number of significant digits of a code at this level.
    pub fn significant_digits(self) -> usize {
        match self {
            RegionLevel::Province => 2,
            RegionLevel::City => 4,
            RegionLevel::County => 6,
            RegionLevel::Street => 9,
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            RegionLevel::Province => "省级",
            RegionLevel::City => "地级",
            RegionLevel::County => "县级",
            RegionLevel::Street => "乡级（街道、镇、乡）",
        }
    }
}

/// A region code in its full 12-digit form, stored as an integer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionCodeError {
    #[error("region code is empty")]
    Empty,
    #[error("region code must contain only digits, got {0:?}")]
    NotDigits(String),
    #[error("region code must have 2, 4, 6, 9 or 12 digits, got {0} digits")]
    WrongLength(usize),
    #[error("region code {0} has no province part (it starts with 00)")]
    NoProvince(String),
    #[error("region code {0}: a 4-digit city code cannot end in 00")]
    CityEndsInZeros(String),
    #[error("region code {0} is a village-level code (村级); FitForAll stops at townships and streets")]
    VillageLevel(String),
}

const TEN_POW: [u64; 13] =
    [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000, 100_000_000_000, 1_000_000_000_000];

impl RegionCode {
    /// Parses any accepted form: 2 (province), 4 (city), 6 (GB/T 2260: province, city or county),
    /// 9 (township/street) or 12 digits (statistical code with a zero village part).
    pub fn parse(text: &str) -> Result<RegionCode, RegionCodeError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(RegionCodeError::Empty);
        }
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegionCodeError::NotDigits(text.to_string()));
        }
        let digits = text.len();
        if !matches!(digits, 2 | 4 | 6 | 9 | 12) {
            return Err(RegionCodeError::WrongLength(digits));
        }
        if text.starts_with("00") {
            return Err(RegionCodeError::NoProvince(text.to_string()));
        }
        if digits == 4 && text.ends_with("00") {
            return Err(RegionCodeError::CityEndsInZeros(text.to_string()));
        }
        if digits == 12 && !text.ends_with("000") {
            return Err(RegionCodeError::VillageLevel(text.to_string()));
        }
        let value: u64 = text.parse().expect("all digits, at most 12");
        Ok(RegionCode(value * TEN_POW[12 - digits]))
    }

    /// The level read off the digits: trailing zero groups decide.
    pub fn level(self) -> RegionLevel {
        if self.0.is_multiple_of(TEN_POW[10]) {
            RegionLevel::Province
        } else if self.0.is_multiple_of(TEN_POW[8]) {
            RegionLevel::City
        } else if self.0.is_multiple_of(TEN_POW[6]) {
            RegionLevel::County
        } else {
            RegionLevel::Street
        }
    }

    /// The full 12-digit form, e.g. `330106000000`.
    pub fn full(self) -> String {
        format!("{:012}", self.0)
    }

    /// The significant digits only, e.g. `3301` for Hangzhou: every code in its subtree starts with these.
    pub fn short(self) -> String {
        let digits = self.level().significant_digits();
        let full = self.full();
        full[..digits].to_string()
    }

    /// The 2-digit province code, the distribution key of every growing table.
    pub fn province_code(self) -> String {
        format!("{:02}", self.0 / TEN_POW[10])
    }

    pub fn province(self) -> RegionCode {
        RegionCode(self.0 - self.0 % TEN_POW[10])
    }

    /// The code one level up by digits (street → county → city → province). The hierarchy may skip a
    /// level (cities without counties, e.g. 东莞市): [`RegionTree::parent`] knows the real parent.
    pub fn parent_by_digits(self) -> Option<RegionCode> {
        let modulus = match self.level() {
            RegionLevel::Province => return None,
            RegionLevel::City => TEN_POW[10],
            RegionLevel::County => TEN_POW[8],
            RegionLevel::Street => TEN_POW[6],
        };
        Some(RegionCode(self.0 - self.0 % modulus))
    }

    /// True when `other` is this region or lies below it.
    pub fn contains(self, other: RegionCode) -> bool {
        let modulus = TEN_POW[12 - self.level().significant_digits()];
        other.0 - other.0 % modulus == self.0
    }

    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({})", self.short())
    }
}

impl serde::Serialize for RegionCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.full())
    }
}

impl<'de> serde::Deserialize<'de> for RegionCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        RegionCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// One region of the hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Region {
    pub code: RegionCode,
    pub name: String,
}

impl Region {
    pub fn level(&self) -> RegionLevel {
        self.code.level()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionTreeError {
    #[error("region {code} ({name}) has no ancestor in the hierarchy (its province {province} is missing)")]
    Orphan { code: String, name: String, province: String },
    #[error("region name must not be empty (code {0})")]
    EmptyName(String),
}

/// The whole hierarchy in memory: parent and children of every region, and name search.
#[derive(Debug, Clone, Default)]
pub struct RegionTree {
    regions: HashMap<RegionCode, RegionNode>,
    roots: Vec<RegionCode>,
}

#[derive(Debug, Clone)]
struct RegionNode {
    region: Region,
    parent: Option<RegionCode>,
    children: Vec<RegionCode>,
}

/// What merging a raw list into a tree found: entries whose full code repeats a higher level's
/// (e.g. the county-level entry 441900 of 东莞市, a city without counties) are folded into it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionTreeBuildReport {
    pub folded_duplicates: Vec<RegionCode>,
}

impl RegionTree {
    /// Builds the tree. Regions are attached to their nearest existing ancestor by digits, so a
    /// city without counties holds its townships directly. Duplicated full codes keep the first entry
    /// (callers pass higher levels first).
    pub fn build(regions: Vec<Region>) -> Result<(RegionTree, RegionTreeBuildReport), RegionTreeError> {
        let mut report = RegionTreeBuildReport::default();
        let mut nodes: HashMap<RegionCode, RegionNode> = HashMap::with_capacity(regions.len());
        let mut order = Vec::with_capacity(regions.len());
        for region in regions {
            if region.name.trim().is_empty() {
                return Err(RegionTreeError::EmptyName(region.code.full()));
            }
            if nodes.contains_key(&region.code) {
                report.folded_duplicates.push(region.code);
                continue;
            }
            order.push(region.code);
            nodes.insert(region.code, RegionNode { region, parent: None, children: Vec::new() });
        }
        let mut roots = Vec::new();
        for code in &order {
            let code = *code;
            let mut ancestor = code.parent_by_digits();
            while let Some(candidate) = ancestor {
                if nodes.contains_key(&candidate) {
                    break;
                }
                ancestor = candidate.parent_by_digits();
            }
            match ancestor {
                Some(parent) => {
                    nodes.get_mut(&code).expect("inserted above").parent = Some(parent);
                    nodes.get_mut(&parent).expect("checked above").children.push(code);
                }
                None if code.level() == RegionLevel::Province => roots.push(code),
                None => {
                    let node = &nodes[&code];
                    return Err(RegionTreeError::Orphan { code: code.full(), name: node.region.name.clone(), province: code.province_code() });
                }
            }
        }
        for node in nodes.values_mut() {
            node.children.sort();
        }
        roots.sort();
        Ok((RegionTree { regions: nodes, roots }, report))
    }

    pub fn len(&self) -> usize {
        self.regions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    pub fn get(&self, code: RegionCode) -> Option<&Region> {
        self.regions.get(&code).map(|node| &node.region)
    }

    pub fn contains(&self, code: RegionCode) -> bool {
        self.regions.contains_key(&code)
    }

    pub fn parent(&self, code: RegionCode) -> Option<RegionCode> {
        self.regions.get(&code).and_then(|node| node.parent)
    }

    pub fn children(&self, code: RegionCode) -> &[RegionCode] {
        self.regions.get(&code).map(|node| node.children.as_slice()).unwrap_or(&[])
    }

    pub fn roots(&self) -> &[RegionCode] {
        &self.roots
    }

    /// Ancestors from the province down to the direct parent (the region itself excluded).
    pub fn ancestors(&self, code: RegionCode) -> Vec<&Region> {
        let mut chain = Vec::new();
        let mut current = self.parent(code);
        while let Some(parent) = current {
            chain.push(self.get(parent).expect("parents are in the tree"));
            current = self.parent(parent);
        }
        chain.reverse();
        chain
    }

    /// The region that directly under `ancestor` contains `descendant` (None when not below it).
    pub fn child_towards(&self, ancestor: RegionCode, descendant: RegionCode) -> Option<RegionCode> {
        if ancestor == descendant || !ancestor.contains(descendant) {
            return None;
        }
        let mut current = descendant;
        loop {
            let parent = self.parent(current)?;
            if parent == ancestor {
                return Some(current);
            }
            current = parent;
        }
    }

    /// "浙江省 杭州市 西湖区" style full name.
    pub fn full_name(&self, code: RegionCode) -> String {
        let mut names: Vec<&str> = self.ancestors(code).iter().map(|region| region.name.as_str()).collect();
        if let Some(region) = self.get(code) {
            names.push(&region.name);
        }
        names.retain(|name| *name != "市辖区");
        names.join(" ")
    }

    /// Name search: exact matches first, then prefixes, then substrings; higher levels first within each.
    pub fn search(&self, query: &str, level: Option<RegionLevel>, within: Option<RegionCode>, limit: usize) -> Vec<&Region> {
        let query = query.trim();
        if query.is_empty() {
            return Vec::new();
        }
        let mut hits: Vec<(u8, RegionLevel, RegionCode, &Region)> = self
            .regions
            .values()
            .filter(|node| level.is_none_or(|level| node.region.level() == level))
            .filter(|node| within.is_none_or(|within| within.contains(node.region.code)))
            .filter_map(|node| {
                let name = node.region.name.as_str();
                let rank = if name == query {
                    0
                } else if name.starts_with(query) {
                    1
                } else if name.contains(query) {
                    2
                } else {
                    return None;
                };
                Some((rank, node.region.level(), node.region.code, &node.region))
            })
            .collect();
        hits.sort_by_key(|(rank, level, code, _)| (*rank, *level, *code));
        hits.into_iter().take(limit).map(|(_, _, _, region)| region).collect()
    }

    /// All regions, in code order.
    pub fn iter(&self) -> impl Iterator<Item = &Region> {
        let mut codes: Vec<&RegionCode> = self.regions.keys().collect();
        codes.sort();
        codes.into_iter().map(|code| &self.regions[code].region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_parse(input: &str, expect: Result<(&str, RegionLevel), RegionCodeError>) {
        let actual = RegionCode::parse(input).map(|code| (code.full(), code.level()));
        let expect = expect.map(|(full, level)| (full.to_string(), level));
        assert_eq!(actual, expect, "input {input:?}");
    }

    #[test]
    fn parse_accepts_every_form() {
        use RegionLevel::*;
        check_parse("33", Ok(("330000000000", Province)));
        check_parse("330000", Ok(("330000000000", Province)));
        check_parse("330000000000", Ok(("330000000000", Province)));
        check_parse("3301", Ok(("330100000000", City)));
        check_parse("330100", Ok(("330100000000", City)));
        check_parse("330106", Ok(("330106000000", County)));
        check_parse(" 330106 ", Ok(("330106000000", County)));
        check_parse("330106001", Ok(("330106001000", Street)));
        check_parse("330106001000", Ok(("330106001000", Street)));
        // 9 digits ending in 000 name the county itself (the source data lists 金门县 so).
        check_parse("350527000", Ok(("350527000000", County)));
    }

    #[test]
    fn parse_rejects_with_reason() {
        check_parse("", Err(RegionCodeError::Empty));
        check_parse("33a1", Err(RegionCodeError::NotDigits("33a1".into())));
        check_parse("３３", Err(RegionCodeError::NotDigits("３３".into())));
        check_parse("331", Err(RegionCodeError::WrongLength(3)));
        check_parse("3301060011", Err(RegionCodeError::WrongLength(10)));
        check_parse("00", Err(RegionCodeError::NoProvince("00".into())));
        check_parse("3300", Err(RegionCodeError::CityEndsInZeros("3300".into())));
        check_parse("330106001002", Err(RegionCodeError::VillageLevel("330106001002".into())));
    }

    #[test]
    fn short_province_and_parent_by_digits() {
        let street = RegionCode::parse("330106001").unwrap();
        assert_eq!(street.short(), "330106001");
        assert_eq!(street.province_code(), "33");
        assert_eq!(street.province().short(), "33");
        let county = street.parent_by_digits().unwrap();
        assert_eq!(county.short(), "330106");
        let city = county.parent_by_digits().unwrap();
        assert_eq!(city.short(), "3301");
        let province = city.parent_by_digits().unwrap();
        assert_eq!(province.short(), "33");
        assert_eq!(province.parent_by_digits(), None);
    }

    #[test]
    fn contains_is_subtree_membership() {
        let code = |text| RegionCode::parse(text).unwrap();
        let cases = [
            ("33", "330106001", true),
            ("3301", "330106001", true),
            ("3301", "3301", true),
            ("3301", "3302", false),
            ("3301", "33", false),
            ("330106", "330106001", true),
            ("330106", "330105001", false),
            ("330106001", "330106001", true),
            ("330106001", "330106002", false),
            ("11", "3301", false),
        ];
        for (ancestor, descendant, expect) in cases {
            assert_eq!(code(ancestor).contains(code(descendant)), expect, "{ancestor} contains {descendant}");
        }
    }

    fn sample_tree() -> RegionTree {
        let raw = [
            ("33", "浙江省"),
            ("3301", "杭州市"),
            ("330106", "西湖区"),
            ("330106001", "北山街道"),
            ("330106002", "西溪街道"),
            ("330102", "上城区"),
            ("44", "广东省"),
            ("4419", "东莞市"),
            ("441900", "东莞市"),
            ("441900003", "东城街道"),
        ];
        let regions = raw.iter().map(|(code, name)| Region { code: RegionCode::parse(code).unwrap(), name: name.to_string() }).collect();
        RegionTree::build(regions).unwrap().0
    }

    #[test]
    fn tree_links_parents_and_folds_cities_without_counties() {
        let tree = sample_tree();
        let code = |text| RegionCode::parse(text).unwrap();
        assert_eq!(tree.len(), 9, "441900 folds into 4419");
        assert_eq!(tree.parent(code("441900003")), Some(code("4419")));
        assert_eq!(tree.children(code("3301")), &[code("330102"), code("330106")]);
        let chain: Vec<String> = tree.ancestors(code("330106001")).iter().map(|r| r.name.clone()).collect();
        assert_eq!(chain, ["浙江省", "杭州市", "西湖区"]);
        assert_eq!(tree.full_name(code("330106001")), "浙江省 杭州市 西湖区 北山街道");
        assert_eq!(tree.child_towards(code("33"), code("330106001")), Some(code("3301")));
        assert_eq!(tree.child_towards(code("3301"), code("330106001")), Some(code("330106")));
        assert_eq!(tree.child_towards(code("3301"), code("3301")), None);
        assert_eq!(tree.child_towards(code("44"), code("330106001")), None);
    }

    #[test]
    fn tree_rejects_orphans() {
        let regions = vec![Region { code: RegionCode::parse("3301").unwrap(), name: "杭州市".into() }];
        let error = RegionTree::build(regions).unwrap_err();
        assert!(matches!(error, RegionTreeError::Orphan { .. }));
    }

    #[test]
    fn search_ranks_exact_then_prefix_then_substring() {
        let tree = sample_tree();
        let names = |query: &str| -> Vec<String> { tree.search(query, None, None, 10).iter().map(|r| r.name.clone()).collect() };
        assert_eq!(names("西湖区"), ["西湖区"]);
        assert_eq!(names("西"), ["西湖区", "西溪街道"]);
        assert_eq!(names("街道"), ["北山街道", "西溪街道", "东城街道"]);
        assert_eq!(names("东莞"), ["东莞市"]);
        assert!(names("  ").is_empty());
        let within = RegionCode::parse("44").ok();
        assert_eq!(tree.search("街道", None, within, 10).len(), 1);
        assert_eq!(tree.search("街道", Some(RegionLevel::County), None, 10).len(), 0);
    }
}
