//! Calendar layers read their feed (an `http(s)://` URL or a file) every `refresh`. What was
//! read last is kept in force and in a cache file next to the state database, so a feed that is
//! unreachable or malformed — now, or when hagios starts — leaves the last good shifts in force:
//! the failure is logged and kept in the [`Rota`] for the schedule's channel to be told once.

use super::calendar;
use super::Rota;
use crate::config::{CalendarFeed, FeedSource, LayerSource};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Shifts are expanded this far back (a night shift that began yesterday) and ahead.
const BEHIND_SECONDS: i64 = 86_400;
const AHEAD_SECONDS: i64 = 60 * 86_400;
/// A feed larger than this is refused: a calendar of shifts is kilobytes.
const LARGEST_FEED: usize = 16 * 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads every calendar layer's feed now and then every `refresh`, until `shutdown` turns true.
/// `state` is the state database's path; caches are kept beside it.
pub async fn run(rota: Arc<Rota>, state: PathBuf, shutdown: watch::Receiver<bool>) {
    let mut readers = tokio::task::JoinSet::new();
    for (schedule, config) in rota.schedules().iter().enumerate() {
        for (layer, section) in config.layers.iter().enumerate() {
            let LayerSource::Calendar(feed) = &section.source else { continue };
            let reader = Reader {
                rota: Arc::clone(&rota),
                schedule,
                layer,
                feed: feed.clone(),
                cache: cache_path(&state, &config.name, layer),
            };
            readers.spawn(reader.run(shutdown.clone()));
        }
    }
    while readers.join_next().await.is_some() {}
}

/// `state.db` → `state.oncall-db-team-1.ics`: a file per schedule and layer.
fn cache_path(state: &Path, schedule: &str, layer: usize) -> PathBuf {
    let name: String =
        schedule.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    state.with_extension(format!("oncall-{name}-{layer}.ics"))
}

struct Reader {
    rota: Arc<Rota>,
    schedule: usize,
    layer: usize,
    feed: CalendarFeed,
    cache: PathBuf,
}

impl Reader {
    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        if let Ok(text) = tokio::fs::read_to_string(&self.cache).await {
            if let Err(e) = self.apply(&text) {
                tracing::warn!(file = %self.cache.display(), error = %e, "cannot read the cached calendar");
            }
        }
        while !*shutdown.borrow() {
            self.refresh().await;
            tokio::select! {
                _ = tokio::time::sleep(self.feed.refresh) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    fn names(&self) -> (&str, &str) {
        let schedule = &self.rota.schedules()[self.schedule];
        (&schedule.name, &schedule.layers[self.layer].name)
    }

    /// Reads the feed once: its shifts go into force and into the cache, or the failure is kept.
    async fn refresh(&self) {
        let (schedule, layer) = self.names();
        let read = match fetch(&self.feed.source).await {
            Ok(text) => self.apply(&text).map(|()| text),
            Err(e) => Err(e),
        };
        match read {
            Ok(text) => {
                self.rota.feed_failed(schedule, layer, None);
                if let Err(e) = write_atomically(&self.cache, &text).await {
                    tracing::warn!(file = %self.cache.display(), error = %e, "cannot keep the calendar's copy");
                }
            }
            Err(error) => {
                tracing::warn!(schedule, layer, feed = %self.feed.source, %error, "cannot read the on-call calendar; the last good shifts stay in force");
                self.rota.feed_failed(schedule, layer, Some((hagios_domain::unix_now(), error)));
            }
        }
    }

    /// Puts the shifts of `text` in force.
    fn apply(&self, text: &str) -> Result<(), String> {
        let (schedule, layer) = self.names();
        let zone = &self.rota.schedules()[self.schedule].timezone;
        let now = hagios_domain::unix_now();
        let people = &self.rota.people;
        let read = calendar::read(text, zone, now - BEHIND_SECONDS, now + AHEAD_SECONDS, |summary| {
            person_in(people, summary)
        })?;
        if !read.unknown.is_empty() {
            tracing::warn!(schedule, layer, unknown = ?read.unknown, "calendar events name nobody a [[user]] has; they are left out");
        }
        tracing::info!(schedule, layer, shifts = read.shifts.0.len(), "on-call calendar read");
        self.rota.set_shifts(self.schedule, self.layer, read.shifts);
        Ok(())
    }
}

/// The person an event's summary names: the whole summary, or one of its words (`On call:
/// Alice`), as a person, chat id or mention, in any case.
pub fn person_in(people: &super::People, summary: &str) -> Option<String> {
    let words = summary.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '/'));
    std::iter::once(summary)
        .chain(words)
        .map(|word| word.trim_end_matches(':'))
        .filter(|word| !word.is_empty())
        .find_map(|word| people.resolve(word).or_else(|| people.resolve(&word.to_lowercase())).map(str::to_owned))
}

async fn fetch(source: &FeedSource) -> Result<String, String> {
    let text = match source {
        FeedSource::File(path) => {
            tokio::fs::read_to_string(path).await.map_err(|e| format!("cannot read {}: {e}", path.display()))?
        }
        FeedSource::Url(url) => {
            // reqwest is built without a TLS provider of its own; ring is the one hagios uses.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let client = reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .build()
                .map_err(|e| format!("cannot set up an HTTP client: {e}"))?;
            let response = client.get(url).send().await.map_err(|e| {
                let kind = if e.is_timeout() { "timed out" } else { "network or TLS failure" };
                format!("cannot reach the calendar ({kind})")
            })?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("the calendar server answered HTTP {status}"));
            }
            let bytes = response.bytes().await.map_err(|_| "the calendar's answer broke off".to_owned())?;
            if bytes.len() > LARGEST_FEED {
                return Err(format!("the calendar is {} bytes, more than a calendar of shifts can be", bytes.len()));
            }
            String::from_utf8(bytes.to_vec()).map_err(|_| "the calendar is not UTF-8 text".to_owned())?
        }
    };
    if text.len() > LARGEST_FEED {
        return Err(format!("the calendar is {} bytes, more than a calendar of shifts can be", text.len()));
    }
    Ok(text)
}

async fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let temporary = path.with_extension("ics.tmp");
    tokio::fs::write(&temporary, text).await?;
    tokio::fs::rename(&temporary, path).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn rota_with_a_calendar(feed: &Path) -> Arc<Rota> {
        let text = format!(
            "[[user]]\nchat_id = \"U1\"\nroles = []\nperson = \"alice\"\n\
             [[oncall]]\nname = \"ops\"\ntimezone = \"UTC\"\n[[oncall.layer]]\nname = \"cal\"\ncalendar = \"{}\"\n",
            feed.display()
        );
        let config: Config = toml::from_str(&text).unwrap();
        Arc::new(Rota::new(&config))
    }

    fn calendar(start: &str, end: &str) -> String {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20240101T000000Z\r\n\
             SUMMARY:On call: Alice\r\nDTSTART:{start}\r\nDTEND:{end}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_broken_feed_keeps_the_last_good_shifts_in_force_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let feed = dir.path().join("ops.ics");
        let state = dir.path().join("state.db");
        let now = hagios_domain::unix_now();
        let stamp = |epoch: i64| jiff::Timestamp::from_second(epoch).unwrap().strftime("%Y%m%dT%H%M%SZ").to_string();
        std::fs::write(&feed, calendar(&stamp(now - 3600), &stamp(now + 7200))).unwrap();
        let rota = rota_with_a_calendar(&feed);
        let (stop, shutdown) = watch::channel(false);
        let reading = tokio::spawn(run(Arc::clone(&rota), state.clone(), shutdown));
        crate::oncall::tests::settle().await;
        assert_eq!(rota.on_call("ops", now).map(|on| on.person), Some("alice".into()));
        assert!(rota.feed_failures().is_empty());

        std::fs::write(&feed, "<html>502 Bad Gateway</html>").unwrap();
        tokio::time::advance(Duration::from_secs(15 * 60)).await;
        crate::oncall::tests::settle().await;
        assert_eq!(rota.on_call("ops", now).map(|on| on.person), Some("alice".into()), "the last good shifts");
        let failures = rota.feed_failures();
        assert!(failures[0].error.contains("not an iCalendar file"), "{failures:?}");
        stop.send_replace(true);
        reading.await.unwrap();

        std::fs::remove_file(&feed).unwrap();
        let restarted = rota_with_a_calendar(&feed);
        let (stop, shutdown) = watch::channel(false);
        let reading = tokio::spawn(run(Arc::clone(&restarted), state, shutdown));
        crate::oncall::tests::settle().await;
        assert_eq!(restarted.on_call("ops", now).map(|on| on.person), Some("alice".into()), "from the cache");
        assert!(restarted.feed_failures()[0].error.contains("cannot read"), "{:?}", restarted.feed_failures());
        stop.send_replace(true);
        reading.await.unwrap();
    }
}
