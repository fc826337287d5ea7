//! The command side of chat: each event from a person goes through the router (parse, check
//! against real objects, authorize, execute), is audited, and is answered where it was asked.

use crate::store::StoreHandle;
use hagios_chat::{ChatAdapter, ChatEvent, ChatUser, MessageRef, Outbound};
use hagios_commands::{Request, Router};
use hagios_monitor::Monitor;
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
            Some(thread) => self.store.incident_object(thread).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot look up the thread's incident");
                None
            }),
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
        if let Err(e) = self.store.audit(self.chat.platform(), &dispatch.audit).await {
            tracing::error!(error = %e, user = %asked.user.id, "cannot write the audit record");
        }
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
}
