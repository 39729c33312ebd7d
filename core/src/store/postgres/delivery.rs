//! [`DeliveryStore`] on PostgreSQL: integrations, the leased outbox, attempts, log and counts
//! (tables of `migrations/postgres/0002_delivery.sql`).
//!
//! Every operation is one statement, so it is atomic without an explicit transaction:
//! - [`DeliveryStore::claim_due`] expires stale rows and claims due ones in one statement whose
//!   row selection is `FOR UPDATE SKIP LOCKED`: two workers (threads or daemon nodes) never
//!   claim the same row, and neither waits for the other's rows.
//! - [`DeliveryStore::finish_attempt`] records the attempt and moves the row on in one statement
//!   (a data-modifying `WITH`); `RetryAt`/`GiveUp` apply only while the caller holds the lease.

use super::{Db, PgStore};
use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::store::delivery::{
    AttemptOutcome, AttemptRecord, Channel, ClaimedMessage, DailyCount, DeliveryFilter,
    DeliveryLogEntry, DeliveryState, DeliveryStore, Health, IntegrationHealth, IntegrationKind,
    IntegrationRecord, NewMessage, NextStep, Purpose, mask_destination, utc_day,
};
use crate::store::shared::to_u32;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

type Param<'a> = &'a (dyn ToSql + Sync);

const INTEGRATION_COLS: &str = "name, kind, config, credentials, created_at, updated_at, \
     health, health_reason, health_updated_at, last_success_at, last_failure_at, \
     consecutive_failures, throttled_until";

const LOG_COLS: &str = "id, user_name, channel, integration, purpose, destination, queued_at, \
     state, attempts, next_attempt_at, finished_at, throttled, last_error, provider_id";

impl Db {
    fn channel(&self, s: &str) -> Result<Channel> {
        Channel::parse(s).ok_or_else(|| self.bad("channel", s))
    }

    fn purpose(&self, s: &str) -> Result<Purpose> {
        Purpose::parse(s).ok_or_else(|| self.bad("purpose", s))
    }

    fn integration_from(&self, r: &Row) -> Result<IntegrationRecord> {
        let kind: String = self.get(r, 1)?;
        let config: String = self.get(r, 2)?;
        let health: String = self.get(r, 6)?;
        Ok(IntegrationRecord {
            name: self.get(r, 0)?,
            kind: IntegrationKind::parse(&kind)
                .ok_or_else(|| self.bad("integration kind", &kind))?,
            config: serde_json::from_str(&config).map_err(|e| Error::Database {
                location: self.location.to_string(),
                detail: format!("the stored settings of an integration cannot be read: {e}"),
            })?,
            credentials: self.get(r, 3)?,
            created_at: self.get(r, 4)?,
            updated_at: self.get(r, 5)?,
            health: IntegrationHealth {
                state: Health::parse(&health).ok_or_else(|| self.bad("health", &health))?,
                reason: self.get(r, 7)?,
                updated_at: self.get(r, 8)?,
                last_success_at: self.get(r, 9)?,
                last_failure_at: self.get(r, 10)?,
                consecutive_failures: to_u32(self.get(r, 11)?),
                throttled_until: self.get(r, 12)?,
            },
        })
    }

    fn log_from(&self, r: &Row) -> Result<DeliveryLogEntry> {
        let channel: String = self.get(r, 2)?;
        let purpose: String = self.get(r, 4)?;
        let destination: String = self.get(r, 5)?;
        let state: String = self.get(r, 7)?;
        let state =
            DeliveryState::parse(&state).ok_or_else(|| self.bad("delivery state", &state))?;
        let next: i64 = self.get(r, 9)?;
        Ok(DeliveryLogEntry {
            id: self.get(r, 0)?,
            user: self.get(r, 1)?,
            channel: self.channel(&channel)?,
            integration: self.get(r, 3)?,
            purpose: self.purpose(&purpose)?,
            destination: mask_destination(&destination),
            queued_at: self.get(r, 6)?,
            state,
            attempts: to_u32(self.get(r, 8)?),
            next_attempt_at: (!state.is_final()).then_some(next),
            finished_at: self.get(r, 10)?,
            throttled: self.get(r, 11)?,
            last_error: self.get(r, 12)?,
            provider_id: self.get(r, 13)?,
        })
    }

    fn claimed_from(&self, r: &Row, lease_until: UnixTime) -> Result<ClaimedMessage> {
        let channel: String = self.get(r, 2)?;
        let purpose: String = self.get(r, 6)?;
        let body: Option<Vec<u8>> = self.get(r, 5)?;
        Ok(ClaimedMessage {
            id: self.get(r, 0)?,
            user: self.get(r, 1)?,
            channel: self.channel(&channel)?,
            integration: self.get(r, 3)?,
            destination: self.get(r, 4)?,
            sealed_body: body.unwrap_or_default(),
            purpose: self.purpose(&purpose)?,
            attempt: to_u32(self.get(r, 7)?),
            queued_at: self.get(r, 8)?,
            expires_at: self.get(r, 9)?,
            lease_until,
        })
    }
}

impl DeliveryStore for PgStore {
    fn put_integration(&self, r: &IntegrationRecord) -> Result<()> {
        let config = serde_json::to_string(&r.config)
            .map_err(|e| Error::Invalid(format!("integration settings: {e}")))?;
        let r = r.clone();
        self.run(move |db| async move {
            db.execute(
                "INSERT INTO integrations (name, kind, config, credentials, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, config = EXCLUDED.config,
                     credentials = EXCLUDED.credentials, updated_at = EXCLUDED.updated_at",
                &[
                    &r.name,
                    &r.kind.as_str(),
                    &config,
                    &r.credentials,
                    &r.created_at,
                    &r.updated_at,
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn get_integration(&self, name: &str) -> Result<Option<IntegrationRecord>> {
        let name = name.to_owned();
        self.run(move |db| async move {
            let sql = format!("SELECT {INTEGRATION_COLS} FROM integrations WHERE name = $1");
            match db.query_opt(&sql, &[&name]).await? {
                Some(r) => db.integration_from(&r).map(Some),
                None => Ok(None),
            }
        })
    }

    fn list_integrations(&self) -> Result<Vec<IntegrationRecord>> {
        self.run(|db| async move {
            let sql =
                format!("SELECT {INTEGRATION_COLS} FROM integrations ORDER BY name COLLATE \"C\"");
            let rows = db.query(&sql, &[]).await?;
            rows.iter().map(|r| db.integration_from(r)).collect()
        })
    }

    fn delete_integration(&self, name: &str) -> Result<bool> {
        let name = name.to_owned();
        self.run(move |db| async move {
            let n = db
                .execute("DELETE FROM integrations WHERE name = $1", &[&name])
                .await?;
            Ok(n > 0)
        })
    }

    fn set_integration_health(&self, name: &str, h: &IntegrationHealth) -> Result<()> {
        let (name, h) = (name.to_owned(), h.clone());
        self.run(move |db| async move {
            let n = db
                .execute(
                    "UPDATE integrations SET health = $2, health_reason = $3,
                         health_updated_at = $4, last_success_at = $5, last_failure_at = $6,
                         consecutive_failures = $7, throttled_until = $8
                     WHERE name = $1",
                    &[
                        &name,
                        &h.state.as_str(),
                        &h.reason,
                        &h.updated_at,
                        &h.last_success_at,
                        &h.last_failure_at,
                        &i64::from(h.consecutive_failures),
                        &h.throttled_until,
                    ],
                )
                .await?;
            if n == 0 {
                return Err(Error::NotFound(format!("no integration named {name:?}")));
            }
            Ok(())
        })
    }

    fn enqueue(&self, m: &NewMessage) -> Result<i64> {
        let m = m.clone();
        self.run(move |db| async move {
            let row = db
                .query_opt(
                    "INSERT INTO outbox (user_name, channel, integration, purpose, destination,
                         body, state, queued_at, expires_at, next_attempt_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $7)
                     RETURNING id",
                    &[
                        &m.user,
                        &m.channel.as_str(),
                        &m.integration,
                        &m.purpose.as_str(),
                        &m.destination,
                        &m.sealed_body,
                        &m.queued_at,
                        &m.expires_at,
                    ],
                )
                .await?;
            match row {
                Some(r) => db.get(&r, 0),
                None => Err(db.bad("outbox insert result", "no row")),
            }
        })
    }

    fn claim_due(
        &self,
        owner: &str,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> Result<Vec<ClaimedMessage>> {
        let owner = owner.to_owned();
        let limit = i64::from(limit);
        self.run(move |db| async move {
            // The expired rows and the claimed rows are disjoint (`expires_at` on either side
            // of `now`), so one statement can do both. Rows another worker has locked are
            // skipped, never waited for.
            let rows = db
                .query(
                    "WITH expired AS (
                         UPDATE outbox SET state = 'expired', body = NULL, finished_at = $3,
                             lease_owner = NULL, lease_until = NULL,
                             last_error = coalesce(last_error || '; ', '') ||
                                 'the code expired before it could be sent'
                         WHERE id IN (
                             SELECT id FROM outbox
                             WHERE state IN ('queued', 'sending') AND expires_at <= $3
                               AND (state = 'queued' OR lease_until <= $3)
                             FOR UPDATE SKIP LOCKED)
                         RETURNING id
                     ), due AS (
                         SELECT o.id FROM outbox o
                         WHERE ((o.state = 'queued' AND o.next_attempt_at <= $3)
                                OR (o.state = 'sending' AND o.lease_until <= $3))
                           AND o.expires_at > $3
                           AND NOT EXISTS (SELECT 1 FROM integrations i
                                           WHERE i.name = o.integration
                                             AND i.throttled_until > $3)
                         ORDER BY o.next_attempt_at, o.id
                         LIMIT $4
                         FOR UPDATE OF o SKIP LOCKED
                     )
                     UPDATE outbox SET state = 'sending', lease_owner = $1, lease_until = $2,
                         attempts = attempts + 1
                     FROM due WHERE outbox.id = due.id
                     RETURNING outbox.id, outbox.user_name, outbox.channel, outbox.integration,
                         outbox.destination, outbox.body, outbox.purpose, outbox.attempts,
                         outbox.queued_at, outbox.expires_at",
                    &[&owner, &lease_until, &now, &limit],
                )
                .await?;
            let mut v: Vec<ClaimedMessage> = rows
                .iter()
                .map(|r| db.claimed_from(r, lease_until))
                .collect::<Result<_>>()?;
            v.sort_by_key(|m| m.id);
            Ok(v)
        })
    }

    fn finish_attempt(
        &self,
        id: i64,
        owner: &str,
        rec: &AttemptRecord,
        next: &NextStep,
    ) -> Result<bool> {
        let (owner, rec, next) = (owner.to_owned(), rec.clone(), next.clone());
        self.run(move |db| async move {
            let throttled = rec.outcome == AttemptOutcome::Throttled;
            let attempt = i64::from(rec.attempt.max(1));
            // The attempt row and the outbox change commit together (one statement).
            const RECORD: &str = "WITH rec AS (
                     INSERT INTO delivery_attempts (outbox_id, attempt, started_at, finished_at,
                         outcome, status, error, provider_id)
                     SELECT $1::BIGINT, $2::BIGINT, $3::BIGINT, $4::BIGINT, $5::TEXT, $6::TEXT,
                         $7::TEXT, $8::TEXT
                     WHERE EXISTS (SELECT 1 FROM outbox WHERE id = $1::BIGINT)
                     ON CONFLICT (outbox_id, attempt) DO UPDATE SET
                         started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at,
                         outcome = EXCLUDED.outcome, status = EXCLUDED.status,
                         error = EXCLUDED.error, provider_id = EXCLUDED.provider_id
                 ) ";
            let outcome = rec.outcome.as_str();
            let base: [Param; 9] = [
                &id,
                &attempt,
                &rec.started_at,
                &rec.finished_at,
                &outcome,
                &rec.status,
                &rec.error,
                &rec.provider_id,
                &throttled,
            ];
            let n = match &next {
                NextStep::Done => {
                    let sql = format!(
                        "{RECORD}UPDATE outbox SET state = 'sent', body = NULL, finished_at = $4,
                             lease_owner = NULL, lease_until = NULL, provider_id = $8,
                             throttled = throttled OR $9
                         WHERE id = $1 AND state <> 'sent'"
                    );
                    db.execute(&sql, &base).await?
                }
                NextStep::RetryAt(at) => {
                    let sql = format!(
                        "{RECORD}UPDATE outbox SET state = 'queued', next_attempt_at = $11,
                             lease_owner = NULL, lease_until = NULL, last_error = $7,
                             throttled = throttled OR $9
                         WHERE id = $1 AND state = 'sending' AND lease_owner = $10"
                    );
                    let mut p = base.to_vec();
                    p.extend([&owner as Param, at as Param]);
                    db.execute(&sql, &p).await?
                }
                NextStep::GiveUp(reason) => {
                    let sql = format!(
                        "{RECORD}UPDATE outbox SET state = 'failed', body = NULL, finished_at = $4,
                             lease_owner = NULL, lease_until = NULL, last_error = $11,
                             throttled = throttled OR $9
                         WHERE id = $1 AND state = 'sending' AND lease_owner = $10"
                    );
                    let mut p = base.to_vec();
                    p.extend([&owner as Param, reason as Param]);
                    db.execute(&sql, &p).await?
                }
            };
            Ok(n > 0)
        })
    }

    fn next_due(&self) -> Result<Option<UnixTime>> {
        self.run(|db| async move {
            let row = db
                .query_opt(
                    "SELECT min(CASE WHEN state = 'queued'
                                     THEN LEAST(next_attempt_at, expires_at)
                                     ELSE lease_until END)
                     FROM outbox WHERE state IN ('queued', 'sending')",
                    &[],
                )
                .await?;
            match row {
                Some(r) => db.get(&r, 0),
                None => Ok(None),
            }
        })
    }

    fn delivery_log(&self, f: &DeliveryFilter) -> Result<Vec<DeliveryLogEntry>> {
        let f = f.clone();
        self.run(move |db| async move {
            let sql = format!(
                "SELECT {LOG_COLS} FROM outbox
                 WHERE ($1::TEXT IS NULL OR user_name = $1::TEXT)
                   AND ($2::TEXT IS NULL OR channel = $2::TEXT)
                   AND ($3::TEXT IS NULL OR integration = $3::TEXT)
                   AND ($4::TEXT IS NULL OR state = $4::TEXT)
                   AND (NOT $5::BOOLEAN OR throttled)
                   AND ($6::BIGINT IS NULL OR queued_at >= $6::BIGINT)
                   AND ($7::BIGINT IS NULL OR queued_at <= $7::BIGINT)
                 ORDER BY queued_at DESC, id DESC
                 LIMIT $8::BIGINT"
            );
            let limit = i64::from(if f.limit == 0 { 100 } else { f.limit });
            let rows = db
                .query(
                    &sql,
                    &[
                        &f.user,
                        &f.channel.map(Channel::as_str),
                        &f.integration,
                        &f.state.map(DeliveryState::as_str),
                        &f.throttled_only,
                        &f.since,
                        &f.until,
                        &limit,
                    ],
                )
                .await?;
            rows.iter().map(|r| db.log_from(r)).collect()
        })
    }

    fn delivery_entry(&self, id: i64) -> Result<Option<DeliveryLogEntry>> {
        self.run(move |db| async move {
            let sql = format!("SELECT {LOG_COLS} FROM outbox WHERE id = $1");
            match db.query_opt(&sql, &[&id]).await? {
                Some(r) => db.log_from(&r).map(Some),
                None => Ok(None),
            }
        })
    }

    fn delivery_attempts(&self, id: i64) -> Result<Vec<AttemptRecord>> {
        self.run(move |db| async move {
            let rows = db
                .query(
                    "SELECT attempt, started_at, finished_at, outcome, status, error, provider_id
                     FROM delivery_attempts WHERE outbox_id = $1 ORDER BY attempt",
                    &[&id],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    let outcome: String = db.get(r, 3)?;
                    Ok(AttemptRecord {
                        attempt: to_u32(db.get(r, 0)?),
                        started_at: db.get(r, 1)?,
                        finished_at: db.get(r, 2)?,
                        outcome: AttemptOutcome::parse(&outcome)
                            .ok_or_else(|| db.bad("attempt outcome", &outcome))?,
                        status: db.get(r, 4)?,
                        error: db.get(r, 5)?,
                        provider_id: db.get(r, 6)?,
                    })
                })
                .collect()
        })
    }

    fn daily_counts(
        &self,
        since: UnixTime,
        until: UnixTime,
        integration: Option<&str>,
    ) -> Result<Vec<DailyCount>> {
        let integration = integration.map(str::to_owned);
        self.run(move |db| async move {
            let rows = db
                .query(
                    "SELECT o.queued_at / 86400 AS day, o.integration, o.channel,
                            count(*),
                            count(*) FILTER (WHERE o.state = 'sent'),
                            count(*) FILTER (WHERE o.state IN ('failed', 'expired')),
                            coalesce(sum((SELECT count(*) FROM delivery_attempts a
                                          WHERE a.outbox_id = o.id)), 0)::BIGINT,
                            coalesce(sum((SELECT count(*) FROM delivery_attempts a
                                          WHERE a.outbox_id = o.id
                                            AND a.outcome = 'throttled')), 0)::BIGINT
                     FROM outbox o
                     WHERE o.queued_at >= $1 AND o.queued_at < $2
                       AND ($3::TEXT IS NULL OR o.integration = $3::TEXT)
                     GROUP BY day, o.integration, o.channel
                     ORDER BY day DESC, o.integration COLLATE \"C\", o.channel",
                    &[&since, &until, &integration],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    let day: i64 = db.get(r, 0)?;
                    let channel: String = db.get(r, 2)?;
                    Ok(DailyCount {
                        day: utc_day(day * 86_400),
                        integration: db.get(r, 1)?,
                        channel: db.channel(&channel)?,
                        queued: to_u32(db.get(r, 3)?),
                        sent: to_u32(db.get(r, 4)?),
                        failed: to_u32(db.get(r, 5)?),
                        attempts: to_u32(db.get(r, 6)?),
                        throttled: to_u32(db.get(r, 7)?),
                    })
                })
                .collect()
        })
    }

    fn purge_delivery_log(&self, before: UnixTime) -> Result<u32> {
        self.run(move |db| async move {
            let n = db
                .execute(
                    "DELETE FROM outbox
                     WHERE queued_at < $1 AND state IN ('sent', 'failed', 'expired')",
                    &[&before],
                )
                .await?;
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        })
    }
}
