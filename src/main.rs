//! citadel-check: checks (and later fixes) the storage layout of a Citadel AI-model server. See README.md.

fn main() -> std::process::ExitCode {
    citadel_cli::app::die_quietly_on_closed_pipe();
    citadel_cli::app::main(std::env::args_os())
}
