//! `fitforall bench …`: benchmarks whose results go to BENCHMARKS.md.
//!
//! `bench search` measures the nearby venue search over a large generated catalog, the R-tree
//! (`SearchStrategy::Index`) against a full scan of the same data (`SearchStrategy::Scan`) in the same
//! run, first in-process, then through the search handler without HTTP, then over HTTP against the
//! real application on loopback. Every answer of one strategy is checked against the other's.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::{Args, Subcommand};
use fitforall_core::catalog::{Near, SearchStrategy, VenueCatalog, VenueQuery};
use fitforall_core::geo::{LatLng, RadiusM};
use fitforall_core::region::{RegionCode, RegionLevel, RegionTree};
use fitforall_core::venue::{ListInput, Venue, VenueId, VenueInput};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Nearby venue search: spatial index vs full scan, in-process and over HTTP.
    Search(SearchArgs),
    /// The booking rush: N residents book S slots of P places at once, batched engine vs one
    /// transaction per request, over HTTP (K server processes) and in-process.
    Rush(crate::bench_rush::RushArgs),
    /// The batch scorer (`fitforall score`) against parse-only on the same generated file.
    Score(crate::bench_score::ScoreBenchArgs),
}

#[derive(Args, Debug, Clone)]
pub struct SearchArgs {
    /// Generated venues (spread over Zhejiang).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=2_000_000))]
    pub venues: u64,
    /// In-process queries per strategy (and through the handler without HTTP).
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub queries: u64,
    /// Search radius in metres.
    #[arg(long, default_value_t = 2_000.0)]
    pub radius_m: f64,
    /// HTTP requests per strategy; 0 skips the database, the handler and the HTTP parts.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub http_queries: u64,
    /// Concurrent HTTP clients (one connection each).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub concurrency: u64,
    /// Seed of the venues and of the query points.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Database for the HTTP part (must hold no venues). Default: a fresh temporary SQLite file.
    #[arg(long)]
    pub database: Option<String>,
    /// Time budget of each part (in-process, handler, HTTP) in seconds: a part stops after the round
    /// that exceeds it, with the same number of queries for both strategies.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub max_seconds: u64,
}

pub async fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Search(args) => search(args).await,
        BenchCommand::Rush(args) => crate::bench_rush::run(args).await,
        BenchCommand::Score(args) => crate::bench_score::run(args),
    }
}

// ---------------------------------------------------------------------------------------------------
// Statistics

/// Nearest-rank percentile of sorted samples (`p` in 0..=100); zero for no samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Latencies of one strategy in one part, and the time the part spent on them.
#[derive(Debug, Clone, Default)]
struct Samples {
    latencies: Vec<Duration>,
    /// Wall-clock time of the phases (sequential parts: the sum of the latencies).
    wall: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Summary {
    count: usize,
    qps: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn summarize(samples: &Samples) -> Summary {
    let mut sorted = samples.latencies.clone();
    sorted.sort_unstable();
    let seconds = samples.wall.as_secs_f64();
    Summary {
        count: sorted.len(),
        qps: if seconds > 0.0 { sorted.len() as f64 / seconds } else { 0.0 },
        p50: percentile(&sorted, 50.0),
        p99: percentile(&sorted, 99.0),
        max: sorted.last().copied().unwrap_or_default(),
    }
}

/// Index throughput ÷ scan throughput.
fn ratio(index: &Summary, scan: &Summary) -> f64 {
    if scan.qps > 0.0 { index.qps / scan.qps } else { f64::NAN }
}

fn ms(duration: Duration) -> String {
    let millis = duration.as_secs_f64() * 1000.0;
    if millis < 1.0 { format!("{millis:.3} ms") } else { format!("{millis:.2} ms") }
}

/// Stops a part after the round in which its budget ran out.
struct Budget {
    started: Instant,
    limit: Duration,
}

impl Budget {
    fn new(seconds: u64) -> Budget {
        Budget { started: Instant::now(), limit: Duration::from_secs(seconds) }
    }

    fn exhausted(&self) -> bool {
        self.started.elapsed() > self.limit
    }
}

/// Queries per round; strategies alternate which goes first from round to round.
const ROUND: usize = 100;
/// Untimed queries of each strategy before a part (caches, connections, lazily built state).
const WARM_UP: usize = 20;
/// Page size of every query, as the API's default.
const LIMIT: usize = 50;

fn strategies_for_round(round: usize) -> [SearchStrategy; 2] {
    if round.is_multiple_of(2) { [SearchStrategy::Index, SearchStrategy::Scan] } else { [SearchStrategy::Scan, SearchStrategy::Index] }
}

fn slot(strategy: SearchStrategy) -> usize {
    match strategy {
        SearchStrategy::Index => 0,
        SearchStrategy::Scan => 1,
    }
}

// ---------------------------------------------------------------------------------------------------
// Data: county seats, venues, query points

const COUNTY_SEATS_CSV: &str = include_str!("../../../data/demo/zhejiang-county-seats.csv");
const COUNTY_POPULATION_CSV: &str = include_str!("../../../data/demo/zhejiang-county-population.csv");

/// Where generated venues and query points lie (Zhejiang and a little around it).
const LAT_RANGE: (f64, f64) = (27.0, 31.2);
const LNG_RANGE: (f64, f64) = (118.0, 123.0);
/// Metres per degree of latitude.
const M_PER_DEG: f64 = 111_195.0;

/// A county (区/县/县级市) of Zhejiang with its seat and population weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Seat {
    pub county: RegionCode,
    pub county_name: String,
    pub city_name: String,
    pub location: LatLng,
    pub population: f64,
    /// Urban districts (区) are denser than counties.
    pub is_district: bool,
}

/// The geography the generator draws from: county seats and the 11 city centres.
#[derive(Debug, Clone)]
pub struct Geography {
    pub seats: Vec<Seat>,
    pub city_centres: Vec<(RegionCode, LatLng)>,
    seat_cumulative: Vec<f64>,
}

#[derive(serde::Deserialize)]
struct SeatRow {
    code: String,
    name: String,
    lat: f64,
    lng: f64,
}

#[derive(serde::Deserialize)]
struct PopulationRow {
    code: String,
    population: u64,
}

impl Geography {
    /// County seats (data/demo/zhejiang-county-seats.csv), weighted by the county population table,
    /// every code checked against the region hierarchy; city centres from the map's label points.
    pub fn load(tree: &RegionTree) -> anyhow::Result<Geography> {
        let mut population = std::collections::HashMap::new();
        for row in csv::Reader::from_reader(COUNTY_POPULATION_CSV.as_bytes()).deserialize::<PopulationRow>() {
            let row = row.context("data/demo/zhejiang-county-population.csv")?;
            population.insert(RegionCode::parse(&row.code)?, row.population as f64);
        }
        let mut seats = Vec::new();
        for row in csv::Reader::from_reader(COUNTY_SEATS_CSV.as_bytes()).deserialize::<SeatRow>() {
            let row = row.context("data/demo/zhejiang-county-seats.csv")?;
            let county = RegionCode::parse(&row.code).with_context(|| format!("county seat {}", row.code))?;
            let region = tree.get(county).with_context(|| format!("county seat {} ({}) is not in the region hierarchy", row.code, row.name))?;
            ensure!(county.level() == RegionLevel::County && county.province_code() == "33", "county seat {} is not a Zhejiang county", row.code);
            let city = tree.parent(county).and_then(|city| tree.get(city)).map(|city| city.name.clone()).unwrap_or_default();
            seats.push(Seat {
                county,
                county_name: region.name.clone(),
                city_name: city,
                location: LatLng::new(row.lat, row.lng)?,
                population: population.get(&county).copied().unwrap_or(300_000.0),
                is_district: region.name.ends_with('区'),
            });
        }
        ensure!(!seats.is_empty(), "no county seats");
        let zhejiang = RegionCode::parse("33")?;
        let city_centres: Vec<(RegionCode, LatLng)> =
            fitforall_server::reference::label_points().into_iter().filter(|(code, _)| code.level() == RegionLevel::City && zhejiang.contains(*code)).collect();
        ensure!(city_centres.len() == 11, "expected the 11 Zhejiang city centres in the map's label points, found {}", city_centres.len());
        let mut total = 0.0;
        let seat_cumulative = seats
            .iter()
            .map(|seat| {
                total += seat.population;
                total
            })
            .collect();
        Ok(Geography { seats, city_centres, seat_cumulative })
    }

    /// A seat drawn with probability proportional to its population.
    fn weighted_seat(&self, rng: &mut StdRng) -> &Seat {
        let total = *self.seat_cumulative.last().expect("seats are not empty");
        let target = rng.random::<f64>() * total;
        let index = self.seat_cumulative.partition_point(|cumulative| *cumulative <= target).min(self.seats.len() - 1);
        &self.seats[index]
    }

    /// The seat nearest to a point (equirectangular distance is plenty at this scale).
    fn nearest_seat(&self, point: LatLng) -> &Seat {
        let cos = point.lat().to_radians().cos();
        let distance = |seat: &Seat| {
            let dlat = seat.location.lat() - point.lat();
            let dlng = (seat.location.lng() - point.lng()) * cos;
            dlat * dlat + dlng * dlng
        };
        self.seats.iter().min_by(|a, b| distance(a).total_cmp(&distance(b))).expect("seats are not empty")
    }
}

/// A standard normal deviate (Box–Muller; `rand_distr` is not a dependency).
fn standard_normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A point scattered around `centre` with a normal spread of `sigma_m` metres along each axis, kept
/// inside the bounding range (redrawn a few times, then clamped).
fn scatter(rng: &mut StdRng, centre: LatLng, sigma_m: f64) -> LatLng {
    let cos = centre.lat().to_radians().cos();
    for attempt in 0..8 {
        let lat = centre.lat() + standard_normal(rng) * sigma_m / M_PER_DEG;
        let lng = centre.lng() + standard_normal(rng) * sigma_m / (M_PER_DEG * cos);
        let inside = (LAT_RANGE.0..=LAT_RANGE.1).contains(&lat) && (LNG_RANGE.0..=LNG_RANGE.1).contains(&lng);
        if inside || attempt == 7 {
            return LatLng::new(lat.clamp(LAT_RANGE.0, LAT_RANGE.1), lng.clamp(LNG_RANGE.0, LNG_RANGE.1)).expect("clamped into range");
        }
    }
    unreachable!("the last attempt returns")
}

fn uniform_point(rng: &mut StdRng) -> LatLng {
    LatLng::new(rng.random_range(LAT_RANGE.0..LAT_RANGE.1), rng.random_range(LNG_RANGE.0..LNG_RANGE.1)).expect("in range")
}

/// A kind of generated venue; `opening`, `free` and `low_fee` fit together (free and low-fee hours
/// lie within the opening hours).
struct Template {
    venue_type: &'static str,
    suffix: &'static str,
    sports: &'static str,
    setting: &'static str,
    owner_kind: &'static str,
    area_m2: (f64, f64),
    opening: &'static str,
    free: &'static str,
    low_fee: &'static str,
    weight: u32,
}

const TEMPLATES: &[Template] = &[
    Template {
        venue_type: "fitness_path",
        suffix: "全民健身路径",
        sports: "fitness",
        setting: "outdoor",
        owner_kind: "public",
        area_m2: (200.0, 800.0),
        opening: "24/7",
        free: "24/7",
        low_fee: "",
        weight: 30,
    },
    Template {
        venue_type: "ball_courts",
        suffix: "篮球场",
        sports: "basketball",
        setting: "outdoor",
        owner_kind: "public",
        area_m2: (600.0, 2_000.0),
        opening: "Mo-Su 06:00-22:00",
        free: "Mo-Su 06:00-22:00",
        low_fee: "",
        weight: 14,
    },
    Template {
        venue_type: "peoples_gym",
        suffix: "百姓健身房",
        sports: "fitness;yoga",
        setting: "indoor",
        owner_kind: "public",
        area_m2: (150.0, 600.0),
        opening: "Mo-Su 06:00-21:00",
        free: "Mo-Su 06:00-21:00",
        low_fee: "",
        weight: 12,
    },
    Template {
        venue_type: "fitness_plaza",
        suffix: "全民健身广场",
        sports: "square_dance;fitness",
        setting: "outdoor",
        owner_kind: "public",
        area_m2: (1_000.0, 6_000.0),
        opening: "24/7",
        free: "24/7",
        low_fee: "",
        weight: 10,
    },
    Template {
        venue_type: "greenway",
        suffix: "健身步道",
        sports: "walking;running",
        setting: "outdoor",
        owner_kind: "public",
        area_m2: (2_000.0, 20_000.0),
        opening: "24/7",
        free: "24/7",
        low_fee: "",
        weight: 8,
    },
    Template {
        venue_type: "school_venue",
        suffix: "学校运动场（对外开放）",
        sports: "athletics;running;football",
        setting: "outdoor",
        owner_kind: "school",
        area_m2: (3_000.0, 12_000.0),
        opening: "Mo-Fr 17:30-21:00; Sa-Su 06:00-20:00",
        free: "Mo-Fr 17:30-21:00; Sa-Su 06:00-20:00",
        low_fee: "",
        weight: 8,
    },
    Template {
        venue_type: "ball_courts",
        suffix: "羽毛球馆",
        sports: "badminton;table_tennis",
        setting: "indoor",
        owner_kind: "social",
        area_m2: (600.0, 2_500.0),
        opening: "Mo-Su 09:00-22:00",
        free: "",
        low_fee: "Mo-Fr 09:00-17:00",
        weight: 6,
    },
    Template {
        venue_type: "gymnasium",
        suffix: "体育馆",
        sports: "basketball;badminton",
        setting: "indoor",
        owner_kind: "public",
        area_m2: (2_000.0, 12_000.0),
        opening: "Mo-Su 06:00-22:00",
        free: "Mo-Fr 06:00-08:00",
        low_fee: "Mo-Fr 08:00-22:00; Sa-Su 06:00-22:00",
        weight: 4,
    },
    Template {
        venue_type: "swimming_pool",
        suffix: "游泳馆",
        sports: "swimming",
        setting: "indoor",
        owner_kind: "public",
        area_m2: (800.0, 3_000.0),
        opening: "Mo-Su 09:00-21:00",
        free: "",
        low_fee: "Mo-Su 09:00-21:00",
        weight: 4,
    },
    Template {
        venue_type: "stadium",
        suffix: "体育场",
        sports: "athletics;running;football",
        setting: "outdoor",
        owner_kind: "public",
        area_m2: (8_000.0, 40_000.0),
        opening: "Mo-Su 05:30-21:30",
        free: "Mo-Su 05:30-21:30",
        low_fee: "",
        weight: 2,
    },
    Template {
        venue_type: "other",
        suffix: "攀岩馆",
        sports: "climbing",
        setting: "indoor",
        owner_kind: "social",
        area_m2: (200.0, 1_500.0),
        opening: "Tu-Su 10:00-22:00",
        free: "",
        low_fee: "Tu-Fr 10:00-17:00",
        weight: 1,
    },
];

fn pick_template(rng: &mut StdRng) -> &'static Template {
    let total: u32 = TEMPLATES.iter().map(|template| template.weight).sum();
    let mut target = rng.random_range(0..total);
    for template in TEMPLATES {
        if target < template.weight {
            return template;
        }
        target -= template.weight;
    }
    unreachable!("target < total")
}

/// Share of venues scattered tightly around a county seat (town centres)…
const TIGHT_SHARE: f64 = 0.65;
/// … loosely (suburbs) …
const LOOSE_SHARE: f64 = 0.25;
// … and the rest: the long tail, widely around a seat drawn regardless of population.

/// Generates `count` valid venues over Zhejiang, deterministically from `seed`: clustered around the
/// county seats by population (denser in urban districts), with a long rural tail. Each venue lies in
/// the county whose seat is nearest, and goes through the same parser as imported venues.
pub fn generate_venues(geography: &Geography, tree: &RegionTree, count: usize, seed: u64, progress: &ProgressBar) -> anyhow::Result<Vec<Venue>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut venues = Vec::with_capacity(count);
    for index in 0..count {
        let draw: f64 = rng.random();
        let location = if draw < TIGHT_SHARE {
            let seat = geography.weighted_seat(&mut rng);
            scatter(&mut rng, seat.location, if seat.is_district { 2_500.0 } else { 1_800.0 })
        } else if draw < TIGHT_SHARE + LOOSE_SHARE {
            let seat = geography.weighted_seat(&mut rng);
            scatter(&mut rng, seat.location, 7_000.0)
        } else {
            let seat = &geography.seats[rng.random_range(0..geography.seats.len())];
            scatter(&mut rng, seat.location, 20_000.0)
        };
        let seat = geography.nearest_seat(location);
        let template = pick_template(&mut rng);
        let status = match rng.random_range(0..100) {
            0..2 => "closed",
            2..5 => "renovating",
            _ => "open",
        };
        let number = index + 1;
        let input = VenueInput {
            id: None,
            name: Some(format!("{}{}{}", seat.county_name, template.suffix, number)),
            region_code: Some(seat.county.short()),
            address: Some(format!("浙江省{}{}健身路{}号", seat.city_name, seat.county_name, rng.random_range(1..=999))),
            lat: Some((location.lat() * 1e6).round() / 1e6),
            lng: Some((location.lng() * 1e6).round() / 1e6),
            venue_type: Some(template.venue_type.to_string()),
            sports: Some(ListInput::Text(template.sports.to_string())),
            sports_area_m2: Some((rng.random_range(template.area_m2.0..=template.area_m2.1) / 10.0).round() * 10.0),
            setting: Some(template.setting.to_string()),
            owner_kind: Some(template.owner_kind.to_string()),
            opening_hours: Some(template.opening.to_string()),
            free_hours: Some(template.free.to_string()),
            low_fee_hours: Some(template.low_fee.to_string()),
            accessibility: Some(ListInput::Text(if rng.random_range(0..3) == 0 { "step_free;accessible_toilet".into() } else { String::new() })),
            status: Some(status.to_string()),
            opened_year: Some(rng.random_range(1995..=2024)),
            phone: None,
        };
        let id = VenueId::parse(&format!("bench-{number:07}")).map_err(anyhow::Error::msg)?;
        let venue = input.parse(id, |code| tree.contains(code)).map_err(|errors| anyhow::anyhow!("generated venue {number} is invalid: {errors:?}"))?;
        venues.push(venue);
        if number % 1_000 == 0 {
            progress.set_position(number as u64);
        }
    }
    progress.set_position(count as u64);
    Ok(venues)
}

/// Where a query point was drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    CityCentre,
    CountySeat,
    Random,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueryPoint {
    pub center: LatLng,
    pub kind: QueryKind,
}

/// `count` query points, deterministically from `seed`: 60% around the 11 city centres (σ 4 km),
/// 20% around county seats by population (σ 3 km), 20% anywhere in the bounding range.
pub fn generate_queries(geography: &Geography, count: usize, seed: u64) -> Vec<QueryPoint> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x9E37_79B9_7F4A_7C15);
    (0..count)
        .map(|_| {
            let draw: f64 = rng.random();
            if draw < 0.6 {
                let (_, centre) = geography.city_centres[rng.random_range(0..geography.city_centres.len())];
                QueryPoint { center: scatter(&mut rng, centre, 4_000.0), kind: QueryKind::CityCentre }
            } else if draw < 0.8 {
                let seat = geography.weighted_seat(&mut rng).location;
                QueryPoint { center: scatter(&mut rng, seat, 3_000.0), kind: QueryKind::CountySeat }
            } else {
                QueryPoint { center: uniform_point(&mut rng), kind: QueryKind::Random }
            }
        })
        .collect()
}

fn venue_query(point: &QueryPoint, radius: RadiusM) -> VenueQuery {
    VenueQuery { near: Some(Near { center: point.center, radius }), limit: LIMIT, ..VenueQuery::default() }
}

/// The API query string of a point; 6 decimals (~0.1 m) as a map client would send.
fn query_string(point: &QueryPoint, radius_m: f64, strategy: SearchStrategy) -> String {
    let strategy = match strategy {
        SearchStrategy::Index => "",
        SearchStrategy::Scan => "&strategy=scan",
    };
    format!("lat={:.6}&lng={:.6}&radius_m={radius_m}&limit={LIMIT}{strategy}", point.center.lat(), point.center.lng())
}

/// The centre the server sees after the query string's rounding, so expected answers match exactly.
fn as_sent(point: &QueryPoint) -> QueryPoint {
    let round = |value: f64| format!("{value:.6}").parse::<f64>().expect("a formatted number parses");
    QueryPoint { center: LatLng::new(round(point.center.lat()), round(point.center.lng())).expect("rounding stays in range"), kind: point.kind }
}

// ---------------------------------------------------------------------------------------------------
// Machine

struct Machine {
    cores: usize,
    cpu: String,
    memory: String,
}

/// The 1-, 5- and 15-minute load averages: other work on the machine skews the numbers.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_else(|_| "unknown".into())
}

fn machine() -> Machine {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name").and_then(|rest| rest.split_once(':')).map(|(_, name)| name.trim().to_string()))
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    Machine { cores, cpu, memory }
}

// ---------------------------------------------------------------------------------------------------
// The benchmark

fn bar(length: u64, message: &'static str) -> ProgressBar {
    let progress = ProgressBar::new(length);
    progress.set_style(ProgressStyle::with_template("{msg:>22} [{bar:40}] {pos}/{len} ({elapsed})").expect("valid template").progress_chars("=> "));
    progress.set_message(message);
    progress
}

struct Row {
    part: String,
    strategy: &'static str,
    summary: Summary,
}

async fn search(args: SearchArgs) -> anyhow::Result<ExitCode> {
    ensure!(args.radius_m.is_finite() && args.radius_m > 0.0, "--radius-m must be a positive number");
    let radius = RadiusM::new(args.radius_m).map_err(|error| anyhow::anyhow!("--radius-m: {error}"))?;
    let venue_count = args.venues as usize;
    let query_count = args.queries as usize;
    let http_count = args.http_queries as usize;
    let command = resolved_command(&args);
    let machine = machine();
    println!("FitForAll benchmark: nearby venue search, spatial index vs full scan");
    println!("  command:  {}", std::env::args().collect::<Vec<_>>().join(" "));
    println!("  resolved: {command}");
    println!("  machine:  {} cores (nproc), {}, {} memory", machine.cores, machine.cpu, machine.memory);
    println!("  date:     {}", chrono::Local::now().format("%Y-%m-%d %H:%M %Z"));
    let load_before = load_average();
    println!("  load:     {load_before} (1, 5, 15 min) before the run");
    if cfg!(debug_assertions) {
        println!("  WARNING: this is a debug build; build with `cargo build --release -p fitforall` for meaningful numbers");
    }

    // Data.
    let started = Instant::now();
    let regions =
        fitforall_server::reference::embedded_regions().map_err(|errors| anyhow::anyhow!("embedded regions: {} errors, first: {}", errors.len(), errors[0]))?;
    let (tree, _) = RegionTree::build(regions)?;
    let geography = Geography::load(&tree)?;
    let progress = bar(venue_count as u64, "generating venues");
    let venues = generate_venues(&geography, &tree, venue_count, args.seed, &progress)?;
    progress.finish_and_clear();
    let catalog = Arc::new(VenueCatalog::new(venues.clone(), 1));
    let points = generate_queries(&geography, query_count.max(http_count), args.seed);
    println!(
        "  data:     {} venues in {} counties, {} query points (60% near city centres, 20% near county seats, 20% random), radius {} m, limit {LIMIT} ({:.1} s)",
        catalog.len(),
        geography.seats.len(),
        points.len(),
        args.radius_m,
        started.elapsed().as_secs_f64()
    );

    // In-process.
    let mut rows = Vec::new();
    let (in_process, hits) = {
        let catalog = catalog.clone();
        let points = points[..query_count].to_vec();
        let max_seconds = args.max_seconds;
        tokio::task::spawn_blocking(move || bench_in_process(&catalog, &points, radius, max_seconds)).await??
    };
    println!(
        "  matches:  {:.0} venues within the radius on average (median {}, most {}), {:.0}% of queries find none",
        hits.mean_total,
        hits.median_total,
        hits.max_total,
        hits.share_empty * 100.0
    );
    rows.push(Row { part: "in-process".into(), strategy: "index", summary: summarize(&in_process[0]) });
    rows.push(Row { part: "in-process".into(), strategy: "scan", summary: summarize(&in_process[1]) });

    // The application, on a database holding the same venues.
    let mut http_rows = Vec::new();
    let mut response_bytes = None;
    if http_count > 0 {
        let temporary = tempfile::tempdir().context("cannot create a temporary directory")?;
        let url = match &args.database {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", temporary.path().join("bench.db").display()),
        };
        let loading = Instant::now();
        load_database(&url, &venues).await?;
        println!("  database: {} venues written to {} in {:.1} s", venues.len(), fitforall_server::startup::redact(&url), loading.elapsed().as_secs_f64());
        drop(venues);
        let starting = Instant::now();
        let mut config = fitforall_server::config::ServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), url.clone());
        config.allow_scan_strategy = true;
        let application = fitforall_server::startup::Application::build(config).await.context("cannot start the application")?;
        let loaded = application.state.snapshot().catalog.len();
        ensure!(loaded == catalog.len(), "the application loaded {loaded} venues, expected {}", catalog.len());
        println!("  startup:  the application loaded {loaded} venues and built its catalog in {:.1} s", starting.elapsed().as_secs_f64());
        let address = application.local_addr();
        let state = application.state.clone();

        // The handler without HTTP: parameters, search, views, JSON.
        let handler = {
            let state = state.clone();
            let points = points[..query_count].to_vec();
            let radius_m = args.radius_m;
            let max_seconds = args.max_seconds;
            tokio::task::spawn_blocking(move || bench_handler(&state, &points, radius_m, max_seconds)).await??
        };
        rows.push(Row { part: "handler, no HTTP".into(), strategy: "index", summary: summarize(&handler[0]) });
        rows.push(Row { part: "handler, no HTTP".into(), strategy: "scan", summary: summarize(&handler[1]) });
        drop(state);

        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(application.serve(async move {
            let _ = stopped.await;
        }));
        let outcome = bench_http(address, &catalog, &points[..http_count], &args).await;
        let _ = stop.send(());
        match tokio::time::timeout(Duration::from_secs(30), server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => eprintln!("warning: the server stopped with an error: {error}"),
            Ok(Err(error)) => eprintln!("warning: the server task failed: {error}"),
            Err(_) => eprintln!("warning: the server did not stop within 30 s"),
        }
        let (http, bytes) = outcome?;
        response_bytes = Some(bytes);
        let part = format!("HTTP, {} clients", args.concurrency);
        http_rows.push(Row { part: part.clone(), strategy: "index", summary: summarize(&http[0]) });
        http_rows.push(Row { part, strategy: "scan", summary: summarize(&http[1]) });
        drop(temporary);
    }
    rows.extend(http_rows);

    println!();
    print_table(&rows);
    if let Some(bytes) = response_bytes {
        println!("Mean HTTP response body: {:.1} KB. Every answer of each strategy equalled the in-process index answer.", bytes / 1000.0);
    }
    println!();
    println!("Command: {command}");
    println!("Machine: {} cores (nproc), {}, {} memory", machine.cores, machine.cpu, machine.memory);
    println!("Load average (1, 5, 15 min): {load_before} before, {} after", load_average());
    Ok(ExitCode::SUCCESS)
}

/// The command with every option spelled out (defaults included), for BENCHMARKS.md.
fn resolved_command(args: &SearchArgs) -> String {
    let mut command = format!(
        "fitforall bench search --venues {} --queries {} --radius-m {} --http-queries {} --concurrency {} --seed {} --max-seconds {}",
        args.venues, args.queries, args.radius_m, args.http_queries, args.concurrency, args.seed, args.max_seconds
    );
    if let Some(url) = &args.database {
        command.push_str(&format!(" --database {}", fitforall_server::startup::redact(url)));
    }
    command
}

fn print_table(rows: &[Row]) {
    println!("{:<18} {:<8} {:>8} {:>12} {:>11} {:>11} {:>11} {:>13}", "part", "strategy", "queries", "queries/s", "p50", "p99", "max", "index ÷ scan");
    println!("{}", "-".repeat(98));
    for pair in rows.chunks(2) {
        for (position, row) in pair.iter().enumerate() {
            let ratio_text = if position == 0 && pair.len() == 2 { format!("{:.1}×", ratio(&pair[0].summary, &pair[1].summary)) } else { String::new() };
            println!(
                "{:<18} {:<8} {:>8} {:>12.1} {:>11} {:>11} {:>11} {:>13}",
                row.part,
                row.strategy,
                row.summary.count,
                row.summary.qps,
                ms(row.summary.p50),
                ms(row.summary.p99),
                ms(row.summary.max),
                ratio_text
            );
        }
    }
}

struct HitStats {
    mean_total: f64,
    median_total: usize,
    max_total: usize,
    share_empty: f64,
}

/// Runs every query with both strategies (alternating which goes first), checks the answers are
/// identical, and times each search.
fn bench_in_process(catalog: &VenueCatalog, points: &[QueryPoint], radius: RadiusM, max_seconds: u64) -> anyhow::Result<([Samples; 2], HitStats)> {
    for point in points.iter().cycle().take(WARM_UP) {
        for strategy in [SearchStrategy::Index, SearchStrategy::Scan] {
            std::hint::black_box(catalog.search(&venue_query(point, radius), strategy));
        }
    }
    let progress = bar(points.len() as u64, "in-process");
    let budget = Budget::new(max_seconds);
    let mut samples = [Samples::default(), Samples::default()];
    let mut totals = Vec::with_capacity(points.len());
    for chunk in points.chunks(ROUND) {
        for point in chunk {
            let query = venue_query(point, radius);
            let mut answers = Vec::with_capacity(2);
            // Alternate which strategy goes first from query to query.
            for strategy in strategies_for_round(totals.len()) {
                let started = Instant::now();
                let result = std::hint::black_box(catalog.search(std::hint::black_box(&query), strategy));
                let elapsed = started.elapsed();
                samples[slot(strategy)].latencies.push(elapsed);
                samples[slot(strategy)].wall += elapsed;
                answers.push(result);
            }
            if answers[0] != answers[1] {
                bail!("index and scan disagree for {:?} within {} m: {} vs {} matches", point.center, radius.get(), answers[0].total, answers[1].total);
            }
            totals.push(answers[0].total);
        }
        progress.set_position(totals.len() as u64);
        if budget.exhausted() {
            progress.println(format!("in-process: time budget used up after {} queries per strategy", totals.len()));
            break;
        }
    }
    progress.finish_and_clear();
    let mut sorted = totals.clone();
    sorted.sort_unstable();
    let hits = HitStats {
        mean_total: totals.iter().sum::<usize>() as f64 / totals.len().max(1) as f64,
        median_total: sorted.get(sorted.len() / 2).copied().unwrap_or(0),
        max_total: sorted.last().copied().unwrap_or(0),
        share_empty: totals.iter().filter(|total| **total == 0).count() as f64 / totals.len().max(1) as f64,
    };
    Ok((samples, hits))
}

/// The API's work without the network: parse the parameters, search, build the views, write JSON.
fn bench_handler(state: &fitforall_server::state::AppState, points: &[QueryPoint], radius_m: f64, max_seconds: u64) -> anyhow::Result<[Samples; 2]> {
    use fitforall_server::api::venues::run_search;
    use fitforall_server::params::Params;
    let run = |point: &QueryPoint, strategy| -> anyhow::Result<Vec<u8>> {
        let params = Params::parse(&query_string(point, radius_m, strategy)).map_err(|error| anyhow::anyhow!("{error:?}"))?;
        let list = run_search(state, &params).map_err(|error| anyhow::anyhow!("{error:?}"))?;
        Ok(serde_json::to_vec(&list)?)
    };
    for point in points.iter().cycle().take(WARM_UP) {
        for strategy in [SearchStrategy::Index, SearchStrategy::Scan] {
            std::hint::black_box(run(point, strategy)?);
        }
    }
    let progress = bar(points.len() as u64, "handler, no HTTP");
    let budget = Budget::new(max_seconds);
    let mut samples = [Samples::default(), Samples::default()];
    let mut done = 0;
    for chunk in points.chunks(ROUND) {
        for (offset, point) in chunk.iter().enumerate() {
            for strategy in strategies_for_round(done + offset) {
                let started = Instant::now();
                std::hint::black_box(run(point, strategy)?);
                let elapsed = started.elapsed();
                samples[slot(strategy)].latencies.push(elapsed);
                samples[slot(strategy)].wall += elapsed;
            }
        }
        done += chunk.len();
        progress.set_position(done as u64);
        if budget.exhausted() {
            progress.println(format!("handler: time budget used up after {done} queries per strategy"));
            break;
        }
    }
    progress.finish_and_clear();
    Ok(samples)
}

/// Writes the venues into the database (which must hold none), in chunks for the progress bar.
async fn load_database(url: &str, venues: &[Venue]) -> anyhow::Result<()> {
    let redacted = fitforall_server::startup::redact(url);
    let store = fitforall_store::Store::connect(url).await.with_context(|| format!("cannot open the database {redacted}"))?;
    fitforall_server::startup::seed_regions_if_empty(&store).await?;
    let (existing, _) = store.load_venues().await?;
    if !existing.is_empty() {
        bail!("the benchmark needs a database without venues, but {redacted} holds {}", existing.len());
    }
    let progress = bar(venues.len() as u64, "loading the database");
    let now = chrono::Utc::now();
    // upsert_venues reads the whole table on every call, so few large chunks.
    for chunk in venues.chunks(25_000) {
        store.upsert_venues(chunk, now).await?;
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    store.close().await;
    Ok(())
}

/// What the API answers, as far as the check needs it.
#[derive(serde::Deserialize)]
struct ListBody {
    total: usize,
    items: Vec<ItemBody>,
}

#[derive(serde::Deserialize)]
struct ItemBody {
    id: String,
}

struct Expected {
    total: usize,
    ids: Vec<String>,
}

/// Fires the queries at the running application with `concurrency` clients (one keep-alive
/// connection each), in rounds alternating which strategy goes first; checks every answer against
/// the in-process index answer. Returns the samples and the mean response size in bytes.
async fn bench_http(address: SocketAddr, catalog: &VenueCatalog, points: &[QueryPoint], args: &SearchArgs) -> anyhow::Result<([Samples; 2], f64)> {
    let radius = RadiusM::new(args.radius_m)?;
    let base = format!("http://{address}/api/v1/venues?");
    let expected: Arc<Vec<Expected>> = Arc::new(
        points
            .iter()
            .map(|point| {
                let result = catalog.search(&venue_query(&as_sent(point), radius), SearchStrategy::Index);
                Expected { total: result.total, ids: result.hits.iter().map(|hit| catalog.at(hit.position).id.to_string()).collect() }
            })
            .collect(),
    );
    let urls: Arc<Vec<[String; 2]>> = Arc::new(
        points
            .iter()
            .map(|point| [SearchStrategy::Index, SearchStrategy::Scan].map(|strategy| format!("{base}{}", query_string(point, args.radius_m, strategy))))
            .collect(),
    );
    let clients: Vec<reqwest::Client> = (0..args.concurrency)
        .map(|_| reqwest::Client::builder().pool_max_idle_per_host(1).timeout(Duration::from_secs(30)).build())
        .collect::<Result<_, _>>()?;
    let health = clients[0].get(format!("http://{address}/healthz")).send().await.context("the application does not answer")?;
    ensure!(health.status().is_success(), "/healthz answered {}", health.status());

    // Warm up: connections open, caches warm.
    let warm: Vec<usize> = (0..WARM_UP.min(points.len())).collect();
    for strategy in [SearchStrategy::Index, SearchStrategy::Scan] {
        run_http_phase(&clients, &urls, &expected, &warm, strategy).await?;
    }

    let progress = bar(points.len() as u64, "HTTP");
    let budget = Budget::new(args.max_seconds);
    let mut samples = [Samples::default(), Samples::default()];
    let mut bytes = 0u64;
    let mut done = 0;
    let indices: Vec<usize> = (0..points.len()).collect();
    for (round, chunk) in indices.chunks(ROUND).enumerate() {
        for strategy in strategies_for_round(round) {
            let started = Instant::now();
            let (latencies, body_bytes) = run_http_phase(&clients, &urls, &expected, chunk, strategy).await?;
            samples[slot(strategy)].wall += started.elapsed();
            samples[slot(strategy)].latencies.extend(latencies);
            bytes += body_bytes;
        }
        done += chunk.len();
        progress.set_position(done as u64);
        if budget.exhausted() {
            progress.println(format!("HTTP: time budget used up after {done} queries per strategy"));
            break;
        }
    }
    progress.finish_and_clear();
    let responses = samples[0].latencies.len() + samples[1].latencies.len();
    Ok((samples, bytes as f64 / responses.max(1) as f64))
}

/// One strategy over some queries: every client takes the next query until none is left.
async fn run_http_phase(
    clients: &[reqwest::Client],
    urls: &Arc<Vec<[String; 2]>>,
    expected: &Arc<Vec<Expected>>,
    indices: &[usize],
    strategy: SearchStrategy,
) -> anyhow::Result<(Vec<Duration>, u64)> {
    let next = Arc::new(AtomicUsize::new(0));
    let indices: Arc<Vec<usize>> = Arc::new(indices.to_vec());
    let mut workers = Vec::with_capacity(clients.len());
    for client in clients {
        let (client, urls, expected, next, indices) = (client.clone(), urls.clone(), expected.clone(), next.clone(), indices.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut bytes = 0u64;
            loop {
                let position = next.fetch_add(1, Ordering::Relaxed);
                let Some(&index) = indices.get(position) else { break };
                let url = &urls[index][slot(strategy)];
                let started = Instant::now();
                let response = client.get(url).send().await.with_context(|| format!("GET {url}"))?;
                let status = response.status();
                let body = response.bytes().await.with_context(|| format!("GET {url}: reading the body"))?;
                latencies.push(started.elapsed());
                bytes += body.len() as u64;
                if !status.is_success() {
                    bail!("GET {url} answered {status}: {}", String::from_utf8_lossy(&body));
                }
                let list: ListBody = serde_json::from_slice(&body).with_context(|| format!("GET {url}: not a venue list"))?;
                let want = &expected[index];
                let ids: Vec<&str> = list.items.iter().map(|item| item.id.as_str()).collect();
                if list.total != want.total || ids != want.ids {
                    bail!("GET {url}: {} matches {:?}, but in-process the index finds {} matches {:?}", list.total, ids, want.total, want.ids);
                }
            }
            anyhow::Ok((latencies, bytes))
        }));
    }
    let mut latencies = Vec::with_capacity(indices.len());
    let mut bytes = 0;
    for worker in workers {
        let (mut more, more_bytes) = worker.await??;
        latencies.append(&mut more);
        bytes += more_bytes;
    }
    Ok((latencies, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::LazyLock;

    static TREE: LazyLock<RegionTree> = LazyLock::new(|| RegionTree::build(fitforall_server::reference::embedded_regions().unwrap()).unwrap().0);

    fn millis(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|value| Duration::from_millis(*value)).collect()
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let hundred = millis(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&hundred, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&hundred, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&hundred, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&hundred, 0.0), Duration::from_millis(1));
        let ten = millis(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(percentile(&ten, 50.0), Duration::from_millis(5));
        assert_eq!(percentile(&ten, 99.0), Duration::from_millis(10), "p99 of 10 samples is the largest");
        assert_eq!(percentile(&millis(&[7]), 99.0), Duration::from_millis(7));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn summary_counts_throughput_over_wall_time() {
        let samples = Samples { latencies: millis(&[3, 1, 2, 4]), wall: Duration::from_secs(2) };
        let summary = summarize(&samples);
        assert_eq!(summary.count, 4);
        assert!((summary.qps - 2.0).abs() < 1e-9);
        assert_eq!((summary.p50, summary.p99, summary.max), (Duration::from_millis(2), Duration::from_millis(4), Duration::from_millis(4)));
        let scan = Summary { qps: 0.5, ..summary };
        assert!((ratio(&summary, &scan) - 4.0).abs() < 1e-9);
        assert!(ratio(&summary, &Summary { qps: 0.0, ..summary }).is_nan());
    }

    #[test]
    fn strategies_alternate_between_rounds() {
        assert_eq!(strategies_for_round(0), [SearchStrategy::Index, SearchStrategy::Scan]);
        assert_eq!(strategies_for_round(1), [SearchStrategy::Scan, SearchStrategy::Index]);
    }

    #[test]
    fn generation_is_deterministic_and_valid() {
        let geography = Geography::load(&TREE).unwrap();
        let hidden = ProgressBar::hidden();
        let venues = generate_venues(&geography, &TREE, 2_000, 7, &hidden).unwrap();
        assert_eq!(venues, generate_venues(&geography, &TREE, 2_000, 7, &hidden).unwrap());
        assert_ne!(venues, generate_venues(&geography, &TREE, 2_000, 8, &hidden).unwrap());
        let zhejiang = RegionCode::parse("33").unwrap();
        for venue in &venues {
            assert!(TREE.contains(venue.region) && zhejiang.contains(venue.region) && venue.region.level() == RegionLevel::County, "{:?}", venue.region);
            let (lat, lng) = (venue.location.lat(), venue.location.lng());
            assert!((LAT_RANGE.0..=LAT_RANGE.1).contains(&lat) && (LNG_RANGE.0..=LNG_RANGE.1).contains(&lng), "{lat}, {lng}");
        }
        let ids: std::collections::HashSet<_> = venues.iter().map(|venue| venue.id.clone()).collect();
        assert_eq!(ids.len(), venues.len());
        // Clustered: most venues within 15 km of some county seat, and every city has some.
        let near_a_seat = venues.iter().filter(|venue| geography.nearest_seat(venue.location).location.distance_m(venue.location) < 15_000.0).count();
        assert!(near_a_seat * 10 > venues.len() * 8, "{near_a_seat} of {}", venues.len());
        for (city, _) in &geography.city_centres {
            assert!(venues.iter().any(|venue| city.contains(venue.region)), "no venue in {city:?}");
        }
        let queries = generate_queries(&geography, 500, 7);
        assert_eq!(queries, generate_queries(&geography, 500, 7));
        let random = queries.iter().filter(|query| query.kind == QueryKind::Random).count();
        assert!((50..=150).contains(&random), "{random} random query points of 500");
    }

    #[test]
    fn query_strings_round_like_the_server_parses() {
        let point = QueryPoint { center: LatLng::new(30.123_456_789, 120.987_654_321).unwrap(), kind: QueryKind::Random };
        assert_eq!(query_string(&point, 2000.0, SearchStrategy::Index), "lat=30.123457&lng=120.987654&radius_m=2000&limit=50");
        assert_eq!(query_string(&point, 2000.0, SearchStrategy::Scan), "lat=30.123457&lng=120.987654&radius_m=2000&limit=50&strategy=scan");
        let sent = as_sent(&point);
        assert_eq!((sent.center.lat(), sent.center.lng()), (30.123457, 120.987654));
    }

    #[test]
    fn small_catalog_index_and_scan_agree() {
        let geography = Geography::load(&TREE).unwrap();
        let venues = generate_venues(&geography, &TREE, 3_000, 1, &ProgressBar::hidden()).unwrap();
        let catalog = VenueCatalog::new(venues, 1);
        let points = generate_queries(&geography, 150, 1);
        let (samples, hits) = bench_in_process(&catalog, &points, RadiusM::new(2_000.0).unwrap(), 60).unwrap();
        assert_eq!((samples[0].latencies.len(), samples[1].latencies.len()), (150, 150));
        assert!(hits.mean_total > 0.0);
    }
}
