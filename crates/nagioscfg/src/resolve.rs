//! Template inheritance as Nagios 4 applies it: `use a,b` takes each directive from the first
//! template (depth first) that has it, a leading `+` on a list appends the object's values to the
//! inherited ones, `null` stops inheritance, `name` makes an object a template and `register 0`
//! keeps it from being created. Pure: works on texts already loaded.

use crate::diag::{Diagnostic, Kind, Phase, Severity};
use crate::directives::{self, Key};
use crate::fast_hash::FastMap;
use crate::load::Sources;
use crate::parse::{add_suggestion, parse_objects, ObjectKind, RawObject};

/// One directive of a resolved object: where it was written and, for `+` lists, the combined value.
#[derive(Debug, Clone)]
struct Attr {
    id: directives::KeyId,
    object: u32,
    directive: u32,
    combined: Option<Box<str>>,
}

/// A template with its own templates applied (only templates are stored this way).
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    attrs: Vec<Attr>,
}

/// What an object inherits from its `use` list. Objects with the same `use` list share one
/// profile, so 100k services on three templates cost three profiles, not 100k attribute lists.
#[derive(Debug, Default)]
struct Profile {
    attrs: Vec<Attr>,
    unknown_templates: Vec<String>,
    /// A template in the chain uses an unknown template.
    broken: bool,
}

const NO_PROFILE: u32 = u32::MAX;

/// One resolved directive as found by a lookup.
#[derive(Clone, Copy)]
struct Found<'s> {
    id: directives::KeyId,
    object: u32,
    directive: u32,
    combined: Option<&'s str>,
}

/// The whole configuration: every definition as written and as resolved.
pub struct Config<'a> {
    pub sources: &'a Sources,
    pub objects: Vec<RawObject<'a>>,
    /// Templates (objects with `name`) fully resolved; empty for other objects.
    resolved: Vec<Resolved>,
    profiles: Vec<Profile>,
    /// Profile of each object that is not a template (`NO_PROFILE` for templates and objects
    /// without `use`).
    profile_of: Vec<u32>,
    /// `+` values of non-template objects joined with the inherited list: (object, directive).
    combined: FastMap<(u32, u32), Box<str>>,
    /// Objects whose `use` chain names a template that does not exist.
    broken_chain: Vec<bool>,
    /// Problems found while parsing and resolving (read phase).
    pub diagnostics: Vec<Diagnostic>,
}

const NOT_INHERITED: [&str; 3] = ["name", "use", "register"];

impl<'a> Config<'a> {
    /// Parse every loaded file and resolve every object.
    pub fn build(sources: &'a Sources) -> Self {
        let mut objects = Vec::new();
        let mut diagnostics = sources.diagnostics.clone();
        for (index, file) in sources.files.iter().enumerate() {
            let index = u32::try_from(index).expect("fewer than 4 billion files");
            parse_objects(index, &file.path, &file.text, &mut objects, &mut diagnostics);
        }
        let mut config = Config {
            sources,
            objects,
            resolved: Vec::new(),
            profiles: Vec::new(),
            profile_of: Vec::new(),
            combined: FastMap::default(),
            broken_chain: Vec::new(),
            diagnostics,
        };
        config.resolve_all();
        config
    }

    fn resolve_all(&mut self) {
        let mut templates: FastMap<(ObjectKind, &str), u32> = FastMap::default();
        for (index, object) in self.objects.iter().enumerate() {
            if let Some(name) = object.own("name") {
                templates.entry((object.kind, name.value.trim())).or_insert(index as u32);
            }
        }
        let mut resolver = Resolver {
            objects: &self.objects,
            sources: self.sources,
            templates,
            state: vec![State::Unvisited; self.objects.len()],
            resolved: vec![Resolved::default(); self.objects.len()],
            broken_chain: vec![false; self.objects.len()],
            diagnostics: Vec::new(),
        };
        let mut profile_ids: FastMap<(ObjectKind, &str), u32> = FastMap::default();
        let mut profiles: Vec<Profile> = Vec::new();
        let mut profile_of = vec![NO_PROFILE; self.objects.len()];
        let mut combined = FastMap::default();
        for (index, object) in self.objects.iter().enumerate() {
            let index = index as u32;
            if object.own("name").is_some() {
                resolver.resolve(index);
                continue;
            }
            let Some(uses) = object.own("use") else { continue };
            let profile = *profile_ids.entry((object.kind, &uses.value)).or_insert_with(|| {
                profiles.push(resolver.profile(object.kind, &uses.value));
                (profiles.len() - 1) as u32
            });
            profile_of[index as usize] = profile;
            let profile = &profiles[profile as usize];
            for name in &profile.unknown_templates {
                resolver.unknown_template(index, name);
                resolver.broken_chain[index as usize] = true;
            }
            for (position, directive) in object.directives.iter().enumerate() {
                let Some(appended) = directive.value.strip_prefix('+') else { continue };
                if !directives::is_additive_id(directive.id) {
                    continue;
                }
                let inherited =
                    profile.attrs.iter().find(|attr| attr.id == directive.id && resolver.key(attr) == directive.key);
                if let Some(inherited) = inherited {
                    let joined = format!("{},{appended}", resolver.value(inherited));
                    combined.insert((index, position as u32), joined.into_boxed_str());
                }
            }
            resolver.broken_chain[index as usize] |= profile.broken;
        }
        self.resolved = resolver.resolved;
        self.broken_chain = resolver.broken_chain;
        self.profiles = profiles;
        self.profile_of = profile_of;
        self.combined = combined;
        self.diagnostics.append(&mut resolver.diagnostics);
    }

    /// The value of `key` for object `index` after inheritance (`None` if unset or `null`);
    /// a leading `+` left over from an additive list is removed.
    pub fn get<'k>(&self, index: u32, key: impl Into<Key<'k>>) -> Option<&str> {
        let found = self.find(index, key.into())?;
        let value = self.value_of(found);
        let value = if directives::is_additive_id(found.id) { value.trim_start_matches('+') } else { value };
        (value != "null").then_some(value)
    }

    /// Whether the object or a template sets `key`, `null` included (which stops inheritance).
    pub fn is_set<'k>(&self, index: u32, key: impl Into<Key<'k>>) -> bool {
        self.find(index, key.into()).is_some()
    }

    /// Whether the object or one of its templates uses a template that does not exist.
    pub fn has_unknown_template(&self, index: u32) -> bool {
        self.broken_chain[index as usize]
    }

    /// File index and line where the resolved value of `key` was written.
    pub fn origin<'k>(&self, index: u32, key: impl Into<Key<'k>>) -> Option<(u32, u32)> {
        self.find(index, key.into()).map(|found| {
            let object = &self.objects[found.object as usize];
            (object.file, object.directives[found.directive as usize].line)
        })
    }

    fn find(&self, index: u32, key: Key<'_>) -> Option<Found<'_>> {
        let Key { name: key, id } = key;
        if id != directives::OTHER_KEY && NOT_INHERITED.contains(&key) {
            return None;
        }
        let objects = &self.objects;
        let key_matches = |object: u32, directive: u32| {
            id != directives::OTHER_KEY || objects[object as usize].directives[directive as usize].key == key
        };
        let from_attr =
            |attr: &'_ Attr| Found { id: attr.id, object: attr.object, directive: attr.directive, combined: None };
        let template = &self.resolved[index as usize].attrs;
        if !template.is_empty() {
            let attr = template.iter().find(|attr| attr.id == id && key_matches(attr.object, attr.directive))?;
            return Some(Found { combined: attr.combined.as_deref(), ..from_attr(attr) });
        }
        let own = objects[index as usize]
            .directives
            .iter()
            .position(|directive| directive.id == id && (id != directives::OTHER_KEY || directive.key == key));
        if let Some(position) = own {
            let combined = self.combined.get(&(index, position as u32)).map(|joined| &**joined);
            return Some(Found { id, object: index, directive: position as u32, combined });
        }
        let profile = self.profiles.get(self.profile_of[index as usize] as usize)?;
        let attr = profile.attrs.iter().find(|attr| attr.id == id && key_matches(attr.object, attr.directive))?;
        Some(Found { combined: attr.combined.as_deref(), ..from_attr(attr) })
    }

    fn value_of<'s>(&'s self, found: Found<'s>) -> &'s str {
        match found.combined {
            Some(combined) => combined,
            None => &self.objects[found.object as usize].directives[found.directive as usize].value,
        }
    }

    /// `name (file:line) → template (file:line) → …`: the templates an object inherits from,
    /// in the order Nagios consults them.
    pub fn inheritance_chain(&self, index: u32) -> String {
        let mut seen = vec![index];
        let mut parts = vec![self.describe(index)];
        self.chain_into(index, &mut seen, &mut parts);
        parts.join(" → ")
    }

    fn chain_into(&self, index: u32, seen: &mut Vec<u32>, parts: &mut Vec<String>) {
        let object = &self.objects[index as usize];
        for template in uses(object) {
            let found = self.objects.iter().position(|candidate| {
                candidate.kind == object.kind && candidate.own("name").is_some_and(|name| name.value.trim() == template)
            });
            match found {
                Some(found) if !seen.contains(&(found as u32)) => {
                    seen.push(found as u32);
                    parts.push(self.describe(found as u32));
                    self.chain_into(found as u32, seen, parts);
                }
                Some(_) => parts.push(format!("{template} (loop)")),
                None => parts.push(format!("{template} (not defined)")),
            }
        }
    }

    /// `name (file:line)` of an object, by its own name directive or template name.
    pub fn describe(&self, index: u32) -> String {
        let object = &self.objects[index as usize];
        let name = self.display_name(index);
        format!("{name} ({}:{})", self.sources.files[object.file as usize].path.display(), object.line)
    }

    /// The name people know an object by: its name directive, else its template name.
    pub fn display_name(&self, index: u32) -> String {
        let object = &self.objects[index as usize];
        let named = object.kind.name_directive().and_then(|key| object.own(key));
        match (named, object.own("name")) {
            (Some(name), _) => name.value.trim().to_string(),
            (None, Some(template)) => format!("template '{}'", template.value.trim()),
            (None, None) => format!("unnamed {}", object.kind.keyword()),
        }
    }
}

/// The template names in an object's `use`, in order.
fn uses<'o>(object: &'o RawObject<'_>) -> impl Iterator<Item = &'o str> {
    object.own("use").into_iter().flat_map(|directive| list(&directive.value))
}

/// The items of a comma-separated list, trimmed, empty ones skipped.
pub fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|item| !item.is_empty())
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Unvisited,
    Visiting,
    Done,
}

struct Resolver<'r, 'a> {
    objects: &'r [RawObject<'a>],
    sources: &'r Sources,
    templates: FastMap<(ObjectKind, &'r str), u32>,
    state: Vec<State>,
    resolved: Vec<Resolved>,
    broken_chain: Vec<bool>,
    diagnostics: Vec<Diagnostic>,
}

impl Resolver<'_, '_> {
    fn resolve(&mut self, index: u32) {
        if self.state[index as usize] != State::Unvisited {
            return;
        }
        self.state[index as usize] = State::Visiting;
        let object = &self.objects[index as usize];
        let mut attrs: Vec<Attr> = object
            .directives
            .iter()
            .enumerate()
            .filter(|(_, directive)| !NOT_INHERITED.contains(&&*directive.key))
            .map(|(position, directive)| Attr {
                id: directive.id,
                object: index,
                directive: position as u32,
                combined: None,
            })
            .collect();
        for template_name in uses(object) {
            let Some(&template) = self.templates.get(&(object.kind, template_name)) else {
                self.unknown_template(index, template_name);
                self.broken_chain[index as usize] = true;
                continue;
            };
            match self.state[template as usize] {
                State::Visiting => {
                    self.circular_template(index, template_name);
                    continue;
                }
                State::Unvisited => self.resolve(template),
                State::Done => {}
            }
            self.broken_chain[index as usize] |= self.broken_chain[template as usize];
            self.inherit(&mut attrs, template);
        }
        self.resolved[index as usize] = Resolved { attrs };
        self.state[index as usize] = State::Done;
    }

    /// What an object with this `use` list inherits.
    fn profile(&mut self, kind: ObjectKind, uses: &str) -> Profile {
        let mut profile = Profile::default();
        for template_name in list(uses) {
            let Some(&template) = self.templates.get(&(kind, template_name)) else {
                profile.unknown_templates.push(template_name.to_string());
                continue;
            };
            self.resolve(template);
            profile.broken |= self.broken_chain[template as usize];
            self.inherit(&mut profile.attrs, template);
        }
        profile
    }

    fn key(&self, attr: &Attr) -> &str {
        &self.objects[attr.object as usize].directives[attr.directive as usize].key
    }

    fn value<'s>(&'s self, attr: &'s Attr) -> &'s str {
        match &attr.combined {
            Some(combined) => combined,
            None => &self.objects[attr.object as usize].directives[attr.directive as usize].value,
        }
    }

    fn inherit(&self, attrs: &mut Vec<Attr>, template: u32) {
        for inherited in &self.resolved[template as usize].attrs {
            let key = self.key(inherited);
            let same = |attr: &Attr| {
                attr.id == inherited.id && (inherited.id != directives::OTHER_KEY || self.key(attr) == key)
            };
            match attrs.iter().position(same) {
                None => attrs.push(inherited.clone()),
                Some(position) => {
                    let own = self.value(&attrs[position]);
                    if let Some(appended) = own.strip_prefix('+').filter(|_| directives::is_additive(key)) {
                        let combined = format!("{},{appended}", self.value(inherited));
                        attrs[position].combined = Some(combined.into_boxed_str());
                    }
                }
            }
        }
    }

    fn diagnostic(&self, index: u32, severity: Severity, kind: Kind, subject: &str, message: String) -> Diagnostic {
        let object = &self.objects[index as usize];
        let line = object.own("use").map_or(object.line, |directive| directive.line);
        Diagnostic {
            severity,
            phase: Phase::Read,
            kind,
            subject: subject.to_string(),
            file: self.sources.files[object.file as usize].path.clone(),
            line,
            message,
            notes: Vec::new(),
        }
    }

    fn unknown_template(&mut self, index: u32, template: &str) {
        let object = &self.objects[index as usize];
        let message = format!(
            "{} '{}' uses template '{template}', which is not defined",
            object.kind.keyword(),
            object_label(object)
        );
        let mut diagnostic = self.diagnostic(index, Severity::Error, Kind::UnknownTemplate, template, message);
        let kind = object.kind;
        let names = self.templates.keys().filter(|(candidate, _)| *candidate == kind).map(|(_, name)| *name);
        add_suggestion(&mut diagnostic, template, names);
        self.diagnostics.push(diagnostic);
    }

    fn circular_template(&mut self, index: u32, template: &str) {
        let object = &self.objects[index as usize];
        let message = format!(
            "{} '{}' uses template '{template}', which (through its own templates) uses it again; Nagios ignores the loop, remove one of the 'use' lines",
            object.kind.keyword(),
            object_label(object)
        );
        let diagnostic = self.diagnostic(index, Severity::Warning, Kind::CircularTemplate, template, message);
        self.diagnostics.push(diagnostic);
    }
}

fn object_label(object: &RawObject<'_>) -> String {
    let named = object.kind.name_directive().and_then(|key| object.own(key));
    named.or_else(|| object.own("name")).map_or_else(|| "(unnamed)".to_string(), |d| d.value.trim().to_string())
}
