//! Fixer for check `symlinks`: `<app.dir>/models` links to `<models>/active`, each `model-links/<name>` to its
//! model directory, and no link in `model-links` dangles.
//!
//! - A link that leads to the right place, whatever its spelling (relative, through other links), is left alone,
//!   exactly as the check accepts it. A missing, wrong or dangling one becomes an absolute link (`Symlink`), as
//!   the layout has them; an empty directory in its place is replaced.
//! - A directory with entries in its place is refused, its contents intact, with the moves to make by hand; so
//!   are a file and anything else.
//! - A link whose target does not exist yet would dangle: refused, naming the fix that makes the target
//!   (`model_directories` for a model, `directory_structure` for `active`); a wrong link is still put right.
//! - A dangling link in `model-links` for a model the policy does not name is removed (`RemoveSymlink`): it
//!   points at nothing, so no data is lost (rule 1 lets a link be replaced; removing one is no more). A live one
//!   is not this fixer's business.

use std::path::{Path, PathBuf};

use citadel_checks::{FactErrorKind, Policy, System};

use super::support;
use crate::action::{Action, Plan};
use crate::obstacle::{self, Existing};

pub fn plan(policy: &Policy, system: &System) -> Plan {
    let mut plan = Plan::new();
    let app_dir = policy.app.models_link.parent().unwrap_or(Path::new("/"));
    if parent_ready(&mut plan, system, app_dir) {
        link(
            &mut plan,
            system,
            &policy.app.models_link,
            &policy.active_models_dir(),
            "directory_structure",
        );
    }
    let links_dir = policy.model_links_dir();
    if !parent_ready(&mut plan, system, &links_dir) {
        return plan;
    }
    for name in &policy.models.names {
        link(
            &mut plan,
            system,
            &links_dir.join(name),
            &policy.model_dir(name),
            "model_directories",
        );
    }
    remove_stale(&mut plan, policy, system, &links_dir);
    plan
}

/// True when `dir`, where links are to be made, is a directory (through links, chroot-style); else refused,
/// naming `directory_structure`, which makes it.
fn parent_ready(plan: &mut Plan, system: &System, dir: &Path) -> bool {
    match system.root().metadata(dir) {
        Ok(meta) if meta.is_dir() => true,
        Ok(_) => {
            support::waits_for(
                plan,
                dir,
                format!("{} is not a directory", dir.display()),
                "directory_structure",
            );
            false
        }
        Err(e) if e.is_not_found() => {
            support::waits_for(
                plan,
                dir,
                format!("{} does not exist", dir.display()),
                "directory_structure",
            );
            false
        }
        Err(e) => {
            support::cannot_inspect(plan, dir, &e);
            false
        }
    }
}

/// Plans `path -> target`; `made_by` is the fix that makes `target` when it is missing.
fn link(plan: &mut Plan, system: &System, path: &Path, target: &Path, made_by: &str) {
    let root = system.root();
    let symlink = Action::Symlink {
        path: path.to_path_buf(),
        target: target.to_path_buf(),
    };
    match support::existing(system, path) {
        Ok(Existing::Symlink(current)) => {
            // The check's own comparison: where the link leads, against where the target leads.
            let expected = root.resolve(target).unwrap_or_else(|_| target.to_path_buf());
            if root.resolve(path).is_ok_and(|leads| leads == expected) {
                return;
            }
            if current != target {
                plan.push(symlink);
            }
        }
        Ok(Existing::Missing | Existing::EmptyDir) => plan.push(symlink),
        Ok(existing @ Existing::NonEmptyDir) => {
            let refusal = obstacle::refusal(path, &existing, "a symlink");
            let (p, t) = (path.display(), target.display());
            plan.refuse(
                refusal.subject,
                refusal.why,
                format!(
                    "move what it holds to where the link will lead (mv {p}/* {t}/, and any dot files), remove the \
                     empty directory (rmdir {p}), then run --fix again"
                ),
            );
            return;
        }
        Ok(other) => return support::in_the_way(plan, path, &other, "a symlink"),
        Err(e) => return support::cannot_inspect(plan, path, &e),
    }
    if root.resolve(target).is_err_and(|e| e.is_not_found()) {
        support::waits_for(
            plan,
            path,
            format!(
                "{} does not exist, so {} would dangle",
                target.display(),
                path.display()
            ),
            made_by,
        );
    }
}

/// Removes the dangling links in `links_dir` for models the policy does not name.
fn remove_stale(plan: &mut Plan, policy: &Policy, system: &System, links_dir: &Path) {
    let root = system.root();
    let names = match root.resolve(links_dir).and_then(|dir| root.read_dir_names(dir)) {
        Ok(names) => names,
        Err(e) => return support::cannot_inspect(plan, links_dir, &e),
    };
    for name in names {
        if policy.models.names.iter().any(|n| n.as_str() == name) {
            continue;
        }
        let path: PathBuf = links_dir.join(&name);
        let Ok(Existing::Symlink(target)) = support::existing(system, &path) else {
            continue;
        };
        let leads_nowhere = match root.resolve(&path) {
            Ok(_) => false,
            Err(e) => e.is_not_found() || e.kind == FactErrorKind::TooManyLinks,
        };
        if leads_nowhere {
            plan.push(Action::RemoveSymlink { path, target });
        }
    }
}
