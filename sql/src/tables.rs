//! [`referenced_tables`]: the table names a query reads, before any database is chosen —
//! a server holding several databases uses it to route a query to the one that has them.
//!
//! The query is first parsed in full (so only valid read-only queries are routed), then its
//! tokens are scanned: a table name is the object name after `FROM`, `JOIN` or a `,` inside
//! a FROM list. Subqueries need no special case because their own `FROM` is seen too.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::config::SqlConfig;
use crate::error::{Result, SqlError};
use crate::parse::{dialect, parse, strip_as_of};

/// The distinct table names a read-only query mentions, each as its name parts
/// (`["t"]` or `["module", "t"]`), in order of first mention. Names defined by `WITH` are
/// not tables and are left out.
pub fn referenced_tables(sql: &str, config: &SqlConfig) -> Result<Vec<Vec<String>>> {
    let parsed = parse(sql, config)?;
    let ctes: Vec<String> = parsed
        .query
        .with
        .iter()
        .flat_map(|w| {
            w.cte_tables
                .iter()
                .map(|c| c.alias.name.value.to_lowercase())
        })
        .collect();
    let tokens = Tokenizer::new(&dialect(), sql)
        .tokenize_with_location()
        .map_err(|e| SqlError::Parse(e.to_string()))?;
    let (tokens, _) = strip_as_of(tokens)?;
    let tokens: Vec<Token> = tokens
        .into_iter()
        .map(|t| t.token)
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let starts_list = matches!(&tokens[i], Token::Word(w) if w.quote_style.is_none()
            && matches!(w.keyword, Keyword::FROM | Keyword::JOIN));
        i += 1;
        if !starts_list {
            continue;
        }
        // One FROM list: name [alias] { , name [alias] }.
        while let Some((parts, next)) = object_name(&tokens, i) {
            let is_cte = parts.len() == 1 && ctes.contains(&parts[0].to_lowercase());
            if !is_cte && !out.contains(&parts) {
                out.push(parts);
            }
            i = skip_alias(&tokens, next);
            if matches!(tokens.get(i), Some(Token::Comma)) {
                i += 1;
            } else {
                break;
            }
        }
    }
    Ok(out)
}

/// `word ( . word )*` starting at `i`: its parts and the position after it.
fn object_name(tokens: &[Token], mut i: usize) -> Option<(Vec<String>, usize)> {
    let mut parts = Vec::new();
    loop {
        match tokens.get(i) {
            Some(Token::Word(w))
                if w.quote_style.is_some() || !(parts.is_empty() && is_clause_word(w.keyword)) =>
            {
                parts.push(w.value.clone());
            }
            _ => return None,
        }
        i += 1;
        if matches!(tokens.get(i), Some(Token::Period)) {
            i += 1;
        } else {
            return Some((parts, i));
        }
    }
}

/// Keywords that cannot start a table name in a FROM list (`FROM (SELECT …)` and the like
/// are caught by the parenthesis not being a word).
fn is_clause_word(k: Keyword) -> bool {
    matches!(
        k,
        Keyword::SELECT | Keyword::WHERE | Keyword::LATERAL | Keyword::UNNEST | Keyword::TABLE
    )
}

fn skip_alias(tokens: &[Token], mut i: usize) -> usize {
    if matches!(tokens.get(i), Some(Token::Word(w)) if w.keyword == Keyword::AS) {
        i += 1;
    }
    if matches!(tokens.get(i), Some(Token::Word(w)) if w.quote_style.is_some() || w.keyword == Keyword::NoKeyword)
    {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(sql: &str) -> Vec<Vec<String>> {
        referenced_tables(sql, &SqlConfig::default()).expect("parses")
    }

    fn names(list: &[&[&str]]) -> Vec<Vec<String>> {
        list.iter()
            .map(|p| p.iter().map(|s| (*s).to_owned()).collect())
            .collect()
    }

    #[test]
    fn finds_tables_in_joins_subqueries_and_as_of() {
        assert_eq!(
            tables("SELECT * FROM users AS OF TX 5"),
            names(&[&["users"]])
        );
        assert_eq!(
            tables("SELECT a.x FROM shop.a JOIN b ON a.id = b.id WHERE a.x IN (SELECT y FROM c)"),
            names(&[&["shop", "a"], &["b"], &["c"]])
        );
        assert_eq!(
            tables("SELECT * FROM t1 AS x, t2 y, \"Quoted\" WHERE x.a = y.a"),
            names(&[&["t1"], &["t2"], &["Quoted"]])
        );
        assert_eq!(
            tables("WITH w AS (SELECT * FROM base) SELECT * FROM w JOIN other USING (k)"),
            names(&[&["base"], &["other"]])
        );
        assert_eq!(
            tables("SELECT * FROM (SELECT 1 AS one) AS d"),
            Vec::<Vec<String>>::new()
        );
        assert!(tables("SELECT 1").is_empty());
    }

    #[test]
    fn writes_are_refused_before_routing() {
        let err = referenced_tables("DELETE FROM users", &SqlConfig::default()).expect_err("write");
        assert_eq!(err.code(), "read_only");
    }
}
