//! Conformance: an adapter for the `sqllogictest` crate. Statements (`CREATE TABLE`,
//! `CREATE INDEX`, `INSERT`, `DELETE`, `DROP`) go through the engine's write API
//! (`ddl.rs`); queries go through [`SqlEngine`] on an in-memory engine. The engine reports
//! itself as `cosmictron` to `skipif`/`onlyif`, and also carries the label `sqlite`, whose
//! dialect it follows.
//!
//! Values are printed the way SQLite's own sqllogictest driver prints them, by the column type
//! the record declares: `I` as a 64-bit integer (reals truncated, text read as its numeric
//! prefix), `R` with three decimals, `T` as text (`(empty)` for the empty string, unprintable
//! characters as `@`), NULL as `NULL`.

mod ddl;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cosmictron_engine::{Database, Engine, EngineConfig};
use cosmictron_types::Value;
use parking_lot::Mutex;
use sqllogictest::{
    Condition, DBOutput, DefaultColumnType, QueryExpect, Record, Runner, parse_with_name,
};

use crate::config::{Caller, SqlConfig};
use crate::engine::SqlEngine;
use crate::expr::value_ops::{Num, format_real, parse_numeric_prefix, to_num, to_text};

/// An adapter error (its message is what sqllogictest prints).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SltError(pub String);

/// The database under test: a fresh in-memory engine with one database.
pub struct SltDatabase {
    // Kept so the engine (and its maintenance thread) lives as long as the database.
    _engine: Engine,
    db: Database,
    sql: SqlEngine,
    /// The column types the current `query` record declares (set by [`run_slt_script`]).
    expected: Arc<Mutex<Vec<DefaultColumnType>>>,
}

impl std::fmt::Debug for SltDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SltDatabase").field("db", &self.db).finish()
    }
}

/// Limits for conformance runs: generous rows, but a per-query time bound so one bad plan
/// cannot stall a whole corpus.
fn conformance_config() -> SqlConfig {
    SqlConfig {
        rows_max: 10_000_000,
        sql_bytes_max: 1 << 20,
        expr_depth_max: 256,
        time_max: Duration::from_secs(5),
        ..SqlConfig::default()
    }
}

impl SltDatabase {
    pub fn new() -> Result<SltDatabase, SltError> {
        SltDatabase::with_expected(Arc::new(Mutex::new(Vec::new())))
    }

    fn with_expected(
        expected: Arc<Mutex<Vec<DefaultColumnType>>>,
    ) -> Result<SltDatabase, SltError> {
        let engine = Engine::in_memory(EngineConfig::default());
        let db = engine
            .create_database("main")
            .map_err(|e| SltError(e.to_string()))?;
        Ok(SltDatabase {
            _engine: engine,
            db,
            sql: SqlEngine::new(conformance_config()),
            expected,
        })
    }

    /// The database, for tests that want to query it directly.
    pub fn database(&self) -> &Database {
        &self.db
    }
}

fn is_query(sql: &str) -> bool {
    let head: String = sql
        .trim_start()
        .trim_start_matches('(')
        .chars()
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase();
    head.starts_with("SELECT") || head.starts_with("EXPLAIN") || head.starts_with("WITH")
}

/// Prints a value the way SQLite's sqllogictest driver does for column type `ty`.
fn format_value(v: &Value, ty: &DefaultColumnType) -> String {
    if v.is_null() {
        return "NULL".into();
    }
    match ty {
        DefaultColumnType::Integer => match v {
            Value::String(s) => match parse_numeric_prefix(s) {
                Num::Int(i) => i.to_string(),
                Num::Float(f) => (f as i64).to_string(),
            },
            other => match to_num(other) {
                Some(Num::Int(i)) => i.to_string(),
                Some(Num::Float(f)) => (f as i64).to_string(),
                None => "NULL".into(),
            },
        },
        DefaultColumnType::FloatingPoint => {
            let f = match v {
                Value::String(s) => parse_numeric_prefix(s).as_f64(),
                other => to_num(other).map_or(0.0, |n| n.as_f64()),
            };
            fixed3(f)
        }
        _ => {
            let text = match v {
                Value::F64(f) => format_real(*f),
                other => to_text(other).unwrap_or_default(),
            };
            if text.is_empty() {
                "(empty)".into()
            } else {
                text.chars()
                    .map(|c| if (' '..='~').contains(&c) { c } else { '@' })
                    .collect()
            }
        }
    }
}

/// `%.3f` as SQLite's own printf writes it: at most 16 significant digits, then zeros
/// (`-9223372036854775808.0` prints as `-9223372036854776000.000`).
fn fixed3(f: f64) -> String {
    if !f.is_finite() || f.abs() < 1e13 {
        return format!("{f:.3}");
    }
    let sci = format!("{:.15e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let int_len = usize::try_from(exp + 1).unwrap_or(0);
    let mut all = digits;
    while all.len() < int_len + 3 {
        all.push('0');
    }
    let sign = if f < 0.0 { "-" } else { "" };
    format!("{sign}{}.{}", &all[..int_len], &all[int_len..int_len + 3])
}

fn natural_type(v: &Value) -> DefaultColumnType {
    match v {
        Value::F32(_) | Value::F64(_) => DefaultColumnType::FloatingPoint,
        Value::String(_) | Value::Bytes(_) | Value::Identity(_) => DefaultColumnType::Text,
        _ => DefaultColumnType::Integer,
    }
}

impl sqllogictest::DB for SltDatabase {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        if !is_query(sql) {
            ddl::execute(&self.db, &self.sql, sql)?;
            return Ok(DBOutput::StatementComplete(0));
        }
        let result = self
            .sql
            .query(&self.db, sql, &[], &Caller::owner())
            .map_err(|e| SltError(format!("[{}] {e}", e.code())))?;
        let expected = self.expected.lock().clone();
        let width = result.columns.len();
        let types: Vec<DefaultColumnType> = if expected.len() == width {
            expected
        } else {
            (0..width)
                .map(|i| {
                    result
                        .rows
                        .first()
                        .map_or(DefaultColumnType::Text, |r| natural_type(&r[i]))
                })
                .collect()
        };
        let rows = result
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&types)
                    .map(|(v, t)| format_value(v, t))
                    .collect()
            })
            .collect();
        Ok(DBOutput::Rows { types, rows })
    }

    fn engine_name(&self) -> &str {
        "cosmictron"
    }
}

/// Labels the adapter answers to in `skipif`/`onlyif`.
const LABELS: [&str; 2] = ["cosmictron", "sqlite"];

fn skipped(conditions: &[Condition]) -> bool {
    conditions.iter().any(|c| match c {
        Condition::OnlyIf { label } => !LABELS.contains(&label.as_str()),
        Condition::SkipIf { label } => LABELS.contains(&label.as_str()),
    })
}

/// Compares results value by value, ignoring how they are split into lines: the SQLite
/// corpus writes one value per line, sqllogictest-rs produces rows.
fn validator(
    normalizer: sqllogictest::Normalizer,
    actual: &[Vec<String>],
    expected: &[String],
) -> bool {
    let actual: Vec<String> = actual
        .iter()
        .flat_map(|r| r.iter().map(normalizer))
        .flat_map(|s| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let expected: Vec<String> = expected
        .iter()
        .flat_map(|s| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    actual == expected
}

/// The outcome of one script.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SltSummary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Records not run because the time budget ran out.
    pub not_run: usize,
    /// The first failures' messages (at most 20), for diagnosis.
    pub failures: Vec<String>,
    /// The slowest record and how long it took.
    pub slowest: Option<(Duration, String)>,
}

/// Strips `# comments` after `skipif`/`onlyif` conditions, which sqllogictest-rs rejects
/// (the corpus README's sed expression, in code).
fn strip_condition_comments(script: &str) -> String {
    let mut out = String::with_capacity(script.len());
    for line in script.lines() {
        let trimmed = line.trim_start();
        if (trimmed.starts_with("skipif") || trimmed.starts_with("onlyif")) && line.contains('#') {
            out.push_str(line.split('#').next().unwrap_or("").trim_end());
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Runs a script record by record, counting passed/failed/skipped statements and queries.
/// Stops starting new records after `budget` (the rest count as `not_run`).
pub fn run_slt_script(
    script: &str,
    name: &str,
    budget: Option<Duration>,
) -> Result<SltSummary, SltError> {
    let script = strip_condition_comments(script);
    let records = parse_with_name::<DefaultColumnType>(&script, Arc::from(name))
        .map_err(|e| SltError(format!("{name}: {e}")))?;
    let expected = Arc::new(Mutex::new(Vec::new()));
    let shared = expected.clone();
    let mut runner = Runner::new(move || {
        let e = shared.clone();
        async move { SltDatabase::with_expected(e) }
    });
    runner.with_validator(validator);
    runner.with_hash_threshold(8);
    let started = Instant::now();
    let mut summary = SltSummary::default();
    // The parser also attaches a `halt`'s conditions to the next record, so conditions are
    // tracked here from the condition records themselves.
    let mut pending: Vec<Condition> = Vec::new();
    for mut record in records {
        let types = match &mut record {
            Record::Condition(c) => {
                pending.push(c.clone());
                continue;
            }
            Record::Halt { .. } => {
                if skipped(&std::mem::take(&mut pending)) {
                    continue;
                }
                break;
            }
            Record::Statement { conditions, .. } => {
                conditions.clear();
                Some(Vec::new())
            }
            Record::Query {
                conditions,
                expected,
                ..
            } => {
                conditions.clear();
                match expected {
                    QueryExpect::Results { types, .. } => Some(types.clone()),
                    QueryExpect::Error(_) => Some(Vec::new()),
                }
            }
            _ => None,
        };
        let Some(types) = types else {
            // Hash thresholds, control records, comments: the runner keeps their state.
            let _ = runner.run(record);
            continue;
        };
        let conditions = std::mem::take(&mut pending);
        if budget.is_some_and(|b| started.elapsed() > b) {
            summary.not_run += 1;
            continue;
        }
        if skipped(&conditions) {
            summary.skipped += 1;
            continue;
        }
        *expected.lock() = types;
        let sql_text = match &record {
            Record::Statement { sql, .. } | Record::Query { sql, .. } => sql.clone(),
            _ => String::new(),
        };
        let record_started = Instant::now();
        let outcome = runner.run(record);
        let took = record_started.elapsed();
        if summary.slowest.as_ref().is_none_or(|(d, _)| took > *d) {
            summary.slowest = Some((took, sql_text));
        }
        match outcome {
            Ok(_) => summary.passed += 1,
            Err(e) => {
                summary.failed += 1;
                if summary.failures.len() < 20 {
                    summary.failures.push(e.to_string());
                }
            }
        }
    }
    Ok(summary)
}

/// [`run_slt_script`] on a file.
pub fn run_slt_file(path: &Path, budget: Option<Duration>) -> Result<SltSummary, SltError> {
    let script =
        std::fs::read_to_string(path).map_err(|e| SltError(format!("{}: {e}", path.display())))?;
    run_slt_script(&script, &path.display().to_string(), budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reals_print_like_sqlite() {
        assert_eq!(fixed3(1.5), "1.500");
        assert_eq!(fixed3(-0.0004), "-0.000");
        assert_eq!(fixed3(-9223372036854775808.0), "-9223372036854776000.000");
        assert_eq!(fixed3(-18446744073709551616.0), "-18446744073709550000.000");
        assert_eq!(fixed3(12345678901234.5), "12345678901234.500");
    }
}
