//! The doctor's check of a PostgreSQL store, the one the bots share: its password in the
//! environment, the server answering with it, the schema at the version this hagios writes, and
//! which bot leads and until when. Nothing is written: the schema is looked at, not migrated.

use super::Finding;
use hagios_store::{LeaseHolder, SchemaVersion, Store, StoreConfig, StoreError, LEADER_LEASE};

/// What the doctor learns of the database, asked on a blocking thread.
struct Looked {
    schema: SchemaVersion,
    /// `None` before the lease table exists (a schema before version 7).
    lease: Option<Result<Option<LeaseHolder>, StoreError>>,
}

/// The first migration with the lease table.
const LEASES_SINCE: i64 = 7;

pub(super) async fn examine(config: &StoreConfig) -> Vec<Finding> {
    let Some(url) = config.url.clone() else { return Vec::new() };
    let shown = config.shown_url().unwrap_or_default();
    let password = config.password();
    let mut findings = Vec::new();
    if password.is_none() {
        findings.push(Finding::warn(format!(
            "[store] password_env: the variable {} is not set, so hagios connects to the state database {shown} without a \
             password, which only a server that trusts this host accepts: put the database user's password in it (the \
             service's EnvironmentFile=, mode 0600)",
            config.password_env
        )));
    }
    let looked = tokio::task::spawn_blocking(move || look(&url, password.as_deref())).await;
    let looked = match looked {
        Ok(Ok(looked)) => looked,
        Ok(Err(e)) => {
            findings.push(Finding::fail(e.to_string()));
            return findings;
        }
        Err(e) => {
            findings.push(Finding::fail(format!("the check of the state database {shown} failed: {e}")));
            return findings;
        }
    };
    findings.push(Finding::ok(format!("the state database {shown} answers")));
    findings.push(schema(&looked.schema));
    findings.extend(looked.lease.map(|lease| leader(lease, config)));
    findings
}

fn look(url: &str, password: Option<&str>) -> Result<Looked, StoreError> {
    let store = Store::connect_as_is(url, password)?;
    let schema = store.schema_version()?;
    let lease = (schema.found >= LEASES_SINCE).then(|| store.lease(LEADER_LEASE));
    Ok(Looked { schema, lease })
}

fn schema(version: &SchemaVersion) -> Finding {
    let SchemaVersion { found, supported } = *version;
    if found == supported {
        Finding::ok(format!("the state database's schema is at version {found}, the one this hagios writes"))
    } else if found == 0 {
        Finding::warn(
            "the state database is empty: the first bot to start creates hagios' tables (nothing to do, unless \
             [store] url names the wrong database)",
        )
    } else if found < supported {
        Finding::warn(format!(
            "the state database's schema is at version {found}; this hagios brings it to {supported} when it starts: \
             upgrade every bot sharing it together, since an older hagios refuses a newer schema"
        ))
    } else {
        Finding::fail(StoreError::UnknownSchema { found, supported }.to_string())
    }
}

fn leader(lease: Result<Option<LeaseHolder>, StoreError>, config: &StoreConfig) -> Finding {
    match lease {
        Ok(None) => Finding::warn("no bot has led yet: start `hagios bot` on each machine"),
        Ok(Some(lease)) if lease.expires_in_ms > 0 => Finding::ok(format!(
            "bot {} leads (term {}); its lease runs for another {:.1} s and is renewed every {:.0?}",
            lease.holder,
            lease.epoch,
            lease.expires_in_ms as f64 / 1000.0,
            crate::leader::renew_every(config.lease)
        )),
        Ok(Some(lease)) => Finding::warn(format!(
            "no bot leads: the lease of {} (term {}) ran out {:.1} s ago, so nothing is posted to chat; start \
             `hagios bot`, or read the bots' logs for why none can take or renew the lease",
            lease.holder,
            lease.epoch,
            -lease.expires_in_ms as f64 / 1000.0
        )),
        Err(e) => Finding::fail(format!("cannot read who leads from the state database: {e}")),
    }
}
