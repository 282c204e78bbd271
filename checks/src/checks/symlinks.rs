//! Check `symlinks` (SPEC §3 row 6): `<app.dir>/models` is a symlink to `<models>/active`, each
//! `<app.dir>/model-links/<name>` a symlink to that model's directory, and no link in `model-links` dangles,
//! not even one for a model the policy no longer names.
//!
//! Links are followed inside the root (`SystemRoot::resolve`): a relative or an absolute target is fine if it
//! leads to the right place. The link must be the last component: a link whose parent is a link is judged by
//! where it finally leads.

use std::path::{Path, PathBuf};

use crate::error::FactError;
use crate::filekind;
use crate::outcome::{Finding, Outcome};
use crate::policy::Policy;
use crate::view::System;

pub fn run(policy: &Policy, system: &System) -> Outcome {
    match findings(policy, system) {
        Ok(findings) => Outcome::from_findings(findings),
        Err(e) => e.into(),
    }
}

fn findings(policy: &Policy, system: &System) -> Result<Vec<Finding>, FactError> {
    let mut findings = Vec::new();
    findings.extend(link_finding(
        system,
        &policy.app.models_link,
        &policy.active_models_dir(),
    )?);
    let links_dir = policy.model_links_dir();
    for name in &policy.models.names {
        findings.extend(link_finding(system, &links_dir.join(name), &policy.model_dir(name))?);
    }
    findings.extend(stale_links(policy, system, &links_dir)?);
    Ok(findings)
}

/// What is wrong with `link`, which should be a symlink leading to `expected`.
fn link_finding(system: &System, link: &Path, expected: &Path) -> Result<Option<Finding>, FactError> {
    let root = system.root();
    let subject = link.display().to_string();
    let fix = format!("ln -sfn {} {subject}", expected.display());
    let want = format!("a symlink to {}", expected.display());
    let meta = match root.lstat(link) {
        Ok(meta) => meta,
        Err(e) if e.is_not_found() => {
            return Ok(Some(Finding::new(
                subject,
                want,
                "missing",
                format!("Create it: {fix}"),
            )));
        }
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_symlink() {
        let kind = filekind::kind(&meta);
        let message = if meta.is_dir() {
            format!(
                "Move what is in the directory {subject} to {} if it is needed, remove it, then: {fix}",
                expected.display()
            )
        } else {
            format!("Move the {} away, then: {fix}", kind.trim_start_matches("a "))
        };
        return Ok(Some(Finding::new(
            subject,
            want,
            format!("{kind}, not a symlink"),
            message,
        )));
    }
    let target = root.read_link(link)?;
    let resolved = match root.resolve(link) {
        Ok(resolved) => resolved,
        Err(e) if e.is_not_found() => {
            return Ok(Some(Finding::new(
                subject,
                want,
                format!(
                    "a dangling symlink to {} ({} does not exist)",
                    target.display(),
                    e.path.display()
                ),
                format!("Point it at the right place: {fix}"),
            )));
        }
        Err(e) => return Err(e),
    };
    // Where the link should lead, with any links on that path followed too; as written when it does not exist
    // (model_directories reports that).
    let expected_resolved = root.resolve(expected).unwrap_or_else(|_| expected.to_path_buf());
    if resolved == expected_resolved {
        return Ok(None);
    }
    Ok(Some(Finding::new(
        subject,
        want,
        format!("a symlink to {} (leads to {})", target.display(), resolved.display()),
        format!("Point it at the right place: {fix}"),
    )))
}

/// Dangling links in `model-links` for names the policy does not list (those it lists are judged above).
fn stale_links(policy: &Policy, system: &System, links_dir: &Path) -> Result<Vec<Finding>, FactError> {
    let root = system.root();
    let mut findings = Vec::new();
    let dir = match root.resolve(links_dir) {
        Ok(dir) => dir,
        Err(e) if e.is_not_found() => return Ok(findings), // directory_structure reports it
        Err(e) => return Err(e),
    };
    if !root.symlink_metadata(&dir)?.is_dir() {
        return Ok(findings);
    }
    // A set, not a scan of the list per entry: with thousands of models the scan is quadratic.
    let named: std::collections::HashSet<&str> = policy.models.names.iter().map(String::as_str).collect();
    for name in root.read_dir_names(&dir)? {
        if named.contains(name.to_string_lossy().as_ref()) {
            continue;
        }
        let link: PathBuf = links_dir.join(&name);
        if !root.lstat(&link)?.file_type().is_symlink() {
            continue;
        }
        match root.resolve(&link) {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {
                let target = root.read_link(&link)?;
                findings.push(Finding::new(
                    link.display().to_string(),
                    "no dangling links in model-links",
                    format!(
                        "a dangling symlink to {}, for a model the policy does not name",
                        target.display()
                    ),
                    format!("Remove the stale link: rm {}", link.display()),
                ));
            }
            Err(e) => return Err(e),
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
    fn relative_targets_are_fine() {
        let tree = Tree::compliant();
        tree.link("/opt/citadel/models", "../../mnt/citadel-models/active");
        tree.link("/opt/citadel/model-links/yi-34b", "../models/yi-34b");
        assert_eq!(run(&Policy::embedded(), &tree.system()), Outcome::Pass);
    }

    #[test]
    fn a_real_directory_instead_of_the_models_link() {
        let tree = Tree::compliant();
        tree.remove("/opt/citadel/models");
        tree.mkdir("/opt/citadel/models");
        let f = only_finding(&tree);
        assert_eq!(f.subject, "/opt/citadel/models");
        assert_eq!(f.actual, "a directory, not a symlink");
        assert!(f
            .message
            .contains("ln -sfn /mnt/citadel-models/active /opt/citadel/models"));
    }

    #[test]
    fn a_missing_link() {
        let tree = Tree::compliant();
        tree.remove("/opt/citadel/model-links/phi-3-mini");
        assert_eq!(only_finding(&tree).actual, "missing");
    }

    #[test]
    fn a_dangling_model_link() {
        let tree = Tree::compliant();
        tree.link(
            "/opt/citadel/model-links/yi-34b",
            "/mnt/citadel-models/active/yi-34b-old",
        );
        let f = only_finding(&tree);
        assert_eq!(f.subject, "/opt/citadel/model-links/yi-34b");
        assert!(
            f.actual
                .starts_with("a dangling symlink to /mnt/citadel-models/active/yi-34b-old"),
            "{}",
            f.actual
        );
    }

    #[test]
    fn a_link_to_the_wrong_model() {
        let tree = Tree::compliant();
        tree.link(
            "/opt/citadel/model-links/phi-3-mini",
            "/mnt/citadel-models/active/yi-34b",
        );
        let f = only_finding(&tree);
        assert_eq!(
            f.actual,
            "a symlink to /mnt/citadel-models/active/yi-34b (leads to /mnt/citadel-models/active/yi-34b)"
        );
    }

    #[test]
    fn an_extra_stale_link_fails_and_an_extra_live_one_does_not() {
        let tree = Tree::compliant();
        tree.link(
            "/opt/citadel/model-links/llama-2-13b",
            "/mnt/citadel-models/active/llama-2-13b",
        );
        let f = only_finding(&tree);
        assert_eq!(f.subject, "/opt/citadel/model-links/llama-2-13b");
        tree.mkdir("/mnt/citadel-models/active/llama-2-13b");
        assert_eq!(run(&Policy::embedded(), &tree.system()), Outcome::Pass);
    }

    #[test]
    fn a_link_through_a_linked_model_dir_resolves_to_the_same_place() {
        // active/yi-34b is itself a link (model_directories' business); the model link still leads there.
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
        assert_eq!(run(&Policy::embedded(), &tree.system()), Outcome::Pass);
    }

    #[test]
    fn a_missing_model_makes_its_link_dangle() {
        let tree = Tree::compliant();
        tree.remove("/mnt/citadel-models/active/yi-34b");
        assert!(only_finding(&tree).actual.starts_with("a dangling symlink"));
    }
}
