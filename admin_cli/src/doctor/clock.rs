//! Clock skew: an SNTP query (RFC 4330) to a time source given on the command line, or the
//! system's NTP synchronisation status from `timedatectl`.
//!
//! TOTP codes change every 30 seconds and twofold accepts one step either side, so a server
//! clock off by more than about 30 seconds rejects every authenticator code.

use super::check::Check;
use crate::cli::DoctorArgs;
use std::net::{ToSocketAddrs, UdpSocket};
use std::process::Command;
use std::time::Duration;

/// Seconds between 1900-01-01 (NTP era 0) and 1970-01-01.
const NTP_UNIX_OFFSET: f64 = 2_208_988_800.0;
/// Skew that breaks codes.
const FAIL_SKEW: f64 = 30.0;
/// Skew worth correcting before it breaks codes.
const WARN_SKEW: f64 = 10.0;

/// Runs the clock check.
pub fn check(a: &DoctorArgs) -> Check {
    match &a.time_source {
        Some(src) => match sntp_offset(src, Duration::from_secs(3)) {
            Ok(off) => judge(src, off),
            Err(e) => Check::fail(
                "clock.skew",
                format!("cannot measure the clock against {src}: {e}"),
                "the time source did not answer a valid SNTP reply, so the skew is unknown",
                "check the address and that UDP to it is allowed, or use --ntp to read the system's NTP status",
            ),
        },
        None => timedatectl(a.ntp),
    }
}

fn judge(src: &str, off: f64) -> Check {
    let summary = format!(
        "this host's clock is {:.1} s {} {src}",
        off.abs(),
        if off > 0.0 { "behind" } else { "ahead of" }
    );
    let cause = "TOTP relies on the server clock matching the authenticator's: a skew of more than about 30 seconds makes every authenticator code be rejected";
    let fix = "synchronise the clock: enable NTP (`timedatectl set-ntp true`, or chrony/systemd-timesyncd) and check `timedatectl status`";
    if off.abs() >= FAIL_SKEW {
        Check::fail("clock.skew", summary, cause, fix)
    } else if off.abs() >= WARN_SKEW {
        Check::warn("clock.skew", summary, cause, fix)
    } else {
        Check::ok("clock.skew", summary)
    }
}

fn timedatectl(asked: bool) -> Check {
    let out = Command::new("timedatectl")
        .args(["show", "-p", "NTPSynchronized", "--value"])
        .output();
    let v = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        other => {
            let why = match other {
                Ok(o) => String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string(),
                Err(e) => e.to_string(),
            };
            let summary = format!(
                "cannot read the system's NTP status (timedatectl: {why}); give a time source: --time-source HOST:123"
            );
            return if asked {
                Check::warn(
                    "clock.skew",
                    summary,
                    "the clock's synchronisation is unknown; an unsynchronised clock makes authenticator codes be rejected",
                    "measure against a server: `twofoldctl doctor --time-source pool.ntp.org:123`",
                )
            } else {
                Check::skip("clock.skew", summary)
            };
        }
    };
    if v == "yes" {
        Check::ok(
            "clock.skew",
            "the system clock is synchronised by NTP (timedatectl)",
        )
    } else {
        Check::warn(
            "clock.skew",
            format!("the system clock is not synchronised (timedatectl NTPSynchronized={v})"),
            "an unsynchronised clock drifts; beyond about 30 seconds every authenticator code is rejected",
            "enable NTP: `timedatectl set-ntp true` (or install chrony), then check `timedatectl status`",
        )
    }
}

fn ntp_time(b: &[u8]) -> f64 {
    let secs = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64;
    let frac = u32::from_be_bytes([b[4], b[5], b[6], b[7]]) as f64 / 4_294_967_296.0;
    secs + frac
}

fn to_ntp(t: f64) -> [u8; 8] {
    let n = t + NTP_UNIX_OFFSET;
    let secs = n.trunc() as u64 as u32;
    let frac = (n.fract() * 4_294_967_296.0) as u64 as u32;
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&secs.to_be_bytes());
    b[4..].copy_from_slice(&frac.to_be_bytes());
    b
}

/// Queries `src` (HOST:PORT) and returns the local clock's offset in seconds (positive: the
/// source is ahead of this host).
pub fn sntp_offset(src: &str, limit: Duration) -> Result<f64, String> {
    let addr = src
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {src}: {e}"))?
        .next()
        .ok_or_else(|| format!("{src} resolves to no address"))?;
    let bind = if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let sock = UdpSocket::bind(bind).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(limit))
        .map_err(|e| e.to_string())?;
    sock.connect(addr).map_err(|e| e.to_string())?;
    let mut req = [0u8; 48];
    req[0] = 0b00_100_011; // LI 0, version 4, mode 3 (client)
    let t1 = crate::time::now_f64();
    let t1_wire = to_ntp(t1);
    req[40..48].copy_from_slice(&t1_wire);
    sock.send(&req).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 512];
    let n = sock
        .recv(&mut buf)
        .map_err(|e| format!("no answer within {} s ({e})", limit.as_secs()))?;
    let t4 = crate::time::now_f64();
    if n < 48 {
        return Err(format!("a reply of {n} bytes is too short for NTP"));
    }
    let mode = buf[0] & 0b111;
    if mode != 4 && mode != 5 {
        return Err(format!("the reply is not from a server (mode {mode})"));
    }
    if buf[1] == 0 {
        return Err("the server sent a kiss-o'-death (stratum 0): it refuses to serve".into());
    }
    if buf[24..32] != t1_wire {
        return Err("the reply does not answer this query (originate timestamp differs)".into());
    }
    let t2 = ntp_time(&buf[32..40]) - NTP_UNIX_OFFSET;
    let t3 = ntp_time(&buf[40..48]) - NTP_UNIX_OFFSET;
    Ok(((t2 - t1) + (t3 - t4)) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_timestamps_round_trip() {
        let t = 1_790_000_000.25;
        let back = ntp_time(&to_ntp(t)) - NTP_UNIX_OFFSET;
        assert!((back - t).abs() < 1e-6, "{back}");
    }

    #[test]
    fn skew_is_judged_by_the_totp_step() {
        assert_eq!(judge("x", 2.0).status, super::super::check::Status::Ok);
        assert_eq!(judge("x", -12.0).status, super::super::check::Status::Warn);
        assert_eq!(judge("x", 95.0).status, super::super::check::Status::Fail);
    }
}
