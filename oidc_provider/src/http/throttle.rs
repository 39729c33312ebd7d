//! Per-source throttling of sign-in and code submissions and of the token endpoint.
//!
//! A token bucket per (source address, purpose): `per_minute` tokens, refilled continuously.
//! The source is the TCP peer, or the `X-Forwarded-For` entry added by a configured trusted
//! proxy (never a header from anyone else, R-99). The table is bounded: when it grows past its
//! limit, full buckets are dropped first.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// What is being throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Password, second-factor and enrollment submissions.
    SignIn,
    /// Token and userinfo requests.
    Token,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The throttle.
#[derive(Debug)]
pub struct Throttle {
    signin_per_minute: u32,
    token_per_minute: u32,
    buckets: Mutex<HashMap<(IpAddr, Purpose), Bucket>>,
}

const MAX_ENTRIES: usize = 100_000;

impl Throttle {
    /// A throttle with these rates.
    pub fn new(signin_per_minute: u32, token_per_minute: u32) -> Throttle {
        Throttle {
            signin_per_minute,
            token_per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `source`; `Err(seconds)` says when to retry.
    pub fn check(&self, source: IpAddr, purpose: Purpose, now: Instant) -> Result<(), u64> {
        let rate = f64::from(match purpose {
            Purpose::SignIn => self.signin_per_minute,
            Purpose::Token => self.token_per_minute,
        });
        let per_sec = rate / 60.0;
        let mut map = match self.buckets.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_sec < rate
            });
        }
        let b = map.entry((source, purpose)).or_insert(Bucket {
            tokens: rate,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * per_sec).min(rate);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / per_sec).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_source_is_refused_past_its_rate_and_recovers() {
        let t = Throttle::new(3, 100);
        let ip: IpAddr = "127.0.0.9".parse().unwrap();
        let now = Instant::now();
        for _ in 0..3 {
            t.check(ip, Purpose::SignIn, now).unwrap();
        }
        let wait = t.check(ip, Purpose::SignIn, now).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        // Another source and another purpose are not affected.
        t.check("127.0.0.10".parse().unwrap(), Purpose::SignIn, now)
            .unwrap();
        t.check(ip, Purpose::Token, now).unwrap();
        t.check(ip, Purpose::SignIn, now + Duration::from_secs(20))
            .unwrap();
    }
}
