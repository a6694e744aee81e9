//! HTTP routes of a module: matching a request to a handler ([`LoadedModule::match_route`]) and
//! running the handler as one transaction ([`LoadedModule::call_route`]) — on the writer, or
//! on a snapshot for a read-only route.
//!
//! A handler answers status 0 (commit, then send the response), 3 (roll back, then send the
//! response: any response of status 400 or more, as the SDK builds it) or 1 (an error: roll
//! back; the server answers it as it answers a reducer's error).

use cosmictron_engine::{Database, PendingCommit, TxId};
use cosmictron_types::{
    PathPattern, ROUTE_METHODS, RouteRequest, RouteResponse, RouteSpec, split_path,
};

use crate::call::{Args, Authority, CALL_OK, CallContext, CallInput, failed_call, now};
use crate::call_tx::CallTx;
use crate::def::ModuleDef;
use crate::error::{HostError, Result};
use crate::module::LoadedModule;

/// `__cosmictron_call` status of a handler whose response must not commit.
const CALL_ROLLBACK_RESPONSE: u32 = 3;

/// Response headers a handler may not set: the server owns the framing.
const RESERVED_RESPONSE_HEADERS: [&str; 4] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
];

/// A match's path parameters, by name.
type Params = Vec<(String, String)>;

/// A module's routes, parsed once at load.
#[derive(Debug, Default)]
pub(crate) struct RouteTable {
    routes: Vec<CompiledRoute>,
}

#[derive(Debug)]
struct CompiledRoute {
    /// The handler's reducer id.
    id: u32,
    handler: String,
    spec: RouteSpec,
    pattern: PathPattern,
}

impl RouteTable {
    /// The routes of a definition that passed its checks (unparsable patterns were refused).
    pub(crate) fn new(def: &ModuleDef) -> RouteTable {
        let routes = def
            .reducers
            .iter()
            .enumerate()
            .filter_map(|(pos, r)| {
                let spec = r.http.clone()?;
                let pattern = PathPattern::parse(&spec.path).ok()?;
                Some(CompiledRoute {
                    id: u32::try_from(pos).ok()?,
                    handler: r.name.clone(),
                    spec,
                    pattern,
                })
            })
            .collect();
        RouteTable { routes }
    }
}

/// A request matched to a handler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchedRoute {
    /// The handler's name.
    pub handler: String,
    pub spec: RouteSpec,
    /// The pattern's parameters, percent-decoded.
    pub params: Vec<(String, String)>,
    id: u32,
}

/// Where a request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteMatch {
    Found(MatchedRoute),
    /// The path matches routes of other methods only (an `Allow` header's content).
    MethodNotAllowed {
        allowed: Vec<String>,
    },
    NotFound,
}

/// What a handler call produced.
#[derive(Clone, Debug)]
pub struct RouteOutcome {
    /// The committed transaction, `None` when nothing was written (a read-only route, a
    /// handler that wrote nothing, or a response that rolled back).
    pub tx_id: Option<TxId>,
    pub response: RouteResponse,
}

impl LoadedModule {
    /// The module's routes: (handler name, route).
    pub fn routes(&self) -> impl Iterator<Item = (&str, &RouteSpec)> {
        self.route_table
            .routes
            .iter()
            .map(|r| (r.handler.as_str(), &r.spec))
    }

    /// Whether `route` was matched against this version of the module (its handler is still
    /// at the same place with the same route).
    pub fn routes_to(&self, route: &MatchedRoute) -> bool {
        self.route_table
            .routes
            .iter()
            .any(|r| r.id == route.id && r.handler == route.handler && r.spec == route.spec)
    }

    /// Finds the handler for `method` and `path` (the path within the module, percent-encoded
    /// as sent). When several patterns match, the one with literal segments earliest wins.
    pub fn match_route(&self, method: &str, path: &str) -> RouteMatch {
        let Some(segments) = split_path(path) else {
            return RouteMatch::NotFound;
        };
        let mut best: Option<(u64, &CompiledRoute, Params)> = None;
        let mut allowed = Vec::new();
        for route in &self.route_table.routes {
            let Some((params, rank)) = route.pattern.matches(&segments) else {
                continue;
            };
            if route.spec.method != method {
                if !allowed.contains(&route.spec.method) {
                    allowed.push(route.spec.method.clone());
                }
                continue;
            }
            if best.as_ref().is_none_or(|(r, _, _)| rank > *r) {
                best = Some((rank, route, params));
            }
        }
        // In a stable order (GET, POST, …), whatever order the module declared them in.
        allowed.sort_by_key(|m| ROUTE_METHODS.iter().position(|k| k == m));
        match best {
            Some((_, route, params)) => RouteMatch::Found(MatchedRoute {
                handler: route.handler.clone(),
                spec: route.spec.clone(),
                params,
                id: route.id,
            }),
            None if !allowed.is_empty() => RouteMatch::MethodNotAllowed { allowed },
            None => RouteMatch::NotFound,
        }
    }

    /// Runs the handler of `route` with `request` (its `params` are filled from the match).
    /// A read-only route runs on a snapshot of the latest state and never takes the writer;
    /// any other runs on the writer and commits when the handler answers below 400. With a
    /// Cosmictron identity the handler runs as that caller (write policies apply); without
    /// one, as the module (it authenticates on its own terms, e.g. an API key).
    pub fn call_route(
        &self,
        db: &Database,
        route: &MatchedRoute,
        request: RouteRequest,
    ) -> Result<RouteOutcome> {
        self.call_route_pending(db, route, request)?.wait()
    }

    /// [`call_route`](Self::call_route) up to the commit: a writing handler's transaction is
    /// logged and the writer released; the returned [`PendingRoute`] waits for the fsync
    /// (blocking, or as a future that holds no thread).
    pub fn call_route_pending(
        &self,
        db: &Database,
        route: &MatchedRoute,
        mut request: RouteRequest,
    ) -> Result<PendingRoute> {
        request.params.clone_from(&route.params);
        let authority = match request.identity {
            Some(sender) => Authority::Client(CallContext::new(sender)),
            None => Authority::Module,
        };
        let args = rmp_serde::to_vec_named(&request)
            .map_err(|e| HostError::InvalidArguments(format!("the request: {e}")))?;
        // Readers wait for a slot (one per CPU) before taking their snapshot; the writer is
        // the database's own lock.
        let _slot = route.spec.read_only.then(|| self.reader_slots.take());
        let tx = if route.spec.read_only {
            CallTx::Read(db.snapshot()?)
        } else {
            CallTx::Write(db.begin_write_owned()?)
        };
        let input = CallInput {
            authority,
            timestamp: now(),
            args: Args::MessagePack(&args),
        };
        let (tx, status, result) = self.guest_call(tx, route.id, input)?;
        if status != CALL_OK && status != CALL_ROLLBACK_RESPONSE {
            return Err(failed_call(status, &result));
        }
        let response = decode_response(&result)?;
        let commit = match tx {
            CallTx::Write(tx) if status == CALL_OK => Some(tx.commit_pending()?),
            // Dropping the transaction rolls it back.
            CallTx::Write(_) | CallTx::Read(_) => None,
        };
        Ok(PendingRoute { commit, response })
    }
}

/// A handler's answer whose transaction (if it wrote and committed) waits for its fsync.
#[derive(Debug)]
pub struct PendingRoute {
    pub commit: Option<PendingCommit>,
    pub response: RouteResponse,
}

impl PendingRoute {
    /// Blocks until the handler's transaction is durable.
    pub fn wait(self) -> Result<RouteOutcome> {
        let tx_id = match self.commit {
            Some(commit) => commit.wait()?.tx_id,
            None => None,
        };
        Ok(RouteOutcome {
            tx_id,
            response: self.response,
        })
    }

    /// Resolves once the handler's transaction is durable, holding no thread meanwhile.
    pub async fn durable(self) -> Result<RouteOutcome> {
        let tx_id = match self.commit {
            Some(commit) => commit.durable().await?.tx_id,
            None => None,
        };
        Ok(RouteOutcome {
            tx_id,
            response: self.response,
        })
    }
}

/// Decodes and checks a handler's response.
fn decode_response(bytes: &[u8]) -> Result<RouteResponse> {
    let bad = |why: String| HostError::AbiViolation(format!("the handler's response: {why}"));
    let response: RouteResponse = rmp_serde::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    if !(100..=599).contains(&response.status) {
        return Err(bad(format!("status {} is not 100–599", response.status)));
    }
    for (name, value) in &response.headers {
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !name_ok {
            return Err(bad(format!("header name `{name}` is not a token")));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(bad(format!("header `{name}` holds a line break")));
        }
        if RESERVED_RESPONSE_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(bad(format!("header `{name}` is set by the server")));
        }
    }
    Ok(response)
}
