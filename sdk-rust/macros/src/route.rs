//! `#[route(METHOD, "/path/:param", read_only?, rate_limit(requests = N, window_secs = S,
//! key = "ip" | "identity" | "header:<name>")?)]` on
//! `fn(ctx: &ReducerContext, req: &HttpRequest | HttpRequest) -> Result<HttpResponse, Error>`.
//!
//! Generates an invoker that hands the decoded request to the function, and the registration
//! export. The host checks the method, the pattern and the limit at deploy.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Error, FnArg, Ident, ItemFn, LitInt, LitStr, Result, ReturnType, Token, Type};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

struct RateLimit {
    requests: u32,
    window_secs: u32,
    key: String,
}

struct RouteArgs {
    method: String,
    path: LitStr,
    read_only: bool,
    rate_limit: Option<RateLimit>,
}

fn parse_rate_limit(input: ParseStream<'_>) -> Result<RateLimit> {
    let content;
    syn::parenthesized!(content in input);
    let (mut requests, mut window_secs, mut key) = (None, None, None);
    while !content.is_empty() {
        let name: Ident = content.parse()?;
        content.parse::<Token![=]>()?;
        match name.to_string().as_str() {
            "requests" => requests = Some(content.parse::<LitInt>()?.base10_parse::<u32>()?),
            "window_secs" => {
                window_secs = Some(content.parse::<LitInt>()?.base10_parse::<u32>()?);
            }
            "key" => key = Some(content.parse::<LitStr>()?.value()),
            _ => {
                return Err(Error::new(
                    name.span(),
                    "rate_limit takes `requests`, `window_secs` and `key`",
                ));
            }
        }
        if !content.is_empty() {
            content.parse::<Token![,]>()?;
        }
    }
    let span = content.span();
    Ok(RateLimit {
        requests: requests.ok_or_else(|| Error::new(span, "rate_limit needs `requests = N`"))?,
        window_secs: window_secs
            .ok_or_else(|| Error::new(span, "rate_limit needs `window_secs = N`"))?,
        key: key.unwrap_or_else(|| "ip".to_owned()),
    })
}

impl Parse for RouteArgs {
    fn parse(input: ParseStream<'_>) -> Result<RouteArgs> {
        let method: Ident = input.parse()?;
        let method_name = method.to_string();
        if !METHODS.contains(&method_name.as_str()) {
            return Err(Error::new(
                method.span(),
                format!("the method is one of {}", METHODS.join(", ")),
            ));
        }
        input.parse::<Token![,]>()?;
        let path: LitStr = input.parse()?;
        let mut args = RouteArgs {
            method: method_name,
            path,
            read_only: false,
            rate_limit: None,
        };
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let option: Ident = input.parse()?;
            match option.to_string().as_str() {
                "read_only" => args.read_only = true,
                "rate_limit" => args.rate_limit = Some(parse_rate_limit(input)?),
                _ => {
                    return Err(Error::new(
                        option.span(),
                        "unknown route option; expected `read_only` or `rate_limit(...)`",
                    ));
                }
            }
        }
        Ok(args)
    }
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> Result<TokenStream> {
    let args: RouteArgs = syn::parse2(attr)?;
    let func: ItemFn = syn::parse2(item)?;
    let sig = &func.sig;
    if !sig.generics.params.is_empty() || sig.asyncness.is_some() {
        return Err(Error::new(
            sig.span(),
            "a route handler cannot be generic or async",
        ));
    }
    if matches!(sig.output, ReturnType::Default) {
        return Err(Error::new(
            sig.span(),
            "a route handler returns `Result<HttpResponse, cosmictron_sdk::Error>`",
        ));
    }
    let inputs: Vec<&FnArg> = sig.inputs.iter().collect();
    let request_by_ref = match inputs.as_slice() {
        [FnArg::Typed(ctx), FnArg::Typed(req)] if matches!(*ctx.ty, Type::Reference(_)) => {
            matches!(*req.ty, Type::Reference(_))
        }
        _ => {
            return Err(Error::new(
                sig.span(),
                "a route handler takes `ctx: &ReducerContext, req: &HttpRequest`",
            ));
        }
    };
    let fn_name = &sig.ident;
    let name = fn_name.to_string();
    let method = &args.method;
    let path = &args.path;
    let read_only = args.read_only;
    let rate_limit = match &args.rate_limit {
        Some(RateLimit {
            requests,
            window_secs,
            key,
        }) => quote!(::std::option::Option::Some((#requests, #window_secs, #key))),
        None => quote!(::std::option::Option::None),
    };
    let request = if request_by_ref {
        quote!(&request)
    } else {
        quote!(request)
    };
    let invoke = format_ident!("__cosmictron_handle_{}", fn_name);
    let register = format_ident!("__cosmictron_register_route_{}", fn_name);
    let export = format!("__cosmictron_register_route_{name}");

    Ok(quote! {
        #func

        #[doc(hidden)]
        fn #invoke(
            ctx: &::cosmictron_sdk::ReducerContext,
            request: ::cosmictron_sdk::HttpRequest,
        ) -> ::std::result::Result<::cosmictron_sdk::HttpResponse, ::cosmictron_sdk::Error> {
            #fn_name(ctx, #request)
        }

        #[doc(hidden)]
        #[unsafe(export_name = #export)]
        pub extern "C" fn #register() {
            ::cosmictron_sdk::__private::register_route(::cosmictron_sdk::__private::RouteInfo {
                name: #name,
                method: #method,
                path: #path,
                read_only: #read_only,
                rate_limit: #rate_limit,
                handle: #invoke,
            });
        }
    })
}
