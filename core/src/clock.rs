//! Time and randomness are passed in: nothing in `core` reads the system clock or the OS RNG
//! except [`SystemClock`] and [`OsRng`], which the binaries hand to the engine.

use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch.
pub type UnixTime = i64;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Now, in seconds since the Unix epoch.
    fn now(&self) -> UnixTime;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the one place that reads the system clock"
    )]
    fn now(&self) -> UnixTime {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            // A clock before 1970 is broken; report 0 so TOTP fails closed rather than panicking.
            Err(_) => 0,
        }
    }
}

/// A clock tests can set and advance.
#[derive(Debug, Default)]
pub struct FakeClock(AtomicI64);

impl FakeClock {
    /// A clock stopped at `t`.
    pub fn at(t: UnixTime) -> FakeClock {
        FakeClock(AtomicI64::new(t))
    }
    /// Sets the time.
    pub fn set(&self, t: UnixTime) {
        self.0.store(t, Ordering::SeqCst);
    }
    /// Moves the time forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

/// A source of randomness for secrets, codes and ids.
pub trait Rng: Send + Sync {
    /// Fills `buf` with unpredictable bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's RNG (`getrandom`).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRng;

impl Rng for OsRng {
    fn fill(&self, buf: &mut [u8]) {
        if getrandom::fill(buf).is_err() {
            // getrandom(2) does not fail on Linux ≥ 3.17 once seeded; if it ever does, abort the
            // request rather than hand out predictable secrets.
            std::process::abort();
        }
    }
}

/// Random bytes as an array.
pub fn random_bytes<const N: usize>(rng: &dyn Rng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill(&mut b);
    b
}

/// A random identifier: 128 bits, lowercase hex.
pub fn random_id(rng: &dyn Rng) -> String {
    let b: [u8; 16] = random_bytes(rng);
    b.iter().map(|x| format!("{x:02x}")).collect()
}
