//! The wire protocol between agent and bot: typed serde frames, each a big-endian u32 length
//! followed by that many bytes of JSON, with a size cap checked before anything is allocated.
//!
//! A connection starts with the agent's `Hello { version, site, system }`; the bot answers `Welcome` or
//! `Refused { reason }` and closes. After that either side may send any frame; requests carry
//! ids so answers can come back in any order, a command's steps under its id before its answer.
//!
//! Every field that is logged or stored has a short cap, checked as the frame is decoded: a peer
//! cannot push a megabyte "site name" into the other side's log or spool.

use hagios_domain::{
    Action, Comment, Downtime, HostView, Inventory, Notification, Outcome, ServiceView, Snapshot, Status, Step, System,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// The protocol version this build speaks. Bump it when a frame changes incompatibly.
/// 3: a command's outcome may be `not_applied`.
/// 4: the agent reports a command's steps (`CommandStep`) before its result, and names the
///    monitoring system it runs in its `Hello`.
pub const PROTOCOL_VERSION: u32 = 4;

/// The largest frame either side accepts. A site's whole state travels in one frame, and
/// 100k services take about 40 MB of JSON; anything bigger is a broken or hostile peer.
pub const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

/// What the agent accepts from the bot: commands, acknowledgements and heartbeats are small.
pub const MAX_FRAME_FROM_BOT_BYTES: usize = 1024 * 1024;

/// The largest notification frame: every text of a notification at its cap still fits.
pub const MAX_NOTIFICATION_FRAME_BYTES: usize = 1024 * 1024;

/// Longest site name: one DNS label, as `hagios certs` issues agent names.
pub const MAX_SITE_BYTES: usize = 63;
/// Longest spool record id (a record id takes 38 bytes).
pub const MAX_RECORD_BYTES: usize = 64;
/// Longest host name, service description, author or contact.
pub const MAX_NAME_BYTES: usize = 255;
/// Longest reason, refusal or outcome text.
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// Longest plugin output, long output or comment of a notification.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Most steps of one command the bot takes (each may edit a chat reply); an agent sends two.
pub const MAX_STEPS_PER_COMMAND: usize = 8;

const LENGTH_BYTES: usize = 4;

/// One message on the link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "frame", rename_all = "snake_case")]
pub enum Frame {
    /// Agent → bot, first frame: the protocol version it speaks, the site it serves and the
    /// monitoring system that site runs, which chat replies about the site name. Agents of
    /// version 4 built before `system` was added leave it out: their site's replies then say
    /// "the monitoring system".
    Hello {
        version: u32,
        site: String,
        #[serde(default)]
        system: Option<System>,
    },
    /// Bot → agent: the handshake is accepted.
    Welcome { version: u32 },
    /// Either side, then it closes: why the connection is not accepted.
    Refused { reason: String },
    /// Agent → bot: one spooled notification; `record` is the agent's spool record id.
    Notification { record: String, notification: Notification },
    /// Bot → agent: the notification is durable at the bot; the agent may delete its record.
    Stored { record: String },
    /// Bot → agent: the notification is not stored, because as many of this site's records or
    /// bytes wait at the bot as its quota allows. The agent keeps the record and offers it
    /// again after a pause.
    OverQuota { record: String },
    /// Bot → agent: carry out an action for `author` at `site`, the site the bot checked and
    /// authorized it against (the agent refuses it unless that is its own).
    Command { id: u64, site: String, action: Action, author: String },
    /// Agent → bot: how command `id` stands while it waits for the monitoring system's final
    /// word (sent to it, read by it); any number of these come before its `CommandResult`.
    CommandStep { id: u64, step: Step },
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

impl Refusal {
    /// A refusal saying `message`, cut to what the peer accepts.
    pub fn new(message: impl Into<String>, retryable: bool) -> Self {
        let mut message = message.into();
        cut(&mut message, MAX_MESSAGE_BYTES);
        Refusal { message, retryable }
    }
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
    #[error("{frame} frame whose {field} is {problem}; the peer is broken or hostile")]
    Field { frame: &'static str, field: &'static str, problem: FieldProblem },
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

/// What is wrong with a field (never its content, which may be anything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblem {
    TooLong { len: usize, cap: usize },
    ControlCharacters,
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldProblem::TooLong { len, cap } => write!(f, "{len} bytes long, over the {cap}-byte limit"),
            FieldProblem::ControlCharacters => f.write_str("holding control characters"),
        }
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
    let frame: Frame = serde_json::from_slice(body).map_err(|e| FrameError::Malformed(e.to_string()))?;
    frame.check_fields(body.len())?;
    Ok(frame)
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
            Frame::OverQuota { .. } => "OverQuota",
            Frame::Command { .. } => "Command",
            Frame::CommandStep { .. } => "CommandStep",
            Frame::CommandResult { .. } => "CommandResult",
            Frame::StateRequest { .. } => "StateRequest",
            Frame::State { .. } => "State",
            Frame::Heartbeat => "Heartbeat",
        }
    }

    /// Every field that is logged or stored within its cap; `body_len` is the frame's JSON size.
    fn check_fields(&self, body_len: usize) -> Result<(), FrameError> {
        let fields = Fields(self.kind());
        match self {
            Frame::Hello { site, .. } => fields.name("site", site, MAX_SITE_BYTES),
            Frame::Refused { reason } => fields.text("reason", reason, MAX_MESSAGE_BYTES),
            Frame::Notification { record, notification } => {
                fields.size("notification", body_len, MAX_NOTIFICATION_FRAME_BYTES)?;
                fields.name("record", record, MAX_RECORD_BYTES)?;
                fields.notification(notification)
            }
            Frame::Stored { record } | Frame::OverQuota { record } => fields.name("record", record, MAX_RECORD_BYTES),
            Frame::Command { site, author, .. } => {
                fields.name("site", site, MAX_SITE_BYTES)?;
                fields.name("author", author, MAX_NAME_BYTES)
            }
            Frame::CommandStep { step: Step::Received { how }, .. } => fields.text("step", how, MAX_MESSAGE_BYTES),
            Frame::CommandResult { result, .. } => match result {
                Ok(outcome) => fields.text("outcome", outcome.detail(), MAX_MESSAGE_BYTES),
                Err(refusal) => fields.text("refusal", &refusal.message, MAX_MESSAGE_BYTES),
            },
            Frame::State { result: Err(refusal), .. } => fields.text("refusal", &refusal.message, MAX_MESSAGE_BYTES),
            Frame::Welcome { .. }
            | Frame::CommandStep { step: Step::Sent { .. }, .. }
            | Frame::StateRequest { .. }
            | Frame::State { .. }
            | Frame::Heartbeat => Ok(()),
        }
    }
}

/// Checks the fields of one frame.
struct Fields(&'static str);

impl Fields {
    fn problem(&self, field: &'static str, problem: FieldProblem) -> FrameError {
        FrameError::Field { frame: self.0, field, problem }
    }

    fn size(&self, field: &'static str, len: usize, cap: usize) -> Result<(), FrameError> {
        match len > cap {
            true => Err(self.problem(field, FieldProblem::TooLong { len, cap })),
            false => Ok(()),
        }
    }

    /// Free text: only its length is capped.
    fn text(&self, field: &'static str, value: &str, cap: usize) -> Result<(), FrameError> {
        self.size(field, value.len(), cap)
    }

    /// A name: capped, and on one line without terminal escapes.
    fn name(&self, field: &'static str, value: &str, cap: usize) -> Result<(), FrameError> {
        self.text(field, value, cap)?;
        match value.chars().any(char::is_control) {
            true => Err(self.problem(field, FieldProblem::ControlCharacters)),
            false => Ok(()),
        }
    }

    fn notification(&self, notification: &Notification) -> Result<(), FrameError> {
        self.name("id", &notification.id, MAX_RECORD_BYTES)?;
        self.name("site", &notification.site, MAX_SITE_BYTES)?;
        self.name("host", &notification.object.host, MAX_NAME_BYTES)?;
        self.name("service", notification.object.service.as_deref().unwrap_or(""), MAX_NAME_BYTES)?;
        self.name("author", notification.author.as_deref().unwrap_or(""), MAX_NAME_BYTES)?;
        self.name("contact", notification.contact.as_deref().unwrap_or(""), MAX_NAME_BYTES)?;
        self.text("output", &notification.output, MAX_TEXT_BYTES)?;
        self.text("long output", &notification.long_output, MAX_TEXT_BYTES)?;
        self.text("comment", notification.comment.as_deref().unwrap_or(""), MAX_TEXT_BYTES)
    }
}

/// The frame that carries spool record `record` to the bot, made to fit the caps: it is sent
/// as `site`'s, texts over their cap are cut (saying so), and macros are left out when the
/// frame would still be too large. An error means it can never cross the link (a host name
/// over its cap, say): the caller quarantines the record.
pub fn notification_frame(record: &str, site: &str, mut notification: Notification) -> Result<Frame, FrameError> {
    notification.site = site.to_owned();
    notification.id = record.to_owned();
    cut(&mut notification.output, MAX_TEXT_BYTES);
    cut(&mut notification.long_output, MAX_TEXT_BYTES);
    if let Some(comment) = &mut notification.comment {
        cut(comment, MAX_TEXT_BYTES);
    }
    let mut frame = Frame::Notification { record: record.to_owned(), notification };
    let mut len = encoded_len(&frame)?;
    if let Frame::Notification { notification, .. } = &mut frame {
        if len > MAX_NOTIFICATION_FRAME_BYTES && !notification.macros.is_empty() {
            notification.macros.clear();
            len = encoded_len(&frame)?;
        }
    }
    frame.check_fields(len)?;
    Ok(frame)
}

/// The frame that carries step `step` of command `id` to the bot, its text cut to its cap.
pub fn step_frame(id: u64, mut step: Step) -> Frame {
    if let Step::Received { how } = &mut step {
        cut(how, MAX_MESSAGE_BYTES);
    }
    Frame::CommandStep { id, step }
}

fn encoded_len(frame: &Frame) -> Result<usize, FrameError> {
    serde_json::to_vec(frame).map(|body| body.len()).map_err(|e| FrameError::Malformed(e.to_string()))
}

/// Cuts `text` to at most `cap` bytes on a character boundary, ending in a note that it was cut.
pub fn cut(text: &mut String, cap: usize) {
    const NOTE: &str = " … [cut by hagios]";
    if text.len() <= cap {
        return;
    }
    let mut end = cap.saturating_sub(NOTE.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(NOTE);
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::ObjectRef;
    use proptest::prelude::*;

    fn command() -> Frame {
        Frame::Command {
            id: 7,
            site: "nagios01".into(),
            action: Action::Recheck { target: ObjectRef::service("web01", "HTTP") },
            author: "alice".into(),
        }
    }

    #[test]
    fn frames_round_trip_through_bytes() {
        let frames = [
            Frame::Hello { version: PROTOCOL_VERSION, site: "nagios01".into(), system: Some(System::Icinga2) },
            command(),
            Frame::CommandStep {
                id: 7,
                step: Step::Sent { state_every: Some(Duration::from_secs(10)), answer_within: Duration::from_secs(25) },
            },
            Frame::CommandStep { id: 7, step: Step::Received { how: "Nagios read it (its log)".into() } },
            Frame::CommandResult { id: 7, result: Err(Refusal { message: "no".into(), retryable: false }) },
            Frame::CommandResult { id: 8, result: Ok(Outcome::NotApplied("web01 is UP — it has no problem".into())) },
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
    fn a_hello_names_the_system_and_one_from_an_earlier_version_4_agent_still_decodes() {
        let body = |json: &str| {
            let mut wire = (json.len() as u32).to_be_bytes().to_vec();
            wire.extend_from_slice(json.as_bytes());
            decode(&wire, MAX_FRAME_BYTES).unwrap().unwrap().0
        };
        let icinga = body(r#"{"frame":"hello","version":4,"site":"east","system":"icinga2"}"#);
        assert_eq!(icinga, Frame::Hello { version: 4, site: "east".into(), system: Some(System::Icinga2) });
        let earlier = body(r#"{"frame":"hello","version":4,"site":"east"}"#);
        assert_eq!(earlier, Frame::Hello { version: 4, site: "east".into(), system: None });
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
        fn truncated_frames_ask_for_more(author in "[^\\p{Cc}]{0,64}", cut in 0usize..200) {
            let frame = Frame::Command { id: 1, site: "east".into(), action: Action::DeleteDowntime { id: 3 }, author };
            let wire = encode(&frame).unwrap();
            let cut = cut.min(wire.len() - 1);
            prop_assert!(matches!(decode(&wire[..cut], MAX_FRAME_BYTES), Ok(None)));
            prop_assert_eq!(decode(&wire, MAX_FRAME_BYTES).unwrap().map(|(f, _)| f), Some(frame));
        }

        /// Cut text stays within its cap, on a character boundary, and says it was cut.
        #[test]
        fn cut_text_fits(text in ".{0,300}", cap in 20usize..200) {
            let mut cut_text = text.clone();
            cut(&mut cut_text, cap);
            prop_assert!(cut_text.len() <= cap);
            prop_assert!(cut_text == text || (cut_text.ends_with("[cut by hagios]") && text.len() > cap));
        }

        /// Whatever a site name holds, one over the cap or with a control character never decodes.
        #[test]
        fn hello_sites_over_the_cap_or_with_controls_are_refused(site in ".{0,100}") {
            let wire = encode(&Frame::Hello { version: PROTOCOL_VERSION, site: site.clone(), system: Some(System::Nagios) }).unwrap();
            let decoded = decode(&wire, MAX_FRAME_BYTES);
            let acceptable = site.len() <= MAX_SITE_BYTES && !site.chars().any(char::is_control);
            prop_assert_eq!(decoded.is_ok(), acceptable, "{:?}", site);
        }
    }

    fn notification(host: &str) -> Notification {
        let fields = serde_json::json!({
            "id": "1-2-3", "site": "claimed", "kind": "PROBLEM", "object": { "host": host, "service": "HTTP" },
            "state": "CRITICAL", "output": "CRITICAL", "time": 0,
        });
        serde_json::from_value(fields).unwrap()
    }

    fn round_trip(frame: &Frame) -> Result<Frame, FrameError> {
        decode(&encode(frame)?, MAX_FRAME_BYTES).map(|decoded| decoded.expect("a whole frame").0)
    }

    #[test]
    fn every_logged_or_stored_field_is_capped_at_decoding() {
        let long = |cap: usize| "x".repeat(cap + 1);
        let refusal = Refusal { message: long(MAX_MESSAGE_BYTES), retryable: false };
        let mut huge_output = notification("web01");
        huge_output.output = long(MAX_TEXT_BYTES);
        let mut escape_host = notification("web01");
        escape_host.object.host = "web\u{1b}[2J01".into();
        let hostile = [
            Frame::Hello { version: PROTOCOL_VERSION, site: long(MAX_SITE_BYTES), system: Some(System::Nagios) },
            Frame::Refused { reason: long(MAX_MESSAGE_BYTES) },
            Frame::Notification { record: long(MAX_RECORD_BYTES), notification: notification("web01") },
            Frame::Notification { record: "1-2-3".into(), notification: notification(&long(MAX_NAME_BYTES)) },
            Frame::Notification { record: "1-2-3".into(), notification: huge_output },
            Frame::Notification { record: "1-2-3".into(), notification: escape_host },
            Frame::Stored { record: long(MAX_RECORD_BYTES) },
            Frame::OverQuota { record: "1-2-3\n".into() },
            Frame::Command {
                id: 1,
                site: "east".into(),
                action: Action::DeleteDowntime { id: 1 },
                author: long(MAX_NAME_BYTES),
            },
            Frame::Command {
                id: 1,
                site: long(MAX_SITE_BYTES),
                action: Action::DeleteDowntime { id: 1 },
                author: "alice".into(),
            },
            Frame::CommandStep { id: 1, step: Step::Received { how: long(MAX_MESSAGE_BYTES) } },
            Frame::CommandResult { id: 1, result: Err(refusal.clone()) },
            Frame::CommandResult { id: 1, result: Ok(Outcome::Confirmed(long(MAX_MESSAGE_BYTES))) },
            Frame::State { id: 1, result: Err(refusal) },
        ];
        for frame in &hostile {
            let err = round_trip(frame).expect_err(frame.kind());
            assert!(matches!(err, FrameError::Field { .. }) && !err.retryable(), "{err}");
            assert!(err.to_string().len() < 200 && !err.to_string().contains("xxxx"), "{err}");
        }
        let mut macros = notification("web01");
        macros.macros.insert("HUGE".into(), long(MAX_NOTIFICATION_FRAME_BYTES));
        let err = round_trip(&Frame::Notification { record: "1-2-3".into(), notification: macros }).unwrap_err();
        assert!(err.to_string().contains("over the 1048576-byte limit"), "{err}");
    }

    #[test]
    fn the_agent_cuts_a_step_to_what_the_bot_accepts() {
        let frame = step_frame(3, Step::Received { how: "é".repeat(MAX_MESSAGE_BYTES) });
        let Frame::CommandStep { id: 3, step: Step::Received { how } } = round_trip(&frame).unwrap() else { panic!() };
        assert!(how.len() <= MAX_MESSAGE_BYTES && how.ends_with("[cut by hagios]"), "{}", how.len());
    }

    #[test]
    fn the_agent_fits_its_notifications_or_says_why_it_cannot() {
        let mut long = notification("web01");
        long.output = "é".repeat(MAX_TEXT_BYTES);
        long.macros.insert("HUGE".into(), "m".repeat(MAX_NOTIFICATION_FRAME_BYTES));
        let frame = notification_frame("1-2-3", "east", long).unwrap();
        let Frame::Notification { notification: fitted, .. } = round_trip(&frame).unwrap() else { panic!() };
        assert_eq!((fitted.site.as_str(), fitted.id.as_str()), ("east", "1-2-3"));
        assert!(fitted.output.len() <= MAX_TEXT_BYTES && fitted.output.ends_with("[cut by hagios]"));
        assert!(fitted.macros.is_empty(), "macros go when the frame is still too large");
        let named = notification(&"h".repeat(MAX_NAME_BYTES + 1));
        let err = notification_frame("1-2-3", "east", named).unwrap_err();
        assert!(err.to_string().contains("host is 256 bytes long"), "{err}");
    }
}
