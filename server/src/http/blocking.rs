//! Runs engine work (commits wait for fsync, modules compile) on the blocking pool, so the
//! async workers keep serving while it waits.

use crate::error::{Error, Result};

pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::request(500, "internal", format!("worker task failed: {e}")))?
}
