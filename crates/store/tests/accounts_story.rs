//! Accounts, roles and security (issue 3), every story on SQLite and (when
//! FITFORALL_TEST_DATABASE_URL is set) PostgreSQL.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use fitforall_core::identity::Sex;
use fitforall_core::policy::{AccountId, Role, StationId};
use fitforall_core::region::RegionCode;
use fitforall_core::throttle::{FailureOutcome, Locked, LoginThrottle, ThrottlePolicy};
use fitforall_core::venue::VenueId;
use fitforall_store::testing::{TEST_DATABASE_URL_VAR, TestDatabase};
use fitforall_store::{
    AccountStatus, AuditEntry, AuditQuery, IdentityRecord, MAX_BULK_RESIDENTS, MAX_TOKEN_LOOKUP_BATCH, NewAccount, NewResidentWithToken, OutboxMessage,
    RoleGrantRecord, SessionInfo, Store, StoreError, TokenHolder,
};

fn code(text: &str) -> RegionCode {
    RegionCode::parse(text).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap()
}

/// A stand-in for a hex hash (the store only checks its length).
fn hash(seed: &str) -> String {
    format!("{seed:0>32}")
}

fn new_account(id: i64, phone: &str, region: Option<&str>) -> NewAccount {
    NewAccount {
        id: AccountId::new(id),
        phone: phone.to_string(),
        name: format!("居民{id}"),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt{id}$hash"),
        home_region: region.map(code),
    }
}

fn identity(seed: &str) -> IdentityRecord {
    IdentityRecord {
        id_number_hash: hash(seed),
        masked: "3301**********123X".to_string(),
        birth_date: NaiveDate::from_ymd_opt(1990, 3, 7).unwrap(),
        sex: Sex::Female,
    }
}

/// Every configured backend; PostgreSQL must be among them whenever the environment names a server.
async fn databases() -> Vec<TestDatabase> {
    let databases = TestDatabase::all().await;
    if std::env::var(TEST_DATABASE_URL_VAR).is_ok_and(|url| !url.is_empty()) {
        assert!(databases.iter().any(|database| database.label == "postgres"), "PostgreSQL configured but not used");
    }
    databases
}

async fn connect(database: &TestDatabase) -> Store {
    Store::connect(&database.url).await.unwrap_or_else(|error| panic!("{}: {error}", database.label))
}

fn is_conflict<T: std::fmt::Debug>(result: &Result<T, StoreError>, message: &str) -> bool {
    matches!(result, Err(StoreError::Conflict(text)) if text == message)
}

fn is_not_found<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::NotFound(_)))
}

async fn accounts_story(database: &TestDatabase) {
    let label = database.label;
    let store = connect(database).await;
    let now = t0();

    // Register; read back by id and by phone.
    let alice = new_account(1, "13800000001", Some("330106"));
    store.create_account(&alice, now).await.unwrap();
    let stored = store.account_by_id(alice.id).await.unwrap();
    assert_eq!((stored.phone.as_str(), stored.name.as_str(), stored.home_region), ("13800000001", "居民1", Some(code("330106"))), "{label}");
    assert_eq!((stored.status, stored.created_at, stored.updated_at, stored.identity.clone()), (AccountStatus::Active, now, now, None), "{label}");
    assert_eq!(stored.throttle, LoginThrottle::default(), "{label}");
    assert_eq!(store.account_by_phone("13800000001").await.unwrap().id, alice.id, "{label}");
    assert!(is_not_found(&store.account_by_phone("13800000009").await), "{label}");
    assert!(is_not_found(&store.account_by_id(AccountId::new(404)).await), "{label}");
    assert!(!format!("{stored:?}").contains("argon2"), "{label}: Debug hides the password hash");

    // A second registration of the phone is refused and leaves nothing behind.
    let again = new_account(2, "13800000001", None);
    assert!(is_conflict(&store.create_account(&again, now).await, "phone already registered"), "{label}");
    assert!(is_not_found(&store.account_by_id(again.id).await), "{label}: no half-written account");
    // A taken account id is refused too, and the phone it tried to claim stays free.
    let same_id = new_account(1, "13800000002", Some("330106"));
    assert!(matches!(store.create_account(&same_id, now).await, Err(StoreError::Conflict(_))), "{label}");
    assert!(is_not_found(&store.account_by_phone("13800000002").await), "{label}");
    let bob = new_account(2, "13800000002", None);
    store.create_account(&bob, now).await.unwrap();
    assert_eq!(store.account_by_phone("13800000002").await.unwrap().id, bob.id, "{label}: the claim was rolled back");

    // Identity: recorded once; another account cannot take it, and learns nothing about whose it is.
    let later = now + Duration::minutes(1);
    store.set_identity(alice.id, &identity("id-a"), later).await.unwrap();
    let stored = store.account_by_id(alice.id).await.unwrap();
    assert_eq!((stored.identity, stored.updated_at), (Some(identity("id-a")), later), "{label}");
    store.set_identity(alice.id, &identity("id-a"), later).await.unwrap();
    let taken = store.set_identity(bob.id, &identity("id-a"), later).await;
    assert!(is_conflict(&taken, "identity number already belongs to another account"), "{label}: {taken:?}");
    assert_eq!(store.account_by_id(bob.id).await.unwrap().identity, None, "{label}");
    store.set_identity(bob.id, &identity("id-b"), later).await.unwrap();
    // Replacing an identity releases the old claim.
    store.set_identity(bob.id, &identity("id-b2"), later).await.unwrap();
    let carol = new_account(3, "13800000003", Some("3302"));
    store.create_account(&carol, now).await.unwrap();
    store.set_identity(carol.id, &identity("id-b"), later).await.unwrap();

    // Password and throttle state.
    store.set_password_hash(alice.id, "$argon2id$new", later).await.unwrap();
    assert_eq!(store.account_by_id(alice.id).await.unwrap().password_hash, "$argon2id$new", "{label}");
    let mut throttle = LoginThrottle::default();
    let policy = ThrottlePolicy::default();
    for second in 0..5 {
        throttle.record_failure(1_800_000_000 + second, &policy);
    }
    throttle.record_failure(1_800_000_100, &policy);
    assert!(throttle.locked_until_unix_s().is_some(), "{label}");
    store.save_throttle(alice.id, &throttle, later).await.unwrap();
    assert_eq!(store.account_by_id(alice.id).await.unwrap().throttle, throttle, "{label}: throttle JSON round trip");
    assert!(is_not_found(&store.save_throttle(AccountId::new(404), &throttle, later).await), "{label}");

    // Deletion anonymises the row and releases the phone and identity; sessions and tokens go.
    store.create_session(&hash("s-alice"), alice.id, &hash("csrf-alice"), now + Duration::days(1), now).await.unwrap();
    store.create_api_token(11, &hash("t-alice"), alice.id, "laptop", now).await.unwrap();
    store.create_reset_code(&hash("r-alice"), alice.id, now + Duration::minutes(15), now).await.unwrap();
    let deleted_at = now + Duration::hours(1);
    store.delete_account(alice.id, deleted_at).await.unwrap();
    let gone = store.account_by_id(alice.id).await.unwrap();
    assert_eq!(gone.status, AccountStatus::Deleted, "{label}");
    assert_eq!((gone.phone.as_str(), gone.name.as_str(), gone.password_hash.as_str(), gone.identity.clone()), ("", "", "", None), "{label}");
    assert_eq!((gone.home_region, gone.created_at, gone.updated_at), (Some(code("330106")), now, deleted_at), "{label}");
    assert!(is_not_found(&store.account_by_phone("13800000001").await), "{label}");
    assert_eq!(store.session(&hash("s-alice"), now).await.unwrap(), None, "{label}");
    assert_eq!(store.api_token(&hash("t-alice"), now).await.unwrap(), None, "{label}");
    assert!(store.list_api_tokens(alice.id).await.unwrap().is_empty(), "{label}");
    assert!(is_not_found(&store.consume_reset_code(&hash("r-alice"), now).await), "{label}");
    assert!(is_not_found(&store.delete_account(alice.id, deleted_at).await), "{label}: already deleted");
    assert!(is_not_found(&store.set_password_hash(alice.id, "x", deleted_at).await), "{label}");
    assert!(is_not_found(&store.set_identity(alice.id, &identity("id-z"), deleted_at).await), "{label}");
    let returning = new_account(4, "13800000001", None);
    store.create_account(&returning, deleted_at).await.unwrap();
    store.set_identity(returning.id, &identity("id-a"), deleted_at).await.unwrap();
    assert_eq!(store.account_by_phone("13800000001").await.unwrap().id, returning.id, "{label}");
    store.close().await;
}

async fn roles_story(database: &TestDatabase) {
    let label = database.label;
    let store = connect(database).await;
    let now = t0();
    let (root, hz, other) = (AccountId::new(1), AccountId::new(2), AccountId::new(3));
    store.create_account(&new_account(1, "13900000001", None), now).await.unwrap();
    store.create_account(&new_account(2, "13900000002", Some("330106001")), now).await.unwrap();
    store.create_account(&new_account(3, "13900000003", Some("330203")), now).await.unwrap();

    // The first platform administrator is granted by nobody (the CLI bootstrap).
    store.grant_role(100, root, &Role::PlatformAdmin, None, now).await.unwrap();
    let hz_admin = Role::RegionAdmin { region: code("3301") };
    store.grant_role(101, hz, &hz_admin, Some(root), now).await.unwrap();
    let duplicate = store.grant_role(102, hz, &hz_admin, Some(root), now).await;
    assert!(matches!(duplicate, Err(StoreError::Conflict(_))), "{label}: duplicate active grant");
    assert!(is_not_found(&store.grant_role(103, AccountId::new(404), &hz_admin, Some(root), now).await), "{label}");

    // Revoke, then grant again: the partial index only covers active grants.
    let later = now + Duration::minutes(1);
    store.revoke_role(hz, &hz_admin, Some(root), later).await.unwrap();
    assert!(store.active_roles(hz).await.unwrap().is_empty(), "{label}");
    assert!(is_not_found(&store.revoke_role(hz, &hz_admin, Some(root), later).await), "{label}: nothing to revoke");
    store.grant_role(104, hz, &hz_admin, Some(root), later).await.unwrap();
    assert_eq!(store.active_roles(hz).await.unwrap(), vec![hz_admin.clone()], "{label}");

    // The last platform administrator stays, whether revoked or deleted.
    let last = "the last platform administrator cannot be removed";
    assert!(is_conflict(&store.revoke_role(root, &Role::PlatformAdmin, Some(root), later).await, last), "{label}");
    assert!(is_conflict(&store.delete_account(root, later).await, last), "{label}");
    assert!(is_not_found(&store.revoke_role(hz, &Role::PlatformAdmin, Some(root), later).await), "{label}: hz is no platform admin");
    store.grant_role(105, other, &Role::PlatformAdmin, Some(root), later).await.unwrap();
    store.revoke_role(root, &Role::PlatformAdmin, Some(other), later).await.unwrap();
    assert!(is_conflict(&store.revoke_role(other, &Role::PlatformAdmin, Some(other), later).await, last), "{label}");
    assert_eq!(store.active_roles(root).await.unwrap(), Vec::<Role>::new(), "{label}");

    // Every role variant round-trips through its slug and scope.
    let every = vec![
        Role::parse("resident", "").unwrap(),
        Role::parse("venue_operator", "venue-a").unwrap(),
        Role::parse("station_staff", "station-1").unwrap(),
        Role::parse("region_admin", "330106").unwrap(),
        Role::parse("platform_admin", "").unwrap(),
    ];
    assert_eq!(every[1], Role::VenueOperator { venue: VenueId::parse("venue-a").unwrap() });
    assert_eq!(every[2], Role::StationStaff { station: StationId::parse("station-1").unwrap() });
    for (index, role) in every.iter().enumerate() {
        store.grant_role(200 + index as i64, root, role, Some(other), later + Duration::seconds(index as i64)).await.unwrap();
    }
    assert_eq!(store.active_roles(root).await.unwrap(), every, "{label}: every variant, oldest first");
    // Two venues are two grants.
    let second_venue = Role::VenueOperator { venue: VenueId::parse("venue-b").unwrap() };
    store.grant_role(300, root, &second_venue, Some(other), later + Duration::seconds(10)).await.unwrap();
    assert_eq!(store.active_roles(root).await.unwrap().len(), 6, "{label}");

    // The administration list: by id, filtered by home region subtree, paged.
    let all = store.accounts_with_roles(None, 50, 0).await.unwrap();
    assert_eq!(all.iter().map(|(account, _)| account.id).collect::<Vec<_>>(), vec![root, hz, other], "{label}");
    assert_eq!(all[0].1.len(), 6, "{label}");
    assert_eq!(all[1].1, vec![hz_admin.clone()], "{label}");
    assert_eq!(all[2].1, vec![Role::PlatformAdmin], "{label}");
    let hangzhou = store.accounts_with_roles(Some(code("3301")), 50, 0).await.unwrap();
    assert_eq!(hangzhou.iter().map(|(account, _)| account.id).collect::<Vec<_>>(), vec![hz], "{label}");
    let page = store.accounts_with_roles(None, 1, 1).await.unwrap();
    assert_eq!(page.iter().map(|(account, _)| account.id).collect::<Vec<_>>(), vec![hz], "{label}");

    // Deleting an account revokes its grants.
    store.delete_account(hz, later).await.unwrap();
    assert!(store.active_roles(hz).await.unwrap().is_empty(), "{label}");
    assert_eq!(store.accounts_with_roles(Some(code("33")), 50, 0).await.unwrap().len(), 1, "{label}: only the Ningbo account remains");
    store.close().await;
}

async fn sessions_and_tokens_story(database: &TestDatabase) {
    let label = database.label;
    let store = connect(database).await;
    let now = t0();
    let (alice, bob) = (AccountId::new(1), AccountId::new(2));
    store.create_account(&new_account(1, "13700000001", Some("330106")), now).await.unwrap();
    store.create_account(&new_account(2, "13700000002", None), now).await.unwrap();

    // Sessions: create, read, slide, expire, log out.
    let expires = now + Duration::hours(12);
    store.create_session(&hash("s1"), alice, &hash("csrf1"), expires, now).await.unwrap();
    store.create_session(&hash("s2"), alice, &hash("csrf2"), expires, now).await.unwrap();
    store.create_session(&hash("s3"), bob, &hash("csrf3"), expires, now).await.unwrap();
    assert!(is_not_found(&store.create_session(&hash("s4"), AccountId::new(404), &hash("csrf4"), expires, now).await), "{label}");
    let session = store.session(&hash("s1"), now).await.unwrap().unwrap();
    assert_eq!((session.account, session.csrf_token.as_str(), session.expires_at, session.last_seen_at), (alice, hash("csrf1").as_str(), expires, now));
    assert_eq!(store.session(&hash("s1"), expires).await.unwrap(), None, "{label}: expired");
    let seen = now + Duration::hours(11);
    store.touch_session(&hash("s1"), seen + Duration::hours(12), seen).await.unwrap();
    assert!(store.session(&hash("s1"), expires + Duration::hours(1)).await.unwrap().is_some(), "{label}: slid");
    assert!(is_not_found(&store.touch_session(&hash("nope"), expires, now).await), "{label}");
    assert!(store.delete_session(&hash("s1")).await.unwrap(), "{label}");
    assert!(!store.delete_session(&hash("s1")).await.unwrap(), "{label}");
    assert_eq!(store.delete_sessions_of(alice).await.unwrap(), 1, "{label}");
    assert!(store.session(&hash("s2"), now).await.unwrap().is_none(), "{label}");
    assert_eq!(store.delete_expired_sessions(expires).await.unwrap(), 1, "{label}: bob's");

    // API tokens: found until revoked; only the owner revokes; last use recorded.
    store.create_api_token(10, &hash("t1"), alice, "script", now).await.unwrap();
    store.create_api_token(11, &hash("t2"), alice, "phone", now + Duration::seconds(1)).await.unwrap();
    // Token hashes are unique per province (the distribution rule); tokens are random, so only a bug repeats one.
    assert!(matches!(store.create_api_token(12, &hash("t1"), alice, "dup", now).await, Err(StoreError::Conflict(_))), "{label}");
    let used = now + Duration::minutes(5);
    let holder = |token_id: i64, roles: &[Role]| Some(TokenHolder { account: alice, token_id, roles: roles.to_vec() });
    assert_eq!(store.api_token(&hash("t1"), used).await.unwrap(), holder(10, &[]), "{label}: an account without grants");
    assert_eq!(store.api_token(&hash("unknown"), used).await.unwrap(), None, "{label}");
    assert!(is_not_found(&store.revoke_api_token(bob, 10, used).await), "{label}: another owner cannot revoke");
    // The token comes with its owner's active grants, oldest first; revoked grants are left out.
    let hz_admin = Role::RegionAdmin { region: code("330106") };
    let venue = Role::VenueOperator { venue: VenueId::parse("hz-7").unwrap() };
    let station = Role::StationStaff { station: StationId::parse("station-3").unwrap() };
    store.grant_role(20, alice, &venue, Some(bob), now + Duration::seconds(2)).await.unwrap();
    store.grant_role(21, alice, &hz_admin, Some(bob), now + Duration::seconds(1)).await.unwrap();
    store.grant_role(22, alice, &station, Some(bob), now + Duration::seconds(3)).await.unwrap();
    store.revoke_role(alice, &station, Some(bob), now + Duration::seconds(4)).await.unwrap();
    assert_eq!(store.api_token(&hash("t1"), used).await.unwrap(), holder(10, &[hz_admin.clone(), venue.clone()]), "{label}: still valid, with its grants");
    // Many at once (the `Caller` extractor's batches): the tokens found, each with its hash and grants.
    let mut found = store.api_tokens(&[hash("t2"), hash("unknown"), hash("t1"), hash("t2")], used).await.unwrap();
    found.sort_by_key(|(_, holder)| holder.token_id);
    let grants = vec![hz_admin, venue];
    assert_eq!(found, vec![(hash("t1"), holder(10, &grants).unwrap()), (hash("t2"), holder(11, &grants).unwrap())], "{label}");
    assert_eq!(store.api_tokens(&[], used).await.unwrap(), vec![], "{label}");
    let too_many: Vec<String> = (0..=MAX_TOKEN_LOOKUP_BATCH).map(|i| hash(&format!("many{i}"))).collect();
    assert!(matches!(store.api_tokens(&too_many, used).await, Err(StoreError::Conflict(_))), "{label}: at most {MAX_TOKEN_LOOKUP_BATCH}");
    store.revoke_api_token(alice, 10, used).await.unwrap();
    assert_eq!(store.api_token(&hash("t1"), used).await.unwrap(), None, "{label}: revoked");
    assert!(is_not_found(&store.revoke_api_token(alice, 10, used).await), "{label}: already revoked");
    let tokens = store.list_api_tokens(alice).await.unwrap();
    assert_eq!(tokens.iter().map(|token| (token.id, token.name.as_str())).collect::<Vec<_>>(), vec![(10, "script"), (11, "phone")], "{label}");
    assert_eq!((tokens[0].last_used_at, tokens[0].revoked_at), (Some(used), Some(used)), "{label}");
    assert_eq!((tokens[1].last_used_at, tokens[1].revoked_at), (Some(used), None), "{label}: used in the batch");
    assert!(store.list_api_tokens(bob).await.unwrap().is_empty(), "{label}");
    store.close().await;
}

fn audit(id: i64, minutes: i64, actor: i64, action: &str, region: Option<&str>) -> AuditEntry {
    AuditEntry {
        id,
        at: t0() + Duration::minutes(minutes),
        actor: Some(AccountId::new(actor)),
        actor_label: format!("管理员{actor}"),
        action: action.to_string(),
        target: format!("venue hz-{id}"),
        region: region.map(code),
        before_json: Some(format!(r#"{{"name":"旧{id}"}}"#)),
        after_json: (id % 2 == 0).then(|| format!(r#"{{"name":"新{id}"}}"#)),
    }
}

async fn audit_story(database: &TestDatabase) {
    let label = database.label;
    let store = connect(database).await;
    let entries = [
        audit(1, 0, 7, "update_venue", Some("330106")),
        audit(2, 1, 7, "create_venue", Some("330106001")),
        audit(3, 2, 8, "update_venue", Some("330203")),
        audit(4, 3, 9, "grant_role", None),
        audit(5, 4, 7, "update_venue", Some("3301")),
        audit(6, 5, 8, "delete_venue", Some("440100")),
    ];
    for entry in &entries {
        store.append_audit(entry).await.unwrap();
    }
    assert!(matches!(store.append_audit(&entries[0]).await, Err(StoreError::Conflict(_))), "{label}");
    let ids = |found: Vec<AuditEntry>| found.iter().map(|entry| entry.id).collect::<Vec<_>>();
    let search = |query: AuditQuery| {
        let store = store.clone();
        async move { store.search_audit(&query).await.unwrap() }
    };

    let everything = search(AuditQuery::default()).await;
    assert_eq!(everything.first(), Some(&entries[5]), "{label}: round trip, newest first");
    assert_eq!(ids(everything), vec![6, 5, 4, 3, 2, 1], "{label}");
    assert_eq!(ids(search(AuditQuery { actor: Some(AccountId::new(7)), ..AuditQuery::default() }).await), vec![5, 2, 1], "{label}");
    assert_eq!(ids(search(AuditQuery { action: Some("update_venue".into()), ..AuditQuery::default() }).await), vec![5, 3, 1], "{label}");
    // A Hangzhou administrator's search finds 西湖区 and its streets, never 宁波市.
    assert_eq!(ids(search(AuditQuery { region: Some(code("3301")), ..AuditQuery::default() }).await), vec![5, 2, 1], "{label}");
    assert_eq!(ids(search(AuditQuery { region: Some(code("330106")), ..AuditQuery::default() }).await), vec![2, 1], "{label}");
    assert_eq!(ids(search(AuditQuery { region: Some(code("33")), ..AuditQuery::default() }).await), vec![5, 3, 2, 1], "{label}");
    assert_eq!(ids(search(AuditQuery { region: Some(code("3302")), ..AuditQuery::default() }).await), vec![3], "{label}");
    // Time range: from inclusive, to exclusive.
    let range = AuditQuery { from: Some(t0() + Duration::minutes(1)), to: Some(t0() + Duration::minutes(4)), ..AuditQuery::default() };
    assert_eq!(ids(search(range).await), vec![4, 3, 2], "{label}");
    let combined = AuditQuery { actor: Some(AccountId::new(7)), action: Some("update_venue".into()), region: Some(code("3301")), ..AuditQuery::default() };
    assert_eq!(ids(search(combined).await), vec![5, 1], "{label}");
    // Paging.
    assert_eq!(ids(search(AuditQuery { limit: 2, offset: 0, ..AuditQuery::default() }).await), vec![6, 5], "{label}");
    assert_eq!(ids(search(AuditQuery { limit: 2, offset: 2, ..AuditQuery::default() }).await), vec![4, 3], "{label}");
    assert_eq!(ids(search(AuditQuery { limit: 2, offset: 6, ..AuditQuery::default() }).await), Vec::<i64>::new(), "{label}");
    assert_eq!(search(AuditQuery { limit: 100_000, ..AuditQuery::default() }).await.len(), 6, "{label}: limit capped, not refused");
    store.close().await;
}

async fn outbox_and_reset_story(database: &TestDatabase) {
    let label = database.label;
    let store = connect(database).await;
    let now = t0();
    let message = |id: i64| OutboxMessage {
        id,
        region: (id % 2 == 0).then(|| code("330106")),
        channel: "sms".into(),
        recipient: format!("1360000000{id}"),
        subject: "验证码".into(),
        body: format!("您的验证码是 00000{id}"),
    };
    for id in 1..=3 {
        store.enqueue_message(&message(id), now + Duration::seconds(id)).await.unwrap();
    }
    // Oldest first, limited; claimed ones are leased to their sender.
    let claim_at = now + Duration::minutes(1);
    let claimed = store.claim_messages(2, claim_at).await.unwrap();
    assert_eq!(claimed.iter().map(|claimed| (claimed.message.clone(), claimed.attempts)).collect::<Vec<_>>(), vec![(message(1), 0), (message(2), 0)]);
    let rest = store.claim_messages(10, claim_at).await.unwrap();
    assert_eq!(rest.iter().map(|claimed| claimed.message.id).collect::<Vec<_>>(), vec![3], "{label}: leased ones skipped");
    store.mark_message_sent(1, claim_at).await.unwrap();
    assert!(is_not_found(&store.mark_message_sent(1, claim_at).await), "{label}: sent once");
    store.mark_message_sent(3, claim_at).await.unwrap();
    // Message 2 fails: retried after a delay until the attempts cap.
    let mut at = claim_at;
    for attempt in 0..5 {
        store.mark_message_failed(2, "gateway timeout", at).await.unwrap();
        assert!(store.claim_messages(10, at).await.unwrap().is_empty(), "{label}: waits before retrying");
        at += Duration::minutes(2);
        let again = store.claim_messages(10, at).await.unwrap();
        if attempt < 4 {
            assert_eq!(again.iter().map(|claimed| (claimed.message.id, claimed.attempts)).collect::<Vec<_>>(), vec![(2, attempt + 1)], "{label}");
        } else {
            assert!(again.is_empty(), "{label}: five failures, given up");
        }
    }
    // An expired lease makes a message claimable again.
    store.enqueue_message(&message(4), at).await.unwrap();
    assert_eq!(store.claim_messages(10, at).await.unwrap().len(), 1, "{label}");
    assert!(store.claim_messages(10, at + Duration::minutes(1)).await.unwrap().is_empty(), "{label}");
    assert_eq!(store.claim_messages(10, at + Duration::minutes(6)).await.unwrap().len(), 1, "{label}: lease ran out");

    // Reset codes: single use, expiring; using one spends the others.
    let alice = AccountId::new(1);
    store.create_account(&new_account(1, "13600000001", None), now).await.unwrap();
    assert!(is_not_found(&store.create_reset_code(&hash("r0"), AccountId::new(404), now + Duration::minutes(15), now).await), "{label}");
    store.create_reset_code(&hash("r1"), alice, now + Duration::minutes(15), now).await.unwrap();
    store.create_reset_code(&hash("r2"), alice, now + Duration::minutes(15), now).await.unwrap();
    store.create_reset_code(&hash("r3"), alice, now + Duration::minutes(15), now).await.unwrap();
    assert!(is_not_found(&store.consume_reset_code(&hash("r1"), now + Duration::minutes(15)).await), "{label}: expired");
    assert_eq!(store.consume_reset_code(&hash("r1"), now + Duration::minutes(14)).await.unwrap(), alice, "{label}");
    assert!(is_not_found(&store.consume_reset_code(&hash("r1"), now + Duration::minutes(14)).await), "{label}: single use");
    assert!(is_not_found(&store.consume_reset_code(&hash("r2"), now + Duration::minutes(14)).await), "{label}: others spent");
    assert!(is_not_found(&store.consume_reset_code(&hash("unknown"), now).await), "{label}");
    store.close().await;
}

async fn personal_data_story(database: &TestDatabase) {
    let label = database.label;
    let store = connect(database).await;
    let now = t0();
    let (alice, bob) = (AccountId::new(1), AccountId::new(2));
    store.create_account(&new_account(1, "13300000001", Some("330106")), now).await.unwrap();
    store.create_account(&new_account(2, "13300000002", None), now).await.unwrap();

    // Failed logins are counted in one locked transaction: 4 counted, the 5th locks, then no more counting.
    let policy = ThrottlePolicy::default();
    for attempt in 1..=4 {
        let outcome = store.record_failed_login(alice, &policy, now + Duration::seconds(attempt)).await.unwrap();
        assert_eq!(outcome, FailureOutcome::Counted { failures_left: 5 - attempt as u32 }, "{label}");
    }
    let locked = store.record_failed_login(alice, &policy, now + Duration::seconds(5)).await.unwrap();
    assert_eq!(locked, FailureOutcome::LockedOut(Locked { retry_after_s: 15 * 60 }), "{label}");
    assert!(matches!(store.record_failed_login(alice, &policy, now + Duration::seconds(6)).await.unwrap(), FailureOutcome::AlreadyLocked(_)), "{label}");
    assert!(store.account_by_id(alice).await.unwrap().throttle.check(now.timestamp() + 6).is_err(), "{label}: stored");
    assert!(is_not_found(&store.record_failed_login(AccountId::new(404), &policy, now).await), "{label}");
    // Twenty failures at once are twenty failures: none is lost to a concurrent write.
    let roomy = ThrottlePolicy { max_failures: 25, ..ThrottlePolicy::default() };
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.record_failed_login(bob, &roomy, now).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(store.record_failed_login(bob, &roomy, now).await.unwrap(), FailureOutcome::Counted { failures_left: 4 }, "{label}: 21 counted");

    // Ending the other sessions keeps the one named; `None` ends them all; other accounts keep theirs.
    let expires = now + Duration::days(1);
    for (index, seed) in ["s1", "s2", "s3"].iter().enumerate() {
        store.create_session(&hash(seed), alice, &hash("csrf"), expires, now + Duration::seconds(index as i64)).await.unwrap();
    }
    store.create_session(&hash("s4"), bob, &hash("csrf"), expires, now).await.unwrap();
    let sessions = store.sessions_of(alice, 100).await.unwrap();
    assert_eq!(sessions.len(), 3, "{label}");
    assert_eq!(sessions[1], SessionInfo { created_at: now + Duration::seconds(1), last_seen_at: now + Duration::seconds(1), expires_at: expires }, "{label}");
    assert_eq!(store.sessions_of(alice, 2).await.unwrap().len(), 2, "{label}: limited");
    assert_eq!(store.delete_sessions_of_except(alice, Some(&hash("s2"))).await.unwrap(), 2, "{label}");
    assert!(store.session(&hash("s2"), now).await.unwrap().is_some(), "{label}: kept");
    assert!(store.session(&hash("s1"), now).await.unwrap().is_none() && store.session(&hash("s3"), now).await.unwrap().is_none(), "{label}");
    assert_eq!(store.delete_sessions_of_except(alice, None).await.unwrap(), 1, "{label}");
    assert!(store.session(&hash("s4"), now).await.unwrap().is_some(), "{label}: bob's stays");

    // The grant history keeps revoked grants with their times.
    let hz_admin = Role::RegionAdmin { region: code("3301") };
    let later = now + Duration::hours(1);
    store.grant_role(10, alice, &hz_admin, Some(bob), now).await.unwrap();
    store.revoke_role(alice, &hz_admin, Some(bob), later).await.unwrap();
    store.grant_role(11, alice, &hz_admin, Some(bob), later + Duration::seconds(1)).await.unwrap();
    let history = store.role_history(alice, 100).await.unwrap();
    assert_eq!(
        history,
        vec![
            RoleGrantRecord { role: hz_admin.clone(), granted_at: now, revoked_at: Some(later) },
            RoleGrantRecord { role: hz_admin.clone(), granted_at: later + Duration::seconds(1), revoked_at: None },
        ],
        "{label}"
    );
    assert!(store.role_history(bob, 100).await.unwrap().is_empty(), "{label}");

    // Audit entries that name the account as actor or target, newest first.
    let entry = |id: i64, minutes: i64, actor: i64, target: &str| AuditEntry {
        id,
        at: now + Duration::minutes(minutes),
        actor: Some(AccountId::new(actor)),
        actor_label: format!("account {actor}"),
        action: "grant_role".into(),
        target: target.into(),
        region: None,
        before_json: None,
        after_json: None,
    };
    for audit in [entry(1, 0, 1, "venue a"), entry(2, 1, 2, "account 1"), entry(3, 2, 2, "account 2"), entry(4, 3, 2, "account 10")] {
        store.append_audit(&audit).await.unwrap();
    }
    let ids: Vec<i64> = store.audit_of_account(alice, 100).await.unwrap().iter().map(|audit| audit.id).collect();
    assert_eq!(ids, vec![2, 1], "{label}: not account 10's");

    // Messages to the phone, newest first, without their bodies; a reset code and its message in one go.
    let message = |id: i64, recipient: &str| OutboxMessage {
        id,
        region: None,
        channel: "sms".into(),
        recipient: recipient.into(),
        subject: format!("通知 {id}"),
        body: format!("验证码 {id}"),
    };
    store.enqueue_message(&message(1, "13300000001"), now).await.unwrap();
    store.enqueue_message(&message(2, "13300000002"), now).await.unwrap();
    store.mark_message_sent(1, later).await.unwrap();
    store.create_reset_code(&hash("old-code"), alice, later + Duration::minutes(15), later).await.unwrap();
    store.create_reset_code_with_message(&hash("new-code"), alice, later + Duration::minutes(15), &message(3, "13300000001"), later).await.unwrap();
    let messages = store.messages_to("13300000001", 100).await.unwrap();
    assert_eq!(
        messages.iter().map(|record| (record.id, record.subject.as_str(), record.sent_at)).collect::<Vec<_>>(),
        vec![(3, "通知 3", None), (1, "通知 1", Some(later))],
        "{label}"
    );
    assert!(is_not_found(&store.consume_reset_code(&hash("old-code"), later).await), "{label}: a new code replaces the old one");
    assert_eq!(store.count_reset_codes_since(alice, later).await.unwrap(), 2, "{label}");
    assert_eq!(store.count_reset_codes_since(alice, later + Duration::seconds(1)).await.unwrap(), 0, "{label}");
    // All or nothing: a taken message id leaves no code behind; an unknown account leaves no message.
    let taken = store.create_reset_code_with_message(&hash("third-code"), alice, later + Duration::minutes(15), &message(3, "13300000001"), later).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{label}: {taken:?}");
    assert!(is_not_found(&store.consume_reset_code(&hash("third-code"), later).await), "{label}: rolled back");
    let nobody = store.create_reset_code_with_message(&hash("x-code"), AccountId::new(404), later, &message(9, "13300000009"), later).await;
    assert!(is_not_found(&nobody), "{label}");
    assert!(store.messages_to("13300000009", 100).await.unwrap().is_empty(), "{label}");
    assert_eq!(store.consume_reset_code(&hash("new-code"), later).await.unwrap(), alice, "{label}");

    // Deleting the account removes the messages addressed to its phone, and nobody else's.
    store.delete_account(alice, later).await.unwrap();
    assert!(store.messages_to("13300000001", 100).await.unwrap().is_empty(), "{label}");
    assert_eq!(store.messages_to("13300000002", 100).await.unwrap().len(), 1, "{label}");
    assert!(is_not_found(&store.record_failed_login(alice, &policy, later).await), "{label}: deleted");
    store.close().await;
}

/// Twenty registrations of one phone at once: the claim's primary key lets exactly one through.
async fn concurrent_registration(database: &TestDatabase) {
    let label = database.label;
    let store = connect(database).await;
    let now = t0();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.create_account(&new_account(1_000 + i, "13500000000", Some("330106")), now).await })
        })
        .collect();
    let mut successes = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(()) => successes.push(1_000 + i as i64),
            Err(StoreError::Conflict(message)) => assert_eq!(message, "phone already registered", "{label}"),
            Err(other) => panic!("{label}: unexpected {other}"),
        }
    }
    assert_eq!(successes.len(), 1, "{label}: exactly one registration wins");
    let winner = store.account_by_phone("13500000000").await.unwrap();
    assert_eq!(winner.id.as_i64(), successes[0], "{label}");
    assert_eq!(store.accounts_with_roles(None, 500, 0).await.unwrap().len(), 1, "{label}: one account row");

    // The same for an identity number claimed by twenty different accounts at once.
    for i in 0..20 {
        store.create_account(&new_account(2_000 + i, &format!("135100000{i:02}"), None), now).await.unwrap();
    }
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.set_identity(AccountId::new(2_000 + i), &identity("contested"), now).await })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("{label}: unexpected {other}"),
        }
    }
    assert_eq!(won, 1, "{label}: exactly one account holds the identity number");

    // Two platform administrators revoking each other at once: one revocation must fail, every round.
    let mut survivor = AccountId::new(2_000);
    store.grant_role(5_000, survivor, &Role::PlatformAdmin, None, now).await.unwrap();
    for round in 1..=10 {
        let newcomer = AccountId::new(2_000 + round);
        store.grant_role(5_000 + round, newcomer, &Role::PlatformAdmin, Some(survivor), now).await.unwrap();
        let revoke = |account: AccountId| {
            let store = store.clone();
            tokio::spawn(async move { store.revoke_role(account, &Role::PlatformAdmin, None, now).await })
        };
        let (first, second) = (revoke(survivor), revoke(newcomer));
        let (first, second) = (first.await.unwrap(), second.await.unwrap());
        match (&first, &second) {
            (Ok(()), Err(StoreError::Conflict(_))) => survivor = newcomer,
            (Err(StoreError::Conflict(_)), Ok(())) => {}
            _ => panic!("{label}: round {round}: {first:?} / {second:?}"),
        }
        assert_eq!(store.active_roles(survivor).await.unwrap(), vec![Role::PlatformAdmin], "{label}");
    }
    store.close().await;
}

#[tokio::test]
async fn accounts_claims_and_deletion_on_every_backend() {
    for database in databases().await {
        accounts_story(&database).await;
    }
}

#[tokio::test]
async fn roles_on_every_backend() {
    for database in databases().await {
        roles_story(&database).await;
    }
}

/// `create_residents_with_tokens`: what `create_account` then `create_api_token` make, many at once,
/// all or nothing.
async fn residents_in_bulk_story(database: &TestDatabase) {
    let label = database.label;
    let store = connect(database).await;
    let resident = |id: i64, phone: &str, token: &str| NewResidentWithToken {
        account: new_account(id, phone, Some("330106")),
        token_id: id + 1_000,
        token_hash: hash(token),
    };
    // More than one statement's chunk, so that the chunks are tested too.
    let residents: Vec<NewResidentWithToken> = (0..120).map(|i| resident(500 + i, &format!("1390000{i:04}"), &format!("bulk{i}"))).collect();
    store.create_residents_with_tokens(&residents, "rush", t0()).await.unwrap();
    for i in [0, 57, 119] {
        let account = store.account_by_phone(&format!("1390000{i:04}")).await.unwrap();
        assert_eq!(
            (account.id, account.name.as_str(), account.home_region),
            (AccountId::new(500 + i), format!("居民{}", 500 + i).as_str(), Some(code("330106"))),
            "{label}"
        );
        let holder = store.api_token(&hash(&format!("bulk{i}")), t0()).await.unwrap().unwrap();
        assert_eq!((holder.account, holder.token_id, holder.roles.len()), (AccountId::new(500 + i), 1_500 + i, 0), "{label}");
        assert_eq!(store.list_api_tokens(account.id).await.unwrap()[0].name, "rush", "{label}");
    }
    // A phone already taken: a conflict, and nothing of the call is written.
    let clash = vec![resident(900, "13900009999", "new900"), resident(901, "13900000005", "new901")];
    assert!(is_conflict(&store.create_residents_with_tokens(&clash, "rush", t0()).await, "phone already registered"), "{label}");
    assert!(is_not_found(&store.account_by_phone("13900009999").await), "{label}: the first of the call was not kept");
    assert_eq!(store.api_token(&hash("new900"), t0()).await.unwrap(), None, "{label}");
    store.create_residents_with_tokens(&[], "rush", t0()).await.unwrap();
    let too_many: Vec<NewResidentWithToken> =
        (0..=MAX_BULK_RESIDENTS as i64).map(|i| resident(10_000 + i, &format!("137{i:08}"), &format!("many{i}"))).collect();
    assert!(matches!(store.create_residents_with_tokens(&too_many, "rush", t0()).await, Err(StoreError::Conflict(_))), "{label}: at most {MAX_BULK_RESIDENTS}");
    store.close().await;
}

#[tokio::test]
async fn residents_in_bulk_on_every_backend() {
    for database in databases().await {
        residents_in_bulk_story(&database).await;
    }
}

#[tokio::test]
async fn sessions_and_api_tokens_on_every_backend() {
    for database in databases().await {
        sessions_and_tokens_story(&database).await;
    }
}

#[tokio::test]
async fn audit_search_on_every_backend() {
    for database in databases().await {
        audit_story(&database).await;
    }
}

#[tokio::test]
async fn outbox_and_reset_codes_on_every_backend() {
    for database in databases().await {
        outbox_and_reset_story(&database).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn personal_data_on_every_backend() {
    for database in databases().await {
        personal_data_story(&database).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_registrations_on_every_backend() {
    for database in databases().await {
        concurrent_registration(&database).await;
    }
}
