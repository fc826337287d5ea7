//! The command side of chat: each event from a person goes through the router (parse, check
//! against real objects, authorize, execute), is audited, and is answered where it was asked.
//! A command typed in a thread carries its context: the incident's object at its site, or the
//! open members of an alert group each at its site (where `ack` acknowledges them all). Someone
//! the platform marks foreign (a Matrix user of a homeserver outside `allowed_servers`) whom no
//! `[[user]]` entry names is refused before the router, read commands included, and the attempt
//! is audited.
//! A command that waits for the monitoring system's final word is answered at once with what is
//! known ("sent to Nagios — waiting for it to confirm …"), and that reply is edited to the final
//! word when it comes.

mod orphans;
mod questions;

use crate::observe::names;
use crate::pipeline::Unrecorded;
use hagios_chat::{ChatAdapter, ChatEvent, ChatUser, MessageRef, Outbound};
use hagios_commands::{AuditEntry, Dispatch, Progress, Question, Request, Router, Thread};
use hagios_domain::SiteObject;
use hagios_monitor::Monitor;
use hagios_store::{AuditRecord, CommandInFlight, StoreHandle};
pub use questions::Chats;
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Shows the replies `progress` hears while a command waits, where it was asked: the first is
/// posted, each later one edits it. Returns that message, for the final word to edit; `None`
/// when nothing was shown (most commands never wait).
async fn show_progress(
    chat: Arc<dyn ChatAdapter>,
    channel: String,
    thread: Option<MessageRef>,
    mut progress: mpsc::UnboundedReceiver<String>,
) -> Option<MessageRef> {
    let mut shown: Option<MessageRef> = None;
    while let Some(text) = progress.recv().await {
        let content = Outbound::Text(text);
        let result = match &shown {
            Some(message) => chat.update(message, &content).await,
            None => chat.post(Some(&channel), thread.as_ref(), &content).await.map(|message| shown = Some(message)),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot show that a command waits for its final word");
        }
    }
    shown
}

/// How much of a refused stranger's text the audit log keeps.
const STRANGER_TEXT_KEPT: usize = 500;

#[derive(Clone)]
pub struct Conversation {
    pub chat: Arc<dyn ChatAdapter>,
    pub router: Arc<Router>,
    pub monitor: Arc<dyn Monitor>,
    pub store: StoreHandle,
    /// Every platform's adapter: a question asked on one may be answered on another.
    pub chats: Chats,
    /// The chat ids `[[user]]` names: people the operators vouch for, answered (by their roles)
    /// even when the platform marks their account foreign.
    pub listed_users: Arc<BTreeSet<String>>,
    /// The leadership term this conversation runs in: commands are noted under it while they
    /// are carried out, and those an earlier term left unanswered are answered with "try again".
    pub epoch: i64,
    /// The new groups' and incidents' messages this platform's pipeline posted and has not
    /// committed yet.
    pub unrecorded: Unrecorded,
}

/// One thing a person asked, whatever the platform or widget they used.
struct Asked {
    user: ChatUser,
    channel: String,
    thread: Option<MessageRef>,
    text: String,
    /// The platform's id of the event, where another listener may read it again.
    event_id: Option<String>,
}

impl Asked {
    /// What a person asked with `event`; `None` for events that ask nothing.
    fn of(event: ChatEvent) -> Option<Asked> {
        match event {
            ChatEvent::Command { user, channel, thread, text, event_id } => {
                Some(Asked { user, channel, thread, text, event_id })
            }
            // A button stands for the command written on it, typed in the thread of its message.
            ChatEvent::Button { user, message, command, event_id } => {
                Some(Asked { user, channel: message.channel.clone(), thread: Some(message), text: command, event_id })
            }
            ChatEvent::Synced { .. } => None,
        }
    }
}

/// What noting a command before carrying it out came to.
enum Note {
    /// Noted under this id, forgotten once answered.
    Noted(hagios_store::CommandId),
    /// The store could not note it. Carried out all the same where the platform delivers each
    /// event once (the store being down is no reason to refuse an acknowledgement); refused with
    /// "try again" where another listener may read the event again and carry it out.
    Failed(hagios_store::StoreError),
}

impl Conversation {
    /// Answers events until the listener closes or `shutdown` turns true. Each command runs in
    /// its own task: a confirmation can take seconds and must not hold up other people.
    pub async fn serve(self, mut events: mpsc::Receiver<ChatEvent>, mut shutdown: watch::Receiver<bool>) {
        let mut running = tokio::task::JoinSet::new();
        let mut orphans = tokio::time::interval(orphans::SWEEP_EVERY);
        loop {
            tokio::select! {
                _ = orphans.tick() => self.answer_orphans().await,
                event = events.recv() => match event {
                    Some(ChatEvent::Synced { position }) => self.keep_position(&position).await,
                    Some(event) => {
                        let Some(asked) = Asked::of(event) else { continue };
                        // Noted here, in the order the events came, before the position after
                        // them is kept: a listener resuming from there misses none of them.
                        let Some(note) = self.note(&asked).await else { continue };
                        let conversation = self.clone();
                        running.spawn(async move { conversation.answer(asked, note).await });
                    }
                    None => break,
                },
                _ = shutdown.changed() => break,
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        // Commands already sent to the monitoring system still get their answer and audit record.
        while running.join_next().await.is_some() {}
    }

    async fn answer(&self, asked: Asked, note: Note) {
        let arrived = std::time::Instant::now();
        let (progress, shown) = mpsc::unbounded_channel();
        let showing =
            tokio::spawn(show_progress(self.chat.clone(), asked.channel.clone(), asked.thread.clone(), shown));
        let dispatch = if asked.user.foreign && !self.listed_users.contains(&asked.user.id) {
            stranger_refused(&asked)
        } else if let (Note::Failed(e), Some(_)) = (&note, &asked.event_id) {
            unnoted_refused(&asked, e)
        } else {
            self.dispatch(&asked, &|text| {
                // The receiver lives until the dispatch is over.
                let _ = progress.send(text);
            })
            .await
        };
        drop(progress);
        let waiting_reply = showing.await.ok().flatten();
        count(&dispatch.audit, arrived.elapsed());
        self.audit(&dispatch.audit).await;
        let (channel, thread) = (Some(asked.channel.as_str()), asked.thread.as_ref());
        let reply = Outbound::Text(dispatch.reply.clone());
        let posted = match (dispatch.awaiting_yes, &dispatch.attachment, waiting_reply) {
            (_, Some(file), _) => self.chat.upload(channel, thread, file, &dispatch.reply).await.map(drop),
            (Some(request), None, _) => {
                self.chat.post_question(channel, thread, &dispatch.reply, request).await.map(|message| {
                    let platform = self.chat.platform().name().to_owned();
                    let question = Question { platform, message, text: dispatch.reply.clone() };
                    self.router.confirmations().asked(request, question);
                })
            }
            (None, None, Some(waiting)) => self.chat.update(&waiting, &reply).await,
            (None, None, None) => self.chat.post(channel, thread, &reply).await.map(drop),
        };
        if let Err(e) = posted {
            tracing::error!(error = %e, user = %asked.user.id, "cannot post the reply");
        }
        if let Some(question) = dispatch.answered.and_then(|answered| answered.question) {
            self.chats.close_question(&question, &asked.user.name, &dispatch.reply).await;
        }
        if let Note::Noted(id) = note {
            if let Err(e) = self.store.command_answered(id).await {
                tracing::warn!(error = %e, command = %id, "cannot forget an answered command");
            }
        }
    }

    /// Notes the command before it is carried out, so that should this bot die before it is
    /// answered, the next leader answers it. A command whose event was taken before (read again
    /// after a failover or restart) is not carried out again: `None`.
    async fn note(&self, asked: &Asked) -> Option<Note> {
        let command = CommandInFlight {
            platform: self.chat.platform().name().to_owned(),
            channel: asked.channel.clone(),
            thread: asked.thread.clone(),
            user_id: asked.user.id.clone(),
            user_name: asked.user.name.clone(),
            typed: asked.text.clone(),
            epoch: self.epoch,
            received_at: hagios_domain::unix_now(),
        };
        let noted = match &asked.event_id {
            Some(event_id) => self.store.command_taken(command, event_id).await,
            None => self.store.command_arrived(command).await.map(Some),
        };
        match noted {
            Ok(Some(id)) => Some(Note::Noted(id)),
            Ok(None) => {
                tracing::info!(user = %asked.user.id, typed = %asked.text, "passed over an event taken before");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, user = %asked.user.id, "cannot note the command in the state database");
                Some(Note::Failed(e))
            }
        }
    }

    /// Keeps where the platform's events resume: every command before it was noted.
    async fn keep_position(&self, position: &str) {
        let platform = self.chat.platform().name();
        if let Err(e) = self.store.keep_chat_position(platform, position).await {
            tracing::warn!(error = %e, platform, "cannot keep where chat events resume");
        }
    }

    /// The router's answer to what a person asked, in the context of the thread it was asked in;
    /// `progress` hears the reply as it stands while an action waits for its final word.
    async fn dispatch(&self, asked: &Asked, progress: Progress<'_>) -> Dispatch {
        let thread = match &asked.thread {
            Some(thread) => self.thread_context(thread).await,
            None => Thread::None,
        };
        let request = Request {
            user_id: &asked.user.id,
            user_name: &asked.user.name,
            text: &asked.text,
            thread,
            now: hagios_domain::unix_now(),
        };
        self.router.dispatch_with(&request, self.monitor.as_ref(), progress).await
    }

    /// What the thread `thread` is about: an incident, an alert group, or neither. A new group's
    /// message is in chat a while before the store records its members (its member lines are
    /// posted first), a new incident's a moment; so a thread the store does not know waits for
    /// the messages being posted, then is looked up again. The second look also covers a commit
    /// that came between the first look and the wait.
    async fn thread_context(&self, thread: &MessageRef) -> Thread {
        match self.recorded_context(thread).await {
            Thread::None => {}
            known => return known,
        }
        self.unrecorded.wait_recorded(thread).await;
        self.recorded_context(thread).await
    }

    /// What the store says the thread `thread` is about.
    async fn recorded_context(&self, thread: &MessageRef) -> Thread {
        let looked_up = async {
            if let Some(incident) = self.store.incident_by_message(thread).await? {
                let at = SiteObject::new(incident.site, incident.object);
                return Ok(Thread::Incident { at, opened_at: incident.opened_at });
            }
            Ok(self.store.open_members_of_group(thread).await?.map_or(Thread::None, Thread::Group))
        };
        looked_up.await.unwrap_or_else(|e: hagios_store::StoreError| {
            tracing::warn!(error = %e, "cannot look up what the thread is about");
            Thread::None
        })
    }

    /// Writes `entry` to the audit log under this conversation's platform.
    async fn audit(&self, entry: &AuditEntry) {
        let record = AuditRecord {
            time: entry.time,
            platform: self.chat.platform().name().to_owned(),
            user_id: entry.user_id.clone(),
            user_name: entry.user_name.clone(),
            raw_text: entry.raw_text.clone(),
            command: entry.command.clone(),
            parsed: entry.parsed.clone(),
            allowed: entry.allowed,
            result: entry.result.clone(),
        };
        if let Err(e) = self.store.audit(record).await {
            tracing::error!(error = %e, user = %entry.user_id, "cannot write the audit record");
        }
    }
}

/// Counts a command by name and outcome, with the time it took to answer.
fn count(audit: &AuditEntry, took: std::time::Duration) {
    let command = audit.command.clone().unwrap_or_else(|| "unknown".to_owned());
    let outcome = if audit.allowed { outcome(&audit.result) } else { "refused" };
    metrics::counter!(names::COMMANDS, "command" => command.clone(), "outcome" => outcome).increment(1);
    metrics::histogram!(names::COMMAND_DURATION, "command" => command).record(took.as_secs_f64());
}

/// The outcome word of an allowed command's audit result (`confirmed: …`, `answered`, …).
fn outcome(result: &str) -> &'static str {
    const OUTCOMES: [(&str, &str); 8] = [
        ("confirmed", "confirmed"),
        ("unconfirmed", "unconfirmed"),
        ("not applied", "not_applied"),
        ("failed", "failed"),
        ("answered", "answered"),
        ("awaiting yes", "awaiting_yes"),
        ("cancelled", "cancelled"),
        ("group:", "group"),
    ];
    OUTCOMES.iter().find(|(prefix, _)| result.starts_with(prefix)).map_or("other", |(_, outcome)| outcome)
}

/// The refusal of everything a stranger asks (a foreign account no `[[user]]` entry names), with
/// its audit record: nothing reaches the router, so nothing is parsed, fetched or run.
fn stranger_refused(asked: &Asked) -> Dispatch {
    let id = &asked.user.id;
    let reply = format!(
        "refused: hagios answers people of the servers it is set up for, and {id} is on another one; \
         ask its operators to allow your server or to add {id} as a [[user]]"
    );
    let mut raw_text: String = asked.text.chars().take(STRANGER_TEXT_KEPT).collect();
    if raw_text.len() < asked.text.len() {
        raw_text = format!("{raw_text}… ({} bytes in all)", asked.text.len());
    }
    tracing::warn!(user = %id, "refused a command from a foreign account");
    refusal(asked, raw_text, reply)
}

/// The refusal of a command whose event could not be noted as taken: carried out now, it could
/// be carried out again by a listener that reads the event again (the next leader's).
fn unnoted_refused(asked: &Asked, error: &hagios_store::StoreError) -> Dispatch {
    let reply = format!(
        "{}: not done — the state database failed ({error}), and hagios carries out a command only once it noted \
         it; try again in a moment",
        asked.user.name
    );
    refusal(asked, asked.text.clone(), reply)
}

/// `reply` to what `asked` asked, refused before the router, with its audit record.
fn refusal(asked: &Asked, raw_text: String, reply: String) -> Dispatch {
    let audit = AuditEntry {
        time: hagios_domain::unix_now(),
        user_id: asked.user.id.clone(),
        user_name: asked.user.name.clone(),
        raw_text,
        command: None,
        parsed: None,
        allowed: false,
        result: reply.clone(),
    };
    Dispatch { reply, audit, awaiting_yes: None, answered: None, attachment: None }
}
