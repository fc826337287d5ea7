//! The wire protocol between agent and bot: typed serde frames, each a big-endian u32 length
//! followed by that many bytes of JSON, with a size cap checked before anything is allocated.
//!
//! A connection starts with the agent's `Hello { version, site }`; the bot answers `Welcome` or
//! `Refused { reason }` and closes. After that either side may send any frame; requests carry
//! ids so answers can come back in any order.

use hagios_domain::{
    Action, Comment, Downtime, HostView, Inventory, Notification, Outcome, ServiceView, Snapshot, Status,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// The protocol version this build speaks. Bump it when a frame changes incompatibly.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest frame either side accepts. A site's whole state travels in one frame, and
/// 100k services take about 40 MB of JSON; anything bigger is a broken or hostile peer.
pub const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

/// What the agent accepts from the bot: commands, acknowledgements and heartbeats are small.
pub const MAX_FRAME_FROM_BOT_BYTES: usize = 1024 * 1024;

const LENGTH_BYTES: usize = 4;

/// One message on the link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "frame", rename_all = "snake_case")]
pub enum Frame {
    /// Agent → bot, first frame: the protocol version it speaks and the site it serves.
    Hello { version: u32, site: String },
    /// Bot → agent: the handshake is accepted.
    Welcome { version: u32 },
    /// Either side, then it closes: why the connection is not accepted.
    Refused { reason: String },
    /// Agent → bot: one spooled notification; `record` is the agent's spool record id.
    Notification { record: String, notification: Notification },
    /// Bot → agent: the notification is durable at the bot; the agent may delete its record.
    Stored { record: String },
    /// Bot → agent: carry out an action for `author`.
    Command { id: u64, action: Action, author: String },
    /// Agent → bot: what came of command `id`.
    CommandResult { id: u64, result: Result<Outcome, Refusal> },
    /// Bot → agent: send the site's current objects and state.
    StateRequest { id: u64 },
    /// Agent → bot: the answer to `StateRequest { id }`.
    State { id: u64, result: Result<SiteState, Refusal> },
    /// Either side: still here.
    Heartbeat,
}

/// Why the agent did not do (or could not read) what the bot asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub message: String,
    /// Asking again later may work (the monitoring system was down, say).
    pub retryable: bool,
}

/// A [`Snapshot`] in a JSON-friendly shape (status.dat's maps are keyed by tuples).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteState {
    pub created: i64,
    pub hosts: Vec<HostView>,
    pub services: Vec<ServiceView>,
    pub downtimes: Vec<Downtime>,
    pub comments: Vec<Comment>,
    pub inventory: Inventory,
}

impl From<&Snapshot> for SiteState {
    fn from(snapshot: &Snapshot) -> Self {
        SiteState {
            created: snapshot.status.created,
            hosts: snapshot.status.hosts.values().cloned().collect(),
            services: snapshot.status.services.values().cloned().collect(),
            downtimes: snapshot.status.downtimes.clone(),
            comments: snapshot.status.comments.clone(),
            inventory: (*snapshot.inventory).clone(),
        }
    }
}

impl From<SiteState> for Snapshot {
    fn from(state: SiteState) -> Self {
        Snapshot {
            status: Status {
                created: state.created,
                hosts: state.hosts.into_iter().map(|view| (view.name.clone(), view)).collect(),
                services: state
                    .services
                    .into_iter()
                    .map(|view| ((view.host.clone(), view.description.clone()), view))
                    .collect(),
                downtimes: state.downtimes,
                comments: state.comments,
            },
            inventory: Arc::new(state.inventory),
        }
    }
}

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {len} bytes is over the {cap}-byte limit; the peer is broken or not a hagios peer")]
    TooLarge { len: usize, cap: usize },
    #[error("malformed frame ({0}); the peer is not speaking this hagios protocol version")]
    Malformed(String),
    #[error("connection failed: {0}")]
    Io(std::io::Error),
}

/// By hand rather than `#[from]`, which would also make the I/O error the `source()` the message
/// already quotes: a chain printed whole would say it twice.
impl From<std::io::Error> for FrameError {
    fn from(cause: std::io::Error) -> Self {
        FrameError::Io(cause)
    }
}

impl FrameError {
    /// A broken connection is worth redialling; a peer that sends nonsense will do so again.
    pub fn retryable(&self) -> bool {
        matches!(self, FrameError::Io(_))
    }
}

/// The frame as bytes on the wire: length prefix, then JSON.
pub fn encode(frame: &Frame) -> Result<Vec<u8>, FrameError> {
    let body = serde_json::to_vec(frame).map_err(|e| FrameError::Malformed(e.to_string()))?;
    let len = check_length(body.len(), MAX_FRAME_BYTES)?;
    let mut bytes = Vec::with_capacity(LENGTH_BYTES + body.len());
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

/// Decodes the first frame in `buffer`: `Ok(None)` when more bytes are needed, else the frame
/// and how many bytes it used. A length over `cap` is refused before its body arrives.
pub fn decode(buffer: &[u8], cap: usize) -> Result<Option<(Frame, usize)>, FrameError> {
    let Some((prefix, rest)) = buffer.split_first_chunk::<LENGTH_BYTES>() else { return Ok(None) };
    let len = u32::from_be_bytes(*prefix) as usize;
    check_length(len, cap)?;
    match rest.get(..len) {
        Some(body) => Ok(Some((parse_body(body)?, LENGTH_BYTES + len))),
        None => Ok(None),
    }
}

fn check_length(len: usize, cap: usize) -> Result<u32, FrameError> {
    match u32::try_from(len) {
        Ok(wire) if len <= cap => Ok(wire),
        _ => Err(FrameError::TooLarge { len, cap }),
    }
}

fn parse_body(body: &[u8]) -> Result<Frame, FrameError> {
    serde_json::from_slice(body).map_err(|e| FrameError::Malformed(e.to_string()))
}

/// Reads one frame; `Ok(None)` when the peer closed the connection between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R, cap: usize) -> Result<Option<Frame>, FrameError> {
    let mut prefix = [0u8; LENGTH_BYTES];
    match reader.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(prefix) as usize;
    check_length(len, cap)?;
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await?;
    parse_body(&body).map(Some)
}

/// Writes one frame and flushes it.
pub async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, frame: &Frame) -> Result<(), FrameError> {
    writer.write_all(&encode(frame)?).await?;
    writer.flush().await?;
    Ok(())
}

/// Sends queued frames, and a heartbeat whenever `heartbeat` passed without one.
pub async fn write_frames<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut frames: mpsc::Receiver<Frame>,
    heartbeat: Duration,
) -> Result<(), FrameError> {
    loop {
        match tokio::time::timeout(heartbeat, frames.recv()).await {
            Ok(Some(frame)) => write_frame(&mut writer, &frame).await?,
            Ok(None) => return Ok(()),
            Err(_) => write_frame(&mut writer, &Frame::Heartbeat).await?,
        }
    }
}

impl Frame {
    /// The frame's kind for messages, without its (possibly large or sensitive) content.
    pub fn kind(&self) -> &'static str {
        match self {
            Frame::Hello { .. } => "Hello",
            Frame::Welcome { .. } => "Welcome",
            Frame::Refused { .. } => "Refused",
            Frame::Notification { .. } => "Notification",
            Frame::Stored { .. } => "Stored",
            Frame::Command { .. } => "Command",
            Frame::CommandResult { .. } => "CommandResult",
            Frame::StateRequest { .. } => "StateRequest",
            Frame::State { .. } => "State",
            Frame::Heartbeat => "Heartbeat",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::ObjectRef;
    use proptest::prelude::*;

    fn command() -> Frame {
        Frame::Command {
            id: 7,
            action: Action::Recheck { target: ObjectRef::service("web01", "HTTP") },
            author: "alice".into(),
        }
    }

    #[test]
    fn frames_round_trip_through_bytes() {
        let frames = [
            Frame::Hello { version: PROTOCOL_VERSION, site: "nagios01".into() },
            command(),
            Frame::CommandResult { id: 7, result: Err(Refusal { message: "no".into(), retryable: false }) },
            Frame::Heartbeat,
        ];
        let mut wire = Vec::new();
        for frame in &frames {
            wire.extend(encode(frame).unwrap());
        }
        let mut decoded = Vec::new();
        let mut rest = wire.as_slice();
        while let Some((frame, used)) = decode(rest, MAX_FRAME_BYTES).unwrap() {
            decoded.push(frame);
            rest = &rest[used..];
        }
        assert_eq!(decoded, frames);
        assert!(rest.is_empty());
    }

    #[test]
    fn an_oversized_length_is_refused_before_its_body_arrives() {
        let prefix = 1025u32.to_be_bytes();
        let err = decode(&prefix, 1024).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { len: 1025, cap: 1024 }), "{err}");
        assert!(!err.retryable());
    }

    #[test]
    fn unknown_frames_and_bad_json_are_malformed() {
        for body in [&br#"{"frame":"reboot"}"#[..], br#"{"frame":"command","id":1}"#, b"\xff\xfe"] {
            let mut wire = (body.len() as u32).to_be_bytes().to_vec();
            wire.extend_from_slice(body);
            assert!(matches!(decode(&wire, MAX_FRAME_BYTES), Err(FrameError::Malformed(_))));
        }
    }

    #[tokio::test]
    async fn read_frame_sees_a_clean_close_and_a_truncated_frame() {
        let wire = encode(&command()).unwrap();
        let mut whole = wire.as_slice();
        assert_eq!(read_frame(&mut whole, MAX_FRAME_BYTES).await.unwrap(), Some(command()));
        assert_eq!(read_frame(&mut whole, MAX_FRAME_BYTES).await.unwrap(), None);
        let mut truncated = &wire[..wire.len() - 1];
        assert!(read_frame(&mut truncated, MAX_FRAME_BYTES).await.unwrap_err().retryable());
    }

    #[test]
    fn snapshots_survive_the_wire_shape() {
        let mut snapshot = Snapshot::default();
        let view = ServiceView {
            host: "web01".into(),
            description: "HTTP".into(),
            state: hagios_domain::State::Critical,
            output: "down".into(),
            long_output: String::new(),
            has_been_checked: true,
            acknowledged: false,
            in_downtime: false,
            notifications_enabled: true,
            last_check: 1,
            last_state_change: 1,
        };
        snapshot.status.services.insert(("web01".into(), "HTTP".into()), view);
        let frame = Frame::State { id: 1, result: Ok(SiteState::from(&snapshot)) };
        let (decoded, _) = decode(&encode(&frame).unwrap(), MAX_FRAME_BYTES).unwrap().unwrap();
        let Frame::State { result: Ok(state), .. } = decoded else { panic!("not a state frame") };
        assert_eq!(Snapshot::from(state).status, snapshot.status);
    }

    proptest! {
        /// Whatever arrives, the decoder answers without panicking and never claims more bytes
        /// than it was given.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), cap in 0usize..1024) {
            if let Ok(Some((_, used))) = decode(&bytes, cap) {
                prop_assert!(used <= bytes.len());
            }
        }

        /// Any declared length over the cap is refused from the prefix alone.
        #[test]
        fn lengths_over_the_cap_are_refused(len in 1025u32.., tail in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut wire = len.to_be_bytes().to_vec();
            wire.extend(tail);
            prop_assert!(
                matches!(decode(&wire, 1024), Err(FrameError::TooLarge { .. })),
                "a {} byte frame was not refused", len
            );
        }

        /// Valid frames with arbitrary text survive; cutting them short only ever asks for more.
        #[test]
        fn truncated_frames_ask_for_more(author in ".{0,64}", cut in 0usize..200) {
            let frame = Frame::Command { id: 1, action: Action::DeleteDowntime { id: 3 }, author };
            let wire = encode(&frame).unwrap();
            let cut = cut.min(wire.len() - 1);
            prop_assert!(matches!(decode(&wire[..cut], MAX_FRAME_BYTES), Ok(None)));
            prop_assert_eq!(decode(&wire, MAX_FRAME_BYTES).unwrap().map(|(f, _)| f), Some(frame));
        }
    }
}
