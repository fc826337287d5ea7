//! Where notifications come from. Every source ends in the spool, so delivery treats them alike:
//! - `hagios notify` (crates/hagios), forked by Nagios per notification;
//! - [`nagios_status`]: changes made outside chat (the CGI, another tool), found in status.dat;
//! - [`icinga_events`]: Icinga 2's event stream, reconciled after every reconnect;
//! - agents over the link (`hagios_link::bot`): the bot's spool holds what its agents sent.

pub mod icinga_events;
pub mod nagios_status;
