//! Domain types shared by every part of hagios: monitored objects, states, notifications,
//! typed monitoring actions and the read-only snapshot a backend exposes. No I/O lives here.

pub mod action;
pub mod notification;
pub mod object;
pub mod snapshot;

pub use action::{Action, DowntimeSpan, DowntimeTarget, Outcome};
pub use notification::{Notification, NotificationType};
pub use object::{ObjectRef, State};
pub use snapshot::{Comment, Downtime, HostObject, HostView, Inventory, ServiceView, Snapshot, Status};
