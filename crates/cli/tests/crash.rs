//! Crash: `kill -9` the real `fitforall serve` in the middle of a booking rush, restart it on the
//! same database, and check from the database that every booking acknowledged with 201 is there
//! (with its status), that no slot is over capacity and each slot's `taken` matches its bookings, and
//! that retrying the unanswered requests with their own Idempotency-Key never makes a second booking
//! (a request that was committed before the kill answers with that booking, marked replayed).
//! On SQLite, and on PostgreSQL when FITFORALL_TEST_DATABASE_URL is set.
//!
//! The rush: 300 residents, 30 slots of 10 places. Slots 0–9 (tomorrow) are "hot": every resident
//! asks for one, 30 requests per 10 places, so most are refused as full. Slots 10–29 (the two days
//! after) are "roomy": two residents in three also ask for one, exactly 10 requests per 10 places, so
//! a retry there always gets a place. The rush runs in rounds, each killed once enough requests have
//! been answered and followed by a restart and a check of the database; a request the kill left
//! unanswered is committed or not depending on the moment, and the rounds make it likely that some
//! are (the retry must then replay them).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use fitforall_core::booking::{BookingRulesInput, BookingStatus, ResourceId, SlotId, SlotRuleInput, generate_slots};
use fitforall_core::policy::AccountId;
use fitforall_core::venue::{VenueId, VenueInput};
use fitforall_store::testing::TestDatabase;
use fitforall_store::{Booking, Resource, Store};
use serde_json::{Value, json};

const RESIDENTS: usize = 300;
/// Tomorrow's slots.
const HOT_SLOTS: usize = 10;
/// The next two days' slots.
const ROOMY_SLOTS: usize = 20;
const PLACES: u32 = 10;
/// Clients sending at the same time.
const CLIENTS: usize = 48;
/// Each round's server is killed once this many requests have been answered in the round.
const KILL_AFTER_ANSWERS: [usize; 3] = [150, 75, 75];
/// Concurrent clients when retrying after the restart.
const RETRY_CLIENTS: usize = 16;
/// Acknowledged requests sent again after the restart (each must replay its booking).
const ACKNOWLEDGED_RETRIED: usize = 10;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const PHASE_TIMEOUT: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The `fitforall serve` child process; killed (SIGKILL) and reaped on drop, also when a test panics.
/// Shared so that the client that sees the deciding answer can kill it at once.
struct Server {
    child: Arc<Mutex<Child>>,
    base: String,
    log: PathBuf,
}

impl Server {
    /// Starts `fitforall serve` on a free port and waits for its "listening" line.
    fn start(url: &str, directory: &Path, name: &str) -> Server {
        let log = directory.join(format!("{name}.log"));
        let stderr = std::fs::File::create(&log).expect("create the server log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_fitforall"))
            .args(["serve", "--database", url, "--listen", "127.0.0.1:0"])
            .current_dir(directory)
            .env("FITFORALL_LOG", "warn")
            .env_remove("FITFORALL_DATABASE_URL")
            .env_remove("FITFORALL_LISTEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("start fitforall serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut server = Server { child: Arc::new(Mutex::new(child)), base: String::new(), log };
        let (sender, receiver) = std::sync::mpsc::channel();
        // Reads stdout until the process ends, so the pipe never fills up.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("FitForAll listening on ") {
                    let _ = sender.send(address.trim().to_string());
                }
            }
        });
        match receiver.recv_timeout(STARTUP_TIMEOUT) {
            Ok(base) => server.base = base,
            Err(_) => panic!(
                "{name}: no \"FitForAll listening on\" line within {STARTUP_TIMEOUT:?} (exit: {:?}); log:\n{}",
                server.child.lock().unwrap_or_else(PoisonError::into_inner).try_wait(),
                server.log_text()
            ),
        }
        server
    }

    /// SIGKILL (std's `Child::kill` on Unix), then reap.
    fn kill(&self) {
        kill(&self.child);
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn kill(child: &Mutex<Child>) {
    let mut child = child.lock().unwrap_or_else(PoisonError::into_inner);
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// China's local date today.
fn today() -> NaiveDate {
    (Utc::now() + chrono::Duration::hours(8)).date_naive()
}

/// One booking request of the rush: who, which slot (index into the slots), with which key.
#[derive(Debug, Clone)]
struct Attempt {
    resident: usize,
    slot: usize,
    key: String,
}

impl Attempt {
    fn hot(&self) -> bool {
        self.slot < HOT_SLOTS
    }
}

/// What a client saw.
#[derive(Debug, Clone)]
enum Outcome {
    /// 201: the booking's id (None when the body was cut off) and status.
    Created { id: Option<i64>, status: String, replayed: bool, body: String },
    /// Any other answer.
    Answered { status: u16, code: String, body: String },
    /// Sent, no answer (the connection failed: the kill).
    Lost(String),
}

impl Outcome {
    fn answered(&self) -> bool {
        !matches!(self, Outcome::Lost(_))
    }
}

struct Fixture {
    store: Store,
    accounts: Vec<AccountId>,
    tokens: Vec<String>,
    slots: Vec<SlotId>,
    attempts: Vec<Attempt>,
}

/// Regions, a venue, a resource always open for booking with 30 slots of 10 places, and the residents
/// with their API tokens — all through the store, before the server starts.
async fn prepare(database: &TestDatabase) -> Fixture {
    let label = database.label;
    let store = Store::connect(&database.url).await.unwrap_or_else(|error| panic!("{label}: {error}"));
    fitforall_server::startup::seed_regions_if_empty(&store).await.unwrap();
    let input: VenueInput = serde_json::from_value(
        json!({"id": "crash", "name": "西湖体育馆", "region_code": "330106", "lat": 30.25, "lng": 120.15, "type": "gymnasium", "sports_area_m2": 3000}),
    )
    .unwrap();
    let venue = input.parse(VenueId::parse("crash").unwrap(), |_| true).unwrap();
    store.upsert_venues(&[venue], Utc::now()).await.unwrap();

    // 08:00–18:00 in slots of an hour: 10 a day, tomorrow (hot) and the two days after (roomy).
    let rule = SlotRuleInput {
        weekdays: "1-7".into(),
        start: "08:00".into(),
        end: "18:00".into(),
        slot_length_min: 60,
        places: PLACES,
        price_fen: 0,
        reduced_price_fen: None,
    };
    let rules = BookingRulesInput {
        opens_at: Some("00:00".into()),
        days_ahead: Some(14),
        quota_per_day: Some(10),
        quota_per_week: Some(20),
        ..BookingRulesInput::default()
    };
    let resource = Resource {
        id: ResourceId::parse("crash-court").unwrap(),
        venue: VenueId::parse("crash").unwrap(),
        province: "33".into(),
        name: "压力测试场".into(),
        kind: "court".into(),
        slot_rules: vec![rule.parse().unwrap()],
        booking_rules: rules.parse().unwrap(),
        real_name: false,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    };
    store.create_resource(&resource).await.unwrap();
    let first = today() + chrono::Duration::days(1);
    let specs = generate_slots(&resource.slot_rules, &[], first, 3);
    store.ensure_slots(&resource, &specs, &mut fitforall_server::auth::new_id).await.unwrap();
    let last = first + chrono::Duration::days(3);
    let slots: Vec<SlotId> = store
        .slots_between(&resource.id, first.and_hms_opt(0, 0, 0).unwrap(), last.and_hms_opt(0, 0, 0).unwrap())
        .await
        .unwrap()
        .iter()
        .map(|slot| slot.id)
        .collect();
    assert_eq!(slots.len(), HOT_SLOTS + ROOMY_SLOTS, "{label}: the generated slots");

    let mut accounts = Vec::with_capacity(RESIDENTS);
    let mut tokens = Vec::with_capacity(RESIDENTS);
    for index in 0..RESIDENTS {
        let id = AccountId::new(fitforall_server::auth::new_id());
        let account =
            fitforall_store::NewAccount {
                id, phone: format!("136{index:08}"), name: format!("居民 {index}"), password_hash: String::new(), home_region: None
            };
        store.create_account(&account, Utc::now()).await.unwrap();
        let (token, hash) = fitforall_server::auth::new_token();
        store.create_api_token(fitforall_server::auth::new_id(), &hash, id, "crash", Utc::now()).await.unwrap();
        accounts.push(id);
        tokens.push(token);
    }

    let mut attempts = Vec::new();
    let mut roomy = 0;
    for resident in 0..RESIDENTS {
        attempts.push(Attempt { resident, slot: resident % HOT_SLOTS, key: format!("hot-{resident}") });
        if resident % 3 != 2 {
            attempts.push(Attempt { resident, slot: HOT_SLOTS + roomy % ROOMY_SLOTS, key: format!("roomy-{resident}") });
            roomy += 1;
        }
    }
    assert_eq!(roomy, ROOMY_SLOTS * PLACES as usize, "as many roomy requests as roomy places");
    Fixture { store, accounts, tokens, slots, attempts }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(REQUEST_TIMEOUT).connect_timeout(Duration::from_secs(5)).build().unwrap()
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn send(client: &reqwest::Client, base: &str, token: &str, slot: SlotId, key: &str) -> Outcome {
    let request = client
        .post(format!("{base}/api/v1/bookings"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&json!({"slot_id": slot.to_string(), "places": 1}));
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => return Outcome::Lost(error_chain(&error)),
    };
    let status = response.status().as_u16();
    let replayed = response.headers().get("idempotent-replayed").is_some_and(|value| value == "true");
    let body = response.text().await;
    match (status, body) {
        (201, Ok(body)) => {
            let value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let id = value["id"].as_str().and_then(|id| id.parse().ok());
            Outcome::Created { id, status: value["status"].as_str().unwrap_or_default().to_string(), replayed, body }
        }
        // The status line came after the commit: acknowledged, even if the body was cut off.
        (201, Err(error)) => Outcome::Created { id: None, status: String::new(), replayed, body: error_chain(&error) },
        (status, body) => {
            let body = body.unwrap_or_else(|error| error_chain(&error));
            let code = serde_json::from_str::<Value>(&body).ok().and_then(|value| value["error"]["code"].as_str().map(str::to_string)).unwrap_or_default();
            Outcome::Answered { status, code, body }
        }
    }
}

/// Every booking in the database, by (account, idempotency key).
async fn bookings_by_key(fixture: &Fixture) -> HashMap<(AccountId, String), Vec<Booking>> {
    let mut by_key: HashMap<(AccountId, String), Vec<Booking>> = HashMap::new();
    for account in &fixture.accounts {
        for booking in fixture.store.bookings_of_account(*account, 1_000, 0).await.unwrap() {
            assert_eq!(booking.account, *account);
            by_key.entry((booking.account, booking.idempotency_key.clone())).or_default().push(booking);
        }
    }
    by_key
}

/// The slot invariants, from the database: `taken` is the places of the bookings holding one (the
/// store's audit), never above capacity, and our slots' counts match the bookings we can see.
async fn check_slots(fixture: &Fixture, by_key: &HashMap<(AccountId, String), Vec<Booking>>, label: &str, when: &str) {
    let broken = fixture.store.audit_slot_counts().await.unwrap();
    assert!(broken.is_empty(), "{label} {when}: slots whose taken is over capacity or differs from their bookings (id, capacity, taken, held): {broken:?}");
    let mut holding: HashMap<SlotId, u32> = HashMap::new();
    for booking in by_key.values().flatten().filter(|booking| booking.status.holds_place()) {
        *holding.entry(booking.slot).or_default() += booking.places;
    }
    for id in &fixture.slots {
        let slot = fixture.store.slot(*id).await.unwrap();
        assert!(slot.taken <= slot.capacity, "{label} {when}: {slot:?} over capacity");
        assert_eq!(slot.taken, holding.get(id).copied().unwrap_or(0), "{label} {when}: {slot:?} against its bookings");
    }
}

fn start_server(database: &TestDatabase, directory: &Path, name: String) -> tokio::task::JoinHandle<Server> {
    let (url, directory) = (database.url.clone(), directory.to_path_buf());
    tokio::task::spawn_blocking(move || Server::start(&url, &directory, &name))
}

/// What one round of the rush did.
struct Round {
    answers_at_kill: usize,
    killed_after: Duration,
    outcomes: Vec<(usize, Outcome)>,
}

/// `CLIENTS` clients send the attempts from `next` on, one after another, until the server is killed:
/// by the client that receives the round's `kill_after`-th answer, right then — typically in the
/// middle of delivering a committed batch's answers, so some committed bookings stay unanswered — or
/// when the attempts run out.
async fn rush_round(fixture: &Arc<Fixture>, server: &Server, next: &Arc<AtomicUsize>, kill_after: usize, label: &str) -> Round {
    let base = Arc::new(server.base.clone());
    let answered = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let http = client();
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (fixture, base, answered, next, killed, http) = (fixture.clone(), base.clone(), answered.clone(), next.clone(), killed.clone(), http.clone());
        let child = server.child.clone();
        clients.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !killed.load(Ordering::SeqCst) {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(attempt) = fixture.attempts.get(index) else { break };
                let outcome = send(&http, &base, &fixture.tokens[attempt.resident], fixture.slots[attempt.slot], &attempt.key).await;
                if outcome.answered() && answered.fetch_add(1, Ordering::SeqCst) + 1 == kill_after {
                    // Clients take no new attempt from here on: the ones taken are in flight or answered.
                    killed.store(true, Ordering::SeqCst);
                    kill(&child);
                }
                seen.push((index, outcome));
            }
            seen
        }));
    }
    let deadline = Instant::now() + PHASE_TIMEOUT;
    while !killed.load(Ordering::SeqCst) && clients.iter().any(|client| !client.is_finished()) {
        assert!(Instant::now() < deadline, "{label}: only {} answers within {PHASE_TIMEOUT:?}; log:\n{}", answered.load(Ordering::SeqCst), server.log_text());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    killed.store(true, Ordering::SeqCst);
    server.kill();
    let killed_after = started.elapsed();
    let answers_at_kill = answered.load(Ordering::SeqCst).min(kill_after);
    let mut outcomes = Vec::new();
    for client in clients {
        outcomes.extend(tokio::time::timeout(PHASE_TIMEOUT, client).await.unwrap_or_else(|_| panic!("{label}: a client hung after the kill")).unwrap());
    }
    Round { answers_at_kill, killed_after, outcomes }
}

/// How the requests sent so far fared, checked against the database after a restart.
#[derive(Default)]
struct Tally {
    acknowledged: Vec<(usize, Option<i64>)>,
    full: Vec<usize>,
    lost: Vec<usize>,
    committed_unanswered: Vec<usize>,
    persisted: usize,
}

fn key_of(fixture: &Fixture, index: usize) -> (AccountId, String) {
    let attempt = &fixture.attempts[index];
    (fixture.accounts[attempt.resident], attempt.key.clone())
}

/// After a restart: every acknowledged booking is stored as answered, nothing refused or unsent is,
/// one booking per key, and the slots add up.
async fn check_after_restart(fixture: &Fixture, outcomes: &HashMap<usize, Outcome>, label: &str, when: &str, log: &str) -> Tally {
    let by_key = bookings_by_key(fixture).await;
    let mut tally = Tally::default();
    for (index, attempt) in fixture.attempts.iter().enumerate() {
        let stored = by_key.get(&key_of(fixture, index));
        match outcomes.get(&index) {
            None => assert!(stored.is_none(), "{label} {when}: {attempt:?} was never sent but is booked: {stored:?}"),
            Some(Outcome::Created { id, status, replayed, body }) => {
                assert!(!replayed, "{label}: {attempt:?} replayed in the rush, its key is new: {body}");
                if id.is_some() {
                    assert_eq!(status, "confirmed", "{label}: {attempt:?}: a free slot confirms at once: {body}");
                }
                let stored = stored.unwrap_or_else(|| panic!("{label} {when}: {attempt:?} was acknowledged with 201 but is not in the database: {body}"));
                let booking = &stored[0];
                if let Some(id) = id {
                    assert_eq!(booking.id, *id, "{label} {when}: {attempt:?}: the acknowledged id");
                }
                let expected = (fixture.slots[attempt.slot], 1, BookingStatus::Confirmed);
                assert_eq!((booking.slot, booking.places, booking.status), expected, "{label} {when}: {attempt:?}: {booking:?}");
                tally.acknowledged.push((index, *id));
            }
            Some(Outcome::Answered { status: 409, code, .. }) if code == "full" && attempt.hot() => {
                assert!(stored.is_none(), "{label} {when}: {attempt:?} was refused as full but is booked: {stored:?}");
                tally.full.push(index);
            }
            Some(Outcome::Answered { status, body, .. }) => panic!("{label}: {attempt:?} answered {status} in the rush: {body}\nserver log:\n{log}"),
            Some(Outcome::Lost(_)) => {
                tally.lost.push(index);
                if let Some(stored) = stored {
                    assert_eq!((stored[0].slot, stored[0].status), (fixture.slots[attempt.slot], BookingStatus::Confirmed), "{label} {when}: {attempt:?}");
                    tally.committed_unanswered.push(index);
                }
            }
        }
    }
    let known: HashSet<(AccountId, String)> = (0..fixture.attempts.len()).map(|index| key_of(fixture, index)).collect();
    for (key, bookings) in &by_key {
        assert!(known.contains(key), "{label} {when}: a booking nobody asked for: {bookings:?}");
        assert_eq!(bookings.len(), 1, "{label} {when}: one booking per idempotency key: {bookings:?}");
    }
    check_slots(fixture, &by_key, label, when).await;
    tally.persisted = by_key.len();
    assert_eq!(tally.persisted, tally.acknowledged.len() + tally.committed_unanswered.len(), "{label} {when}: persisted = acknowledged + committed unanswered");
    tally
}

async fn crash_story(database: TestDatabase) {
    let label = database.label;
    let started = Instant::now();
    let directory = tempfile::tempdir().unwrap();
    let fixture = tokio::time::timeout(Duration::from_secs(120), prepare(&database)).await.unwrap_or_else(|_| panic!("{label}: preparing timed out"));
    let fixture = Arc::new(fixture);
    println!("{label}: prepared {} residents, {} slots of {PLACES} in {} ms", RESIDENTS, fixture.slots.len(), started.elapsed().as_millis());

    // The rush in rounds: each server killed in the middle, restarted on the same database, checked.
    let next = Arc::new(AtomicUsize::new(0));
    let mut server = start_server(&database, directory.path(), "round-0".into()).await.unwrap();
    let mut outcomes: HashMap<usize, Outcome> = HashMap::new();
    let mut lost_errors: HashSet<String> = HashSet::new();
    let mut tally = Tally::default();
    for (round, kill_after) in KILL_AFTER_ANSWERS.into_iter().enumerate() {
        let sent_before = outcomes.len();
        let result = rush_round(&fixture, &server, &next, kill_after, label).await;
        let log = server.log_text();
        let noted: Vec<&str> =
            log.lines().filter(|line| (line.contains("WARN") || line.contains("ERROR")) && !line.contains("no message sender configured")).collect();
        if !noted.is_empty() {
            println!("{label}: round {}: the server logged {} warnings/errors, first: {:?}", round + 1, noted.len(), &noted[..noted.len().min(3)]);
        }
        for (_, outcome) in &result.outcomes {
            if let Outcome::Lost(error) = outcome {
                lost_errors.insert(error.rsplit(": ").take(2).collect::<Vec<_>>().join(" < "));
            }
        }
        outcomes.extend(result.outcomes);
        let restarted = Instant::now();
        server = start_server(&database, directory.path(), format!("round-{}", round + 1)).await.unwrap();
        let restart_took = restarted.elapsed();
        let before = (tally.acknowledged.len(), tally.full.len(), tally.lost.len(), tally.committed_unanswered.len());
        tally = check_after_restart(&fixture, &outcomes, label, &format!("after kill {}", round + 1), &log).await;
        println!(
            "{label}: round {}: {} requests sent, killed after {} answers ({} ms): {} acknowledged, {} full, {} lost in flight; \
             restarted in {} ms: {} of the lost had been committed",
            round + 1,
            outcomes.len() - sent_before,
            result.answers_at_kill,
            result.killed_after.as_millis(),
            tally.acknowledged.len() - before.0,
            tally.full.len() - before.1,
            tally.lost.len() - before.2,
            restart_took.as_millis(),
            tally.committed_unanswered.len() - before.3,
        );
        if outcomes.len() == fixture.attempts.len() {
            break;
        }
    }
    assert!(!tally.acknowledged.is_empty(), "{label}: nothing acknowledged before the kills");
    let not_sent: Vec<usize> = (0..fixture.attempts.len()).filter(|index| !outcomes.contains_key(index)).collect();

    // Retry every unanswered request (and a few acknowledged ones) with its own key.
    let by_key = bookings_by_key(&fixture).await;
    let mut retried: Vec<usize> = tally.lost.iter().chain(&not_sent).copied().collect();
    retried.extend(tally.acknowledged.iter().take(ACKNOWLEDGED_RETRIED).map(|(index, _)| *index));
    let retry_started = Instant::now();
    let base = Arc::new(server.base.clone());
    let queue = Arc::new(retried.clone());
    let next = Arc::new(AtomicUsize::new(0));
    let http = client();
    let mut clients = Vec::new();
    for _ in 0..RETRY_CLIENTS {
        let (fixture, base, queue, next, http) = (fixture.clone(), base.clone(), queue.clone(), next.clone(), http.clone());
        clients.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(index) = queue.get(next.fetch_add(1, Ordering::SeqCst)).copied() {
                let attempt = &fixture.attempts[index];
                seen.push((index, send(&http, &base, &fixture.tokens[attempt.resident], fixture.slots[attempt.slot], &attempt.key).await));
            }
            seen
        }));
    }
    let mut retries: HashMap<usize, Outcome> = HashMap::new();
    for client in clients {
        retries.extend(tokio::time::timeout(PHASE_TIMEOUT, client).await.unwrap_or_else(|_| panic!("{label}: a retry hung")).unwrap());
    }
    let retry_took = retry_started.elapsed();
    let (mut replayed_count, mut new_count, mut full_count) = (0, 0, 0);
    let mut answered_ids: HashMap<usize, i64> = HashMap::new();
    for index in &retried {
        let attempt = &fixture.attempts[*index];
        let before = by_key.get(&key_of(&fixture, *index)).map(|bookings| &bookings[0]);
        match (&retries[index], before) {
            (Outcome::Created { id, replayed, body, .. }, Some(booking)) => {
                assert!(*replayed, "{label}: {attempt:?} was committed before the kill; its retry must replay it: {body}");
                assert_eq!(*id, Some(booking.id), "{label}: {attempt:?}: the retry gives the committed booking, not another: {body}");
                replayed_count += 1;
                answered_ids.insert(*index, booking.id);
            }
            (Outcome::Created { id, replayed, body, .. }, None) => {
                assert!(!replayed, "{label}: {attempt:?} replayed a booking the database did not have: {body}");
                let id = id.unwrap_or_else(|| panic!("{label}: {attempt:?}: a 201 without an id: {body}"));
                new_count += 1;
                answered_ids.insert(*index, id);
            }
            (Outcome::Answered { status: 409, code, .. }, None) if code == "full" && attempt.hot() => full_count += 1,
            (outcome, before) => panic!("{label}: retrying {attempt:?} (booked before: {before:?}) gave {outcome:?}\nserver log:\n{}", server.log_text()),
        }
    }

    // Still one booking per key, the answers are those bookings, and the slots add up.
    let by_key = bookings_by_key(&fixture).await;
    let known: HashSet<(AccountId, String)> = (0..fixture.attempts.len()).map(|index| key_of(&fixture, index)).collect();
    for (key, bookings) in &by_key {
        assert_eq!(bookings.len(), 1, "{label}: one booking per idempotency key after the retries: {bookings:?}");
        assert!(known.contains(key), "{label}: a booking nobody asked for: {bookings:?}");
    }
    for (index, id) in &answered_ids {
        let found = by_key
            .get(&key_of(&fixture, *index))
            .unwrap_or_else(|| panic!("{label}: {:?}: its retry answered 201 but it is not stored", fixture.attempts[*index]));
        assert_eq!(found[0].id, *id, "{label}: {:?}", fixture.attempts[*index]);
    }
    check_slots(&fixture, &by_key, label, "after the retries").await;
    let hot_taken = by_key.values().flatten().filter(|booking| fixture.slots[..HOT_SLOTS].contains(&booking.slot)).count();
    let roomy_taken = by_key.values().flatten().filter(|booking| fixture.slots[HOT_SLOTS..].contains(&booking.slot)).count();
    drop(server);

    println!(
        "{label}: {} of {} requests sent in the rounds: {} acknowledged (201), {} full (409), {} lost in flight ({} of them committed), {} not sent; \
         {} persisted; connection errors: {lost_errors:?}",
        outcomes.len(),
        fixture.attempts.len(),
        tally.acknowledged.len(),
        tally.full.len(),
        tally.lost.len(),
        tally.committed_unanswered.len(),
        not_sent.len(),
        tally.persisted,
    );
    println!(
        "{label}: retried {} ({} of them acknowledged before) in {} ms: {replayed_count} replayed, {new_count} new, {full_count} full; \
         finally {} bookings, hot slots {hot_taken}/{}, roomy slots {roomy_taken}/{}; total {} ms",
        retried.len(),
        ACKNOWLEDGED_RETRIED.min(tally.acknowledged.len()),
        retry_took.as_millis(),
        by_key.len(),
        HOT_SLOTS * PLACES as usize,
        ROOMY_SLOTS * PLACES as usize,
        started.elapsed().as_millis(),
    );
    assert_eq!(roomy_taken, ROOMY_SLOTS * PLACES as usize, "{label}: every roomy request ends with its booking");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_rush_loses_no_acknowledged_booking() {
    for database in TestDatabase::all().await {
        crash_story(database).await;
    }
}
