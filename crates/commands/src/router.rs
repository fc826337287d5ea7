//! The router: cleans chat input, picks the command by its routes, has it parsed against the
//! monitoring state, authorizes actions, executes them, and answers — with one audit entry for
//! every input, whatever became of it.

use crate::commands::snooze::{self, SnoozeRequest};
use crate::commands::{self, Act, Command, Input, Parsed};
use crate::confirmations::{Answered, Confirmations, Waiting, YES_WINDOW_SECONDS};
use crate::desk::{self, Desk};
use crate::limits::{Limits, RateLimit};
use crate::text::{cut_bytes, shown};
use crate::{Policy, SnoozeBook};
use futures_util::stream::{self, StreamExt};
use hagios_domain::plural;
use hagios_domain::suggest::closest;
use hagios_domain::{Attachment, ObjectRef, Outcome, SiteObject, SiteSnapshots, Snapshot, Step};
use hagios_monitor::Monitor;
use regex::{Captures, Regex, RegexBuilder};
use serde::Serialize;
use std::sync::Arc;

/// How the router talks and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Named in replies: "confirmed by Nagios", where the monitor does not name the system at
    /// the site a reply is about ([`Monitor::system`]). Defaults to "the monitoring system".
    pub backend_name: String,
    /// The zone `until HH:MM` and the times in replies are read in.
    pub timezone: jiff::tz::TimeZone,
    /// Longer input is refused unparsed.
    pub max_input_bytes: usize,
    /// Lists (problems, downtimes, a host's services) stop after this many lines.
    pub max_list_lines: usize,
    /// `@NAME` and `/NAME` in front of a command are dropped, as are `<@U…>` mentions.
    pub bot_name: String,
    /// Requests that wait for a `yes` (`host add`, `host remove`) need it from a second
    /// authorized person; otherwise from the requester.
    pub second_person_confirms: bool,
    /// The template `host add` uses when none is named.
    pub default_host_template: String,
    /// Commands one person holding a role may send.
    pub rate_limit: RateLimit,
    /// Commands one person without a role may send.
    pub rate_limit_without_role: RateLimit,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            backend_name: "the monitoring system".to_owned(),
            timezone: jiff::tz::TimeZone::UTC,
            max_input_bytes: 4096,
            max_list_lines: 50,
            bot_name: "hagios".to_owned(),
            second_person_confirms: false,
            // The stock host template of both Icinga 2 and Nagios' sample configuration.
            default_host_template: "generic-host".to_owned(),
            rate_limit: RateLimit::WITH_ROLE,
            rate_limit_without_role: RateLimit::WITHOUT_ROLE,
        }
    }
}

/// One thing a person typed (or a button stands for).
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The chat platform's user id: what `[[user]] chat_id` names.
    pub user_id: &'a str,
    /// A readable name for replies and default comments; never the author written to the
    /// monitoring system (that is [`Policy::author`], which the user cannot choose).
    pub user_name: &'a str,
    pub text: &'a str,
    /// The thread the text was typed in: commands in an alert's thread may leave out the host
    /// and service; `ack` in an alert group's thread acknowledges every open member.
    pub thread: Thread,
    /// Seconds since the epoch.
    pub now: i64,
}

/// Where a command was typed, as far as commands care. Objects carry their site: a command
/// typed in an alert's thread acts at that alert's site, whichever other site has an object of
/// the same name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Thread {
    /// Outside any alert's thread.
    #[default]
    None,
    /// In the thread of the incident of object `at` (at its site) that opened at `opened_at`:
    /// with the object, what names that incident on every platform it was posted to.
    Incident { at: SiteObject, opened_at: i64 },
    /// In the thread of an alert group whose open members are these.
    Group(Vec<SiteObject>),
}

impl Thread {
    fn incident(&self) -> Option<&SiteObject> {
        match self {
            Thread::Incident { at, .. } => Some(at),
            _ => None,
        }
    }

    fn group(&self) -> &[SiteObject] {
        match self {
            Thread::Group(members) => members,
            _ => &[],
        }
    }
}

/// The questions one command asked or answered, and the file its answer comes with.
#[derive(Default)]
struct Questions {
    asked: Option<u32>,
    answered: Option<Answered>,
    attachment: Option<Attachment>,
}

/// Where the router reports the reply as it stands while an action waits for its final word.
pub type Progress<'a> = &'a (dyn Fn(String) + Send + Sync);

/// The reply while `act` waits for the monitoring system, after `step`.
fn waiting(act: &Act, backend: &str, step: &Step) -> String {
    match step {
        Step::Sent { state_every: Some(every), answer_within } => format!(
            "{} — sent to {backend}, waiting for it to confirm; it writes its state every {} s, the answer comes \
             within {} s",
            act.intent,
            every.as_secs(),
            answer_within.as_secs()
        ),
        Step::Sent { state_every: None, .. } => {
            format!("{} — sent to {backend}, waiting for it to confirm", act.intent)
        }
        Step::Received { how } => format!("{} — {how}; waiting for its state to show the effect", act.intent),
    }
}

/// The answer to one request and its audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dispatch {
    pub reply: String,
    pub audit: AuditEntry,
    /// When the reply asks for a `yes`: the number of the waiting request, which `yes N` and
    /// `cancel N` (and the buttons standing for them) name.
    pub awaiting_yes: Option<u32>,
    /// The waiting request this command took off the queue (confirmed or cancelled), so that its
    /// question can show the outcome instead of asking on.
    pub answered: Option<Answered>,
    /// A file to post with the reply (a timeline, a report's chart).
    pub attachment: Option<Attachment>,
}

/// What the audit log keeps about one request, allowed or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub time: i64,
    pub user_id: String,
    pub user_name: String,
    /// The text as typed; over-long input is cut and marked.
    pub raw_text: String,
    /// The command's name when the text matched one.
    pub command: Option<String>,
    /// The typed action as JSON, or a query's canonical form, once parsing succeeded.
    pub parsed: Option<String>,
    /// True once authorization passed (queries always pass).
    pub allowed: bool,
    /// `confirmed: …`, `unconfirmed: …`, `failed: …`, `answered`, or the refusal or error given.
    pub result: String,
}

/// Routes chat text to commands. Built once; `dispatch` may run concurrently.
pub struct Router {
    policy: Policy,
    settings: Settings,
    confirmations: Confirmations,
    routes: Vec<(&'static Command, Regex)>,
    /// Matches a leading mention of the bot.
    address: Regex,
    /// Where `snooze` keeps its holds; without one snoozing is refused.
    snooze_book: Option<Arc<dyn SnoozeBook>>,
    /// What answers the desk commands (`oncall`, `escalate`, `timeline`, `report`).
    desk: Option<Arc<dyn Desk>>,
    /// Each person's command budget.
    limits: Limits,
}

impl Router {
    pub fn new(policy: Policy) -> Self {
        Self::with_settings(policy, Settings::default())
    }

    pub fn with_settings(policy: Policy, settings: Settings) -> Self {
        let compile = |pattern: &str| {
            RegexBuilder::new(pattern)
                .dot_matches_new_line(true)
                .build()
                .unwrap_or_else(|e| panic!("built-in pattern {pattern:?} does not compile: {e}"))
        };
        let routes = commands::ALL
            .iter()
            .flat_map(|command| command.routes.iter().map(move |route| (*command, compile(route))))
            .collect();
        let address = compile(&format!(
            r"^(?:<@[^>\s]{{1,80}}>[\s:,]*|(?i:[@/]{})(?:[\s:,]+|$))",
            regex::escape(&settings.bot_name)
        ));
        Router {
            limits: Limits::new(settings.rate_limit, settings.rate_limit_without_role),
            policy,
            settings,
            routes,
            address,
            confirmations: Confirmations::starting_at(hagios_domain::unix_now()),
            snooze_book: None,
            desk: None,
        }
    }

    /// The requests waiting for a `yes`, and where each was asked.
    pub fn confirmations(&self) -> &Confirmations {
        &self.confirmations
    }

    /// Keeps the snoozes typed in chat in `book`.
    pub fn with_snooze_book(mut self, book: Arc<dyn SnoozeBook>) -> Self {
        self.snooze_book = Some(book);
        self
    }

    /// Has `desk` answer the desk commands.
    pub fn with_desk(mut self, desk: Arc<dyn Desk>) -> Self {
        self.desk = Some(desk);
        self
    }

    /// Parses, authorizes and runs one request. Never fails: every problem becomes the reply.
    pub async fn dispatch(&self, request: &Request<'_>, monitor: &dyn Monitor) -> Dispatch {
        self.dispatch_with(request, monitor, &|_| {}).await
    }

    /// [`Self::dispatch`], telling `progress` what the reply says while an action waits for the
    /// monitoring system's final word ("sent to Nagios — waiting for it to confirm …"), so that
    /// chat can show it at once and edit it to the final reply.
    pub async fn dispatch_with(
        &self,
        request: &Request<'_>,
        monitor: &dyn Monitor,
        progress: Progress<'_>,
    ) -> Dispatch {
        let max = self.settings.max_input_bytes;
        let raw_text = if request.text.len() > max {
            format!("{}… ({} bytes in all)", cut_bytes(request.text, max), request.text.len())
        } else {
            request.text.to_owned()
        };
        let mut audit = AuditEntry {
            time: request.now,
            user_id: request.user_id.to_owned(),
            user_name: request.user_name.to_owned(),
            raw_text,
            command: None,
            parsed: None,
            allowed: false,
            result: String::new(),
        };
        let mut questions = Questions::default();
        let reply = self.answer(request, monitor, &mut audit, &mut questions, progress).await;
        if audit.result.is_empty() {
            audit.result.clone_from(&reply);
        }
        tracing::info!(
            user = %audit.user_id,
            command = audit.command.as_deref().unwrap_or("-"),
            allowed = audit.allowed,
            "chat command"
        );
        Dispatch {
            reply,
            audit,
            awaiting_yes: questions.asked,
            answered: questions.answered,
            attachment: questions.attachment,
        }
    }

    async fn answer(
        &self,
        request: &Request<'_>,
        monitor: &dyn Monitor,
        audit: &mut AuditEntry,
        questions: &mut Questions,
        progress: Progress<'_>,
    ) -> String {
        let holds_a_role = self.policy.holds_a_role(request.user_id);
        if let Err(slow_down) = self.limits.check(self.policy.person_of(request.user_id), holds_a_role) {
            audit.result = format!("rate limited: {slow_down}");
            return slow_down.to_string();
        }
        let max = self.settings.max_input_bytes;
        if request.text.len() > max {
            return format!(
                "refused: the message is {} bytes and commands may be {max} at most; shorten it and send it again",
                request.text.len()
            );
        }
        let line = self.command_line(request.text);
        let Some((command, captures)) = self.route(&line) else {
            return unknown_command(&line);
        };
        audit.command = Some(command.name.to_owned());
        // Someone whose roles grant this command on nothing is refused before any state is read.
        if let Some(permission) = command.permission {
            if let Err(denial) = self.policy.may_use(request.user_id, permission) {
                return denial.explain(request.user_name, request.user_id, &commands::open_commands());
            }
        }
        let sites = if command.needs_state {
            match monitor.site_snapshots().await {
                Ok(sites) => sites,
                Err(e) => return format!("could not read the monitoring state: {e}"),
            }
        } else {
            Arc::new(SiteSnapshots::default())
        };
        let input = Input {
            command,
            user: request.user_name,
            incident: request.thread.incident(),
            incident_opened_at: match request.thread {
                Thread::Incident { opened_at, .. } => Some(opened_at),
                _ => None,
            },
            group: request.thread.group(),
            now: request.now,
            snapshot: sites.merged(),
            sites: &sites,
            settings: &self.settings,
            cadence: monitor.cadence(),
        };
        let snapshot = &sites;
        match (command.parse)(&captures, &input) {
            Err(e) => e.to_string(),
            Ok(Parsed::Answer { query, text }) => {
                audit.parsed = Some(query);
                audit.allowed = true;
                audit.result = "answered".to_owned();
                text
            }
            Ok(Parsed::Act(act)) => match self.admit(command, &act, request, snapshot, audit) {
                Ok(()) => self.execute(&act, request, monitor, audit, progress).await,
                Err(denial) => denial,
            },
            Ok(Parsed::Each(acts)) => self.act_each(command, acts, request, snapshot, monitor, audit).await,
            Ok(Parsed::Snooze(wanted)) => self.snooze(command, wanted, request, sites.merged(), monitor, audit).await,
            Ok(Parsed::Desk(wanted)) => {
                let desk = self.desk.as_deref();
                let answer = desk::run(desk, &self.policy, command, wanted, request, sites.merged(), audit).await;
                questions.attachment = answer.attachment;
                answer.text
            }
            Ok(Parsed::AfterYes(act)) => match self.await_yes(command, act, request, snapshot, monitor, audit) {
                Ok((number, reply)) => {
                    questions.asked = Some(number);
                    reply
                }
                Err(denial) => denial,
            },
            Ok(Parsed::Yes(number)) => match self.take_awaiting(number, request, snapshot, audit) {
                Ok(waiting) => {
                    let reply = self.execute(&waiting.act, request, monitor, audit, &|_| {}).await;
                    questions.answered = Some(waiting.answered());
                    reply
                }
                Err(reply) => reply,
            },
            Ok(Parsed::Cancel(number)) => match self.cancel(number, request, snapshot, audit) {
                Ok((cancelled, reply)) => {
                    questions.answered = Some(cancelled);
                    reply
                }
                Err(reply) => reply,
            },
        }
    }

    /// Authorizes `act` for the requester and parks it until a `yes`: the request's number and
    /// the reply, or the refusal.
    fn await_yes(
        &self,
        command: &'static Command,
        act: Act,
        request: &Request<'_>,
        sites: &SiteSnapshots,
        monitor: &dyn Monitor,
        audit: &mut AuditEntry,
    ) -> Result<(u32, String), String> {
        self.admit(command, &act, request, sites, audit)?;
        let intent = act.intent.clone();
        let system = self.system_name(monitor, Some(&act.site));
        let number = self.confirmations.park(command, act, request.user_id, request.now);
        audit.result = format!("awaiting yes (request {number})");
        let who = if self.settings.second_person_confirms { "another authorized person replies" } else { "you reply" };
        let reply = format!(
            "this will {intent} in {system}; nothing happens until {who} `yes` within {} minutes \
             (request {number}; `cancel` drops it)",
            YES_WINDOW_SECONDS / 60
        );
        Ok((number, reply))
    }

    /// The request this person may say `yes` to — their own, or with `second_person_confirms`
    /// only someone else's; request `number`, else the newest — once they are authorized for
    /// it. A refused `yes` leaves the request waiting.
    fn take_awaiting(
        &self,
        number: Option<u32>,
        request: &Request<'_>,
        sites: &SiteSnapshots,
        audit: &mut AuditEntry,
    ) -> Result<Waiting, String> {
        let second_person = self.settings.second_person_confirms;
        // With the second-person rule, anyone but the asker (on any of their platforms); without
        // it, the asker only.
        let may_confirm =
            |waiting: &Waiting| self.policy.same_person(&waiting.requester_id, request.user_id) != second_person;
        let named = |waiting: &Waiting| number.is_none_or(|number| waiting.number == number);
        self.confirmations.with_waiting(request.now, |queue| {
            let Some(index) = queue.iter().rposition(|waiting| named(waiting) && may_confirm(waiting)) else {
                return Err(match number {
                    Some(number) if queue.iter().any(|waiting| waiting.number == number) && second_person => {
                        format!("request {number} needs a `yes` from another authorized person than the one who asked")
                    }
                    Some(number) if queue.iter().any(|waiting| waiting.number == number) => {
                        format!("only the person who asked may confirm request {number}")
                    }
                    Some(number) => not_waiting(number),
                    None => {
                        let whose = if second_person { " from someone else" } else { "" };
                        format!("nothing is waiting for a `yes`{whose} (requests wait {YES_WINDOW_SECONDS} s)")
                    }
                });
            };
            let waiting = &queue[index];
            self.admit(waiting.command, &waiting.act, request, sites, audit)?;
            Ok(queue.remove(index))
        })
    }

    /// Drops a waiting request: number `number`, else the person's own newest, else the newest.
    /// Whoever may run the request's command on its object may cancel it (the requester could,
    /// and a second person must be able to say no).
    /// The number of the request cancelled and the reply, or the refusal.
    fn cancel(
        &self,
        number: Option<u32>,
        request: &Request<'_>,
        sites: &SiteSnapshots,
        audit: &mut AuditEntry,
    ) -> Result<(Answered, String), String> {
        let waiting = self.confirmations.with_waiting(request.now, |queue| {
            let index = match number {
                Some(number) => queue.iter().position(|waiting| waiting.number == number),
                None => queue
                    .iter()
                    .rposition(|waiting| self.policy.same_person(&waiting.requester_id, request.user_id))
                    .or_else(|| queue.len().checked_sub(1)),
            };
            let Some(index) = index else {
                return Err(number.map_or_else(
                    || "nothing is waiting for a `yes`, so there is nothing to cancel".to_owned(),
                    not_waiting,
                ));
            };
            let waiting = &queue[index];
            self.admit(waiting.command, &waiting.act, request, sites, audit)?;
            Ok(queue.remove(index))
        })?;
        audit.result = format!("cancelled request {}", waiting.number);
        let reply = format!("cancelled request {}: nothing will {}", waiting.number, waiting.act.intent);
        Ok((waiting.answered(), reply))
    }

    /// Records the parsed action, then Ok (recorded as allowed) when the person may run `command`
    /// on the act's object at its site; else the refusal to show. The object's host groups are
    /// the ones its own site gives it, and a site that did not answer gets nothing.
    fn admit(
        &self,
        command: &Command,
        act: &Act,
        request: &Request<'_>,
        sites: &SiteSnapshots,
        audit: &mut AuditEntry,
    ) -> Result<(), String> {
        let parsed = serde_json::to_string(&act.action).unwrap_or_else(|_| format!("{:?}", act.action));
        audit.parsed =
            Some(if sites.spans_sites() { format!(r#"{{"site":{:?},"action":{parsed}}}"#, act.site) } else { parsed });
        let Some(snapshot) = sites.site(&act.site) else {
            let why = sites.why_silent(&act.site).unwrap_or("it is not connected to this bot");
            return Err(format!(
                "could not {}: site `{}` did not answer ({why}); nothing was sent anywhere — try again once it is back",
                act.intent, act.site
            ));
        };
        self.authorize(command, &act.object, request, snapshot)?;
        audit.allowed = true;
        Ok(())
    }

    /// Ok when the person may run `command` on `object`; else the refusal to show.
    fn authorize(
        &self,
        command: &Command,
        object: &ObjectRef,
        request: &Request<'_>,
        snapshot: &Snapshot,
    ) -> Result<(), String> {
        if let Some(permission) = command.permission {
            let hostgroups = snapshot.hostgroups_of(&object.host);
            self.policy
                .authorize(request.user_id, permission, object, hostgroups)
                .map_err(|denial| denial.explain(request.user_name, request.user_id, &commands::open_commands()))?;
        }
        Ok(())
    }

    /// Authorizes and records a snooze change in the snooze book; the monitoring system is not involved.
    async fn snooze(
        &self,
        command: &Command,
        wanted: SnoozeRequest,
        request: &Request<'_>,
        snapshot: &Snapshot,
        monitor: &dyn Monitor,
        audit: &mut AuditEntry,
    ) -> String {
        audit.parsed = Some(wanted.canonical());
        if let Some(object) = wanted.object() {
            if let Err(denial) = self.authorize(command, object, request, snapshot) {
                return denial;
            }
        }
        audit.allowed = true;
        let intent = match wanted.object() {
            Some(object) => format!("{} {object}", command.name),
            None => "list the snoozes".to_owned(),
        };
        let Some(book) = &self.snooze_book else {
            return format!("could not {intent}: this hagios keeps no snoozes (no store); ask an admin");
        };
        let author = if request.user_name.trim().is_empty() { request.user_id } else { request.user_name };
        // A snooze holds an object's notifications from every site that has it.
        let system = self.system_name(monitor, None);
        match snooze::run(book.as_ref(), wanted, author, request.now, &self.settings, system).await {
            Ok(reply) => reply,
            Err(e) => {
                audit.result = format!("failed: {e}");
                format!("could not {intent}: {e}; try again, and tell an admin if it keeps failing")
            }
        }
    }

    async fn act(
        &self,
        command: &Command,
        act: Act,
        request: &Request<'_>,
        sites: &SiteSnapshots,
        monitor: &dyn Monitor,
        audit: &mut AuditEntry,
    ) -> String {
        if let Err(denial) = self.admit(command, &act, request, sites, audit) {
            return denial;
        }
        // A group's reply sums up its members; it is posted once they all have their word.
        self.execute(&act, request, monitor, audit, &|_| {}).await
    }

    /// Runs `acts` (one per member of an alert group), each authorized on its own, at most
    /// [`MEMBERS_AT_ONCE`] at a time; one audit record and one reply sum them up.
    async fn act_each(
        &self,
        command: &Command,
        acts: Vec<Act>,
        request: &Request<'_>,
        sites: &SiteSnapshots,
        monitor: &dyn Monitor,
        audit: &mut AuditEntry,
    ) -> String {
        let runs = acts.into_iter().map(|act| {
            let mut member_audit = audit.clone();
            async move {
                let member = act.label.clone();
                let reply = self.act(command, act, request, sites, monitor, &mut member_audit).await;
                Member { object: member, reply, audit: member_audit }
            }
        });
        let mut members: Vec<Member> = stream::iter(runs).buffer_unordered(MEMBERS_AT_ONCE).collect().await;
        members.sort_by(|one, other| one.object.cmp(&other.object));
        let parsed: Vec<serde_json::Value> = members
            .iter()
            .map(|member| {
                serde_json::json!({
                    "member": member.object.to_string(),
                    "parsed": member.audit.parsed,
                    "result": member.audit.result,
                })
            })
            .collect();
        audit.parsed = Some(serde_json::Value::Array(parsed).to_string());
        audit.allowed = members.iter().all(|member| member.audit.allowed);
        let counts = outcome_counts(&members);
        audit.result = format!("group: {counts}");
        let mut reply =
            format!("{} for the {} of this group: {counts}", command.name, plural(members.len(), "open member"));
        let listed = members.iter().filter(|member| members.len() <= MEMBERS_LISTED || member.outcome() != "confirmed");
        for member in listed {
            let first_line = member.reply.lines().next().unwrap_or_default();
            reply.push_str(&format!("\n• {}: {first_line}", member.object));
        }
        reply
    }

    /// Runs an authorized action and says what became of it; on the way, tells `progress` what
    /// is known so far.
    async fn execute(
        &self,
        act: &Act,
        request: &Request<'_>,
        monitor: &dyn Monitor,
        audit: &mut AuditEntry,
        progress: Progress<'_>,
    ) -> String {
        let author = self.policy.author(request.user_id);
        let backend = self.system_name(monitor, Some(&act.site));
        let steps = |step: Step| progress(waiting(act, backend, &step));
        match monitor.execute_at_with(&act.site, &act.action, author, &steps).await {
            Ok(Outcome::Confirmed(detail)) => {
                audit.result = format!("confirmed: {detail}");
                let detail = if detail.is_empty() { detail } else { format!(" ({detail})") };
                format!("{} — confirmed by {backend}{detail}", act.done)
            }
            Ok(Outcome::NotApplied(reason)) => {
                audit.result = format!("not applied: {reason}");
                format!("{} — not applied: {reason}", act.intent)
            }
            Ok(Outcome::Unconfirmed(detail)) => {
                audit.result = format!("unconfirmed: {detail}");
                format!(
                    "sent to {backend}: {}; not yet confirmed ({detail}). `status {}` shows whether it took effect",
                    act.intent, act.typed
                )
            }
            Err(e) => {
                audit.result = format!("failed: {e}");
                format!("could not {}: {e}", act.intent)
            }
        }
    }

    /// How replies name the monitoring system at `site` (at every site, for `None`): as the
    /// monitor knows it, else as configured.
    fn system_name<'a>(&'a self, monitor: &dyn Monitor, site: Option<&str>) -> &'a str {
        monitor.system(site).map_or(self.settings.backend_name.as_str(), |system| system.name())
    }

    /// The text without a leading bot mention, trimmed, its command word lowercased.
    fn command_line(&self, text: &str) -> String {
        let mut text = text.trim();
        while let Some(mention) = self.address.find(text) {
            text = text[mention.end()..].trim_start();
        }
        let word_end = text.find(char::is_whitespace).unwrap_or(text.len());
        format!("{}{}", text[..word_end].to_lowercase(), &text[word_end..])
    }

    fn route<'l>(&self, line: &'l str) -> Option<(&'static Command, Captures<'l>)> {
        self.routes.iter().find_map(|(command, route)| route.captures(line).map(|captures| (*command, captures)))
    }
}

/// Group members acted on at the same time: enough that a storm's group is acknowledged within
/// a status.dat rewrite or two, few enough that the monitoring system is not flooded.
const MEMBERS_AT_ONCE: usize = 32;
/// Members whose result is listed one per line; beyond that only the ones not confirmed are.
const MEMBERS_LISTED: usize = 30;

/// One group member's part in a group action.
struct Member {
    /// The member as replies name it.
    object: String,
    reply: String,
    audit: AuditEntry,
}

impl Member {
    /// How its request ended, from its audit result (`confirmed: …`, `failed: …`, a refusal).
    fn outcome(&self) -> &str {
        let result = self.audit.result.as_str();
        ["confirmed", "not applied", "unconfirmed", "failed"]
            .into_iter()
            .find(|word| result.starts_with(word))
            .unwrap_or("refused")
    }
}

/// "3 confirmed, 1 failed"
fn outcome_counts(members: &[Member]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for member in members {
        let word = member.outcome();
        match counts.iter_mut().find(|(seen, _)| *seen == word) {
            Some((_, count)) => *count += 1,
            None => counts.push((word, 1)),
        }
    }
    counts.iter().map(|(word, count)| format!("{count} {word}")).collect::<Vec<_>>().join(", ")
}

fn not_waiting(number: u32) -> String {
    format!("request {number} is not waiting any more (confirmed, cancelled or older than {YES_WINDOW_SECONDS} s)")
}

fn unknown_command(line: &str) -> String {
    let word = line.split_whitespace().next().unwrap_or("");
    match closest(word, commands::command_words()) {
        Some(known) => format!("unknown command `{}` — did you mean `{known}`? `help` lists the commands", shown(word)),
        None => format!("unknown command `{}`; `help` lists the commands", shown(word)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Behaviour, Chat};
    use hagios_domain::Action;
    use proptest::prelude::*;

    #[test]
    fn mentions_and_slash_prefixes_are_dropped() {
        for text in
            ["<@U0BOT> ack web01 HTTP", "@hagios ack web01 HTTP", "/hagios ack web01 HTTP", "  @Hagios: ACK web01 HTTP"]
        {
            let sent = Chat::alice().send(text);
            assert_eq!(sent.audit().command.as_deref(), Some("ack"), "{text}");
            assert_eq!(sent.executed.len(), 1, "{text}: {}", sent.reply());
        }
    }

    #[test]
    fn unknown_commands_get_a_suggestion() {
        let sent = Chat::alice().send("akc web01");
        assert_eq!(sent.reply(), "unknown command `akc` — did you mean `ack`? `help` lists the commands");
        assert_eq!(sent.audit().command, None);
        assert!(!sent.audit().allowed);
        assert_eq!(Chat::alice().send("shutdown").reply(), "unknown command `shutdown`; `help` lists the commands");
    }

    #[test]
    fn empty_input_gets_the_command_list() {
        let sent = Chat::alice().send("<@U0BOT>");
        assert!(sent.reply().contains("`ack HOST [SERVICE] [COMMENT…]`"), "{}", sent.reply());
    }

    #[test]
    fn over_long_input_is_refused_and_audited_cut() {
        let text = format!("ack web01 {}", "x".repeat(10_000));
        let sent = Chat::alice().send(&text);
        assert!(sent.reply().starts_with("refused: the message is 10010 bytes"), "{}", sent.reply());
        assert!(sent.executed.is_empty());
        assert!(sent.audit().raw_text.ends_with("… (10010 bytes in all)"));
        assert!(sent.audit().raw_text.len() < 4200);
    }

    #[test]
    fn confirmed_actions_say_so_and_are_audited() {
        let sent = Chat::alice().send("ack web01 HTTP on it");
        assert_eq!(sent.reply(), "acknowledged web01!HTTP — confirmed by Nagios (seen in status.dat)");
        let audit = sent.audit();
        assert_eq!((audit.user_id.as_str(), audit.user_name.as_str()), ("U1", "alice"));
        assert_eq!(audit.raw_text, "ack web01 HTTP on it");
        assert!(audit.allowed);
        assert_eq!(audit.result, "confirmed: seen in status.dat");
        let parsed = audit.parsed.as_deref().unwrap_or_default();
        assert!(parsed.contains(r#""action":"acknowledge""#) && parsed.contains(r#""comment":"on it""#), "{parsed}");
        assert_eq!(sent.executed[0].1, "alice");
    }

    #[test]
    fn the_author_is_the_person_or_the_chat_id_never_the_display_name() {
        let spoofed = Chat::as_user("U4", "alice").send("ack web01 HTTP on it");
        assert_eq!(spoofed.executed[0].1, "U4", "a display name anyone can choose is not the author");
        assert_eq!(spoofed.audit().user_name, "alice", "the audit keeps the name shown");
        let on_matrix = Chat::as_user("@alice:m.org", "Alice A.").send("ack web01 HTTP on it");
        assert_eq!(on_matrix.executed[0].1, "alice", "the [[user]] person");
    }

    #[test]
    fn unconfirmed_actions_do_not_claim_success() {
        let sent = Chat::alice().failing(Behaviour::Unconfirm).send(r#"ack web01 "HTTP Load""#);
        assert_eq!(
            sent.reply(),
            "sent to Nagios: acknowledge web01!HTTP Load; not yet confirmed (no change after 5s). \
             `status web01!\"HTTP Load\"` shows whether it took effect"
        );
        assert_eq!(sent.audit().result, "unconfirmed: no change after 5s");
    }

    #[test]
    fn actions_not_applied_say_why() {
        let sent = Chat::alice().failing(Behaviour::NotApply).send(r#"ack web01 "HTTP Load""#);
        assert_eq!(
            sent.reply(),
            "acknowledge web01!HTTP Load — not applied: web01!HTTP Load is OK — it has no problem"
        );
        assert_eq!(sent.audit().result, "not applied: web01!HTTP Load is OK — it has no problem");
    }

    #[test]
    fn backend_errors_say_what_failed_and_what_to_do() {
        let sent = Chat::alice().failing(Behaviour::NotRunning).send("recheck web01");
        assert_eq!(
            sent.reply(),
            "could not recheck web01: Nagios is not running (command FIFO has no reader); start it, then try again"
        );
        assert!(sent.audit().allowed);
        assert!(sent.audit().result.starts_with("failed: Nagios is not running"));
    }

    #[test]
    fn unreadable_state_is_reported_but_help_still_works() {
        let chat = Chat::alice().failing(Behaviour::StateUnreadable);
        assert_eq!(
            chat.send("status").reply(),
            "could not read the monitoring state: cannot read monitoring state: status.dat is missing"
        );
        assert!(chat.send("help").reply().contains("`status [HOST [SERVICE]]`"));
    }

    #[test]
    fn refusals_are_audited_and_nothing_is_executed() {
        let sent = Chat::as_user("U9", "mallory").send("ack web01 HTTP");
        assert!(sent.reply().starts_with("refused: mallory may not `ack` (chat id `U9` has no role"));
        assert!(
            sent.reply().contains("you can use status, problems, downtimes, snoozes, oncall, help only"),
            "{}",
            sent.reply()
        );
        assert!(sent.executed.is_empty());
        assert!(!sent.audit().allowed);
        // Refused before anything was parsed or read.
        assert_eq!(sent.audit().parsed, None);
    }

    #[test]
    fn a_flood_is_told_to_slow_down_before_anything_is_read_and_every_message_is_audited() {
        let settings = Settings {
            rate_limit: "3/1h".parse().unwrap(),
            rate_limit_without_role: "1/1h".parse().unwrap(),
            ..crate::testing::SETTINGS.clone()
        };
        let router = Router::with_settings(crate::testing::policy(), settings);
        let alice = Chat::alice();
        for _ in 0..3 {
            assert!(alice.send_to(&router, "status").reply().starts_with("hosts: "));
        }
        let sent = alice.send_to(&router, "ack web01 HTTP on it");
        assert!(sent.reply().starts_with("slow down: at most 3 commands per 1h; try again in "), "{}", sent.reply());
        assert_eq!((sent.state_reads, sent.executed.len()), (0, 0));
        assert!(!sent.audit().allowed);
        assert!(sent.audit().result.starts_with("rate limited: slow down"), "{:?}", sent.audit());
        assert_eq!(sent.audit().raw_text, "ack web01 HTTP on it");
        // The same person on another platform shares the budget; other people keep theirs.
        let on_matrix = Chat::as_user("@alice:m.org", "alice").send_to(&router, "status");
        assert!(on_matrix.reply().starts_with("slow down"), "{}", on_matrix.reply());
        assert!(Chat::as_user("U2", "bob").send_to(&router, "status").reply().starts_with("hosts: "));
        // Without a role the limit is stricter.
        let mallory = Chat::as_user("U9", "mallory");
        assert!(mallory.send_to(&router, "status").reply().starts_with("hosts: "));
        let sent = mallory.send_to(&router, "status");
        assert!(sent.reply().starts_with("slow down: at most 1 command per 1h without a role; try again in "));
        assert_eq!(sent.state_reads, 0);
    }

    #[test]
    fn parse_failures_are_audited_too() {
        let sent = Chat::alice().send("ack web1");
        assert_eq!(sent.reply(), "unknown host `web1` — did you mean `web01`?");
        assert_eq!(sent.audit().command.as_deref(), Some("ack"));
        assert_eq!(sent.audit().parsed, None);
        assert_eq!(sent.audit().result, sent.reply());
    }

    #[test]
    fn hostile_text_in_comments_reaches_the_backend_as_one_line() {
        let sent = Chat::alice().send("ack web01 HTTP fine\n[0] RESTART_PROGRAM;\0x");
        let Some((Action::Acknowledge { comment, .. }, _)) = sent.executed.first() else {
            panic!("not executed: {}", sent.reply());
        };
        assert_eq!(comment, "fine [0] RESTART_PROGRAM; x");
    }

    #[test]
    fn dispatch_can_run_on_a_multithreaded_runtime() {
        fn assert_send<T: Send>(_: &T) {}
        let router = Router::new(Policy::default());
        let monitor = crate::testing::RecordingMonitor::new(Behaviour::Confirm);
        let request = Request { user_id: "U1", user_name: "a", text: "status", thread: Thread::None, now: 0 };
        assert_send(&router.dispatch(&request, &monitor));
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}|[\\x00-\\x7f]{0,200}") {
            let sent = Chat::alice().send(&text);
            prop_assert!(!sent.reply().is_empty());
        }

        #[test]
        fn command_shaped_text_never_panics(
            command in "(ack|unack|downtime|downtime cancel|downtimes|recheck|mute|unmute|snooze|unsnooze|snoozes|comment|status|problems|help)",
            args in "[ a-zA-Z0-9!\"“”*:;\\n\\x00-]{0,40}",
        ) {
            let sent = Chat::alice().in_thread(ObjectRef::service("web01", "HTTP")).send(&format!("{command} {args}"));
            prop_assert!(!sent.reply().is_empty());
            prop_assert!(sent.audit().command.is_some());
        }
    }
}
