//! Commands from chat while they are carried out: each is noted when it arrives and forgotten
//! once answered. One still noted under an earlier leadership term was cut off by a crash or a
//! failover — it may or may not have reached the monitoring system — and the leader answers
//! it with "try again" instead of running it a second time (at most once, never silently).

use crate::sql::{args, DbError, Row, Sql};
use crate::{Store, StoreError};
use hagios_domain::MessageRef;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommandId(pub i64);

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A command as it arrived: who typed what, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandInFlight {
    pub platform: String,
    pub channel: String,
    /// The thread it was typed in, where the answer goes.
    pub thread: Option<MessageRef>,
    pub user_id: String,
    pub user_name: String,
    pub typed: String,
    /// The leadership term that took it.
    pub epoch: i64,
    /// Seconds since the epoch.
    pub received_at: i64,
}

impl Store {
    /// Notes `command` before it is carried out. Any bot may (the note is what lets the next
    /// leader answer it).
    pub fn command_arrived(&self, command: &CommandInFlight) -> Result<CommandId, StoreError> {
        self.with_sql(|sql| note(sql, command))
    }

    /// Takes the chat event `event_id` that brought `command` and notes the command, in one
    /// transaction of the leader's term; `None` when the event was taken before (by this bot or
    /// another, which carried it out or left it to be answered "try again"). For platforms whose
    /// next leader may read an event again: Matrix, which resumes from the position kept.
    pub fn command_taken(&self, command: &CommandInFlight, event_id: &str) -> Result<Option<CommandId>, StoreError> {
        self.in_transaction(|sql| {
            let taken = sql.execute(
                "INSERT INTO chat_events_taken (platform, event_id, taken_at) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                args![&command.platform, event_id, command.received_at],
            )?;
            if taken == 0 {
                return Ok(None);
            }
            note(sql, command).map(Some)
        })
    }

    /// Where reading `platform`'s events resumes, if it was kept.
    pub fn chat_position(&self, platform: &str) -> Result<Option<String>, StoreError> {
        self.with_sql(|sql| {
            let row = sql.query_opt("SELECT position FROM chat_positions WHERE platform = $1", args![platform])?;
            Ok(row.map(|row| row.text(0)).transpose()?)
        })
    }

    /// Keeps `position` as where reading `platform`'s events resumes, as the leader's write:
    /// every event before it was taken (see [`Store::command_taken`]).
    pub fn keep_chat_position(&self, platform: &str, position: &str) -> Result<(), StoreError> {
        self.in_transaction(|sql| {
            sql.execute(
                "INSERT INTO chat_positions (platform, position) VALUES ($1, $2)
                 ON CONFLICT (platform) DO UPDATE SET position = excluded.position",
                args![platform, position],
            )?;
            Ok(())
        })
    }

    /// Forgets a command that was answered.
    pub fn command_answered(&self, id: CommandId) -> Result<(), StoreError> {
        self.with_sql(|sql| {
            sql.execute("DELETE FROM commands_in_flight WHERE id = $1", args![id.0])?;
            Ok(())
        })
    }

    /// The commands of `platform` noted under a term before `epoch` and never answered, oldest
    /// first.
    pub fn orphaned_commands(
        &self,
        platform: &str,
        epoch: i64,
    ) -> Result<Vec<(CommandId, CommandInFlight)>, StoreError> {
        self.with_sql(|sql| {
            let rows = sql.query(
                "SELECT id, platform, channel, thread, user_id, user_name, typed, epoch, received_at
                 FROM commands_in_flight WHERE platform = $1 AND epoch < $2 ORDER BY id",
                args![platform, epoch],
            )?;
            Ok(rows.iter().map(command).collect::<Result<_, _>>()?)
        })
    }
}

fn note(sql: &mut dyn Sql, command: &CommandInFlight) -> Result<CommandId, StoreError> {
    let thread = command.thread.as_ref().map(|thread| thread.id.as_str());
    let row = sql.query_one(
        "INSERT INTO commands_in_flight (platform, channel, thread, user_id, user_name, typed, epoch, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        args![
            &command.platform,
            &command.channel,
            thread,
            &command.user_id,
            &command.user_name,
            &command.typed,
            command.epoch,
            command.received_at,
        ],
    )?;
    Ok(CommandId(row.int(0)?))
}

fn command(row: &Row) -> Result<(CommandId, CommandInFlight), DbError> {
    let channel = row.text(2)?;
    let thread = row.opt_text(3)?.map(|id| MessageRef { channel: channel.clone(), id });
    Ok((
        CommandId(row.int(0)?),
        CommandInFlight {
            platform: row.text(1)?,
            channel,
            thread,
            user_id: row.text(4)?,
            user_name: row.text(5)?,
            typed: row.text(6)?,
            epoch: row.int(7)?,
            received_at: row.int(8)?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::engines;

    fn ack(epoch: i64, platform: &str) -> CommandInFlight {
        CommandInFlight {
            platform: platform.into(),
            channel: "C0ALERTS".into(),
            thread: Some(MessageRef { channel: "C0ALERTS".into(), id: "1700000000.000001".into() }),
            user_id: "U1".into(),
            user_name: "alice".into(),
            typed: "ack web01 on it".into(),
            epoch,
            received_at: 100,
        }
    }

    #[test]
    fn a_command_a_term_left_unanswered_is_the_next_terms_to_answer() {
        for engine in engines() {
            let store = engine.open();
            let answered = store.command_arrived(&ack(1, "slack")).unwrap();
            let cut_off = store.command_arrived(&ack(1, "slack")).unwrap();
            store.command_arrived(&ack(1, "matrix")).unwrap();
            let current = store.command_arrived(&ack(2, "slack")).unwrap();
            store.command_answered(answered).unwrap();

            let orphans = store.orphaned_commands("slack", 2).unwrap();
            assert_eq!(orphans, [(cut_off, ack(1, "slack"))], "{engine}");
            assert!(store.orphaned_commands("slack", 1).unwrap().is_empty(), "{engine}: none before term 1");
            store.command_answered(cut_off).unwrap();
            store.command_answered(current).unwrap();
            assert!(store.orphaned_commands("slack", 3).unwrap().is_empty(), "{engine}");
        }
    }

    #[test]
    fn an_event_is_taken_once_and_the_position_kept_is_the_last() {
        for engine in engines() {
            let store = engine.open();
            assert_eq!(store.chat_position("matrix").unwrap(), None, "{engine}");
            let first = store.command_taken(&ack(1, "matrix"), "$event1").unwrap();
            assert!(first.is_some(), "{engine}: taken");
            assert_eq!(store.command_taken(&ack(2, "matrix"), "$event1").unwrap(), None, "{engine}: once");
            assert!(store.command_taken(&ack(2, "slack"), "$event1").unwrap().is_some(), "{engine}: per platform");
            store.keep_chat_position("matrix", "s1").unwrap();
            store.keep_chat_position("matrix", "s2").unwrap();
            assert_eq!(store.chat_position("matrix").unwrap().as_deref(), Some("s2"), "{engine}");
        }
    }
}
