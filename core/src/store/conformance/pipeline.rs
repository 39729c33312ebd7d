//! Conformance cases: refused batches leave nothing behind on the connection they used, so the
//! batches that follow commit exactly their own writes (a backend that sends BEGIN and COMMIT
//! in one flight with the writes must end every transaction it opens).

use super::{T0, h, open_session, session};
use crate::error::Error;
use crate::proto::Method;
use crate::store::{AuditEvent, AuditFilter, Consume, ConsumeOutcome, SessionEnd, Store, Write};

fn audit(detail: &str) -> Write {
    Write::Audit(AuditEvent {
        at: T0,
        actor: "alice".into(),
        event: "auth.decision".into(),
        user: Some("alice".into()),
        outcome: "ok".into(),
        detail: detail.into(),
    })
}

/// Refused batches of every kind (a taken session id, an unknown user, a session that ended, a
/// refused consume, a failed write after a won consume), each followed by a good batch: only
/// the good batches' writes exist (a transaction left open by a refused batch would be
/// committed by the next batch on its connection, with the refused writes in it).
pub fn refused_batches_leave_no_open_transaction_behind(store: &dyn Store) {
    open_session(store, "s1", "alice", Method::AuthenticatorApp);
    store.replace_backup_codes("alice", &[h(1)], T0).unwrap();
    for i in 0..40 {
        let dup = store.apply(&[
            audit(&format!("dup {i}")),
            Write::CreateSession(session("s1", "alice", Method::Sms)),
        ]);
        assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
        store.apply(&[audit(&format!("good {i} a"))]).unwrap();
        let unknown = store.apply(&[
            audit(&format!("unknown {i}")),
            Write::ClearFailures {
                user: "nobody".into(),
            },
        ]);
        assert!(matches!(unknown, Err(Error::NotFound(_))), "{unknown:?}");
        store.apply(&[audit(&format!("good {i} b"))]).unwrap();
        let refused = store
            .consume_then(
                &Consume::BackupCode {
                    user: "alice".into(),
                    hash: h(2),
                    now: T0,
                },
                &[audit(&format!("refused {i}"))],
            )
            .unwrap();
        assert_eq!(refused, ConsumeOutcome::Refused);
        store.apply(&[audit(&format!("good {i} c"))]).unwrap();
        let undone = store.consume_then(
            &Consume::BackupCode {
                user: "alice".into(),
                hash: h(1),
                now: T0,
            },
            &[
                audit(&format!("undone {i}")),
                Write::ClearFailures {
                    user: "nobody".into(),
                },
            ],
        );
        assert!(matches!(undone, Err(Error::NotFound(_))), "{undone:?}");
        store.apply(&[audit(&format!("good {i} d"))]).unwrap();
    }
    store.end_session("s1", SessionEnd::Success).unwrap();
    let ended = store.apply(&[
        audit("ended"),
        Write::FinishSession {
            id: "s1".into(),
            how: SessionEnd::Locked,
        },
    ]);
    assert!(matches!(ended, Err(Error::Conflict(_))), "{ended:?}");
    store.apply(&[audit("good")]).unwrap();
    let mut details: Vec<String> = store
        .query_audit(&AuditFilter {
            user: Some("alice".into()),
            ..AuditFilter::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| e.detail)
        .collect();
    let mut expected: Vec<String> = (0..40)
        .flat_map(|i| ["a", "b", "c", "d"].map(|k| format!("good {i} {k}")))
        .collect();
    expected.push("good".into());
    details.sort();
    expected.sort();
    assert_eq!(details, expected);
    // The backup code was never burned for good: every consume that won it was undone.
    assert_eq!(store.backup_codes_left("alice").unwrap(), 1);
    assert_eq!(
        store.get_session("s1").unwrap().and_then(|s| s.ended),
        Some(SessionEnd::Success)
    );
}
