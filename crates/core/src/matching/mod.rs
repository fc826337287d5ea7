//! Matching, below the configuration and depending only on the domain: which objects a route or
//! a quiet-hours window selects, and when a weekly window is open.

pub mod objects;
pub mod window;
