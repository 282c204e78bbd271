//! What the Debian package ships beside the binary, generated from the same sources as the binary itself: the
//! man pages and the shell completions from the clap definition (`cli::Cli`, one source for `--help`, the man
//! page and the completions, as ripgrep does), and the commented example policy from the embedded policy.
//!
//! `cargo run --example gen-assets -- DIR` writes them (`ci/build-deb` does, at package time: they are not
//! committed, so they cannot go stale); the example policy is committed as `dist/citadel-check.toml.example`,
//! and a test holds it equal to `example_policy()`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use citadel_checks::Policy;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// The binary's name, as the man page and the completions know it.
pub const BIN: &str = "citadel-check";

/// The commented example policy shipped as `/etc/citadel/citadel-check.toml.example`.
pub fn example_policy() -> String {
    Policy::embedded().to_toml()
}

/// Man pages: `citadel-check.1` and one per subcommand (`citadel-check-history.1`), as (file name, roff).
pub fn man_pages() -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut command = Cli::command().name(BIN);
    // Building names each subcommand `citadel-check-history`, which its page takes as its title and file name.
    command.build();
    let commands = std::iter::once(&command).chain(command.get_subcommands().filter(|s| !s.is_hide_set()));
    commands
        .map(|cmd| {
            let man = clap_mangen::Man::new(cmd.clone());
            let mut page = Vec::new();
            man.render(&mut page)?;
            Ok((man.get_filename(), page))
        })
        .collect()
}

/// The completion scripts the package installs, with the names their shells look for.
pub const SHELLS: [(Shell, &str); 3] = [
    (Shell::Bash, "citadel-check"),
    (Shell::Zsh, "_citadel-check"),
    (Shell::Fish, "citadel-check.fish"),
];

/// One shell's completion script.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, BIN, &mut out);
    out
}

/// Writes everything into `dir`: `man/*.1`, `completions/{citadel-check,_citadel-check,citadel-check.fish}`,
/// `citadel-check.toml.example`. Returns the files written.
pub fn write_all(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut put = |path: PathBuf, bytes: &[u8]| -> io::Result<()> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, bytes)?;
        written.push(path);
        Ok(())
    };
    for (name, page) in man_pages()? {
        put(dir.join("man").join(name), &page)?;
    }
    for (shell, name) in SHELLS {
        put(dir.join("completions").join(name), &completion(shell))?;
    }
    put(dir.join("citadel-check.toml.example"), example_policy().as_bytes())?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_man_page_documents_every_flag_and_the_subcommand() {
        let pages = man_pages().unwrap();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["citadel-check.1", "citadel-check-history.1"]);
        let main = String::from_utf8(pages[0].1.clone()).unwrap();
        assert!(main.starts_with(".ie \\n(.g .ds Aq"), "roff: {}", &main[..80]);
        assert!(main.contains(".TH citadel-check 1"), "{main}");
        for flag in [
            "report\\-dir",
            "keep\\-days",
            "html",
            "prometheus",
            "print\\-policy",
            "test\\-threads",
        ] {
            assert!(main.contains(&format!("\\-\\-{flag}")), "--{flag} in the man page");
        }
        assert!(main.contains("history"), "the subcommand is listed");
        let history = String::from_utf8(pages[1].1.clone()).unwrap();
        assert!(history.contains(".TH citadel-check-history 1"), "{history}");
    }

    #[test]
    fn completions_know_the_flags_and_the_subcommand() {
        for (shell, _) in SHELLS {
            let script = String::from_utf8(completion(shell)).unwrap();
            assert!(script.contains("report-dir"), "{shell}: --report-dir");
            assert!(script.contains("history"), "{shell}: history");
            assert!(script.contains("pretty"), "{shell}: --format values");
        }
        assert!(String::from_utf8(completion(Shell::Zsh))
            .unwrap()
            .starts_with("#compdef citadel-check"));
    }

    #[test]
    fn write_all_lays_out_the_package_assets() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_all(dir.path()).unwrap();
        let mut names: Vec<String> = written
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "citadel-check.toml.example",
                "completions/_citadel-check",
                "completions/citadel-check",
                "completions/citadel-check.fish",
                "man/citadel-check-history.1",
                "man/citadel-check.1",
            ]
        );
    }
}
