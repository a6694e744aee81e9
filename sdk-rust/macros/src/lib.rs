//! cosmictron-sdk-macros: the `#[table]`, `#[reducer]`, `#[route]` and `#[view]` attributes
//! of the module SDK, and `#[derive(ViewRow)]`.
//!
//! Use them through `cosmictron-sdk`, which re-exports them and documents the syntax; the
//! generated code names only `::cosmictron_sdk::…` paths.
//!
//! How a module describes itself without linker tricks: every `#[table]` and `#[reducer]` emits
//! one exported function named `__cosmictron_register_<kind>_<name>` that adds its definition to
//! the SDK's registry. The host calls every such export (sorted by name) after instantiating a
//! module, then `__cosmictron_describe` to read the whole definition.
//!
//! Layout:
//! - `table.rs`   `#[table]` and its field attributes → a `Table` impl, a typed accessor trait
//! - `reducer.rs` `#[reducer]` → an argument struct, an invoker and a registration export
//! - `route.rs`   `#[route]` → a request invoker and a registration export with the route
//! - `view.rs`    `#[view]` → a runner and a registration export; `#[derive(ViewRow)]`

use proc_macro::TokenStream;

mod reducer;
mod route;
mod table;
mod view;

/// Declares a table; see `cosmictron_sdk::table` for the syntax.
#[proc_macro_attribute]
pub fn table(attr: TokenStream, item: TokenStream) -> TokenStream {
    table::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Declares a reducer; see `cosmictron_sdk::reducer` for the syntax.
#[proc_macro_attribute]
pub fn reducer(attr: TokenStream, item: TokenStream) -> TokenStream {
    reducer::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Declares an HTTP route handler; see `cosmictron_sdk::route` for the syntax.
#[proc_macro_attribute]
pub fn route(attr: TokenStream, item: TokenStream) -> TokenStream {
    route::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Declares a view: a read-only function SQL reads as a table; see `cosmictron_sdk` for the
/// syntax.
#[proc_macro_attribute]
pub fn view(attr: TokenStream, item: TokenStream) -> TokenStream {
    view::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Implements `ViewRow` for a struct with named fields, so a `#[view]` can return it.
#[proc_macro_derive(ViewRow)]
pub fn derive_view_row(item: TokenStream) -> TokenStream {
    view::derive_view_row(item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
