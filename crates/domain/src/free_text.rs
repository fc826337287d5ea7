//! Comments and author names as every monitoring backend stores them: inert wherever they come
//! back inside a quoted shell argument.
//!
//! Nagios (`$NOTIFICATIONAUTHOR$`, `$NOTIFICATIONCOMMENT$`) and Icinga 2 (`$notification.author$`,
//! `$notification.comment$`) hand authors and comments back, unstripped, to notification
//! commands that sites run through `/bin/sh` with the macro inside `"…"` or `'…'`. Inside double
//! quotes the shell still acts on `"`, `$`, `` ` `` and `\` (a trailing `\` swallows the closing
//! quote, and the next argument runs as shell code); inside single quotes only on `'`. Each of
//! these five becomes a look-alike, so the value stays one inert word in either quoting style.
//! Free text is also repaired for Nagios' `;`-separated external-command lines: control
//! characters become spaces, `;` becomes `,`, and the text is cut to [`MAX_TEXT_BYTES`].

/// Comments are cut to this many bytes.
pub const MAX_TEXT_BYTES: usize = 1024;

/// Free text as a backend will store it: control characters → space, `;` → `,`, shell quoting
/// characters → look-alikes, at most [`MAX_TEXT_BYTES`] bytes, cut at a character boundary.
/// Confirmation compares against this form.
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

/// An author name as a backend will store it: shell quoting characters → look-alikes. Nothing
/// else changes: a name must arrive as given or not at all, so a backend that cannot take a
/// character (Nagios: `;`, control characters) refuses it.
pub fn clean_author(author: &str) -> String {
    author.chars().map(shell_inert).collect()
}

/// Swaps the characters that end, escape or expand a quoted shell argument for look-alikes.
fn shell_inert(character: char) -> char {
    match character {
        '\'' => '’',
        '"' => '”',
        '`' => 'ˋ',
        '$' => '＄',
        '\\' => '＼',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_characters_become_look_alikes_in_text_and_authors() {
        assert_eq!(
            clean_text(r#"it's "fine"; echo $(id) `id` \"#),
            "it’s ”fine”, echo ＄(id) ˋidˋ ＼"
        );
        assert_eq!(clean_author(r"O'Brien\"), "O’Brien＼");
        assert_eq!(clean_author("ivan;x\n"), "ivan;x\n", "left for the backend to refuse");
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
