//! Comments and author names as every monitoring backend stores them: inert wherever they come
//! back in a shell command line.
//!
//! Nagios (`$NOTIFICATIONAUTHOR$`, `$NOTIFICATIONCOMMENT$`) and Icinga 2 (`$notification.author$`,
//! `$notification.comment$`) hand authors and comments back, unstripped, to notification
//! commands that sites run through `/bin/sh`, with the macro inside `"…"`, inside `'…'` or bare.
//! Inside double quotes the shell still acts on `"`, `$`, `` ` `` and `\` (a trailing `\`
//! swallows the closing quote, and the next argument runs as shell code); inside single quotes
//! only on `'`. Bare — and that is also what `'…'` around a macro becomes on Icinga, which wraps
//! every value of a string command in single quotes itself — the shell acts on `|`, `&`, `;`,
//! `<`, `>`, `(`, `)` and `#` (which would hide the rest of the site's command) too. Each of
//! these becomes a look-alike, so quoted the value stays one inert word, and bare it may split
//! into words but runs, redirects and hides nothing.
//!
//! Free text is also repaired for Nagios' `;`-separated external-command lines: control
//! characters become spaces, `;` becomes `,`, and the text is cut to [`MAX_TEXT_BYTES`]. An
//! author is a name that must arrive as given or not at all, so `;` and control characters in
//! it are refused.

/// Comments are cut to this many bytes.
pub const MAX_TEXT_BYTES: usize = 1024;

/// Why an author name cannot be written to a monitoring system.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorError {
    #[error("the author name is empty; set a `person` for this chat user in [[user]]")]
    Empty,
    #[error(
        "the author name contains {0:?}, which a monitoring command cannot carry; set a `person` without it \
         for this chat user in [[user]]"
    )]
    ForbiddenCharacter(char),
}

/// Free text as a backend will store it: control characters → space, `;` → `,`, shell syntax
/// → look-alikes, at most [`MAX_TEXT_BYTES`] bytes, cut at a character boundary. Confirmation
/// compares against this form.
pub fn clean_text(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len().min(MAX_TEXT_BYTES));
    for character in text.chars() {
        let replacement = match character {
            ';' => ',',
            c if c.is_control() => ' ',
            c => shell_inert(c),
        };
        if cleaned.len() + replacement.len_utf8() > MAX_TEXT_BYTES {
            break;
        }
        cleaned.push(replacement);
    }
    cleaned
}

/// An author name as a backend will store it (shell syntax → look-alikes), or why it cannot be
/// stored: empty, or with `;` or a control character in it.
pub fn clean_author(author: &str) -> Result<String, AuthorError> {
    if author.is_empty() {
        return Err(AuthorError::Empty);
    }
    match author.chars().find(|c| *c == ';' || c.is_control()) {
        Some(character) => Err(AuthorError::ForbiddenCharacter(character)),
        None => Ok(author.chars().map(shell_inert).collect()),
    }
}

/// Swaps the characters that end, escape or expand a quoted shell argument, or that chain,
/// redirect, group or end commands in a bare one, for look-alikes.
fn shell_inert(character: char) -> char {
    match character {
        '\'' => '’',
        '"' => '”',
        '`' => 'ˋ',
        '$' => '＄',
        '\\' => '＼',
        '|' => '｜',
        '&' => '＆',
        '<' => '＜',
        '>' => '＞',
        '(' => '（',
        ')' => '）',
        '#' => '＃',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_syntax_becomes_look_alikes_in_text_and_authors() {
        assert_eq!(
            clean_text(r#"it's "fine"; echo $(id) `id` | tee > x & \ # rest"#),
            "it’s ”fine”, echo ＄（id） ˋidˋ ｜ tee ＞ x ＆ ＼ ＃ rest"
        );
        assert_eq!(clean_author(r"O'Brien <ob> \").as_deref(), Ok("O’Brien ＜ob＞ ＼"));
    }

    #[test]
    fn authors_with_separators_or_control_characters_are_refused() {
        assert_eq!(clean_author("ivan;x"), Err(AuthorError::ForbiddenCharacter(';')));
        assert_eq!(clean_author("ivan\n[0] SHUTDOWN_PROGRAM"), Err(AuthorError::ForbiddenCharacter('\n')));
        assert_eq!(clean_author("ivan\0"), Err(AuthorError::ForbiddenCharacter('\0')));
        assert_eq!(clean_author(""), Err(AuthorError::Empty));
        assert_eq!(clean_author("@alice:example.org").as_deref(), Ok("@alice:example.org"));
    }

    #[test]
    fn control_characters_become_spaces_in_text() {
        assert_eq!(clean_text("a;b\n[1] DISABLE_NOTIFICATIONS\r\0"), "a,b [1] DISABLE_NOTIFICATIONS  ");
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        let cleaned = clean_text(&"é".repeat(MAX_TEXT_BYTES));
        assert_eq!(cleaned.len(), MAX_TEXT_BYTES);
        assert!(cleaned.chars().all(|c| c == 'é'));
        assert_eq!(clean_text(&"x".repeat(MAX_TEXT_BYTES + 1)).len(), MAX_TEXT_BYTES);
        assert_eq!(clean_text(&"\\".repeat(MAX_TEXT_BYTES)).len(), MAX_TEXT_BYTES - MAX_TEXT_BYTES % 3);
    }
}
