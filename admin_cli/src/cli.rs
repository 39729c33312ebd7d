//! The command-line definition (clap derive). Completions and the man page are generated from it.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Administer twofold: settings, users, resets, integrations, signing keys, audit, `why` and
/// `doctor`.
///
/// Talks to the local twofoldd over its admin socket (root only). Every change is recorded in
/// the audit trail with the administrator's name. Exit status: 0 ok, 1 a problem was found or
/// the daemon refused, 2 bad usage.
#[derive(Parser, Debug)]
#[command(
    name = "twofoldctl",
    version,
    about,
    long_about,
    propagate_version = true
)]
pub struct Cli {
    /// The daemon's admin socket.
    #[arg(
        long,
        global = true,
        env = "TWOFOLD_ADMIN_SOCKET",
        default_value = twofold_core::proto::DEFAULT_ADMIN_SOCKET,
        value_name = "PATH"
    )]
    pub socket: PathBuf,
    /// Talk to a remote daemon's admin API instead of the local socket (https://HOST[:PORT];
    /// plain http only to a loopback address). Needs --token-file.
    #[arg(
        long,
        global = true,
        env = "TWOFOLD_ADMIN_URL",
        value_name = "URL",
        requires = "token_file"
    )]
    pub url: Option<String>,
    /// File holding the admin token for --url (see `twofoldctl admin-token new`).
    #[arg(
        long,
        global = true,
        env = "TWOFOLD_ADMIN_TOKEN_FILE",
        value_name = "FILE"
    )]
    pub token_file: Option<PathBuf>,
    /// Print one JSON document instead of tables (stable keys, for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The nouns.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show, change, export and import the settings.
    #[command(subcommand)]
    Settings(SettingsCmd),
    /// Users: list, overview, show, resets, unlock, backup codes, phone and email.
    #[command(subcommand)]
    Users(UsersCmd),
    /// Integrations (SMS providers, SMTP relays): add, show, list, select, check, test.
    #[command(subcommand)]
    Integrations(IntegrationsCmd),
    /// Email sender: send a test email.
    #[command(subcommand)]
    Email(EmailCmd),
    /// Delivery of SMS and email codes: the delivery log.
    #[command(subcommand)]
    Delivery(DeliveryCmd),
    /// ID-token signing keys of the OpenID Connect provider: list, rotate.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// OpenID Connect clients (relying parties) registered in the store: list, add, remove.
    #[command(subcommand)]
    Clients(ClientsCmd),
    /// Query the audit trail.
    Audit(AuditArgs),
    /// Explain a user's last decisions, or a hypothetical sign-in, reason by reason.
    Why(WhyArgs),
    /// Check the whole setup against the support guide's symptoms; name each cause and its fix.
    Doctor(DoctorArgs),
    /// Create a token for the remote admin API: prints the token (keep it in a 0600 file) and
    /// the `[admin] api_tokens` entry for twofoldd.toml. Talks to no daemon.
    #[command(name = "admin-token")]
    AdminToken {
        /// Always `new`.
        #[arg(value_parser = ["new"])]
        action: String,
        /// Who holds the token (recorded as admin-token:NAME in the audit trail).
        name: String,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (twofoldctl.1 and one per subcommand) into DIR.
    #[command(name = "gen-man")]
    GenMan {
        /// Output directory (created if missing).
        dir: PathBuf,
    },
}

/// `settings ...`
#[derive(Subcommand, Debug)]
pub enum SettingsCmd {
    /// Show every setting, marking those at their default.
    Show,
    /// Change settings: `set KEY VALUE [KEY VALUE]...` or `set KEY=VALUE...`, validated as a whole.
    ///
    /// Keys are dotted (`methods.sms`, `device_recognition.remember_days`, `roles.wheel.exempt`);
    /// values are TOML (`true`, `5`, `"no_limit"`); bare words are taken as text.
    Set {
        /// KEY VALUE pairs, or KEY=VALUE words.
        #[arg(required = true, num_args = 1.., value_name = "KEY VALUE")]
        pairs: Vec<String>,
    },
    /// Print the settings as TOML.
    Export {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Replace the settings with a TOML file (validated as a whole; missing keys take defaults).
    Import {
        /// The TOML file.
        file: PathBuf,
    },
}

/// Enrollment status filter for `users list`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
#[value(rename_all = "snake_case")]
pub enum StatusFilter {
    /// Known but not enrolled.
    NotEnrolled,
    /// A secret was issued but never confirmed.
    Pending,
    /// Enrolled.
    Enrolled,
    /// Locked by consecutive failed codes.
    Locked,
}

impl StatusFilter {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::NotEnrolled => "not_enrolled",
            StatusFilter::Pending => "pending",
            StatusFilter::Enrolled => "enrolled",
            StatusFilter::Locked => "locked",
        }
    }
}

/// `users ...`
#[derive(Subcommand, Debug)]
pub enum UsersCmd {
    /// List users with their enrollment status and methods.
    List {
        /// Only users in this state.
        #[arg(long, value_enum)]
        status: Option<StatusFilter>,
    },
    /// Counts per state: not enrolled, pending, enrolled, locked (the Overview tab).
    Overview,
    /// One user: status, methods, default method, phone and email (masked), backup codes left,
    /// last sign-ins.
    Show {
        /// Login name.
        user: String,
    },
    /// Reset a user's enrollment: deletes the secret and backup codes; they enroll again at the
    /// next sign-in.
    Reset {
        /// Login name.
        user: String,
    },
    /// Reset every user in the pending state at once (needs --yes).
    #[command(name = "reset-pending")]
    ResetPending {
        /// Confirm: reset them all.
        #[arg(long)]
        yes: bool,
    },
    /// Clear a user's lock after too many consecutive failed codes.
    Unlock {
        /// Login name.
        user: String,
    },
    /// Regenerate a user's backup codes (shown once; the old ones stop working).
    #[command(name = "backup-codes")]
    BackupCodes {
        /// Login name.
        user: String,
    },
    /// Email every pending user a reminder with the manual-entry instructions.
    #[command(name = "remind-pending")]
    RemindPending,
    /// Set a user's phone number (international format with country code, e.g. +14155550123).
    #[command(name = "set-phone")]
    SetPhone {
        /// Login name.
        user: String,
        /// The number.
        number: String,
        /// Also for a user twofold has not seen sign in yet (creates the user, not enrolled).
        #[arg(long)]
        create: bool,
    },
    /// Set a user's email address.
    #[command(name = "set-email")]
    SetEmail {
        /// Login name.
        user: String,
        /// The address.
        address: String,
        /// Also for a user twofold has not seen sign in yet (creates the user, not enrolled).
        #[arg(long)]
        create: bool,
    },
    /// Set a user's own default method (authenticator_app, sms, email).
    #[command(name = "set-default-method")]
    SetDefaultMethod {
        /// Login name.
        user: String,
        /// The method.
        method: String,
    },
}

/// `integrations ...`
#[derive(Subcommand, Debug)]
pub enum IntegrationsCmd {
    /// Add (or replace) an SMS provider integration.
    Add(IntegrationAddArgs),
    /// Show one integration (credentials redacted) with its health.
    Show {
        /// Integration name.
        name: String,
    },
    /// List integrations.
    List,
    /// Select this integration as the SMS provider.
    #[command(name = "use-for-sms")]
    UseForSms {
        /// Integration name.
        name: String,
    },
    /// Check an integration's credentials against the provider.
    Check {
        /// Integration name (default: the selected SMS provider).
        name: Option<String>,
    },
    /// Send a test SMS through the selected (or named) integration.
    #[command(name = "test-sms")]
    TestSms {
        /// Destination, international format.
        number: String,
        /// Integration to use instead of the selected SMS provider.
        #[arg(long)]
        integration: Option<String>,
    },
}

/// Kinds of integration.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
#[value(rename_all = "snake_case")]
pub enum IntegrationKind {
    /// A Twilio-compatible Messages API (SMS).
    Twilio,
    /// A generic JSON webhook signed with HMAC-SHA256 (SMS).
    Webhook,
    /// An SMTP relay (email).
    Smtp,
}

/// `integrations add`
///
/// Settings by kind: twilio `account_sid`, `from` (E.164) or `messaging_service_sid`,
/// `api_key_sid`, `base_url`; webhook `url`; smtp `host`, `port`, `security`
/// (starttls, tls, none), `username`. Secrets by kind: twilio `auth_token`, webhook
/// `signing_key`, smtp `password`, each read from a file so it stays out of the shell history.
#[derive(Args, Debug)]
pub struct IntegrationAddArgs {
    /// Integration name (letters, digits, '-', '_', '.').
    pub name: String,
    /// What it talks to.
    #[arg(long, value_enum)]
    pub kind: IntegrationKind,
    /// A setting, KEY=VALUE (repeat): `--set account_sid=AC... --set from=+14155550100`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub settings: Vec<String>,
    /// A secret read from a file, KEY=FILE (repeat): `--secret-file auth_token=/root/twilio.token`.
    #[arg(long = "secret-file", value_name = "KEY=FILE")]
    pub secret_files: Vec<String>,
    /// Replace an existing integration of this name (its health history is kept).
    #[arg(long)]
    pub replace: bool,
}

/// `email ...`
#[derive(Subcommand, Debug)]
pub enum EmailCmd {
    /// Send a test email through the configured sender.
    Test {
        /// Destination address.
        address: String,
    },
}

/// `delivery ...`
#[derive(Subcommand, Debug)]
pub enum DeliveryCmd {
    /// The delivery log: every send attempt with its outcome.
    Log {
        /// Only this user.
        #[arg(long)]
        user: Option<String>,
        /// Only this channel.
        #[arg(long, value_parser = ["sms", "email"])]
        channel: Option<String>,
        /// Not before (2026-11-20, 2026-11-20T10:00:00Z, unix seconds, or 30m / 12h / 7d ago).
        #[arg(long)]
        since: Option<String>,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Messages per integration and day (queued, sent, failed, provider calls): what the SMS
    /// bill is made of.
    Counts {
        /// Days back, today included.
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Only this integration.
        #[arg(long)]
        integration: Option<String>,
    },
}

/// `clients ...`
#[derive(Subcommand, Debug)]
pub enum ClientsCmd {
    /// List the registered clients: those of the configuration file and those of the store.
    ///
    /// Columns: client id, name, type (public or confidential), where it is registered
    /// (config or store), redirect URIs, grant types.
    List,
    /// Register a client in the store.
    ///
    /// A confidential client gets a random secret, printed once (it is stored only as its
    /// argon2id hash and cannot be shown again). A public client (--public) has no secret and
    /// must use PKCE. An id already registered in the configuration file or the store is
    /// refused.
    Add {
        /// The client_id (1 to 256 bytes, no spaces).
        client_id: String,
        /// A redirect URI (absolute http or https URL, no fragment); repeat for more.
        #[arg(long = "redirect-uri", value_name = "URI", required = true)]
        redirect_uris: Vec<String>,
        /// A post-logout redirect URI; repeat for more.
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// Name shown on the sign-in page (default: the client id).
        #[arg(long)]
        name: Option<String>,
        /// A public client: no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// Grant types, comma-separated: authorization_code, refresh_token (default: both).
        #[arg(long = "grant-types", value_name = "TYPES", value_delimiter = ',')]
        grant_types: Vec<String>,
    },
    /// Remove a client from the store and revoke its tokens (asks first unless --yes).
    ///
    /// Clients of the configuration file are removed by editing twofoldd.toml. Without --yes
    /// it asks on a terminal, and elsewhere changes nothing and exits 2.
    Remove {
        /// The client_id.
        client_id: String,
        /// Do not ask: remove.
        #[arg(long)]
        yes: bool,
    },
}

/// `keys ...`
#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// List the ID-token signing keys and what each does now.
    ///
    /// Columns: kid, algorithm, state, when it was created, when it signs from, when it is no
    /// longer published (retire after). States: active (signs now), next (published, signs later), published (replaced; kept in
    /// the JWKS until the ID tokens it signed have expired), retired (no longer published).
    List,
    /// Rotate the signing keys now (asks first unless --yes).
    ///
    /// A new RS256 and a new EdDSA key are published in the JWKS at once and start signing after
    /// `[http] key_publish_ahead_secs`; the keys they replace sign until then and stay published
    /// until the ID tokens they signed have expired. Without --yes it asks on a terminal, and
    /// elsewhere changes nothing and exits 2.
    ///
    /// Other twofoldd nodes on the same store publish the new keys at their next key check
    /// (within five minutes).
    Rotate {
        /// Do not ask: rotate.
        #[arg(long)]
        yes: bool,
    },
}

/// `audit`
#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Only events about this user.
    #[arg(long)]
    pub user: Option<String>,
    /// Not before (2026-11-20, 2026-11-20T10:00:00Z, unix seconds, or 30m / 12h / 7d ago).
    #[arg(long)]
    pub since: Option<String>,
    /// Not after (same forms as --since).
    #[arg(long)]
    pub until: Option<String>,
    /// Only events whose type starts with this (`auth.`, `settings.change`, `user.reset`).
    #[arg(long = "type", value_name = "PREFIX")]
    pub event_type: Option<String>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
}

/// `why`
#[derive(Args, Debug)]
pub struct WhyArgs {
    /// Login name.
    pub user: String,
    /// Decide a hypothetical sign-in through this service (sshd, login, sudo, oidc:CLIENT).
    #[arg(long)]
    pub service: Option<String>,
    /// Decide a hypothetical sign-in from this remote address.
    #[arg(long)]
    pub rhost: Option<String>,
    /// Roles (groups) of the hypothetical sign-in; repeat for several (default: the user's
    /// Unix groups from `id -Gn`, when the user exists on this host).
    #[arg(long = "role", value_name = "GROUP")]
    pub roles: Vec<String>,
    /// How many recent decisions to explain.
    #[arg(long, default_value_t = 5)]
    pub limit: u32,
}

/// `doctor`
#[derive(Args, Debug, Clone)]
pub struct DoctorArgs {
    /// sshd configuration to check.
    #[arg(long, default_value = "/etc/ssh/sshd_config", value_name = "PATH")]
    pub sshd_config: PathBuf,
    /// How to learn sshd's effective settings: run `sshd -T` (falling back to reading the files),
    /// or only read the files.
    #[arg(long, value_enum, default_value_t = SshdMode::Auto)]
    pub sshd_mode: SshdMode,
    /// The sshd binary for `sshd -T`.
    #[arg(long, default_value = "/usr/sbin/sshd", value_name = "PATH")]
    pub sshd_bin: PathBuf,
    /// PAM service directory.
    #[arg(long, default_value = "/etc/pam.d", value_name = "DIR")]
    pub pam_dir: PathBuf,
    /// PAM services that must ask for the second factor (repeat; default sshd, login, sudo).
    #[arg(long = "pam-service", value_name = "NAME")]
    pub pam_services: Vec<String>,
    /// Measure clock skew against this NTP/SNTP server (HOST:PORT, e.g. pool.ntp.org:123).
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "ntp")]
    pub time_source: Option<String>,
    /// Check the system's NTP synchronisation status (timedatectl).
    #[arg(long)]
    pub ntp: bool,
    /// Warn when at least this many users are pending.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub pending_threshold: u32,
    /// Skip the host checks (sshd, PAM, clock): check only the daemon and its settings.
    #[arg(long)]
    pub daemon_only: bool,
    /// Do not contact the SMS provider and SMTP relay; report their last known health instead.
    #[arg(long)]
    pub no_provider_check: bool,
}

/// How `doctor` reads sshd's effective configuration.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
#[value(rename_all = "kebab-case")]
pub enum SshdMode {
    /// `sshd -T -f FILE` when sshd is installed and works, else read the files.
    Auto,
    /// Only `sshd -T`; a failure to run it is reported.
    SshdT,
    /// Only read the files (sshd_config and its Include drop-ins).
    Files,
}
