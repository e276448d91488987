//! Graceful shutdown: stop accepting connections, then let the requests
//! in flight finish within a limit.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Serves `app` on `listener`, and `metrics` on its own listener when
/// given, until `shutdown` completes. Both then stop accepting at once and
/// get up to `drain_timeout` to finish the requests in flight. After that
/// this function stops waiting for them and returns, so the process can
/// exit.
pub async fn serve_until(
    (listener, app): (TcpListener, Router),
    metrics: Option<(TcpListener, Router)>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain_timeout: Duration,
) -> std::io::Result<()> {
    let (trigger, signal) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = trigger.send(true);
    });

    let main = serve_one(listener, app, signal.clone());
    let metrics = metrics.map(|(listener, router)| serve_one(listener, router, signal.clone()));
    let servers = async move {
        match metrics {
            Some(metrics) => {
                let (main, metrics) = tokio::join!(main, metrics);
                main.and(metrics)
            }
            None => main.await,
        }
    };
    let drain_deadline = async {
        signalled(signal.clone()).await;
        tokio::time::sleep(drain_timeout).await;
    };

    tokio::select! {
        result = servers => result,
        () = drain_deadline => {
            tracing::warn!(
                timeout_s = drain_timeout.as_secs(),
                "requests still in flight after SCOPEGATE_SHUTDOWN_TIMEOUT; no longer waiting for them"
            );
            Ok(())
        }
    }
}

/// Completes once `signal` turns true. When its sender is dropped
/// without sending, the shutdown never comes, so this never completes.
async fn signalled(mut signal: watch::Receiver<bool>) {
    if signal.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn serve_one(
    listener: TcpListener,
    router: Router,
    signal: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(signalled(signal))
        .await
}
