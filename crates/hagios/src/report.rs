//! `hagios report [PERIOD]`: the numbers the `report` chat command posts — time to acknowledge
//! and to recover per route and per schedule, the noisiest services, pages per person — printed,
//! with the chart written to a PNG file when asked; from the store the configuration names.

use crate::audit::printable;
use hagios_core::config::Config;
use hagios_core::oncall::report::Counter;
use hagios_core::oncall::Rota;
use hagios_store::StoreHandle;
use std::future::Future;
use std::path::Path;
use std::process::ExitCode;

pub fn main(config_path: &Path, period: &str, chart: Option<&Path>) -> ExitCode {
    let seconds = match hagios_commands::period_seconds(period) {
        Ok(seconds) => seconds,
        Err(e) => {
            eprintln!("hagios report: {e}");
            return ExitCode::from(2);
        }
    };
    match report(config_path, seconds, chart) {
        Ok(text) => {
            println!("{}", printable(&text));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hagios report: {}", printable(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

fn report(config_path: &Path, seconds: i64, chart: Option<&Path>) -> anyhow::Result<String> {
    let reader = Reader::open(config_path)?;
    let rota = Rota::new(&reader.config);
    let counter = Counter {
        store: &reader.store,
        platforms: &reader.platforms,
        routes: &reader.config.routes,
        rota: &rota,
        zone: &reader.config.commands.timezone,
    };
    let now = hagios_domain::unix_now();
    let answer = reader.block_on(counter.answer(now - seconds, now)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut text = answer.text;
    if let (Some(path), Some(png)) = (chart, answer.attachment) {
        std::fs::write(path, png.bytes)
            .map_err(|e| anyhow::anyhow!("cannot write the chart to {}: {e}", path.display()))?;
        text.push_str(&format!("\nchart written to {}", path.display()));
    }
    Ok(text)
}

/// The configuration and its store, read as the running bot reads them for timelines and
/// reports: every configured platform's records, told in the configured order.
pub(crate) struct Reader {
    pub config: Config,
    pub store: StoreHandle,
    pub platforms: Vec<String>,
    runtime: tokio::runtime::Runtime,
}

impl Reader {
    pub fn open(config_path: &Path) -> anyhow::Result<Reader> {
        let config = Config::load(config_path)?;
        let platforms: Vec<String> =
            config.platforms.iter().map(|section| section.platform().name().to_owned()).collect();
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        let first = platforms.first().map_or("terminal", String::as_str);
        let store = runtime.block_on(StoreHandle::from_config(&config.store))?.for_platform(first);
        Ok(Reader { config, store, platforms, runtime })
    }

    pub fn block_on<T>(&self, work: impl Future<Output = T>) -> T {
        self.runtime.block_on(work)
    }
}
