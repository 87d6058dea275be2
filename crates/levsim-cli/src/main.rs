//! The `levsim` binary: the command line of [`levsim_cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    levsim_cli::main_with(std::env::args_os())
}
