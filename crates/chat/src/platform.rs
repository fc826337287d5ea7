//! What a chat platform provides, and the machinery that registers platforms. Each platform is a
//! folder of this crate with the same files (`mod.rs` the adapter, `config.rs` its configuration
//! section, `events.rs`, `render.rs`); the folder provides `NAME` (its section in the
//! configuration file and its name in logs, the audit log and the store), `ROUTE_KEY` (the
//! `[[route]]` key naming its target there; platforms may share one), `is_user_id` (whether a
//! `[[user]] chat_id` is one of its user ids) and a section type implementing [`Section`]. The list of platforms is the `platforms!` call in `lib.rs`: adding
//! a platform is its folder plus one line there.

use crate::{ChatAdapter, ChatError};
use async_trait::async_trait;
use std::sync::Arc;

/// A platform's configuration section: what is wrong with it, and how it connects.
#[async_trait]
pub trait Section: Send + Sync {
    /// Everything wrong with the section, each with what to do.
    fn problems(&self) -> Vec<String>;

    /// Where notifications no route sends elsewhere go on this platform.
    fn default_target(&self) -> &str;

    /// What is wrong with `target` as a route's target on this platform, if anything.
    fn target_problem(&self, _target: &str) -> Option<String> {
        None
    }

    /// The adapter the section describes, its secrets read from the environment. A platform
    /// that is unreachable now is no reason not to start (delivery retries); a refusal is.
    async fn connect(&self, place: &Place) -> Result<Arc<dyn ChatAdapter>, ConnectError>;
}

/// What a platform is given beside its section: where it resumes listening, how it numbers its
/// messages, and whether it may send now.
#[derive(Clone)]
pub struct Place {
    /// Where a platform that reads a stream of events resumes listening.
    pub resume: Arc<dyn Resume>,
    /// Where a platform that numbers its own messages goes on, so that ids kept in the store
    /// stay unambiguous across restarts.
    pub first_message_number: u64,
    /// Whether this process may post and edit now: asked right before each such request goes
    /// out, so that a bot that lost the lead (paused past its lease, say) sends nothing more.
    pub permit: hagios_domain::Permit,
}

/// Where a platform that reads a stream of events (Matrix's `/sync`) resumes when it starts
/// listening: the position of the last [`crate::ChatEvent::Synced`] it sent, as the bots keep it.
#[async_trait]
pub trait Resume: Send + Sync {
    async fn position(&self) -> Result<Option<String>, ChatError>;
}

/// No position kept: listening starts from now (the doctor, which does not listen, and tests).
pub struct FromNow;

#[async_trait]
impl Resume for FromNow {
    async fn position(&self) -> Result<Option<String>, ChatError> {
        Ok(None)
    }
}

/// Why a platform could not be connected.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("set the environment variable {variable} to {what}")]
    Secret { variable: String, what: String },
    #[error("{what}: {cause}")]
    Refused { what: String, cause: ChatError },
}

/// Declares the platforms' modules and generates [`Platform`] and [`PlatformConfig`] from them.
macro_rules! platforms {
    ($($variant:ident => $module:ident :: $section:ident),+ $(,)?) => {
        $(pub mod $module;)+

        /// A chat platform hagios speaks.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Platform {
            $($variant),+
        }

        impl Platform {
            pub const ALL: &'static [Platform] = &[$(Platform::$variant),+];

            /// Its section in the configuration file, and its name in logs, the audit log and
            /// the store.
            pub fn name(self) -> &'static str {
                match self {
                    $(Platform::$variant => crate::$module::NAME),+
                }
            }

            /// The `[[route]]` key naming its target there; `None` when routes do not apply.
            pub fn route_key(self) -> Option<&'static str> {
                match self {
                    $(Platform::$variant => crate::$module::ROUTE_KEY),+
                }
            }

            /// Whether `id` (a `[[user]] chat_id`) is a user id of this platform: the one a page
            /// mentions there.
            pub fn is_user_id(self, id: &str) -> bool {
                match self {
                    $(Platform::$variant => crate::$module::is_user_id(id)),+
                }
            }

            /// The platform whose section is called `name`.
            pub fn named(name: &str) -> Option<Platform> {
                Platform::ALL.iter().copied().find(|platform| platform.name() == name)
            }

            /// The platforms whose routes name their target with `key`.
            pub fn by_route_key(key: &str) -> impl Iterator<Item = Platform> + '_ {
                Platform::ALL.iter().copied().filter(move |platform| platform.route_key() == Some(key))
            }
        }

        /// One platform's configuration section.
        #[derive(Debug, Clone)]
        pub enum PlatformConfig {
            $($variant(crate::$module::$section)),+
        }

        impl PlatformConfig {
            /// Reads `platform`'s section from its TOML table.
            pub fn parse(platform: Platform, section: toml::Value) -> Result<PlatformConfig, String> {
                match platform {
                    $(Platform::$variant => section
                        .try_into()
                        .map(PlatformConfig::$variant)
                        .map_err(|e| format!("[{}]: {e}", platform.name()))),+
                }
            }

            /// The section with its platform's defaults: what an empty `[name]` gives.
            pub fn default_of(platform: Platform) -> Result<PlatformConfig, String> {
                PlatformConfig::parse(platform, toml::Value::Table(toml::Table::new()))
            }

            pub fn platform(&self) -> Platform {
                match self {
                    $(PlatformConfig::$variant(_) => Platform::$variant),+
                }
            }

            pub fn section(&self) -> &dyn $crate::platform::Section {
                match self {
                    $(PlatformConfig::$variant(section) => section),+
                }
            }
        }
    };
}

impl std::fmt::Display for crate::Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl crate::Platform {
    /// Where hagios talks when no platform is configured: the terminal on stdin and stdout.
    pub const FALLBACK: crate::Platform = crate::Platform::Terminal;
}
