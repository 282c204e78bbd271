//! Writes the package's generated assets (man pages, shell completions, the example policy) into a directory:
//! `cargo run --release --example gen-assets -- target/assets`. See `src/assets.rs`; `ci/build-deb` runs it.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir] = args.as_slice() else {
        eprintln!("usage: gen-assets DIR");
        return ExitCode::from(2);
    };
    match citadel_cli::assets::write_all(&PathBuf::from(dir)) {
        Ok(written) => {
            for path in written {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-assets: {dir}: {e}");
            ExitCode::FAILURE
        }
    }
}
