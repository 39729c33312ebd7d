//! A throwaway OpenSSH server for end-to-end tests (root only): its own host key, config, log
//! and PAM service, on a free port of 127.0.0.1. Its PAM service lives in a private copy of
//! `/etc/pam.d` bind-mounted inside a private mount namespace (`unshare -m`), so the real
//! `/etc/pam.d` is never touched. Test users are created with `useradd` and removed on drop.
//!
//! sshd picks its PAM service from the basename of argv[0], so it is started through a
//! symlink named after the service. Stopped by PID (the listener and its per-connection
//! children), never by name.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running sshd.
pub struct TestSshd {
    /// Its state directory.
    pub dir: tempfile::TempDir,
    /// The port on 127.0.0.1.
    pub port: u16,
    child: Option<Child>,
}

/// How a test sshd authenticates.
pub struct SshdConfig<'a> {
    /// The PAM service text (auth, account, session, password lines).
    pub pam: &'a str,
    /// `AuthenticationMethods`.
    pub methods: &'a str,
    /// An authorized_keys file for every user (publickey tests).
    pub authorized_keys: Option<&'a Path>,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("running a setup command");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl TestSshd {
    /// Starts sshd with this PAM stack; panics with its log if it does not come up.
    pub fn start(cfg: &SshdConfig<'_>) -> TestSshd {
        let dir = tempfile::Builder::new()
            .prefix("twofold-sshd-")
            .tempdir()
            .expect("temp dir");
        let d = dir.path();
        let port = free_port();
        let service = format!("sshd-twofold-{port}");
        run(Command::new("install").args(["-d", "-m", "0755", "/run/sshd"]));
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "twofold-test", "-f"])
            .arg(d.join("host_key")));
        run(Command::new("cp")
            .arg("-a")
            .arg("/etc/pam.d")
            .arg(d.join("pam.d")));
        std::fs::write(d.join("pam.d").join(&service), cfg.pam).expect("PAM service");
        std::os::unix::fs::symlink("/usr/sbin/sshd", d.join(&service)).expect("symlink");
        let mut conf = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nPidFile {pid}\nUsePAM yes\n\
             KbdInteractiveAuthentication yes\nPasswordAuthentication no\nPubkeyAuthentication yes\n\
             AuthenticationMethods {methods}\nPermitRootLogin no\nMaxAuthTries 6\nLoginGraceTime 60\n\
             PrintMotd no\nPrintLastLog no\nUseDNS no\nLogLevel DEBUG1\n",
            hk = d.join("host_key").display(),
            pid = d.join("sshd.pid").display(),
            methods = cfg.methods,
        );
        if let Some(k) = cfg.authorized_keys {
            std::fs::copy(k, d.join("authorized_keys")).expect("authorized_keys");
            // StrictModes refuses key files under a world-writable /tmp.
            conf.push_str(&format!(
                "AuthorizedKeysFile {}\nStrictModes no\n",
                d.join("authorized_keys").display()
            ));
        }
        std::fs::write(d.join("sshd_config"), conf).expect("sshd_config");
        run(Command::new(d.join(&service))
            .arg("-t")
            .arg("-f")
            .arg(d.join("sshd_config")));
        let log = std::fs::File::create(d.join("sshd.log")).expect("sshd.log");
        // unshare execs sh, which execs sshd: the child's pid is the listener's.
        let child = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c"])
            .arg(
                "mount --bind \"$1/pam.d\" /etc/pam.d && exec \"$1/$2\" -D -f \"$1/sshd_config\" -E \"$1/sshd.log\"",
            )
            .arg("sh")
            .arg(d)
            .arg(&service)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting sshd");
        let mut s = TestSshd {
            dir,
            port,
            child: Some(child),
        };
        s.wait_ready();
        s
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(mut c) = TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::Read;
                let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                let mut b = [0u8; 7];
                if c.read_exact(&mut b).is_ok() && &b == b"SSH-2.0" {
                    return;
                }
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(st)) = c.try_wait()
            {
                panic!("sshd exited ({st}):\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("sshd did not come up:\n{}", self.log());
    }

    /// sshd's log (LogLevel DEBUG1).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// Whether sshd's log contains `text` within 10 s. sshd's per-connection process can
    /// write its verdict after the client has already gone, so a test waits for it.
    #[allow(dead_code)]
    pub fn logged(&self, text: &str) -> bool {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if self.log().contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        let pid = c.id().to_string();
        // Per-connection children first, then the listener; all by PID.
        if let Ok(out) = Command::new("pgrep").args(["-P", &pid]).output() {
            for kid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                if let Ok(k) = kid.parse::<u32>() {
                    super::signal(k, "KILL");
                }
            }
        }
        // TERM first, so the listener reaps its children before it goes.
        super::signal(c.id(), "TERM");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// A Unix user created for a test (home directory, password), removed with its home on drop.
pub struct TestUser {
    /// The login name.
    pub name: String,
    /// The password.
    pub password: String,
}

impl TestUser {
    /// Creates `tfe2e-<tag>-<pid>` with a random-enough password.
    pub fn create(tag: &str) -> TestUser {
        let name = format!("tfe2e-{tag}-{}", std::process::id() % 100_000);
        // A leftover from an interrupted run.
        let _ = Command::new("userdel").args(["-r", &name]).output();
        run(Command::new("useradd").args(["-m", "-s", "/bin/sh", &name]));
        let password = format!("Pw-{}-{}", std::process::id(), tag);
        let mut child = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("chpasswd");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            writeln!(stdin, "{name}:{password}").expect("writing to chpasswd");
        }
        assert!(child.wait().expect("chpasswd").success());
        TestUser { name, password }
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").args(["-r", &self.name]).output();
    }
}

/// What one `ssh-login.exp` run gave.
pub struct SshLogin {
    /// 0 logged in, 1 rejected, 2 more prompts than answers, 3 timeout, 5 no key on screen.
    pub status: i32,
    /// Everything ssh showed.
    pub output: String,
}

/// Logs in as `user` with the real `ssh` client driven by `tests/scripts/ssh-login.exp`,
/// answering prompts with `answers` (`@enroll`: the code of the key shown on screen).
pub fn ssh_login(port: u16, user: &str, answers: &[&str], key: Option<&Path>) -> SshLogin {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/ssh-login.exp");
    let mut cmd = Command::new("expect");
    cmd.arg("-f")
        .arg(script)
        .arg(user)
        .arg(port.to_string())
        .args(answers)
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::null());
    if let Some(k) = key {
        cmd.env(
            "SSH_OPTS",
            format!(
                "-i {} -o PubkeyAuthentication=yes -o PreferredAuthentications=publickey,keyboard-interactive",
                k.display()
            ),
        );
    }
    let out = cmd
        .output()
        .expect("expect (Debian package expect) is needed");
    SshLogin {
        status: out.status.code().unwrap_or(-1),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}
