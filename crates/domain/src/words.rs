//! Small pieces of English that replies and messages share.

/// `1 alert`, `3 alerts`: a count with its noun.
pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
