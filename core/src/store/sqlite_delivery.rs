//! SQLite implementation of [`DeliveryStore`]: integrations, the leased outbox, attempts, log
//! and counts (tables of `migrations/sqlite/0002_delivery.sql`).
//!
//! Claims and attempt results run in `BEGIN IMMEDIATE` transactions, so two workers (threads or
//! daemon processes on one file) never claim the same row, and a result is committed before the
//! worker claims again.

use super::delivery::{
    AttemptOutcome, AttemptRecord, Channel, ClaimedMessage, DailyCount, DeliveryFilter,
    DeliveryLogEntry, DeliveryState, DeliveryStore, Health, IntegrationHealth, IntegrationKind,
    IntegrationRecord, NewMessage, NextStep, Purpose, mask_destination, utc_day,
};
use super::sqlite::SqliteStore;
use crate::clock::UnixTime;
use crate::error::{Error, Result};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

fn bad(what: &str, v: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unknown {what} {v:?} in the database").into(),
    )
}

fn u32_of(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

const INTEGRATION_COLUMNS: &str = "name, kind, config, credentials, created_at, updated_at, \
     health, health_reason, health_updated_at, last_success_at, last_failure_at, \
     consecutive_failures, throttled_until";

fn integration_from_row(r: &Row<'_>) -> rusqlite::Result<IntegrationRecord> {
    let kind: String = r.get(1)?;
    let config: String = r.get(2)?;
    let health: String = r.get(6)?;
    Ok(IntegrationRecord {
        name: r.get(0)?,
        kind: IntegrationKind::parse(&kind).ok_or_else(|| bad("integration kind", &kind))?,
        config: serde_json::from_str(&config).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, e.into())
        })?,
        credentials: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
        health: IntegrationHealth {
            state: Health::parse(&health).ok_or_else(|| bad("health", &health))?,
            reason: r.get(7)?,
            updated_at: r.get(8)?,
            last_success_at: r.get(9)?,
            last_failure_at: r.get(10)?,
            consecutive_failures: u32_of(r.get(11)?),
            throttled_until: r.get(12)?,
        },
    })
}

const LOG_COLUMNS: &str = "id, user_name, channel, integration, purpose, destination, queued_at, \
     state, attempts, next_attempt_at, finished_at, throttled, last_error, provider_id";

fn log_from_row(r: &Row<'_>) -> rusqlite::Result<DeliveryLogEntry> {
    let channel: String = r.get(2)?;
    let purpose: String = r.get(4)?;
    let destination: String = r.get(5)?;
    let state: String = r.get(7)?;
    let state = DeliveryState::parse(&state).ok_or_else(|| bad("delivery state", &state))?;
    let next: i64 = r.get(9)?;
    Ok(DeliveryLogEntry {
        id: r.get(0)?,
        user: r.get(1)?,
        channel: Channel::parse(&channel).ok_or_else(|| bad("channel", &channel))?,
        integration: r.get(3)?,
        purpose: Purpose::parse(&purpose).ok_or_else(|| bad("purpose", &purpose))?,
        destination: mask_destination(&destination),
        queued_at: r.get(6)?,
        state,
        attempts: u32_of(r.get(8)?),
        next_attempt_at: (!state.is_final()).then_some(next),
        finished_at: r.get(10)?,
        throttled: r.get::<_, i64>(11)? != 0,
        last_error: r.get(12)?,
        provider_id: r.get(13)?,
    })
}

impl SqliteStore {
    fn map<T>(&self, r: rusqlite::Result<T>) -> Result<T> {
        r.map_err(|e| self.err(e))
    }
}

impl DeliveryStore for SqliteStore {
    fn put_integration(&self, r: &IntegrationRecord) -> Result<()> {
        let config = serde_json::to_string(&r.config)
            .map_err(|e| Error::Invalid(format!("integration settings: {e}")))?;
        let conn = self.conn();
        self.map(conn.execute(
            "INSERT INTO integrations (name, kind, config, credentials, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, config = excluded.config,
                 credentials = excluded.credentials, updated_at = excluded.updated_at",
            params![
                r.name,
                r.kind.as_str(),
                config,
                r.credentials,
                r.created_at,
                r.updated_at
            ],
        ))?;
        Ok(())
    }

    fn get_integration(&self, name: &str) -> Result<Option<IntegrationRecord>> {
        let conn = self.conn();
        self.map(
            conn.query_row(
                &format!("SELECT {INTEGRATION_COLUMNS} FROM integrations WHERE name = ?1"),
                [name],
                integration_from_row,
            )
            .optional(),
        )
    }

    fn list_integrations(&self) -> Result<Vec<IntegrationRecord>> {
        let conn = self.conn();
        let mut st = self.map(conn.prepare(&format!(
            "SELECT {INTEGRATION_COLUMNS} FROM integrations ORDER BY name"
        )))?;
        let rows = self.map(st.query_map([], integration_from_row))?;
        self.map(rows.collect())
    }

    fn delete_integration(&self, name: &str) -> Result<bool> {
        let conn = self.conn();
        let n = self.map(conn.execute("DELETE FROM integrations WHERE name = ?1", [name]))?;
        Ok(n > 0)
    }

    fn set_integration_health(&self, name: &str, h: &IntegrationHealth) -> Result<()> {
        let conn = self.conn();
        let n = self.map(conn.execute(
            "UPDATE integrations SET health = ?2, health_reason = ?3, health_updated_at = ?4,
                 last_success_at = ?5, last_failure_at = ?6, consecutive_failures = ?7,
                 throttled_until = ?8
             WHERE name = ?1",
            params![
                name,
                h.state.as_str(),
                h.reason,
                h.updated_at,
                h.last_success_at,
                h.last_failure_at,
                i64::from(h.consecutive_failures),
                h.throttled_until
            ],
        ))?;
        if n == 0 {
            return Err(Error::NotFound(format!("no integration named {name:?}")));
        }
        Ok(())
    }

    fn enqueue(&self, m: &NewMessage) -> Result<i64> {
        let conn = self.conn();
        self.map(conn.query_row(
            "INSERT INTO outbox (user_name, channel, integration, purpose, destination, body,
                 state, queued_at, expires_at, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?8, ?7)
             RETURNING id",
            params![
                m.user,
                m.channel.as_str(),
                m.integration,
                m.purpose.as_str(),
                m.destination,
                m.sealed_body,
                m.queued_at,
                m.expires_at
            ],
            |r| r.get(0),
        ))
    }

    fn claim_due(
        &self,
        owner: &str,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> Result<Vec<ClaimedMessage>> {
        let conn = self.conn();
        // Cheap read first: an idle worker polls, and should not take the write lock for nothing.
        // Rows of an integration that is throttled are left alone until the throttle ends.
        let due: bool = self.map(conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox o
                 WHERE (o.state IN ('queued', 'sending') AND o.expires_at <= ?1
                        AND (o.state = 'queued' OR o.lease_until <= ?1))
                    OR (((o.state = 'queued' AND o.next_attempt_at <= ?1)
                         OR (o.state = 'sending' AND o.lease_until <= ?1))
                        AND NOT EXISTS (SELECT 1 FROM integrations i
                                        WHERE i.name = o.integration
                                          AND i.throttled_until > ?1)))",
            [now],
            |r| r.get(0),
        ))?;
        if !due {
            return Ok(Vec::new());
        }
        drop(conn);
        let (_turn, mut conn) = self.write_conn();
        let tx = self.map(conn.transaction_with_behavior(TransactionBehavior::Immediate))?;
        self.map(tx.execute(
            "UPDATE outbox SET state = 'expired', body = NULL, finished_at = ?1,
                 lease_owner = NULL, lease_until = NULL,
                 last_error = coalesce(last_error || '; ', '') ||
                     'the code expired before it could be sent'
             WHERE state IN ('queued', 'sending') AND expires_at <= ?1
               AND (state = 'queued' OR lease_until <= ?1)",
            [now],
        ))?;
        let claimed = {
            let mut st = self.map(tx.prepare(
                "UPDATE outbox SET state = 'sending', lease_owner = ?1, lease_until = ?2,
                     attempts = attempts + 1
                 WHERE id IN (
                     SELECT id FROM outbox o
                     WHERE ((o.state = 'queued' AND o.next_attempt_at <= ?3)
                            OR (o.state = 'sending' AND o.lease_until <= ?3))
                       AND NOT EXISTS (SELECT 1 FROM integrations i
                                       WHERE i.name = o.integration AND i.throttled_until > ?3)
                     ORDER BY o.next_attempt_at, o.id LIMIT ?4)
                 RETURNING id, user_name, channel, integration, destination, body, purpose,
                     attempts, queued_at, expires_at",
            ))?;
            let rows = self.map(st.query_map(
                params![owner, lease_until, now, i64::from(limit)],
                |r| {
                    let channel: String = r.get(2)?;
                    let purpose: String = r.get(6)?;
                    Ok(ClaimedMessage {
                        id: r.get(0)?,
                        user: r.get(1)?,
                        channel: Channel::parse(&channel)
                            .ok_or_else(|| bad("channel", &channel))?,
                        integration: r.get(3)?,
                        destination: r.get(4)?,
                        sealed_body: r.get::<_, Option<Vec<u8>>>(5)?.unwrap_or_default(),
                        purpose: Purpose::parse(&purpose)
                            .ok_or_else(|| bad("purpose", &purpose))?,
                        attempt: u32_of(r.get(7)?),
                        queued_at: r.get(8)?,
                        expires_at: r.get(9)?,
                        lease_until,
                    })
                },
            ))?;
            let mut v: Vec<ClaimedMessage> = self.map(rows.collect())?;
            v.sort_by_key(|m| m.id);
            v
        };
        self.map(tx.commit())?;
        Ok(claimed)
    }

    fn finish_attempt(
        &self,
        id: i64,
        owner: &str,
        rec: &AttemptRecord,
        next: &NextStep,
    ) -> Result<bool> {
        let (_turn, mut conn) = self.write_conn();
        let tx = self.map(conn.transaction_with_behavior(TransactionBehavior::Immediate))?;
        self.map(tx.execute(
            "INSERT OR REPLACE INTO delivery_attempts
                 (outbox_id, attempt, started_at, finished_at, outcome, status, error, provider_id)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS (SELECT 1 FROM outbox WHERE id = ?1)",
            params![
                id,
                i64::from(rec.attempt.max(1)),
                rec.started_at,
                rec.finished_at,
                rec.outcome.as_str(),
                rec.status,
                rec.error,
                rec.provider_id
            ],
        ))?;
        let throttled = i64::from(rec.outcome == AttemptOutcome::Throttled);
        let changed = match next {
            NextStep::Done => self.map(tx.execute(
                "UPDATE outbox SET state = 'sent', body = NULL, finished_at = ?2,
                     lease_owner = NULL, lease_until = NULL, provider_id = ?3,
                     throttled = max(throttled, ?4)
                 WHERE id = ?1 AND state <> 'sent'",
                params![id, rec.finished_at, rec.provider_id, throttled],
            ))?,
            NextStep::RetryAt(at) => self.map(tx.execute(
                "UPDATE outbox SET state = 'queued', next_attempt_at = ?3,
                     lease_owner = NULL, lease_until = NULL, last_error = ?4,
                     throttled = max(throttled, ?5)
                 WHERE id = ?1 AND state = 'sending' AND lease_owner = ?2",
                params![id, owner, at, rec.error, throttled],
            ))?,
            NextStep::GiveUp(reason) => self.map(tx.execute(
                "UPDATE outbox SET state = 'failed', body = NULL, finished_at = ?3,
                     lease_owner = NULL, lease_until = NULL, last_error = ?4,
                     throttled = max(throttled, ?5)
                 WHERE id = ?1 AND state = 'sending' AND lease_owner = ?2",
                params![id, owner, rec.finished_at, reason, throttled],
            ))?,
        };
        self.map(tx.commit())?;
        Ok(changed > 0)
    }

    fn next_due(&self) -> Result<Option<UnixTime>> {
        let conn = self.conn();
        self.map(conn.query_row(
            "SELECT min(CASE WHEN state = 'queued' THEN min(next_attempt_at, expires_at)
                             ELSE lease_until END)
             FROM outbox WHERE state IN ('queued', 'sending')",
            [],
            |r| r.get(0),
        ))
    }

    fn delivery_log(&self, f: &DeliveryFilter) -> Result<Vec<DeliveryLogEntry>> {
        let mut sql = format!("SELECT {LOG_COLUMNS} FROM outbox WHERE 1 = 1");
        let mut args: Vec<Value> = Vec::new();
        let mut push = |clause: &str, v: Value| {
            args.push(v);
            sql.push_str(&format!(" AND {clause} ?{}", args.len()));
        };
        if let Some(u) = &f.user {
            push("user_name =", Value::Text(u.clone()));
        }
        if let Some(c) = f.channel {
            push("channel =", Value::Text(c.as_str().into()));
        }
        if let Some(i) = &f.integration {
            push("integration =", Value::Text(i.clone()));
        }
        if let Some(s) = f.state {
            push("state =", Value::Text(s.as_str().into()));
        }
        if f.throttled_only {
            push("throttled =", Value::Integer(1));
        }
        if let Some(t) = f.since {
            push("queued_at >=", Value::Integer(t));
        }
        if let Some(t) = f.until {
            push("queued_at <=", Value::Integer(t));
        }
        let limit = if f.limit == 0 { 100 } else { f.limit };
        sql.push_str(&format!(" ORDER BY queued_at DESC, id DESC LIMIT {limit}"));
        let conn = self.conn();
        let mut st = self.map(conn.prepare(&sql))?;
        let rows = self.map(st.query_map(rusqlite::params_from_iter(args), log_from_row))?;
        self.map(rows.collect())
    }

    fn delivery_entry(&self, id: i64) -> Result<Option<DeliveryLogEntry>> {
        let conn = self.conn();
        self.map(
            conn.query_row(
                &format!("SELECT {LOG_COLUMNS} FROM outbox WHERE id = ?1"),
                [id],
                log_from_row,
            )
            .optional(),
        )
    }

    fn delivery_attempts(&self, id: i64) -> Result<Vec<AttemptRecord>> {
        let conn = self.conn();
        let mut st = self.map(conn.prepare(
            "SELECT attempt, started_at, finished_at, outcome, status, error, provider_id
             FROM delivery_attempts WHERE outbox_id = ?1 ORDER BY attempt",
        ))?;
        let rows = self.map(st.query_map([id], |r| {
            let outcome: String = r.get(3)?;
            Ok(AttemptRecord {
                attempt: u32_of(r.get(0)?),
                started_at: r.get(1)?,
                finished_at: r.get(2)?,
                outcome: AttemptOutcome::parse(&outcome)
                    .ok_or_else(|| bad("attempt outcome", &outcome))?,
                status: r.get(4)?,
                error: r.get(5)?,
                provider_id: r.get(6)?,
            })
        }))?;
        self.map(rows.collect())
    }

    fn daily_counts(
        &self,
        since: UnixTime,
        until: UnixTime,
        integration: Option<&str>,
    ) -> Result<Vec<DailyCount>> {
        let conn = self.conn();
        let mut st = self.map(conn.prepare(
            "SELECT o.queued_at / 86400 AS day, o.integration, o.channel,
                    count(*),
                    sum(o.state = 'sent'),
                    sum(o.state IN ('failed', 'expired')),
                    coalesce(sum((SELECT count(*) FROM delivery_attempts a WHERE a.outbox_id = o.id)), 0),
                    coalesce(sum((SELECT count(*) FROM delivery_attempts a
                                  WHERE a.outbox_id = o.id AND a.outcome = 'throttled')), 0)
             FROM outbox o
             WHERE o.queued_at >= ?1 AND o.queued_at < ?2 AND (?3 IS NULL OR o.integration = ?3)
             GROUP BY day, o.integration, o.channel
             ORDER BY day DESC, o.integration, o.channel",
        ))?;
        let rows = self.map(st.query_map(params![since, until, integration], |r| {
            let day: i64 = r.get(0)?;
            let channel: String = r.get(2)?;
            Ok(DailyCount {
                day: utc_day(day * 86_400),
                integration: r.get(1)?,
                channel: Channel::parse(&channel).ok_or_else(|| bad("channel", &channel))?,
                queued: u32_of(r.get(3)?),
                sent: u32_of(r.get(4)?),
                failed: u32_of(r.get(5)?),
                attempts: u32_of(r.get(6)?),
                throttled: u32_of(r.get(7)?),
            })
        }))?;
        self.map(rows.collect())
    }

    fn purge_delivery_log(&self, before: UnixTime) -> Result<u32> {
        let conn = self.conn();
        let n = self.map(conn.execute(
            "DELETE FROM outbox WHERE queued_at < ?1 AND state IN ('sent', 'failed', 'expired')",
            [before],
        ))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        (dir, s)
    }

    fn msg(user: &str, at: UnixTime) -> NewMessage {
        NewMessage {
            user: user.into(),
            channel: Channel::Sms,
            integration: "tw".into(),
            destination: "+14155550123".into(),
            sealed_body: vec![1, 2, 3],
            purpose: Purpose::Code,
            queued_at: at,
            expires_at: at + 300,
        }
    }

    fn rec(attempt: u32, outcome: AttemptOutcome, at: UnixTime) -> AttemptRecord {
        AttemptRecord {
            attempt,
            started_at: at,
            finished_at: at,
            outcome,
            status: Some("500".into()),
            error: Some("server error".into()),
            provider_id: None,
        }
    }

    #[test]
    fn a_claimed_row_is_not_claimed_again_until_its_lease_expires() {
        let (_d, s) = store();
        let id = s.enqueue(&msg("alice", 100)).unwrap();
        let a = s.claim_due("a", 100, 130, 10).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].id, a[0].attempt), (id, 1));
        assert_eq!(a[0].sealed_body, vec![1, 2, 3]);
        assert!(s.claim_due("b", 120, 150, 10).unwrap().is_empty());
        // Worker a died: b takes over after the lease; the attempt count goes on.
        let b = s.claim_due("b", 130, 160, 10).unwrap();
        assert_eq!((b[0].id, b[0].attempt), (id, 2));
        // a's late result for a retry no longer applies; b's sent result does.
        let stale = s
            .finish_attempt(
                id,
                "a",
                &rec(1, AttemptOutcome::Transient, 131),
                &NextStep::RetryAt(140),
            )
            .unwrap();
        assert!(!stale);
        let mut ok = rec(2, AttemptOutcome::Sent, 132);
        ok.provider_id = Some("SM1".into());
        assert!(s.finish_attempt(id, "b", &ok, &NextStep::Done).unwrap());
        let e = s.delivery_entry(id).unwrap().unwrap();
        assert_eq!(e.state, DeliveryState::Sent);
        assert_eq!(e.attempts, 2);
        assert_eq!(e.provider_id.as_deref(), Some("SM1"));
        assert_eq!(e.destination, "+1 *** *** 0123");
        assert_eq!(s.delivery_attempts(id).unwrap().len(), 2);
        assert!(s.claim_due("c", 1000, 1030, 10).unwrap().is_empty());
        let body: Option<Vec<u8>> = s
            .conn()
            .query_row("SELECT body FROM outbox WHERE id = ?1", [id], |r| r.get(0))
            .unwrap();
        assert_eq!(body, None, "a final row keeps no body");
    }

    #[test]
    fn a_retry_waits_for_its_time_and_a_give_up_is_final() {
        let (_d, s) = store();
        let id = s.enqueue(&msg("bob", 100)).unwrap();
        s.claim_due("w", 100, 130, 10).unwrap();
        s.finish_attempt(
            id,
            "w",
            &rec(1, AttemptOutcome::Throttled, 101),
            &NextStep::RetryAt(110),
        )
        .unwrap();
        assert_eq!(s.next_due().unwrap(), Some(110));
        assert!(s.claim_due("w", 109, 140, 10).unwrap().is_empty());
        let again = s.claim_due("w", 110, 140, 10).unwrap();
        assert_eq!(again[0].attempt, 2);
        s.finish_attempt(
            id,
            "w",
            &rec(2, AttemptOutcome::Permanent, 111),
            &NextStep::GiveUp("refused".into()),
        )
        .unwrap();
        let e = s.delivery_entry(id).unwrap().unwrap();
        assert_eq!(e.state, DeliveryState::Failed);
        assert!(e.throttled);
        assert_eq!(e.last_error.as_deref(), Some("refused"));
        let log = s
            .delivery_log(&DeliveryFilter {
                throttled_only: true,
                user: Some("bob".into()),
                ..DeliveryFilter::default()
            })
            .unwrap();
        assert_eq!(log.len(), 1);
    }

    #[test]
    fn an_unsent_code_expires_with_its_reason() {
        let (_d, s) = store();
        let id = s.enqueue(&msg("carol", 100)).unwrap();
        assert!(s.claim_due("w", 400, 430, 10).unwrap().is_empty());
        let e = s.delivery_entry(id).unwrap().unwrap();
        assert_eq!(e.state, DeliveryState::Expired);
        assert!(e.last_error.unwrap().contains("expired"));
    }

    #[test]
    fn counts_are_per_integration_and_day() {
        let (_d, s) = store();
        let day = 20_000 * 86_400;
        for i in 0..3 {
            let id = s.enqueue(&msg("u", day + i)).unwrap();
            s.claim_due("w", day + i, day + i + 30, 10).unwrap();
            s.finish_attempt(
                id,
                "w",
                &rec(1, AttemptOutcome::Sent, day + i),
                &NextStep::Done,
            )
            .unwrap();
        }
        s.enqueue(&msg("u", day + 86_400)).unwrap();
        let c = s.daily_counts(day, day + 2 * 86_400, Some("tw")).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(
            (c[1].day.as_str(), c[1].queued, c[1].sent, c[1].attempts),
            ("2024-10-04", 3, 3, 3)
        );
        assert_eq!((c[0].queued, c[0].sent), (1, 0));
        assert!(
            s.daily_counts(day, day + 2 * 86_400, Some("other"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_throttled_integration_is_left_alone_until_the_throttle_ends() {
        let (_d, s) = store();
        s.put_integration(&IntegrationRecord {
            name: "tw".into(),
            kind: IntegrationKind::Twilio,
            config: serde_json::json!({}),
            credentials: None,
            created_at: 1,
            updated_at: 1,
            health: IntegrationHealth::default(),
        })
        .unwrap();
        s.set_integration_health(
            "tw",
            &IntegrationHealth {
                state: Health::Throttled,
                throttled_until: Some(120),
                ..IntegrationHealth::default()
            },
        )
        .unwrap();
        let id = s.enqueue(&msg("erin", 100)).unwrap();
        assert!(s.claim_due("w", 119, 150, 10).unwrap().is_empty());
        let c = s.claim_due("w", 120, 150, 10).unwrap();
        assert_eq!(c[0].id, id);
    }

    #[test]
    fn integrations_keep_their_health_across_a_replace() {
        let (_d, s) = store();
        let mut r = IntegrationRecord {
            name: "tw".into(),
            kind: IntegrationKind::Twilio,
            config: serde_json::json!({"account_sid": "AC1"}),
            credentials: Some(vec![9; 40]),
            created_at: 1,
            updated_at: 1,
            health: IntegrationHealth::default(),
        };
        s.put_integration(&r).unwrap();
        let h = IntegrationHealth {
            state: Health::Unhealthy,
            reason: Some("HTTP 401".into()),
            ..IntegrationHealth::default()
        };
        s.set_integration_health("tw", &h).unwrap();
        r.updated_at = 2;
        s.put_integration(&r).unwrap();
        let back = s.get_integration("tw").unwrap().unwrap();
        assert_eq!(back.health, h);
        assert_eq!(back.updated_at, 2);
        assert_eq!(s.list_integrations().unwrap().len(), 1);
        assert!(s.delete_integration("tw").unwrap());
        assert!(s.set_integration_health("tw", &h).is_err());
    }
}
