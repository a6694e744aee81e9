//! [`run`]: serve the HTTP + WebSocket API on a listener until `shutdown` resolves.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use cosmictron_sql::SqlEngine;
use tokio::net::TcpListener;

use crate::app::{AppState, Core};
use crate::auth::Auth;
use crate::config::ServerConfig;
use crate::error::{Error, Result};
use crate::facade::{Cosmictron, CosmictronConfig};

/// Opens the data directory (recovering every database and module) and the account store.
async fn open_core(config: &ServerConfig) -> Result<Core> {
    let dir = config.data_dir.clone();
    let db =
        tokio::task::spawn_blocking(move || Cosmictron::open(&dir, CosmictronConfig::default()))
            .await
            .map_err(|e| Error::request(500, "internal", e.to_string()))??;
    let auth = Auth::open(config).await?;
    if let Some(owner) = auth.admin() {
        for module in &config.deploy_on_start {
            let wasm =
                std::fs::read(&module.path).map_err(|e| Error::io("read", &module.path, e))?;
            let info = db.deploy(&module.name, &wasm, owner)?;
            tracing::info!(module = %info.name, version = %info.version, "deployed at start");
        }
    }
    db.expose(&config.expose)?;
    let sql_config = cosmictron_sql::SqlConfig {
        rows_max: config.sql_max_rows,
        ..cosmictron_sql::SqlConfig::default()
    };
    Ok(Core {
        db,
        auth,
        sql: Arc::new(SqlEngine::new(sql_config)),
        subs: crate::ws::SubscriptionHub::default(),
    })
}

/// Serves on `listener` until `shutdown` resolves, then stops accepting, lets in-flight
/// requests finish, closes WebSockets (code 1001) and flushes every database.
///
/// The listener answers at once: `/health` is 200 and `/ready` 503 `not_ready` while the data
/// directory recovers; the API answers 503 until then.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    config.validate()?;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| Error::io("create directory", &config.data_dir, e))?;
    let state = Arc::new(AppState::new(config));
    let recovering = state.clone();
    tokio::spawn(async move {
        match open_core(&recovering.config).await {
            Ok(core) => {
                tracing::info!(modules = core.db.modules().len(), "ready");
                recovering.set_core(core);
            }
            // Colliding exposed routes are a configuration mistake: refuse to serve.
            Err(e @ Error::RouteConflict(_)) => {
                tracing::error!(error = %e, "refusing to start");
                let _ = recovering.failure.set(e.to_string());
                let _ = recovering.start_refused.set(e.to_string());
                let _ = recovering.shutdown.send(true);
            }
            Err(e) => {
                tracing::error!(error = %e, "recovery failed");
                let _ = recovering.failure.set(e.to_string());
            }
        }
    });
    let app = crate::http::router(state.clone());
    let stopping = state.clone();
    let mut refused = state.shutdown.subscribe();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        tokio::select! {
            () = shutdown => tracing::info!("shutting down"),
            // The server stopped itself (routes that cannot be served).
            _ = refused.wait_for(|stop| *stop) => {}
        }
        let _ = stopping.shutdown.send(true);
    })
    .await
    .map_err(|e| Error::io("serve", std::path::Path::new("listener"), e))?;
    if let Ok(core) = state.core() {
        core.db.flush()?;
    }
    match state.start_refused.get() {
        Some(reason) => Err(Error::InvalidConfig(reason.clone())),
        None => Ok(()),
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
