//! Turns typed lines into chat events: `#N text` is a command in the thread of message N.

use super::CHANNEL;
use crate::{ChatError, ChatEvent, ChatUser, MessageRef};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::sync::mpsc;

/// Reads lines until end of input; the terminal then stays silent but hagios keeps running,
/// so that alerts are still printed when stdin is closed (a service, a test harness).
pub async fn forward_lines(
    input: impl AsyncBufRead + Unpin,
    user: &str,
    events: mpsc::Sender<ChatEvent>,
) -> Result<(), ChatError> {
    let mut lines = input.lines();
    loop {
        // Reading a line may be given up when the conversation ends: `next_line` is cancel-safe.
        let line = tokio::select! {
            line = lines.next_line() => line.map_err(|e| ChatError::Unavailable(format!("terminal input: {e}")))?,
            () = events.closed() => break,
        };
        let Some(line) = line else { break };
        let Some(event) = event_from_line(&line, user) else { continue };
        if events.send(event).await.is_err() {
            break;
        }
    }
    Ok(())
}

fn event_from_line(line: &str, user: &str) -> Option<ChatEvent> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let (thread, text) = match line.strip_prefix('#').and_then(|rest| rest.split_once(char::is_whitespace)) {
        Some((id, text)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
            (Some(MessageRef { channel: CHANNEL.to_owned(), id: id.to_owned() }), text.trim())
        }
        _ => (None, line),
    };
    Some(ChatEvent::Command {
        user: ChatUser { id: user.to_owned(), name: user.to_owned(), foreign: false },
        channel: CHANNEL.to_owned(),
        thread,
        text: text.to_owned(),
        event_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_prefix_only_counts_when_numeric() {
        let thread_of = |line| match event_from_line(line, "u") {
            Some(ChatEvent::Command { thread, text, .. }) => (thread.map(|t| t.id), text),
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(thread_of("#12 ack x"), (Some("12".into()), "ack x".into()));
        assert_eq!(thread_of("#web ack x"), (None, "#web ack x".into()));
        assert_eq!(thread_of("#12"), (None, "#12".into()));
    }
}
