//! The provider's handle on the OIDC half of the daemon's store ([`Store::oidc`]), shareable
//! across blocking tasks. A backend without that half fails every call closed.

use std::sync::Arc;
use twofold_core::clock::UnixTime;
use twofold_core::store::oidc::{
    AccessToken, AuthCode, CodeUse, IssuedTokens, OidcClient, OidcStore, RefreshToken, RefreshUse,
    SigningKey, WebSession,
};
use twofold_core::store::{Commit, Store, Write};
use twofold_core::{Error, Result};

/// [`OidcStore`] over the daemon's [`Store`].
pub struct StoreOidc(pub Arc<dyn Store>);

impl StoreOidc {
    fn s(&self) -> Result<&dyn OidcStore> {
        self.0.oidc().ok_or_else(|| {
            Error::Unavailable(format!(
                "the store {} does not keep OpenID Connect state",
                self.0.describe()
            ))
        })
    }
}

impl OidcStore for StoreOidc {
    fn put_client(&self, c: &OidcClient) -> Result<()> {
        self.s()?.put_client(c)
    }
    fn get_client(&self, client_id: &str) -> Result<Option<OidcClient>> {
        self.s()?.get_client(client_id)
    }
    fn list_clients(&self) -> Result<Vec<OidcClient>> {
        self.s()?.list_clients()
    }
    fn delete_client(&self, client_id: &str) -> Result<bool> {
        self.s()?.delete_client(client_id)
    }
    fn put_code(&self, c: &AuthCode) -> Result<()> {
        self.s()?.put_code(c)
    }
    fn consume_code(&self, hash: &[u8; 32], now: UnixTime) -> Result<CodeUse> {
        self.s()?.consume_code(hash, now)
    }
    fn redeem_code(
        &self,
        hash: &[u8; 32],
        now: UnixTime,
        issue: &mut dyn FnMut(&AuthCode) -> IssuedTokens,
    ) -> Result<CodeUse> {
        self.s()?.redeem_code(hash, now, issue)
    }
    fn put_code_and_session(
        &self,
        c: &AuthCode,
        old: Option<&[u8; 32]>,
        s: &WebSession,
        then: &[Write],
    ) -> Result<()> {
        self.s()?.put_code_and_session(c, old, s, then)
    }
    fn put_access_token(&self, t: &AccessToken) -> Result<()> {
        self.s()?.put_access_token(t)
    }
    fn get_access_token(&self, hash: &[u8; 32], now: UnixTime) -> Result<Option<AccessToken>> {
        self.s()?.get_access_token(hash, now)
    }
    fn put_refresh_token(&self, t: &RefreshToken) -> Result<()> {
        self.s()?.put_refresh_token(t)
    }
    fn rotate_refresh_token(
        &self,
        hash: &[u8; 32],
        client_id: &str,
        now: UnixTime,
        next: &mut dyn FnMut(&RefreshToken) -> RefreshToken,
    ) -> Result<RefreshUse> {
        self.s()?.rotate_refresh_token(hash, client_id, now, next)
    }
    fn put_tokens(&self, access: &AccessToken, refresh: Option<&RefreshToken>) -> Result<()> {
        self.s()?.put_tokens(access, refresh)
    }
    fn replace_web_session(&self, old: Option<&[u8; 32]>, s: &WebSession) -> Result<()> {
        self.s()?.replace_web_session(old, s)
    }
    fn replace_web_session_with(
        &self,
        old: Option<&[u8; 32]>,
        s: &WebSession,
        commit: Commit,
    ) -> Result<()> {
        self.s()?.replace_web_session_with(old, s, commit)
    }
    fn revoke_grant(&self, grant_id: &str, now: UnixTime) -> Result<()> {
        self.s()?.revoke_grant(grant_id, now)
    }
    fn revoke_user_tokens(&self, user: &str, now: UnixTime) -> Result<()> {
        self.s()?.revoke_user_tokens(user, now)
    }
    fn put_web_session(&self, s: &WebSession) -> Result<()> {
        self.s()?.put_web_session(s)
    }
    fn get_web_session(&self, hash: &[u8; 32], now: UnixTime) -> Result<Option<WebSession>> {
        self.s()?.get_web_session(hash, now)
    }
    fn delete_web_session(&self, hash: &[u8; 32]) -> Result<bool> {
        self.s()?.delete_web_session(hash)
    }
    fn delete_user_web_sessions(&self, user: &str) -> Result<u64> {
        self.s()?.delete_user_web_sessions(user)
    }
    fn put_signing_key(&self, k: &SigningKey) -> Result<()> {
        self.s()?.put_signing_key(k)
    }
    fn list_signing_keys(&self) -> Result<Vec<SigningKey>> {
        self.s()?.list_signing_keys()
    }
    fn retire_signing_key(&self, kid: &str, retires_at: UnixTime) -> Result<()> {
        self.s()?.retire_signing_key(kid, retires_at)
    }
    fn purge_expired(&self, now: UnixTime) -> Result<u64> {
        self.s()?.purge_expired(now)
    }
}
