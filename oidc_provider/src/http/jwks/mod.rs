//! The JWKS endpoint (`/jwks.json`): every published signing key, current and next and those
//! kept after a rotation until the tokens they signed have expired.

pub mod keys;

use crate::http::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// `GET /jwks.json`.
pub async fn get(State(state): State<Arc<AppState>>) -> Response {
    let body = state.keyset().jwks_json.clone();
    let mut r =
        axum::body::Body::from(axum::body::Bytes::from_owner(ArcBytes(body))).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=600"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

struct ArcBytes(Arc<[u8]>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
