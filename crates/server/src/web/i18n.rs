//! Every user-facing string of the web pages, in one table: Chinese first, English second.
//!
//! Templates read them as `t.key` (the whole table of the page's language is passed as `t`); Rust
//! code formats with [`Lang::text`]. Placeholders are `{name}`, filled with the `fill` filter.

use std::collections::BTreeMap;

/// The language of a page: Chinese by default, English on request (`?lang=en`, then a cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// The `lang` parameter and cookie value: `zh` or `en` (also accepts `zh-CN`, `en-US`, …).
    pub fn parse(text: &str) -> Option<Lang> {
        let text = text.trim().to_ascii_lowercase();
        if text == "zh" || text.starts_with("zh-") {
            Some(Lang::Zh)
        } else if text == "en" || text.starts_with("en-") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The value of `lang` in URLs and the cookie.
    pub fn param(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `<html lang>` attribute.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// Picks the Chinese or the English one of two texts.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// The string `key` in this language. Panics on an unknown key (a test checks every key used).
    pub fn text(self, key: &str) -> &'static str {
        let (_, zh, en) = STRINGS.iter().find(|(name, _, _)| *name == key).unwrap_or_else(|| panic!("no web string {key:?}"));
        self.pick(zh, en)
    }

    /// The whole table in this language, for templates.
    pub fn table(self) -> BTreeMap<&'static str, &'static str> {
        STRINGS.iter().map(|(key, zh, en)| (*key, self.pick(zh, en))).collect()
    }

    /// Weekday names, Monday first.
    pub fn weekday(self, index: usize) -> &'static str {
        const ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
        const EN: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
        self.pick(ZH[index % 7], EN[index % 7])
    }
}

/// Replaces `{name}` placeholders: `fill("共 {n} 个", &[("n", "3")])`.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut text = template.to_string();
    for (name, value) in values {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

/// `(key, Chinese, English)`.
pub const STRINGS: &[(&str, &str, &str)] = &[
    // Layout
    ("site_name", "FitForAll 全民健身", "FitForAll"),
    ("site_title", "FitForAll 全民健身", "FitForAll · Public fitness"),
    ("tagline", "找到身边的公共体育场馆，查看全民健身指标", "Find public sports venues near you and see the fitness indicators of your region"),
    ("nav_venues", "找场馆", "Venues"),
    ("nav_region", "浙江指标", "Zhejiang"),
    ("nav_api", "开放接口", "API"),
    ("switch_language", "English", "中文"),
    ("switch_language_title", "Switch to English", "切换到中文"),
    ("demo_banner", "演示数据 · Demo data: generated, not real", "演示数据 · Demo data: generated, not real"),
    ("skip_to_content", "跳到正文", "Skip to content"),
    ("footer_text", "FitForAll · 全民健身公共服务平台 · 开放源代码（Apache-2.0）", "FitForAll · public fitness service platform · open source (Apache-2.0)"),
    (
        "footer_credits",
        "地图轮廓：Apache ECharts 4.9（Apache-2.0）· 地图库：Leaflet 1.9.4（BSD-2-Clause）",
        "Map outlines: Apache ECharts 4.9 (Apache-2.0) · Map library: Leaflet 1.9.4 (BSD-2-Clause)",
    ),
    // Home
    ("home_heading", "在哪里运动？", "Where do you want to exercise?"),
    ("search_label", "地点、场馆或区域名称", "A place, venue or region name"),
    ("search_placeholder", "例如：西湖、杭州东站", "e.g. West Lake, 杭州东站"),
    ("search_button", "搜索", "Search"),
    ("use_my_location", "使用我的位置", "Use my location"),
    ("locating", "正在定位…", "Locating…"),
    ("location_failed", "无法获取您的位置，请输入地点名称。", "Could not get your location; please type a place name."),
    ("examples", "试试：", "Try: "),
    ("quick_links", "快速查找", "Quick links"),
    ("free_now", "现在免费", "Free now"),
    ("open_now", "现在开放", "Open now"),
    ("all_venues", "全部场馆", "All venues"),
    ("by_sport", "按运动项目", "By sport"),
    ("home_stats", "平台已收录 {venues} 个场馆", "{venues} venues on the platform"),
    ("region_card_title", "浙江省全民健身指标", "Zhejiang fitness indicators"),
    ("region_card_text", "各市人均体育场地面积地图与排行", "Per-capita sports area of every city, on a map and in a table"),
    ("api_card_title", "开放数据接口", "Open data API"),
    ("api_card_text", "场馆、区域和指标的 JSON 接口文档", "Documentation of the JSON API for venues, regions and indicators"),
    // Venue search
    ("venues_title", "找场馆", "Find a venue"),
    ("filter_near", "地点", "Place"),
    ("filter_q", "名称或地址包含", "Name or address contains"),
    ("filter_sport", "运动项目", "Sport"),
    ("filter_type", "场馆类型", "Venue type"),
    ("filter_radius", "范围", "Radius"),
    ("filter_any", "不限", "Any"),
    ("filter_apply", "查找", "Search"),
    ("filter_reset", "清除条件", "Clear filters"),
    ("filter_region", "区域：", "Region: "),
    ("more_filters", "更多筛选", "More filters"),
    ("results_count", "共找到 {n} 个场馆", "{n} venues found"),
    ("results_range", "第 {from}–{to} 个", "showing {from}–{to}"),
    ("near_used", "以「{place}」为中心 {radius}范围内，由近到远", "Within {radius} of “{place}”, nearest first"),
    ("near_my_location", "我的位置", "my location"),
    ("near_point", "所选位置", "the chosen point"),
    ("near_not_found", "没有找到与「{q}」匹配的地点、区域或场馆。", "No place, region or venue matches “{q}”."),
    ("near_not_found_hint", "请换个名称试试，例如：", "Try another name, for example:"),
    ("no_results", "没有符合条件的场馆。可以扩大范围或减少筛选条件。", "No venue matches. Try a larger radius or fewer filters."),
    ("badge_open_now", "开放中", "Open now"),
    ("badge_closed_now", "未开放", "Closed now"),
    ("badge_free_now", "现在免费", "Free now"),
    ("page_prev", "上一页", "Previous"),
    ("page_next", "下一页", "Next"),
    ("map_label", "场馆地图", "Map of the venues"),
    ("view_venue", "查看场馆", "View venue"),
    ("search_center", "搜索中心", "Search centre"),
    ("distance_m", "{n} 米", "{n} m"),
    ("distance_km", "{n} 公里", "{n} km"),
    // Venue
    ("venue_type", "类型", "Type"),
    ("venue_sports", "运动项目", "Sports"),
    ("venue_area", "体育场地面积", "Sports area"),
    ("venue_setting", "室内/室外", "Indoor or outdoor"),
    ("venue_owner", "权属", "Owner"),
    ("venue_address", "地址", "Address"),
    ("venue_phone", "电话", "Phone"),
    ("venue_status", "状态", "Status"),
    ("venue_opened_year", "开放年份", "Opened"),
    ("venue_accessibility", "无障碍设施", "Accessibility"),
    ("venue_region", "所在区域", "Region"),
    ("venue_id", "编号", "ID"),
    ("venue_details", "基本信息", "Details"),
    ("venue_json", "JSON 数据", "JSON data"),
    ("none", "无", "None"),
    ("list_sep", "、", ", "),
    ("unknown", "未知", "Unknown"),
    ("hours_title", "开放时间", "Opening hours"),
    ("hours_day", "日期", "Day"),
    ("hours_open", "开放", "Open"),
    ("hours_free", "免费开放", "Free"),
    ("hours_low_fee", "低收费开放", "Low fee"),
    ("hours_closed", "不开放", "Closed"),
    ("hours_dash", "—", "—"),
    ("today", "今天", "today"),
    ("hours_note", "时间均为北京时间（UTC+8）。", "Times are China Standard Time (UTC+8)."),
    ("norm_title", "免费低收费开放（服务规范）", "Free and low-fee opening (service norm)"),
    (
        "norm_intro",
        "依据《公共体育场馆基本公共服务规范》，按每周开放时间表判断。",
        "Checked against the service norm for public sports venues, from the weekly schedule.",
    ),
    ("norm_35h", "每周免费或低收费开放不少于 35 小时", "Free or low-fee at least 35 hours a week"),
    ("norm_8h", "周六、周日每天免费或低收费开放不少于 8 小时", "Free or low-fee at least 8 hours on each weekend day"),
    ("norm_outdoor", "室外场地每天免费开放不少于 12 小时", "Outdoor areas free at least 12 hours every day"),
    ("norm_actual", "实际：{v}", "actual: {v}"),
    ("norm_per_week", "每周 {h} 小时", "{h} h a week"),
    ("norm_per_day", "最少一天 {h} 小时", "{h} h on the shortest day"),
    ("norm_compliant", "符合规范", "Meets the norm"),
    ("norm_not_compliant", "不符合规范", "Does not meet the norm"),
    ("norm_yes", "符合", "met"),
    ("norm_no", "不符合", "not met"),
    (
        "norm_note",
        "“全年开放不少于 330 天”需要结合闭馆日期判断，暂未计入。",
        "The “open at least 330 days a year” rule needs closure dates and is not checked yet.",
    ),
    ("venue_map_label", "场馆位置", "Venue location"),
    ("nearby_venues", "附近的场馆", "Venues nearby"),
    // Regions
    ("national", "全国", "China"),
    ("national_title", "全国各省全民健身指标", "Fitness indicators by province"),
    ("level_province", "省级", "Province"),
    ("level_city", "地级市", "City"),
    ("level_county", "县级", "County"),
    ("level_street", "乡镇/街道", "Township or street"),
    ("region_code", "区划代码", "Division code"),
    ("per_capita_title", "人均体育场地面积", "Per-capita sports area"),
    ("unit_per_person", "平方米/人", "m² per person"),
    ("population_title", "常住人口", "Resident population"),
    ("population_unit", "{n} 人", "{n}"),
    ("population_year", "{year} 年末", "end of {year}"),
    ("population_own", "本级统计数据", "the region's own figure"),
    ("population_sum", "下级区域人口之和", "the sum of the regions below"),
    ("population_missing", "其中 {n} 个下级区域没有数据，合计偏低", "{n} regions below have no figure, so the sum undercounts"),
    ("no_population", "暂无人口数据，无法计算人均体育场地面积。", "No population figure: the per-capita sports area cannot be computed."),
    ("venue_count", "场馆数量", "Venues"),
    ("sports_area_total", "体育场地总面积", "Total sports area"),
    ("definition", "指标定义：", "Definition: "),
    ("indicator_year", "统计年份：{year}", "Year: {year}"),
    ("indicator_source", "来源：根据本平台的场馆和人口数据计算", "Source: computed from the venues and population held by this platform"),
    ("children_title", "下级区域", "Regions below"),
    ("col_region", "区域", "Region"),
    ("col_per_capita", "人均面积（平方米）", "Per capita (m²)"),
    ("col_population", "常住人口", "Population"),
    ("col_venues", "场馆", "Venues"),
    ("no_data", "无数据", "no data"),
    ("map_zhejiang_title", "浙江省各市人均体育场地面积", "Per-capita sports area of Zhejiang's cities"),
    ("map_china_title", "各省人均体育场地面积", "Per-capita sports area by province"),
    ("map_legend", "图例（平方米/人）", "Legend (m² per person)"),
    ("map_hint", "点按或悬停查看数值", "Tap or hover for the figure"),
    ("map_current", "当前区域", "current region"),
    ("venues_in_region", "区域内的场馆", "Venues in this region"),
    ("view_all_venues", "查看全部 {n} 个场馆", "See all {n} venues"),
    ("no_venues_in_region", "该区域暂无场馆数据。", "No venues recorded in this region yet."),
    ("open_region", "查看区域", "Open region"),
    // API docs
    ("api_docs_title", "API 文档", "API documentation"),
    ("api_docs_intro", "FitForAll 的 JSON 接口。机器可读的 OpenAPI 文档：", "FitForAll's JSON API. Machine-readable OpenAPI document:"),
    ("api_parameters", "参数", "Parameters"),
    ("api_responses", "响应", "Responses"),
    ("api_name", "名称", "Name"),
    ("api_in", "位置", "In"),
    ("api_required", "必填", "Required"),
    ("api_type", "类型", "Type"),
    ("api_description", "说明", "Description"),
    ("api_status", "状态码", "Status"),
    ("api_body", "响应体", "Body"),
    ("api_auth", "需要管理员令牌（Bearer）", "Requires the admin token (Bearer)"),
    ("api_schemas", "数据结构", "Schemas"),
    ("api_field", "字段", "Field"),
    ("yes", "是", "yes"),
    ("no", "否", "no"),
    // Errors
    ("error_404_title", "页面不存在", "Page not found"),
    ("error_404_text", "您要找的页面、场馆或区域不存在。", "The page, venue or region you are looking for does not exist."),
    ("error_400_title", "请求有误", "Bad request"),
    ("error_400_text", "请求中的某个参数不正确，请修改后重试。", "A parameter of the request is not right; please correct it and try again."),
    ("error_other_title", "出错了", "Something went wrong"),
    ("error_other_text", "服务器暂时无法处理这个请求，请稍后再试。", "The server could not handle this request; please try again later."),
    ("error_details", "详细信息", "Details"),
    ("error_home", "返回首页", "Back to the home page"),
    ("error_search", "查找场馆", "Find a venue"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_both_languages_filled() {
        let mut seen = std::collections::HashSet::new();
        for (key, zh, en) in STRINGS {
            assert!(seen.insert(*key), "duplicate key {key}");
            assert!(!zh.is_empty() && !en.is_empty(), "empty text for {key}");
        }
    }

    #[test]
    fn parses_and_fills() {
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::Zh));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(fill(Lang::Zh.text("results_count"), &[("n", "3")]), "共找到 3 个场馆");
        assert_eq!(Lang::En.weekday(6), "Sunday");
    }
}
