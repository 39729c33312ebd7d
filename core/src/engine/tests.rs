//! Unit tests of the engine's pure helpers: user names, contact details, the settings diff.
use super::admin::settings_diff;
use super::*;
use crate::settings::MaxInvalidAttempts;

#[test]
fn valid_user_names_pass_and_hostile_ones_are_refused() {
    for ok in [
        "alice",
        "a",
        "svc_backup",
        "jdoe$",
        "Alice.Smith@EXAMPLE",
        &"a".repeat(256),
    ] {
        assert!(check_user_name(ok).is_ok(), "{ok:?}");
    }
    for bad in [
        "",
        " ",
        "alice ",
        " alice",
        "alice\t",
        "a b",
        "-alice",
        "+alice",
        "~alice",
        "a:b",
        "a,b",
        "../../etc/passwd",
        "alice/../root",
        "a\\b",
        "a\u{0}b",
        "a\nb",
        &"a".repeat(257),
    ] {
        let err = check_user_name(bad).unwrap_err().to_string();
        assert!(err.contains("is not valid"), "{bad:?}: {err}");
    }
}

#[test]
fn phone_numbers_must_be_international_and_are_stored_in_e164() {
    assert_eq!(parse_phone("+1 415 555 0100").unwrap(), "+14155550100");
    assert_eq!(parse_phone(" +44 20 7946 0958 ").unwrap(), "+442079460958");
    assert_eq!(parse_phone("+49 (30) 901820").unwrap(), "+4930901820");
    let national = parse_phone("415 555 0100").unwrap_err().to_string();
    assert!(national.contains("international format"), "{national}");
    for bad in [
        "+",
        "+1",
        "+1 555",
        "+999 1234567",
        "+1 415 555 0100 0000 0000",
        "+1 415 abc",
        "+1\u{0}4155550100",
    ] {
        assert!(parse_phone(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn phones_and_emails_are_masked_for_display() {
    assert_eq!(mask_phone("+14155554567"), "+1 *** *** 4567");
    assert_eq!(mask_phone("+442079460958"), "+44 *** *** 0958");
    assert_eq!(mask_email("alice@example.com"), "a***@example.com");
}

#[test]
fn email_addresses_get_a_sanity_check() {
    assert_eq!(
        parse_email(" Alice.B@Mail.Example.COM ").unwrap(),
        "Alice.B@mail.example.com"
    );
    assert_eq!(
        parse_email("a+tag@xn--bcher-kva.example").unwrap(),
        "a+tag@xn--bcher-kva.example"
    );
    for bad in [
        "",
        "alice",
        "alice@",
        "@example.com",
        "a@b@example.com",
        "alice@example",
        "alice@-x.com",
        "al ice@example.com",
        "alice@exa_mple.com",
        ".alice@example.com",
        "al..ice@example.com",
        "alice@example..com",
        "<alice>@example.com",
        "alice@bücher.example",
    ] {
        let err = parse_email(bad).unwrap_err().to_string();
        assert!(err.contains("is not valid"), "{bad:?}: {err}");
    }
    assert!(parse_email(&format!("{}@example.com", "a".repeat(65))).is_err());
}

#[test]
fn the_settings_diff_lists_only_changed_keys_in_toml() {
    let old = Settings::default();
    let mut new = old.clone();
    new.max_invalid_attempts = MaxInvalidAttempts::Five;
    new.methods.sms = true;
    new.sms_provider = Some("twilio".into());
    let d = settings_diff(&old, &new);
    assert_eq!(
        d,
        "-max_invalid_attempts = 3\n+max_invalid_attempts = 5\n-methods.sms = false\n+methods.sms = true\n+sms_provider = \"twilio\""
    );
    assert_eq!(settings_diff(&old, &old), "");
}
