//! The desk: commands answered from hagios' own records rather than by the monitoring system —
//! who is on call and overrides of that (`oncall`), paging the next step (`escalate`), an
//! incident's story (`timeline`) and the numbers of a period (`report`). The router parses and
//! authorizes them like every command; the [`Desk`] (the application's, over its store and
//! schedules) answers, possibly with a file.

use crate::commands::{self, Command};
use crate::router::{AuditEntry, Request};
use crate::Policy;
use async_trait::async_trait;
use hagios_domain::{Attachment, ObjectRef, Snapshot};

/// What a desk command asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeskRequest {
    /// Who is on call in `schedule` (every schedule when `None`), who is next, and when.
    Who { schedule: Option<String> },
    /// The asker goes on call in `schedule` (the only one, when `None`) until `until` (the
    /// next handoff when `None`).
    Take { schedule: Option<String>, until: Option<i64> },
    /// `to` (a person, chat id or mention) goes on call in `schedule` until `until` (the next
    /// handoff when `None`).
    Give { schedule: String, to: String, until: Option<i64> },
    /// Page the next escalation step of the thread of these objects now.
    Escalate { objects: Vec<ObjectRef>, comment: String },
    /// The story of an incident of `object` at `site` as a Markdown file: the one opened at
    /// `opened_at` (the thread's, when typed in an alert's thread), else the newest.
    Timeline { site: String, object: ObjectRef, opened_at: Option<i64> },
    /// The numbers of the last `seconds`, with a chart.
    Report { seconds: i64 },
}

impl DeskRequest {
    /// The objects authorization is checked on; none for requests about schedules or the
    /// whole estate.
    pub fn objects(&self) -> &[ObjectRef] {
        match self {
            DeskRequest::Escalate { objects, .. } => objects,
            DeskRequest::Timeline { object, .. } => std::slice::from_ref(object),
            _ => &[],
        }
    }

    /// The canonical form for the audit log.
    pub fn canonical(&self) -> String {
        let until = |until: &Option<i64>| until.map_or_else(|| "the next handoff".to_owned(), |at| at.to_string());
        match self {
            DeskRequest::Who { schedule } => format!("oncall {}", schedule.as_deref().unwrap_or("*")),
            DeskRequest::Take { schedule, until: end } => {
                format!("oncall take {} until {}", schedule.as_deref().unwrap_or("*"), until(end))
            }
            DeskRequest::Give { schedule, to, until: end } => {
                format!("oncall give {schedule} {to} until {}", until(end))
            }
            DeskRequest::Escalate { objects, comment } => {
                let objects: Vec<String> = objects.iter().map(ToString::to_string).collect();
                format!("escalate {}: {comment}", objects.join(", "))
            }
            DeskRequest::Timeline { site, object, opened_at: None } => format!("timeline {site}:{object}"),
            DeskRequest::Timeline { site, object, opened_at: Some(at) } => {
                format!("timeline {site}:{object} opened at {at}")
            }
            DeskRequest::Report { seconds } => format!("report {seconds}s"),
        }
    }
}

/// Who asked, and when.
#[derive(Debug, Clone, Copy)]
pub struct Asker<'a> {
    pub user_id: &'a str,
    pub user_name: &'a str,
    pub now: i64,
}

/// The desk's answer: the reply, and a file to post with it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeskAnswer {
    pub text: String,
    pub attachment: Option<Attachment>,
}

/// Why the desk could not answer; the message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeskError(pub String);

/// Answers desk commands from the application's records.
#[async_trait]
pub trait Desk: Send + Sync {
    async fn answer(&self, request: &DeskRequest, asker: &Asker<'_>) -> Result<DeskAnswer, DeskError>;
}

/// Authorizes `wanted` (on its objects, or the command alone for requests without any) and has
/// the desk answer it.
pub(crate) async fn run(
    desk: Option<&dyn Desk>,
    policy: &Policy,
    command: &Command,
    wanted: DeskRequest,
    request: &Request<'_>,
    snapshot: &Snapshot,
    audit: &mut AuditEntry,
) -> DeskAnswer {
    audit.parsed = Some(wanted.canonical());
    if let Some(permission) = command.permission {
        let refused = match wanted.objects() {
            [] => policy
                .may_use(request.user_id, permission)
                .err()
                .map(|denial| denial.explain(request.user_name, request.user_id, &commands::open_commands())),
            objects => objects.iter().find_map(|object| {
                let hostgroups = snapshot.hostgroups_of(&object.host);
                policy
                    .authorize(request.user_id, permission, object, hostgroups)
                    .err()
                    .map(|denial| denial.explain(request.user_name, request.user_id, &commands::open_commands()))
            }),
        };
        if let Some(refused) = refused {
            return DeskAnswer { text: refused, attachment: None };
        }
    }
    audit.allowed = true;
    let Some(desk) = desk else {
        return DeskAnswer {
            text: format!(
                "could not run `{}`: this hagios keeps no on-call records (no store); ask an admin",
                command.name
            ),
            attachment: None,
        };
    };
    let asker = Asker { user_id: request.user_id, user_name: request.user_name, now: request.now };
    match desk.answer(&wanted, &asker).await {
        Ok(answer) => answer,
        Err(e) => {
            audit.result = format!("failed: {e}");
            DeskAnswer { text: format!("could not run `{}`: {e}", command.name), attachment: None }
        }
    }
}
