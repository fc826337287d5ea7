//! A file hagios posts into chat (a timeline as Markdown, a report's chart as PNG): its name,
//! media type and bytes. Chat platforms upload it their way; platforms without files show it as
//! text where it is text.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file name people see and download it as (`timeline-web01-HTTP.md`).
    pub name: String,
    /// `text/markdown`, `image/png`, …
    pub mime: String,
    pub bytes: Vec<u8>,
}

impl Attachment {
    /// The file as text, when it is text.
    pub fn text(&self) -> Option<&str> {
        self.mime.starts_with("text/").then(|| std::str::from_utf8(&self.bytes).ok()).flatten()
    }
}
