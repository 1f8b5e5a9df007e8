//! The object-store side's own small tokio runtime. `object_store` is
//! async; csvseal's jobs are synchronous, so they block on this runtime.
//! Only object-store code starts it: local writes never do.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Runtime;

/// Worker threads: HTTP I/O and per-part hashing; sealing and verifying
/// run on csvseal's own threads.
const WORKERS: usize = 2;

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("csvseal-object-io")
            .enable_all()
            .build()
            .expect("cannot start the object-store runtime")
    })
}

/// Runs `f` to completion. Call from synchronous code only (not from inside
/// a tokio runtime).
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    runtime().block_on(f)
}

/// Starts `f` on the runtime's workers.
pub(crate) fn spawn<F>(f: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime().spawn(f)
}
