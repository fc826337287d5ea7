//! Object file syntax: `define TYPE {` … `}` blocks of `directive value` lines, with `#`/`;`
//! comments, `\;` escapes and `\` line continuations, exactly as Nagios 4 reads them. Values
//! borrow from the file text, so parsing a large configuration allocates little.

use crate::diag::{Diagnostic, Kind, Phase, Severity};
use crate::directives;
use std::borrow::Cow;
use std::path::Path;

/// The object types of Nagios 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    Host,
    Service,
    Hostgroup,
    Servicegroup,
    Contact,
    Contactgroup,
    Command,
    Timeperiod,
    Hostdependency,
    Servicedependency,
    Hostescalation,
    Serviceescalation,
    Hostextinfo,
    Serviceextinfo,
}

impl ObjectKind {
    pub const ALL: [ObjectKind; 14] = [
        ObjectKind::Host,
        ObjectKind::Service,
        ObjectKind::Hostgroup,
        ObjectKind::Servicegroup,
        ObjectKind::Contact,
        ObjectKind::Contactgroup,
        ObjectKind::Command,
        ObjectKind::Timeperiod,
        ObjectKind::Hostdependency,
        ObjectKind::Servicedependency,
        ObjectKind::Hostescalation,
        ObjectKind::Serviceescalation,
        ObjectKind::Hostextinfo,
        ObjectKind::Serviceextinfo,
    ];

    /// The word after `define`.
    pub fn keyword(self) -> &'static str {
        match self {
            ObjectKind::Host => "host",
            ObjectKind::Service => "service",
            ObjectKind::Hostgroup => "hostgroup",
            ObjectKind::Servicegroup => "servicegroup",
            ObjectKind::Contact => "contact",
            ObjectKind::Contactgroup => "contactgroup",
            ObjectKind::Command => "command",
            ObjectKind::Timeperiod => "timeperiod",
            ObjectKind::Hostdependency => "hostdependency",
            ObjectKind::Servicedependency => "servicedependency",
            ObjectKind::Hostescalation => "hostescalation",
            ObjectKind::Serviceescalation => "serviceescalation",
            ObjectKind::Hostextinfo => "hostextinfo",
            ObjectKind::Serviceextinfo => "serviceextinfo",
        }
    }

    /// The directive holding an object's own name (`None`: such objects are not named).
    pub fn name_directive(self) -> Option<&'static str> {
        match self {
            ObjectKind::Host => Some("host_name"),
            ObjectKind::Service => Some("service_description"),
            ObjectKind::Hostgroup => Some("hostgroup_name"),
            ObjectKind::Servicegroup => Some("servicegroup_name"),
            ObjectKind::Contact => Some("contact_name"),
            ObjectKind::Contactgroup => Some("contactgroup_name"),
            ObjectKind::Command => Some("command_name"),
            ObjectKind::Timeperiod => Some("timeperiod_name"),
            _ => None,
        }
    }

    fn from_keyword(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.keyword() == word)
    }
}

/// One `directive value` line of a definition.
#[derive(Debug, Clone)]
pub struct Directive<'a> {
    pub key: Cow<'a, str>,
    /// `directives::key_id(key)`, computed once while parsing.
    pub id: directives::KeyId,
    pub value: Cow<'a, str>,
    pub line: u32,
}

/// One `define` block as written, before templates are applied.
#[derive(Debug, Clone)]
pub struct RawObject<'a> {
    pub kind: ObjectKind,
    /// Index into `Sources::files`.
    pub file: u32,
    pub line: u32,
    pub end_line: u32,
    pub directives: Vec<Directive<'a>>,
}

impl<'a> RawObject<'a> {
    /// The value of a directive written in this definition itself.
    pub fn own(&self, key: &str) -> Option<&Directive<'a>> {
        self.directives.iter().find(|directive| directive.key == key)
    }

    /// `register 0` marks a template that Nagios does not create as an object.
    pub fn is_template_only(&self) -> bool {
        self.own("register").is_some_and(|directive| directive.value.trim() == "0")
    }
}

/// Parse one object file; problems go to `diagnostics` (Nagios' read phase).
pub fn parse_objects<'a>(
    file: u32,
    path: &Path,
    text: &'a str,
    out: &mut Vec<RawObject<'a>>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    // Large files are parsed in two halves at once, split before a `define` line near the
    // middle. If the first half ends inside a definition (a file with an unclosed definition),
    // the split was wrong: parse the whole file in one go, as Nagios reads it.
    let split = (text.len() >= PARALLEL_FROM_BYTES)
        .then(|| memchr::memmem::find(&text.as_bytes()[text.len() / 2..], b"\ndefine"))
        .flatten()
        .map(|offset| text.len() / 2 + offset + 1);
    let Some(split) = split else {
        parse_chunk(file, path, text, 0, out, diagnostics);
        return;
    };
    let (first, second) = text.split_at(split);
    let second_first_line = memchr::memchr_iter(b'\n', first.as_bytes()).count() as u32;
    let mut second_objects = Vec::new();
    let mut second_diagnostics = Vec::new();
    let (before_objects, before_diagnostics) = (out.len(), diagnostics.len());
    let first_ended_open = std::thread::scope(|scope| {
        scope
            .spawn(|| parse_chunk(file, path, second, second_first_line, &mut second_objects, &mut second_diagnostics));
        parse_chunk(file, path, first, 0, out, diagnostics)
    });
    if first_ended_open {
        out.truncate(before_objects);
        diagnostics.truncate(before_diagnostics);
        parse_chunk(file, path, text, 0, out, diagnostics);
    } else {
        out.append(&mut second_objects);
        diagnostics.append(&mut second_diagnostics);
    }
}

/// Files at least this large are parsed on two threads.
const PARALLEL_FROM_BYTES: usize = 4 << 20;

/// Parse `text`, whose first line is line `first_line + 1` of its file; returns whether it
/// ended inside a definition.
fn parse_chunk<'a>(
    file: u32,
    path: &Path,
    text: &'a str,
    first_line: u32,
    out: &mut Vec<RawObject<'a>>,
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    let mut current: Option<RawObject<'a>> = None;
    let mut skipping_unknown_type = false;
    let mut lines = LogicalLines { rest: text, number: first_line };
    let mut last_line = 0;
    while let Some((line, number)) = lines.next_line() {
        last_line = number;
        let line = strip_comment(line);
        let trimmed = trim(&line);
        if trimmed.is_empty() {
            continue;
        }
        if trimmed == "}" {
            if let Some(mut object) = current.take() {
                object.end_line = number;
                out.push(object);
            }
            skipping_unknown_type = false;
            continue;
        }
        if current.is_none() && !skipping_unknown_type {
            let Some(after) = trimmed.strip_prefix("define") else {
                diagnostics.push(read_error(
                    path,
                    number,
                    Kind::UnknownObjectType,
                    "",
                    format!("unexpected text outside a definition: '{trimmed}'"),
                ));
                continue;
            };
            let word = trim(after.trim_end_matches('{'));
            match ObjectKind::from_keyword(word) {
                Some(kind) => {
                    current = Some(RawObject { kind, file, line: number, end_line: number, directives: Vec::new() })
                }
                None => {
                    let known = ObjectKind::ALL.map(ObjectKind::keyword);
                    let mut diagnostic = read_error(
                        path,
                        number,
                        Kind::UnknownObjectType,
                        word,
                        format!("unknown object type 'define {word}'"),
                    );
                    add_suggestion(&mut diagnostic, word, known);
                    diagnostics.push(diagnostic);
                    skipping_unknown_type = true;
                }
            }
            continue;
        }
        let Some(object) = current.as_mut() else { continue };
        let (key, value) = split_directive(line);
        let key = directives::synonym_of(object.kind, &key).map_or(key, Cow::Borrowed);
        let id = directives::key_id(&key);
        if !directives::is_known(object.kind, &key, id) {
            let mut diagnostic = read_error(
                path,
                number,
                Kind::UnknownDirective,
                &key,
                format!("'{key}' is not a {} directive", object.kind.keyword()),
            );
            add_suggestion(&mut diagnostic, &key, directives::known(object.kind).iter().copied());
            diagnostics.push(diagnostic);
            continue;
        }
        object.directives.push(Directive { key, id, value, line: number });
    }
    let ended_open = current.is_some();
    if let Some(object) = current {
        diagnostics.push(read_error(
            path,
            last_line.max(object.line),
            Kind::UnexpectedEof,
            "",
            format!(
                "the {} definition starting on line {} is not closed: add a line with '}}'",
                object.kind.keyword(),
                object.line
            ),
        ));
    }
    ended_open
}

/// Split `key value`; both borrow from the file unless the line was joined or unescaped.
fn split_directive(line: Cow<'_, str>) -> (Cow<'_, str>, Cow<'_, str>) {
    fn split(text: &str) -> (&str, &str) {
        let text = trim(text);
        match text.bytes().position(|byte| byte == b' ' || byte == b'\t') {
            Some(at) => (&text[..at], trim(&text[at..])),
            None => (text, ""),
        }
    }
    let unescape = |value: &str| value.replace("\\;", ";");
    match line {
        Cow::Borrowed(text) => {
            let (key, value) = split(text);
            let value = if value.contains("\\;") { Cow::Owned(unescape(value)) } else { Cow::Borrowed(value) };
            (Cow::Borrowed(key), value)
        }
        Cow::Owned(text) => {
            let (key, value) = split(&text);
            (Cow::Owned(key.to_string()), Cow::Owned(unescape(value)))
        }
    }
}

/// Cut a `;` comment (not `\;`); whole-line `#` comments too.
fn strip_comment(line: Cow<'_, str>) -> Cow<'_, str> {
    let first = trim(&line);
    if first.starts_with('#') || first.starts_with(';') {
        return Cow::Borrowed("");
    }
    let bytes = line.as_bytes();
    let cut = memchr::memchr_iter(b';', bytes).find(|&at| at == 0 || bytes[at - 1] != b'\\');
    match (cut, line) {
        (None, line) => line,
        (Some(at), Cow::Borrowed(text)) => Cow::Borrowed(&text[..at]),
        (Some(at), Cow::Owned(mut text)) => {
            text.truncate(at);
            Cow::Owned(text)
        }
    }
}

fn trim(text: &str) -> &str {
    let is_space = |byte: &u8| matches!(byte, b' ' | b'\t' | b'\r' | b'\n');
    let bytes = text.as_bytes();
    let Some(start) = bytes.iter().position(|byte| !is_space(byte)) else { return "" };
    let end = bytes.iter().rposition(|byte| !is_space(byte)).map_or(start, |end| end + 1);
    // both ends are at ASCII bytes, so at character boundaries
    &text[start..end]
}

/// Lines of a file with `\`-continued lines joined, each with the number of its first line.
struct LogicalLines<'a> {
    rest: &'a str,
    number: u32,
}

impl<'a> LogicalLines<'a> {
    fn next_line(&mut self) -> Option<(Cow<'a, str>, u32)> {
        if self.rest.is_empty() {
            return None;
        }
        let first = self.take_physical();
        let number = self.number;
        if !trim(first).ends_with('\\') {
            return Some((Cow::Borrowed(first), number));
        }
        let mut joined = trim(first).trim_end_matches('\\').to_string();
        while !self.rest.is_empty() {
            let next = self.take_physical();
            let next_trimmed = trim(next);
            match next_trimmed.strip_suffix('\\') {
                Some(more) => joined.push_str(more),
                None => {
                    joined.push_str(next_trimmed);
                    break;
                }
            }
        }
        Some((Cow::Owned(joined), number))
    }

    fn take_physical(&mut self) -> &'a str {
        self.number += 1;
        match memchr::memchr(b'\n', self.rest.as_bytes()) {
            Some(at) => {
                let line = &self.rest[..at];
                self.rest = &self.rest[at + 1..];
                line
            }
            None => std::mem::take(&mut self.rest),
        }
    }
}

pub(crate) fn read_error(path: &Path, line: u32, kind: Kind, subject: &str, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        phase: Phase::Read,
        kind,
        subject: subject.to_string(),
        file: path.to_path_buf(),
        line,
        message,
        notes: Vec::new(),
    }
}

pub(crate) fn add_suggestion<'c>(
    diagnostic: &mut Diagnostic,
    wanted: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) {
    if let Some(best) = hagios_domain::suggest::closest(wanted, candidates) {
        diagnostic.notes.push(format!("did you mean '{best}'?"));
    }
}
