//! Times on the command line and in tables: UTC dates, unix seconds and "ago" durations.

use crate::error::CtlError;

/// Now, in seconds and fractions since the Unix epoch (the CLI's one read of the system clock).
#[allow(
    clippy::disallowed_methods,
    reason = "the CLI's single clock read: relative times and clock-skew measurement"
)]
pub fn now_f64() -> f64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(_) => 0.0,
    }
}

/// Now, whole seconds.
pub fn now() -> i64 {
    now_f64() as i64
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub fn fmt(t: i64) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        s / 3600,
        (s % 3600) / 60,
        s % 60
    )
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a time given on the command line, relative to `now`:
/// `2026-11-20`, `2026-11-20T10:00:00Z`, `2026-11-20 10:00`, unix seconds, or `30s`/`30m`/`12h`/`7d` ago.
pub fn parse(s: &str, now: i64) -> Result<i64, CtlError> {
    let bad = || {
        CtlError::Usage(format!(
            "cannot read the time {s:?}: use 2026-11-20, 2026-11-20T10:00:00Z, unix seconds, or 30m / 12h / 7d for that long ago"
        ))
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if t.chars().all(|c| c.is_ascii_digit()) && t.len() > 4 {
        return t.parse().map_err(|_| bad());
    }
    if let Some(unit) = t.chars().last().filter(|c| "smhdw".contains(*c)) {
        let num = &t[..t.len() - 1];
        if !num.is_empty() && num.chars().all(|c| c.is_ascii_digit()) {
            let n: i64 = num.parse().map_err(|_| bad())?;
            let mult = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => 604_800,
            };
            return n
                .checked_mul(mult)
                .and_then(|x| now.checked_sub(x))
                .ok_or_else(bad);
        }
    }
    let (date, time) = match t.find(['T', ' ']) {
        Some(i) => (&t[..i], Some(t[i + 1..].trim_end_matches('Z'))),
        None => (t, None),
    };
    let dp: Vec<&str> = date.split('-').collect();
    let [y, m, d] = dp.as_slice() else {
        return Err(bad());
    };
    let num = |x: &str| x.parse::<i64>().map_err(|_| bad());
    let (y, m, d) = (num(y)?, num(m)?, num(d)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let mut secs = 0;
    if let Some(time) = time.filter(|x| !x.is_empty()) {
        let tp: Vec<&str> = time.split(':').collect();
        if tp.len() < 2 || tp.len() > 3 {
            return Err(bad());
        }
        let h = num(tp[0])?;
        let mi = num(tp[1])?;
        let se = if tp.len() == 3 { num(tp[2])? } else { 0 };
        if !(0..24).contains(&h) || !(0..60).contains(&mi) || !(0..61).contains(&se) {
            return Err(bad());
        }
        secs = h * 3600 + mi * 60 + se;
    }
    Ok(days_from_civil(y, m, d) * 86_400 + secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_round_trip() {
        let t = parse("2026-11-20T10:11:12Z", 0).unwrap();
        assert_eq!(fmt(t), "2026-11-20 10:11:12 UTC");
        assert_eq!(parse("2026-11-20", 0).unwrap() + 36_672, t);
        assert_eq!(parse("1970-01-01", 0).unwrap(), 0);
        assert_eq!(parse("2000-03-01 00:00", 0).unwrap(), 951_868_800);
    }

    #[test]
    fn relative_times_count_back_from_now() {
        assert_eq!(parse("30m", 10_000).unwrap(), 8_200);
        assert_eq!(parse("2d", 200_000).unwrap(), 27_200);
        assert_eq!(parse("1700000000", 0).unwrap(), 1_700_000_000);
    }

    #[test]
    fn nonsense_is_a_usage_error() {
        for bad in ["", "yesterday", "2026-13-01", "2026-11-20T25:00", "5x", "m"] {
            let e = parse(bad, 0).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
    }
}
