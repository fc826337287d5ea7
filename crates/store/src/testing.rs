//! Cards for the store's unit tests.

use hagios_domain::{AlertCard, NotificationType, ObjectRef, State};

/// The card of `object` at site `local` in `state` at `time`, with `line` as its history.
pub(crate) fn card(object: ObjectRef, state: State, line: Option<&str>, time: i64) -> AlertCard {
    AlertCard {
        site: "local".into(),
        object,
        state,
        kind: NotificationType::Problem,
        output: String::new(),
        long_output: String::new(),
        history: line.map(str::to_owned).into_iter().collect(),
        open: !matches!(state, State::Ok | State::Up),
        time,
    }
}
