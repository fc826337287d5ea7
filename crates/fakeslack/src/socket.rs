//! The Socket Mode half of the fake: a WebSocket that only admits tickets `apps.connections.open`
//! issued, greets with `hello`, pushes envelopes and records the client's acks.

use crate::{Ack, FakeSlack, APP_ID};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::Message as Frame;

/// Slack redelivers an envelope that is not acked within this time; the fake records whether
/// each ack beat it.
const ACK_DEADLINE: Duration = Duration::from_secs(3);
/// How often Slack tries an event again.
const MAX_RETRIES: u64 = 3;

pub async fn serve(listener: TcpListener, fake: FakeSlack) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(connection(stream, fake.clone()));
    }
}

// The handshake callback's error type is tungstenite's, not ours to shrink.
#[allow(clippy::result_large_err)]
async fn connection(stream: TcpStream, fake: FakeSlack) {
    let admit = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let query = request.uri().query().unwrap_or("");
        let ticket = query.split('&').find_map(|pair| pair.strip_prefix("ticket="));
        if fake.state().socket_mode_down() {
            let mut refused = ErrorResponse::new(Some("socket mode is down".into()));
            *refused.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            Err(refused)
        } else if ticket.is_some_and(|t| fake.state().tickets.iter().any(|issued| issued == t)) {
            Ok(response)
        } else {
            let mut refused = ErrorResponse::new(Some("unknown ticket: call apps.connections.open".into()));
            *refused.status_mut() = StatusCode::UNAUTHORIZED;
            Err(refused)
        }
    };
    let Ok(socket) = tokio_tungstenite::accept_hdr_async(stream, admit).await else { return };
    let (mut sink, mut frames) = socket.split();
    let (outgoing, mut queue) = mpsc::unbounded_channel::<String>();
    let mut hang_up = fake.shared.hang_up.subscribe();
    // When each envelope went out, to judge whether its ack came in time, and what it was, to
    // send it again should this connection close before the ack.
    let mut sent_at = HashMap::<String, (Instant, String)>::new();
    let connections = {
        let mut state = fake.state();
        while let Some(envelope) = state.waiting.pop_front() {
            outgoing.send(envelope).expect("own queue");
        }
        state.connections.push(outgoing);
        state.connections.len()
    };
    let hello = json!({
        "type": "hello",
        "num_connections": connections,
        "debug_info": { "host": "fakeslack", "build_number": 1, "approximate_connection_time": 18060 },
        "connection_info": { "app_id": APP_ID },
    });
    if sink.send(Frame::text(hello.to_string())).await.is_err() {
        return;
    }
    fake.changed();
    loop {
        tokio::select! {
            _ = hang_up.changed() => break,
            envelope = queue.recv() => {
                let Some(envelope) = envelope else { break };
                if let Some(id) = serde_json::from_str::<Value>(&envelope).ok().and_then(|v| v["envelope_id"].as_str().map(str::to_owned)) {
                    sent_at.insert(id, (Instant::now(), envelope.clone()));
                }
                if sink.send(Frame::text(envelope)).await.is_err() {
                    break;
                }
            }
            frame = frames.next() => match frame {
                Some(Ok(Frame::Text(text))) => record_ack(&fake, &text, &mut sent_at),
                Some(Ok(Frame::Ping(data))) => {
                    if sink.send(Frame::Pong(data)).await.is_err() {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
        }
    }
    // What was queued for this connection and not sent goes to the next; Slack delivers an
    // event it got no ack for again (`retry_attempt` counts up, at most 3), on the next connection.
    queue.close();
    while let Ok(envelope) = queue.try_recv() {
        fake.send_envelope(envelope);
    }
    for (_, envelope) in sent_at.into_values() {
        let Ok(mut envelope) = serde_json::from_str::<Value>(&envelope) else { continue };
        let attempt = envelope["retry_attempt"].as_u64().unwrap_or(0) + 1;
        if attempt <= MAX_RETRIES {
            envelope["retry_attempt"] = attempt.into();
            envelope["retry_reason"] = "timeout".into();
            fake.send_envelope(envelope.to_string());
        }
    }
}

fn record_ack(fake: &FakeSlack, text: &str, sent_at: &mut HashMap<String, (Instant, String)>) {
    let Ok(frame) = serde_json::from_str::<Value>(text) else { return };
    let Some(envelope_id) = frame["envelope_id"].as_str() else { return };
    let in_time = sent_at.remove(envelope_id).is_some_and(|(sent, _)| sent.elapsed() <= ACK_DEADLINE);
    let payload = frame.get("payload").filter(|p| !p.is_null()).cloned();
    fake.state().acks.push(Ack { envelope_id: envelope_id.to_owned(), payload, in_time });
    fake.changed();
}
