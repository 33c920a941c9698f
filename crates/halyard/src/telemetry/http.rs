//! Prometheus `/metrics` and a `/healthz` over HTTP.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::routing::get;
use axum::Router;

use super::Telemetry;

/// Bind and serve in the background; returns the bound address.
pub async fn serve(listen: &str, telemetry: Arc<Telemetry>) -> Result<SocketAddr> {
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("metrics: cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let t = telemetry.clone();
                async move { ([("content-type", "text/plain; version=0.0.4")], t.render()) }
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("metrics server stopped: {e}");
        }
    });
    Ok(addr)
}
