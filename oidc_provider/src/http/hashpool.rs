//! A bounded pool for password checks (argon2id, PAM).
//!
//! `threads` dedicated threads run the checks; at most `queue` more wait. Beyond that a sign-in
//! is answered 503 with `Retry-After` at once instead of letting latency grow without bound
//! under a flood.
//!
//! The threads are [`Workers`], not the runtime's blocking pool: spread over the pool's many
//! threads, argon2id's 19 MiB blocks grew the daemon's RSS to 264–360 MiB under a sign-in load
//! with `hash_threads = 1`; on `threads` threads it stays at about `threads` blocks.

use crate::http::errors::HttpError;
use crate::http::workers::Workers;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The pool.
#[derive(Debug)]
pub struct HashPool {
    workers: Workers,
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
    pub fn new(threads: usize, queue: usize) -> std::io::Result<HashPool> {
        let threads = threads.max(1);
        Ok(HashPool {
            workers: Workers::start("hash", threads)?,
            in_flight: Arc::new(AtomicUsize::new(0)),
            limit: threads + queue,
        })
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
        // Counted until the check has run, even if the caller stops waiting.
        let slot = Slot(self.in_flight.clone());
        self.workers
            .run(move || {
                let _slot = slot;
                f()
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_past_the_queue_is_refused_at_once() {
        let pool = Arc::new(HashPool::new(1, 1).unwrap());
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
}
