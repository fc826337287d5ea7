//! Small pieces of English that replies and messages share.

use std::fmt::Display;

/// `1 alert`, `3 alerts`, `2 deliveries`: a count with its noun, in the plural unless the
/// count is one. Every noun hagios counts takes `-s`, or `-ies` for a `-y` after a consonant.
/// Any unsigned count does (`len()`, the store's `u64` tallies).
pub fn plural<Count: Display + PartialEq + From<u8>>(count: Count, noun: &str) -> String {
    if count == Count::from(1) {
        return format!("1 {noun}");
    }
    match noun.strip_suffix('y') {
        Some(stem) if !stem.is_empty() && !stem.ends_with(['a', 'e', 'i', 'o', 'u']) => {
            format!("{count} {stem}ies")
        }
        _ => format!("{count} {noun}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(plural(1_usize, "problem"), "1 problem");
        assert_eq!(plural(0_usize, "problem"), "0 problems");
        assert_eq!(plural(2_usize, "more line"), "2 more lines");
        assert_eq!(plural(1_usize, "delivery"), "1 delivery");
        assert_eq!(plural(3_usize, "delivery"), "3 deliveries");
        assert_eq!(plural(3_usize, "key"), "3 keys");
        assert_eq!(plural(1_u64, "byte"), "1 byte");
        assert_eq!(plural(10_u64, "byte"), "10 bytes");
    }
}
