//! What hagios shows in chat, as data: the card of an incident's parent message, the card of an
//! alert group's message, and where a posted message lives. Chat platforms render these in their
//! own way; the pipeline and the store work with them without knowing any platform.

use crate::{NotificationType, ObjectRef, State};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Where a posted message lives: its channel and the platform's id for it (Slack's `ts`,
/// Matrix's event id, the terminal's `#N`). Stored so that later notifications can thread under
/// and edit it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageRef {
    pub channel: String,
    pub id: String,
}

/// An alert as chat shows it: the parent message of an incident, kept current by edits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertCard {
    pub site: String,
    pub object: ObjectRef,
    pub state: State,
    pub kind: NotificationType,
    pub output: String,
    pub long_output: String,
    /// Who did what since the incident opened ("acknowledged by alice: looking").
    pub history: Vec<String>,
    /// False once the incident recovered; platforms drop the action buttons then.
    pub open: bool,
    pub time: i64,
}

/// What an alert group's message shows: its members and their states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCard {
    pub site: String,
    pub members: Vec<Member>,
    pub time: i64,
}

/// One object of an alert group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub object: ObjectRef,
    pub state: State,
    pub open: bool,
    /// The down host this open member is folded behind (topology folding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folded_under: Option<String>,
}

/// Parent chains are acyclic in Nagios; the bound only guards against a broken configuration.
pub const MAX_PARENT_DEPTH: usize = 16;

impl GroupCard {
    /// A group with no members yet.
    pub fn empty(site: impl Into<String>, time: i64) -> GroupCard {
        GroupCard { site: site.into(), members: Vec::new(), time }
    }

    pub fn any_open(&self) -> bool {
        self.members.iter().any(|member| member.open)
    }

    /// Shows `object` in `state`, adding it as a member when it is new to the group.
    pub fn set(&mut self, object: &ObjectRef, state: State, open: bool) {
        match self.members.iter_mut().find(|member| &member.object == object) {
            Some(member) => (member.state, member.open) = (state, open),
            None => self.members.push(Member { object: object.clone(), state, open, folded_under: None }),
        }
    }

    /// How many open members are folded behind each shown host, counting along chains of down
    /// hosts (a service behind edge01 behind core01 counts for core01).
    pub fn folded_behind(&self) -> HashMap<&str, usize> {
        let host_parent: HashMap<&str, &str> = self
            .members
            .iter()
            .filter(|member| !member.object.is_service())
            .filter_map(|member| Some((member.object.host.as_str(), member.folded_under.as_deref()?)))
            .collect();
        let mut counts = HashMap::new();
        for member in self.members.iter().filter(|member| member.open) {
            let Some(mut root) = member.folded_under.as_deref() else { continue };
            for _ in 0..MAX_PARENT_DEPTH {
                match host_parent.get(root) {
                    Some(parent) => root = parent,
                    None => break,
                }
            }
            *counts.entry(root).or_insert(0) += 1;
        }
        counts
    }
}
