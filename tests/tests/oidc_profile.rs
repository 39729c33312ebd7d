//! The profile page of a signed-in user, through the real pages: regenerate backup codes,
//! change the default method, phone and email; a stale sign-in must sign in again (password and
//! second factor) before a factor changes; bad input and forged forms change nothing.

mod common;
mod oidc_support;

use oidc_support::*;
use twofold_core::store::Store;

async fn enrolled(op: &Op, b: &mut Browser, app: &mut Authenticator) {
    b.sign_in(&op.auth_url(CLIENT, &[]), "alice", PASSWORD, app)
        .await
        .unwrap_or_else(|p| panic!("{} {}", p.status, p.body));
}

async fn profile(b: &mut Browser) -> Page {
    let p = b.get("/profile").await;
    b.follow(p).await
}

#[tokio::test]
async fn a_signed_in_user_regenerates_backup_codes_and_changes_contact_details() {
    let op = start_op(|b| b, |s| s.methods.email = true);
    op.add_user("alice");
    let mut b = Browser::new(&op);
    let mut app = Authenticator::default();
    enrolled(&op, &mut b, &mut app).await;
    assert_eq!(app.backup_codes.len(), 10);

    let p = profile(&mut b).await;
    assert_eq!(p.text_of("user").as_deref(), Some("alice"));
    assert_eq!(p.text_of("status").as_deref(), Some("set up"));
    assert!(
        p.has_form("/profile/backup-codes"),
        "a fresh sign-in may change factors"
    );

    let r = b.submit(&p, "/profile/backup-codes", &[]).await;
    let codes = codes_on(&r);
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| !app.backup_codes.contains(c)));
    let back = b.submit(&r, "/profile/done", &[]).await;
    assert_eq!(back.text_of("backup-left").as_deref(), Some("10"));

    let r = b
        .submit(&back, "/profile/phone", &[("phone", "+1 415 555 0123")])
        .await;
    assert!(
        r.text_of("notice").unwrap().contains("phone number is now"),
        "{}",
        r.body
    );
    assert_eq!(
        op.d.store()
            .get_user("alice")
            .unwrap()
            .unwrap()
            .phone
            .as_deref(),
        Some("+14155550123")
    );
    let r = b
        .submit(&r, "/profile/phone", &[("phone", "not a number")])
        .await;
    assert!(!r.text_of("notice").unwrap().contains("is now"));
    assert_eq!(
        op.d.store()
            .get_user("alice")
            .unwrap()
            .unwrap()
            .phone
            .as_deref(),
        Some("+14155550123"),
        "unchanged"
    );

    let r = b
        .submit(&r, "/profile/email", &[("email", "alice@example.com")])
        .await;
    assert!(
        r.text_of("notice")
            .unwrap()
            .contains("email address is now")
    );
    let r = b
        .submit(&r, "/profile/default-method", &[("method", "email")])
        .await;
    assert!(
        r.text_of("notice").unwrap().contains("default method"),
        "{}",
        r.body
    );
    assert_eq!(r.text_of("default-method").as_deref(), Some("email"));
    let r = b
        .submit(&r, "/profile/default-method", &[("method", "sms")])
        .await;
    assert_eq!(
        r.text_of("default-method").as_deref(),
        Some("email"),
        "sms is not allowed"
    );

    // A forged form changes nothing.
    let forged = b
        .post(
            "/profile/email",
            &[("csrf", "forged"), ("email", "mallory@example.com")],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        op.d.store()
            .get_user("alice")
            .unwrap()
            .unwrap()
            .email
            .as_deref(),
        Some("alice@example.com")
    );
}

#[tokio::test]
async fn changing_a_factor_after_the_reauthentication_window_needs_a_full_sign_in() {
    let op = start_op(|b| b.config("http", "reauth_secs = 1"), |_| {});
    op.add_user("alice");
    let mut b = Browser::new(&op);
    let mut app = Authenticator::default();
    enrolled(&op, &mut b, &mut app).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let p = profile(&mut b).await;
    assert!(!p.has_form("/profile/backup-codes"));
    assert!(p.has_form("/profile/reauth"));
    let csrf = p.field("csrf").unwrap();
    let stale = b.post("/profile/backup-codes", &[("csrf", &csrf)]).await;
    assert_eq!(stale.status, 403, "a stale sign-in cannot change a factor");
    let left = op.d.store().backup_codes_left("alice").unwrap();
    assert_eq!(left, 10, "nothing changed");

    // Sign in again: password and the second factor.
    let mut p = b.submit(&p, "/profile/reauth", &[]).await;
    assert!(p.has_form("/signin"));
    p = b
        .submit(
            &p,
            "/signin",
            &[("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    assert!(
        p.has_form("/signin/code"),
        "the second factor is asked again"
    );
    let code = app.next_code().await;
    p = b
        .submit(
            &p,
            "/signin/code",
            &[("method", "authenticator_app"), ("code", &code)],
        )
        .await;
    assert_eq!(p.text_of("user").as_deref(), Some("alice"));
    assert!(p.has_form("/profile/backup-codes"), "fresh again");
}

#[tokio::test]
async fn the_profile_page_without_a_session_asks_for_a_sign_in() {
    let op = start_op(|b| b, |_| {});
    let mut b = Browser::new(&op);
    let r = b.get("/profile").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some("/signin"));
    let p = b.follow(r).await;
    assert!(p.has_form("/signin"));
}
