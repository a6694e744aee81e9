//! A test module exercising the SDK: typed tables, return values, structured errors,
//! constraint violations, and hostile behaviour (traps, endless loops, bad pointers, memory).

use cosmictron_sdk::{Error, Identity, LogLevel, ReducerContext, reducer, table};

#[table(name = "items", public)]
#[rls(read = "true", write = "true")]
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Item {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[unique]
    pub name: String,
    #[index]
    pub qty: i64,
    pub owner: Identity,
    #[pii]
    pub note: Option<String>,
}

#[table(name = "audit", event)]
pub struct Audit {
    pub message: String,
}

#[reducer(init)]
pub fn init(ctx: &ReducerContext) -> Result<(), Error> {
    ctx.db.audit().insert(Audit {
        message: "initialised".into(),
    })?;
    Ok(())
}

#[reducer]
pub fn add_item(ctx: &ReducerContext, name: String, qty: i64) -> Result<Item, Error> {
    if qty < 0 {
        return Err(Error::new("negative_quantity", "qty must not be negative").with_status(422));
    }
    ctx.db.items().insert(Item {
        id: 0,
        name,
        qty,
        owner: ctx.sender,
        note: None,
    })
}

/// Does nothing: the fixed cost of a call.
#[reducer]
pub fn noop(_ctx: &ReducerContext) -> Result<(), Error> {
    Ok(())
}

/// Inserts an item and returns only its id (the benchmarks' one-row insert).
#[reducer]
pub fn insert_item(ctx: &ReducerContext, name: String, qty: i64) -> Result<u64, Error> {
    Ok(ctx
        .db
        .items()
        .insert(Item {
            id: 0,
            name,
            qty,
            owner: ctx.sender,
            note: None,
        })?
        .id)
}

#[reducer]
pub fn set_qty(ctx: &ReducerContext, id: u64, qty: i64) -> Result<Option<Item>, Error> {
    let Some(mut item) = ctx.db.items().find(&id)? else {
        return Ok(None);
    };
    item.qty = qty;
    ctx.db.items().update(item).map(Some)
}

#[reducer]
pub fn remove_item(ctx: &ReducerContext, id: u64) -> Result<bool, Error> {
    Ok(ctx.db.items().delete(&id)?.is_some())
}

#[reducer]
pub fn total_qty(ctx: &ReducerContext) -> Result<(u64, i64), Error> {
    let items = ctx.db.items();
    Ok((items.count()?, items.iter()?.map(|i| i.qty).sum()))
}

/// Inserts, then fails with a structured error: nothing may be committed.
#[reducer]
pub fn add_then_fail(ctx: &ReducerContext, name: String) -> Result<(), Error> {
    ctx.db.items().insert(Item {
        id: 0,
        name,
        qty: 1,
        owner: ctx.sender,
        note: None,
    })?;
    Err(Error::new("out_of_stock", "no more items")
        .with_status(409)
        .with_details(serde_json::json!({ "retry": false })))
}

/// Inserts the same name twice: the unique violation propagates and rolls back both.
#[reducer]
pub fn add_twice(ctx: &ReducerContext, name: String) -> Result<(), Error> {
    for _ in 0..2 {
        ctx.db.items().insert(Item {
            id: 0,
            name: name.clone(),
            qty: 1,
            owner: ctx.sender,
            note: None,
        })?;
    }
    Ok(())
}

/// Inserts, then panics (a trap).
#[reducer]
pub fn add_then_trap(ctx: &ReducerContext, name: String) -> Result<(), Error> {
    ctx.db.items().insert(Item {
        id: 0,
        name,
        qty: 1,
        owner: ctx.sender,
        note: None,
    })?;
    panic!("deliberate trap after a write");
}

/// Never returns.
#[reducer]
pub fn spin(ctx: &ReducerContext) -> Result<(), Error> {
    ctx.db.items().insert(Item {
        id: 0,
        name: "spinning".into(),
        qty: 1,
        owner: ctx.sender,
        note: None,
    })?;
    loop {
        std::hint::black_box(());
    }
}

/// Allocates until the memory limit stops it.
#[reducer]
pub fn memory_bomb(_ctx: &ReducerContext) -> Result<u64, Error> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![1u8; 16 << 20]);
        std::hint::black_box(&hoard);
    }
}

#[link(wasm_import_module = "cosmictron_v1")]
unsafe extern "C" {
    #[link_name = "table_insert"]
    fn raw_table_insert(name: *const u8, name_len: u32, row: *const u8, row_len: u32) -> i32;
    #[link_name = "buffer_len"]
    fn raw_buffer_len() -> u32;
    #[link_name = "buffer_read"]
    fn raw_buffer_read(dst: *mut u8, len: u32) -> u32;
    #[link_name = "table_insert_id"]
    fn raw_table_insert_id(
        name: *const u8,
        name_len: u32,
        row: *const u8,
        row_len: u32,
        id: *mut u64,
    ) -> i32;
    #[link_name = "table_range"]
    fn raw_table_range(
        name: *const u8,
        name_len: u32,
        index: *const u8,
        index_len: u32,
        lower: *const u8,
        lower_len: u32,
        upper: *const u8,
        upper_len: u32,
        bounds: u32,
    ) -> i32;
    #[link_name = "random_fill"]
    fn raw_random_fill(dst: *mut u8, len: u32);
    #[link_name = "schedule"]
    fn raw_schedule(
        reducer: *const u8,
        reducer_len: u32,
        args: *const u8,
        args_len: u32,
        at: i64,
        repeat: i64,
    ) -> i32;
}

/// Inserts through `table_insert`, the import modules built before `table_insert_id` use,
/// and returns the id read from the stored row the host answers with.
#[reducer]
pub fn add_item_raw(ctx: &ReducerContext, name: String, qty: i64) -> Result<u64, Error> {
    let row = Item {
        id: 0,
        name,
        qty,
        owner: ctx.sender,
        note: None,
    };
    let columns = <Item as cosmictron_sdk::Table>::columns();
    let bytes = cosmictron_types::encode_row(columns, &cosmictron_sdk::Table::to_values(&row))
        .map_err(|e| Error::new("encode", e.to_string()))?;
    let table = "items";
    // SAFETY: every pointer is valid for its length during the call.
    let stored = unsafe {
        let status = raw_table_insert(
            table.as_ptr(),
            table.len() as u32,
            bytes.as_ptr(),
            bytes.len() as u32,
        );
        let mut buffer = vec![0u8; raw_buffer_len() as usize];
        let n = raw_buffer_read(buffer.as_mut_ptr(), buffer.len() as u32);
        buffer.truncate(n as usize);
        if status != 0 {
            return Err(Error::new("insert_failed", String::from_utf8_lossy(&buffer)));
        }
        buffer
    };
    let values = cosmictron_types::decode_row(columns, &stored)
        .map_err(|e| Error::new("decode", e.to_string()))?;
    let stored = <Item as cosmictron_sdk::Table>::from_values(values)?;
    if stored.name != row.name || stored.qty != row.qty {
        return Err(Error::new("wrong_row", "the stored row is not the row given"));
    }
    Ok(stored.id)
}

/// Hands one of the newer imports a pointer far outside the module's memory (or an absurd
/// length), after a write that must be rolled back.
#[reducer]
pub fn bad_import(ctx: &ReducerContext, which: String, len: u32) -> Result<i32, Error> {
    ctx.db.items().insert(Item {
        id: 0,
        name: format!("before {which}"),
        qty: 1,
        owner: ctx.sender,
        note: None,
    })?;
    let far = 0xFFFF_FF00usize as *const u8;
    let name = "items";
    let index = "items_qty_idx";
    // SAFETY: the host must bounds-check every pointer; these calls are meant to be refused.
    Ok(unsafe {
        match which.as_str() {
            "table_range" => raw_table_range(
                name.as_ptr(),
                name.len() as u32,
                index.as_ptr(),
                index.len() as u32,
                far,
                len,
                far,
                len,
                0x0101_0f,
            ),
            "random_fill" => {
                raw_random_fill(far as *mut u8, len);
                0
            }
            "schedule" => raw_schedule(far, len, far, len, 0, 0),
            // A valid row, so the insert happens and only the id's destination is bad.
            "table_insert_id" => {
                let row = Item {
                    id: 0,
                    name: format!("{which} {len}"),
                    qty: 1,
                    owner: ctx.sender,
                    note: None,
                };
                let bytes = cosmictron_types::encode_row(
                    <Item as cosmictron_sdk::Table>::columns(),
                    &cosmictron_sdk::Table::to_values(&row),
                )
                .map_err(|e| Error::new("encode", e.to_string()))?;
                raw_table_insert_id(
                    name.as_ptr(),
                    name.len() as u32,
                    bytes.as_ptr(),
                    bytes.len() as u32,
                    far as *mut u64,
                )
            }
            _ => -1,
        }
    })
}

/// Hands the host a pointer far outside the module's memory.
#[reducer]
pub fn bad_pointer(_ctx: &ReducerContext, len: u32) -> Result<i32, Error> {
    let name = "items";
    // SAFETY: the host must bounds-check the row pointer; this call is meant to be refused.
    Ok(unsafe {
        raw_table_insert(
            name.as_ptr(),
            name.len() as u32,
            0xFFFF_FF00 as *const u8,
            len,
        )
    })
}

/// Recurses without bound (a stack overflow), to test the stack limit.
#[reducer]
pub fn recurse(_ctx: &ReducerContext, depth: u64) -> Result<u64, Error> {
    Ok(dive(depth))
}

#[allow(unconditional_recursion)] // on purpose: it must overflow the stack
fn dive(depth: u64) -> u64 {
    std::hint::black_box(dive(std::hint::black_box(depth + 1))) + 1
}

/// Looks an item up by its unique name.
#[reducer]
pub fn item_named(ctx: &ReducerContext, name: String) -> Result<Option<Item>, Error> {
    ctx.db.items().find_by_name(&name)
}

/// The ids of the items with this quantity (through the `qty` index).
#[reducer]
pub fn ids_with_qty(ctx: &ReducerContext, qty: i64) -> Result<Vec<u64>, Error> {
    let mut ids: Vec<u64> = ctx
        .db
        .items()
        .filter_by_qty(&qty)?
        .into_iter()
        .map(|i| i.id)
        .collect();
    ids.sort();
    Ok(ids)
}

/// Logs `lines` lines.
#[reducer]
pub fn flood(ctx: &ReducerContext, lines: u32) -> Result<(), Error> {
    for i in 0..lines {
        ctx.log(LogLevel::Info, &format!("line {i}"));
    }
    Ok(())
}
