//! The receiver's command line, HTTP server and shutdown.

use clap::Parser;
use clerk_fdw_webhook::{Receiver, Settings};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Receives Clerk's webhooks and applies them to a clerk_fdw mirror.
///
/// Each delivery's raw body and svix-* headers go unchanged to
/// clerk_fdw.receive_webhook(<mirror>, body, headers), which checks the
/// signature with the webhook secret kept in Postgres. Answers 2xx when the
/// event was applied (or was a duplicate, stale or not mirrored), 4xx when
/// the delivery is wrong, 5xx when the database cannot take it, so that
/// Svix retries. Serve it behind a TLS-terminating proxy.
#[derive(Parser, Debug)]
#[command(name = "clerk-fdw-webhook", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8089")]
    listen: SocketAddr,
    /// The database: a libpq URL or key=value string (postgres://user@host/db).
    /// A password is better kept in ~/.pgpass or PGPASSWORD than here.
    #[arg(long, env = "CLERK_FDW_WEBHOOK_DATABASE")]
    database: String,
    /// The mirror schema (clerk_fdw.create_mirror's into_schema).
    #[arg(long)]
    mirror: String,
    /// Largest body accepted, in bytes (Clerk's events are a few KB).
    #[arg(long, default_value_t = 1024 * 1024)]
    max_body: usize,
    /// Database connections, the most deliveries applied at once.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Seconds a client may take to send its headers, and then its body.
    #[arg(long, default_value_t = 10)]
    read_timeout: u64,
    /// Seconds a delivery may wait for a connection, and Postgres may take
    /// to apply it.
    #[arg(long, default_value_t = 10)]
    database_timeout: u64,
    /// Seconds to let deliveries in progress finish on SIGTERM or SIGINT.
    #[arg(long, default_value_t = 20)]
    shutdown_grace: u64,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let read_timeout = Duration::from_secs(args.read_timeout.max(1));
    let settings = Settings {
        mirror: args.mirror.clone(),
        max_body: args.max_body,
        read_timeout,
        database_timeout: Duration::from_secs(args.database_timeout.max(1)),
    };
    let receiver = match Receiver::new(&args.database, args.connections, settings) {
        Ok(receiver) => Arc::new(receiver),
        Err(e) => {
            eprintln!("clerk-fdw-webhook: {e}");
            std::process::exit(2);
        }
    };
    let listener = match TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("clerk-fdw-webhook: cannot listen on {}: {e}", args.listen);
            std::process::exit(1);
        }
    };
    eprintln!(
        "clerk-fdw-webhook: listening on http://{}, mirror {}",
        args.listen, args.mirror
    );
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors, say: wait, not spin.
                        eprintln!("clerk-fdw-webhook: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let receiver = receiver.clone();
                let service = service_fn(move |request| {
                    let receiver = receiver.clone();
                    async move { Ok::<_, Infallible>(receiver.handle(request).await) }
                });
                let connection = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(read_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            _ = &mut stop => break,
        }
    }
    drop(listener);
    eprintln!("clerk-fdw-webhook: stopping; letting deliveries in progress finish");
    tokio::select! {
        _ = graceful.shutdown() => eprintln!("clerk-fdw-webhook: stopped"),
        _ = tokio::time::sleep(Duration::from_secs(args.shutdown_grace)) => {
            eprintln!("clerk-fdw-webhook: stopped with deliveries unfinished (Svix retries them)");
        }
    }
}

/// SIGTERM or SIGINT.
async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
