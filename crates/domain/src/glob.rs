//! Shell-style globs over whole names, as routes, roles, quiet hours and queries match objects.

/// Shell-style glob on whole strings: `*` any run of characters, `?` one character; case-sensitive
/// like Nagios object names.
pub fn glob_match(pattern: &str, value: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let value: Vec<char> = value.chars().collect();
    let (mut p, mut v) = (0, 0);
    // Where the last `*` was and how much of `value` it has swallowed so far.
    let mut last_star: Option<(usize, usize)> = None;
    while v < value.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == value[v]) {
            p += 1;
            v += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            last_star = Some((p, v));
            p += 1;
        } else if let Some((star, swallowed)) = last_star {
            p = star + 1;
            v = swallowed + 1;
            last_star = Some((star, v));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names() {
        assert!(glob_match("*", ""));
        assert!(glob_match("web*", "web01"));
        assert!(glob_match("w?b0*1", "web001"));
        assert!(glob_match("*a*b", "xxaxxab"));
        assert!(!glob_match("web*", "db01"));
        assert!(!glob_match("web", "web01"));
        assert!(!glob_match("Web*", "web01"));
    }
}
