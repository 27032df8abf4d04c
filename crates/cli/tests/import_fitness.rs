//! `fitforall import fitness-results` as a user runs it: Chinese headers, every bad row reported with
//! its line and column, nothing imported unless --skip-invalid, then the valid rows stored and counted
//! by the pass-rate query (incomplete records stored but not counted), a re-import that changes
//! nothing, standards by age, and clear errors for bad arguments. On SQLite, and on PostgreSQL when
//! FITFORALL_TEST_DATABASE_URL is set.

use std::process::Output;

use fitforall_core::region::RegionCode;
use fitforall_store::Store;
use fitforall_store::testing::TestDatabase;

mod support;
use support::{audit_entries, fitforall, text, write};

async fn run(database: TestDatabase, args: Vec<String>) -> (TestDatabase, Output) {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = fitforall(&database, &args);
        (database, output)
    })
    .await
    .unwrap()
}

/// Line 2 graded, 3 incomplete (no 50 m time), 4 graded; then the bad rows.
const STUDENTS: &str = "\
学号,性别,年级,身高(cm),体重(kg),肺活量,50米跑,坐位体前屈,一分钟跳绳,仰卧起坐,50米×8往返跑
a1,女,五年级,140,33,2000,9.0,15,150,40,1'50\"
a2,男,三年级,130,28,1500,,10,90,30,
a3,男,1,120,22,1700,10.2,16.1,139,,
a4,X,1,120,22,1700,10.2,16.1,139,,
a5,女,2,125,24,abc,11.0,10.5,100,,
a6,男,1,0,22,1700,10.2,16.1,139,,
a1,女,五年级,140,33,2000,9.0,15,150,40,1'50\"
,男,1,120,22,1700,10.2,16.1,139,,
";

/// Every bad row of `STUDENTS`, as printed.
const STUDENT_ERRORS: [&str; 5] = [
    "line 5, column 性别: unknown sex (expected M/F or 男/女)",
    "line 6, column 肺活量: expected a number",
    "line 7, column 身高(cm): must be greater than 0",
    "line 8, column 学号: duplicate id a1 (first on line 2)",
    "line 9, column 学号: required: the person's reference (e.g. a student number)",
];

fn args(file: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> =
        ["import", "fitness-results", file, "--standard", "cnsphs-2014", "--test-date", "2025-05-20", "--region", "330106"].map(String::from).to_vec();
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args
}

async fn import_story(database: TestDatabase) {
    let label = database.label;
    let directory = tempfile::tempdir().unwrap();
    let students = write(directory.path(), "学生.csv", STUDENTS);
    let west_lake = RegionCode::parse("330106").unwrap();

    let (database, output) = run(database, args(&students, &[])).await;
    let report = text(&output);
    assert!(!output.status.success(), "{label}: {report}");
    for error in STUDENT_ERRORS {
        assert!(report.contains(&format!("{students}: {error}\n")), "{label}: {error:?} missing from {report}");
    }
    assert!(report.contains("8 rows read, 3 valid, 5 invalid"), "{label}: {report}");
    assert!(report.contains("nothing imported: fix the rows above, or pass --skip-invalid to import the 3 valid rows"), "{label}: {report}");
    let store = Store::connect(&database.url).await.unwrap();
    assert_eq!(store.fitness_standards_with_results(west_lake, 2025).await.unwrap(), Vec::<String>::new(), "{label}: nothing was written");

    let (database, output) = run(database, args(&students, &["--skip-invalid"])).await;
    let report = text(&output);
    assert!(output.status.success(), "{label}: {report}");
    assert!(report.contains("imported: 3 inserted, 0 updated, 0 unchanged"), "{label}: {report}");
    assert!(report.contains("2 graded (counted in pass rates), 1 incomplete"), "{label}: {report}");
    let counts = store.pass_rate_counts("cnsphs-2014", 2025, RegionCode::parse("33").unwrap()).await.unwrap();
    let tested: u64 = counts.iter().map(|row| row.tested).sum();
    assert_eq!(tested, 2, "{label}: the incomplete record is not counted: {counts:?}");
    assert!(counts.iter().all(|row| row.region == west_lake && row.cohort_kind == "grade"), "{label}: {counts:?}");
    let cohorts: Vec<(String, u8, u64)> = counts.iter().map(|row| (row.sex.clone(), row.cohort, row.passed)).collect();
    assert_eq!(cohorts, vec![("F".to_string(), 5, 1), ("M".to_string(), 1, 1)], "{label}");

    let (database, output) = run(database, args(&students, &["--skip-invalid"])).await;
    assert!(text(&output).contains("imported: 0 inserted, 0 updated, 3 unchanged"), "{label}: re-import changes nothing: {}", text(&output));
    // The two imports that wrote (the second changed nothing), not the refused one; in the region of
    // --region, so that its administrators see them.
    let audited = audit_entries(&store, "import_fitness_results").await;
    assert_eq!(audited.len(), 2, "{label}: {audited:?}");
    assert!(audited.iter().all(|entry| entry.actor_label == "cli" && entry.region == Some(west_lake)), "{label}: {audited:?}");
    let afters: Vec<&str> = audited.iter().filter_map(|entry| entry.after_json.as_deref()).collect();
    assert!(afters.iter().any(|after| after.contains("\"inserted\":3")) && afters.iter().any(|after| after.contains("\"unchanged\":3")), "{label}: {afters:?}");

    // A corrected file: a1 again unchanged, a2 now complete (updated), a4 new.
    let corrected = write(
        directory.path(),
        "corrected.csv",
        "学号,性别,年级,身高(cm),体重(kg),肺活量,50米跑,坐位体前屈,一分钟跳绳,仰卧起坐,50米×8往返跑\n\
         a1,女,五年级,140,33,2000,9.0,15,150,40,1'50\"\n\
         a2,男,三年级,130,28,1500,10.0,10,90,30,\n\
         a4,男,1,120,22,1700,10.2,16.1,139,,\n",
    );
    let (database, output) = run(database, args(&corrected, &[])).await;
    assert!(text(&output).contains("imported: 1 inserted, 1 updated, 1 unchanged"), "{label}: {}", text(&output));
    let counts = store.pass_rate_counts("cnsphs-2014", 2025, west_lake).await.unwrap();
    assert_eq!(counts.iter().map(|row| row.tested).sum::<u64>(), 4, "{label}: {counts:?}");

    // A standard by age: the age on --test-date from the birth date.
    let adults = write(directory.path(), "adults.csv", "编号,性别,出生日期,闭眼单脚站立,握力\nb1,F,1990-06-15,12,30\nb2,M,2026-01-01,12,30\n");
    let (database, output) = run(
        database,
        vec![
            "import".into(),
            "fitness-results".into(),
            adults,
            "--standard".into(),
            "cnpfms-2003-adult".into(),
            "--test-date".into(),
            "2025-06-14".into(),
            "--region".into(),
            "330106".into(),
            "--skip-invalid".into(),
        ],
    )
    .await;
    let report = text(&output);
    assert!(output.status.success(), "{label}: {report}");
    assert!(report.contains("is PROVISIONAL"), "{label}: {report}");
    assert!(report.contains("line 3, column 出生日期: test date before the birth date"), "{label}: {report}");
    assert!(report.contains("imported: 1 inserted, 0 updated, 0 unchanged"), "{label}: {report}");
    drop(database);
}

#[tokio::test]
async fn imports_fitness_results_on_every_backend() {
    for database in TestDatabase::all().await {
        import_story(database).await;
    }
}

#[test]
fn bad_arguments_and_unusable_files_are_clear_errors() {
    let database = TestDatabase::sqlite();
    let directory = tempfile::tempdir().unwrap();
    let students = write(directory.path(), "students.csv", "id,sex,grade,height_cm,weight_kg\ns1,M,1,120,22\n");
    let dated = write(directory.path(), "dated.csv", "id,sex,grade,test_date,height_cm,weight_kg\ns1,M,1,2025-05-20,120,22\ns2,F,1,2025-05-21,120,22\n");
    // The same, its last line without a '\n': the error is still on line 3.
    let dated_unterminated =
        write(directory.path(), "dated_unterminated.csv", "id,sex,grade,test_date,height_cm,weight_kg\ns1,M,1,2025-05-20,120,22\ns2,F,1,2025-05-21,120,22");
    let no_id = write(directory.path(), "no_id.csv", "性别,年级,身高\nM,1,120\n");
    let no_birth = write(directory.path(), "no_birth.csv", "id,sex,age,握力\nb1,F,30,30\n");
    let cases: [(Vec<&str>, &str); 10] = [
        (
            vec![&students, "--standard", "cnsphs-2099", "--test-date", "2025-05-20", "--region", "330106"],
            "--standard: unknown standard \"cnsphs-2099\" (known: cnpfms-2003-adult, cnsphs-2014)",
        ),
        (vec![&students, "--standard", "cnsphs-2014", "--test-date", "2099-01-01", "--region", "330106"], "--test-date 2099-01-01 is in the future"),
        (vec![&students, "--standard", "cnsphs-2014", "--test-date", "20.5.2025", "--region", "330106"], "--test-date: expected YYYY-MM-DD, got \"20.5.2025\""),
        (vec![&students, "--standard", "cnsphs-2014", "--test-date", "2025-05-20", "--region", "3399"], "--region: region 3399 does not exist"),
        (
            vec![&students, "--standard", "cnsphs-2014", "--test-date", "2025-05-20", "--region", "330106", "--station", "nowhere"],
            "--station: station nowhere does not exist",
        ),
        (
            vec![&dated, "--standard", "cnsphs-2014", "--test-date", "2025-05-20", "--region", "330106"],
            "line 3, column test_date: 2025-05-21 differs from --test-date 2025-05-20; import one test date at a time",
        ),
        (
            vec![&dated_unterminated, "--standard", "cnsphs-2014", "--test-date", "2025-05-20", "--region", "330106"],
            "line 3, column test_date: 2025-05-21 differs from --test-date 2025-05-20; import one test date at a time",
        ),
        (vec![&no_id, "--standard", "cnsphs-2014", "--test-date", "2025-05-20", "--region", "330106"], "line 1, column id: missing column"),
        (vec![&no_birth, "--standard", "cnpfms-2003-adult", "--test-date", "2025-05-20", "--region", "330106"], "line 1, column birth_date: missing column"),
        (
            vec!["/nonexistent/results.csv", "--standard", "cnsphs-2014", "--test-date", "2025-05-20", "--region", "330106"],
            "cannot open /nonexistent/results.csv",
        ),
    ];
    for (arguments, expected) in cases {
        let mut all = vec!["import", "fitness-results"];
        all.extend(arguments.iter().copied());
        let output = fitforall(&database, &all);
        assert!(!output.status.success(), "{arguments:?}: {}", text(&output));
        assert!(text(&output).contains(expected), "{arguments:?}: expected {expected:?} in {}", text(&output));
    }
}
