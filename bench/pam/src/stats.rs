//! Percentiles (nearest rank) of latency samples, in microseconds.

use std::time::Duration;

/// Samples of one case for one module.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    /// `pam_authenticate` durations.
    pub auth: Vec<Duration>,
    /// Whole-cycle durations (`pam_start_confdir` .. `pam_end`).
    pub cycle: Vec<Duration>,
    /// Results other than the expected one.
    pub errors: usize,
    /// The codes typed (to check that none reaches the logs).
    pub typed: Vec<String>,
}

/// Nearest-rank percentile `p` (0–100) in microseconds; 0 for no samples.
pub fn pct(v: &[Duration], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1e6).collect();
    s.sort_by(f64::total_cmp);
    let k = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s[k.clamp(1, s.len()) - 1]
}

impl Samples {
    /// Median of `pam_authenticate`, µs.
    pub fn median(&self) -> f64 {
        pct(&self.auth, 50.0)
    }
    /// p99 of `pam_authenticate`, µs.
    pub fn p99(&self) -> f64 {
        pct(&self.auth, 99.0)
    }
    /// Median of the whole cycle, µs.
    pub fn cycle_median(&self) -> f64 {
        pct(&self.cycle, 50.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(pct(&v, 50.0), 50.0);
        assert_eq!(pct(&v, 99.0), 99.0);
        assert_eq!(pct(&[], 50.0), 0.0);
    }
}
