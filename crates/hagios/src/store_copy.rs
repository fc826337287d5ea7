//! `hagios store copy --from A --to B`: moves a state database — an SQLite file into
//! PostgreSQL when one bot becomes two, or back — with every incident, thread, group,
//! delivery and audit record, so that open threads go on being edited after the move. The
//! target must be empty; PostgreSQL's password comes from the environment, as the bot reads it.

use anyhow::Context;
use hagios_store::{Store, StoreConfig, DEFAULT_PASSWORD_ENV};
use std::path::Path;
use std::process::ExitCode;

/// One side of the copy: `postgres://…` (or `postgresql://…`), else an SQLite file.
fn open(place: &str, must_exist: bool) -> anyhow::Result<Store> {
    if place.starts_with("postgres://") || place.starts_with("postgresql://") {
        let config = StoreConfig { url: Some(place.to_owned()), ..StoreConfig::default() };
        if let Some(problem) = config.problems().into_iter().next() {
            anyhow::bail!("{}", problem.replace("[store] url", "the URL"));
        }
        let password = config.password();
        let connected = Store::connect(place, password.as_deref());
        return match (connected, password) {
            (Ok(store), _) => Ok(store),
            (Err(e), None) => Err(anyhow::Error::from(e)
                .context(format!("{DEFAULT_PASSWORD_ENV} is not set: set it to the database user's password"))),
            (Err(e), Some(_)) => Err(e.into()),
        };
    }
    if must_exist && !Path::new(place).is_file() {
        anyhow::bail!("{place} does not exist: give the SQLite file hagios used ([store] path), or a postgres:// URL");
    }
    Ok(Store::open(place)?)
}

pub fn main(from: &str, to: &str) -> ExitCode {
    let copied = (|| {
        anyhow::ensure!(from != to, "--from and --to name the same database");
        let source = open(from, true).context("the source (--from)")?;
        let target = open(to, false).context("the target (--to)")?;
        Ok(source.copy_into(&target)?)
    })();
    match copied {
        Ok(report) => {
            for (table, rows) in &report.tables {
                println!("{table}: {rows} rows");
            }
            println!(
                "copied; point [store] at the new database (url = \"…\", the password in {DEFAULT_PASSWORD_ENV} or the \
                 variable password_env names) and start the bots"
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hagios store copy: {e:#}");
            ExitCode::FAILURE
        }
    }
}
