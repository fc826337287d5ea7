//! Delivery attempts: a notification is marked before its chat message is sent and unmarked in
//! the transaction that commits the delivery. A mark found on the next try means a message may
//! already be in chat (the process died between sending and committing, or the answer was lost),
//! so the pipeline looks it up by the notification id before sending again.

use crate::sql::{args, Sql};
use crate::{Store, StoreError};

impl Store {
    /// Marks the start of an attempt to deliver `notification_id`; returns whether an earlier
    /// attempt was left unfinished. A leader's store refuses once its term is over, so that a
    /// bot that lost the lead does not go on to post.
    pub fn begin_attempt(&self, notification_id: &str, now: i64) -> Result<bool, StoreError> {
        self.in_transaction(|sql| {
            let inserted = sql.execute(
                "INSERT INTO delivery_attempts (platform, notification_id, started_at) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                args![self.platform(), notification_id, now],
            )?;
            Ok(inserted == 0)
        })
    }
}

/// Clears the mark as part of committing the delivery.
pub(crate) fn finish(sql: &mut dyn Sql, platform: &str, notification_id: &str) -> Result<(), StoreError> {
    sql.execute(
        "DELETE FROM delivery_attempts WHERE platform = $1 AND notification_id = $2",
        args![platform, notification_id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testing::engines;
    use crate::{Delivery, IncidentChange};

    #[test]
    fn an_unfinished_attempt_is_remembered_until_the_delivery_commits() {
        for engine in engines() {
            eprintln!("on {engine}");
            let store = engine.open();
            assert!(!store.begin_attempt("n1", 1).unwrap(), "first attempt");
            drop(store);
            let store = engine.open();
            assert!(store.begin_attempt("n1", 2).unwrap(), "survives a restart");
            let delivery = Delivery { channel: "C".into(), message_id: "1.0".into(), at: 3 };
            store.commit_notification("n1", &delivery, &IncidentChange::None).unwrap();
            assert!(!store.begin_attempt("n1", 4).unwrap(), "committing cleared the mark");
        }
    }
}
