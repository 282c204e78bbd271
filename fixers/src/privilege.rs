//! Root is required to fix the running system (SPEC §4 rule 6).

use citadel_checks::SystemRoot;

/// On `/` without effective uid 0, the message to stop with before anything is touched. Under another root
/// the fix may run unprivileged (an image tree owned by the user); an owner it cannot set fails that action.
pub fn require_root(root: &SystemRoot) -> Result<(), String> {
    check(root, nix::unistd::geteuid().is_root())
}

fn check(root: &SystemRoot, is_root: bool) -> Result<(), String> {
    if !root.is_host() || is_root {
        return Ok(());
    }
    Err("citadel-check --fix needs root to change this system: run it with sudo (nothing was changed)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_needed_on_slash_only() {
        let host = SystemRoot::new("/");
        let tree = SystemRoot::new("/tmp/tree");
        assert!(check(&host, true).is_ok());
        assert!(check(&tree, false).is_ok());
        let message = check(&host, false).unwrap_err();
        assert!(message.contains("needs root") && message.contains("sudo"), "{message}");
    }
}
