//! The desk: answers `oncall`, `oncall take`, `oncall give`, `escalate`, `timeline` and
//! `report` from the [`Rota`] and the store. Overrides go into the store and into force at once
//! (paging and handovers read the same rota); `escalate` makes the next step of a thread's page
//! due now; `timeline` and `report` come with a file (`timeline.rs`, `report.rs`).

use super::{report, timeline, Rota, HANDOFF_HORIZON_SECONDS};
use crate::config::{RouteConfig, DEFAULT_POLICY};
use async_trait::async_trait;
use hagios_chat::Platform;
use hagios_commands::{format_length, format_local, Asker, Desk, DeskAnswer, DeskError, DeskRequest};
use hagios_domain::ObjectRef;
use hagios_store::{Override, StoreError, StoreHandle, UnpagedThread};
use jiff::tz::TimeZone;
use std::sync::Arc;

pub struct OnCallDesk {
    pub rota: Arc<Rota>,
    /// The store as the first platform sees it: `escalate` pages that platform's threads;
    /// timelines and reports read every platform's records in it.
    pub store: StoreHandle,
    /// The platforms configured, in order: an incident posted on several is told from the first.
    pub platforms: Vec<String>,
    /// The `[[route]]`s, then the default route: which a report counts incidents by, and whose
    /// schedule `escalate` pages in a thread never paged.
    pub routes: Arc<[RouteConfig]>,
    /// The zone times in timelines and reports are written in (`[commands] timezone`).
    pub timezone: TimeZone,
}

/// What a desk command says when the state database fails.
pub(super) fn stored(e: StoreError) -> DeskError {
    DeskError(format!("the state database failed ({e}); try again, and tell an admin if it persists"))
}

#[async_trait]
impl Desk for OnCallDesk {
    async fn answer(&self, request: &DeskRequest, asker: &Asker<'_>) -> Result<DeskAnswer, DeskError> {
        let text = |text: String| Ok(DeskAnswer { text, attachment: None });
        match request {
            DeskRequest::Who { schedule } => text(self.who(schedule.as_deref(), asker.now)?),
            DeskRequest::Take { schedule, until } => {
                let schedule = self.schedule_or_only(schedule.as_deref())?;
                let person = self.rota.people.person_of(asker.user_id).unwrap_or(asker.user_id).to_owned();
                text(self.put_on_call(&schedule, person, *until, asker).await?)
            }
            DeskRequest::Give { schedule, to, until } => {
                let schedule = self.schedule_or_only(Some(schedule))?;
                let Some(person) = self.rota.people.resolve(to) else {
                    return Err(DeskError(format!(
                        "nobody called `{to}` is listed: name a `[[user]] person`, a chat id or a mention of one"
                    )));
                };
                text(self.put_on_call(&schedule, person.to_owned(), *until, asker).await?)
            }
            DeskRequest::Escalate { objects, comment } => text(self.escalate(objects, comment, asker).await?),
            DeskRequest::Timeline { site, object, opened_at } => {
                let teller = timeline::Teller { store: &self.store, platforms: &self.platforms, zone: &self.timezone };
                timeline::answer(&teller, site, object, *opened_at, asker.now).await
            }
            DeskRequest::Report { seconds } => {
                let counter = report::Counter {
                    store: &self.store,
                    platforms: &self.platforms,
                    routes: &self.routes,
                    rota: &self.rota,
                    zone: &self.timezone,
                };
                counter.answer(asker.now - seconds, asker.now).await
            }
        }
    }
}

impl OnCallDesk {
    /// `db-team: alice (weekly) until 2024-05-06 09:00, then bob`, for one schedule or all.
    fn who(&self, schedule: Option<&str>, now: i64) -> Result<String, DeskError> {
        let names: Vec<String> = match schedule {
            Some(name) => vec![self.schedule_or_only(Some(name))?],
            None if self.rota.schedules().is_empty() => {
                return Err(DeskError("no schedules are configured: add an [[oncall]] (docs/oncall.md)".into()))
            }
            None => self.rota.schedules().iter().map(|schedule| schedule.name.clone()).collect(),
        };
        let failures = self.rota.feed_failures();
        let mut lines = Vec::new();
        for name in names {
            let zone = self.zone_of(&name);
            let now_on = match self.rota.on_call(&name, now) {
                Some(on_call) => format!("{} ({})", on_call.person, on_call.layer),
                None => "nobody".to_owned(),
            };
            let next = match self.rota.next_handoff(&name, now) {
                Some((at, person)) => format!(
                    " until {} {}, then {}",
                    format_local(at, &zone),
                    zone.iana_name().unwrap_or(""),
                    person.as_deref().unwrap_or("nobody")
                ),
                None => format!(" for the next {}", format_length(HANDOFF_HORIZON_SECONDS)),
            };
            lines.push(format!("{name}: {now_on}{next}"));
            for failure in failures.iter().filter(|failure| failure.schedule == name) {
                lines.push(format!(
                    "  (calendar of layer {} unreadable since {}: {}; its last good shifts stay in force)",
                    failure.layer,
                    format_local(failure.since, &zone),
                    failure.error
                ));
            }
        }
        Ok(lines.join("\n"))
    }

    /// `name` when a schedule has it; without a name, the only schedule there is.
    fn schedule_or_only(&self, name: Option<&str>) -> Result<String, DeskError> {
        let known: Vec<&str> = self.rota.schedules().iter().map(|schedule| schedule.name.as_str()).collect();
        match (name, known.as_slice()) {
            (Some(name), _) if known.contains(&name) => Ok(name.to_owned()),
            (None, [only]) => Ok((*only).to_owned()),
            (_, []) => Err(DeskError("no schedules are configured: add an [[oncall]] (docs/oncall.md)".into())),
            (Some(name), _) => {
                Err(DeskError(format!("no schedule is called `{name}`; there are: {}", known.join(", "))))
            }
            (None, _) => Err(DeskError(format!("which schedule? name one of: {}", known.join(", ")))),
        }
    }

    fn zone_of(&self, schedule: &str) -> TimeZone {
        self.rota.schedule(schedule).map_or_else(|| self.timezone.clone(), |schedule| schedule.timezone.clone())
    }

    /// Keeps an override of `person` in `schedule` from now until `until` (the next handoff
    /// when `None`) and puts it in force.
    async fn put_on_call(
        &self,
        schedule: &str,
        person: String,
        until: Option<i64>,
        asker: &Asker<'_>,
    ) -> Result<String, DeskError> {
        let now = asker.now;
        let ends_at = match until {
            Some(until) => until,
            None => match self.rota.next_handoff(schedule, now) {
                Some((at, _)) => at,
                None => {
                    return Err(DeskError(format!(
                        "{schedule} has no handoff in the next {}: say for how long, like `4h`",
                        format_length(HANDOFF_HORIZON_SECONDS)
                    )))
                }
            },
        };
        let replaces =
            self.rota.on_call(schedule, now).map(|on_call| on_call.person).filter(|before| *before != person);
        let entry = Override {
            schedule: schedule.to_owned(),
            person: person.clone(),
            starts_at: now,
            ends_at,
            replaces: replaces.clone(),
            author: asker.user_name.to_owned(),
            created_at: now,
        };
        self.store.add_override(entry).await.map_err(stored)?;
        self.rota.set_overrides(&self.store.overrides(now).await.map_err(stored)?);
        let over = replaces.map(|before| format!(", over {before}")).unwrap_or_default();
        let zone = self.zone_of(schedule);
        Ok(format!(
            "{person} is on call in {schedule} until {} {}{over}; pages go to {person} from now on",
            format_local(ends_at, &zone),
            zone.iana_name().unwrap_or("")
        ))
    }

    /// Makes the next step of the pages of `objects`' threads due now; a thread never paged
    /// starts paging at its route's first step, now.
    async fn escalate(&self, objects: &[ObjectRef], comment: &str, asker: &Asker<'_>) -> Result<String, DeskError> {
        let note = match comment.trim() {
            "" => asker.user_name.to_owned(),
            comment => format!("{} ({comment})", asker.user_name),
        };
        let mut pages = Vec::new();
        let mut unpaged = Vec::new();
        for object in objects {
            for page in self.store.pages_of_object(object).await.map_err(stored)? {
                if !pages.iter().any(|known: &hagios_store::Page| known.id == page.id) {
                    pages.push(page);
                }
            }
            for thread in self.store.unpaged_threads_of_object(object).await.map_err(stored)? {
                if !unpaged.iter().any(|(known, _): &(UnpagedThread, &ObjectRef)| *known == thread) {
                    unpaged.push((thread, object));
                }
            }
        }
        let mut paged = Vec::new();
        let mut unscheduled = false;
        for (unpaged, object) in unpaged {
            let Some(route) = self.route_of(&unpaged, object) else {
                unscheduled = true;
                continue;
            };
            let schedule = route.oncall.as_deref().unwrap_or_default();
            let policy = route.escalation.as_deref().unwrap_or(DEFAULT_POLICY);
            let store = self.store.for_platform(&unpaged.platform);
            store.start_page_now(unpaged.thread, schedule, policy, asker.now, &note).await.map_err(stored)?;
            let steps = self.rota.policy(policy).step_count();
            paged.push(format!("paging starts: step 1 of {steps} ({policy}, schedule {schedule}) is paged now"));
        }
        if pages.is_empty() && paged.is_empty() {
            return Err(DeskError(match (unscheduled, self.rota.schedules().is_empty()) {
                (false, _) => "nothing to page: this thread has no open problem".to_owned(),
                (true, true) => "this thread cannot be paged: no schedule is configured. Add an [[oncall]] schedule \
                                 and name it on the thread's route (`oncall = \"SCHEDULE\"` on its [[route]], or on \
                                 [default_route] for the default channel); see docs/oncall.md"
                    .to_owned(),
                (true, false) => "this thread cannot be paged: its route names no schedule. Add `oncall = \
                                  \"SCHEDULE\"` (and `escalation = \"POLICY\"`) to its [[route]], or to \
                                  [default_route] for the default channel; see docs/oncall.md"
                    .to_owned(),
            }));
        }
        let mut done = Vec::new();
        for page in &pages {
            let policy = self.rota.policy(&page.policy);
            if page.steps as usize >= policy.step_count() {
                done.push(format!(
                    "every step of policy `{}` was paged ({} of {})",
                    page.policy, page.steps, page.steps
                ));
                continue;
            }
            self.store.force_page_steps(page.id, page.steps + 1, &note).await.map_err(stored)?;
            paged.push(format!("step {} of {} ({}) is paged now", page.steps + 1, policy.step_count(), page.policy));
        }
        if paged.is_empty() {
            return Err(DeskError(format!(
                "nothing more to page: {}. Mention whom you need, or give the route's [[escalation]] policy more \
                 steps or `repeat` (docs/oncall.md)",
                done.join("; ")
            )));
        }
        Ok(format!("escalating: {}", paged.into_iter().chain(done).collect::<Vec<_>>().join("; ")))
    }

    /// The route with a schedule that sent `object`'s never-paged thread: the first `[[route]]`
    /// (the default route last) that may have sent it there.
    fn route_of(&self, unpaged: &UnpagedThread, object: &ObjectRef) -> Option<&RouteConfig> {
        let platform = Platform::named(&unpaged.platform)?;
        self.routes
            .iter()
            .find(|route| route.may_have_taken(platform, &unpaged.thread.channel, object))
            .filter(|route| route.oncall.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use hagios_store::Store;

    /// 2024-05-06 12:00 in Berlin, a Monday: alice's week.
    const MONDAY_NOON: i64 = 1_714_989_600;

    fn desk() -> OnCallDesk {
        let config: Config = toml::from_str(
            "[[user]]\nchat_id = \"U1\"\nroles = []\nperson = \"alice\"\n\
             [[user]]\nchat_id = \"U2\"\nroles = []\nperson = \"bob\"\n\
             [[oncall]]\nname = \"db\"\ntimezone = \"Europe/Berlin\"\n\
             [[oncall.layer]]\nname = \"weekly\"\npeople = [\"alice\", \"bob\"]\nstart = \"2024-01-01 09:00\"\nlength = \"1w\"\n",
        )
        .unwrap();
        OnCallDesk {
            rota: Arc::new(Rota::new(&config)),
            store: StoreHandle::from(Store::open_in_memory().unwrap()),
            platforms: vec!["slack".into()],
            timezone: TimeZone::UTC,
            routes: config.routes.iter().cloned().chain([config.fallback_route()]).collect(),
        }
    }

    fn asker(user_id: &'static str, user_name: &'static str) -> Asker<'static> {
        Asker { user_id, user_name, now: MONDAY_NOON }
    }

    async fn ask(desk: &OnCallDesk, request: DeskRequest, by: Asker<'_>) -> Result<String, String> {
        desk.answer(&request, &by).await.map(|answer| answer.text).map_err(|e| e.0)
    }

    #[tokio::test]
    async fn who_take_and_give_answer_from_the_rota_and_overrides_take_effect_at_once() {
        let desk = desk();
        let who = || DeskRequest::Who { schedule: None };
        assert_eq!(
            ask(&desk, who(), asker("U1", "alice")).await.unwrap(),
            "db: alice (weekly) until 2024-05-13 09:00 Europe/Berlin, then bob"
        );
        let take = DeskRequest::Take { schedule: None, until: Some(MONDAY_NOON + 3_600) };
        assert_eq!(
            ask(&desk, take, asker("U2", "bob")).await.unwrap(),
            "bob is on call in db until 2024-05-06 13:00 Europe/Berlin, over alice; pages go to bob from now on"
        );
        assert_eq!(desk.rota.on_call("db", MONDAY_NOON).map(|on_call| on_call.person).as_deref(), Some("bob"));
        assert!(ask(&desk, who(), asker("U1", "alice")).await.unwrap().starts_with("db: bob (override) until"));

        let give = |to: &str| DeskRequest::Give { schedule: "db".into(), to: to.into(), until: None };
        let refused = ask(&desk, give("@carol"), asker("U2", "bob")).await.unwrap_err();
        assert!(refused.starts_with("nobody called `@carol` is listed"), "{refused}");
        let given = ask(&desk, give("<@U1>"), asker("U2", "bob")).await.unwrap();
        assert!(given.starts_with("alice is on call in db until 2024-05-06 13:00"), "the next handoff: {given}");
        assert_eq!(desk.store.overrides(MONDAY_NOON).await.unwrap().len(), 2, "kept for a restart");

        let unknown = DeskRequest::Who { schedule: Some("web".into()) };
        assert_eq!(
            ask(&desk, unknown, asker("U1", "alice")).await.unwrap_err(),
            "no schedule is called `web`; there are: db"
        );
        let object = ObjectRef { host: "web01".into(), service: None };
        let escalate = DeskRequest::Escalate { objects: vec![object.clone()], comment: String::new() };
        assert!(ask(&desk, escalate, asker("U1", "alice")).await.unwrap_err().starts_with("nothing to page"));
        let timeline = DeskRequest::Timeline { site: "local".into(), object, opened_at: None };
        assert_eq!(
            ask(&desk, timeline, asker("U1", "alice")).await.unwrap_err(),
            "hagios kept no incident of web01 at site local (or it was pruned): nothing to tell"
        );
    }

    #[tokio::test]
    async fn a_report_of_an_empty_week_still_comes_with_its_chart() {
        let desk = desk();
        let answer = desk.answer(&DeskRequest::Report { seconds: 7 * 86_400 }, &asker("U1", "alice")).await.unwrap();
        assert!(
            answer.text.starts_with("report 2024-04-29 10:00 – 2024-05-06 10:00 (UTC): 0 incidents"),
            "{}",
            answer.text
        );
        let chart = answer.attachment.unwrap();
        assert_eq!((chart.name.as_str(), chart.mime.as_str()), ("report.png", "image/png"));
    }
}
