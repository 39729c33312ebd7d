//! Dedicated threads that run blocking jobs for async callers, in arrival order.
//!
//! Used where the runtime's blocking pool does the wrong thing: password checks (each argon2id
//! check allocates 19 MiB on the thread that runs it, and the allocator keeps that block in the
//! thread's arena, so spreading checks over the pool's many threads grows RSS by a block per
//! thread) and SQLite writes that wait for a disk flush (one warm thread instead of a pool
//! thread per call). A job that panics is an error for its caller; the thread goes on.

use crate::http::errors::HttpError;
use std::sync::{Arc, Mutex, mpsc};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads taking jobs from one queue. The threads end when this is dropped.
#[derive(Debug)]
pub struct Workers {
    jobs: mpsc::Sender<Job>,
}

impl Workers {
    /// Starts `threads` (at least one) threads named `name-N`.
    pub fn start(name: &str, threads: usize) -> std::io::Result<Workers> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
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
                })?;
        }
        Ok(Workers { jobs })
    }

    /// Runs `f` on one of the threads and waits for its result.
    pub async fn run<T, F>(&self, f: F) -> Result<T, HttpError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = reply.send(out);
        });
        self.jobs
            .send(job)
            .map_err(|_| HttpError::Internal("the worker threads have stopped".into()))?;
        match answer.await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(HttpError::Internal("a blocking job panicked".into())),
            Err(_) => Err(HttpError::Internal(
                "the worker threads have stopped".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_run_on_the_workers_own_threads_only() {
        let w = Arc::new(Workers::start("test", 2).unwrap());
        let mut waiting = Vec::new();
        for _ in 0..40 {
            let w = w.clone();
            waiting.push(tokio::spawn(async move {
                w.run(|| std::thread::current().name().map(str::to_owned))
                    .await
            }));
        }
        let mut names = std::collections::BTreeSet::new();
        for j in waiting {
            names.insert(j.await.unwrap().unwrap());
        }
        let names: Vec<_> = names.into_iter().collect();
        assert!(!names.is_empty() && names.len() <= 2, "ran on {names:?}");
        assert!(
            names
                .iter()
                .all(|n| n.as_deref().is_some_and(|n| n.starts_with("test-")))
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_that_panics_is_an_error_and_the_thread_goes_on() {
        let w = Workers::start("test", 1).unwrap();
        let r: Result<(), HttpError> = w.run(|| panic!("a bug in a job")).await;
        assert!(matches!(r, Err(HttpError::Internal(_))));
        assert_eq!(w.run(|| 7).await.unwrap(), 7);
    }
}
