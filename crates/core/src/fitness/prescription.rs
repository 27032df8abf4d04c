//! Exercise prescriptions for the weakest components of a score card (DESIGN §6: "the person sees a
//! report with an exercise prescription by weakest components"). General guidance by fitness
//! component, in the FITT form (frequency, intensity, time, type) used by China's national fitness
//! guidance; not medical advice, and the report says so.

use super::scoring::ScoreCard;
use super::standard::Standard;

/// What one component needs, in Chinese and English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prescription {
    /// The fitness component the item measures.
    pub component_zh: &'static str,
    pub component_en: &'static str,
    pub advice_zh: &'static str,
    pub advice_en: &'static str,
}

const ENDURANCE: Prescription = Prescription {
    component_zh: "心肺耐力",
    component_en: "cardiorespiratory endurance",
    advice_zh: "每周 3–5 次中等强度有氧运动（慢跑、游泳、骑车、跳绳），每次 30–60 分钟，心率约为 (220−年龄)×60–75%；每两周把时长或距离增加约 10%。",
    advice_en: "3–5 times a week of moderate aerobic exercise (jogging, swimming, cycling, rope skipping), 30–60 minutes each, heart rate about 60–75 % of (220 − age); add about 10 % to time or distance every two weeks.",
};

const SPEED: Prescription = Prescription {
    component_zh: "速度与灵敏",
    component_en: "speed and agility",
    advice_zh: "每周 2–3 次：充分热身后做 6–8 组 20–30 米加速跑、高抬腿和折返跑，组间完全恢复（1–2 分钟）；配合跳跃练习提高步频和爆发力。",
    advice_en: "2–3 times a week: after a full warm-up, 6–8 sprints of 20–30 m, high knees and shuttle runs, with full recovery (1–2 minutes) between sets; add jumping drills for stride rate and power.",
};

const FLEXIBILITY: Prescription = Prescription {
    component_zh: "柔韧性",
    component_en: "flexibility",
    advice_zh: "每天运动后做静态拉伸（坐位体前屈、腘绳肌和腰背拉伸），每个动作保持 20–30 秒、重复 2–4 次，拉到有牵拉感而不痛。",
    advice_en: "Every day after exercise, static stretches (seated forward bend, hamstrings, lower back), each held 20–30 seconds and repeated 2–4 times, to a feeling of stretch without pain.",
};

const POWER: Prescription = Prescription {
    component_zh: "下肢爆发力",
    component_en: "lower-body power",
    advice_zh: "每周 2–3 次：立定跳远、蛙跳、纵跳摸高、深蹲跳各 3–4 组 × 6–10 次，组间休息 1–2 分钟，注意落地屈膝缓冲。",
    advice_en: "2–3 times a week: standing long jumps, frog jumps, jump-and-reach and squat jumps, 3–4 sets of 6–10 each, 1–2 minutes' rest between sets, landing with bent knees.",
};

const UPPER_STRENGTH: Prescription = Prescription {
    component_zh: "上肢力量",
    component_en: "upper-body strength",
    advice_zh: "每周 2–3 次：引体向上（可先做斜身引体或弹力带辅助）、俯卧撑、悬垂，3–4 组，每组做到接近力竭，隔天练习。",
    advice_en: "2–3 times a week on alternate days: pull-ups (start with inclined or band-assisted ones), push-ups and hangs, 3–4 sets each, close to failure.",
};

const CORE_STRENGTH: Prescription = Prescription {
    component_zh: "腰腹力量",
    component_en: "core strength",
    advice_zh: "每周 3 次：仰卧起坐、卷腹、平板支撑、臀桥各 3 组（平板支撑每组 30–60 秒），逐周增加次数。",
    advice_en: "3 times a week: sit-ups, crunches, planks and glute bridges, 3 sets each (planks 30–60 seconds), adding repetitions week by week.",
};

const LUNG: Prescription = Prescription {
    component_zh: "肺功能",
    component_en: "lung function",
    advice_zh: "坚持有氧运动（游泳、长跑、跳绳）每周 3–5 次、每次 30 分钟以上，并练习深长的腹式呼吸。",
    advice_en: "Regular aerobic exercise (swimming, distance running, rope skipping) 3–5 times a week for 30 minutes or more, and practise slow, deep abdominal breathing.",
};

const BODY_COMPOSITION: Prescription = Prescription {
    component_zh: "身体成分",
    component_en: "body composition",
    advice_zh: "体重偏离正常范围：在专业人员指导下调整饮食结构，每周 150 分钟以上中等强度运动加 2 次力量练习；偏瘦者保证蛋白质和能量摄入。",
    advice_en: "Weight outside the normal range: adjust the diet with professional advice, at least 150 minutes of moderate exercise a week plus 2 strength sessions; if underweight, ensure enough protein and energy.",
};

const GRIP: Prescription = Prescription {
    component_zh: "握力",
    component_en: "grip strength",
    advice_zh: "每周 2–3 次：握力器、悬垂、提重物行走，各 3 组；配合全身力量练习。",
    advice_en: "2–3 times a week: grip trainer, hangs and loaded carries, 3 sets each, together with whole-body strength work.",
};

const BALANCE: Prescription = Prescription {
    component_zh: "平衡能力",
    component_en: "balance",
    advice_zh: "每天练习单脚站立（先睁眼后闭眼，每侧 30–60 秒，3 组）、太极拳或八段锦，注意身边有扶靠物。",
    advice_en: "Daily single-leg stands (eyes open, then closed, 30–60 seconds a side, 3 sets), tai chi or baduanjin, with something to hold nearby.",
};

const REACTION: Prescription = Prescription {
    component_zh: "反应能力",
    component_en: "reaction",
    advice_zh: "每周 2–3 次需要快速反应的运动：乒乓球、羽毛球、篮球或反应球游戏，每次 20–30 分钟。",
    advice_en: "2–3 times a week of sports that need quick reactions: table tennis, badminton, basketball or reaction-ball games, 20–30 minutes each.",
};

/// The prescription for a standard's item id (`run_1000m`, `sit_and_reach`, …); `None` for an item
/// this table does not know (a new standard's item), which the report then lists without advice.
pub fn for_item(item_id: &str) -> Option<Prescription> {
    Some(match item_id {
        "run_800m" | "run_1000m" | "step_index" => ENDURANCE,
        "run_50m" | "shuttle_run_50m_x8" => SPEED,
        "sit_and_reach" => FLEXIBILITY,
        "standing_long_jump" | "vertical_jump" => POWER,
        "pull_ups" | "push_ups" => UPPER_STRENGTH,
        "sit_ups_1min" => CORE_STRENGTH,
        "vital_capacity" => LUNG,
        "rope_skip_1min" => ENDURANCE,
        "bmi" | "height_weight" => BODY_COMPOSITION,
        "grip_strength" => GRIP,
        "single_leg_stand_eyes_closed" => BALANCE,
        "choice_reaction_time" => REACTION,
        _ => return None,
    })
}

/// The weakest scored items of a card: the lowest scores as a share of the item's best score, at
/// most `limit`, only those below the best (a card of full marks has none); ties keep the plan's order.
pub fn weakest_items(standard: &Standard, card: &ScoreCard, limit: usize) -> Vec<usize> {
    let mut scored: Vec<(u32, usize, usize)> = card
        .items
        .iter()
        .enumerate()
        .filter_map(|(position, item)| {
            let score = u32::from(item.score()?);
            let best = u32::from(standard.best_score(item.item));
            (score < best).then(|| (score * 1_000 / best.max(1), position, item.item))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(limit).map(|(_, _, item)| item).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fitness::shipped;

    fn card(scores: &[Option<u8>]) -> ScoreCard {
        use crate::fitness::{Basis, Dec, Direction, ItemOutcome, ItemScore};
        let items = scores
            .iter()
            .enumerate()
            .map(|(item, score)| ItemScore {
                item,
                weight_pct: 10,
                value: Some(Dec::from_int(1)),
                outcome: match score {
                    None => ItemOutcome::Missing,
                    Some(score) => ItemOutcome::Scored {
                        score: *score,
                        basis: Basis::BelowLowest { lowest_score: 10, lowest_threshold: Dec::ZERO, direction: Direction::HigherBetter },
                    },
                },
            })
            .collect();
        ScoreCard { items, ..ScoreCard::default() }
    }

    fn check_weakest(scores: &[Option<u8>], limit: usize, expect: &[usize]) {
        let standards = shipped::load().unwrap();
        let students = standards.get("cnsphs-2014").unwrap();
        assert_eq!(weakest_items(students, &card(scores), limit), expect, "{scores:?}");
    }

    #[test]
    fn weakest_items_are_the_lowest_scores_below_the_best() {
        check_weakest(&[Some(100), Some(60), None, Some(80)], 2, &[1, 3]);
        check_weakest(&[Some(100), Some(60), None, Some(80)], 1, &[1]);
        check_weakest(&[Some(100), Some(100)], 2, &[]);
        check_weakest(&[Some(70), Some(70), Some(50)], 2, &[2, 0]);
        check_weakest(&[None, None], 2, &[]);
    }

    #[test]
    fn every_shipped_item_has_a_prescription() {
        let standards = shipped::load().unwrap();
        for standard in standards.iter() {
            for item in standard.items() {
                assert!(for_item(&item.id).is_some(), "{}: {}", standard.id, item.id);
            }
        }
    }
}
