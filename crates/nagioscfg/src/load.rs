//! Reading a configuration from disk: the main `nagios.cfg`, every `cfg_file`, every `*.cfg`
//! under each `cfg_dir` (recursively) and the `resource_file`s with their `$USERn$` macros.
//! This is the only module that does I/O; the rest works on the texts it returns.

use crate::diag::{Diagnostic, Kind};
use crate::parse::read_error;
use std::path::{Path, PathBuf};

/// The main configuration file itself cannot be read: nothing can be checked.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot read the main Nagios configuration {path}: {cause} (pass the path of nagios.cfg, readable by this user)"
)]
pub struct LoadError {
    pub path: PathBuf,
    pub cause: std::io::Error,
}

/// One object configuration file and its text.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// Everything read from disk for one configuration.
#[derive(Debug)]
pub struct Sources {
    pub main: PathBuf,
    /// Object files in the order Nagios reads them.
    pub files: Vec<SourceFile>,
    /// `$USERn$` macros from the resource files, in file order.
    pub resource_macros: Vec<(String, String)>,
    /// Files named in the main configuration that could not be read.
    pub diagnostics: Vec<Diagnostic>,
    /// Every `key=value` of the main configuration, in file order.
    pub settings: Vec<(String, String)>,
}

impl Sources {
    /// The value of a main-configuration setting (`status_update_interval`, …): the last one
    /// given wins, as in Nagios.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.iter().rev().find(|(name, _)| name == key).map(|(_, value)| value.as_str())
    }
}

/// Read the main configuration and every file it includes.
pub fn load(main: &Path) -> Result<Sources, LoadError> {
    let text = std::fs::read_to_string(main).map_err(|cause| LoadError { path: main.to_path_buf(), cause })?;
    let base = main.parent().unwrap_or(Path::new("."));
    let mut sources = Sources {
        main: main.to_path_buf(),
        files: Vec::new(),
        resource_macros: Vec::new(),
        diagnostics: Vec::new(),
        settings: Vec::new(),
    };
    for (index, line) in text.lines().enumerate() {
        let line_number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let Some((key, value)) = main_config_setting(line) else { continue };
        sources.settings.push((key.to_owned(), value.to_owned()));
        let path = absolute(base, value);
        match key {
            "cfg_file" => sources.read_object_file(&path, main, line_number),
            "cfg_dir" => sources.read_object_dir(&path, main, line_number),
            "resource_file" => sources.read_resource_file(&path, main, line_number),
            _ => {}
        }
    }
    Ok(sources)
}

/// `key=value` of a main-configuration line, comments and blank lines skipped.
fn main_config_setting(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
        return None;
    }
    let (key, value) = line.split_once('=')?;
    Some((key.trim(), value.trim()))
}

fn absolute(base: &Path, value: &str) -> PathBuf {
    let path = Path::new(value);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

impl Sources {
    fn read_object_file(&mut self, path: &Path, main: &Path, line: u32) {
        match std::fs::read_to_string(path) {
            Ok(text) => self.files.push(SourceFile { path: path.to_path_buf(), text }),
            Err(error) => self.unreadable(main, line, path, &error.to_string()),
        }
    }

    fn read_object_dir(&mut self, dir: &Path, main: &Path, line: u32) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) => return self.unreadable(main, line, dir, &error.to_string()),
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                self.read_object_dir(&path, main, line);
            } else if path.extension().is_some_and(|extension| extension == "cfg") {
                self.read_object_file(&path, main, line);
            }
        }
    }

    fn read_resource_file(&mut self, path: &Path, main: &Path, line: u32) {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let macros = text.lines().filter_map(main_config_setting).filter(|(key, _)| is_user_macro(key));
                self.resource_macros.extend(macros.map(|(key, value)| (key.to_string(), value.to_string())));
            }
            Err(error) => self.unreadable(main, line, path, &error.to_string()),
        }
    }

    fn unreadable(&mut self, main: &Path, line: u32, path: &Path, reason: &str) {
        let subject = path.display().to_string();
        let message = format!("cannot read '{subject}': {reason}; fix the path or the permissions");
        self.diagnostics.push(read_error(main, line, Kind::Unreadable, &subject, message));
    }
}

fn is_user_macro(key: &str) -> bool {
    key.strip_prefix("$USER")
        .and_then(|rest| rest.strip_suffix('$'))
        .is_some_and(|number| !number.is_empty() && number.bytes().all(|byte| byte.is_ascii_digit()))
}
