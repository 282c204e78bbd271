//! Laying a scenario out as a fake root: base first, then the scenario's own `root/`, then its changes.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use crate::scenario::{fixtures_dir, load_scenario, Scenario};

/// Lays the scenario's tree out in `dest` (which must exist and be empty).
pub fn materialize(name: &str, dest: &Path) -> Result<Scenario, String> {
    let scenario = load_scenario(name)?;
    if let Some(base) = &scenario.base {
        if base == name {
            return Err(format!("scenario {name} is its own base"));
        }
        materialize(base, dest)?;
    }
    let overlay = fixtures_dir().join(name).join("root");
    if overlay.is_dir() {
        copy_tree(&overlay, dest).map_err(|e| format!("{name}: copying {}: {e}", overlay.display()))?;
    }
    for rel in &scenario.remove {
        let path = dest.join(rel);
        let meta = fs::symlink_metadata(&path).map_err(|e| format!("{name}: remove {rel}: {e}"))?;
        let result = if meta.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        result.map_err(|e| format!("{name}: remove {rel}: {e}"))?;
    }
    for chmod in &scenario.chmod {
        let mode = u32::from_str_radix(&chmod.mode, 8).map_err(|e| format!("{name}: chmod {}: {e}", chmod.mode))?;
        fs::set_permissions(dest.join(&chmod.path), fs::Permissions::from_mode(mode))
            .map_err(|e| format!("{name}: chmod {}: {e}", chmod.path))?;
    }
    for chown in &scenario.chown {
        std::os::unix::fs::lchown(dest.join(&chown.path), Some(chown.uid), Some(chown.gid))
            .map_err(|e| format!("{name}: chown {}: {e}", chown.path))?;
    }
    Ok(scenario)
}

/// Copies `src` over `dest`: an entry of another kind in the way is replaced; modes are normalized (files 0644,
/// or 0755 when executable; directories 0755); symlinks are copied as links; `.gitkeep` files are skipped.
pub fn copy_tree(src: &Path, dest: &Path) -> std::io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(src)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name() == ".gitkeep" {
            continue;
        }
        let (from, to) = (entry.path(), dest.join(entry.file_name()));
        let kind = entry.file_type()?;
        if let Ok(existing) = fs::symlink_metadata(&to) {
            if !(existing.is_dir() && kind.is_dir()) {
                if existing.is_dir() {
                    fs::remove_dir_all(&to)?;
                } else {
                    fs::remove_file(&to)?;
                }
            }
        }
        if kind.is_symlink() {
            symlink(fs::read_link(&from)?, &to)?;
        } else if kind.is_dir() {
            fs::create_dir_all(&to)?;
            fs::set_permissions(&to, fs::Permissions::from_mode(0o755))?;
            copy_tree(&from, &to)?;
        } else {
            fs::copy(&from, &to)?;
            let executable = entry.metadata()?.permissions().mode() & 0o111 != 0;
            fs::set_permissions(&to, fs::Permissions::from_mode(if executable { 0o755 } else { 0o644 }))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn copy_tree_normalizes_modes_skips_gitkeep_and_replaces_other_kinds() {
        let src = tempfile::tempdir().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let (s, d) = (src.path(), dest.path());
        fs::create_dir(s.join("dir")).unwrap();
        fs::set_permissions(s.join("dir"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(s.join("dir/.gitkeep"), "").unwrap();
        fs::write(s.join("tool"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(s.join("tool"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(s.join("data"), "x").unwrap();
        fs::set_permissions(s.join("data"), fs::Permissions::from_mode(0o600)).unwrap();
        symlink("dir", s.join("link")).unwrap();
        // In the way: a directory where the source has a file, a file where it has a link.
        fs::create_dir_all(d.join("data/old")).unwrap();
        fs::write(d.join("link"), "old").unwrap();

        copy_tree(s, d).unwrap();

        assert_eq!(mode(&d.join("dir")), 0o755);
        assert!(!d.join("dir/.gitkeep").exists());
        assert_eq!(mode(&d.join("tool")), 0o755);
        assert_eq!(mode(&d.join("data")), 0o644);
        assert_eq!(fs::read_to_string(d.join("data")).unwrap(), "x");
        assert_eq!(fs::read_link(d.join("link")).unwrap(), Path::new("dir"));
    }

    #[test]
    fn materialize_lays_out_the_compliant_tree() {
        let dest = tempfile::tempdir().unwrap();
        let scenario = materialize("compliant", dest.path()).unwrap();
        assert!(scenario.base.is_none());
        assert!(dest.path().join("proc/self/mountinfo").is_file());
    }
}
