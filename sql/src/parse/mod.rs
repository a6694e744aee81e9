//! Parsing: SQL text → one read-only sqlparser statement, plus the `AS OF TX n` clause.
//!
//! sqlparser does not know `AS OF TX n`, so [`parse`] tokenizes first (with sqlparser's own
//! tokenizer, so the words inside string literals, quoted identifiers and comments are never
//! mistaken for the clause), removes every `AS OF TX <n>` token run, checks they all name the
//! same transaction, and parses the remaining tokens. The clause may follow any table
//! (`FROM t AS OF TX 5`) or end the query; either way the whole query reads one snapshot.

use sqlparser::ast::{Query, SetExpr, Statement};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::config::SqlConfig;
use crate::error::{Result, SqlError};

/// Which snapshot to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AsOf {
    Tx(u64),
    /// `AS OF TX $n` (zero-based parameter index).
    Param(usize),
}

/// A parsed read-only statement.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) query: Box<Query>,
    pub(crate) explain: bool,
    pub(crate) as_of: Option<AsOf>,
}

/// The dialect everything in this crate parses with.
pub(crate) fn dialect() -> GenericDialect {
    GenericDialect {}
}

/// Parses one read-only statement, enforcing the SQL length and nesting limits.
pub(crate) fn parse(sql: &str, config: &SqlConfig) -> Result<Parsed> {
    if sql.len() > config.sql_bytes_max {
        return Err(SqlError::LimitExceeded(format!(
            "SQL text is {} bytes; the limit is {}",
            sql.len(),
            config.sql_bytes_max
        )));
    }
    let dialect = dialect();
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| SqlError::Parse(e.to_string()))?;
    let (tokens, as_of) = strip_as_of(tokens)?;
    let tokens = sqlite_forms(tokens);
    let nesting = nesting(&tokens);
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(config.expr_depth_max)
        .with_tokens_with_locations(tokens);
    let statements = parser.parse_statements().map_err(|e| {
        // The parser does not always report its recursion limit as such (a long run of NOTs
        // fails as a syntax error): deep input that fails to parse is too deep.
        if nesting.saturating_mul(2) >= config.expr_depth_max {
            SqlError::LimitExceeded("the query is nested too deeply".into())
        } else {
            parse_error(e)
        }
    })?;
    // A write anywhere is refused as one, also after a query (`SELECT 1; DROP TABLE t`).
    if let Some(write) = statements.iter().find(|s| !is_read(s)) {
        return Err(read_only(write));
    }
    let mut statements = statements.into_iter();
    let (Some(statement), None) = (statements.next(), statements.next()) else {
        return Err(SqlError::Parse("expected exactly one statement".into()));
    };
    let (query, explain) = match statement {
        Statement::Query(q) => (q, false),
        Statement::Explain { statement, .. } => match *statement {
            Statement::Query(q) => (q, true),
            other => return Err(read_only(&other)),
        },
        other => return Err(read_only(&other)),
    };
    Ok(Parsed {
        query,
        explain,
        as_of,
    })
}

/// A query (or EXPLAIN of one) that writes nothing: no `SELECT … INTO`, no data-modifying
/// body.
fn is_read(statement: &Statement) -> bool {
    fn body_reads(body: &SetExpr) -> bool {
        match body {
            SetExpr::Select(select) => select.into.is_none(),
            SetExpr::Query(q) => body_reads(&q.body),
            SetExpr::SetOperation { left, right, .. } => body_reads(left) && body_reads(right),
            SetExpr::Values(_) | SetExpr::Table(_) => true,
            _ => false,
        }
    }
    match statement {
        Statement::Query(q) => body_reads(&q.body),
        Statement::Explain { statement, .. } => is_read(statement),
        _ => false,
    }
}

/// The deepest nesting of `tokens`, roughly as the parser recurses: open parentheses plus
/// the run of prefix operators (`NOT`, `-`, `+`) at that point.
fn nesting(tokens: &[TokenWithSpan]) -> usize {
    let (mut depth, mut run, mut deepest) = (0usize, 0usize, 0usize);
    for t in tokens {
        match &t.token {
            Token::LParen => {
                depth += 1;
                run = 0;
            }
            Token::RParen => {
                depth = depth.saturating_sub(1);
                run = 0;
            }
            Token::Whitespace(_) => {}
            Token::Minus | Token::Plus => run += 1,
            t if is_word(t, "NOT") => run += 1,
            _ => run = 0,
        }
        deepest = deepest.max(depth + run);
    }
    deepest
}

fn parse_error(e: sqlparser::parser::ParserError) -> SqlError {
    match e {
        sqlparser::parser::ParserError::RecursionLimitExceeded => {
            SqlError::LimitExceeded("the query is nested too deeply".into())
        }
        other => SqlError::Parse(other.to_string()),
    }
}

fn read_only(statement: &Statement) -> SqlError {
    let text = statement.to_string();
    let verb: String = text
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(40)
        .collect();
    SqlError::ReadOnly(verb)
}

/// An unquoted word spelled `text` (any case).
fn is_word(t: &Token, text: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(text))
}

/// Removes every `AS OF TX <n>` from the token stream; all must name the same snapshot.
pub(crate) fn strip_as_of(
    tokens: Vec<TokenWithSpan>,
) -> Result<(Vec<TokenWithSpan>, Option<AsOf>)> {
    // Positions of the non-whitespace tokens, so the clause may span lines and comments.
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    let mut remove = vec![false; tokens.len()];
    let mut found: Option<AsOf> = None;
    let mut k = 0;
    while k + 3 < significant.len() {
        let [a, o, t, n] = [
            significant[k],
            significant[k + 1],
            significant[k + 2],
            significant[k + 3],
        ];
        if is_word(&tokens[a].token, "as")
            && is_word(&tokens[o].token, "of")
            && is_word(&tokens[t].token, "tx")
        {
            let this = match &tokens[n].token {
                Token::Number(s, _) => AsOf::Tx(s.parse::<u64>().map_err(|_| {
                    SqlError::Parse(format!("AS OF TX needs a transaction id, got `{s}`"))
                })?),
                Token::Placeholder(p) => AsOf::Param(param_index(p)?),
                other => {
                    return Err(SqlError::Parse(format!(
                        "AS OF TX needs a transaction id, got `{other}`"
                    )));
                }
            };
            if found.is_some_and(|f| f != this) {
                return Err(SqlError::Parse(
                    "a query reads one snapshot: every AS OF TX must name the same transaction"
                        .into(),
                ));
            }
            found = Some(this);
            remove[a..=n].iter_mut().for_each(|r| *r = true);
            k += 4;
        } else {
            k += 1;
        }
    }
    let kept = tokens
        .into_iter()
        .zip(remove)
        .filter(|(_, r)| !r)
        .map(|(t, _)| t)
        .collect();
    Ok((kept, found))
}

/// Rewrites SQLite-only forms sqlparser rejects: the index hints `NOT INDEXED` and
/// `INDEXED BY name` (dropped: the planner chooses) and the empty list `IN ()` (an empty
/// subquery, which is never matched).
fn sqlite_forms(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    let tok = |k: usize| significant.get(k).map(|&i| &tokens[i].token);
    let mut remove = vec![false; tokens.len()];
    let mut empty_in = Vec::new();
    for k in 0..significant.len() {
        let (Some(a), Some(b)) = (tok(k), tok(k + 1)) else {
            continue;
        };
        if is_word(a, "not") && is_word(b, "indexed") {
            remove[significant[k]] = true;
            remove[significant[k + 1]] = true;
        } else if is_word(a, "indexed") && is_word(b, "by") {
            for j in k..(k + 3).min(significant.len()) {
                remove[significant[j]] = true;
            }
        } else if is_word(a, "in") && *b == Token::LParen && tok(k + 2) == Some(&Token::RParen) {
            empty_in.push(significant[k + 1]);
        }
    }
    if !remove.iter().any(|r| *r) && empty_in.is_empty() {
        return tokens;
    }
    let d = dialect();
    let filler = Tokenizer::new(&d, "SELECT 1 WHERE 1 = 0")
        .tokenize_with_location()
        .unwrap_or_default();
    let mut out = Vec::with_capacity(tokens.len() + filler.len() * empty_in.len());
    for (i, t) in tokens.into_iter().enumerate() {
        if remove[i] {
            continue;
        }
        let is_open = empty_in.contains(&i);
        out.push(t);
        if is_open {
            out.extend(filler.iter().cloned());
        }
    }
    out
}

/// `$3` → 2.
pub(crate) fn param_index(p: &str) -> Result<usize> {
    let digits = p.strip_prefix('$').unwrap_or("");
    match digits.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n - 1),
        _ => Err(SqlError::Parameter(format!(
            "unknown placeholder `{p}`: parameters are $1, $2, …"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(sql: &str) -> Result<Parsed> {
        parse(sql, &SqlConfig::default())
    }

    #[test]
    fn as_of_after_a_table_or_at_the_end() {
        let q = p("SELECT * FROM t AS OF TX 5 WHERE a = 1").expect("parses");
        assert_eq!(q.as_of, Some(AsOf::Tx(5)));
        assert!(q.query.to_string().contains("WHERE a = 1"));
        let q = p("select a from t where a = 'AS OF TX 9' as of tx 7").expect("parses");
        assert_eq!(q.as_of, Some(AsOf::Tx(7)));
        assert!(q.query.to_string().contains("'AS OF TX 9'"));
        let q = p("SELECT 1 -- AS OF TX 3\n").expect("parses");
        assert_eq!(q.as_of, None);
        let q = p("SELECT * FROM t AS OF TX $1").expect("parses");
        assert_eq!(q.as_of, Some(AsOf::Param(0)));
    }

    #[test]
    fn conflicting_as_of_and_writes_are_refused() {
        let e = p("SELECT * FROM a AS OF TX 1, b AS OF TX 2").expect_err("conflict");
        assert_eq!(e.code(), "parse_error");
        for sql in [
            "INSERT INTO t VALUES (1)",
            "DELETE FROM t",
            "DROP TABLE t",
            "EXPLAIN DELETE FROM t",
            "SELECT 1; DROP TABLE t",
            "SELECT * INTO copy FROM t",
            "SELECT 1 UNION SELECT * INTO copy FROM t",
        ] {
            assert_eq!(p(sql).expect_err(sql).code(), "read_only", "{sql}");
        }
        assert_eq!(p("SELEC 1").expect_err("bad").code(), "parse_error");
        assert_eq!(
            p("SELECT 1; SELECT 2").expect_err("two").code(),
            "parse_error"
        );
        let long = format!("SELECT {}", "1+".repeat(40_000));
        assert_eq!(p(&long).expect_err("long").code(), "limit_exceeded");
        let deep = format!("SELECT {}1{}", "(".repeat(500), ")".repeat(500));
        assert_eq!(p(&deep).expect_err("deep").code(), "limit_exceeded");
        for n in [127, 200, 5000] {
            let nots = format!("SELECT {}1", "NOT ".repeat(n));
            assert_eq!(p(&nots).expect_err("nots").code(), "limit_exceeded", "{n}");
        }
        assert!(p(&format!("SELECT {}1", "NOT ".repeat(40))).is_ok());
    }
}
