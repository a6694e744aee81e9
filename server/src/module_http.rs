//! Modules' HTTP routes on the embedding facade: matching a request to a module's handler,
//! running it, and the *exposed* modules — those whose routes are also served at the root
//! of the server — with the checks that keep their routes from colliding.

use std::collections::HashMap;
use std::time::Instant;

use cosmictron_types::{PathPattern, RouteRequest, RouteResponse};
use cosmictron_wasm_host::{MatchedRoute, PendingRoute, RouteMatch, RouteOutcome};

use crate::error::{Error, Result};
use crate::facade::{Cosmictron, Deployed};

/// First path segments the server answers itself: an exposed route there would never be
/// reached.
const SERVER_SEGMENTS: [&str; 6] = ["v1", "m", "health", "ready", "metrics", "diagnostics"];

/// What a handler call produced, timed.
#[derive(Clone, Debug)]
pub struct RouteResult {
    pub tx_id: Option<cosmictron_engine::TxId>,
    pub duration_ms: f64,
    pub response: RouteResponse,
}

/// Every conflict among the routes of `modules` served at the root: two routes that match
/// the same requests, and routes the server's own API shadows. `modules` maps each exposed
/// module to its routes as `(method, path)`.
pub(crate) fn exposure_conflicts(modules: &[(String, Vec<(String, String)>)]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen: HashMap<(String, String), (String, String)> = HashMap::new();
    for (module, routes) in modules {
        for (method, path) in routes {
            let Ok(pattern) = PathPattern::parse(path) else {
                continue;
            };
            let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
            if SERVER_SEGMENTS.contains(&first) {
                problems.push(format!(
                    "route `{method} {path}` of module `{module}` is under `/{first}`, which \
                     the server answers itself"
                ));
            }
            let key = (method.clone(), pattern.shape());
            match seen.get(&key) {
                Some((other, other_path)) => problems.push(format!(
                    "route `{method} {path}` of module `{module}` matches the same requests as \
                     `{method} {other_path}` of module `{other}`"
                )),
                None => {
                    seen.insert(key, (module.clone(), path.clone()));
                }
            }
        }
    }
    problems
}

/// The error for a request that no route of `module` takes: 405 `method_not_allowed` when the
/// path has routes for other methods, else 404 `no_such_route`.
pub(crate) fn unrouted(module: &str, method: &str, path: &str, found: &RouteMatch) -> Error {
    match found {
        RouteMatch::MethodNotAllowed { allowed } => Error::request(
            405,
            "method_not_allowed",
            format!("`{path}` takes {}, not {method}", allowed.join(", ")),
        ),
        _ => Error::request(
            404,
            "no_such_route",
            format!("module `{module}` has no route for `{method} {path}`"),
        ),
    }
}

fn routes_of(d: &Deployed) -> Vec<(String, String)> {
    d.module
        .routes()
        .map(|(_, r)| (r.method.clone(), r.path.clone()))
        .collect()
}

impl Cosmictron {
    /// Where `method path` (the path within the module) goes among `module`'s routes.
    pub fn route(&self, module: &str, method: &str, path: &str) -> Result<RouteMatch> {
        Ok(self
            .inner
            .deployed(module)?
            .module
            .match_route(method, path))
    }

    /// Runs the handler of `module` for `request` as one transaction (a snapshot read for a
    /// read-only route): 404 `no_such_route` or 405 `method_not_allowed` when none matches.
    pub fn call_route(&self, module: &str, request: RouteRequest) -> Result<RouteResult> {
        match self.route(module, &request.method, &request.path)? {
            RouteMatch::Found(route) => self.call_matched(module, &route, request),
            other => Err(unrouted(module, &request.method, &request.path, &other)),
        }
    }

    /// Runs the handler `route` (what [`Cosmictron::route`] found) for `request`, without
    /// matching again — unless the module was upgraded in between, when the request is
    /// matched against the new version.
    pub fn call_matched(
        &self,
        module: &str,
        route: &MatchedRoute,
        request: RouteRequest,
    ) -> Result<RouteResult> {
        let start = Instant::now();
        let RouteOutcome { tx_id, response } =
            self.call_matched_pending(module, route, request)?.wait()?;
        Ok(RouteResult {
            tx_id,
            duration_ms: start.elapsed().as_secs_f64() * 1000.0,
            response,
        })
    }

    /// [`call_matched`](Self::call_matched) up to the commit: a writing handler's transaction
    /// is logged and the writer released; the returned [`PendingRoute`] waits for the fsync.
    /// The server awaits it, so writing routes share fsyncs without a thread each.
    pub fn call_matched_pending(
        &self,
        module: &str,
        route: &MatchedRoute,
        request: RouteRequest,
    ) -> Result<PendingRoute> {
        let deployed = self.inner.deployed(module)?;
        let rematched;
        let route = if deployed.module.routes_to(route) {
            route
        } else {
            match deployed.module.match_route(&request.method, &request.path) {
                RouteMatch::Found(found) => {
                    rematched = found;
                    &rematched
                }
                other => return Err(unrouted(module, &request.method, &request.path, &other)),
            }
        };
        Ok(deployed
            .module
            .call_route_pending(&deployed.db, route, request)?)
    }

    /// Serves the routes of `modules` at the root too (in this order of precedence), after
    /// checking that they do not collide; later deploys of these modules are checked the same
    /// way. Modules not deployed yet are checked when they are.
    pub fn expose(&self, modules: &[String]) -> Result<()> {
        let _deploying = self.inner.deploy_lock.lock();
        let deployed = self.inner.modules.read();
        let routes: Vec<(String, Vec<(String, String)>)> = modules
            .iter()
            .filter_map(|m| deployed.get(m).map(|d| (m.clone(), routes_of(d))))
            .collect();
        let problems = exposure_conflicts(&routes);
        if !problems.is_empty() {
            return Err(Error::RouteConflict(problems));
        }
        *self.inner.exposed.write() = modules.to_vec();
        Ok(())
    }

    /// The exposed modules, in order of precedence.
    pub fn exposed(&self) -> Vec<String> {
        self.inner.exposed.read().clone()
    }

    /// The first exposed module with a route for `method path` (or one for the path with
    /// another method: the caller answers 405 from it).
    pub fn route_exposed(&self, method: &str, path: &str) -> Option<(String, RouteMatch)> {
        let exposed = self.inner.exposed.read().clone();
        let mut other_method = None;
        for module in exposed {
            let Ok(found) = self.route(&module, method, path) else {
                continue;
            };
            match found {
                RouteMatch::Found(_) => return Some((module, found)),
                RouteMatch::MethodNotAllowed { .. } if other_method.is_none() => {
                    other_method = Some((module, found));
                }
                _ => {}
            }
        }
        other_method
    }

    /// Checks that deploying `module` with these routes keeps the exposed routes free of
    /// conflicts (called by deploy, under the deploy lock).
    pub(crate) fn check_exposure(&self, module: &str, routes: Vec<(String, String)>) -> Result<()> {
        let exposed = self.inner.exposed.read().clone();
        if !exposed.iter().any(|m| m == module) {
            return Ok(());
        }
        let deployed = self.inner.modules.read();
        let all: Vec<(String, Vec<(String, String)>)> = exposed
            .iter()
            .filter_map(|m| {
                if m == module {
                    Some((m.clone(), routes.clone()))
                } else {
                    deployed.get(m).map(|d| (m.clone(), routes_of(d)))
                }
            })
            .collect();
        let problems = exposure_conflicts(&all);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::RouteConflict(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect()
    }

    #[test]
    fn conflicts_between_modules_and_with_the_server_are_named() {
        // Proves two modules' routes matching the same requests conflict (parameter names do
        // not matter), different methods do not, and server paths are refused.
        let problems = exposure_conflicts(&[
            (
                "a".into(),
                routes(&[("GET", "/api/v1/machines/:id"), ("GET", "/v1/x")]),
            ),
            (
                "b".into(),
                routes(&[
                    ("GET", "/api/v1/machines/:key"),
                    ("POST", "/api/v1/machines/:key"),
                ]),
            ),
        ]);
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].contains("`GET /v1/x` of module `a` is under `/v1`"));
        assert!(problems[1].contains(
            "route `GET /api/v1/machines/:key` of module `b` matches the same requests as \
             `GET /api/v1/machines/:id` of module `a`"
        ));
    }
}
