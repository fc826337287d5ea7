//! `timeline`: an incident's story as a Markdown document — when it opened, every notification
//! with its time (state changes, acknowledgements made in chat or in the monitoring UI and
//! mirrored, downtimes, recovery), the people paged, and the commands typed about it with what
//! the monitoring system confirmed — for a postmortem to start from.

use super::desk::stored;
use hagios_commands::{format_length, format_local, DeskAnswer, DeskError};
use hagios_domain::{Attachment, MessageRef, ObjectRef};
use hagios_store::{AuditRecord, IncidentStory, PageStep, StoreHandle};
use jiff::tz::TimeZone;

/// One row of the story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: i64,
    pub what: String,
}

/// Where an incident's story comes from: the platforms configured, in order (a story told on
/// several is read from the first), and the zone times are written in.
pub struct Teller<'a> {
    pub store: &'a StoreHandle,
    pub platforms: &'a [String],
    pub zone: &'a TimeZone,
}

/// The timeline of the incident of `object` at `site` opened at `opened_at` (the newest when
/// `None`): a one-line summary and the Markdown file. An incident posted on several platforms
/// is one story, with the pages of each platform's thread.
pub async fn answer(
    teller: &Teller<'_>,
    site: &str,
    object: &ObjectRef,
    opened_at: Option<i64>,
    now: i64,
) -> Result<DeskAnswer, DeskError> {
    let (store, zone) = (teller.store, teller.zone);
    let mut told = store.incident_everywhere(site, object, opened_at).await.map_err(stored)?;
    told.sort_by_key(|told| teller.platforms.iter().position(|platform| *platform == told.platform));
    let Some(first) = told.first() else {
        let which = if opened_at.is_some() { "this incident of" } else { "no incident of" };
        return Err(DeskError(format!(
            "hagios kept {which} {object} at site {site} (or it was pruned): nothing to tell"
        )));
    };
    let story = &first.story;
    let incident = &story.incident;
    let until = incident.closed_at.unwrap_or(now);
    let commands = store.audit_between(incident.opened_at, until).await.map_err(stored)?;
    let mut steps = Vec::new();
    for one in &told {
        let on = store.for_platform(&one.platform);
        // Paged in its own thread, or in its alert group's.
        let incident = &one.story.incident;
        let mut thread = MessageRef { channel: incident.channel.clone(), id: incident.message_id.clone() };
        if let Some(group) = on.group_of_incident(incident.id).await.map_err(stored)? {
            if let Some(group) = on.group(group).await.map_err(stored)? {
                thread = MessageRef { channel: group.channel, id: group.message_id };
            }
        }
        if let Some(page) = on.page_of_thread(&thread).await.map_err(stored)? {
            steps.extend(
                on.page_steps(page.id).await.map_err(stored)?.into_iter().map(|step| (one.platform.clone(), step)),
            );
        }
    }
    let entries = entries(story, &commands, &steps);
    let markdown = markdown(story, &entries, zone, now);
    let summary = format!(
        "timeline of {object} at {site}: {} entries since {}{}",
        entries.len(),
        format_local(incident.opened_at, zone),
        acknowledged(story).map(|after| format!(", acknowledged after {after}")).unwrap_or_default()
    );
    let name = format!("timeline-{}.md", file_safe(&object.to_string()));
    let attachment = Attachment { name, mime: "text/markdown".into(), bytes: markdown.into_bytes() };
    Ok(DeskAnswer { text: summary, attachment: Some(attachment) })
}

/// The story's rows, oldest first. `steps` are the paged steps with the platform each was paged
/// on, named where there are several.
pub fn entries(story: &IncidentStory, commands: &[AuditRecord], steps: &[(String, PageStep)]) -> Vec<Entry> {
    let incident = &story.incident;
    let mut entries =
        vec![Entry { at: incident.opened_at, what: format!("opened: {} posted to chat", incident.object) }];
    for line in &story.lines {
        let kind = line.kind.as_deref().unwrap_or("NOTIFICATION");
        let at = line.at.unwrap_or(incident.opened_at);
        entries.push(Entry { at, what: format!("{kind}: {}", line.line) });
    }
    let several = steps.iter().any(|(platform, _)| *platform != steps[0].0);
    for (platform, step) in steps {
        let whom = if step.people.is_empty() { "the channel".to_owned() } else { step.people.join(", ") };
        let on = if several { format!(" on {platform}") } else { String::new() };
        entries.push(Entry { at: step.at, what: format!("paged {whom}{on} (step {}): {}", step.step + 1, step.text) });
    }
    for record in commands.iter().filter(|record| names_object(record, &incident.site, &incident.object)) {
        // What was typed reads better in a postmortem than the canonical form it was found by.
        let command = &record.raw_text;
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

/// Whether a command was about `object` at `site`. An action is kept as JSON (with its site
/// where the bot serves several): its target is the object. A desk command is kept in words:
/// one of them is the object, alone or as `SITE:OBJECT`. Asking for the timeline is not part of
/// the story.
fn names_object(record: &AuditRecord, site: &str, object: &ObjectRef) -> bool {
    if record.command.as_deref() == Some("timeline") {
        return false;
    }
    let text = record.parsed.as_deref().unwrap_or(&record.raw_text);
    if let Ok(serde_json::Value::Object(parsed)) = serde_json::from_str::<serde_json::Value>(text) {
        return match (parsed.get("site"), parsed.get("action")) {
            (Some(at), Some(action)) => at == site && targets(action, object),
            _ => targets(&serde_json::Value::Object(parsed), object),
        };
    }
    let (plain, at_site) = (object.to_string(), format!("{site}:{object}"));
    text.split(|c: char| c.is_whitespace() || c == ',')
        .map(|word| word.trim_end_matches(':'))
        .any(|word| word == plain || word == at_site)
}

/// Whether an action (as JSON) has `object` as its target, or among its targets.
fn targets(action: &serde_json::Value, object: &ObjectRef) -> bool {
    match action {
        serde_json::Value::Object(fields) => {
            let service = fields.get("service").and_then(serde_json::Value::as_str);
            (fields.get("host").and_then(serde_json::Value::as_str) == Some(object.host.as_str())
                && service == object.service.as_deref())
                || fields.values().any(|value| targets(value, object))
        }
        serde_json::Value::Array(values) => values.iter().any(|value| targets(value, object)),
        _ => false,
    }
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
        let commands = [
            audit(1_290, r#"{"action":"acknowledge","target":{"host":"web01","service":"HTTP"},"comment":"looking"}"#),
            audit(1_291, r#"{"site":"west","action":{"action":"recheck","target":{"host":"web01","service":"HTTP"}}}"#),
            audit(1_295, r#"{"action":"acknowledge","target":{"host":"web01","service":null},"comment":"other"}"#),
            audit(1_296, "escalate web01, local:web01!HTTP: too slow"),
            audit(1_297, "escalate east:web01!HTTP: elsewhere"),
        ];
        let page = |at: i64| PageStep { step: 0, at, people: vec!["alice".into()], text: "paging alice".into() };
        let entries = entries(&story, &commands, &[("slack".into(), page(1_010))]);
        let whats: Vec<&str> = entries.iter().map(|entry| entry.what.split(':').next().unwrap()).collect();
        assert_eq!(
            whats,
            [
                "opened",
                "paged alice (step 1)",
                "alice on slack",
                "alice on slack",
                "ACKNOWLEDGEMENT",
                "RECOVERY",
                "closed"
            ]
        );
        assert!(entries[2].what.contains("looking") && entries[3].what.contains("too slow"), "{entries:#?}");
        let both = [("slack".into(), page(1_010)), ("matrix".into(), page(1_011))];
        let paged: Vec<String> = super::entries(&story, &[], &both)
            .into_iter()
            .filter(|e| e.what.starts_with("paged"))
            .map(|e| e.what)
            .collect();
        assert_eq!(
            paged,
            ["paged alice on slack (step 1): paging alice", "paged alice on matrix (step 1): paging alice"]
        );

        let markdown = markdown(&story, &entries, &TimeZone::UTC, 5_000);
        assert!(markdown.starts_with("# web01!HTTP — timeline\n"), "{markdown}");
        assert!(markdown.contains("- Time to acknowledge: 5m\n"), "{markdown}");
        assert!(markdown.contains("- Status: recovered after 1h\n"), "{markdown}");
        assert!(markdown.contains("looking \\| at it |"), "a pipe cannot break the table: {markdown}");
        assert_eq!(file_safe("web01!HTTP /x"), "web01-HTTP--x");
    }

    /// Two sites with a host of the same name: west's web01!HTTP failed twice (the first time
    /// posted on Slack and Matrix, paged on both, acknowledged from Matrix, recovered), east's
    /// once, last.
    #[tokio::test]
    async fn a_timeline_tells_the_incident_at_its_site_once_with_every_platforms_pages() {
        use crate::oncall::testing::Posting;
        use hagios_domain::NotificationType::{Acknowledgement, Recovery};
        let store = hagios_store::Store::open_in_memory().unwrap();
        let web01 = ObjectRef::service("web01", "HTTP");
        for (platform, channel) in [("slack", "C1"), ("matrix", "!r:x")] {
            let west = Posting::new(&store, platform, channel).at("west");
            let id = west.open(&web01, 1_000);
            west.page(&web01, 1_000, &[("alice", 1_010)], Some((1_300, "acknowledged by alice")));
            west.follow(id, &web01, &[(Acknowledgement, 1_300), (Recovery, 2_000)]);
        }
        let slack = Posting::new(&store, "slack", "C1");
        slack.clone_at("west").open(&web01, 5_000);
        slack.clone_at("east").open(&web01, 6_000);
        let ack = |site: &str, time: i64| AuditRecord {
            parsed: Some(format!(
                r#"{{"site":"{site}","action":{{"action":"acknowledge","target":{{"host":"web01","service":"HTTP"}}}}}}"#
            )),
            platform: "matrix".into(),
            raw_text: "ack".into(),
            result: format!("confirmed: acknowledged {site}:web01!HTTP"),
            ..audit(time, "")
        };
        store.audit(&ack("west", 1_290)).unwrap();
        store.audit(&ack("east", 1_291)).unwrap();

        let handle = StoreHandle::from(store.for_platform("slack"));
        let platforms = ["slack".to_owned(), "matrix".to_owned()];
        let teller = Teller { store: &handle, platforms: &platforms, zone: &TimeZone::UTC };
        let told = |site: &'static str, opened_at: Option<i64>| {
            let (teller, web01) = (&teller, &web01);
            async move {
                let answer = answer(teller, site, web01, opened_at, 9_000).await.map_err(|e| e.0)?;
                Ok::<_, String>(String::from_utf8(answer.attachment.unwrap().bytes).unwrap())
            }
        };
        let first = told("west", Some(1_000)).await.unwrap();
        assert!(first.contains("- Site: west\n") && first.contains("- Status: recovered after 16m 40s\n"), "{first}");
        assert!(
            first.contains("paged alice on slack (step 1)") && first.contains("paged alice on matrix (step 1)"),
            "{first}"
        );
        assert_eq!(first.matches("| ACKNOWLEDGEMENT:").count(), 1, "one story, not one per platform: {first}");
        assert!(first.contains("alice on matrix: `ack` → confirmed: acknowledged west:web01!HTTP"), "{first}");
        assert!(!first.contains("east"), "nothing of the other site's web01: {first}");

        let newest = told("west", None).await.unwrap();
        assert!(newest.contains("- Site: west\n") && newest.contains("- Status: still open"), "{newest}");
        let east = told("east", None).await.unwrap();
        assert!(east.contains("- Site: east\n") && !east.contains("paged"), "{east}");
        assert_eq!(
            told("north", None).await.unwrap_err(),
            "hagios kept no incident of web01!HTTP at site north (or it was pruned): nothing to tell"
        );
    }

    #[tokio::test]
    async fn a_member_of_an_alert_group_tells_the_pages_of_the_groups_thread() {
        use crate::oncall::testing::Posting;
        let store = hagios_store::Store::open_in_memory().unwrap();
        let (web03, web04) = (ObjectRef::host("web03"), ObjectRef::host("web04"));
        let slack = Posting::new(&store, "slack", "C1");
        slack.open_group(&[web03.clone(), web04.clone()], 1_000);
        slack.page(&web03, 1_000, &[("alice", 1_010)], None);
        let handle = StoreHandle::from(store);
        let platforms = ["slack".to_owned()];
        let teller = Teller { store: &handle, platforms: &platforms, zone: &TimeZone::UTC };
        let answer = answer(&teller, "local", &web04, None, 2_000).await.unwrap();
        let story = String::from_utf8(answer.attachment.unwrap().bytes).unwrap();
        assert!(story.contains("| paged alice (step 1)"), "{story}");
    }
}
