//! `fitforall score` as a user runs it: a CSV with good and bad rows is scored, the bad rows are
//! listed in OUTPUT.errors.csv with line, column and reason, the rest is still scored; Chinese headers;
//! a standard loaded from a directory (data, not code), and one with a non-monotone column refused
//! with its file and line.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn fitforall(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fitforall")).args(args).env("FITFORALL_LOG", "warn").output().expect("run fitforall")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn write(directory: &Path, name: &str, contents: &str) -> String {
    let path = directory.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

const MIXED: &str = "\
id,grade,sex,height_cm,weight_kg,vital_capacity_ml,run_50m_s,sit_and_reach_cm,rope_skip_1min,standing_long_jump_cm,pull_ups,run_1000m_s,sit_ups_1min,run_800m_s,note
s1,1,M,120,22,1700,10.2,16.1,139,,,,,,all 100 + bonus
s2,初一,男,160,50,3400,8.0,14.2,,211,11,\"4'15\"\"\",,,\"level 90, quoted\"
s3,1,X,120,22,1700,10.2,16.1,109,,,,,,bad sex
s4,1,M,0,22,1700,-8.5,16.1,109,,,,,,height 0 and a negative time
s5,17,F,120,22,1700,10.2,16.1,109,,,,,,unknown grade
s6,1,M,120,22,1700,10.2,16.1,,,,,,,rope not tested

s7,2,F,125,24,abc,11.0,10.5,100,,,,,,text in a number column
s8,大一,女,165,52,3400,7.5,25.8,,207,,,56,3:18,university year 1
s9,1,M,120,22,699,12.65,0.0,17,,,,,,low
";

const MIXED_OUTPUT: &str = "\
id,grade,sex,height_cm,weight_kg,vital_capacity_ml,run_50m_s,sit_and_reach_cm,rope_skip_1min,standing_long_jump_cm,pull_ups,run_1000m_s,sit_ups_1min,run_800m_s,note,score_bmi,score_vital_capacity,score_run_50m,score_sit_and_reach,score_rope_skip_1min,score_standing_long_jump,score_sit_ups_1min,score_pull_ups,score_shuttle_run_50m_x8,score_run_1000m,score_run_800m,bmi,standard_score,bonus,total,grade,pass
s1,1,M,120,22,1700,10.2,16.1,139,,,,,,all 100 + bonus,100,100,100,100,100,,,,,,,15.3,100.00,15,115.00,excellent,true
s2,初一,男,160,50,3400,8.0,14.2,,211,11,\"4'15\"\"\",,,\"level 90, quoted\",100,90,90,90,,90,,90,,90,,19.5,91.50,0,91.50,excellent,true
s6,1,M,120,22,1700,10.2,16.1,,,,,,,rope not tested,100,100,100,100,missing,,,,,,,15.3,,0,,incomplete,
s8,大一,女,165,52,3400,7.5,25.8,,207,,,56,3:18,university year 1,100,100,100,100,,100,100,,,,100,19.1,100.00,0,100.00,excellent,true
s9,1,M,120,22,699,12.65,0.0,17,,,,,,low,100,50,50,60,60,,,,,,,15.3,62.50,0,62.50,pass,true
";

const MIXED_ERRORS: &str = "\
line,column,reason
4,sex,unknown sex (expected M/F or 男/女)
5,height_cm,must be greater than 0
5,run_50m_s,must not be negative
6,grade,\"unknown grade (expected 1-16, 一年级…六年级, 初一…初三, 七年级…九年级, 高一…高三, 大一…大四)\"
9,vital_capacity_ml,expected a number
";

#[test]
fn scores_good_rows_and_lists_bad_ones() {
    let directory = tempfile::tempdir().unwrap();
    let input = write(directory.path(), "records.csv", MIXED);
    let output = directory.path().join("scored.csv");
    let result = fitforall(&["score", "--standard", "cnsphs-2014", &input, "-o", output.to_str().unwrap()]);
    assert!(result.status.success(), "{}", text(&result));
    assert!(text(&result).contains("scored 5 rows, 4 rows with errors (5 problems)"), "{}", text(&result));
    assert_eq!(read(&output), MIXED_OUTPUT);
    assert_eq!(read(&directory.path().join("scored.errors.csv")), MIXED_ERRORS);
}

#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    // `fitforall score … | head -0`: the summary goes to a pipe that nobody reads any more.
    let directory = tempfile::tempdir().unwrap();
    let input = write(directory.path(), "records.csv", MIXED);
    let output = directory.path().join("scored.csv");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fitforall"))
        .args(["score", "--standard", "cnsphs-2014", &input, "-o", output.to_str().unwrap()])
        .env("FITFORALL_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let result = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(result.status.code(), Some(141), "the status of a process ended by SIGPIPE: {stderr}");
    assert_eq!(read(&output), MIXED_OUTPUT, "the output was complete before the summary was printed");
}

#[test]
fn crlf_files_keep_their_line_numbers_and_the_threads_keep_the_order() {
    let directory = tempfile::tempdir().unwrap();
    let input = write(directory.path(), "records.csv", &MIXED.replace('\n', "\r\n"));
    let output = directory.path().join("scored.csv");
    // One record per batch on 3 threads: the writer must put the rows back in input order.
    let result = fitforall(&["score", &input, "-o", output.to_str().unwrap(), "--threads", "3", "--batch-records", "1"]);
    assert!(result.status.success(), "{}", text(&result));
    assert_eq!(read(&output), MIXED_OUTPUT);
    assert_eq!(read(&directory.path().join("scored.errors.csv")), MIXED_ERRORS);
}

#[test]
fn a_bad_last_row_without_a_newline_is_reported_at_its_own_line() {
    let directory = tempfile::tempdir().unwrap();
    // The last row lacks its '\n', with and without a quoted field.
    for (last, expect) in [("s3,1,X,120,22", "3,sex,"), ("\"s3\",1,X,120,22", "3,sex,"), ("\n\"s4\",1,M,-1,22", "4,height_cm,")] {
        let input = write(directory.path(), "records.csv", &format!("id,grade,sex,height_cm,weight_kg\ns1,1,M,120,22\n{last}"));
        let output = directory.path().join("scored.csv");
        let result = fitforall(&["score", &input, "-o", output.to_str().unwrap()]);
        assert!(result.status.success(), "{}", text(&result));
        let errors = read(&directory.path().join("scored.errors.csv"));
        assert!(errors.lines().nth(1).is_some_and(|line| line.starts_with(expect)), "{last:?}: {errors}");
    }
}

#[test]
fn chinese_headers() {
    let directory = tempfile::tempdir().unwrap();
    let input = write(
        directory.path(),
        "学生.csv",
        "学号,性别,年级,身高(cm),体重(kg),肺活量,50米跑,坐位体前屈,一分钟跳绳,仰卧起坐,50米×8往返跑\n\
         a1,女,五年级,140,33,2000,9.0,15,150,40,1'50\"\n\
         a2,男,三年级,130,28,1500,,10,90,30,\n",
    );
    let output = directory.path().join("成绩.csv");
    let result = fitforall(&["score", &input, "-o", output.to_str().unwrap()]);
    assert!(result.status.success(), "{}", text(&result));
    let scored = read(&output);
    let lines: Vec<&str> = scored.lines().collect();
    assert_eq!(lines.len(), 3, "{scored}");
    assert!(lines[0].starts_with("学号,性别,年级,身高(cm),体重(kg),肺活量,50米跑,坐位体前屈,一分钟跳绳,仰卧起坐,50米×8往返跑,score_bmi,"), "{scored}");
    assert!(lines[1].ends_with(",excellent,true") || lines[1].ends_with(",good,true") || lines[1].ends_with(",pass,true"), "{scored}");
    assert!(lines[2].ends_with(",incomplete,"), "a2 has no 50 m time: {scored}");
    assert!(lines[2].contains(",missing,"), "{scored}");
    assert_eq!(read(&directory.path().join("成绩.errors.csv")), "line,column,reason\n");
}

#[test]
fn missing_columns_and_unknown_standards_are_refused() {
    let directory = tempfile::tempdir().unwrap();
    let input = write(directory.path(), "records.csv", "id,sex,height_cm\n1,M,120\n");
    let output = directory.path().join("out.csv");
    let result = fitforall(&["score", &input, "-o", output.to_str().unwrap()]);
    assert!(!result.status.success());
    assert!(text(&result).contains("missing column grade"), "{}", text(&result));
    let result = fitforall(&["score", "--standard", "cnsphs-2099", &input, "-o", output.to_str().unwrap()]);
    assert!(!result.status.success());
    assert!(text(&result).contains("unknown standard \"cnsphs-2099\" (known: cnpfms-2003-adult, cnsphs-2014)"), "{}", text(&result));
}

#[test]
fn the_adult_standard_is_marked_provisional() {
    let directory = tempfile::tempdir().unwrap();
    let input = write(directory.path(), "adults.csv", "id,sex,birth_date,test_date,闭眼单脚站立,握力\nb1,F,1990-06-15,2025-06-14,12,30\n");
    let output = directory.path().join("out.csv");
    let result = fitforall(&["score", "--standard", "cnpfms-2003-adult", &input, "-o", output.to_str().unwrap()]);
    assert!(result.status.success(), "{}", text(&result));
    assert!(text(&result).contains("is PROVISIONAL"), "{}", text(&result));
    assert!(text(&result).contains("women 35–39 sit-and-reach"), "{}", text(&result));
    let scored = read(&output);
    assert!(scored.lines().next().unwrap().ends_with(",grade,pass,provisional"), "{scored}");
    assert!(scored.lines().nth(1).unwrap().ends_with(",incomplete,,yes"), "{scored}");
}

const FX_STANDARD: &str = "key,value\ncode,FX-1\nname_zh,测试\nname_en,Fixture\nversion,1\nstatus,verified\nbounds,thresholds\n";
const FX_ITEMS: &str = "\
standard,sex,grade_min,grade_max,item,item_cn,score,threshold,lower_bound,upper_bound,unit,direction
FX-1,M,1,2,jump,跳远,100,150,150,,cm,higher_better
FX-1,M,1,2,jump,跳远,60,120,120,150,cm,higher_better
FX-1,F,1,2,jump,跳远,100,140,140,,cm,higher_better
FX-1,F,1,2,jump,跳远,60,110,110,140,cm,higher_better
";

fn fixture_dir(directory: &Path, items: &str) -> String {
    write(directory, "standards/grades.csv", "standard,population,excellent_min,good_min,pass_min\nFX-1,fixture pupils,90.0,80.0,60.0\n");
    write(directory, "standards/fx/standard.csv", FX_STANDARD);
    write(directory, "standards/fx/weights.csv", "standard,grade_min,grade_max,item,weight_pct\nFX-1,1,2,jump,100\n");
    write(directory, "standards/fx/items.csv", items);
    directory.join("standards").display().to_string()
}

#[test]
fn standards_from_a_directory_are_data_and_are_validated() {
    let directory = tempfile::tempdir().unwrap();
    let standards = fixture_dir(directory.path(), FX_ITEMS);
    let input = write(directory.path(), "in.csv", "id,sex,grade,跳远\n1,F,2,140\n2,M,1,119\n");
    let output = directory.path().join("out.csv");
    let result = fitforall(&["score", "--standards-dir", &standards, "--standard", "fx", &input, "-o", output.to_str().unwrap()]);
    assert!(result.status.success(), "{}", text(&result));
    assert_eq!(
        read(&output),
        "id,sex,grade,跳远,score_jump,bmi,standard_score,bonus,total,grade,pass\n1,F,2,140,100,,100.00,0,100.00,excellent,true\n2,M,1,119,0,,0.00,0,0.00,fail,false\n"
    );

    let broken = fixture_dir(directory.path(), &FX_ITEMS.replace("FX-1,M,1,2,jump,跳远,60,120,120,150", "FX-1,M,1,2,jump,跳远,60,160,160,150"));
    let result = fitforall(&["score", "--standards-dir", &broken, "--standard", "fx", &input, "-o", output.to_str().unwrap()]);
    assert!(!result.status.success());
    let expected = format!("{broken}/fx/items.csv:3: jump M grade 1–2: not monotone: level 60 needs 160 cm, level 100 (line 2) needs 150 cm");
    assert!(text(&result).contains(&expected), "{}", text(&result));
}

/// Rows are copied to the output as read only when that is what writing their fields gives: quotes
/// the reader removed (needless ones dropped, needed ones written again), a quote inside an
/// unquoted field, a comma or a carriage return inside a field, a short row (padded), empty lines
/// before a row, a CRLF ending and a last row without a newline.
const EDGES: &str = "\
id,sex,grade,height_cm,weight_kg,vital_capacity_ml,run_50m_s,sit_and_reach_cm,rope_skip_1min,note
\"q1\",M,1,120,22,1700,10.2,16.1,139,\"needless quotes\"
u1,M,1,120,22,1700,10.2,16.1,139,1'50\"


short,F,2,125,24,1500,11.0
c1,M,1,120,22,1700,10.2,16.1,139,\"a,b\"
r1,M,1,120,22,1700,10.2,16.1,139,x\ry
cr,M,1,120,22,1700,10.2,16.1,139,crlf end\r
last,F,1,118,21,1200,11.5,12,100,no newline at the end";

const EDGES_OUTPUT: &str = "\
id,sex,grade,height_cm,weight_kg,vital_capacity_ml,run_50m_s,sit_and_reach_cm,rope_skip_1min,note,score_bmi,score_vital_capacity,score_run_50m,score_sit_and_reach,score_rope_skip_1min,score_standing_long_jump,score_sit_ups_1min,score_pull_ups,score_shuttle_run_50m_x8,score_run_1000m,score_run_800m,bmi,standard_score,bonus,total,grade,pass
q1,M,1,120,22,1700,10.2,16.1,139,needless quotes,100,100,100,100,100,,,,,,,15.3,100.00,15,115.00,excellent,true
u1,M,1,120,22,1700,10.2,16.1,139,\"1'50\"\"\",100,100,100,100,100,,,,,,,15.3,100.00,15,115.00,excellent,true
short,F,2,125,24,1500,11.0,,,,100,95,78,missing,missing,,,,,,,15.4,,0,,incomplete,
c1,M,1,120,22,1700,10.2,16.1,139,\"a,b\",100,100,100,100,100,,,,,,,15.3,100.00,15,115.00,excellent,true
r1,M,1,120,22,1700,10.2,16.1,139,\"x\ry\",100,100,100,100,100,,,,,,,15.3,100.00,15,115.00,excellent,true
cr,M,1,120,22,1700,10.2,16.1,139,crlf end,100,100,100,100,100,,,,,,,15.3,100.00,15,115.00,excellent,true
last,F,1,118,21,1200,11.5,12,100,no newline at the end,100,90,85,76,85,,,,,,,15.1,85.30,0,85.30,good,true
";

#[test]
fn rows_are_written_as_read_only_when_nothing_needs_quoting_again() {
    let directory = tempfile::tempdir().unwrap();
    let input = write(directory.path(), "edges.csv", EDGES);
    let output = directory.path().join("scored.csv");
    for batch_records in ["1", "3", "2048"] {
        let result = fitforall(&["score", &input, "-o", output.to_str().unwrap(), "--batch-records", batch_records]);
        assert!(result.status.success(), "{}", text(&result));
        assert_eq!(read(&output), EDGES_OUTPUT, "batches of {batch_records}");
        assert_eq!(read(&directory.path().join("scored.errors.csv")), "line,column,reason\n");
    }
}
