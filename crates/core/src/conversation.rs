//! The command side of chat: each event from a person goes through the router (parse, check
//! against real objects, authorize, execute), is audited, and is answered where it was asked.

use hagios_chat::{ChatAdapter, ChatEvent, ChatUser, MessageRef, Outbound};
use hagios_commands::{AuditEntry, Request, Router};
use hagios_monitor::Monitor;
use hagios_store::AuditRecord;
use hagios_store::StoreHandle;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

#[derive(Clone)]
pub struct Conversation {
    pub chat: Arc<dyn ChatAdapter>,
    pub router: Arc<Router>,
    pub monitor: Arc<dyn Monitor>,
    pub store: StoreHandle,
    pub questions: OpenQuestions,
}

/// Questions waiting for a `yes`, by request number: where each was asked and what it said, so
/// that the answer replaces its Yes and Cancel buttons with the outcome. Shared by the
/// conversations of all platforms: a question asked on one may be answered on another.
#[derive(Clone, Default)]
pub struct OpenQuestions(Arc<Mutex<HashMap<u32, OpenQuestion>>>);

struct OpenQuestion {
    chat: Arc<dyn ChatAdapter>,
    message: MessageRef,
    text: String,
    asked_at: i64,
}

/// How long a question is remembered: well past the time a request waits for its `yes`.
const QUESTIONS_KEPT_SECONDS: i64 = 3600;

impl OpenQuestions {
    fn asked(&self, request: u32, question: OpenQuestion) {
        let mut open = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        open.retain(|_, earlier| earlier.asked_at > question.asked_at - QUESTIONS_KEPT_SECONDS);
        open.insert(request, question);
    }

    /// Shows the outcome in the question instead of its buttons.
    async fn answered(&self, request: u32, by: &str, outcome: &str) {
        let question = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&request);
        let Some(question) = question else { return };
        let closed = Outbound::Text(format!("{}\n\n{by}: {outcome}", question.text));
        if let Err(e) = question.chat.update(&question.message, &closed).await {
            tracing::warn!(error = %e, request, "cannot show the answer in the question");
        }
    }
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
        loop {
            tokio::select! {
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
        let incident = match &asked.thread {
            Some(thread) => {
                self.store.incident_by_message(thread).await.map(|i| i.map(|i| i.object)).unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "cannot look up the thread's incident");
                    None
                })
            }
            None => None,
        };
        if let (None, Some(thread)) = (&incident, &asked.thread) {
            if self.ack_group(&asked.user, thread, &asked.text).await {
                return;
            }
        }
        let request = Request {
            user_id: &asked.user.id,
            user_name: &asked.user.name,
            text: &asked.text,
            incident,
            now: hagios_domain::unix_now(),
        };
        let dispatch = self.router.dispatch(&request, self.monitor.as_ref()).await;
        self.audit(&dispatch.audit).await;
        let (channel, thread) = (Some(asked.channel.as_str()), asked.thread.as_ref());
        let posted = match dispatch.awaiting_yes {
            Some(request) => self.chat.post_question(channel, thread, &dispatch.reply, request).await.map(|message| {
                let (chat, text, asked_at) = (self.chat.clone(), dispatch.reply.clone(), dispatch.audit.time);
                self.questions.asked(request, OpenQuestion { chat, message, text, asked_at });
            }),
            None => self.chat.post(channel, thread, &Outbound::Text(dispatch.reply.clone())).await.map(drop),
        };
        if let Err(e) = posted {
            tracing::error!(error = %e, user = %asked.user.id, "cannot post the reply");
        }
        if let Some(request) = dispatch.answered {
            self.questions.answered(request, &asked.user.name, &dispatch.reply).await;
        }
    }

    /// Writes `entry` to the audit log under this conversation's platform.
    pub(crate) async fn audit(&self, entry: &AuditEntry) {
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
