//! The `[http]` section of `twofoldd.toml`: listener, issuer, first factor, clients, lifetimes,
//! limits.
//!
//! ```toml
//! [http]
//! listen = "127.0.0.1:8080"
//! issuer = "https://sso.example.com"      # public URL; links and `iss` never come from Host
//! first_factor = "pam"                    # or "local" (argon2id hashes in the store)
//! pam_service = "twofold-web"             # /etc/pam.d/twofold-web
//!
//! [[http.clients]]
//! client_id = "wiki"
//! name = "Team wiki"
//! # argon2id PHC string of the secret (the plaintext is never in the file)
//! client_secret_hash = "$argon2id$v=19$m=19456,t=2,p=1$..."
//! redirect_uris = ["https://wiki.example.com/oidc/callback"]
//! post_logout_redirect_uris = ["https://wiki.example.com/"]
//! # RFC 7591 grant types: "authorization_code" (required) and, if the client refreshes,
//! # "refresh_token". Default: both. Without "refresh_token" no refresh token is issued.
//! grant_types = ["authorization_code"]
//! ```

use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};

/// `[http]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on; empty disables the listener.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The issuer identifier (public base URL, no trailing slash, no query). Default:
    /// `http://LISTEN` when the listener is on a loopback address.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Allows a plain-`http` issuer on a non-loopback address (behind a TLS-terminating proxy).
    #[serde(default)]
    pub insecure_http: bool,
    /// First factor on the web: `local` (argon2id hashes kept in the store) or `pam` (the
    /// host's PAM stack through `pam_service`).
    #[serde(default = "default_first_factor")]
    pub first_factor: String,
    /// PAM service used when `first_factor = "pam"` (`/etc/pam.d/NAME`).
    #[serde(default = "default_pam_service")]
    pub pam_service: String,
    /// Clients registered in the configuration (more may be registered in the store).
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
    /// Authorization code lifetime in seconds (1..=600; default 60).
    #[serde(default = "default_code_ttl")]
    pub code_ttl_secs: i64,
    /// Access token lifetime in seconds (default 3600).
    #[serde(default = "default_token_ttl")]
    pub access_token_ttl_secs: i64,
    /// ID token lifetime in seconds (default 3600).
    #[serde(default = "default_token_ttl")]
    pub id_token_ttl_secs: i64,
    /// Absolute lifetime of a refresh-token grant in seconds (default 30 days).
    #[serde(default = "default_refresh_ttl")]
    pub refresh_token_ttl_secs: i64,
    /// A web session ends after this many idle seconds (default 1800, NIST AAL2).
    #[serde(default = "default_session_idle")]
    pub session_idle_secs: i64,
    /// A web session ends this many seconds after sign-in whatever the activity (default 12 h).
    #[serde(default = "default_session_max")]
    pub session_max_secs: i64,
    /// Changing a factor on the profile page needs a sign-in at most this old (default 300 s).
    #[serde(default = "default_reauth")]
    pub reauth_secs: i64,
    /// Signing keys are replaced after this many days (default 90).
    #[serde(default = "default_rotation_days")]
    pub key_rotation_days: i64,
    /// A new key is published in the JWKS this long before it signs (default 1 day).
    #[serde(default = "default_publish_ahead")]
    pub key_publish_ahead_secs: i64,
    /// Default ID-token algorithm: `RS256` (default) or `EdDSA`.
    #[serde(default = "default_alg")]
    pub id_token_alg: String,
    /// Password hashing (and PAM) runs on this many threads at once (default: CPU count).
    #[serde(default)]
    pub hash_threads: Option<usize>,
    /// Sign-ins waiting for a hashing thread beyond this answer 503 with Retry-After.
    #[serde(default = "default_hash_queue")]
    pub hash_queue: usize,
    /// Sign-in and code submissions per source address per minute (default 30).
    #[serde(default = "default_signin_rate")]
    pub signin_per_minute: u32,
    /// Token and userinfo requests per source address per minute (default 600).
    #[serde(default = "default_token_rate")]
    pub token_per_minute: u32,
    /// Proxies whose `X-Forwarded-For` is believed (exact addresses). Default: none.
    #[serde(default)]
    pub trusted_proxies: Vec<IpAddr>,
    /// Largest request body in bytes (default 64 KiB).
    #[serde(default = "default_body_limit")]
    pub max_body_bytes: usize,
}

/// One `[[http.clients]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// `client_id`.
    pub client_id: String,
    /// Name shown on the sign-in page.
    #[serde(default)]
    pub name: Option<String>,
    /// argon2id PHC string of the secret. Absent: a public client (PKCE S256 required).
    #[serde(default)]
    pub client_secret_hash: Option<String>,
    /// Redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser, matched exactly.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types the client may use (RFC 7591 `grant_types`): `authorization_code`, and
    /// `refresh_token` if it refreshes (only then does it get refresh tokens). Default: both.
    #[serde(default = "twofold_core::store::oidc::default_grant_types")]
    pub grant_types: Vec<String>,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_first_factor() -> String {
    "local".into()
}
fn default_pam_service() -> String {
    "twofold-web".into()
}
fn default_code_ttl() -> i64 {
    60
}
fn default_token_ttl() -> i64 {
    3600
}
fn default_refresh_ttl() -> i64 {
    30 * 86_400
}
fn default_session_idle() -> i64 {
    1800
}
fn default_session_max() -> i64 {
    12 * 3600
}
fn default_reauth() -> i64 {
    300
}
fn default_rotation_days() -> i64 {
    90
}
fn default_publish_ahead() -> i64 {
    86_400
}
fn default_alg() -> String {
    "RS256".into()
}
fn default_hash_queue() -> usize {
    64
}
fn default_signin_rate() -> u32 {
    30
}
fn default_token_rate() -> u32 {
    600
}
fn default_body_limit() -> usize {
    64 * 1024
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: default_listen(),
            issuer: None,
            insecure_http: false,
            first_factor: default_first_factor(),
            pam_service: default_pam_service(),
            clients: Vec::new(),
            code_ttl_secs: default_code_ttl(),
            access_token_ttl_secs: default_token_ttl(),
            id_token_ttl_secs: default_token_ttl(),
            refresh_token_ttl_secs: default_refresh_ttl(),
            session_idle_secs: default_session_idle(),
            session_max_secs: default_session_max(),
            reauth_secs: default_reauth(),
            key_rotation_days: default_rotation_days(),
            key_publish_ahead_secs: default_publish_ahead(),
            id_token_alg: default_alg(),
            hash_threads: None,
            hash_queue: default_hash_queue(),
            signin_per_minute: default_signin_rate(),
            token_per_minute: default_token_rate(),
            trusted_proxies: Vec::new(),
            max_body_bytes: default_body_limit(),
        }
    }
}

/// Which first factor the web sign-in checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstFactor {
    /// argon2id hashes kept in the store.
    Local,
    /// The host's PAM stack through this service.
    Pam(String),
}

impl HttpConfig {
    /// Checks the section; every message names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.listen.is_empty() {
            return Ok(());
        }
        self.issuer_url()?;
        match self.first_factor.as_str() {
            "local" => {}
            "pam" => {
                if self.pam_service.is_empty()
                    || !self
                        .pam_service
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                {
                    return Err(format!(
                        "http.pam_service {:?} is not a valid PAM service name",
                        self.pam_service
                    ));
                }
            }
            other => {
                return Err(format!(
                    "http.first_factor must be \"local\" or \"pam\", not {other:?}"
                ));
            }
        }
        if !(1..=600).contains(&self.code_ttl_secs) {
            return Err(format!(
                "http.code_ttl_secs must be between 1 and 600 (RFC 6749 §4.1.2), not {}",
                self.code_ttl_secs
            ));
        }
        for (name, v) in [
            ("http.access_token_ttl_secs", self.access_token_ttl_secs),
            ("http.id_token_ttl_secs", self.id_token_ttl_secs),
            ("http.refresh_token_ttl_secs", self.refresh_token_ttl_secs),
            ("http.session_idle_secs", self.session_idle_secs),
            ("http.session_max_secs", self.session_max_secs),
            ("http.reauth_secs", self.reauth_secs),
            ("http.key_rotation_days", self.key_rotation_days),
        ] {
            if v <= 0 {
                return Err(format!("{name} must be positive, not {v}"));
            }
        }
        if self.key_publish_ahead_secs < 0 {
            return Err("http.key_publish_ahead_secs must not be negative".into());
        }
        if !matches!(self.id_token_alg.as_str(), "RS256" | "EdDSA") {
            return Err(format!(
                "http.id_token_alg must be \"RS256\" or \"EdDSA\", not {:?}",
                self.id_token_alg
            ));
        }
        if self.hash_threads == Some(0) {
            return Err("http.hash_threads must be at least 1".into());
        }
        if self.signin_per_minute == 0 || self.token_per_minute == 0 {
            return Err(
                "http.signin_per_minute and http.token_per_minute must be at least 1".into(),
            );
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.clients {
            c.validate()?;
            if !seen.insert(c.client_id.as_str()) {
                return Err(format!(
                    "http.clients: client_id {:?} is registered twice",
                    c.client_id
                ));
            }
        }
        Ok(())
    }

    /// The issuer URL, checked: `https`, or `http` on loopback (or with `insecure_http`); no
    /// query, fragment or trailing slash.
    pub fn issuer_url(&self) -> Result<String, String> {
        let raw = match &self.issuer {
            Some(i) => i.clone(),
            None => {
                let addr: SocketAddr = self.listen.parse().map_err(|_| {
                    format!(
                        "http.issuer is not set and http.listen {:?} is not an address; set http.issuer to the public URL",
                        self.listen
                    )
                })?;
                if !addr.ip().is_loopback() {
                    return Err(format!(
                        "http.issuer must be set when http.listen ({}) is not a loopback address",
                        self.listen
                    ));
                }
                format!("http://{addr}")
            }
        };
        let u =
            url::Url::parse(&raw).map_err(|e| format!("http.issuer {raw:?} is not a URL: {e}"))?;
        if u.query().is_some() || u.fragment().is_some() || raw.ends_with('/') {
            return Err(format!(
                "http.issuer {raw:?} must have no query, fragment or trailing slash"
            ));
        }
        match u.scheme() {
            "https" => {}
            "http" if self.insecure_http || host_is_loopback(&u) => {}
            "http" => {
                return Err(format!(
                    "http.issuer {raw:?} is plain http on a non-loopback host; use https, or set http.insecure_http = true behind a TLS-terminating proxy"
                ));
            }
            s => return Err(format!("http.issuer {raw:?} has scheme {s:?}")),
        }
        Ok(raw)
    }

    /// The first factor chosen.
    pub fn first_factor(&self) -> FirstFactor {
        if self.first_factor == "pam" {
            FirstFactor::Pam(self.pam_service.clone())
        } else {
            FirstFactor::Local
        }
    }
}

fn host_is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

impl ClientConfig {
    fn validate(&self) -> Result<(), String> {
        let id = &self.client_id;
        if id.is_empty()
            || id.len() > 128
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "http.clients: client_id {id:?} must be 1–128 characters of A–Z a–z 0–9 - _ ."
            ));
        }
        if let Some(h) = &self.client_secret_hash
            && argon2::PasswordHash::new(h).is_err()
        {
            return Err(format!(
                "http.clients {id:?}: client_secret_hash is not a PHC string (expected $argon2id$...)"
            ));
        }
        if self.redirect_uris.is_empty() {
            return Err(format!("http.clients {id:?}: redirect_uris is empty"));
        }
        for u in self
            .redirect_uris
            .iter()
            .chain(&self.post_logout_redirect_uris)
        {
            check_redirect_uri(u).map_err(|e| format!("http.clients {id:?}: {e}"))?;
        }
        twofold_core::store::oidc::check_grant_types(&self.grant_types)
            .map_err(|e| format!("http.clients {id:?}: grant_types: {e}"))?;
        Ok(())
    }
}

/// A registrable redirect URI: absolute, no fragment, `https` or `http` on loopback (or a
/// private-use scheme for native apps), never `javascript:`/`data:`/`file:`.
pub fn check_redirect_uri(u: &str) -> Result<(), String> {
    let parsed = url::Url::parse(u).map_err(|e| format!("redirect URI {u:?} is not a URL: {e}"))?;
    if parsed.fragment().is_some() {
        return Err(format!("redirect URI {u:?} must not have a fragment"));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if host_is_loopback(&parsed) => Ok(()),
        "http" => Err(format!(
            "redirect URI {u:?} is plain http on a non-loopback host"
        )),
        "javascript" | "data" | "file" | "vbscript" | "blob" | "about" => {
            Err(format!("redirect URI {u:?} has a forbidden scheme"))
        }
        s if s.contains('.') => Ok(()),
        s => Err(format!(
            "redirect URI {u:?}: scheme {s:?} is neither https nor a reverse-domain private-use scheme"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> Result<HttpConfig, String> {
        let c: HttpConfig = toml::from_str(extra).map_err(|e| e.to_string())?;
        c.validate().map(|_| c)
    }

    #[test]
    fn the_default_issuer_is_the_loopback_listener() {
        let c = cfg("").unwrap();
        assert_eq!(c.issuer_url().unwrap(), "http://127.0.0.1:8080");
    }

    #[test]
    fn a_public_listener_needs_an_https_issuer() {
        let err = cfg("listen = \"0.0.0.0:8080\"").unwrap_err();
        assert!(err.contains("http.issuer must be set"), "{err}");
        let err =
            cfg("listen = \"0.0.0.0:8080\"\nissuer = \"http://sso.example.com\"").unwrap_err();
        assert!(err.contains("insecure_http"), "{err}");
        cfg("listen = \"0.0.0.0:8080\"\nissuer = \"https://sso.example.com\"").unwrap();
        let err = cfg("issuer = \"https://sso.example.com/\"").unwrap_err();
        assert!(err.contains("trailing slash"), "{err}");
    }

    #[test]
    fn bad_clients_are_refused_with_their_id() {
        let err = cfg("[[clients]]\nclient_id = \"a b\"\nredirect_uris = [\"https://x/cb\"]")
            .unwrap_err();
        assert!(err.contains("a b"), "{err}");
        let err =
            cfg("[[clients]]\nclient_id = \"app\"\nredirect_uris = [\"javascript:alert(1)\"]")
                .unwrap_err();
        assert!(err.contains("forbidden scheme"), "{err}");
        let err = cfg("[[clients]]\nclient_id = \"app\"\nclient_secret_hash = \"plain\"\nredirect_uris = [\"https://x/cb\"]").unwrap_err();
        assert!(err.contains("PHC"), "{err}");
        let err = cfg("[[clients]]\nclient_id = \"app\"\nredirect_uris = [\"https://x/cb\"]\n[[clients]]\nclient_id = \"app\"\nredirect_uris = [\"https://x/cb\"]").unwrap_err();
        assert!(err.contains("twice"), "{err}");
    }

    #[test]
    fn a_clients_grant_types_default_to_both_and_bad_ones_are_refused_by_name() {
        let client = |extra: &str| {
            cfg(&format!(
                "[[clients]]\nclient_id = \"app\"\nredirect_uris = [\"https://x/cb\"]\n{extra}"
            ))
        };
        let c = client("").unwrap();
        assert_eq!(
            c.clients[0].grant_types,
            ["authorization_code", "refresh_token"]
        );
        let c = client("grant_types = [\"authorization_code\"]").unwrap();
        assert_eq!(c.clients[0].grant_types, ["authorization_code"]);
        for (list, named) in [
            ("[]", "empty"),
            ("[\"authorization_code\", \"implicit\"]", "\"implicit\""),
            (
                "[\"authorization_code\", \"authorization_code\"]",
                "\"authorization_code\" is listed twice",
            ),
            ("[\"refresh_token\"]", "\"authorization_code\""),
        ] {
            let err = client(&format!("grant_types = {list}")).unwrap_err();
            assert!(
                err.contains("http.clients \"app\": grant_types") && err.contains(named),
                "{list}: {err}"
            );
        }
    }

    #[test]
    fn lifetimes_and_choices_are_checked() {
        assert!(
            cfg("code_ttl_secs = 601")
                .unwrap_err()
                .contains("code_ttl_secs")
        );
        assert!(
            cfg("first_factor = \"ldap\"")
                .unwrap_err()
                .contains("first_factor")
        );
        assert!(
            cfg("id_token_alg = \"HS256\"")
                .unwrap_err()
                .contains("id_token_alg")
        );
        assert!(cfg("bogus = 1").is_err());
    }
}
