//! HTTP routes of modules: what a module declares ([`RouteSpec`], [`RateLimitSpec`]), path
//! patterns ([`PathPattern`]) and the request and response a handler call carries
//! ([`RouteRequest`], [`RouteResponse`], MessagePack on the wire; see `docs/module-abi.md`).
//! Shared by the module SDK (which builds the declarations) and the host (which checks them,
//! matches requests and calls the handlers).

use serde::{Deserialize, Serialize};

use crate::Identity;
use crate::schema::is_identifier;

/// The methods a route may declare.
pub const ROUTE_METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// What a module says about one route: the method, the path pattern, whether the handler only
/// reads (it then runs on a snapshot, never taking the writer) and its rate limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteSpec {
    pub method: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSpec>,
}

/// At most `requests` per `window_secs` per key, enforced by the host before the handler runs.
/// `key` is `ip`, `identity` (the caller's Cosmictron identity, the IP without one) or
/// `header:<name>` (a header's value, e.g. the API key in `authorization`; the IP when the
/// header is missing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitSpec {
    pub requests: u32,
    pub window_secs: u32,
    pub key: String,
}

impl RateLimitSpec {
    /// Every problem with the declaration.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.requests == 0 {
            problems.push("a rate limit allows at least 1 request".to_owned());
        }
        if self.window_secs == 0 || self.window_secs > 86_400 {
            problems.push("a rate limit window is 1 to 86400 seconds".to_owned());
        }
        let key_ok = match self.key.strip_prefix("header:") {
            Some(name) => is_header_name(name),
            None => matches!(self.key.as_str(), "ip" | "identity"),
        };
        if !key_ok {
            problems.push(format!(
                "rate limit key `{}`: expected `ip`, `identity` or `header:<name>`",
                self.key
            ));
        }
        problems
    }
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// One segment of a path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    /// `:name`
    Param(String),
}

/// A path pattern such as `/api/v1/machines/:id/enable`: literal segments and `:name`
/// parameters, each a whole segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathPattern {
    segments: Vec<Segment>,
}

/// Characters a literal segment may hold (RFC 3986 `pchar` without percent-encoding).
fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=@".contains(c)
}

impl PathPattern {
    /// Parses a pattern, with a reason when it is malformed.
    pub fn parse(pattern: &str) -> Result<PathPattern, String> {
        let Some(rest) = pattern.strip_prefix('/') else {
            return Err(format!("route path `{pattern}` must start with `/`"));
        };
        if pattern.len() > 512 {
            return Err(format!("route path `{pattern}` is longer than 512 bytes"));
        }
        let mut segments = Vec::new();
        if rest.is_empty() {
            return Ok(PathPattern { segments });
        }
        for part in rest.split('/') {
            if part.is_empty() {
                return Err(format!("route path `{pattern}` has an empty segment"));
            }
            if let Some(name) = part.strip_prefix(':') {
                if !is_identifier(name) {
                    return Err(format!(
                        "route path `{pattern}`: parameter `{part}` is not `:` and an identifier"
                    ));
                }
                if segments.contains(&Segment::Param(name.to_owned())) {
                    return Err(format!(
                        "route path `{pattern}`: parameter `{name}` appears twice"
                    ));
                }
                segments.push(Segment::Param(name.to_owned()));
            } else if part.chars().all(is_literal_char) {
                segments.push(Segment::Literal(part.to_owned()));
            } else {
                return Err(format!(
                    "route path `{pattern}`: segment `{part}` holds a character that needs \
                     percent-encoding"
                ));
            }
        }
        Ok(PathPattern { segments })
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The pattern with every parameter renamed `:`, so `/a/:id` and `/a/:key` compare equal
    /// (they match the same paths).
    pub fn shape(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            out.push('/');
            match s {
                Segment::Literal(l) => out.push_str(l),
                Segment::Param(_) => out.push(':'),
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }

    /// Matches a request path (already split into percent-decoded segments): the parameters
    /// by name, and a rank (literal segments count more the earlier they come) so that
    /// `/runs/active` beats `/runs/:id`.
    pub fn matches(&self, path: &[String]) -> Option<(Vec<(String, String)>, u64)> {
        if path.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        let mut rank = 0u64;
        for (i, (segment, part)) in self.segments.iter().zip(path).enumerate() {
            match segment {
                Segment::Literal(l) if l == part => {
                    rank |= 1u64 << (63 - i.min(63));
                }
                Segment::Literal(_) => return None,
                Segment::Param(name) => params.push((name.clone(), part.clone())),
            }
        }
        Some((params, rank))
    }
}

/// Splits a request path into percent-decoded segments; `None` when it is not a clean
/// absolute path (no `/` start, invalid escapes, decoded segments that are not UTF-8).
pub fn split_path(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix('/')?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    // A trailing slash names the same resource.
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    rest.split('/').map(percent_decode).collect()
}

/// Decodes `%XX` escapes (not `+`: that is only a space in query strings).
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A request as a handler receives it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path within the module (what the pattern matched), percent-encoded as sent.
    pub path: String,
    /// The pattern's parameters, percent-decoded.
    pub params: Vec<(String, String)>,
    /// The raw query string (without `?`).
    pub query: String,
    /// Header names in lower case, in the order sent.
    pub headers: Vec<(String, String)>,
    #[serde(with = "bytes")]
    pub body: Vec<u8>,
    /// The caller's Cosmictron identity, when the request carried a valid Cosmictron token.
    pub identity: Option<Identity>,
    /// The client's address, when known.
    pub remote_addr: Option<String>,
}

/// What a handler answers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    #[serde(with = "bytes")]
    pub body: Vec<u8>,
}

/// Byte strings as MessagePack `bin` (a `Vec<u8>` would otherwise be an array of integers).
mod bytes {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Bytes;
        impl<'de> Visitor<'de> for Bytes {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<Vec<u8>, E> {
                Ok(v.as_bytes().to_vec())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(b) = seq.next_element()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_byte_buf(Bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<String> {
        split_path(p).unwrap_or_default()
    }

    #[test]
    fn patterns_parse_and_reject_with_reasons() {
        // Proves well-formed patterns parse and each malformed kind is refused with a reason.
        assert!(PathPattern::parse("/").is_ok());
        assert!(PathPattern::parse("/api/v1/machines/:id/enable").is_ok());
        for (bad, why) in [
            ("api", "must start with `/`"),
            ("/a//b", "empty segment"),
            ("/a/:", "not `:` and an identifier"),
            ("/a/:1x", "not `:` and an identifier"),
            ("/a/:id/:id", "appears twice"),
            ("/a b", "percent-encoding"),
        ] {
            let err = PathPattern::parse(bad).err().unwrap_or_default();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn matching_extracts_parameters_and_ranks_literals_first() {
        // Proves parameters are extracted decoded, lengths must agree, and a literal segment
        // outranks a parameter in the same place.
        let by_id = PathPattern::parse("/runs/:id").unwrap_or_else(|e| panic!("{e}"));
        let active = PathPattern::parse("/runs/active").unwrap_or_else(|e| panic!("{e}"));
        let (params, id_rank) = by_id.matches(&path("/runs/a%20b")).unwrap_or_default();
        assert_eq!(params, vec![("id".to_owned(), "a b".to_owned())]);
        let (_, active_rank) = active.matches(&path("/runs/active")).unwrap_or_default();
        let (_, param_rank) = by_id.matches(&path("/runs/active")).unwrap_or_default();
        assert!(active_rank > param_rank && param_rank == id_rank);
        assert!(by_id.matches(&path("/runs")).is_none());
        assert!(by_id.matches(&path("/runs/1/x")).is_none());
        assert_eq!(by_id.shape(), "/runs/:");
        assert_eq!(path("/runs/1/"), path("/runs/1"));
        assert!(split_path("/bad%zz").is_none());
    }

    #[test]
    fn rate_limit_declarations_are_checked() {
        // Proves a zero limit, a zero window and an unknown key are each refused.
        let ok = RateLimitSpec {
            requests: 60,
            window_secs: 60,
            key: "header:authorization".into(),
        };
        assert!(ok.problems().is_empty());
        let bad = RateLimitSpec {
            requests: 0,
            window_secs: 0,
            key: "cookie".into(),
        };
        assert_eq!(bad.problems().len(), 3);
    }

    #[test]
    fn bodies_travel_as_bytes() {
        // Proves the body survives a JSON round trip (as an array) and accepts text.
        let r = RouteResponse {
            status: 201,
            headers: vec![("x".into(), "y".into())],
            body: vec![0, 255, 7],
        };
        let json = serde_json::to_string(&r).unwrap_or_default();
        let back: RouteResponse = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, r);
    }
}
