//! Acting on an alert group: `ack [COMMENT]` typed in a group message's thread acknowledges
//! every open member — each through the router as if typed in the member's own thread (parsed,
//! checked, authorized, confirmed by the monitoring system) — and leaves one audit record and
//! one reply summing up the members' results.

use crate::conversation::Conversation;
use hagios_chat::{ChatUser, MessageRef, Outbound};
use hagios_commands::{AuditEntry, Dispatch, Request};
use hagios_domain::ObjectRef;

/// Members whose result is listed one per line; beyond that only the ones not confirmed are.
const MEMBERS_LISTED: usize = 30;

impl Conversation {
    /// Answers `text` for the whole group when it is an `ack` in a group's thread that names no
    /// host of its own; returns false (nothing done) for anything else.
    pub(crate) async fn ack_group(&self, user: &ChatUser, thread: &MessageRef, text: &str) -> bool {
        let mut words = text.split_whitespace();
        if !words.next().is_some_and(|word| word.eq_ignore_ascii_case("ack")) {
            return false;
        }
        let members = match self.store.open_members_of_group(thread).await {
            Ok(Some(members)) if !members.is_empty() => members,
            Ok(_) => return false,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look up the thread's group");
                return false;
            }
        };
        // "ack db01 MySQL …" names its own object: the ordinary command, not the group.
        if let Some(first) = words.next() {
            if self.monitor.snapshot().await.is_ok_and(|snapshot| snapshot.has_host(first)) {
                return false;
            }
        }
        let results = self.ack_each(user, text, members).await;
        let audit = group_audit(user, text, &results);
        self.audit(&audit).await;
        let reply = Outbound::Text(summary(&results));
        if let Err(e) = self.chat.post(Some(&thread.channel), Some(thread), &reply).await {
            tracing::error!(error = %e, user = %user.id, "cannot post the reply");
        }
        true
    }

    /// Dispatches `text` once per member, all at once (each waits for its own confirmation).
    async fn ack_each(&self, user: &ChatUser, text: &str, members: Vec<ObjectRef>) -> Vec<(ObjectRef, Dispatch)> {
        let now = hagios_domain::unix_now();
        let mut running = tokio::task::JoinSet::new();
        for member in members {
            let (router, monitor) = (self.router.clone(), self.monitor.clone());
            let (user_id, user_name, text) = (user.id.clone(), user.name.clone(), text.to_owned());
            running.spawn(async move {
                let request = Request {
                    user_id: &user_id,
                    user_name: &user_name,
                    text: &text,
                    incident: Some(member.clone()),
                    now,
                };
                let dispatch = router.dispatch(&request, monitor.as_ref()).await;
                (member, dispatch)
            });
        }
        let mut results = running.join_all().await;
        results.sort_by_key(|(member, _)| member.to_string());
        results
    }
}

/// How a member's request ended, from its audit result (`confirmed: …`, `failed: …`, a refusal).
fn outcome(dispatch: &Dispatch) -> &str {
    let result = dispatch.audit.result.as_str();
    ["confirmed", "unconfirmed", "failed"].into_iter().find(|word| result.starts_with(word)).unwrap_or("refused")
}

/// One record for the group action: what was typed once, each member's parsed action and result.
fn group_audit(user: &ChatUser, text: &str, results: &[(ObjectRef, Dispatch)]) -> AuditEntry {
    let parsed: Vec<serde_json::Value> = results
        .iter()
        .map(|(member, dispatch)| {
            serde_json::json!({ "member": member.to_string(), "parsed": dispatch.audit.parsed, "result": dispatch.audit.result })
        })
        .collect();
    AuditEntry {
        time: results.first().map_or_else(hagios_domain::unix_now, |(_, dispatch)| dispatch.audit.time),
        user_id: user.id.clone(),
        user_name: user.name.clone(),
        raw_text: text.to_owned(),
        command: Some("ack".to_owned()),
        parsed: Some(serde_json::Value::Array(parsed).to_string()),
        allowed: results.iter().all(|(_, dispatch)| dispatch.audit.allowed),
        result: format!("group: {}", counts(results)),
    }
}

/// "3 confirmed, 1 failed"
fn counts(results: &[(ObjectRef, Dispatch)]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for (_, dispatch) in results {
        let word = outcome(dispatch);
        match counts.iter_mut().find(|(seen, _)| *seen == word) {
            Some((_, count)) => *count += 1,
            None => counts.push((word, 1)),
        }
    }
    counts.iter().map(|(word, count)| format!("{count} {word}")).collect::<Vec<_>>().join(", ")
}

fn summary(results: &[(ObjectRef, Dispatch)]) -> String {
    let mut text = format!("ack for the {} open members of this group: {}", results.len(), counts(results));
    let listed =
        results.iter().filter(|(_, dispatch)| results.len() <= MEMBERS_LISTED || outcome(dispatch) != "confirmed");
    for (member, dispatch) in listed {
        let reply = dispatch.reply.lines().next().unwrap_or_default();
        text.push_str(&format!("\n• {member}: {reply}"));
    }
    text
}
