//! `timeline`: an incident's story as a Markdown document — when it opened, every notification
//! with its time (state changes, acknowledgements made in chat or in the monitoring UI and
//! mirrored, downtimes, recovery), the people paged, and the commands typed about it with what
//! the monitoring system confirmed — for a postmortem to start from.

use super::desk::stored;
use hagios_commands::{format_length, format_local, DeskAnswer, DeskError};
use hagios_domain::{Attachment, ObjectRef};
use hagios_store::{AuditRecord, IncidentStory, PageStep, StoreHandle};
use jiff::tz::TimeZone;

/// One row of the story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: i64,
    pub what: String,
}

/// The timeline of `object`'s newest incident: a one-line summary and the Markdown file.
pub async fn answer(
    store: &StoreHandle,
    object: &ObjectRef,
    zone: &TimeZone,
    now: i64,
) -> Result<DeskAnswer, DeskError> {
    let Some(story) = store.newest_incident_story(object).await.map_err(stored)? else {
        return Err(DeskError(format!("{object} has had no incident here that hagios kept (or it was pruned)")));
    };
    let incident = &story.incident;
    let until = incident.closed_at.unwrap_or(now);
    let commands = store.audit_between(incident.opened_at, until).await.map_err(stored)?;
    let thread = hagios_domain::MessageRef { channel: incident.channel.clone(), id: incident.message_id.clone() };
    let steps = match store.page_of_thread(&thread).await.map_err(stored)? {
        Some(page) => store.page_steps(page.id).await.map_err(stored)?,
        None => Vec::new(),
    };
    let entries = entries(&story, &commands, &steps);
    let markdown = markdown(&story, &entries, zone, now);
    let summary = format!(
        "timeline of {object}: {} entries since {}{}",
        entries.len(),
        format_local(incident.opened_at, zone),
        acknowledged(&story).map(|after| format!(", acknowledged after {after}")).unwrap_or_default()
    );
    let name = format!("timeline-{}.md", file_safe(&object.to_string()));
    let attachment = Attachment { name, mime: "text/markdown".into(), bytes: markdown.into_bytes() };
    Ok(DeskAnswer { text: summary, attachment: Some(attachment) })
}

/// The story's rows, oldest first.
pub fn entries(story: &IncidentStory, commands: &[AuditRecord], steps: &[PageStep]) -> Vec<Entry> {
    let incident = &story.incident;
    let object = incident.object.to_string();
    let mut entries = vec![Entry { at: incident.opened_at, what: format!("opened: {object} posted to chat") }];
    for line in &story.lines {
        let kind = line.kind.as_deref().unwrap_or("NOTIFICATION");
        let at = line.at.unwrap_or(incident.opened_at);
        entries.push(Entry { at, what: format!("{kind}: {}", line.line) });
    }
    for step in steps {
        let whom = if step.people.is_empty() { "the channel".to_owned() } else { step.people.join(", ") };
        entries.push(Entry { at: step.at, what: format!("paged {whom} (step {}): {}", step.step + 1, step.text) });
    }
    for record in commands.iter().filter(|record| names_object(record, &object)) {
        let command = record.parsed.as_deref().unwrap_or(&record.raw_text);
        let allowed = if record.allowed { "" } else { " (refused)" };
        entries.push(Entry {
            at: record.time,
            what: format!("{} on {}: `{command}`{allowed} → {}", record.user_name, record.platform, record.result),
        });
    }
    if let Some(closed) = incident.closed_at {
        entries.push(Entry { at: closed, what: "closed: recovered".to_owned() });
    }
    // Stable: rows of one second keep the order above (notification, page, command).
    entries.sort_by_key(|entry| entry.at);
    entries
}

/// Whether a command named `object`: a word of its canonical form (or its text) is the object.
/// Asking for the timeline is not part of the story.
fn names_object(record: &AuditRecord, object: &str) -> bool {
    if record.command.as_deref() == Some("timeline") {
        return false;
    }
    let text = record.parsed.as_deref().unwrap_or(&record.raw_text);
    text.split(|c: char| c.is_whitespace() || c == ',' || c == ':').any(|word| word == object)
}

fn acknowledged(story: &IncidentStory) -> Option<String> {
    story.acknowledged_at().map(|at| format_length(at - story.incident.opened_at))
}

fn markdown(story: &IncidentStory, entries: &[Entry], zone: &TimeZone, now: i64) -> String {
    let incident = &story.incident;
    let zone_name = zone.iana_name().unwrap_or("UTC");
    let status = match incident.closed_at {
        Some(closed) => format!("recovered after {}", format_length(closed - incident.opened_at)),
        None => format!("still open ({} so far), {}", format_length(now - incident.opened_at), incident.card.state),
    };
    let mut text = format!("# {} — timeline\n\n", incident.object);
    text.push_str(&format!(
        "- Site: {}\n- Opened: {} ({zone_name})\n",
        incident.site,
        format_local(incident.opened_at, zone)
    ));
    text.push_str(&format!("- Status: {status}\n"));
    if let Some(after) = acknowledged(story) {
        text.push_str(&format!("- Time to acknowledge: {after}\n"));
    }
    text.push_str("\n| Time | What happened |\n|---|---|\n");
    for entry in entries {
        text.push_str(&format!("| {} | {} |\n", format_local(entry.at, zone), cell(&entry.what)));
    }
    text.push_str("\n## Notes\n\n- What happened:\n- Why:\n- What we change:\n");
    text
}

/// Text made safe for one Markdown table cell: one line, no column breaks.
fn cell(text: &str) -> String {
    text.replace(['\n', '\r'], " ").replace('|', "\\|")
}

/// `web01!HTTP` → `web01-HTTP`: a file name without separators or odd characters.
fn file_safe(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '_' { c } else { '-' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::{AlertCard, NotificationType, State};
    use hagios_store::{HistoryLine, Incident, IncidentId};

    fn story() -> IncidentStory {
        let object = ObjectRef { host: "web01".into(), service: Some("HTTP".into()) };
        let card = AlertCard {
            site: "local".into(),
            object: object.clone(),
            state: State::Critical,
            kind: NotificationType::Problem,
            output: String::new(),
            long_output: String::new(),
            history: Vec::new(),
            open: true,
            time: 1_000,
        };
        let incident = Incident {
            id: IncidentId(1),
            site: "local".into(),
            object,
            channel: "C1".into(),
            message_id: "m1".into(),
            card,
            history: Vec::new(),
            opened_at: 1_000,
            closed_at: Some(4_600),
        };
        let line =
            |at: i64, kind: &str, line: &str| HistoryLine { at: Some(at), kind: Some(kind.into()), line: line.into() };
        IncidentStory {
            incident,
            lines: vec![
                line(1_300, "ACKNOWLEDGEMENT", "acknowledged (CRITICAL) by alice: looking | at it"),
                line(4_600, "RECOVERY", "OK"),
            ],
        }
    }

    fn audit(time: i64, parsed: &str) -> AuditRecord {
        AuditRecord {
            time,
            platform: "slack".into(),
            user_id: "U1".into(),
            user_name: "alice".into(),
            raw_text: parsed.into(),
            command: Some("ack".into()),
            parsed: Some(parsed.into()),
            allowed: true,
            result: "confirmed: acknowledged".into(),
        }
    }

    #[test]
    fn the_story_interleaves_notifications_pages_and_commands_about_the_object_only() {
        let story = story();
        let commands = [audit(1_290, "ack web01!HTTP: looking"), audit(1_295, "ack web01: other")];
        let steps = [PageStep { step: 0, at: 1_010, people: vec!["alice".into()], text: "paging alice".into() }];
        let entries = entries(&story, &commands, &steps);
        let whats: Vec<&str> = entries.iter().map(|entry| entry.what.split(':').next().unwrap()).collect();
        assert_eq!(
            whats,
            ["opened", "paged alice (step 1)", "alice on slack", "ACKNOWLEDGEMENT", "RECOVERY", "closed"]
        );

        let markdown = markdown(&story, &entries, &TimeZone::UTC, 5_000);
        assert!(markdown.starts_with("# web01!HTTP — timeline\n"), "{markdown}");
        assert!(markdown.contains("- Time to acknowledge: 5m\n"), "{markdown}");
        assert!(markdown.contains("- Status: recovered after 1h\n"), "{markdown}");
        assert!(markdown.contains("looking \\| at it |"), "a pipe cannot break the table: {markdown}");
        assert_eq!(file_safe("web01!HTTP /x"), "web01-HTTP--x");
    }
}
