//! "Did you mean" suggestions for mistyped names: commands, hosts, services, host groups, Nagios
//! templates. One rule everywhere, so chat, backends and the config checker suggest alike.

/// Longer words are not worth comparing: nobody mistypes a 65-character name into another one,
/// and the cost of edit distance grows with the product of both lengths.
const MAX_WORD_CHARS: usize = 64;

/// The candidate closest to `word` when it is close enough to be a plausible typo.
/// Comparison ignores case, so `WEB01` suggests `web01`; ties go to the first candidate.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word: Vec<char> = word.to_lowercase().chars().collect();
    if word.is_empty() || word.len() > MAX_WORD_CHARS {
        return None;
    }
    let allowed = 1 + word.len() / 4;
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let lowered: Vec<char> = candidate.to_lowercase().chars().collect();
        if lowered.len().abs_diff(word.len()) > allowed {
            continue;
        }
        let distance = edit_distance(&word, &lowered);
        if distance <= allowed && best.is_none_or(|(best_distance, _)| distance < best_distance) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Edit distance where swapping two neighbouring characters counts as one edit (`akc` → `ack`).
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut before_previous: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1).min(current[j - 1] + 1).min(previous[j - 1] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before_previous[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before_previous, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_transpositions_and_missing_letters() {
        assert_eq!(closest("akc", ["ack", "unack", "status"]), Some("ack"));
        assert_eq!(closest("web1", ["db01", "web01", "web02"]), Some("web01"));
        assert_eq!(closest("WEB01", ["web01"]), Some("web01"));
        assert_eq!(closest("downtiem", ["downtime", "downtimes"]), Some("downtime"));
        assert_eq!(closest("generic-hst", ["generic-host", "linux"]), Some("generic-host"));
    }

    #[test]
    fn stays_quiet_when_nothing_is_close() {
        assert_eq!(closest("reboot", ["ack", "status", "help"]), None);
        assert_eq!(closest("", ["ack"]), None);
        assert_eq!(closest(&"x".repeat(1000), ["ack"]), None);
    }
}
