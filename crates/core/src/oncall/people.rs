//! The people behind the chat ids: `[[user]] person` names one person across platforms, and a
//! `chat_id` without one stands for a person of its own. Schedules name people; pages mention
//! them by the id they have on the platform the page goes to.

use crate::config::UserConfig;
use hagios_chat::{Mention, Platform};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct People {
    /// Person → their chat ids, in configuration order.
    ids: BTreeMap<String, Vec<String>>,
    /// Chat id → person.
    persons: BTreeMap<String, String>,
}

impl People {
    pub fn new(users: &[UserConfig]) -> People {
        let mut people = People::default();
        for user in users {
            let person = user.person.clone().unwrap_or_else(|| user.chat_id.clone());
            let ids = people.ids.entry(person.clone()).or_default();
            if !ids.contains(&user.chat_id) {
                ids.push(user.chat_id.clone());
            }
            people.persons.insert(user.chat_id.clone(), person);
        }
        people
    }

    /// The person a chat id belongs to, if a `[[user]]` lists it.
    pub fn person_of(&self, chat_id: &str) -> Option<&str> {
        self.persons.get(chat_id).map(String::as_str)
    }

    /// The person `text` names: a person, a chat id, or a mention of one as chat writes it
    /// (`<@U0BOB>` on Slack, `@bob:example.org` on Matrix, `@bob` for a person).
    pub fn resolve(&self, text: &str) -> Option<&str> {
        let text = text.trim();
        let slack = text.strip_prefix("<@").and_then(|rest| rest.strip_suffix('>'));
        let slack = slack.map(|id| id.split('|').next().unwrap_or(id));
        [Some(text), slack, text.strip_prefix('@')]
            .into_iter()
            .flatten()
            .find_map(|candidate| {
                self.persons.get(candidate).or_else(|| self.ids.get_key_value(candidate).map(|(person, _)| person))
            })
            .map(String::as_str)
    }

    /// How a page names `person` on `platform`: with their id there, where they have one.
    pub fn mention(&self, person: &str, platform: Platform) -> Mention {
        let user_id = self.ids.get(person).and_then(|ids| ids.iter().find(|id| platform.is_user_id(id))).cloned();
        Mention { name: person.to_owned(), user_id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(chat_id: &str, person: Option<&str>) -> UserConfig {
        UserConfig { chat_id: chat_id.into(), roles: Vec::new(), person: person.map(str::to_owned) }
    }

    #[test]
    fn people_are_found_by_name_id_or_mention_and_mentioned_by_their_id_on_each_platform() {
        let people = People::new(&[
            user("U0ALICE", Some("alice")),
            user("@alice:example.org", Some("alice")),
            user("U0BOB", None),
            user("local", Some("olive")),
        ]);
        assert_eq!(people.person_of("@alice:example.org"), Some("alice"));
        for text in ["alice", "@alice", "U0ALICE", "<@U0ALICE>", "<@U0ALICE|alice>", "@alice:example.org"] {
            assert_eq!(people.resolve(text), Some("alice"), "{text}");
        }
        assert_eq!(people.resolve("<@U0BOB>"), Some("U0BOB"), "an id of its own is its person");
        assert_eq!(people.resolve("mallory"), None);
        assert_eq!(people.mention("alice", Platform::Slack).user_id.as_deref(), Some("U0ALICE"));
        assert_eq!(people.mention("alice", Platform::Matrix).user_id.as_deref(), Some("@alice:example.org"));
        let olive = people.mention("olive", Platform::Slack);
        assert_eq!((olive.name.as_str(), olive.user_id), ("olive", None), "no Slack id: named, not pinged");
        assert_eq!(people.mention("olive", Platform::Terminal).user_id, None);
    }
}
