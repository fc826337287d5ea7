//! The hagios application as a library: the configuration, the notification sources, the
//! delivery pipeline and the chat conversations, and the three processes assembled from them —
//! [`run`] (everything in one process), [`agent`] (next to Nagios) and [`bot`] (next to chat).
//! The `hagios` binary is the command line over it; tests drive it in-process as well.

pub mod agent;
pub mod backend;
pub mod bot;
pub mod config;
mod conversation;
pub mod doctor;
mod error;
pub mod leader;
pub mod matching;
pub mod observe;
pub mod oncall;
pub mod pipeline;
pub mod retention;
pub mod run;
mod snoozes;
pub mod sources;

pub use error::StartError;
