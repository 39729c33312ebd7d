//! Message templates for SMS and email, overridable by the operator.
//!
//! Built-in texts are used unless `[delivery] templates_dir` holds a file of the same name:
//! `sms.txt`, `email_subject.txt`, `email_body.txt`. Files are read at every send, so an edit
//! takes effect without a restart. Placeholders: `{code}`, `{minutes}`, `{user}`, `{company}`;
//! `{{` and `}}` stand for literal braces. A template with an unknown placeholder, or a code
//! template without `{code}`, is refused with a message naming the file and the placeholder.
//! The rendered text is never logged (it holds the code).

use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 4] = ["code", "minutes", "user", "company"];

/// Built-in SMS text.
pub const DEFAULT_SMS: &str = "{code} is your {company} security code. It expires in {minutes} minutes. Never share it; {company} will never ask for it.";
/// Built-in email subject.
pub const DEFAULT_EMAIL_SUBJECT: &str = "Your {company} security code";
/// Built-in email body.
pub const DEFAULT_EMAIL_BODY: &str = "Hello {user},\n\nyour security code is\n\n    {code}\n\nIt expires in {minutes} minutes. Never share it; {company} will never ask you for it.\n\nIf you did not just try to sign in, do not enter the code anywhere, and tell your IT department.\n\n-- \n{company}\n";

/// The template files an operator may place in `templates_dir`.
pub const FILES: [(&str, &str); 3] = [
    ("sms.txt", DEFAULT_SMS),
    ("email_subject.txt", DEFAULT_EMAIL_SUBJECT),
    ("email_body.txt", DEFAULT_EMAIL_BODY),
];

/// A template could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message template {source_name}: {detail}")]
pub struct TemplateError {
    /// The file (or `built-in NAME`).
    pub source_name: String,
    /// What is wrong.
    pub detail: String,
}

/// Values substituted into a template.
pub struct Vars<'a> {
    /// The code (never logged).
    pub code: &'a str,
    /// Minutes until the code expires, rounded up.
    pub minutes: i64,
    /// The user's login name.
    pub user: &'a str,
    /// The organisation's name: the email sender name, or the TOTP issuer.
    pub company: &'a str,
}

/// A rendered message. `Debug` hides the text.
pub struct Rendered {
    /// Email subject (none for SMS).
    pub subject: Option<String>,
    /// The text, holding the code.
    pub text: Zeroizing<String>,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendered")
            .field("subject", &self.subject)
            .field("text", &"[redacted]")
            .finish()
    }
}

/// Where templates come from.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    dir: Option<PathBuf>,
}

impl Templates {
    /// Templates overridden from `dir` when set.
    pub fn new(dir: Option<PathBuf>) -> Templates {
        Templates { dir }
    }

    /// The template text and where it came from.
    fn load(&self, file: &str, default: &str) -> Result<(String, String), TemplateError> {
        if let Some(dir) = &self.dir {
            let p = dir.join(file);
            match std::fs::read_to_string(&p) {
                Ok(t) => return Ok((t, p.display().to_string())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(TemplateError {
                        source_name: p.display().to_string(),
                        detail: format!("cannot be read: {e}"),
                    });
                }
            }
        }
        Ok((default.to_string(), format!("built-in {file}")))
    }

    /// Renders the SMS for a code.
    pub fn sms(&self, v: &Vars<'_>) -> Result<Rendered, TemplateError> {
        let (t, src) = self.load("sms.txt", DEFAULT_SMS)?;
        let text = render(&t, &src, v, true)?;
        Ok(Rendered {
            subject: None,
            text: Zeroizing::new(text.trim_end().to_string()),
        })
    }

    /// Renders the email (subject and body) for a code.
    pub fn email(&self, v: &Vars<'_>) -> Result<Rendered, TemplateError> {
        let (s, ssrc) = self.load("email_subject.txt", DEFAULT_EMAIL_SUBJECT)?;
        let (b, bsrc) = self.load("email_body.txt", DEFAULT_EMAIL_BODY)?;
        let subject = render(&s, &ssrc, v, false)?;
        if subject.contains(v.code) && !v.code.is_empty() {
            return Err(TemplateError {
                source_name: ssrc,
                detail:
                    "the subject must not contain {code} (subjects show in notifications and logs)"
                        .into(),
            });
        }
        let subject = subject.lines().next().unwrap_or("").trim().to_string();
        let text = render(&b, &bsrc, v, true)?;
        Ok(Rendered {
            subject: Some(subject),
            text: Zeroizing::new(text),
        })
    }

    /// Checks every template (for `twofoldctl doctor` and after editing the files): renders
    /// each with a sample code. Returns `(file, source)` of each template in use.
    pub fn check(&self) -> Result<Vec<(String, String)>, TemplateError> {
        let v = Vars {
            code: "123456",
            minutes: 5,
            user: "alice",
            company: "Example",
        };
        self.sms(&v)?;
        self.email(&v)?;
        let mut out = Vec::new();
        for (file, default) in FILES {
            let (_, src) = self.load(file, default)?;
            out.push((file.to_string(), src));
        }
        Ok(out)
    }

    /// The override directory, if configured.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }
}

/// Substitutes placeholders. `needs_code`: the template must contain `{code}`.
fn render(t: &str, src: &str, v: &Vars<'_>, needs_code: bool) -> Result<String, TemplateError> {
    let err = |detail: String| TemplateError {
        source_name: src.to_string(),
        detail,
    };
    let mut out = String::with_capacity(t.len() + 16);
    let mut saw_code = false;
    let mut rest = t;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("{{") {
            out.push('{');
            rest = after;
            continue;
        }
        if let Some(after) = tail.strip_prefix("}}") {
            out.push('}');
            rest = after;
            continue;
        }
        if tail.starts_with('}') {
            return Err(err(
                "a lone '}' (write '}}' for a literal brace)".to_string()
            ));
        }
        let Some(end) = tail.find('}') else {
            return Err(err(
                "an unclosed '{' (write '{{' for a literal brace)".to_string()
            ));
        };
        let name = &tail[1..end];
        match name {
            "code" => {
                saw_code = true;
                out.push_str(v.code);
            }
            "minutes" => out.push_str(&v.minutes.to_string()),
            "user" => out.push_str(v.user),
            "company" => out.push_str(v.company),
            other => {
                return Err(err(format!(
                    "unknown placeholder {{{other}}}; the known ones are {}",
                    PLACEHOLDERS
                        .iter()
                        .map(|p| format!("{{{p}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    if needs_code && !saw_code {
        return Err(err(
            "has no {code} placeholder, so the message would not carry the code".into(),
        ));
    }
    Ok(out)
}

/// Minutes until `expires_at`, rounded up, at least 1.
pub fn minutes_left(now: i64, expires_at: i64) -> i64 {
    ((expires_at - now).max(0) + 59) / 60
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars<'static> {
        Vars {
            code: "042917",
            minutes: 5,
            user: "alice",
            company: "Example IT",
        }
    }

    #[test]
    fn the_built_in_texts_carry_the_code_and_the_lifetime() {
        let t = Templates::default();
        let sms = t.sms(&vars()).unwrap();
        assert!(sms.text.contains("042917") && sms.text.contains("5 minutes"));
        let mail = t.email(&vars()).unwrap();
        assert_eq!(
            mail.subject.as_deref(),
            Some("Your Example IT security code")
        );
        assert!(mail.text.contains("042917") && mail.text.contains("Hello alice"));
        assert!(!format!("{sms:?}").contains("042917"));
    }

    #[test]
    fn an_operator_file_overrides_the_built_in_text() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("sms.txt"),
            "Code {{{code}}} ({minutes} min)\n",
        )
        .unwrap();
        let t = Templates::new(Some(dir.path().to_path_buf()));
        assert_eq!(&*t.sms(&vars()).unwrap().text, "Code {042917} (5 min)");
    }

    #[test]
    fn a_bad_template_is_refused_with_its_file_and_placeholder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sms.txt"), "Your code: {cod}").unwrap();
        let t = Templates::new(Some(dir.path().to_path_buf()));
        let e = t.sms(&vars()).unwrap_err().to_string();
        assert!(e.contains("sms.txt") && e.contains("{cod}"), "{e}");
        std::fs::write(dir.path().join("sms.txt"), "Sign-in pending").unwrap();
        let e = t.check().unwrap_err().to_string();
        assert!(e.contains("no {code}"), "{e}");
        std::fs::write(dir.path().join("sms.txt"), "{code}").unwrap();
        std::fs::write(dir.path().join("email_subject.txt"), "Code {code}").unwrap();
        let e = t.check().unwrap_err().to_string();
        assert!(e.contains("subject must not contain"), "{e}");
    }

    #[test]
    fn minutes_round_up() {
        assert_eq!(minutes_left(0, 300), 5);
        assert_eq!(minutes_left(0, 301), 6);
        assert_eq!(minutes_left(10, 0), 0);
    }
}
