//! Who is on call when several layers cover one schedule. Layers are stacked lowest first, as in
//! PagerDuty: at any moment the highest layer with someone on call decides, so a layer added on
//! top (nights, a holiday cover) overrides the ones below where it has someone. Each layer says
//! who it has on call at a moment and when that may change next; walking those changes finds
//! the next handoff and the gaps where nobody is on call.

/// What one layer covers: a rotation, a calendar, overrides.
pub trait Coverage {
    /// The person the layer has on call at `time` (epoch seconds), if any.
    fn on_call_at(&self, time: i64) -> Option<&str>;
    /// The first moment after `time` at which the layer's answer may change.
    fn next_change_after(&self, time: i64) -> Option<i64>;
}

impl<C: Coverage + ?Sized> Coverage for &C {
    fn on_call_at(&self, time: i64) -> Option<&str> {
        (**self).on_call_at(time)
    }

    fn next_change_after(&self, time: i64) -> Option<i64> {
        (**self).next_change_after(time)
    }
}

/// Enough steps to walk a month of hourly changes in every layer of a big schedule; a bound,
/// so that a layer that keeps answering the same moment cannot loop.
const MAX_STEPS: usize = 20_000;

/// The person on call at `time` and the index of the layer that has them: the highest layer
/// with someone.
pub fn on_call<'a>(layers: &[&'a dyn Coverage], time: i64) -> Option<(usize, &'a str)> {
    layers
        .iter()
        .copied()
        .enumerate()
        .rev()
        .find_map(|(index, layer)| layer.on_call_at(time).map(|person| (index, person)))
}

/// The first moment after `time` at which any layer may change.
fn next_edge(layers: &[&dyn Coverage], time: i64) -> Option<i64> {
    layers.iter().filter_map(|layer| layer.next_change_after(time)).filter(|edge| *edge > time).min()
}

/// The next handoff after `time` and before `until`: the moment the person on call changes,
/// and who (or nobody) is on call from then.
pub fn next_handoff<'a>(layers: &[&'a dyn Coverage], time: i64, until: i64) -> Option<(i64, Option<&'a str>)> {
    let now = on_call(layers, time).map(|(_, person)| person);
    let mut at = time;
    for _ in 0..MAX_STEPS {
        at = next_edge(layers, at).filter(|edge| *edge < until)?;
        let then = on_call(layers, at).map(|(_, person)| person);
        if then != now {
            return Some((at, then));
        }
    }
    None
}

/// The spans between `from` and `until` in which nobody is on call, in order.
pub fn gaps(layers: &[&dyn Coverage], from: i64, until: i64) -> Vec<(i64, i64)> {
    let mut gaps = Vec::new();
    let mut open: Option<i64> = on_call(layers, from).is_none().then_some(from);
    let mut at = from;
    for _ in 0..MAX_STEPS {
        let Some(edge) = next_edge(layers, at).filter(|edge| *edge < until) else { break };
        at = edge;
        match (open, on_call(layers, at).is_none()) {
            (None, true) => open = Some(at),
            (Some(start), false) => {
                gaps.push((start, at));
                open = None;
            }
            _ => {}
        }
    }
    gaps.extend(open.map(|start| (start, until)));
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixed spans, each with its person.
    struct Spans(Vec<(i64, i64, &'static str)>);

    impl Coverage for Spans {
        fn on_call_at(&self, time: i64) -> Option<&str> {
            self.0.iter().find(|(start, end, _)| (*start..*end).contains(&time)).map(|(_, _, person)| *person)
        }

        fn next_change_after(&self, time: i64) -> Option<i64> {
            self.0.iter().flat_map(|(start, end, _)| [*start, *end]).filter(|edge| *edge > time).min()
        }
    }

    #[test]
    fn the_highest_layer_with_someone_decides() {
        let base = Spans(vec![(0, 100, "alice"), (100, 200, "bob")]);
        let cover = Spans(vec![(50, 60, "carol")]);
        let layers: [&dyn Coverage; 2] = [&base, &cover];
        assert_eq!(on_call(&layers, 10), Some((0, "alice")));
        assert_eq!(on_call(&layers, 55), Some((1, "carol")));
        assert_eq!(on_call(&layers, 60), Some((0, "alice")));
        assert_eq!(next_handoff(&layers, 10, 1000), Some((50, Some("carol"))));
        assert_eq!(next_handoff(&layers, 55, 1000), Some((60, Some("alice"))));
        assert_eq!(next_handoff(&layers, 150, 1000), Some((200, None)), "nobody after 200");
        assert_eq!(next_handoff(&layers, 150, 180), None, "not before the horizon");
    }

    #[test]
    fn gaps_are_the_spans_nobody_covers() {
        let days = Spans(vec![(10, 20, "alice"), (30, 40, "bob")]);
        let same = Spans(vec![(15, 25, "alice")]);
        let layers: [&dyn Coverage; 2] = [&days, &same];
        assert_eq!(gaps(&layers, 0, 50), [(0, 10), (25, 30), (40, 50)]);
        assert!(gaps(&layers, 12, 24).is_empty());
        assert_eq!(next_handoff(&layers, 12, 100), Some((25, None)), "alice's two spans are one turn");
    }
}
