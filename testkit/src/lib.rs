//! Fixture scenarios and how to lay them out as a fake system root, shared by the tests of every crate in the
//! workspace (a dev-dependency only).
//!
//! A scenario is a folder under `fixtures/` with a `scenario.toml` and an optional `root/` tree. Git keeps
//! neither owners, nor modes other than the x bit, nor empty directories, so a scenario is *materialized*
//! into a temporary directory ([`materialize`]): its base scenario's tree first (recursively), then its own
//! `root/` laid over it ([`copy_tree`]), then `remove`, `chmod` and `chown` applied. Files are 0644 (0755 when
//! executable in git), directories 0755, and `.gitkeep` files only keep their directory alive.
//!
//! # `scenario.toml`
//!
//! ```toml
//! description = "What this scenario changes from its base, and why a check fails (cite the Linux fact)."
//! base = "compliant"            # optional: the scenario whose tree this one starts from
//! policy = "policy.toml"        # optional: a policy file in the scenario folder, passed as `--config`
//! remove = ["etc/cron.d/citadel-backup"]                        # paths under the root, removed after the overlay
//! chmod = [{ path = "opt/citadel/scripts", mode = "0700" }]      # octal mode, set after `remove`
//! chown = [{ path = "opt/citadel/logs", uid = 1000, gid = 1000 }] # set last, without following a symlink
//!
//! [expect]                      # the status every one of the ten checks must end with: all ten ids
//! required_tools = "pass"       # "pass", "fail", "skip" or "error"
//! # …
//!
//! [findings]                    # optional, per check: strings that must each appear in one of its findings
//! model_directories = ["/mnt/citadel-models/active/yi-34b"]
//!
//! [fix]                         # optional, per check: the fix status `--fix` must end with
//! model_directories = "refused"
//! ```
//!
//! - `description`: one scenario changes ONE thing from its base; say which, and why exactly the checks that fail
//!   do.
//! - `remove`, `chmod`, `chown`: paths are relative to the root (no leading `/`). Git cannot keep what they set.
//! - `[findings]`: each string must appear in the subject, expected, actual or message of one finding of that
//!   check, so that the check fails for the reason the scenario is about.
//! - `[fix]`: a fix run under a root that is not `/` (`tests/fix_scenarios.rs`) requires, for every check that
//!   was not skipped: no fix ends `failed`; a check named here ends with exactly that fix status (`fixed`,
//!   `pending`, `refused` or `not_needed`), and a `pending` or `refused` one says why; a check not named here
//!   passes after the fix, except that a check which also reads the running kernel (`required_tools`,
//!   `storage_mounts`, `mount_options`, `io_schedulers`) may end with a `pending` fix saying what it waits for;
//!   a refusal not declared here fails the scenario. A second `--fix` must then plan nothing new.

mod materialize;
mod scenario;

pub use materialize::{copy_tree, materialize};
pub use scenario::{fixtures_dir, load_scenario, scenario_names, Chmod, Chown, Scenario};

/// Whether the tests run as root: scenarios need files owned by root (uid 0), and `chown` needs root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}
