//! A test module with HTTP routes: reads on snapshots, writes that commit or roll back with the
//! response, path parameters and their ranking, a rate-limited route, a trap, and the caller's
//! identity.

use cosmictron_sdk::{Error, HttpRequest, HttpResponse, ReducerContext, reducer, route, table};
use serde_json::json;

#[table(name = "items", public)]
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Item {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    pub name: String,
}

#[derive(serde::Deserialize)]
struct NewItem {
    name: String,
}

fn insert(ctx: &ReducerContext, name: String) -> Result<Item, Error> {
    ctx.db.items().insert(Item { id: 0, name })
}

/// The same write as `POST /items`, as a reducer (to compare the two paths).
#[reducer]
pub fn add_item(ctx: &ReducerContext, name: String) -> Result<u64, Error> {
    Ok(insert(ctx, name)?.id)
}

#[route(GET, "/items", read_only)]
pub fn list_items(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let mut items: Vec<Item> = ctx.db.items().iter()?.collect();
    items.sort_by_key(|i| i.id);
    if let Some(prefix) = req.query_param("prefix") {
        items.retain(|i| i.name.starts_with(&prefix));
    }
    Ok(HttpResponse::json(200, &json!({"items": items})))
}

#[route(GET, "/items/:id", read_only)]
pub fn get_item(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let id: u64 = req
        .param("id")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::new("invalid_id", "the id is a number"))?;
    Ok(match ctx.db.items().find(&id)? {
        Some(item) => HttpResponse::json(200, &item),
        None => HttpResponse::json(404, &json!({"message": "no such item"})),
    })
}

/// A literal segment beats `:id` in the same place.
#[route(GET, "/items/count", read_only)]
pub fn count_items(ctx: &ReducerContext, _req: &HttpRequest) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::json(200, &json!({"count": ctx.db.items().count()?})))
}

#[route(POST, "/items")]
pub fn create_item(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let body: NewItem = req.json()?;
    let item = insert(ctx, body.name)?;
    Ok(HttpResponse::json(201, &item).with_header("location", &format!("/items/{}", item.id)))
}

/// Writes, then answers 409: the write is rolled back.
#[route(POST, "/items/conflict")]
pub fn conflict(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let body: NewItem = req.json()?;
    insert(ctx, body.name)?;
    Ok(HttpResponse::json(409, &json!({"code": "conflict"})))
}

/// Writes, then answers 400 with `keep_writes`: the write commits.
#[route(POST, "/items/kept")]
pub fn kept(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let body: NewItem = req.json()?;
    insert(ctx, body.name)?;
    Ok(HttpResponse::json(400, &json!({"code": "kept"})).keep_writes())
}

/// Writes, then fails with an error: rolled back, answered like a reducer error.
#[route(POST, "/items/error")]
pub fn error(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let body: NewItem = req.json()?;
    insert(ctx, body.name)?;
    Err(Error::new("teapot", "short and stout").with_status(418))
}

/// Writes, then panics: a trap, nothing committed.
#[route(POST, "/items/trap")]
pub fn trap(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let body: NewItem = req.json()?;
    insert(ctx, body.name)?;
    panic!("the handler gave up");
}

/// A read-only handler that tries to write: refused with `read_only`.
#[route(POST, "/items/sneaky", read_only)]
pub fn sneaky(ctx: &ReducerContext, _req: &HttpRequest) -> Result<HttpResponse, Error> {
    insert(ctx, "sneaky".into())?;
    Ok(HttpResponse::new(204))
}

#[route(GET, "/limited", rate_limit(requests = 3, window_secs = 60, key = "header:x-api-key"))]
pub fn limited(_ctx: &ReducerContext, _req: &HttpRequest) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::text(200, "ok"))
}

/// Echoes what the handler saw of the request.
#[route(PUT, "/echo/:a/:b")]
pub fn echo(ctx: &ReducerContext, req: HttpRequest) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::json(
        200,
        &json!({
            "method": req.method(),
            "path": req.path(),
            "a": req.param("a"),
            "b": req.param("b"),
            "query": req.query(),
            "x": req.query_param("x"),
            "header": req.header("X-Custom"),
            "bearer": req.bearer_token(),
            "body": String::from_utf8_lossy(req.body()),
            "identity": req.identity().map(|i| i.to_hex()),
            "sender_is_module": req.identity().is_none() && ctx.sender == ctx.module_identity(),
        }),
    ))
}

/// The same read as `GET /items/:id`, as a reducer (which takes the writer).
#[reducer]
pub fn item(ctx: &ReducerContext, id: u64) -> Result<Option<Item>, Error> {
    ctx.db.items().find(&id)
}

/// Never returns: the host's time limit stops it.
#[route(GET, "/spin", read_only)]
pub fn spin(_ctx: &ReducerContext, _req: &HttpRequest) -> Result<HttpResponse, Error> {
    let mut n = 0u64;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Asks for more memory than a test host allows.
#[route(POST, "/hog")]
pub fn hog(ctx: &ReducerContext, _req: &HttpRequest) -> Result<HttpResponse, Error> {
    insert(ctx, "before the hog".into())?;
    let big = vec![7u8; 256 << 20];
    Ok(HttpResponse::text(200, &big.len().to_string()))
}
