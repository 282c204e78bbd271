//! How findings describe what they found at a path: its kind, permission bits, owner and device.

use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use crate::accounts::Accounts;

/// "a directory", "a regular file", "a symlink", ... for messages.
pub fn kind(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_symlink() {
        "a symlink"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_file() {
        "a regular file"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else {
        "something else"
    }
}

/// The permission bits, setuid/setgid/sticky included, without the file type.
pub fn mode(meta: &Metadata) -> u32 {
    meta.mode() & 0o7777
}

/// `root:root`, `citadel (1000):root`, from the accounts files.
pub fn owner(meta: &Metadata, accounts: &Accounts) -> String {
    format!(
        "{}:{}",
        accounts.describe_uid(meta.uid()),
        accounts.describe_gid(meta.gid())
    )
}

/// A device number as `major:minor`, the way mountinfo prints it.
pub fn device(dev: u64) -> String {
    format!("{}:{}", nix::libc::major(dev), nix::libc::minor(dev))
}
