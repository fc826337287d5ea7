//! Matching, below the configuration and depending only on the domain: which objects a route or
//! a quiet-hours window selects, when a weekly window is open, and who a rotation or a stack of
//! on-call layers has on call at a moment.

pub mod objects;
pub mod rota;
pub mod rotation;
pub mod window;
