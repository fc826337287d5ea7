//! The split deployment: `hagios certs` (a private CA and role-bearing certificates), the typed
//! wire protocol, mutual TLS, and both ends of the link — the agent on the monitoring server and
//! the bot that many agents (sites) connect to.

pub mod agent;
pub mod bot;
pub mod certs;
pub mod config;
pub mod protocol;
pub mod quota;
pub mod sites;
pub mod tls;

/// Agents connected to this bot now (a gauge).
pub const AGENTS_CONNECTED: &str = "hagios_agents_connected";
/// Times an agent dialed the bot again after losing the link (a counter).
pub const LINK_RECONNECTS: &str = "hagios_link_reconnects_total";
