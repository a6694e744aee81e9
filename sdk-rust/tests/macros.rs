//! The macros on the host target: the table definitions and row conversions `#[table]`
//! generates, and that `#[reducer]` accepts the documented signatures.

use cosmictron_sdk::{
    Error, Identity, ReducerContext, Table, TableDef, Timestamp, Value, reducer, table,
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
    let expected = TableDef::new("agent_messages")
        .column("id", ScalarType::U64)
        .column("session_id", ScalarType::String)
        .column("slug", ScalarType::String)
        .column("owner", ScalarType::Identity)
        .nullable_column("content", ScalarType::String)
        .column("created_at", ScalarType::Timestamp)
        .primary_key(&["id"])
        .auto_inc("id")
        .pii("content")
        .index("agent_messages_session_id_idx", &["session_id"])
        .unique("agent_messages_slug_key", &["slug"])
        .public()
        .read_policy("owner = $identity")
        .read_policy("true")
        .write_policy("owner = $identity");
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
