//! `hagios timeline OBJECT`: the story of an object's newest incident, as the `timeline` chat
//! command posts it (Markdown), printed for a postmortem written outside chat; from the store
//! the configuration names, SQLite or PostgreSQL.

use hagios_core::config::Config;
use hagios_domain::ObjectRef;
use hagios_store::StoreHandle;
use std::path::Path;
use std::process::ExitCode;

pub fn main(config_path: &Path, object: &str) -> ExitCode {
    let object = match object.split_once('!') {
        Some((host, service)) if !host.is_empty() && !service.is_empty() => ObjectRef::service(host, service),
        None if !object.is_empty() => ObjectRef::host(object),
        _ => {
            eprintln!("hagios timeline: `{object}` is not an object: give HOST or HOST!SERVICE");
            return ExitCode::from(2);
        }
    };
    match story(config_path, &object) {
        Ok(markdown) => {
            print!("{markdown}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hagios timeline: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn story(config_path: &Path, object: &ObjectRef) -> anyhow::Result<String> {
    let config = Config::load(config_path)?;
    // Every platform gets the same incidents; the first one's are told, as in chat.
    let platform = config.platforms.first().map_or("terminal", |section| section.platform().name());
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let store = runtime.block_on(StoreHandle::from_config(&config.store))?.for_platform(platform);
    let now = hagios_domain::unix_now();
    let answer = runtime
        .block_on(hagios_core::oncall::timeline::answer(&store, object, &config.commands.timezone, now))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let file = answer.attachment.ok_or_else(|| anyhow::anyhow!("no story was written"))?;
    Ok(file.text().unwrap_or_default().to_owned())
}
