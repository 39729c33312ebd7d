//! The words and layouts the user sees in a terminal: challenge hints, the enrollment screen
//! (QR code with the manual-entry text key beside it), and the backup codes.

use twofold_core::proto::{Challenge, EnrollSecret, Method};

/// Widest line the enrollment screen aims for (an 80-column terminal).
const SCREEN_WIDTH: usize = 80;

/// The word a user types at the prompt to switch to `m`.
pub fn method_word(m: Method) -> &'static str {
    match m {
        Method::AuthenticatorApp => "app",
        Method::Sms => "sms",
        Method::Email => "email",
        Method::BackupCode => "backup",
    }
}

/// The prompt for a code of method `m`.
pub fn prompt_for(m: Method) -> &'static str {
    match m {
        Method::BackupCode => "Backup code: ",
        _ => "Verification code: ",
    }
}

/// Removes control characters (except newlines) from text that came from elsewhere, so it
/// cannot move the cursor, change colours or smuggle a NUL into the conversation.
pub fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect()
}

fn quoted_or_list(words: &[&str]) -> String {
    let q: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    match q.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// The information shown before a code prompt. `after_reject` adds the attempts left.
pub fn challenge_text(c: &Challenge, after_reject: bool) -> String {
    let mut lines = Vec::new();
    match &c.info {
        Some(info) if !info.trim().is_empty() => lines.push(clean(info)),
        _ => lines.push(
            match c.method {
                Method::AuthenticatorApp => "Enter the 6-digit code from your authenticator app.",
                Method::BackupCode => "Enter one of your backup codes.",
                Method::Sms => "Enter the code sent to you by text message.",
                Method::Email => "Enter the code sent to you by email.",
            }
            .to_owned(),
        ),
    }
    let others: Vec<&str> = c
        .alternatives
        .iter()
        .filter(|m| **m != c.method)
        .map(|m| method_word(*m))
        .collect();
    if !others.is_empty() {
        lines.push(format!(
            "Type {} to use another method.",
            quoted_or_list(&others)
        ));
    }
    if c.method.is_out_of_band() {
        match c.resends_left {
            Some(0) => {}
            Some(n) => lines.push(format!("Type 'resend' for a new code ({n} left).")),
            None => lines.push("Type 'resend' for a new code.".to_owned()),
        }
    }
    if after_reject {
        match c.attempts_left {
            Some(1) => lines.push("1 attempt left.".to_owned()),
            Some(n) => lines.push(format!("{n} attempts left.")),
            None => {}
        }
    }
    lines.join("\n")
}

/// The enrollment screen: the QR code with the text key beside it when both fit in 80 columns,
/// else below it.
pub fn enrollment_screen(s: &EnrollSecret) -> String {
    let groups: Vec<&str> = s.text_key.split_whitespace().collect();
    let mut side: Vec<String> = vec![
        "Can't scan it? Add the".into(),
        "account by hand with".into(),
        "this key (time-based):".into(),
        String::new(),
    ];
    for row in groups.chunks(4) {
        side.push(row.join(" "));
    }
    let qr: Vec<String> = clean(&s.qr_terminal)
        .lines()
        .map(|l| l.trim_end_matches('\r').to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    let mut out = vec!["Scan this QR code with your authenticator app:".to_owned()];
    if qr.is_empty() {
        out.extend(side);
        return out.join("\n");
    }
    let qr_width = qr.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let side_width = side.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    if qr_width + 3 + side_width <= SCREEN_WIDTH {
        // Centre the side text vertically against the code.
        let top = qr.len().saturating_sub(side.len()) / 2;
        for (i, line) in qr.iter().enumerate() {
            let pad = qr_width - line.chars().count();
            match i.checked_sub(top).and_then(|j| side.get(j)) {
                Some(t) if !t.is_empty() => out.push(format!("{line}{}   {t}", " ".repeat(pad))),
                _ => out.push(line.clone()),
            }
        }
        // A side text taller than the code continues below it.
        let shown = qr.len().saturating_sub(top);
        for t in side.iter().skip(shown) {
            out.push(format!("{}   {t}", " ".repeat(qr_width)));
        }
    } else {
        out.extend(qr);
        out.extend(side);
    }
    out.join("\n")
}

/// The question after the backup codes: its answer is ignored.
pub const ACK_PROMPT: &str = "Saved them? Press Enter to continue: ";

/// The backup codes, shown once after enrollment.
pub fn backup_codes_text(codes: &[String]) -> String {
    let mut lines = vec![
        "Your authenticator app is set up.".to_owned(),
        String::new(),
        "Backup codes: each one works once if you lose your phone.".to_owned(),
        "Save them now (password manager, printed copy): they are not shown again.".to_owned(),
        String::new(),
    ];
    for pair in codes.chunks(2) {
        let row: Vec<String> = pair.iter().map(|c| format!("{:<14}", clean(c))).collect();
        lines.push(format!("    {}", row.join("  ").trim_end()));
    }
    lines.join("\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn challenge(method: Method, alternatives: Vec<Method>) -> Challenge {
        Challenge {
            session: "s".into(),
            method,
            alternatives,
            info: None,
            attempts_left: Some(2),
            resends_left: Some(3),
        }
    }

    #[test]
    fn alternatives_are_offered_by_the_words_to_type() {
        let c = challenge(
            Method::AuthenticatorApp,
            vec![Method::Sms, Method::Email, Method::BackupCode],
        );
        let t = challenge_text(&c, false);
        assert!(
            t.contains("Type 'sms', 'email' or 'backup' to use another method."),
            "{t}"
        );
        assert!(!t.contains("attempts left"), "{t}");
        assert!(challenge_text(&c, true).contains("2 attempts left."));
    }

    #[test]
    fn without_fallback_no_other_method_is_mentioned() {
        let t = challenge_text(&challenge(Method::AuthenticatorApp, vec![]), false);
        assert!(!t.contains("another method"), "{t}");
    }

    #[test]
    fn out_of_band_codes_offer_a_resend() {
        let t = challenge_text(&challenge(Method::Sms, vec![Method::Sms]), false);
        assert!(t.contains("'resend'"), "{t}");
        assert!(!t.contains("another method"), "{t}");
    }

    #[test]
    fn control_characters_are_removed() {
        assert_eq!(clean("a\x1b[31mb\0c\nd"), "a[31mbc\nd");
    }

    #[test]
    fn the_text_key_stands_beside_a_small_qr_code() {
        let qr = (0..10)
            .map(|_| "█".repeat(29))
            .collect::<Vec<_>>()
            .join("\n");
        let s = EnrollSecret {
            session: "s".into(),
            text_key: "ABCD EFGH IJKL MNOP QRST UVWX YZ23 4567".into(),
            otpauth_uri: String::new(),
            qr_terminal: qr,
        };
        let screen = enrollment_screen(&s);
        assert!(
            screen
                .lines()
                .any(|l| l.starts_with('█') && l.ends_with("ABCD EFGH IJKL MNOP")),
            "{screen}"
        );
        assert!(screen.lines().all(|l| l.chars().count() <= 80));
    }

    #[test]
    fn the_text_key_goes_below_a_wide_qr_code() {
        let qr = (0..30)
            .map(|_| "█".repeat(70))
            .collect::<Vec<_>>()
            .join("\n");
        let s = EnrollSecret {
            session: "s".into(),
            text_key: "ABCD EFGH".into(),
            otpauth_uri: String::new(),
            qr_terminal: qr,
        };
        let screen = enrollment_screen(&s);
        assert_eq!(screen.lines().last().unwrap(), "ABCD EFGH");
    }

    #[test]
    fn backup_codes_are_all_listed() {
        let codes: Vec<String> = (0..10).map(|i| format!("1234-567{i}")).collect();
        let t = backup_codes_text(&codes);
        for c in &codes {
            assert!(t.contains(c.as_str()), "{t}");
        }
    }
}
