//! Unified diffs of a file's current and planned content, for `--dry-run` and the report.
//!
//! Headers are git-style, relative to `/` (`--- a/etc/fstab`, `+++ b/etc/fstab`; a new file comes from
//! `/dev/null`), so an operator can review a plan and, if they like, apply it by hand with `cd / && patch -p1`.

use std::path::Path;

use similar::TextDiff;

use crate::action::Action;
use citadel_checks::SystemRoot;

/// Lines of unchanged context around each change, as `diff -u` has.
const CONTEXT_LINES: usize = 3;

/// The unified diff turning `old` (None: the file does not exist) into `new`; `None` when they are equal.
/// Content that is not UTF-8 is shown with replacement characters.
pub fn file_diff(path: &Path, old: Option<&[u8]>, new: &[u8]) -> Option<String> {
    if old == Some(new) {
        return None;
    }
    let relative = path.strip_prefix("/").unwrap_or(path).display().to_string();
    let old_text = String::from_utf8_lossy(old.unwrap_or_default());
    let new_text = String::from_utf8_lossy(new);
    let old_header = match old {
        Some(_) => format!("a/{relative}"),
        None => "/dev/null".to_string(),
    };
    let diff = TextDiff::from_lines(old_text.as_ref(), new_text.as_ref());
    let text = diff
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .header(&old_header, &format!("b/{relative}"))
        .to_string();
    Some(text)
}

/// The diff a `WriteFile` action would make under `root` (reading the current file); `None` for other actions
/// and for a write that changes no byte. A file that cannot be read is diffed as if it were absent.
pub fn action_diff(action: &Action, root: &SystemRoot) -> Option<String> {
    let Action::WriteFile { path, content, .. } = action else {
        return None;
    };
    let current = root.read(path).ok();
    file_diff(path, current.as_deref(), content)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FSTAB: &str = "\
# /etc/fstab
UUID=0b2c / ext4 errors=remount-ro 0 1
UUID=6F1D /boot/efi vfat umask=0077 0 1
# Citadel storage
UUID=3f6c /mnt/citadel-models ext4 defaults,relatime 0 2
UUID=a1b2 /mnt/citadel-backup ext4 defaults,noatime,barrier=1,data=ordered 0 2
# swap
/swapfile none swap sw 0 0
tmpfs /tmp tmpfs defaults 0 0
";

    #[test]
    fn changed_fstab_line_shows_alone_with_context() {
        let new = FSTAB.replace(
            "defaults,relatime",
            "defaults,noatime,nodiratime,barrier=0,data=writeback",
        );
        let diff = file_diff(Path::new("/etc/fstab"), Some(FSTAB.as_bytes()), new.as_bytes()).unwrap();
        let expected = "\
--- a/etc/fstab
+++ b/etc/fstab
@@ -2,7 +2,7 @@
 UUID=0b2c / ext4 errors=remount-ro 0 1
 UUID=6F1D /boot/efi vfat umask=0077 0 1
 # Citadel storage
-UUID=3f6c /mnt/citadel-models ext4 defaults,relatime 0 2
+UUID=3f6c /mnt/citadel-models ext4 defaults,noatime,nodiratime,barrier=0,data=writeback 0 2
 UUID=a1b2 /mnt/citadel-backup ext4 defaults,noatime,barrier=1,data=ordered 0 2
 # swap
 /swapfile none swap sw 0 0
";
        assert_eq!(diff, expected);
    }

    #[test]
    fn identical_content_has_no_diff() {
        assert_eq!(file_diff(Path::new("/etc/fstab"), Some(b"a\n"), b"a\n"), None);
    }

    #[test]
    fn new_file_comes_from_dev_null() {
        let diff = file_diff(Path::new("/etc/cron.d/citadel-backup"), None, b"30 2 * * * root x\n").unwrap();
        assert!(diff.starts_with("--- /dev/null\n+++ b/etc/cron.d/citadel-backup\n@@ -0,0 +1 @@\n"));
        assert!(diff.ends_with("+30 2 * * * root x\n"));
    }

    #[test]
    fn a_missing_final_newline_is_shown() {
        let diff = file_diff(Path::new("/etc/crontab"), Some(b"a\nb"), b"a\nb\n").unwrap();
        assert!(diff.contains("\\ No newline at end of file"), "{diff}");
    }
}
