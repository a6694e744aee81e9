//! The `cosmictron` binary: see `cosmictron --help`.

/// mimalloc instead of glibc malloc: the server allocates small, short-lived buffers per
/// request on many threads, where glibc's arenas cost ~12% of the CPU (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match cosmictron::cli::main().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
