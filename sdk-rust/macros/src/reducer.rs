//! `#[reducer]` / `#[reducer(init | client_connected | client_disconnected)]` on `fn(ctx: &ReducerContext, args...) -> Result<T, Error>`.
//!
//! Generates a `Deserialize` struct of the arguments (passed by name: a JSON object or a
//! MessagePack map), an
//! invoker that decodes them, calls the function and encodes its return value, and the
//! registration export.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Error, FnArg, ItemFn, Pat, Result, ReturnType};

/// The lifecycle roles a reducer can have (the host runs them, callers cannot).
const LIFECYCLES: [&str; 3] = ["init", "client_connected", "client_disconnected"];

fn parse_lifecycle(attr: TokenStream) -> Result<Option<&'static str>> {
    let mut lifecycle = None;
    let parser = syn::meta::parser(|meta| {
        for role in LIFECYCLES {
            if meta.path.is_ident(role) {
                lifecycle = Some(role);
                return Ok(());
            }
        }
        Err(meta.error(
            "unknown reducer option; expected nothing, `init`, `client_connected` or `client_disconnected`",
        ))
    });
    syn::parse::Parser::parse2(parser, attr)?;
    Ok(lifecycle)
}

/// `T` of a `-> Result<T, E>` return type, as the source spells it (no spaces); empty when the
/// type is written some other way (an alias).
fn ok_type(output: &ReturnType) -> String {
    let ReturnType::Type(_, ty) = output else {
        return String::new();
    };
    let syn::Type::Path(path) = &**ty else {
        return String::new();
    };
    let Some(last) = path.path.segments.last() else {
        return String::new();
    };
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return String::new();
    };
    match (last.ident == "Result", args.args.first()) {
        (true, Some(syn::GenericArgument::Type(t))) => quote!(#t).to_string().replace(' ', ""),
        _ => String::new(),
    }
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> Result<TokenStream> {
    let lifecycle = parse_lifecycle(attr)?;
    let func: ItemFn = syn::parse2(item)?;
    let sig = &func.sig;
    if !sig.generics.params.is_empty() || sig.asyncness.is_some() {
        return Err(Error::new(
            sig.span(),
            "a reducer cannot be generic or async",
        ));
    }
    if matches!(sig.output, ReturnType::Default) {
        return Err(Error::new(
            sig.span(),
            "a reducer returns `Result<T, cosmictron_sdk::Error>`",
        ));
    }
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Typed(first)) if matches!(*first.ty, syn::Type::Reference(_)) => {}
        _ => {
            return Err(Error::new(
                sig.span(),
                "a reducer's first argument is `ctx: &ReducerContext`",
            ));
        }
    }
    let mut names = Vec::new();
    let mut tys = Vec::new();
    for arg in inputs {
        let FnArg::Typed(arg) = arg else {
            return Err(Error::new(arg.span(), "a reducer cannot take `self`"));
        };
        let Pat::Ident(pat) = &*arg.pat else {
            return Err(Error::new(
                arg.pat.span(),
                "reducer arguments must be plain names (they are passed by name)",
            ));
        };
        names.push(pat.ident.clone());
        tys.push((*arg.ty).clone());
    }
    let returns = ok_type(&sig.output);
    let fn_name = &sig.ident;
    let name = fn_name.to_string();
    let arg_names: Vec<String> = names.iter().map(ToString::to_string).collect();
    let arg_types: Vec<String> = tys
        .iter()
        .map(|t| quote!(#t).to_string().replace(' ', ""))
        .collect();
    if lifecycle.is_some() && !names.is_empty() {
        return Err(Error::new(
            sig.span(),
            "a lifecycle reducer takes only `ctx: &ReducerContext`",
        ));
    }
    let args_struct = format_ident!("__CosmictronArgs_{}", fn_name);
    let invoke = format_ident!("__cosmictron_invoke_{}", fn_name);
    let register = format_ident!("__cosmictron_register_reducer_{}", fn_name);
    let export = format!("__cosmictron_register_reducer_{name}");
    let lifecycle = match lifecycle {
        Some(l) => quote!(::std::option::Option::Some(#l)),
        None => quote!(::std::option::Option::None),
    };

    Ok(quote! {
        #func

        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #[derive(::cosmictron_sdk::__private::serde::Deserialize)]
        #[serde(crate = "::cosmictron_sdk::__private::serde", deny_unknown_fields)]
        struct #args_struct {
            #(#names: #tys,)*
        }

        #[doc(hidden)]
        fn #invoke(
            ctx: &::cosmictron_sdk::ReducerContext,
            args: ::cosmictron_sdk::__private::RawArgs<'_>,
        ) -> ::std::result::Result<::std::vec::Vec<u8>, ::cosmictron_sdk::Error> {
            let args: #args_struct = ::cosmictron_sdk::__private::decode_args(args)?;
            let value = #fn_name(ctx, #(args.#names),*)?;
            ::cosmictron_sdk::__private::encode_result(&value)
        }

        #[doc(hidden)]
        #[unsafe(export_name = #export)]
        pub extern "C" fn #register() {
            ::cosmictron_sdk::__private::register_reducer(::cosmictron_sdk::__private::ReducerInfo {
                name: #name,
                args: &[#(#arg_names),*],
                arg_types: &[#(#arg_types),*],
                lifecycle: #lifecycle,
                returns: #returns,
                invoke: #invoke,
            });
        }
    })
}
