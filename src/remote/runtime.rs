//! The backend's background runtime: HTTP requests run on its worker threads
//! while the Postgres thread converts rows, so the next page is already on its
//! way when the current one is consumed.
//!
//! Worker threads block every signal, so Postgres' handlers (statement
//! timeout, cancel, terminate) always run on the backend's own thread, and
//! they never call into Postgres.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

fn block_all_signals() {
    // SAFETY: plain libc calls on a local, initialised signal set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

pub fn runtime() -> std::io::Result<&'static Runtime> {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4)
        .thread_name("clerk_fdw-io")
        .on_thread_start(block_all_signals)
        .enable_all()
        .build()?;
    Ok(RUNTIME.get_or_init(|| rt))
}

fn abort_signal() -> &'static watch::Sender<u64> {
    static ABORT: OnceLock<watch::Sender<u64>> = OnceLock::new();
    ABORT.get_or_init(|| watch::channel(0).0)
}

/// Stops every task started with [`spawn_abortable`]. Called when a
/// transaction aborts: Postgres then never calls the scan's end callback, so
/// its producer would otherwise keep running.
pub fn abort_all() {
    abort_signal().send_modify(|generation| *generation += 1);
}

pub fn spawn_abortable<F>(rt: &Runtime, task: F) -> JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let mut aborted = abort_signal().subscribe();
    rt.spawn(async move {
        tokio::select! {
            _ = task => {}
            _ = aborted.changed() => {}
        }
    })
}

/// How often a waiting backend gets control back (to check for cancel).
pub const POLL: Duration = Duration::from_millis(50);

/// Aborts the task when the waiter goes away (an ERROR unwinding through it).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `task` on the background runtime and waits for its result, calling
/// `on_wait` about every 50 ms (the FDW checks for query cancel there).
/// `None` when the task was stopped by [`abort_all`].
pub fn wait_for<T, F>(task: F, on_wait: &mut dyn FnMut()) -> std::io::Result<Option<T>>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let rt = runtime()?;
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    let _guard = AbortOnDrop(spawn_abortable(rt, async move {
        let _ = tx.send(task.await);
    }));
    loop {
        match rt.block_on(async { tokio::time::timeout(POLL, &mut rx).await }) {
            Ok(Ok(value)) => return Ok(Some(value)),
            Ok(Err(_)) => return Ok(None),
            Err(_) => on_wait(),
        }
    }
}
