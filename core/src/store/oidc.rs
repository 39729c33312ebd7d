//! State of the OpenID Connect provider: registered clients, authorization codes, access and
//! refresh tokens, web sign-in sessions and the ID-token signing keys.
//!
//! Every bearer value (code, token, session cookie) is stored only as a 32-byte hash computed by
//! the caller (HMAC under the deployment pepper); the raw value never reaches the database.
//! Single use holds in the store operation itself:
//! - [`OidcStore::consume_code`] is one conditional `UPDATE ... WHERE used_at IS NULL RETURNING`:
//!   under N concurrent presentations exactly one caller gets [`CodeUse::Fresh`]; every later
//!   presentation sees [`CodeUse::Replayed`] with the grant to revoke (RFC 6749 §4.1.2).
//! - [`OidcStore::redeem_code`] is that same statement followed, in the same transaction where
//!   the backend can, by the tokens the caller builds from the spent code: one commit per
//!   redemption, and the code is never left spent without its tokens after a crash.
//! - [`OidcStore::rotate_refresh_token`] spends the presented refresh token and stores its
//!   successor in one transaction; presenting a spent one is [`RefreshUse::Reused`], and the
//!   caller revokes the whole grant (reuse detection, RFC 9700).
//!
//! A *grant* is one authorization: the code, and every access and refresh token descended from
//! it share its `grant_id`, so [`OidcStore::revoke_grant`] kills them all at once.

use super::{Commit, Write};
use crate::clock::UnixTime;
use crate::error::Result;

/// What the token endpoint stores for a code it just spent: the access token and, for a new
/// grant, its first refresh token; `None` when its checks (client, redirect URI, PKCE, expiry)
/// refused the code, which then stays spent with nothing issued.
pub type IssuedTokens = Option<(AccessToken, Option<RefreshToken>)>;

/// A client (relying party) registered in the store. Clients may also come from the daemon's
/// configuration file; both kinds look the same to the provider.
#[derive(Clone, PartialEq, Eq)]
pub struct OidcClient {
    /// `client_id`.
    pub client_id: String,
    /// Human name shown on pages.
    pub name: String,
    /// argon2id PHC string of the client secret; `None` for a public client (PKCE required).
    pub secret_hash: Option<String>,
    /// Registered redirect URIs, compared by exact string match.
    pub redirect_uris: Vec<String>,
    /// Registered `post_logout_redirect_uri` values.
    pub post_logout_redirect_uris: Vec<String>,
    /// Registered grant types (RFC 7591 §2 `grant_types`), checked by [`check_grant_types`]:
    /// `authorization_code`, and `refresh_token` when the client may refresh (only then is a
    /// refresh token issued with its codes). Clients registered before grant types were stored
    /// read as both ([`default_grant_types`]).
    pub grant_types: Vec<String>,
    /// When registered.
    pub created_at: UnixTime,
}

impl OidcClient {
    /// Whether the client registered `grant_type` (e.g. [`GRANT_REFRESH_TOKEN`]).
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

/// `grant_type` of the authorization code grant (RFC 6749 §4.1): how every grant starts.
pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
/// `grant_type` of the refresh token grant (RFC 6749 §6).
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
/// Every grant type a client may register, in their usual order.
pub const GRANT_TYPES: [&str; 2] = [GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN];

/// The grant types of a client that registered none: both (a refresh token with every code).
pub fn default_grant_types() -> Vec<String> {
    GRANT_TYPES.iter().map(|g| g.to_string()).collect()
}

/// Checks a client's `grant_types`: not empty, only [`GRANT_TYPES`], each once, and
/// `authorization_code` always (it is the only way a grant starts). The message names the
/// offending value, for the person who wrote it.
pub fn check_grant_types(grant_types: &[String]) -> std::result::Result<(), String> {
    if grant_types.is_empty() {
        return Err(format!(
            "the list of grant types is empty; it must include {GRANT_AUTHORIZATION_CODE:?}"
        ));
    }
    for (i, g) in grant_types.iter().enumerate() {
        if !GRANT_TYPES.contains(&g.as_str()) {
            return Err(format!(
                "grant type {g:?} is not supported (supported: {})",
                GRANT_TYPES.join(", ")
            ));
        }
        if grant_types[..i].contains(g) {
            return Err(format!("grant type {g:?} is listed twice"));
        }
    }
    if !grant_types.iter().any(|g| g == GRANT_AUTHORIZATION_CODE) {
        return Err(format!(
            "grant types {grant_types:?} lack {GRANT_AUTHORIZATION_CODE:?}, the only way a grant starts"
        ));
    }
    Ok(())
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("public", &self.secret_hash.is_none())
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .finish_non_exhaustive()
    }
}

/// The input check of [`OidcStore::put_client`], shared by the backends.
pub(crate) fn check_client(c: &OidcClient) -> Result<()> {
    check_grant_types(&c.grant_types)
        .map_err(|e| crate::Error::Invalid(format!("client {:?}: grant_types: {e}", c.client_id)))
}

/// How the user authenticated: carried from the sign-in into codes, tokens and ID tokens.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthContext {
    /// The signed-in user (the `sub`).
    pub user: String,
    /// When the user authenticated (`auth_time`).
    pub auth_time: UnixTime,
    /// Authentication methods references (`amr`), e.g. `["pwd", "otp", "mfa"]`.
    pub amr: Vec<String>,
    /// Authentication context class (`acr`).
    pub acr: String,
}

/// An authorization code as stored (the code itself only as its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    /// Hash of the code.
    pub hash: [u8; 32],
    /// The grant this code starts.
    pub grant_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The `redirect_uri` of the authorization request.
    pub redirect_uri: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// `nonce` of the request, echoed into the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 `code_challenge`, if one was sent.
    pub code_challenge: Option<String>,
    /// How the user authenticated.
    pub auth: AuthContext,
    /// When issued.
    pub created_at: UnixTime,
    /// When it stops being redeemable.
    pub expires_at: UnixTime,
}

/// What presenting a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeUse {
    /// First presentation: the code is now spent and this caller may issue tokens (after its own
    /// checks of client, redirect URI, PKCE and expiry).
    Fresh(Box<AuthCode>),
    /// The code had been presented before: refuse, and revoke this grant.
    Replayed {
        /// Grant to revoke.
        grant_id: String,
    },
    /// No such code.
    Unknown,
}

/// An access token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// Hash of the token.
    pub hash: [u8; 32],
    /// Its grant.
    pub grant_id: String,
    /// The client it was issued to (its audience).
    pub client_id: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// Whose.
    pub user: String,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// A refresh token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// Hash of the token.
    pub hash: [u8; 32],
    /// Its grant (the rotation family).
    pub grant_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// How the user authenticated at the start of the grant.
    pub auth: AuthContext,
    /// When issued.
    pub created_at: UnixTime,
    /// Absolute expiry of this token.
    pub expires_at: UnixTime,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// The token was live: it is now spent and its successor stored.
    Rotated(Box<RefreshToken>),
    /// The token had already been rotated (or its grant revoked): refuse, and revoke the grant.
    Reused {
        /// Grant to revoke.
        grant_id: String,
    },
    /// Expired; it is now spent.
    Expired,
    /// No such token.
    Unknown,
}

/// A web sign-in session (the browser's cookie points at it by hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    /// Hash of the cookie value.
    pub hash: [u8; 32],
    /// The signed-in user, once authenticated.
    pub user: Option<String>,
    /// Provider-defined JSON (flow state, CSRF token, authentication context).
    pub data: String,
    /// When created.
    pub created_at: UnixTime,
    /// When it stops being valid (idle or absolute limit, whichever is first).
    pub expires_at: UnixTime,
}

/// An ID-token signing key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// `kid`.
    pub kid: String,
    /// JWS algorithm (`RS256`, `EdDSA`).
    pub alg: String,
    /// The private key (PKCS#8 DER), encrypted by the caller.
    pub private_key: Vec<u8>,
    /// When created.
    pub created_at: UnixTime,
    /// From when it signs (it is published in the JWKS before that).
    pub activates_at: UnixTime,
    /// From when it is no longer published; `None` while current.
    pub retires_at: Option<UnixTime>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("activates_at", &self.activates_at)
            .field("retires_at", &self.retires_at)
            .finish_non_exhaustive()
    }
}

/// The provider's state. Every method is atomic on its own.
pub trait OidcStore: Send + Sync {
    // --- clients ---
    /// Registers a client, replacing one with the same id. Grant types that
    /// [`check_grant_types`] refuses are [`crate::Error::Invalid`], and nothing is stored.
    fn put_client(&self, c: &OidcClient) -> Result<()>;
    /// The client, if registered.
    fn get_client(&self, client_id: &str) -> Result<Option<OidcClient>>;
    /// Every registered client, by id.
    fn list_clients(&self) -> Result<Vec<OidcClient>>;
    /// Removes a client and revokes its tokens. `false` if unknown.
    fn delete_client(&self, client_id: &str) -> Result<bool>;

    // --- authorization codes ---
    /// Stores a fresh code.
    fn put_code(&self, c: &AuthCode) -> Result<()>;
    /// Spends the code (one conditional statement): see [`CodeUse`].
    fn consume_code(&self, hash: &[u8; 32], now: UnixTime) -> Result<CodeUse>;
    /// Spends the code like [`OidcStore::consume_code`] and, when it was fresh, stores the
    /// tokens `issue` builds from it ([`IssuedTokens`]), in one transaction where the backend
    /// can (the default does it in two steps, the code spent first). `issue` is called at most
    /// once, inside the transaction: it must be quick and must not call the store. The code
    /// stays spent whatever `issue` decides; if storing the tokens fails, nothing was issued.
    fn redeem_code(
        &self,
        hash: &[u8; 32],
        now: UnixTime,
        issue: &mut dyn FnMut(&AuthCode) -> IssuedTokens,
    ) -> Result<CodeUse> {
        let used = self.consume_code(hash, now)?;
        if let CodeUse::Fresh(c) = &used
            && let Some((access, refresh)) = issue(c)
        {
            self.put_tokens(&access, refresh.as_ref())?;
        }
        Ok(used)
    }
    /// Stores a fresh code and the browser's session that replaces `old` (a sign-in just
    /// completed), after the engine's `then` (the lines of the decision that granted it), in
    /// one durable transaction where the backend can (PostgreSQL: three steps in that order).
    fn put_code_and_session(
        &self,
        c: &AuthCode,
        old: Option<&[u8; 32]>,
        s: &WebSession,
        then: &[Write],
    ) -> Result<()>;

    // --- tokens ---
    /// Stores an access token.
    fn put_access_token(&self, t: &AccessToken) -> Result<()>;
    /// The live (unexpired, unrevoked) access token with this hash.
    fn get_access_token(&self, hash: &[u8; 32], now: UnixTime) -> Result<Option<AccessToken>>;
    /// Stores the first refresh token of a grant.
    fn put_refresh_token(&self, t: &RefreshToken) -> Result<()>;
    /// Stores an access token and, if given, the first refresh token of its grant, in one
    /// transaction where the backend can (the default does it in two steps).
    fn put_tokens(&self, access: &AccessToken, refresh: Option<&RefreshToken>) -> Result<()> {
        self.put_access_token(access)?;
        if let Some(r) = refresh {
            self.put_refresh_token(r)?;
        }
        Ok(())
    }
    /// Spends the presented refresh token of `client_id` and stores `next` (built by the caller
    /// from the spent one) in one transaction. A token of another client is
    /// [`RefreshUse::Unknown`] and stays untouched.
    fn rotate_refresh_token(
        &self,
        hash: &[u8; 32],
        client_id: &str,
        now: UnixTime,
        next: &mut dyn FnMut(&RefreshToken) -> RefreshToken,
    ) -> Result<RefreshUse>;
    /// Revokes every access and refresh token of the grant.
    fn revoke_grant(&self, grant_id: &str, now: UnixTime) -> Result<()>;
    /// Revokes every token of the user (admin reset, disable).
    fn revoke_user_tokens(&self, user: &str, now: UnixTime) -> Result<()>;

    // --- web sessions ---
    /// Stores (inserts or replaces) a session.
    fn put_web_session(&self, s: &WebSession) -> Result<()>;
    /// The unexpired session with this hash.
    fn get_web_session(&self, hash: &[u8; 32], now: UnixTime) -> Result<Option<WebSession>>;
    /// Deletes a session (logout, rotation). `false` if it did not exist.
    fn delete_web_session(&self, hash: &[u8; 32]) -> Result<bool>;
    /// Stores `s` and deletes the session it replaces (a new id after authentication), in one
    /// transaction where the backend can (the default does it in two steps, new one first).
    fn replace_web_session(&self, old: Option<&[u8; 32]>, s: &WebSession) -> Result<()> {
        self.put_web_session(s)?;
        if let Some(o) = old {
            self.delete_web_session(o)?;
        }
        Ok(())
    }
    /// Like [`OidcStore::replace_web_session`], committed as `commit` says. The provider asks
    /// for [`Commit::Lazy`] only for a session that holds no authentication and replaces none
    /// (a sign-in in progress: after a power loss the user starts it again). The default
    /// commits durably, which is always correct.
    fn replace_web_session_with(
        &self,
        old: Option<&[u8; 32]>,
        s: &WebSession,
        commit: Commit,
    ) -> Result<()> {
        let _ = commit;
        self.replace_web_session(old, s)
    }
    /// Deletes every web session of the user.
    fn delete_user_web_sessions(&self, user: &str) -> Result<u64>;

    // --- signing keys ---
    /// Stores a new signing key.
    fn put_signing_key(&self, k: &SigningKey) -> Result<()>;
    /// Every signing key, oldest first.
    fn list_signing_keys(&self) -> Result<Vec<SigningKey>>;
    /// Sets when a key stops being published.
    fn retire_signing_key(&self, kid: &str, retires_at: UnixTime) -> Result<()>;

    // --- housekeeping ---
    /// Deletes expired codes, tokens and sessions, and keys retired before `now`. Returns the
    /// number of rows removed.
    fn purge_expired(&self, now: UnixTime) -> Result<u64>;
}
