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
    (
        "api_auth",
        "需要登录：会话 Cookie 加 X-CSRF-Token，或 API 令牌（Bearer）",
        "Requires logging in: the session cookie with X-CSRF-Token, or an API token (Bearer)",
    ),
    ("api_schemas", "数据结构", "Schemas"),
    ("api_field", "字段", "Field"),
    ("yes", "是", "yes"),
    ("no", "否", "no"),
    // Booking
    ("nav_bookings", "我的预约", "My bookings"),
    ("booking_heading", "预约", "Book"),
    ("booking_title", "预约 · {venue}", "Book · {venue}"),
    ("booking_section", "在线预约", "Book online"),
    ("booking_section_text", "选择场地，查看未来几天的时段和剩余名额。", "Choose a court or session to see the coming days' slots and places left."),
    ("booking_free", "免费", "Free"),
    ("booking_price", "¥{yuan}", "¥{yuan}"),
    ("booking_opens_at", "{at} 开放预约", "opens {at}"),
    (
        "booking_rules_text",
        "每天 {opens} 开放未来 {days} 天的预约；每人每天最多 {per_day} 次、每周 {per_week} 次；开始前 {cutoff} 小时内取消记为迟取消。",
        "Booking opens daily at {opens} for the next {days} days; at most {per_day} a day and {per_week} a week per person; cancelling within {cutoff} hours of the start counts as late.",
    ),
    ("booking_real_name", "实名预约：需先登记身份证号", "Real-name booking: record your identity number first"),
    ("booking_login_first", "登录后即可预约", "Log in to book"),
    ("booking_previous_week", "← 前一周", "← Previous week"),
    ("booking_next_week", "后一周 →", "Next week →"),
    ("booking_time", "时段", "Time"),
    ("booking_left", "余 {n}", "{n} left"),
    ("booking_full_short", "已满", "Full"),
    ("booking_button", "预约", "Book"),
    ("booking_live", "名额实时更新。", "Places left update live."),
    ("booking_no_slots", "这一周没有可预约的时段。", "No slots this week."),
    ("booking_no_resources", "该场馆暂未开放在线预约。", "This venue does not take online bookings yet."),
    ("booking_offers", "这个时段已满。附近还有名额的时段：", "This slot is full. Nearby slots with places:"),
    ("booking_full", "这个时段已约满。", "This slot is full."),
    ("booking_busy", "预约人数过多，请稍后再试。", "Too many bookings at once; please try again in a moment."),
    (
        "booking_identity_required",
        "该场馆实名预约，请先在“我的账户”登记身份证号。",
        "This venue books by real name: record your identity number in My account first.",
    ),
    ("my_bookings_title", "我的预约", "My bookings"),
    ("fitness_report_title", "我的体质测试报告", "My fitness report"),
    ("station_entry_title", "体质测试成绩录入", "Enter fitness test results"),
    ("station_entry_saved", "已保存 {person} 的成绩：", "Saved the result of {person}:"),
    ("station_entry_switch", "切换标准", "Switch standard"),
    ("station_entry_person", "编号（学号等，或留空并填账户号）", "Reference (student number, or leave empty and give the account)"),
    ("station_entry_account", "居民账户号（可选，成绩会出现在其报告中）", "Resident's account id (optional: the result appears on their report)"),
    ("station_entry_sex", "性别", "Sex"),
    ("station_entry_birth_date", "出生日期", "Birth date"),
    ("station_entry_grade", "年级", "School grade"),
    ("station_entry_measurements", "测试成绩（未测的项目留空）", "Measurements (leave items not tested empty)"),
    (
        "station_entry_hint",
        "计时项目可写 3'40\" 或 3:40；未测项目记为缺项，不按 0 分计。",
        "Timed items may be written 3'40\" or 3:40; an item left empty is missing, never scored 0.",
    ),
    ("station_entry_submit", "保存并评分", "Save and score"),
    ("station_appointments", "测试预约（场次与名额）", "Test appointments (sessions and places)"),
    ("station_day_title", "测试预约 · {date}", "Test appointments · {date}"),
    ("station_day_none", "这一天没有测试预约。", "No test appointments on this day."),
    ("station_day_enter", "录入成绩", "Enter result"),
    ("station_day_time", "时间", "Time"),
    ("station_day_session", "场次", "Session"),
    ("station_day_account", "账户号", "Account"),
    ("station_day_status", "状态", "Status"),
    ("station_day_no_venue", "本站未关联场馆，没有可预约的测试场次。", "This station names no venue, so it has no bookable test sessions."),
    (
        "fitness_report_intro",
        "每次测试按其标准逐项评分（达到哪一档、哪个阈值），并列出最弱的项目及锻炼建议。",
        "Each test is scored item by item against its standard (which level, which threshold), with the weakest items and exercise advice.",
    ),
    ("fitness_print", "打印", "Print"),
    ("pass_rate_title", "国民体质测试达标率", "Fitness test pass rate"),
    ("pass_rate_year", "{year} 年测试 · {standard}", "Tests of {year} · {standard}"),
    ("pass_rate_crude", "达标率", "Pass rate"),
    ("pass_rate_tested", "受测 {n} 人（各项齐全）", "{n} people tested (complete records)"),
    ("pass_rate_standardised", "标化达标率", "Standardised rate"),
    (
        "pass_rate_standardised_note",
        "按本地区受测人群的性别 × 年级（年龄组）构成直接标化",
        "directly standardised to this region's tested sex × grade (age group) composition",
    ),
    ("pass_rate_no_standardised", "无标化率", "No standardised rate"),
    ("pass_rate_suppressed", "不足 {n} 人，不公布", "fewer than {n} people: not published"),
    ("pass_rate_none", "本地区尚无体质测试结果。", "No fitness test results in this region yet."),
    ("pass_rate_col_tested", "受测人数", "Tested"),
    ("pass_rate_data", "数据（JSON，含性别 × 年级分组）", "Data (JSON, with sex × grade cells)"),
    ("pass_rate_platform_source", "来源：本平台记录的测试结果（非抽样调查）。", "Source: test results recorded on this platform (not a sample survey)."),
    ("fitness_provisional", "暂行标准，结果仅供参考", "provisional standard: indicative only"),
    ("fitness_known_defects", "该标准数据的已知问题", "Known defects of this standard's data"),
    ("fitness_total", "总分", "Total"),
    ("fitness_item", "项目", "Item"),
    ("fitness_value", "成绩", "Result"),
    ("fitness_score", "得分", "Score"),
    ("fitness_why", "依据", "Why"),
    ("fitness_missing", "未测", "not tested"),
    ("fitness_prescription_title", "最需加强的项目与锻炼建议", "Weakest items and what to do"),
    (
        "fitness_prescription_note",
        "一般性锻炼建议，不替代医学建议；如有不适请咨询医生。",
        "General exercise guidance, not medical advice; see a doctor if unwell.",
    ),
    ("fitness_history", "历年记录", "History"),
    ("fitness_date", "日期", "Date"),
    ("fitness_standard", "标准", "Standard"),
    ("fitness_grade", "等级", "Grade"),
    ("fitness_none", "还没有体质测试结果。测试站录入后会显示在这里。", "No fitness results yet. They appear here once a testing station enters them."),
    (
        "fitness_rank",
        "在{region}同性别、同年级（或同年龄组）的 {n} 人中，超过约 {percent}% 的人。",
        "Better than about {percent}% of the {n} people of the same sex and grade (or age group) in {region}.",
    ),
    ("fitness_rank_few", "同组受测不足 {n} 人，暂不显示排名。", "Fewer than {n} people of the same group were tested: no rank shown."),
    ("fitness_cohort_grade", "{grade} 年级", "grade {grade}"),
    ("fitness_cohort_age", "{age} 岁", "age {age}"),
    ("fitness_grade_excellent", "优秀", "Excellent"),
    ("fitness_grade_good", "良好", "Good"),
    ("fitness_grade_pass", "及格", "Pass"),
    ("fitness_grade_fail", "不及格", "Fail"),
    ("fitness_grade_incomplete", "项目不全，未评定", "Incomplete: not graded"),
    ("fitness_grade_withheld", "有项目得 0 分，不评定等级", "An item scored 0: grade withheld"),
    ("booking_done", "预约成功。", "Booked."),
    ("booking_cancelled", "已取消，名额已释放。", "Cancelled; the place is free again."),
    ("booking_confirmed", "已确认。", "Confirmed."),
    ("booking_places", "{n} 人", "{n} place(s)"),
    ("booking_hold_until", "请在 {at} 前确认", "confirm before {at}"),
    ("booking_calendar", "添加到日历", "Add to calendar"),
    ("booking_confirm_button", "确认（支付）", "Confirm (pay)"),
    ("booking_cancel_button", "取消预约", "Cancel"),
    ("booking_late_note", "已过免费取消时间，取消将记为迟取消。", "Past the free-cancellation time: this counts as a late cancellation."),
    ("booking_none", "还没有预约。", "No bookings yet."),
    ("booking_status_held", "待确认", "awaiting confirmation"),
    ("booking_status_confirmed", "已确认", "confirmed"),
    ("booking_status_checked_in", "已签到", "checked in"),
    ("booking_status_cancelled", "已取消", "cancelled"),
    ("booking_status_cancelled_late", "迟取消", "cancelled late"),
    ("booking_status_expired", "已过期", "expired"),
    ("booking_status_no_show", "未到场", "no-show"),
    ("booking_check_in_code", "签到码", "check-in code"),
    (
        "booking_check_in_window",
        "请于 {opens}–{closes} 在场馆出示此码签到；届时未签到记为未到场（30 天内 3 次未到场将暂停预约 30 天）。",
        "Show this code at the venue between {opens} and {closes}. Not checked in by then counts as a no-show (3 no-shows within 30 days suspend booking for 30 days).",
    ),
    // Operator
    ("operator_manage_link", "管理预约", "Manage booking"),
    ("operator_title", "预约管理 · {venue}", "Manage booking · {venue}"),
    ("operator_heading", "预约管理", "Manage booking"),
    (
        "operator_intro",
        "在这里定义可预约的场地、时段规则和停用时段，并查看每天的预约。所有修改都记入审计日志。",
        "Define the bookable resources, their slot rules and closures, and see each day's bookings. Every change is recorded in the audit log.",
    ),
    ("operator_resources", "可预约场地", "Bookable resources"),
    ("operator_no_resources", "还没有可预约的场地，请在下面新建。", "No bookable resources yet; create one below."),
    ("operator_new_resource", "新建场地", "New resource"),
    ("operator_edit", "修改", "Edit"),
    ("operator_save", "保存", "Save"),
    ("operator_create", "创建", "Create"),
    ("operator_optional", "（可选）", "(optional)"),
    ("operator_view_slots", "查看时段和剩余名额 →", "See the slots and places left →"),
    ("operator_slot_rules", "时段规则", "Slot rules"),
    ("operator_rule_n", "规则 {n}", "Rule {n}"),
    (
        "operator_rules_hint",
        "不勾选星期、不填时间的规则会被忽略；规则之间不能重叠。修改规则只增加新时段，已有时段保持原来的时间、名额和价格。",
        "A rule without days and times is ignored; rules must not overlap. Changed rules only add slots: existing slots keep their times, places and prices.",
    ),
    ("operator_booking_rules", "预约规则", "Booking rules"),
    ("operator_booking_rules_hint", "留空即用默认值。", "Leave a field empty for its default."),
    ("operator_weekdays_short", "一,二,三,四,五,六,日", "Mon,Tue,Wed,Thu,Fri,Sat,Sun"),
    ("operator_every_day", "每天", "every day"),
    ("operator_real_name", "实名预约（预约者需先登记身份证号）", "Real-name booking (people must record their identity number first)"),
    ("operator_kind_court", "球场", "Court"),
    ("operator_kind_lane", "泳道 / 跑道", "Lane"),
    ("operator_kind_field", "运动场", "Field"),
    ("operator_kind_session", "课程 / 场次", "Session"),
    ("operator_kind_room", "房间", "Room"),
    ("operator_name_placeholder", "例如：1 号羽毛球场", "e.g. Badminton court 1"),
    ("operator_field_id", "编号", "Id"),
    (
        "operator_field_id_hint",
        "字母、数字、. _ -，最多 64 个字符；全平台唯一，创建后不能修改。",
        "Letters, digits, . _ -, at most 64 characters; unique on the platform and fixed once created.",
    ),
    ("operator_field_name", "名称", "Name"),
    ("operator_field_kind", "类型", "Kind"),
    ("operator_field_weekdays", "星期", "Days"),
    ("operator_field_start", "开始", "Start"),
    ("operator_field_end", "结束", "End"),
    ("operator_field_slot_length_min", "每段时长（分钟）", "Slot length (minutes)"),
    ("operator_field_places", "每段名额", "Places per slot"),
    ("operator_field_price_fen", "价格（元）", "Price (yuan)"),
    ("operator_field_reduced_price_fen", "优惠价（元，留空同价）", "Reduced price (yuan; empty: the same)"),
    ("operator_field_opens_at", "每天开放预约时间", "Booking opens daily at"),
    ("operator_field_days_ahead", "开放未来几天", "Days ahead"),
    ("operator_field_hold_min", "待确认保留（分钟）", "Hold for confirmation (minutes)"),
    ("operator_field_cancel_cutoff_min", "免费取消截止（开始前分钟）", "Free cancellation until (minutes before)"),
    ("operator_field_quota_per_day", "每人每天次数", "Bookings per person a day"),
    ("operator_field_quota_per_week", "每人每周次数", "Bookings per person a week"),
    ("operator_field_max_places_per_booking", "每次最多名额", "Places per booking"),
    ("operator_field_from", "开始时间", "From"),
    ("operator_field_to", "结束时间", "To"),
    ("operator_field_reason", "原因", "Reason"),
    ("operator_field_date", "日期", "Date"),
    (
        "operator_rules_summary",
        "每天 {opens} 开放未来 {days} 天；每人每天 {per_day} 次、每周 {per_week} 次，每次最多 {places} 人；待确认保留 {hold} 分钟；开始前 {cutoff} 分钟内取消记为迟取消。",
        "Opens daily at {opens} for the next {days} days; {per_day} a day and {per_week} a week per person, at most {places} places each; holds last {hold} minutes; cancelling within {cutoff} minutes of the start counts as late.",
    ),
    ("operator_col_price", "价格", "Price"),
    ("operator_reduced", "优惠价", "reduced"),
    ("operator_closures", "停用时段", "Closures"),
    ("operator_no_closures", "没有即将到来的停用。", "No upcoming closures."),
    ("operator_add_closure", "添加停用", "Add a closure"),
    ("operator_reason_placeholder", "例如：场地维修", "e.g. maintenance"),
    (
        "operator_closure_hint",
        "至少提前 7 天公布；天气、损坏等临时情况请勾选“紧急”。停用期间没有预约的时段会被删除；已有预约的时段保留，请联系预约者。",
        "Announce at least 7 days ahead; for weather, damage and the like tick “urgent”. Slots inside the closure without bookings are removed; slots with bookings stay: contact those people.",
    ),
    ("operator_urgent", "紧急（不足 7 天通知）", "Urgent (less than 7 days' notice)"),
    ("operator_urgent_badge", "紧急", "urgent"),
    ("operator_day_sheet", "每日预约", "Bookings of the day"),
    ("operator_day_show", "查看", "Show"),
    ("operator_previous_day", "← 前一天", "← Previous day"),
    ("operator_next_day", "后一天 →", "Next day →"),
    ("operator_day_none", "这一天没有预约。", "No bookings on this day."),
    ("operator_day_count", "有效预约 {n} 条，共 {places} 人。", "{n} active bookings, {places} places."),
    ("operator_day_privacy", "只显示账户编号，不显示个人信息。", "Account ids only; no personal data is shown."),
    ("operator_col_time", "时间", "Time"),
    ("operator_col_resource", "场地", "Resource"),
    ("operator_col_places", "人数", "Places"),
    ("operator_col_status", "状态", "Status"),
    ("operator_col_booking", "预约编号", "Booking"),
    ("operator_col_account", "账户编号", "Account"),
    ("operator_done_created", "已创建，时段已按规则生成。", "Created; its slots have been generated."),
    (
        "operator_done_updated",
        "已保存。新规则增加的时段已生成，已有时段保持不变。",
        "Saved. Slots the new rules add have been generated; existing slots are unchanged.",
    ),
    ("operator_done_closure", "已添加停用时段。", "Closure added."),
    ("operator_done_checked_in", "已签到。", "Checked in."),
    ("operator_check_in_code", "签到码（扫码或输入）", "Check-in code (scan or type)"),
    ("operator_check_in_button", "签到", "Check in"),
    ("operator_check_in_already", "该预约已签到。", "This booking is already checked in."),
    (
        "operator_check_in_state",
        "该预约为“{status}”，不能签到（只有已确认的预约可以签到）。",
        "The booking is {status}: only confirmed bookings can be checked in.",
    ),
    ("operator_check_in_not_open", "签到 {at} 开始（开场前 15 分钟）。", "Check-in opens at {at}, 15 minutes before the start."),
    (
        "operator_check_in_closed",
        "签到已于 {at} 截止（开场后 15 分钟），该预约记为未到场。",
        "Check-in closed at {at}, 15 minutes after the start: the booking is a no-show.",
    ),
    ("operator_check_in_other_venue", "该预约属于其他场馆（{venue}）。", "This booking is for another venue ({venue})."),
    ("operator_done_kept", "{n} 个时段已有预约而保留，请联系预约者。", "{n} slot(s) with bookings were kept: please contact those people."),
    ("operator_problem_required", "必填", "is required"),
    ("operator_problem_number", "请填写整数", "expected a whole number"),
    ("operator_problem_yuan", "请填写金额（元），如 5 或 12.50", "expected an amount in yuan, like 5 or 12.50"),
    ("operator_problem_days", "请至少选择一天", "choose at least one day"),
    ("operator_problem_date", "日期格式应为 2026-12-08，且在一年之内", "expected a date like 2026-12-08, within a year"),
    // Accounts
    ("nav_account", "我的账户", "My account"),
    ("nav_admin", "管理", "Admin"),
    ("nav_login", "登录", "Log in"),
    ("nav_register", "注册", "Register"),
    ("nav_logout", "退出", "Log out"),
    ("field_phone", "手机号", "Mobile number"),
    ("field_name", "姓名", "Name"),
    ("field_password", "密码", "Password"),
    ("field_password_repeat", "再次输入密码", "Password again"),
    ("field_current_password", "当前密码", "Current password"),
    ("field_new_password", "新密码", "New password"),
    ("field_home_region", "常住地区", "Home region"),
    ("field_id_number", "居民身份证号", "Resident identity number"),
    ("field_code", "验证码", "Code"),
    ("field_role", "角色", "Role"),
    ("field_scope", "范围", "Scope"),
    ("password_rule", "8 到 128 个字符，不能全是数字，不能包含手机号。", "8 to 128 characters, not only digits, not containing the mobile number."),
    ("home_region_none", "不选择", "Not given"),
    ("home_region_hint", "用于统计本地区的健身指标，可以不填。", "Used for your region's fitness figures; optional."),
    ("register_title", "注册账户", "Create an account"),
    (
        "register_intro",
        "用手机号注册，即可预约公共体育场馆、查看体质测试报告。",
        "Register with your mobile number to book public venues and see your fitness reports.",
    ),
    ("register_button", "注册", "Register"),
    ("register_have_account", "已有账户？", "Already registered?"),
    ("login_title", "登录", "Log in"),
    ("login_button", "登录", "Log in"),
    ("login_forgot", "忘记密码？", "Forgot your password?"),
    ("login_no_account", "还没有账户？", "No account yet?"),
    ("login_notice_registered", "注册成功，请登录。", "Your account is ready; please log in."),
    ("login_notice_reset", "密码已重置，请用新密码登录。", "Your password has been reset; log in with the new one."),
    ("login_notice_deleted", "账户已删除。预约记录已匿名保留用于统计。", "The account has been deleted. Booking records are kept anonymised for statistics."),
    ("reset_title", "重置密码", "Reset your password"),
    ("reset_intro", "输入注册时的手机号，我们会发送一个验证码。", "Enter the mobile number you registered with and we will send a code."),
    ("reset_send_button", "发送验证码", "Send the code"),
    ("reset_sent", "如果该手机号已注册，验证码已发送，15 分钟内有效。", "If the number has an account, a code is on its way; it is valid for 15 minutes."),
    ("reset_confirm_button", "设置新密码", "Set the new password"),
    ("reset_again", "没有收到？重新发送", "Nothing received? Send again"),
    ("account_title", "我的账户", "My account"),
    ("account_profile", "基本信息", "Profile"),
    ("account_id", "账户编号", "Account id"),
    ("account_since", "注册日期", "Registered on"),
    ("account_roles", "角色", "Roles"),
    ("role_resident", "居民", "Resident"),
    ("account_identity", "实名信息", "Real-name identity"),
    (
        "identity_intro",
        "预约实名制场馆前需要登记居民身份证号。只保存加密摘要和遮挡后的号码。",
        "Real-name venues need your resident identity number before booking. Only a keyed digest and a masked form are kept.",
    ),
    ("identity_birth_date", "出生日期", "Date of birth"),
    ("identity_sex", "性别", "Sex"),
    (
        "identity_stored_note",
        "完整号码不保存；出生日期和性别用于体质测试标准。",
        "The full number is not stored; date of birth and sex are used by the fitness standards.",
    ),
    ("identity_button", "登记", "Record"),
    ("identity_no_secret", "服务器未配置密钥，暂时无法登记身份证号。", "The server has no secret configured, so identity numbers cannot be recorded yet."),
    ("sex_male", "男", "Male"),
    ("sex_female", "女", "Female"),
    ("account_password", "修改密码", "Change password"),
    ("password_button", "修改密码", "Change password"),
    ("account_export", "导出我的数据", "Export my data"),
    ("account_export_text", "下载平台保存的关于您的全部数据（JSON 格式）。", "Download everything the platform holds about you (JSON)."),
    ("account_export_button", "导出数据", "Export data"),
    ("account_delete", "删除账户", "Delete the account"),
    (
        "account_delete_text",
        "删除后无法恢复：姓名、手机号和身份证信息将被清除，预约记录匿名保留用于统计。",
        "This cannot be undone: name, mobile number and identity are erased; booking records are kept anonymised for statistics.",
    ),
    ("account_delete_confirm", "我确认删除我的账户", "I confirm that my account is to be deleted"),
    ("account_delete_button", "删除账户", "Delete the account"),
    ("account_saved", "已保存。", "Saved."),
    ("account_saved_identity", "身份证号已登记。", "Your identity number has been recorded."),
    ("account_saved_password", "密码已修改，其他设备上的登录已退出。", "Password changed; your other logins have been ended."),
    ("scope_own", "本人账户", "Own account"),
    ("scope_platform", "全平台", "Whole platform"),
    ("scope_station", "测试站 {id}", "Station {id}"),
    ("tokens_title", "API 令牌", "API tokens"),
    (
        "tokens_intro",
        "供程序访问接口使用（请求头 Authorization: Bearer …）。令牌只显示一次，只保存其摘要。",
        "For programs calling the API (header Authorization: Bearer …). A token is shown once; only its digest is kept.",
    ),
    ("tokens_created", "已创建令牌“{name}”：", "Token “{name}” created:"),
    ("tokens_shown_once", "请立即复制保存，离开本页后无法再次查看。", "Copy it now: it cannot be shown again after you leave this page."),
    ("tokens_name", "名称", "Name"),
    ("tokens_name_example", "例如：数据同步脚本", "e.g. nightly sync script"),
    ("tokens_create_button", "创建令牌", "Create token"),
    ("tokens_limit", "每个账户最多 {n} 个有效令牌。", "At most {n} active tokens per account."),
    ("tokens_created_at", "创建时间", "Created"),
    ("tokens_last_used", "最近使用", "Last used"),
    ("tokens_state", "状态", "State"),
    ("tokens_never", "从未", "never"),
    ("tokens_active", "有效", "active"),
    ("tokens_revoked_at", "已于 {at} 撤销", "revoked {at}"),
    ("tokens_revoke_button", "撤销", "Revoke"),
    ("tokens_none", "还没有令牌。", "No tokens yet."),
    ("times_china", "时间为北京时间。", "Times are China Standard Time (UTC+8)."),
    // Administration
    ("admin_users_title", "用户与角色", "Users and roles"),
    ("admin_audit_title", "审计日志", "Audit log"),
    ("admin_region_filter", "地区代码", "Region code"),
    ("admin_filter_button", "筛选", "Filter"),
    ("admin_masked_note", "手机号和身份证号均为遮挡显示。", "Mobile and identity numbers are shown masked."),
    ("admin_deleted_account", "（已删除的账户）", "(deleted account)"),
    ("admin_revoke_button", "撤销", "Revoke"),
    ("admin_grant_button", "授予", "Grant"),
    ("admin_no_accounts", "没有符合条件的账户。", "No accounts match."),
    ("admin_role_granted", "已授予角色，并已记入审计日志。", "Role granted and recorded in the audit log."),
    ("admin_role_revoked", "已撤销角色，并已记入审计日志。", "Role revoked and recorded in the audit log."),
    ("scope_placeholder", "场馆编号、测试站编号或地区代码", "venue id, station id or region code"),
    ("scope_hint_venue", "范围填场馆编号", "scope: the venue id"),
    ("scope_hint_station", "范围填测试站编号", "scope: the station id"),
    ("scope_hint_region", "范围填地区代码（如 3301）", "scope: a region code (e.g. 3301)"),
    ("scope_hint_none", "范围留空", "scope: leave empty"),
    ("previous_page", "上一页", "Previous"),
    ("next_page", "下一页", "Next"),
    ("audit_time", "时间", "Time"),
    ("audit_actor", "操作者", "Actor"),
    ("audit_actor_id", "操作者账户编号", "Actor account id"),
    ("audit_action", "操作", "Action"),
    ("audit_target", "对象", "Target"),
    ("audit_region", "地区", "Region"),
    ("audit_change", "变更", "Change"),
    ("audit_show_change", "查看", "Show"),
    ("audit_before", "之前", "Before"),
    ("audit_after", "之后", "After"),
    ("audit_from", "起始日期", "From"),
    ("audit_to", "截止日期（含）", "To (inclusive)"),
    ("audit_none", "没有符合条件的记录。", "No entries match."),
    // Form problems
    ("problem_wrong_credentials", "手机号或密码错误。", "Wrong mobile number or password."),
    ("problem_too_many", "尝试次数过多，请稍后再试。", "Too many attempts; please wait and try again."),
    ("problem_invalid_code", "验证码错误或已过期。", "The code is wrong or has expired."),
    ("problem_conflict", "与已有数据冲突。", "This conflicts with existing data."),
    ("problem_forbidden", "您没有权限执行此操作。", "You are not allowed to do this."),
    ("problem_unauthorized", "请先登录。", "Please log in first."),
    ("problem_unavailable", "此功能暂时不可用。", "This is not available at the moment."),
    ("problem_invalid", "请检查以下内容：", "Please check the following:"),
    ("problem_server", "服务器出错，请稍后再试。", "The server failed; please try again later."),
    // Errors
    ("error_401_title", "请先登录", "Please log in"),
    ("error_401_text", "此页面需要登录后访问。", "This page needs you to be logged in."),
    ("error_403_title", "没有权限", "Not allowed"),
    ("error_403_text", "您的账户没有访问此内容的权限。", "Your account is not allowed to see or do this."),
    ("error_csrf_title", "表单已过期", "The form has expired"),
    (
        "error_csrf_text",
        "为保护您的账户，表单需要带有效的安全令牌。请返回、刷新页面后重新提交。",
        "To protect your account, forms carry a security token. Go back, reload the page and submit again.",
    ),
    ("error_429_title", "请求过于频繁", "Too many requests"),
    ("error_429_text", "请稍后再试。", "Please wait a little and try again."),
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
