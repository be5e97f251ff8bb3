//! The thread uploads run on. The queue's scheduler (and with it every part, CRC and retry) runs
//! on a current-thread tokio runtime of its own rather than on Tauri's multi-thread one: the
//! same upload then costs less CPU (in the CLI, which runs the same queue: ~10% less CPU per GiB
//! and 60% fewer context switches than on a multi-thread runtime; bench/RESULTS.md), because no
//! idle worker is woken to steal a task that one thread finishes anyway. One thread is plenty:
//! the engine needs well under one CPU-second per GiB, the network is the limit. Reads of files
//! and photo preparation stay on blocking threads.

use std::sync::OnceLock;
use tokio::runtime::Handle;

/// The engine's runtime, started on first use; `None` if its thread could not be started (then
/// uploads run on Tauri's runtime, as they would without this).
pub(crate) fn engine() -> Option<&'static Handle> {
    static ENGINE: OnceLock<Option<Handle>> = OnceLock::new();
    ENGINE.get_or_init(start).as_ref()
}

fn start() -> Option<Handle> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("oss-direct-upload")
        .build()
        .map_err(|e| tracing::warn!(error = %e, "no upload thread; uploads share Tauri's runtime"))
        .ok()?;
    let handle = runtime.handle().clone();
    std::thread::Builder::new()
        .name("oss-direct-upload".into())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))
        .map_err(|e| tracing::warn!(error = %e, "no upload thread; uploads share Tauri's runtime"))
        .ok()?;
    Some(handle)
}

/// Spawns `task` on the engine's thread (or Tauri's runtime without one).
pub(crate) fn spawn<F>(task: F) -> tauri::async_runtime::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    match engine() {
        Some(h) => tauri::async_runtime::JoinHandle::Tokio(h.spawn(task)),
        None => tauri::async_runtime::spawn(task),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_run_on_the_engine_thread_not_the_callers() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let names = rt.block_on(async {
            let here = std::thread::current().name().map(String::from);
            let there = spawn(async { std::thread::current().name().map(String::from) })
                .await
                .unwrap();
            // A task the engine spawns from inside stays on the engine's thread.
            let inner = spawn(async {
                tokio::spawn(async { std::thread::current().name().map(String::from) })
                    .await
                    .unwrap()
            })
            .await
            .unwrap();
            (here, there, inner)
        });
        assert_ne!(names.0.as_deref(), Some("oss-direct-upload"));
        assert_eq!(names.1.as_deref(), Some("oss-direct-upload"));
        assert_eq!(names.2.as_deref(), Some("oss-direct-upload"));
    }
}
