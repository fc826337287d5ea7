//! The one rule for the fields of a host added from chat (name, address, template), applied by
//! the chat command and again by every backend, so that a backend never trusts whoever sent the
//! action.
//!
//! The values end up in a Nagios object file (`NAME.cfg`, one directive per line), as Icinga 2
//! object names, and as `$HOSTNAME$`/`$HOSTADDRESS$` in check and notification command lines
//! that the shell runs, quoted or not. So only a conservative set passes: ASCII letters and
//! digits plus a few separators, nothing a shell, a directive or a path acts on, and no leading
//! `-` (an option to a plugin) or `.` (a hidden file, `..`).

/// Longest value accepted, in bytes.
pub const MAX_HOST_FIELD_BYTES: usize = 255;

/// Which field of a new host a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostField {
    /// Letters, digits, `.`, `-`, `_`.
    Name,
    /// An IP address (v4 or v6) or a DNS name: letters, digits, `.`, `:`, `-`.
    Address,
    /// Letters, digits, `.`, `-`, `_` and spaces inside (Icinga templates may have them).
    Template,
}

impl HostField {
    /// How messages name the field.
    pub fn label(self) -> &'static str {
        match self {
            HostField::Name => "host name",
            HostField::Address => "address",
            HostField::Template => "template",
        }
    }

    /// The separators allowed besides ASCII letters and digits.
    fn separators(self) -> &'static str {
        match self {
            HostField::Name => "._-",
            HostField::Address => ".:-",
            HostField::Template => "._- ",
        }
    }

    /// What the field may contain, for messages.
    fn rule(self) -> &'static str {
        match self {
            HostField::Name => "a host name is letters, digits, `.`, `-` and `_`",
            HostField::Address => "an address is letters, digits, `.`, `:` and `-` (an IP address or a DNS name)",
            HostField::Template => "a template is letters, digits, `.`, `-`, `_` and spaces",
        }
    }
}

/// Why a value cannot be the field it was given as. Messages say what to change and never
/// repeat the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostFieldError {
    #[error("the {} must be 1 to {MAX_HOST_FIELD_BYTES} bytes long", .field.label())]
    Length { field: HostField },
    #[error("the {} contains {character:?}, which is not allowed: {}", .field.label(), .field.rule())]
    Character { field: HostField, character: char },
    #[error("the {} must not start or end with {character:?}", .field.label())]
    Edge { field: HostField, character: char },
}

/// Ok when `value` may be used as `field` of a new host.
pub fn check_host_field(field: HostField, value: &str) -> Result<(), HostFieldError> {
    if value.is_empty() || value.len() > MAX_HOST_FIELD_BYTES {
        return Err(HostFieldError::Length { field });
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || field.separators().contains(c);
    if let Some(character) = value.chars().find(|c| !allowed(*c)) {
        return Err(HostFieldError::Character { field, character });
    }
    let first = value.chars().next().filter(|c| ".- ".contains(*c));
    match first.or_else(|| value.chars().last().filter(|c| *c == ' ')) {
        Some(character) => Err(HostFieldError::Edge { field, character }),
        None => Ok(()),
    }
}

/// Ok when all three fields of a new host pass [`check_host_field`].
pub fn check_new_host(name: &str, address: &str, template: &str) -> Result<(), HostFieldError> {
    check_host_field(HostField::Name, name)?;
    check_host_field(HostField::Address, address)?;
    check_host_field(HostField::Template, template)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings that a shell, a Nagios directive, a path or a plugin's option parser would act on.
    const HOSTILE: &[&str] = &[
        "1.2.3.4$(id)",
        "a'b",
        "a\"b",
        "a\\b",
        "a|b",
        "a&b",
        "a<b",
        "a>b",
        "a`id`",
        "a;b",
        "a#b",
        "a{b}",
        "a,b",
        "../x",
        "a/b",
        "a\nb",
        "a\tb",
        "a\0b",
        "\u{7f}",
        "wéb",
        "-oProxyCommand=x",
        ".hidden",
        "",
    ];

    #[test]
    fn usual_names_addresses_and_templates_pass() {
        for name in ["web07", "db-02.example.com", "linux_server"] {
            assert_eq!(check_host_field(HostField::Name, name), Ok(()), "{name}");
        }
        for address in ["192.0.2.7", "2001:db8::7", "::1", "db02.example.com"] {
            assert_eq!(check_host_field(HostField::Address, address), Ok(()), "{address}");
        }
        for template in ["generic-host", "linux-server", "Linux Server"] {
            assert_eq!(check_host_field(HostField::Template, template), Ok(()), "{template}");
        }
        assert_eq!(check_new_host("web07", "192.0.2.7", "generic-host"), Ok(()));
    }

    #[test]
    fn hostile_values_are_refused_in_every_field() {
        for field in [HostField::Name, HostField::Address, HostField::Template] {
            for hostile in HOSTILE {
                let refused = check_host_field(field, hostile);
                assert!(refused.is_err(), "{field:?} {hostile:?}");
            }
        }
        assert!(check_host_field(HostField::Name, "a b").is_err());
        assert!(check_host_field(HostField::Address, "a b").is_err());
        assert!(check_host_field(HostField::Template, " generic").is_err());
        assert!(check_host_field(HostField::Template, "generic ").is_err());
        assert!(check_host_field(HostField::Name, &"h".repeat(MAX_HOST_FIELD_BYTES + 1)).is_err());
    }

    #[test]
    fn messages_name_the_field_and_the_character_but_not_the_value() {
        let refused = check_new_host("web07", "1.2.3.4$(id)", "generic-host").expect_err("a `$`");
        assert_eq!(
            refused.to_string(),
            "the address contains '$', which is not allowed: an address is letters, digits, `.`, `:` and `-` \
             (an IP address or a DNS name)"
        );
        let refused = check_host_field(HostField::Name, "-x").expect_err("a leading `-`");
        assert_eq!(refused.to_string(), "the host name must not start or end with '-'");
        let refused = check_host_field(HostField::Template, "").expect_err("empty");
        assert_eq!(refused.to_string(), "the template must be 1 to 255 bytes long");
    }
}
