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
}

/// One thing a person asked, whatever the platform or widget they used.
struct Asked {
    user: ChatUser,
    channel: String,
    thread: Option<MessageRef>,
    text: String,
}

impl From<ChatEvent> for Asked {
    fn from(event: ChatEvent) -> Self {
        match event {
            ChatEvent::Command { user, channel, thread, text } => Asked { user, channel, thread, text },
            // A button stands for the command written on it, typed in the thread of its message.
            ChatEvent::Button { user, message, command } => {
                Asked { user, channel: message.channel.clone(), thread: Some(message), text: command }
            }
        }
    }
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
                    Some(event) => {
                        let conversation = self.clone();
                        running.spawn(async move { conversation.answer(event.into()).await });
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

    async fn answer(&self, asked: Asked) {
        let arrived = std::time::Instant::now();
        let noted = self.note(&asked).await;
        let (progress, shown) = mpsc::unbounded_channel();
        let showing =
            tokio::spawn(show_progress(self.chat.clone(), asked.channel.clone(), asked.thread.clone(), shown));
        let dispatch = if asked.user.foreign && !self.listed_users.contains(&asked.user.id) {
            stranger_refused(&asked)
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
        if let Some(id) = noted {
            if let Err(e) = self.store.command_answered(id).await {
                tracing::warn!(error = %e, command = %id, "cannot forget an answered command");
            }
        }
    }

    /// Notes the command before it is carried out, so that should this bot die before it is
    /// answered, the next leader answers it. Carried out anyway when the note fails: the store
    /// being down is no reason to refuse an acknowledgement.
    async fn note(&self, asked: &Asked) -> Option<hagios_store::CommandId> {
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
        match self.store.command_arrived(command).await {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(error = %e, user = %asked.user.id, "cannot note the command in the state database");
                None
            }
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

    /// What the thread `thread` is about: an incident, an alert group, or neither.
    async fn thread_context(&self, thread: &MessageRef) -> Thread {
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
    let audit = AuditEntry {
        time: hagios_domain::unix_now(),
        user_id: id.clone(),
        user_name: asked.user.name.clone(),
        raw_text,
        command: None,
        parsed: None,
        allowed: false,
        result: reply.clone(),
    };
    Dispatch { reply, audit, awaiting_yes: None, answered: None, attachment: None }
}
