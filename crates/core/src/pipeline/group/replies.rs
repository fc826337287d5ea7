//! The member lines of a group delivery in chat: split into thread replies of a size every
//! platform takes, and posted after the group message, each keyed so that a retry finds what an
//! earlier try posted.

use super::super::deliver::Attempt;
use super::super::unrecorded::Posting;
use super::fold::{Folded, Step};
use hagios_chat::{ChatAdapter, ChatError, Outbound};
use hagios_domain::MessageRef;

/// Lines of one thread reply: large batches, well inside Slack's 50 sections of 3,000 characters.
const LINES_PER_REPLY: usize = 400;
const CHARACTERS_PER_REPLY: usize = 24_000;

/// Splits the announced lines into thread replies; returns each reply's text and the indexes
/// of the notifications it carries.
pub fn replies(steps: &[Step]) -> Vec<(String, Vec<usize>)> {
    let mut replies: Vec<(String, Vec<usize>)> = Vec::new();
    for (index, line) in steps.iter().enumerate().filter_map(|(i, step)| step.line.as_ref().map(|l| (i, l))) {
        let fits = replies.last().is_some_and(|(text, carried)| {
            carried.len() < LINES_PER_REPLY && text.len() + line.len() < CHARACTERS_PER_REPLY
        });
        if !fits {
            replies.push((String::new(), Vec::new()));
        }
        let (text, carried) = replies.last_mut().expect("pushed");
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(line);
        carried.push(index);
    }
    replies
}

/// Posts (or, for an open group, edits) the group message and then the member replies; each
/// post is keyed so that a retry finds what an earlier try posted. A new group's message is
/// told to `posting` as soon as chat answers. Returns the group message and, per notification,
/// the message that carries its line.
pub async fn post(
    chat: &dyn ChatAdapter,
    channel: &str,
    existing: Option<&MessageRef>,
    folded: &Folded,
    attempt: &Attempt<'_>,
    posting: Option<&Posting>,
) -> Result<(MessageRef, Vec<Option<MessageRef>>), ChatError> {
    let message = Outbound::Group(folded.card.clone());
    let parent = match existing {
        Some(parent) => {
            // The edit goes first: repeating it after a failed try is harmless.
            chat.update(parent, &message).await?;
            parent.clone()
        }
        None => attempt.post(chat, Some(channel), None, &message).await?,
    };
    if let Some(posting) = posting {
        posting.posted(&parent);
    }
    let mut carriers = vec![None; folded.steps.len()];
    for (number, (text, carried)) in replies(&folded.steps).into_iter().enumerate() {
        let key = format!("{}#{number}", attempt.key);
        let reply = Attempt { key: &key, retrying: attempt.retrying };
        let posted = reply.post(chat, Some(&parent.channel), Some(&parent), &Outbound::Text(text)).await?;
        for index in carried {
            carriers[index] = Some(posted.clone());
        }
    }
    Ok((parent, carriers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_batched_by_lines() {
        let steps: Vec<Step> = (0..900).map(|n| Step { line: Some(format!("line {n}")) }).collect();
        let replies = replies(&steps);
        assert_eq!(replies.iter().map(|(_, carried)| carried.len()).collect::<Vec<_>>(), [400, 400, 100]);
    }
}
