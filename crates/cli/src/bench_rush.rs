//! `fitforall bench rush`: the 08:00 booking rush (issue 4).
//!
//! N virtual residents, each with an account and an API token, book one place each on one of S
//! slots of P places (a seeded random choice), all released at once. The same rush runs four
//! times on four copies of one prepared database:
//!
//! 1. over HTTP against K `fitforall serve` processes of this binary, booking mode `batched`;
//! 2. the same with booking mode `naive` (one transaction per request);
//! 3. in-process, without HTTP: N tasks calling `state.booking().book(…)` on an `Application`'s
//!    state, batched;
//! 4. the same, naive.
//!
//! Each resident's token is marked as used shortly before the rush (residents watching the grid
//! before it opens), so the server does not record its use again during the rush (it writes
//! `last_used_at` at most once a minute); `--cold-tokens` leaves them unused.
//!
//! After each run the database is checked: `Store::audit_slot_counts` (every slot's `taken` equals
//! the places of its bookings) and every slot's `taken <= capacity`. Persisted bookings are the sum
//! of `taken` over the benchmark's slots (one place per booking, and the audit proves the sum equals
//! the bookings' places).

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use clap::Args;
use fitforall_core::booking::{BookingRulesInput, Refusal, ResourceId, SlotId, SlotRuleInput};
use fitforall_core::policy::AccountId;
use fitforall_core::venue::{VenueId, VenueInput};
use fitforall_server::booking_engine::{BookOutcome, BookingMode};
use fitforall_store::{BatchRequest, MAX_BULK_RESIDENTS, MAX_TOKEN_LOOKUP_BATCH, NewResidentWithToken, Resource, Store};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{Semaphore, watch};

use crate::bench::percentile;
use crate::settings::booking_mode_name;

#[derive(Args, Debug, Clone)]
pub struct RushArgs {
    /// Virtual residents; each sends one booking request (one place), all released at once.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=MAX_USERS))]
    pub users: u64,
    /// Slots they book (on one venue; 168 per resource, over the next 14 days).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=MAX_SLOTS))]
    pub slots: u64,
    /// Places per slot.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=i64::from(fitforall_core::booking::MAX_PLACES_PER_SLOT)))]
    pub places: u32,
    /// An EMPTY database: sqlite://PATH or postgres://…/NAME (create it first, e.g. with psql). It
    /// holds the HTTP batched run; three copies are made next to it (`NAME_naive`,
    /// `NAME_inproc_batched`, `NAME_inproc_naive`; files `PATH_naive.db` …) and removed at the end
    /// unless --keep-databases. Default: fresh SQLite files in a temporary directory.
    #[arg(long)]
    pub database: Option<String>,
    /// Server processes (`fitforall serve`) for the HTTP runs; residents are spread over them round-robin.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub processes: u32,
    /// Requests in flight at once (HTTP: keep-alive connections, opened before the rush); the
    /// residents beyond it wait for a free one. The same bound applies in-process.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=MAX_CONCURRENCY))]
    pub concurrency: u64,
    /// Seed of the residents' slot choices.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// A resident refused with "full" tries once more, on the first alternative the answer offers (HTTP only).
    #[arg(long)]
    pub retry_alternative: bool,
    /// The batched engine's shard workers per process (default: the server's, 1 on SQLite and 4 on
    /// PostgreSQL). Given to the server processes in a generated config file's [booking] table.
    #[arg(long)]
    pub shards: Option<usize>,
    /// The batched engine's batch window, milliseconds (default: the server's).
    #[arg(long)]
    pub batch_window_ms: Option<u64>,
    /// The batched engine's largest batch (default: the server's).
    #[arg(long)]
    pub max_batch: Option<usize>,
    /// Which booking modes to run: both (the ratio needs both), batched or naive.
    #[arg(long, default_value = "both", value_parser = ["both", "batched", "naive"])]
    pub modes: String,
    /// Skip the HTTP runs.
    #[arg(long)]
    pub skip_http: bool,
    /// Skip the in-process runs.
    #[arg(long)]
    pub skip_in_process: bool,
    /// In-process runs: this many of each mode, each on a fresh copy of the prepared database
    /// (`NAME_inproc_batched_2` …); the ratio and the in-process target take the median run. This
    /// machine's speed moves by ±30 % from minute to minute, so one run can land on either side of
    /// a target.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Keep the three database copies (and the temporary SQLite directory).
    #[arg(long)]
    pub keep_databases: bool,
    /// Also measure, in-process, what authenticating one API request costs: the store call the
    /// `Caller` extractor makes (`Store::api_token`, with the owner's grants), for every resident
    /// at once with the same concurrency: first with each token's use to record (a write), then
    /// again right after (reads only).
    #[arg(long)]
    pub probe_auth: bool,
    /// Do not mark the residents' tokens as used. By default the setup records each token's use
    /// dated an hour ahead, so that the rush finds it recorded "within the last minute"
    /// (`TOKEN_USE_RECORD_INTERVAL_S`), as for residents watching the grid before it opens; with this
    /// flag every rush request is also its token's first use, which the server records (a write).
    #[arg(long)]
    pub cold_tokens: bool,
    /// Append the server processes' logs (stderr) to this file. Their log filter is
    /// FITFORALL_RUSH_SERVER_LOG, default `warn,fitforall_server::booking_engine=debug` (the batch
    /// lines are always read for the batch statistics).
    #[arg(long)]
    pub server_log: Option<PathBuf>,
}

pub const MAX_USERS: u64 = 1_000_000;
/// At most this many in-process runs per mode (`--repeat`).
pub const MAX_REPEAT: u32 = 20;
pub const MAX_SLOTS: u64 = 20_000;
/// At most this many connections (each one a file descriptor on both sides).
pub const MAX_CONCURRENCY: u64 = 10_000;
/// Slots per resource and day: 08:00–20:00, one hour each.
const SLOTS_PER_DAY: usize = 12;
/// The booking window: open now (00:00) for the next 14 days.
const DAYS_AHEAD: u32 = 14;
/// Bookable future slots per resource (tomorrow through today + 14).
pub const SLOTS_PER_RESOURCE: usize = SLOTS_PER_DAY * DAYS_AHEAD as usize;
const VENUE_ID: &str = "rush-venue";
const VENUE_REGION: &str = "330106";

/// Cross-field checks clap cannot express.
pub fn validate(args: &RushArgs) -> anyhow::Result<()> {
    ensure!(!(args.skip_http && args.skip_in_process), "--skip-http and --skip-in-process together leave nothing to run");
    ensure!((1..=MAX_REPEAT).contains(&args.repeat), "--repeat must be between 1 and {MAX_REPEAT}, not {}", args.repeat);
    crate::settings::booking_config(&engine_settings(args), None)?;
    if let Some(url) = &args.database {
        match backend_of(url) {
            Some(Backend::Sqlite) => {
                let path = sqlite_path(url).with_context(|| format!("{url:?} names no SQLite file (sqlite://PATH)"))?;
                ensure!(path.to_str() != Some(":memory:"), "an in-memory SQLite database cannot be shared with server processes");
            }
            Some(Backend::Postgres) => {
                let name = postgres_database_name(url).with_context(|| format!("{} names no database: postgres://USER@HOST:PORT/NAME", redact(url)))?;
                ensure!(
                    !name.is_empty() && name.len() <= 40 && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_'),
                    "the database name {name:?} must have 1 to 40 letters, digits or underscores (copies are named {name}_naive …)"
                );
            }
            None => bail!("unsupported database URL {}: use sqlite://PATH or postgres://…/NAME", redact(url)),
        }
    }
    Ok(())
}

/// The `[booking]` settings the runs use (the mode is set per run).
fn engine_settings(args: &RushArgs) -> crate::settings::BookingSettings {
    crate::settings::BookingSettings { mode: None, shards: args.shards, batch_window_ms: args.batch_window_ms, max_batch: args.max_batch }
}

/// The same settings as a config file for the server processes (which then ignore ./fitforall.toml).
fn engine_config_file(args: &RushArgs, directory: &Path) -> anyhow::Result<PathBuf> {
    let mut text = String::from("[booking]\n");
    if let Some(shards) = args.shards {
        text += &format!("shards = {shards}\n");
    }
    if let Some(window) = args.batch_window_ms {
        text += &format!("batch_window_ms = {window}\n");
    }
    if let Some(max_batch) = args.max_batch {
        text += &format!("max_batch = {max_batch}\n");
    }
    let path = directory.join("rush-server.toml");
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn redact(url: &str) -> String {
    fitforall_server::startup::redact(url)
}

/// Target slots per resource: as few resources as hold `slots`, the slots spread evenly over them.
pub fn layout(slots: usize) -> Vec<usize> {
    let resources = slots.div_ceil(SLOTS_PER_RESOURCE).max(1);
    (0..resources).map(|index| slots / resources + usize::from(index < slots % resources)).collect()
}

/// Each resident's slot (an index into the target slots), drawn uniformly with a seeded RNG.
pub fn assign_slots(users: usize, slots: usize, seed: u64) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..users).map(|_| rng.random_range(0..slots)).collect()
}

// ---------------------------------------------------------------------------------------------------
// Databases

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

pub fn backend_of(url: &str) -> Option<Backend> {
    if url.starts_with("sqlite:") {
        Some(Backend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Some(Backend::Postgres)
    } else {
        None
    }
}

/// The file of a `sqlite://PATH` or `sqlite:PATH` URL (without `?…`).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty()).then(|| PathBuf::from(path))
}

/// `dir/name.db` → `dir/name_SUFFIX.db`.
pub fn sqlite_sibling(path: &Path, suffix: &str) -> PathBuf {
    let stem = path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match path.extension() {
        Some(extension) => format!("{stem}_{suffix}.{}", extension.to_string_lossy()),
        None => format!("{stem}_{suffix}"),
    };
    path.with_file_name(name)
}

/// Splits a PostgreSQL URL into (before the database name, the name, `?…` or "").
fn postgres_parts(url: &str) -> (&str, &str, &str) {
    let (base, query) = match url.find('?') {
        Some(at) => (&url[..at], &url[at..]),
        None => (url, ""),
    };
    let authority = base.find("://").map(|at| at + 3).unwrap_or(0);
    match base[authority..].find('/') {
        Some(slash) => (&base[..authority + slash], &base[authority + slash + 1..], query),
        None => (base, "", query),
    }
}

pub fn postgres_database_name(url: &str) -> Option<String> {
    let (_, name, _) = postgres_parts(url);
    (!name.is_empty()).then(|| name.to_string())
}

/// The same server and options, another database.
pub fn with_database_name(url: &str, name: &str) -> String {
    let (base, _, query) = postgres_parts(url);
    format!("{base}/{name}{query}")
}

/// The four runs, each on its own copy of the prepared database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    HttpBatched,
    HttpNaive,
    InProcessBatched,
    InProcessNaive,
}

impl Run {
    const ALL: [Run; 4] = [Run::HttpBatched, Run::HttpNaive, Run::InProcessBatched, Run::InProcessNaive];

    fn mode(self) -> BookingMode {
        match self {
            Run::HttpBatched | Run::InProcessBatched => BookingMode::Batched,
            Run::HttpNaive | Run::InProcessNaive => BookingMode::Naive,
        }
    }

    fn http(self) -> bool {
        matches!(self, Run::HttpBatched | Run::HttpNaive)
    }

    /// The copy's suffix (the HTTP batched run uses the given database itself).
    fn suffix(self) -> Option<&'static str> {
        match self {
            Run::HttpBatched => None,
            Run::HttpNaive => Some("naive"),
            Run::InProcessBatched => Some("inproc_batched"),
            Run::InProcessNaive => Some("inproc_naive"),
        }
    }
}

/// Where the four runs' databases are, and what to remove at the end.
struct Databases {
    backend: Backend,
    /// By run and repeat (1 for the first).
    urls: BTreeMap<(usize, u32), String>,
    description: String,
    /// Copies to remove (SQLite files; PostgreSQL databases with the URL to drop them from).
    remove_files: Vec<PathBuf>,
    drop_databases: Vec<String>,
    admin_url: Option<String>,
    _temporary: Option<tempfile::TempDir>,
}

impl Databases {
    fn url(&self, run: Run, repeat: u32) -> &str {
        &self.urls[&(run as usize, repeat)]
    }
}

/// The copy's name suffix for a run's repeat (`inproc_batched`, `inproc_batched_2` …); `None` for the
/// HTTP batched run, which uses the given database itself.
fn copy_suffix(run: Run, repeat: u32) -> Option<String> {
    let suffix = run.suffix()?;
    Some(if repeat <= 1 { suffix.to_string() } else { format!("{suffix}_{repeat}") })
}

/// The primary database's URL (given, or a new temporary SQLite file).
fn primary_database(args: &RushArgs) -> anyhow::Result<(String, Option<tempfile::TempDir>)> {
    match &args.database {
        Some(url) => Ok((url.clone(), None)),
        None => {
            let directory = tempfile::Builder::new().prefix("fitforall-rush-").tempdir().context("cannot create a temporary directory")?;
            let url = format!("sqlite://{}", directory.path().join("rush.db").display());
            Ok((url, Some(directory)))
        }
    }
}

/// Copies the prepared primary database (closed) for the other runs.
async fn copy_databases(primary: &str, temporary: Option<tempfile::TempDir>, keep: bool, in_process_repeats: u32) -> anyhow::Result<Databases> {
    let backend = backend_of(primary).expect("validated");
    let mut urls = BTreeMap::new();
    urls.insert((Run::HttpBatched as usize, 1), primary.to_string());
    let copies: Vec<(Run, u32, String)> = Run::ALL
        .iter()
        .flat_map(|run| (1..=if run.http() { 1 } else { in_process_repeats }).map(move |repeat| (*run, repeat)))
        .filter_map(|(run, repeat)| copy_suffix(run, repeat).map(|suffix| (run, repeat, suffix)))
        .collect();
    let mut remove_files = Vec::new();
    let mut drop_databases = Vec::new();
    let mut admin_url = None;
    let description;
    match backend {
        Backend::Sqlite => {
            let path = sqlite_path(primary).expect("validated");
            for (run, repeat, suffix) in &copies {
                let copy = sqlite_sibling(&path, suffix);
                ensure!(!copy.exists(), "{} exists; remove it (the benchmark copies the prepared database there)", copy.display());
                std::fs::copy(&path, &copy).with_context(|| format!("cannot copy {} to {}", path.display(), copy.display()))?;
                let wal = PathBuf::from(format!("{}-wal", path.display()));
                if wal.exists() {
                    std::fs::copy(&wal, format!("{}-wal", copy.display()))?;
                }
                if !keep && temporary.is_none() {
                    for extra in ["", "-wal", "-shm"] {
                        remove_files.push(PathBuf::from(format!("{}{extra}", copy.display())));
                    }
                }
                urls.insert((*run as usize, *repeat), format!("sqlite://{}", copy.display()));
            }
            description = match &temporary {
                Some(directory) => format!("SQLite, fresh files in {} (WAL, synchronous=FULL)", directory.path().display()),
                None => format!("SQLite, {} and copies next to it (WAL, synchronous=FULL)", path.display()),
            };
        }
        Backend::Postgres => {
            let name = postgres_database_name(primary).expect("validated");
            let admin = with_database_name(primary, "postgres");
            use sqlx::Connection;
            let mut connection = sqlx::PgConnection::connect(&admin).await.with_context(|| format!("cannot connect to {}", redact(&admin)))?;
            for (run, repeat, suffix) in &copies {
                let copy = format!("{name}_{suffix}");
                let statement = format!("CREATE DATABASE \"{copy}\" TEMPLATE \"{name}\"");
                // The template must have no sessions; the prepared store's may take a moment to end.
                let mut attempt = 0;
                loop {
                    match sqlx::query(sqlx::AssertSqlSafe(statement.clone())).execute(&mut connection).await {
                        Ok(_) => break,
                        Err(error) if attempt < 20 && error.to_string().contains("being accessed by other users") => {
                            attempt += 1;
                            tokio::time::sleep(Duration::from_millis(250)).await;
                        }
                        Err(error) => bail!("cannot create the database {copy} from {name}: {error} (drop it first if it is left from an earlier run)"),
                    }
                }
                if !keep {
                    drop_databases.push(copy.clone());
                }
                urls.insert((*run as usize, *repeat), with_database_name(primary, &copy));
            }
            connection.close().await.ok();
            admin_url = Some(admin);
            description = format!("PostgreSQL, {} and copies {name}_naive, {name}_inproc_batched, {name}_inproc_naive", redact(primary));
        }
    }
    let temporary = match temporary {
        Some(directory) if keep => {
            eprintln!("keeping the databases in {}", directory.keep().display());
            None
        }
        other => other,
    };
    Ok(Databases { backend, urls, description, remove_files, drop_databases, admin_url, _temporary: temporary })
}

async fn remove_copies(databases: &mut Databases) {
    for file in databases.remove_files.drain(..) {
        let _ = std::fs::remove_file(file);
    }
    if let (Some(admin), false) = (&databases.admin_url, databases.drop_databases.is_empty()) {
        use sqlx::Connection;
        if let Ok(mut connection) = sqlx::PgConnection::connect(admin).await {
            for name in databases.drop_databases.drain(..) {
                if let Err(error) = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\""))).execute(&mut connection).await {
                    eprintln!("warning: could not drop the database {name}: {error}");
                }
            }
            connection.close().await.ok();
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Setup: regions, a venue, resources with open windows, slots, residents with API tokens

/// What the runs need to know about the prepared data (identical in every copy).
struct Fixture {
    resources: Vec<ResourceId>,
    /// The S slots the residents choose from.
    targets: Vec<SlotId>,
    /// Every resident's API token, by resident index.
    tokens: Vec<String>,
    accounts: Vec<AccountId>,
    /// Covers every slot of the resources (the generated ones the rush does not target, too).
    from: NaiveDateTime,
    to: NaiveDateTime,
}

fn bar(length: u64, message: &str) -> ProgressBar {
    let progress = ProgressBar::new(length);
    progress.set_style(ProgressStyle::with_template("{msg:>24} [{bar:40}] {pos}/{len} ({eta})").expect("valid template").progress_chars("=> "));
    progress.set_message(message.to_string());
    progress
}

fn open_window_rules() -> BookingRulesInput {
    BookingRulesInput { opens_at: Some("00:00".into()), days_ahead: Some(DAYS_AHEAD), ..BookingRulesInput::default() }
}

async fn prepare(store: &Store, args: &RushArgs, today: NaiveDate) -> anyhow::Result<Fixture> {
    ensure!(
        store.count_regions().await? == 0,
        "the benchmark needs an EMPTY database, but this one holds regions: create a new one (e.g. psql -c 'CREATE DATABASE rush')"
    );
    fitforall_server::startup::seed_regions_if_empty(store).await?;
    let regions = store.load_regions().await?;
    let input: VenueInput = serde_json::from_value(serde_json::json!({
        "id": VENUE_ID, "name": "抢约测试体育馆 Rush test gymnasium", "region_code": VENUE_REGION, "lat": 30.25, "lng": 120.15,
        "type": "gymnasium", "sports_area_m2": 3000, "sports": "badminton", "opening_hours": "Mo-Su 06:00-22:00"
    }))?;
    let venue = input
        .parse(VenueId::parse(VENUE_ID).map_err(anyhow::Error::msg)?, |code| regions.iter().any(|region| region.code == code))
        .map_err(|errors| anyhow::anyhow!("the benchmark venue is invalid: {errors:?}"))?;
    store.upsert_venues(&[venue], Utc::now()).await?;

    let slot_rule = SlotRuleInput {
        weekdays: "1-7".into(),
        start: "08:00".into(),
        end: "20:00".into(),
        slot_length_min: 60,
        places: args.places,
        price_fen: 0,
        reduced_price_fen: None,
    };
    let first_day = today + Days::new(1);
    let after_window = today + Days::new(u64::from(DAYS_AHEAD) + 1);
    let mut resources = Vec::new();
    let mut targets = Vec::new();
    for (index, wanted) in layout(args.slots as usize).into_iter().enumerate() {
        let now = Utc::now();
        let resource = Resource {
            id: ResourceId::parse(&format!("rush-court-{}", index + 1)).map_err(anyhow::Error::msg)?,
            venue: VenueId::parse(VENUE_ID).map_err(anyhow::Error::msg)?,
            province: "33".into(),
            name: format!("{} 号场", index + 1),
            kind: "court".into(),
            slot_rules: vec![slot_rule.parse().map_err(|errors| anyhow::anyhow!("slot rule: {errors:?}"))?],
            booking_rules: open_window_rules().parse().map_err(|errors| anyhow::anyhow!("booking rules: {errors:?}"))?,
            real_name: false,
            created_at: now,
            updated_at: now,
        };
        store.create_resource(&resource).await?;
        // Every slot the server's generation job would make, so that it makes none during the rush.
        let specs = fitforall_server::slot_generation::slots_to_create(&resource, &[], today, &[]);
        store.ensure_slots(&resource, &specs, &mut fitforall_server::auth::new_id).await?;
        let bookable = store.slots_between(&resource.id, first_day.and_time(NaiveTime::MIN), after_window.and_time(NaiveTime::MIN)).await?;
        ensure!(bookable.len() >= wanted, "resource {} has {} bookable slots, {wanted} wanted", resource.id, bookable.len());
        targets.extend(bookable.iter().take(wanted).map(|slot| slot.id));
        resources.push(resource.id);
    }

    // The residents in transactions of `MAX_BULK_RESIDENTS`: one transaction per resident made the
    // setup of 20,000 take two minutes.
    let users = args.users as usize;
    let progress = bar(users as u64, "residents and tokens");
    let mut accounts = Vec::with_capacity(users);
    let mut tokens = Vec::with_capacity(users);
    let mut residents = Vec::with_capacity(MAX_BULK_RESIDENTS.min(users));
    for index in 0..users {
        let id = AccountId::new(fitforall_server::auth::new_id());
        let (token, hash) = fitforall_server::auth::new_token();
        let account =
            fitforall_store::NewAccount {
                id, phone: format!("139{index:08}"), name: format!("居民 {index}"), password_hash: String::new(), home_region: None
            };
        residents.push(NewResidentWithToken { account, token_id: fitforall_server::auth::new_id(), token_hash: hash });
        accounts.push(id);
        tokens.push(token);
        if residents.len() == MAX_BULK_RESIDENTS || index + 1 == users {
            store.create_residents_with_tokens(&residents, "rush", Utc::now()).await.with_context(|| format!("residents up to {index}"))?;
            progress.inc(residents.len() as u64);
            residents.clear();
        }
    }
    progress.finish_and_clear();
    if !args.cold_tokens {
        use_tokens(store, &tokens, Utc::now() + chrono::Duration::minutes(TOKEN_USE_AHEAD_MIN)).await?;
    }
    Ok(Fixture {
        resources,
        targets,
        tokens,
        accounts,
        from: today.and_time(NaiveTime::MIN),
        to: (today + Days::new(u64::from(DAYS_AHEAD) + 4)).and_time(NaiveTime::MIN),
    })
}

// ---------------------------------------------------------------------------------------------------
// Results

/// What the database holds after a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Check {
    /// Places taken over all the benchmark's slots (= bookings: one place each).
    persisted: u64,
    /// Slots with `taken > capacity`.
    overbooked: usize,
    /// Slots whose `taken` differs from their bookings' places (`Store::audit_slot_counts`).
    audit_mismatches: usize,
    slots: usize,
}

async fn check_database(store: &Store, fixture: &Fixture) -> anyhow::Result<Check> {
    let audit = store.audit_slot_counts().await?;
    let mut check = Check { audit_mismatches: audit.len(), ..Check::default() };
    for resource in &fixture.resources {
        // slots_between returns at most 2,000 rows: a resource has 12 a day.
        let slots = store.slots_between(resource, fixture.from, fixture.to).await?;
        ensure!(slots.len() < 2_000, "resource {resource} has too many slots to check in one query");
        check.slots += slots.len();
        check.persisted += slots.iter().map(|slot| u64::from(slot.taken)).sum::<u64>();
        check.overbooked += slots.iter().filter(|slot| slot.taken > slot.capacity).count();
    }
    Ok(check)
}

/// One request's fate.
#[derive(Debug, Clone)]
struct Sample {
    /// `created`, `full`, or another answer (`503 busy`, `refused quota`, …).
    label: String,
    latency: Duration,
    /// Answer received, since the release.
    done: Duration,
}

/// CPU seconds used during a run (Linux /proc; clock ticks assumed 100 per second).
#[derive(Debug, Clone, Copy, Default)]
struct CpuUse {
    servers: f64,
    client: f64,
    machine: f64,
    /// Local PostgreSQL processes (0 on SQLite, whose work is inside the process using it).
    postgres: f64,
    wall: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BatchStats {
    pub batches: u64,
    pub requests: u64,
    pub elapsed_ms_sum: u64,
    pub elapsed_ms_max: u64,
}

struct RunResult {
    run: Run,
    processes: u32,
    samples: Vec<Sample>,
    check: Check,
    cpu: Option<CpuUse>,
    batches: Option<BatchStats>,
    /// Server-side time of POST /api/v1/bookings (from /metrics): mean, and the share within 100 ms.
    server_time: Option<(f64, u64, f64)>,
    /// Which of the `--repeat` runs this is, when there are several.
    repeat: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
struct Summary {
    requests: usize,
    created: usize,
    full: usize,
    other: BTreeMap<String, usize>,
    wall: Duration,
    sold_out: Duration,
    created_per_s: f64,
    requests_per_s: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn summarize(samples: &[Sample]) -> Summary {
    let mut latencies: Vec<Duration> = samples.iter().map(|sample| sample.latency).collect();
    latencies.sort_unstable();
    let created = samples.iter().filter(|sample| sample.label == "created").count();
    let full = samples.iter().filter(|sample| sample.label == "full").count();
    let mut other = BTreeMap::new();
    for sample in samples.iter().filter(|sample| sample.label != "created" && sample.label != "full") {
        *other.entry(sample.label.clone()).or_insert(0) += 1;
    }
    let wall = samples.iter().map(|sample| sample.done).max().unwrap_or_default();
    let sold_out = samples.iter().filter(|sample| sample.label == "created").map(|sample| sample.done).max().unwrap_or_default();
    let per_s = |count: usize, time: Duration| if time.is_zero() { 0.0 } else { count as f64 / time.as_secs_f64() };
    Summary {
        requests: samples.len(),
        created,
        full,
        other,
        wall,
        sold_out,
        created_per_s: per_s(created, wall),
        requests_per_s: per_s(samples.len(), wall),
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
        max: latencies.last().copied().unwrap_or_default(),
    }
}

/// Batched ÷ naive.
fn ratio(batched: f64, naive: f64) -> f64 {
    if naive > 0.0 { batched / naive } else { f64::NAN }
}

fn ms(duration: Duration) -> String {
    let millis = duration.as_secs_f64() * 1000.0;
    if millis < 10.0 { format!("{millis:.2} ms") } else { format!("{millis:.1} ms") }
}

fn thousands(value: f64) -> String {
    let rounded = value.round() as i64;
    let digits = rounded.abs().to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if rounded < 0 { format!("-{out}") } else { out }
}

// ---------------------------------------------------------------------------------------------------
// Server processes

/// `fitforall serve` of this very binary, on a port of its own; killed when dropped.
struct ServerProcess {
    child: Child,
    address: SocketAddr,
    batches: Arc<Mutex<BatchStats>>,
    log_tail: Arc<Mutex<VecDeque<String>>>,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// `size` and `elapsed_ms` of the engine's "booking batch committed" debug line.
pub fn parse_batch_line(line: &str) -> Option<(u64, u64)> {
    if !line.contains("booking batch committed") {
        return None;
    }
    let field = |name: &str| -> Option<u64> {
        let start = line.find(&format!("{name}="))? + name.len() + 1;
        let digits: String = line[start..].chars().take_while(|c| c.is_ascii_digit()).collect();
        digits.parse().ok()
    };
    Some((field("size")?, field("elapsed_ms")?))
}

const LOG_TAIL_LINES: usize = 30;

/// The server processes' log filter unless FITFORALL_RUSH_SERVER_LOG says otherwise.
const SERVER_LOG_FILTER: &str = "warn,fitforall_server::booking_engine=debug";

fn spawn_server(url: &str, mode: BookingMode, config: &Path, log_file: Option<&Path>) -> anyhow::Result<ServerProcess> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let filter = std::env::var("FITFORALL_RUSH_SERVER_LOG").ok().filter(|filter| !filter.is_empty()).unwrap_or_else(|| SERVER_LOG_FILTER.to_string());
    let mut log_file = match log_file {
        Some(path) => Some(std::fs::OpenOptions::new().create(true).append(true).open(path).with_context(|| format!("cannot open {}", path.display()))?),
        None => None,
    };
    let mut child = Command::new(&exe)
        .arg("--config")
        .arg(config)
        .args(["serve", "--database", url, "--listen", "127.0.0.1:0", "--booking-mode", booking_mode_name(mode)])
        .env("FITFORALL_LOG", filter)
        .env("FITFORALL_LOG_FORMAT", "text")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {} serve", exe.display()))?;
    let batches = Arc::new(Mutex::new(BatchStats::default()));
    let log_tail = Arc::new(Mutex::new(VecDeque::new()));
    let (ready, ready_at) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("piped");
    let tail = log_tail.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("FitForAll listening on http://") || line.trim_start().starts_with("booking:") {
                let _ = ready.send(line.clone());
            }
            push_tail(&tail, line);
        }
    });
    let stderr = child.stderr.take().expect("piped");
    let (stats, tail) = (batches.clone(), log_tail.clone());
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(file) = log_file.as_mut() {
                use std::io::Write;
                let _ = writeln!(file, "{line}");
            }
            match parse_batch_line(&line) {
                Some((size, elapsed_ms)) => {
                    let mut stats = stats.lock().expect("stats lock");
                    stats.batches += 1;
                    stats.requests += size;
                    stats.elapsed_ms_sum += elapsed_ms;
                    stats.elapsed_ms_max = stats.elapsed_ms_max.max(elapsed_ms);
                }
                None => push_tail(&tail, line),
            }
        }
    });
    let mut server = ServerProcess { child, address: SocketAddr::from(([127, 0, 0, 1], 0)), batches, log_tail };
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut mode_seen = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match tokio::task::block_in_place(|| ready_at.recv_timeout(left.min(Duration::from_millis(500)))) {
            Ok(line) => line,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if !left.is_zero() && matches!(server.child.try_wait(), Ok(None)) => continue,
            Err(_) => bail!("the server did not start:\n{}", server.tail()),
        };
        if let Some(address) = line.strip_prefix("FitForAll listening on http://") {
            ensure!(mode_seen, "the server did not say its booking mode:\n{}", server.tail());
            server.address = address.trim().parse().with_context(|| format!("the server printed {line:?}"))?;
            return Ok(server);
        }
        let expected = format!("booking: {} ", booking_mode_name(mode));
        ensure!(line.trim_start().starts_with(&expected), "asked for booking mode {}, the server says {line:?}", booking_mode_name(mode));
        mode_seen = true;
    }
}

fn push_tail(tail: &Mutex<VecDeque<String>>, line: String) {
    let mut tail = tail.lock().expect("log lock");
    if tail.len() == LOG_TAIL_LINES {
        tail.pop_front();
    }
    tail.push_back(line);
}

impl ServerProcess {
    fn tail(&self) -> String {
        self.log_tail.lock().expect("log lock").iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Warnings and errors the server logged (but not the expected one about the outbox sender).
    fn problems(&self) -> Vec<String> {
        let tail = self.log_tail.lock().expect("log lock");
        tail.iter().filter(|line| (line.contains("ERROR") || line.contains("WARN")) && !line.contains("no message sender configured")).cloned().collect()
    }

    /// SIGTERM (graceful: in-flight requests finish, the store closes), then SIGKILL after 20 s.
    fn stop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------------
// CPU accounting (Linux)

const CLOCK_TICKS_PER_S: f64 = 100.0;

/// utime + stime of a process, seconds.
fn process_cpu_s(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_process_stat(&text)
}

pub fn parse_process_stat(text: &str) -> Option<f64> {
    let after_name = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of proc(5); the first after the name is field 3.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / CLOCK_TICKS_PER_S)
}

/// Busy CPU seconds of the whole machine (all cores) since boot.
fn machine_busy_s() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    parse_machine_stat(&text)
}

pub fn parse_machine_stat(text: &str) -> Option<f64> {
    let line = text.lines().find(|line| line.starts_with("cpu "))?;
    let values: Vec<f64> = line.split_whitespace().skip(1).filter_map(|value| value.parse().ok()).collect();
    ensure_len(&values, 5)?;
    let total: f64 = values.iter().take(8).sum();
    // idle and iowait are not busy.
    Some((total - values[3] - values[4]) / CLOCK_TICKS_PER_S)
}

fn ensure_len(values: &[f64], length: usize) -> Option<()> {
    (values.len() >= length).then_some(())
}

#[derive(Debug, Clone)]
struct CpuSnapshot {
    at: Instant,
    client: Option<f64>,
    servers: Option<f64>,
    machine: Option<f64>,
    /// CPU seconds of every process named `postgres` on this machine, by pid.
    postgres: BTreeMap<u32, f64>,
}

/// Every local PostgreSQL process (server and backends) with its CPU seconds so far.
fn postgres_processes() -> BTreeMap<u32, f64> {
    let mut found = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return found };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        if std::fs::read_to_string(entry.path().join("comm")).is_ok_and(|comm| comm.trim() == "postgres")
            && let Some(seconds) = process_cpu_s(pid)
        {
            found.insert(pid, seconds);
        }
    }
    found
}

fn cpu_snapshot(servers: &[ServerProcess], backend: Backend) -> CpuSnapshot {
    let server_total = servers.iter().map(|server| process_cpu_s(server.child.id())).sum::<Option<f64>>();
    let postgres = if backend == Backend::Postgres { postgres_processes() } else { BTreeMap::new() };
    CpuSnapshot { at: Instant::now(), client: process_cpu_s(std::process::id()), servers: server_total, machine: machine_busy_s(), postgres }
}

fn cpu_use(before: &CpuSnapshot, after: &CpuSnapshot) -> Option<CpuUse> {
    // Backends that ended during the run are missed; new ones count from zero.
    let postgres = after.postgres.iter().map(|(pid, seconds)| seconds - before.postgres.get(pid).copied().unwrap_or(0.0)).sum();
    Some(CpuUse {
        servers: after.servers.unwrap_or(0.0) - before.servers.unwrap_or(0.0),
        client: after.client? - before.client?,
        machine: after.machine? - before.machine?,
        postgres,
        wall: (after.at - before.at).as_secs_f64(),
    })
}

// ---------------------------------------------------------------------------------------------------
// Server metrics

/// Sum (seconds), count and the count within 0.1 s of a route's duration histogram in /metrics.
pub fn parse_route_duration(text: &str, method: &str, route: &str) -> Option<(f64, u64, u64)> {
    let labels = |line: &str| line.contains(&format!("method=\"{method}\"")) && line.contains(&format!("route=\"{route}\""));
    let value = |prefix: &str, extra: Option<&str>| -> Option<f64> {
        text.lines()
            .filter(|line| line.starts_with(prefix) && labels(line) && extra.is_none_or(|extra| line.contains(extra)))
            .find_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
    };
    let sum = value("fitforall_http_request_duration_seconds_sum{", None)?;
    let count = value("fitforall_http_request_duration_seconds_count{", None)? as u64;
    let within = value("fitforall_http_request_duration_seconds_bucket{", Some("le=\"0.1\"")).unwrap_or(0.0) as u64;
    Some((sum, count, within))
}

async fn server_booking_time(client: &reqwest::Client, servers: &[ServerProcess]) -> Option<(f64, u64, f64)> {
    let (mut sum, mut count, mut within) = (0.0, 0u64, 0u64);
    for server in servers {
        let text = client.get(format!("http://{}/metrics", server.address)).send().await.ok()?.text().await.ok()?;
        let (more_sum, more_count, more_within) = parse_route_duration(&text, "POST", "/api/v1/bookings")?;
        sum += more_sum;
        count += more_count;
        within += more_within;
    }
    (count > 0).then(|| (sum / count as f64 * 1000.0, count, within as f64 / count as f64))
}

// ---------------------------------------------------------------------------------------------------
// The runs

/// The label of an HTTP answer.
fn http_label(status: u16, body: &[u8], replayed: bool) -> (String, Option<String>) {
    if status == 201 {
        return (if replayed { "replayed".into() } else { "created".into() }, None);
    }
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let code = value["error"]["code"].as_str().unwrap_or("?").to_string();
    let alternative = value["alternatives"].as_array().and_then(|offers| offers.first()).and_then(|offer| offer["slot_id"].as_str()).map(str::to_string);
    if status == 409 && code == "full" { ("full".into(), alternative) } else { (format!("{status} {code}"), None) }
}

fn booking_body(slot: &str) -> String {
    format!("{{\"slot_id\":\"{slot}\",\"places\":1}}")
}

/// How far ahead the fixture dates the tokens' last use, so that it still counts as "within the
/// last minute" (`TOKEN_USE_RECORD_INTERVAL_S`) however long the setup and the runs before take.
const TOKEN_USE_AHEAD_MIN: i64 = 60;

/// Records every token's use as if it was made moments before the rush: residents watching the
/// grid before it opens. Without it, a rush request is also its token's first use, which the
/// server records (a write) before booking.
async fn use_tokens(store: &Store, tokens: &[String], at: chrono::DateTime<Utc>) -> anyhow::Result<()> {
    let hashes: Vec<String> = tokens.iter().map(|token| fitforall_server::auth::token_hash(token)).collect();
    // As the server's token lookups do in a rush: many at once, their uses recorded by one UPDATE.
    for chunk in hashes.chunks(MAX_TOKEN_LOOKUP_BATCH) {
        let found = store.api_tokens(chunk, at).await?;
        ensure!(found.len() == chunk.len(), "{} of the residents' tokens are unknown", chunk.len() - found.len());
    }
    Ok(())
}

async fn http_run(run: Run, url: &str, args: &RushArgs, fixture: &Fixture, choices: &[usize], config_file: &Path) -> anyhow::Result<RunResult> {
    let mode = run.mode();
    let backend = backend_of(url).expect("validated");
    let started = Instant::now();
    let mut servers = Vec::new();
    for _ in 0..args.processes {
        servers.push(spawn_server(url, mode, config_file, args.server_log.as_deref())?);
    }
    eprintln!("  {} server process(es) started in {:.1} s", servers.len(), started.elapsed().as_secs_f64());
    let concurrency = (args.concurrency as usize).min(choices.len()).max(1);
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).timeout(Duration::from_secs(300)).tcp_nodelay(true).build()?;
    let addresses: Arc<Vec<SocketAddr>> = Arc::new(servers.iter().map(|server| server.address).collect());

    // Open the connections before the rush: `concurrency` requests at once, spread like the residents.
    let mut warm = tokio::task::JoinSet::new();
    for index in 0..concurrency {
        let (client, address) = (client.clone(), addresses[index % addresses.len()]);
        warm.spawn(async move {
            let response = client.get(format!("http://{address}/healthz")).send().await?;
            ensure!(response.status().is_success(), "/healthz answered {}", response.status());
            response.bytes().await?;
            anyhow::Ok(())
        });
    }
    while let Some(result) = warm.join_next().await {
        result??;
    }

    let (release, released) = watch::channel(false);
    let permits = Arc::new(Semaphore::new(concurrency));
    let targets: Arc<Vec<String>> = Arc::new(fixture.targets.iter().map(|slot| slot.to_string()).collect());
    let start_cell = Arc::new(std::sync::OnceLock::<Instant>::new());
    let mut tasks = Vec::with_capacity(choices.len());
    for (index, choice) in choices.iter().enumerate() {
        let (client, permits, addresses, start_cell, mut released) = (client.clone(), permits.clone(), addresses.clone(), start_cell.clone(), released.clone());
        let token = fixture.tokens[index].clone();
        let body = booking_body(&targets[*choice]);
        let retry = args.retry_alternative;
        tasks.push(tokio::spawn(async move {
            released.wait_for(|go| *go).await.ok();
            let start = *start_cell.get().expect("set before the release");
            let _permit = permits.acquire().await.expect("never closed");
            let address = addresses[index % addresses.len()];
            let url = format!("http://{address}/api/v1/bookings");
            let mut samples = Vec::with_capacity(1);
            let mut attempt = (format!("rush-{index}"), body);
            loop {
                let sent = Instant::now();
                let answer = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("idempotency-key", &attempt.0)
                    .header("content-type", "application/json")
                    .body(attempt.1.clone())
                    .send()
                    .await;
                let (label, alternative) = match answer {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let replayed = response.headers().contains_key("idempotent-replayed");
                        match response.bytes().await {
                            Ok(body) => http_label(status, &body, replayed),
                            Err(error) => (format!("body error: {}", error_kind(&error)), None),
                        }
                    }
                    Err(error) => (format!("error: {}", error_kind(&error)), None),
                };
                let now = Instant::now();
                samples.push(Sample { label, latency: now - sent, done: now - start });
                match alternative {
                    Some(slot) if retry && samples.len() == 1 => attempt = (format!("rush-{index}-retry"), booking_body(&slot)),
                    _ => break,
                }
            }
            samples
        }));
    }
    // Let every task reach the barrier, then release them all at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = cpu_snapshot(&servers, backend);
    start_cell.set(Instant::now()).expect("set once");
    release.send(true).ok();
    let mut samples = Vec::with_capacity(choices.len());
    for task in tasks {
        samples.extend(task.await?);
    }
    let after = cpu_snapshot(&servers, backend);
    let server_time = server_booking_time(&client, &servers).await;
    let batches = (mode == BookingMode::Batched).then(|| {
        servers.iter().fold(BatchStats::default(), |total, server| {
            let stats = *server.batches.lock().expect("stats lock");
            BatchStats {
                batches: total.batches + stats.batches,
                requests: total.requests + stats.requests,
                elapsed_ms_sum: total.elapsed_ms_sum + stats.elapsed_ms_sum,
                elapsed_ms_max: total.elapsed_ms_max.max(stats.elapsed_ms_max),
            }
        })
    });
    drop(client);
    let tails: Vec<String> = servers.iter().flat_map(ServerProcess::problems).collect();
    for server in &mut servers {
        server.stop();
    }
    if !tails.is_empty() {
        eprintln!("  the servers logged:\n{}", tails.join("\n"));
    }
    drop(servers);
    let store = Store::connect(url).await?;
    let check = check_database(&store, fixture).await?;
    store.close().await;
    Ok(RunResult { run, processes: args.processes, samples, check, cpu: cpu_use(&before, &after), batches, server_time, repeat: None })
}

fn error_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_body() || error.is_decode() {
        "body"
    } else {
        "request"
    }
}

fn outcome_label(outcome: &BookOutcome) -> String {
    match outcome {
        BookOutcome::Created { .. } => "created".into(),
        BookOutcome::Replayed(_) => "replayed".into(),
        BookOutcome::KeyReused => "key reused".into(),
        BookOutcome::IdentityRequired => "identity required".into(),
        BookOutcome::Busy => "busy".into(),
        BookOutcome::Failed => "failed".into(),
        BookOutcome::Refused(Refusal::Full { .. }) => "full".into(),
        BookOutcome::Refused(refusal) => format!("refused: {refusal}"),
    }
}

async fn in_process_run(run: Run, url: &str, args: &RushArgs, fixture: &Fixture, choices: &[usize]) -> anyhow::Result<RunResult> {
    let backend = backend_of(url).expect("validated");
    let mut config = fitforall_server::config::ServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), url);
    config.booking = crate::settings::booking_config(&engine_settings(args), Some(booking_mode_name(run.mode())))?;
    let application = fitforall_server::startup::Application::build(config).await?;
    let state = application.state.clone();
    let concurrency = (args.concurrency as usize).min(choices.len()).max(1);
    let (release, released) = watch::channel(false);
    let permits = Arc::new(Semaphore::new(concurrency));
    let start_cell = Arc::new(std::sync::OnceLock::<Instant>::new());
    let mut tasks = Vec::with_capacity(choices.len());
    for (index, choice) in choices.iter().enumerate() {
        let (state, permits, start_cell, mut released) = (state.clone(), permits.clone(), start_cell.clone(), released.clone());
        let slot = fixture.targets[*choice];
        let request = BatchRequest {
            slot,
            account: fixture.accounts[index],
            places: 1,
            reduced: false,
            idempotency_key: format!("rush-{index}"),
            request_hash: format!("{}|1|false", slot.as_i64()),
        };
        tasks.push(tokio::spawn(async move {
            released.wait_for(|go| *go).await.ok();
            let start = *start_cell.get().expect("set before the release");
            let _permit = permits.acquire().await.expect("never closed");
            let sent = Instant::now();
            let outcome = state.booking().book(request).await;
            let now = Instant::now();
            Sample { label: outcome_label(&outcome), latency: now - sent, done: now - start }
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = cpu_snapshot(&[], backend);
    start_cell.set(Instant::now()).expect("set once");
    release.send(true).ok();
    let mut samples = Vec::with_capacity(choices.len());
    for task in tasks {
        samples.push(task.await?);
    }
    let after = cpu_snapshot(&[], backend);
    let check = check_database(state.store(), fixture).await?;
    drop(application);
    state.store().close().await;
    Ok(RunResult { run, processes: 0, samples, check, cpu: cpu_use(&before, &after), batches: None, server_time: None, repeat: None })
}

/// What authenticating each request costs the store: `Store::api_token` (the token with its
/// owner's grants in one query, and at most once a minute an UPDATE of its `last_used_at`), as the
/// `Caller` extractor does for every API request with a bearer token not in its cache. Runs on the
/// HTTP batched run's database after it.
async fn auth_probe(url: &str, args: &RushArgs, fixture: &Fixture, at: chrono::DateTime<Utc>) -> anyhow::Result<Vec<Sample>> {
    let store = Store::connect(url).await?;
    let concurrency = (args.concurrency as usize).min(fixture.tokens.len()).max(1);
    let (release, released) = watch::channel(false);
    let permits = Arc::new(Semaphore::new(concurrency));
    let start_cell = Arc::new(std::sync::OnceLock::<Instant>::new());
    let mut tasks = Vec::with_capacity(fixture.tokens.len());
    for token in &fixture.tokens {
        let (store, permits, start_cell, mut released) = (store.clone(), permits.clone(), start_cell.clone(), released.clone());
        let hash = fitforall_server::auth::token_hash(token);
        tasks.push(tokio::spawn(async move {
            released.wait_for(|go| *go).await.ok();
            let start = *start_cell.get().expect("set before the release");
            let _permit = permits.acquire().await.expect("never closed");
            let sent = Instant::now();
            let label = match store.api_token(&hash, at).await {
                Ok(Some(_)) => "created".to_string(),
                Ok(None) => "unknown token".to_string(),
                Err(error) => format!("token lookup failed: {error}"),
            };
            let now = Instant::now();
            Sample { label, latency: now - sent, done: now - start }
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    start_cell.set(Instant::now()).expect("set once");
    release.send(true).ok();
    let mut samples = Vec::with_capacity(tasks.len());
    for task in tasks {
        samples.push(task.await?);
    }
    store.close().await;
    Ok(samples)
}

// ---------------------------------------------------------------------------------------------------
// The command

fn part_name(result: &RunResult) -> String {
    if result.run.http() {
        return format!("HTTP, {} process{}", result.processes, if result.processes == 1 { "" } else { "es" });
    }
    in_process_label(result.repeat)
}

/// "in-process #2" for one of several `--repeat` runs, else "in-process".
fn in_process_label(repeat: Option<u32>) -> String {
    match repeat {
        Some(repeat) => format!("in-process #{repeat}"),
        None => "in-process".into(),
    }
}

/// Of the runs of one part (HTTP or in-process) and mode, the one with the median acknowledged/s (the
/// lower of the two middle ones for an even count), and every run's acknowledged/s in order.
fn median_run<'a>(results: &'a [RunResult], summaries: &'a [Summary], http: bool, mode: BookingMode) -> Option<(&'a RunResult, &'a Summary, Vec<f64>)> {
    let runs: Vec<(&RunResult, &Summary)> =
        results.iter().zip(summaries).filter(|(result, _)| result.run.http() == http && result.run.mode() == mode).collect();
    let rates: Vec<f64> = runs.iter().map(|(_, summary)| summary.created_per_s).collect();
    let (result, summary) = runs[median_position(&rates)?];
    Some((result, summary, rates))
}

/// Where the median of `values` is (the lower of the two middle ones for an even count); `None` when
/// there are none.
fn median_position(values: &[f64]) -> Option<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|left, right| values[*left].total_cmp(&values[*right]));
    order.get(values.len().checked_sub(1)? / 2).copied()
}

pub async fn run(args: RushArgs) -> anyhow::Result<ExitCode> {
    validate(&args)?;
    let today = fitforall_server::api::venues::local_now().date();
    let places = args.slots * u64::from(args.places);
    let build = if cfg!(debug_assertions) { "debug build" } else { "release build" };
    println!(
        "Booking rush: {} residents, {} slots × {} places = {} places; seed {}; {} in flight; {}{}{}",
        thousands(args.users as f64),
        thousands(args.slots as f64),
        args.places,
        thousands(places as f64),
        args.seed,
        args.concurrency,
        build,
        if args.retry_alternative { "; a resident refused as full retries once on the first alternative offered" } else { "" },
        if args.cold_tokens { "; tokens never used before the rush" } else { "" }
    );

    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!(
            "Machine: {} cores, load average {} (1, 5, 15 min) before the run",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            load.join(" / ")
        );
    }
    let (primary, temporary) = primary_database(&args)?;
    let setup_started = Instant::now();
    // The fixture can be made again: no fsync per resident (the runs open the database normally).
    let store = Store::connect_for_reloadable_bulk_load(&primary).await.with_context(|| format!("cannot open the database {}", redact(&primary)))?;
    let prepared = prepare(&store, &args, today).await;
    store.close().await;
    let fixture = prepared?;
    let setup = setup_started.elapsed();
    let in_process_repeats = if args.skip_in_process { 1 } else { args.repeat };
    let mut databases = copy_databases(&primary, temporary, args.keep_databases, in_process_repeats).await?;
    println!(
        "Database: {}; setup {:.1} s ({} residents with API tokens{}, {} resources, {} target slots)",
        databases.description,
        setup.as_secs_f64(),
        thousands(args.users as f64),
        if args.cold_tokens { ", never used" } else { " whose use is recorded as recent" },
        fixture.resources.len(),
        fixture.targets.len()
    );
    let choices = assign_slots(args.users as usize, fixture.targets.len(), args.seed);
    let config_directory = tempfile::Builder::new().prefix("fitforall-rush-config-").tempdir()?;
    let config_file = engine_config_file(&args, config_directory.path())?;
    let engine = crate::settings::booking_config(&engine_settings(&args), None)?;
    let shards = if engine.shards == 0 { "the server's automatic number of".to_string() } else { engine.shards.to_string() };
    println!("Batched engine: {shards} shard(s) per process, batch window {} ms, at most {} per batch", engine.batch_window_ms, engine.max_batch);

    let mut results = Vec::new();
    let mut probe = None;
    let outcome = async {
        for run in Run::ALL {
            if (run.http() && args.skip_http) || (!run.http() && args.skip_in_process) {
                continue;
            }
            if args.modes != "both" && args.modes != booking_mode_name(run.mode()) {
                continue;
            }
            let repeats = if run.http() { 1 } else { args.repeat };
            for repeat in 1..=repeats {
                let numbered = (repeats > 1).then_some(repeat);
                let part = if run.http() { "HTTP".to_string() } else { in_process_label(numbered) };
                eprintln!("{part}, {}: rush of {} requests …", booking_mode_name(run.mode()), thousands(choices.len() as f64));
                let mut result = if run.http() {
                    http_run(run, databases.url(run, repeat), &args, &fixture, &choices, &config_file).await?
                } else {
                    in_process_run(run, databases.url(run, repeat), &args, &fixture, &choices).await?
                };
                result.repeat = numbered;
                let summary = summarize(&result.samples);
                eprintln!(
                    "  {} created, {} full, {} other in {:.2} s",
                    summary.created,
                    summary.full,
                    summary.other.values().sum::<usize>(),
                    summary.wall.as_secs_f64()
                );
                results.push(result);
            }
        }
        if args.probe_auth {
            eprintln!("caller lookup alone, in-process: {} lookups, twice …", thousands(fixture.tokens.len() as f64));
            // "Now" for the store two hours ahead: every recorded use is then over a minute old, so the
            // first round records each token's use again (a write) and the second finds it recorded.
            let at = Utc::now() + chrono::Duration::minutes(2 * TOKEN_USE_AHEAD_MIN);
            let url = databases.url(Run::HttpBatched, 1);
            probe = Some((auth_probe(url, &args, &fixture, at).await?, auth_probe(url, &args, &fixture, at).await?));
        }
        anyhow::Ok(())
    }
    .await;
    remove_copies(&mut databases).await;
    outcome?;
    let healthy = report(databases.backend, &results);
    if let Some((recording, reading)) = probe {
        for (what, samples) in [("recording each token's use", recording), ("use recorded in the last minute", reading)] {
            let summary = summarize(&samples);
            println!(
                "caller lookup alone, {what} (Store::api_token with the grants, in-process, {} in flight): {} lookups, {} failed, {} lookups/s, p50 {}, p99 {}",
                args.concurrency.min(args.users),
                thousands(summary.requests as f64),
                summary.requests - summary.created,
                thousands(summary.requests_per_s),
                ms(summary.p50),
                ms(summary.p99)
            );
        }
    }
    Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Prints the table, the ratios, the details and one `result` line per run; false when an
/// invariant broke (overbooking, an audit mismatch, acknowledged ≠ persisted).
fn report(backend: Backend, results: &[RunResult]) -> bool {
    let summaries: Vec<Summary> = results.iter().map(|result| summarize(&result.samples)).collect();
    println!();
    println!(
        "| part | mode | requests | acknowledged (201) | persisted | overbooked slots | full (409) | other | wall | sold out after | acknowledged/s | requests/s | p50 | p99 | max |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for (result, summary) in results.iter().zip(&summaries) {
        let other = if summary.other.is_empty() {
            "0".to_string()
        } else {
            summary.other.iter().map(|(label, count)| format!("{count} {label}")).collect::<Vec<_>>().join(", ")
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2} s | {:.2} s | {} | {} | {} | {} | {} |",
            part_name(result),
            booking_mode_name(result.run.mode()),
            thousands(summary.requests as f64),
            thousands(summary.created as f64),
            thousands(result.check.persisted as f64),
            result.check.overbooked + result.check.audit_mismatches,
            thousands(summary.full as f64),
            other,
            summary.wall.as_secs_f64(),
            summary.sold_out.as_secs_f64(),
            thousands(summary.created_per_s),
            thousands(summary.requests_per_s),
            ms(summary.p50),
            ms(summary.p99),
            ms(summary.max)
        );
    }
    println!();
    for http in [true, false] {
        let find = |mode| median_run(results, &summaries, http, mode);
        if let (Some((result, batched, rates)), Some((_, naive, _))) = (find(BookingMode::Batched), find(BookingMode::Naive)) {
            println!(
                "batched ÷ naive, {}{}: acknowledged/s {:.1}×, requests/s {:.1}×, p50 {:.2}×, p99 {:.2}× (latency: below 1 is better)",
                if http { part_name(result) } else { "in-process".to_string() },
                if rates.len() > 1 { format!(" (median runs of {} each)", rates.len()) } else { String::new() },
                ratio(batched.created_per_s, naive.created_per_s),
                ratio(batched.requests_per_s, naive.requests_per_s),
                ratio(batched.p50.as_secs_f64(), naive.p50.as_secs_f64()),
                ratio(batched.p99.as_secs_f64(), naive.p99.as_secs_f64()),
            );
        }
    }
    println!();
    for (result, summary) in results.iter().zip(&summaries) {
        let mut details = Vec::new();
        if let Some(batches) = result.batches.filter(|batches| batches.batches > 0) {
            details.push(format!(
                "{} batches, {:.1} requests each, commit {:.1} ms mean / {} ms max",
                batches.batches,
                batches.requests as f64 / batches.batches as f64,
                batches.elapsed_ms_sum as f64 / batches.batches as f64,
                batches.elapsed_ms_max
            ));
        }
        if let Some((mean_ms, count, within)) = result.server_time {
            details.push(format!("server time of POST /api/v1/bookings {mean_ms:.1} ms mean over {count}, {:.1} % within 100 ms", within * 100.0));
        }
        if let Some(cpu) = result.cpu {
            let per_request = |seconds: f64| seconds * 1000.0 / summary.requests.max(1) as f64;
            let other = (cpu.machine - cpu.servers - cpu.client - cpu.postgres).max(0.0);
            let label = if result.run.http() { "bench clients" } else { "bench (engine + tasks)" };
            let mut text = format!("CPU over {:.2} s: ", cpu.wall);
            if result.run.http() {
                text += &format!("servers {:.2} s ({:.2} ms/request), ", cpu.servers, per_request(cpu.servers));
            }
            text += &format!("{label} {:.2} s ({:.2} ms/request), ", cpu.client, per_request(cpu.client));
            if backend == Backend::Postgres {
                text += &format!("PostgreSQL {:.2} s ({:.2} ms/request), ", cpu.postgres, per_request(cpu.postgres));
            }
            text += &format!("other work on the machine {other:.2} s; machine busy {:.0} % of 2 cores", cpu.machine / cpu.wall.max(1e-9) / 2.0 * 100.0);
            details.push(text);
        }
        if !details.is_empty() {
            println!("{} {}: {}", part_name(result), booking_mode_name(result.run.mode()), details.join("; "));
        }
    }
    println!();
    let mut healthy = true;
    for (result, summary) in results.iter().zip(&summaries) {
        let ok = result.check.overbooked == 0 && result.check.audit_mismatches == 0 && summary.created as u64 == result.check.persisted;
        healthy &= ok;
        println!(
            "result part={} run={} processes={} mode={} requests={} acknowledged={} persisted={} overbooked={} audit_mismatches={} full={} other={} acknowledged_per_s={:.0} requests_per_s={:.0} p50_ms={:.2} p99_ms={:.2} ok={ok}",
            if result.run.http() { "http" } else { "in_process" },
            result.repeat.unwrap_or(1),
            result.processes,
            booking_mode_name(result.run.mode()),
            summary.requests,
            summary.created,
            result.check.persisted,
            result.check.overbooked,
            result.check.audit_mismatches,
            summary.full,
            summary.other.values().sum::<usize>(),
            summary.created_per_s,
            summary.requests_per_s,
            summary.p50.as_secs_f64() * 1000.0,
            summary.p99.as_secs_f64() * 1000.0,
        );
    }
    if let Some((_, summary, rates)) = median_run(results, &summaries, false, BookingMode::Batched) {
        let met = summary.created_per_s >= 20_000.0;
        let runs = if rates.len() > 1 {
            format!(" (the median of {} runs: {})", rates.len(), rates.iter().map(|rate| thousands(*rate)).collect::<Vec<_>>().join(", "))
        } else {
            String::new()
        };
        println!(
            "target in-process (batched, {}): ≥ 20,000 durable bookings/s: {} acknowledged/s over the whole rush{runs}, {} until sold out — {}",
            backend.name(),
            thousands(summary.created_per_s),
            thousands(summary.created as f64 / summary.sold_out.as_secs_f64().max(1e-9)),
            if met { "met" } else { "MISSED" }
        );
    }
    if let Some((_, summary, _)) = median_run(results, &summaries, true, BookingMode::Batched) {
        let met = summary.created_per_s >= 5_000.0 && summary.p99 <= Duration::from_millis(100);
        println!(
            "target HTTP (batched, {}): ≥ 5,000/s with p99 ≤ 100 ms: {} acknowledged/s, {} requests/s, p99 {} — {}",
            backend.name(),
            thousands(summary.created_per_s),
            thousands(summary.requests_per_s),
            ms(summary.p99),
            if met { "met" } else { "MISSED" }
        );
    }
    println!(
        "overbooking: {}",
        if healthy { "none (every run: 0 overbooked slots, audit clean, acknowledged = persisted)" } else { "INVARIANT BROKEN (see the result lines)" }
    );
    healthy
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: RushArgs,
    }

    fn parse(line: &[&str]) -> Result<RushArgs, String> {
        let mut argv = vec!["rush"];
        argv.extend_from_slice(line);
        let args = Cli::try_parse_from(argv).map_err(|error| error.to_string())?.args;
        validate(&args).map_err(|error| error.to_string())?;
        Ok(args)
    }

    #[test]
    fn arguments_are_checked() {
        let args = parse(&[]).unwrap();
        assert_eq!((args.users, args.slots, args.places, args.processes, args.concurrency), (20_000, 200, 50, 1, 256));
        assert!(parse(&["--users", "0"]).unwrap_err().contains("--users"));
        assert!(parse(&["--places", "10001"]).unwrap_err().contains("--places"));
        assert!(parse(&["--processes", "17"]).unwrap_err().contains("--processes"));
        assert!(parse(&["--concurrency", "0"]).unwrap_err().contains("--concurrency"));
        assert!(parse(&["--skip-http", "--skip-in-process"]).unwrap_err().contains("nothing to run"));
        assert_eq!(parse(&[]).unwrap().repeat, 1);
        assert!(parse(&["--repeat", "0"]).unwrap_err().contains("--repeat must be between 1 and 20"));
        assert!(parse(&["--repeat", "21"]).unwrap_err().contains("--repeat must be between 1 and 20"));
        assert_eq!(parse(&["--repeat", "20"]).unwrap().repeat, 20);
        assert!(parse(&["--database", "mysql://x/y"]).unwrap_err().contains("unsupported database URL"));
        assert!(parse(&["--database", "postgres://u:pw@h:5432"]).unwrap_err().contains("names no database"));
        assert!(!parse(&["--database", "postgres://u:pw@h:5432"]).unwrap_err().contains("pw"), "passwords are not printed");
        assert!(parse(&["--database", "postgres://u@h/rush-db"]).unwrap_err().contains("letters, digits or underscores"));
        assert!(parse(&["--database", "sqlite::memory:"]).unwrap_err().contains("in-memory"));
        assert!(parse(&["--database", "sqlite://"]).unwrap_err().contains("names no SQLite file"));
        parse(&["--database", "postgres://postgres@127.0.0.1:55433/rush?sslmode=disable", "--processes", "2"]).unwrap();
        parse(&["--database", "sqlite:///tmp/rush.db"]).unwrap();
    }

    #[test]
    fn database_names_and_copies() {
        assert_eq!(postgres_database_name("postgres://u@h:1/rush?sslmode=disable").as_deref(), Some("rush"));
        assert_eq!(with_database_name("postgres://u@h:1/rush?sslmode=disable", "rush_naive"), "postgres://u@h:1/rush_naive?sslmode=disable");
        assert_eq!(with_database_name("postgres://u@h:1", "postgres"), "postgres://u@h:1/postgres");
        assert_eq!(sqlite_path("sqlite:///tmp/a/rush.db?mode=rwc"), Some(PathBuf::from("/tmp/a/rush.db")));
        assert_eq!(sqlite_path("sqlite:rush.db"), Some(PathBuf::from("rush.db")));
        assert_eq!(sqlite_sibling(Path::new("/tmp/a/rush.db"), "naive"), PathBuf::from("/tmp/a/rush_naive.db"));
        assert_eq!(sqlite_sibling(Path::new("rush"), "naive"), PathBuf::from("rush_naive"));
        let check = |run: Run, repeat: u32, expect: Option<&str>| assert_eq!(copy_suffix(run, repeat).as_deref(), expect, "{run:?} #{repeat}");
        check(Run::HttpBatched, 1, None);
        check(Run::HttpNaive, 1, Some("naive"));
        check(Run::InProcessBatched, 1, Some("inproc_batched"));
        check(Run::InProcessBatched, 2, Some("inproc_batched_2"));
        check(Run::InProcessNaive, 20, Some("inproc_naive_20"));
    }

    #[test]
    fn the_median_run_is_the_middle_one() {
        let check = |values: &[f64], expect: Option<usize>| assert_eq!(median_position(values), expect, "{values:?}");
        check(&[], None);
        check(&[5.0], Some(0));
        check(&[3.0, 1.0], Some(1)); // the lower middle one
        check(&[3.0, 1.0, 2.0], Some(2));
        check(&[9.0, 1.0, 5.0, 7.0], Some(2));
        check(&[2.0, 2.0, 2.0], Some(1)); // ties keep their order
    }

    #[test]
    fn slots_are_laid_out_over_few_resources() {
        assert_eq!(layout(5), vec![5]);
        assert_eq!(layout(SLOTS_PER_RESOURCE), vec![SLOTS_PER_RESOURCE]);
        assert_eq!(layout(200), vec![100, 100]);
        assert_eq!(layout(2 * SLOTS_PER_RESOURCE + 1), vec![113, 112, 112]);
        for slots in 1..1_000 {
            let layout = layout(slots);
            assert_eq!(layout.iter().sum::<usize>(), slots);
            assert!(layout.iter().all(|count| (1..=SLOTS_PER_RESOURCE).contains(count)), "{slots}: {layout:?}");
        }
    }

    #[test]
    fn choices_are_seeded_and_cover_the_slots() {
        let choices = assign_slots(10_000, 200, 7);
        assert_eq!(choices, assign_slots(10_000, 200, 7));
        assert_ne!(choices, assign_slots(10_000, 200, 8));
        let mut counts = vec![0; 200];
        for choice in &choices {
            counts[*choice] += 1;
        }
        assert!(counts.iter().all(|count| (20..=85).contains(count)), "{counts:?}");
    }

    fn sample(label: &str, latency_ms: u64, done_ms: u64) -> Sample {
        Sample { label: label.into(), latency: Duration::from_millis(latency_ms), done: Duration::from_millis(done_ms) }
    }

    #[test]
    fn summary_counts_answers_throughput_and_percentiles() {
        let mut samples: Vec<Sample> = (1..=100).map(|index| sample(if index <= 60 { "created" } else { "full" }, index, index * 10)).collect();
        samples.push(sample("503 busy", 1, 5));
        let summary = summarize(&samples);
        assert_eq!((summary.requests, summary.created, summary.full), (101, 60, 40));
        assert_eq!(summary.other, BTreeMap::from([("503 busy".to_string(), 1)]));
        assert_eq!((summary.wall, summary.sold_out), (Duration::from_secs(1), Duration::from_millis(600)));
        assert!((summary.created_per_s - 60.0).abs() < 1e-9 && (summary.requests_per_s - 101.0).abs() < 1e-9);
        assert_eq!((summary.p50, summary.p99, summary.max), (Duration::from_millis(50), Duration::from_millis(99), Duration::from_millis(100)));
        assert!((ratio(30.0, 10.0) - 3.0).abs() < 1e-9 && ratio(1.0, 0.0).is_nan());
        let empty = summarize(&[]);
        assert_eq!((empty.requests, empty.created_per_s, empty.p99), (0, 0.0, Duration::ZERO));
    }

    #[test]
    fn answers_are_labelled() {
        let full = br#"{"error":{"code":"full","message":"no places"},"left":0,"alternatives":[{"slot_id":"42","left":3}]}"#;
        assert_eq!(http_label(409, full, false), ("full".to_string(), Some("42".to_string())));
        assert_eq!(http_label(201, b"{}", false).0, "created");
        assert_eq!(http_label(201, b"{}", true).0, "replayed");
        assert_eq!(http_label(503, br#"{"error":{"code":"busy"}}"#, false).0, "503 busy");
        assert_eq!(http_label(500, b"oops", false).0, "500 ?");
        assert_eq!(booking_body("17"), r#"{"slot_id":"17","places":1}"#);
    }

    #[test]
    fn logs_metrics_and_proc_files_are_read() {
        let line = "2026-12-01T00:00:00.1Z DEBUG fitforall_server::booking_engine: booking batch committed size=57 elapsed_ms=3";
        assert_eq!(parse_batch_line(line), Some((57, 3)));
        assert_eq!(parse_batch_line("WARN something else size=1 elapsed_ms=2"), None);
        let metrics = "\
fitforall_http_request_duration_seconds_sum{method=\"GET\",route=\"/healthz\"} 9.0
fitforall_http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\"} 9
fitforall_http_request_duration_seconds_sum{method=\"POST\",route=\"/api/v1/bookings\"} 2.5
fitforall_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/bookings\"} 100
fitforall_http_request_duration_seconds_bucket{le=\"0.05\",method=\"POST\",route=\"/api/v1/bookings\"} 80
fitforall_http_request_duration_seconds_bucket{le=\"0.1\",method=\"POST\",route=\"/api/v1/bookings\"} 95
";
        assert_eq!(parse_route_duration(metrics, "POST", "/api/v1/bookings"), Some((2.5, 100, 95)));
        assert_eq!(parse_route_duration(metrics, "POST", "/nowhere"), None);
        assert_eq!(parse_process_stat("123 (fit (for) all) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0"), Some(3.0));
        assert_eq!(parse_machine_stat("cpu  100 0 100 500 100 0 0 0 0 0\ncpu0 1 2 3 4 5\n"), Some(2.0));
        assert_eq!(thousands(20_123.4), "20,123");
        assert_eq!(thousands(999.0), "999");
    }
}
