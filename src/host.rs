//! The name of the host the tool runs on, for reports.
//!
//! Always the running host's (gethostname(2)), also with `--root`: a tree under `--root` is inspected *from*
//! this host, and its `/etc/hostname` may not even exist. The report's `root` says what was inspected.

/// The running host's name, or `unknown` if the kernel will not say.
pub fn hostname() -> String {
    match nix::unistd::gethostname() {
        Ok(name) if !name.is_empty() => name.to_string_lossy().into_owned(),
        _ => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hostname_is_the_kernels() {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        assert_eq!(super::hostname(), kernel.trim());
    }
}
