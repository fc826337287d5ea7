//! On call: overrides typed in chat (`oncall take`, `oncall give`), shared by every platform,
//! and the posts made once per platform and key (a handover summary, a notice that a calendar
//! feed fails), so that a restart neither repeats nor skips one.

use crate::sql::{args, DbError};
use crate::{Store, StoreError};

/// Someone on call in a schedule for a while, over whatever its layers say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub schedule: String,
    /// The person on call (their `[[user]] person`, or a chat id that stands for one).
    pub person: String,
    pub starts_at: i64,
    pub ends_at: i64,
    /// Whom they cover for, when `oncall give` named the handover.
    pub replaces: Option<String>,
    /// Who typed it, as chat named them.
    pub author: String,
    pub created_at: i64,
}

impl Store {
    /// Keeps an override; a later one wins where two overlap.
    pub fn add_override(&self, entry: &Override) -> Result<(), StoreError> {
        self.in_transaction(|sql| {
            sql.execute(
                "INSERT INTO oncall_overrides (schedule, person, starts_at, ends_at, replaces, author, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                args![
                    &entry.schedule,
                    &entry.person,
                    entry.starts_at,
                    entry.ends_at,
                    &entry.replaces,
                    &entry.author,
                    entry.created_at
                ],
            )?;
            Ok(())
        })
    }

    /// The overrides that end after `after`, oldest first (later ones win).
    pub fn overrides(&self, after: i64) -> Result<Vec<Override>, StoreError> {
        self.with_sql(|sql| {
            let rows = sql.query(
                "SELECT schedule, person, starts_at, ends_at, replaces, author, created_at
                 FROM oncall_overrides WHERE ends_at > $1 ORDER BY created_at, id",
                args![after],
            )?;
            let overrides = rows.iter().map(|row| {
                Ok::<_, DbError>(Override {
                    schedule: row.text(0)?,
                    person: row.text(1)?,
                    starts_at: row.int(2)?,
                    ends_at: row.int(3)?,
                    replaces: row.opt_text(4)?,
                    author: row.text(5)?,
                    created_at: row.int(6)?,
                })
            });
            Ok(overrides.collect::<Result<_, _>>()?)
        })
    }

    /// When the post `key` was made on this platform, if it was.
    pub fn posted_once(&self, key: &str) -> Result<Option<i64>, StoreError> {
        self.with_sql(|sql| {
            let row = sql.query_opt(
                "SELECT at FROM posted_once WHERE platform = $1 AND post_key = $2",
                args![self.platform(), key],
            )?;
            Ok(row.map(|row| row.int(0)).transpose()?)
        })
    }

    /// Records that the post `key` was made at `at` (or is not to be made), and clears its
    /// delivery attempt, in one transaction.
    pub fn record_posted_once(&self, key: &str, at: i64) -> Result<(), StoreError> {
        self.in_transaction(|sql| {
            sql.execute(
                "INSERT INTO posted_once (platform, post_key, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                args![self.platform(), key, at],
            )?;
            crate::attempt::finish(sql, self.platform(), key)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::engines;

    #[test]
    fn overrides_and_posts_made_once_survive_a_restart() {
        for engine in engines() {
            eprintln!("on {engine}");
            overrides_and_posts_made_once_survive_a_restart_on(|| engine.open());
        }
    }

    fn overrides_and_posts_made_once_survive_a_restart_on(open: impl Fn() -> Store) {
        let store = open();
        let take = Override {
            schedule: "db".into(),
            person: "alice".into(),
            starts_at: 100,
            ends_at: 200,
            replaces: None,
            author: "alice".into(),
            created_at: 100,
        };
        store.add_override(&take).unwrap();
        store.add_override(&Override { person: "bob".into(), replaces: Some("alice".into()), ..take.clone() }).unwrap();
        let slack = store.for_platform("slack");
        assert!(!slack.begin_attempt("handover:db:100", 100).unwrap());
        slack.record_posted_once("handover:db:100", 101).unwrap();
        drop((store, slack));

        let store = open();
        let kept = store.overrides(150).unwrap();
        assert_eq!(kept.iter().map(|o| o.person.as_str()).collect::<Vec<_>>(), ["alice", "bob"]);
        assert_eq!(kept[1].replaces.as_deref(), Some("alice"));
        assert!(store.overrides(200).unwrap().is_empty(), "ended ones are not in force");
        assert_eq!(store.for_platform("slack").posted_once("handover:db:100").unwrap(), Some(101));
        assert_eq!(store.for_platform("matrix").posted_once("handover:db:100").unwrap(), None, "per platform");
        assert!(!store.for_platform("slack").begin_attempt("handover:db:100", 102).unwrap(), "attempt finished");
    }
}
