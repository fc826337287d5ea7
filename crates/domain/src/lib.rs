//! Domain types shared by every part of hagios: monitored objects, states, notifications,
//! typed monitoring actions and the read-only snapshot a backend exposes. No I/O lives here.

pub mod action;
pub mod attachment;
pub mod config_text;
pub mod free_text;
pub mod glob;
pub mod host_fields;
pub mod message;
pub mod notification;
pub mod object;
pub mod permit;
pub mod sites;
pub mod snapshot;
pub mod snooze;
pub mod suggest;
pub mod system;
pub mod words;

pub use action::{Action, DowntimeSpan, DowntimeTarget, Outcome, Step};
pub use attachment::Attachment;
pub use glob::glob_match;
pub use host_fields::{check_host_field, check_new_host, HostField, HostFieldError};
pub use message::{AlertCard, GroupCard, Member, MessageRef};
pub use notification::{Notification, NotificationType, MIRROR_MACRO};
pub use object::{ObjectRef, State};
pub use permit::Permit;
pub use sites::{SiteObject, SiteSnapshots};
pub use snapshot::{
    Comment, CommentKind, Downtime, HostObject, HostView, Inventory, ObjectStatus, ServiceView, Snapshot, Status,
};
pub use snooze::Snooze;
pub use system::System;
pub use words::plural;

/// Seconds since the Unix epoch, the unit every monitoring system here counts time in.
/// A clock set before 1970 reads as 0 rather than failing.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
}
