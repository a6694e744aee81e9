//! `/v1/modules`: deploy (multipart `name` + `module`), list, describe, logs.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use cosmictron_types::Identity;
use cosmictron_wasm_host::LogLine;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::app::AppState;
use crate::deploy::DeployOptions;
use crate::error::{Error, Result};
use crate::http::blocking::blocking;
use crate::http::caller::Caller;

fn multipart_error(e: axum::extract::multipart::MultipartError) -> Error {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        Error::request(
            413,
            "payload_too_large",
            "the module is larger than the upload limit",
        )
    } else {
        Error::request(400, "invalid_multipart", e.body_text())
    }
}

pub(crate) async fn deploy(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    mut form: Multipart,
) -> Result<axum::Json<Json>> {
    let core = state.core()?.clone();
    let mut name = None;
    let mut module = None;
    let mut clear_data = false;
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("name") => name = Some(field.text().await.map_err(multipart_error)?),
            Some("module") => module = Some(field.bytes().await.map_err(multipart_error)?),
            Some("clear_data") => {
                let v = field.text().await.map_err(multipart_error)?;
                clear_data = matches!(v.trim(), "true" | "1" | "yes");
            }
            _ => {}
        }
    }
    let (Some(name), Some(module)) = (name, module) else {
        return Err(Error::request(
            400,
            "invalid_multipart",
            "send multipart/form-data with a `name` field and a `module` file",
        ));
    };
    let name = name.trim().to_owned();
    let owner = caller.identity;
    let info = blocking(move || {
        let info = core
            .db
            .deploy_with(&name, &module, owner, DeployOptions { clear_data })?;
        // A cleared database is a new one: its subscription manager starts afresh.
        if clear_data {
            core.subs.forget(&name);
        }
        Ok(info)
    })
    .await?;
    Ok(axum::Json(json!({
        "name": info.name,
        "version": info.version,
        "status": "active",
        "reducers": info.reducers,
    })))
}

pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
) -> Result<axum::Json<Json>> {
    let core = state.core()?;
    let modules: Vec<Json> = core
        .db
        .modules()
        .into_iter()
        .map(|m| {
            let owner = core.db.owner(&m.name).map(|o| o.to_hex()).ok();
            json!({"name": m.name, "version": m.version, "status": "active", "owner": owner, "reducers": m.reducers})
        })
        .collect();
    Ok(axum::Json(json!({ "modules": modules })))
}

pub(crate) async fn describe(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<axum::Json<Json>> {
    let core = state.core()?;
    let info = core.db.module_info(&name)?;
    let mut out =
        serde_json::to_value(&info).map_err(|e| Error::request(500, "internal", e.to_string()))?;
    out["owner"] = json!(info.owner.to_hex());
    out["status"] = json!("active");
    Ok(axum::Json(out))
}

/// `DELETE /v1/modules/:name`: removes the module and all its data (its owner, or an admin).
pub(crate) async fn undeploy(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<axum::Json<Json>> {
    let core = state.core()?.clone();
    let owner = core.db.owner(&name)?;
    let as_identity = if caller.admin { owner } else { caller.identity };
    let module = name.clone();
    blocking(move || {
        core.db.undeploy(&module, as_identity)?;
        core.subs.forget(&module);
        Ok(())
    })
    .await?;
    state.calls.forget(&name);
    Ok(axum::Json(json!({"name": name, "status": "removed"})))
}

#[derive(Debug, Deserialize)]
pub(crate) struct LogsQuery {
    #[serde(default)]
    follow: bool,
}

fn log_json(line: &LogLine) -> Json {
    json!({
        "timestamp": line.timestamp.0,
        "level": format!("{:?}", line.level).to_lowercase(),
        "reducer": line.reducer,
        "message": line.message,
    })
}

fn ensure_owner(caller: &Caller, owner: Identity) -> Result<()> {
    if caller.admin || caller.identity == owner {
        Ok(())
    } else {
        Err(Error::request(
            403,
            "forbidden",
            "only the module's owner may read its logs",
        ))
    }
}

/// The module's log lines as JSON; with `?follow=true`, newline-delimited JSON that keeps
/// streaming new lines as they are written.
pub(crate) async fn logs(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(name): Path<String>,
    Query(q): Query<LogsQuery>,
) -> Result<Response> {
    let core = state.core()?.clone();
    ensure_owner(&caller, core.db.owner(&name)?)?;
    let lines = core.db.logs(&name)?;
    if !q.follow {
        let lines: Vec<Json> = lines.iter().map(log_json).collect();
        return Ok(axum::Json(json!({ "lines": lines })).into_response());
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<std::result::Result<String, std::io::Error>>(64);
    let mut shutdown = state.shutdown.subscribe();
    tokio::spawn(async move {
        let mut last = lines.last().map(|l| l.timestamp.0).unwrap_or(i64::MIN);
        let mut pending: Vec<LogLine> = lines;
        loop {
            for line in pending.drain(..) {
                if tx.send(Ok(format!("{}\n", log_json(&line)))).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = shutdown.changed() => return,
                _ = tx.closed() => return,
            }
            let Ok(now) = core.db.logs(&name) else { return };
            pending = now.into_iter().filter(|l| l.timestamp.0 > last).collect();
            if let Some(l) = pending.last() {
                last = l.timestamp.0;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response())
}
