//! The binary as a user runs it: imports with row-level reports, all-or-nothing, idempotent; the
//! indicator table. On SQLite, and on PostgreSQL when FITFORALL_TEST_DATABASE_URL is set.

use std::process::{Command, Output};

use fitforall_store::testing::TestDatabase;

mod support;
use support::{audit_entries, fitforall, text, write};

const VENUES_WITH_ERRORS: &str = "\
id,name,region_code,lat,lng,type,sports_area_m2,sports,opening_hours,free_hours
hz-1,西湖体育馆,330106,30.2600,120.1300,gymnasium,3000,badminton;basketball,Mo-Su 06:00-22:00,Mo-Fr 06:00-08:00
hz-2,黄龙健身路径,330106,30.2700,120.1400,fitness_path,400,fitness,24/7,24/7
hz-3,坏行,330106,abc,120.1400,fitness_path,400,fitness,24/7,24/7
hz-1,重复,330106,30.2600,120.1300,gymnasium,3000,,,
";

fn import_story(database: &TestDatabase) {
    let label = database.label;
    let directory = tempfile::tempdir().unwrap();
    let venues = write(directory.path(), "venues.csv", VENUES_WITH_ERRORS);

    let output = fitforall(database, &["import", "venues", &venues]);
    assert!(!output.status.success(), "{label}: {}", text(&output));
    let report = text(&output);
    assert!(report.contains("line 4, column lat: expected a number, got \"abc\""), "{label}: {report}");
    assert!(report.contains("line 5, column id: duplicate id hz-1 (first on line 2)"), "{label}: {report}");
    assert!(report.contains("4 rows read, 2 valid, 2 invalid"), "{label}: {report}");
    assert!(report.contains("nothing imported"), "{label}: {report}");

    let output = fitforall(database, &["import", "venues", &venues, "--skip-invalid"]);
    assert!(output.status.success(), "{label}: {}", text(&output));
    assert!(text(&output).contains("imported: 2 inserted, 0 updated, 0 unchanged"), "{label}: {}", text(&output));
    let output = fitforall(database, &["import", "venues", &venues, "--skip-invalid"]);
    assert!(text(&output).contains("imported: 0 inserted, 0 updated, 2 unchanged"), "{label}: re-import changes nothing: {}", text(&output));

    let geojson = write(
        directory.path(),
        "venues.geojson",
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"hz-2","geometry":{"type":"Point","coordinates":[120.14,30.27]},
            "properties":{"name":"黄龙健身路径（改）","region_code":"330106","type":"fitness_path","sports_area_m2":500,"sports":["fitness"],"opening_hours":"24/7","free_hours":"24/7"}}]}"#,
    );
    let output = fitforall(database, &["import", "venues", &geojson]);
    assert!(text(&output).contains("imported: 0 inserted, 1 updated, 0 unchanged"), "{label}: {}", text(&output));

    let population = write(directory.path(), "population.csv", "region_code,year,population\n330106,2023,1150000\n330102,2023,1350000\n");
    let output = fitforall(database, &["import", "population", &population]);
    assert!(text(&output).contains("imported: 2 inserted, 0 updated, 0 unchanged"), "{label}: {}", text(&output));
    let bad_population = write(directory.path(), "bad.csv", "region_code,year,people\n330106,2023,5\n");
    let output = fitforall(database, &["import", "population", &bad_population]);
    assert!(!output.status.success(), "{label}");
    assert!(text(&output).contains("line 1, column population: missing column"), "{label}: {}", text(&output));

    let regions = write(directory.path(), "regions.csv", "code,name\n330106,西湖区\n");
    let output = fitforall(database, &["import", "regions", &regions]);
    assert!(text(&output).contains("imported: 0 inserted, 0 updated, 1 unchanged"), "{label}: {}", text(&output));

    let output = fitforall(database, &["indicators", "per-capita-area", "--region", "3301", "--format", "csv"]);
    assert!(output.status.success(), "{label}: {}", text(&output));
    let csv = String::from_utf8_lossy(&output.stdout);
    assert!(csv.starts_with("region_code,name,venues,sports_area_m2,population,m2_per_person\n3301,杭州市,2,3500,2500000*,0.0014\n"), "{label}: {csv}");
    assert!(csv.contains("330106,西湖区,2,3500,1150000,0.0030\n"), "{label}: {csv}");
    let output = fitforall(database, &["indicators", "per-capita-area", "--region", "3399"]);
    assert!(!output.status.success());
    assert!(text(&output).contains("region 3399 does not exist"), "{label}: {}", text(&output));
}

/// Every import that wrote is in the audit log with the CLI as its actor and what it changed; a
/// refused file is not.
async fn imports_are_audited(database: &TestDatabase) {
    let label = database.label;
    let store = fitforall_store::Store::connect(&database.url).await.unwrap();
    let venues = audit_entries(&store, "import_venues").await;
    assert_eq!(venues.len(), 3, "{label}: the two CSV imports with --skip-invalid and the GeoJSON one: {venues:?}");
    assert!(venues.iter().all(|entry| entry.actor.is_none() && entry.actor_label == "cli" && entry.region.is_none()), "{label}: {venues:?}");
    let afters: Vec<&str> = venues.iter().filter_map(|entry| entry.after_json.as_deref()).collect();
    assert!(afters.iter().any(|after| after.contains("\"inserted\":2") && after.contains("venues.csv")), "{label}: {afters:?}");
    assert!(afters.iter().any(|after| after.contains("\"unchanged\":2")), "{label}: the import that changed nothing too: {afters:?}");
    assert!(venues.iter().any(|entry| entry.target.ends_with("venues.geojson")), "{label}: {venues:?}");
    assert_eq!(audit_entries(&store, "import_population").await.len(), 1, "{label}: not the refused population file");
    assert_eq!(audit_entries(&store, "import_regions").await.len(), 1, "{label}");
    store.close().await;
}

#[tokio::test]
async fn imports_and_indicators_on_every_backend() {
    for database in TestDatabase::all().await {
        let database = tokio::task::spawn_blocking(move || {
            import_story(&database);
            database
        })
        .await
        .unwrap();
        imports_are_audited(&database).await;
    }
}

#[test]
fn missing_file_and_bad_config_are_clear_errors() {
    let database = TestDatabase::sqlite();
    let output = fitforall(&database, &["import", "venues", "/nonexistent/venues.csv"]);
    assert!(!output.status.success());
    assert!(text(&output).contains("cannot open /nonexistent/venues.csv"), "{}", text(&output));
    let directory = tempfile::tempdir().unwrap();
    let config = write(directory.path(), "bad.toml", "listen_addr = 1\n");
    let output = fitforall(&database, &["--config", &config, "indicators", "per-capita-area", "--region", "33"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("unknown field `listen_addr`"), "{}", text(&output));
}

fn fitforall_with_stdin(database: &TestDatabase, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_fitforall"))
        .args(args)
        .env("FITFORALL_DATABASE_URL", &database.url)
        .env("FITFORALL_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run fitforall");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

async fn admin_story(database: TestDatabase) {
    let label = database.label;
    let (output, database) =
        tokio::task::spawn_blocking(move || (fitforall(&database, &["admin", "create", "--phone", "138 0000 0001", "--name", "平台管理员"]), database))
            .await
            .unwrap();
    assert!(output.status.success(), "{label}: {}", text(&output));
    let printed = text(&output);
    assert!(printed.contains("(138****0001, 平台管理员) with role platform_admin"), "{label}: {printed}");
    let password = printed.lines().find_map(|line| line.strip_prefix("password (shown once, change it after the first login): ")).unwrap().to_string();

    let store = fitforall_store::Store::connect(&database.url).await.unwrap();
    let account = store.account_by_phone("13800000001").await.unwrap();
    assert!(fitforall_server::auth::verify_password(password, account.password_hash.clone()).await, "{label}: the printed password works");
    assert_eq!(store.active_roles(account.id).await.unwrap(), vec![fitforall_core::policy::Role::PlatformAdmin], "{label}");
    let audit = store
        .search_audit(&fitforall_store::AuditQuery {
            actor: None,
            action: Some("create_account".into()),
            region: None,
            from: None,
            to: None,
            limit: 10,
            offset: 0,
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1, "{label}");
    assert_eq!(audit[0].actor_label, "cli");

    let database = tokio::task::spawn_blocking(move || {
        let output = fitforall(&database, &["admin", "create", "--phone", "13800000001"]);
        assert!(!output.status.success(), "{label}");
        assert!(text(&output).contains("phone already registered"), "{label}: {}", text(&output));
        let output = fitforall(&database, &["admin", "create", "--phone", "12345", "--role", "resident"]);
        assert!(text(&output).contains("--phone: a mainland mobile number has 11 digits, got 5"), "{label}: {}", text(&output));
        let output = fitforall(&database, &["admin", "create", "--phone", "13800000002", "--role", "region-admin"]);
        assert!(text(&output).contains("--region is required for a region administrator"), "{label}: {}", text(&output));
        let output = fitforall_with_stdin(&database, &["admin", "create", "--phone", "13800000002", "--password-stdin"], "12345678\n");
        assert!(text(&output).contains("password: the password must not be only digits"), "{label}: {}", text(&output));
        let output = fitforall_with_stdin(
            &database,
            &["admin", "create", "--phone", "13800000002", "--role", "region-admin", "--region", "3301", "--password-stdin"],
            "杭州管理员的密码\n",
        );
        assert!(output.status.success(), "{label}: {}", text(&output));
        assert!(!text(&output).contains("password (shown once"), "{label}");
        database
    })
    .await
    .unwrap();
    let account = store.account_by_phone("13800000002").await.unwrap();
    assert!(fitforall_server::auth::verify_password("杭州管理员的密码".into(), account.password_hash.clone()).await, "{label}");
    let region = fitforall_core::region::RegionCode::parse("3301").unwrap();
    assert_eq!(store.active_roles(account.id).await.unwrap(), vec![fitforall_core::policy::Role::RegionAdmin { region }], "{label}");
    drop(database);
}

#[tokio::test]
async fn admin_create_on_every_backend() {
    for database in TestDatabase::all().await {
        admin_story(database).await;
    }
}
