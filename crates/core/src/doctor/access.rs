//! Whether a user may read or write a path, judged from the modes and owners along the path and
//! the user's groups as /etc/passwd and /etc/group list them — so that `hagios doctor` answers
//! for the user the service runs as (and for Nagios' user), whoever runs the doctor. Users and
//! groups from other sources (LDAP) are not seen; such a user is reported as unknown.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A local user and the groups it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gids: Vec<u32>,
}

/// What a user wants to do with a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    /// Write a file, or create and remove files in a folder.
    Write,
}

impl Account {
    /// The local user `name` (or numeric uid, as nagios.cfg may give it), with its primary group
    /// and every group that lists it.
    pub fn named(name: &str) -> Option<Account> {
        let passwd = fs::read_to_string("/etc/passwd").ok()?;
        let (name, uid, primary) = passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.len() >= 4 && (fields[0] == name || fields[2] == name))
                .then(|| Some((fields[0], fields[2].parse().ok()?, fields[3].parse().ok()?)))?
        })?;
        let mut gids = vec![primary];
        for (gid, members) in groups() {
            if members.iter().any(|member| member == name) && !gids.contains(&gid) {
                gids.push(gid);
            }
        }
        Some(Account { name: name.to_owned(), uid, gids })
    }

    /// The user running this process, with its groups.
    pub fn current() -> Account {
        let uid = rustix::process::geteuid().as_raw();
        let mut gids = vec![rustix::process::getegid().as_raw()];
        for gid in rustix::process::getgroups().unwrap_or_default() {
            if !gids.contains(&gid.as_raw()) {
                gids.push(gid.as_raw());
            }
        }
        let name = user_name(uid).unwrap_or_else(|| format!("uid {uid}"));
        Account { name, uid, gids }
    }

    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    /// Ok when this user may `access` `path`; else what stands in the way and how to fix it.
    pub fn may(&self, access: Access, path: &Path) -> Result<(), String> {
        if self.is_root() {
            return Ok(());
        }
        let path = absolute(path);
        let mut folder = PathBuf::from("/");
        for part in path.parent().into_iter().flat_map(Path::components).skip(1) {
            folder.push(part);
            self.needs(&folder, 0o1, "enter")?;
        }
        match access {
            Access::Read if path.is_dir() => self.needs(&path, 0o5, "list"),
            Access::Read => self.needs(&path, 0o4, "read"),
            Access::Write if path.is_dir() => self.needs(&path, 0o3, "write into"),
            Access::Write => self.needs(&path, 0o2, "write"),
        }
    }

    /// Ok when the permission `bits` (of `rwx` as 4/2/1) that apply to this user are set on
    /// `path`.
    fn needs(&self, path: &Path, bits: u32, verb: &str) -> Result<(), String> {
        let metadata = fs::metadata(path).map_err(|e| format!("cannot {verb} {}: {e}", path.display()))?;
        let mode = metadata.mode();
        let (shift, who) = if metadata.uid() == self.uid {
            (6, "u")
        } else if self.gids.contains(&metadata.gid()) {
            (3, "g")
        } else {
            (0, "o")
        };
        if (mode >> shift) & bits == bits {
            return Ok(());
        }
        let (owner, group) = (user_name(metadata.uid()), group_name(metadata.gid()));
        let (owner, group) = (owner.unwrap_or_default(), group.unwrap_or_else(|| metadata.gid().to_string()));
        let letters: String = [(4, 'r'), (2, 'w'), (1, 'x')]
            .iter()
            .filter(|(bit, _)| bits & bit != 0)
            .map(|(_, letter)| letter)
            .collect();
        let user = &self.name;
        let fix = match shift {
            0 if metadata.gid() != 0 => format!(
                "add {user} to group {group} (usermod -aG {group} {user}) and let the group {verb} it (chmod g+{letters})"
            ),
            0 => format!("give it a group {user} is in (chgrp) and let that group {verb} it (chmod g+{letters})"),
            _ => format!("chmod {who}+{letters} {}", path.display()),
        };
        Err(format!("{} cannot {verb} {} ({owner}:{group} {:o}): {fix}", self.name, path.display(), mode & 0o7777))
    }
}

/// Every group with its listed members.
fn groups() -> Vec<(u32, Vec<String>)> {
    let text = fs::read_to_string("/etc/group").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            let gid = fields.get(2)?.parse().ok()?;
            let members = fields.get(3).map(|list| list.split(',').filter(|m| !m.is_empty()).map(str::to_owned));
            Some((gid, members.into_iter().flatten().collect()))
        })
        .collect()
}

fn user_name(uid: u32) -> Option<String> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.get(2)? == &uid.to_string()).then(|| fields[0].to_owned())
    })
}

/// The name of group `gid`.
pub fn group_name(gid: u32) -> Option<String> {
    let text = fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.get(2)? == &gid.to_string()).then(|| fields[0].to_owned())
    })
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| path.to_path_buf(), |dir| dir.join(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn modes_decide_for_owner_group_and_others_and_say_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("status.dat");
        fs::write(&file, "x").unwrap();
        let metadata = fs::metadata(&file).unwrap();
        let owner = Account { name: "owner".into(), uid: metadata.uid() + 1000, gids: vec![metadata.gid()] };
        let stranger = Account { name: "stranger".into(), uid: metadata.uid() + 2000, gids: vec![4_000_000] };
        fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(owner.may(Access::Read, &file), Ok(()), "its group may read");
        let refused = owner.may(Access::Write, &file).unwrap_err();
        assert!(refused.contains("owner cannot write") && refused.contains("640): chmod g+w"), "{refused}");
        let refused = stranger.may(Access::Read, &file).unwrap_err();
        let fix = if metadata.gid() == 0 { "(chgrp)" } else { "usermod -aG" };
        assert!(refused.contains(fix) && refused.contains("chmod g+r"), "{refused}");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o750)).unwrap();
        let folder = stranger.may(Access::Read, &file).unwrap_err();
        assert!(folder.contains("cannot enter"), "a folder on the way counts: {folder}");
        let root = Account { name: "root".into(), uid: 0, gids: vec![0] };
        assert_eq!(root.may(Access::Write, &file), Ok(()));
    }

    #[test]
    fn local_users_and_their_groups_are_found() {
        let root = Account::named("root").expect("root is in /etc/passwd");
        assert_eq!((root.uid, root.gids.first()), (0, Some(&0)));
        assert_eq!(Account::named("no-such-user-here"), None);
        assert_eq!(Account::named("0").map(|by_uid| by_uid.name), Some("root".to_owned()));
        assert!(Account::current().gids.contains(&rustix::process::getegid().as_raw()));
    }
}
