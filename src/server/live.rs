//! Live run events: the manager's [`RunEvent`]s as Server-Sent Events (`GET /runs/{id}/events`,
//! `GET /events`) and over WebSocket (`GET /runs/{id}/ws`, `GET /events/ws`), the same JSON
//! on both. One run's stream starts with the run's current state and ends after a terminal
//! one; the all-runs stream starts with every pending and running run and stays open until
//! the server stops.
//!
//! Nobody waits for a watcher: the manager broadcasts into a bounded ring, and a watcher
//! that falls behind (lagged) is shown the runs' states from the metadata store again.
//! A WebSocket client has nothing to say: its messages are ignored, one over
//! [`MAX_CLIENT_MESSAGE`] bytes closes the socket, and a client that does not take a message
//! within [`SEND_TIMEOUT`] is disconnected.
#![allow(unused_qualifications)] // utoipa's `params(...)` expansion

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use fust_service::{JobManager, RunEvent, now_ms};
use futures::{Stream, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use super::api::{AppState, StateEvent, find_run, with_live};
use super::error::{ApiError, ApiResult, ErrorBody};

/// The WebSocket subprotocol the server speaks (and answers with when the client offers it).
pub const PROTOCOL: &str = "fust";
/// A second offered subprotocol `bearer.<token, base64url without padding>` carries the
/// token where a browser cannot set `Authorization` (the WebSocket API sets no headers).
pub const BEARER_PROTOCOL: &str = "bearer.";
/// The largest message or frame a WebSocket client may send; a larger one closes the socket.
pub const MAX_CLIENT_MESSAGE: usize = 4096;
/// A WebSocket client that takes no message for this long is disconnected.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Pings keep proxies from closing a quiet socket and find clients that went away.
const PING_EVERY: Duration = Duration::from_secs(25);
/// A run's stream looks at the store after this long without events (an end it missed).
const QUIET: Duration = Duration::from_secs(5);
/// At most this many runs are shown when the all-runs stream starts or catches up.
const RESYNC_LIMIT: i64 = 10_000;
/// After a lag, runs that finished this long before the last event seen are shown again.
const RESYNC_MARGIN_MS: i64 = 1_000;

// ---------- the streams ----------

/// One run's events: `first` (the run as the store has it), then every event of the run
/// from `rx` (subscribed before `first` was read, so nothing falls between), ending after a
/// terminal state or when `stop` fires.
fn run_stream(
    manager: JobManager,
    id: String,
    rx: broadcast::Receiver<RunEvent>,
    first: RunEvent,
    stop: CancellationToken,
) -> impl Stream<Item = RunEvent> + Send + 'static {
    struct Watch {
        manager: JobManager,
        id: String,
        rx: Option<broadcast::Receiver<RunEvent>>,
        first: Option<RunEvent>,
        stop: CancellationToken,
    }
    let watch = Watch {
        manager,
        id,
        rx: Some(rx),
        first: Some(first),
        stop,
    };
    futures::stream::unfold(watch, |mut w| async move {
        let ev = match w.first.take() {
            Some(ev) => ev,
            None => next_of_run(&mut w.rx, &w.manager, &w.id, &w.stop).await?,
        };
        if ev.state.is_terminal() {
            w.rx = None;
        }
        Some((ev, w))
    })
}

async fn next_of_run(
    rx: &mut Option<broadcast::Receiver<RunEvent>>,
    manager: &JobManager,
    id: &str,
    stop: &CancellationToken,
) -> Option<RunEvent> {
    let rx = rx.as_mut()?;
    loop {
        let next = tokio::select! {
            r = tokio::time::timeout(QUIET, rx.recv()) => r,
            () = stop.cancelled() => return None,
        };
        match next {
            Ok(Ok(ev)) if ev.run_id == id => return Some(ev),
            Ok(Ok(_)) => {}
            Ok(Err(RecvError::Closed)) => return None,
            // Events were missed: show the run as it is now.
            Ok(Err(RecvError::Lagged(_))) => {
                if let Ok(Some(run)) = manager.store().get_run(id).await {
                    return Some(RunEvent::of(&with_live(manager, run)));
                }
            }
            // A quiet while: an end the stream missed shows in the store.
            Err(_) => {
                if let Ok(Some(run)) = manager.store().get_run(id).await
                    && run.state.is_terminal()
                {
                    return Some(RunEvent::of(&run));
                }
            }
        }
    }
}

/// Every run's events: first every pending and running run as the store has it, then every
/// event; open until `stop` fires.
async fn all_stream(
    manager: JobManager,
    stop: CancellationToken,
) -> ApiResult<impl Stream<Item = RunEvent> + Send + 'static> {
    struct Watch {
        manager: JobManager,
        rx: broadcast::Receiver<RunEvent>,
        backlog: VecDeque<RunEvent>,
        /// `at` of the last event seen: where a catch-up after a lag starts.
        last_at: i64,
        stop: CancellationToken,
    }
    let rx = manager.subscribe();
    let now = now_ms();
    let backlog = current_runs(&manager, now).await?;
    let watch = Watch {
        manager,
        rx,
        backlog,
        last_at: now,
        stop,
    };
    Ok(futures::stream::unfold(watch, |mut w| async move {
        loop {
            if let Some(ev) = w.backlog.pop_front() {
                return Some((ev, w));
            }
            let next = tokio::select! {
                r = w.rx.recv() => r,
                () = w.stop.cancelled() => return None,
            };
            match next {
                Ok(ev) => {
                    w.last_at = w.last_at.max(ev.at);
                    return Some((ev, w));
                }
                Err(RecvError::Closed) => return None,
                Err(RecvError::Lagged(_)) => {
                    let since = w.last_at - RESYNC_MARGIN_MS;
                    w.last_at = now_ms();
                    if let Ok(backlog) = current_runs(&w.manager, since).await {
                        w.backlog = backlog;
                    }
                }
            }
        }
    }))
}

/// Events of the runs that are pending or running, or finished at or after `since`.
async fn current_runs(manager: &JobManager, since: i64) -> ApiResult<VecDeque<RunEvent>> {
    let runs = manager
        .store()
        .runs_changed_since(since, RESYNC_LIMIT)
        .await?;
    Ok(runs
        .into_iter()
        .map(|r| RunEvent::of(&with_live(manager, r)))
        .collect())
}

// ---------- Server-Sent Events ----------

fn sse_event(ev: &RunEvent) -> Result<Event, Infallible> {
    Ok(Event::default()
        .event("state")
        .data(serde_json::to_string(ev).unwrap_or_default()))
}

#[utoipa::path(
    get,
    path = "/runs/{id}/events",
    tag = "api",
    operation_id = "runEvents",
    summary = "Live progress as Server-Sent Events: `event: state` with a RunEvent JSON on every change and twice a second while running; ends when the run finishes.",
    params(("id" = String, Path, description = "The run's id.")),
    responses(
        (status = 200, description = "An event stream; each event's `data` is a RunEvent in JSON. The first is the run's current state; the stream ends after a terminal state.", content_type = "text/event-stream", body = StateEvent),
        (status = 404, description = "No such job or run.", body = ErrorBody)
    )
)]
/// Live progress of a run as Server-Sent Events: `state` events (a [`RunEvent`] in JSON)
/// on every change and about twice a second while it runs; the stream ends when the run
/// has finished.
pub async fn run_events(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let rx = s.manager.subscribe();
    let run = find_run(&s, &id).await?;
    let events = run_stream(
        s.manager.clone(),
        id,
        rx,
        RunEvent::of(&run),
        s.stop.clone(),
    );
    Ok(Sse::new(events.map(|ev| sse_event(&ev))).keep_alive(KeepAlive::default()))
}

#[utoipa::path(
    get,
    path = "/events",
    tag = "api",
    operation_id = "events",
    summary = "Every run's live progress as Server-Sent Events: first each pending and running run's state, then `event: state` with a RunEvent JSON on every change of any run; stays open.",
    responses(
        (status = 200, description = "An event stream that stays open; each event's `data` is a RunEvent in JSON.", content_type = "text/event-stream", body = StateEvent)
    )
)]
pub async fn all_events(
    State(s): State<AppState>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let events = all_stream(s.manager.clone(), s.stop.clone()).await?;
    Ok(Sse::new(events.map(|ev| sse_event(&ev))).keep_alive(KeepAlive::default()))
}

// ---------- WebSocket ----------

/// The upgrade with the server's subprotocol and limits on what the client may send.
fn configure(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.protocols([PROTOCOL])
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
}

/// 426 for a request to a WebSocket endpoint that is not an upgrade.
fn not_websocket(e: &WebSocketUpgradeRejection) -> Response {
    let mut resp = ApiError::new(
        StatusCode::UPGRADE_REQUIRED,
        format!(
            "this endpoint is a WebSocket: connect with a WebSocket client (`Upgrade: \
             websocket`), or read the same events as Server-Sent Events from the endpoint \
             without `/ws` ({})",
            e.body_text()
        ),
    )
    .into_response();
    resp.headers_mut()
        .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    resp
}

#[utoipa::path(
    get,
    path = "/runs/{id}/ws",
    tag = "api",
    operation_id = "runEventsWs",
    summary = "A run's live progress over WebSocket: the same RunEvent JSON as `/runs/{id}/events`, one text message each; closes (1000) after a terminal state.",
    description = "Subprotocol `fust`. Browsers, which cannot set `Authorization` on a WebSocket, send the token as a second offered subprotocol: `new WebSocket(url, [\"fust\", \"bearer.\" + base64url(token)])` (base64url without padding); the server answers `fust`. An upgrade whose `Origin` is not the server's own is refused (403). Messages from the client are ignored; one over 4096 bytes closes the socket.",
    params(("id" = String, Path, description = "The run's id.")),
    responses(
        (status = 101, description = "Switching to WebSocket; each text message is a RunEvent in JSON.", body = RunEvent),
        (status = 403, description = "An upgrade from another site's page (`Origin`).", body = ErrorBody),
        (status = 404, description = "No such job or run.", body = ErrorBody),
        (status = 426, description = "Not a WebSocket upgrade request.", body = ErrorBody)
    )
)]
pub async fn run_ws(
    State(s): State<AppState>,
    Path(id): Path<String>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let rx = s.manager.subscribe();
    let run = find_run(&s, &id).await?;
    let ws = match ws {
        Ok(ws) => configure(ws),
        Err(e) => return Ok(not_websocket(&e)),
    };
    let stop = s.stop.clone();
    let events = run_stream(s.manager.clone(), id, rx, RunEvent::of(&run), stop.clone());
    Ok(ws.on_upgrade(move |socket| pump(socket, events, stop, "the run has finished")))
}

#[utoipa::path(
    get,
    path = "/events/ws",
    tag = "api",
    operation_id = "eventsWs",
    summary = "Every run's live progress over WebSocket: the same RunEvent JSON as `/events`, one text message each; stays open.",
    description = "Authentication and origin rules as for `/runs/{id}/ws`.",
    responses(
        (status = 101, description = "Switching to WebSocket; each text message is a RunEvent in JSON.", body = RunEvent),
        (status = 403, description = "An upgrade from another site's page (`Origin`).", body = ErrorBody),
        (status = 426, description = "Not a WebSocket upgrade request.", body = ErrorBody)
    )
)]
pub async fn all_ws(
    State(s): State<AppState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let ws = match ws {
        Ok(ws) => configure(ws),
        Err(e) => return Ok(not_websocket(&e)),
    };
    let stop = s.stop.clone();
    let events = all_stream(s.manager.clone(), stop.clone()).await?;
    Ok(ws.on_upgrade(move |socket| pump(socket, events, stop, "no more events")))
}

/// Sends each event as a text message until the events end (close 1000 with `done`), the
/// server stops (1001), the client goes away, sends too much (1009) or stops reading.
async fn pump(
    mut socket: WebSocket,
    events: impl Stream<Item = RunEvent> + Send + 'static,
    stop: CancellationToken,
    done: &'static str,
) {
    let mut events = std::pin::pin!(events);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let (code, reason) = loop {
        tokio::select! {
            ev = events.next() => match ev {
                Some(ev) => {
                    let text = serde_json::to_string(&ev).unwrap_or_default();
                    if !sent(&mut socket, Message::text(text)).await {
                        return;
                    }
                }
                None if stop.is_cancelled() => break (close_code::AWAY, "the server is stopping"),
                None => break (close_code::NORMAL, done),
            },
            incoming = socket.recv() => match incoming {
                None => return,
                // Closing: reading on sends tungstenite's answer to the close.
                Some(Ok(Message::Close(_))) => {
                    drain(&mut socket).await;
                    return;
                }
                Some(Err(_)) => break (close_code::SIZE, "messages to this socket are limited to 4096 bytes"),
                // Pings are answered by tungstenite; anything else is ignored.
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if !sent(&mut socket, Message::Ping(Default::default())).await {
                    return;
                }
            }
            () = stop.cancelled() => break (close_code::AWAY, "the server is stopping"),
        }
    };
    let close = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    if sent(&mut socket, close).await {
        drain(&mut socket).await;
    }
}

/// Reads until the socket ends (the closing handshake), for at most two seconds.
async fn drain(socket: &mut WebSocket) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
}

async fn sent(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}
