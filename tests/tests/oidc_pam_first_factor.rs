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
    let name = format!("twofold-webtest-{}", std::process::id());
    let script = dir.join("check-password.sh");
    let mut f = std::fs::File::create(&script).unwrap();
    writeln!(
        f,
        "#!/bin/sh\npw=$(tr -d '\\000')\n[ \"$PAM_USER\" = erin ] && [ \"$pw\" = pam-password ]"
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
