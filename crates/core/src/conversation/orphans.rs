//! Commands an earlier term left unanswered: the bot that took them died (or lost the lead)
//! between noting and answering them, so they may or may not have reached the monitoring
//! system. The leader answers each where it was typed, says it cannot tell and asks to check
//! and try again — it never runs one a second time — and audits the answer.

use super::Conversation;
use hagios_chat::Outbound;
use hagios_store::{AuditRecord, CommandInFlight};
use std::time::Duration;

/// How often the leader looks for commands another term left: at the start of its term, then
/// this often (a bot paused past its lease may note one after the term began).
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// The answer to a command cut off by a crash or a failover.
pub fn try_again(command: &CommandInFlight) -> String {
    format!(
        "{}: hagios was interrupted (a restart, or a failover to another bot) while doing `{}`, and cannot tell \
         whether it was carried out: check with `status`, and try again if it was not",
        command.user_name, command.typed
    )
}

impl Conversation {
    pub(super) async fn answer_orphans(&self) {
        let platform = self.chat.platform().name();
        let orphans = match self.store.orphaned_commands(platform, self.epoch).await {
            Ok(orphans) => orphans,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for commands an earlier term left unanswered");
                return;
            }
        };
        for (id, command) in orphans {
            let reply = try_again(&command);
            let posted =
                self.chat.post(Some(&command.channel), command.thread.as_ref(), &Outbound::Text(reply.clone())).await;
            if let Err(e) = posted {
                tracing::warn!(error = %e, command = %id, "cannot answer a command an earlier term left; trying later");
                return;
            }
            tracing::warn!(user = %command.user_id, typed = %command.typed, "answered a command cut off by a restart or failover");
            let record = AuditRecord {
                time: hagios_domain::unix_now(),
                platform: command.platform.clone(),
                user_id: command.user_id.clone(),
                user_name: command.user_name.clone(),
                raw_text: command.typed.clone(),
                command: None,
                parsed: None,
                allowed: false,
                result: reply,
            };
            if let Err(e) = self.store.audit(record).await {
                tracing::error!(error = %e, "cannot write the audit record");
            }
            if let Err(e) = self.store.command_answered(id).await {
                tracing::warn!(error = %e, command = %id, "cannot forget an answered command");
            }
        }
    }
}
