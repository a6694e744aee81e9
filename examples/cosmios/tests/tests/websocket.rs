//! A runner over the Rust client SDK against a real server: its machine goes online with
//! its WebSocket, dispatched runs are pushed to it (only its own machine's), and closing the
//! socket takes the machine offline.

use std::time::{Duration, Instant};

use cosmictron_client::Client;
use cosmios_tests::Server;
use serde_json::{Value as Json, json};

/// The next update that changes the subscriber's rows (an update with no rows for this
/// subscriber, if the server sends one, is skipped).
async fn next_change(live: &mut cosmictron_client::LiveQuery) -> cosmictron_client::LiveUpdate {
    loop {
        let update = tokio::time::timeout(Duration::from_secs(10), live.next())
            .await
            .expect("a pushed update in time")
            .expect("update");
        if !update.inserts.is_empty() || !update.deletes.is_empty() {
            return update;
        }
    }
}

async fn machine_online(s: &Server, user: &str, machine: u64) -> Json {
    let rows = s
        .sql(
            user,
            &format!("SELECT online FROM machines WHERE id = {machine}"),
        )
        .await;
    rows[0][0].clone()
}

#[tokio::test]
async fn a_runner_is_pushed_its_machines_runs_and_its_socket_sets_online() {
    // Proves: the subscription's initial rows and pushed inserts/deletes carry only the
    // runner's machine's runs (bob's run never arrives); closing the runner's only socket
    // runs `client_disconnected`, which marks the machine offline on the timeline.
    let s = Server::start().await;
    let alice = s.human("alice@example.com").await;
    let bob = s.human("bob@example.com").await;
    let m = s
        .ok(&alice, "register_machine", json!({"name": "mac-mini"}))
        .await;
    let machine = m["machine_id"].as_u64().expect("id");
    let bobs = s.ok(&bob, "register_machine", json!({"name": "vps"})).await;

    let mut runner = Client::new(&s.ws_base()).expect("client");
    runner.sign_in_anonymously().await.expect("anonymous");
    runner
        .call_in(
            "cosmios",
            "authenticate_runner",
            &json!({"api_key": m["api_key"]}),
        )
        .await
        .expect("authenticate");
    let mut live = runner
        .subscribe(
            "SELECT id, task, status FROM runs WHERE status = 'pending'",
            &[],
        )
        .await
        .expect("subscribe");
    assert!(live.rows().is_empty());
    assert_eq!(machine_online(&s, &alice, machine).await, true);

    s.ok(
        &bob,
        "dispatch_run",
        json!({"machine": bobs["machine_id"], "workspace": "/b", "task": "bob's"}),
    )
    .await;
    let run = s
        .ok(
            &alice,
            "dispatch_run",
            json!({"machine": machine, "workspace": "/a", "task": "alice's"}),
        )
        .await;
    let update = tokio::time::timeout(Duration::from_secs(10), live.next())
        .await
        .expect("a pushed update in time")
        .expect("update");
    assert_eq!(
        update.inserts,
        vec![vec![run["id"].clone(), json!("alice's"), json!("pending")]]
    );
    assert!(update.deletes.is_empty());

    // Claiming takes the run out of the pending set: a delete for the subscriber.
    runner
        .call_in("cosmios", "claim_run", &json!({"run": run["id"]}))
        .await
        .expect("claim");
    let update = next_change(&mut live).await;
    assert_eq!(update.deletes.len(), 1);
    assert!(update.inserts.is_empty());

    live.close().await.expect("close");
    let deadline = Instant::now() + Duration::from_secs(10);
    while machine_online(&s, &alice, machine).await != json!(false) {
        assert!(Instant::now() < deadline, "the machine never went offline");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let kinds = s
        .sql(
            &alice,
            "SELECT kind FROM timeline WHERE kind LIKE 'machine.%' ORDER BY id",
        )
        .await;
    assert_eq!(
        kinds,
        vec![json!(["machine.online"]), json!(["machine.offline"])]
    );
}

#[tokio::test]
async fn a_live_query_misses_no_change_across_a_server_restart() {
    // Proves: the client SDK's live query reconnects by itself when the server restarts and
    // still delivers a change committed right after the restart — by resuming, or by
    // reading the rows afresh and returning the difference as one update — and its cache
    // ends equal to the server's rows.
    let mut s = Server::start().await;
    let alice = s.human("alice@example.com").await;
    let m = s
        .ok(&alice, "register_machine", json!({"name": "mac-mini"}))
        .await;
    let dispatch =
        |task: &'static str| json!({"machine": m["machine_id"], "workspace": "/a", "task": task});
    let mut client = Client::new(&s.ws_base()).expect("client");
    client.set_token(alice.clone());
    let mut live = client
        .subscribe_in("cosmios", "SELECT id, task FROM runs", &[])
        .await
        .expect("subscribe");
    let one = s.ok(&alice, "dispatch_run", dispatch("one")).await;
    assert_eq!(
        next_change(&mut live).await.inserts,
        vec![vec![one["id"].clone(), json!("one")]]
    );

    s.restart(Duration::from_millis(300)).await;
    let two = s.ok(&alice, "dispatch_run", dispatch("two")).await;
    let update = next_change(&mut live).await;
    assert_eq!(update.inserts, vec![vec![two["id"].clone(), json!("two")]]);
    assert!(update.deletes.is_empty(), "{update:?}");
    let mut rows = live.rows().to_vec();
    rows.sort_by_key(|r| r[0].as_u64());
    assert_eq!(
        rows,
        vec![
            vec![one["id"].clone(), json!("one")],
            vec![two["id"].clone(), json!("two")]
        ]
    );
}
