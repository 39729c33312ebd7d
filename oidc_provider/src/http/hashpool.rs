//! A bounded pool for password checks (argon2id, PAM).
//!
//! `threads` dedicated threads run the checks; at most `queue` more wait. Beyond that a sign-in
//! is answered 503 with `Retry-After` at once instead of letting latency grow without bound
//! under a flood.
//!
//! Dedicated threads, not the runtime's blocking pool: an argon2id check allocates its 19 MiB
//! block on the thread that runs it, and the allocator keeps freed blocks in that thread's
//! arena. Spread over the blocking pool's many threads, the daemon's RSS grew to 264–360 MiB
//! under a sign-in load with `hash_threads = 1`; on `threads` threads it stays at about
//! `threads` blocks.

use crate::http::errors::HttpError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

type Job = Box<dyn FnOnce() + Send>;

/// The pool.
#[derive(Debug)]
pub struct HashPool {
    jobs: Mutex<mpsc::Sender<Job>>,
    in_flight: Arc<AtomicUsize>,
    limit: usize,
}

struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl HashPool {
    /// `threads` running at once, `queue` waiting. The threads end when the pool is dropped.
    pub fn new(threads: usize, queue: usize) -> HashPool {
        let threads = threads.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("hash-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while taking the next job.
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-check thread");
            }
        }
        HashPool {
            jobs: Mutex::new(tx),
            in_flight: Arc::new(AtomicUsize::new(0)),
            limit: threads + queue,
        }
    }

    /// Runs `f` on one of the pool's threads; [`HttpError::Busy`] when the queue is full.
    pub async fn run<T, F>(&self, f: F) -> Result<T, HttpError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        if self.in_flight.fetch_add(1, Ordering::SeqCst) >= self.limit {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return Err(HttpError::Busy);
        }
        let slot = Slot(self.in_flight.clone());
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A panic in `f` drops `done`: the caller gets an internal error, the thread lives on.
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            drop(slot);
            if let Ok(out) = out {
                let _ = done.send(out);
            }
        });
        let sent = match self.jobs.lock() {
            Ok(tx) => tx.send(job).is_ok(),
            Err(_) => false,
        };
        if !sent {
            return Err(HttpError::Internal(
                "password-check threads are gone".into(),
            ));
        }
        result
            .await
            .map_err(|_| HttpError::Internal("a password check failed".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_past_the_queue_is_refused_at_once() {
        let pool = Arc::new(HashPool::new(1, 1));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let mut running = Vec::new();
        for _ in 0..2 {
            let p = pool.clone();
            let rx = rx.clone();
            running.push(tokio::spawn(async move {
                p.run(move || {
                    let _ = rx.lock().map(|r| r.recv());
                })
                .await
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(matches!(pool.run(|| ()).await, Err(HttpError::Busy)));
        tx.send(()).unwrap();
        tx.send(()).unwrap();
        for r in running {
            r.await.unwrap().unwrap();
        }
        pool.run(|| ()).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checks_run_on_the_pools_own_threads_only() {
        let pool = Arc::new(HashPool::new(2, 64));
        let mut waiting = Vec::new();
        for _ in 0..40 {
            let p = pool.clone();
            waiting.push(tokio::spawn(async move {
                p.run(|| std::thread::current().name().map(str::to_owned))
                    .await
            }));
        }
        let mut names = std::collections::BTreeSet::new();
        for w in waiting {
            names.insert(w.await.unwrap().unwrap());
        }
        let names: Vec<_> = names.into_iter().collect();
        assert!(!names.is_empty() && names.len() <= 2, "ran on {names:?}");
        assert!(
            names
                .iter()
                .all(|n| n.as_deref().is_some_and(|n| n.starts_with("hash-")))
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_check_that_panics_is_an_error_and_the_pool_goes_on() {
        let pool = HashPool::new(1, 4);
        let r: Result<(), HttpError> = pool.run(|| panic!("a bug in a check")).await;
        assert!(matches!(r, Err(HttpError::Internal(_))));
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }
}
