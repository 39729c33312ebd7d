//! The web first factor through the host's PAM stack (`first_factor = "pam"`): a real libpam
//! service file in /etc/pam.d whose `auth` line checks the password with pam_exec
//! (`expose_authtok`), so no system account is created. Needs root (CI runs as root).

mod common;
mod oidc_support;

use oidc_support::*;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;

/// A PAM service that accepts exactly `erin` / `pam-password`; removed on drop.
struct Service {
    name: String,
    files: Vec<std::path::PathBuf>,
}

impl Drop for Service {
    fn drop(&mut self) {
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
    }
}

fn service(dir: &std::path::Path) -> Service {
    assert!(
        common::is_root(),
        "this test writes /etc/pam.d and must run as root"
    );
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let name = format!("twofold-webtest-{}-{n}", std::process::id());
    let script = dir.join("check-password.sh");
    let mut f = std::fs::File::create(&script).unwrap();
    writeln!(
        f,
        "#!/bin/sh\npw=$(tr -d '\\000')\n[ \"$PAM_USER\" = slow ] && touch {} && sleep 3\n[ \"$PAM_USER\" = erin ] && [ \"$pw\" = pam-password ]",
        dir.join("slow-started").display()
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let pamd = std::path::PathBuf::from(format!("/etc/pam.d/{name}"));
    std::fs::write(
        &pamd,
        format!(
            "auth required pam_exec.so expose_authtok quiet {}\naccount required pam_permit.so\n",
            script.display()
        ),
    )
    .unwrap();
    Service {
        name,
        files: vec![pamd, script],
    }
}

#[tokio::test]
async fn the_pam_first_factor_accepts_the_stacks_password_and_refuses_others_alike() {
    let scratch = tempfile::tempdir().unwrap();
    let svc = service(scratch.path());
    let op = start_op(
        |b| {
            b.config("http", "first_factor = \"pam\"")
                .config("http", &format!("pam_service = \"{}\"", svc.name))
        },
        |s| s.enabled = false,
    );
    let mut notices = Vec::new();
    for (user, pw) in [("erin", "wrong"), ("nobody", "pam-password")] {
        let mut b = Browser::new(&op);
        let p = b.get(&op.auth_url(CLIENT, &[])).await;
        let p = b.follow(p).await;
        let r = b
            .submit(&p, "/signin", &[("username", user), ("password", pw)])
            .await;
        assert_eq!(r.status, 200, "{user}");
        notices.push(r.text_of("notice").unwrap());
    }
    assert_eq!(notices[0], notices[1]);
    let mut b = Browser::new(&op);
    let mut app = Authenticator::default();
    let q = b
        .sign_in(&op.auth_url(CLIENT, &[]), "erin", "pam-password", &mut app)
        .await
        .unwrap_or_else(|p| panic!("{} {}", p.status, p.body));
    let t: serde_json::Value = op
        .redeem(CLIENT, SECRET, &q["code"], &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(claims(t["id_token"].as_str().unwrap())["sub"], "erin");
}

#[tokio::test]
async fn past_the_hashing_queue_a_sign_in_is_answered_503_with_retry_after() {
    let scratch = tempfile::tempdir().unwrap();
    let svc = service(scratch.path());
    let op = start_op(
        |b| {
            b.config("http", "first_factor = \"pam\"")
                .config("http", &format!("pam_service = \"{}\"", svc.name))
                .config("http", "hash_threads = 1")
                .config("http", "hash_queue = 0")
        },
        |s| s.enabled = false,
    );
    // The PAM check of `slow` holds the only slot for three seconds once it has started.
    let mut slow = Browser::new(&op);
    let p = slow.get(&op.auth_url(CLIENT, &[])).await;
    let p = slow.follow(p).await;
    let held = tokio::spawn(async move {
        slow.submit(&p, "/signin", &[("username", "slow"), ("password", "x")])
            .await
    });
    // Wait until the slow check is inside the PAM stack (it leaves a mark there).
    let mark = scratch.path().join("slow-started");
    for _ in 0..200 {
        if mark.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(mark.exists(), "the slow PAM check started");
    let mut b = Browser::new(&op);
    let p = b.get(&op.auth_url(CLIENT, &[])).await;
    let p = b.follow(p).await;
    let busy = b
        .submit(
            &p,
            "/signin",
            &[("username", "erin"), ("password", "pam-password")],
        )
        .await;
    assert_eq!(busy.status, 503);
    assert!(busy.headers.contains_key("retry-after"));
    let r = held.await.unwrap();
    assert_eq!(
        r.status, 200,
        "the slow sign-in was answered (wrong password)"
    );
    // With the slot free again the same form goes through.
    let again = b
        .submit(
            &p,
            "/signin",
            &[("username", "erin"), ("password", "pam-password")],
        )
        .await;
    assert!(
        query_of(again.location.as_deref().unwrap_or_default()).contains_key("code"),
        "{} {:?} {}",
        again.status,
        again.location,
        again.body
    );
}
