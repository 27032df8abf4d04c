//! `fitforall demo`: a fresh demo database, served.

use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::Utc;
use fitforall_core::region::RegionTree;
use fitforall_server::reference::ZHEJIANG_CITIES_GEOJSON;
use fitforall_store::Store;
use rand::{Rng, SeedableRng};

use crate::settings::{FileSettings, Overrides};

pub const DEFAULT_DEMO_DATABASE: &str = "sqlite://fitforall-demo.db";

/// Removes the default demo SQLite file (and its WAL files) so every demo starts fresh.
fn remove_default_demo_file() -> anyhow::Result<()> {
    let path = DEFAULT_DEMO_DATABASE.trim_start_matches("sqlite://");
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{path}{suffix}");
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error).with_context(|| format!("cannot remove the old demo database {file}")),
        }
    }
    Ok(())
}

/// Fills an empty database with the demo data set. Refuses a database that already holds venues.
pub async fn build_demo_database(url: &str, seed: u64) -> anyhow::Result<(usize, usize)> {
    let store = Store::connect(url).await.with_context(|| format!("cannot open the database {}", fitforall_server::startup::redact(url)))?;
    fitforall_server::startup::seed_regions_if_empty(&store).await?;
    let (existing, _) = store.load_venues().await?;
    if !existing.is_empty() {
        bail!("the demo needs an empty database, but {} already has {} venues", fitforall_server::startup::redact(url), existing.len());
    }
    let (tree, _) = RegionTree::build(store.load_regions().await?)?;
    let data = crate::demo_data::generate(&tree, ZHEJIANG_CITIES_GEOJSON, seed).map_err(anyhow::Error::msg).context("cannot generate the demo data")?;
    let now = Utc::now();
    store.upsert_population(&data.population, now).await?;
    store.upsert_venues(&data.venues, now).await?;
    store.close().await;
    Ok((data.population.len(), data.venues.len()))
}

/// The demo's testing station in 西湖区 (its staff is a demo account).
pub const DEMO_STATION_ID: &str = "demo-station-xihu";

/// One demo account per role, with fixed demo passwords (printed: demo only). The venue operator
/// runs the first demo venue in Hangzhou.
/// Returns the printed lines and an API token of the demo platform administrator.
async fn create_demo_accounts(url: &str) -> anyhow::Result<(Vec<(&'static str, &'static str, String)>, String)> {
    use fitforall_core::policy::{AccountId, Role, StationId};
    use fitforall_core::region::RegionCode;
    use fitforall_server::auth;
    let hangzhou = RegionCode::parse("3301").expect("valid");
    let store = Store::connect(url).await?;
    let (venues, _) = store.load_venues().await?;
    let Some(operated) = venues.iter().filter(|venue| hangzhou.contains(venue.region)).min_by(|a, b| a.id.as_str().cmp(b.id.as_str())) else {
        bail!("the demo data has no venue in Hangzhou to give the demo venue operator");
    };
    let station = StationId::parse(DEMO_STATION_ID).map_err(anyhow::Error::msg)?;
    /// Phone, password, description, role, home region.
    type DemoAccount = (&'static str, &'static str, String, Option<Role>, Option<RegionCode>);
    let xihu_code = RegionCode::parse("330106").expect("valid");
    let xihu = Some(xihu_code);
    let accounts: [DemoAccount; 5] = [
        ("13800000001", "demo-platform-admin", "platform administrator 平台管理员".to_string(), Some(Role::PlatformAdmin), None),
        (
            "13800000002",
            "demo-hangzhou-admin",
            "region administrator of 杭州市 区域管理员".to_string(),
            Some(Role::RegionAdmin { region: hangzhou }),
            Some(hangzhou),
        ),
        ("13800000003", "demo-resident-pass", "resident 居民".to_string(), None, xihu),
        (
            "13800000004",
            "demo-venue-operator",
            format!("venue operator of {} ({}) 场馆运营方", operated.name, operated.id),
            Some(Role::VenueOperator { venue: operated.id.clone() }),
            xihu,
        ),
        (
            "13800000005",
            "demo-station-staff",
            format!("testing station staff of {DEMO_STATION_ID} 体质测试站工作人员"),
            Some(Role::StationStaff { station: station.clone() }),
            xihu,
        ),
    ];
    let now = Utc::now();
    store
        .create_station(&fitforall_store::Station {
            id: station.clone(),
            name: "西湖区国民体质监测站（演示）Demo testing station".into(),
            region: xihu_code,
            address: "杭州市西湖区（演示数据 demo data）".into(),
            venue: None,
            created_at: now,
            updated_at: now,
        })
        .await?;
    let mut printed = Vec::new();
    let mut api_token = None;
    for (phone, password, description, role, home_region) in accounts {
        let id = AccountId::new(auth::new_id());
        let password_hash = auth::hash_password(password.to_string()).await;
        let name = format!("演示 {}", &phone[7..]);
        store.create_account(&fitforall_store::NewAccount { id, phone: phone.to_string(), name, password_hash, home_region }, now).await?;
        if role == Some(Role::PlatformAdmin) && api_token.is_none() {
            let (token, token_hash) = auth::new_token();
            store.create_api_token(auth::new_id(), &token_hash, id, "demo", now).await?;
            api_token = Some(token);
        }
        if let Some(role) = role {
            store.grant_role(auth::new_id(), id, &role, None, now).await?;
        }
        printed.push((phone, password, description));
    }
    store.close().await;
    let Some(api_token) = api_token else {
        bail!("the demo has no platform administrator to give an API token");
    };
    Ok((printed, api_token))
}

/// Bookable resources for the first three Hangzhou demo venues (the demo venue operator runs the
/// first): a free badminton court, a priced court with a reduced price, and a real-name swimming
/// session of 20 places, with the usual window (08:00, 7 days ahead). Slots for the coming days are
/// generated here; the server's job keeps extending them. Returns a line for the demo notice.
async fn create_demo_resources(url: &str) -> anyhow::Result<String> {
    use fitforall_core::booking::{BookingRules, ResourceId, SlotRuleInput, generate_slots};
    use fitforall_core::region::RegionCode;
    let store = Store::connect(url).await?;
    let hangzhou = RegionCode::parse("3301").expect("valid");
    let (mut venues, _) = store.load_venues().await?;
    venues.retain(|venue| hangzhou.contains(venue.region));
    venues.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let now = Utc::now();
    let today = (now + chrono::Duration::hours(8)).date_naive();
    let rule = |weekdays: &str, start: &str, end: &str, length: u32, places: u32, price_fen: i64, reduced: i64| SlotRuleInput {
        weekdays: weekdays.into(),
        start: start.into(),
        end: end.into(),
        slot_length_min: length,
        places,
        price_fen,
        reduced_price_fen: Some(reduced),
    };
    let plans = [
        (
            "court",
            "羽毛球 1 号场 Badminton court 1",
            vec![rule("1-5", "07:00", "09:00", 60, 4, 0, 0), rule("1-5", "18:00", "22:00", 60, 4, 0, 0), rule("6-7", "08:00", "20:00", 60, 4, 0, 0)],
            false,
        ),
        ("court", "篮球场 Basketball court", vec![rule("1-7", "08:00", "21:00", 60, 10, 1500, 750)], false),
        ("session", "游泳 Swimming session", vec![rule("1-7", "06:00", "21:00", 90, 20, 2000, 1000)], true),
    ];
    let mut made = Vec::new();
    for (venue, (kind, name, rules, real_name)) in venues.iter().zip(plans) {
        let slot_rules =
            rules.iter().map(|input| input.parse().map_err(|errors| anyhow::anyhow!("demo slot rule: {errors:?}"))).collect::<anyhow::Result<Vec<_>>>()?;
        let resource = fitforall_store::Resource {
            id: ResourceId::parse(&format!("{}-{kind}", venue.id)).map_err(anyhow::Error::msg)?,
            venue: venue.id.clone(),
            province: venue.region.province_code(),
            name: name.to_string(),
            kind: kind.to_string(),
            slot_rules,
            booking_rules: BookingRules::default(),
            real_name,
            created_at: now,
            updated_at: now,
        };
        store.create_resource(&resource).await?;
        let specs = generate_slots(&resource.slot_rules, &[], today, resource.booking_rules.days_ahead + 1);
        store.ensure_slots(&resource, &specs, &mut fitforall_server::auth::new_id).await?;
        made.push(format!("/venues/{}/book", venue.id));
    }
    // The demo testing station tests at the first of these venues: its appointments are a session
    // resource there, booked like any other slot.
    if let Some(venue) = venues.first() {
        let test_rule = rule("2,4,6", "09:00", "11:00", 30, 6, 0, 0).parse().map_err(|errors| anyhow::anyhow!("demo slot rule: {errors:?}"))?;
        let resource = fitforall_store::Resource {
            id: ResourceId::parse(&format!("{}-fitness-test", venue.id)).map_err(anyhow::Error::msg)?,
            venue: venue.id.clone(),
            province: venue.region.province_code(),
            name: "国民体质测试预约 Fitness test appointment".to_string(),
            kind: "session".to_string(),
            slot_rules: vec![test_rule],
            booking_rules: BookingRules::default(),
            real_name: false,
            created_at: now,
            updated_at: now,
        };
        store.create_resource(&resource).await?;
        let specs = generate_slots(&resource.slot_rules, &[], today, resource.booking_rules.days_ahead + 1);
        store.ensure_slots(&resource, &specs, &mut fitforall_server::auth::new_id).await?;
        let station = fitforall_core::policy::StationId::parse(DEMO_STATION_ID).map_err(anyhow::Error::msg)?;
        store.set_station_venue(&station, Some(&venue.id), now).await?;
    }
    store.close().await;
    Ok(format!("{} venues take bookings (window opens 08:00 for 7 days ahead): {}", made.len(), made.join(", ")))
}

/// The demo resident's booking for check-in: a free demo session at the demo operator's venue, its
/// one slot starting at the next 5-minute mark at least 10 minutes from now (China time), booked and
/// confirmed. The operator can check it in from 15 minutes before the start to 15 minutes after;
/// after that the no-show job marks it. Returns a line for the demo notice.
async fn create_demo_check_in(url: &str) -> anyhow::Result<String> {
    use fitforall_core::booking::{BookingRules, BookingStatus, ResourceId, SlotSpec, check_in_window};
    use fitforall_store::{BatchRequest, BatchState, NewBooking};
    let store = Store::connect(url).await?;
    let resident = store.account_by_phone("13800000003").await?;
    let operator = store.account_by_phone("13800000004").await?;
    let Some(venue) = store.active_roles(operator.id).await?.into_iter().find_map(|role| match role {
        fitforall_core::policy::Role::VenueOperator { venue } => Some(venue),
        _ => None,
    }) else {
        bail!("the demo venue operator runs no venue");
    };
    let (venues, _) = store.load_venues().await?;
    let Some(region) = venues.iter().find(|candidate| candidate.id == venue).map(|venue| venue.region) else {
        bail!("the demo operator's venue {venue} is not in the demo data");
    };
    let now = Utc::now();
    let local_now = fitforall_server::api::venues::local_now();
    let five_min = 5 * 60;
    let soon = local_now + chrono::Duration::minutes(10);
    let start_s = (soon.and_utc().timestamp() + five_min - 1) / five_min * five_min;
    let start = chrono::DateTime::from_timestamp(start_s, 0).map(|time| time.naive_utc()).unwrap_or(soon);
    // The rule only makes the session a valid resource (an early-morning slot every day); the slot
    // booked here is made on its own, and the generation job leaves out rule slots overlapping it.
    let rule = fitforall_core::booking::SlotRuleInput {
        weekdays: "1-7".into(),
        start: "06:00".into(),
        end: "06:30".into(),
        slot_length_min: 30,
        places: 4,
        price_fen: 0,
        reduced_price_fen: None,
    };
    let resource = fitforall_store::Resource {
        id: ResourceId::parse(&format!("{venue}-check-in-demo")).map_err(anyhow::Error::msg)?,
        venue: venue.clone(),
        province: region.province_code(),
        name: "签到演示场次 Check-in demo session".to_string(),
        kind: "session".to_string(),
        slot_rules: vec![rule.parse().map_err(|errors| anyhow::anyhow!("demo slot rule: {errors:?}"))?],
        booking_rules: BookingRules::default(),
        real_name: false,
        created_at: now,
        updated_at: now,
    };
    store.create_resource(&resource).await?;
    let spec = SlotSpec { start, end: start + chrono::Duration::minutes(30), capacity: 4, price_fen: 0, reduced_price_fen: 0 };
    store.ensure_slots(&resource, &[spec], &mut fitforall_server::auth::new_id).await?;
    let Some(slot) = store.slots_between(&resource.id, start, start + chrono::Duration::minutes(1)).await?.first().map(|slot| slot.id) else {
        bail!("the demo check-in slot was not made");
    };
    let request = BatchRequest { slot, account: resident.id, places: 1, reduced: false, idempotency_key: "demo-check-in".into(), request_hash: "demo".into() };
    let booking = NewBooking {
        id: fitforall_server::auth::new_time_ordered_id(now),
        slot,
        account: resident.id,
        places: 1,
        status: BookingStatus::Confirmed,
        total_fen: 0,
        reduced: false,
        expires_at: None,
        idempotency_key: request.idempotency_key.clone(),
        request_hash: request.request_hash.clone(),
    };
    store.book_batch(&[request], local_now, now, move |_: &mut BatchState| (vec![booking], ())).await?;
    store.close().await;
    let (opens, closes) = check_in_window(start);
    let time = |at: chrono::NaiveDateTime| at.format("%H:%M").to_string();
    Ok(format!(
        "the demo resident has a confirmed booking at {} (签到演示场次, /venues/{venue}): its 签到码 is on /account/bookings; \
         the demo venue operator checks it in on /venues/{venue}/manage from {} to {}; not checked in by then, it becomes a no-show",
        start.format("%m-%d %H:%M"),
        time(opens),
        time(closes)
    ))
}

pub async fn run(file: &FileSettings, listen: Option<String>, database: Option<String>, seed: u64) -> anyhow::Result<ExitCode> {
    let url = match database {
        Some(url) => url,
        None => {
            remove_default_demo_file()?;
            DEFAULT_DEMO_DATABASE.to_string()
        }
    };
    println!("FitForAll 演示 DEMO — demo data set: the population and venues are generated (seed {seed}), not real figures.");
    use std::io::Write;
    std::io::stdout().flush().ok();
    let (population_rows, venues) = build_demo_database(&url, seed).await?;
    let secret: String = {
        let mut rng = rand::rngs::StdRng::from_os_rng();
        (0..64).map(|_| char::from_digit(rng.random_range(0..16), 16).expect("hex digit")).collect()
    };
    let (accounts, api_token) = create_demo_accounts(&url).await?;
    let bookable = create_demo_resources(&url).await?;
    let check_in = create_demo_check_in(&url).await?;
    let station = fitforall_core::policy::StationId::parse(DEMO_STATION_ID).map_err(anyhow::Error::msg)?;
    let fitness = crate::demo_fitness::create_demo_fitness_results(&url, seed, &station).await?;
    let mut config = crate::settings::server_config(file, Overrides { listen, database_url: Some(url), secret: Some(secret) })?;
    config.demo = true;
    println!("  demo data: {venues} venues across Zhejiang's 11 cities, {population_rows} county population figures (2022–2024)");
    println!("  a sample of venues against a full population: per-capita sports area comes out near 0.03 m², not the 2.8 m² Zhejiang reported for 2022");
    println!("  API token of the demo platform administrator, for API writes (Authorization: Bearer …): {api_token}");
    println!("  bookable: {bookable}");
    println!("  check-in: {check_in}");
    println!("  fitness: {fitness}");
    println!("  demo accounts (log in at /login, or POST /api/v1/sessions):");
    for (phone, password, role) in &accounts {
        println!("    {phone}  password {password}  {role}");
    }
    crate::serve(config).await
}
