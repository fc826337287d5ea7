//! Test helpers: incidents and pages put in the store as the pipelines do, for timelines,
//! reports and handovers to be told from.

use hagios_domain::{AlertCard, GroupCard, NotificationType, ObjectRef, State};
use hagios_store::{
    Delivery, GroupBatch, GroupChange, IncidentChange, IncidentId, MemberDelivery, NewGroup, PageIntent, PageStep,
    Store,
};

/// One platform's pipeline at work, as the store keeps it.
#[derive(Clone)]
pub struct Posting {
    store: Store,
    channel: String,
    /// The monitoring site the notifications come from.
    pub site: String,
    /// The label of the route the incidents it opens came by; `None` as before hagios
    /// recorded routes.
    route: Option<String>,
}

impl Posting {
    /// Posting to `channel` on `platform`, for site `local`.
    pub fn new(store: &Store, platform: &str, channel: &str) -> Self {
        Posting { store: store.for_platform(platform), channel: channel.into(), site: "local".into(), route: None }
    }

    /// The same, for notifications from `site`.
    pub fn at(self, site: &str) -> Self {
        Posting { site: site.into(), ..self }
    }

    /// Another posting to the same channel, for notifications from `site`.
    pub fn clone_at(&self, site: &str) -> Self {
        Posting { site: site.into(), ..self.clone() }
    }

    /// Another posting to the same channel, its incidents opened by the route labelled `route`.
    pub fn clone_by_route(&self, route: &str) -> Self {
        Posting { route: Some(route.into()), ..self.clone() }
    }

    /// A notification about `object` at `at`, delivered to the channel, doing `change`.
    fn notify(&self, object: &ObjectRef, at: i64, change: &IncidentChange) -> Option<IncidentId> {
        let id = format!("{object}@{at}");
        let delivery = Delivery { channel: self.channel.clone(), message_id: id.clone(), at };
        self.store.commit_notification(&id, &delivery, change).unwrap()
    }

    pub fn open(&self, object: &ObjectRef, at: i64) -> IncidentId {
        let open = IncidentChange::Open {
            card: self.card(object, NotificationType::Problem, at),
            opened_at: at,
            route: self.route.clone(),
        };
        self.notify(object, at, &open).unwrap()
    }

    /// `objects`' problems at `at`, posted as one alert group: their thread is the group's.
    pub fn open_group(&self, objects: &[ObjectRef], at: i64) {
        let message_id = format!("group@{at}");
        let members = objects
            .iter()
            .map(|object| MemberDelivery {
                notification_id: format!("{object}@{at}"),
                // Each member carried by its own reply in the group's thread.
                delivery: Delivery { channel: self.channel.clone(), message_id: format!("{object}@{at}"), at },
                changes: vec![IncidentChange::Open {
                    card: self.card(object, NotificationType::Problem, at),
                    opened_at: at,
                    route: self.route.clone(),
                }],
            })
            .collect();
        let group = NewGroup {
            channel: self.channel.clone(),
            key: self.site.clone(),
            message_id: message_id.clone(),
            card: GroupCard::empty(&self.site, at),
            opened_at: at,
        };
        let batch = GroupBatch { attempt_key: message_id, group: GroupChange::Open(group), members };
        self.store.commit_group_batch(&batch).unwrap();
    }

    /// `then`: the notifications that followed, each a type and a time; a RECOVERY closes.
    pub fn follow(&self, id: IncidentId, object: &ObjectRef, then: &[(NotificationType, i64)]) {
        for &(kind, at) in then {
            let card = self.card(object, kind, at);
            let change = match kind {
                NotificationType::Recovery => IncidentChange::Close { id, card },
                _ => IncidentChange::Update { id, card },
            };
            self.notify(object, at, &change);
        }
    }

    /// Pages `object`'s open incident (opened at `opened_at`) for `web`: one step per
    /// (person, time), then stops at `stopped` (when, why).
    pub fn page(&self, object: &ObjectRef, opened_at: i64, steps: &[(&str, i64)], stopped: Option<(i64, &str)>) {
        let intent = PageIntent {
            notification_id: format!("{object}@{opened_at}"),
            site: self.site.clone(),
            object: object.clone(),
            schedule: "web".into(),
            policy: "web".into(),
        };
        self.store.intend_page(&intent, steps[0].1).unwrap();
        self.store.start_pages(steps[0].1).unwrap();
        let active = self.store.active_pages().unwrap();
        let page = active
            .into_iter()
            .find(|active| active.incidents[0].object == *object && active.incidents[0].site == self.site)
            .unwrap()
            .page;
        for (number, &(person, at)) in steps.iter().enumerate() {
            let step = PageStep { step: number as u32, at, people: vec![person.into()], text: String::new() };
            self.store.record_page_step(&page, &step, "none").unwrap();
        }
        if let Some((at, why)) = stopped {
            self.store.stop_page(page.id, at, why).unwrap();
        }
    }

    fn card(&self, object: &ObjectRef, kind: NotificationType, time: i64) -> AlertCard {
        let state = if kind == NotificationType::Recovery { State::Ok } else { State::Critical };
        AlertCard {
            site: self.site.clone(),
            object: object.clone(),
            state,
            kind,
            output: String::new(),
            long_output: String::new(),
            history: vec![format!("{kind} {state}")],
            open: kind != NotificationType::Recovery,
            time,
        }
    }
}
