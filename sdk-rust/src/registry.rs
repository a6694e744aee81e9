//! The module's registry of tables, reducers and HTTP routes, and the two exports the host
//! calls: `__cosmictron_describe` and `__cosmictron_call`.

use std::cell::RefCell;

use cosmictron_types::{
    ColumnDef, ConnectionId, Identity, RateLimitSpec, RouteRequest, RouteSpec, TableDef, Timestamp,
    ViewSpec,
};
use serde::Serialize;

use crate::context::ReducerContext;
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::sys::{self, LogLevel};
use crate::table::Table;

/// The version of the module ABI this SDK speaks (the `cosmictron_v1` import namespace).
pub const ABI_VERSION: u32 = 1;

/// A reducer as `#[reducer]` registers it.
#[derive(Debug, Clone, Copy)]
pub struct ReducerInfo {
    pub name: &'static str,
    pub args: &'static [&'static str],
    /// The argument types as written in the source.
    pub arg_types: &'static [&'static str],
    pub lifecycle: Option<&'static str>,
    /// `T` of the reducer's `Result<T, Error>`, as written in the source.
    pub returns: &'static str,
    pub invoke: fn(&ReducerContext, RawArgs<'_>) -> Result<Vec<u8>, Error>,
}

/// An HTTP route as `#[route]` registers it.
#[derive(Debug, Clone, Copy)]
pub struct RouteInfo {
    /// The handler's name.
    pub name: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    pub read_only: bool,
    /// `(requests, window_secs, key)`.
    pub rate_limit: Option<(u32, u32, &'static str)>,
    pub handle: fn(&ReducerContext, HttpRequest) -> Result<HttpResponse, Error>,
}

/// A view as `#[view]` registers it.
#[derive(Debug, Clone, Copy)]
pub struct ViewInfo {
    pub name: &'static str,
    pub public: bool,
    pub columns: fn() -> Vec<ColumnDef>,
    /// Runs the view and encodes its rows.
    pub run: fn(&ReducerContext) -> Result<Vec<u8>, Error>,
}

/// One callable entry; its position is its id in `__cosmictron_call`.
#[derive(Debug, Clone, Copy)]
enum Entry {
    Reducer(ReducerInfo),
    Route(RouteInfo),
    View(ViewInfo),
}

#[derive(Default)]
struct Registry {
    tables: Vec<TableDef>,
    /// Row struct name → table name.
    row_types: Vec<(&'static str, &'static str)>,
    entries: Vec<Entry>,
    panic_hook: bool,
}

thread_local! {
    // wasm32 modules are single-threaded: the registry is filled by the registration exports
    // right after instantiation and only read afterwards.
    static REGISTRY: RefCell<Registry> = RefCell::new(Registry::default());
}

fn install_panic_hook(registry: &mut Registry) {
    if !registry.panic_hook {
        registry.panic_hook = true;
        std::panic::set_hook(Box::new(|info| {
            sys::log(LogLevel::Error, &info.to_string())
        }));
    }
}

pub fn register_table<T: Table>() {
    REGISTRY.with_borrow_mut(|r| {
        install_panic_hook(r);
        r.tables.push(T::table_def());
        if !T::TYPE_NAME.is_empty() {
            r.row_types.push((T::TYPE_NAME, T::NAME));
        }
    });
}

pub fn register_reducer(info: ReducerInfo) {
    REGISTRY.with_borrow_mut(|r| {
        install_panic_hook(r);
        r.entries.push(Entry::Reducer(info));
    });
}

pub fn register_route(info: RouteInfo) {
    REGISTRY.with_borrow_mut(|r| {
        install_panic_hook(r);
        r.entries.push(Entry::Route(info));
    });
}

pub fn register_view(info: ViewInfo) {
    REGISTRY.with_borrow_mut(|r| {
        install_panic_hook(r);
        r.entries.push(Entry::View(info));
    });
}

#[derive(Serialize)]
struct ReducerDescription {
    name: &'static str,
    args: &'static [&'static str],
    arg_types: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    lifecycle: Option<&'static str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    returns: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    http: Option<RouteSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    view: Option<ViewSpec>,
}

impl Entry {
    fn describe(&self) -> ReducerDescription {
        match *self {
            Entry::Reducer(i) => ReducerDescription {
                name: i.name,
                args: i.args,
                arg_types: i.arg_types,
                lifecycle: i.lifecycle,
                returns: i.returns,
                http: None,
                view: None,
            },
            Entry::Route(i) => ReducerDescription {
                name: i.name,
                args: &[],
                arg_types: &[],
                lifecycle: None,
                returns: "",
                http: Some(RouteSpec {
                    method: i.method.to_owned(),
                    path: i.path.to_owned(),
                    read_only: i.read_only,
                    rate_limit: i
                        .rate_limit
                        .map(|(requests, window_secs, key)| RateLimitSpec {
                            requests,
                            window_secs,
                            key: key.to_owned(),
                        }),
                }),
                view: None,
            },
            Entry::View(v) => ReducerDescription {
                name: v.name,
                args: &[],
                arg_types: &[],
                lifecycle: None,
                returns: "",
                http: None,
                view: Some(ViewSpec {
                    public: v.public,
                    columns: (v.columns)(),
                }),
            },
        }
    }
}

#[derive(Serialize)]
struct ModuleDescription<'a> {
    abi_version: u32,
    tables: &'a [TableDef],
    reducers: Vec<ReducerDescription>,
    /// Row struct name → table name.
    row_types: std::collections::BTreeMap<&'static str, &'static str>,
}

/// Hands the module's definition to the host as JSON. Returns 0.
#[unsafe(no_mangle)]
#[allow(unreachable_pub)] // exported to the host, not to Rust callers
pub extern "C" fn __cosmictron_describe() -> u32 {
    let json = REGISTRY.with_borrow(|r| {
        serde_json::to_vec(&ModuleDescription {
            abi_version: ABI_VERSION,
            tables: &r.tables,
            reducers: r.entries.iter().map(Entry::describe).collect(),
            row_types: r.row_types.iter().copied().collect(),
        })
    });
    match json {
        Ok(bytes) => {
            sys::set_result(&bytes);
            0
        }
        Err(_) => 2,
    }
}

/// The call header the host puts before the arguments (see `docs/module-abi.md`): sender (32
/// bytes), module identity (32), timestamp (`i64` LE), connection id (`u64` LE, 0 for none),
/// argument format (0 JSON, 1 MessagePack).
const CALL_HEADER_BYTES: usize = 81;

/// The argument format byte of the call header.
const ARGS_MESSAGEPACK: u8 = 1;

/// The decoded call header.
struct CallHeader {
    ctx: ReducerContext,
    messagepack: bool,
}

fn read_header(header: &[u8]) -> Option<CallHeader> {
    let sender: [u8; 32] = header.get(..32)?.try_into().ok()?;
    let module: [u8; 32] = header.get(32..64)?.try_into().ok()?;
    let micros: [u8; 8] = header.get(64..72)?.try_into().ok()?;
    let connection: [u8; 8] = header.get(72..80)?.try_into().ok()?;
    let format = *header.get(80)?;
    Some(CallHeader {
        ctx: ReducerContext::new(
            Identity(sender),
            Identity(module),
            Timestamp(i64::from_le_bytes(micros)),
            ConnectionId::new(u64::from_le_bytes(connection)),
        ),
        messagepack: format == ARGS_MESSAGEPACK,
    })
}

/// Runs reducer (or route handler, or view) number `id` (its position in the description) with
/// the input in the host's buffer. Returns 0 (the result is the return value as JSON, a
/// handler's response as MessagePack, or a view's rows: commit), 3 (a handler's response that rolls back), 1
/// (the result is an [`Error`]) or 2 (bad call: unknown id or a short header; an [`Error`]).
#[unsafe(no_mangle)]
#[allow(unreachable_pub)] // exported to the host, not to Rust callers
pub extern "C" fn __cosmictron_call(id: u32) -> u32 {
    let input = sys::take_buffer();
    let entry = REGISTRY.with_borrow(|r| r.entries.get(id as usize).copied());
    let call = input
        .split_at_checked(CALL_HEADER_BYTES)
        .and_then(|(header, args)| Some((read_header(header)?, args)));
    let (Some(entry), Some((header, args))) = (entry, call) else {
        let e = Error::new(
            "abi_violation",
            format!("no reducer {id} or a short call header"),
        );
        sys::set_result(&serde_json::to_vec(&e).unwrap_or_default());
        return 2;
    };
    let args = RawArgs {
        bytes: args,
        messagepack: header.messagepack,
    };
    let outcome = match entry {
        Entry::Reducer(reducer) => (reducer.invoke)(&header.ctx, args).map(|bytes| (bytes, 0)),
        Entry::Route(route) => decode_args::<RouteRequest>(args)
            .and_then(|request| (route.handle)(&header.ctx, HttpRequest::new(request)))
            .and_then(encode_response),
        Entry::View(view) => (view.run)(&header.ctx).map(|bytes| (bytes, 0)),
    };
    match outcome {
        Ok((bytes, status)) => {
            sys::set_result(&bytes);
            status
        }
        Err(e) => {
            sys::set_result(&serde_json::to_vec(&e).unwrap_or_default());
            1
        }
    }
}

/// A handler's response as MessagePack, with the status that commits (0) or rolls back (3).
fn encode_response(response: HttpResponse) -> Result<(Vec<u8>, u32), Error> {
    let status = if response.commits() { 0 } else { 3 };
    let bytes = rmp_serde::to_vec_named(&response.into_inner()).map_err(|e| {
        Error::new("invalid_result", format!("handler response: {e}")).with_status(500)
    })?;
    Ok((bytes, status))
}

/// A reducer's encoded arguments and their format.
#[derive(Debug, Clone, Copy)]
pub struct RawArgs<'a> {
    bytes: &'a [u8],
    messagepack: bool,
}

/// Decodes a reducer's arguments (a JSON object or a MessagePack map, by name).
pub fn decode_args<A: serde::de::DeserializeOwned>(args: RawArgs<'_>) -> Result<A, Error> {
    let invalid = |e: &dyn std::fmt::Display| {
        Error::new("invalid_arguments", format!("reducer arguments: {e}"))
    };
    if args.messagepack {
        // An empty MessagePack input is an empty map (no arguments).
        let bytes = if args.bytes.is_empty() {
            &[0x80][..]
        } else {
            args.bytes
        };
        rmp_serde::from_slice(bytes).map_err(|e| invalid(&e))
    } else {
        let bytes = if args.bytes.is_empty() {
            b"{}"
        } else {
            args.bytes
        };
        serde_json::from_slice(bytes).map_err(|e| invalid(&e))
    }
}

/// Encodes a reducer's return value as JSON.
pub fn encode_result<R: Serialize>(value: &R) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value)
        .map_err(|e| Error::new("invalid_result", format!("reducer result: {e}")).with_status(500))
}

/// A row the host returned that does not fit the struct (the schema changed underneath).
pub fn bad_row(table: &str) -> Error {
    Error::new(
        "type_mismatch",
        format!("a row of `{table}` does not match the table struct"),
    )
    .with_status(500)
}
