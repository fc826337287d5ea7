//! The spool's folders and records under a restrictive umask, the way `hagios run` meets it when
//! an operator starts it by hand (027) or a locked-down service runs it (077): whatever the umask,
//! what the spool creates stays usable by the group it shares with Nagios. A test binary of its
//! own, because the umask belongs to the whole process.

mod support;

use hagios_spool::Spool;
use rustix::fs::Mode;
use std::fs;
use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
use std::path::Path;
use support::notification;

/// The group a test gives the folder above the spool, unlike any user's own group; only root
/// can give it, so other users test with their own group.
const SHARED_GROUP: u32 = 4_242;

/// The permission bits (with setgid) and the group of `path`.
fn mode_and_group(path: &Path) -> (u32, u32) {
    let metadata = fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (metadata.permissions().mode() & 0o7777, metadata.gid())
}

#[test]
fn folders_and_records_are_shared_with_the_group_whatever_the_umask() {
    let parent = tempfile::tempdir().unwrap();
    // As root, the folder the spool is created in belongs to a group of its own, as
    // /var/spool/hagios belongs to `nagios`.
    let _ = chown(parent.path(), None, Some(SHARED_GROUP));
    let group = fs::metadata(parent.path()).unwrap().gid();

    for umask in [0o027, 0o077] {
        rustix::process::umask(Mode::from_raw_mode(umask));
        let root = parent.path().join(format!("spool-{umask:o}"));
        let spool = Spool::open(&root).unwrap();
        for folder in ["", "tmp", "new", "bad"] {
            assert_eq!(mode_and_group(&root.join(folder)), (0o2770, group), "{folder}/ under umask {umask:o}");
        }
        let id = spool.write(notification("web01")).unwrap();
        assert_eq!(mode_and_group(&root.join(format!("new/{id}.json"))), (0o660, group), "umask {umask:o}");
        spool.quarantine(&id, "a test").unwrap();
        assert_eq!(mode_and_group(&root.join(format!("bad/{id}.json"))), (0o660, group));
        assert_eq!(mode_and_group(&root.join(format!("bad/{id}.reason"))), (0o660, group));

        // The platforms' spools inside, parents created on the way.
        let platform = root.join("platforms/slack");
        Spool::open(&platform).unwrap();
        for folder in ["platforms", "platforms/slack", "platforms/slack/new"] {
            assert_eq!(mode_and_group(&root.join(folder)), (0o2770, group), "{folder} under umask {umask:o}");
        }
    }
}

#[test]
fn an_existing_spool_folder_keeps_its_mode_and_lends_its_group_to_the_new_ones() {
    rustix::process::umask(Mode::from_raw_mode(0o077));
    let root = tempfile::tempdir().unwrap();
    // The operator made it without the setgid bit: the folders inside still get its group.
    fs::set_permissions(root.path(), fs::Permissions::from_mode(0o770)).unwrap();
    let _ = chown(root.path(), None, Some(SHARED_GROUP));
    let group = fs::metadata(root.path()).unwrap().gid();

    Spool::open(root.path()).unwrap();
    assert_eq!(mode_and_group(root.path()), (0o770, group), "an existing folder is the operator's");
    for folder in ["tmp", "new", "bad"] {
        assert_eq!(mode_and_group(&root.path().join(folder)), (0o2770, group), "{folder}/");
    }
}
