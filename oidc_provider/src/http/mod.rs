//! The HTTP listener: the OpenID Connect provider (discovery, JWKS, authorization, token,
//! userinfo, logout), the sign-in, second-factor, enrollment and profile pages, and `/healthz`.
//!
//! Connections are served by hyper's HTTP/1.1 server with a header read timeout (slowloris),
//! a cap on header size (431), a body limit (413), a request timeout, and graceful shutdown.
//! Every response carries the security headers of [`respond`].

pub mod admin_api;
pub mod authorize;
pub mod clients;
pub mod config;
pub mod csrf;
pub mod demo;
pub mod discovery;
pub mod errors;
pub mod first_factor;
pub mod hashpool;
pub mod idtoken;
pub mod jwks;
pub mod logout;
pub mod oidc_store;
pub mod pages;
pub mod params;
pub mod pkce;
pub mod respond;
pub mod roles;
pub mod session;
pub mod state;
pub mod throttle;
pub mod token;
pub mod userinfo;
pub mod workers;

pub use config::HttpConfig;

use crate::Daemon;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Why the HTTP listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is unusable.
    #[error("{0}")]
    Config(String),
    /// Keys or the store failed.
    #[error("{0}")]
    Keys(String),
    /// A thread of the HTTP side could not start.
    #[error("cannot start a thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Builds the shared state: issuer, OIDC store, keys (created or rotated as due), clients.
pub async fn build_state(
    daemon: Arc<Daemon>,
    local_addr: Option<SocketAddr>,
) -> Result<Arc<state::AppState>, StartError> {
    let cfg = daemon.config.http.clone();
    cfg.validate().map_err(StartError::Config)?;
    let issuer = match (&cfg.issuer, local_addr) {
        (None, Some(a)) if a.ip().is_loopback() => format!("http://{a}"),
        _ => cfg.issuer_url().map_err(StartError::Config)?,
    };
    let secure_cookies = issuer.starts_with("https://");
    let threads = cfg.hash_threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let dummy: Arc<str> = tokio::task::spawn_blocking(first_factor::dummy_hash)
        .await
        .map_err(|e| StartError::Keys(e.to_string()))?
        .into();
    let st = Arc::new(state::AppState {
        oidc: Arc::new(oidc_store::StoreOidc(daemon.engine.store.clone())),
        clients: clients::ClientRegistry::new(&cfg.clients),
        throttle: throttle::Throttle::new(cfg.signin_per_minute, cfg.token_per_minute),
        pool: hashpool::HashPool::new(threads, cfg.hash_queue)?,
        first_factor: cfg.first_factor(),
        dummy_hash: dummy,
        discovery_json: discovery::document(&issuer).into(),
        store_mode: state::StoreMode::for_store(&daemon.config.store)?,
        keyset: RwLock::new(Arc::new(jwks::keys::KeySet::empty())),
        issuer,
        secure_cookies,
        cfg,
        daemon,
    });
    st.maintain_keys().await.map_err(StartError::Keys)?;
    let _ = st.daemon.http.set(Arc::downgrade(&st));
    Ok(st)
}

/// The routes.
pub fn router(st: Arc<state::AppState>) -> Router {
    let hsts = st.secure_cookies;
    let body_limit = st.cfg.max_body_bytes;
    let mut r = Router::new()
        .route("/.well-known/openid-configuration", get(discovery::get))
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::get),
        )
        .route(discovery::paths::JWKS, get(jwks::get))
        .route(
            discovery::paths::AUTHORIZE,
            get(authorize::get).post(authorize::post),
        )
        .route(discovery::paths::TOKEN, post(token::post))
        .route(
            discovery::paths::USERINFO,
            get(userinfo::handle).post(userinfo::handle),
        )
        .route(
            discovery::paths::LOGOUT,
            get(logout::handle).post(logout::handle),
        )
        .route("/logout/confirm", post(logout::confirm))
        .route("/signin", get(pages::signin::get).post(pages::signin::post))
        .route("/signin/restart", post(pages::signin::restart))
        .route(
            "/signin/code",
            get(pages::challenge::get).post(pages::challenge::post),
        )
        .route("/signin/method", post(pages::challenge::switch))
        .route(
            "/signin/continue",
            post(pages::challenge::continue_after_codes),
        )
        .route("/signin/enroll", get(pages::enroll::get))
        .route("/signin/enroll/start", post(pages::enroll::start))
        .route("/signin/enroll/skip", post(pages::enroll::skip))
        .route("/signin/enroll/confirm", post(pages::enroll::confirm))
        .route("/profile", get(pages::profile::get))
        .route("/profile/reauth", post(pages::profile::reauth))
        .route("/profile/backup-codes", post(pages::profile::regenerate))
        .route("/profile/done", post(pages::profile::done))
        .route(
            "/profile/default-method",
            post(pages::profile::default_method),
        )
        .route("/profile/phone", post(pages::profile::phone))
        .route("/profile/email", post(pages::profile::email))
        .route("/profile/signout", post(pages::profile::signout))
        .route("/static/style.css", get(style))
        .route("/healthz", get(|| async { "ok" }))
        .route("/admin/api", post(admin_api::post));
    if st.daemon.demo {
        r = r.route("/demo/callback", get(demo::callback)).route(
            "/demo/signed-out",
            get(|| async {
                pages::message_page(
                    StatusCode::OK,
                    "Signed out",
                    "The demo application signed you out.",
                )
            }),
        );
    }
    r.fallback(|| async {
        pages::message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no page at this address.",
        )
    })
    .layer(axum::middleware::from_fn(move |req, next| {
        respond::security_headers(hsts, req, next)
    }))
    .layer(DefaultBodyLimit::max(body_limit))
    .layer(tower_http::limit::RequestBodyLimitLayer::new(body_limit))
    .layer(tower_http::catch_panic::CatchPanicLayer::custom(
        |_: Box<dyn std::any::Any + Send>| {
            pages::message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The sign-in service could not complete the request.",
            )
        },
    ))
    .with_state(st)
}

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        include_str!("../../static/style.css"),
    )
}

/// Serves HTTP until `shutdown` is cancelled. If the provider cannot start (bad `[http]`
/// section, unreadable keys), the reason is printed and the whole daemon is stopped: it never
/// runs with a half-working sign-in.
pub async fn serve(listener: TcpListener, daemon: Arc<Daemon>, shutdown: CancellationToken) {
    let local = listener.local_addr().ok();
    let st = match build_state(daemon, local).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "the OpenID Connect provider cannot start");
            eprintln!("twofoldd: http: cannot start the OpenID Connect provider: {e}");
            shutdown.cancel();
            return;
        }
    };
    if st.daemon.demo {
        let s = st.clone();
        match tokio::task::spawn_blocking(move || demo::setup(&s)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("twofoldd: demo setup failed: {e}"),
            Err(e) => eprintln!("twofoldd: demo setup failed: {e}"),
        }
    }
    eprintln!("twofoldd: OpenID Connect issuer {}", st.issuer);
    tokio::spawn(housekeeping(st.clone(), shutdown.clone()));
    accept_loop(listener, router(st), shutdown).await;
}

/// Purges expired rows and rotates keys when due, every few minutes.
async fn housekeeping(st: Arc<state::AppState>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let s = st.clone();
        let now = st.now();
        match tokio::task::spawn_blocking(move || s.oidc.purge_expired(now)).await {
            Ok(Ok(n)) if n > 0 => tracing::debug!(rows = n, "purged expired OIDC state"),
            Ok(Err(e)) => tracing::warn!(error = %e, "purging expired OIDC state failed"),
            _ => {}
        }
        if let Err(e) = st.maintain_keys().await {
            tracing::error!(error = %e, "signing key maintenance failed");
        }
    }
}

async fn accept_loop(listener: TcpListener, app: Router, shutdown: CancellationToken) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Some(Duration::from_secs(10)))
        .max_buf_size(64 * 1024)
        .max_header_size(32 * 1024)
        .max_headers(100)
        .keep_alive(true);
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let svc = tower::ServiceExt::map_request(
            app.clone(),
            move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                req
            },
        );
        let svc = hyper_util::service::TowerToHyperService::new(svc);
        let conn = builder.serve_connection(TokioIo::new(stream), svc);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(5)) => {}
    }
}
