//! ID tokens: built with openidconnect's types and signed by our [`LoadedKey`]; and the check
//! of an `id_token_hint` the provider issued itself.
//!
//! Claims: `iss`, `sub`, `aud` (the client), `exp`, `iat`, `auth_time` (always), `nonce` (when
//! the request had one), `acr`, `amr`, `azp`, and `at_hash` when an access token is issued.
//! `amr` names the factors of the sign-in: `pwd` for the password, then `otp` (authenticator
//! app), `sms`, `email` or `backup_code` for the second factor, and `mfa` when there were two.

use crate::http::errors::HttpError;
use crate::http::jwks::keys::{Alg, LoadedKey};
use crate::http::state::AppState;
use chrono::{DateTime, TimeZone, Utc};
use openidconnect::core::{CoreGenderClaim, CoreIdToken, CoreIdTokenClaims};
use openidconnect::{
    AccessToken, Audience, AuthenticationContextClass, AuthenticationMethodReference,
    EmptyAdditionalClaims, IssuerUrl, Nonce, StandardClaims, SubjectIdentifier,
};
use serde::Deserialize;
use std::sync::Arc;
use twofold_core::clock::UnixTime;
use twofold_core::proto::Method;
use twofold_core::store::oidc::AuthContext;

/// `acr` of a sign-in with a password only.
pub const ACR_1FA: &str = "urn:twofold:acr:1fa";
/// `acr` of a sign-in with a password and a second factor.
pub const ACR_2FA: &str = "urn:twofold:acr:2fa";

/// The `amr` value of a second-factor method.
pub fn amr_of(m: Method) -> &'static str {
    match m {
        Method::AuthenticatorApp => "otp",
        Method::Sms => "sms",
        Method::Email => "email",
        Method::BackupCode => "backup_code",
    }
}

/// `amr` and `acr` for a sign-in with a password and, maybe, a second factor.
pub fn amr_acr(second: Option<Method>) -> (Vec<String>, String) {
    match second {
        Some(m) => (
            vec!["pwd".into(), amr_of(m).into(), "mfa".into()],
            ACR_2FA.into(),
        ),
        None => (vec!["pwd".into()], ACR_1FA.into()),
    }
}

fn time(t: UnixTime) -> Result<DateTime<Utc>, HttpError> {
    Utc.timestamp_opt(t, 0)
        .single()
        .ok_or_else(|| HttpError::Internal(format!("time {t} out of range")))
}

/// The key that signs ID tokens now.
pub fn signer(state: &AppState) -> Result<Arc<LoadedKey>, HttpError> {
    let alg = Alg::parse(&state.cfg.id_token_alg).unwrap_or(Alg::Rs256);
    state
        .keyset()
        .signer(alg, state.now())
        .ok_or_else(|| HttpError::Internal(format!("no active {} signing key", alg.as_str())))
}

/// Builds and signs an ID token.
pub fn issue(
    state: &AppState,
    client_id: &str,
    auth: &AuthContext,
    nonce: Option<&str>,
    access_token: Option<&str>,
) -> Result<String, HttpError> {
    let now = state.now();
    let key = signer(state)?;
    let issuer = IssuerUrl::new(state.issuer.clone())
        .map_err(|e| HttpError::Internal(format!("issuer: {e}")))?;
    let mut claims = CoreIdTokenClaims::new(
        issuer,
        vec![Audience::new(client_id.to_string())],
        time(now + state.cfg.id_token_ttl_secs)?,
        time(now)?,
        StandardClaims::<CoreGenderClaim>::new(SubjectIdentifier::new(auth.user.clone())),
        EmptyAdditionalClaims {},
    )
    .set_auth_time(Some(time(auth.auth_time)?))
    .set_auth_context_ref(Some(AuthenticationContextClass::new(auth.acr.clone())))
    .set_auth_method_refs(Some(
        auth.amr
            .iter()
            .map(|a| AuthenticationMethodReference::new(a.clone()))
            .collect(),
    ))
    .set_authorized_party(Some(openidconnect::ClientId::new(client_id.to_string())));
    if let Some(n) = nonce {
        claims = claims.set_nonce(Some(Nonce::new(n.to_string())));
    }
    let at = access_token.map(|t| AccessToken::new(t.to_string()));
    let token = CoreIdToken::new(claims, &*key, key.alg.jws(), at.as_ref(), None)
        .map_err(|e| HttpError::Internal(format!("signing an ID token: {e}")))?;
    Ok(token.to_string())
}

/// What the provider needs from an `id_token_hint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// `sub`.
    pub sub: String,
    /// `aud` (the clients it was issued to).
    pub aud: Vec<String>,
}

#[derive(Deserialize)]
struct HintHeader {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Aud {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct HintClaims {
    iss: String,
    sub: String,
    aud: Aud,
}

/// Checks an `id_token_hint`: it must be a JWS signed by one of our published keys (`kid`
/// required, `alg` matching the key; `none`, HMAC and any `jku`/`x5u`/`jwk` header are never
/// honoured) with our issuer. Expiry is not checked (OIDC Core 3.1.2.1 allows an expired hint).
pub fn check_hint(state: &AppState, hint: &str) -> Result<Hint, String> {
    let mut parts = hint.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("id_token_hint is not a signed JWT".into());
    };
    let b64 = data_encoding::BASE64URL_NOPAD;
    let header: HintHeader = b64
        .decode(h.as_bytes())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("id_token_hint has a malformed header")?;
    let kid = header.kid.ok_or("id_token_hint has no kid")?;
    let key = state
        .keyset()
        .by_kid(&kid)
        .ok_or("id_token_hint was not signed by this provider")?;
    if header.alg != key.alg.as_str() {
        return Err("id_token_hint has the wrong alg for its key".into());
    }
    let sig = b64
        .decode(s.as_bytes())
        .map_err(|_| "id_token_hint has a malformed signature")?;
    let signed = &hint[..h.len() + 1 + p.len()];
    if !key.verify(signed.as_bytes(), &sig) {
        return Err("id_token_hint signature is invalid".into());
    }
    let claims: HintClaims = b64
        .decode(p.as_bytes())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("id_token_hint has malformed claims")?;
    if claims.iss != state.issuer {
        return Err("id_token_hint was issued by another issuer".into());
    }
    Ok(Hint {
        sub: claims.sub,
        aud: match claims.aud {
            Aud::One(a) => vec![a],
            Aud::Many(v) => v,
        },
    })
}
