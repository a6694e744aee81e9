//! The macros on the host target: the table definitions and row conversions `#[table]`
//! generates, that `#[reducer]` accepts the documented signatures, and the rows `#[view]`s
//! return (`#[derive(ViewRow)]` and table structs).

use cosmictron_sdk::{
    Error, Identity, ReducerContext, Table, TableDef, Timestamp, Value, ViewRow, reducer, table,
    view,
};
use cosmictron_types::ScalarType;

#[table(name = "agent_messages", public)]
#[rls(read = "owner = $identity", write = "owner = $identity")]
#[rls(read = "true")]
#[derive(Debug, Clone, PartialEq)]
pub struct AgentMessage {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    pub session_id: String,
    #[unique]
    pub slug: String,
    pub owner: Identity,
    #[pii]
    pub content: Option<String>,
    pub created_at: Timestamp,
    #[default(3)]
    pub priority: i64,
}

#[table(name = "replies")]
#[index(name = "by_message_author", columns(message, author), unique)]
#[derive(Debug)]
pub struct Reply {
    #[primary_key]
    pub id: u64,
    #[fk(agent_messages.id, on_delete = cascade)]
    pub message: u64,
    #[fk(agent_messages.slug)]
    pub slug: Option<String>,
    pub author: Identity,
}

/// The generated multi-column and range lookups have the documented signatures.
#[allow(dead_code)]
fn lookups(ctx: &ReducerContext) -> Result<(), Error> {
    let _: Vec<Reply> = ctx
        .db
        .replies()
        .filter_by_by_message_author(&1, &ctx.sender)?;
    let _: Vec<AgentMessage> = ctx
        .db
        .agent_messages()
        .range_by_session_id(String::from("a")..=String::from("b"))?;
    let _: Vec<AgentMessage> = ctx.db.agent_messages().range_by_slug(..String::from("m"))?;
    Ok(())
}

#[test]
fn foreign_keys_and_multi_column_indexes_land_in_the_definition() {
    // Proves `#[fk]` (with and without cascade) and a table-level unique `#[index]` become the
    // definition's foreign keys and index.
    let expected = TableDef::new("replies")
        .column("id", ScalarType::U64)
        .column("message", ScalarType::U64)
        .nullable_column("slug", ScalarType::String)
        .column("author", ScalarType::Identity)
        .primary_key(&["id"])
        .unique("by_message_author", &["message", "author"])
        .foreign_key(
            "replies_message_fkey",
            &["message"],
            "agent_messages",
            &["id"],
            cosmictron_types::OnDelete::Cascade,
        )
        .foreign_key(
            "replies_slug_fkey",
            &["slug"],
            "agent_messages",
            &["slug"],
            cosmictron_types::OnDelete::Restrict,
        );
    assert_eq!(Reply::table_def(), expected);
    expected.validate().expect("valid");
}

#[table(name = "events", event)]
#[derive(Debug)]
pub struct Event {
    pub what: String,
}

#[reducer]
pub fn record(ctx: &ReducerContext, session_id: String, content: String) -> Result<u64, Error> {
    let row = ctx.db.agent_messages().insert(AgentMessage {
        id: 0,
        session_id,
        slug: String::new(),
        owner: ctx.sender,
        content: Some(content),
        created_at: ctx.timestamp,
        priority: 1,
    })?;
    // The generated lookups by unique and indexed columns.
    let _same: Option<AgentMessage> = ctx.db.agent_messages().find_by_slug(&row.slug)?;
    let _session: Vec<AgentMessage> = ctx
        .db
        .agent_messages()
        .filter_by_session_id(&row.session_id)?;
    Ok(row.id)
}

#[reducer(init)]
pub fn setup(_ctx: &ReducerContext) -> Result<(), Error> {
    Ok(())
}

#[test]
fn table_attributes_become_the_table_definition() {
    // Proves every table and field attribute lands in the `TableDef` the host creates.
    let mut expected = TableDef::new("agent_messages")
        .column("id", ScalarType::U64)
        .column("session_id", ScalarType::String)
        .column("slug", ScalarType::String)
        .column("owner", ScalarType::Identity)
        .nullable_column("content", ScalarType::String)
        .column("created_at", ScalarType::Timestamp)
        .column("priority", ScalarType::I64)
        .primary_key(&["id"])
        .auto_inc("id")
        .pii("content")
        .index("agent_messages_session_id_idx", &["session_id"])
        .unique("agent_messages_slug_key", &["slug"])
        .public()
        .read_policy("owner = $identity")
        .read_policy("true")
        .write_policy("owner = $identity");
    expected.columns[6].default = Some(Value::I64(3));
    assert_eq!(AgentMessage::table_def(), expected);
    expected.validate().expect("valid");
    assert!(Event::table_def().event);
    assert!(!Event::table_def().public);
}

#[test]
fn rows_round_trip_through_values() {
    // Proves the generated conversions keep every field, NULL included, and refuse a row
    // of the wrong shape.
    let row = AgentMessage {
        id: 7,
        session_id: "s".into(),
        slug: "x".into(),
        owner: Identity([3; 32]),
        content: None,
        created_at: Timestamp(42),
        priority: 0,
    };
    let values = row.to_values();
    assert_eq!(values[4], Value::Null);
    assert_eq!(AgentMessage::from_values(values).expect("decode"), row);
    let err = AgentMessage::from_values(vec![Value::U64(1)]).expect_err("short");
    assert_eq!(err.code, "type_mismatch");
}

#[test]
fn errors_serialize_with_code_status_and_details() {
    // Proves the JSON shape the host reads back.
    let e = Error::new("agent_unclaimed_limit", "claim the agent first")
        .with_status(402)
        .with_details(serde_json::json!({"limit": 3}));
    let json = serde_json::to_value(&e).expect("json");
    assert_eq!(
        json,
        serde_json::json!({"code": "agent_unclaimed_limit", "message": "claim the agent first",
            "details": {"limit": 3}, "http_status": 402})
    );
}

/// A computed row for a view.
#[derive(Debug, ViewRow)]
pub struct Summary {
    pub session_id: String,
    pub messages: u64,
    pub last: Option<Timestamp>,
}

#[view(public)]
pub fn summaries(_ctx: &ReducerContext) -> Vec<Summary> {
    Vec::new()
}

#[view]
pub fn own_messages(ctx: &ReducerContext) -> Result<Vec<AgentMessage>, Error> {
    Ok(ctx
        .db
        .agent_messages()
        .iter()?
        .filter(|m| m.owner == ctx.sender)
        .collect())
}

#[test]
fn view_rows_describe_their_columns_and_values() {
    // Proves a derived view row maps fields to typed columns in order (Option → nullable),
    // and a table struct is a view row with the table's columns.
    let columns = Summary::view_columns();
    let described: Vec<(&str, ScalarType, bool)> = columns
        .iter()
        .map(|c| (c.name.as_str(), c.ty.scalar, c.ty.nullable))
        .collect();
    assert_eq!(
        described,
        [
            ("session_id", ScalarType::String, false),
            ("messages", ScalarType::U64, false),
            ("last", ScalarType::Timestamp, true),
        ]
    );
    let row = Summary {
        session_id: "s".into(),
        messages: 2,
        last: None,
    };
    assert_eq!(
        row.view_values(),
        [Value::String("s".into()), Value::U64(2), Value::Null]
    );
    assert_eq!(AgentMessage::view_columns(), AgentMessage::columns());
}

#[test]
fn table_rows_encode_field_by_field_as_the_engine_encodes_their_values() {
    // Proves the generated `encode_row_into` writes what the engine's codec makes of
    // `to_values`, nullable columns (their null tag) included.
    let rows = [
        AgentMessage {
            id: 7,
            session_id: "s".repeat(200),
            slug: String::new(),
            owner: Identity([3; 32]),
            content: None,
            created_at: Timestamp(-5),
            priority: i64::MIN,
        },
        AgentMessage {
            id: u64::MAX,
            session_id: "é".into(),
            slug: "slug".into(),
            owner: Identity([0; 32]),
            content: Some("hello".into()),
            created_at: Timestamp(1_700_000_000_000_000),
            priority: 3,
        },
    ];
    for row in rows {
        let mut fields = Vec::new();
        row.encode_row_into(&mut fields).expect("encode");
        let values = cosmictron_types::encode_row(AgentMessage::columns(), &row.to_values())
            .expect("encode values");
        assert_eq!(fields, values, "{row:?}");
    }
}
