//! Authors and comments as the backends store them, put into a notification command line the way
//! sites write them (`… "$NOTIFICATIONAUTHOR$" "$NOTIFICATIONCOMMENT$"`, or in single quotes) and
//! run by a real `/bin/sh -c`: whatever was typed in chat, each stays exactly one word, arrives
//! as stored, and runs nothing. Bare (unquoted, or single-quoted on Icinga, which adds quotes of
//! its own that cancel the site's) a value may split into words but still runs nothing.

use hagios_monitor::nagios::command::{clean_author, clean_text, render, ExternalCommand, Note};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::path::Path;
use std::process::Command;

/// Pieces of shell syntax that end a quoted word, start a new command or create a file (`M`, in
/// the test's own empty folder).
const ATTACKS: &[&str] = &[
    "\\",
    "'",
    "\"",
    "`touch M`",
    "$(touch M)",
    "${IFS}",
    "$",
    "| touch M #",
    "; touch M",
    "&& touch M",
    "> M",
    "\n touch M\n",
    "\0",
    "#",
    "*",
    " ",
];

/// Chat text: attack pieces mixed with arbitrary characters.
fn chat_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => proptest::sample::select(ATTACKS).prop_map(str::to_owned),
        1 => ".{0,6}",
        1 => any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..10).prop_map(|pieces| pieces.concat())
}

/// The author as Nagios receives it, or `None` when it is refused (`;`, control characters:
/// such an author never reaches a monitoring system).
fn author_as_sent(typed: &str) -> Option<String> {
    let author = clean_author(typed).ok()?;
    let note = Note { persistent: false, author: author.clone(), comment: String::new() };
    render(&ExternalCommand::AddHostComment { host: "web01".into(), note }, 0).ok().map(|_| author)
}

/// Runs `line` with `/bin/sh -c` in the empty folder `dir`: its output once it succeeded without
/// a word on stderr and without creating a file.
fn run_in(dir: &Path, line: &str) -> Result<String, TestCaseError> {
    let run = Command::new("/bin/sh").arg("-c").arg(line).current_dir(dir).output();
    let output = run.map_err(|err| TestCaseError::fail(format!("cannot run /bin/sh: {err}")))?;
    prop_assert!(output.status.success(), "{line:?}: {output:?}");
    prop_assert!(output.stderr.is_empty(), "{line:?}: {output:?}");
    let created: Vec<_> = std::fs::read_dir(dir).map_err(|err| TestCaseError::fail(err.to_string()))?.collect();
    prop_assert!(created.is_empty(), "{line:?} created {created:?}");
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Ok when `author` and `comment`, handed over as `"…"` or `'…'` arguments, reach the shell as
/// exactly those two words, and handed over bare run nothing.
fn passes_as_two_inert_words(dir: &Path, author: &str, comment: &str) -> Result<(), TestCaseError> {
    for quote in ['"', '\''] {
        let line =
            format!("set -- {quote}{author}{quote} {quote}{comment}{quote}; printf '%s|%s|%s' \"$#\" \"$1\" \"$2\"");
        prop_assert_eq!(run_in(dir, &line)?, format!("2|{author}|{comment}"), "{:?}", line);
    }
    run_in(dir, &format!("set -- {author} {comment}"))?;
    Ok(())
}

#[test]
fn the_harness_sees_the_trailing_backslash_attack_on_uncleaned_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = passes_as_two_inert_words(dir.path(), "a\\", "| touch M #");
    assert!(broken.is_err(), "the raw values must break out");
    assert!(dir.path().join("M").exists(), "and run the injected command");
}

#[test]
fn the_issues_attack_is_inert_once_cleaned() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (author, comment) in [("a\\", "| touch M #"), ("a'", "| touch M #"), ("a", "breaks quoting\\")] {
        let author = author_as_sent(author).expect("a usable author");
        passes_as_two_inert_words(dir.path(), &author, &clean_text(comment)).expect("inert");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn cleaned_authors_and_comments_stay_one_inert_word_in_either_quoting(author in chat_text(), comment in chat_text()) {
        let dir = tempfile::tempdir().map_err(|err| TestCaseError::fail(err.to_string()))?;
        let author = author_as_sent(&author).unwrap_or_else(|| "refused-author".into());
        passes_as_two_inert_words(dir.path(), &author, &clean_text(&comment))?;
    }
}
