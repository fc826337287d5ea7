//! Nagios 4 object configuration: read it from the main `nagios.cfg` ([`load`]), parse it
//! ([`parse`]), resolve templates the way Nagios does ([`resolve`]) and report what `nagios -v`
//! would reject, with file:line, the inheritance chain and suggestions ([`check`]).

pub mod check;
pub mod diag;
pub mod directives;
mod fast_hash;
pub mod load;
pub mod parse;
pub mod resolve;

pub use check::{analyse, check, service_value, Analysis, CheckReport};
pub use diag::{Diagnostic, Kind, Phase, Severity};
pub use load::{load, LoadError, Sources};
pub use parse::{ObjectKind, RawObject};
pub use resolve::{Config, Resolved};
