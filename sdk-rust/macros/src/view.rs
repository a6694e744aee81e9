//! `#[view]` / `#[view(public)]` on `fn(ctx: &ReducerContext) -> Vec<T>` (or
//! `-> Result<Vec<T>, Error>`), and `#[derive(ViewRow)]` for the row structs views return.
//!
//! `#[view]` generates a runner that calls the function and encodes its rows, and the
//! registration export. `#[derive(ViewRow)]` maps each named field to a column through the
//! SDK's `Column` trait.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Error, Fields, FnArg, ItemFn, Result, ReturnType};

fn parse_public(attr: TokenStream) -> Result<bool> {
    let mut public = false;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("public") {
            public = true;
            return Ok(());
        }
        Err(meta.error("unknown view option; expected nothing or `public`"))
    });
    syn::parse::Parser::parse2(parser, attr)?;
    Ok(public)
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> Result<TokenStream> {
    let public = parse_public(attr)?;
    let func: ItemFn = syn::parse2(item)?;
    let sig = &func.sig;
    if !sig.generics.params.is_empty() || sig.asyncness.is_some() {
        return Err(Error::new(sig.span(), "a view cannot be generic or async"));
    }
    let ReturnType::Type(_, output) = &sig.output else {
        return Err(Error::new(
            sig.span(),
            "a view returns `Vec<T>` or `Result<Vec<T>, cosmictron_sdk::Error>`",
        ));
    };
    let inputs: Vec<&FnArg> = sig.inputs.iter().collect();
    match inputs.as_slice() {
        [FnArg::Typed(ctx)] if matches!(*ctx.ty, syn::Type::Reference(_)) => {}
        _ => {
            return Err(Error::new(
                sig.inputs.span(),
                "a view takes only `ctx: &ReducerContext` (filter by `ctx.sender`, or with \
                 WHERE in the query)",
            ));
        }
    }
    let fn_name = &sig.ident;
    let name = fn_name.to_string();
    let run = format_ident!("__cosmictron_view_{}", fn_name);
    let columns = format_ident!("__cosmictron_view_columns_{}", fn_name);
    let register = format_ident!("__cosmictron_register_view_{}", fn_name);
    let export = format!("__cosmictron_register_view_{name}");

    Ok(quote! {
        #func

        #[doc(hidden)]
        fn #run(
            ctx: &::cosmictron_sdk::ReducerContext,
        ) -> ::std::result::Result<::std::vec::Vec<u8>, ::cosmictron_sdk::Error> {
            ::cosmictron_sdk::__private::encode_view(#fn_name(ctx))
        }

        #[doc(hidden)]
        fn #columns() -> ::std::vec::Vec<::cosmictron_sdk::__private::ColumnDef> {
            <<#output as ::cosmictron_sdk::ViewOutput>::Row as ::cosmictron_sdk::ViewRow>::view_columns()
        }

        #[doc(hidden)]
        #[unsafe(export_name = #export)]
        pub extern "C" fn #register() {
            ::cosmictron_sdk::__private::register_view(::cosmictron_sdk::__private::ViewInfo {
                name: #name,
                public: #public,
                columns: #columns,
                run: #run,
            });
        }
    })
}

pub(crate) fn derive_view_row(item: TokenStream) -> Result<TokenStream> {
    let input: DeriveInput = syn::parse2(item)?;
    let Data::Struct(data) = &input.data else {
        return Err(Error::new(
            input.span(),
            "ViewRow is derived for structs with named fields",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(Error::new(
            input.span(),
            "ViewRow is derived for structs with named fields",
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(Error::new(
            input.generics.span(),
            "a view row cannot be generic",
        ));
    }
    let ident = &input.ident;
    let idents: Vec<_> = fields
        .named
        .iter()
        .filter_map(|f| f.ident.clone())
        .collect();
    let names: Vec<String> = idents.iter().map(ToString::to_string).collect();
    let tys: Vec<_> = fields.named.iter().map(|f| f.ty.clone()).collect();
    Ok(quote! {
        impl ::cosmictron_sdk::ViewRow for #ident {
            fn view_columns() -> ::std::vec::Vec<::cosmictron_sdk::__private::ColumnDef> {
                ::std::vec![#(::cosmictron_sdk::__private::ColumnDef::new(
                    #names,
                    <#tys as ::cosmictron_sdk::Column>::column_type(),
                )),*]
            }

            fn view_values(&self) -> ::std::vec::Vec<::cosmictron_sdk::Value> {
                ::std::vec![#(<#tys as ::cosmictron_sdk::Column>::to_value(&self.#idents)),*]
            }
        }
    })
}
