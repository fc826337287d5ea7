//! Who may use the spool: the modes and group of every folder and file the spool creates, set
//! explicitly, because `mkdir` and `open` apply the process umask (0750 folders under a 027
//! umask would lock Nagios' `hagios-notify` out of a spool that `hagios run` created).

use crate::SpoolError;
use std::fs::{self, DirBuilder, File, Permissions};
use std::io;
use std::os::unix::fs::{chown, DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::Path;

/// Group-writable, so Nagios (writing) and hagios (reading, removing) share the spool through a
/// group; setgid, so that what is created inside takes the folder's group, not the creator's.
const DIR_MODE: u32 = 0o2770;
/// Group-readable and writable: the reader is often another user than the writer, and the
/// fan-out's hard links need write access under `fs.protected_hardlinks`.
const FILE_MODE: u32 = 0o660;

/// Makes sure the folder `path` exists. A folder this creates (missing parents included) gets
/// [`DIR_MODE`] and its parent's group — when this user belongs to that group, else its own;
/// a folder that exists already is left as the operator made it.
pub(crate) fn ensure_folder(path: &Path) -> Result<(), SpoolError> {
    let created = match DirBuilder::new().mode(DIR_MODE & 0o777).create(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = path.parent().filter(|parent| !parent.as_os_str().is_empty());
            ensure_folder(parent.ok_or_else(|| SpoolError::io("create", path, e))?)?;
            DirBuilder::new().mode(DIR_MODE & 0o777).create(path)
        }
        other => other,
    };
    match created {
        Ok(()) => share(path).map_err(|e| SpoolError::io("set the group and mode of", path, e)),
        // Another writer may create the same folder at the same moment; it shares it the same way.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(e) => Err(SpoolError::io("create", path, e)),
    }
}

/// Gives a new folder its parent's group (a setgid parent has done so already) and [`DIR_MODE`].
fn share(path: &Path) -> io::Result<()> {
    let parent = path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let group = fs::metadata(parent)?.gid();
    if fs::metadata(path)?.gid() != group {
        match chown(path, None, Some(group)) {
            // Only root may give a folder a group its user is not in; it keeps the user's group.
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {}
            other => other?,
        }
    }
    fs::set_permissions(path, Permissions::from_mode(DIR_MODE))
}

/// Gives a record file the spool creates [`FILE_MODE`] whatever the umask (its folder, setgid,
/// gave it the group).
pub(crate) fn share_file(file: &File) -> io::Result<()> {
    file.set_permissions(Permissions::from_mode(FILE_MODE))
}
