//! A bounded pool for password checks (argon2id, PAM).
//!
//! At most `threads` checks run at once on blocking threads; at most `queue` more wait. Beyond
//! that a sign-in is answered 503 with `Retry-After` at once instead of letting latency grow
//! without bound under a flood.

use crate::http::errors::HttpError;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;

/// The pool.
#[derive(Debug)]
pub struct HashPool {
    sem: Arc<Semaphore>,
    in_flight: AtomicUsize,
    limit: usize,
}

struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl HashPool {
    /// `threads` running at once, `queue` waiting.
    pub fn new(threads: usize, queue: usize) -> HashPool {
        let threads = threads.max(1);
        HashPool {
            sem: Arc::new(Semaphore::new(threads)),
            in_flight: AtomicUsize::new(0),
            limit: threads + queue,
        }
    }

    /// Runs `f` on a blocking thread when a slot is free; [`HttpError::Busy`] when the queue is
    /// full.
    pub async fn run<T, F>(&self, f: F) -> Result<T, HttpError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        if self.in_flight.fetch_add(1, Ordering::SeqCst) >= self.limit {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return Err(HttpError::Busy);
        }
        let _slot = Slot(&self.in_flight);
        let permit = self
            .sem
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HttpError::Internal("hash pool closed".into()))?;
        let out = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        })
        .await?;
        Ok(out)
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
}
