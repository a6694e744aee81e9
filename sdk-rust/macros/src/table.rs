//! `#[table(name = "...", public, event)]` on a struct with named fields.
//!
//! Field attributes: `#[primary_key]`, `#[auto_inc]`, `#[index]`, `#[unique]`, `#[pii]`,
//! `#[fk(table.column)]` / `#[fk(table.column, on_delete = cascade)]`, `#[default(expr)]`.
//! Struct attributes after `#[table]`: any number of `#[rls(read = "...", write = "...")]` and
//! of `#[index(name = "...", columns(a, b), unique?)]` (multi-column indexes).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Error, Fields, ItemStruct, LitStr, Result};

/// What `#[table(...)]` says.
#[derive(Default)]
struct TableArgs {
    name: Option<LitStr>,
    public: bool,
    event: bool,
}

fn parse_args(attr: TokenStream) -> Result<TableArgs> {
    let mut args = TableArgs::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            args.name = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("public") {
            args.public = true;
        } else if meta.path.is_ident("event") {
            args.event = true;
        } else {
            return Err(
                meta.error("unknown table option; expected `name = \"...\"`, `public` or `event`")
            );
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, attr)?;
    Ok(args)
}

/// One column as the field attributes describe it.
struct Column {
    ident: syn::Ident,
    ty: syn::Type,
    primary_key: bool,
    auto_inc: bool,
    index: bool,
    unique: bool,
    pii: bool,
    /// `#[fk(table.column)]`: the referenced table and column, and whether deletes cascade.
    fk: Option<(String, String, bool)>,
    /// `#[default(expr)]`: the value existing rows get when an upgrade adds the column.
    default: Option<syn::Expr>,
}

const FIELD_ATTRS: [&str; 5] = ["primary_key", "auto_inc", "index", "unique", "pii"];

/// Parses `#[fk(table.column)]` or `#[fk(table.column, on_delete = cascade | restrict)]`.
fn parse_fk(attr: &syn::Attribute) -> Result<(String, String, bool)> {
    let mut target = None;
    let mut cascade = false;
    attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("on_delete") {
            let value: syn::Ident = meta.value()?.parse()?;
            cascade = match value.to_string().as_str() {
                "cascade" => true,
                "restrict" => false,
                _ => return Err(meta.error("on_delete is `cascade` or `restrict`")),
            };
            return Ok(());
        }
        let segments: Vec<String> = meta
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        if segments.len() == 1 && meta.input.peek(syn::Token![.]) {
            meta.input.parse::<syn::Token![.]>()?;
            let column: syn::Ident = meta.input.parse()?;
            target = Some((segments[0].clone(), column.to_string()));
            Ok(())
        } else {
            Err(meta.error("expected `#[fk(table.column)]`"))
        }
    })?;
    let (table, column) =
        target.ok_or_else(|| Error::new(attr.span(), "expected `#[fk(table.column)]`"))?;
    Ok((table, column, cascade))
}

fn take_columns(item: &mut ItemStruct) -> Result<Vec<Column>> {
    let Fields::Named(fields) = &mut item.fields else {
        return Err(Error::new(
            item.ident.span(),
            "#[table] needs a struct with named fields",
        ));
    };
    let mut columns = Vec::new();
    for field in &mut fields.named {
        let Some(ident) = field.ident.clone() else {
            continue;
        };
        let mut col = Column {
            ident,
            ty: field.ty.clone(),
            primary_key: false,
            auto_inc: false,
            index: false,
            unique: false,
            pii: false,
            fk: None,
            default: None,
        };
        let mut kept = Vec::new();
        for attr in field.attrs.drain(..) {
            let name = attr.path().get_ident().map(ToString::to_string);
            match name.as_deref() {
                Some(n) if FIELD_ATTRS.contains(&n) => {
                    attr.meta.require_path_only()?;
                    match n {
                        "primary_key" => col.primary_key = true,
                        "auto_inc" => col.auto_inc = true,
                        "index" => col.index = true,
                        "unique" => col.unique = true,
                        _ => col.pii = true,
                    }
                }
                Some("fk") => col.fk = Some(parse_fk(&attr)?),
                Some("default") => col.default = Some(attr.parse_args()?),
                _ => kept.push(attr),
            }
        }
        field.attrs = kept;
        columns.push(col);
    }
    Ok(columns)
}

/// A table-level `#[index(name = "...", columns(a, b), unique)]`.
struct MultiIndex {
    name: LitStr,
    columns: Vec<syn::Ident>,
    unique: bool,
}

fn parse_index(attr: &syn::Attribute) -> Result<MultiIndex> {
    let (mut name, mut columns, mut unique) = (None, Vec::new(), false);
    attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("name") {
            name = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("unique") {
            unique = true;
        } else if meta.path.is_ident("columns") {
            meta.parse_nested_meta(|col| {
                columns.push(col.path.require_ident()?.clone());
                Ok(())
            })?;
        } else {
            return Err(meta.error("expected `name = \"...\"`, `columns(a, b, ...)` or `unique`"));
        }
        Ok(())
    })?;
    let name: LitStr =
        name.ok_or_else(|| Error::new(attr.span(), "#[index] needs `name = \"...\"`"))?;
    if syn::parse_str::<syn::Ident>(&name.value()).is_err() {
        return Err(Error::new(
            name.span(),
            "#[index] name must be an identifier (it names the `filter_by_<name>` method)",
        ));
    }
    if columns.is_empty() {
        return Err(Error::new(
            attr.span(),
            "#[index] needs `columns(a, b, ...)`",
        ));
    }
    Ok(MultiIndex {
        name,
        columns,
        unique,
    })
}

/// `#[rls(...)]` and `#[index(...)]` attributes, removed from the struct.
fn take_policies(item: &mut ItemStruct) -> Result<(Vec<LitStr>, Vec<LitStr>, Vec<MultiIndex>)> {
    let (mut read, mut write, mut indexes) = (Vec::new(), Vec::new(), Vec::new());
    let mut kept = Vec::new();
    for attr in item.attrs.drain(..) {
        if attr.path().is_ident("index") {
            indexes.push(parse_index(&attr)?);
            continue;
        }
        if !attr.path().is_ident("rls") {
            kept.push(attr);
            continue;
        }
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("read") {
                read.push(meta.value()?.parse()?);
            } else if meta.path.is_ident("write") {
                write.push(meta.value()?.parse()?);
            } else {
                return Err(meta.error("expected `read = \"...\"` or `write = \"...\"`"));
            }
            Ok(())
        })?;
    }
    item.attrs = kept;
    Ok((read, write, indexes))
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> Result<TokenStream> {
    let args = parse_args(attr)?;
    let mut item: ItemStruct = syn::parse2(item)?;
    let Some(name) = args.name else {
        return Err(Error::new(
            item.ident.span(),
            "#[table] needs a name: #[table(name = \"my_table\")]",
        ));
    };
    if !item.generics.params.is_empty() {
        return Err(Error::new(
            item.generics.span(),
            "a table struct cannot be generic",
        ));
    }
    let (read, write, multi) = take_policies(&mut item)?;
    let columns = take_columns(&mut item)?;
    for index in &multi {
        for c in &index.columns {
            if !columns.iter().any(|col| col.ident == *c) {
                return Err(Error::new(
                    c.span(),
                    format!("#[index]: no field `{c}` in this struct"),
                ));
            }
        }
    }
    let pks: Vec<&Column> = columns.iter().filter(|c| c.primary_key).collect();
    if pks.len() > 1 {
        return Err(Error::new(
            pks[1].ident.span(),
            "only one field can be #[primary_key]",
        ));
    }
    let name_str = name.value();
    let ident = &item.ident;
    let accessor = format_ident!("{}", name_str);
    let access_trait = format_ident!("{}TableAccess", ident);
    let register = format_ident!("__cosmictron_register_table_{}", name_str);
    let export = format!("__cosmictron_register_table_{name_str}");

    let column_defs = columns.iter().map(|c| {
        let (n, ty, auto, pii) = (c.ident.to_string(), &c.ty, c.auto_inc, c.pii);
        let default = c.default.as_ref().map(|e| {
            quote! {
                col.default = ::std::option::Option::Some(
                    <#ty as ::cosmictron_sdk::Column>::to_value(&(#e)));
            }
        });
        quote! {{
            let mut col = ::cosmictron_sdk::__private::ColumnDef::new(
                #n, <#ty as ::cosmictron_sdk::Column>::column_type());
            col.auto_inc = #auto;
            col.pii = #pii;
            #default
            def.columns.push(col);
        }}
    });
    let indexes = columns
        .iter()
        .filter(|c| (c.index || c.unique) && !c.primary_key)
        .map(|c| {
            let col = c.ident.to_string();
            let (index_name, method) = if c.unique {
                (format!("{name_str}_{col}_key"), quote!(unique))
            } else {
                (format!("{name_str}_{col}_idx"), quote!(index))
            };
            quote! { def = def.#method(#index_name, &[#col]); }
        });
    let multi_defs = multi.iter().map(|i| {
        let name = &i.name;
        let cols: Vec<String> = i.columns.iter().map(ToString::to_string).collect();
        let method = if i.unique {
            quote!(unique)
        } else {
            quote!(index)
        };
        quote! { def = def.#method(#name, &[#(#cols),*]); }
    });
    let fk_defs = columns.iter().filter_map(|c| {
        let (table, column, cascade) = c.fk.as_ref()?;
        let col = c.ident.to_string();
        let fk_name = format!("{name_str}_{col}_fkey");
        let on_delete = if *cascade {
            quote!(::cosmictron_sdk::__private::OnDelete::Cascade)
        } else {
            quote!(::cosmictron_sdk::__private::OnDelete::Restrict)
        };
        Some(quote! { def = def.foreign_key(#fk_name, &[#col], #table, &[#column], #on_delete); })
    });
    let pk_def = pks.first().map(|c| {
        let col = c.ident.to_string();
        quote! { def = def.primary_key(&[#col]); }
    });
    let idents: Vec<&syn::Ident> = columns.iter().map(|c| &c.ident).collect();
    let tys: Vec<&syn::Type> = columns.iter().map(|c| &c.ty).collect();
    let positions = 0..columns.len();
    let ncols = columns.len();
    let auto_inc = columns.iter().position(|c| c.auto_inc).map(|p| {
        let (field, ty) = (&columns[p].ident, &columns[p].ty);
        quote! {
            const AUTO_INC: ::std::option::Option<usize> = ::std::option::Option::Some(#p);

            fn set_auto_inc(
                &mut self,
                value: ::cosmictron_sdk::Value,
            ) -> ::std::result::Result<(), ::cosmictron_sdk::Error> {
                self.#field = <#ty as ::cosmictron_sdk::Column>::from_value(value)
                    .ok_or_else(|| ::cosmictron_sdk::__private::bad_row(#name))?;
                ::std::result::Result::Ok(())
            }
        }
    });
    let (public, event) = (args.public, args.event);
    let pk_impl = pks.first().map(|c| {
        let (pk, pk_ty) = (&c.ident, &c.ty);
        quote! {
            impl ::cosmictron_sdk::PrimaryKey for #ident {
                type Key = #pk_ty;
                fn key_values(key: &#pk_ty) -> ::std::vec::Vec<::cosmictron_sdk::Value> {
                    ::std::vec![<#pk_ty as ::cosmictron_sdk::Column>::to_value(key)]
                }
                fn primary_key(&self) -> &#pk_ty { &self.#pk }
            }
        }
    });

    let index_trait = index_methods(&item.ident, &name_str, &columns, &multi);

    Ok(quote! {
        #item

        #index_trait

        impl ::cosmictron_sdk::ViewRow for #ident {
            fn view_columns() -> ::std::vec::Vec<::cosmictron_sdk::__private::ColumnDef> {
                <Self as ::cosmictron_sdk::Table>::columns().to_vec()
            }

            fn view_values(&self) -> ::std::vec::Vec<::cosmictron_sdk::Value> {
                <Self as ::cosmictron_sdk::Table>::to_values(self)
            }
        }

        impl ::cosmictron_sdk::Table for #ident {
            const NAME: &'static str = #name;
            const TYPE_NAME: &'static str = ::std::stringify!(#ident);
            #auto_inc

            fn table_def() -> ::cosmictron_sdk::TableDef {
                let mut def = ::cosmictron_sdk::TableDef::new(#name);
                #(#column_defs)*
                #pk_def
                #(#indexes)*
                #(#multi_defs)*
                #(#fk_defs)*
                def.public = #public;
                def.event = #event;
                def.read_policies = ::std::vec![#(::std::string::String::from(#read)),*];
                def.write_policies = ::std::vec![#(::std::string::String::from(#write)),*];
                def
            }

            fn columns() -> &'static [::cosmictron_sdk::__private::ColumnDef] {
                static COLUMNS: ::std::sync::OnceLock<
                    ::std::vec::Vec<::cosmictron_sdk::__private::ColumnDef>,
                > = ::std::sync::OnceLock::new();
                COLUMNS.get_or_init(|| <Self as ::cosmictron_sdk::Table>::table_def().columns)
            }

            fn to_values(&self) -> ::std::vec::Vec<::cosmictron_sdk::Value> {
                ::std::vec![#(<#tys as ::cosmictron_sdk::Column>::to_value(&self.#idents)),*]
            }

            // The columns are the fields' own types, so every field encodes as its column.
            fn encode_row_into(
                &self,
                out: &mut ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<(), ::cosmictron_sdk::Error> {
                #(<#tys as ::cosmictron_sdk::Column>::encode_into(&self.#idents, out);)*
                ::std::result::Result::Ok(())
            }

            fn from_values(
                values: ::std::vec::Vec<::cosmictron_sdk::Value>,
            ) -> ::std::result::Result<Self, ::cosmictron_sdk::Error> {
                if values.len() != #ncols {
                    return ::std::result::Result::Err(::cosmictron_sdk::__private::bad_row(#name));
                }
                let mut values = values.into_iter();
                ::std::result::Result::Ok(#ident {
                    #(#idents: {
                        let _ = #positions;
                        values
                            .next()
                            .and_then(<#tys as ::cosmictron_sdk::Column>::from_value)
                            .ok_or_else(|| ::cosmictron_sdk::__private::bad_row(#name))?
                    },)*
                })
            }
        }

        #pk_impl

        /// The typed accessor of this table on `ctx.db`.
        #[allow(non_camel_case_types)]
        pub trait #access_trait {
            fn #accessor(&self) -> ::cosmictron_sdk::TableHandle<#ident>;
        }

        impl #access_trait for ::cosmictron_sdk::Db {
            fn #accessor(&self) -> ::cosmictron_sdk::TableHandle<#ident> {
                ::cosmictron_sdk::TableHandle::new()
            }
        }

        #[doc(hidden)]
        #[unsafe(export_name = #export)]
        pub extern "C" fn #register() {
            ::cosmictron_sdk::__private::register_table::<#ident>();
        }
    })
}

/// `find_by_<col>` (unique columns) and `filter_by_<col>` (indexed columns) on the table's
/// handle, as a `<Struct>Indexes` trait.
fn index_methods(
    ident: &syn::Ident,
    table: &str,
    columns: &[Column],
    multi: &[MultiIndex],
) -> TokenStream {
    let mut decls = Vec::new();
    let mut impls = Vec::new();
    for c in columns.iter().filter(|c| !c.primary_key) {
        let ty = &c.ty;
        if c.unique || c.index {
            let method = format_ident!("range_by_{}", c.ident);
            let index = if c.unique {
                format!("{table}_{}_key", c.ident)
            } else {
                format!("{table}_{}_idx", c.ident)
            };
            decls.push(quote! {
                /// The rows whose value of the column lies in `range`, in column order.
                fn #method(&self, range: impl ::std::ops::RangeBounds<#ty>) -> ::std::result::Result<::std::vec::Vec<#ident>, ::cosmictron_sdk::Error>;
            });
            impls.push(quote! {
                fn #method(&self, range: impl ::std::ops::RangeBounds<#ty>) -> ::std::result::Result<::std::vec::Vec<#ident>, ::cosmictron_sdk::Error> {
                    self.filter_range(#index, range)
                }
            });
        }
        if c.unique {
            let method = format_ident!("find_by_{}", c.ident);
            let index = format!("{table}_{}_key", c.ident);
            decls.push(quote! {
                /// The row with this value of the unique column.
                fn #method(&self, value: &#ty) -> ::std::result::Result<::std::option::Option<#ident>, ::cosmictron_sdk::Error>;
            });
            impls.push(quote! {
                fn #method(&self, value: &#ty) -> ::std::result::Result<::std::option::Option<#ident>, ::cosmictron_sdk::Error> {
                    ::std::result::Result::Ok(self.filter_index(#index, value)?.into_iter().next())
                }
            });
        } else if c.index {
            let method = format_ident!("filter_by_{}", c.ident);
            let index = format!("{table}_{}_idx", c.ident);
            decls.push(quote! {
                /// The rows with this value of the indexed column.
                fn #method(&self, value: &#ty) -> ::std::result::Result<::std::vec::Vec<#ident>, ::cosmictron_sdk::Error>;
            });
            impls.push(quote! {
                fn #method(&self, value: &#ty) -> ::std::result::Result<::std::vec::Vec<#ident>, ::cosmictron_sdk::Error> {
                    self.filter_index(#index, value)
                }
            });
        }
    }
    for index in multi {
        let method = format_ident!("filter_by_{}", index.name.value());
        let index_name = &index.name;
        let args: Vec<&syn::Ident> = index.columns.iter().collect();
        let tys: Vec<&syn::Type> = index
            .columns
            .iter()
            .filter_map(|c| {
                columns
                    .iter()
                    .find(|col| col.ident == *c)
                    .map(|col| &col.ty)
            })
            .collect();
        decls.push(quote! {
            /// The rows with these values of the index's columns.
            fn #method(&self, #(#args: &#tys),*) -> ::std::result::Result<::std::vec::Vec<#ident>, ::cosmictron_sdk::Error>;
        });
        impls.push(quote! {
            fn #method(&self, #(#args: &#tys),*) -> ::std::result::Result<::std::vec::Vec<#ident>, ::cosmictron_sdk::Error> {
                self.filter_index_values(#index_name, &[#((
                    <#tys as ::cosmictron_sdk::Column>::to_value(#args),
                    <#tys as ::cosmictron_sdk::Column>::column_type(),
                )),*])
            }
        });
    }
    if decls.is_empty() {
        return TokenStream::new();
    }
    let trait_name = format_ident!("{}Indexes", ident);
    quote! {
        /// Lookups by the table's unique and indexed columns.
        #[allow(clippy::ptr_arg)] // the column's own type, `&String` included
        pub trait #trait_name {
            #(#decls)*
        }

        #[allow(clippy::ptr_arg)]
        impl #trait_name for ::cosmictron_sdk::TableHandle<#ident> {
            #(#impls)*
        }
    }
}
