//! Closing answered questions: once a request waiting for a `yes` is confirmed or cancelled,
//! the question is edited to show who answered and how, without its Yes and Cancel buttons —
//! on whichever platform it was asked, which may not be the one the answer came from. Which
//! requests wait, and where each was asked, the router's confirmations keep
//! (`hagios_commands::Confirmations`).

use hagios_chat::{ChatAdapter, Outbound, Platform};
use hagios_commands::Question;
use std::collections::HashMap;
use std::sync::Arc;

/// Every platform's adapter, by platform.
#[derive(Clone, Default)]
pub struct Chats(Arc<HashMap<Platform, Arc<dyn ChatAdapter>>>);

impl Chats {
    pub fn new(chats: &[Arc<dyn ChatAdapter>]) -> Self {
        Chats(Arc::new(chats.iter().map(|chat| (chat.platform(), chat.clone())).collect()))
    }

    /// Shows `outcome`, given by `by`, in the question instead of its buttons.
    pub async fn close_question(&self, question: &Question, by: &str, outcome: &str) {
        let Some(chat) = Platform::named(&question.platform).and_then(|platform| self.0.get(&platform)) else {
            return;
        };
        let closed = Outbound::Text(format!("{}\n\n{by}: {outcome}", question.text));
        if let Err(e) = chat.update(&question.message, &closed).await {
            tracing::warn!(error = %e, "cannot show the answer in the question");
        }
    }
}
