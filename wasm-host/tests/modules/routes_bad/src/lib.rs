//! A test module whose routes the host refuses at deploy: two patterns that match the same
//! requests, a pattern without a leading `/`, a parameter named twice, and a zero rate limit.

use cosmictron_sdk::{Error, HttpRequest, HttpResponse, ReducerContext, route};

#[route(GET, "/items/:id")]
pub fn by_id(_ctx: &ReducerContext, _req: &HttpRequest) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::new(204))
}

#[route(GET, "/items/:key")]
pub fn by_key(_ctx: &ReducerContext, _req: &HttpRequest) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::new(204))
}

#[route(POST, "items")]
pub fn no_slash(_ctx: &ReducerContext, _req: &HttpRequest) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::new(204))
}

#[route(PUT, "/a/:x/b/:x")]
pub fn twice(_ctx: &ReducerContext, _req: &HttpRequest) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::new(204))
}

#[route(GET, "/limited", rate_limit(requests = 0, window_secs = 60))]
pub fn zero(_ctx: &ReducerContext, _req: &HttpRequest) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::new(204))
}
