//! Which monitoring system a site runs, and how chat names it ("confirmed by Icinga 2").

use serde::{Deserialize, Serialize};

/// A monitoring system hagios drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    Nagios,
    Icinga2,
}

impl System {
    /// The name chat replies use.
    pub fn name(self) -> &'static str {
        match self {
            System::Nagios => "Nagios",
            System::Icinga2 => "Icinga 2",
        }
    }
}
