//! The two migration folders stay in step: the same files, and in each file the same
//! statements, apart from lines marked `-- engine-specific` (and comments).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The marker a line carries when it differs between the engines on purpose.
const MARKER: &str = "-- engine-specific";

fn folder(engine: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(engine)
}

fn files(engine: &str) -> BTreeSet<String> {
    std::fs::read_dir(folder(engine))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".sql"))
        .collect()
}

/// The statements of a migration: comments and marked lines dropped, whitespace folded.
fn statements(sql: &str) -> Vec<String> {
    let mut kept = String::new();
    for line in sql.lines() {
        if line.contains(MARKER) {
            continue;
        }
        // A comment runs from `--` outside a string literal to the end of the line.
        let mut in_string = false;
        let mut end = line.len();
        let bytes = line.as_bytes();
        for i in 0..bytes.len() {
            match bytes[i] {
                b'\'' => in_string = !in_string,
                b'-' if !in_string && bytes.get(i + 1) == Some(&b'-') => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        kept.push_str(&line[..end]);
        kept.push('\n');
    }
    kept.split(';')
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .collect()
}

/// The first difference between two migrations, if any.
fn difference(sqlite: &str, postgres: &str) -> Option<String> {
    let (a, b) = (statements(sqlite), statements(postgres));
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if x != y {
            return Some(format!("statement {}:\n  sqlite:   {x}\n  postgres: {y}", i + 1));
        }
    }
    (a.len() != b.len()).then(|| format!("{} statements on SQLite, {} on PostgreSQL", a.len(), b.len()))
}

#[test]
fn both_folders_hold_the_same_migrations() {
    let (sqlite, postgres) = (files("sqlite"), files("postgres"));
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres hold different files"
    );
    for name in &sqlite {
        let a = std::fs::read_to_string(folder("sqlite").join(name)).unwrap();
        let b = std::fs::read_to_string(folder("postgres").join(name)).unwrap();
        if let Some(d) = difference(&a, &b) {
            panic!("{name}: the engines' migrations differ outside lines marked `{MARKER}`: {d}");
        }
    }
}

#[test]
fn a_change_to_one_engine_only_is_found() {
    let base = "-- header (SQLite)\nCREATE TABLE t (id TEXT PRIMARY KEY, -- the id\n  n BIGINT NOT NULL);\n";
    let same = "-- header (PostgreSQL)\nCREATE TABLE t (id TEXT PRIMARY KEY,\n    n BIGINT NOT NULL);\n";
    assert_eq!(difference(base, same), None);
    let changed = "CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL);\n";
    assert!(difference(base, changed).unwrap().contains("statement 1"));
    let extra = format!("{same}CREATE INDEX t_n ON t (n);\n");
    assert!(difference(base, &extra).unwrap().contains("1 statements on SQLite"));
    let marked = format!("{base}CREATE INDEX t_n ON t USING brin (n); {MARKER}\n");
    assert_eq!(difference(&marked, same), None);
    // `--` inside a string literal is not a comment.
    assert!(difference("INSERT INTO t VALUES ('a--b', 1);", "INSERT INTO t VALUES ('a', 1);").is_some());
}
