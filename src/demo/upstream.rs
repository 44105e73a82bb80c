//! The demo app behind the sidecar: it has no sign-in code of its own and shows what the
//! sidecar told it (identity headers) on an HTML page or as JSON, keeps an admin area the
//! sidecar's access rules guard, and echoes WebSockets at `/ws`.

use std::sync::Arc;
use std::time::Duration;

use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::page::{self, Seen};
use super::websocket;
use crate::respond::{self, Body};
use crate::server::{self, ConnInfo, Limits};

/// How long open requests may finish after shutdown starts.
const GRACE: Duration = Duration::from_secs(3);

/// What a request to the demo app gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    WebSocket,
    WsTest,
    Json,
    /// `/admin` → `/admin/`, where the sidecar's `/admin/*` rule applies.
    AdminSlash,
    Admin,
    Home,
}

/// Picks the answer from the path and `Accept`: `/api/whoami` and JSON-only clients get
/// JSON, browsers a page.
pub fn route(path: &str, headers: &HeaderMap) -> Route {
    let wants_json = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/json"))
        && !respond::wants_html(headers);
    match path {
        "/ws" => Route::WebSocket,
        "/ws-test" => Route::WsTest,
        "/api/whoami" => Route::Json,
        _ if wants_json => Route::Json,
        "/admin" => Route::AdminSlash,
        p if p.starts_with("/admin/") => Route::Admin,
        _ => Route::Home,
    }
}

/// Serves the demo app until `shutdown` fires; open WebSockets are then closed with
/// `1001 going away`.
pub async fn serve(listener: TcpListener, shutdown: CancellationToken) {
    let sockets = TaskTracker::new();
    let handler = {
        let sockets = sockets.clone();
        let shutdown = shutdown.clone();
        move |req, _conn: ConnInfo| handle(req, sockets.clone(), shutdown.clone())
    };
    let limits = Limits {
        header_read_timeout: Duration::from_secs(10),
        connections: Arc::new(Semaphore::new(256)),
        max_header_bytes: 64 * 1024,
        active_connections: None,
    };
    server::serve(listener, None, limits, handler, shutdown, GRACE).await;
    sockets.close();
    sockets.wait().await;
}

async fn handle(
    mut req: Request<Incoming>,
    sockets: TaskTracker,
    shutdown: CancellationToken,
) -> Response<Body> {
    let seen = Seen::new(req.uri().path(), req.headers());
    match route(req.uri().path(), req.headers()) {
        Route::WebSocket => upgrade(&mut req, &sockets, shutdown),
        Route::WsTest => html(page::ws_test()),
        Route::Json => json(&page::whoami(&seen)),
        Route::AdminSlash => build(
            Response::builder()
                .status(StatusCode::MOVED_PERMANENTLY)
                .header(LOCATION, "/admin/"),
            respond::empty(),
        ),
        Route::Admin => html(page::admin(&seen)),
        Route::Home => html(page::home(&seen)),
    }
}

/// Accepts a WebSocket handshake (RFC 6455 §4.2.2) and echoes on the upgraded
/// connection in a tracked task.
fn upgrade(
    req: &mut Request<Incoming>,
    sockets: &TaskTracker,
    shutdown: CancellationToken,
) -> Response<Body> {
    let Some(key) = websocket::upgrade_key(req.headers()) else {
        return build(
            Response::builder()
                .status(StatusCode::BAD_REQUEST)
                .header(CONTENT_TYPE, "text/plain;charset=utf-8"),
            respond::full("this is a WebSocket endpoint: open /ws-test in a browser"),
        );
    };
    let accept = websocket::accept_key(key);
    let on_upgrade = hyper::upgrade::on(req);
    sockets.spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            websocket::echo(TokioIo::new(upgraded), shutdown).await;
        }
    });
    build(
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("upgrade", "websocket")
            .header("connection", "upgrade")
            .header("sec-websocket-accept", accept),
        respond::empty(),
    )
}

fn html(page: String) -> Response<Body> {
    build(
        Response::builder()
            .header(CONTENT_TYPE, "text/html;charset=utf-8")
            .header(CACHE_CONTROL, "no-store"),
        respond::full(page),
    )
}

fn json(value: &serde_json::Value) -> Response<Body> {
    build(
        Response::builder()
            .header(CONTENT_TYPE, "application/json")
            .header(CACHE_CONTROL, "no-store"),
        respond::full(value.to_string()),
    )
}

/// Builders here only get static names and generated values; a failure answers 500
/// rather than panicking.
fn build(builder: http::response::Builder, body: Body) -> Response<Body> {
    builder.body(body).unwrap_or_else(|_| {
        let mut resp = Response::new(respond::full("internal error"));
        *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        resp
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn accept(value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn routes_follow_path_and_accept() {
        let browser = accept("text/html,application/xhtml+xml,*/*");
        let api = accept("application/json");
        assert_eq!(route("/", &browser), Route::Home);
        assert_eq!(route("/", &api), Route::Json);
        assert_eq!(route("/api/whoami", &browser), Route::Json);
        assert_eq!(route("/admin", &browser), Route::AdminSlash);
        assert_eq!(route("/admin/", &browser), Route::Admin);
        assert_eq!(route("/admin/x", &api), Route::Json);
        assert_eq!(route("/ws", &HeaderMap::new()), Route::WebSocket);
        assert_eq!(route("/ws-test", &browser), Route::WsTest);
        assert_eq!(route("/public/x", &HeaderMap::new()), Route::Home);
    }
}
