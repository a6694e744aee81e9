//! The adapter's write side: `CREATE TABLE`, `CREATE [UNIQUE] INDEX`, `INSERT`, `DELETE`,
//! `DROP TABLE/INDEX` parsed with sqlparser and executed through the engine's write API.
//! SQL types map like SQLite's affinities: INT… → nullable i64, REAL/FLOAT/DOUBLE → nullable
//! f64, CHAR/TEXT/CLOB → nullable string, BLOB → nullable bytes, anything else → nullable
//! f64; primary key columns are not nullable. Values are converted like SQLite's column
//! affinity converts them (a number into a TEXT column is stored as its text).

use std::sync::Arc;

use cosmictron_engine::Database;
use cosmictron_types::{ColumnType, IndexDef, ScalarType, TableDef, Value};
use sqlparser::ast::{
    self, ColumnOption, FromTable, ObjectType, SetExpr, Statement, TableConstraint, TableObject,
};
use sqlparser::parser::Parser;

use super::SltError;
use crate::config::Caller;
use crate::engine::SqlEngine;
use crate::expr::value_ops::{Num, format_real, parse_numeric_prefix, to_num};
use crate::expr::{Env, eval};
use crate::parse::dialect;
use crate::plan::{Scope, bind_standalone};

fn err(msg: impl Into<String>) -> SltError {
    SltError(msg.into())
}

fn ident_of(e: &ast::Expr) -> Result<String, SltError> {
    match e {
        ast::Expr::Identifier(i) => Ok(i.value.clone()),
        other => Err(err(format!(
            "index on expression `{other}` is not supported"
        ))),
    }
}

fn last_name(n: &ast::ObjectName) -> String {
    n.0.last()
        .map(|p| p.to_string().trim_matches(['"', '`', '[', ']']).to_owned())
        .unwrap_or_default()
}

fn scalar_for(data_type: &ast::DataType) -> ScalarType {
    let t = data_type.to_string().to_ascii_uppercase();
    if t.contains("INT") {
        ScalarType::I64
    } else if t.contains("CHAR") || t.contains("TEXT") || t.contains("CLOB") {
        ScalarType::String
    } else if t.contains("BLOB") {
        ScalarType::Bytes
    } else {
        ScalarType::F64
    }
}

/// Executes one non-query statement.
pub(super) fn execute(db: &Database, sql: &SqlEngine, text: &str) -> Result<(), SltError> {
    let d = dialect();
    let statements = Parser::parse_sql(&d, text).map_err(|e| err(e.to_string()))?;
    for statement in statements {
        match statement {
            Statement::CreateTable(ct) => create_table(db, &ct)?,
            Statement::CreateIndex(ci) => {
                let table = last_name(&ci.table_name);
                let name = ci
                    .name
                    .as_ref()
                    .map(last_name)
                    .unwrap_or_else(|| format!("{table}_idx"));
                let columns = ci
                    .columns
                    .iter()
                    .map(|c| ident_of(&c.column.expr))
                    .collect::<Result<Vec<_>, _>>()?;
                let def = IndexDef {
                    name,
                    columns,
                    unique: ci.unique,
                };
                db.write(|tx| tx.create_index(&table, def))
                    .map_err(|e| err(e.to_string()))?;
            }
            Statement::Insert(insert) => self::insert(db, sql, &insert)?,
            Statement::Delete(delete) => self::delete(db, sql, &delete)?,
            Statement::Drop {
                object_type,
                if_exists,
                names,
                ..
            } => drop(db, object_type, if_exists, &names)?,
            other => {
                return Err(err(format!(
                    "statement not supported by the adapter: {}",
                    other.to_string().chars().take(40).collect::<String>()
                )));
            }
        }
    }
    Ok(())
}

fn create_table(db: &Database, ct: &ast::CreateTable) -> Result<(), SltError> {
    let name = last_name(&ct.name);
    let mut primary: Vec<String> = Vec::new();
    let mut uniques: Vec<Vec<String>> = Vec::new();
    for c in &ct.columns {
        for o in &c.options {
            match &o.option {
                ColumnOption::PrimaryKey(_) => primary.push(c.name.value.clone()),
                ColumnOption::Unique(_) => uniques.push(vec![c.name.value.clone()]),
                _ => {}
            }
        }
    }
    for constraint in &ct.constraints {
        let cols = |list: &[ast::IndexColumn]| -> Result<Vec<String>, SltError> {
            list.iter().map(|c| ident_of(&c.column.expr)).collect()
        };
        match constraint {
            TableConstraint::PrimaryKey(pk) => primary = cols(&pk.columns)?,
            TableConstraint::Unique(u) => uniques.push(cols(&u.columns)?),
            _ => {}
        }
    }
    let mut def = TableDef::new(&name).public();
    for c in &ct.columns {
        let scalar = scalar_for(&c.data_type);
        let ty = if primary
            .iter()
            .any(|p| p.eq_ignore_ascii_case(&c.name.value))
        {
            ColumnType::new(scalar)
        } else {
            ColumnType::nullable(scalar)
        };
        def.columns
            .push(cosmictron_types::ColumnDef::new(c.name.value.clone(), ty));
    }
    def.primary_key = primary;
    for (i, cols) in uniques.into_iter().enumerate() {
        def.indexes.push(IndexDef {
            name: format!("{name}_unique_{i}"),
            columns: cols,
            unique: true,
        });
    }
    db.write(|tx| tx.create_table(def))
        .map_err(|e| err(e.to_string()))?;
    Ok(())
}

struct ConstEnv;

impl Env for ConstEnv {
    fn param(&self, _: usize) -> crate::Result<Value> {
        Err(crate::SqlError::Parameter("no parameters here".into()))
    }
    fn identity(&self) -> Value {
        Value::Null
    }
    fn outer(&self, _: usize, _: usize) -> crate::Result<Value> {
        Ok(Value::Null)
    }
    fn subquery(&self, _: usize, _: &[Value]) -> crate::Result<Arc<Vec<Vec<Value>>>> {
        Err(crate::SqlError::unsupported("subqueries in VALUES"))
    }
}

/// SQLite's column affinity, as far as the engine's types can hold the result.
fn convert(v: Value, ty: ColumnType) -> Result<Value, SltError> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let refuse = |v: &Value| err(format!("cannot store {v} in a {} column", ty.scalar));
    Ok(match ty.scalar {
        ScalarType::I64 => {
            let n = match &v {
                Value::String(s) => parse_numeric_prefix(s),
                other => to_num(other).ok_or_else(|| refuse(other))?,
            };
            match n {
                Num::Int(i) => Value::I64(i),
                Num::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Value::I64(f as i64),
                _ => return Err(refuse(&v)),
            }
        }
        ScalarType::F64 => match &v {
            Value::String(s) => Value::F64(parse_numeric_prefix(s).as_f64()),
            other => Value::F64(to_num(other).ok_or_else(|| refuse(other))?.as_f64()),
        },
        ScalarType::String => match v {
            Value::String(s) => Value::String(s),
            Value::F64(f) => Value::String(format_real(f)),
            other => Value::String(other.to_string()),
        },
        ScalarType::Bytes => match v {
            Value::Bytes(b) => Value::Bytes(b),
            Value::String(s) => Value::Bytes(s.into_bytes()),
            other => return Err(refuse(&other)),
        },
        _ => v,
    })
}

fn insert(db: &Database, sql: &SqlEngine, insert: &ast::Insert) -> Result<(), SltError> {
    let TableObject::TableName(table_name) = &insert.table else {
        return Err(err("INSERT into a table function"));
    };
    let table = last_name(table_name);
    let schema = db.table_schema(&table).map_err(|e| err(e.to_string()))?;
    let columns = schema.columns();
    let targets: Vec<usize> = if insert.columns.is_empty() {
        (0..columns.len()).collect()
    } else {
        insert
            .columns
            .iter()
            .map(|c| {
                let n = last_name(c);
                columns
                    .iter()
                    .position(|d| d.name.eq_ignore_ascii_case(&n))
                    .ok_or_else(|| err(format!("no column {n}")))
            })
            .collect::<Result<_, _>>()?
    };
    let source = insert
        .source
        .as_ref()
        .ok_or_else(|| err("INSERT without VALUES or SELECT"))?;
    let rows: Vec<Vec<Value>> = match source.body.as_ref() {
        SetExpr::Values(values) => {
            let scope = Scope::default();
            values
                .rows
                .iter()
                .map(|r| {
                    r.content
                        .iter()
                        .map(|e| {
                            let bound =
                                bind_standalone(e, &scope, 128).map_err(|e| err(e.to_string()))?;
                            eval(&bound, &[], &ConstEnv).map_err(|e| err(e.to_string()))
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .collect::<Result<_, _>>()?
        }
        _ => {
            sql.query(db, &source.to_string(), &[], &Caller::owner())
                .map_err(|e| err(e.to_string()))?
                .rows
        }
    };
    let mut full_rows = Vec::with_capacity(rows.len());
    for r in rows {
        if r.len() != targets.len() {
            return Err(err("wrong number of values"));
        }
        let mut row = vec![Value::Null; columns.len()];
        for (v, &t) in r.into_iter().zip(&targets) {
            row[t] = convert(v, columns[t].ty)?;
        }
        full_rows.push(row);
    }
    db.write(|tx| {
        for row in full_rows {
            tx.insert(&table, row)?;
        }
        Ok(())
    })
    .map_err(|e| err(e.to_string()))?;
    Ok(())
}

fn delete(db: &Database, sql: &SqlEngine, delete: &ast::Delete) -> Result<(), SltError> {
    let from = match &delete.from {
        FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
    };
    let [item] = from.as_slice() else {
        return Err(err("DELETE from several tables"));
    };
    let ast::TableFactor::Table { name, .. } = &item.relation else {
        return Err(err("DELETE from a non-table"));
    };
    let table = last_name(name);
    let query = match &delete.selection {
        Some(w) => format!("SELECT * FROM {table} WHERE {w}"),
        None => format!("SELECT * FROM {table}"),
    };
    let rows = sql
        .query(db, &query, &[], &Caller::owner())
        .map_err(|e| err(e.to_string()))?
        .rows;
    db.write(|tx| {
        for row in &rows {
            tx.delete_row(&table, row)?;
        }
        Ok(())
    })
    .map_err(|e| err(e.to_string()))?;
    Ok(())
}

fn drop(
    db: &Database,
    object_type: ObjectType,
    if_exists: bool,
    names: &[ast::ObjectName],
) -> Result<(), SltError> {
    for n in names {
        let name = last_name(n);
        let result = match object_type {
            ObjectType::Table => db.write(|tx| tx.drop_table(&name)).map(|_| ()),
            ObjectType::Index => {
                let owner = db.table_names().into_iter().find(|t| {
                    db.table_schema(t)
                        .is_ok_and(|s| s.index_position(&name).is_some())
                });
                match owner {
                    Some(t) => db.write(|tx| tx.drop_index(&t, &name)).map(|_| ()),
                    None if if_exists => Ok(()),
                    None => return Err(err(format!("no index {name}"))),
                }
            }
            _ => return Err(err("DROP of this kind of object")),
        };
        match result {
            Ok(()) => {}
            Err(cosmictron_engine::EngineError::NoSuchTable(_)) if if_exists => {}
            Err(e) => return Err(err(e.to_string())),
        }
    }
    Ok(())
}
