//! Arguments after the command word: words (with `"quoted phrases"`), targets checked against
//! the monitoring objects, and free text.
//!
//! A target is `HOST`, `HOST SERVICE`, `HOST "MULTI WORD SERVICE"` or `HOST!SERVICE`. A bare
//! second word is a service only when that host has a service of exactly that name; otherwise it
//! starts whatever follows (a comment, a duration). A quoted second word must be a service: a
//! mistyped service then fails loudly instead of acknowledging the whole host. In an alert thread
//! the target may be left out: a first word that is not a known host then starts the rest and the
//! thread's incident is the target.

use crate::commands::{Input, ParseError};
use crate::text::{free_text, shown};
use hagios_domain::suggest::closest;
use hagios_domain::{ObjectRef, SiteObject, Snapshot};

/// One word of input. Quotes group words and are removed: `"HTTP Load"` is one word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    pub text: String,
    /// Byte offset in the argument text where the word starts (its opening quote, if any).
    pub start: usize,
    pub quoted: bool,
    /// Byte offset in `text` of the first `!` outside quotes: `host!service`.
    pub bang: Option<usize>,
    /// A quote opened in it was never closed.
    pub unterminated: bool,
}

/// Straight and typographic double quotes: chat clients on phones and Macs "smarten" them.
fn is_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '”')
}

/// The argument text split into words.
#[derive(Debug, Clone)]
pub(crate) struct Words<'a> {
    source: &'a str,
    pub list: Vec<Word>,
}

impl<'a> Words<'a> {
    pub fn new(source: &'a str) -> Self {
        let mut list = Vec::new();
        let mut chars = source.char_indices().peekable();
        while let Some(&(start, c)) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
                continue;
            }
            let mut word = Word { text: String::new(), start, quoted: false, bang: None, unterminated: false };
            let mut in_quotes = false;
            while let Some(&(_, c)) = chars.peek() {
                if !in_quotes && c.is_whitespace() {
                    break;
                }
                chars.next();
                if is_quote(c) {
                    in_quotes = !in_quotes;
                    word.quoted = true;
                } else {
                    if c == '!' && !in_quotes && word.bang.is_none() {
                        word.bang = Some(word.text.len());
                    }
                    word.text.push(c);
                }
            }
            word.unterminated = in_quotes;
            list.push(word);
        }
        Words { source, list }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Everything from word `index` on as one line of free text, exactly as typed (quotes kept)
    /// apart from whitespace; `None` when nothing is left.
    pub fn text_from(&self, index: usize) -> Option<String> {
        let word = self.list.get(index)?;
        Some(free_text(self.source.get(word.start..)?)).filter(|text| !text.is_empty())
    }
}

/// What a command acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Object(ObjectRef),
    /// `HOST *` or `HOST!*`: the host and every service on it (downtime only).
    HostAndServices(String),
}

/// Which targets a command takes and whether text may follow them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    /// `HOST *` is allowed.
    pub all_services: bool,
    /// Words may follow the target (a comment, a duration); in a thread an unknown first word
    /// then starts them instead of naming a host.
    pub trailing: bool,
}

/// A resolved target, the site it is at, and where the words after it begin.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub target: Target,
    /// The site the target was found at (named, from the thread, or the only one that has it).
    pub site: String,
    /// Index of the first word after the target.
    pub next: usize,
    /// The target came from the alert thread because the first word is not a host.
    pub from_thread: bool,
}

impl Input<'_> {
    /// Resolves the target at the start of `words` (or the thread's incident), checked against
    /// the monitoring objects of the site it is at.
    pub fn resolve(&self, words: &Words<'_>, shape: Shape) -> Result<Resolved, ParseError> {
        let Some(first) = words.list.first() else {
            return self.thread_target();
        };
        if first.unterminated {
            return Err(self.usage(format!("the quote in `{}` is never closed", shown(&first.text))));
        }
        let (named_site, name) = self.site_prefix(&first.text);
        let bang = first.bang.and_then(|bang| bang.checked_sub(first.text.len() - name.len()));
        let host = bang.map_or(name, |bang| &name[..bang]);
        let at = match named_site {
            Some(site) => Some((site, self.answering_site(site, host)?)),
            None if self.snapshot.has_host(host) => Some(self.only_site_with(host)?),
            None => None,
        };
        if let Some((site, snapshot)) = at.filter(|(_, snapshot)| snapshot.has_host(host)) {
            let resolved = |target, next| Resolved { target, site: site.to_owned(), next, from_thread: false };
            if let Some(bang) = bang {
                return Ok(resolved(self.service_target(snapshot, host, &name[bang + 1..], shape)?, 1));
            }
            return match words.list.get(1) {
                Some(second) if second.unterminated => {
                    Err(self.usage(format!("the quote in `{}` is never closed", shown(&second.text))))
                }
                Some(second)
                    if second.quoted
                        || second.text == "*"
                        || (second.bang.is_none() && snapshot.has_service(host, &second.text)) =>
                {
                    Ok(resolved(self.service_target(snapshot, host, &second.text, shape)?, 2))
                }
                _ => Ok(resolved(Target::Object(ObjectRef::host(host)), 1)),
            };
        }
        if let Some(site) = named_site {
            return Err(ParseError::Invalid(format!("site `{site}` has no host `{}`", shown(host))));
        }
        if shape.trailing && self.incident.is_some() {
            return self.thread_target();
        }
        Err(self.unknown_host(host))
    }

    /// The target when the command names exactly one object and nothing may follow it.
    pub fn sole_object(&self, words: &Words<'_>) -> Result<SiteObject, ParseError> {
        let resolved = self.resolve(words, Shape { all_services: false, trailing: false })?;
        let object = resolved.object();
        match words.list.get(resolved.next) {
            None => Ok(SiteObject::new(resolved.site, object)),
            // Only a service may follow a bare host here: this one does not exist.
            Some(extra) if resolved.next == 1 && !object.is_service() && words.list[0].bang.is_none() => {
                Err(self.unknown_service(self.snapshot_at(&resolved.site), &object.host, &extra.text))
            }
            Some(extra) => Err(self.usage(format!("unexpected `{}` after the target", shown(&extra.text)))),
        }
    }

    /// `SITE:REST` when SITE is a site's name: the site and the rest; else no site and `text`.
    pub fn site_prefix<'t>(&self, text: &'t str) -> (Option<&'t str>, &'t str) {
        match text.split_once(':') {
            Some((site, rest)) if self.sites.is_site(site) => (Some(site), rest),
            _ => (None, text),
        }
    }

    /// Where the host a command names on its own (`host add`, `host remove`) is, and its name:
    /// the site named with `SITE:`, else the one site that has it (`existing`), else — for a host
    /// yet to be added — the one site there is.
    pub fn host_site<'t>(&self, text: &'t str, existing: bool) -> Result<(String, &'t str), ParseError> {
        let (named_site, name) = self.site_prefix(text);
        if let Some(site) = named_site {
            self.answering_site(site, name)?;
            return Ok((site.to_owned(), name));
        }
        if existing {
            if !self.snapshot.has_host(name) {
                return Err(self.unknown_host(name));
            }
            return self.only_site_with(name).map(|(site, _)| (site.to_owned(), name));
        }
        match (self.sites.answering(), self.sites.silent()) {
            ([(site, _)], []) => Ok((site.clone(), name)),
            _ => Err(ParseError::Invalid(format!(
                "this bot serves several sites ({}); name the one to add the host at: `host add SITE:{} …`",
                self.sites.names().join(", "),
                shown(name)
            ))),
        }
    }

    /// The state of site `site`, named by the person; an error saying why when it did not answer.
    pub fn answering_site(&self, site: &str, what: &str) -> Result<&Snapshot, ParseError> {
        self.sites.site(site).map(|snapshot| snapshot.as_ref()).ok_or_else(|| {
            let why = self.sites.why_silent(site).unwrap_or("unknown");
            ParseError::Invalid(format!(
                "site `{site}` did not answer ({why}), so nothing about `{}` can be checked or sent there; try again \
                 once it is back",
                shown(what)
            ))
        })
    }

    /// The one site that has host `host`. Refused when several have it, or when a site did not
    /// answer and might: the person names the site then.
    fn only_site_with(&self, host: &str) -> Result<(&str, &Snapshot), ParseError> {
        let sites = self.sites.sites_with_host(host);
        self.only_site(&sites, &format!("`{}`", shown(host)), |site| format!("`{site}:{}`", shown(host)))
    }

    /// The one site of `sites` (those that have `what`), or why there is none: several have it,
    /// or a site that did not answer might. `typed` shows how to name it at a site.
    pub fn only_site(
        &self,
        sites: &[&str],
        what: &str,
        typed: impl Fn(&str) -> String,
    ) -> Result<(&str, &Snapshot), ParseError> {
        let silent = self.sites.silent();
        match sites {
            [site] if silent.is_empty() => self
                .sites
                .answering()
                .iter()
                .find(|(name, _)| name == site)
                .map(|(name, snapshot)| (name.as_str(), snapshot.as_ref()))
                .ok_or_else(|| ParseError::Invalid(format!("no site has {what}"))),
            [] => Err(ParseError::Invalid(format!("no site has {what}"))),
            [_] => {
                let names: Vec<&str> = silent.iter().map(|(site, _)| site.as_str()).collect();
                let example = sites.iter().map(|site| typed(site)).collect::<Vec<_>>().join(" or ");
                Err(ParseError::Invalid(format!(
                    "site {} did not answer, so hagios cannot tell whether {what} is there too; name the site \
                     ({example}) or try again once it answers",
                    names.join(", ")
                )))
            }
            several => {
                let examples: Vec<String> = several.iter().map(|site| typed(site)).collect();
                Err(ParseError::Invalid(format!(
                    "{what} is at {} sites ({}); name the one you mean: {}",
                    several.len(),
                    several.join(", "),
                    examples.join(" or ")
                )))
            }
        }
    }

    /// `ParseError::UnknownHost` with a suggestion from the known hosts.
    pub fn unknown_host(&self, name: &str) -> ParseError {
        ParseError::UnknownHost { name: shown(name), suggestion: self.host_suggestion(name) }
    }

    /// The known host `name` is most likely a typo of.
    pub fn host_suggestion(&self, name: &str) -> Option<String> {
        let known = self.snapshot.host_names().chain(self.snapshot.inventory.hosts.keys().map(String::as_str));
        closest(name, known).map(str::to_owned)
    }

    fn service_target(
        &self,
        snapshot: &Snapshot,
        host: &str,
        service: &str,
        shape: Shape,
    ) -> Result<Target, ParseError> {
        if service == "*" {
            return if shape.all_services {
                Ok(Target::HostAndServices(host.to_owned()))
            } else {
                Err(self.usage(format!("`{host} *` (all services) works with `downtime` only")))
            };
        }
        if service.is_empty() {
            return Err(self.usage(format!("`{host}!` names no service")));
        }
        if snapshot.has_service(host, service) {
            return Ok(Target::Object(ObjectRef::service(host, service)));
        }
        Err(self.unknown_service(snapshot, host, service))
    }

    /// `ParseError::UnknownService` with a suggestion from the host's services.
    fn unknown_service(&self, snapshot: &Snapshot, host: &str, service: &str) -> ParseError {
        let inventory = snapshot.inventory.services.get(host).into_iter().flatten().map(String::as_str);
        let known = snapshot.services_of(host).map(|view| view.description.as_str()).chain(inventory);
        ParseError::UnknownService {
            host: host.to_owned(),
            service: shown(service),
            suggestion: closest(service, known).map(str::to_owned),
        }
    }

    /// The site of an object the thread is about, as commands act on it: the one site of a
    /// backend that is its one site, whatever name the notification gave it.
    pub fn in_thread(&self, at: &SiteObject) -> SiteObject {
        match self.sites.answering() {
            [(site, _)] if !self.sites.spans_sites() => SiteObject::new(site.clone(), at.object.clone()),
            _ => at.clone(),
        }
    }

    fn thread_target(&self) -> Result<Resolved, ParseError> {
        let Some(incident) = self.incident else {
            return Err(self.usage("name a host (or type the command in an alert's thread)".to_owned()));
        };
        let at = self.in_thread(incident);
        let Some(snapshot) = self.sites.site(&at.site) else {
            let why = self.sites.why_silent(&at.site).unwrap_or("it is not connected to this bot");
            return Err(ParseError::Invalid(format!(
                "this alert is at site `{}`, which did not answer ({why}); nothing was sent anywhere — try again \
                 once it is back",
                at.site
            )));
        };
        if !snapshot.contains(&at.object) {
            return Err(ParseError::Invalid(format!(
                "this thread's {} is no longer in the monitoring configuration; name the target instead",
                self.label(&at)
            )));
        }
        Ok(Resolved { target: Target::Object(at.object), site: at.site, next: 0, from_thread: true })
    }
}

impl Resolved {
    /// The single object of the target; for `HOST *` that is the host.
    pub fn object(&self) -> ObjectRef {
        match &self.target {
            Target::Object(object) => object.clone(),
            Target::HostAndServices(host) => ObjectRef::host(host.clone()),
        }
    }

    /// [`Resolved::object`] at its site.
    pub fn at(&self) -> SiteObject {
        SiteObject::new(self.site.clone(), self.object())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{input_for, local_site, SITE};

    fn resolve(text: &str, incident: Option<ObjectRef>, shape: Shape) -> Result<(Target, usize, bool), ParseError> {
        let sites = local_site();
        let incident = incident.map(|object| SiteObject::new(SITE, object));
        let input = input_for(&sites, incident.as_ref());
        input.resolve(&Words::new(text), shape).map(|r| (r.target, r.next, r.from_thread))
    }

    const TRAILING: Shape = Shape { all_services: false, trailing: true };
    const ALL: Shape = Shape { all_services: true, trailing: true };

    fn object(target: &Target) -> ObjectRef {
        match target {
            Target::Object(object) => object.clone(),
            Target::HostAndServices(_) => panic!("expected one object, got {target:?}"),
        }
    }

    #[test]
    fn words_group_quotes_and_note_bangs() {
        let words = Words::new(r#"  web01 "HTTP Load" “smart quotes” a!b "x!y" "open"#);
        let texts: Vec<_> = words.list.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["web01", "HTTP Load", "smart quotes", "a!b", "x!y", "open"]);
        assert_eq!(words.list[3].bang, Some(1));
        assert_eq!(words.list[4].bang, None);
        assert!(words.list[1].quoted && !words.list[0].quoted);
        assert!(words.list[5].unterminated);
        assert_eq!(words.text_from(1).as_deref(), Some(r#""HTTP Load" “smart quotes” a!b "x!y" "open"#));
        assert_eq!(words.text_from(9), None);
    }

    #[test]
    fn host_alone_and_host_with_services() {
        let (target, next, _) = resolve("web01", None, TRAILING).unwrap();
        assert_eq!((object(&target), next), (ObjectRef::host("web01"), 1));
        let (target, next, _) = resolve("web01 HTTP", None, TRAILING).unwrap();
        assert_eq!((object(&target), next), (ObjectRef::service("web01", "HTTP"), 2));
        let (target, _, _) = resolve(r#"web01 "HTTP Load" busy"#, None, TRAILING).unwrap();
        assert_eq!(object(&target), ObjectRef::service("web01", "HTTP Load"));
        let (target, next, _) = resolve("web01!HTTP Load", None, TRAILING).unwrap();
        assert_eq!((object(&target), next), (ObjectRef::service("web01", "HTTP"), 1));
        let (target, _, _) = resolve(r#"web01!"HTTP Load""#, None, TRAILING).unwrap();
        assert_eq!(object(&target), ObjectRef::service("web01", "HTTP Load"));
    }

    #[test]
    fn a_bare_second_word_is_a_service_only_if_the_host_has_it() {
        let (target, next, _) = resolve("web01 looking into it", None, TRAILING).unwrap();
        assert_eq!((object(&target), next), (ObjectRef::host("web01"), 1));
        // MySQL runs on db01, not web01: the word starts the comment.
        let (target, next, _) = resolve("web01 MySQL", None, TRAILING).unwrap();
        assert_eq!((object(&target), next), (ObjectRef::host("web01"), 1));
        // Names are case-sensitive, as in Nagios.
        let (target, _, _) = resolve("web01 http", None, TRAILING).unwrap();
        assert_eq!(object(&target), ObjectRef::host("web01"));
    }

    #[test]
    fn a_quoted_second_word_must_be_a_service() {
        let error = resolve(r#"web01 "HTTP Lode""#, None, TRAILING).unwrap_err();
        assert_eq!(error.to_string(), "unknown service `HTTP Lode` on web01 — did you mean `HTTP Load`?");
        let error = resolve("web01!HTP", None, TRAILING).unwrap_err();
        assert_eq!(error.to_string(), "unknown service `HTP` on web01 — did you mean `HTTP`?");
    }

    #[test]
    fn all_services_only_where_allowed() {
        let (target, _, _) = resolve("web01 * 2h", None, ALL).unwrap();
        assert_eq!(target, Target::HostAndServices("web01".into()));
        let (target, _, _) = resolve("web01!* 2h", None, ALL).unwrap();
        assert_eq!(target, Target::HostAndServices("web01".into()));
        assert!(resolve("web01 *", None, TRAILING).unwrap_err().to_string().contains("works with `downtime` only"));
    }

    #[test]
    fn unknown_hosts_get_suggestions() {
        let error = resolve("web1 HTTP", None, TRAILING).unwrap_err();
        assert_eq!(error.to_string(), "unknown host `web1` — did you mean `web01`?");
        let error = resolve("web1!HTTP", None, TRAILING).unwrap_err();
        assert_eq!(error.to_string(), "unknown host `web1` — did you mean `web01`?");
        let error = resolve("zzzzzz", None, TRAILING).unwrap_err();
        assert!(error.to_string().starts_with("unknown host `zzzzzz` ("), "{error}");
    }

    #[test]
    fn in_a_thread_an_unknown_first_word_starts_the_comment() {
        let incident = Some(ObjectRef::service("web01", "HTTP"));
        let (target, next, from_thread) = resolve("looking into it", incident.clone(), TRAILING).unwrap();
        assert_eq!((object(&target), next, from_thread), (ObjectRef::service("web01", "HTTP"), 0, true));
        let (target, _, from_thread) = resolve("db01 restarting", incident.clone(), TRAILING).unwrap();
        assert_eq!((object(&target), from_thread), (ObjectRef::host("db01"), false));
        let (target, _, _) = resolve("", incident.clone(), TRAILING).unwrap();
        assert_eq!(object(&target), ObjectRef::service("web01", "HTTP"));
        // Exclamations are not host!service when the part before `!` is no host.
        let (_, next, from_thread) = resolve("wow! on it", incident, TRAILING).unwrap();
        assert_eq!((next, from_thread), (0, true));
    }

    #[test]
    fn a_vanished_incident_is_reported() {
        let gone = Some(ObjectRef::service("web01", "FTP"));
        assert!(resolve("", gone, TRAILING).unwrap_err().to_string().contains("no longer in the monitoring"));
    }

    #[test]
    fn hostile_names_are_unknown_objects() {
        for text in ["web01;RESTART_PROGRAM", "web01\0", "web01!HTTP;x", "web01!HTTP\n[0] RESTART_PROGRAM"] {
            let words = Words::new(text);
            let sites = local_site();
            let error = input_for(&sites, None).sole_object(&words).unwrap_err();
            let message = error.to_string();
            assert!(message.starts_with("unknown") || message.starts_with("unexpected"), "{text:?}: {message}");
            assert!(!message.contains('\n') && !message.contains('\0'), "{message:?}");
        }
    }

    #[test]
    fn unclosed_quotes_in_the_target_are_refused() {
        assert!(resolve(r#"web01 "HTTP Load"#, None, TRAILING).unwrap_err().to_string().contains("never closed"));
        assert!(resolve(r#""web01"#, None, TRAILING).unwrap_err().to_string().contains("never closed"));
    }
}
