//! Check `model_directories` (SPEC §3 row 5): each model of the policy has `<models>/active/<name>`, a real
//! directory (not a file, not a symlink) on the models file system, with at least the policy's `min_mode` bits
//! (0555 by default: readable and searchable by everyone, which serving processes not running as root need).
//!
//! A symlink is refused even when it leads to a directory: the model would live wherever the link points,
//! possibly off the models disk, and a backup of `active/` would copy the link, not the model.

use crate::error::FactError;
use crate::filekind;
use crate::outcome::{Finding, Outcome};
use crate::placement::StorageMount;
use crate::policy::Policy;
use crate::view::System;

pub fn run(policy: &Policy, system: &System) -> Outcome {
    match findings(policy, system) {
        Ok(findings) => Outcome::from_findings(findings),
        Err(e) => e.into(),
    }
}

fn findings(policy: &Policy, system: &System) -> Result<Vec<Finding>, FactError> {
    let storage = &policy.storage.models;
    let mount = StorageMount::of(storage, system)?;
    if let StorageMount::NotMounted(finding) = mount {
        return Ok(vec![finding]);
    }
    let min_mode = policy.models.min_mode.0;
    let mut findings = Vec::new();
    for name in &policy.models.names {
        let path = policy.model_dir(name);
        let subject = path.display().to_string();
        let meta = match system.root().lstat(&path) {
            Ok(meta) => meta,
            Err(e) if e.is_not_found() => {
                findings.push(Finding::new(
                    &subject,
                    "a directory",
                    "missing",
                    format!(
                        "Put the model {name} there (mkdir -p {subject} && chmod {:04o} {subject}, then copy its \
                         files), or remove it from [models].names",
                        min_mode | 0o700
                    ),
                ));
                continue;
            }
            Err(e) => return Err(e),
        };
        if meta.file_type().is_symlink() {
            let target = system
                .root()
                .read_link(&path)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            findings.push(Finding::new(
                &subject,
                "a real directory on the models disk, not a symlink",
                format!("a symlink to {target}"),
                format!("Move the model itself into {subject} (rm {subject} && mv {target} {subject})"),
            ));
            continue;
        }
        if !meta.is_dir() {
            findings.push(Finding::new(
                &subject,
                "a directory",
                filekind::kind(&meta),
                format!("A model is a directory of files: move {subject} away and put the model {name} there"),
            ));
            continue;
        }
        if let Some(finding) = mount.placement_finding(storage, &subject, &meta) {
            findings.push(finding);
            continue;
        }
        let mode = filekind::mode(&meta);
        if mode & min_mode != min_mode {
            findings.push(Finding::new(
                &subject,
                format!("at least mode {} (readable and searchable)", policy.models.min_mode),
                format!("mode {mode:04o}, lacking {:04o}", min_mode & !mode),
                format!("chmod {:04o} {subject}", mode | min_mode),
            ));
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Tree;

    fn only_finding(tree: &Tree) -> Finding {
        match run(&Policy::embedded(), &tree.system()) {
            Outcome::Fail(findings) if findings.len() == 1 => findings[0].clone(),
            other => panic!("expected one finding, got {other:?}"),
        }
    }

    #[test]
    fn compliant_tree_passes() {
        assert_eq!(run(&Policy::embedded(), &Tree::compliant().system()), Outcome::Pass);
    }

    #[test]
    fn a_missing_model() {
        let tree = Tree::compliant();
        tree.remove("/mnt/citadel-models/active/yi-34b");
        let f = only_finding(&tree);
        assert_eq!(
            (f.subject.as_str(), f.actual.as_str()),
            ("/mnt/citadel-models/active/yi-34b", "missing")
        );
    }

    #[test]
    fn a_file_where_the_model_should_be() {
        let tree = Tree::compliant();
        tree.remove("/mnt/citadel-models/active/yi-34b");
        tree.write("/mnt/citadel-models/active/yi-34b", "weights");
        assert_eq!(only_finding(&tree).actual, "a regular file");
    }

    #[test]
    fn a_symlinked_model_is_refused() {
        let tree = Tree::compliant();
        std::fs::rename(
            tree.path("/mnt/citadel-models/active/yi-34b"),
            tree.path("/mnt/citadel-models/archive/yi-34b"),
        )
        .unwrap();
        tree.link(
            "/mnt/citadel-models/active/yi-34b",
            "/mnt/citadel-models/archive/yi-34b",
        );
        assert_eq!(
            only_finding(&tree).actual,
            "a symlink to /mnt/citadel-models/archive/yi-34b"
        );
    }

    #[test]
    fn a_model_others_cannot_read() {
        let tree = Tree::compliant();
        tree.chmod("/mnt/citadel-models/active/phi-3-mini", 0o700);
        let f = only_finding(&tree);
        assert_eq!(f.actual, "mode 0700, lacking 0055");
        assert_eq!(f.message, "chmod 0755 /mnt/citadel-models/active/phi-3-mini");
    }

    #[test]
    fn more_bits_than_the_minimum_are_fine() {
        let tree = Tree::compliant();
        tree.chmod("/mnt/citadel-models/active/phi-3-mini", 0o775);
        assert_eq!(run(&Policy::embedded(), &tree.system()), Outcome::Pass);
    }

    #[test]
    fn an_unmounted_models_disk_is_the_one_finding() {
        let tree = Tree::compliant();
        let mountinfo = std::fs::read_to_string(tree.path("/proc/self/mountinfo")).unwrap();
        tree.write(
            "/proc/self/mountinfo",
            &mountinfo.replace(" /mnt/citadel-models ", " /mnt/elsewhere "),
        );
        let f = only_finding(&tree);
        assert_eq!(f.subject, "/mnt/citadel-models");
        assert!(f.expected.contains("storage_mounts"));
    }

    #[test]
    fn custom_model_names_come_from_the_policy() {
        let tree = Tree::compliant();
        let mut policy = Policy::embedded();
        policy.models.names = vec!["llama-3-8b".into()];
        match run(&policy, &tree.system()) {
            Outcome::Fail(f) => assert_eq!(f[0].subject, "/mnt/citadel-models/active/llama-3-8b"),
            other => panic!("{other:?}"),
        }
        tree.mkdir("/mnt/citadel-models/active/llama-3-8b");
        assert_eq!(run(&policy, &tree.system()), Outcome::Pass);
    }
}
